"""Max pooling and max unpooling, N-d, on im2col's windows (conv.py).

Average and adaptive pooling need no entry of their own: nn.functional writes them with the table's
linear operations (im2col, a sum and a constant divisor; products with averaging matrices), whose
derivatives are already there. Max pooling selects: its windows' first maximum (torch's choice
among ties), which the rules recompute from the input.

    max_pool(x)        y[n, c, p] = max_j xpad[n, c, p s + j r]  (xpad padded with -inf)
                       dx = col2im(g at each window's first maximum, zeros elsewhere)
    max_pool_indices   the position of that maximum in x's plane (torch's return_indices)
    max_unpool(x, i)   zeros with x written at the plane positions i: dx = g gathered at i
"""

from __future__ import annotations

import math

import numpy as np

from . import LINEAR, defop, fn
from .conv import COL2IM, IM2COL, _im2col


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _windows(x, kernel_size, stride, padding, dilation):
    return _im2col(x, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation, fill=_lowest(x.dtype))


def _offsets(windows, nd):
    """Each kernel offset j with the (N, C, *out) view of the window elements at j."""
    k = windows.shape[-nd:]
    for j in np.ndindex(*k):
        yield j, windows[(Ellipsis,) + j]


def _max_pool(x, *, kernel_size, stride, padding, dilation):
    """The maximum over the kernel offsets: one elementwise maximum per offset, on strided views
    (numpy reduces many short strided windows slowly)."""
    windows = _windows(x, kernel_size, stride, padding, dilation)
    out = None
    for _, view in _offsets(windows, len(kernel_size)):
        out = view.copy() if out is None else np.maximum(out, view, out=out)
    return out


def first_max(x, kernel_size, stride, padding, dilation, out=None):
    """The index (into the flattened window, C order) of each window's first maximum, shape
    (N, C, *out), x an array: a NaN counts as the maximum (the first NaN, as numpy's argmax).
    ``out``: the pooled maxima if known."""
    windows = _windows(x, kernel_size, stride, padding, dilation)
    if out is None:
        out = _max_pool(x, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    index = np.zeros(out.shape, dtype=np.int64)
    found = np.zeros(out.shape, dtype=bool)
    nan = np.isnan(out) if out.dtype.kind == "f" else None
    for i, (_, view) in enumerate(_offsets(windows, len(kernel_size))):
        hit = view == out
        if nan is not None:
            hit |= nan & np.isnan(view)
        hit &= ~found
        index[hit] = i
        found |= hit
    return index


def _one_hot(x, kernel_size, stride, padding, dilation, dtype, out=None):
    """(N, C, *out, *k) of ``dtype``: 1 at each window's first maximum, 0 elsewhere."""
    index = first_max(x, kernel_size, stride, padding, dilation, out)
    size = math.prod(kernel_size)
    hot = (index[..., None] == np.arange(size)).astype(dtype)
    return hot.reshape(index.shape + tuple(kernel_size))


def _max_pool_grad(g, out, x, *, kernel_size, stride, padding, dilation):
    nd = len(kernel_size)
    hot = _one_hot(fn.const(x), kernel_size, stride, padding, dilation, fn.const(g).dtype, fn.const(out))
    spread = g.reshape(tuple(g.shape) + (1,) * nd) * hot
    return fn.apply_op(
        COL2IM,
        (spread,),
        {
            "output_size": tuple(x.shape[2:]),
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
        },
    )


def _max_pool_jvp(tangents, out, x, *, kernel_size, stride, padding, dilation):
    """The tangent at each window's first maximum."""
    nd = len(kernel_size)
    hot = _one_hot(fn.const(x), kernel_size, stride, padding, dilation, fn.const(tangents[0]).dtype)
    windows = fn.apply_op(
        IM2COL, (tangents[0],), {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}
    )
    return (windows * hot).sum(axis=tuple(range(-nd, 0)))


MAX_POOL = defop(
    "max_pool",
    _max_pool,
    _max_pool_grad,
    jvp=_max_pool_jvp,
    doc="y = max over each window of x (padded with -inf): dx = col2im(g at each window's first maximum)",
)


def _max_pool_indices(x, *, kernel_size, stride, padding, dilation):
    """Flat positions in x's (unpadded) plane of the windows' first maxima, int64 (N, C, *out)."""
    index = first_max(x, kernel_size, stride, padding, dilation)
    nd = len(kernel_size)
    offsets = np.unravel_index(index, kernel_size)
    flat = np.zeros(index.shape, dtype=np.int64)
    for i in range(nd):
        along = np.arange(index.shape[2 + i]).reshape((-1,) + (1,) * (nd - 1 - i))
        position = along * stride[i] - padding[i][0] + offsets[i] * dilation[i]
        flat = flat * x.shape[2 + i] + position
    return flat


defop(
    "max_pool_indices",
    _max_pool_indices,
    None,
    doc="the flat position, in its plane of x, of each window's first maximum (integers: no gradient)",
)


# -- max unpooling ------------------------------------------------------------------------------


def _planes(t):
    """t (N, C, *sp) as (N, C, L)."""
    return t.reshape(tuple(t.shape[:2]) + (-1,))


def _max_unpool(x, indices, *, output_size):
    out = np.zeros(x.shape[:2] + (math.prod(output_size),), dtype=x.dtype)
    np.put_along_axis(out, _planes(indices), _planes(x), axis=2)
    return out.reshape(x.shape[:2] + tuple(output_size))


def _max_unpool_grad(g, out, x, indices, *, output_size):
    return fn.gather(_planes(g), 2, _planes(fn.const(indices))).reshape(x.shape)


defop(
    "max_unpool",
    _max_unpool,
    _max_unpool_grad,
    None,
    jvp=LINEAR,
    doc="zeros of output_size with x written at its plane positions indices: dx = g gathered at indices",
)


from . import conv_kernels  # noqa: E402,F401  (the fast paths of conv.py's and this file's entries)
