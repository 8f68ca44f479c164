"""Shape operations: the data moves, the values do not change; gradients move back."""
import numpy as np

from . import defop, fn


def _inverse(perm):
    return tuple(np.argsort(perm))


defop("reshape", lambda x, *, shape: x.reshape(shape), lambda g, out, x, *, shape: g.reshape(x.shape),
      doc="reshape: dx = g reshaped to x's shape")
defop("permute", lambda x, *, dims: x.transpose(dims), lambda g, out, x, *, dims: fn.permute(g, _inverse(dims)),
      doc="permute: dx = g permuted back by the inverse permutation")
defop("transpose", lambda x, *, dim0, dim1: np.swapaxes(x, dim0, dim1),
      lambda g, out, x, *, dim0, dim1: fn.swapaxes(g, dim0, dim1), doc="transpose(d0, d1): dx = g transposed back")
defop("expand", lambda x, *, shape: np.broadcast_to(x, shape), lambda g, out, x, *, shape: g,
      doc="broadcast_to / expand: dx = g summed over the broadcast axes (done by unbroadcast)")
