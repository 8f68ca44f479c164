"""Matrix products beyond ``@``: mm, bmm, mv, t."""
from __future__ import annotations


class LinalgMethods:
    __slots__ = ()
