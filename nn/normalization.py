"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm and InstanceNorm1d/2d/3d, with
PyTorch's parameters (weight ones, bias zeros), buffers (running_mean, running_var,
num_batches_tracked) and state_dict keys."""

from __future__ import annotations

import numpy as np

from autograd import Tensor, get_default_dtype
from autograd.extend import leaf

from . import functional as F
from .module import Module
from .parameter import Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
]


class _BatchNorm(Module):
    """Batch normalisation, per channel C (dimension 1), over the batch and every other dimension.

    Normalise, scale and shift, with the statistics of the batch (over N and every dimension after C):

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

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
    ):
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
        """Reset the running mean to 0, the running variance to 1 and the batch count to 0."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    _dims: tuple[int, ...] = (2, 3)
    _expected = "a 2D (N, C) or 3D (N, C, L)"

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self._dims:
            raise ValueError(f"{name} expects {self._expected} input, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}) got an input with {x.shape[1]} channels "
                f"(shape {x.shape}); dimension 1 must be the channel dimension"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        # without running statistics (buffers None) batch statistics are used in eval mode too
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, self.training, factor, self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C (see _BatchNorm)."""


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) feature maps, per channel C, over the batch and the
    pixels: each channel normalised with its batch mean and variance, then scaled by gamma and
    shifted by beta (see _BatchNorm)."""

    _dims = (4,)
    _expected = "a 4D (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) volumes, per channel C (see _BatchNorm)."""

    _dims = (5,)
    _expected = "a 5D (N, C, D, H, W)"


class LayerNorm(Module):
    """Layer normalisation: each sample normalised over its last dimensions (``normalized_shape``),

        y = (x - mean(x)) / sqrt(var(x) + eps) * gamma + beta     (biased variance)

    with gamma (ones) and beta (zeros) of shape ``normalized_shape`` when ``elementwise_affine``.
    The same computation in training and evaluation.
    """

    def __init__(
        self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True, dtype=None
    ):
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

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalisation: the C channels of each sample in ``num_groups`` groups, each group
    normalised over its channels and positions (independent of the batch),

        y = (x - mean_g) / sqrt(var_g + eps) * gamma_c + beta_c

    with gamma (ones) and beta (zeros) per channel when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, dtype=None):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(
                f"num_channels must be divisible by num_groups (got num_channels={num_channels}, "
                f"num_groups={num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) expects an input (N, "
                f"{self.num_channels}, *), got shape {x.shape}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    """Instance normalisation: each channel of each sample normalised over its positions,

        y = (x - mean_nc) / sqrt(var_nc + eps) * gamma_c + beta_c

    (``affine`` off and no running statistics by default, as PyTorch; with
    ``track_running_stats`` evaluation uses running averages of the per-instance statistics)."""

    _nd = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype=None,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
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

    def forward(self, x: Tensor) -> Tensor:
        nd, name = self._nd, type(self).__name__
        if x.ndim not in (nd + 1, nd + 2):
            raise ValueError(
                f"{name} expects a {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got shape {x.shape}"
            )
        unbatched = x.ndim == nd + 1
        if unbatched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{name}({self.num_features}) got an input with {x.shape[1]} channels (shape {x.shape})")
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats, self.momentum, self.eps
        )
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) (see _InstanceNorm)."""

    _nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W): each feature map of each image normalised on its own
    (style transfer's normalisation; see _InstanceNorm)."""

    _nd = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) (see _InstanceNorm)."""

    _nd = 3
