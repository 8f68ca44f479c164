"""Interoperation, as a torch tensor offers it: the device (``t.device``, ``.cpu()``), numpy's
protocols (``np.asarray(t)``, ``np.exp(t)``, ``ndarray + t``) and DLPack (``t.__dlpack__``,
``ag.from_dlpack``) for zero-copy exchange with numpy and PyTorch."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn, cast

import numpy as np

from ..device import CPU
from ..device import check as check_device
from ..device import device as _device
from ..tensor import make
from .base import TensorMixin

if TYPE_CHECKING:
    from ..tensor import Tensor

_NEEDS_DETACH = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."

# numpy's ufuncs that are Python operators: called with a Tensor operand (as ``ndarray + t`` does), they
# run as the Tensor's operator, recorded and differentiable; ``np.less(a, t)`` is ``t > a`` and so on
_OPERATORS = {
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"),
    np.floor_divide: ("__floordiv__", "__rfloordiv__"),
    np.remainder: ("__mod__", "__rmod__"),
    np.bitwise_and: ("__and__", "__rand__"),
    np.bitwise_or: ("__or__", "__ror__"),
    np.bitwise_xor: ("__xor__", "__rxor__"),
    np.left_shift: ("__lshift__", "__rlshift__"),
    np.right_shift: ("__rshift__", "__rrshift__"),
    np.less: ("__lt__", "__gt__"),
    np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"),
    np.greater_equal: ("__ge__", "__le__"),
    np.equal: ("__eq__", "__eq__"),
    np.not_equal: ("__ne__", "__ne__"),
}


def _wrap(result):
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, (np.ndarray, np.generic)):
        return make(np.asarray(result))
    return result


class InteropMethods(TensorMixin):
    __slots__ = ()

    # -- the device ----------------------------------------------------------------------------------

    @property
    def device(self) -> _device:
        """Where the tensor lives: always ``device(type='cpu')`` (numpy arrays in host memory)."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        """False: chainrule has no CUDA tensors (torch's flag, for code that branches on it)."""
        return False

    @property
    def is_cpu(self) -> bool:
        """True: every tensor lives on the CPU."""
        return True

    def cpu(self) -> Tensor:
        """The tensor itself (it is on the CPU already), as torch returns it."""
        return cast("Tensor", self)

    def cuda(self, device=None, non_blocking: bool = False) -> NoReturn:
        """Always an error that names the available device: chainrule computes on the CPU."""
        check_device(
            "cuda" if device is None else device if isinstance(device, (str, _device)) else f"cuda:{device}", "cuda()"
        )
        # a CPU device passes the check: torch refuses it here too
        raise RuntimeError(
            f"cuda(): invalid device {str(device)!r}, must be a cuda device; the tensor is on the CPU "
            f"already (chainrule computes on the CPU)"
        )

    # -- numpy's protocols ---------------------------------------------------------------------------

    # numpy hands ``ndarray (op) Tensor`` and ufuncs of mixed operands to the Tensor, not the other way
    __array_priority__ = 1000

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the tensor's array itself (no copy unless numpy asks for one or for
        another dtype); like torch, refused for a tensor that requires grad (detach it first)."""
        if self.requires_grad:
            raise RuntimeError(_NEEDS_DETACH)
        # numpy 2 trusts the copy flag: np.array(t) passes copy=True and must not share t's memory
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """A numpy ufunc called on Tensors. An operator's ufunc (``ndarray + t``, ``np.multiply(t, a)``)
        runs as the Tensor's operator: recorded and differentiable. Any other ufunc (``np.exp(t)``,
        ``np.add.reduce(t)``) computes on the arrays and gives a new Tensor that does not require
        grad, as torch does; like torch it refuses a tensor that requires grad, and with ``out=`` it
        writes there and returns what numpy returns."""
        names = _OPERATORS.get(ufunc)
        if names is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            a, b = inputs
            return getattr(a, names[0])(b) if isinstance(a, InteropMethods) else getattr(b, names[1])(a)
        arrays = [np.asarray(x) if isinstance(x, InteropMethods) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(x) if isinstance(x, InteropMethods) else x for x in kwargs["out"])
            return getattr(ufunc, method)(*arrays, **kwargs)
        return _wrap(getattr(ufunc, method)(*arrays, **kwargs))

    # -- DLPack ----------------------------------------------------------------------------------------

    def __dlpack__(self, **kwargs):
        """The DLPack capsule of the tensor's array (``torch.from_dlpack(t)``, ``np.from_dlpack(t)``
        share its memory); refused for a tensor that requires grad, as torch refuses."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        """``(kDLCPU, 0)``: DLPack's code for host memory."""
        return self.data.__dlpack_device__()


def from_dlpack(ext):
    """A Tensor sharing memory with ``ext``, any object with ``__dlpack__`` (a torch tensor, an
    ndarray, another array library's array on the CPU): writes to one show in the other. As with
    torch, a tensor that requires grad must be detached before it is exported."""
    from .. import dtypes

    if not hasattr(ext, "__dlpack__"):
        raise TypeError(
            f"from_dlpack expects an object with __dlpack__ (a torch tensor, an ndarray, ...), got {type(ext).__name__}"
        )
    arr = np.from_dlpack(ext)
    dtypes.check_supported(arr.dtype, "from_dlpack")
    return make(arr)
