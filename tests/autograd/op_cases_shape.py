"""Cases of test_ops.py for the reductions, scans, sorting, shape, indexing and linear-algebra catalogue: see op_cases.py for what a case is.

The entries that compute indices (argsort, argtopk, argkthvalue, argmedian, argmode, argcummax,
argcummin) are reached through sort, topk, kthvalue, median, mode, cummax and cummin on tie-heavy
data (NaN too), so that the indices are checked against torch's where ties make them a choice;
their values come from take_along_dim, whose case reaches each of them on untied data, where
the gradient (through the indices) is checked to second order. Function forms are those of
autograd.functions_shape (``ag.NAME`` once exported).
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

import autograd as ag
import autograd.functions_shape as agf
from op_cases import case, dims_of, normal, one_dim, pos, rng_of, shape_of


def _is_torch(x):
    return isinstance(x, torch.Tensor)


def _lib(x):
    return torch if _is_torch(x) else agf


def _index(like, array):
    """An index array as a tensor of like's library."""
    return torch.from_numpy(np.asarray(array)) if _is_torch(like) else ag.tensor(np.asarray(array))


def tied(rng, shape, nan=False):
    """Small integers as floats: many ties; with ``nan``, some NaN."""
    x = rng.integers(-2, 3, shape).astype(float)
    if nan and x.size:
        x[rng.random(shape) < 0.15] = np.nan
    return x


def slices_shape(d, sides=(0, 1, 2, 5, 17, 40)):
    """A shape whose last dimension may be long (torch's sort and selection change algorithm
    past 16 and 64 elements), with 0 to 2 short dimensions in front."""
    return tuple(d(st.lists(st.integers(0, 3), max_size=2))) + (d(st.sampled_from(sides)),)


def _values_of(d, rng, shape):
    """Float64 values (so that the op's node is recorded and checked), mostly tied; integer and bool
    tensors are checked against torch in test_catalogue_shape.py."""
    kind = d(st.sampled_from(["tied", "tied_nan", "normal"]))
    return normal(rng, shape) if kind == "normal" else tied(rng, shape, kind == "tied_nan")


# -- scans ----------------------------------------------------------------------------------------------

def _draw_scan(values):
    def draw(d):
        rng = rng_of(d)
        shape = shape_of(d)
        x = values(rng, shape)
        return [x], {"dim": one_dim(d, len(shape)), "variant": d(st.sampled_from(["method", "function", "dtype"]))}
    return draw


def _scan(name):
    def f(x, dim, variant):
        if variant == "function":
            return getattr(_lib(x), name)(x, dim)
        if variant == "dtype" and x.dtype in (np.float64, torch.float64):
            return getattr(x, name)(dim, dtype=torch.float64 if _is_torch(x) else ag.float64)
        return getattr(x, name)(dim)
    return f


def _with_zeros(rng, shape):
    x = normal(rng, shape)
    if x.size:
        x.reshape(-1)[rng.choice(x.size, size=min(2, x.size), replace=False)] = 0.0
    return x


case("cumsum")(_draw_scan(normal))(_scan("cumsum"), _scan("cumsum"))
case("cumprod")(_draw_scan(_with_zeros))(_scan("cumprod"), _scan("cumprod"))


def _draw_logcumsumexp(d):
    rng = rng_of(d)
    shape = shape_of(d, min_side=1)  # (torch's forward mode fails on an empty tensor: its max has no value)
    # (values of unit scale: torch's JVP loses about exp(spread) ulps on a slice whose values spread
    # widely, where ours stays within a few: test_catalogue_shape.py checks wide slices against the closed form)
    return [normal(rng, shape)], {"dim": one_dim(d, len(shape)), "function": d(st.booleans())}


case("logcumsumexp")(_draw_logcumsumexp)(
    lambda x, dim, function: agf.logcumsumexp(x, dim) if function else x.logcumsumexp(dim),
    lambda x, dim, function: torch.logcumsumexp(x, dim))


def _draw_running(d):
    rng = rng_of(d)
    shape = slices_shape(d, (0, 1, 3, 8)) if d(st.booleans()) else shape_of(d)
    return [_values_of(d, rng, shape)], {"dim": one_dim(d, len(shape)), "function": d(st.booleans())}


for _name in ("cummax", "cummin"):
    case("arg" + _name)(_draw_running)(
        lambda x, dim, function, _n=_name: tuple(getattr(agf, _n)(x, dim) if function else getattr(x, _n)(dim)),
        lambda x, dim, function, _n=_name: tuple(getattr(torch, _n)(x, dim)))


# -- sorting and selection: the indices, on ties ------------------------------------------------------------

def _draw_sort(d):
    rng = rng_of(d)
    shape = slices_shape(d)
    x = _values_of(d, rng, shape)
    return [x], {"dim": one_dim(d, len(shape)) if d(st.booleans()) else -1, "descending": d(st.booleans()),
                 "stable": d(st.booleans()), "variant": d(st.sampled_from(["sort", "argsort", "function"]))}


def _sort(x, dim, descending, stable, variant):
    if variant == "argsort":
        return x.argsort(dim=dim, descending=descending, stable=stable)
    if variant == "function":
        return tuple(_lib(x).sort(x, dim=dim, descending=descending, stable=stable))
    return tuple(x.sort(dim=dim, descending=descending, stable=stable))


case("argsort")(_draw_sort)(_sort, _sort)


def _draw_topk(d):
    rng = rng_of(d)
    shape = slices_shape(d, (0, 1, 2, 5, 17, 40, 130))
    x = _values_of(d, rng, shape)
    dim = one_dim(d, len(shape)) if d(st.booleans()) else -1
    n = shape[pos(dim, len(shape))] if shape else 1
    k = d(st.sampled_from([0, 1, 2, n // 2, n])) if n else 0
    return [x], {"k": min(k, n), "dim": dim, "largest": d(st.booleans()), "sorted": d(st.booleans())}


case("argtopk")(_draw_topk)(lambda x, k, dim, largest, sorted: tuple(agf.topk(x, k, dim, largest, sorted)),
                            lambda x, k, dim, largest, sorted: tuple(torch.topk(x, k, dim, largest, sorted)))


def _draw_selection(d, k=False):
    rng = rng_of(d)
    shape = slices_shape(d, (1, 2, 5, 17, 40))
    dim = one_dim(d, len(shape))
    if shape[pos(dim, len(shape))] == 0:  # (the selected dimension must not be empty; the others may)
        shape = shape[:pos(dim, len(shape))] + (3,) + shape[pos(dim, len(shape)) + 1:]
    x = _values_of(d, rng, shape)
    kw = {"dim": dim, "keepdim": d(st.booleans())}
    if k:
        kw["k"] = d(st.integers(1, shape[pos(dim, len(shape))]))
    return [x], kw


case("argkthvalue")(lambda d: _draw_selection(d, k=True))(
    lambda x, k, dim, keepdim: tuple(x.kthvalue(k, dim, keepdim)),
    lambda x, k, dim, keepdim: tuple(x.kthvalue(k, dim, keepdim)))
case("argmedian")(_draw_selection)(
    lambda x, dim, keepdim: tuple(agf.median(x, dim, keepdim)), lambda x, dim, keepdim: tuple(x.median(dim, keepdim)))


def _draw_mode(d):
    arrays, kw = _draw_selection(d)
    # (NaN has no place in torch's mode: its sort compares with a plain <, no strict weak order)
    return [np.nan_to_num(arrays[0], nan=7.0)], kw


case("argmode")(_draw_mode)(lambda x, dim, keepdim: tuple(x.mode(dim, keepdim)),
                            lambda x, dim, keepdim: tuple(torch.mode(x, dim, keepdim)))


def _draw_median(d):
    rng = rng_of(d)
    shape = shape_of(d, min_side=1)
    return [normal(rng, shape)], {"function": d(st.booleans())}


case("median")(_draw_median)(lambda x, function: agf.median(x) if function else x.median(),
                             lambda x, function: x.median())


def _draw_unique(d):
    rng = rng_of(d)
    shape = shape_of(d)
    x = _values_of(d, rng, shape)
    dim = None if d(st.booleans()) or not shape or shape.count(0) > 1 else one_dim(d, len(shape))
    if dim is not None and 0 in shape and shape[pos(dim, len(shape))] != 0:
        dim = shape.index(0)  # (torch refuses an empty dimension that is not the one selected)
    return [x], {"dim": dim, "inverse": d(st.booleans()), "counts": d(st.booleans())}


def _unique(x, dim, inverse, counts):
    out = _lib(x).unique(x, sorted=True, return_inverse=inverse, return_counts=counts, dim=dim)
    return tuple(out) if isinstance(out, tuple) else out


case("unique")(_draw_unique)(_unique, _unique)


# -- logical reductions and counts ------------------------------------------------------------------------

def _draw_logical(d):
    rng = rng_of(d)
    shape = shape_of(d)
    x = rng.integers(0, 3, shape).astype(float)  # (zeros likely; other dtypes: test_catalogue_shape.py)
    return [x], {"dim": dims_of(d, len(shape)), "keepdim": d(st.booleans()), "function": d(st.booleans())}


def _logical(name):
    def f(x, dim, keepdim, function):
        if dim is None and not keepdim:
            return getattr(_lib(x), name)(x) if function else getattr(x, name)()
        return getattr(_lib(x), name)(x, dim, keepdim) if function else getattr(x, name)(dim, keepdim)
    return f


case("all")(_draw_logical)(_logical("all"), _logical("all"))
case("any")(_draw_logical)(_logical("any"), _logical("any"))
case("count_nonzero")(_draw_logical)(
    lambda x, dim, keepdim, function: agf.count_nonzero(x, dim) if function else x.count_nonzero(dim),
    lambda x, dim, keepdim, function: torch.count_nonzero(x, dim))


# -- take_along_dim, and the values of every selection (gradients through the indices) -----------------------

_SELECTIONS = ["sort", "topk", "kthvalue", "median", "mode", "cummax", "cummin"]


def _draw_take_along_dim(d):
    rng = rng_of(d)
    variant = d(st.sampled_from(["plain", "flat"] + _SELECTIONS))
    if variant in ("plain", "flat"):
        shape = shape_of(d, min_dims=1, min_side=1)
        dim = one_dim(d, len(shape))
        along = pos(dim, len(shape))
        ishape = tuple(d(st.integers(0, 3)) if k == along else d(st.sampled_from([1, n])) for k, n in enumerate(shape))
        xshape = tuple(1 if k != along and d(st.booleans()) else n for k, n in enumerate(shape))  # broadcasting
        index = rng.integers(0, shape[along], size=ishape)
        return [normal(rng, xshape)], {"variant": variant, "dim": dim, "index": index}
    shape = shape_of(d, min_side=1) if variant not in ("sort", "topk", "cummax", "cummin") else shape_of(d)
    dim = one_dim(d, len(shape))
    n = shape[pos(dim, len(shape))] if shape else 1
    return [normal(rng, shape)], {"variant": variant, "dim": dim, "k": d(st.integers(min(1, n), n)),
                                  "keepdim": d(st.booleans()), "descending": d(st.booleans())}


def _take_along_dim(x, variant, dim, **kw):
    if variant == "plain":
        return _lib(x).take_along_dim(x, _index(x, kw["index"]), dim)
    if variant == "flat":
        return x.take_along_dim(_index(x, kw["index"]))
    if variant == "sort":
        return tuple(x.sort(dim, kw["descending"]))
    if variant == "topk":
        return tuple(x.topk(kw["k"], dim, largest=not kw["descending"]))
    if variant == "kthvalue":
        return tuple(x.kthvalue(max(kw["k"], 1), dim, kw["keepdim"]))
    if variant in ("median", "mode"):
        return tuple(getattr(x, variant)(dim, kw["keepdim"]))
    return tuple(getattr(x, variant)(dim))


case("take_along_dim")(_draw_take_along_dim)(_take_along_dim, _take_along_dim)


def _draw_nonzero(d):
    rng = rng_of(d)
    shape = shape_of(d)
    x = rng.integers(0, 2, shape) * rng.uniform(0.5, 2.0, shape)
    return [x], {"variant": d(st.sampled_from(["nonzero", "tuple", "function", "where"]))}


def _nonzero(x, variant):
    if variant == "nonzero":
        return x.nonzero()
    if variant == "where":
        return tuple((ag if not _is_torch(x) else torch).where(x))
    return tuple(x.nonzero(as_tuple=True)) if variant == "tuple" else _lib(x).nonzero(x)


case("nonzero")(_draw_nonzero)(_nonzero, _nonzero)


import op_cases_shape_index  # noqa: E402,F401  (scatter and friends, shape and linear algebra)
