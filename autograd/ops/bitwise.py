"""Integer, boolean and bitwise operations (no gradient): logical and bitwise and/or/xor/not, shifts,
floor division, isnan/isinf/isfinite/isclose."""
from __future__ import annotations

from . import defop  # noqa: F401
