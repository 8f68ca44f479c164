"""The function forms ``ag.NAME`` of the reduction, scan, sorting, shape, indexing and
linear-algebra catalogue (``ag.cumsum``, ``ag.sort``, ``ag.flip``, ``ag.einsum``, ``ag.bmm`` ...).
Each is the Tensor method of that name where one exists (see tensor_functions._function).
"""
from __future__ import annotations

__all__: list[str] = []
