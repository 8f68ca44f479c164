"""Elementwise special functions and rounding beyond the basics: erf and friends, exp2/expm1/log2/log10/log1p,
trigonometric and hyperbolic functions and their inverses, floor/ceil/round/trunc/frac, fmod/remainder,
copysign, hypot, lerp, xlogy, logaddexp, nan_to_num."""
from __future__ import annotations

from . import defop  # noqa: F401
