"""Resampling and padding: pad (constant, reflect, replicate, circular), interpolate, pixel_shuffle."""
from __future__ import annotations

from . import defop  # noqa: F401
