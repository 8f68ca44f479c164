"""Bitwise and logical methods and operators (``& | ^ ~ << >>``), integer division and remainder
(``// %``), with their in-place forms."""
from __future__ import annotations


class BitwiseMethods:
    __slots__ = ()
