"""Shape methods: the same values in another shape (views where numpy gives one), and pieces."""
from __future__ import annotations

import numpy as np

from .. import args
from ..ops import OPS
from ..tensor import apply


class ShapeMethods:
    __slots__ = ()

    @property
    def T(self):
        """The tensor with its dimensions reversed (the transpose of a matrix)."""
        if self.ndim < 2:
            return self
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None, *, axis=None):
        """The shape, or the size of dimension ``dim``."""
        dim = args.dim_or_axis(dim, axis)
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"size({dim}): a 0-d tensor has no dimensions")
        return self.shape[args.dims(dim, self.ndim)[0]]

    def reshape(self, *shape):
        """The same values in a new shape (one dimension may be -1)."""
        shape = args.sizes(shape, "shape")
        try:  # numpy validates the shape as it reshapes
            return apply(OPS["reshape"], (self,), {"shape": shape})
        except ValueError:
            raise RuntimeError(f"shape {list(shape)} is invalid for a tensor of {self.data.size} elements "
                               f"(shape {self.shape})") from None

    view = reshape

    def transpose(self, dim0: int, dim1: int):
        """Swap two dimensions."""
        d0, d1 = (args.dims(d, self.ndim)[0] if self.ndim else 0 for d in (dim0, dim1))
        return apply(OPS["transpose"], (self,), {"dim0": d0, "dim1": d1})

    def permute(self, *dims):
        """Reorder the dimensions: ``permute(2, 0, 1)``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = tuple(int(d) % max(self.ndim, 1) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dimensions")
        return apply(OPS["permute"], (self,), {"dims": dims})

    def unsqueeze(self, dim: int = None, *, axis=None):
        """Insert a dimension of size 1 at ``dim``."""
        d = int(args.dim_or_axis(dim, axis))
        if not -self.ndim - 1 <= d <= self.ndim:
            raise IndexError(f"unsqueeze: dim {d} is out of range for a tensor with {self.ndim} dimension(s)")
        d = d % (self.ndim + 1)
        return apply(OPS["unsqueeze"], (self,), {"dim": d})

    def broadcast_to(self, shape):
        """A read-only view broadcast to ``shape`` (numpy's rules)."""
        shape = tuple(int(s) for s in shape)
        if shape == self.shape:
            return self
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: shape {self.shape} does not broadcast to {shape}") from None
        return apply(OPS["expand"], (self,), {"shape": shape})

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (new dimensions in front; -1 keeps a dimension's size)."""
        sizes = args.sizes(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: {len(sizes)} sizes {sizes} given for a tensor with {self.ndim} "
                               f"dimensions (shape {self.shape}); give at least {self.ndim}")
        target = []
        for i, s in enumerate(sizes):
            n = self.shape[i - lead] if i >= lead else None
            if s == -1 and n is not None:
                s = n
            if s < 0 or (n is not None and n != 1 and n != s):
                raise RuntimeError(f"expand: can't expand shape {self.shape} to {sizes}: dimension {i} "
                                   f"would go from {n if n is not None else 'new'} to {s} (only size-1 "
                                   f"dimensions expand; -1 keeps an existing dimension)")
            target.append(s)
        return self.broadcast_to(tuple(target))

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """The dimensions start_dim..end_dim (inclusive) merged into one; a 0-d tensor becomes 1-d."""
        if self.ndim == 0:
            return apply(OPS["flatten"], (self,), {"start": 0, "end": -1})
        s, e = args.one_dim(start_dim, self.ndim, "flatten"), args.one_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        if s == e:
            return self
        return apply(OPS["flatten"], (self,), {"start": s, "end": e})

    def squeeze(self, dim=None, *, axis=None):
        """Remove the size-1 dimensions (all, or those among ``dim``: an int or a tuple; a listed
        dimension that is not of size 1 stays, as in torch)."""
        dims = args.dims(args.dim_or_axis(dim, axis), self.ndim)
        drop = [d for d in (range(self.ndim) if dims is None else dims) if self.shape[d] == 1]
        if not drop:
            return self
        return apply(OPS["squeeze"], (self,), {"dims": tuple(drop)})

    def split(self, split_size_or_sections, dim: int = 0, *, axis=None) -> tuple:
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
                raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n}, the size "
                                 f"of dimension {d}")
        pieces, start = [], 0
        for k in sizes:
            pieces.append(self[(slice(None),) * d + (slice(start, start + k),)])
            start += k
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0, *, axis=None) -> tuple:
        """At most ``chunks`` pieces along ``dim``, each of size ceil(n / chunks) but the last."""
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "chunk")
        if int(chunks) <= 0:
            raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
        n = self.shape[d] if self.ndim else 1
        if n == 0:
            return self.split([0] * int(chunks), d)
        return self.split(-(-n // int(chunks)), d)
