"""Out-of-place forms that in-place operations record (``t[key] = v`` on a tensor in a graph)."""
import numpy as np

from . import defop


def _index_put(x, v, *, key):
    y = x.copy()
    y[key] = v
    return y


def _kept(g, key):
    """1 where x[key] = v did not overwrite x, else 0 (a constant mask)."""
    mask = np.ones(g.shape, dtype=bool)
    mask[key] = False
    return mask


defop("index_put", _index_put, lambda g, out, x, v, *, key: g * _kept(g, key), lambda g, out, x, v, *, key: g[key],
      doc="x with x[key] = v: dx = g where not overwritten (0 at key), dv = g[key] (summed over broadcasting)")
