"""Elementwise methods: unary functions, comparisons, elementwise extremes and clamping; and
``where``, the elementwise choice."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops import OPS
from ..tensor import apply, binary, is_tensor, make, operand, to_array, unary


class ElementwiseMethods:
    __slots__ = ()

    def exp(self):
        """e ** x."""
        return unary(OPS["exp"], self)

    def log(self):
        """The natural logarithm."""
        return unary(OPS["log"], self)

    def sqrt(self):
        """x ** 0.5."""
        return unary(OPS["sqrt"], self)

    def abs(self):
        """|x|."""
        return unary(OPS["abs"], self)

    def __abs__(self):
        return self.abs()

    def sin(self):
        """sin x."""
        return unary(OPS["sin"], self)

    def cos(self):
        """cos x."""
        return unary(OPS["cos"], self)

    def tanh(self):
        """tanh x."""
        return unary(OPS["tanh"], self)

    def sigmoid(self):
        """1 / (1 + e ** -x), computed without overflow."""
        return unary(OPS["sigmoid"], self)

    def relu(self):
        """max(x, 0)."""
        return unary(OPS["relu"], self)

    def sign(self):
        """-1, 0 or 1 by the sign of x (no gradient: its derivative is 0 almost everywhere)."""
        return unary(OPS["sign"], self)

    # -- comparisons (boolean, no gradient) ------------------------------------------------------

    def _compare(self, name, other):
        other = other if is_tensor(other) else make(to_array(np.asarray(other), copy=False))
        return binary(OPS[name], self, other)

    def __lt__(self, other):
        return self._compare("lt", other)

    def __le__(self, other):
        return self._compare("le", other)

    def __gt__(self, other):
        return self._compare("gt", other)

    def __ge__(self, other):
        return self._compare("ge", other)

    def __eq__(self, other):
        return self._compare("eq", other)

    def __ne__(self, other):
        return self._compare("ne", other)

    # -- extremes and clamping -------------------------------------------------------------------

    def maximum(self, other):
        """Elementwise max(self, other); the gradient of a tie goes half to each side (as torch)."""
        return binary(OPS["maximum"], self, operand(other))

    def minimum(self, other):
        """Elementwise min(self, other); the gradient of a tie goes half to each side (as torch)."""
        return binary(OPS["minimum"], self, operand(other))

    def clamp(self, min=None, max=None):  # noqa: A002
        """Elementwise min(max(self, min), max): the gradient passes where min <= self <= max.

        Bounds are numbers or Tensors (broadcast; differentiable); None means no bound."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min= and max= must be given (both are None)")
        if is_tensor(min) or isinstance(min, np.ndarray) or is_tensor(max) or isinstance(max, np.ndarray):
            return _clamp_tensor(self, min, max)
        x = self
        if x.dtype.kind != "f" and any(isinstance(b, float) for b in (min, max)):
            x = x.to(dtypes.get_default_dtype())
        return apply(OPS["clamp"], (x,), {"min": min, "max": max})

    def clip(self, min=None, max=None):  # noqa: A002
        """Alias of :meth:`clamp`."""
        return self.clamp(min, max)


def _unbounded(dtype, upper):
    """The bound that does not bound: +-inf, or an integer dtype's extreme."""
    if dtype.kind == "f":
        return np.array(np.inf if upper else -np.inf, dtype=dtype)
    if dtype.kind == "b":
        return np.array(upper)
    info = np.iinfo(dtype)
    return np.array(info.max if upper else info.min, dtype=dtype)


def _clamp_tensor(x, lo, hi):
    lo = None if lo is None else operand(lo)
    hi = None if hi is None else operand(hi)
    dt = x.dtype
    for b in (lo, hi):
        if b is not None:
            dt = dtypes.result_type(np.empty((1,) * x.ndim, dt), b.data)  # only ndim and dtype count
    x, lo, hi = (make(_unbounded(dt, i == 2)) if t is None else t.to(dt) for i, t in enumerate((x, lo, hi)))
    try:
        return apply(OPS["clamp_tensor"], (x, lo, hi))
    except ValueError:
        raise ValueError(f"clamp: the bounds' shapes {lo.shape} and {hi.shape} do not broadcast with the "
                         f"tensor's shape {x.shape}") from None


def where(condition, a=None, b=None):
    """``a`` where ``condition`` else ``b`` (elementwise, broadcasting); differentiable in a and b.

    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``, as in torch."""
    cond = condition if is_tensor(condition) else make(np.asarray(condition))
    if a is None and b is None:
        return cond.nonzero(as_tuple=True)
    if a is None or b is None:
        raise TypeError("where: give both a and b (or neither, for the indices where condition is true)")
    if cond.dtype != np.bool_:
        cond = make(cond.data.astype(np.bool_))
    a = a if is_tensor(a) else make(to_array(a, copy=False))
    b = b if is_tensor(b) else make(to_array(b, copy=False))
    if a.dtype != b.dtype:
        dt = dtypes.result_type(a.data, b.data)
        a = a if a.dtype == dt else a.to(dt)
        b = b if b.dtype == dt else b.to(dt)
    return apply(OPS["where"], (cond, a, b))
