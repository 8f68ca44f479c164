"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, with PyTorch's parameters.

The weight is (out_channels, in_channels / groups, *kernel_size) for a convolution and
(in_channels, out_channels / groups, *kernel_size) for a transposed one, the bias (out_channels,);
both are initialised as PyTorch does: ``kaiming_uniform_(weight, a=sqrt(5))``, which is uniform in
+-1/sqrt(fan_in), and the bias uniform in the same bounds, fan_in = weight.shape[1] * prod(kernel).
"""

from __future__ import annotations

import math

import numpy as np

from autograd import Tensor, get_default_dtype

from . import functional as F
from . import init
from .functional.conv import _tuple, conv_padding, transposed_size
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _ConvNd(Module):
    """What convolutions and transposed convolutions share: arguments, parameters, init, repr."""

    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        output_padding=0,
        dtype=None,
    ):
        super().__init__()
        nd = self._nd
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.groups = _positive_int(groups, "groups")
        if self.in_channels % self.groups:
            raise ValueError(f"in_channels must be divisible by groups (in_channels={in_channels}, groups={groups})")
        if self.out_channels % self.groups:
            raise ValueError(f"out_channels must be divisible by groups (out_channels={out_channels}, groups={groups})")
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size")
        self.stride = _tuple(stride, nd, "stride")
        self.dilation = _tuple(dilation, nd, "dilation")
        for name in ("kernel_size", "stride", "dilation"):
            if any(v <= 0 for v in getattr(self, name)):
                raise ValueError(f"{name} must be positive, got {name}={getattr(self, name)}")
        self.padding: str | tuple[int, ...]
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            if self._transposed:
                raise ValueError(f"{type(self).__name__} takes an int or a tuple as padding, got {padding!r}")
            self.padding = padding
        else:
            pads = _tuple(padding, nd, "padding")
            if any(v < 0 for v in pads):
                raise ValueError(f"padding must be non-negative, got padding={pads}")
            self.padding = pads
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.padding_mode = padding_mode
        self.output_padding = _tuple(output_padding, nd, "output_padding")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight (Kaiming uniform, a=sqrt(5)) and bias (U(-1/sqrt(fan_in), ...)) as torch does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            if fan_in:
                bound = 1.0 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        nd = self._nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """y = conv(x, weight) + bias; with a padding_mode other than 'zeros' the input is padded by
    F.pad in that mode first, and convolved without padding."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype=None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, dtype=dtype
        )

    def forward(self, x: Tensor) -> Tensor:
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        if self.padding_mode == "zeros":
            return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        pairs = conv_padding(self.padding, self._nd, self.kernel_size, self.dilation, self.stride)
        widths = tuple(v for lo, hi in reversed(pairs) for v in (lo, hi))
        return conv(
            F.pad(x, widths, mode=self.padding_mode), self.weight, self.bias, self.stride, 0, self.dilation, self.groups
        )


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L): weight (out_channels, in_channels / groups, k)."""

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) images: each output channel is a learned kernel
    (in_channels / groups, kh, kw) slid over the input (cross-correlation, as PyTorch), plus a bias:

        y[n, o, i, j] = b[o] + sum_{c, a, b} x[n, c, i s + a r - p, j s + b r - p] w[o, c, a, b]

    ``padding``: an int, a pair, 'valid' or 'same' (``padding_mode``: zeros, reflect, replicate or
    circular); ``groups``: convolve channel groups separately (groups = in_channels: depthwise)."""

    _nd = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W): weight (out_channels, in_channels / groups, kd, kh, kw)."""

    _nd = 3


class _ConvTranspose(_ConvNd):
    """The adjoint of a convolution in its input (the layer that upsamples in decoders); its output
    size is (in - 1) s - 2 p + r (k - 1) + output_padding + 1, or ``output_size`` at call time."""

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        dtype=None,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding=output_padding,
            dtype=dtype,
        )

    def _output_padding(self, x, output_size):
        """The output_padding that gives ``output_size`` (torch's ConvTranspose forward(x, output_size))."""
        nd = self._nd
        size = tuple(output_size)
        if len(size) > nd:
            size = size[-nd:]
        if len(size) != nd:
            raise ValueError(
                f"ConvTranspose{nd}D: for {x.ndim}D input, output_size must have {nd} or {nd + 2} "
                f"elements (got {len(tuple(output_size))})"
            )
        geometry = list(zip(x.shape[-nd:], self.kernel_size, self.stride, self.padding, self.dilation))
        smallest = [transposed_size(n, k, s, p, r, 0) for n, k, s, p, r in geometry]
        largest = [transposed_size(n, k, s, p, r, s - 1) for n, k, s, p, r in geometry]
        if any(not lo <= want <= hi for lo, want, hi in zip(smallest, size, largest)):
            raise ValueError(
                f"requested an output size of {list(size)}, but valid sizes range from {smallest} to "
                f"{largest} (for an input of {list(x.shape[-nd:])})"
            )
        pads = [want - lo for want, lo in zip(size, smallest)]
        return tuple(pads)

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._nd - 1]
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        assert not isinstance(self.padding, str)  # (a transposed convolution refuses 'same' and 'valid')
        return conv(x, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution over (N, C_in, L): weight (in_channels, out_channels / groups, k)."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution over (N, C_in, H, W): weight (in_channels, out_channels / groups, kh, kw).
    Each input pixel adds a copy of the kernel, scaled by its value, into the (strided) output: the
    gradient of Conv2d with respect to its input is this layer with Conv2d's weight."""

    _nd = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution over (N, C_in, D, H, W): weight (in_channels, out_channels / groups, kd, kh, kw)."""

    _nd = 3
