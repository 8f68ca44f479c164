"""Losses as functions: regression (mse, l1, huber), classification (cross-entropy, nll, binary cross-entropy)."""

from __future__ import annotations

import warnings

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.extend import apply, cached_constant, leaf

from .common import _int_tensor, _t

__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


# -- losses ----------------------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(per, reduction):
    _check_reduction(reduction)
    if reduction == "mean":
        return per.mean()
    if reduction == "sum":
        return per.sum()
    return per


def _check_same_shape(input, target, name):
    if input.shape != target.shape:
        warnings.warn(
            f"{name}: target size {target.shape} differs from input size {input.shape}; they will "
            f"be broadcast, which is likely wrong (e.g. (N, 1) against (N,)). Reshape one of them.",
            stacklevel=3,
        )


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """(x - y)^2, reduced."""
    input, target = _t(input), _t(target, "target")
    _check_same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """|x - y|, reduced."""
    input, target = _t(input), _t(target, "target")
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere (d = x - y), reduced."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _t(input), _t(target, "target")
    _check_same_shape(input, target, "huber_loss")
    d = input - target
    a = d.abs()
    return _reduce(ag.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * float(delta)), reduction)


def _class_weight(weight, n_classes, dtype):
    if weight is None:  # every class weighs 1: one read-only array shared by the calls (not made each step)
        return leaf(cached_constant(("class weights", n_classes, dtype.char), lambda: np.ones(n_classes, dtype=dtype)))
    weight = _t(weight, "weight")
    if weight.shape != (n_classes,):
        raise ValueError(f"weight must have one entry per class, shape ({n_classes},); got {weight.shape}")
    return weight


def _check_class_input(input, target, name):
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, shape (C,), (N, C) or (N, C, d1, ...)")
    cdim = 1 if input.ndim >= 2 else 0
    expected = input.shape[:cdim] + input.shape[cdim + 1 :]
    if target.shape != expected:
        raise ValueError(
            f"{name}: for input of shape {input.shape} the class-index target must have shape "
            f"{expected}, got {target.shape}"
        )
    return cdim


def nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C) at class indices ``target`` (N,):

        loss_i = -w[t_i] input[i, t_i];  'mean' divides the sum by sum_i w[t_i]

    Entries whose target is ``ignore_index`` contribute nothing (not even to the mean's divisor).
    """
    return _nll(_t(input), target, weight, ignore_index, reduction, 0.0, "nll_loss")


def _nll(logp, target, weight, ignore_index, reduction, smoothing, name):
    _check_reduction(reduction)
    target = _int_tensor(target, "target")
    cdim = _check_class_input(logp, target, name)
    w = _class_weight(weight, logp.shape[cdim], logp.dtype)
    return apply(
        "nll_loss", logp, target, w, ignore_index=int(ignore_index), smoothing=float(smoothing), reduction=reduction
    )


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) against ``target``, computed from
    log_softmax (stable for large logits):

    - class indices (integer, shape (N,) / (N, d1, ...)): -w[t] log softmax(x)[t], with
      ``ignore_index`` and ``label_smoothing`` eps mixing in the uniform distribution:
      (1 - eps) nll + eps/C sum_c -w_c log p_c; 'mean' divides by sum of w[t_i] over kept entries;
    - class probabilities (floating, same shape as input): -sum_c w_c p_c log softmax(x)_c
      (p smoothed to (1 - eps) p + eps / C); 'mean' divides by the number of samples.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _t(input)
    target = _t(target, "target")
    if x.ndim == 0:
        raise ValueError("cross_entropy: input must have a class dimension, shape (C,), (N, C) or (N, C, d1, ...)")
    cdim = 1 if x.ndim >= 2 else 0
    logp = x.log_softmax(dim=cdim)
    if target.dtype.kind in "iu":
        return _nll(logp, target, weight, ignore_index, reduction, label_smoothing, "cross_entropy")
    _check_reduction(reduction)
    if target.shape != x.shape:
        raise ValueError(
            f"cross_entropy: a class-probability target must have the input's shape {x.shape}, got "
            f"{target.shape} (class indices must be an integer tensor)"
        )
    n_classes = x.shape[cdim]
    lw = logp
    if weight is not None:
        lw = logp * _class_weight(weight, n_classes, x.dtype).reshape((-1,) + (1,) * (x.ndim - cdim - 1))
    per = (lw * target).sum(dim=cdim)
    if label_smoothing:
        per = per * (1.0 - label_smoothing) + lw.sum(dim=cdim) * (label_smoothing / n_classes)
    return _reduce(-per, reduction)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], as PyTorch computes it:
    each log is clamped at -100, so x = 0 or 1 gives a large finite loss (100), and the gradient
    (x - y) / (x (1 - x)) has its denominator floored at 1e-12, so it stays finite there too (at
    x = 0, y = 1 it is -1e12): one saturated sigmoid does not turn the whole gradient into NaN."""
    x, target = _t(input), _t(target, "target")
    _check_same_shape(x, target, "binary_cross_entropy")
    if x.dtype.kind != "f":
        raise TypeError(f"binary_cross_entropy: the input must be floating probabilities, got dtype {x.dtype}")
    if x.numel() and not (x.data.min() >= 0 and x.data.max() <= 1):  # (NaN fails too)
        raise ValueError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 (probabilities); "
            "for logits use binary_cross_entropy_with_logits"
        )
    per = apply("binary_cross_entropy", x, target if target.dtype == x.dtype else target.to(x.dtype))
    if weight is not None:
        per = per * _t(weight, "weight").to(x.dtype)
    return _reduce(per, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on logits x, stable for any x: with log sigmoid(x) = -softplus(-x) and
    log(1 - sigmoid(x)) = -softplus(x),

        loss = (1 - y) softplus(x) + pos_weight y softplus(-x)     (times weight)
    """
    x, target = _t(input), _t(target, "target")
    _check_same_shape(x, target, "binary_cross_entropy_with_logits")
    sp_pos = apply("softplus", x)
    sp_neg = apply("softplus", -x)
    pos = target * sp_neg
    if pos_weight is not None:
        pos = pos * _t(pos_weight, "pos_weight").to(x.dtype)
    per = sp_pos - target * sp_pos + pos
    if weight is not None:
        per = per * _t(weight, "weight").to(x.dtype)
    return _reduce(per, reduction)
