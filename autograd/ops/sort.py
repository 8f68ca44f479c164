"""Sorting and selection: the indices of sort, topk, kthvalue, median and mode, the median of all
elements, and unique.

sort, topk, kthvalue, median(dim), mode, cummax and cummin return values and indices; their entries
here compute the indices (no gradient), and the Tensor methods read the values with
``take_along_dim``, whose VJP scatters g back to those indices: the gradient of a selected value
goes to the element it was selected from, as torch routes it (value_selecting_reduction_backward).

Among tied elements, the indices are those torch's CPU kernels return: a stable order where torch's
algorithm is stable (its stable sort, median, and small slices), else the order its algorithms leave,
replayed by torch_order.py on the slices where ties make it matter (at most ``REPLAY_BUDGET``
elements a call; past that, tied elements keep their input order, as torch's stable sort keeps them).

``axis`` is one non-negative dimension (0 for a 0-d tensor).
"""

import math

import numpy as np

from . import defop, fn, torch_order

REPLAY_BUDGET = 1 << 17  # elements of tied slices replayed element by element in one call (about 0.2 s)


def _rows(x, axis):
    """x with ``axis`` moved last, as a 2-d array of slices (rows)."""
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(math.prod(moved.shape[:-1]), moved.shape[-1])


def _unrows(rows, shape, axis):
    """The inverse of _rows for a result whose slices have rows.shape[1] elements."""
    moved = tuple(n for d, n in enumerate(shape) if d != axis) + (rows.shape[1],)
    return np.moveaxis(rows.reshape(moved), -1, axis)


def _same(a, b):
    """a == b, with NaN equal to NaN (ties as torch's comparisons see them)."""
    eq = a == b
    if a.dtype.kind == "f":
        eq |= np.isnan(a) & np.isnan(b)
    return eq


def _stable_order(rows, descending):
    """Each row's stable sort order (NaN last ascending, first descending, as torch orders it)."""
    if not descending:
        return np.argsort(rows, axis=1, kind="stable")
    n = rows.shape[1]
    return n - 1 - np.argsort(rows[:, ::-1], axis=1, kind="stable")[:, ::-1]


def _replay(rows, out, needs, run):
    """out[r] = run(rows[r] as a list) for the rows r where ``needs``, within the budget."""
    picked = np.flatnonzero(needs)
    if not picked.size or picked.size * rows.shape[1] > REPLAY_BUDGET:
        return out
    out = out.copy()
    for r in picked:
        out[r] = run(rows[r].tolist())
    return out


def _tied_rows(sorted_rows):
    """Which rows (already sorted) hold two equal elements."""
    if sorted_rows.shape[1] < 2:
        return np.zeros(sorted_rows.shape[0], dtype=bool)
    return _same(sorted_rows[:, 1:], sorted_rows[:, :-1]).any(axis=1)


# -- sort -----------------------------------------------------------------------------------------
def _argsort(x, *, axis, descending=False, stable=False):
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    rows = _rows(x, axis)
    order = _stable_order(rows, descending)
    if not stable and rows.shape[1] > 16:
        # torch's default sort is std::sort, an insertion sort (stable) up to 16 elements only
        less = torch_order.nan_first_greater if descending else torch_order.nan_last_less

        def run(values):
            pairs = [(v, i) for i, v in enumerate(values)]
            torch_order.sort(pairs, len(pairs), less)
            return [i for _, i in pairs]

        order = _replay(rows, order, _tied_rows(np.take_along_axis(rows, order, 1)), run)
    return _unrows(order.astype(np.int64, copy=False), x.shape, axis)


defop(
    "argsort",
    _argsort,
    None,
    doc="indices that sort x along axis (torch's order among ties): no gradient; sort's values are x gathered at them",
)


# -- topk -----------------------------------------------------------------------------------------
def _argtopk(x, *, k, axis, largest=True, sorted=True):
    if x.ndim == 0:  # (torch returns the one element for k = 0 too)
        return np.zeros((), dtype=np.int64)
    rows = _rows(x, axis)
    n = rows.shape[1]
    order = _stable_order(rows, largest)
    top = order[:, :k]
    if k and n > 3:
        if k * 64 > n and not sorted:
            needs = np.ones(rows.shape[0], dtype=bool)  # std::nth_element's own order
        else:  # a sorted result: determined by the values unless the chosen ones tie
            chosen = np.take_along_axis(rows, order[:, : k + 1], 1)
            needs = _tied_rows(chosen)
        top = _replay(rows, top, needs, lambda values: torch_order.topk_slice(values, k, largest, sorted))
    return _unrows(top.astype(np.int64, copy=False), x.shape, axis)


defop(
    "argtopk",
    _argtopk,
    None,
    doc="indices of the k largest (or smallest) along axis, torch's order: no gradient; topk's values are x gathered at them",
)


# -- kthvalue and median along a dimension ----------------------------------------------------------
def _keep(index_rows, shape, axis, keepdims):
    out = _unrows(index_rows.astype(np.int64, copy=False), shape, axis)
    return out if keepdims else np.squeeze(out, axis)


def _argkthvalue(x, *, k, axis, keepdims=False):
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    rows = _rows(x, axis)
    order = _stable_order(rows, False)
    pick = order[:, k - 1 : k]
    value = np.take_along_axis(rows, pick, 1)
    pick = _replay(
        rows, pick, _same(rows, value).sum(axis=1) > 1, lambda values: [torch_order.kthvalue_slice(values, k)]
    )
    return _keep(pick, x.shape, axis, keepdims)


defop(
    "argkthvalue",
    _argkthvalue,
    None,
    doc="index of the k-th smallest along axis (torch's quickselect among ties): no gradient; the value is x gathered there",
)


def _argmedian(x, *, axis, keepdims=False):
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    rows = _rows(x, axis)
    n = rows.shape[1]
    order = _stable_order(rows, False)  # torch's nth_element compares (value, index): stable
    position = np.full((rows.shape[0], 1), (n - 1) // 2)
    if x.dtype.kind == "f":  # a slice holding NaN has median NaN: its first NaN
        valid = (~np.isnan(rows)).sum(axis=1, keepdims=True)
        position = np.where(valid < n, valid, position)
    return _keep(np.take_along_axis(order, position, 1), x.shape, axis, keepdims)


defop(
    "argmedian",
    _argmedian,
    None,
    doc="index of the lower median along axis (the first NaN if any): no gradient; the value is x gathered there",
)


# -- mode -----------------------------------------------------------------------------------------
def _argmode(x, *, axis, keepdims=False):
    if x.ndim == 0:
        return np.zeros((), dtype=np.int64)
    rows = _rows(x, axis)
    b, n = rows.shape
    s = np.sort(rows, axis=1)
    at = np.arange(n)
    new_run = np.ones((b, n), dtype=bool)
    new_run[:, 1:] = s[:, 1:] != s[:, :-1]
    last_of_run = np.ones((b, n), dtype=bool)
    last_of_run[:, :-1] = new_run[:, 1:]
    start = np.maximum.accumulate(np.where(new_run, at, 0), axis=1)
    length = np.where(last_of_run, at - start + 1, 0)
    best = np.argmax(length, axis=1)[:, None]  # the first longest run: the smallest most frequent value
    value = np.take_along_axis(s, best, 1)
    count = np.take_along_axis(length, best, 1)[:, 0]
    # torch takes the run's last element in std::sort's order: for up to 16 elements (an insertion
    # sort, stable) the value's last occurrence
    last = n - 1 - np.argmax((rows == value)[:, ::-1], axis=1)[:, None]
    last = _replay(rows, last, (count > 1) & (n > 16), lambda values: [torch_order.mode_slice(values)])
    return _keep(last, x.shape, axis, keepdims)


defop(
    "argmode",
    _argmode,
    None,
    doc="index of the most frequent value along axis (the smallest on ties; torch's index): no gradient; the value is x gathered there",
)


# -- the median of all elements -------------------------------------------------------------------
def _median(x):
    flat = x.reshape(-1)
    if flat.size == 0:
        return np.asarray(np.nan, dtype=x.dtype)
    if x.dtype.kind == "f" and np.isnan(flat).any():
        return np.asarray(np.nan, dtype=x.dtype)
    k = (flat.size - 1) // 2
    return np.asarray(np.partition(flat, k)[k])


def _median_weights(x, out):
    """1/k on the k elements equal to the median (the NaNs when it is NaN), 0 elsewhere."""
    xc, oc = fn.const(x), fn.const(out)
    hit = np.isnan(xc) if np.isnan(oc) else xc == oc
    with np.errstate(invalid="ignore"):  # (an empty tensor: no element to weigh)
        return (hit / hit.sum()).astype(xc.dtype, copy=False)


defop(
    "median",
    _median,
    lambda g, out, x: g * _median_weights(x, out),
    jvp=lambda tangents, out, x: (tangents[0] * _median_weights(x, out)).sum(),
    doc="the lower median of all elements: dx = g / k on the k elements equal to it (ties split, as torch)",
)


# -- unique ---------------------------------------------------------------------------------------
def _unique(x, *, dim=None, output="values"):
    """np.unique's values, inverse or counts (sorted, as torch's CPU unique always is; NaNs are
    each their own value, as in torch)."""
    if dim is None:
        values, inverse, counts = np.unique(x.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(x.shape)
    else:
        values, inverse, counts = np.unique(x, axis=dim, return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(-1)
    if output == "values":
        return values
    return (inverse if output == "inverse" else counts).astype(np.int64, copy=False)


defop(
    "unique",
    _unique,
    None,
    doc="the sorted distinct values (or slices along dim), the inverse indices or the counts: no gradient (as torch)",
)
