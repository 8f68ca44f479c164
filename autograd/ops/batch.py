"""vmap's entries of the table: entering a level (a dimension becomes a batch dimension in front)
and leaving it (the batch dimension moves back into the tensor). autograd/vmap.py makes the
batched tensors; these entries record the two moves, so gradients and tangents cross them."""

from __future__ import annotations

import numpy as np

from . import defop, fn


def move_in(x, *, k, dim):
    return np.moveaxis(x, k + dim, k)


def move_out(x, *, k, dim):
    return np.moveaxis(x, k, k + dim)


def _in_grad(g, out, x, *, k, dim, level):
    if fn._is_tensor(g):
        from ..vmap import leave

        return leave(g, level, dim)
    return move_out(g, k=k, dim=dim)


def _out_grad(g, out, x, *, k, dim, level):
    if fn._is_tensor(g):
        from ..vmap import enter

        return enter(g, level, dim)
    return move_in(g, k=k, dim=dim)


def _in_jvp(tangents, out, x, *, k, dim, level):
    t = tangents[0]
    if fn._is_tensor(t):
        from ..vmap import enter

        return enter(t, level, dim)
    return move_in(t, k=k, dim=dim)


def _out_jvp(tangents, out, x, *, k, dim, level):
    t = tangents[0]
    if fn._is_tensor(t):
        from ..vmap import leave

        return leave(t, level, dim)
    return move_out(t, k=k, dim=dim)


defop(
    "vmap_in",
    lambda x, *, k, dim, level: move_in(x, k=k, dim=dim),
    _in_grad,
    jvp=_in_jvp,
    doc="vmap's mapped input: dimension dim becomes the batch dimension of a level: dx = g with it moved back",
)
defop(
    "vmap_out",
    lambda x, *, k, dim, level: move_out(x, k=k, dim=dim),
    _out_grad,
    jvp=_out_jvp,
    doc="vmap's output: a level's batch dimension becomes dimension dim: dx = g with it moved back in front",
)
