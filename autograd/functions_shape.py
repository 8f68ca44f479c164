"""The function forms ``ag.NAME`` of the reduction, scan, sorting, shape, indexing and
linear-algebra catalogue (``ag.cumsum``, ``ag.sort``, ``ag.flip``, ``ag.einsum``, ``ag.bmm`` ...).
Each is the Tensor method of that name where one exists (see tensor_functions._function);
``einsum``, ``meshgrid``, ``var_mean``, ``std_mean`` and ``repeat_interleave(repeats)`` are defined
here. (``max``, ``min``, ``all`` and ``any`` shadow Python's builtins in this module: the code below
calls ``builtins.max``.)
"""

from __future__ import annotations

import builtins

import numpy as np

from .ops import OPS
from .ops.linalg import LETTERS, MAX_OPERANDS
from .tensor import apply, as_tensor, make
from .tensor_functions import _as_input, _function

__all__: list[str] = [
    "reshape",
    "flatten",
    "squeeze",
    "unsqueeze",
    "transpose",
    "permute",
    "broadcast_to",
    "split",
    "chunk",
    "gather",
    "index_select",
    "masked_fill",
    "max",
    "min",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "logcumsumexp",
    "all",
    "any",
    "count_nonzero",
    "median",
    "mode",
    "var_mean",
    "std_mean",
    "aminmax",
    "sort",
    "argsort",
    "topk",
    "kthvalue",
    "unique",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "tile",
    "repeat_interleave",
    "tril",
    "triu",
    "diag",
    "diagonal",
    "diag_embed",
    "trace",
    "unflatten",
    "movedim",
    "moveaxis",
    "narrow",
    "take",
    "take_along_dim",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_add",
    "index_copy",
    "index_fill",
    "masked_select",
    "masked_scatter",
    "nonzero",
    "meshgrid",
    "einsum",
    "bmm",
    "mm",
    "mv",
    "t",
]

# the lecture's shape and indexing methods, as torch's functions too
reshape = _function("reshape")
flatten = _function("flatten")
squeeze = _function("squeeze")
unsqueeze = _function("unsqueeze")
transpose = _function("transpose")
permute = _function("permute")
broadcast_to = _function("broadcast_to")
split = _function("split")
chunk = _function("chunk")
gather = _function("gather")
index_select = _function("index_select")
masked_fill = _function("masked_fill")
max = _function("max")
min = _function("min")

cumsum = _function("cumsum")
cumprod = _function("cumprod")
cummax = _function("cummax")
cummin = _function("cummin")
logcumsumexp = _function("logcumsumexp")
all = _function("all")  # noqa: A001
any = _function("any")  # noqa: A001
count_nonzero = _function("count_nonzero")
median = _function("median")
mode = _function("mode")
aminmax = _function("aminmax")
sort = _function("sort")
argsort = _function("argsort")
topk = _function("topk")
kthvalue = _function("kthvalue")
unique = _function("unique")
flip = _function("flip")
fliplr = _function("fliplr")
flipud = _function("flipud")
roll = _function("roll")
tile = _function("tile")
tril = _function("tril")
triu = _function("triu")
diag = _function("diag")
diagonal = _function("diagonal")
diag_embed = _function("diag_embed")
trace = _function("trace")
unflatten = _function("unflatten")
movedim = _function("movedim")
moveaxis = _function("moveaxis")
narrow = _function("narrow")
take = _function("take")
take_along_dim = _function("take_along_dim")
scatter = _function("scatter")
scatter_add = _function("scatter_add")
scatter_reduce = _function("scatter_reduce")
index_add = _function("index_add")
index_copy = _function("index_copy")
index_fill = _function("index_fill")
masked_select = _function("masked_select")
masked_scatter = _function("masked_scatter")
nonzero = _function("nonzero")
bmm = _function("bmm")
mm = _function("mm")
mv = _function("mv")
t = _function("t")


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """The pair ``(var, mean)`` over ``dim``: ``x.var(...)`` and ``x.mean(...)``, each with its gradient."""
    x = _as_input(input)
    return (x.var(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """The pair ``(std, mean)`` over ``dim``: ``x.std(...)`` and ``x.mean(...)``."""
    x = _as_input(input)
    return (x.std(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """``x.repeat_interleave(repeats, dim)``; ``repeat_interleave(counts)`` alone (an integer
    tensor) repeats each index i counts[i] times: ``[2, 1] -> [0, 0, 1]``."""
    if repeats is None:
        counts = _as_input(input)
        if counts.dtype.kind not in "iu" or counts.ndim > 1:
            raise RuntimeError(
                f"repeat_interleave(repeats): repeats must be a 0-d or 1-d integer tensor, got "
                f"dtype {counts.dtype} and shape {counts.shape}"
            )
        return make(np.arange(counts.data.size, dtype=np.int64)).repeat_interleave(counts, 0, output_size=output_size)
    return _as_input(input).repeat_interleave(repeats, dim, output_size=output_size)


def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids of 0-d or 1-d tensors: the i-th output varies along dimension i (with
    ``indexing='xy'``, the first two dimensions swap places, as numpy's meshgrid). Each output is a
    view of its input, expanded (so gradients sum over the grid)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [as_tensor(x) for x in tensors]
    if not ts:
        raise RuntimeError("meshgrid: expects a non-empty list of tensors")
    for i, x in enumerate(ts):
        if x.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-d or 1-d tensors, got shape {x.shape} for tensor {i}")
        if x.dtype != ts[0].dtype:
            raise RuntimeError(f"meshgrid: expects all tensors to have the same dtype, got {ts[0].dtype} and {x.dtype}")
    sizes = [x.data.size for x in ts]
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[k] for k in order)
    grids = []
    for i, x in enumerate(ts):
        axis = order.index(i)
        lined = x.reshape(tuple(sizes[i] if k == axis else 1 for k in range(len(ts))))
        grids.append(lined.expand(*shape))
    return tuple(grids)


# -- einsum -------------------------------------------------------------------------------------------


def einsum(*args):
    """``einsum(equation, *operands)``: the sum over the repeated subscripts of the products of the
    operands' elements (``'ij,jk->ik'`` is a matrix product, ``'ii->'`` a trace, ``'bij,bjk->bik'``
    batched products). Subscripts are letters, ``...`` stands for broadcast dimensions, and
    without ``->`` the output holds the subscripts that appear once, in alphabetical order (after
    ``...``). Also ``einsum(equation, [operands])`` and torch's sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. Each operand's gradient is an einsum too."""
    if not args:
        raise TypeError("einsum() needs an equation and operands")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = _sublists(args)
    ts = [as_tensor(x) for x in operands]
    if not 0 < len(ts) <= MAX_OPERANDS:
        raise ValueError(f"einsum(): takes 1 to {MAX_OPERANDS} operands, got {len(ts)}")
    for i, x in enumerate(ts[1:], 1):
        if x.dtype != ts[0].dtype:
            raise RuntimeError(
                f"einsum(): expected all operands to have the same dtype, got {ts[0].dtype} for "
                f"operand 0 and {x.dtype} for operand {i}"
            )
    canonical, ts = canonical_einsum(equation, ts)
    return apply(OPS["einsum"], tuple(ts), {"equation": canonical})


def _sublists(args):
    """torch's sublist form (operand, [subscripts], ..., [output]) as an equation and operands."""

    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(LETTERS):
                out.append(LETTERS[s])
            else:
                raise ValueError(f"einsum(): a sublist holds ints in [0, {len(LETTERS)}) or Ellipsis, got {s!r}")
        return "".join(out)

    if len(args) % 2:  # the last item is the output's sublist
        operands, subs = args[0:-1:2], args[1:-1:2]
        return ",".join(letters(sub) for sub in subs) + "->" + letters(args[-1]), list(operands)
    return ",".join(letters(sub) for sub in args[1::2]), list(args[0::2])


def canonical_einsum(equation, ts):
    """The equation with an explicit output and one letter per dimension (the ellipsis replaced by
    letters of its own, right-aligned across operands as broadcasting aligns them), checked as
    torch checks it; and the operands."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, output = eq.split("->", 1)
    else:
        lhs, output = eq, None
    terms = lhs.split(",")
    if len(terms) != len(ts):
        raise RuntimeError(
            f"einsum(): the equation {equation!r} has {len(terms)} operand subscripts but {len(ts)} operands were given"
        )
    for term in terms + ([output] if output is not None else []):
        rest = term.replace("...", "", 1)
        for c in rest:
            if c not in LETTERS:
                raise RuntimeError(
                    f"einsum(): invalid subscript {c!r} in {term!r}: subscripts must be in [a-zA-Z] "
                    f"(and '...' once per operand)"
                )
    used = set(eq)
    free = [c for c in LETTERS if c not in used]
    ellipsis_dims = 0
    for term, x in zip(terms, ts):
        n = len(term.replace("...", "", 1))
        if "..." in term:
            if x.ndim < n:
                raise RuntimeError(
                    f"einsum(): operand of shape {x.shape} has fewer dimensions than the subscripts {term!r} name"
                )
            ellipsis_dims = builtins.max(ellipsis_dims, x.ndim - n)
        elif x.ndim != n:
            raise RuntimeError(
                f"einsum(): the subscripts {term!r} name {n} dimensions but the operand has "
                f"{x.ndim} (shape {x.shape}) and no ellipsis was given"
            )
    ell = "".join(free[:ellipsis_dims])
    expanded = []
    for term, x in zip(terms, ts):
        if "..." in term:
            n = x.ndim - len(term.replace("...", "", 1))
            term = term.replace("...", ell[len(ell) - n :])
        expanded.append(term)
    counts: dict[str, int] = {}
    for term in expanded:
        for c in term:
            counts[c] = counts.get(c, 0) + 1
    if output is None:
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        output = output.replace("...", ell)
        for c in output:
            if output.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if c not in counts:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in any operand's subscripts")
    _check_sizes(expanded, ts)
    return ",".join(expanded) + "->" + output, ts


def _check_sizes(terms, ts):
    """A letter's sizes must agree, or be 1 (broadcast) across operands; within one operand
    (a diagonal), they must be equal."""
    seen: dict[str, int] = {}
    for k, (term, x) in enumerate(zip(terms, ts)):
        own: dict[str, int] = {}
        for c, n in zip(term, x.shape):
            if c in own and own[c] != n:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't match, {own[c]} != {n}"
                )
            own[c] = n
            if n != 1 and seen.get(c, 1) not in (1, n):
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {k}, which does not broadcast "
                    f"with the size {seen[c]} seen before"
                )
            if n != 1 or c not in seen:
                seen[c] = n
