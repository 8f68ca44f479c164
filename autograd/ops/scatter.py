"""Writing into a copy of a tensor at indices: scatter (of src or of a value), scatter_reduce (sum,
prod, mean, amax, amin), index_copy, index_fill and masked_scatter.

Each output element is either one of x's or a combination of the src elements written to it, so
each rule's gradient goes back the way the values came: to x where x was kept (or combined), to
src through ``gather`` along the same indices. Only the part of src that ``index`` covers is read
(src may be larger, as in torch); its gradient is 0 on the rest.

Indices are inputs of the node (no gradient); the rules read them as constants (``fn.const``).
"""

import numpy as np

from . import LINEAR, OPS, defop, fn
from .index import _along, gather_array, scatter_add_array


def _1d(a):
    """A 0-d array as the 1-d array of its one element (a 0-d tensor scatters at index 0)."""
    return a.reshape(1) if a.ndim == 0 else a


def _part(src, shape):
    """The leading part of src that an index of ``shape`` covers (a view; src itself if it fits)."""
    if tuple(src.shape) == tuple(shape):
        return src
    return src[tuple(slice(0, n) for n in shape)]


def _pad(v, shape):
    """v in the leading corner of zeros(shape): a gradient of src's covered part, as src's."""
    if tuple(v.shape) == tuple(shape):
        return v
    return fn.index_add(v, tuple(slice(0, n) for n in v.shape), [], shape)


def _written(index, dim, shape):
    """A constant mask of the positions of zeros(shape) that index writes along dim."""
    mask = np.zeros(shape or (1,), dtype=bool)
    mask[_along(_1d(fn.const(index)), dim)] = True
    return mask.reshape(shape)


def _gather(g, dim, index):
    return fn.gather(g, dim, fn.const(index))


# -- scatter ----------------------------------------------------------------------------------------
def _scatter(x, index, src, *, dim):
    out = _1d(x).copy()
    i = _1d(index)
    out[_along(i, dim)] = _part(_1d(src), i.shape)
    return out.reshape(x.shape)


defop(
    "scatter",
    _scatter,
    lambda g, out, x, index, src, *, dim: fn.where(_written(index, dim, x.shape), 0.0, g),
    None,
    lambda g, out, x, index, src, *, dim: _pad(_gather(g, dim, index), src.shape),
    jvp=LINEAR,
    doc="x with src written at index along dim: dx = g where not written (0 where written), dsrc = gather(g, dim, index)",
)


# -- scatter_reduce -----------------------------------------------------------------------------------
def _lowest_highest(dtype):
    if dtype.kind == "f":
        return -np.inf, np.inf
    if dtype.kind == "b":
        return False, True
    info = np.iinfo(dtype)
    return info.min, info.max


def _counts(index, dim, shape, include_self, dtype):
    """How many values each position of the result averages (1 where none is written)."""
    n = np.full(shape or (1,), 1 if include_self else 0, dtype=np.int64)
    np.add.at(n, _along(_1d(fn.const(index)), dim), 1)
    n[n == 0] = 1
    return n.reshape(shape).astype(dtype, copy=False)


def _scatter_reduce(x, index, src, *, dim, reduce, include_self=True):
    out = _1d(x).copy()
    i = _1d(index)
    key = _along(i, dim)
    s = _part(_1d(src), i.shape)
    if reduce in ("sum", "mean"):
        if not include_self:
            out[key] = 0
        np.add.at(out, key, s)
        if reduce == "mean":
            n = _counts(index, dim, x.shape, include_self, out.dtype).reshape(out.shape)
            out = out / n if out.dtype.kind == "f" else out // n  # (integers: floor division, as torch)
    elif reduce == "prod":
        if not include_self:
            out[key] = 1
        np.multiply.at(out, key, s)
    else:
        lowest, highest = _lowest_highest(out.dtype)
        if not include_self:
            out[key] = lowest if reduce == "amax" else highest
        (np.maximum if reduce == "amax" else np.minimum).at(out, key, s)
    return out.reshape(x.shape)


def scatter_reduce_of(x, index, src, dim, reduce, include_self):
    return fn.apply_op(
        OPS["scatter_reduce"], [x, index, src], {"dim": dim, "reduce": reduce, "include_self": include_self}
    )


def _same(a, b):
    eq = a == b
    if a.dtype.kind == "f":
        eq = eq | (np.isnan(a) & np.isnan(b))
    return eq


def _extreme_hits(out, x, index, src, dim, include_self):
    """For amax/amin: which elements of x and of src equal their result (NaN-aware), and how many
    share each result (the gradient is split evenly among them). An element of x that the
    reduction left out (include_self=False at a written position) is not among them: torch counts
    it when it happens to equal the result, which loses part of the gradient; we do not."""
    oc, xc, idx = fn.const(out), fn.const(x), fn.const(index)
    sc = _part(fn.const(src), idx.shape)
    self_hit = _same(xc, oc)
    if not include_self:
        self_hit &= ~_written(idx, dim, x.shape)
    src_hit = _same(sc, gather_array(oc, idx, dim=dim))
    n = scatter_add_array(src_hit.astype(np.int64), idx, dim=dim, shape=x.shape) + self_hit
    n[n == 0] = 1
    return self_hit, src_hit, n.astype(oc.dtype)


def _prod_zeros(index, src, dim, shape):
    """src's zeros (of the covered part), and which of them is its position's only zero."""
    idx = fn.const(index)
    zero = _part(fn.const(src), idx.shape) == 0
    per_position = scatter_add_array(zero.astype(np.int64), idx, dim=dim, shape=shape)
    zeros_there = gather_array(per_position, idx, dim=dim)
    return zero, zero & (zeros_there == 1), zero & (zeros_there > 1)


def _scatter_reduce_self(g, out, x, index, src, *, dim, reduce, include_self=True):
    if reduce == "sum":
        gx = g
    elif reduce == "mean":
        gx = g / _counts(index, dim, x.shape, include_self, fn.const(out).dtype)
    elif reduce == "prod":
        # g times the product of the others: x's zeros replaced by 1 in a second reduction
        masked = fn.where(fn.const(x) == 0, 1.0, x)
        gx = g * scatter_reduce_of(masked, index, src, dim, "prod", include_self) / masked
    else:
        self_hit, _, n = _extreme_hits(out, x, index, src, dim, include_self)
        gx = g * (self_hit / n)
    return gx if include_self else fn.where(_written(index, dim, x.shape), 0.0, gx)


def _scatter_reduce_src(g, out, x, index, src, *, dim, reduce, include_self=True):
    if reduce == "sum":
        gs = _gather(g, dim, index)
    elif reduce == "mean":
        gs = _gather(g / _counts(index, dim, x.shape, include_self, fn.const(out).dtype), dim, index)
    elif reduce == "prod":
        zero, single, several = _prod_zeros(index, src, dim, x.shape)
        if fn._is_tensor(g) and several.any():
            raise RuntimeError(
                "scatter_reduce(): the derivative of the backward of reduce='prod' is not defined "
                "here when two or more zeros of src are scattered to one position (torch refuses "
                "it too); this backward can't be recorded (create_graph=True)"
            )
        part = _part(src, fn.const(index).shape)
        # a position's only zero: g times the product of the others, which a second reduction with
        # that zero replaced by 1 gives; every other element: g * out / src (out = 0 where there
        # is a zero, which is then the product of the others too)
        with_one = scatter_reduce_of(x, index, fn.where(single, 1.0, part), dim, "prod", include_self)
        gs = fn.where(
            single, _gather(g * with_one, dim, index), _gather(g * out, dim, index) / fn.where(zero, 1.0, part)
        )
    else:
        _, src_hit, n = _extreme_hits(out, x, index, src, dim, include_self)
        gs = _gather(g / n, dim, index) * src_hit
    return _pad(gs, src.shape)


def _scatter_reduce_jvp(tangents, out, x, index, src, *, dim, reduce, include_self=True):
    # each element of x and of src reaches one output element, so d out = the tangents times the
    # partial derivatives that the VJP rules give for g = 1, summed into their positions
    tx, _, ts = tangents
    params = {"dim": dim, "reduce": reduce, "include_self": include_self}
    ones = fn.ones_like(out)
    total = None
    if tx is not None:
        total = tx * _scatter_reduce_self(ones, out, x, index, src, **params)
    if ts is not None:
        idx = fn.const(index)
        w = _part(ts * _scatter_reduce_src(ones, out, x, index, src, **params), idx.shape)
        term = fn.scatter_add(w, idx, dim, tuple(out.shape))
        total = term if total is None else total + term
    return total


defop(
    "scatter_reduce",
    _scatter_reduce,
    _scatter_reduce_self,
    None,
    _scatter_reduce_src,
    jvp=_scatter_reduce_jvp,
    doc="x with src reduced (sum, prod, mean, amax, amin) into it at index along dim: dx = g d out/dx (g where "
    "kept), dsrc = gather(g d out/dsrc, dim, index) (amax/amin: split among the elements equal to the result)",
)


# -- index_copy, index_fill ----------------------------------------------------------------------------
def _slices(index, dim):
    return (slice(None),) * dim + (index,)


def _written_slices(index, dim, shape):
    mask = np.zeros(shape, dtype=bool)
    mask[_slices(fn.const(index), dim)] = True
    return mask


def _index_copy(x, index, source, *, dim):
    out = x.copy()
    out[_slices(index, dim)] = source
    return out


defop(
    "index_copy",
    _index_copy,
    lambda g, out, x, index, source, *, dim: fn.where(_written_slices(index, dim, x.shape), 0.0, g),
    None,
    lambda g, out, x, index, source, *, dim: g[_slices(fn.const(index), dim)],
    jvp=LINEAR,
    doc="x with source's slices copied to index along dim: dx = g where not copied to, dsource = g's slices at index",
)


def _index_fill(x, index, *, dim, value):
    out = x.copy()
    out[_slices(index, dim)] = value
    return out


defop(
    "index_fill",
    _index_fill,
    lambda g, out, x, index, *, dim, value: fn.where(_written_slices(index, dim, x.shape), 0.0, g),
    None,
    jvp=lambda tangents, out, x, index, *, dim, value: fn.where(_written_slices(index, dim, x.shape), 0.0, tangents[0]),
    doc="x with value in its slices at index along dim: dx = g where not filled, 0 where filled",
)


# -- masked_scatter -----------------------------------------------------------------------------------
def _masked_scatter(x, mask, source):
    out = x.copy()
    out[mask] = source.reshape(-1)[: np.count_nonzero(mask)]
    return out


def _masked_scatter_source_grad(g, out, x, mask, source):
    # the i-th True of mask took source's i-th element: g there, in source's order; 0 for the rest
    taken = g[fn.const(mask)]
    n = 1
    for k in source.shape:
        n *= k
    return _pad(taken, (n,)).reshape(source.shape)


defop(
    "masked_scatter",
    _masked_scatter,
    lambda g, out, x, mask, source: fn.where(fn.const(mask), 0.0, g),
    None,
    _masked_scatter_source_grad,
    jvp=LINEAR,
    doc="x with source's leading elements written where mask is True, in order: dx = g where not mask, "
    "dsource = g[mask] (then zeros)",
)
