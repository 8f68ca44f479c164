"""Cases of test_ops.py (continued from op_cases_shape.py): writing at indices (scatter,
scatter_reduce, index_copy, index_fill, masked_scatter), reordering and repeating, triangles and
diagonals, unfold, view(dtype) and einsum."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

import autograd as ag
from op_cases import case, normal, one_dim, pos, rng_of, shape_of
from op_cases_shape import _index, _is_torch, _lib


# -- scatter and scatter_reduce -----------------------------------------------------------------------

def _scatter_index(d, rng, shape, dim, distinct):
    """An index for scatter along dim into ``shape``: no larger than shape elsewhere; with
    ``distinct``, no position written twice (which value wins is then defined)."""
    along = pos(dim, len(shape))
    ishape = tuple(d(st.integers(0, shape[along] if distinct else 4)) if k == along else d(st.integers(0, n))
                   for k, n in enumerate(shape))
    if not distinct:
        return rng.integers(0, shape[along], size=ishape)
    index = np.argsort(rng.random(shape), axis=along)  # a permutation along dim at every position
    return index[tuple(slice(0, n) for n in ishape)]


def _draw_scatter(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    dim = one_dim(d, len(shape))
    index = _scatter_index(d, rng, shape, dim, distinct=True)
    bigger = d(st.booleans())
    src = normal(rng, tuple(n + (1 if bigger else 0) for n in index.shape))
    return [normal(rng, shape), src], {"index": index, "dim": dim, "variant": d(st.sampled_from(["src", "value",
                                                                                                 "function"]))}


def _part(src, index):
    return src[tuple(slice(0, n) for n in index.shape)]


def _scatter(x, src, index, dim, variant):
    i = _index(x, index)
    if variant == "value":
        return x.scatter(dim, i, 1.5) + src.sum() * 0  # (src stays an input of the graph)
    if _is_torch(x):  # (torch's backward fails for a src larger than index: it returns index's shape)
        src = _part(src, index)
    return _lib(x).scatter(x, dim, i, src) if variant == "function" else x.scatter(dim, i, src)


case("scatter")(_draw_scatter)(_scatter, _scatter)


def _draw_scatter_reduce(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    dim = one_dim(d, len(shape))
    reduce = d(st.sampled_from(["sum", "prod", "mean", "amax", "amin"]))
    index = _scatter_index(d, rng, shape, dim, distinct=False)
    src = normal(rng, tuple(n + d(st.integers(0, 1)) for n in index.shape))
    x = normal(rng, shape)
    if reduce == "prod" and d(st.booleans()):  # a zero in x and one in src (exact gradients with zeros)
        x.reshape(-1)[0] = 0.0
        if index.size:
            src[(0,) * src.ndim] = 0.0
    variant = d(st.sampled_from(["scatter_reduce", "function"] + {"sum": ["scatter_add", "scatter(reduce)"],
                                                                  "prod": ["scatter(reduce)"]}.get(reduce, [])))
    return [x, src], {"index": index, "dim": dim, "reduce": reduce, "include_self": d(st.booleans()),
                      "variant": variant}


def _torch_scatter_prod(x, src, index, dim, include_self):
    """scatter_reduce(..., 'prod') as torch computes it element by element: torch's own entry has
    no forward-mode tangent for 'prod' (it gives None), these operations have."""
    along = np.meshgrid(*[np.arange(n) for n in index.shape], indexing="ij") if index.ndim else []
    along = [index if k == pos(dim, x.ndim) else a for k, a in enumerate(along)]
    targets = np.ravel_multi_index(tuple(along), x.shape).reshape(-1) if index.ndim else np.zeros(index.size, int)
    flat = x.reshape(-1)
    if not include_self and targets.size:
        flat = flat.index_fill(0, torch.from_numpy(np.unique(targets)), 1.0)
    values = src.reshape(-1)
    for e, p in enumerate(targets.tolist()):
        at = (torch.tensor([p]),)
        flat = flat.index_put(at, flat[p:p + 1] * values[e:e + 1])
    return flat.reshape(x.shape)


def _scatter_reduce(x, src, index, dim, reduce, include_self, variant):
    i = _index(x, index)
    if _is_torch(x):
        src = _part(src, index)
        if reduce == "prod":  # (torch's scatter_reduce itself: test_catalogue_shape.py, first order)
            return _torch_scatter_prod(x, src, index, dim, include_self if variant in ("scatter_reduce", "function")
                                       else True)
    if variant == "scatter_add":
        return x.scatter_add(dim, i, src)
    if variant == "scatter(reduce)":
        if _is_torch(x):  # (torch has no gradient for scatter's reduce=: the same as scatter_reduce's)
            return x.scatter_reduce(dim, i, src, reduce)
        return x.scatter(dim, i, src, reduce={"sum": "add", "prod": "multiply"}[reduce])
    if variant == "function":
        return _lib(x).scatter_reduce(x, dim, i, src, reduce, include_self=include_self)
    return x.scatter_reduce(dim, i, src, reduce, include_self=include_self)


case("scatter_reduce")(_draw_scatter_reduce)(_scatter_reduce, _scatter_reduce)


# -- index_copy, index_fill, masked_scatter ---------------------------------------------------------------

def _draw_index_copy(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    dim = one_dim(d, len(shape))
    along = pos(dim, len(shape))
    index = rng.permutation(shape[along])[:d(st.integers(0, shape[along]))]  # (distinct: one writer each)
    source = normal(rng, shape[:along] + index.shape + shape[along + 1:])
    return [normal(rng, shape), source], {"index": index, "dim": dim, "function": d(st.booleans())}


case("index_copy")(_draw_index_copy)(
    lambda x, s, index, dim, function: (_lib(x).index_copy(x, dim, _index(x, index), s) if function
                                        else x.index_copy(dim, _index(x, index), s)),
    lambda x, s, index, dim, function: x.index_copy(dim, _index(x, index), s))


def _draw_index_fill(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    dim = one_dim(d, len(shape))
    n = shape[pos(dim, len(shape))]
    return [normal(rng, shape)], {"index": rng.integers(-n, n, size=d(st.integers(0, 4))), "dim": dim,
                                  "value": d(st.floats(-3, 3))}


case("index_fill")(_draw_index_fill)(lambda x, index, dim, value: x.index_fill(dim, _index(x, index), value),
                                     lambda x, index, dim, value: x.index_fill(dim, _index(x, index), value))


def _draw_masked_scatter(d):
    rng = rng_of(d)
    shape = shape_of(d)
    mshape = tuple(1 if d(st.booleans()) else n for n in shape)[d(st.integers(0, len(shape))):]
    if d(st.booleans()):  # the mask broadcasts the tensor up too
        shape, mshape = mshape, shape
    mask = np.asarray(rng.random(mshape) < 0.5)
    full = np.broadcast_shapes(shape, mshape)
    count = int(np.broadcast_to(mask, full).sum())
    return [normal(rng, shape), normal(rng, (count + d(st.integers(0, 2)),))], {"mask": mask}


case("masked_scatter")(_draw_masked_scatter)(lambda x, s, mask: x.masked_scatter(_index(x, mask), s),
                                             lambda x, s, mask: x.masked_scatter(_index(x, mask), s))


# -- reordering and repeating ------------------------------------------------------------------------------

def _draw_flip(d):
    rng = rng_of(d)
    shape = shape_of(d)
    nd = len(shape)
    dims = tuple(d(st.lists(st.integers(-nd, nd - 1), unique_by=lambda k: k % nd, max_size=nd))) if nd else ()
    variant = d(st.sampled_from(["method", "function", "lr", "ud"]))
    if (variant == "lr" and nd < 2) or (variant == "ud" and nd < 1):
        variant = "method"
    return [normal(rng, shape)], {"dims": dims, "variant": variant}


def _flip(x, dims, variant):
    if variant == "lr":
        return x.fliplr()
    if variant == "ud":
        return _lib(x).flipud(x)
    return _lib(x).flip(x, dims) if variant == "function" else x.flip(dims)


case("flip")(_draw_flip)(_flip, _flip)


def _draw_roll(d):
    rng = rng_of(d)
    shape = shape_of(d)
    nd = len(shape)
    if not nd or d(st.booleans()):
        return [normal(rng, shape)], {"shifts": d(st.integers(-4, 4)), "dims": None}
    dims = tuple(d(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=3)))
    return [normal(rng, shape)], {"shifts": tuple(d(st.integers(-4, 4)) for _ in dims), "dims": dims}


case("roll")(_draw_roll)(lambda x, shifts, dims: x.roll(shifts, dims), lambda x, shifts, dims: x.roll(shifts, dims))


def _draw_repeat(d):
    rng = rng_of(d)
    shape = shape_of(d)
    variant = d(st.sampled_from(["repeat", "tile", "function"]))
    low = 0 if variant != "repeat" else max(len(shape), 1)  # (torch's repeat() needs at least one)
    reps = tuple(d(st.lists(st.integers(0, 3), min_size=low, max_size=len(shape) + 1)))
    return [normal(rng, shape)], {"reps": reps, "variant": variant}


def _repeat(x, reps, variant):
    if variant == "repeat":
        return x.repeat(*reps)
    return _lib(x).tile(x, reps) if variant == "function" else x.tile(reps)


case("repeat")(_draw_repeat)(_repeat, _repeat)


# -- triangles, diagonals, windows ------------------------------------------------------------------------------

def _draw_triangle(d):
    rng = rng_of(d)
    return [normal(rng, shape_of(d, min_dims=2, max_dims=4))], {"k": d(st.integers(-3, 3)), "function": d(st.booleans())}


for _name in ("tril", "triu"):
    case(_name)(_draw_triangle)(
        lambda x, k, function, _n=_name: getattr(_lib(x), _n)(x, k) if function else getattr(x, _n)(k),
        lambda x, k, function, _n=_name: getattr(x, _n)(k))


def _draw_diagonal(d):
    rng = rng_of(d)
    variant = d(st.sampled_from(["diagonal", "function", "trace", "diag"]))
    shape = shape_of(d, min_dims=2, max_dims=2 if variant in ("trace", "diag") else 4)
    nd = len(shape)
    d1 = one_dim(d, nd)
    d2 = d(st.sampled_from([k for k in range(-nd, nd) if k % nd != d1 % nd]))
    return [normal(rng, shape)], {"offset": d(st.integers(-3, 3)), "d1": d1, "d2": d2, "variant": variant}


def _diagonal(x, offset, d1, d2, variant):
    if variant == "trace":
        return x.trace()
    if variant == "diag":
        return _lib(x).diag(x, offset)
    return _lib(x).diagonal(x, offset, d1, d2) if variant == "function" else x.diagonal(offset, d1, d2)


case("diagonal")(_draw_diagonal)(_diagonal, _diagonal)


def _draw_diag_embed(d):
    rng = rng_of(d)
    variant = d(st.sampled_from(["diag_embed", "diag"]))
    shape = shape_of(d, min_dims=1, max_dims=1 if variant == "diag" else 3)
    nd = len(shape) + 1
    d1 = one_dim(d, nd)
    d2 = d(st.sampled_from([k for k in range(-nd, nd) if k % nd != d1 % nd]))
    return [normal(rng, shape)], {"offset": d(st.integers(-2, 2)), "d1": d1, "d2": d2, "variant": variant}


def _diag_embed(x, offset, d1, d2, variant):
    if variant == "diag":
        return x.diag(offset)
    return _lib(x).diag_embed(x, offset, d1, d2)


case("diag_embed")(_draw_diag_embed)(_diag_embed, _diag_embed)


def _draw_unfold(d):
    rng = rng_of(d)
    shape = shape_of(d)
    dim = one_dim(d, len(shape))
    n = shape[pos(dim, len(shape))] if shape else 1
    return [normal(rng, shape)], {"dim": dim, "size": d(st.integers(0, n)), "step": d(st.integers(1, 3))}


case("unfold")(_draw_unfold)(lambda x, dim, size, step: x.unfold(dim, size, step),
                             lambda x, dim, size, step: x.unfold(dim, size, step))


# -- view(dtype) ---------------------------------------------------------------------------------------------

def _draw_view_dtype(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1) + (d(st.sampled_from([1, 2, 4])),)  # (torch: empty has stride 0)
    return [normal(rng, shape)], {"target": d(st.sampled_from(["same_int", "half_int", "uint8", "same_float"]))}


def _view_dtype(x, target):
    size = x.element_size() if _is_torch(x) else x.dtype.itemsize  # (float32 or float64)
    name = {"same_int": f"int{8 * size}", "half_int": f"int{4 * size}", "uint8": "uint8",
            "same_float": f"float{8 * size}"}[target]
    return x.view(getattr(torch, name) if _is_torch(x) else np.dtype(name))


case("view_dtype")(_draw_view_dtype)(_view_dtype, _view_dtype)


# -- einsum -----------------------------------------------------------------------------------------------

# (equation, operand shapes): products, contractions, diagonals, broadcasting, ellipses, implicit outputs
_EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 0), (0, 3)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,j->ij", [(3,), (2,)]), ("i,i->", [(4,), (4,)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]), ("iij->ji", [(2, 2, 3)]), ("ba", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]), ("...i,...i", [(2, 3), (3,)]), ("i...->i", [(2, 3, 1)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("ij,ij->ij", [(2, 1), (1, 3)]), ("i,i,i->i", [(3,), (3,), (1,)]),
    ("bn,anm,bm->ba", [(2, 3), (2, 3, 2), (2, 2)]), ("ij,kl->", [(2, 2), (1, 3)]), ("", [()]), (",i->i", [(), (3,)]),
]


def _draw_einsum(d):
    rng = rng_of(d)
    equation, shapes = d(st.sampled_from(_EINSUMS))
    return [normal(rng, s) for s in shapes], {"equation": equation, "sublist": d(st.booleans())}


def _einsum(*xs, equation, sublist):
    lib = torch if _is_torch(xs[0]) else ag.functions_shape
    if sublist and "..." not in equation and "->" in equation:
        lhs, out = equation.split("->")
        code = {c: i for i, c in enumerate(sorted(set(equation) - set(",->")))}
        args = [a for x, term in zip(xs, lhs.split(",")) for a in (x, [code[c] for c in term])]
        return lib.einsum(*args, [code[c] for c in out])
    return lib.einsum(equation, *xs)


case("einsum")(_draw_einsum)(_einsum, _einsum)
