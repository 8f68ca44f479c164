"""Convolution, N-d (1-D, 2-D, 3-D...), as im2col and one BLAS product per group, and its adjoints.

Shapes, with d spatial dimensions and G groups (Ci = C / G input and Co = O / G output channels a
group), per-dimension stride s, dilation r and padding (lo, hi):

    x (N, C, *in),  w (O, Ci, *k),  b (O,) or empty (no bias),  y (N, O, *out)
    y[n, g Co + o, p] = b[g Co + o] + sum_{c, j} xpad[n, g Ci + c, p s + j r] w[g Co + o, c, j]
    out = floor((in + lo + hi - r (k - 1) - 1) / s) + 1

Four entries, closed under differentiation (every rule is written with them, so derivatives of
any order are convolutions again):

    im2col(x)          the windows (N, C, *out, *k): window p of x holds xpad[n, c, p s + j r] at j
                       (a strided view of x, or of a zero-padded copy when there is padding)
    col2im(c)          its adjoint: each window's values added back where they came from, padding cropped
    conv(x, w, b)      per group one GEMM of w (Co, Ci K) with the im2col columns (Ci K, N L)
    conv_transpose     the adjoint of conv in x (torch's ConvTranspose): col2im of w^T x, plus b;
                       its weight (C_in, C_out / G, *k) is the conv's weight from its output to its input

    conv:            dx = conv_transpose(g, w),  dw = g . im2col(x)^T,  db = g summed over N and space
    conv_transpose:  dx = conv(g, w),            dw = x . im2col(g)^T,  db = g summed over N and space
    im2col: dx = col2im(g);  col2im: dx = im2col(g)

The GEMM's output, (O, N, *out) in memory, is returned as its (N, O, *out) transpose: a strided
view, no copy (numpy's elementwise operations keep that layout, and the next im2col reads it as
well as a contiguous array). Fast kernels for particular layouts live in conv_kernels.py.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import LINEAR, constant, defop, fn

# -- windows: im2col and col2im -------------------------------------------------------------------


def out_size(size, k, stride, padding, dilation):
    """The number of windows along one dimension: floor((in + lo + hi - r (k - 1) - 1) / s) + 1."""
    lo, hi = padding
    return (size + lo + hi - dilation * (k - 1) - 1) // stride + 1


def padded(x, padding, fill=0):
    """x (N, C, *in) with ``padding`` ((lo, hi) per spatial dimension) of ``fill`` around its
    spatial dimensions (x itself when there is none)."""
    if not any(lo or hi for lo, hi in padding):
        return x
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], padding))
    out = np.full(shape, fill, dtype=x.dtype) if fill else np.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], padding))] = x
    return out


def _im2col(x, *, kernel_size, stride, padding, dilation, fill=0):
    """The windows (N, C, *out, *k) of x: a read-only strided view (of a padded copy if padding)."""
    xp = padded(x, padding, fill)
    nd = len(kernel_size)
    n = tuple(
        out_size(size, k, s, p, r) for size, k, s, p, r in zip(x.shape[2:], kernel_size, stride, padding, dilation)
    )
    st = xp.strides
    strides = (
        st[:2] + tuple(st[2 + i] * stride[i] for i in range(nd)) + tuple(st[2 + i] * dilation[i] for i in range(nd))
    )
    return as_strided(xp, x.shape[:2] + n + tuple(kernel_size), strides, writeable=False)


def _col2im(cols, *, output_size, kernel_size, stride, padding, dilation):
    """The adjoint of im2col: zeros (N, C, *output_size) (padded), window j of every position p
    added at p s + j r, then the padding cropped. One strided add per kernel offset j."""
    nd = len(kernel_size)
    n = cols.shape[2 : 2 + nd]
    full = tuple(
        max(size + lo + hi, (m - 1) * s + r * (k - 1) + 1)
        for size, (lo, hi), m, s, r, k in zip(output_size, padding, n, stride, dilation, kernel_size)
    )
    buf = np.zeros(cols.shape[:2] + full, dtype=cols.dtype)
    for j in np.ndindex(*kernel_size):
        dst = tuple(slice(jj * r, jj * r + (m - 1) * s + 1, s) for jj, r, m, s in zip(j, dilation, n, stride))
        buf[(slice(None), slice(None)) + dst] += cols[(Ellipsis,) + j]
    if buf.shape[2:] == tuple(output_size):
        return buf
    return buf[(slice(None), slice(None)) + tuple(slice(lo, lo + size) for size, (lo, _) in zip(output_size, padding))]


def _crop_windows(cols, n):
    """cols (N, C, *m, *k) restricted to the first n[i] windows of each dimension."""
    if tuple(cols.shape[2 : 2 + len(n)]) == tuple(n):
        return cols
    return cols[(slice(None), slice(None)) + tuple(slice(0, m) for m in n)]


def _im2col_grad(g, out, x, *, kernel_size, stride, padding, dilation):
    return fn.apply_op(
        COL2IM,
        (g,),
        {
            "output_size": tuple(x.shape[2:]),
            "kernel_size": kernel_size,
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
        },
    )


def _col2im_grad(g, out, cols, *, output_size, kernel_size, stride, padding, dilation):
    windows = fn.apply_op(
        IM2COL, (g,), {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}
    )
    return _crop_windows(windows, cols.shape[2 : 2 + len(kernel_size)])


IM2COL = defop(
    "im2col",
    _im2col,
    _im2col_grad,
    jvp=LINEAR,
    doc="windows out[n, c, p, j] = xpad[n, c, p s + j r]: dx = col2im(g), each window's gradient added back "
    "where it came from",
)
COL2IM = defop(
    "col2im",
    _col2im,
    _col2im_grad,
    jvp=LINEAR,
    doc="the adjoint of im2col, out[n, c, p s + j r] += x[n, c, p, j], padding cropped: dx = im2col(g)",
)

# -- convolution and its transpose ----------------------------------------------------------------


def no_bias(dtype):
    """The empty bias array that stands for 'no bias' (an input every conv entry has)."""
    return constant(("no bias", np.dtype(dtype).char), lambda: np.zeros(0, dtype))


def _columns(windows, groups):
    """im2col's windows (N, C, *out, *k) as GEMM columns (G, Ci K, N L), rows ordered (c, j) and
    columns (n, p): the copy im2col is named for (arrays and Tensors alike)."""
    shape = windows.shape
    nd = (len(shape) - 2) // 2
    n, c = shape[0], shape[1]
    out, k = tuple(shape[2 : 2 + nd]), tuple(shape[2 + nd :])
    split = windows.reshape((n, groups, c // groups) + out + k)
    order = (1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + (0,) + tuple(range(3, 3 + nd))
    return fn.permute(split, order).reshape(groups, (c // groups) * math.prod(k), n * math.prod(out))


def _grouped(t, groups):
    """t (N, C, *sp) as per-group matrices (G, C / G, N L) (a view when t's memory is (C, N, *sp))."""
    n, c = t.shape[0], t.shape[1]
    size = math.prod(t.shape[2:])
    return fn.permute(t.reshape(n, groups, c // groups, size), (1, 2, 0, 3)).reshape(groups, c // groups, n * size)


def _conv(x, w, b, *, stride, padding, dilation, groups):
    windows = _im2col(x, kernel_size=w.shape[2:], stride=stride, padding=padding, dilation=dilation)
    o = w.shape[0]
    y = np.matmul(w.reshape(groups, o // groups, -1), _columns(windows, groups))  # (G, Co, N L)
    if b.size:
        y = y.reshape(o, y.shape[2])
        y += b.reshape(o, 1)
    return np.swapaxes(y.reshape((o, x.shape[0]) + windows.shape[2 : 2 + len(stride)]), 0, 1)


def _conv_transpose(x, w, b, *, stride, padding, dilation, groups, output_size):
    k = w.shape[2:]
    cin, cog = w.shape[0], w.shape[1]
    wm = w.reshape(groups, cin // groups, cog * math.prod(k))
    cols = np.matmul(np.swapaxes(wm, 1, 2), _grouped(x, groups))  # (G, Co K, N L)
    nd = len(k)
    n, sp = x.shape[0], x.shape[2:]
    windows = cols.reshape((groups * cog,) + tuple(k) + (n,) + tuple(sp))
    order = (1 + nd, 0) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(1, 1 + nd))
    y = _col2im(
        windows.transpose(order),
        output_size=output_size,
        kernel_size=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    if b.size:
        y += b.reshape((-1,) + (1,) * nd)
    return y


def weight_grad(x, g, shape, *, stride, padding, dilation, groups):
    """d(loss)/dw of y = conv(x, w) for y's gradient g: per group, g (Co, N L) times the columns of
    x transposed (N L, Ci K); ``shape`` is w's. Also the weight gradient of a transposed
    convolution, with the roles of x and g swapped (then x's windows outnumber g's positions: the
    extra ones are dropped)."""
    k = tuple(shape[2:])
    windows = fn.apply_op(IM2COL, (x,), {"kernel_size": k, "stride": stride, "padding": padding, "dilation": dilation})
    windows = _crop_windows(windows, g.shape[2:])
    return (_grouped(g, groups) @ fn.swapaxes(_columns(windows, groups), 1, 2)).reshape(shape)


def _bias_grad(g):
    return g.sum(axis=(0,) + tuple(range(2, len(g.shape))))


def _conv_params(stride, padding, dilation, groups):
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _crop(t, sp):
    """t (N, C, *m) cropped to its first sp[i] positions of each spatial dimension."""
    if tuple(t.shape[2:]) == tuple(sp):
        return t
    return t[(slice(None), slice(None)) + tuple(slice(0, m) for m in sp)]


def _conv_grad_x(g, out, x, w, b, *, stride, padding, dilation, groups):
    params = _conv_params(stride, padding, dilation, groups) | {"output_size": tuple(x.shape[2:])}
    return fn.apply_op(CONV_TRANSPOSE, (g, w, no_bias(fn.const(g).dtype)), params)


def _conv_grad_w(g, out, x, w, b, *, stride, padding, dilation, groups):
    return weight_grad(x, g, w.shape, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _conv_jvp(tangents, out, x, w, b, *, stride, padding, dilation, groups):
    """d conv(x, w) + db: conv(dx, w) + conv(x, dw) + db (bilinear in x and w)."""
    tx, tw, tb = tangents
    params = _conv_params(stride, padding, dilation, groups)
    return _bilinear_jvp(CONV, tx, tw, tb, x, w, params)


def _bilinear_jvp(op, tx, tw, tb, x, w, params):
    total = None
    empty = no_bias(fn.const(x).dtype)
    for term in (
        None if tx is None else fn.apply_op(op, (tx, w, empty), params),
        None if tw is None else fn.apply_op(op, (x, tw, empty), params),
    ):
        if term is not None:
            total = term if total is None else total + term
    if tb is not None and tb.shape[0]:
        bias = tb.reshape((1, -1) + (1,) * (len(x.shape) - 2))
        total = bias if total is None else total + bias
    return total


CONV = defop(
    "conv",
    _conv,
    _conv_grad_x,
    _conv_grad_w,
    lambda g, out, x, w, b, **params: _bias_grad(g),
    jvp=_conv_jvp,
    doc="y = w * x + b (im2col, one GEMM a group): dx = conv_transpose(g, w), dw = g . im2col(x)^T, "
    "db = g summed over batch and space",
)


def _conv_transpose_grad_x(g, out, x, w, b, *, stride, padding, dilation, groups, output_size):
    dx = fn.apply_op(CONV, (g, w, no_bias(fn.const(g).dtype)), _conv_params(stride, padding, dilation, groups))
    return _crop(dx, x.shape[2:])


def _conv_transpose_grad_w(g, out, x, w, b, *, stride, padding, dilation, groups, output_size):
    return weight_grad(g, x, w.shape, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _conv_transpose_jvp(tangents, out, x, w, b, *, stride, padding, dilation, groups, output_size):
    tx, tw, tb = tangents
    params = _conv_params(stride, padding, dilation, groups) | {"output_size": output_size}
    return _bilinear_jvp(CONV_TRANSPOSE, tx, tw, tb, x, w, params)


CONV_TRANSPOSE = defop(
    "conv_transpose",
    _conv_transpose,
    _conv_transpose_grad_x,
    _conv_transpose_grad_w,
    lambda g, out, x, w, b, **params: _bias_grad(g),
    jvp=_conv_transpose_jvp,
    doc="y = col2im(w^T x) + b, the adjoint of conv in its input: dx = conv(g, w), dw = x . im2col(g)^T, "
    "db = g summed over batch and space",
)
