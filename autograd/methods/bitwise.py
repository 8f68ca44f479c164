"""Bitwise and logical methods and operators (``& | ^ ~ << >>``), integer division and remainder
(``// %``), and the tests of values (isnan, isinf, isfinite, isclose, allclose). Their in-place forms
(``&=``, ``bitwise_and_``...) live with the other in-place methods (inplace.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import dtypes
from ..ops import OPS
from ..tensor import binary, is_tensor, make, to_array, unary
from .base import TensorMixin
from .elementwise import _apply_broadcast, _not_implemented, operands

if TYPE_CHECKING:
    from ..tensor import Tensor


def _tensor(x):
    return x if is_tensor(x) else make(to_array(x, copy=False))


def _bitwise(name, doc, kind="integer"):
    """The method of the bitwise entry ``name`` (integer and bool tensors; shifts: integers only)."""
    op = OPS[name]

    def method(self, other):
        return binary(op, *operands(self, other, name, kind))

    method.__name__ = name
    method.__qualname__ = f"BitwiseMethods.{name}"
    method.__doc__ = doc
    return method


def _reflected(name):
    """other OP self, for a number or an array on the left of the operator."""
    op = OPS[name]
    kind = "shift" if "shift" in name else "integer"

    def method(self, other):
        b, a = operands(self, other, name, kind)
        return binary(op, a, b)

    method.__name__ = f"__r{name}__"
    return method


def _logical(name, doc):
    op = OPS[name]

    def method(self, other):
        return binary(op, *operands(self, _tensor(other), name))

    method.__name__ = name
    method.__qualname__ = f"BitwiseMethods.{name}"
    method.__doc__ = doc
    return method


def _rounded_division(a, b, name):
    """a // b (Python's floor division, as torch's div(rounding_mode='floor'))."""
    return _apply_broadcast(OPS["div_rounded"], operands(a, b, name, "no_bool"), {"rounding_mode": "floor"}, name)


class BitwiseMethods(TensorMixin):
    __slots__ = ()

    # -- bitwise operations (integer and bool tensors) -------------------------------------------
    bitwise_and = _bitwise("bitwise_and", "self AND other, bit by bit (logical for bools).")
    bitwise_or = _bitwise("bitwise_or", "self OR other, bit by bit (logical for bools).")
    bitwise_xor = _bitwise("bitwise_xor", "self XOR other, bit by bit (logical for bools).")
    bitwise_left_shift = _bitwise(
        "bitwise_left_shift", "self * 2 ** other, as bits shifted left (0 past the type's width).", "shift"
    )
    bitwise_right_shift = _bitwise(
        "bitwise_right_shift", "self // 2 ** other, as bits shifted right (the sign fills in).", "shift"
    )

    def bitwise_not(self) -> Tensor:
        """NOT self, bit by bit (~x = -x - 1 for integers; logical not for bools)."""
        if self.dtype.kind == "f":
            raise _not_implemented("bitwise_not", self.dtype, "bitwise operations need integer or bool tensors")
        return unary(OPS["bitwise_not"], self)

    __and__ = bitwise_and
    __or__ = bitwise_or
    __xor__ = bitwise_xor
    __lshift__ = bitwise_left_shift
    __rshift__ = bitwise_right_shift
    __rand__ = _reflected("bitwise_and")
    __ror__ = _reflected("bitwise_or")
    __rxor__ = _reflected("bitwise_xor")
    __rlshift__ = _reflected("bitwise_left_shift")
    __rrshift__ = _reflected("bitwise_right_shift")

    def __invert__(self) -> Tensor:
        if self.dtype.kind == "f":
            raise TypeError(
                f"~ (operator.invert) is only implemented on integer and Boolean-type tensors, not on "
                f"{self.dtype}; for a mask of a float tensor compare it first (e.g. ~(t > 0))"
            )
        return unary(OPS["bitwise_not"], self)

    # -- logical operations (any dtype: nonzero is true; bool results) -------------------------------
    logical_and = _logical("logical_and", "self and other, elementwise (nonzero is true): a bool tensor.")
    logical_or = _logical("logical_or", "self or other, elementwise (nonzero is true): a bool tensor.")
    logical_xor = _logical("logical_xor", "self xor other, elementwise (nonzero is true): a bool tensor.")

    def logical_not(self) -> Tensor:
        """not self, elementwise (zero is false): a bool tensor."""
        return unary(OPS["logical_not"], self)

    # -- floor division and remainder: // and % (Python's and torch's semantics) ----------------------

    def floor_divide(self, other) -> Tensor:
        """self // other: the quotient rounded down (Python's floor division, also for negative
        numbers); gradient 0. Integer division by zero raises (ZeroDivisionError); floats give +-inf
        or nan."""
        return _rounded_division(self, other, "floor_divide")

    def __floordiv__(self, other: Any) -> Tensor:
        return _rounded_division(self, other, "floor_divide")

    def __rfloordiv__(self, other: Any) -> Tensor:
        b, a = operands(self, other, "floor_divide", "no_bool")
        return _rounded_division(a, b, "floor_divide")

    def __mod__(self, other: Any) -> Tensor:
        return self.remainder(other)

    def __rmod__(self, other: Any) -> Tensor:
        b, a = operands(self, other, "remainder", "no_bool")
        return binary(OPS["remainder"], a, b)

    # -- tests of the values (bool results, no gradient) ---------------------------------------------

    def isnan(self) -> Tensor:
        """True where the value is NaN."""
        return unary(OPS["isnan"], self)

    def isinf(self) -> Tensor:
        """True where the value is +inf or -inf."""
        return unary(OPS["isinf"], self)

    def isfinite(self) -> Tensor:
        """True where the value is neither NaN nor infinite (always for integers and bools)."""
        return unary(OPS["isfinite"], self)

    def isposinf(self) -> Tensor:
        """True where the value is +inf."""
        return self.isinf() & (self > 0)

    def isneginf(self) -> Tensor:
        """True where the value is -inf."""
        return self.isinf() & (self < 0)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """|self - other| <= atol + rtol * |other| elementwise (equal values, infinities included, are
        close; NaNs are close to each other only with ``equal_nan``). The two tensors must have one
        dtype, as torch asks."""
        other = _tensor(other)
        if other.dtype != self.dtype:
            raise RuntimeError(
                f"isclose: the tensors must have the same dtype, got {self.dtype} and {other.dtype} "
                f"(torch: '{dtypes.type_name(other.dtype)} did not match "
                f"{dtypes.type_name(self.dtype)}'); "
                f"convert one first"
            )
        if rtol < 0 or atol < 0:
            which, value = ("rtol", rtol) if rtol < 0 else ("atol", atol)
            raise RuntimeError(f"isclose: {which} must be greater than or equal to zero, but got {value}")
        return _apply_broadcast(
            OPS["isclose"],
            (self, other),
            {"rtol": float(rtol), "atol": float(atol), "equal_nan": bool(equal_nan)},
            "isclose",
        )

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether every element of self is close to other's (see :meth:`isclose`): a Python bool."""
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())
