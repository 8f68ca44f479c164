"""nn.functional (``import nn.functional as F``): layers, activations and losses as functions.

Every tensor argument (inputs, targets, class indices, class weights) is read by a recorded
operation whenever the result requires grad, so it is an input of a node of the graph: a captured
training step ``g = ag.Graph(loss)`` can be fed a new batch and new targets with
``g.forward({x: batch, y: targets})``. This is why, for example, ``(1 - t) * a`` is written
``a - t * a`` below: ``1 - t`` of a target that does not require grad would not be recorded, and a
fed ``t`` would never reach the loss.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd.extend import apply, as_array, leaf

from .parameter import _write

__all__ = [
    "linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softplus", "softmax", "log_softmax", "dropout",
    "batch_norm", "layer_norm", "embedding", "one_hot", "mse_loss", "l1_loss", "huber_loss", "cross_entropy",
    "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
]


def _t(x, name="input"):
    """A Tensor for ``x`` (Tensors pass through; arrays and lists become constant leaves)."""
    if isinstance(x, Tensor):
        return x
    try:
        return leaf(as_array(x, copy=False))
    except TypeError:
        raise TypeError(f"{name} must be a Tensor (or an array), got {type(x).__name__}") from None


# -- layers and activations ------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""
    input = _t(input)
    if input.dtype.kind != "f":
        raise TypeError(f"linear: the input has dtype {input.dtype}; layers compute on floating tensors: "
                        f"convert it with .float()")
    if input.shape[-1:] != weight.shape[-1:]:
        raise ValueError(f"linear: input has {input.shape[-1] if input.ndim else 0} features (shape "
                         f"{input.shape}) but the weight expects {weight.shape[-1]} (weight shape {weight.shape})")
    if bias is None:
        return input @ weight.T
    return apply("linear", input, weight, bias)


def relu(input: Tensor) -> Tensor:
    """max(0, x)."""
    return _t(input).relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    x = _t(input)
    return ag.where(x > 0, x, x * float(negative_slope))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x)."""
    return _t(input).sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _t(input).tanh()


def softplus(input: Tensor) -> Tensor:
    """log(1 + e^x), without overflow for large x."""
    return apply("softplus", _t(input))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF; ``approximate='tanh'``:
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _t(input)
    if approximate == "none":
        return x * apply("normal_cdf", x)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _softmax_dim(ndim, dim, name):
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} is deprecated (as in PyTorch): pass dim=", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """e^(x_i - max x) / sum_j e^(x_j - max x) along ``dim``."""
    x = _t(input)
    return x.softmax(dim=_softmax_dim(x.ndim, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """x_i - logsumexp(x) along ``dim``, stable for large logits."""
    x = _t(input)
    return x.log_softmax(dim=_softmax_dim(x.ndim, dim, "log_softmax"))


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: y = x * m, m_i = [u_i >= p] / (1 - p) with u_i ~ U[0, 1) drawn afresh each call.

    Each unit is kept with probability 1 - p and scaled by 1 / (1 - p), so E[y] = x and evaluation
    (``training=False``) is the identity; p = 1 drops every unit (zeros, and zero gradients). The mask is a recorded operation: ``ag.Graph`` draws a new
    one on every ``forward()``.
    """
    _check_p(p)
    x = _t(input)
    if not training or p == 0:
        return x
    return x * apply("dropout_mask", x, p=float(p))


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every dimension but the channel dimension 1.

        x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps),   y = gamma x_hat + beta

    In training, mu_B and sigma_B^2 are the batch mean and biased variance per channel, and the
    running statistics (if given) are updated in place as PyTorch does:
    ``running = (1 - momentum) running + momentum * batch`` with the unbiased variance
    (sigma_B^2 n / (n - 1)). Otherwise the running statistics are used.
    """
    x = _t(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects an input of shape (N, C) or (N, C, L), got {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    cshape = _channel_shape(x)
    n = x.numel() // x.shape[1]
    if training or running_mean is None:
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {x.shape}")
        mean = x.mean(dim=axes, keepdim=True)
        xc = x - mean
        var = (xc * xc).mean(dim=axes, keepdim=True)
        xhat = xc * (var + eps) ** -0.5
        if training and running_mean is not None:
            m = float(momentum)
            _write(running_mean, (1 - m) * running_mean.data + m * mean.data.reshape(-1))
            _write(running_var, (1 - m) * running_var.data + m * var.data.reshape(-1) * (n / (n - 1)))
    else:
        xhat = (x - running_mean.reshape(cshape)) * (running_var.reshape(cshape) + eps) ** -0.5
    if weight is not None:
        xhat = xhat * weight.reshape(cshape)
    if bias is not None:
        xhat = xhat + bias.reshape(cshape)
    return xhat


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dimensions of each sample:

        y = (x - mean) / sqrt(var + eps) * gamma + beta     (biased variance)
    """
    x = _t(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.shape[x.ndim - k:] != shape or x.ndim < k:
        raise ValueError(f"layer_norm: the input's trailing dimensions {x.shape[max(x.ndim - k, 0):]} do "
                         f"not match normalized_shape {shape} (input shape {x.shape})")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(dim=axes, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(dim=axes, keepdim=True)
    out = xc * (var + eps) ** -0.5
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _int_tensor(x, name):
    x = _t(x, name)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class/row indices (dtype int64), got dtype {x.dtype}; "
                        f"convert with .long()")
    return x


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Row lookup: out[...] = weight[input[...]]; the ``padding_idx`` row gets no gradient."""
    idx = _int_tensor(input, "embedding indices")
    n = weight.shape[0]
    if idx.numel() and (idx.data.min() < 0 or idx.data.max() >= n):
        raise IndexError(f"embedding: index out of range: indices must be in [0, {n}), got values in "
                         f"[{idx.data.min()}, {idx.data.max()}]")
    if padding_idx is not None:
        padding_idx = _padding_idx(padding_idx, n)
    return apply("embedding", weight, idx, padding_idx=padding_idx)


def _padding_idx(padding_idx, n):
    if not -n <= padding_idx < n:
        raise ValueError(f"padding_idx must be within [-{n}, {n}), got {padding_idx}")
    return int(padding_idx) % n


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer class indices of shape S -> an int64 tensor of shape S + (num_classes,) with one 1 each."""
    idx = _int_tensor(tensor, "one_hot input")
    if num_classes < 0:
        num_classes = int(idx.data.max()) + 1 if idx.numel() else 0
    if idx.numel() and (idx.data.min() < 0 or idx.data.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                         f"[{idx.data.min()}, {idx.data.max()}]")
    return leaf((idx.data[..., None] == np.arange(num_classes)).astype(np.int64))


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
        warnings.warn(f"{name}: target size {target.shape} differs from input size {input.shape}; they will "
                      f"be broadcast, which is likely wrong (e.g. (N, 1) against (N,)). Reshape one of them.",
                      stacklevel=3)


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
    if weight is None:
        return leaf(np.ones(n_classes, dtype=dtype))
    weight = _t(weight, "weight")
    if weight.shape != (n_classes,):
        raise ValueError(f"weight must have one entry per class, shape ({n_classes},); got {weight.shape}")
    return weight


def _check_class_input(input, target, name):
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, shape (C,), (N, C) or (N, C, d1, ...)")
    cdim = 1 if input.ndim >= 2 else 0
    expected = input.shape[:cdim] + input.shape[cdim + 1:]
    if target.shape != expected:
        raise ValueError(f"{name}: for input of shape {input.shape} the class-index target must have shape "
                         f"{expected}, got {target.shape}")
    return cdim


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
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
    return apply("nll_loss", logp, target, w, ignore_index=int(ignore_index), smoothing=float(smoothing),
                 reduction=reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
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
        raise ValueError(f"cross_entropy: a class-probability target must have the input's shape {x.shape}, got "
                         f"{target.shape} (class indices must be an integer tensor)")
    n_classes = x.shape[cdim]
    lw = logp
    if weight is not None:
        lw = logp * _class_weight(weight, n_classes, x.dtype).reshape((-1,) + (1,) * (x.ndim - cdim - 1))
    per = (lw * target).sum(dim=cdim)
    if label_smoothing:
        per = per * (1.0 - label_smoothing) + lw.sum(dim=cdim) * (label_smoothing / n_classes)
    return _reduce(-per, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], as PyTorch computes it:
    each log is clamped at -100, so x = 0 or 1 gives a large finite loss (100), and the gradient
    (x - y) / (x (1 - x)) has its denominator floored at 1e-12, so it stays finite there too (at
    x = 0, y = 1 it is -1e12): one saturated sigmoid does not turn the whole gradient into NaN."""
    x, target = _t(input), _t(target, "target")
    _check_same_shape(x, target, "binary_cross_entropy")
    if x.dtype.kind != "f":
        raise TypeError(f"binary_cross_entropy: the input must be floating probabilities, got dtype {x.dtype}")
    if x.numel() and not (x.data.min() >= 0 and x.data.max() <= 1):  # (NaN fails too)
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 (probabilities); "
                         "for logits use binary_cross_entropy_with_logits")
    per = apply("binary_cross_entropy", x, target if target.dtype == x.dtype else target.to(x.dtype))
    if weight is not None:
        per = per * _t(weight, "weight").to(x.dtype)
    return _reduce(per, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
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
