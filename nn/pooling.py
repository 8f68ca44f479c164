"""Pooling layers: max, average and adaptive pooling, and max unpooling."""
from __future__ import annotations

__all__: list[str] = []
