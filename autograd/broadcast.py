"""unbroadcast: the one place where gradients of broadcast inputs are reduced to their shape."""

from __future__ import annotations


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
        return grad.sum(axis=0)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
