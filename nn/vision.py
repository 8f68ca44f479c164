"""Layers that resample or pad images: Upsample, PixelShuffle, padding."""
from __future__ import annotations

__all__: list[str] = []
