"""Scans, sorting and selection: cumsum, cumprod, cummax, cummin, logcumsumexp, sort, argsort,
topk, kthvalue, median, mode, unique."""
from __future__ import annotations


class ScanMethods:
    __slots__ = ()
