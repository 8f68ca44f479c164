"""Creating tensors: ``ag.tensor``, ``from_numpy``, zeros/ones/full/empty and their ``_like`` forms,
ranges, the identity, and random tensors from the default generator (``ag.manual_seed``) or the
``generator=`` given. Every factory takes torch's ``device=`` ('cpu', the one device there is)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from . import args, dtypes
from .device import check as check_device
from .methods.elementwise import where  # ag.where, a creation-like function of torch's
from .random import (
    generator as _draw,  # (the functions take an argument named generator)
)
from .tensor import Tensor, make

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, DTypeLike

    from .device import device
    from .random import Generator

    DeviceLike = str | device | int | None  # torch's device= ('cpu', ag.device('cpu'))
    TensorLike = Tensor | ArrayLike  # the _like factories take a Tensor, an ndarray or a nested list

__all__ = [
    "tensor",
    "from_numpy",
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand_like",
    "randn_like",
    "randint_like",
    "rand",
    "randn",
    "randint",
    "randperm",
    "arange",
    "linspace",
    "eye",
    "where",
]


def tensor(
    data: Any, dtype: DTypeLike | None = None, requires_grad: bool = False, *, device: DeviceLike = None
) -> Tensor:
    """A new tensor holding a copy of ``data`` (number, nested list, ndarray, Tensor)."""
    check_device(device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the ndarray ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(a).__name__}")
    dtypes.check_supported(a.dtype, "from_numpy")
    return make(a)


def _new_tensor(arr, requires_grad, device=None):
    check_device(device)
    t = make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    return dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(
    *shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False, device: DeviceLike = None
) -> Tensor:
    """A tensor of the given shape (sizes or one tuple) filled with 0, of the default float dtype unless ``dtype``."""
    return _new_tensor(np.zeros(args.sizes(shape), _float_dtype(dtype)), requires_grad, device)


def ones(
    *shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False, device: DeviceLike = None
) -> Tensor:
    """A tensor of the given shape (sizes or one tuple) filled with 1, of the default float dtype unless ``dtype``."""
    return _new_tensor(np.ones(args.sizes(shape), _float_dtype(dtype)), requires_grad, device)


def empty(
    *shape: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False, device: DeviceLike = None
) -> Tensor:
    """A tensor of the given shape (sizes or one tuple) with unspecified contents, of the default float
    dtype unless ``dtype``."""
    return _new_tensor(np.empty(args.sizes(shape), _float_dtype(dtype)), requires_grad, device)


def full(
    shape: int | Sequence[int],
    value: float,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    device: DeviceLike = None,
) -> Tensor:
    """A tensor of ``shape`` filled with ``value``: its dtype follows the value (float: the default
    float dtype, bool, int: int64) unless ``dtype`` is given."""
    if dtype is None:
        dtype = (
            dtypes.get_default_dtype()
            if isinstance(value, float)
            else (np.bool_ if isinstance(value, builtins.bool) else np.int64)
        )
    return _new_tensor(
        np.full(args.sizes((shape,)) if not isinstance(shape, int) else (shape,), value, dtype), requires_grad, device
    )


def _shape_of(t):
    return np.shape(t.data if isinstance(t, Tensor) else t)


def _dtype_of(t):
    return t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype


def zeros_like(
    t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False, *, device: DeviceLike = None
) -> Tensor:
    """Zeros of ``t``'s shape and dtype (or ``dtype``)."""
    return _new_tensor(np.zeros(_shape_of(t), dtype or _dtype_of(t)), requires_grad, device)


def ones_like(
    t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False, *, device: DeviceLike = None
) -> Tensor:
    """Ones of ``t``'s shape and dtype (or ``dtype``)."""
    return _new_tensor(np.ones(_shape_of(t), dtype or _dtype_of(t)), requires_grad, device)


def full_like(
    t: TensorLike,
    value: float,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: DeviceLike = None,
) -> Tensor:
    """``value`` in ``t``'s shape and dtype (or ``dtype``)."""
    return _new_tensor(np.full(_shape_of(t), value, dtype or _dtype_of(t)), requires_grad, device)


def rand_like(
    t: TensorLike,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    generator: Generator | None = None,
    device: DeviceLike = None,
) -> Tensor:
    """Uniform samples in [0, 1) in ``t``'s shape and dtype (or ``dtype``)."""
    return _new_tensor(_draw(generator).random(_shape_of(t)).astype(dtype or _dtype_of(t)), requires_grad, device)


def randn_like(
    t: TensorLike,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    generator: Generator | None = None,
    device: DeviceLike = None,
) -> Tensor:
    """Standard normal samples in ``t``'s shape and dtype (or ``dtype``)."""
    return _new_tensor(
        _draw(generator).standard_normal(_shape_of(t)).astype(dtype or _dtype_of(t)), requires_grad, device
    )


def randint_like(
    t: TensorLike,
    low: int = 0,
    high: int | None = None,
    *,
    dtype: DTypeLike | None = None,
    generator: Generator | None = None,
    device: DeviceLike = None,
) -> Tensor:
    """Integers in [low, high) (``randint_like(t, high)`` also works) in ``t``'s shape and dtype."""
    if high is None:
        low, high = 0, low
    dt = np.dtype(dtype or _dtype_of(t))
    return _new_tensor(_draw(generator).integers(low, high, size=_shape_of(t)).astype(dt), False, device)


def rand(
    *shape: int | Sequence[int],
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    generator: Generator | None = None,
    device: DeviceLike = None,
) -> Tensor:
    """Uniform samples in [0, 1) from ``generator`` (default: the one ag.manual_seed seeds)."""
    return _new_tensor(_draw(generator).random(args.sizes(shape)).astype(_float_dtype(dtype)), requires_grad, device)


def randn(
    *shape: int | Sequence[int],
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    generator: Generator | None = None,
    device: DeviceLike = None,
) -> Tensor:
    """Standard normal samples from ``generator`` (default: the one ag.manual_seed seeds)."""
    return _new_tensor(
        _draw(generator).standard_normal(args.sizes(shape)).astype(_float_dtype(dtype)), requires_grad, device
    )


def randint(
    low: int,
    high: int | Sequence[int] | None = None,
    size: int | Sequence[int] = (),
    dtype: DTypeLike | None = None,
    *,
    generator: Generator | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` also works), int64 unless ``dtype``."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, (high if high is not None else size)
    shape = args.sizes((size,)) if not isinstance(size, int) else (size,)
    return _new_tensor(
        _draw(generator).integers(low, high, size=shape, dtype=np.int64 if dtype is None else dtype),
        requires_grad,
        device,
    )


def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of 0, 1, ..., n-1 (int64 unless ``dtype``)."""
    n = args.sizes((n,), "randperm: n")[0]
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    return _new_tensor(
        _draw(generator).permutation(n).astype(np.int64 if dtype is None else dtype), requires_grad, device
    )


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: DeviceLike = None,
) -> Tensor:
    """The values start, start + step, ... up to (not including) ``end``; ``arange(n)`` is 0..n-1.

    int64 when every argument is an integer, else the default float dtype. ``step`` must be
    nonzero and point from ``start`` towards ``end`` (or the range is empty: start == end)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {step!r}")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange: the range from {start!r} to {end!r} can't be walked with step {step!r} "
            f"(upper and lower bound inconsistent with the step's sign)"
        )
    if dtype is None:
        dtype = dtypes.get_default_dtype() if any(isinstance(v, float) for v in (start, end, step)) else np.int64
    return _new_tensor(np.arange(start, end, step, dtype=dtype), requires_grad, device)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: DeviceLike = None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included).

    With an integer ``dtype``, as torch: start and end are truncated to integers first, each value
    start + i * step (from the end backwards for the second half) is computed in float64 and then
    truncated towards zero."""
    steps = args.sizes((steps,), "linspace: steps")[0]
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    dt = _float_dtype(dtype)
    if dt.kind == "f":
        return _new_tensor(np.linspace(start, end, steps, dtype=dt), requires_grad, device)
    lo, hi = (float(np.array(int(v), np.int64).astype(dt)) for v in (start, end))
    step = (hi - lo) / (steps - 1) if steps > 1 else 0.0
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    values = np.where(i < half, lo + step * i, hi - step * (steps - i - 1))
    return _new_tensor(np.trunc(values).astype(dt), requires_grad, device)


def eye(
    n: int,
    m: int | None = None,
    dtype: DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: DeviceLike = None,
) -> Tensor:
    """The n x m (default n x n) identity matrix."""
    return _new_tensor(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)
