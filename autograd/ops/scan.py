"""Scans and order statistics: cumulative sums and products, running extremes, logcumsumexp,
sort/argsort/topk/kthvalue/median/mode, unique."""
from __future__ import annotations

from . import defop  # noqa: F401
