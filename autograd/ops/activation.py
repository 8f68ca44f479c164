"""Activations beyond the elementwise basics: softplus and the normal CDF (GELU's Phi); and the
activations torch computes in one kernel each (SiLU, Mish, the ELU family, hardtanh, hardsigmoid,
hardswish, logsigmoid, GLU, GELU's tanh form), whose compositions of table entries would take more
passes and nodes, or lose accuracy.

Rules follow the table's contract (see autograd/ops/__init__.py): they run on ndarrays, and on
Tensors under create_graph.
"""

from __future__ import annotations

import math

import numpy as np

from . import ELEMENTWISE, OPS, defop, fn
from .elementwise import _sigmoid, elementwise

_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def erf_python(x: np.ndarray) -> np.ndarray:
    """erf elementwise with math.erf: the fallback when scipy is not installed (slower, same values)."""
    return np.asarray(_erf_scalar(x), dtype=np.float64).astype(x.dtype, copy=False)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf elementwise: scipy's (vectorised C) when scipy is installed, else math.erf. scipy is
    imported on first use (by GELU), not with autograd: it alone would double the import's memory."""
    global _erf
    try:
        from scipy.special import erf as impl
    except ImportError:  # pragma: no cover - depends on the environment
        impl = erf_python
    _erf = impl
    return impl(x)


# -- softplus and the normal CDF (for the logistic losses and GELU) --------------------------------


def _softplus(x, *, beta=1.0, threshold=None):
    """log(1 + e^(beta x)) / beta without overflow; x itself where beta x > threshold (torch's
    F.softplus passes threshold=20; the losses use no threshold)."""
    if beta == 1 and threshold is None:
        return np.logaddexp(np.zeros((), x.dtype), x)
    z = x * beta
    out = np.logaddexp(np.zeros((), x.dtype), z) / beta
    return out if threshold is None else np.where(z > threshold, x, out).astype(x.dtype, copy=False)


def _softplus_grad(g, out, x, *, beta=1.0, threshold=None):
    # sigmoid(beta x) = e^(beta x - beta out); where out = x (past the threshold) this is e^0 = 1, as torch
    return g * fn.exp(x - out if beta == 1 else (x - out) * beta)


defop(
    "softplus",
    _softplus,
    _softplus_grad,
    jvp=ELEMENTWISE,
    keeps_shape=True,
    doc="log(1 + e^(beta x)) / beta, computed without overflow (x past the threshold): "
    "dx = g sigmoid(beta x) = g e^(beta (x - softplus(x))), g past the threshold",
)

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

defop(
    "normal_cdf",
    lambda x: (0.5 * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False),
    lambda g, out, x: g * fn.exp(x * x * -0.5) * _INV_SQRT_2PI,
    jvp=ELEMENTWISE,
    doc="Phi(x) = (1 + erf(x / sqrt 2)) / 2: dx = g phi(x) = g e^(-x^2/2) / sqrt(2 pi)",
)


# -- one kernel each in torch ----------------------------------------------------------------------------
def _sigmoid_of(x):
    return x.sigmoid() if fn._is_tensor(x) else _sigmoid(x)


def _softplus_of(x):
    return fn.apply_op(OPS["softplus"], (x,), {})


def _silu_grad(g, out, x):
    s = _sigmoid_of(x)
    return g * s * (x * (1 - s) + 1)


elementwise("silu", lambda x: x * _sigmoid(x), _silu_grad, doc="x sigmoid(x): dx = g s (1 + x (1 - s)), s = sigmoid(x)")


def _mish(x):
    return x * np.tanh(np.logaddexp(np.zeros((), x.dtype), x))


def _mish_grad(g, out, x):
    t = fn.tanh(_softplus_of(x))
    return g * (t + x * _sigmoid_of(x) * (1 - t * t))


elementwise(
    "mish", _mish, _mish_grad, doc="x tanh(softplus(x)): dx = g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x))"
)


def _elu(x, *, alpha, scale, input_scale):
    """scale x for x > 0, scale alpha (e^(input_scale x) - 1) otherwise (torch's one kernel for ELU,
    SELU and CELU). The exponential is of min(x, 0): no overflow where it is not used."""
    negative = np.expm1(np.minimum(x, 0) * input_scale) * (alpha * scale)
    return np.where(x > 0, x * scale, negative).astype(x.dtype, copy=False)


def _elu_grad(g, out, x, *, alpha, scale, input_scale):
    # for x <= 0 (x = 0 included, as torch): scale alpha input_scale e^(input_scale x), the exponential
    # of min(x, 0), which does not overflow where it is not used (and whose NaN-free derivative is 0 there)
    positive = fn.const(x) > 0
    slope = fn.exp(fn.where(positive, 0.0, x) * input_scale) * (scale * alpha * input_scale)
    return g * fn.where(positive, scale, slope)


elementwise(
    "elu",
    _elu,
    _elu_grad,
    doc="scale x (x > 0), scale alpha (e^(input_scale x) - 1) (x <= 0): "
    "dx = g scale (x > 0), g scale alpha input_scale e^(input_scale x) (x <= 0)",
)


def _hardtanh(x, *, min_val, max_val):
    return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)


elementwise(
    "hardtanh",
    _hardtanh,
    lambda g, out, x, *, min_val, max_val: g * ((fn.const(x) > min_val) & (fn.const(x) < max_val)),
    doc="clamp(x, min_val, max_val): dx = g [min_val < x < max_val] (0 at the bounds, as torch)",
)


def _hardsigmoid(x):
    return np.clip(x + 3, 0, 6) / 6  # (torch's order of operations: the same rounding)


elementwise(
    "hardsigmoid",
    _hardsigmoid,
    lambda g, out, x: g * ((fn.const(x) > -3) & (fn.const(x) < 3)) / 6,
    doc="clamp(x + 3, 0, 6) / 6: dx = g / 6 [-3 < x < 3]",
)


def _hardswish_grad(g, out, x):
    c = fn.const(x)
    return g * fn.where(c <= -3, 0.0, fn.where(c < 3, x / 3 + 0.5, 1.0))


elementwise(
    "hardswish",
    lambda x: x * np.clip(x + 3, 0, 6) / 6,
    _hardswish_grad,
    doc="x clamp(x + 3, 0, 6) / 6: dx = 0 (x <= -3), g (x / 3 + 1/2) (-3 < x < 3), g (x >= 3), as torch",
)
elementwise(
    "logsigmoid",
    lambda x: -np.logaddexp(np.zeros((), x.dtype), -x),
    lambda g, out, x: g * fn.exp(out - x),
    doc="log sigmoid(x) = -softplus(-x): dx = g sigmoid(-x) = g e^(out - x)",
)

_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _gelu_tanh(x):
    inner = (x + x * x * x * _GELU_C) * _GELU_K
    return x * 0.5 * (np.tanh(inner) + 1)


def _gelu_tanh_grad(g, out, x):
    x2 = x * x
    t = fn.tanh((x + x2 * x * _GELU_C) * _GELU_K)
    return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * (x2 * (3 * _GELU_C) + 1) * _GELU_K)


elementwise(
    "gelu_tanh",
    _gelu_tanh,
    _gelu_tanh_grad,
    doc="x (1 + tanh(k (x + c x^3))) / 2, k = sqrt(2/pi), c = 0.044715: "
    "dx = g ((1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2), t = tanh(k (x + c x^3))",
)


# -- GLU: halves of one dimension -------------------------------------------------------------------------
def _halves(x, dim):
    n = x.shape[dim] // 2
    return fn.split(x, (n, n), dim)


def _concat(parts, dim):
    if fn._is_tensor(parts[0]) or fn._is_tensor(parts[1]):
        from ..tensor_functions import cat

        return cat(list(parts), dim)
    return np.concatenate(parts, axis=dim)


def _glu(x, *, dim):
    a, b = _halves(x, dim)
    return a * _sigmoid(b)


def _glu_grad(g, out, x, *, dim):
    a, b = _halves(x, dim)
    s = _sigmoid_of(b)
    return _concat((g * s, g * a * s * (1 - s)), dim)


def _glu_jvp(tangents, out, x, *, dim):
    (t,) = tangents
    a, b = _halves(x, dim)
    ta, tb = _halves(t, dim)
    s = _sigmoid_of(b)
    return ta * s + a * s * (1 - s) * tb


defop(
    "glu",
    _glu,
    _glu_grad,
    jvp=_glu_jvp,
    doc="a sigmoid(b), a and b the halves of x along dim: da = g sigmoid(b), db = g a s (1 - s), s = sigmoid(b)",
)
