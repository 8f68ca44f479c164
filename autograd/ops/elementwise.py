"""Elementwise operations: arithmetic, unary functions, comparisons.

Rules use ``g`` (gradient of the output), ``out`` (the output), the inputs, and the functions of
:mod:`autograd.ops.fn`. Broadcasting is undone by the caller (broadcast.unbroadcast).
"""

import math

import numpy as np

from . import ELEMENTWISE, LINEAR, defop, fn, number_operand


def _sigmoid(x):
    # 1 / (1 + e^-x) without overflow: e^(-log(1 + e^-x))
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)


def _pow_exponent_grad(g, out, x, y):
    # d/dy x**y = x**y log x; 0 where x == 0 and y >= 0 (as torch), so 0**y does not make NaN
    safe = fn.where((fn.const(x) == 0) & (fn.const(y) >= 0), 1.0, x)
    return fn.where((fn.const(x) == 0) & (fn.const(y) >= 0), 0.0, g * out * fn.log(safe))


def _pow_base_grad(g, out, x, y):
    # d/dx x**y = y x**(y-1); 0 where y == 0 (as torch), so 0**0 does not make 0 * inf = NaN
    y0 = fn.const(y) == 0
    return fn.where(y0, 0.0, g * y * x ** fn.where(y0, 1.0, y - 1))


def _rpow_grad(g, out, x, c):
    if c == 0:  # log 0 = -inf times 0**x = 0 would be NaN: torch takes 0 for x >= 0
        return fn.where(fn.const(x) >= 0, 0.0, g * out * -math.inf)
    return g * out * (math.log(c) if c > 0 else math.nan)


def _power(x, y):
    """x ** y, with torch's integer semantics where numpy raises: an integer to a negative integer
    power is 0, except that 1 stays 1 and -1 alternates (as C's integer division truncates 1 / x**n)."""
    if y.dtype.kind != "i" or x.dtype.kind not in "iu" or not np.any(y < 0):
        return np.power(x, y)
    negative = y < 0
    out = np.power(x, np.where(negative, 0, y))
    unit = np.where(np.abs(y) % 2 == 1, x, np.ones_like(x))  # (+-1) ** |y|, kept for x == 1 or -1
    return np.where(negative, np.where((x == 1) | (x == -1), unit, 0), out).astype(out.dtype, copy=False)


# -- arithmetic between two tensors -----------------------------------------------------------
defop("add", np.add, lambda g, out, x, y: g, lambda g, out, x, y: g, jvp=ELEMENTWISE, doc="x + y: dx = g, dy = g")
defop(
    "sub", np.subtract, lambda g, out, x, y: g, lambda g, out, x, y: -g, jvp=ELEMENTWISE, doc="x - y: dx = g, dy = -g"
)
defop(
    "mul",
    np.multiply,
    lambda g, out, x, y: g * y,
    lambda g, out, x, y: g * x,
    jvp=ELEMENTWISE,
    doc="x * y: dx = g y, dy = g x",
)
defop(
    "div",
    np.true_divide,
    lambda g, out, x, y: g / y,
    lambda g, out, x, y: -g * out / y,
    jvp=ELEMENTWISE,
    doc="x / y: dx = g / y, dy = -g x / y**2",
)
defop(
    "pow",
    _power,
    _pow_base_grad,
    _pow_exponent_grad,
    jvp=ELEMENTWISE,
    doc="x ** y: dx = g y x**(y-1) (0 where y = 0), dy = g x**y log x",
)


def elementwise(name, forward, rule, doc):
    """An entry of one input whose gradient has exactly that input's shape and dtype (elementwise
    functions, and arithmetic with a Python number, which never changes a float tensor's dtype):
    backward then skips the broadcasting and dtype checks (Op.keeps_shape)."""
    return defop(name, forward, rule, doc=doc, keeps_shape=True)


# -- arithmetic with a Python number c (a parameter, not a node) ------------------------------
# (c as number_operand(c, x): the kept 0-d array of c in x's dtype where that gives the same bits,
# which saves numpy's conversion of the Python number on every call: on a small tensor as dear as
# the operation itself)
elementwise("add_scalar", lambda x, *, c: x + number_operand(c, x), lambda g, out, x, *, c: g, doc="x + c: dx = g")
elementwise("rsub_scalar", lambda x, *, c: c - x, lambda g, out, x, *, c: -g, doc="c - x: dx = -g")
elementwise(
    "mul_scalar",
    lambda x, *, c: x * number_operand(c, x),
    lambda g, out, x, *, c: g * number_operand(c, g),
    doc="x * c: dx = g c",
)
elementwise(
    "div_scalar",
    lambda x, *, c: x / number_operand(c, x),
    lambda g, out, x, *, c: g / number_operand(c, g),
    doc="x / c: dx = g / c",
)
elementwise("rdiv_scalar", lambda x, *, c: c / x, lambda g, out, x, *, c: -g * out / x, doc="c / x: dx = -g c / x**2")
elementwise(
    "pow_scalar",
    lambda x, *, c: x**c,
    lambda g, out, x, *, c: g * c * x ** (c - 1) if c != 0 else g * 0.0,
    doc="x ** c: dx = g c x**(c-1)",
)
elementwise(
    "rpow_scalar",
    lambda x, *, c: _power(np.asarray(c, x.dtype), x) if x.dtype.kind == "i" else c**x,
    lambda g, out, x, *, c: _rpow_grad(g, out, x, c),
    doc="c ** x: dx = g c**x log c (0 where c = 0 and x >= 0, as torch)",
)


# -- unary ------------------------------------------------------------------------------------
def _relu(x):
    return np.maximum(x, 0)


elementwise("neg", np.negative, lambda g, out, x: -g, doc="-x: dx = -g")
elementwise("exp", np.exp, lambda g, out, x: g * out, doc="e**x: dx = g e**x")
elementwise("log", np.log, lambda g, out, x: g / x, doc="log x: dx = g / x")
elementwise("sqrt", np.sqrt, lambda g, out, x: g / (2 * out), doc="sqrt x: dx = g / (2 sqrt x) (inf at 0)")
elementwise("abs", np.abs, lambda g, out, x: g * fn.sign(x), doc="|x|: dx = g sign(x)")
elementwise("sin", np.sin, lambda g, out, x: g * fn.cos(x), doc="sin x: dx = g cos x")
elementwise("cos", np.cos, lambda g, out, x: -g * fn.sin(x), doc="cos x: dx = -g sin x")
elementwise("tanh", np.tanh, lambda g, out, x: g * (1 - out * out), doc="tanh x: dx = g (1 - tanh(x)**2)")
elementwise("sigmoid", _sigmoid, lambda g, out, x: g * out * (1 - out), doc="s = 1/(1+e**-x): dx = g s (1 - s)")
elementwise("relu", _relu, lambda g, out, x: g * (fn.const(x) > 0), doc="max(0, x): dx = g [x > 0]")
elementwise("sign", np.sign, lambda g, out, x: g * 0, doc="sign x: dx = 0")

# -- comparisons: boolean results, no gradient ------------------------------------------------
for _name, _f in (
    ("lt", np.less),
    ("le", np.less_equal),
    ("gt", np.greater),
    ("ge", np.greater_equal),
    ("eq", np.equal),
    ("ne", np.not_equal),
):
    defop(_name, _f, None, None, doc=f"{_name} comparison: boolean, no gradient")

# -- selection and copies -----------------------------------------------------------------------
defop(
    "where",
    lambda c, a, b: np.where(c, a, b),
    None,
    lambda g, out, c, a, b: fn.where(c, g, 0.0),
    lambda g, out, c, a, b: fn.where(c, 0.0, g),
    jvp=ELEMENTWISE,
    doc="where(c, a, b): da = g where c, db = g where not c",
)
elementwise(
    "alias",
    lambda x: x.view(),
    lambda g, out, x: g,
    doc="the same values, a view (make_dual's and unpack_dual's primal): dx = g",
)
elementwise("clone", lambda x: x.copy(), lambda g, out, x: g, doc="copy: dx = g")
defop(
    "cast",
    lambda x, *, dtype: x.astype(dtype),
    lambda g, out, x, *, dtype: g,
    jvp=LINEAR,
    doc="dtype conversion: dx = g (converted back to x's dtype)",
)


# -- elementwise extremes and clamping ------------------------------------------------------------
def _extreme_weights(a, b, loses):
    """torch's split of the gradient of maximum/minimum: 1/2 to each side of a tie, 0 to the loser."""
    a, b = fn.const(a), fn.const(b)
    return np.where(a == b, 0.5, 1.0).astype(a.dtype, copy=False) * ~loses(a, b)


defop(
    "maximum",
    np.maximum,
    lambda g, out, a, b: g * _extreme_weights(a, b, np.less),
    lambda g, out, a, b: g * _extreme_weights(a, b, np.greater),
    jvp=ELEMENTWISE,
    doc="max(a, b) elementwise: da = g [a > b], db = g [b > a], g/2 each on ties",
)
defop(
    "minimum",
    np.minimum,
    lambda g, out, a, b: g * _extreme_weights(a, b, np.greater),
    lambda g, out, a, b: g * _extreme_weights(a, b, np.less),
    jvp=ELEMENTWISE,
    doc="min(a, b) elementwise: da = g [a < b], db = g [b < a], g/2 each on ties",
)


def _inside(x, lo, hi):
    """[lo <= x <= hi] as a constant mask (a missing bound is no constraint)."""
    x = fn.const(x)
    mask = np.ones(x.shape, dtype=bool)
    if lo is not None:
        mask = mask & (x >= fn.const(lo))  # (not &=: a tensor bound may broadcast x up)
    if hi is not None:
        mask = mask & (x <= fn.const(hi))
    return mask


defop(
    "clamp",
    lambda x, *, min, max: np.asarray(np.clip(x, min, max)),
    lambda g, out, x, *, min, max: g * _inside(x, min, max),
    jvp=ELEMENTWISE,
    doc="clamp(x, min, max) with number bounds: dx = g [min <= x <= max]",
)
defop(
    "clamp_tensor",
    lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
    lambda g, out, x, lo, hi: g * _inside(x, lo, hi),
    lambda g, out, x, lo, hi: g * ((fn.const(x) < fn.const(lo)) & (fn.const(lo) < fn.const(hi))),
    lambda g, out, x, lo, hi: g * ((fn.const(x) > fn.const(hi)) | (fn.const(hi) < fn.const(lo))),
    jvp=ELEMENTWISE,
    doc="min(max(x, lo), hi) with tensor bounds: dx = g [lo <= x <= hi], dlo = g [x < lo < hi], "
    "dhi = g [x > hi or hi < lo]",
)
