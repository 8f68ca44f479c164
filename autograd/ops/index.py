"""Indexing and gathering.

A ``key`` is a numpy index (ints, slices, None, Ellipsis, bool and integer arrays) or, when the
user indexed with Tensors, a *template*: a tuple in which each index Tensor is replaced by a
:class:`Slot` naming which of the node's extra inputs fills it. The index Tensors are then inputs
of the node (API.md: every Tensor an operation reads is an input), so ``ag.Graph.forward`` can
feed new indices; they get no gradient.

Reading ``x[key]`` copies each selected element to the output once per time it is selected, so
the VJP adds ``g`` back at ``key`` with repeated indices accumulating (``np.add.at``): that is
the multi-path chain rule, each repetition being one path.
"""

import numpy as np

from . import LINEAR, defop, fn


class Slot:
    """A place in an index template filled by the node's index input number ``k``."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __repr__(self):
        return f"Slot({self.k})"

    def __eq__(self, other):
        return isinstance(other, Slot) and other.k == self.k

    def __hash__(self):
        return hash(("Slot", self.k))


def build_key(key, idx):
    """The numpy index of a template ``key`` with its slots filled from ``idx`` (arrays)."""
    if not idx:
        return key
    if isinstance(key, Slot):
        return idx[key.k]
    return tuple(idx[k.k] if isinstance(k, Slot) else k for k in key)


def _is_basic(key):
    """Whether ``key`` selects each element at most once (no arrays: ints, slices, None, Ellipsis)."""
    parts = key if isinstance(key, tuple) else (key,)
    return not any(isinstance(k, (np.ndarray, list)) for k in parts)


def _getitem(x, *idx, key):
    return np.asarray(x[build_key(key, idx)])


def index_add_array(g, *idx, key, shape):
    """zeros(shape) with g added at key; repeated indices accumulate."""
    key = build_key(key, idx)
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic(key):
        z[key] = g
    else:
        np.add.at(z, key, g)
    return z


defop(
    "getitem",
    _getitem,
    lambda g, out, x, *idx, key: fn.index_add(g, key, idx, x.shape),
    jvp=LINEAR,
    doc="x[key]: dx = zeros with g added at key (repeated indices accumulate)",
)
defop(
    "index_add",
    index_add_array,
    lambda g, out, x, *idx, key, shape: g[build_key(key, [fn.const(i) for i in idx])],
    jvp=LINEAR,
    doc="zeros(shape) with x added at key (the VJP of getitem): dx = g[key]",
)


# -- gather / scatter_add along one dimension (torch.gather) ------------------------------------
def _along(index, dim):
    """The full numpy index that reads position index[i_0, ..., i_n] along ``dim`` for every i."""
    nd = index.ndim
    return tuple(
        index if d == dim else np.arange(n).reshape((n,) + (1,) * (nd - d - 1)) for d, n in enumerate(index.shape)
    )


def gather_array(x, index, *, dim):
    if x.ndim == 0:  # a 0-d tensor gathers along its one implicit position
        return x.reshape(1)[index.reshape(1)].reshape(index.shape)
    return np.asarray(x[_along(index, dim)])


def scatter_add_array(g, index, *, dim, shape):
    z = np.zeros(shape, dtype=g.dtype)
    if not shape:
        np.add.at(z.reshape(1), index.reshape(1), g.reshape(1))
        return z
    np.add.at(z, _along(index, dim), g)
    return z


defop(
    "gather",
    gather_array,
    lambda g, out, x, index, *, dim: fn.scatter_add(g, fn.const(index), dim, x.shape),
    None,
    jvp=LINEAR,
    doc="out[..i..] = x[..index[..i..]..] along dim: dx = g scatter-added at index along dim",
)
defop(
    "scatter_add",
    scatter_add_array,
    lambda g, out, x, index, *, dim, shape: fn.gather(g, dim, fn.const(index)),
    None,
    jvp=LINEAR,
    doc="zeros(shape) with x scatter-added at index along dim (the VJP of gather): dx = gather(g, dim, index)",
)


# -- index_select and masked_fill -----------------------------------------------------------------
def _index_select(x, index, *, dim):
    return np.asarray(np.take(x, index.reshape(-1), axis=dim))


def _index_select_grad(g, out, x, index, *, dim):
    key = (slice(None),) * dim + (Slot(0),)
    return fn.index_add(g, key, [fn.const(index).reshape(-1)], x.shape)


defop(
    "index_select",
    _index_select,
    _index_select_grad,
    None,
    jvp=LINEAR,
    doc="x's slices at index along dim: dx = zeros with g added at index along dim (repeats accumulate)",
)


def _masked_fill(x, mask, *, value):
    return np.where(mask, value, x).astype(x.dtype, copy=False)


def _masked_fill_jvp(tangents, out, x, mask, *, value):
    return fn.where(mask, 0.0, tangents[0])  # the filled entries are constants: no tangent


defop(
    "masked_fill",
    _masked_fill,
    lambda g, out, x, mask, *, value: fn.where(mask, 0.0, g),
    None,
    jvp=_masked_fill_jvp,
    doc="x with value where mask: dx = g where not mask, 0 where mask",
)


# -- take_along_dim: gather with broadcasting (also the values of sort, topk, cummax...) -----------
def along_shapes(x_shape, index_shape, axis):
    """The shapes x and index broadcast to in take_along_dim: each other's, except along ``axis``,
    where each keeps its own size (torch's rule)."""
    if not x_shape:
        return x_shape, index_shape
    x_like = list(x_shape)
    x_like[axis] = index_shape[axis]
    common = list(np.broadcast_shapes(tuple(x_like), index_shape))
    index_b = tuple(common)
    common[axis] = x_shape[axis]
    return tuple(common), index_b


def _take_along_dim(x, index, *, axis):
    xs, js = along_shapes(x.shape, index.shape, axis)
    return gather_array(np.broadcast_to(x, xs), np.broadcast_to(index, js), dim=axis)


def _take_along_dim_grad(g, out, x, index, *, axis):
    # g scatter-added at the indices into x's broadcast shape (the engine sums the broadcast away)
    xs, js = along_shapes(x.shape, index.shape, axis)
    return fn.scatter_add(g, np.broadcast_to(fn.const(index), js), axis, xs)


defop(
    "take_along_dim",
    _take_along_dim,
    _take_along_dim_grad,
    None,
    jvp=LINEAR,
    doc="x's values at index along dim (broadcast): dx = g scatter-added at index along dim (repeats accumulate)",
)


# -- nonzero ----------------------------------------------------------------------------------------
def _nonzero(x, *, column=None):
    if column is None:
        return np.argwhere(x).astype(np.int64, copy=False)
    return np.nonzero(x)[column].astype(np.int64, copy=False)


defop(
    "nonzero",
    _nonzero,
    None,
    doc="the indices of the nonzero elements, one row each (or one column: as_tuple): no gradient",
)


from . import scatter  # noqa: E402,F401  (scatter, scatter_reduce, index_copy, index_fill, masked_scatter)
