"""Pooling: max, average and adaptive pooling, max unpooling."""
from __future__ import annotations

from . import defop  # noqa: F401
