"""Which of several tied elements torch's CPU kernels select, reproduced.

``topk``, ``kthvalue`` and ``mode`` return the index of one element among equal values, and which
one is not a documented choice: it is the order in which the algorithms those kernels run leave
the elements. ``topk`` runs libstdc++'s ``std::nth_element`` (then ``std::sort`` on the first k - 1)
or, for k * 64 <= n, ``std::partial_sort``; ``kthvalue`` runs torch's own quickselect
(``quick_select_template`` in ATen's SortingUtils.h); ``mode`` runs ``std::sort`` and takes the last
element of the longest run. Without ties the result is determined by the values alone and the
numpy code in sort.py computes it; where ties (or topk's unsorted order) make the algorithm
matter, the functions here replay it on one slice, element by element, so that the indices, and
so the gradient routed through them, are torch's.

Each function takes a list of (value, index) pairs and a ``less`` comparison (a strict weak
ordering of the values) and rearranges the list in place as the C++ algorithm rearranges its range.
"""

from __future__ import annotations

import math

_THRESHOLD = 16  # libstdc++'s _S_threshold: introsort leaves ranges of up to 16 to insertion sort


def _lg(n):
    return n.bit_length() - 1


def _insertion_sort(a, first, last, less):
    """libstdc++'s __insertion_sort: a stable sort of a[first:last]."""
    for i in range(first + 1, last):
        value = a[i]
        j = i
        while j > first and less(value[0], a[j - 1][0]):
            a[j] = a[j - 1]
            j -= 1
        a[j] = value


def _move_median_to_first(a, result, i, j, k, less):
    x, y, z = a[i][0], a[j][0], a[k][0]
    if less(x, y):
        if less(y, z):
            pick = j
        elif less(x, z):
            pick = k
        else:
            pick = i
    elif less(x, z):
        pick = i
    elif less(y, z):
        pick = k
    else:
        pick = j
    a[result], a[pick] = a[pick], a[result]


def _unguarded_partition(a, first, last, pivot, less):
    while True:
        while less(a[first][0], a[pivot][0]):
            first += 1
        last -= 1
        while less(a[pivot][0], a[last][0]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _partition_pivot(a, first, last, less):
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1, less)
    return _unguarded_partition(a, first + 1, last, first, less)


# -- heaps (stl_heap.h) ---------------------------------------------------------------------------


def _push_heap(a, first, hole, top, value, less):
    parent = (hole - 1) // 2
    while hole > top and less(a[first + parent][0], value[0]):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _adjust_heap(a, first, hole, length, value, less):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if less(a[first + child][0], a[first + child - 1][0]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    _push_heap(a, first, hole, top, value, less)


def _make_heap(a, first, last, less):
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, first, parent, length, a[first + parent], less)
        if parent == 0:
            return
        parent -= 1


def _pop_heap(a, first, last, result, less):
    value = a[result]
    a[result] = a[first]
    _adjust_heap(a, first, 0, last - first, value, less)


def _heap_select(a, first, middle, last, less):
    _make_heap(a, first, middle, less)
    for i in range(middle, last):
        if less(a[i][0], a[first][0]):
            _pop_heap(a, first, middle, i, less)


def _sort_heap(a, first, last, less):
    while last - first > 1:
        last -= 1
        _pop_heap(a, first, last, last, less)


def partial_sort(a, middle, less):
    """std::partial_sort(a.begin(), a.begin() + middle, a.end(), less)."""
    _heap_select(a, 0, middle, len(a), less)
    _sort_heap(a, 0, middle, less)


def nth_element(a, nth, less):
    """std::nth_element(a.begin(), a.begin() + nth, a.end(), less)."""
    first, last = 0, len(a)
    if first == last or nth == last:
        return
    depth = _lg(last - first) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(a, first, nth + 1, last, less)
            a[first], a[nth] = a[nth], a[first]
            return
        depth -= 1
        cut = _partition_pivot(a, first, last, less)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last, less)


def sort(a, last, less):
    """std::sort(a.begin(), a.begin() + last, less) (introsort, then a final insertion sort)."""
    if last <= 0:
        return
    _introsort_loop(a, 0, last, _lg(last) * 2, less)
    # __final_insertion_sort: the range is now sorted up to runs of at most 16 elements, each
    # of them at or after every smaller element; its (guarded and unguarded) insertion passes
    # together are one stable insertion sort of the whole range
    _insertion_sort(a, 0, last, less)


def _introsort_loop(a, first, last, depth, less):
    while last - first > _THRESHOLD:
        if depth == 0:
            partial_sort_range(a, first, last, less)
            return
        depth -= 1
        cut = _partition_pivot(a, first, last, less)
        _introsort_loop(a, cut, last, depth, less)
        last = cut


def partial_sort_range(a, first, last, less):
    """std::__partial_sort(first, last, last): heapsort of a[first:last]."""
    _heap_select(a, first, last, last, less)
    _sort_heap(a, first, last, less)


def quick_select(a, k, greater):
    """ATen's quick_select_template(arr, k, gt_or_nan): the element of rank k at position k."""
    lo, hi = 0, len(a) - 1
    while True:
        if hi <= lo:
            return
        if hi == lo + 1:
            if greater(a[lo][0], a[hi][0]):
                a[lo], a[hi] = a[hi], a[lo]
            return
        p = lo + (hi - lo) // 2
        a[p], a[lo + 1] = a[lo + 1], a[p]
        if greater(a[lo + 1][0], a[hi][0]):
            a[lo + 1], a[hi] = a[hi], a[lo + 1]
        if greater(a[lo][0], a[hi][0]):
            a[lo], a[hi] = a[hi], a[lo]
        if greater(a[lo + 1][0], a[lo][0]):
            a[lo + 1], a[lo] = a[lo], a[lo + 1]
        i, j = lo + 1, hi
        pivot = a[lo][0]
        while True:
            i += 1
            while greater(pivot, a[i][0]):
                i += 1
            j -= 1
            while greater(a[j][0], pivot):
                j -= 1
            if j < i:
                break
            a[i], a[j] = a[j], a[i]
        a[lo], a[j] = a[j], a[lo]
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1


# -- torch's comparisons: NaN counts as the largest value ----------------------------------------


def nan_last_less(x, y):
    """x < y with NaN above every number (torch's order for smallest-first selection)."""
    return (not math.isnan(x) and math.isnan(y)) or x < y


def nan_first_greater(x, y):
    """x > y with NaN above every number (torch's order for largest-first selection)."""
    return (math.isnan(x) and not math.isnan(y)) or x > y


def plain_less(x, y):
    return x < y


# -- the three kernels, on one slice --------------------------------------------------------------


def topk_slice(values, k, largest, sorted_):
    """torch's CPU topk on one slice (a list of numbers): the indices of its k elements, in its order."""
    a = [(v, i) for i, v in enumerate(values)]
    less = nan_first_greater if largest else nan_last_less
    if k * 64 <= len(a):
        partial_sort(a, k, less)
    else:
        nth_element(a, k - 1, less)
        if sorted_:
            sort(a, k - 1, less)
    return [i for _, i in a[:k]]


def kthvalue_slice(values, k):
    """torch's CPU kthvalue on one slice: the index of its k-th smallest element (k from 1)."""
    a = [(v, i) for i, v in enumerate(values)]
    quick_select(a, k - 1, nan_first_greater)
    return a[k - 1][1]


def mode_slice(values):
    """torch's CPU mode on one slice: the index it returns (the last element of the longest run
    of equal values in std::sort's order; the first such run, so the smallest value, on ties)."""
    a = [(v, i) for i, v in enumerate(values)]
    sort(a, len(a), plain_less)
    best, best_index, run = 0, 0, 0
    for i in range(len(a)):
        run += 1
        if i == len(a) - 1 or a[i][0] != a[i + 1][0]:
            if run > best:
                best, best_index = run, a[i][1]
            run = 0
    return best_index
