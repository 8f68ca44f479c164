"""Normalisation layers: BatchNorm1d and LayerNorm."""
from __future__ import annotations

import numpy as np

from autograd import get_default_dtype
from autograd.extend import leaf

from . import functional as F
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "LayerNorm"]


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    Normalise, scale and shift, with the statistics of the batch (over N, and L if present):

        mu_B = mean(x),  sigma_B^2 = mean((x - mu_B)^2),
        x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps),  y = gamma * x_hat + beta

    gamma (``weight``, ones) and beta (``bias``, zeros) are learned when ``affine``. In training the
    running statistics follow the batches, as PyTorch updates them:

        running_mean = (1 - momentum) running_mean + momentum mu_B
        running_var  = (1 - momentum) running_var  + momentum sigma_B^2 n / (n - 1)   (unbiased)

    (``momentum=None``: the cumulative average, factor 1 / num_batches_tracked). In evaluation
    mode the running statistics replace mu_B and sigma_B^2, so one sample is normalised the same
    way whatever batch it is in. Without ``track_running_stats`` batch statistics are always used.
    The running statistics are updated by calling the module; re-evaluating a captured
    ``ag.Graph`` recomputes the normalisation but leaves them as they are.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        self.num_features = int(num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", leaf(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", leaf(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", leaf(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d expects a 2D (N, C) or 3D (N, C, L) input, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) got an input with {x.shape[1]} channels "
                             f"(shape {x.shape}); dimension 1 must be the channel dimension")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        # without running statistics (buffers None) batch statistics are used in eval mode too
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                            factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Layer normalisation: each sample normalised over its last dimensions (``normalized_shape``),

        y = (x - mean(x)) / sqrt(var(x) + eps) * gamma + beta     (biased variance)

    with gamma (ones) and beta (zeros) of shape ``normalized_shape`` when ``elementwise_affine``.
    The same computation in training and evaluation.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
