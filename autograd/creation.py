"""Creating tensors: ``ag.tensor``, ``from_numpy``, zeros/ones/full/empty and their ``_like`` forms,
ranges, the identity, and random tensors from the global generator (``ag.manual_seed``)."""
from __future__ import annotations

import builtins

import numpy as np

from . import args, dtypes
from .methods.elementwise import where  # noqa: F401  (ag.where, a creation-like function of torch's)
from .random import generator
from .tensor import Tensor, make

__all__ = ["tensor", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "full_like",
           "rand_like", "randn_like", "rand", "randn", "randint", "arange", "linspace", "eye", "where"]


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (number, nested list, ndarray, Tensor)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the ndarray ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(a).__name__}")
    dtypes.check_supported(a.dtype, "from_numpy")
    return make(a)


def _new_tensor(arr, requires_grad):
    t = make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    return dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.zeros(args.sizes(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.ones(args.sizes(shape), _float_dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.empty(args.sizes(shape), _float_dtype(dtype)), requires_grad)


def full(shape, value, dtype=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = dtypes.get_default_dtype() if isinstance(value, float) else (
            np.bool_ if isinstance(value, builtins.bool) else np.int64)
    return _new_tensor(np.full(args.sizes((shape,)) if not isinstance(shape, int) else (shape,), value, dtype),
                       requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.zeros(np.shape(t.data if isinstance(t, Tensor) else t),
                                dtype or _dtype_of(t)), requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.ones(np.shape(t.data if isinstance(t, Tensor) else t), dtype or _dtype_of(t)),
                       requires_grad)


def full_like(t, value, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.full(np.shape(t.data if isinstance(t, Tensor) else t), value,
                               dtype or _dtype_of(t)), requires_grad)


def rand_like(t, dtype=None, requires_grad=False) -> Tensor:
    dt = dtype or _dtype_of(t)
    return _new_tensor(generator().random(np.shape(t.data if isinstance(t, Tensor) else t)).astype(dt),
                       requires_grad)


def randn_like(t, dtype=None, requires_grad=False) -> Tensor:
    dt = dtype or _dtype_of(t)
    return _new_tensor(generator().standard_normal(np.shape(t.data if isinstance(t, Tensor) else t)).astype(dt),
                       requires_grad)


def _dtype_of(t):
    return t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype


def rand(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) from the global generator (ag.manual_seed)."""
    return _new_tensor(generator().random(args.sizes(shape)).astype(_float_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Standard normal samples from the global generator (ag.manual_seed)."""
    return _new_tensor(generator().standard_normal(args.sizes(shape)).astype(_float_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` also works) from the global generator."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, (high if high is not None else size)
    return make(generator().integers(low, high, size=args.sizes((size,)) if not isinstance(size, int)
                                      else (size,), dtype=np.int64 if dtype is None else dtype))


def arange(start, end=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    """The values start, start + step, ... up to (not including) ``end``; ``arange(n)`` is 0..n-1.

    int64 when every argument is an integer, else the default float dtype. ``step`` must be
    nonzero and point from ``start`` towards ``end`` (or the range is empty: start == end)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {step!r}")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the range from {start!r} to {end!r} can't be walked with step {step!r} "
                         f"(upper and lower bound inconsistent with the step's sign)")
    if dtype is None:
        dtype = dtypes.get_default_dtype() if any(isinstance(v, float) for v in (start, end, step)) else np.int64
    return _new_tensor(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included).

    With an integer ``dtype``, as torch: start and end are truncated to integers first, each value
    start + i * step (from the end backwards for the second half) is computed in float64 and then
    truncated towards zero."""
    steps = args.sizes((steps,), "linspace: steps")[0]
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    dtype = _float_dtype(dtype)
    if dtype.kind == "f":
        return _new_tensor(np.linspace(start, end, steps, dtype=dtype), requires_grad)
    lo, hi = (float(np.array(int(v), np.int64).astype(dtype)) for v in (start, end))
    step = (hi - lo) / (steps - 1) if steps > 1 else 0.0
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    values = np.where(i < half, lo + step * i, hi - step * (steps - i - 1))
    return _new_tensor(np.trunc(values).astype(dtype), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)
