"""Reductions and the softmax family.

``axis`` is None (every axis) or a sorted tuple of non-negative ints and ``keepdims`` a bool (the
Tensor methods normalise them). Undoing a reduction: put the reduced axes back (size 1) and
broadcast, which is what the chain rule asks for, since every element of a reduced slice feeds
the one output element of that slice.
"""

import math

import numpy as np

from . import LINEAR, REDUCTION, defop, fn


def _restore(g, x, axis, keepdims):
    """g, reduced over ``axis``, broadcast back to x's shape."""
    if not keepdims and axis is not None:
        g = fn.expand_dims(g, axis)
    return fn.broadcast_to(g, x.shape)


def _kept(v, axis, keepdims):
    """v (reduced over ``axis``) with the reduced axes present as size 1, so it broadcasts against x."""
    if not keepdims and axis is not None:
        return fn.expand_dims(v, axis)
    return v


def _count(x, axis):
    """How many elements each output of a reduction over ``axis`` summarises (x: array or Tensor)."""
    shape = x.shape
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in axis)


def _sum(x, *, axis, keepdims):
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims))


def _mean(x, *, axis, keepdims):
    return np.asarray(np.mean(x, axis=axis, keepdims=keepdims))


defop(
    "sum",
    _sum,
    lambda g, out, x, *, axis, keepdims: _restore(g, x, axis, keepdims),
    half_in_float32=True,
    jvp=LINEAR,
    doc="sum: dx = g broadcast back over the summed axes",
)
defop(
    "mean",
    _mean,
    lambda g, out, x, *, axis, keepdims: _restore(g, x, axis, keepdims) / _count(x, axis),
    half_in_float32=True,
    jvp=LINEAR,
    doc="mean: dx = g / n broadcast back over the reduced axes",
)


# -- variance and standard deviation ------------------------------------------------------------
def _dof(x, axis, correction):
    """n - correction, the degrees of freedom of a variance; 0 when the correction is n or more,
    so that the variance is then inf (or nan for 0 / 0), as torch gives."""
    return max(_count(x, axis) - correction, 0)


def _var(x, *, axis, keepdims, correction):
    centred = x - np.mean(x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # no degrees of freedom: inf or nan, as torch
        return np.asarray(
            np.sum(centred * centred, axis=axis, keepdims=keepdims) / x.dtype.type(_dof(x, axis, correction))
        )


def _reciprocal(d):
    """1 / d as a Python float (so float32 stays float32), inf for d == 0 (no degrees of freedom)."""
    return math.inf if d == 0 else 1.0 / d


def _var_grad(g, out, x, *, axis, keepdims, correction):
    scale = 2.0 * _reciprocal(_dof(x, axis, correction))
    return _restore(g, x, axis, keepdims) * (x - x.mean(axis=axis, keepdims=True)) * scale


def _std(x, *, axis, keepdims, correction):
    return np.sqrt(_var(x, axis=axis, keepdims=keepdims, correction=correction))


def _std_grad(g, out, x, *, axis, keepdims, correction):
    # g / std, taken as 0 where std = 0 (constant slices), as torch does
    zero = fn.const(out) == 0
    g_over_std = fn.where(zero, 0.0, g / fn.where(zero, 1.0, out))
    scale = _restore(g_over_std, x, axis, keepdims) * _reciprocal(_dof(x, axis, correction))
    return scale * (x - x.mean(axis=axis, keepdims=True))


defop(
    "var",
    _var,
    _var_grad,
    half_in_float32=True,
    jvp=REDUCTION,
    doc="var = sum (x - mean)**2 / (n - correction): dx = g 2 (x - mean) / (n - correction)",
)
defop(
    "std",
    _std,
    _std_grad,
    half_in_float32=True,
    jvp=REDUCTION,
    doc="std = sqrt(var): dx = g (x - mean) / ((n - correction) std) (0 where std = 0)",
)


# -- extremes -----------------------------------------------------------------------------------
def _amax(x, *, axis, keepdims):
    return np.asarray(np.amax(x, axis=axis, keepdims=keepdims))


def _amin(x, *, axis, keepdims):
    return np.asarray(np.amin(x, axis=axis, keepdims=keepdims))


def _tie_weights(x, out, axis, keepdims):
    """1/k on the k elements of each slice that equal its extreme, 0 elsewhere (a constant)."""
    x, out = fn.const(x), fn.const(out)
    hit = x == _kept(out, axis, keepdims)
    return (hit / np.sum(hit, axis=axis, keepdims=True)).astype(x.dtype, copy=False)


def _extreme_grad(g, out, x, *, axis, keepdims):
    return _restore(g, x, axis, keepdims) * _tie_weights(x, out, axis, keepdims)


defop(
    "amax",
    _amax,
    _extreme_grad,
    jvp=REDUCTION,
    doc="max over axes: dx = g / k on the k elements equal to the max (ties split)",
)
defop(
    "amin",
    _amin,
    _extreme_grad,
    jvp=REDUCTION,
    doc="min over axes: dx = g / k on the k elements equal to the min (ties split)",
)


def _arg_extreme(np_fn):
    def forward(x, *, axis, keepdims):
        if axis is None:
            i = np_fn(x)
            return np.asarray(i, dtype=np.int64).reshape((1,) * x.ndim if keepdims else ())
        return np.asarray(np_fn(x, axis=axis, keepdims=keepdims), dtype=np.int64)

    return forward


defop("argmax", _arg_extreme(np.argmax), None, doc="index of the (first) maximum: integer, no gradient")
defop("argmin", _arg_extreme(np.argmin), None, doc="index of the (first) minimum: integer, no gradient")


# -- logsumexp and the softmax family -----------------------------------------------------------
def _shift(x, axis):
    """The max over ``axis`` (keepdims), 0 where it is infinite: subtracting it keeps exp finite."""
    if x.size and x.dtype.kind == "f":  # (non-empty slices: no initial value needed)
        m = np.maximum.reduce(x, axis=axis, keepdims=True)
        if math.isfinite(np.add.reduce(m, axis=None)):  # a finite sum: every max is finite
            return m
    else:
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


def _logsumexp(x, *, axis, keepdims):
    m = _shift(x, axis)
    with np.errstate(divide="ignore"):  # log 0 = -inf for an all -inf (or empty) slice, as torch
        s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        s = s.reshape(()) if axis is None else np.squeeze(s, axis=axis)
    return np.asarray(s)


defop(
    "logsumexp",
    _logsumexp,
    lambda g, out, x, *, axis, keepdims: _restore(g, x, axis, keepdims) * fn.exp(x - _kept(out, axis, keepdims)),
    half_in_float32=True,
    jvp=REDUCTION,
    doc="log sum exp x: dx = g exp(x - logsumexp x) = g softmax(x)",
)


def _softmax(x, *, axis):
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, *, axis):
    if x.size == 0:  # (an empty slice would take log 0)
        return x.copy()
    shifted = x - _shift(x, axis)
    if x.ndim == 0:  # (numpy scalars, not arrays: nothing to do in place)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    s = np.add.reduce(np.exp(shifted), axis=axis, keepdims=True)  # (= np.sum, without its wrapper)
    shifted -= np.log(s, out=s)  # (shifted and s are fresh arrays: in place, the same values)
    return shifted


def _softmax_jvp(tangents, out, x, *, axis):
    # ds = s (dx - sum(s dx)): the Jacobian is symmetric, so this is the VJP rule with g = dx
    t = tangents[0]
    return out * (t - (t * out).sum(axis=axis, keepdims=True))


def _log_softmax_jvp(tangents, out, x, *, axis):
    # dl = dx - sum(softmax(x) dx)
    t = tangents[0]
    return t - (fn.exp(out) * t).sum(axis=axis, keepdims=True)


defop(
    "softmax",
    _softmax,
    lambda g, out, x, *, axis: out * (g - (g * out).sum(axis=axis, keepdims=True)),
    half_in_float32=True,
    jvp=_softmax_jvp,
    doc="s = exp x / sum exp x: dx = s (g - sum(g s))",
)
defop(
    "log_softmax",
    _log_softmax,
    lambda g, out, x, *, axis: g - fn.exp(out) * g.sum(axis=axis, keepdims=True),
    half_in_float32=True,
    jvp=_log_softmax_jvp,
    doc="l = x - logsumexp x: dx = g - exp(l) sum g",
)


# -- product ------------------------------------------------------------------------------------
def _prod(x, *, axis, keepdims):
    return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))


defop(
    "prod",
    _prod,
    lambda g, out, x, *, axis, keepdims: _restore(g, x, axis, keepdims) * fn.prod_others(x, axis),
    half_in_float32=True,
    jvp=REDUCTION,
    doc="prod x: dx_i = g prod_{j != i} x_j (exact with zeros in x)",
)


# -- vector norms -------------------------------------------------------------------------------
def _norm(x, *, p, axis, keepdims):
    a = np.abs(x)
    if p == 2:
        r = np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
    elif p == 1:
        r = np.sum(a, axis=axis, keepdims=keepdims)
    elif p == np.inf:
        r = np.max(a, axis=axis, keepdims=keepdims, initial=0)
    elif p == -np.inf:
        r = np.min(a, axis=axis, keepdims=keepdims)
    elif p == 0:
        r = np.sum(a != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    else:
        with np.errstate(divide="ignore"):  # 0 ** negative p = inf, as torch
            r = np.sum(a**p, axis=axis, keepdims=keepdims) ** (1.0 / p)
    return np.asarray(r, dtype=x.dtype)


def _norm_grad(g, out, x, *, p, axis, keepdims):
    if p == 0:
        return fn.zeros_like(x)
    if p == np.inf or p == -np.inf:
        absx = fn.abs(fn.const(x))
        return _restore(g, x, axis, keepdims) * fn.sign(fn.const(x)) * _tie_weights(absx, out, axis, keepdims)
    if p == 1:
        return _restore(g, x, axis, keepdims) * fn.sign(fn.const(x))
    # dx = g x |x|**(p-2) / norm**(p-1); 0 where the norm is 0 (torch's convention, no NaN)
    zero_norm = fn.const(out) == 0
    safe = fn.where(zero_norm, 1.0, out)
    scale = fn.where(zero_norm, 0.0, g * safe ** (1.0 - p))
    if p == 2:
        scaled_x = x
    else:  # sign(x) |x|**(p-1), with the 0 ** (p-1) of x == 0 taken as 0 (infinite for p < 1)
        zero_x = fn.const(x) == 0
        scaled_x = fn.where(zero_x, 0.0, fn.sign(fn.const(x)) * fn.where(zero_x, 1.0, fn.abs(x)) ** (p - 1.0))
    return scaled_x * _restore(scale, x, axis, keepdims)


defop(
    "norm",
    _norm,
    _norm_grad,
    half_in_float32=True,
    jvp=REDUCTION,
    doc="(sum |x|**p)**(1/p): dx = g sign(x) |x|**(p-1) / norm**(p-1) (ties split for p = inf)",
)


# -- logical reductions and counts (no gradient) ---------------------------------------------------
def _logical(np_fn):
    def forward(x, *, axis, keepdims):
        r = np.asarray(np_fn(x, axis=axis, keepdims=keepdims))
        return r.astype(np.uint8) if x.dtype == np.uint8 else r  # (torch keeps uint8 for uint8)

    return forward


defop("all", _logical(np.all), None, doc="whether every element over the axes is nonzero (bool): no gradient")
defop("any", _logical(np.any), None, doc="whether some element over the axes is nonzero (bool): no gradient")
defop(
    "count_nonzero",
    lambda x, *, axis: np.asarray(np.count_nonzero(x, axis=axis), dtype=np.int64),
    None,
    doc="how many elements over the axes are nonzero (int64): no gradient",
)
