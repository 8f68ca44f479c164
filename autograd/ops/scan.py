"""Scans: cumulative sums and products, logcumsumexp, and the indices of running extremes.

``axis`` is one non-negative dimension (0 for a 0-d tensor, which scans its one element); the
Tensor methods normalise it. A scan's output element j summarises the elements 0..j of its slice,
so a VJP runs the scan backwards over g: the reverse cumulative sum of g is the VJP of cumsum, and
the entries take a ``reverse`` flag for that.

The sorting and selection entries (argsort, topk, kthvalue, median, mode, unique) live in sort.py,
imported from here.
"""

import numpy as np

from . import LINEAR, OPS, defop, fn


def _scan(np_scan, x, axis, reverse):
    """np_scan (np.cumsum, np.logaddexp.accumulate...) along ``axis``, from the end if ``reverse``."""
    if x.ndim == 0:
        return np.asarray(np_scan(x.reshape(1), axis=0).reshape(()))
    if reverse:
        return np.flip(np_scan(np.flip(x, axis), axis=axis), axis)
    return np_scan(x, axis=axis)


def _cumsum(x, *, axis, reverse=False):
    return _scan(np.cumsum, x, axis, reverse)


def cumsum_of(x, axis, reverse=False):
    """cumsum of an array or a Tensor (recorded), from the end if ``reverse``."""
    return fn.apply_op(OPS["cumsum"], [x], {"axis": axis, "reverse": reverse})


defop(
    "cumsum",
    _cumsum,
    lambda g, out, x, *, axis, reverse=False: cumsum_of(g, axis, not reverse),
    half_in_float32=True,
    jvp=LINEAR,
    doc="out_j = sum_{i <= j} x_i along axis: dx = g summed from the other end (dx_i = sum_{j >= i} g_j)",
)


# -- cumprod --------------------------------------------------------------------------------------
def _cumprod(x, *, axis):
    return _scan(np.cumprod, x, axis, False)


def cumprod_of(x, axis):
    return fn.apply_op(OPS["cumprod"], [x], {"axis": axis})


def _first_zero(x, axis):
    """Constant masks of the elements before the first zero of their slice, and of that zero."""
    zero = fn.const(x) == 0
    seen = np.cumsum(zero, axis=axis)
    return seen == 0, zero & (seen == 1)


def _cumprod_grad(g, out, x, *, axis):
    # dx_i = sum_{j >= i} g_j prod_{m <= j, m != i} x_m
    if x.ndim == 0:
        return g
    xc = fn.const(x)
    if not (xc == 0).any():  # the textbook rule, exact without zeros
        return cumsum_of(g * out, axis, reverse=True) / x
    before, first = _first_zero(x, axis)
    safe = fn.where(xc == 0, 1.0, x)
    rest = fn.where(first, 1.0, x)  # x with the first zero of each slice replaced by 1
    # before the first zero k: the textbook rule (out_j = 0 for j >= k);
    # at k: sum_{j >= k} g_j prod_{m <= j, m != k} x_m = the reverse cumsum of g cumprod(rest);
    # after k every product holds x_k = 0
    dx = fn.where(
        before,
        cumsum_of(g * out, axis, reverse=True) / safe,
        fn.where(first, cumsum_of(g * cumprod_of(rest, axis), axis, reverse=True), 0.0),
    )
    if fn._is_tensor(dx):
        # after k the gradient is x_k (the same gradient at rest): 0, but its derivative in x_k is
        # not, which a recorded backward must keep (recursion: rest has one zero fewer per slice)
        after = ~(before | first)
        x_k = (x * first).sum(axis=axis, keepdims=True)
        dx = dx + fn.where(after, x_k * _cumprod_grad(g, cumprod_of(rest, axis), rest, axis=axis), 0.0)
    return dx


def _cumprod_jvp(tangents, out, x, *, axis):
    # d out_j = sum_{i <= j} t_i prod_{m <= j, m != i} x_m
    t = tangents[0]
    if x.ndim == 0:
        return t
    xc = fn.const(x)
    if not (xc == 0).any():
        return out * cumsum_of(t / x, axis)
    before, first = _first_zero(x, axis)
    safe = fn.where(xc == 0, 1.0, x)
    rest = fn.where(first, 1.0, x)
    t_k = (t * first).sum(axis=axis, keepdims=True)
    dout = fn.where(before, out * cumsum_of(t / safe, axis), t_k * cumprod_of(rest, axis))
    if fn._is_tensor(dout):  # the terms i != k after k: x_k times the tangent at rest (see above)
        x_k = (x * first).sum(axis=axis, keepdims=True)
        t_rest = fn.where(first, 0.0, t)
        dout = dout + fn.where(before, 0.0, x_k * _cumprod_jvp([t_rest], cumprod_of(rest, axis), rest, axis=axis))
    return dout


defop(
    "cumprod",
    _cumprod,
    _cumprod_grad,
    half_in_float32=True,
    jvp=_cumprod_jvp,
    doc="out_j = prod_{i <= j} x_i along axis: dx_i = sum_{j >= i} g_j prod_{m <= j, m != i} x_m (exact with zeros)",
)


# -- logcumsumexp ---------------------------------------------------------------------------------
def _logcumsumexp(x, *, axis, reverse=False):
    return _scan(np.logaddexp.accumulate, x, axis, reverse)


def logcumsumexp_of(x, axis, reverse=False):
    return fn.apply_op(OPS["logcumsumexp"], [x], {"axis": axis, "reverse": reverse})


def _signed_logs(v):
    """(log v where v > 0, log -v where v < 0), the lowest finite number elsewhere: a signed v
    as two log-domain parts, so that sums of exp(...) v stay in logcumsumexp's stable form."""
    vc = fn.const(v)
    lowest = np.array(np.finfo(vc.dtype).min, dtype=vc.dtype)  # (an array: a float would become the default dtype)
    log_abs = fn.log(fn.abs(fn.where(vc == 0, 1.0, v)))
    return fn.where(vc > 0, log_abs, lowest), fn.where(vc < 0, log_abs, lowest)


def _logcumsumexp_grad(g, out, x, *, axis, reverse=False):
    # dx_i = sum_{j >= i} g_j exp(x_i - out_j), for g's positive and negative parts in the log
    # domain (torch's formula, after TensorFlow's): exp(x_i + logcumsumexp_{j >= i}(log g_j - out_j))
    if x.ndim == 0:
        return g
    pos, neg = _signed_logs(g)
    back = not reverse
    return fn.exp(logcumsumexp_of(pos - out, axis, back) + x) - fn.exp(logcumsumexp_of(neg - out, axis, back) + x)


def _logcumsumexp_jvp(tangents, out, x, *, axis, reverse=False):
    # d out_j = sum_{i <= j} t_i exp(x_i - out_j), likewise in the log domain
    t = tangents[0]
    if x.ndim == 0:
        return t
    pos, neg = _signed_logs(t)
    return fn.exp(logcumsumexp_of(pos + x, axis, reverse) - out) - fn.exp(logcumsumexp_of(neg + x, axis, reverse) - out)


defop(
    "logcumsumexp",
    _logcumsumexp,
    _logcumsumexp_grad,
    half_in_float32=True,
    jvp=_logcumsumexp_jvp,
    doc="out_j = log sum_{i <= j} exp x_i along axis: dx_i = sum_{j >= i} g_j exp(x_i - out_j)",
)


# -- indices of running extremes (cummax / cummin: the values are x gathered at them) -------------
def _running_index(accumulate):
    def forward(x, *, axis):
        if x.ndim == 0:
            return np.zeros((), dtype=np.int64)
        running = accumulate(x, axis=axis)
        # where x reaches (or ties) its running extreme, or is NaN (which then propagates): the
        # latest such position up to j is the index torch returns for j
        hit = x == running
        if x.dtype.kind == "f":
            hit |= np.isnan(x)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        positions = np.where(hit, np.arange(x.shape[axis]).reshape(shape), 0)
        return np.maximum.accumulate(positions, axis=axis).astype(np.int64, copy=False)

    return forward


defop(
    "argcummax",
    _running_index(np.maximum.accumulate),
    None,
    doc="indices of cummax (the latest index of the running max; NaN propagates): no gradient; the values are gathered at them",
)
defop(
    "argcummin",
    _running_index(np.minimum.accumulate),
    None,
    doc="indices of cummin (the latest index of the running min; NaN propagates): no gradient; the values are gathered at them",
)


from . import sort  # noqa: E402,F401  (sorting and selection: argsort, topk, kthvalue, median, mode, unique)
