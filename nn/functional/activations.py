"""Activations as functions, with torch's signatures: relu, leaky_relu, sigmoid, tanh, softplus(beta,
threshold), gelu (exact or tanh), silu, mish, elu, selu, celu, relu6, hardtanh, hardsigmoid, hardswish,
softsign, logsigmoid, glu, softmax, softmin, log_softmax; and torch's in-place forms (``elu_``...).

Most are one entry of autograd's table each (one pass and one node, as torch's one kernel);
softsign and softmin are the compositions torch computes too. ``inplace=True`` writes the result
into ``input`` and returns it, as torch (in a graph: recorded as an in-place operation, so a leaf
that requires grad refuses it).
"""

from __future__ import annotations

import warnings

import autograd as ag
from autograd import Tensor
from autograd.extend import apply

from .common import _t

__all__ = [
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "silu",
    "mish",
    "elu",
    "selu",
    "celu",
    "relu6",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "softsign",
    "logsigmoid",
    "softmin",
    "glu",
    "relu_",
    "leaky_relu_",
    "elu_",
    "selu_",
    "celu_",
    "hardtanh_",
]

# SELU's constants (Klambauer et al., 2017), as torch
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _floating(input, name):
    """``input`` as a Tensor, which must be floating (torch has no integer kernel for ``name``)."""
    x = _t(input)
    if x.dtype.kind != "f":
        raise NotImplementedError(
            f'"{name}" not implemented for {x.dtype} tensors: it needs a floating tensor; convert it with .float()'
        )
    return x


def _result(x, name, inplace, compute):
    """compute(x); with ``inplace``, written into x, which is returned (torch's inplace=True)."""
    if not inplace:
        return compute(x)
    # The engine's in-place machinery (Tensor._inplace: the tensor becomes the node of the computation,
    # applied to a node holding its old value) has no public name yet; torch reaches its in-place
    # activations through torch._C._nn likewise.
    return x._inplace(f"{name}_", compute)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x)."""
    if not inplace:
        return _t(input).relu()
    return _result(_t(input), "relu", inplace, lambda x: x.relu())


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return _result(_t(input), "leaky_relu", inplace, lambda x: ag.where(x > 0, x, x * float(negative_slope)))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x)."""
    return _t(input).sigmoid()


def tanh(input: Tensor) -> Tensor:
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x) elementwise; its derivative is 1 - tanh(x)^2 (``F.tanh``)."""
    return _t(input).tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, without overflow; x itself where beta x > threshold (as torch)."""
    x = _floating(input, "softplus")
    return apply("softplus", x, beta=float(beta), threshold=float(threshold))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF; ``approximate='tanh'``:
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "none":
        x = _t(input)
        return x * apply("normal_cdf", x)
    if approximate == "tanh":
        return apply("gelu_tanh", _floating(input, "gelu"))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (the swish)."""
    return _result(_floating(input, "silu"), "silu", inplace, lambda x: apply("silu", x))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _result(_floating(input, "mish"), "mish", inplace, lambda x: apply("mish", x))


def _elu(input, name, alpha, scale, input_scale, inplace):
    params = {"alpha": float(alpha), "scale": float(scale), "input_scale": float(input_scale)}
    return _result(_floating(input, name), name, inplace, lambda x: apply("elu", x, **params))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return _elu(input, "elu", alpha, 1.0, 1.0, inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with SELU's self-normalising constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    return _elu(input, "selu", _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^(x / alpha) - 1) otherwise (continuously differentiable for any alpha)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu(input, "celu", alpha, 1.0, 1.0 / alpha, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 0 at the bounds themselves (as torch)."""
    x = _t(input)
    if x.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if min_val > max_val:
        raise RuntimeError(f"hardtanh: min_val cannot be greater than max_val (got {min_val} > {max_val})")
    return _result(x, "hardtanh", inplace, lambda t: apply("hardtanh", t, min_val=min_val, max_val=max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6): hardtanh(x, 0, 6)."""
    x = _t(input)
    if x.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for relu6")
    return _result(x, "relu6", inplace, lambda t: apply("hardtanh", t, min_val=0.0, max_val=6.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x + 3, 0), 6) / 6, the piecewise-linear sigmoid."""
    return _result(_floating(input, "hardsigmoid"), "hardsigmoid", inplace, lambda x: apply("hardsigmoid", x))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x hardsigmoid(x) = x min(max(x + 3, 0), 6) / 6."""
    return _result(_floating(input, "hardswish"), "hardswish", inplace, lambda x: apply("hardswish", x))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (torch's composition: the same operations)."""
    x = _t(input)
    return x / (x.abs() + 1)


def logsigmoid(input: Tensor) -> Tensor:
    """log sigmoid(x) = -softplus(-x), without overflow."""
    return apply("logsigmoid", _floating(input, "log_sigmoid"))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit a * sigmoid(b), a and b the first and second halves of ``input`` along ``dim``."""
    x = _floating(input, "glu")
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(
            f"glu: dim {dim} is out of range for a tensor with {x.ndim} dimension(s) "
            f"(expected dim in [{-x.ndim}, {x.ndim - 1}])"
        )
    d = dim % x.ndim
    if x.shape[d] % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {d} is size {x.shape[d]}")
    return apply("glu", x, dim=d)


def _softmax_dim(ndim, dim, name):
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} is deprecated (as in PyTorch): pass dim=", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """e^(x_i - max x) / sum_j e^(x_j - max x) along ``dim``."""
    x = _t(input)
    return x.softmax(dim=_softmax_dim(x.ndim, dim, "softmax"))


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim`` (``dtype``: convert the input first)."""
    x = _t(input)
    if dtype is not None:
        x = x.to(dtype)
    return (-x).softmax(dim=_softmax_dim(x.ndim, dim, "softmin"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """x_i - logsumexp(x) along ``dim``, stable for large logits."""
    x = _t(input)
    return x.log_softmax(dim=_softmax_dim(x.ndim, dim, "log_softmax"))


# -- torch's in-place forms ----------------------------------------------------------------------------


def relu_(input: Tensor) -> Tensor:
    """relu, in place."""
    return relu(input, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu, in place."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """elu, in place."""
    return elu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """selu, in place."""
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu, in place."""
    return celu(input, alpha, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh, in place."""
    return hardtanh(input, min_val, max_val, inplace=True)
