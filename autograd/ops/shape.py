"""Shape operations: the data moves, the values do not change; gradients move back."""
import numpy as np

from . import LINEAR, defop, fn


def _inverse(perm):
    return tuple(np.argsort(perm))


defop("reshape", lambda x, *, shape: x.reshape(shape), lambda g, out, x, *, shape: g.reshape(x.shape),
      jvp=LINEAR, doc="reshape: dx = g reshaped to x's shape")
defop("permute", lambda x, *, dims: x.transpose(dims), lambda g, out, x, *, dims: fn.permute(g, _inverse(dims)),
      jvp=LINEAR, doc="permute: dx = g permuted back by the inverse permutation")
defop("transpose", lambda x, *, dim0, dim1: np.swapaxes(x, dim0, dim1),
      lambda g, out, x, *, dim0, dim1: fn.swapaxes(g, dim0, dim1), jvp=LINEAR, doc="transpose(d0, d1): dx = g transposed back")


def _flatten(x, *, start, end):
    n = 1
    for k in x.shape[start:end + 1]:
        n *= k
    return x.reshape(x.shape[:start] + (n,) + x.shape[end + 1:])


# flatten, squeeze and unsqueeze compute their shapes from the input each time, so a captured
# ag.Graph can be fed a batch of another size through them
defop("flatten", _flatten, lambda g, out, x, *, start, end: g.reshape(x.shape),
      jvp=LINEAR, doc="flatten dims start..end: dx = g reshaped to x's shape")
defop("squeeze", lambda x, *, dims: np.squeeze(x, axis=dims), lambda g, out, x, *, dims: g.reshape(x.shape),
      jvp=LINEAR, doc="squeeze size-1 dims: dx = g reshaped to x's shape")
defop("unsqueeze", lambda x, *, dim: np.expand_dims(x, dim), lambda g, out, x, *, dim: g.reshape(x.shape),
      jvp=LINEAR, doc="unsqueeze: dx = g reshaped to x's shape")
defop("expand", lambda x, *, shape: np.broadcast_to(x, shape), lambda g, out, x, *, shape: g,
      jvp=LINEAR, doc="broadcast_to / expand: dx = g summed over the broadcast axes (done by unbroadcast)")


# -- joining: one node with every joined tensor as an input ---------------------------------------
# Variadic: one rule gives every input's gradient (g cut into their parts), in one pass over them.
_CAT = defop("cat", lambda *xs, dim: np.concatenate(xs, axis=dim),
             lambda g, out, *xs, dim: fn.split(g, [x.shape[dim] for x in xs], dim), variadic=True,
             jvp=LINEAR, doc="concatenate along dim: dx_i = g's part for x_i along dim")
_STACK = defop("stack", lambda *xs, dim: np.stack(xs, axis=dim),
               lambda g, out, *xs, dim: fn.unbind(g, dim), variadic=True,
               jvp=LINEAR, doc="stack along a new dim: dx_i = g[..., i, ...] at dim")
# the rules read only the inputs' shapes, which in-place operations never change: no version checks
_CAT.reads = _STACK.reads = (False, ())
