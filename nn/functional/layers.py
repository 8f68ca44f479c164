"""Layers as functions: linear, dropout (and its channel-wise forms), batch, layer, group and instance
normalisation, embedding, one_hot, and the vector comparisons normalize, cosine_similarity and
pairwise_distance."""

from __future__ import annotations

import numbers

import numpy as np

from autograd import Generator, Tensor
from autograd.extend import apply, leaf

from ..parameter import _write
from .common import _int_tensor, _t

__all__ = [
    "linear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "batch_norm",
    "layer_norm",
    "group_norm",
    "instance_norm",
    "embedding",
    "one_hot",
    "normalize",
    "cosine_similarity",
    "pairwise_distance",
]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, with W of shape (out_features, in_features) as in PyTorch."""
    input = _t(input)
    if input.dtype.kind != "f":
        raise TypeError(
            f"linear: the input has dtype {input.dtype}; layers compute on floating tensors: convert it with .float()"
        )
    if input.shape[-1:] != weight.shape[-1:]:
        raise ValueError(
            f"linear: input has {input.shape[-1] if input.ndim else 0} features (shape "
            f"{input.shape}) but the weight expects {weight.shape[-1]} (weight shape {weight.shape})"
        )
    if bias is None:
        return input @ weight.T
    return apply("linear", input, weight, bias)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")


def _masked(x, mask, inplace):
    return x.mul_(mask) if inplace else x * mask


def _mask_params(p, generator):
    return {"p": float(p)} if generator is None else {"p": float(p), "generator": generator}


def dropout(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """Inverted dropout: y = x * m, m_i = [u_i >= p] / (1 - p) with u_i ~ U[0, 1) drawn afresh each call.

    Each unit is kept with probability 1 - p and scaled by 1 / (1 - p), so E[y] = x and evaluation
    (``training=False``) is the identity; p = 1 drops every unit (zeros, and zero gradients). The
    mask is a recorded operation: ``ag.Graph`` draws a new one on every ``forward()``. ``inplace``
    multiplies ``input`` itself (torch's flag); ``generator`` (an ``ag.Generator``) draws the mask
    instead of the default generator (chainrule's addition: torch's dropout has no such argument).
    """
    _check_p(p)
    x = _t(input)
    if not training or p == 0:
        return x
    return _masked(x, apply("dropout_mask", x, **_mask_params(p, generator)), inplace)


def _channel_dropout(input, p, training, inplace, generator, nd, name):
    """Dropout of whole channels: x * m with m of shape (N, C, 1, ...), one draw per channel, scaled
    by 1 / (1 - p). ``nd``: the spatial dimensions the function is for (an input without a batch
    dimension has nd + 1 dimensions; dropout2d also takes (N, C, L), as torch does)."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (nd + 1, nd + 2) and not (nd == 2 and x.ndim == 3):
        raise RuntimeError(
            f"{name}: Expected {nd + 1}D or {nd + 2}D input, but received a {x.ndim}D input of shape {list(x.shape)}"
        )
    if not training or p == 0:
        return x
    channels = 1 if x.ndim == nd + 1 and not (nd == 2 and x.ndim == 3) else 2
    corner = x[(slice(None),) * channels + (slice(0, 1),) * (x.ndim - channels)]
    return _masked(x, apply("dropout_mask", corner, **_mask_params(p, generator)), inplace)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L): each channel zeroed with probability p, the
    others scaled by 1 / (1 - p)."""
    return _channel_dropout(input, p, training, inplace, generator, 1, "dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """Channel-wise dropout of (N, C, H, W) or (C, H, W) feature maps: each whole channel zeroed with
    probability p, the others scaled by 1 / (1 - p) (a 3-D input is (N, C, L), as torch reads it)."""
    return _channel_dropout(input, p, training, inplace, generator, 2, "dropout2d")


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """Channel-wise dropout of (N, C, D, H, W) or (C, D, H, W)."""
    return _channel_dropout(input, p, training, inplace, generator, 3, "dropout3d")


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
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
    if (running_mean is None) != (running_var is None):
        raise ValueError(
            "batch_norm: running_mean and running_var go together: give both tensors or neither "
            f"(running_mean is {'None' if running_mean is None else 'a tensor'}, running_var is "
            f"{'None' if running_var is None else 'a tensor'})"
        )
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
        if training and running_mean is not None and running_var is not None:
            m = float(momentum)
            _write(running_mean, (1 - m) * running_mean.data + m * mean.data.reshape(-1))
            _write(running_var, (1 - m) * running_var.data + m * var.data.reshape(-1) * (n / (n - 1)))
    else:
        assert running_var is not None  # (given with running_mean, checked above)
        xhat = (x - running_mean.reshape(cshape)) * (running_var.reshape(cshape) + eps) ** -0.5
    if weight is not None:
        xhat = xhat * weight.reshape(cshape)
    if bias is not None:
        xhat = xhat + bias.reshape(cshape)
    return xhat


def layer_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dimensions of each sample:

    y = (x - mean) / sqrt(var + eps) * gamma + beta     (biased variance)
    """
    x = _t(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.shape[x.ndim - k :] != shape or x.ndim < k:
        raise ValueError(
            f"layer_norm: the input's trailing dimensions {x.shape[max(x.ndim - k, 0) :]} do "
            f"not match normalized_shape {shape} (input shape {x.shape})"
        )
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


def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups, over the group's channels and space:

    y = (x - mean_g) / sqrt(var_g + eps) * gamma_c + beta_c     (biased variance)"""
    x = _t(input)
    if x.ndim < 2:
        raise RuntimeError(f"group_norm expects an input of shape (N, C, *), got {list(x.shape)}")
    n, c = x.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {list(x.shape)} and num_groups={num_groups}"
        )
    grouped = x.reshape(n, num_groups, -1)
    mean = grouped.mean(dim=2, keepdim=True)
    centred = grouped - mean
    var = (centred * centred).mean(dim=2, keepdim=True)
    y = (centred * (var + eps) ** -0.5).reshape(x.shape)
    if weight is not None:
        y = y * weight.reshape(_channel_shape(x))
    if bias is not None:
        y = y + bias.reshape(_channel_shape(x))
    return y


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample over its spatial positions (batch_norm of one sample):

        y = (x - mean_nc) / sqrt(var_nc + eps) * gamma_c + beta_c

    With running statistics, training updates them as torch does, with the per-instance mean and
    unbiased variance averaged over the batch; ``use_input_stats=False`` normalises with them."""
    x = _t(input)
    if x.ndim < 3:
        raise RuntimeError(f"instance_norm expects an input of shape (N, C, *spatial), got {list(x.shape)}")
    axes = tuple(range(2, x.ndim))
    cshape = _channel_shape(x)
    if use_input_stats:
        count = int(np.prod(x.shape[2:]))
        mean = x.mean(dim=axes, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=axes, keepdim=True)
        y = centred * (var + eps) ** -0.5
        if running_mean is not None and running_var is not None:
            m = float(momentum)
            unbiased = var.data.reshape(x.shape[:2]) * (count / max(count - 1, 1))
            _write(running_mean, (1 - m) * running_mean.data + m * mean.data.reshape(x.shape[:2]).mean(axis=0))
            _write(running_var, (1 - m) * running_var.data + m * unbiased.mean(axis=0))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
        y = (x - running_mean.reshape(cshape)) * (running_var.reshape(cshape) + eps) ** -0.5
    if weight is not None:
        y = y * weight.reshape(cshape)
    if bias is not None:
        y = y + bias.reshape(cshape)
    return y


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Row lookup: out[...] = weight[input[...]]; the ``padding_idx`` row gets no gradient."""
    idx = _int_tensor(input, "embedding indices")
    n = weight.shape[0]
    if idx.numel() and (idx.data.min() < 0 or idx.data.max() >= n):
        raise IndexError(
            f"embedding: index out of range: indices must be in [0, {n}), got values in "
            f"[{idx.data.min()}, {idx.data.max()}]"
        )
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
        raise ValueError(
            f"one_hot: class values must be in [0, {num_classes}), got values in [{idx.data.min()}, {idx.data.max()}]"
        )
    return leaf((idx.data[..., None] == np.arange(num_classes)).astype(np.int64))


# -- comparing vectors ------------------------------------------------------------------------------


def _broadcast_pair(a, b):
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        for i in range(1, max(a.ndim, b.ndim) + 1):
            sa = a.shape[-i] if i <= a.ndim else 1
            sb = b.shape[-i] if i <= b.ndim else 1
            if sa != sb and sa != 1 and sb != 1:
                raise RuntimeError(
                    f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                    f"non-singleton dimension {max(a.ndim, b.ndim) - i}"
                ) from None
        raise


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors (the zero vector stays zero)."""
    x = _t(input)
    norm = x.norm(p, dim=dim, keepdim=True)
    return x / norm.clamp(min=eps)


def _clamped_value(norm, eps):
    """norm's value clamped below at eps, with norm's own gradient (torch clamps it in place
    outside autograd)."""
    return norm + (norm.clamp(min=eps) - norm).detach()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim``, the inputs broadcast together;
    computed as torch does, each vector divided by its norm first."""
    a, b = _t(x1, "x1"), _t(x2, "x2")
    shape = _broadcast_pair(a, b)
    if a.shape != shape:
        a = a.expand(*shape)
    if b.shape != shape:
        b = b.expand(*shape)
    na = _clamped_value(a.norm(2, dim=dim, keepdim=True), eps)
    nb = _clamped_value(b.norm(2, dim=dim, keepdim=True), eps)
    return ((a / na) * (b / nb)).sum(dim=dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dimension (the inputs broadcast together)."""
    a, b = _t(x1, "x1"), _t(x2, "x2")
    _broadcast_pair(a, b)
    diff = a - b + eps
    if diff.ndim == 0:
        return diff.abs() if p != 0 else (diff != 0).float()
    return diff.norm(p, dim=-1, keepdim=keepdim)
