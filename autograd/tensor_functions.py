"""The module-level forms ``ag.NAME(x, ...)`` of the Tensor operations (``torch.NAME``).

Each is ``x.NAME(...)`` for a Tensor ``x`` (other data is made a Tensor first), so the maths and
its docstring live once, on the method; ``cat`` and ``stack`` take a sequence of tensors and are
defined here. They live apart from tensor.py because names such as ``sum``, ``abs``, ``max`` or
``pow`` would shadow Python's builtins inside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import args, dtypes
from .creation import tensor
from .methods.elementwise import where
from .ops import OPS
from .tensor import Tensor, apply, as_tensor

__all__: list[str] = [
    "pow",
    "matmul",
    "dot",
    "outer",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "sign",
    "clamp",
    "clip",
    "maximum",
    "minimum",
    "where",
    "sum",
    "mean",
    "var",
    "std",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "logsumexp",
    "prod",
    "norm",
    "softmax",
    "log_softmax",
    "cat",
    "stack",
]


def _as_input(x):
    return x if isinstance(x, Tensor) else tensor(x)


def _function(name):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return getattr(_as_input(input), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``ag.{name}(x, ...)`` is ``x.{name}(...)``: " + (method.__doc__ or "")
    return function


def pow(input: Tensor | float, exponent: Tensor | float) -> Tensor:  # noqa: A001
    """input ** exponent, either of them a Tensor (or a number)."""
    if isinstance(input, Tensor):
        return input.pow(exponent)
    if isinstance(exponent, Tensor):
        return exponent.__rpow__(input)
    return tensor(input).pow(exponent)


matmul = _function("matmul")
dot = _function("dot")
outer = _function("outer")
exp = _function("exp")
log = _function("log")
sqrt = _function("sqrt")
abs = _function("abs")  # noqa: A001
sin = _function("sin")
cos = _function("cos")
tanh = _function("tanh")
sigmoid = _function("sigmoid")
relu = _function("relu")
sign = _function("sign")
clamp = _function("clamp")
clip = _function("clip")
maximum = _function("maximum")
minimum = _function("minimum")
sum = _function("sum")  # noqa: A001
mean = _function("mean")
var = _function("var")
std = _function("std")
amax = _function("amax")
amin = _function("amin")
argmax = _function("argmax")
argmin = _function("argmin")
logsumexp = _function("logsumexp")
prod = _function("prod")
norm = _function("norm")
softmax = _function("softmax")
log_softmax = _function("log_softmax")


def _joined(tensors, name):
    """The tensors of cat/stack, promoted to one dtype (torch's rules)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name} expects a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{name} expects a non-empty list of tensors")
    ts = [as_tensor(t) for t in tensors]
    dt = ts[0].dtype
    for t in ts[1:]:
        if t.dtype != dt:  # all joined tensors count alike: promote as arrays of the same rank
            dt = dtypes.result_type(np.empty(1, dt), np.empty(1, t.dtype))
    return [t if t.dtype == dt else t._to_dtype(dt) for t in ts]


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Concatenate along an existing dimension; the shapes must agree elsewhere.
    d/d x_i is g's part for x_i along ``dim``."""
    ts = _joined(tensors, "cat")
    first = ts[0]
    if first.ndim == 0:
        raise RuntimeError("cat: 0-d tensors can't be concatenated; use ag.stack, or reshape them to 1-d")
    d = args.one_dim(axis if axis is not None else dim, first.ndim, "cat")
    for i, t in enumerate(ts):
        if t.ndim != first.ndim or t.shape[:d] + t.shape[d + 1 :] != first.shape[:d] + first.shape[d + 1 :]:
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                f"all sizes must match except in dimension {d}"
            )
    return apply(OPS["cat"], tuple(ts), {"dim": d})


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Stack tensors of one shape along a new dimension ``dim``; d/d x_i = g[..., i, ...]."""
    ts = _joined(tensors, "stack")
    first = ts[0]
    d = axis if axis is not None else dim
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not -first.ndim - 1 <= d <= first.ndim:
        raise IndexError(
            f"stack: dim {d} is out of range for stacking {first.ndim}-d tensors "
            f"(expected an int in [{-first.ndim - 1}, {first.ndim}])"
        )
    for i, t in enumerate(ts):
        if t.shape != first.shape:
            raise ValueError(
                f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape {first.shape}; "
                f"stacked tensors must have the same shape"
            )
    return apply(OPS["stack"], tuple(ts), {"dim": int(d) % (first.ndim + 1)})


# the catalogue beyond the lecture, by family (each module's forms are built with _function above)
from .functions_math import *  # noqa: E402, F403
from .functions_math import __all__ as _math  # noqa: E402
from .functions_shape import *  # noqa: E402, F403
from .functions_shape import __all__ as _shape  # noqa: E402

__all__ += _math + _shape
