"""Indexing methods: ``t[key]`` with numpy's keys and torch's placement of dimensions, gather,
index_select and masked_fill."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import args
from ..ops import OPS
from ..ops.index import Slot, along_shapes
from ..tensor import apply, is_tensor, make, to_array
from . import elementwise as _elementwise
from .base import TensorMixin

if TYPE_CHECKING:
    from ..tensor import Tensor


class IndexMethods(TensorMixin):
    __slots__ = ()

    def __getitem__(self, key: Any) -> Tensor:
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

    def gather(self, dim=None, index=None, *, axis=None) -> Tensor:
        """``out[i][j][k] = self[index[i][j][k]][j][k]`` for dim=0 (likewise for other dims): ``index``
        has as many dimensions as self and is no larger outside ``dim``."""
        d = args.one_dim(args.dim_or_axis(dim, axis), self.ndim, "gather")
        index = _index_tensor(index, "gather", self, d)
        if index.ndim != self.ndim:
            raise RuntimeError(
                f"gather: index has {index.ndim} dimensions but the tensor has {self.ndim}; "
                f"they must have the same number"
            )
        for k in range(self.ndim):
            if k != d and index.shape[k] > self.shape[k]:
                raise RuntimeError(
                    f"gather: index shape {index.shape} is larger than the tensor's shape "
                    f"{self.shape} in dimension {k}; only dimension {d} may differ"
                )
        try:
            return apply(OPS["gather"], (self, index), {"dim": d})
        except IndexError as e:
            raise _index_error(e, self) from None

    def index_select(self, dim=None, index=None, *, axis=None) -> Tensor:
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

    def masked_fill(self, mask, value) -> Tensor:
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
            raise ValueError(
                f"masked_fill: mask of shape {mask.shape} does not broadcast to the tensor's shape {self.shape}"
            )
        if is_tensor(value):
            if value.ndim:
                raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            return _elementwise.where(mask, value.to(self.dtype), self)
        return apply(OPS["masked_fill"], (self, mask), {"value": value})

    # -- reading at indices: take, take_along_dim, masked_select, nonzero ---------------------------

    def take(self, index) -> Tensor:
        """The elements of the flattened tensor at ``index`` (any shape; negative counts from the end)."""
        index = _int_tensor(index, "take")
        n = self.data.size
        if index.data.size and not (-n <= index.data.min() and index.data.max() < n):
            bad = index.data.max() if index.data.max() >= n else index.data.min()
            raise IndexError(f"take: index {bad} is out of range for a tensor of {n} elements (shape {self.shape})")
        return self.reshape(-1)[index]

    def take_along_dim(self, indices, dim=None) -> Tensor:
        """The values at ``indices`` along ``dim`` (gather, with self and indices broadcast against
        each other except along dim); without dim, of the flattened tensor at the flattened indices."""
        indices = _int_tensor(indices, "take_along_dim")
        if dim is None:
            return self.reshape(-1).take_along_dim(indices.reshape(-1), 0)
        d = args.one_dim(dim, self.ndim, "take_along_dim")
        if indices.ndim != self.ndim:
            raise RuntimeError(
                f"take_along_dim: input and indices should have the same number of dimensions, got "
                f"{self.ndim} for input (shape {self.shape}) and {indices.ndim} for indices (shape "
                f"{indices.shape})"
            )
        try:
            along_shapes(self.shape, indices.shape, d)
        except ValueError:
            raise RuntimeError(
                f"take_along_dim: input of shape {self.shape} and indices of shape {indices.shape} do "
                f"not broadcast (apart from dimension {d})"
            ) from None
        _in_range(indices, self.shape[d] if self.ndim else 1, d, "take_along_dim")
        return apply(OPS["take_along_dim"], (self, indices), {"axis": d})

    def masked_select(self, mask) -> Tensor:
        """The elements where the bool ``mask`` is True (self and mask broadcast together), as a 1-d tensor."""
        mask = _bool_mask(mask, "masked_select")
        shape = _broadcast(self.shape, mask.shape, "masked_select", "mask")
        return self.broadcast_to(shape)[mask.broadcast_to(shape)]

    def nonzero(self, *, as_tuple: bool = False):
        """The indices of the nonzero elements: an (n, ndim) int64 tensor, one row each; with
        ``as_tuple``, one 1-d tensor per dimension (a 0-d tensor counts as 1-d)."""
        if not as_tuple:
            return apply(OPS["nonzero"], (self,))
        x = self.reshape(1) if self.ndim == 0 else self
        return tuple(apply(OPS["nonzero"], (x,), {"column": i}) for i in range(x.ndim))

    # -- writing into a copy at indices -------------------------------------------------------------

    def scatter(self, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
        """A copy with ``src[i][j][k]`` written at ``[index[i][j][k]][j][k]`` for dim=0 (likewise for
        other dims; src may be a number, or ``value=``). ``reduce='add'|'multiply'`` combines instead
        (as scatter_reduce's 'sum'|'prod', with their gradients). d/dself: g where not written;
        d/dsrc: g gathered at index."""
        if src is None:
            if value is None:
                raise TypeError("scatter: give src (a tensor or a number) or value=")
            src = value
        d, index = _scatter_index(self, dim, index, "scatter")
        if not is_tensor(src):  # a number: written in self's dtype
            src = make(np.full(index.shape, src, dtype=self.dtype))
        _scatter_src(self, d, index, src, "scatter")
        if reduce is not None:
            names = {"add": "sum", "multiply": "prod"}
            if reduce not in names:
                raise RuntimeError(
                    f"scatter: reduce must be 'add' or 'multiply', got {reduce!r} (scatter_reduce has more reductions)"
                )
            return self.scatter_reduce(d, index, src, names[reduce])
        return apply(OPS["scatter"], (self, index, src), {"dim": d})

    def scatter_add(self, dim, index, src) -> Tensor:
        """A copy with src's elements added at index along ``dim`` (scatter_reduce's 'sum')."""
        return self.scatter_reduce(dim, index, src, "sum")

    def scatter_reduce(self, dim, index, src, reduce: str, *, include_self: bool = True) -> Tensor:
        """A copy with src's elements reduced into position index along ``dim`` by ``reduce``:
        'sum', 'prod', 'mean' (integers: floor division), 'amax' or 'amin'; with ``include_self``
        self's value takes part, else a written position holds the reduction of src alone. Gradients
        as torch's (amax/amin split evenly among the elements equal to the result; an element that
        does not take part gets none)."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(
                f"scatter_reduce: reduce must be one of 'sum', 'prod', 'mean', 'amax', 'amin', got {reduce!r}"
            )
        d, index = _scatter_index(self, dim, index, "scatter_reduce")
        src = src if is_tensor(src) else make(to_array_like(src, self))
        _scatter_src(self, d, index, src, "scatter_reduce")
        return apply(
            OPS["scatter_reduce"],
            (self, index, src),
            {"dim": d, "reduce": reduce, "include_self": builtins.bool(include_self)},
        )

    def index_add(self, dim, index, source, *, alpha=1) -> Tensor:
        """A copy with ``alpha * source``'s slices added to the slices at ``index`` along ``dim``
        (repeated indices accumulate). d/dself = g; d/dsource = alpha g's slices at index."""
        d, index, source, view = _index_args(self, dim, index, source, "index_add")
        added = apply(OPS["index_add"], (source, index), {"key": (slice(None),) * d + (Slot(0),), "shape": view.shape})
        out = view + (added if alpha == 1 else added * alpha)
        return out.reshape(()) if self.ndim == 0 else out

    def index_copy(self, dim, index, source) -> Tensor:
        """A copy with source's slices copied to the slices at ``index`` along ``dim``."""
        d, index, source, view = _index_args(self, dim, index, source, "index_copy")
        out = apply(OPS["index_copy"], (view, index, source), {"dim": d})
        return out.reshape(()) if self.ndim == 0 else out

    def index_fill(self, dim, index, value) -> Tensor:
        """A copy with ``value`` (a number, or a 0-d tensor that then gets the gradient) in the slices at
        ``index`` along ``dim`` (negative indices count from the end)."""
        view = self.reshape(1) if self.ndim == 0 else self
        d = args.one_dim(dim, self.ndim, "index_fill")
        index = _slice_index(index, "index_fill")
        n = view.shape[d]
        if index.data.size and not (-n <= index.data.min() and index.data.max() < n):
            bad = index.data.max() if index.data.max() >= n else index.data.min()
            raise IndexError(f"index_fill: index {bad} is out of bounds for dimension {d} with size {n}")
        if is_tensor(value):
            if value.ndim:
                raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            mask = np.zeros(view.shape, dtype=bool)
            mask[(slice(None),) * d + (index.data,)] = True
            out = _elementwise.where(make(mask), value.to(self.dtype), view)
        else:
            out = apply(OPS["index_fill"], (view, index), {"dim": d, "value": value})
        return out.reshape(()) if self.ndim == 0 else out

    def masked_scatter(self, mask, source) -> Tensor:
        """A copy with source's elements, in order, written where the bool ``mask`` is True (self and
        mask broadcast together). d/dself: g where not mask; d/dsource: g[mask], then zeros."""
        mask = _bool_mask(mask, "masked_scatter")
        source = source if is_tensor(source) else make(to_array_like(source, self))
        if source.dtype != self.dtype:
            raise RuntimeError(f"masked_scatter: source must have self's dtype {self.dtype}, got {source.dtype}")
        shape = _broadcast(self.shape, mask.shape, "masked_scatter", "mask")
        needed = int(np.count_nonzero(np.broadcast_to(mask.data, shape)))
        if source.data.size < needed:
            raise RuntimeError(
                f"masked_scatter: source has {source.data.size} elements but mask has {needed} True "
                f"values (shape {shape}); source needs at least as many"
            )
        return apply(OPS["masked_scatter"], (self.broadcast_to(shape), mask.broadcast_to(shape), source))

    # -- in place ---------------------------------------------------------------------------------

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None) -> Tensor:
        """In-place ``scatter``: ``self[index[i][j]][j] = src[i][j]`` for dim=0 (or ``value``, ``reduce``)."""
        return self._inplace("scatter_", lambda x: x.scatter(dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim, index, src) -> Tensor:
        """In-place ``scatter_add``: ``self[index[i][j]][j] += src[i][j]`` for dim=0 (likewise other dims)."""
        return self._inplace("scatter_add_", lambda x: x.scatter_add(dim, index, src))

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True) -> Tensor:
        """In-place ``scatter_reduce``: combine src into self at ``index`` by sum, prod, mean, amax or amin."""
        return self._inplace(
            "scatter_reduce_", lambda x: x.scatter_reduce(dim, index, src, reduce, include_self=include_self)
        )

    def index_add_(self, dim, index, source, *, alpha=1) -> Tensor:
        """In-place ``index_add``: self.select(dim, index[i]) += alpha * source.select(dim, i)."""
        return self._inplace("index_add_", lambda x: x.index_add(dim, index, source, alpha=alpha))

    def index_copy_(self, dim, index, source) -> Tensor:
        """In-place ``index_copy``: self.select(dim, index[i]) = source.select(dim, i)."""
        return self._inplace("index_copy_", lambda x: x.index_copy(dim, index, source))

    def index_fill_(self, dim, index, value) -> Tensor:
        """In-place ``index_fill``: the entries at ``index`` along ``dim`` are set to ``value``."""
        return self._inplace("index_fill_", lambda x: x.index_fill(dim, index, value))

    def masked_scatter_(self, mask, source) -> Tensor:
        """In-place ``masked_scatter``: the True positions of ``mask`` take source's values in order."""
        mask = _bool_mask(mask, "masked_scatter_")
        if _broadcast(self.shape, mask.shape, "masked_scatter_", "mask") != self.shape:
            raise RuntimeError(
                f"masked_scatter_: mask of shape {mask.shape} does not broadcast to the tensor's shape {self.shape}"
            )
        return self._inplace("masked_scatter_", lambda x: x.masked_scatter(mask, source))


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
    basic: list[Any] = []
    rest: list[Any] = []
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
        parts: list[Any] = []
        idx: list[Any] = []
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
        raise IndexError(
            f"{name}: index {index.data.min()} is out of bounds for dimension {dim} with size "
            f"{t.shape[dim] if t.ndim else 1} (negative indices are not allowed here)"
        )
    return index


def to_array_like(data, t):
    """User data (a number, list or array) as an array of t's dtype."""
    return to_array(data, t.dtype)


def _int_tensor(index, name):
    index = index if is_tensor(index) else make(np.asarray(index))
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got dtype {index.dtype}")
    return index


def _in_range(index, n, dim, name):
    """Raise torch's IndexError for an index outside [0, n) (no negative indices here)."""
    data = index.data
    if data.size and (data.min() < 0 or data.max() >= n):
        bad = data.min() if data.min() < 0 else data.max()
        raise IndexError(f"{name}: index {bad} is out of bounds for dimension {dim} with size {n}")


def _bool_mask(mask, name):
    mask = mask if is_tensor(mask) else make(np.asarray(mask))
    if mask.dtype != np.bool_:
        raise TypeError(f"{name}: mask must be a bool tensor, got dtype {mask.dtype} (use mask != 0)")
    return mask


def _broadcast(a, b, name, what):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(f"{name}: the tensor's shape {a} and the {what}'s shape {b} do not broadcast") from None


def _scatter_index(t, dim, index, name):
    """The dim and index of scatter/scatter_reduce, checked as torch checks them."""
    d = args.one_dim(dim, t.ndim, name)
    index = _int_tensor(index, name)
    if index.ndim != t.ndim:
        raise RuntimeError(
            f"{name}: index has {index.ndim} dimensions but the tensor has {t.ndim}; they must have the same number"
        )
    for k in range(t.ndim):
        if k != d and index.shape[k] > t.shape[k]:
            raise RuntimeError(
                f"{name}: index of shape {index.shape} is larger than the tensor's shape {t.shape} in "
                f"dimension {k}; only dimension {d} may be larger"
            )
    _in_range(index, t.shape[d] if t.ndim else 1, d, name)
    return d, index


def _scatter_src(t, d, index, src, name):
    if src.dtype != t.dtype:
        raise RuntimeError(f"{name}: src must have the tensor's dtype {t.dtype}, got {src.dtype}")
    if src.ndim != index.ndim or any(i > s for i, s in zip(index.shape, src.shape)):
        raise RuntimeError(
            f"{name}: index of shape {index.shape} must be no larger than src of shape {src.shape} "
            f"in every dimension (and have as many dimensions)"
        )


def _slice_index(index, name):
    """The index of index_add/index_copy/index_fill: an integer tensor of one or no dimension."""
    index = _int_tensor(index, name)
    if index.ndim > 1:
        raise IndexError(f"{name}: index must have 1 dimension or none, got shape {index.shape}")
    return index.reshape(-1) if index.ndim == 0 else index


def _index_args(t, dim, index, source, name):
    """(dim, index, source, t as at least 1-d) for index_add/index_copy, checked as torch checks them."""
    view = t.reshape(1) if t.ndim == 0 else t
    d = args.one_dim(dim, t.ndim, name)
    index = _slice_index(index, name)
    source = source if is_tensor(source) else make(to_array_like(source, t))
    if source.dtype != t.dtype:
        raise RuntimeError(f"{name}: source must have the tensor's dtype {t.dtype}, got {source.dtype}")
    if source.ndim == 0 and index.shape == (1,):  # one slice of a 1-d tensor, given as a number
        source = source.reshape(1)
    expected = view.shape[:d] + (index.shape[0],) + view.shape[d + 1 :]
    if source.shape != expected:
        raise RuntimeError(
            f"{name}: source of shape {source.shape} does not match: the tensor's shape {t.shape} "
            f"with {index.shape[0]} slices along dimension {d} is {expected}"
        )
    _in_range(index, view.shape[d], d, name)
    return d, index, source, view
