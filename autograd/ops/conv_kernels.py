"""Fast kernels for the convolution and pooling entries (conv.py, pool.py), beside their formulas.

As in kernels.py: a kernel computes what the formula it replaces computes, on the arrays its one
predicate accepts (ndarrays only, so recorded backward passes under create_graph always run the
formulas); the order of floating-point sums may differ in the last bits. They are registered here,
in their own list, and ``tests/nn/test_nn_conv_kernels.py`` runs each against its formula.
"""

from __future__ import annotations

import functools
import math
import threading
import weakref
from collections import OrderedDict

import numpy as np

from ..grad_mode import state
from . import OPS
from .kernels import Kernel, _dispatcher
from .threads import split

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
            op.vjps = op.vjps[:slot] + (dispatch,) + op.vjps[slot + 1 :]
        CONV_KERNELS.append(Kernel(run.__name__, op, slot, when, run, reference))
        return run

    return register


def _float_arrays(*arrays):
    return all(a.__class__ is np.ndarray and a.dtype.kind == "f" for a in arrays)


# -- max pooling's gradient: no one-hot windows ---------------------------------------------------


def _pool_rule_arrays(g, out, x, **params):
    return _float_arrays(g, out, x) and g.dtype == x.dtype


def _pool_arrays(x, **params):
    return _float_arrays(x)


@kernel("max_pool", "forward", when=_pool_arrays)
def max_pool_in_parts(x, *, kernel_size, stride, padding, dilation):
    """The formula's maximum over the kernel offsets (a copy of the first offset's strided view,
    then one elementwise maximum per offset), in parts of the batch on a few threads (threads.py):
    the same operations in the same order on every element."""
    from .pool import _windows

    windows = _windows(x, kernel_size, stride, padding, dilation)
    nd = len(kernel_size)
    out = np.empty(windows.shape[:-nd], dtype=x.dtype)
    offsets = list(np.ndindex(*kernel_size))

    def samples(lo, hi):
        w, o = windows[lo:hi], out[lo:hi]
        np.copyto(o, w[(Ellipsis,) + offsets[0]])
        for j in offsets[1:]:
            np.maximum(o, w[(Ellipsis,) + j], out=o)

    split(samples, x.shape[0], x.nbytes + out.nbytes)
    return out


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
    covered = disjoint and all(
        m * s == f and s == k and (r == 1 or k == 1) for m, s, f, k, r in zip(n, stride, full, kernel_size, dilation)
    )
    if full == x.shape[2:]:  # (in x's memory layout: the gradient flows on into x's producer)
        dx = (np.empty_like if covered else np.zeros_like)(x)
    else:
        dx = np.zeros(x.shape[:2] + full, dtype=x.dtype)
    check_nan = bool(np.isnan(out).any())
    offsets = list(np.ndindex(*kernel_size))
    dst_of = [
        (slice(None), slice(None))
        + tuple(slice(jj * r, jj * r + (m - 1) * s + 1, s) for jj, r, m, s in zip(j, dilation, n, stride))
        for j in offsets
    ]

    def samples(lo, hi):
        # hit: the windows whose first maximum sits at this offset ("equal here and not found
        # before", one comparison of booleans: equal > found); found: those of the offsets before
        w, o, gg, d = windows[lo:hi], out[lo:hi], g[lo:hi], dx[lo:hi]
        nan = np.isnan(o) if check_nan else None
        scratch = None if disjoint else np.empty(o.shape, dtype=x.dtype)
        last = len(offsets) - 1
        hit, found = np.empty(o.shape, dtype=bool), None
        for i, j in enumerate(offsets):
            if i == last and found is not None and nan is None:
                # (no NaN: every window's maximum is one of its values, so it sits at the last
                # offset exactly where no earlier one had it; no comparison needed)
                np.logical_not(found, out=hit)
            else:
                view = w[(Ellipsis,) + j]
                np.equal(view, o, out=hit)
                if nan is not None:
                    hit |= nan & np.isnan(view)
                if found is not None:
                    np.greater(hit, found, out=hit)
            if scratch is None:
                np.multiply(gg, hit, out=d[dst_of[i]])
            else:
                np.multiply(gg, hit, out=scratch)
                d[dst_of[i]] += scratch
            if i < last:
                if found is None:  # (the first offset's hits are the found ones: a new buffer for hit)
                    found, hit = hit, np.empty(o.shape, dtype=bool)
                else:
                    np.logical_or(found, hit, out=found)

    split(samples, x.shape[0], 2 * x.nbytes)
    if dx.shape[2:] == x.shape[2:]:
        return dx
    return np.ascontiguousarray(
        dx[(slice(None), slice(None)) + tuple(slice(lo, lo + size) for size, (lo, _) in zip(x.shape[2:], padding))]
    )


# -- the bias gradient: g summed over batch and space by BLAS ---------------------------------------


def _bias_rule_arrays(g, out, x, w, b, **params):
    return _float_arrays(g) and g.ndim >= 3 and g.size > 0 and b.size > 0


def bias_grad_by_blas(g, out, x, w, b, **params):
    """The formula's sum of g over every axis but the channels', as products with a vector of ones
    (BLAS: several times faster than numpy's reduction over the outer and inner axes): one
    product of the (C, N L) rows when g is laid out (C, N, *sp) as a convolution's output is, else
    (N, C, L) @ ones then a sum over the batch. The same sum in another order (a few ulps)."""
    n, c = g.shape[0], g.shape[1]
    rows = np.swapaxes(g, 0, 1)
    if rows.flags.c_contiguous:
        return rows.reshape(c, -1) @ np.ones(g.size // c, g.dtype)
    per_sample = np.ascontiguousarray(g).reshape(n, c, -1) @ np.ones(g.size // (n * c), g.dtype)
    return per_sample.sum(axis=0)


kernel("conv", 2, when=_bias_rule_arrays)(bias_grad_by_blas)
kernel("conv_transpose", 2, when=_bias_rule_arrays)(bias_grad_by_blas)


# -- scratch memory for the large temporaries -------------------------------------------------------
# The GEMM columns (C_in K x N L) are the largest arrays of a convolution and live only inside one
# forward-backward. Fresh ones come from the system as new pages (glibc maps large blocks and gives
# them back when freed): at batch 64 the page faults cost as much as a copy of the columns. Idle
# buffers are kept here instead (at most _POOL_BYTES together) and taken again: scratch only, every
# use overwrites what it reads; nothing returned to a caller lives in one.

_POOL_BYTES = 256 << 20
_POOL: list = []  # idle flat uint8 buffers
_POOL_LOCK = threading.Lock()


def _take(shape, dtype):
    """(buffer, array of ``shape`` and ``dtype`` in it): the smallest idle buffer that holds it, or a new one."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    with _POOL_LOCK:
        fits = [i for i, raw in enumerate(_POOL) if raw.nbytes >= nbytes]
        raw = _POOL.pop(min(fits, key=lambda i: _POOL[i].nbytes)) if fits else None
    if raw is None:
        raw = np.empty(max(nbytes, 1), np.uint8)
    return raw, raw[:nbytes].view(dtype).reshape(shape)


def _give_back(raw):
    """Return a buffer taken by _take (nothing may use its array any more)."""
    with _POOL_LOCK:
        while _POOL and sum(r.nbytes for r in _POOL) + raw.nbytes > _POOL_BYTES:
            _POOL.pop(min(range(len(_POOL)), key=lambda i: _POOL[i].nbytes))
        if raw.nbytes <= _POOL_BYTES:
            _POOL.append(raw)


# -- the transposed convolution (a convolution's input gradient): col2im with the batch innermost --


_SHORT_ROWS = 32  # windows per row below which the formula's col2im adds run short inner loops
_MIN_BATCH = 8


def _batch_last_fits(x, w, b, *, stride, padding, dilation, groups, output_size):
    """Float ndarrays, a batch of at least 8, rows of fewer than 32 positions (the formula's col2im
    then adds one short row at a time: numpy's per-row overhead exceeds the adds) and at least
    twice as many windows' values as x has (the kernel's extra cost is moving x, and its result,
    to and from the batch-last layout). Measured (one thread, batch 64, the conv's input gradient):
    3,32,32,3 formula 4.5 ms, kernel 5.2 (27 values a position against 32 channels: refused);
    16,16,32,5 53.1 against 35.0; 32,64,15,3 11.3 against 8.3."""
    return (
        _float_arrays(x, w, b)
        and x.dtype == w.dtype
        and x.ndim >= 3
        and x.shape[0] >= _MIN_BATCH
        and x.shape[-1] < _SHORT_ROWS
        and w.shape[1] * groups * math.prod(w.shape[2:]) >= 2 * x.shape[1]
    )


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
    raw_x, xm = _take((cin,) + sp + (n,), x.dtype)
    split(lambda lo, hi: np.copyto(xm[lo:hi], np.moveaxis(x[:, lo:hi], 0, -1)), cin, 2 * xm.nbytes)
    wm = w.reshape(groups, cin // groups, cog * math.prod(k))
    raw_c, cols = _take((groups, cog * math.prod(k), xm.size // cin), x.dtype)
    np.matmul(np.swapaxes(wm, 1, 2), xm.reshape(groups, cin // groups, -1), out=cols)  # (G, Co K, L N)
    _give_back(raw_x)
    windows = cols.reshape((groups * cog,) + tuple(k) + tuple(sp) + (n,))
    full = tuple(
        max(size + lo + hi, (m - 1) * s + r * (kk - 1) + 1)
        for size, (lo, hi), m, s, r, kk in zip(output_size, padding, sp, stride, dilation, k)
    )
    raw_b, buf = _take((groups * cog,) + full + (n,), x.dtype)
    spots = [
        tuple(slice(jj * r, jj * r + (m - 1) * s + 1, s) for jj, r, m, s in zip(j, dilation, sp, stride))
        for j in np.ndindex(*k)
    ]
    crop = buf[(slice(None),) + tuple(slice(lo, lo + size) for size, (lo, _) in zip(output_size, padding))]
    y = np.empty((n, groups * cog) + tuple(output_size), dtype=x.dtype)
    y_last = np.moveaxis(y, 0, -1)

    def channels(lo, hi):  # (each output channel's adds and copy are its own)
        part, win = buf[lo:hi], windows[lo:hi]
        part.fill(0)
        for j, spot in zip(np.ndindex(*k), spots):
            dst = part[(slice(None),) + spot]
            np.add(dst, win[(slice(None),) + j], out=dst)
        np.copyto(y_last[lo:hi], crop[lo:hi])

    split(channels, groups * cog, 2 * cols.nbytes + 2 * buf.nbytes)
    _give_back(raw_c)
    _give_back(raw_b)
    if b.size:
        y += b.reshape((-1,) + (1,) * nd)
    return y


# -- the forward's GEMM columns kept for the weight gradient ---------------------------------------
# The weight gradient g . columns(x)^T needs the columns the forward built (im2col's copy). Where
# grad is enabled, the forward keeps them, keyed on its output array (a weak reference: the entry
# goes when the output does) and on x itself; the weight rule takes them (once: a second backward
# through a retained graph builds them again) when it is given that same output and that same x.
# A value the rules read that was modified in place makes backward raise before any rule runs
# (version counters), and ag.Graph's forward computes a new output array, so a kept entry always
# holds the columns of the x that the rule is given. At most _KEEP_BYTES are kept, oldest dropped
# first (the weight rule then builds them again, as the formula does).

_KEEP_BYTES = 256 << 20
_KEPT: OrderedDict = OrderedDict()  # id(out) -> (weakref to out, x, columns, their buffer)
_kept_bytes = [0]


def _forget(key):
    entry = _KEPT.pop(key, None)
    if entry is not None:
        _kept_bytes[0] -= entry[2].nbytes
    return entry


def _forget_freed(key, _ref) -> None:
    """The weakref callback of a kept output: its entry goes when the output is freed."""
    _forget(key)


def _conv_arrays(x, w, b, **params):
    """Float ndarrays of one dtype, while grad is enabled (a backward may follow)."""
    return state.grad_enabled and _float_arrays(x, w, b) and x.dtype == w.dtype


@kernel("conv", "forward", when=_conv_arrays)
def conv_keeping_columns(x, w, b, *, stride, padding, dilation, groups):
    """The formula's forward (one GEMM a group on im2col's columns), keeping the columns for the
    weight gradient (see above)."""
    from .conv import _im2col

    windows = _im2col(x, kernel_size=w.shape[2:], stride=stride, padding=padding, dilation=dilation)
    o = w.shape[0]
    nd = len(stride)
    n, c, out, k = x.shape[0], x.shape[1], windows.shape[2 : 2 + nd], windows.shape[2 + nd :]
    raw, cols = _take((groups, c // groups * math.prod(k), n * math.prod(out)), x.dtype)
    windows_by_group = windows.reshape((n, groups, c // groups) + out + k)  # (the order of conv.py's _columns)
    order = (1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + (0,) + tuple(range(3, 3 + nd))
    src, dst = windows_by_group.transpose(order), cols.reshape((groups, c // groups) + k + (n,) + out)
    at = 2 + len(k)  # (the batch axis of both)

    def samples(lo, hi):
        part = (slice(None),) * at + (slice(lo, hi),)
        np.copyto(dst[part], src[part])

    split(samples, n, 2 * cols.nbytes)
    y = np.matmul(w.reshape(groups, o // groups, -1), cols)  # (G, Co, N L)
    if b.size:
        y = y.reshape(o, y.shape[2])
        y += b.reshape(o, 1)
    y = np.swapaxes(y.reshape((o, x.shape[0]) + windows.shape[2 : 2 + len(stride)]), 0, 1)
    if cols.nbytes <= _KEEP_BYTES:
        key = id(y)
        _forget(key)
        _KEPT[key] = (weakref.ref(y, functools.partial(_forget_freed, key)), x, cols, raw)
        _kept_bytes[0] += cols.nbytes
        while _kept_bytes[0] > _KEEP_BYTES:
            _forget(next(iter(_KEPT)))
    else:
        _give_back(raw)
    return y


def _weight_rule_arrays(g, out, x, w, b, **params):
    return _float_arrays(g, out, x, w) and g.dtype == x.dtype


@kernel("conv", 1, when=_weight_rule_arrays)
def conv_weight_grad_kept_columns(g, out, x, w, b, *, stride, padding, dilation, groups):
    """g . columns^T per group with the columns the forward kept for this output and this x
    (declines when there are none: the formula builds them again). The same product on the same
    columns as the formula: the same values. (g as (G, Co, N L) rows: a view when g's memory is
    (C, N, *sp), as the forward's output is laid out, else a copy into scratch.)"""
    key = id(out)
    entry = _KEPT.get(key)
    if entry is None or entry[0]() is not out or entry[1] is not x:
        return None
    _forget(key)
    cols, raw = entry[2], entry[3]
    n, o = g.shape[0], g.shape[1]
    size = math.prod(g.shape[2:])
    grouped = g.reshape(n, groups, o // groups, size).transpose(1, 2, 0, 3)  # (G, Co, N, L): conv.py's _grouped
    raw_g = None
    if not _is_view_of_rows(grouped):
        raw_g, rows = _take(grouped.shape, g.dtype)
        src = grouped  # (G, Co, N, L): the batch is axis 2 of both
        split(lambda lo, hi: np.copyto(rows[:, :, lo:hi], src[:, :, lo:hi]), n, 2 * rows.nbytes)
        grouped = rows
    dw = np.matmul(grouped.reshape(groups, o // groups, n * size), np.swapaxes(cols, 1, 2)).reshape(w.shape)
    del entry, cols, grouped
    _give_back(raw)  # (the columns were this rule's to use once)
    if raw_g is not None:
        _give_back(raw_g)
    return dw


def _is_view_of_rows(t):
    """Whether t (G, Co, N, L) reshapes to (G, Co, N L) without a copy (g laid out as (C, N, *sp))."""
    st, sh = t.strides, t.shape
    return sh[3] == 1 or sh[2] == 1 or st[2] == st[3] * sh[3]
