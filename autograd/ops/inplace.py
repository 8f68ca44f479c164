"""Out-of-place forms that in-place operations record (``t[key] = v`` on a tensor in a graph)."""

import numpy as np

from . import LINEAR, defop


class KeyChain(tuple):
    """An index applied in steps, ``x[k0][k1]...``: how torch's placement of dimensions for an index
    that mixes integers with index arrays is written in numpy (the integers first, as a basic index
    that gives a view, then the arrays; see Tensor.__getitem__)."""

    __slots__ = ()


def _put(y, key, v):
    """y[key] = v in place, for a numpy key or a KeyChain."""
    if isinstance(key, KeyChain):
        for k in key[:-1]:
            y = y[k]  # (basic indexing: a view, so the assignment below lands in the original)
        key = key[-1]
    y[key] = v


def _read(g, key):
    """g[key] for a numpy key or a KeyChain (arrays and Tensors alike)."""
    for k in key if isinstance(key, KeyChain) else (key,):
        g = g[k]
    return g


def _index_put(x, v, *, key):
    y = x.copy()
    _put(y, key, v)
    return y


def _kept(g, key):
    """1 where x[key] = v did not overwrite x, else 0 (a constant mask)."""
    mask = np.ones(g.shape, dtype=bool)
    _put(mask, key, False)
    return mask


defop(
    "index_put",
    _index_put,
    lambda g, out, x, v, *, key: g * _kept(g, key),
    lambda g, out, x, v, *, key: _read(g, key),
    jvp=LINEAR,
    doc="x with x[key] = v: dx = g where not overwritten (0 at key), dv = g[key] (summed over broadcasting)",
)
