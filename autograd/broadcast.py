"""unbroadcast: the one place where gradients of broadcast inputs are reduced to their shape."""
from __future__ import annotations

import numpy as np

_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_ONES: dict = {}


def _ones(n, dtype):
    """A read-only vector of n ones (cached per length and dtype)."""
    ones = _ONES.get((n, dtype))
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        ones = _ONES[(n, dtype)] = np.ones(n, dtype)
        ones.flags.writeable = False
    return ones


def unbroadcast(grad, shape):
    """Sum ``grad`` (an ndarray, or a Tensor under create_graph) down to ``shape``.

    Broadcasting copies an input along the axes it lacks or has with size 1, so its gradient is
    the sum of the output gradient over those axes (the multi-path chain rule: every copy is a path).
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead == 1 and gshape[1:] == shape:  # the common case: a bias added to every row of a batch
        if len(gshape) == 2 and grad.__class__ is np.ndarray and grad.dtype in _BLAS_DTYPES:
            # the column sums as a matrix-vector product (BLAS, about twice numpy's sum(axis=0))
            return _ones(gshape[0], grad.dtype) @ grad
        return grad.sum(axis=0)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
