"""Pooling layers: max, average and adaptive pooling, and max unpooling (1-D to 3-D), as PyTorch's.

They hold no parameters: each calls its nn.functional function with the arguments it was built
with (``stride`` defaults to ``kernel_size``: windows side by side).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from autograd import Tensor

from . import functional as F
from .functional.conv import _tuple
from .module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


class _MaxPoolNd(Module):
    _function: ClassVar[Callable[..., Any]]  # the nn.functional form, set by each subclass

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False, ceil_mode: bool = False
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor):
        return type(self)._function(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) (see MaxPool2d)."""

    _function = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over (N, C, H, W): the largest value of each kernel_size window, windows
    ``stride`` apart (default: kernel_size, side by side). Only the maximum of each window passes
    the gradient on; ``return_indices`` also returns where it was (for MaxUnpool2d)."""

    _function = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W) (see MaxPool2d)."""

    _function = staticmethod(F.max_pool3d)


class _AvgPoolNd(Module):
    _function: ClassVar[Callable[..., Any]]  # the nn.functional form, set by each subclass

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._function(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    return F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over (N, C, L) (see AvgPool2d)."""

    _function = staticmethod(_avg_pool1d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__(
            _tuple(kernel_size, 1, "kernel_size", "pooling"),
            _tuple(stride if stride is not None else kernel_size, 1, "stride", "pooling"),
            _tuple(padding, 1, "padding", "pooling"),
            ceil_mode,
            count_include_pad,
        )


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling over (N, C, H, W): the mean of each window (divided by its size, padding
    included if ``count_include_pad``, or by ``divisor_override``); each input of a window gets an
    equal share of its gradient."""

    _function = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling over (N, C, D, H, W) (see AvgPool2d)."""

    _function = staticmethod(F.avg_pool3d)


class _AdaptivePool(Module):
    _function: ClassVar[Callable[..., Any]]  # the nn.functional form, set by each subclass

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._function(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling of (N, C, L) to ``output_size`` positions, whatever L (see AdaptiveAvgPool2d)."""

    _function = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling of (N, C, H, W) to ``output_size`` (an int, a pair; None keeps that size),
    whatever H and W: window i along a dimension of size n covers [floor(i n / o), ceil((i + 1) n / o)).
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    _function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average pooling of (N, C, D, H, W) to ``output_size`` (see AdaptiveAvgPool2d)."""

    _function = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x: Tensor):
        return type(self)._function(x, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling of (N, C, L) to ``output_size`` adaptive windows."""

    _function = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling of (N, C, H, W) to ``output_size`` adaptive windows (see AdaptiveAvgPool2d)."""

    _function = staticmethod(F.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    _function: ClassVar[Callable[..., Any]]  # the nn.functional form, set by each subclass
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        nd = self._nd
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", "pooling")
        self.stride = _tuple(stride if stride is not None else kernel_size, nd, "stride", "pooling")
        self.padding = _tuple(padding, nd, "padding", "pooling")

    def forward(self, x: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return type(self)._function(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of MaxPool1d (see MaxUnpool2d)."""

    _function = staticmethod(F.max_unpool1d)
    _nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of MaxPool2d: ``unpool(y, indices)`` puts each pooled value back where
    MaxPool2d(return_indices=True) found it, zeros elsewhere."""

    _function = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of MaxPool3d (see MaxUnpool2d)."""

    _function = staticmethod(F.max_unpool3d)
    _nd = 3
