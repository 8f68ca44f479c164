"""nn.Parameter: a leaf Tensor that requires grad and that a Module registers as a parameter."""

from __future__ import annotations

import numpy as np

from autograd import Tensor
from autograd.extend import as_array

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that is a model parameter: a leaf that requires grad (unless ``requires_grad=False``).

    Assigning one to a Module attribute (``self.w = nn.Parameter(...)``) registers it, so it appears
    in ``parameters()``, ``named_parameters()`` and ``state_dict()``. Like PyTorch's, a Parameter
    made from a Tensor or an ndarray shares its memory; its history (if any) is dropped, so it is
    always a leaf. Operations on a Parameter return ordinary Tensors.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            arr = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            arr = data.data
        elif isinstance(data, np.ndarray):
            arr = data
        else:
            arr = as_array(data)
        super().__init__(np.empty((0,), dtype=arr.dtype))  # sets every slot; then share ``arr``
        self.data = arr
        if requires_grad:
            if arr.dtype.kind != "f":
                raise TypeError(
                    f"a Parameter that requires grad needs floating data, got dtype {arr.dtype}; "
                    f"convert it first (e.g. ag.tensor(data, dtype=ag.float32)) or pass "
                    f"requires_grad=False"
                )
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy.deepcopy(model) keeps Parameters Parameters (and shares nothing with the original)
        return (_rebuild_parameter, (self.data, self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(np.array(data), requires_grad=requires_grad)


def _write(tensor: Tensor, values) -> Tensor:
    """Overwrite ``tensor``'s values in place (initialisation, loading, running statistics): not
    recorded, and counted as an in-place modification (a graph that saved the old values refuses
    to backward through them)."""
    np.copyto(tensor.data, np.broadcast_to(np.asarray(values), tensor.shape), casting="unsafe")
    tensor._bump()
    return tensor
