"""Elementwise methods: arithmetic (``add(alpha=)``, ``div(rounding_mode=)``...), unary functions
(the basics and the catalogue's special functions, trigonometry and rounding), functions of two
tensors (atan2, fmod, remainder, copysign, hypot, lerp, xlogy, logaddexp), comparisons, elementwise
extremes and clamping; ``where``, the elementwise choice; and torch's dtype rules for the operands
of the catalogue's operations (:func:`operands`)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes
from ..ops import OPS
from ..tensor import apply, as_tensor, binary, is_tensor, make, operand, to_array, unary
from .base import TensorMixin

if TYPE_CHECKING:
    from ..tensor import Tensor

_NUMBERS = (int, float, builtins.bool)


def _not_implemented(name, dtype, why):
    """torch's error for an operation that has no kernel for ``dtype`` ("not implemented for 'Float'")."""
    return NotImplementedError(
        f"\"{name}\" not implemented for '{dtypes.type_name(dtype)}' (ag.{dtype} tensors): {why}"
    )


# what each kind of operation accepts, after promotion: (refused dtype kinds, why)
_REFUSED = {
    "float_only": ("biu", "it needs floating tensors; convert them with .float() or .double()"),
    "no_bool": ("b", "it needs numbers, not bools; convert with .long() (or .float())"),
    "integer": ("f", "bitwise operations need integer or bool tensors"),
    "shift": ("fb", "shifts need integer tensors"),
}


def operands(a, b, name, kind="any"):
    """``a`` (a Tensor) and ``b`` (a Tensor, a Python number, an array or a list) as Tensors of one
    dtype, by torch's promotion: across categories (bool < integer < floating) the higher wins; a
    Python number never changes a tensor's dtype within its category (float32 + 2.5 is float32).
    ``kind``: "any"; "float" (integer and bool operands give the default float dtype, as torch's
    float functions); or one of the refusals of _REFUSED (torch's NotImplementedError, naming the
    operation and the dtype)."""
    if is_tensor(b):
        dt = a.dtype if a.dtype == b.dtype else dtypes.result_type(a.data, b.data)
    elif b.__class__ in _NUMBERS:
        dt = dtypes.scalar_result_type(a.dtype, b)
        b = make(np.asarray(b, dtype=dt))
    else:
        b = as_tensor(b)
        dt = a.dtype if a.dtype == b.dtype else dtypes.result_type(a.data, b.data)
    if kind == "float":
        if dt.kind != "f":
            dt = dtypes.get_default_dtype()
    elif kind != "any":
        refused, why = _REFUSED[kind]
        if dt.kind in refused:
            raise _not_implemented(name, dt, why)
    return (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))


def _float_function(name, doc):
    """The method of the unary op ``name``, computed in floating point: integer and bool tensors
    give the default float dtype (as torch's float functions)."""
    op = OPS[name]

    def method(self):
        return unary(op, self if self.dtype.kind == "f" else self.to(dtypes.get_default_dtype()))

    method.__name__ = name
    method.__qualname__ = f"ElementwiseMethods.{name}"
    method.__doc__ = doc
    return method


def _rounding_function(name, doc):
    """The method of the rounding op ``name``: integers are already rounded (a copy, as torch);
    bool tensors are refused, as torch."""
    op = OPS[name]

    def method(self):
        if self.dtype.kind == "b":
            raise _not_implemented(name, self.dtype, "convert the bool tensor with .long() or .float() first")
        return unary(op, self)

    method.__name__ = name
    method.__qualname__ = f"ElementwiseMethods.{name}"
    method.__doc__ = doc
    return method


def _scaled(self, other, alpha, name):
    """alpha * other for add/sub (other itself for alpha = 1); a floating alpha is refused where the
    result is an integer tensor, as torch."""
    if alpha == 1 and not isinstance(alpha, float):
        return other
    if not (is_tensor(other) or other.__class__ in _NUMBERS):
        other = as_tensor(other)
    if isinstance(alpha, float) and self.dtype.kind != "f":
        other_kind = other.dtype.kind if is_tensor(other) else ("f" if isinstance(other, float) else "i")
        if other_kind != "f":
            raise RuntimeError(
                f"{name}: for integral input tensors, argument alpha must not be a floating point "
                f"number (got alpha={alpha} with a {self.dtype} tensor)"
            )
    return other * alpha


class ElementwiseMethods(TensorMixin):
    __slots__ = ()

    def exp(self) -> Tensor:
        """e ** x."""
        return unary(OPS["exp"], self)

    def log(self) -> Tensor:
        """The natural logarithm."""
        return unary(OPS["log"], self)

    def sqrt(self) -> Tensor:
        """x ** 0.5."""
        return unary(OPS["sqrt"], self)

    def abs(self) -> Tensor:
        """|x|."""
        return unary(OPS["abs"], self)

    def __abs__(self) -> Tensor:
        return self.abs()

    def where(self, condition: Tensor, y: Tensor | float) -> Tensor:
        """``self`` where ``condition`` else ``y``: ``ag.where(condition, self, y)`` (torch's method form)."""
        return where(condition, self, y)

    def sin(self) -> Tensor:
        """sin x."""
        return unary(OPS["sin"], self)

    def cos(self) -> Tensor:
        """cos x."""
        return unary(OPS["cos"], self)

    def tanh(self) -> Tensor:
        """tanh x."""
        return unary(OPS["tanh"], self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e ** -x), computed without overflow."""
        return unary(OPS["sigmoid"], self)

    def relu(self) -> Tensor:
        """max(x, 0)."""
        return unary(OPS["relu"], self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of x (no gradient: its derivative is 0 almost everywhere)."""
        return unary(OPS["sign"], self)

    # -- comparisons (boolean, no gradient) ------------------------------------------------------

    def _compare(self, name, other):
        other = other if is_tensor(other) else make(to_array(np.asarray(other), copy=False))
        return binary(OPS[name], self, other)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare("ge", other)

    def __eq__(self, other):
        return self._compare("eq", other)

    def __ne__(self, other):
        return self._compare("ne", other)

    # -- extremes and clamping -------------------------------------------------------------------

    def maximum(self, other: Tensor | float) -> Tensor:
        """Elementwise max(self, other); the gradient of a tie goes half to each side (as torch)."""
        return binary(OPS["maximum"], self, operand(other))

    def minimum(self, other: Tensor | float) -> Tensor:
        """Elementwise min(self, other); the gradient of a tie goes half to each side (as torch)."""
        return binary(OPS["minimum"], self, operand(other))

    def clamp(self, min: Tensor | float | None = None, max: Tensor | float | None = None) -> Tensor:
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

    def clip(self, min: Tensor | float | None = None, max: Tensor | float | None = None) -> Tensor:
        """Alias of :meth:`clamp`."""
        return self.clamp(min, max)

    # -- arithmetic as methods (torch's signatures) ----------------------------------------------

    def add(self, other: Tensor | float, *, alpha: float = 1) -> Tensor:
        """self + alpha * other (other a Tensor or a number; broadcast)."""
        return self + _scaled(self, other, alpha, "add")

    def sub(self, other: Tensor | float, *, alpha: float = 1) -> Tensor:
        """self - alpha * other (other a Tensor or a number; broadcast)."""
        if self.dtype.kind == "b" and is_tensor(other) and other.dtype.kind == "b":
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
        return self - _scaled(self, other, alpha, "sub")

    subtract = sub

    def mul(self, other: Tensor | float) -> Tensor:
        """self * other (other a Tensor or a number; broadcast)."""
        return self * other

    multiply = mul

    def div(self, other: Tensor | float, *, rounding_mode: str | None = None) -> Tensor:
        """self / other: true division (integers give the default float dtype), or with
        ``rounding_mode`` 'trunc' (toward 0, C's integer division) or 'floor' (down, Python's //).
        A rounded quotient has gradient 0; integer division by zero raises (ZeroDivisionError)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
            )
        a, b = operands(self, other, "div", "no_bool")
        return _apply_broadcast(OPS["div_rounded"], (a, b), {"rounding_mode": rounding_mode}, "div")

    divide = div

    def true_divide(self, other: Tensor | float) -> Tensor:
        """self / other (true division: integers give the default float dtype)."""
        return self / other

    def neg(self) -> Tensor:
        """-self (not for bool tensors: use ~ or logical_not, as torch says)."""
        if self.dtype.kind == "b":
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                "invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return unary(OPS["neg"], self)

    negative = neg

    # -- special functions, powers, trigonometry (integer and bool tensors give floats) ------------
    erf = _float_function("erf", "The error function 2/sqrt(pi) int_0^x e^(-t^2) dt.")
    erfc = _float_function("erfc", "1 - erf(x), accurate where erf(x) is close to 1.")
    erfinv = _float_function("erfinv", "The inverse of erf on (-1, 1) (+-inf at +-1, nan outside).")
    exp2 = _float_function("exp2", "2 ** x.")
    expm1 = _float_function("expm1", "e ** x - 1, accurate near 0.")
    log2 = _float_function("log2", "The base-2 logarithm.")
    log10 = _float_function("log10", "The base-10 logarithm.")
    log1p = _float_function("log1p", "log(1 + x), accurate near 0.")
    rsqrt = _float_function("rsqrt", "1 / sqrt(x).")
    reciprocal = _float_function("reciprocal", "1 / x.")
    tan = _float_function("tan", "tan x.")
    asin = arcsin = _float_function("asin", "The inverse sine, in [-pi/2, pi/2] (nan outside [-1, 1]).")
    acos = arccos = _float_function("acos", "The inverse cosine, in [0, pi] (nan outside [-1, 1]).")
    atan = arctan = _float_function("atan", "The inverse tangent, in (-pi/2, pi/2).")
    sinh = _float_function("sinh", "The hyperbolic sine.")
    cosh = _float_function("cosh", "The hyperbolic cosine.")
    asinh = arcsinh = _float_function("asinh", "The inverse hyperbolic sine.")
    acosh = arccosh = _float_function("acosh", "The inverse hyperbolic cosine (x >= 1; nan below).")
    atanh = arctanh = _float_function("atanh", "The inverse hyperbolic tangent (+-inf at +-1, nan outside).")

    def square(self) -> Tensor:
        """self * self (integers stay integers; bool gives int64, as torch)."""
        return unary(OPS["square"], self)

    # -- rounding (gradient 0; integer tensors are returned as copies) ------------------------------
    floor = _rounding_function("floor", "The largest integer <= x (gradient 0).")
    ceil = _rounding_function("ceil", "The smallest integer >= x (gradient 0).")
    trunc = fix = _rounding_function("trunc", "x rounded toward 0 (gradient 0).")

    def round(self, *, decimals: int = 0) -> Tensor:
        """x rounded half to even, at ``decimals`` decimal places (negative: tens, hundreds...); gradient 0."""
        if self.dtype.kind in "bui" and (decimals != 0 or self.dtype.kind == "b"):
            raise _not_implemented(
                "round", self.dtype, "round integer tensors without decimals, or convert them with .float() first"
            )
        if decimals == 0:
            return unary(OPS["round"], self)
        return apply(OPS["round"], (self,), {"decimals": int(decimals)})

    def frac(self) -> Tensor:
        """x - trunc(x), the fractional part with the sign of x (gradient 1)."""
        if self.dtype.kind != "f":
            raise _not_implemented("frac", self.dtype, "it needs floating tensors; convert with .float()")
        return unary(OPS["frac"], self)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
        dtype's largest and lowest finite values); integer and bool tensors are copied. The gradient
        is 0 at the replaced values."""
        return apply(OPS["nan_to_num"], (self,), {"nan": nan, "posinf": posinf, "neginf": neginf})

    # -- functions of two tensors (broadcast; torch's dtype promotion) --------------------------------

    def atan2(self, other: Tensor | float) -> Tensor:
        """The angle of the point (other, self) in (-pi, pi], elementwise (integers give floats)."""
        return binary(OPS["atan2"], *operands(self, other, "atan2", "float"))

    arctan2 = atan2

    def logaddexp(self, other: Tensor | float) -> Tensor:
        """log(e ** self + e ** other), without overflow (floating tensors)."""
        return binary(OPS["logaddexp"], *operands(self, other, "logaddexp", "float_only"))

    def hypot(self, other: Tensor | float) -> Tensor:
        """sqrt(self ** 2 + other ** 2), without overflow (floating tensors)."""
        return binary(OPS["hypot"], *operands(self, other, "hypot", "float_only"))

    def copysign(self, other: Tensor | float) -> Tensor:
        """|self| with the sign of other (its sign bit: -0.0 counts as negative); integers give floats."""
        return binary(OPS["copysign"], *operands(self, other, "copysign", "float"))

    def xlogy(self, other: Tensor | float) -> Tensor:
        """self * log(other), and 0 where self is 0 (unless other is NaN); integers give floats."""
        return binary(OPS["xlogy"], *operands(self, other, "xlogy", "float"))

    def fmod(self, other: Tensor | float) -> Tensor:
        """self - trunc(self / other) * other: the remainder with the sign of self (C's fmod).
        Integer division by zero raises (ZeroDivisionError); floats give nan."""
        return binary(OPS["fmod"], *operands(self, other, "fmod", "no_bool"))

    def remainder(self, other: Tensor | float) -> Tensor:
        """self - floor(self / other) * other: the remainder with the sign of other (Python's %).
        Integer division by zero raises (ZeroDivisionError); floats give nan."""
        return binary(OPS["remainder"], *operands(self, other, "remainder", "no_bool"))

    def lerp(self, end: Tensor, weight: Tensor | float) -> Tensor:
        """self + weight * (end - self): linear interpolation (weight a number or a Tensor; broadcast).
        As torch, ``end`` and a tensor ``weight`` must have self's dtype, a floating one."""
        end_t = operand(end)
        weight_t = make(np.asarray(weight, dtype=self.dtype)) if weight.__class__ in _NUMBERS else operand(weight)
        for what, t in (("end", end_t), ("weight", weight_t)):
            if t.dtype != self.dtype:
                raise RuntimeError(
                    f"lerp: expected dtype {self.dtype} for `{what}` but got dtype {t.dtype}; "
                    f"convert it first (e.g. {what}.to(x.dtype))"
                )
        if self.dtype.kind != "f":
            raise _not_implemented("lerp", self.dtype, _REFUSED["float_only"][1])
        return _apply_broadcast(OPS["lerp"], (self, end_t, weight_t), None, "lerp")


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
        raise ValueError(
            f"clamp: the bounds' shapes {lo.shape} and {hi.shape} do not broadcast with the tensor's shape {x.shape}"
        ) from None


def where(condition, a=None, b=None):
    """``a`` where ``condition`` else ``b`` (elementwise, broadcasting); differentiable in a and b.

    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``, as in torch."""
    cond = condition if is_tensor(condition) else make(np.asarray(condition))
    if a is None and b is None:
        return cond.nonzero(as_tuple=True)
    if a is None or b is None:
        raise TypeError("where: give both a and b (or neither, for the indices where condition is true)")
    if cond.dtype != np.bool_:
        cond = cond.to(np.bool_)
    # a Python number beside a tensor takes its dtype where their category allows (torch's weak
    # scalars: where(c, 1.0507, x) of a float64 x is exact, not rounded to the default float32)
    if a.__class__ in _NUMBERS and is_tensor(b):
        a = make(np.asarray(a, dtype=dtypes.scalar_result_type(b.dtype, a)))
    elif b.__class__ in _NUMBERS and is_tensor(a):
        b = make(np.asarray(b, dtype=dtypes.scalar_result_type(a.dtype, b)))
    a = a if is_tensor(a) else make(to_array(a, copy=False))
    b = b if is_tensor(b) else make(to_array(b, copy=False))
    if a.dtype != b.dtype:
        dt = dtypes.result_type(a.data, b.data)
        a = a if a.dtype == dt else a.to(dt)
        b = b if b.dtype == dt else b.to(dt)
    return apply(OPS["where"], (cond, a, b))


def _apply_broadcast(op, inputs, params, name):
    """apply(op, inputs, params), with an error naming the shapes that do not broadcast."""
    try:
        return apply(op, inputs, params)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        shapes = " and ".join(str(tuple(t.shape)) for t in inputs)
        raise ValueError(f"{name}: shapes {shapes} do not broadcast (numpy broadcasting rules)") from None
