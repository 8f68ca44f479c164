"""Shape operations: the data moves, the values do not change; gradients move back."""

import numpy as np

from . import LINEAR, OPS, defop, fn


def _inverse(perm):
    return tuple(np.argsort(perm))


defop(
    "reshape",
    lambda x, *, shape: x.reshape(shape),
    lambda g, out, x, *, shape: g.reshape(x.shape),
    jvp=LINEAR,
    doc="reshape: dx = g reshaped to x's shape",
)
defop(
    "permute",
    lambda x, *, dims: x.transpose(dims),
    lambda g, out, x, *, dims: fn.permute(g, _inverse(dims)),
    jvp=LINEAR,
    doc="permute: dx = g permuted back by the inverse permutation",
)
defop(
    "transpose",
    lambda x, *, dim0, dim1: np.swapaxes(x, dim0, dim1),
    lambda g, out, x, *, dim0, dim1: fn.swapaxes(g, dim0, dim1),
    jvp=LINEAR,
    doc="transpose(d0, d1): dx = g transposed back",
)


def _flatten(x, *, start, end):
    n = 1
    for k in x.shape[start : end + 1]:
        n *= k
    return x.reshape(x.shape[:start] + (n,) + x.shape[end + 1 :])


# flatten, squeeze and unsqueeze compute their shapes from the input each time, so a captured
# ag.Graph can be fed a batch of another size through them
defop(
    "flatten",
    _flatten,
    lambda g, out, x, *, start, end: g.reshape(x.shape),
    jvp=LINEAR,
    doc="flatten dims start..end: dx = g reshaped to x's shape",
)
defop(
    "squeeze",
    lambda x, *, dims: np.squeeze(x, axis=dims),
    lambda g, out, x, *, dims: g.reshape(x.shape),
    jvp=LINEAR,
    doc="squeeze size-1 dims: dx = g reshaped to x's shape",
)
defop(
    "unsqueeze",
    lambda x, *, dim: np.expand_dims(x, dim),
    lambda g, out, x, *, dim: g.reshape(x.shape),
    jvp=LINEAR,
    doc="unsqueeze: dx = g reshaped to x's shape",
)
defop(
    "expand",
    lambda x, *, shape: np.broadcast_to(x, shape),
    lambda g, out, x, *, shape: g,
    jvp=LINEAR,
    doc="broadcast_to / expand: dx = g summed over the broadcast axes (done by unbroadcast)",
)


# -- joining: one node with every joined tensor as an input ---------------------------------------
# Variadic: one rule gives every input's gradient (g cut into their parts), in one pass over them.
_CAT = defop(
    "cat",
    lambda *xs, dim: np.concatenate(xs, axis=dim),
    lambda g, out, *xs, dim: fn.split(g, [x.shape[dim] for x in xs], dim),
    variadic=True,
    jvp=LINEAR,
    doc="concatenate along dim: dx_i = g's part for x_i along dim",
)
_STACK = defop(
    "stack",
    lambda *xs, dim: np.stack(xs, axis=dim),
    lambda g, out, *xs, dim: fn.unbind(g, dim),
    variadic=True,
    jvp=LINEAR,
    doc="stack along a new dim: dx_i = g[..., i, ...] at dim",
)
# the rules read only the inputs' shapes, which in-place operations never change: no version checks
_CAT.reads = _STACK.reads = (False, ())


# -- reordering and repeating: copies (torch's flip, roll, repeat are not views) ----------------------
def _same_op(name, x, **params):
    """Entry ``name`` applied to x (an array, or a Tensor: recorded)."""
    return fn.apply_op(OPS[name], [x], params)


defop(
    "flip",
    lambda x, *, dims: np.flip(x, dims).copy(),
    lambda g, out, x, *, dims: _same_op("flip", g, dims=dims),
    jvp=LINEAR,
    doc="reverse the order along dims: dx = g flipped back",
)
defop(
    "roll",
    lambda x, *, shifts, dims: np.roll(x, shifts, axis=dims),
    lambda g, out, x, *, shifts, dims: _same_op("roll", g, shifts=tuple(-s for s in shifts), dims=dims),
    jvp=LINEAR,
    doc="shift cyclically along dims (None: the flattened tensor): dx = g rolled back by -shifts",
)


def _repeat_grad(g, out, x, *, repeats):
    # out holds r_i copies of x along each dim i: view g as (r_0, n_0, r_1, n_1, ...), sum the copies
    shape = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
    split = tuple(k for pair in zip(repeats, shape) for k in pair)
    return g.reshape(split).sum(axis=tuple(range(0, 2 * len(repeats), 2))).reshape(x.shape)


defop(
    "repeat",
    lambda x, *, repeats: np.tile(x, repeats),
    _repeat_grad,
    jvp=LINEAR,
    doc="tile x repeats[i] times along each dim: dx = g summed over the copies",
)


# -- triangles and diagonals ------------------------------------------------------------------------
defop(
    "tril",
    lambda x, *, diagonal: np.tril(x, diagonal),
    lambda g, out, x, *, diagonal: _same_op("tril", g, diagonal=diagonal),
    jvp=LINEAR,
    doc="the lower triangle (last two dims, on and below the diagonal-th diagonal): dx = tril(g)",
)
defop(
    "triu",
    lambda x, *, diagonal: np.triu(x, diagonal),
    lambda g, out, x, *, diagonal: _same_op("triu", g, diagonal=diagonal),
    jvp=LINEAR,
    doc="the upper triangle (last two dims, on and above the diagonal-th diagonal): dx = triu(g)",
)


def diagonal_view(x, offset, dim1, dim2):
    """numpy's diagonal (a view, the diagonal last), writeable where x is (as torch's view is)."""
    d = np.diagonal(x, offset, dim1, dim2)
    if x.flags.writeable:
        d.flags.writeable = True
    return d


def diagonal_key(ndim, length, offset, dim1, dim2):
    """The numpy index of the diagonal's elements, and where numpy puts its dimension (torch puts it
    last): the advanced indices at dim1 and dim2 stay in place when adjacent, else come first."""
    key = [slice(None)] * ndim
    key[dim1] = np.arange(length) + max(-offset, 0)
    key[dim2] = np.arange(length) + max(offset, 0)
    return tuple(key), (min(dim1, dim2) if abs(dim1 - dim2) == 1 else 0)


def _diagonal_grad(g, out, x, *, offset, dim1, dim2):
    # g placed on the diagonal of zeros of x's shape
    key, at = diagonal_key(x.ndim, g.shape[-1], offset, dim1, dim2)
    last = g.ndim - 1
    order = list(range(last))
    order.insert(at, last)
    return fn.index_add(fn.permute(g, tuple(order)), key, [], x.shape)


defop(
    "diagonal",
    lambda x, *, offset, dim1, dim2: diagonal_view(x, offset, dim1, dim2),
    _diagonal_grad,
    jvp=LINEAR,
    doc="the offset-th diagonal of the (dim1, dim2) planes, as the last dim: dx = zeros with g on that diagonal",
)


def _diag_embed(x, *, offset, dim1, dim2):
    n = x.shape[-1] + abs(offset)
    shape = list(x.shape[:-1])
    for d in sorted((dim1, dim2)):
        shape.insert(d, n)
    out = np.zeros(shape, dtype=x.dtype)
    diagonal_view(out, offset, dim1, dim2)[...] = x
    return out


defop(
    "diag_embed",
    _diag_embed,
    lambda g, out, x, *, offset, dim1, dim2: _same_op("diagonal", g, offset=offset, dim1=dim1, dim2=dim2),
    jvp=LINEAR,
    doc="x's last dim as the offset-th diagonal of new (dim1, dim2) planes: dx = that diagonal of g",
)


# -- unfold: sliding windows (a view) ------------------------------------------------------------------
def _unfold(x, *, dim, size, step):
    if x.ndim == 0:  # its one element, as one window of size 1 (or none of size 0)
        return x.reshape(1)[:size]
    windows = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
    return windows[(slice(None),) * dim + (slice(None, None, step),)]


def _unfold_grad(g, out, x, *, dim, size, step):
    # window w's element t is x's element w * step + t along dim: g added there (overlaps accumulate)
    if x.ndim == 0:
        return g.sum()
    windows = g.shape[dim]
    at = np.arange(windows)[:, None] * step + np.arange(size)
    order = list(range(x.ndim))
    order.insert(dim + 1, x.ndim)  # (..., windows, size, ...): the layout of x[..., at, ...]
    return fn.index_add(fn.permute(g, tuple(order)), (slice(None),) * dim + (at,), [], x.shape)


defop(
    "unfold",
    _unfold,
    _unfold_grad,
    jvp=LINEAR,
    doc="the windows of size elements every step along dim, as a new last dim: dx = g added back to each window's elements",
)


# -- reinterpreting the bytes ---------------------------------------------------------------------------
defop(
    "view_dtype",
    lambda x, *, dtype: x.view(dtype),
    None,
    doc="the same bytes read as another dtype (a view): no gradient, as torch",
)
