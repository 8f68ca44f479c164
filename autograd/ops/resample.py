"""Padding with a constant: the one resampling entry of the table.

    pad(x)   x with ``widths`` ((lo, hi) for each of its last dimensions) of ``value`` around it; a
             negative width crops. Its adjoint is the same operation with the widths negated and
             zeros: dx = pad(g, -widths, 0), which crops what was added and gives zeros to what was cut.

The other padding modes (reflect, replicate, circular), nearest and linear interpolation and
pixel_shuffle are nn.functional compositions of operations the table already has: index_select
with a constant index (a gather whose gradient adds back), products with constant interpolation
matrices, reshape and permute.
"""

from __future__ import annotations

import numpy as np

from . import defop, fn


def _pad(x, *, widths, value):
    lead = x.ndim - len(widths)
    dims = x.shape[lead:]
    kept = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(dims, widths))
    sizes = tuple(n + lo + hi for n, (lo, hi) in zip(dims, widths))
    if value == 0:
        out = np.zeros(x.shape[:lead] + sizes, dtype=x.dtype)
    else:
        out = np.full(x.shape[:lead] + sizes, value, dtype=x.dtype)
    inner = tuple(slice(max(lo, 0), max(lo, 0) + k.stop - k.start) for (lo, _), k in zip(widths, kept))
    out[(Ellipsis,) + inner] = x[(Ellipsis,) + kept]
    return out


def _negated(widths):
    return tuple((-lo, -hi) for lo, hi in widths)


def _pad_grad(g, out, x, *, widths, value):
    return fn.apply_op(PAD, (g,), {"widths": _negated(widths), "value": 0.0})


def _pad_jvp(tangents, out, x, *, widths, value):
    return fn.apply_op(PAD, (tangents[0],), {"widths": widths, "value": 0.0})


PAD = defop(
    "pad",
    _pad,
    _pad_grad,
    jvp=_pad_jvp,
    doc="x padded with value (negative widths crop): dx = pad(g, -widths, 0), the padding cut off again",
)
