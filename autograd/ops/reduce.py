"""Reductions. ``axis`` is None or a tuple of non-negative ints, ``keepdims`` a bool (normalised by
the Tensor methods). Undoing a reduction: put the reduced axes back (size 1) and broadcast."""
import numpy as np

from . import defop, fn


def _restore(g, x, axis, keepdims):
    """g, reduced over ``axis``, broadcast back to x's shape."""
    if not keepdims and axis is not None:
        g = fn.expand_dims(g, axis)
    return fn.broadcast_to(g, x.shape)


def _count(x, axis):
    return x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))


def _sum(x, *, axis, keepdims):
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims))


def _mean(x, *, axis, keepdims):
    return np.asarray(np.mean(x, axis=axis, keepdims=keepdims))


defop("sum", _sum, lambda g, out, x, *, axis, keepdims: _restore(g, x, axis, keepdims),
      doc="sum: dx = g broadcast back over the summed axes")
defop("mean", _mean, lambda g, out, x, *, axis, keepdims: _restore(g, x, axis, keepdims) / _count(x, axis),
      doc="mean: dx = g / n broadcast back over the reduced axes")
