"""Activations beyond the elementwise basics: softplus and the normal CDF (GELU's Phi).

Rules follow the table's contract (see autograd/ops/__init__.py): they run on ndarrays, and on
Tensors under create_graph.
"""
from __future__ import annotations

import math

import numpy as np

from . import ELEMENTWISE, defop, fn

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

defop(
    "softplus", lambda x: np.logaddexp(np.zeros((), x.dtype), x),
    lambda g, out, x: g * fn.exp(x - out),
    jvp=ELEMENTWISE, doc="log(1 + e^x), computed without overflow: dx = g sigmoid(x) = g e^(x - softplus(x))")

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

defop(
    "normal_cdf", lambda x: (0.5 * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False),
    lambda g, out, x: g * fn.exp(x * x * -0.5) * _INV_SQRT_2PI,
    jvp=ELEMENTWISE, doc="Phi(x) = (1 + erf(x / sqrt 2)) / 2: dx = g phi(x) = g e^(-x^2/2) / sqrt(2 pi)")
