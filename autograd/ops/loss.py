"""Losses as single nodes: the negative log-likelihood on class indices (with class weights,
ignore_index and label smoothing) and binary cross-entropy on probabilities.

Class indices and class weights are inputs of the node (no gradient), so a captured training step
can be fed new targets.
"""

from __future__ import annotations

import numpy as np

from . import ELEMENTWISE, LINEAR, defop, fn

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


defop(
    "binary_cross_entropy",
    _bce,
    _bce_grad_x,
    _bce_grad_y,
    jvp=ELEMENTWISE,
    doc="l = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100)): dx = g (x - y) / max(x (1 - x), 1e-12), "
    "dy = g (log(1 - x) - log x)",
)

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


def _nll_parts(logp, target, weight, ignore_index):
    """(valid mask, target with ignored entries set to 0, weight of each entry's class)."""
    n_classes = logp.shape[_class_dim(logp)]
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    if t.size and _max_unsigned(t) >= n_classes:
        bad = (t < 0) | (t >= n_classes)
        raise IndexError(
            f"target {int(target[bad].flat[0])} is out of bounds: class indices must be in "
            f"[0, {n_classes}) (or equal ignore_index={ignore_index})"
        )
    return valid, t, np.where(valid, weight[t], 0).astype(logp.dtype, copy=False)


def _reduce_nll(per, w_t, reduction):
    if reduction == "none":
        return per
    if reduction == "sum":
        return np.asarray(np.add.reduce(per, axis=None))  # (= per.sum(), without the method's wrapper)
    return np.asarray(np.add.reduce(per, axis=None) / np.add.reduce(w_t, axis=None))


def _nll_loss(logp, target, weight, *, ignore_index, smoothing, reduction):
    cdim = _class_dim(logp)
    valid, t, w_t = _nll_parts(logp, target, weight, ignore_index)
    picked = np.take_along_axis(logp, np.expand_dims(t, cdim), axis=cdim).squeeze(cdim)
    per = np.where(valid, -w_t * picked, 0)
    if smoothing:
        n_classes = logp.shape[cdim]
        wb = weight.astype(logp.dtype, copy=False).reshape((-1,) + (1,) * (logp.ndim - cdim - 1))
        smooth = np.where(valid, -(logp * wb).sum(axis=cdim), 0)
        per = (1 - smoothing) * per + (smoothing / n_classes) * smooth
    return _reduce_nll(per.astype(logp.dtype, copy=False), w_t, reduction)


def _nll_grad(g, out, logp, target, weight, *, ignore_index, smoothing, reduction):
    # The loss is linear in logp: loss_i = -sum_c coef_ic logp_ic, so dlogp = -g coef.
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


defop(
    "nll_loss",
    _nll_loss,
    _nll_grad,
    None,
    None,
    jvp=LINEAR,
    doc="x = log-probabilities: loss_i = -(1-eps) w[t_i] x[i, t_i] - (eps/C) sum_c w_c x[i, c] (0 where "
    "t_i == ignore_index); mean divides by sum_i w[t_i]: dx = -g coef (the loss is linear in x)",
)
