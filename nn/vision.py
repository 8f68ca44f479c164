"""Layers that resample or pad images: Upsample, PixelShuffle / PixelUnshuffle, and padding layers
(zero, constant, reflection, replication, circular; 1-D to 3-D), as PyTorch's. None has parameters."""

from __future__ import annotations

import numbers

from autograd import Tensor

from . import functional as F
from .module import Module

__all__ = [
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "PixelShuffle",
    "PixelUnshuffle",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
]


class Upsample(Module):
    """Resize (N, C, *spatial) to ``size`` or by ``scale_factor`` with F.interpolate's ``mode``
    ('nearest', 'nearest-exact', 'linear', 'bilinear', 'trilinear', 'area')."""

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ):
        super().__init__()
        self.size = size
        self.scale_factor: float | tuple[float, ...] | None
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample with mode 'nearest' (torch's older name)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample with mode 'bilinear' and align_corners=True (torch's older name)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(N, C r^2, H, W) -> (N, C, H r, W r): each group of r^2 channels becomes r x r pixels
    (sub-pixel convolution's upsampling)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """The inverse of PixelShuffle: (N, C, H r, W r) -> (N, C r^2, H, W)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


# -- padding ---------------------------------------------------------------------------------------


class _PadNd(Module):
    """F.pad with a fixed ``padding`` (an int for every side, or torch's (left, right, top, ...) tuple)."""

    _nd = 2
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, numbers.Integral):
            self.padding = (int(padding),) * (2 * self._nd)
        else:
            self.padding = tuple(int(p) for p in padding)
            if len(self.padding) != 2 * self._nd:
                raise ValueError(
                    f"{type(self).__name__}: padding must be an int or a tuple of {2 * self._nd} ints, got {padding!r}"
                )
        self.value = 0.0

    def forward(self, x: Tensor) -> Tensor:
        if self._mode == "constant":
            return F.pad(x, self.padding, value=self.value)
        return F.pad(x, self.padding, mode=self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = float(value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


def _padding_class(name, nd, mode, base=_PadNd, doc=""):
    return type(name, (base,), {"_nd": nd, "_mode": mode, "__doc__": doc, "__module__": __name__})


ZeroPad1d = _padding_class("ZeroPad1d", 1, "constant", doc="Pad the last dimension with zeros.")
ZeroPad2d = _padding_class(
    "ZeroPad2d",
    2,
    "constant",
    doc="Pad the last two dimensions with zeros: padding = (left, right, top, bottom) or an int.",
)
ZeroPad3d = _padding_class("ZeroPad3d", 3, "constant", doc="Pad the last three dimensions with zeros.")
ConstantPad1d = _padding_class("ConstantPad1d", 1, "constant", _ConstantPadNd, "Pad the last dimension with a value.")
ConstantPad2d = _padding_class(
    "ConstantPad2d", 2, "constant", _ConstantPadNd, "Pad the last two dimensions with ``value``."
)
ConstantPad3d = _padding_class(
    "ConstantPad3d", 3, "constant", _ConstantPadNd, "Pad the last three dimensions with ``value``."
)
ReflectionPad1d = _padding_class("ReflectionPad1d", 1, "reflect", doc="Pad the last dimension with its mirror image.")
ReflectionPad2d = _padding_class(
    "ReflectionPad2d",
    2,
    "reflect",
    doc="Pad the last two dimensions with their mirror image (the edge not repeated): "
    "padding = (left, right, top, bottom), each smaller than its dimension.",
)
ReflectionPad3d = _padding_class("ReflectionPad3d", 3, "reflect", doc="Pad the last three dimensions by reflection.")
ReplicationPad1d = _padding_class("ReplicationPad1d", 1, "replicate", doc="Pad the last dimension with its edge value.")
ReplicationPad2d = _padding_class(
    "ReplicationPad2d", 2, "replicate", doc="Pad the last two dimensions with their edge values."
)
ReplicationPad3d = _padding_class(
    "ReplicationPad3d", 3, "replicate", doc="Pad the last three dimensions with their edge values."
)
CircularPad1d = _padding_class("CircularPad1d", 1, "circular", doc="Pad the last dimension by wrapping around.")
CircularPad2d = _padding_class("CircularPad2d", 2, "circular", doc="Pad the last two dimensions by wrapping around.")
CircularPad3d = _padding_class("CircularPad3d", 3, "circular", doc="Pad the last three dimensions by wrapping around.")
