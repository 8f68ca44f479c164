"""Argument normalisation: what the Tensor methods do to their arguments before an operation runs.

PyTorch's conventions, checked once here so that the entries of the op table receive plain values:
``dim`` (with ``axis`` as its alias) as None or a sorted tuple of non-negative axes, one dimension as
a non-negative int, ``keepdim``, the variance's ``correction`` (and torch's older ``unbiased``),
sizes that must be integers. Every error names the argument and what was expected.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np


def dims(dim, ndim, name="dim"):
    """None, an int or a sequence of ints -> None or a sorted tuple of non-negative axes."""
    if dim is None:
        return None
    given = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in given:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{name} {d} is out of range for a tensor with {ndim} dimension(s) "
                f"(expected {name} in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        out.append(d % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} {dim} repeats a dimension")
    # an empty dim tuple reduces every dimension, as in torch (numpy's axis=() reduces none)
    return tuple(sorted(out)) if ndim and out else None


def dim_or_axis(dim, axis):
    """``dim``, or its alias ``axis`` (numpy's name) when that was given instead."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass either dim= or its alias axis=, not both")
        return axis
    return dim


def one_dim(dim, ndim, name):
    """One dimension (an int, possibly negative) as a non-negative int; 0 for a 0-d tensor."""
    if isinstance(dim, builtins.bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    if ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"{name}: dim {dim} is out of range for a 0-d tensor (expected 0 or -1)")
        return 0
    return dims(dim, ndim, "dim")[0]


def reduction(t, dim, axis, keepdim, keepdims, nonempty=None, **extra):
    """The params of a reduction op on tensor ``t``: normalised ``axis``, ``keepdims`` and ``extra``.

    ``nonempty`` (the op's name) rejects reducing over an empty dimension, which has no max/min."""
    axes = dims(dim_or_axis(dim, axis), t.ndim)
    if nonempty is not None and t.data.size == 0:
        empty = [d for d in (range(t.ndim) if axes is None else axes) if t.shape[d] == 0]
        if empty:
            raise IndexError(
                f"{nonempty}(): dimension {empty[0]} has size 0 and cannot be reduced "
                f"(shape {t.shape}); reduce over non-empty dimensions only"
            )
    return {"axis": axes, "keepdims": builtins.bool(keepdim if keepdims is None else keepdims), **extra}


def correction(correction, unbiased):
    """The variance's correction: ``correction`` (default 1, Bessel's), or torch's older ``unbiased``."""
    if unbiased is not None:
        if correction is not None:
            raise TypeError("pass either correction= or the older unbiased=, not both")
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def need_float(t, name):
    """``t`` itself when it is floating, else the RuntimeError that names ``name``."""
    if t.dtype.kind != "f":
        raise RuntimeError(f"{name}() needs a floating tensor, got {t.dtype}; convert it with .float() or .double()")
    return t


def sizes(shape, what="size"):
    """A shape given as ints or as one tuple/list of them (``zeros(2, 3)``, ``zeros((2, 3))``).

    Each size must be an integer (an int, a numpy integer or a one-element integer Tensor): a float
    such as 2.5 raises TypeError rather than being truncated."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, builtins.bool):
            raise TypeError(f"{what} must be a tuple of ints, got {shape!r} (a bool is not a size)")
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(
                f"{what} must be a tuple of ints, got {shape!r}: {s!r} is a {type(s).__name__}; sizes must be integers"
            ) from None
    return tuple(out)
