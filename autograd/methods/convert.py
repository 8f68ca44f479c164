"""Conversions: to Python numbers and lists, to numpy, to another dtype, copies (clone and deepcopy)
and the printed form."""

from __future__ import annotations

import builtins
import copy
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import dtypes
from ..device import parse_to
from ..grad_mode import state
from ..ops import OPS
from ..printing import backward_name, format_tensor
from ..tensor import apply, make, unary
from .base import TensorMixin

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import DTypeLike

    from ..tensor import Tensor


class ConvertMethods(TensorMixin):
    __slots__ = ()

    def item(self) -> builtins.int | builtins.float | builtins.bool:
        """The value of a one-element tensor as a Python number (``torch.Tensor.item``)."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The values as nested Python lists of numbers (a number for a 0-d tensor)."""
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The ndarray that holds the data, shared, not copied; refused when the tensor requires grad."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. Use t.detach().numpy() instead.")
        return self.data

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self.data.size} elements is ambiguous")
        return builtins.bool(self.data)

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __index__(self) -> builtins.int:
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.data)

    def __deepcopy__(self, memo):
        """A copy of a leaf (its data, requires_grad and .grad), as torch makes; an operation's result
        can't be deep-copied (its copy would drag the whole graph below it along)."""
        if self._inputs and self.requires_grad:
            raise RuntimeError(
                f"Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol; this "
                f"one was computed by an operation (grad_fn=<{backward_name(self._op)}>). Deep-copy "
                f"t.detach() (or t.detach().clone()) instead."
            )
        new = make(self.data.copy())
        new.__class__ = type(self)  # (a Parameter stays a Parameter)
        memo[id(self)] = new
        new.requires_grad = self.requires_grad
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        return new

    def __repr__(self) -> str:
        return format_tensor(self)

    def __format__(self, spec: str) -> str:
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def clone(self) -> Tensor:
        """A copy of the data, recorded (the gradient flows back to this tensor)."""
        return unary(OPS["clone"], self)

    def to(self, *args, **kwargs) -> Tensor:
        """This tensor converted to a dtype, torch's overloads: ``to(dtype)``, ``to(device=None,
        dtype=None)``, ``to(other)`` (other's dtype), with ``non_blocking`` and ``copy``. The device
        can only be the CPU. Itself when nothing changes, unless ``copy=True``; differentiable."""
        _, dtype, _, copy = parse_to(args, kwargs)
        out = cast("Tensor", self) if dtype is None else self._to_dtype(dtype)
        return out.clone() if copy and out is self else out

    def _to_dtype(self, dtype):
        if dtype == self.dtype:
            return self
        if (self.requires_grad and state.grad_enabled and dtype.kind == "f") or self._tangents is not None:
            # (also for a batched or dual tensor: the op carries the batch and the tangent along)
            return apply(OPS["cast"], (self,), {"dtype": dtype})
        return make(self.data.astype(dtype))

    def float(self) -> Tensor:
        """This tensor as float32 (differentiable; the tensor itself when it already is)."""
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        """This tensor as float64 (differentiable; the tensor itself when it already is)."""
        return self.to(dtypes.float64)

    def long(self) -> Tensor:
        """This tensor as int64 (no gradient flows through an integer tensor)."""
        return self.to(dtypes.int64)

    def half(self) -> Tensor:
        """This tensor as float16 (differentiable)."""
        return self.to(dtypes.float16)

    def int(self) -> Tensor:
        """This tensor as int32 (floats truncated toward 0)."""
        return self.to(dtypes.int32)

    def short(self) -> Tensor:
        """This tensor as int16."""
        return self.to(dtypes.int16)

    def char(self) -> Tensor:
        """This tensor as int8."""
        return self.to(dtypes.int8)

    def byte(self) -> Tensor:
        """This tensor as uint8."""
        return self.to(dtypes.uint8)

    def bool(self) -> Tensor:
        """This tensor as bool (nonzero is True)."""
        return self.to(dtypes.bool)

    def type(self, dtype=None, non_blocking: builtins.bool = False, **kwargs):
        """With no argument, the tensor's type name as torch gives it ('ag.FloatTensor' where torch
        says 'torch.FloatTensor'); with a dtype or such a name, this tensor converted to it (itself
        when it already has it)."""
        if dtype is None:
            return dtypes.tensor_type(self.dtype)
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            return self.to(dtypes.from_tensor_type(dtype))
        return self.to(dtype)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """numpy's name for :meth:`to` (so that code written for arrays and Tensors can convert)."""
        return self.to(dtype)
