"""The few functions a derivative rule may call, for ndarrays and Tensors alike.

Each one runs numpy on arrays and the Tensor operation on Tensors (under create_graph), so a rule
written with them differentiates to any order.
"""

from __future__ import annotations

import numpy as np

_TENSOR: list[type] = []  # [autograd.tensor.Tensor], found on first use (this module is imported before it exists)


def _is_tensor(x):
    if x.__class__ is np.ndarray:
        return False
    if not _TENSOR:
        from ..tensor import Tensor

        _TENSOR.append(Tensor)
    return isinstance(x, _TENSOR[0])


def _dispatch(name, np_fn):
    def f(x, *args, **kwargs):
        if _is_tensor(x):
            return getattr(x, name)(*args, **kwargs)
        return np_fn(x, *args, **kwargs)

    f.__name__ = name
    return f


exp = _dispatch("exp", np.exp)
log = _dispatch("log", np.log)
sqrt = _dispatch("sqrt", np.sqrt)
sin = _dispatch("sin", np.sin)
cos = _dispatch("cos", np.cos)
tanh = _dispatch("tanh", np.tanh)
sign = _dispatch("sign", np.sign)
abs = _dispatch("abs", np.abs)  # noqa: A001


def where(cond, a, b):
    """cond ? a : b, with cond a boolean array or Tensor (never differentiated)."""
    if _is_tensor(a) or _is_tensor(b):
        from ..methods.elementwise import where as twhere

        return twhere(cond, a, b)
    return np.where(const(cond), a, b)


def to_float32(x):
    """x converted to float32 (a recorded, differentiable cast for a Tensor)."""
    if _is_tensor(x):
        return x.to(np.float32)
    return x.astype(np.float32)


def const(x):
    """The value of x with no gradient (a boolean mask, an index): an ndarray for an array or a
    Tensor; for a batched Tensor (vmap) a batched Tensor that requires no grad, so that what a rule
    computes from it stays batched."""
    if _is_tensor(x):
        return x.detach() if getattr(x, "_levels", None) else x.data
    return x


def broadcast_to(x, shape):
    if _is_tensor(x):
        return x.broadcast_to(shape)
    return np.broadcast_to(x, shape)


def expand_dims(x, axis):
    """Insert size-1 axes (``axis``: int or tuple), e.g. to undo a reduction without keepdim."""
    if _is_tensor(x):
        for a in sorted(axis if isinstance(axis, tuple) else (axis,)):
            x = x.unsqueeze(a)
        return x
    return np.expand_dims(x, axis)


def matmul(a, b):
    return a @ b


def dot(a, b):
    if _is_tensor(a) or _is_tensor(b):
        return (a * b).sum()
    return np.asarray(np.dot(a, b))


def outer(a, b):
    if _is_tensor(a) or _is_tensor(b):
        return expand_dims(a, -1) * b
    return np.outer(a, b)


def swapaxes(x, a, b):
    if _is_tensor(x):
        return x.transpose(a, b)
    return np.swapaxes(x, a, b)


def split(x, sizes, dim):
    """x cut along ``dim`` into consecutive pieces of the given sizes (views of an array)."""
    if _is_tensor(x):
        return x.split(list(sizes), dim)
    bounds = np.cumsum(sizes)[:-1]
    return np.split(x, bounds, axis=dim)


def unbind(x, dim):
    """The slices x[..., i, ...] at ``dim``, for every i (views of an array)."""
    if _is_tensor(x):
        return [x[(slice(None),) * dim + (i,)] for i in range(x.shape[dim])]
    return list(np.moveaxis(x, dim, 0))


def zeros_like(x):
    if _is_tensor(x):
        from ..creation import zeros_like as tz

        return tz(x)
    return np.zeros_like(x)


def ones_like(x):
    if _is_tensor(x):
        from ..creation import ones_like as to

        return to(x)
    return np.ones_like(x)


def permute(x, dims):
    if _is_tensor(x):
        return x.permute(*dims)
    return np.transpose(x, dims)


def index_add(g, key, idx, shape):
    """zeros(shape) with g added at ``key`` (repeated indices accumulate): the VJP of x[key].

    ``key`` is an index template (see :mod:`autograd.ops.index`) whose slots are filled from
    ``idx``, the index arrays (Tensors under create_graph, which become inputs of the node).
    """
    if _is_tensor(g):
        return _apply_op("index_add", (g, *_tensors(idx)), {"key": key, "shape": tuple(shape)})
    from .index import index_add_array

    return index_add_array(g, *idx, key=key, shape=tuple(shape))


def scatter_add(g, index, dim, shape):
    """zeros(shape) with g[i] added at position index[i] along ``dim``: the VJP of gather."""
    if _is_tensor(g):
        return _apply_op("scatter_add", (g, *_tensors((index,))), {"dim": dim, "shape": tuple(shape)})
    from .index import scatter_add_array

    return scatter_add_array(g, index, dim=dim, shape=tuple(shape))


def gather(x, dim, index):
    """x's values at ``index`` along ``dim`` (torch.gather): the VJP of scatter_add."""
    if _is_tensor(x):
        return _apply_op("gather", (x, *_tensors((index,))), {"dim": dim})
    from .index import gather_array

    return gather_array(x, index, dim=dim)


def prod_others(x, axis):
    """For each element, the product of the other elements of its slice over ``axis``
    (the derivative of prod), exact when x holds zeros: prod_{j != i} x_j."""
    axis = tuple(range(len(x.shape))) if axis is None else tuple(axis)
    keep = [a for a in range(len(x.shape)) if a not in axis]
    perm = keep + list(axis)
    lead = tuple(x.shape[a] for a in keep)
    n = 1
    for a in axis:
        n *= x.shape[a]
    moved_shape = lead + tuple(x.shape[a] for a in axis)
    if _is_tensor(x):
        # differentiable form: row i of an n x n matrix is the slice with x_i replaced by 1
        flat = x.permute(*perm).reshape(lead + (n,))
        square = flat.unsqueeze(-2).expand(*lead, n, n)
        others = where(np.eye(n, dtype=bool), 1.0, square).prod(dim=-1)
        return others.reshape(moved_shape).permute(*np.argsort(perm).tolist())
    if n == 0:
        return np.ones_like(x)
    flat = np.transpose(x, perm).reshape(lead + (n,))
    ones = np.ones(lead + (1,), dtype=x.dtype)
    # exclusive cumulative products from the left and from the right
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.transpose((left * right).reshape(moved_shape), np.argsort(perm))


def _tensors(values):
    """Index arrays as Tensors (constants that become inputs of a recorded node)."""
    from ..tensor import make

    return tuple(v if _is_tensor(v) else make(np.asarray(v)) for v in values)


def apply_op(op, args, params):
    """Op ``op`` (an entry of the table) applied to ``args``: its forward on arrays, or the recorded
    operation when some argument is a Tensor (the others then become constant Tensors)."""
    if any(_is_tensor(a) for a in args):
        from ..tensor import apply

        return apply(op, _tensors(args), params)
    return op.forward(*args, **params) if params else op.forward(*args)


def _apply_op(name, inputs, params):
    from ..tensor import apply
    from . import OPS

    return apply(OPS[name], inputs, params)
