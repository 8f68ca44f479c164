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


def _flatten(x, *, start, end):
    n = 1
    for k in x.shape[start:end + 1]:
        n *= k
    return x.reshape(x.shape[:start] + (n,) + x.shape[end + 1:])


# flatten, squeeze and unsqueeze compute their shapes from the input each time, so a captured
# ag.Graph can be fed a batch of another size through them
defop("flatten", _flatten, lambda g, out, x, *, start, end: g.reshape(x.shape),
      doc="flatten dims start..end: dx = g reshaped to x's shape")
defop("squeeze", lambda x, *, dims: np.squeeze(x, axis=dims), lambda g, out, x, *, dims: g.reshape(x.shape),
      doc="squeeze size-1 dims: dx = g reshaped to x's shape")
defop("unsqueeze", lambda x, *, dim: np.expand_dims(x, dim), lambda g, out, x, *, dim: g.reshape(x.shape),
      doc="unsqueeze: dx = g reshaped to x's shape")
defop("expand", lambda x, *, shape: np.broadcast_to(x, shape), lambda g, out, x, *, shape: g,
      doc="broadcast_to / expand: dx = g summed over the broadcast axes (done by unbroadcast)")


# -- joining: one node with every joined tensor as an input ---------------------------------------
# An op's rules are one per input, and cat/stack take any number of inputs: their tables of rules
# grow on demand (``rules_for``), rule i cutting input i's part out of g.
def _cat_rule(i):
    def rule(g, out, *xs, dim):
        start = 0
        for x in xs[:i]:
            start += x.shape[dim]
        return g[(slice(None),) * dim + (slice(start, start + xs[i].shape[dim]),)]

    return rule


def _stack_rule(i):
    def rule(g, out, *xs, dim):
        return g[(slice(None),) * dim + (i,)]

    return rule


_CAT = defop("cat", lambda *xs, dim: np.concatenate(xs, axis=dim), _cat_rule(0),
             doc="concatenate along dim: dx_i = g's part for x_i along dim")
_STACK = defop("stack", lambda *xs, dim: np.stack(xs, axis=dim), _stack_rule(0),
               doc="stack along a new dim: dx_i = g[..., i, ...] at dim")
_MAKERS = {"cat": _cat_rule, "stack": _stack_rule}
# the rules read only the inputs' shapes, which in-place operations never change: no version checks
_CAT.reads = _STACK.reads = (False, ())


def rules_for(op, n):
    """Make sure the variadic ``op`` (cat, stack) has a rule for each of ``n`` inputs."""
    have = len(op.vjps)
    if have < n:
        make = _MAKERS[op.name]
        op.vjps = op.vjps + tuple(make(i) for i in range(have, n))
