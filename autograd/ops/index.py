"""Indexing and gathering. ``key`` is a numpy index (ints, slices, None, Ellipsis, arrays)."""
import numpy as np

from . import defop, fn


def _index_add(g, *, key, shape):
    z = np.zeros(shape, dtype=g.dtype)
    np.add.at(z, key, g)  # repeated indices accumulate
    return z


defop("getitem", lambda x, *, key: np.asarray(x[key]),
      lambda g, out, x, *, key: fn.index_add(g, key, x.shape),
      doc="x[key]: dx = zeros with g added at key (repeated indices accumulate)")
defop("index_add", _index_add, lambda g, out, x, *, key, shape: g[key],
      doc="zeros(shape) with x added at key (the VJP of getitem): dx = g[key]")
