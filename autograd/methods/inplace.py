"""In-place methods: ``add_``, ``mul_``, ``zero_``, ``copy_``, ``t[key] = v``, ``+=`` and friends.

In a graph, an in-place operation makes the tensor the node of the computation, applied to a node
holding its old value, so gradients flow through both roles; version counters make a backward that
needs an overwritten value raise (autograd/versions.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes, versions
from ..grad_mode import state
from ..ops import OPS
from ..ops.inplace import KeyChain
from ..tensor import apply, is_tensor, make
from .base import TensorMixin
from .elementwise import where
from .index import _index_key, _torch_index_steps

if TYPE_CHECKING:
    from ..tensor import Tensor


class InplaceMethods(TensorMixin):
    __slots__ = ()

    def _inplace(self, what, compute):
        """Apply an in-place operation: ``compute(x)`` gives the new value from a tensor x holding
        the current one. In a graph, this tensor becomes the node of that computation, applied to
        a node holding its old value (so gradients flow through the old role and the new one)."""
        if state.grad_enabled:
            if self.requires_grad:
                if not self._inputs:
                    raise RuntimeError(
                        f"a leaf Tensor that requires grad is being used in an in-place operation ({what}). "
                        f"Do it under `with ag.no_grad():` (as optimizers do), or work on a copy (t.clone())."
                    )
                if self.data.base is not None:
                    raise RuntimeError(
                        f"in-place operation {what} on a view of another tensor that requires grad: the "
                        f"gradient of the tensor it views would not see the change. clone() the view first."
                    )
                result = compute(self._shell())
            else:
                result = compute(self)
                if result.requires_grad:  # a constant receiving values that require grad
                    result = compute(self._shell())
            if result.requires_grad:
                self._inputs, self._op, self._params = result._inputs, result._op, result._params
                versions.REWIRES[0] += 1
                self.requires_grad, self._freed, self._scope = True, False, result._scope
        else:
            result = compute(self)
        np.copyto(self.data, result.data, casting="same_kind")
        if result._tangents is not None or self._tangents is not None:
            self._tangents = result._tangents  # forward mode: the new value's tangent
        self._bump()
        if self.requires_grad and self._inputs:
            # the node's output is this tensor at its new version: remember it with the inputs'
            read = tuple(0 if i._counter is None else i._counter[0] for i in self._inputs)
            self._saved_versions = read + (self._counter[0],)
        return self

    def _shell(self):
        """A new node with this tensor's current role in the graph and a copy of its values."""
        s = make(self.data.copy(), self._inputs, self._op, self._params)
        s.requires_grad = self.requires_grad
        sv = self._saved_versions
        s._saved_versions = None if sv is None else sv[: len(self._inputs)]
        s._scope = self._scope
        s._tangents = self._tangents
        return s

    def add_(self, other, alpha=1) -> Tensor:
        """self += alpha * other, in place."""
        return self._inplace("add_", lambda x: x + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1) -> Tensor:
        """self -= alpha * other, in place."""
        return self._inplace("sub_", lambda x: x - (other if alpha == 1 else other * alpha))

    def mul_(self, other) -> Tensor:
        """self *= other, in place (recorded: differentiable through the new values)."""
        return self._inplace("mul_", lambda x: x * other)

    def div_(self, other) -> Tensor:
        """self /= other, in place (recorded: differentiable through the new values)."""
        return self._inplace("div_", lambda x: x / other)

    def _overwrite(self, what, value):
        """Replace every value by ``value`` (a number or a Tensor broadcast to this shape): in a
        graph the old values get gradient 0 and ``value`` gets the gradient (NaN/Inf in the old
        values do not leak through, as x * 0 + v would let them)."""
        value = value if is_tensor(value) else make(np.asarray(value, dtype=self.dtype))
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        keep_none = make(np.zeros(self.shape, dtype=np.bool_))
        return self._inplace(what, lambda x: where(keep_none, x, value.broadcast_to(self.shape)))

    def zero_(self) -> Tensor:
        """Set every value to 0, in place."""
        return self._overwrite("zero_", 0)

    def fill_(self, value) -> Tensor:
        """Set every value to ``value``, in place."""
        return self._overwrite("fill_", value)

    def clamp_(self, min: Tensor | float | None = None, max: Tensor | float | None = None) -> Tensor:
        """Clamp every value to [min, max] in place (either bound may be None)."""
        return self._inplace("clamp_", lambda x: x.clamp(min, max))

    def copy_(self, src) -> Tensor:
        """Copy src's values (broadcast to this shape) into this tensor; differentiable in src."""
        return self._overwrite("copy_", src if is_tensor(src) else make(np.asarray(src)))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __setitem__(self, key: Any, value: Any) -> None:
        """t[key] = value, in place (recorded in a graph: differentiable in t and value)."""
        steps = _torch_index_steps(key)
        key = _index_key(key) if steps is None else KeyChain(_index_key(k) for k in steps)
        v = value if is_tensor(value) else make(np.asarray(value, dtype=self.dtype))
        self._inplace("__setitem__", lambda x: apply(OPS["index_put"], (x, v), {"key": key}))

    # -- in-place forms of the catalogue's operations (torch's ``erf_``, ``bitwise_and_``, ``&=``...) --

    def __iand__(self, other: Any) -> Tensor:
        return self.bitwise_and_(other)

    def __ior__(self, other: Any) -> Tensor:
        return self.bitwise_or_(other)

    def __ixor__(self, other: Any) -> Tensor:
        return self.bitwise_xor_(other)

    def __ilshift__(self, other: Any) -> Tensor:
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other: Any) -> Tensor:
        return self.bitwise_right_shift_(other)

    def __ifloordiv__(self, other: Any) -> Tensor:
        return self.floor_divide_(other)

    def __imod__(self, other: Any) -> Tensor:
        return self.remainder_(other)


def _in_place(name):
    """The in-place form ``name_`` of the method ``name``: this tensor takes the values of
    ``self.name(*args, **kwargs)``, which must have its shape and a dtype it can hold (torch's rule:
    no float results in an integer tensor, no integer results in a bool one)."""
    what = f"{name}_"

    def method(self, *args, **kwargs):
        def compute(x):
            result = getattr(x, name)(*args, **kwargs)
            if result.shape != self.shape:
                raise RuntimeError(
                    f"{what}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                    f"{list(result.shape)}"
                )
            if result.dtype != self.dtype and not np.can_cast(result.dtype, self.dtype, "same_kind"):
                raise RuntimeError(
                    f"{what}: result type {dtypes.type_name(result.dtype)} can't be cast to the desired "
                    f"output type {dtypes.type_name(self.dtype)}; use the out-of-place {name}() instead"
                )
            return result

        return self._inplace(what, compute)

    method.__name__ = what
    method.__qualname__ = f"InplaceMethods.{what}"
    method.__doc__ = f"In place: this tensor takes the values of :meth:`{name}` (its shape and dtype stay)."
    return method


for _name in (
    "abs",
    "sign",
    "neg",
    "negative",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    "reciprocal",
    "square",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "sigmoid",
    "relu",
    "erf",
    "erfc",
    "erfinv",
    "floor",
    "ceil",
    "trunc",
    "fix",
    "round",
    "frac",
    "nan_to_num",
    "atan2",
    "arctan2",
    "copysign",
    "hypot",
    "xlogy",
    "fmod",
    "remainder",
    "floor_divide",
    "lerp",
    "multiply",
    "subtract",
    "divide",
    "true_divide",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "cumsum",
    "cumprod",
    "tril",
    "triu",
):
    setattr(InplaceMethods, f"{_name}_", _in_place(_name))
del _name
