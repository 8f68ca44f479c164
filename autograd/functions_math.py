"""The function forms ``ag.NAME`` of the elementwise catalogue: special functions, rounding,
logical and bitwise operations, and the arithmetic functions (``ag.add(x, y, alpha=...)``).
Each is the Tensor method of that name (see tensor_functions._function).
"""
from __future__ import annotations

__all__: list[str] = []
