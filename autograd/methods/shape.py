"""Shape methods: the same values in another shape (views where numpy gives one), and pieces."""

from __future__ import annotations

import builtins
import math
import operator
from typing import TYPE_CHECKING, cast

import numpy as np

from .. import args, dtypes
from ..ops import OPS
from ..tensor import apply, as_tensor, is_tensor, make, to_array, unary
from .base import TensorMixin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import DTypeLike

    from ..tensor import Tensor


def _is_dtype(value):
    return isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic))


def _int(value, what):
    """An int argument (a Python or numpy integer, or a one-element integer Tensor)."""
    if isinstance(value, builtins.bool):
        raise TypeError(f"{what} must be an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {value!r}") from None


def _dim_list(dims, ndim, name):
    """One dim or a sequence of dims as a tuple of non-negative ints (distinct)."""
    given = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(args.one_dim(_int(d, f"{name}: dim"), ndim, name) for d in given)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: dim {list(given)} appears multiple times in the list of dims")
    return out


class ShapeMethods(TensorMixin):
    __slots__ = ()

    @property
    def T(self) -> Tensor:
        """The tensor with its dimensions reversed (the transpose of a matrix)."""
        if self.ndim < 2:
            return cast("Tensor", self)
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None, *, axis=None):
        """The shape, or the size of dimension ``dim``."""
        dim = args.dim_or_axis(dim, axis)
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"size({dim}): a 0-d tensor has no dimensions")
        return self.shape[args.dims(dim, self.ndim)[0]]

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same values in a new shape (one dimension may be -1)."""
        shape = args.sizes(shape, "shape")
        try:  # numpy validates the shape as it reshapes
            return apply(OPS["reshape"], (self,), {"shape": shape})
        except ValueError:
            raise RuntimeError(
                f"shape {list(shape)} is invalid for a tensor of {self.data.size} elements (shape {self.shape})"
            ) from None

    def view(self, *shape) -> Tensor:
        """The same values in a new shape (a view), as :meth:`reshape`; ``view(dtype)`` reads the same
        bytes as another dtype instead (no gradient, as torch): with a different element size the
        last dimension scales by the ratio of the sizes."""
        if len(shape) == 1 and _is_dtype(shape[0]):
            return self._view_dtype(np.dtype(shape[0]))
        return self.reshape(*shape)

    def _view_dtype(self, dtype):
        dtypes.check_supported(dtype, "view(dtype)")
        old, new = self.dtype.itemsize, dtype.itemsize
        if old != new:
            what = f"to view {self.dtype} as {dtype} (different element sizes)"
            if self.ndim == 0:
                raise RuntimeError(f"view(dtype): a 0-d tensor can't be viewed {what[3:]}")
            if self.shape[-1] != 1 and self.data.strides[-1] != old:
                raise RuntimeError(
                    f"view(dtype): the last dimension must be contiguous (stride 1) {what}; "
                    f"call .contiguous() or .clone() first"
                )
            if new > old and (self.shape[-1] * old) % new:
                raise RuntimeError(
                    f"view(dtype): the last dimension's size {self.shape[-1]} must be divisible by {new // old} {what}"
                )
        return apply(OPS["view_dtype"], (self,), {"dtype": dtype})

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dimensions."""
        d0, d1 = (args.dims(d, self.ndim)[0] if self.ndim else 0 for d in (dim0, dim1))
        return apply(OPS["transpose"], (self,), {"dim0": d0, "dim1": d1})

    def permute(self, *dims) -> Tensor:
        """Reorder the dimensions: ``permute(2, 0, 1)``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = tuple(int(d) % max(self.ndim, 1) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dimensions")
        return apply(OPS["permute"], (self,), {"dims": dims})

    def unsqueeze(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Insert a dimension of size 1 at ``dim``."""
        d = int(args.dim_or_axis(dim, axis))
        if not -self.ndim - 1 <= d <= self.ndim:
            raise IndexError(f"unsqueeze: dim {d} is out of range for a tensor with {self.ndim} dimension(s)")
        d = d % (self.ndim + 1)
        return apply(OPS["unsqueeze"], (self,), {"dim": d})

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """A read-only view broadcast to ``shape`` (numpy's rules)."""
        shape = tuple(int(s) for s in shape)
        if shape == self.shape:
            return cast("Tensor", self)
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: shape {self.shape} does not broadcast to {shape}") from None
        return apply(OPS["expand"], (self,), {"shape": shape})

    def expand(self, *sizes) -> Tensor:
        """Broadcast to ``sizes`` (new dimensions in front; -1 keeps a dimension's size)."""
        sizes = args.sizes(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: {len(sizes)} sizes {sizes} given for a tensor with {self.ndim} "
                f"dimensions (shape {self.shape}); give at least {self.ndim}"
            )
        target = []
        for i, s in enumerate(sizes):
            n = self.shape[i - lead] if i >= lead else None
            if s == -1 and n is not None:
                s = n
            if s < 0 or (n is not None and n != 1 and n != s):
                raise RuntimeError(
                    f"expand: can't expand shape {self.shape} to {sizes}: dimension {i} "
                    f"would go from {n if n is not None else 'new'} to {s} (only size-1 "
                    f"dimensions expand; -1 keeps an existing dimension)"
                )
            target.append(s)
        return self.broadcast_to(tuple(target))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """The dimensions start_dim..end_dim (inclusive) merged into one; a 0-d tensor becomes 1-d."""
        if self.ndim == 0:
            return apply(OPS["flatten"], (self,), {"start": 0, "end": -1})
        s, e = args.one_dim(start_dim, self.ndim, "flatten"), args.one_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        if s == e:
            return cast("Tensor", self)
        return apply(OPS["flatten"], (self,), {"start": s, "end": e})

    def squeeze(self, dim: int | Sequence[int] | None = None, *, axis: int | Sequence[int] | None = None) -> Tensor:
        """Remove the size-1 dimensions (all, or those among ``dim``: an int or a tuple; a listed
        dimension that is not of size 1 stays, as in torch)."""
        dims = args.dims(args.dim_or_axis(dim, axis), self.ndim)
        drop = [d for d in (range(self.ndim) if dims is None else dims) if self.shape[d] == 1]
        if not drop:
            return cast("Tensor", self)
        return apply(OPS["squeeze"], (self,), {"dims": tuple(drop)})

    def split(
        self, split_size_or_sections: int | Sequence[int], dim: int = 0, *, axis: int | None = None
    ) -> tuple[Tensor, ...]:
        """Pieces along ``dim``: of size ``split_size_or_sections`` (the last may be smaller) or of
        the listed sizes (which must add up to the dimension's size). Each piece is a slice."""
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "split")
        if self.ndim == 0:
            raise RuntimeError("split: a 0-d tensor has no dimension to split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0 and not (size == 0 and n == 0):
                raise ValueError(f"split: the split size must be positive, got {size}")
            sizes = [min(size, n - a) for a in range(0, n, size)] if n else [0]
        else:
            sizes = [int(k) for k in split_size_or_sections]
            if sum(sizes) != n or any(k < 0 for k in sizes):
                raise ValueError(
                    f"split: sizes {sizes} must be non-negative and add up to {n}, the size of dimension {d}"
                )
        pieces, start = [], 0
        for k in sizes:
            pieces.append(self[(slice(None),) * d + (slice(start, start + k),)])
            start += k
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple[Tensor, ...]:
        """At most ``chunks`` pieces along ``dim``, each of size ceil(n / chunks) but the last."""
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "chunk")
        if int(chunks) <= 0:
            raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
        n = self.shape[d] if self.ndim else 1
        if n == 0:
            return self.split([0] * int(chunks), d)
        return self.split(-(-n // int(chunks)), d)

    # -- reordering, repeating, moving dimensions --------------------------------------------------

    def flip(self, *dims: int | Sequence[int]) -> Tensor:
        """The elements in reverse order along ``dims`` (a copy, as torch)."""
        if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
            dims = tuple(dims[0])
        return apply(OPS["flip"], (self,), {"dims": _dim_list(dims, self.ndim, "flip") if self.ndim else ()})

    def fliplr(self) -> Tensor:
        """flip(1) of a tensor with at least 2 dimensions."""
        if self.ndim < 2:
            raise RuntimeError(f"fliplr: the tensor must have at least 2 dimensions, got shape {self.shape}")
        return self.flip(1)

    def flipud(self) -> Tensor:
        """flip(0) of a tensor with at least 1 dimension."""
        if self.ndim < 1:
            raise RuntimeError("flipud: the tensor must have at least 1 dimension, got a 0-d tensor")
        return self.flip(0)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Shift the elements cyclically by ``shifts`` along ``dims`` (ints or sequences of the same
        length); without dims, along the flattened tensor, keeping the shape."""
        shift_list = (shifts,) if isinstance(shifts, (int, np.integer)) or is_tensor(shifts) else tuple(shifts)
        shift_list = tuple(_int(s, "roll: shifts") for s in shift_list)
        if dims is None:
            if len(shift_list) != 1:
                raise RuntimeError(f"roll: without dims, shifts must be one int, got {shifts!r}")
            return apply(OPS["roll"], (self,), {"shifts": shift_list, "dims": None})
        if self.ndim == 0:
            raise IndexError("roll: a 0-d tensor has no dimension to roll along (omit dims)")
        dim_list = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        dim_list = tuple(args.one_dim(_int(d, "roll: dims"), self.ndim, "roll") for d in dim_list)
        if len(dim_list) != len(shift_list):
            raise RuntimeError(
                f"roll: shifts and dims must have the same length, got {len(shift_list)} shifts and "
                f"{len(dim_list)} dims"
            )
        return apply(OPS["roll"], (self,), {"shifts": shift_list, "dims": dim_list})

    def repeat(self, *repeats) -> Tensor:
        """The tensor tiled ``repeats[i]`` times along each dimension (as many repeats as dimensions
        or more; extra ones add leading dimensions). d/dx: g summed over the copies."""
        repeats = args.sizes(repeats, "repeat")
        if len(repeats) < self.ndim:
            raise RuntimeError(
                f"repeat: {len(repeats)} repeats {list(repeats)} given for a tensor with "
                f"{self.ndim} dimensions (shape {self.shape}); give at least {self.ndim}"
            )
        if any(r < 0 for r in repeats):
            raise RuntimeError(f"repeat: repeats can't be negative, got {list(repeats)}")
        return apply(OPS["repeat"], (self,), {"repeats": repeats})

    def tile(self, *dims: int | Sequence[int]) -> Tensor:
        """:meth:`repeat` where fewer repeats than dimensions are padded with leading 1s."""
        dims = args.sizes(dims, "tile")
        return self.repeat(*((1,) * (self.ndim - len(dims)) + dims))

    def repeat_interleave(self, repeats, dim=None, *, output_size=None) -> Tensor:
        """Each element (each slice along ``dim``; without dim, of the flattened tensor) repeated
        ``repeats`` times (an int, or a tensor of one count per element). The gradient of each
        element sums those of its copies."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else args.one_dim(dim, self.ndim, "repeat_interleave")
        if x.ndim == 0:
            x = x.reshape(1)
        n = x.shape[d]
        counts = repeats.data if is_tensor(repeats) else np.asarray(repeats)
        if counts.dtype.kind not in "iu" or counts.ndim > 1:
            raise RuntimeError(
                f"repeat_interleave: repeats must be an int or a 0-d or 1-d integer tensor, got {repeats!r}"
            )
        if counts.ndim == 1 and counts.size not in (1, n):
            raise RuntimeError(
                f"repeat_interleave: repeats must have the same size as the input along dim {d}, "
                f"got {counts.size} repeats for size {n}"
            )
        if (counts < 0).any():
            raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {counts.tolist()}")
        positions = np.repeat(np.arange(n), np.broadcast_to(counts.reshape(-1), (n,)))
        if output_size is not None and output_size != positions.size:
            raise RuntimeError(
                f"repeat_interleave: output_size={output_size} but the repeats add up to {positions.size}"
            )
        return x.index_select(d, make(positions))

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Move dimension(s) ``source`` to position(s) ``destination``, the others keeping their order."""
        src = _dim_list(source, self.ndim, "movedim")
        dst = _dim_list(destination, self.ndim, "movedim")
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim: source and destination must have the same number of dims, got {list(src)} and {list(dst)}"
            )
        order = [d for d in range(self.ndim) if d not in src]
        for s, t in sorted(zip(dst, src)):
            order.insert(s, t)
        return cast("Tensor", self) if order == list(range(self.ndim)) else self.permute(*order)

    moveaxis = movedim

    def narrow(self, dim: int, start, length: int) -> Tensor:
        """The slice start:start + length along ``dim`` (a view); ``start`` may be negative or a 0-d tensor."""
        d = args.one_dim(dim, self.ndim, "narrow")
        if self.ndim == 0:
            raise RuntimeError("narrow: a 0-d tensor has no dimension to narrow")
        n = self.shape[d]
        start, length = _int(start, "narrow: start"), _int(length, "narrow: length")
        if not -n <= start <= n:
            raise IndexError(f"narrow: start {start} is out of range for dimension {d} of size {n}")
        if start < 0:
            start += n
        if length < 0 or start + length > n:
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension {d}'s size ({n})")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Dimension ``dim`` split into ``sizes`` (one of them may be -1): a view."""
        d = args.one_dim(dim, self.ndim, "unflatten")
        if self.ndim == 0:
            raise RuntimeError("unflatten: a 0-d tensor has no dimension to unflatten")
        sizes = args.sizes((sizes,), "unflatten: sizes")
        n = self.shape[d]
        known = math.prod(s for s in sizes if s != -1)
        unknown = sum(s == -1 for s in sizes)
        if not sizes or unknown > 1 or (unknown == 0 and known != n) or (unknown and (known == 0 or n % known)):
            raise RuntimeError(
                f"unflatten: sizes {list(sizes)} don't multiply up to the size of dim {d} ({n}) of "
                f"the tensor of shape {self.shape}"
            )
        sizes = tuple(n // known if s == -1 else s for s in sizes)
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1 :])

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows of ``size`` elements every ``step`` along ``dimension``, as a new last
        dimension (a view). d/dx: each window's gradient added back to its elements."""
        d = args.one_dim(dimension, self.ndim, "unfold")
        size, step = _int(size, "unfold: size"), _int(step, "unfold: step")
        n = self.shape[d] if self.ndim else 1
        if size < 0 or size > n:
            raise RuntimeError(f"unfold: the maximum size for dimension {d} is {n} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"unfold: step is {step} but must be > 0")
        return apply(OPS["unfold"], (self,), {"dim": d, "size": size, "step": step})

    # -- triangles and diagonals --------------------------------------------------------------------

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dimensions (on and below the ``diagonal``-th diagonal)."""
        return self._triangle("tril", diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dimensions (on and above the ``diagonal``-th diagonal)."""
        return self._triangle("triu", diagonal)

    def _triangle(self, name, diagonal):
        if self.ndim < 2:
            raise RuntimeError(f"{name}: the tensor must have at least 2 dimensions, got shape {self.shape}")
        return apply(OPS[name], (self,), {"diagonal": _int(diagonal, f"{name}: diagonal")})

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The ``offset``-th diagonal of the (dim1, dim2) planes, as the last dimension (a view)."""
        if self.ndim < 2:
            raise RuntimeError(f"diagonal: the tensor must have at least 2 dimensions, got shape {self.shape}")
        d1, d2 = (args.one_dim(d, self.ndim, "diagonal") for d in (dim1, dim2))
        if d1 == d2:
            raise RuntimeError(f"diagonal: dim1 and dim2 can't be identical, got {dim1} and {dim2}")
        return apply(OPS["diagonal"], (self,), {"offset": _int(offset, "diagonal: offset"), "dim1": d1, "dim2": d2})

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """The last dimension as the ``offset``-th diagonal of new (dim1, dim2) planes (zeros elsewhere)."""
        d1, d2 = (args.one_dim(d, self.ndim + 1, "diag_embed") for d in (dim1, dim2))
        if d1 == d2:
            raise RuntimeError(f"diag_embed: dim1 and dim2 can't be identical, got {dim1} and {dim2}")
        x = self.reshape(1) if self.ndim == 0 else self
        return apply(OPS["diag_embed"], (x,), {"offset": _int(offset, "diag_embed: offset"), "dim1": d1, "dim2": d2})

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-d tensor as the ``diagonal``-th diagonal of a square matrix; a matrix's
        ``diagonal``-th diagonal as a 1-d tensor (a copy)."""
        if self.ndim == 1:
            return self.diag_embed(diagonal, 0, 1)
        if self.ndim == 2:
            return unary(OPS["clone"], self.diagonal(diagonal))
        raise RuntimeError(f"diag(): supports 1-d or 2-d tensors, got {self.ndim}-d (shape {self.shape})")

    def trace(self) -> Tensor:
        """The sum of a matrix's diagonal (integers in int64)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, got a tensor with {self.ndim} dimensions")
        if self.dtype.kind == "b":
            raise RuntimeError("trace: not implemented for bool tensors (as torch); convert first, e.g. t.int()")
        return self.diagonal().sum()

    # -- like another tensor, and new tensors of this one's dtype ------------------------------------

    def expand_as(self, other: Tensor) -> Tensor:
        """:meth:`expand` to ``other``'s shape."""
        return self.expand(*as_tensor(other).shape)

    def view_as(self, other: Tensor) -> Tensor:
        """:meth:`view` in ``other``'s shape."""
        return self.view(*as_tensor(other).shape)

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor converted to ``other``'s dtype."""
        return self.to(as_tensor(other).dtype)

    def _new(self, array, requires_grad):
        t = make(array)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def new_zeros(
        self, *size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False
    ) -> Tensor:
        """zeros of ``size`` with this tensor's dtype (or ``dtype``)."""
        return self._new(np.zeros(args.sizes(size), dtype or self.dtype), requires_grad)

    def new_ones(
        self, *size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False
    ) -> Tensor:
        """ones of ``size`` with this tensor's dtype (or ``dtype``)."""
        return self._new(np.ones(args.sizes(size), dtype or self.dtype), requires_grad)

    def new_empty(
        self, *size: int | Sequence[int], dtype: DTypeLike | None = None, requires_grad: bool = False
    ) -> Tensor:
        """An uninitialised tensor of ``size`` with this tensor's dtype (or ``dtype``)."""
        return self._new(np.empty(args.sizes(size), dtype or self.dtype), requires_grad)

    def new_full(
        self,
        size: int | Sequence[int],
        fill_value: float,
        *,
        dtype: DTypeLike | None = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """``fill_value`` everywhere in ``size``, with this tensor's dtype (or ``dtype``)."""
        return self._new(np.full(args.sizes((size,)), fill_value, dtype or self.dtype), requires_grad)

    def new_tensor(self, data, *, dtype=None, requires_grad=False) -> Tensor:
        """A copy of ``data`` (a leaf) with this tensor's dtype (or ``dtype``)."""
        return self._new(to_array(data, dtype or self.dtype), requires_grad)
