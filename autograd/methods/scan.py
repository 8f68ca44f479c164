"""Scans, sorting and selection: cumsum, cumprod, cummax, cummin, logcumsumexp, sort, argsort,
topk, kthvalue, median, mode, unique.

The ones that return values and indices (torch's named pairs: ``sort(...).values``) compute the
indices with an entry of the table and read the values with ``take_along_dim``, so the gradient of
each value goes to the element it was taken from (ops/sort.py).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .. import args, dtypes
from ..ops import OPS
from ..tensor import apply
from .base import TensorMixin

if TYPE_CHECKING:
    from ..tensor import Tensor

_Sort = NamedTuple("sort", [("values", "Tensor"), ("indices", "Tensor")])
_Topk = NamedTuple("topk", [("values", "Tensor"), ("indices", "Tensor")])
_Kthvalue = NamedTuple("kthvalue", [("values", "Tensor"), ("indices", "Tensor")])
_Median = NamedTuple("median", [("values", "Tensor"), ("indices", "Tensor")])
_Mode = NamedTuple("mode", [("values", "Tensor"), ("indices", "Tensor")])
_Cummax = NamedTuple("cummax", [("values", "Tensor"), ("indices", "Tensor")])
_Cummin = NamedTuple("cummin", [("values", "Tensor"), ("indices", "Tensor")])

_TAKE = OPS["take_along_dim"]


def _scan_dim(t, dim, axis, name):
    dim = args.dim_or_axis(dim, axis)
    if dim is None:
        raise TypeError(f"{name}() missing the dimension to scan along: pass dim, e.g. x.{name}(dim=0)")
    return args.one_dim(dim, t.ndim, name)


def _cast_for_sum(t, dtype, name):
    """t converted to ``dtype``, or for an integer or bool t without one, to int64 (torch's rule)."""
    if dtype is not None:
        return t.to(dtypes.check_supported(np.dtype(dtype), f"{name}: dtype"))
    if t.dtype.kind in "biu" and t.dtype != dtypes.int64:
        return t.to(dtypes.int64)
    return t


def _no_bool(t, name):
    if t.dtype.kind == "b":
        raise RuntimeError(f"{name}() does not support bool tensors (as torch); convert first, e.g. t.int()")


def _values(t, indices, d):
    return apply(_TAKE, (t, indices), {"axis": d})


def _keepdim_pair(t, index_op, params, d, keepdim, result):
    """(values, indices) of a selection along d that returns one element per slice."""
    indices = apply(OPS[index_op], (t,), {**params, "axis": d, "keepdims": True})
    values = _values(t, indices, d)
    if not keepdim and t.ndim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return result(values, indices)


def _nonempty(t, d, name):
    if t.ndim and t.shape[d] == 0:
        raise IndexError(f"{name}(): dimension {d} has size 0 (shape {t.shape}); it has no element to select")


class ScanMethods(TensorMixin):
    __slots__ = ()

    # -- scans -----------------------------------------------------------------------------------

    def cumsum(self, dim=None, *, dtype=None, axis=None) -> Tensor:
        """out_j = x_0 + ... + x_j along ``dim``; integer and bool tensors sum in int64 (torch's
        rule), ``dtype`` converts first. d/dx_i = the sum of g from position i to the end."""
        d = _scan_dim(self, dim, axis, "cumsum")
        return apply(OPS["cumsum"], (_cast_for_sum(self, dtype, "cumsum"),), {"axis": d, "reverse": False})

    def cumprod(self, dim=None, *, dtype=None, axis=None) -> Tensor:
        """out_j = x_0 * ... * x_j along ``dim`` (integers in int64); the gradient is exact where x
        holds zeros (to any order)."""
        d = _scan_dim(self, dim, axis, "cumprod")
        return apply(OPS["cumprod"], (_cast_for_sum(self, dtype, "cumprod"),), {"axis": d})

    def logcumsumexp(self, dim=None, *, axis=None) -> Tensor:
        """out_j = log(exp(x_0) + ... + exp(x_j)) along ``dim``, computed stably."""
        d = _scan_dim(self, dim, axis, "logcumsumexp")
        return apply(OPS["logcumsumexp"], (args.need_float(self, "logcumsumexp"),), {"axis": d, "reverse": False})

    def cummax(self, dim=None, *, axis=None) -> _Cummax:
        """The named pair ``(values, indices)`` of the running maximum along ``dim`` (the latest
        index among ties, as torch); the gradient of each value goes to that index."""
        d = _scan_dim(self, dim, axis, "cummax")
        indices = apply(OPS["argcummax"], (self,), {"axis": d})
        return _Cummax(_values(self, indices, d), indices)

    def cummin(self, dim=None, *, axis=None) -> _Cummin:
        """The named pair ``(values, indices)`` of the running minimum along ``dim``."""
        d = _scan_dim(self, dim, axis, "cummin")
        indices = apply(OPS["argcummin"], (self,), {"axis": d})
        return _Cummin(_values(self, indices, d), indices)

    # -- sorting ---------------------------------------------------------------------------------

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False, *, axis=None) -> _Sort:
        """The named pair ``(values, indices)`` of the elements sorted along ``dim`` (NaN last, or
        first when ``descending``); ``stable`` keeps tied elements in their order (without it, ties
        come in the order torch's sort leaves them). d/dx: g back to where each value came from."""
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "sort")
        indices = self.argsort(d, descending, stable)
        return _Sort(_values(self, indices, d), indices)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False, *, axis=None) -> Tensor:
        """The indices that sort the tensor along ``dim`` (int64, no gradient); see :meth:`sort`."""
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "argsort")
        return apply(
            OPS["argsort"],
            (self,),
            {"axis": d, "descending": builtins.bool(descending), "stable": builtins.bool(stable)},
        )

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, axis=None) -> _Topk:
        """The named pair ``(values, indices)`` of the k largest (``largest=False``: smallest)
        elements along ``dim``, largest first when ``sorted``; among ties, torch's choice."""
        _no_bool(self, "topk")
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "topk")
        k = args.sizes((k,), "topk: k")[0]
        n = self.shape[d] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"topk: selected index k = {k} is out of range: dimension {d} has {n} elements")
        indices = apply(
            OPS["argtopk"],
            (self,),
            {"k": k, "axis": d, "largest": builtins.bool(largest), "sorted": builtins.bool(sorted)},
        )
        return _Topk(_values(self, indices, d), indices)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False, *, axis=None) -> _Kthvalue:
        """The named pair ``(values, indices)`` of the k-th smallest element (k from 1) along ``dim``."""
        _no_bool(self, "kthvalue")
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "kthvalue")
        k = args.sizes((k,), "kthvalue: k")[0]
        _nonempty(self, d, "kthvalue")
        n = self.shape[d] if self.ndim else 1
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): k = {k} is out of range for dimension {d} of size {n} (k counts from 1)")
        return _keepdim_pair(self, "argkthvalue", {"k": k}, d, keepdim, _Kthvalue)

    def median(self, dim=None, keepdim: bool = False, *, axis=None):
        """No dim: the lower median of all elements (0-d; NaN if any is NaN; the gradient is split
        among the elements equal to it). With ``dim``: the named pair ``(values, indices)`` along it
        (the gradient goes to the index)."""
        _no_bool(self, "median")
        dim = args.dim_or_axis(dim, axis)
        if dim is None:
            if self.data.size == 0 and self.dtype.kind != "f":
                raise RuntimeError(f"median() of an empty {self.dtype} tensor has no value")
            return apply(OPS["median"], (self,))
        d = args.one_dim(dim, self.ndim, "median")
        _nonempty(self, d, "median")
        return _keepdim_pair(self, "argmedian", {}, d, keepdim, _Median)

    def mode(self, dim: int = -1, keepdim: bool = False, *, axis=None) -> _Mode:
        """The named pair ``(values, indices)`` of the most frequent value along ``dim`` (the
        smallest of the most frequent ones; torch's index among its occurrences)."""
        d = args.one_dim(axis if axis is not None else dim, self.ndim, "mode")
        _nonempty(self, d, "mode")
        return _keepdim_pair(self, "argmode", {}, d, keepdim, _Mode)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
        """The distinct values, sorted (torch's CPU unique sorts even with ``sorted=False``), or the
        distinct slices along ``dim``; with ``return_inverse`` also each element's (slice's) position
        among them, with ``return_counts`` how often each occurs. No gradient (as torch)."""
        params = {"dim": None if dim is None else args.one_dim(dim, self.ndim, "unique")}
        if params["dim"] is not None and self.ndim == 0:
            raise IndexError("unique: a 0-d tensor has no dimension to take unique slices along")
        if params["dim"] is not None and any(n == 0 for i, n in enumerate(self.shape) if i != params["dim"]):
            raise RuntimeError(
                f"unique: the tensor of shape {self.shape} has an empty dimension other than dim "
                f"{params['dim']}, so there are no slices to compare (as torch refuses)"
            )
        values = apply(OPS["unique"], (self,), {**params, "output": "values"})
        if not (return_inverse or return_counts):
            return values
        out = [values]
        if return_inverse:
            out.append(apply(OPS["unique"], (self,), {**params, "output": "inverse"}))
        if return_counts:
            out.append(apply(OPS["unique"], (self,), {**params, "output": "counts"}))
        return tuple(out)
