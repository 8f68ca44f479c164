"""Activations as functions: relu, leaky_relu, sigmoid, tanh, softplus, gelu, softmax, log_softmax."""
from __future__ import annotations

import math
import warnings


import autograd as ag
from autograd import Tensor
from autograd.extend import apply

from .common import _t

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softplus", "softmax", "log_softmax"]


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
