"""Reductions over dimensions and the softmax family."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .. import args, dtypes
from ..ops import OPS
from ..tensor import apply, is_tensor
from .base import TensorMixin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import DTypeLike

    from ..tensor import Tensor

_MaxResult = NamedTuple("max", [("values", "Tensor"), ("indices", "Tensor")])
_MinResult = NamedTuple("min", [("values", "Tensor"), ("indices", "Tensor")])
_AminmaxResult = NamedTuple("aminmax", [("min", "Tensor"), ("max", "Tensor")])


def _with_dtype(t, dtype, name):
    """t converted to ``dtype`` first (torch's ``dtype=`` of sum, prod, mean), or as it is."""
    if dtype is None:
        return t
    return t.to(dtypes.check_supported(np.dtype(dtype), f"{name}: dtype"))


class ReduceMethods(TensorMixin):
    __slots__ = ()

    def sum(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        dtype: DTypeLike | None = None,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Sum over ``dim`` (None: all; an int or a tuple), keeping reduced dims with ``keepdim``.
        Integer and bool tensors sum in int64 (torch's rule); ``dtype`` converts the tensor first."""
        if dtype is not None or self.data.dtype.kind == "u":  # (numpy would sum unsigned integers in uint64)
            x = _with_dtype(self, dtype, "sum")
            return (x.to(dtypes.int64) if x.dtype.kind == "u" else x).sum(dim, keepdim, axis=axis, keepdims=keepdims)
        dim = args.dims(args.dim_or_axis(dim, axis), self.ndim)
        keep = builtins.bool(keepdim if keepdims is None else keepdims)
        return apply(OPS["sum"], (self,), {"axis": dim, "keepdims": keep})

    def mean(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        dtype: DTypeLike | None = None,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Mean over ``dim`` (None: all; an int or a tuple); ``dtype`` (floating) converts first."""
        x = self if dtype is None else _with_dtype(self, dtype, "mean")
        if x.dtype.kind != "f":
            raise RuntimeError(
                f"mean() needs a floating tensor, got {x.dtype}; convert it with .float() or pass dtype=ag.float32"
            )
        dim = args.dims(args.dim_or_axis(dim, axis), x.ndim)
        keep = builtins.bool(keepdim if keepdims is None else keepdims)
        return apply(OPS["mean"], (x,), {"axis": dim, "keepdims": keep})

    def var(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: builtins.bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """sum (x - mean)**2 / (n - correction) over ``dim`` (correction=1 by default: Bessel's;
        ``unbiased=False`` is correction=0, as torch's older signature)."""
        x = args.need_float(self, "var")
        params = args.reduction(self, dim, axis, keepdim, keepdims, correction=args.correction(correction, unbiased))
        return apply(OPS["var"], (x,), params)

    def std(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: builtins.bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """sqrt(var) over ``dim`` (correction=1 by default)."""
        x = args.need_float(self, "std")
        params = args.reduction(self, dim, axis, keepdim, keepdims, correction=args.correction(correction, unbiased))
        return apply(OPS["std"], (x,), params)

    def amax(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Max over ``dim`` (None: all); the gradient is split evenly among tied maxima."""
        return apply(OPS["amax"], (self,), args.reduction(self, dim, axis, keepdim, keepdims, nonempty="amax"))

    def amin(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Min over ``dim`` (None: all); the gradient is split evenly among tied minima."""
        return apply(OPS["amin"], (self,), args.reduction(self, dim, axis, keepdim, keepdims, nonempty="amin"))

    def max(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None):
        """No dim: the largest element (0-d; gradient split among ties). With an int ``dim``: the
        named pair ``(values, indices)`` along it, indices of the first maximum (the gradient goes
        to that one). With a Tensor: :meth:`maximum`."""
        return self._extreme("max", OPS["amax"], OPS["argmax"], _MaxResult, dim, keepdim, axis)

    def min(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None):
        """No dim: the smallest element (0-d); with an int ``dim``: ``(values, indices)``; with a
        Tensor: :meth:`minimum`."""
        return self._extreme("min", OPS["amin"], OPS["argmin"], _MinResult, dim, keepdim, axis)

    def _extreme(self, name, value_op, index_op, result, dim, keepdim, axis):
        dim = args.dim_or_axis(dim, axis)
        if is_tensor(dim):
            return self.maximum(dim) if name == "max" else self.minimum(dim)
        if dim is None:
            return apply(value_op, (self,), args.reduction(self, None, None, False, None, nonempty=name))
        d = args.one_dim(dim, self.ndim, name)
        args.reduction(self, d, None, True, None, nonempty=name)  # validates a non-empty dimension
        axis_ = d if self.ndim else None
        indices = apply(index_op, (self,), {"axis": axis_, "keepdims": True})
        values = self.gather(d, indices)
        if not keepdim and self.ndim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return result(values, indices)

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
        """Index of the first maximum along ``dim`` (None: in the flattened tensor); int64, no gradient."""
        return self._arg("argmax", dim, keepdim, axis)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
        """Index of the first minimum along ``dim`` (None: in the flattened tensor); int64, no gradient."""
        return self._arg("argmin", dim, keepdim, axis)

    def _arg(self, name, dim, keepdim, axis):
        dim = args.dim_or_axis(dim, axis)
        d = None if dim is None or not self.ndim else args.one_dim(dim, self.ndim, name)
        args.reduction(self, d, None, keepdim, None, nonempty=name)
        return apply(OPS[name], (self,), {"axis": d, "keepdims": builtins.bool(keepdim)})

    def logsumexp(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """log sum exp(x) over ``dim``, computed as m + log sum exp(x - m) with m the max (stable)."""
        return apply(
            OPS["logsumexp"], (args.need_float(self, "logsumexp"),), args.reduction(self, dim, axis, keepdim, keepdims)
        )

    def softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """exp(x_i) / sum_j exp(x_j) along ``dim``, computed after subtracting the max (stable)."""
        return apply(OPS["softmax"], (args.need_float(self, "softmax"),), {"axis": self._softmax_dim(dim, axis)})

    def log_softmax(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """x_i - logsumexp(x) along ``dim`` (stable: no exp of large values, no log of 0)."""
        return apply(
            OPS["log_softmax"], (args.need_float(self, "log_softmax"),), {"axis": self._softmax_dim(dim, axis)}
        )

    def _softmax_dim(self, dim, axis):
        dim = args.dim_or_axis(dim, axis)
        if dim is None:
            raise TypeError("softmax/log_softmax need the dimension to normalise over, e.g. x.softmax(dim=-1)")
        d = args.one_dim(dim, self.ndim, "softmax")
        return d if self.ndim else None

    def prod(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        dtype: DTypeLike | None = None,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Product over ``dim``; d/dx_i = prod_{j != i} x_j, exact when x holds zeros. Integer and
        bool tensors multiply in int64 (torch's rule); ``dtype`` converts the tensor first."""
        if dtype is not None or self.data.dtype.kind == "u":  # (numpy would multiply unsigned integers in uint64)
            x = _with_dtype(self, dtype, "prod")
            return (x.to(dtypes.int64) if x.dtype.kind == "u" else x).prod(dim, keepdim, axis=axis, keepdims=keepdims)
        return apply(OPS["prod"], (self,), args.reduction(self, dim, axis, keepdim, keepdims))

    def norm(
        self,
        p=2,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """The vector p-norm (sum |x|**p)**(1/p) over ``dim`` (None: all); p may be inf, -inf, 0
        (the count of non-zeros) or 'fro' (= 2). The gradient is 0 where the norm is 0 (as torch)."""
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p={p!r} is not supported; use a number, inf, -inf or 'fro'")
            p = 2
        if p is None:
            p = 2
        return apply(
            OPS["norm"],
            (args.need_float(self, "norm"),),
            args.reduction(self, dim, axis, keepdim, keepdims, p=float(p)),
        )

    # -- logical reductions, counts, and reductions in pairs ---------------------------------------

    def all(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Whether every element over ``dim`` (None: all; an int or a tuple) is nonzero: bool (uint8
        for a uint8 tensor, as torch). No gradient."""
        return apply(OPS["all"], (self,), args.reduction(self, dim, axis, keepdim, keepdims))

    def any(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """Whether some element over ``dim`` is nonzero: bool (uint8 for uint8). No gradient."""
        return apply(OPS["any"], (self,), args.reduction(self, dim, axis, keepdim, keepdims))

    def count_nonzero(
        self, dim: int | Sequence[int] | None = None, *, axis: int | Sequence[int] | None = None
    ) -> Tensor:
        """How many elements over ``dim`` (None: all; an int or a tuple) are nonzero: int64."""
        return apply(OPS["count_nonzero"], (self,), {"axis": args.dims(args.dim_or_axis(dim, axis), self.ndim)})

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False, axis: int | None = None) -> _AminmaxResult:
        """The named pair ``(min, max)`` over ``dim`` (one int; None: all elements), as
        :meth:`amin` and :meth:`amax` give them (gradients split among ties)."""
        dim = args.dim_or_axis(dim, axis)
        if dim is not None and not isinstance(dim, (int, np.integer)):
            raise TypeError(f"aminmax(): dim must be an int or None, got {dim!r}")
        if self.data.size == 0:
            raise RuntimeError(
                f"aminmax(): cannot compute over an empty tensor (shape {self.shape}): the operation has no identity"
            )
        dims = tuple(range(self.ndim)) if dim is None and keepdim else dim
        return _AminmaxResult(self.amin(dims, keepdim), self.amax(dims, keepdim))
