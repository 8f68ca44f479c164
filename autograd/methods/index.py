"""Indexing methods: ``t[key]`` with numpy's keys and torch's placement of dimensions, gather,
index_select and masked_fill."""
from __future__ import annotations

import builtins

import numpy as np

from .. import args
from ..ops import OPS
from ..ops.index import Slot
from ..tensor import apply, is_tensor, make
from . import elementwise as _elementwise


class IndexMethods:
    __slots__ = ()

    def __getitem__(self, key):
        """numpy indexing (ints, slices, None, Ellipsis, bool masks, integer arrays and Tensors).

        Index Tensors are inputs of the node (no gradient); repeated indices accumulate their
        gradients."""
        steps = _torch_index_steps(key)
        if steps is not None:
            return self[steps[0]][steps[1]]
        template, idx = _index_template(key)
        try:
            return apply(OPS["getitem"], (self, *idx) if idx else (self,), {"key": template})
        except IndexError as e:
            raise _index_error(e, self) from None

    def gather(self, dim=None, index=None, *, axis=None):
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim=0 (likewise for other dims): ``index``
        has as many dimensions as self and is no larger outside ``dim``."""
        d = args.one_dim(args.dim_or_axis(dim, axis), self.ndim, "gather")
        index = _index_tensor(index, "gather", self, d)
        if index.ndim != self.ndim:
            raise RuntimeError(f"gather: index has {index.ndim} dimensions but the tensor has {self.ndim}; "
                               f"they must have the same number")
        for k in range(self.ndim):
            if k != d and index.shape[k] > self.shape[k]:
                raise RuntimeError(f"gather: index shape {index.shape} is larger than the tensor's shape "
                                   f"{self.shape} in dimension {k}; only dimension {d} may differ")
        try:
            return apply(OPS["gather"], (self, index), {"dim": d})
        except IndexError as e:
            raise _index_error(e, self) from None

    def index_select(self, dim=None, index=None, *, axis=None):
        """The slices of self at the positions ``index`` (a 1-d integer tensor) along ``dim``."""
        d = args.one_dim(args.dim_or_axis(dim, axis), self.ndim, "index_select")
        index = _index_tensor(index, "index_select", self, d)
        if index.ndim > 1:
            raise RuntimeError(f"index_select: index must be 1-d (or 0-d), got shape {index.shape}")
        if self.ndim == 0:
            raise RuntimeError("index_select: a 0-d tensor has no dimension to select along; reshape it first")
        try:
            return apply(OPS["index_select"], (self, index), {"dim": d})
        except IndexError as e:
            raise _index_error(e, self) from None

    def masked_fill(self, mask, value):
        """self with ``value`` where the boolean ``mask`` (broadcast to self's shape) is True; the
        gradient is 0 there. ``value``: a number or a 0-d Tensor (which then gets the gradient)."""
        mask = mask if is_tensor(mask) else make(np.asarray(mask))
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype} (use mask != 0)")
        try:
            ok = np.broadcast_shapes(self.shape, mask.shape) == self.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the tensor's "
                             f"shape {self.shape}")
        if is_tensor(value):
            if value.ndim:
                raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            return _elementwise.where(mask, value.to(self.dtype), self)
        return apply(OPS["masked_fill"], (self, mask), {"value": value})


def _int_like(k):
    """Whether the index part k selects one position as an int does (for torch, a 0-d integer
    tensor too)."""
    if isinstance(k, (int, np.integer)):
        return not isinstance(k, (builtins.bool, np.bool_))
    return (is_tensor(k) or isinstance(k, np.ndarray)) and k.ndim == 0 and k.dtype.kind in "iu"


def _torch_index_steps(key):
    """For a key that mixes integers with index arrays: (basic key, advanced key) to apply one after
    the other, else None.

    numpy counts an integer among the advanced indices, so ``x[0, :, [0, 1]]`` puts the array's
    dimension first (2, n); torch selects with the integers first and then places the arrays'
    dimensions as if the integers were not there: (n, 2). Applying the integers (and slices) first as
    a basic index, then the arrays to the result, gives torch's placement."""
    if not isinstance(key, tuple):
        return None
    ints = advanced = False
    for k in key:
        if _int_like(k):
            ints = True
        elif is_tensor(k) or isinstance(k, (np.ndarray, list)):
            advanced = True
    if not (ints and advanced):
        return None
    basic, rest = [], []
    for k in key:
        if _int_like(k):
            basic.append(int(k))
        elif k is None:
            basic.append(None)
            rest.append(slice(None))  # the new axis is a dimension of the first step's result
        elif k is Ellipsis:
            basic.append(k)
            rest.append(k)
        elif isinstance(k, slice):
            basic.append(k)
            rest.append(slice(None))
        else:  # an index array, or a bool mask covering as many dimensions as it has
            arr = k.data if is_tensor(k) else np.asarray(k)
            basic.extend([slice(None)] * (arr.ndim if arr.dtype == np.bool_ else 1))
            rest.append(k)
    return tuple(basic), tuple(rest)


def _index_key(key):
    """A numpy index from a user's key: Tensors become their arrays."""
    if isinstance(key, tuple):
        return tuple(k.data if is_tensor(k) else k for k in key)
    if is_tensor(key):
        return key.data
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _index_template(key):
    """(key, index Tensors) for ``x[key]``: each Tensor in the key becomes a Slot filled by an
    input of the getitem node (see ops/index.py); lists become arrays."""
    if is_tensor(key):
        return Slot(0), (key,)
    if isinstance(key, tuple):
        if not any(is_tensor(k) or isinstance(k, list) for k in key):
            return key, ()
        parts, idx = [], []
        for k in key:
            if is_tensor(k):
                parts.append(Slot(len(idx)))
                idx.append(k)
            else:
                parts.append(np.asarray(k) if isinstance(k, list) else k)
        return tuple(parts), tuple(idx)
    if isinstance(key, list):
        return np.asarray(key), ()
    return key, ()


def _index_error(e, t):
    """numpy's IndexError in torch's words: 'index 5 is out of bounds for dimension 0 with size 3'."""
    return IndexError(f"{str(e).replace(' axis ', ' dimension ')} (indexing a tensor of shape {t.shape})")


def _index_tensor(index, name, t, dim):
    """The index of gather/index_select: integer, and (as in torch) never negative."""
    index = index if is_tensor(index) else make(np.asarray(index))
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got dtype {index.dtype}")
    if index.data.size and index.data.min() < 0:
        raise IndexError(f"{name}: index {index.data.min()} is out of bounds for dimension {dim} with size "
                         f"{t.shape[dim] if t.ndim else 1} (negative indices are not allowed here)")
    return index
