"""What every part of nn.functional shares: turning arguments into Tensors."""

from __future__ import annotations

from autograd import Tensor
from autograd.extend import as_array, leaf


def _t(x, name="input"):
    """A Tensor for ``x`` (Tensors pass through; arrays and lists become constant leaves)."""
    if isinstance(x, Tensor):
        return x
    try:
        return leaf(as_array(x, copy=False))
    except TypeError:
        raise TypeError(f"{name} must be a Tensor (or an array), got {type(x).__name__}") from None


def _int_tensor(x, name):
    x = _t(x, name)
    if x.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer class/row indices (dtype int64), got dtype {x.dtype}; convert with .long()"
        )
    return x
