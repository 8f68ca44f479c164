"""Convolutions as functions: conv1d/2d/3d, conv_transpose1d/2d/3d, and unfold/fold (im2col/col2im).

Each checks its arguments as torch does (the same exception, a message naming the argument and the
shapes), normalises them (an int for every dimension, padding as (lo, hi) pairs) and applies one
entry of autograd's table: ``conv``, ``conv_transpose``, ``im2col`` or ``col2im``
(autograd/ops/conv.py holds the formulas and their derivatives). An unbatched input (no N) is
treated as a batch of one.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from autograd import Tensor
from autograd.extend import apply, cached_constant, leaf

from .common import _t

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "unfold", "fold"]


# -- arguments -------------------------------------------------------------------------------------


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)


def _tuple(value, n, name, what="convolution"):
    """``value`` (an int, or a sequence of n ints) as a tuple of n ints."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (tuple, list)) and len(value) == 1 and _is_int(value[0]) and n > 1:
        return (int(value[0]),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(_is_int(v) for v in value):
        return tuple(int(v) for v in value)
    shown = list(value) if isinstance(value, (tuple, list)) else value
    raise RuntimeError(
        f"expected {name} to be a single integer value or a list of {n} values to match the "
        f"{what} dimensions, but got {name}={shown}"
    )


def _positive(values, name, message=None):
    if any(v <= 0 for v in values):
        raise RuntimeError(message or f"non-positive {name} is not supported")


def _float_input(x, w, name):
    if x.dtype != w.dtype:
        raise RuntimeError(
            f"{name}: the input has dtype {x.dtype} but the weight has dtype {w.dtype} (expected "
            f"both of one dtype: convert one with .to(other.dtype))"
        )


def _batched(x, nd, name):
    """(x with a batch dimension, whether one was added): x must be (C, *sp) or (N, C, *sp)."""
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    if x.ndim != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input "
            f"of size: {list(x.shape)}"
        )
    return x, False


def _weight(weight, nd, name):
    w = _t(weight, "weight")
    if w.ndim != nd + 2:
        raise RuntimeError(
            f"{name}: expected a weight of {nd + 2} dimensions (out_channels, in_channels / groups, "
            f"*kernel_size), but got weight of size {list(w.shape)}"
        )
    return w


def _bias(bias, x, channels, w):
    if bias is None:
        dtype = x.dtype
        return leaf(cached_constant(("no bias", dtype.char), lambda: np.zeros(0, dtype)))
    b = _t(bias, "bias")
    if b.ndim != 1 or b.shape[0] != channels:
        raise RuntimeError(
            f"Given weight of size {list(w.shape)}, expected bias to be 1-dimensional with "
            f"{channels} elements, but got bias of size {list(b.shape)} instead"
        )
    return b


def _groups(groups):
    if not _is_int(groups) or groups <= 0:
        raise RuntimeError(f"non-positive groups is not supported (got groups={groups!r})")
    return int(groups)


def _check_kernel_fits(x, k, padding, dilation):
    """Torch's check that the (dilated) kernel fits in the padded input."""
    sizes = [n + lo + hi for n, (lo, hi) in zip(x.shape[2:], padding)]
    spans = [r * (kk - 1) + 1 for kk, r in zip(k, dilation)]
    if any(s < span for s, span in zip(sizes, spans)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, sizes))}). Kernel size: "
            f"({' x '.join(map(str, spans))}). Kernel size can't be greater than actual input size"
        )


def conv_padding(padding, nd, k, dilation, stride, name="padding"):
    """torch's padding argument (an int, a sequence, 'valid' or 'same') as (lo, hi) pairs. 'same'
    pads r (k - 1) in all, the odd one at the end, as torch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            return tuple((r * (kk - 1) // 2, r * (kk - 1) - r * (kk - 1) // 2) for kk, r in zip(k, dilation))
        raise RuntimeError(f"Invalid padding string: {padding!r} (use 'valid', 'same', an int or a tuple of ints)")
    p = _tuple(padding, nd, name)
    if any(v < 0 for v in p):
        raise RuntimeError(f"negative padding is not supported (got {name}={list(p)})")
    return tuple((v, v) for v in p)


# -- convolution -----------------------------------------------------------------------------------


def _conv(input, weight, bias, stride, padding, dilation, groups, nd, name):
    x, unbatched = _batched(_t(input), nd, name)
    w = _weight(weight, nd, name)
    groups = _groups(groups)
    stride, dilation = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation")
    _positive(stride, "stride")
    _positive(dilation, "dilation")
    k = w.shape[2:]
    pads = conv_padding(padding, nd, k, dilation, stride)
    out_channels = w.shape[0]
    if out_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
            f"got weight of size [{list(w.shape)}] instead"
        )
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to "
            f"have {w.shape[1] * groups} channels, but got {x.shape[1]} channels instead"
        )
    _float_input(x, w, name)
    b = _bias(bias, x, out_channels, w)
    _check_kernel_fits(x, k, pads, dilation)
    y = apply("conv", x, w, b, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return y.squeeze(0) if unbatched else y


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation, as torch): input (N, C, L), weight (O, C / groups, k)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution: input (N, C, H, W), weight (O, C / groups, kh, kw), bias (O,):

        y[n, o, i, j] = b[o] + sum_{c, a, b} xpad[n, c, i s + a r, j s + b r] w[o, c, a, b]

    ``padding`` is an int, a pair, 'valid' (none) or 'same' (output size = input size, stride 1);
    ``groups`` splits the channels into groups convolved separately (groups = C: depthwise)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution: input (N, C, D, H, W), weight (O, C / groups, kd, kh, kw)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def transposed_size(size, k, stride, padding, dilation, output_padding):
    """The output size of a transposed convolution along one dimension."""
    return (size - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd, name):
    x, unbatched = _batched(_t(input), nd, name)
    w = _weight(weight, nd, name)
    groups = _groups(groups)
    stride, dilation = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation")
    _positive(stride, "stride")
    _positive(dilation, "dilation")
    if isinstance(padding, str):
        raise RuntimeError(
            f"{name}: padding must be an int or a tuple of ints, got padding={padding!r} "
            f"('same' and 'valid' are for convolutions)"
        )
    pad = _tuple(padding, nd, "padding")
    if any(v < 0 for v in pad):
        raise RuntimeError(f"negative padding is not supported (got padding={list(pad)})")
    out_pad = _tuple(output_padding, nd, "output_padding")
    if any(op < 0 or op >= max(s, r) for op, s, r in zip(out_pad, stride, dilation)):
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got "
            f"output_padding={list(out_pad)}, stride={list(stride)} and dilation={list(dilation)}"
        )
    if w.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
            f"got weight of size [{list(w.shape)}] instead"
        )
    if x.shape[1] != w.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} to "
            f"have {w.shape[0]} channels, but got {x.shape[1]} channels instead"
        )
    _float_input(x, w, name)
    b = _bias(bias, x, w.shape[1] * groups, w)
    k = w.shape[2:]
    size = tuple(
        transposed_size(n, kk, s, p, r, op)
        for n, kk, s, p, r, op in zip(x.shape[2:], k, stride, pad, dilation, out_pad)
    )
    if any(v <= 0 for v in size):
        raise RuntimeError(
            f"{name}: the calculated output size {list(size)} is too small (input size "
            f"{list(x.shape[2:])}, kernel size {list(k)}, stride {list(stride)}, padding {list(pad)}, "
            f"dilation {list(dilation)}, output_padding {list(out_pad)})"
        )
    y = apply(
        "conv_transpose",
        x,
        w,
        b,
        stride=stride,
        padding=tuple((p, p) for p in pad),
        dilation=dilation,
        groups=groups,
        output_size=size,
    )
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
) -> Tensor:
    """1-D transposed convolution: input (N, C_in, L), weight (C_in, C_out / groups, k)."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1, "conv_transpose1d"
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
) -> Tensor:
    """2-D transposed convolution, the adjoint of conv2d in its input (the gradient of a convolution
    with respect to its input is one): input (N, C_in, H, W), weight (C_in, C_out / groups, kh, kw);
    output size (H - 1) s - 2 p + r (k - 1) + output_padding + 1."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2, "conv_transpose2d"
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
) -> Tensor:
    """3-D transposed convolution: input (N, C_in, D, H, W), weight (C_in, C_out / groups, kd, kh, kw)."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 3, "conv_transpose3d"
    )


# -- unfold / fold (im2col / col2im) -------------------------------------------------------------


def _window_args(kernel_size, dilation, padding, stride, nd=2):
    k = _tuple(kernel_size, nd, "kernel_size", "sliding window")
    r = _tuple(dilation, nd, "dilation", "sliding window")
    p = _tuple(padding, nd, "padding", "sliding window")
    s = _tuple(stride, nd, "stride", "sliding window")
    _positive(k, "kernel_size", f"kernel_size should be greater than zero, but got kernel_size={list(k)}")
    _positive(r, "dilation", f"dilation should be greater than zero, but got dilation={list(r)}")
    _positive(s, "stride", f"stride should be greater than zero, but got stride={list(s)}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"padding should be non-negative, but got padding={list(p)}")
    return k, r, tuple((v, v) for v in p), s


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: the sliding blocks of a (N, C, H, W) input as columns, (N, C kh kw, L) with L the number
    of blocks (column l holds block l, rows ordered (c, i, j)), as torch.nn.functional.unfold."""
    x = _t(input)
    if x.ndim not in (3, 4):
        raise RuntimeError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {x.ndim}D, input of size {list(x.shape)})"
        )
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    k, r, p, s = _window_args(kernel_size, dilation, padding, stride)
    sizes = [n + lo + hi - rr * (kk - 1) for n, (lo, hi), rr, kk in zip(x.shape[2:], p, r, k)]
    if any(v < 1 for v in sizes):
        raise RuntimeError(
            f"Given input with spatial size {list(x.shape[2:])}, kernel_size={list(k)}, "
            f"dilation={list(r)}, padding={[lo for lo, _ in p]}, calculated shape of the array of "
            f"sliding blocks as {[(v - 1) // ss + 1 for v, ss in zip(sizes, s)]}, but its components "
            f"must be at least one."
        )
    windows = apply("im2col", x, kernel_size=k, stride=s, padding=p, dilation=r)  # (N, C, oh, ow, kh, kw)
    n, c, oh, ow = windows.shape[:4]
    cols = windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * math.prod(k), oh * ow)
    return cols.squeeze(0) if unbatched else cols


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im, the adjoint of unfold: columns (N, C kh kw, L) summed back into an (N, C, H, W) image
    of ``output_size`` (overlapping blocks add up), as torch.nn.functional.fold."""
    cols = _t(input)
    if cols.ndim not in (2, 3):
        raise RuntimeError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got "
            f"{cols.ndim}D, input of size {list(cols.shape)})"
        )
    unbatched = cols.ndim == 2
    if unbatched:
        cols = cols.unsqueeze(0)
    size = _tuple(output_size, 2, "output_size", "sliding window")
    k, r, p, s = _window_args(kernel_size, dilation, padding, stride)
    kk = math.prod(k)
    if cols.shape[1] % kk:
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
            f"got input.size(1)={cols.shape[1]} and kernel_size={k}."
        )
    blocks = [(n + lo + hi - rr * (kd - 1) - 1) // ss + 1 for n, (lo, hi), rr, kd, ss in zip(size, p, r, k, s)]
    if cols.shape[2] != blocks[0] * blocks[1] or min(blocks) < 1:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={k}, dilation={r}, "
            f"padding={tuple(lo for lo, _ in p)}, stride={s}, expected size of input's dimension 2 "
            f"to match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got "
            f"input.size(2)={cols.shape[2]}."
        )
    n, c = cols.shape[0], cols.shape[1] // kk
    windows = cols.reshape(n, c, k[0], k[1], blocks[0], blocks[1]).permute(0, 1, 4, 5, 2, 3)
    y = apply("col2im", windows, output_size=size, kernel_size=k, stride=s, padding=p, dilation=r)
    return y.squeeze(0) if unbatched else y
