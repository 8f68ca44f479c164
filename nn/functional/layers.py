"""Layers as functions: linear, dropout, batch and layer normalisation, embedding, one_hot."""
from __future__ import annotations

import numbers

import numpy as np

from autograd import Tensor
from autograd.extend import apply, leaf

from ..parameter import _write
from .common import _int_tensor, _t

__all__ = ["linear", "dropout", "batch_norm", "layer_norm", "embedding", "one_hot"]


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
