"""Losses as single nodes: the negative log-likelihood on class indices (with class weights,
ignore_index and label smoothing) and binary cross-entropy on probabilities.

Class indices and class weights are inputs of the node (no gradient), so a captured training step
can be fed new targets.
"""
from __future__ import annotations

import numpy as np

from . import constant, defop, fn, ones_vector

# -- binary cross-entropy on probabilities (PyTorch's clamped logarithms) --------------------------

_BCE_EPS = 1e-12


def _bce(x, y):
    with np.errstate(divide="ignore"):  # log 0 = -inf, clamped at once
        log_x = np.maximum(np.log(x), -100.0)
        log_1mx = np.maximum(np.log1p(-x), -100.0)
    return (y - 1) * log_1mx - y * log_x


def _bce_grad_x(g, out, x, y):
    # d/dx = (x - y) / (x (1 - x)), its denominator floored at 1e-12 as torch: finite at x = 0 or 1
    d = x * (1 - x)
    return g * (x - y) / fn.where(fn.const(d) < _BCE_EPS, _BCE_EPS, d)


def _bce_grad_y(g, out, x, y):
    with np.errstate(divide="ignore"):  # +-inf at x = 0 or 1, as torch (its logs are not clamped here)
        return g * (fn.log(1 - x) - fn.log(x))


BINARY_CROSS_ENTROPY = defop(
    "binary_cross_entropy", _bce, _bce_grad_x, _bce_grad_y,
    doc="l = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100)): dx = g (x - y) / max(x (1 - x), 1e-12), "
        "dy = g (log(1 - x) - log x)")

# -- negative log-likelihood on class indices (with weights, ignore_index and label smoothing) -----


def _class_dim(logp):
    return 1 if logp.ndim >= 2 else 0


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _max_unsigned(t):
    """The largest entry of the integer array t (non-empty), negative entries read as huge
    unsigned values: so ``_max_unsigned(t) < n`` checks 0 <= t < n with one reduction."""
    if t.dtype.kind == "i":
        t = t.view(_UNSIGNED[t.dtype.itemsize])
    return int(np.maximum.reduce(t, axis=None))


def _fast_targets(logp, target, weight, ignore_index):
    """For the (N, C) fast paths: (w[target] in logp's dtype, the flat position of each row's target
    in logp) when logp is (N, C) with N > 0, target an ndarray of shape (N,) with every entry a class
    in [0, C) and none equal to ignore_index; else None (the general path then handles the entries
    to ignore and raises for those out of bounds)."""
    n, n_classes = logp.shape
    if n == 0 or type(target) is not np.ndarray or target.shape != (n,) or 0 <= ignore_index < n_classes:
        return None
    try:
        w_t = weight.take(target)  # IndexError for a target >= C or < -C,
        np.bincount(target)  # then ValueError for one in [-C, 0) (TypeError: not a safe integer type)
    except (IndexError, ValueError, TypeError):
        return None
    return w_t.astype(logp.dtype, copy=False), _row_offsets(n, n_classes) + target


def _row_offsets(n, n_classes):
    """arange(n) * n_classes: the flat position of each row's first element in an (n, C) array
    (a cached constant)."""
    return constant(("row offsets", n, n_classes), lambda: np.arange(0, n * n_classes, n_classes, dtype=np.intp))


_BLAS_SUM_MAX = 4096  # a longer vector is summed pairwise by numpy (more accurate than BLAS's dot)


def _small_blas(v):
    """Whether v (1-d) is a float vector short enough to be summed by BLAS's dot (cheaper than a
    numpy reduction for few elements; its order of summation differs in the last bits)."""
    return v.dtype.char in "fd" and v.shape[0] <= _BLAS_SUM_MAX


def _weight_sum(w_t):
    return w_t.dot(ones_vector(w_t.shape[0], w_t.dtype)) if _small_blas(w_t) else np.add.reduce(w_t, axis=None)


def _nll_parts(logp, target, weight, ignore_index):
    """(valid mask, target with ignored entries set to 0, weight of each entry's class)."""
    n_classes = logp.shape[_class_dim(logp)]
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    if t.size and _max_unsigned(t) >= n_classes:
        bad = (t < 0) | (t >= n_classes)
        raise IndexError(f"target {int(target[bad].flat[0])} is out of bounds: class indices must be in "
                         f"[0, {n_classes}) (or equal ignore_index={ignore_index})")
    return valid, t, np.where(valid, weight[t], 0).astype(logp.dtype, copy=False)


def _reduce(per, w_t, reduction):
    if reduction == "none":
        return per
    if reduction == "sum":
        return np.asarray(np.add.reduce(per, axis=None))  # (= per.sum(), without the method's wrapper)
    return np.asarray(np.add.reduce(per, axis=None) / np.add.reduce(w_t, axis=None))


def _nll_loss(logp, target, weight, *, ignore_index, smoothing, reduction):
    fast = None if logp.ndim != 2 or smoothing else _fast_targets(logp, target, weight, ignore_index)
    if fast is not None:  # (N, C), every target a class: no mask, one gather
        w_t, pos = fast
        picked = logp.take(pos)  # logp[i, target[i]] (take reads logp in C order, as pos counts)
        if reduction == "none":
            picked *= w_t
            return np.negative(picked, out=picked)  # -(w_t picked) = -w_t * picked, exactly
        if _small_blas(w_t):
            total = w_t.dot(picked)  # sum_i w_t_i picked_i
        else:
            total = np.add.reduce(w_t * picked, axis=None)
        if reduction == "mean":
            total = total / _weight_sum(w_t)
        return np.asarray(-total)  # (negating the sum: the same as summing the negated terms)
    cdim = _class_dim(logp)
    valid, t, w_t = _nll_parts(logp, target, weight, ignore_index)
    picked = np.take_along_axis(logp, np.expand_dims(t, cdim), axis=cdim).squeeze(cdim)
    per = np.where(valid, -w_t * picked, 0)
    if smoothing:
        n_classes = logp.shape[cdim]
        wb = weight.astype(logp.dtype, copy=False).reshape((-1,) + (1,) * (logp.ndim - cdim - 1))
        smooth = np.where(valid, -(logp * wb).sum(axis=cdim), 0)
        per = (1 - smoothing) * per + (smoothing / n_classes) * smooth
    return _reduce(per.astype(logp.dtype, copy=False), w_t, reduction)


def _nll_grad_2d(g, logp, fast, reduction):
    """_nll_grad for (N, C) ndarrays, no smoothing, every target a class (``fast`` from
    _fast_targets), g of the output's shape and logp's dtype: as torch, zeros with -g w_t (over the
    sum of w_t for 'mean') scattered in at the targets."""
    w_t, pos = fast
    if reduction == "none":  # g: (N,)
        vals = w_t * g
        np.negative(vals, out=vals)
    elif reduction == "mean":  # g: ()
        vals = w_t * -(g[()] / _weight_sum(w_t))
    else:
        vals = w_t * -g[()]
    grad = np.zeros(logp.shape, logp.dtype)
    grad.reshape(-1)[pos] = vals
    return grad


def _nll_grad(g, out, logp, target, weight, *, ignore_index, smoothing, reduction):
    # The loss is linear in logp: loss_i = -sum_c coef_ic logp_ic, so dlogp = -g coef.
    if (type(g) is np.ndarray and type(logp) is np.ndarray and logp.ndim == 2 and not smoothing
            and type(weight) is np.ndarray and g.dtype == logp.dtype
            and g.shape == (logp.shape[:1] if reduction == "none" else ())):
        fast = _fast_targets(logp, target, weight, ignore_index)
        if fast is not None:
            return _nll_grad_2d(g, logp, fast, reduction)
    lp, tg, w = fn.const(logp), fn.const(target), fn.const(weight)
    cdim = _class_dim(lp)
    n_classes = lp.shape[cdim]
    valid, t, w_t = _nll_parts(lp, tg, w, ignore_index)
    classes = np.arange(n_classes).reshape((-1,) + (1,) * (lp.ndim - cdim - 1))
    onehot = classes == np.expand_dims(t, cdim)
    coef = onehot * np.expand_dims(w_t, cdim) * (1 - smoothing)
    if smoothing:
        wb = w.astype(lp.dtype, copy=False).reshape(classes.shape)
        coef = coef + (smoothing / n_classes) * wb * np.expand_dims(valid, cdim)
    if reduction == "mean":
        coef = coef / w_t.sum()
    coef = (-coef).astype(lp.dtype, copy=False)
    if reduction == "none":
        return fn.expand_dims(g, cdim) * coef
    return g * coef


NLL_LOSS = defop(
    "nll_loss", _nll_loss, _nll_grad, None, None,
    doc="x = log-probabilities: loss_i = -(1-eps) w[t_i] x[i, t_i] - (eps/C) sum_c w_c x[i, c] (0 where "
        "t_i == ignore_index); mean divides by sum_i w[t_i]: dx = -g coef (the loss is linear in x)")
