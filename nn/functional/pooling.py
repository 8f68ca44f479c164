"""Pooling as functions: max, average, adaptive average / max pooling and max unpooling, 1-D to 3-D.

Max pooling is the table's ``max_pool`` entry (with ``max_pool_indices`` for ``return_indices``);
average pooling is im2col's windows summed and divided by each window's count (the divisor torch
uses: padding included or not, never the part of a ceil-mode window past the padding); adaptive
average pooling multiplies each spatial dimension by an averaging matrix; adaptive max pooling
gathers its windows (of varying size) into equal blocks and max-pools those.
"""

from __future__ import annotations

import math

import numpy as np

from autograd import Tensor
from autograd.extend import apply, leaf

from .common import _t
from .conv import _is_int, _tuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def _input(x, nd, name):
    """(x with a batch dimension, whether one was added), x (C, *sp) or (N, C, *sp), non-empty."""
    x = _t(x)
    if x.ndim not in (nd + 1, nd + 2) or any(n == 0 for n in x.shape[-nd - 1 :]):
        raise RuntimeError(
            f"{name}: non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input, but "
            f"got input of size {list(x.shape)}"
        )
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    return x, False


def output_size(size, k, s, p, r, ceil_mode):
    """torch's pooling_output_shape: the number of windows, ceil_mode rounding up as long as the last
    window starts inside the input or its left padding."""
    span = size + 2 * p - r * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd, name):
    """Checked (kernel, stride, (lo, hi) padding, dilation, output size) of a pooling; the high
    padding includes what ceil_mode's last window needs beyond the padding."""
    k = _tuple(kernel_size, nd, "kernel_size", "pooling")
    s = (
        k
        if stride is None or (isinstance(stride, (list, tuple)) and not stride)
        else _tuple(stride, nd, "stride", "pooling")
    )
    p = _tuple(padding, nd, "padding", "pooling")
    r = _tuple(dilation, nd, "dilation", "pooling")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"{name}: stride should not be zero, but got stride={list(s)} (kernel_size={list(k)})")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{name}: kernel_size should be greater than zero, but got kernel_size={list(k)}")
    if any(v <= 0 for v in r):
        raise RuntimeError(f"{name}: dilation should be greater than zero, but got dilation={list(r)}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{name}: pad must be non-negative, but got pad={list(p)}")
    for pp, kk, rr in zip(p, k, r):
        if pp > kk // 2:  # torch measures the undilated kernel, whatever the dilation
            raise RuntimeError(
                f"pad should be at most half of kernel size, but got pad={pp} and kernel_size={kk}"
                f" (dilation={rr} does not count)"
            )
    sp = x.shape[2:]
    out = tuple(output_size(n, kk, ss, pp, rr, ceil_mode) for n, kk, ss, pp, rr in zip(sp, k, s, p, r))
    if any(o < 1 for o in out):
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, (x.shape[1],) + tuple(sp)))}). Calculated output "
            f"size: ({'x'.join(map(str, (x.shape[1],) + out))}). Output size is too small"
        )
    pads = tuple(
        (pp, max(pp, (o - 1) * ss + rr * (kk - 1) + 1 - n - pp)) for n, o, kk, ss, pp, rr in zip(sp, out, k, s, p, r)
    )
    return k, s, pads, r, out


# -- max pooling ----------------------------------------------------------------------------------


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd, name):
    x, unbatched = _input(input, nd, name)
    k, s, pads, r, _ = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, nd, name)
    params = {"kernel_size": k, "stride": s, "padding": pads, "dilation": r}
    y = apply("max_pool", x, **params)
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    indices = apply("max_pool_indices", x, **params)
    return y, (indices.squeeze(0) if unbatched else indices)


def max_pool1d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-D max pooling of (N, C, L): the largest value of each window (see max_pool2d)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling of (N, C, H, W): y[n, c, i, j] = max over the window at (i s, j s) (padding
    counts as -inf). The gradient goes to each window's first maximum; ``return_indices`` also gives
    those positions (flat in each H x W plane), which max_unpool2d puts values back at."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-D max pooling of (N, C, D, H, W) (see max_pool2d)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


# -- average pooling ------------------------------------------------------------------------------


def _divisor(sp, out, k, s, p, count_include_pad):
    """The count each window's sum is divided by, as torch: windows clipped to the padded input
    (count_include_pad) or to the input itself, shape ``out``."""
    counts = []
    for n, o, kk, ss, pp in zip(sp, out, k, s, p):
        start = np.arange(o) * ss - pp
        end = np.minimum(start + kk, n + pp)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, n) - np.maximum(start, 0))
    total = np.ones((), dtype=np.int64)
    for i, c in enumerate(counts):
        total = total[..., None] * c if i else c
    return total


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd, name):
    x, unbatched = _input(input, nd, name)
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: average pooling needs a floating input, got dtype {x.dtype}")
    k, s, pads, r, out = _geometry(x, kernel_size, stride, padding, 1, ceil_mode, nd, name)
    windows = apply("im2col", x, kernel_size=k, stride=s, padding=pads, dilation=r)
    total = windows.sum(dim=tuple(range(-nd, 0)))
    if divisor_override is not None:
        if not _is_int(divisor_override) or divisor_override == 0:
            raise RuntimeError(f"{name}: divisor must be not zero, got divisor_override={divisor_override!r}")
        y = total / leaf(np.asarray(divisor_override, dtype=x.dtype))
    else:
        count = _divisor(x.shape[2:], out, k, s, [lo for lo, _ in pads], count_include_pad)
        y = total / leaf(count.astype(x.dtype))
    return y.squeeze(0) if unbatched else y


def avg_pool1d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-D average pooling of (N, C, L) (see avg_pool2d)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling of (N, C, H, W): each window's sum over its count (with the zero padding
    when ``count_include_pad``, else only the input's elements; ``divisor_override`` replaces it).
    The gradient of each output is shared equally by its window's elements."""
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2, "avg_pool2d"
    )


def avg_pool3d(
    input: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling of (N, C, D, H, W) (see avg_pool2d)."""
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3, "avg_pool3d"
    )


# -- adaptive pooling -----------------------------------------------------------------------------


def _adaptive_sizes(x, output_size, nd, name):
    if _is_int(output_size) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise RuntimeError(f"{name}: output_size must be {nd}, got output_size={list(output_size)}")
    out = tuple(n if o is None else o for n, o in zip(x.shape[2:], output_size))
    if any(not _is_int(o) or o < 0 for o in out):
        raise RuntimeError(
            f"{name}: elements of output_size must be greater than or equal to 0 but received {list(output_size)}"
        )
    return tuple(int(o) for o in out)


def _bounds(n, o):
    """torch's adaptive windows along one dimension: [floor(i n / o), ceil((i + 1) n / o))."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _along(t, dim, matrix):
    """t's dimension ``dim`` (from the end) mapped by ``matrix`` (out, in): a product, so linear."""
    m = leaf(matrix)
    if dim == -1:
        return t @ m.T
    return (t.transpose(dim, -1) @ m.T).transpose(dim, -1)


def _adaptive_avg_pool(input, output_size, nd, name):
    x, unbatched = _input(input, nd, name)
    out = _adaptive_sizes(x, output_size, nd, name)
    y = x
    for i, (n, o) in enumerate(zip(x.shape[2:], out)):
        start, end = _bounds(n, o)
        columns = np.arange(n)
        inside = (columns >= start[:, None]) & (columns < end[:, None])
        averaging = inside / (end - start)[:, None]
        y = _along(y, i - nd, averaging.astype(x.dtype))
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool1d(input: Tensor, output_size: int | tuple[int | None, ...] | None) -> Tensor:
    """Average pooling of (N, C, L) to ``output_size`` windows, [floor(i L / o), ceil((i + 1) L / o))."""
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, ...] | None) -> Tensor:
    """Average pooling of (N, C, H, W) to ``output_size`` (an int, a pair; None keeps that size):
    the average of each window, separable, so one product with an averaging matrix per dimension."""
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size: int | tuple[int | None, ...] | None) -> Tensor:
    """Average pooling of (N, C, D, H, W) to ``output_size`` (see adaptive_avg_pool2d)."""
    return _adaptive_avg_pool(input, output_size, 3, "adaptive_avg_pool3d")


def _adaptive_max_pool(input, output_size, return_indices, nd, name):
    x, unbatched = _input(input, nd, name)
    out = _adaptive_sizes(x, output_size, nd, name)
    sp = x.shape[2:]
    if any(o == 0 for o in out):
        raise RuntimeError(f"{name}: output_size must be positive for max pooling, got {list(out)}")
    lut: np.ndarray | None
    if all(n % o == 0 for n, o in zip(sp, out)):  # equal windows: a max pooling with stride = window
        k = tuple(n // o for n, o in zip(sp, out))
        source, lut = x, None
    else:  # windows of different sizes: gather each into a block of the largest size (repeating its last element)
        source, tables = x, []
        sizes = []
        for i, (n, o) in enumerate(zip(sp, out)):
            start, end = _bounds(n, o)
            size = int((end - start).max())
            index = np.minimum(start[:, None] + np.arange(size), end[:, None] - 1).reshape(-1)
            source = source.index_select(2 + i, leaf(index.astype(np.int64)))
            tables.append(index)
            sizes.append(size)
        k = tuple(sizes)
        lut = np.zeros((), dtype=np.int64)
        for n, index in zip(sp, tables):
            lut = lut[..., None] * n + index
        lut = lut.reshape(-1)
    params = {"kernel_size": k, "stride": k, "padding": ((0, 0),) * nd, "dilation": (1,) * nd}
    y = apply("max_pool", source, **params)
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    indices = apply("max_pool_indices", source, **params)
    if lut is not None:
        indices = leaf(lut)[indices]
    return y, (indices.squeeze(0) if unbatched else indices)


def adaptive_max_pool1d(input: Tensor, output_size: int | tuple[int | None, ...] | None, return_indices: bool = False):
    """Max pooling of (N, C, L) to ``output_size`` adaptive windows (see adaptive_max_pool2d)."""
    return _adaptive_max_pool(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input: Tensor, output_size: int | tuple[int | None, ...] | None, return_indices: bool = False):
    """Max pooling of (N, C, H, W) to ``output_size``: the maximum of each adaptive window
    [floor(i H / o), ceil((i + 1) H / o)) x ...; the gradient goes to each window's first maximum."""
    return _adaptive_max_pool(input, output_size, return_indices, 2, "adaptive_max_pool2d")


# -- max unpooling --------------------------------------------------------------------------------


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd, name):
    x, unbatched = _input(input, nd, name)
    idx = _t(indices, "indices")
    if unbatched:
        idx = idx.unsqueeze(0)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: indices must be an integer tensor (int64), got dtype {idx.dtype}")
    if idx.shape != x.shape:
        raise RuntimeError(
            f"Expected shape of indices to be same as that of the input tensor ({list(x.shape)}) but "
            f"got indices tensor with shape: {list(idx.shape)}"
        )
    k = _tuple(kernel_size, nd, "kernel_size", "pooling")
    s = k if stride is None else _tuple(stride, nd, "stride", "pooling")
    p = _tuple(padding, nd, "padding", "pooling")
    default = tuple((n - 1) * ss - 2 * pp + kk for n, kk, ss, pp in zip(x.shape[2:], k, s, p))
    if output_size is None:
        size = default
    else:
        size = tuple(output_size)
        if len(size) == nd + 2:
            size = size[2:]
        if len(size) != nd:
            raise ValueError(
                f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                f"length of '{len(size)}'"
            )
        for i, (v, d) in enumerate(zip(size, default)):
            low, high = d - s[i], d + s[i]
            if not low < v < high:
                raise ValueError(f'invalid output_size "{tuple(size)}" (dim {i} must be between {low} and {high})')
    plane = math.prod(size)
    if idx.numel() and (idx.data.min() < 0 or idx.data.max() >= plane):
        bad = int(idx.data.max() if idx.data.max() >= plane else idx.data.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size {'x'.join(map(str, size))}")
    y = apply("max_unpool", x, idx, output_size=tuple(int(v) for v in size))
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of max_pool1d (see max_unpool2d)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of max_pool2d: zeros of the pooled input's size (or ``output_size``) with
    each value written back at its index (max_pool2d's ``return_indices``)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of max_pool3d (see max_unpool2d)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")
