"""Fast kernels for the convolution and pooling entries (conv.py, pool.py), beside their formulas.

As in kernels.py: a kernel computes what the formula it replaces computes, on the arrays its one
predicate accepts (ndarrays only, so recorded backward passes under create_graph always run the
formulas); the order of floating-point sums may differ in the last bits. They are registered here,
in their own list, and ``tests/nn/test_nn_conv_kernels.py`` runs each against its formula.
"""
from __future__ import annotations

import math

import numpy as np

from . import OPS
from .kernels import Kernel, _dispatcher

CONV_KERNELS: list[Kernel] = []


def kernel(op_name: str, slot, when):
    """Register the decorated function over ``OPS[op_name]``'s forward (``slot`` "forward") or its
    rule for input ``slot``, used where ``when`` (same arguments) is true."""
    def register(run):
        op = OPS[op_name]
        reference = op.forward if slot == "forward" else op.vjps[slot]
        dispatch = _dispatcher(when, run, reference)
        if slot == "forward":
            op.forward = dispatch
        else:
            op.vjps = op.vjps[:slot] + (dispatch,) + op.vjps[slot + 1:]
        CONV_KERNELS.append(Kernel(run.__name__, op, slot, when, run, reference))
        return run

    return register


def _float_arrays(*arrays):
    return all(a.__class__ is np.ndarray and a.dtype.kind == "f" for a in arrays)


# -- max pooling's gradient: no one-hot windows ---------------------------------------------------


def _pool_rule_arrays(g, out, x, **params):
    return _float_arrays(g, out, x) and g.dtype == x.dtype


@kernel("max_pool", 0, when=_pool_rule_arrays)
def max_pool_grad_direct(g, out, x, *, kernel_size, stride, padding, dilation):
    """g written (or added, where windows overlap) straight into the strided view of each kernel
    offset at the windows whose first maximum sits there: one pass per offset over the output,
    instead of the formula's one-hot windows and col2im. Windows that cannot overlap (stride at
    least the dilated kernel in every dimension) are assigned, not added."""
    from .pool import _windows

    windows = _windows(x, kernel_size, stride, padding, dilation)
    n = out.shape[2:]
    spans = [r * (k - 1) + 1 for k, r in zip(kernel_size, dilation)]
    disjoint = all(s >= span for s, span in zip(stride, spans))
    full = tuple(size + lo + hi for size, (lo, hi) in zip(x.shape[2:], padding))
    # the windows tile the padded input: every position gets a value (no zeros needed)
    covered = disjoint and all(m * s == f and s == k and (r == 1 or k == 1)
                               for m, s, f, k, r in zip(n, stride, full, kernel_size, dilation))
    if full == x.shape[2:]:  # (in x's memory layout: the gradient flows on into x's producer)
        dx = (np.empty_like if covered else np.zeros_like)(x)
    else:
        dx = np.zeros(x.shape[:2] + full, dtype=x.dtype)
    found = np.zeros(out.shape, dtype=bool)
    nan = np.isnan(out)
    check_nan = bool(nan.any())
    scratch = np.empty(out.shape, dtype=x.dtype)
    for j in np.ndindex(*kernel_size):
        hit = windows[(Ellipsis,) + j] == out
        if check_nan:
            hit |= nan & np.isnan(windows[(Ellipsis,) + j])
        hit &= ~found
        found |= hit
        dst = dx[(slice(None), slice(None)) + tuple(slice(jj * r, jj * r + (m - 1) * s + 1, s)
                                                    for jj, r, m, s in zip(j, dilation, n, stride))]
        if disjoint:
            np.multiply(g, hit, out=dst)
        else:
            np.multiply(g, hit, out=scratch)
            dst += scratch
    if dx.shape[2:] == x.shape[2:]:
        return dx
    return np.ascontiguousarray(dx[(slice(None), slice(None)) + tuple(slice(lo, lo + size) for size, (lo, _)
                                                                      in zip(x.shape[2:], padding))])


# -- the transposed convolution (a convolution's input gradient): col2im with the batch innermost --


_SHORT_ROWS = 24  # windows per row below which the formula's col2im adds run short inner loops
_MIN_BATCH = 8


def _batch_last_fits(x, w, b, *, stride, padding, dilation, groups, output_size):
    """Float ndarrays, a batch of at least 8 and rows of fewer than 24 positions: the formula's
    col2im then adds one short row at a time (numpy's per-row overhead exceeds the adds)."""
    return (_float_arrays(x, w, b) and x.dtype == w.dtype and x.ndim >= 3 and x.shape[0] >= _MIN_BATCH
            and x.shape[-1] < _SHORT_ROWS)


@kernel("conv_transpose", "forward", when=_batch_last_fits)
def conv_transpose_batch_last(x, w, b, *, stride, padding, dilation, groups, output_size):
    """The formula's products and col2im with the batch as the innermost axis: x laid out as
    (G, C_in / G, *sp, N), one GEMM a group gives the windows (C_out, *k, *sp, N), and each kernel
    offset's strided add into the padded (C_out, *full, N) buffer then runs along rows of
    (positions x N) contiguous elements instead of one row of positions at a time. The same sums
    in the same order as the formula (the same values); the result is copied back to (N, C, *size)."""
    k = w.shape[2:]
    nd = len(k)
    n, sp = x.shape[0], x.shape[2:]
    cin, cog = w.shape[0], w.shape[1]
    xm = np.empty((cin,) + sp + (n,), dtype=x.dtype)
    np.copyto(xm, np.moveaxis(x, 0, -1))
    wm = w.reshape(groups, cin // groups, cog * math.prod(k))
    cols = np.matmul(np.swapaxes(wm, 1, 2), xm.reshape(groups, cin // groups, -1))  # (G, Co K, L N)
    windows = cols.reshape((groups * cog,) + tuple(k) + tuple(sp) + (n,))
    full = tuple(max(size + lo + hi, (m - 1) * s + r * (kk - 1) + 1)
                 for size, (lo, hi), m, s, r, kk in zip(output_size, padding, sp, stride, dilation, k))
    buf = np.zeros((groups * cog,) + full + (n,), dtype=x.dtype)
    for j in np.ndindex(*k):
        dst = buf[(slice(None),) + tuple(slice(jj * r, jj * r + (m - 1) * s + 1, s)
                                         for jj, r, m, s in zip(j, dilation, sp, stride))]
        np.add(dst, windows[(slice(None),) + j], out=dst)
    crop = buf[(slice(None),) + tuple(slice(lo, lo + size) for size, (lo, _) in zip(output_size, padding))]
    y = np.empty((n, groups * cog) + tuple(output_size), dtype=x.dtype)
    np.copyto(np.moveaxis(y, 0, -1), crop)
    if b.size:
        y += b.reshape((-1,) + (1,) * nd)
    return y
