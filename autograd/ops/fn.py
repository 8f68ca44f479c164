"""The few functions a derivative rule may call, for ndarrays and Tensors alike.

Each one runs numpy on arrays and the Tensor operation on Tensors (under create_graph), so a rule
written with them differentiates to any order.
"""
from __future__ import annotations

import numpy as np


def _is_tensor(x):
    return hasattr(x, "_vjp") and not isinstance(x, np.ndarray)


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
        from ..tensor import where as twhere

        return twhere(cond, a, b)
    return np.where(getattr(cond, "data", cond), a, b)


def const(x):
    """The value of x with no gradient (a boolean mask, an index): ndarray for either kind."""
    return x.data if _is_tensor(x) else x


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


def swapaxes(x, a, b):
    if _is_tensor(x):
        return x.transpose(a, b)
    return np.swapaxes(x, a, b)


def zeros_like(x):
    if _is_tensor(x):
        from ..tensor import zeros_like as tz

        return tz(x)
    return np.zeros_like(x)


def permute(x, dims):
    if _is_tensor(x):
        return x.permute(*dims)
    return np.transpose(x, dims)


def index_add(g, key, shape):
    """zeros(shape) with g added at ``key`` (repeated indices accumulate): the VJP of x[key]."""
    if _is_tensor(g):
        from ..tensor import _apply
        from . import OPS

        return _apply(OPS["index_add"], (g,), {"key": key, "shape": shape})
    z = np.zeros(shape, dtype=g.dtype)
    np.add.at(z, key, g)
    return z
