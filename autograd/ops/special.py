"""Elementwise special functions and rounding beyond the basics: erf and friends, exp2/expm1/log2/log10/log1p,
trigonometric and hyperbolic functions and their inverses, floor/ceil/round/trunc/frac, fmod/remainder,
copysign, hypot, lerp, xlogy, logaddexp, atan2, nan_to_num.

Rules follow the table's contract (see autograd/ops/__init__.py): written once for ndarrays and for
Tensors (under create_graph), with the functions of :mod:`autograd.ops.fn` and the few dispatching
helpers below. Where a derivative has a kink or a pole, the value at it is torch's (documented in
each entry). Inputs arrive with one dtype: the Tensor methods promote them first (torch's rules).
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from . import ELEMENTWISE, OPS, defop, fn
from .elementwise import _sigmoid, elementwise

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class IntegerDivisionByZero(RuntimeError, ZeroDivisionError):
    """An integer division (``//``, ``%``, fmod, div with a rounding mode) by zero. torch raises a
    RuntimeError whose message is 'ZeroDivisionError'; this is both, so either ``except`` catches it."""


def check_divisor(y, name):
    """Raise IntegerDivisionByZero when the integer divisor ``y`` holds a zero (numpy would give 0)."""
    if y.dtype.kind in "iub" and not y.all():
        raise IntegerDivisionByZero(
            f"ZeroDivisionError: integer division by zero in {name} (a {y.dtype} divisor "
            f"holds 0); floating tensors give inf or nan instead"
        )


def _method(name, np_fn):
    """A function for rules: numpy's ``np_fn`` on arrays, the Tensor method ``name`` on Tensors."""

    def f(x):
        return getattr(x, name)() if fn._is_tensor(x) else np_fn(x)

    f.__name__ = name
    return f


_sinh = _method("sinh", np.sinh)
_cosh = _method("cosh", np.cosh)
_isfinite = _method("isfinite", np.isfinite)


def _sigmoid_of(x):
    return x.sigmoid() if fn._is_tensor(x) else _sigmoid(x)


def _scipy(name, fallback):
    """scipy.special's ``name`` (vectorised C) on first use, or ``fallback`` without scipy; the
    result has the input's dtype. scipy is imported when first needed, not with autograd (it alone
    would double the import's memory)."""
    impl: list[Any] = []

    def run(x):
        if not impl:
            try:
                impl.append(getattr(importlib.import_module("scipy.special"), name))
            except ImportError:  # pragma: no cover - depends on the environment
                impl.append(fallback)
        return np.asarray(impl[0](x)).astype(x.dtype, copy=False)

    run.__name__ = name
    return run


def _python(f):
    """A math-module function elementwise, in float64 (the fallbacks when scipy is not installed)."""
    scalar = np.frompyfunc(f, 1, 1)

    def run(x):
        return np.asarray(scalar(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    return run


def erfinv_python(y):
    """erfinv without scipy: Winitzki's closed-form estimate (relative error ~2e-3), then three
    Halley steps on erf(x) - y (cubic convergence: float64 accuracy); +-inf at +-1, nan outside."""
    y = np.asarray(y, dtype=np.float64)
    inside = np.abs(y) < 1
    v = np.where(inside, y, 0.0)
    a = 0.147
    ln = np.log1p(-v * v)
    t = 2.0 / (math.pi * a) + ln / 2.0
    x = np.sign(v) * np.sqrt(np.sqrt(t * t - ln / a) - t)
    erf = _python(math.erf)
    for _ in range(3):
        f = erf(x) - v
        x = x - f / (_TWO_OVER_SQRT_PI * np.exp(-x * x) + x * f)
    edge = np.where(np.abs(y) == 1, np.copysign(np.inf, y), np.nan)
    return np.where(inside, x, edge)


_erf = _scipy("erf", _python(math.erf))
_erfc = _scipy("erfc", _python(math.erfc))
_erfinv = _scipy("erfinv", erfinv_python)


def _zero(g, out, x, **params):
    """The derivative of a step function (floor, round...): 0, as torch (zeros, even where g is inf or nan)."""
    return fn.zeros_like(g)


# -- the error function and exponentials and logarithms to other bases ----------------------------
elementwise(
    "erf", _erf, lambda g, out, x: g * fn.exp(-(x * x)) * _TWO_OVER_SQRT_PI, doc="erf x: dx = g 2/sqrt(pi) e^(-x^2)"
)
elementwise(
    "erfc",
    _erfc,
    lambda g, out, x: g * fn.exp(-(x * x)) * -_TWO_OVER_SQRT_PI,
    doc="erfc x = 1 - erf x: dx = -g 2/sqrt(pi) e^(-x^2)",
)
elementwise(
    "erfinv",
    _erfinv,
    lambda g, out, x: g * fn.exp(out * out) * _SQRT_PI_OVER_2,
    doc="erfinv x: dx = g sqrt(pi)/2 e^(erfinv(x)^2) (inf at +-1)",
)
elementwise("exp2", np.exp2, lambda g, out, x: g * out * _LN2, doc="2^x: dx = g 2^x log 2")
elementwise("expm1", np.expm1, lambda g, out, x: g * (out + 1), doc="e^x - 1, exact near 0: dx = g e^x")
elementwise("log2", np.log2, lambda g, out, x: g / (x * _LN2), doc="log2 x: dx = g / (x log 2)")
elementwise("log10", np.log10, lambda g, out, x: g / (x * _LN10), doc="log10 x: dx = g / (x log 10)")
elementwise("log1p", np.log1p, lambda g, out, x: g / (x + 1), doc="log(1 + x), exact near 0: dx = g / (1 + x)")


# -- powers -----------------------------------------------------------------------------------------
def _rsqrt(x):
    with np.errstate(divide="ignore"):  # 1 / sqrt 0 = inf, as torch
        return 1 / np.sqrt(x)


elementwise(
    "rsqrt",
    _rsqrt,
    lambda g, out, x: g * out * out * out * -0.5,
    doc="1 / sqrt x: dx = -g / (2 x^(3/2)) = -g rsqrt(x)^3 / 2 (-inf at 0)",
)
elementwise("reciprocal", np.reciprocal, lambda g, out, x: -g * out * out, doc="1 / x: dx = -g / x^2")


def _square(x):
    return np.square(x.astype(np.int64) if x.dtype.kind == "b" else x)  # (bools square to int64, as torch)


elementwise("square", _square, lambda g, out, x: g * x * 2, doc="x^2: dx = 2 g x")

# -- trigonometric and hyperbolic functions and their inverses ------------------------------------------
elementwise("tan", np.tan, lambda g, out, x: g * (out * out + 1), doc="tan x: dx = g (1 + tan(x)^2)")
elementwise(
    "asin", np.arcsin, lambda g, out, x: g / fn.sqrt(1 - x * x), doc="asin x: dx = g / sqrt(1 - x^2) (inf at +-1)"
)
elementwise(
    "acos", np.arccos, lambda g, out, x: -g / fn.sqrt(1 - x * x), doc="acos x: dx = -g / sqrt(1 - x^2) (-inf at +-1)"
)
elementwise("atan", np.arctan, lambda g, out, x: g / (x * x + 1), doc="atan x: dx = g / (1 + x^2)")
elementwise("sinh", np.sinh, lambda g, out, x: g * _cosh(x), doc="sinh x: dx = g cosh x")
elementwise("cosh", np.cosh, lambda g, out, x: g * _sinh(x), doc="cosh x: dx = g sinh x")
elementwise("asinh", np.arcsinh, lambda g, out, x: g / fn.sqrt(x * x + 1), doc="asinh x: dx = g / sqrt(x^2 + 1)")
elementwise(
    "acosh",
    np.arccosh,
    lambda g, out, x: g / fn.sqrt(x * x - 1),
    doc="acosh x (x >= 1): dx = g / sqrt(x^2 - 1) (inf at 1)",
)
elementwise("atanh", np.arctanh, lambda g, out, x: g / (1 - x * x), doc="atanh x: dx = g / (1 - x^2) (inf at +-1)")


# -- rounding: step functions, whose derivative is 0 (as torch) ------------------------------------------
def _keep_integers(f):
    """``f`` on floating arrays; integers are already rounded (a copy of the same dtype, as torch)."""

    def run(x):
        return x.copy() if x.dtype.kind in "iu" else f(x)

    run.__name__ = f.__name__
    return run


def _round(x, *, decimals=0):
    """Half to even at ``decimals`` places (as torch: rint(x 10^d) / 10^d; negative d: tens, hundreds...)."""
    return x.copy() if x.dtype.kind in "iu" else np.round(x, decimals)


elementwise("floor", _keep_integers(np.floor), _zero, doc="the largest integer <= x: dx = 0")
elementwise("ceil", _keep_integers(np.ceil), _zero, doc="the smallest integer >= x: dx = 0")
elementwise("trunc", _keep_integers(np.trunc), _zero, doc="x rounded toward 0: dx = 0")
elementwise("round", _round, _zero, doc="x rounded half to even (at decimals places): dx = 0")
elementwise("frac", lambda x: x - np.trunc(x), lambda g, out, x: g, doc="x - trunc(x): dx = g")


def _nan_to_num(x, *, nan, posinf, neginf):
    return np.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)


elementwise(
    "nan_to_num",
    _nan_to_num,
    lambda g, out, x, **values: g * _isfinite(fn.const(x)),
    doc="nan, +inf, -inf replaced by numbers: dx = g where x is finite, 0 where it was replaced",
)


# -- functions of two tensors (broadcast; one dtype) -------------------------------------------------------
defop(
    "logaddexp",
    np.logaddexp,
    lambda g, out, a, b: g * _sigmoid_of(a - b),
    lambda g, out, a, b: g * _sigmoid_of(b - a),
    jvp=ELEMENTWISE,
    doc="log(e^a + e^b) without overflow: da = g sigmoid(a - b), db = g sigmoid(b - a)",
)


def _atan2_denominator(a, b):
    # a^2 + b^2, with 1 where it is 0: torch's gradient at the origin is 0
    r = a * a + b * b
    return fn.where(fn.const(r) == 0, 1.0, r)


defop(
    "atan2",
    np.arctan2,
    lambda g, out, a, b: g * b / _atan2_denominator(a, b),
    lambda g, out, a, b: -g * a / _atan2_denominator(a, b),
    jvp=ELEMENTWISE,
    doc="the angle of (b, a): da = g b / (a^2 + b^2), db = -g a / (a^2 + b^2) (0 at the origin)",
)


def _fmod(a, b):
    check_divisor(b, "fmod")
    with np.errstate(divide="ignore", invalid="ignore"):  # fmod(x, 0) = nan, as torch
        return np.fmod(a, b)


def _remainder(a, b):
    check_divisor(b, "remainder")
    with np.errstate(divide="ignore", invalid="ignore"):  # remainder(x, 0) = nan, as torch
        return np.remainder(a, b)


def _quotient(a, b, rounding):
    """a / b rounded (a constant: the derivative of a rounded quotient is 0)."""
    a, b = fn.const(a), fn.const(b)
    if fn._is_tensor(a):
        return a.div(b, rounding_mode=rounding)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(a, b) if rounding == "floor" else np.trunc(a / b)


defop(
    "fmod",
    _fmod,
    lambda g, out, a, b: g,
    lambda g, out, a, b: -g * _quotient(a, b, "trunc"),
    jvp=ELEMENTWISE,
    doc="a - trunc(a / b) b (the sign of a, C's fmod): da = g, db = -g trunc(a / b)",
)
defop(
    "remainder",
    _remainder,
    lambda g, out, a, b: g,
    lambda g, out, a, b: -g * _quotient(a, b, "floor"),
    jvp=ELEMENTWISE,
    doc="a - floor(a / b) b (the sign of b, Python's %): da = g, db = -g floor(a / b)",
)


def _copysign_slope(x, out):
    # d|x| sign(b) / dx = sign(x) sign(out): +-1, and 0 at x = 0 (as torch)
    return fn.sign(fn.const(x)) * fn.sign(fn.const(out))


defop(
    "copysign",
    np.copysign,
    lambda g, out, a, b: g * _copysign_slope(a, out),
    lambda g, out, a, b: fn.zeros_like(g),
    jvp=ELEMENTWISE,
    doc="|a| with the sign of b: da = g sign(a) sign(out) (0 at a = 0), db = 0",
)
defop(
    "hypot",
    np.hypot,
    lambda g, out, a, b: g * a / out,
    lambda g, out, a, b: g * b / out,
    jvp=ELEMENTWISE,
    doc="sqrt(a^2 + b^2) without overflow: da = g a / out, db = g b / out (nan at the origin, as torch)",
)


def _lerp(x, end, weight):
    # torch's formula: from the nearer end, so that weight 0 gives x and weight 1 gives end exactly
    return np.where(np.abs(weight) < 0.5, x + weight * (end - x), end - (end - x) * (1 - weight))


defop(
    "lerp",
    _lerp,
    lambda g, out, x, end, weight: g * (1 - weight),
    lambda g, out, x, end, weight: g * weight,
    lambda g, out, x, end, weight: g * (end - x),
    jvp=ELEMENTWISE,
    doc="x + weight (end - x): dx = g (1 - weight), dend = g weight, dweight = g (end - x)",
)


def _xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    # 0 where x = 0 (even where log y is -inf or nan), but nan where y is nan, as torch
    return np.where((x == 0) & ~np.isnan(y), 0, out).astype(out.dtype, copy=False)


def _xlogy_grad_x(g, out, x, y):
    # xlogy(g, y): g log y, 0 where g = 0; and 0 where x = 0 and y <= 0 (as torch)
    mask = (fn.const(x) == 0) & (fn.const(y) <= 0)
    return fn.where(mask, 0.0, fn.apply_op(OPS["xlogy"], (g, y), {}))


defop(
    "xlogy",
    _xlogy,
    _xlogy_grad_x,
    lambda g, out, x, y: g * x / y,
    jvp=ELEMENTWISE,
    doc="x log y, 0 where x = 0: dx = g log y (0 where x = 0 and y <= 0), dy = g x / y",
)
