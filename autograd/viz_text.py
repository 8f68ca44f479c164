"""Text for graph labels, tooltips and the explorer's details: numbers, statistics, shapes and
operation names, in the few characters a node has room for (no Graphviz here: draw_graph escapes
what it places)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from .tensor import Tensor


def fmt(v):
    return f"{v:.4g}"


def as_array(x):
    """A node's value or gradient as an ndarray (None stays None)."""
    if x is None:
        return None
    if isinstance(x, Tensor):
        x = x.data
    return np.asarray(x)


def nonfinite_counts(a):
    """(number of NaN, number of +-Inf) in an array."""
    if a is None or a.dtype.kind not in "fc":
        return 0, 0
    nan = int(np.count_nonzero(np.isnan(a)))
    inf = int(np.count_nonzero(np.isinf(a)))
    return nan, inf


def norm(a):
    """||a||_2 in float64 (a float32 sum of squares would overflow to Inf before the values do)."""
    a64 = np.asarray(a, dtype=np.float64)
    return float(np.sqrt(np.sum(a64 * a64))) if a64.size else 0.0


def stats(a):
    """'min .. max .. mean .. norm ..' of an array (all its values: NaN propagates, and is counted)."""
    if a.size == 0:
        return "empty"
    a64 = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        text = f"min {fmt(a64.min())}, max {fmt(a64.max())}, mean {fmt(a64.mean())}, norm {fmt(norm(a64))}"
    nan, inf = nonfinite_counts(a)
    if nan or inf:
        text += f" ({nan} NaN, {inf} Inf)"
    return text


def brief(a):
    """A value for a label: the number itself for one element, else [min, max]."""
    if a.size == 0:
        return "empty"
    a64 = np.asarray(a, dtype=np.float64)
    if a64.size == 1:
        return fmt(a64.reshape(()))
    return f"[{fmt(a64.min())}, {fmt(a64.max())}]"


def shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def nonfinite_note(what, a):
    nan, inf = nonfinite_counts(a)
    if not (nan or inf):
        return None
    parts = [f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else ""]
    return f"!! {' '.join(p for p in parts if p)} in {what}"


def count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def capped(items, limit=12):
    """A comma-separated list of at most ``limit`` items (a tooltip must stay short for dot)."""
    text = ", ".join(items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def approx(n):
    """A count, short: 950, 9,999, 50k, 1.2M."""
    if n < 10_000:
        return f"{n:,}"
    if n < 999_500:
        return f"{n / 1e3:.3g}k"
    return f"{n / 1e6:.3g}M"


def op_text(node):
    """The operation of a Tensor node with its short, non-default arguments: 'sum(axis=(1,))'."""
    op = node._op
    name = getattr(op, "name", None) or str(op)
    params = node._params or {}
    if not isinstance(params, dict) or getattr(op, "vjps", None) == ():
        return name  # user-defined ag.Function: its bookkeeping arguments are not the user's
    shown = []
    for k, v in params.items():
        if v is None or v is False:
            continue
        if isinstance(v, np.dtype):
            v = str(v)
        elif not isinstance(v, (Real, str, tuple)):
            continue
        text = f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}"
        if len(text) <= 24:
            shown.append(text)
    return f"{name}({', '.join(shown)})" if shown else name
