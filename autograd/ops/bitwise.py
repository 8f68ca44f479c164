"""Integer, boolean and bitwise operations: logical and bitwise and/or/xor/not, shifts, division
rounded to an integer (``//`` and ``div(rounding_mode=...)``), isnan/isinf/isfinite/isclose.

None of them has a gradient but the rounded division (0, as torch's). The Tensor methods check the
dtypes (bitwise operations on integer and bool tensors only) and promote the operands to one dtype
before an entry runs. Each entry declares its form, ELEMENTWISE (each output element depends on the
same element of each broadcast input): without a gradient there is no JVP to derive from it, but
vmap batches such an entry by broadcasting (autograd/vmap.py).
"""

from __future__ import annotations

import numpy as np

from . import ELEMENTWISE, defop, fn
from .special import check_divisor

# -- logical operations: any dtype in (nonzero is true), bool out -------------------------------------
_f: np.ufunc
for _name, _f in (("logical_and", np.logical_and), ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)):
    defop(_name, _f, None, None, jvp=ELEMENTWISE, doc=f"{_name}: boolean, no gradient")
defop("logical_not", np.logical_not, None, jvp=ELEMENTWISE, doc="logical_not: boolean, no gradient")

# -- bitwise operations and shifts: integer (and bool) tensors --------------------------------------------
for _name, _f in (
    ("bitwise_and", np.bitwise_and),
    ("bitwise_or", np.bitwise_or),
    ("bitwise_xor", np.bitwise_xor),
    ("bitwise_left_shift", np.left_shift),
    ("bitwise_right_shift", np.right_shift),
):
    # (numpy's shifts are torch's: a shift by the width of the type or more, or by a negative
    # count, gives 0, and -1 for a negative number shifted right)
    defop(_name, _f, None, None, jvp=ELEMENTWISE, doc=f"{_name}: integer, no gradient")
defop(
    "bitwise_not", np.invert, None, jvp=ELEMENTWISE, doc="bitwise_not (~x; logical not of bools): integer, no gradient"
)

# -- tests of floating values: bool out --------------------------------------------------------------------
defop("isnan", np.isnan, None, jvp=ELEMENTWISE, doc="isnan: boolean, no gradient")
defop("isinf", np.isinf, None, jvp=ELEMENTWISE, doc="isinf: boolean, no gradient")
defop("isfinite", np.isfinite, None, jvp=ELEMENTWISE, doc="isfinite: boolean, no gradient")


def _isclose(a, b, *, rtol, atol, equal_nan):
    """|a - b| <= atol + rtol |b| (torch's and numpy's definition), or a == b (equal infinities)."""
    close = a == b
    if a.dtype.kind == "b" or (rtol == 0 and atol == 0):
        return close
    if equal_nan and a.dtype.kind == "f":
        close |= np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, and integer differences that wrap (as torch)
        error = np.abs(a - b)
        close |= np.isfinite(error) & (error <= atol + rtol * np.abs(b))
    return close


defop("isclose", _isclose, None, None, jvp=ELEMENTWISE, doc="isclose: boolean, no gradient")


# -- division rounded to an integer -----------------------------------------------------------------------
def _truncating_divide(a, b):
    """a / b rounded toward 0, for integers (C's division): the floor quotient, plus 1 where it
    rounded a negative inexact quotient down."""
    q = np.floor_divide(a, b)
    return q + ((q < 0) & (q * b != a))


def _div_rounded(a, b, *, rounding_mode):
    check_divisor(b, f"div(rounding_mode={rounding_mode!r})")
    if a.dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):  # x / 0: +-inf or nan, as torch
            return np.floor_divide(a, b) if rounding_mode == "floor" else np.trunc(a / b)
    if rounding_mode == "floor":
        return np.floor_divide(a, b)
    return _truncating_divide(a, b).astype(np.result_type(a, b), copy=False)


def _zero(g, out, a, b, *, rounding_mode):
    return fn.zeros_like(g)


defop(
    "div_rounded",
    _div_rounded,
    _zero,
    _zero,
    jvp=ELEMENTWISE,
    doc="a / b rounded down ('floor', Python's //) or toward 0 ('trunc'): da = 0, db = 0 (a step function)",
)
