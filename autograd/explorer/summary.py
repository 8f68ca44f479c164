"""Numbers for the page: a value, a gradient or an edge's term as a small JSON object of bounded size.

A Scalar's number is written as is. A Tensor is written as its shape, dtype and statistics (min,
max, mean, sum, L2 norm, counts of NaN and Inf) with a histogram of its finite values in
:data:`BINS` bins; only a tensor of at most :data:`SMALL` elements carries its values too. So the
page of a training step stays the same size whatever the batch or the layer widths.

JSON has no NaN or Inf: such a number is written as the string ``"nan"``, ``"inf"`` or ``"-inf"``
(the page's script reads them back).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SMALL", "BINS", "number", "summarize", "summarize_terms"]

SMALL = 64
"""Tensors with at most this many elements are shown whole (their values are on the page)."""

BINS = 16
"""Bins of a tensor's histogram."""


def number(x, digits=9):
    """A float as JSON: finite numbers with ``digits`` significant digits, NaN and Inf as strings."""
    x = float(x)
    if math.isfinite(x):
        return float(f"{x:.{digits}g}")
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def summarize(value, histogram=True):
    """A Scalar's float as ``{"v": x}``; an array as its shape, dtype, statistics and histogram
    (and its values, flattened, when it has at most SMALL elements); None stays None. An array of
    4-byte floats or less is written with 7 significant digits (all it has), others with 9."""
    if value is None:
        return None
    if isinstance(value, float):
        return {"v": number(value)}
    a = np.asarray(value)
    out = {"shape": list(a.shape), "dtype": str(a.dtype), "n": int(a.size)}
    if a.size == 0:
        return out
    digits = 7 if a.dtype.itemsize <= 4 else 9
    a64 = a.astype(np.float64, copy=False)
    finite = np.isfinite(a64)
    nan = int(np.count_nonzero(np.isnan(a64)))
    inf = int(a64.size - nan - np.count_nonzero(finite))
    with np.errstate(all="ignore"):
        out.update(
            min=number(a64.min(), digits),
            max=number(a64.max(), digits),
            mean=number(a64.mean(), digits),
            sum=number(a64.sum(), digits),
            norm=number(np.sqrt(np.sum(a64 * a64)), digits),
        )
    if nan or inf:
        out.update(nan=nan, inf=inf)
    if a.size == 1:
        out["v"] = number(a64.reshape(()), digits)
    if a.size <= SMALL:
        out["values"] = [number(x, digits) for x in a64.ravel()]
    good = a64[finite] if (nan or inf) else a64.ravel()
    if histogram and good.size > 1:
        lo, hi = float(good.min()), float(good.max())
        counts, _ = np.histogram(good, bins=BINS, range=(lo, hi) if hi > lo else (lo - 0.5, hi + 0.5))
        out["hist"] = {"lo": number(lo, digits), "hi": number(hi, digits), "counts": counts.tolist()}
    return out


def summarize_terms(terms):
    """What one drawn edge carries when it stands for several edges (a bundle, a folded box): the
    number of terms, the sum of all their elements and the L2 norm of them all."""
    arrays = [np.asarray(t, dtype=np.float64) for t in terms if t is not None]
    if not arrays:
        return None
    with np.errstate(all="ignore"):
        total = sum(float(a.sum()) for a in arrays)
        norm = math.sqrt(sum(float(np.sum(a * a)) for a in arrays))
    return {"terms": len(arrays), "sum": number(total), "norm": number(norm)}
