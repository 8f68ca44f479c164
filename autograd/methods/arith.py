"""Arithmetic: Tensor's operators ``+ - * / ** @`` (and their reflected forms), unary ``-`` and
``+``, ``pow`` and ``matmul``. The hot path of every training step: each operator reads the op table's
entries from module globals and goes straight to ``binary`` (two tensors) or ``scalar_op`` (a tensor
and a Python number), with no method lookups; every Tensor is an ``ArithmeticMethods``, so the
isinstance test is Tensor's own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..ops import OPS
from ..tensor import _PY_SCALARS, as_tensor, binary, scalar_op, unary
from .base import TensorMixin

if TYPE_CHECKING:
    from ..tensor import Tensor

_ADD, _SUB, _MUL, _DIV, _POW = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["pow"]
_ADD_S, _RSUB_S, _MUL_S, _DIV_S = OPS["add_scalar"], OPS["rsub_scalar"], OPS["mul_scalar"], OPS["div_scalar"]
_RDIV_S, _POW_S, _RPOW_S = OPS["rdiv_scalar"], OPS["pow_scalar"], OPS["rpow_scalar"]
_MATMUL, _NEG = OPS["matmul"], OPS["neg"]


class ArithmeticMethods(TensorMixin):
    __slots__ = ()

    def __add__(self, other: Any) -> Tensor:
        if isinstance(other, ArithmeticMethods):
            return binary(_ADD, self, other)
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_ADD_S, self, other)
        return binary(_ADD, self, as_tensor(other))

    def __radd__(self, other: Any) -> Tensor:
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_ADD_S, self, other)
        return binary(_ADD, as_tensor(other), self)

    def __sub__(self, other: Any) -> Tensor:
        if isinstance(other, ArithmeticMethods):
            return binary(_SUB, self, other)
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_ADD_S, self, -other)
        return binary(_SUB, self, as_tensor(other))

    def __rsub__(self, other: Any) -> Tensor:
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_RSUB_S, self, other)
        return binary(_SUB, as_tensor(other), self)

    def __mul__(self, other: Any) -> Tensor:
        if isinstance(other, ArithmeticMethods):
            return binary(_MUL, self, other)
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_MUL_S, self, other)
        return binary(_MUL, self, as_tensor(other))

    def __rmul__(self, other: Any) -> Tensor:
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_MUL_S, self, other)
        return binary(_MUL, as_tensor(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        if isinstance(other, ArithmeticMethods):
            return binary(_DIV, self, other)
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_DIV_S, self, other)
        return binary(_DIV, self, as_tensor(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_RDIV_S, self, other)
        return binary(_DIV, as_tensor(other), self)

    def __pow__(self, other: Any) -> Tensor:
        if isinstance(other, ArithmeticMethods):
            return binary(_POW, self, other)
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_POW_S, self, other)
        return binary(_POW, self, as_tensor(other))

    def __rpow__(self, other: Any) -> Tensor:
        if other.__class__ in _PY_SCALARS:
            return scalar_op(_RPOW_S, self, other)
        return binary(_POW, as_tensor(other), self)

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return as_tensor(other).matmul(self)

    def __neg__(self) -> Tensor:
        return unary(_NEG, self)

    def __pos__(self) -> Tensor:
        return cast("Tensor", self)

    def pow(self, exponent: Tensor | float) -> Tensor:
        """self ** exponent (a number or a Tensor)."""
        return self.__pow__(exponent)

    def matmul(self, other: Tensor) -> Tensor:
        """Matrix product with numpy's rules: 1-D, 2-D, and batched with broadcasting."""
        other = as_tensor(other)
        if self.ndim == 0 or other.ndim == 0:
            raise RuntimeError(
                f"matmul: both arguments need at least 1 dimension, got shapes {self.shape} and {other.shape}"
            )
        k1 = self.shape[-1]
        k2 = other.shape[0] if other.ndim == 1 else other.shape[-2]
        if k1 != k2:
            raise ValueError(
                f"matmul: shapes {self.shape} and {other.shape} are not aligned "
                f"({k1} != {k2} in the contracted dimension)"
            )
        return binary(_MATMUL, self, other)
