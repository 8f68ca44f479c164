"""The case table of test_ops.py: one entry for every operation of ``autograd.ops.OPS``.

A case says how to draw inputs with hypothesis and how to call the operation in chainrule and in
torch (the oracle). ``draw(draw) -> (arrays, kw)``: float64 arrays become differentiable inputs,
integer and bool arrays constant ones; ``ours(*tensors, **kw)`` and ``theirs(*torch_tensors,
**kw)`` return a tensor or a tuple of tensors. Shapes come from hypothesis: 0-d, size-1, empty
(where numpy and torch allow it) and mutually broadcastable ones; values from a seeded generator,
kept away from the kinks of non-smooth functions, where finite differences are meaningless.
Several cases pick a *variant* (e.g. ``reshape`` and ``view`` both record ``reshape``)
so that every public method reaching an op is exercised too.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn.functional as F
from autograd import extend
from autograd.ops import fn
from autograd.ops.index import Slot


class Case:
    def __init__(self, draw, ours, theirs, *, eps=1e-6, atol=1e-5, rtol=1e-3, tol=1e-9):
        self.draw, self.ours, self.theirs = draw, ours, theirs
        self.gradcheck = {"eps": eps, "atol": atol, "rtol": rtol}
        self.tol = tol  # relative and absolute tolerance against torch


CASES: dict[str, Case] = {}


def case(name, **options):
    def register(draw):
        def wrap(ours, theirs):
            CASES[name] = Case(draw, ours, theirs, **options)
        return wrap
    return register


# -- drawing -----------------------------------------------------------------------------------------

def rng_of(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def shape_of(draw, min_dims=0, max_dims=3, min_side=0, max_side=3):
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))


def broadcast_shapes(draw, n=2, min_side=0, max_dims=3):
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, min_side=min_side,
                                                  max_side=3)).input_shapes


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def nonzero(rng, shape):
    """Values at least 0.3 away from 0 (the kink of abs, relu, sign...)."""
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def dims_of(draw, ndim, tuples=True):
    """None, an int (maybe negative) or a tuple of distinct dims (maybe negative)."""
    kinds = ["none", "int"] + (["tuple"] if tuples and ndim else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))
    ds = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in ds)


def one_dim(draw, ndim):
    return draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))


def pos(d, ndim):
    return d % max(ndim, 1)


def reduced_count(shape, dims):
    if dims is None:
        return math.prod(shape)
    ds = (dims,) if isinstance(dims, int) else dims
    return math.prod(shape[pos(d, len(shape))] for d in ds) if shape else 1


def torch_dims(dims, ndim):
    """torch's spelling of 'every dimension' for reductions that need a dim."""
    if dims is None:
        return tuple(range(ndim)) if ndim else 0
    return dims


# -- elementwise: two tensors -------------------------------------------------------------------------

def _binary(values_a=normal, values_b=normal, min_side=0):
    def draw(d):
        rng = rng_of(d)
        sa, sb = broadcast_shapes(d, min_side=min_side)
        return [values_a(rng, sa), values_b(rng, sb)], {}
    return draw


case("add")(_binary())(lambda a, b: a + b, lambda a, b: a + b)
case("sub")(_binary())(lambda a, b: a - b, lambda a, b: a - b)
case("mul")(_binary())(lambda a, b: a * b, lambda a, b: a * b)
case("div")(_binary(normal, nonzero))(lambda a, b: a / b, lambda a, b: a / b)
case("pow")(_binary(positive, normal))(lambda a, b: ag.pow(a, b), lambda a, b: torch.pow(a, b))
case("maximum")(_binary())(lambda a, b: ag.maximum(a, b), torch.maximum)
case("minimum")(_binary())(lambda a, b: a.minimum(b), torch.minimum)
for _name, _f in (("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b), ("gt", lambda a, b: a > b),
                  ("ge", lambda a, b: a >= b), ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b)):
    # integer-valued data, so that == and != are sometimes true
    case(_name)(_binary(lambda r, s: r.integers(-1, 2, s).astype(float), lambda r, s: r.integers(-1, 2, s) * 1.0))(
        _f, _f)


def _draw_where(d):
    rng = rng_of(d)
    sc, sa, sb = broadcast_shapes(d, n=3)
    return [np.asarray(rng.random(sc) < 0.5), normal(rng, sa), normal(rng, sb)], {}


case("where")(_draw_where)(ag.where, torch.where)


def _draw_clamp_tensor(d):
    rng = rng_of(d)
    # the bounds broadcast to x's shape (torch's backward fails when they would broadcast x up)
    shapes = d(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    sx, (sl, sh) = shapes.result_shape, shapes.input_shapes
    return [normal(rng, sx), normal(rng, sl) - 0.5, normal(rng, sh) + 0.5], {"which": d(st.sampled_from(["both", "min",
                                                                                                        "max"]))}


def _clamp_tensor(clamp):
    def f(x, lo, hi, which):
        lo = lo if which != "max" else lo * 0 - 1e9  # keep every input in the graph
        hi = hi if which != "min" else hi * 0 + 1e9
        return clamp(x, lo, hi)
    return f


case("clamp_tensor")(_draw_clamp_tensor)(_clamp_tensor(lambda x, lo, hi: x.clamp(lo, hi)),
                                         _clamp_tensor(lambda x, lo, hi: x.clamp(lo, hi)))


# -- elementwise: a tensor and a Python number ----------------------------------------------------------

def _scalar(values=normal, numbers=st.floats(-2, 2).filter(lambda c: abs(c) > 0.1)):
    def draw(d):
        rng = rng_of(d)
        return [values(rng, shape_of(d))], {"c": d(numbers), "variant": d(st.integers(0, 2))}
    return draw


case("add_scalar")(_scalar())(lambda x, c, variant: (x + c, c + x, x - c)[variant],
                              lambda x, c, variant: (x + c, c + x, x - c)[variant])
case("rsub_scalar")(_scalar())(lambda x, c, variant: c - x, lambda x, c, variant: c - x)
case("mul_scalar")(_scalar())(lambda x, c, variant: (x * c, c * x, x * c)[variant],
                              lambda x, c, variant: (x * c, c * x, x * c)[variant])
case("div_scalar")(_scalar())(lambda x, c, variant: x / c, lambda x, c, variant: x / c)
case("rdiv_scalar")(_scalar(nonzero))(lambda x, c, variant: c / x, lambda x, c, variant: c / x)
case("pow_scalar")(_scalar(positive, st.sampled_from([0, 1, 2, 3, -1, 0.5, -1.5, 2.5])))(
    lambda x, c, variant: x ** c, lambda x, c, variant: x ** c)
case("rpow_scalar")(_scalar(normal, st.floats(0.2, 3.0)))(lambda x, c, variant: c ** x, lambda x, c, variant: c ** x)


def _draw_clamp(d):
    rng = rng_of(d)
    lo = d(st.one_of(st.none(), st.floats(-1.5, 0.0)))
    hi = d(st.one_of(st.none(), st.floats(0.1, 1.5))) if lo is not None else d(st.floats(-1, 1.5))
    return [normal(rng, shape_of(d))], {"lo": lo, "hi": hi, "clip": d(st.booleans())}


case("clamp")(_draw_clamp)(
    lambda x, lo, hi, clip: ag.clip(x, lo, hi) if clip else x.clamp(min=lo, max=hi),
    lambda x, lo, hi, clip: torch.clamp(x, lo, hi))


# -- elementwise: unary ----------------------------------------------------------------------------------

def _unary(values=normal):
    def draw(d):
        rng = rng_of(d)
        return [values(rng, shape_of(d))], {"function": d(st.booleans())}
    return draw


def _unary_pair(name, torch_name=None):
    torch_fn = getattr(torch, torch_name or name)
    return (lambda x, function: getattr(ag, name)(x) if function else getattr(x, name)(),
            lambda x, function: torch_fn(x))


case("neg")(_unary())(lambda x, function: -x, lambda x, function: -x)
case("exp")(_unary())(*_unary_pair("exp"))
case("log")(_unary(positive))(*_unary_pair("log"))
case("sqrt")(_unary(positive))(*_unary_pair("sqrt"))
case("abs")(_unary(nonzero))(*_unary_pair("abs"))
case("sin")(_unary())(*_unary_pair("sin"))
case("cos")(_unary())(*_unary_pair("cos"))
case("tanh")(_unary())(*_unary_pair("tanh"))
case("sigmoid")(_unary())(*_unary_pair("sigmoid"))
case("relu")(_unary(nonzero))(*_unary_pair("relu"))
case("sign")(_unary(nonzero))(*_unary_pair("sign"))
case("clone")(_unary())(lambda x, function: x.clone(), lambda x, function: x.clone())
# float64 -> float32 -> float64: the float32 rounding (1e-7) needs a larger finite-difference step
case("cast", eps=1e-2, atol=1e-4, tol=1e-6)(_unary())(
    lambda x, function: x.to(ag.float32).double() * 1.0, lambda x, function: x.float().double() * 1.0)


# -- reductions -----------------------------------------------------------------------------------------

def _reduce(values=normal, min_side=0, tuples=True):
    def draw(d):
        rng = rng_of(d)
        shape = shape_of(d, min_side=min_side)
        return [values(rng, shape)], {"dim": dims_of(d, len(shape), tuples), "keepdim": d(st.booleans())}
    return draw


case("sum")(_reduce())(lambda x, dim, keepdim: ag.sum(x, dim, keepdim),
                       lambda x, dim, keepdim: torch.sum(x, dim=dim, keepdim=keepdim))
case("mean")(_reduce(min_side=1))(lambda x, dim, keepdim: x.mean(axis=dim, keepdims=keepdim),
                                  lambda x, dim, keepdim: torch.mean(x, dim=dim, keepdim=keepdim))


def _draw_var(d):
    arrays, kw = _reduce(min_side=1)(d)
    n = reduced_count(arrays[0].shape, kw["dim"])
    kw["correction"] = d(st.sampled_from([0, 1])) if n > 1 else 0
    return arrays, kw


case("var")(_draw_var)(lambda x, dim, keepdim, correction: ag.var(x, dim, keepdim=keepdim, correction=correction),
                       lambda x, dim, keepdim, correction: torch.var(x, dim, keepdim=keepdim, correction=correction))
def _draw_std(d):
    """As var, over at least two elements: the second derivative of std at std = 0 is undefined
    (torch: NaN); the first derivative there is tested on its own."""
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=2)
    return [normal(rng, shape)], {"dim": dims_of(d, len(shape)), "keepdim": d(st.booleans()),
                                  "correction": d(st.sampled_from([0, 1]))}


case("std")(_draw_std)(lambda x, dim, keepdim, correction: x.std(dim, keepdim=keepdim, correction=correction),
                       lambda x, dim, keepdim, correction: torch.std(x, dim, keepdim=keepdim, correction=correction))


def _extreme(name, whole):
    def ours(x, dim, keepdim):
        if dim is None and not keepdim:
            return getattr(x, whole)()  # max() / min(): the same op
        return getattr(ag, name)(x, dim, keepdim)
    return ours


case("amax")(_reduce(min_side=1))(_extreme("amax", "max"),
                                  lambda x, dim, keepdim: torch.amax(x, torch_dims(dim, x.ndim), keepdim))
case("amin")(_reduce(min_side=1))(_extreme("amin", "min"),
                                  lambda x, dim, keepdim: torch.amin(x, torch_dims(dim, x.ndim), keepdim))
case("argmax")(_reduce(min_side=1, tuples=False))(lambda x, dim, keepdim: ag.argmax(x, dim, keepdim),
                                                  lambda x, dim, keepdim: torch.argmax(x, dim, keepdim))
case("argmin")(_reduce(min_side=1, tuples=False))(lambda x, dim, keepdim: x.argmin(dim=dim, keepdim=keepdim),
                                                  lambda x, dim, keepdim: torch.argmin(x, dim, keepdim))
case("logsumexp")(_reduce(min_side=1))(lambda x, dim, keepdim: ag.logsumexp(x, dim, keepdim),
                                       lambda x, dim, keepdim: torch.logsumexp(x, torch_dims(dim, x.ndim), keepdim))


def _draw_softmax(d):
    rng = rng_of(d)
    shape = shape_of(d)
    return [3 * normal(rng, shape)], {"dim": one_dim(d, len(shape)), "function": d(st.booleans())}


case("softmax")(_draw_softmax)(lambda x, dim, function: ag.softmax(x, dim) if function else x.softmax(axis=dim),
                               lambda x, dim, function: torch.softmax(x, dim))
case("log_softmax")(_draw_softmax)(
    lambda x, dim, function: ag.log_softmax(x, dim) if function else x.log_softmax(dim=dim),
    lambda x, dim, function: torch.log_softmax(x, dim))


def _draw_prod(d):
    rng = rng_of(d)
    shape = shape_of(d)
    x = normal(rng, shape)
    if x.size:  # zeros make the textbook rule g * prod / x divide by zero
        x.reshape(-1)[rng.choice(x.size, size=d(st.integers(0, min(2, x.size))), replace=False)] = 0.0
    return [x], {"dim": dims_of(d, len(shape)), "keepdim": d(st.booleans())}


def _torch_prod(x, dim, keepdim):
    if dim is None or x.ndim == 0:
        r = x.prod()
        return r.reshape((1,) * x.ndim) if keepdim else r
    ds = sorted({pos(k, x.ndim) for k in ((dim,) if isinstance(dim, int) else dim)}, reverse=True)
    for k in ds:
        x = x.prod(k, keepdim=True)
    for k in ds if not keepdim else ():
        x = x.squeeze(k)
    return x


case("prod")(_draw_prod)(lambda x, dim, keepdim: ag.prod(x, dim, keepdim), _torch_prod)


def _draw_norm(d):
    rng = rng_of(d)
    shape = shape_of(d, min_side=1)
    return [nonzero(rng, shape)], {"p": d(st.sampled_from([2, 1, 3, 0.5, 1.5, math.inf, -math.inf, 0, "fro"])),
                                   "dim": dims_of(d, len(shape)), "keepdim": d(st.booleans())}


case("norm")(_draw_norm)(lambda x, p, dim, keepdim: ag.norm(x, p, dim, keepdim),
                         lambda x, p, dim, keepdim: torch.linalg.vector_norm(x, 2 if p == "fro" else p, dim, keepdim))


# -- shape ----------------------------------------------------------------------------------------------

def _draw_reshape(d, variants=("reshape", "view")):
    rng = rng_of(d)
    shape = shape_of(d)
    nd = len(shape)
    variant = d(st.sampled_from(list(variants)))
    kw = {"variant": variant}
    if variant == "reshape":
        kw["shape"] = (-1,) if d(st.booleans()) or not shape else tuple(reversed(shape))
    elif variant == "view":
        kw["shape"] = (1,) + tuple(shape) if d(st.booleans()) else (math.prod(shape),)
    elif variant == "flatten":
        a, b = sorted((one_dim(d, nd), one_dim(d, nd)), key=lambda k: pos(k, nd))
        kw["start"], kw["end"] = a, b
    elif variant == "squeeze":
        kw["dim"] = None if d(st.booleans()) or not nd else one_dim(d, nd)
        shape = tuple(1 if d(st.booleans()) else n for n in shape)
    else:
        kw["dim"] = d(st.integers(-nd - 1, nd))
    return [normal(rng, shape)], kw


def _reshape(x, variant, **kw):
    if variant in ("reshape", "view"):
        return getattr(x, variant)(*kw["shape"])
    if variant == "flatten":
        return x.flatten(kw["start"], kw["end"])
    if variant == "squeeze":
        return x.squeeze() if kw["dim"] is None else x.squeeze(kw["dim"])
    return x.unsqueeze(kw["dim"])


case("reshape")(_draw_reshape)(_reshape, _reshape)
for _name in ("flatten", "squeeze", "unsqueeze"):
    case(_name)(lambda d, _v=(_name,): _draw_reshape(d, _v))(_reshape, _reshape)


def _draw_permute(d):
    rng = rng_of(d)
    shape = shape_of(d)
    return [normal(rng, shape)], {"dims": tuple(d(st.permutations(range(len(shape)))))}


case("permute")(_draw_permute)(lambda x, dims: x.permute(dims) if len(dims) != 2 else x.T,
                               lambda x, dims: x.permute(dims) if len(dims) != 2 else x.T)


def _draw_transpose(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1)
    return [normal(rng, shape)], {"d0": one_dim(d, len(shape)), "d1": one_dim(d, len(shape))}


case("transpose")(_draw_transpose)(lambda x, d0, d1: x.transpose(d0, d1), lambda x, d0, d1: x.transpose(d0, d1))


def _draw_expand(d):
    rng = rng_of(d)
    shape = shape_of(d)
    lead = tuple(d(st.lists(st.integers(0, 3), min_size=int(all(n != 1 for n in shape)), max_size=2)))
    sizes = lead + tuple(d(st.integers(0, 3)) if n == 1 else d(st.sampled_from([n, -1])) for n in shape)
    return [normal(rng, shape)], {"sizes": sizes, "variant": d(st.sampled_from(["expand", "broadcast_to"]))}


def _expand(x, sizes, variant):
    if variant == "expand":
        return x.expand(*sizes)
    full = tuple(n if s == -1 else s for s, n in zip(sizes, (None,) * (len(sizes) - x.ndim) + tuple(x.shape)))
    return x.broadcast_to(full)


case("expand")(_draw_expand)(_expand, _expand)


def _draw_join(d, same_shape):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=0 if same_shape else 1)
    nd = len(shape)
    n = d(st.integers(1, 3))
    if same_shape:
        return [normal(rng, shape) for _ in range(n)], {"dim": d(st.integers(-nd - 1, nd))}
    dim = one_dim(d, nd)
    shapes = [shape[:pos(dim, nd)] + (d(st.integers(0, 3)),) + shape[pos(dim, nd) + 1:] for _ in range(n)]
    return [normal(rng, s) for s in shapes], {"dim": dim}


case("cat")(lambda d: _draw_join(d, False))(lambda *xs, dim: ag.cat(list(xs), dim),
                                           lambda *xs, dim: torch.cat(xs, dim))
case("stack")(lambda d: _draw_join(d, True))(lambda *xs, dim: ag.stack(xs, axis=dim),
                                            lambda *xs, dim: torch.stack(xs, dim))


# -- indexing -------------------------------------------------------------------------------------------

def _draw_key(d, rng, shape):
    """A key for x[key] as ('kind', data) parts, built for each library by _key."""
    nd = len(shape)
    kind = d(st.sampled_from(["basic", "array", "tensor", "mask", "rows_mask", "pair", "list"]))
    if kind == "basic":
        parts = []
        for n in shape[:d(st.integers(0, nd))]:
            part = d(st.sampled_from(["int", "slice", "none", "ellipsis"]))
            if part == "int":
                parts.append(("int", d(st.integers(-n, n - 1))))
            elif part == "slice":
                parts.append(("slice", slice(d(st.integers(-4, 4)), d(st.integers(-4, 4)), d(st.integers(1, 2)))))
            elif part == "none":
                parts.append(("none", None))
            elif not any(p[0] == "ellipsis" for p in parts):
                parts.append(("ellipsis", Ellipsis))
        return parts
    if kind in ("array", "tensor", "list"):
        idx = rng.integers(-shape[0], shape[0], size=shape_of(d, max_dims=2, min_side=1))  # repeats likely
        lead = [("slice", slice(None))] if d(st.booleans()) and nd > 1 and shape[1] == shape[0] else []
        return lead + [(kind, idx.tolist() if kind == "list" else idx)]
    if kind == "mask":
        return [("mask", np.asarray(rng.random(shape) < 0.5))]
    if kind == "rows_mask":
        return [("mask", np.asarray(rng.random(shape[:1]) < 0.5)), ("ellipsis", Ellipsis)]
    return [("array", rng.integers(0, shape[0], size=(2, 1))), ("tensor", rng.integers(0, shape[1], size=(3,)))] \
        if nd > 1 else [("tensor", rng.integers(0, shape[0], size=(2, 2)))]


def _key(parts, lib):
    out = []
    for kind, v in parts:
        if kind in ("array", "tensor", "mask", "list"):
            if lib == "torch":  # (torch reads a nested list as a tuple of indices: give it a tensor)
                v = torch.from_numpy(np.asarray(v))
            elif kind in ("tensor", "mask"):
                v = ag.tensor(v)
        out.append(v)
    return out[0] if len(out) == 1 and parts[0][0] != "ellipsis" else tuple(out)


def _draw_getitem(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    variant = d(st.sampled_from(["key", "key", "key", "split", "chunk"]))
    kw = {"variant": variant}
    if variant == "key":
        kw["parts"] = _draw_key(d, rng, shape)
    else:
        kw["dim"] = one_dim(d, len(shape))
        kw["size"] = d(st.integers(1, 3))
    return [normal(rng, shape)], kw


def _getitem(lib):
    def f(x, variant, **kw):
        if variant == "key":
            return x[_key(kw["parts"], lib)]
        return tuple(getattr(x, variant)(kw["size"], kw["dim"]))
    return f


case("getitem")(_draw_getitem)(_getitem("ag"), _getitem("torch"))


def _draw_index_add(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    idx = rng.integers(0, shape[0], size=d(st.integers(0, 5)))
    return [normal(rng, idx.shape + shape[1:])], {"idx": idx, "shape": shape, "slot": d(st.booleans())}


def _index_add_ours(g, idx, shape, slot):
    if slot:  # the index as an input of the node
        return fn.index_add(g, (Slot(0),), [ag.tensor(idx)], shape)
    return fn.index_add(g, (idx,), [], shape)


case("index_add")(_draw_index_add)(
    _index_add_ours,
    lambda g, idx, shape, slot: torch.zeros(shape, dtype=g.dtype).index_put((torch.from_numpy(idx),), g,
                                                                            accumulate=True))


def _draw_gather(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    dim = one_dim(d, len(shape))
    variant = d(st.sampled_from(["gather", "max", "min"]))
    ishape = tuple(d(st.integers(0, 4)) if k == pos(dim, len(shape)) else d(st.integers(0, n))
                   for k, n in enumerate(shape))
    index = rng.integers(0, shape[pos(dim, len(shape))], size=ishape)
    return [normal(rng, shape)], {"index": index, "dim": dim, "variant": variant, "keepdim": d(st.booleans())}


def _gather(lib):
    def f(x, index, dim, variant, keepdim):
        if variant == "gather":
            return x.gather(dim, ag.tensor(index) if lib == "ag" else torch.from_numpy(index))
        return tuple(getattr(x, variant)(dim, keepdim))  # (values, indices) with values from gather
    return f


case("gather")(_draw_gather)(_gather("ag"), _gather("torch"))


def _draw_scatter_add(d):
    arrays, kw = _draw_gather(d)
    x, index, dim = arrays[0], kw["index"], kw["dim"]
    src = normal(rng_of(d), index.shape)
    return [src], {"index": index, "dim": dim, "shape": x.shape}


case("scatter_add")(_draw_scatter_add)(
    lambda g, index, dim, shape: fn.scatter_add(g, ag.tensor(index), pos(dim, len(shape)), shape),
    lambda g, index, dim, shape: torch.zeros(shape, dtype=g.dtype).scatter_add(dim, torch.from_numpy(index), g))


def _draw_index_select(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    dim = one_dim(d, len(shape))
    return [normal(rng, shape)], {"dim": dim,
                                  "index": rng.integers(0, shape[pos(dim, len(shape))], size=d(st.integers(0, 5)))}


case("index_select")(_draw_index_select)(
    lambda x, dim, index: x.index_select(dim, ag.tensor(index)),
    lambda x, dim, index: x.index_select(dim, torch.from_numpy(index)))


def _draw_masked_fill(d):
    rng = rng_of(d)
    shape = shape_of(d)
    mshape = tuple(1 if d(st.booleans()) else n for n in shape)[d(st.integers(0, len(shape))):]
    return [normal(rng, shape)], {"mask": np.asarray(rng.random(mshape) < 0.5), "value": d(st.floats(-3, 3))}


case("masked_fill")(_draw_masked_fill)(
    lambda x, mask, value: x.masked_fill(ag.tensor(mask), value),
    lambda x, mask, value: x.masked_fill(torch.from_numpy(mask), value))


def _draw_index_put(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    if d(st.booleans()):
        key = (slice(d(st.integers(0, shape[0])), None),)
        vshape = (len(range(shape[0])[key[0]]),) + shape[1:]
    else:  # distinct indices: repeated writes have no defined winner in torch
        key = (rng.permutation(shape[0])[:d(st.integers(1, shape[0]))],)
        vshape = key[0].shape + shape[1:]
    if d(st.booleans()):
        vshape = vshape[-1:] if vshape[1:] else ()  # broadcast into the selection
    return [normal(rng, shape), normal(rng, vshape)], {"key": key}


def _index_put(lib):
    def f(x, v, key):
        y = x * 1.0  # a non-leaf, so that the write is recorded
        y[key if lib == "ag" else tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)] = v
        return y
    return f


case("index_put")(_draw_index_put)(_index_put("ag"), _index_put("torch"))


# -- products -------------------------------------------------------------------------------------------

def _draw_matmul(d):
    rng = rng_of(d)
    n, k, m = (d(st.integers(0, 3)) for _ in range(3))
    ba, bb = broadcast_shapes(d, max_dims=2)
    a = (k,) if d(st.integers(0, 3)) == 0 else tuple(ba) + (n, k)
    b = (k,) if d(st.integers(0, 3)) == 0 else tuple(bb) + (k, m)
    return [normal(rng, a), normal(rng, b)], {"function": d(st.booleans())}


case("matmul")(_draw_matmul)(lambda a, b, function: ag.matmul(a, b) if function else a @ b,
                             lambda a, b, function: a @ b)


def _draw_vectors(same):
    def draw(d):
        rng = rng_of(d)
        n = d(st.integers(0, 4))
        return [normal(rng, (n,)), normal(rng, (n if same else d(st.integers(0, 4)),))], {}
    return draw


case("dot")(_draw_vectors(True))(lambda a, b: ag.dot(a, b), torch.dot)
case("outer")(_draw_vectors(False))(lambda a, b: a.outer(b), torch.outer)


# -- layers, activations and losses (applied through nn.functional, as users reach them) -----------------

def _draw_linear(d):
    rng = rng_of(d)
    n_in, n_out = d(st.integers(1, 3)), d(st.integers(1, 3))
    lead = shape_of(d, max_dims=2)
    return [normal(rng, lead + (n_in,)), normal(rng, (n_out, n_in)), normal(rng, (n_out,))], {}


case("linear")(_draw_linear)(lambda x, w, b: F.linear(x, w, b), torch.nn.functional.linear)
case("softplus")(_unary())(lambda x, function: F.softplus(x), lambda x, function: torch.nn.functional.softplus(x))
case("normal_cdf")(_unary())(
    lambda x, function: F.gelu(x) if function else extend.apply("normal_cdf", x),
    lambda x, function: torch.nn.functional.gelu(x) if function else torch.special.ndtr(x))


def _draw_dropout_mask(d):
    rng = rng_of(d)
    return [normal(rng, shape_of(d))], {"p": d(st.sampled_from([0.0, 1.0]))}  # the two deterministic masks


case("dropout_mask")(_draw_dropout_mask)(
    lambda x, p: extend.apply("dropout_mask", x, p=p),
    lambda x, p: torch.full_like(x, 1.0 - p))


def _draw_embedding(d):
    rng = rng_of(d)
    rows, dim = d(st.integers(1, 4)), d(st.integers(1, 3))
    # (at least one index: torch's backward of an empty lookup fails to reshape)
    return [normal(rng, (rows, dim)), rng.integers(0, rows, size=shape_of(d, max_dims=2, min_side=1))], {}


case("embedding")(_draw_embedding)(lambda w, idx: F.embedding(idx, w),
                                   lambda w, idx: torch.nn.functional.embedding(idx, w))


def _draw_nll(d):
    rng = rng_of(d)
    n, c = d(st.integers(1, 3)), d(st.integers(2, 4))
    extra = shape_of(d, max_dims=1, min_side=1) if d(st.booleans()) else ()
    target = rng.integers(0, c, size=(n,) + extra)
    ignore = -100
    if d(st.booleans()) and target.size > 1:
        ignore = int(target.flat[0])
        target.flat[-1] = (ignore + 1) % c  # at least one entry counts
    kw = {"target": target, "ignore_index": ignore, "reduction": d(st.sampled_from(["mean", "sum", "none"])),
          "weight": rng.uniform(0.5, 2.0, c) if d(st.booleans()) else None,
          "smoothing": d(st.sampled_from([0.0, 0.0, 0.2]))}
    return [normal(rng, (n, c) + extra)], kw


def _nll(lib):
    def f(x, target, ignore_index, reduction, weight, smoothing):
        functional = F if lib == "ag" else torch.nn.functional
        to = ag.tensor if lib == "ag" else torch.from_numpy
        w = None if weight is None else to(weight)
        if smoothing:  # cross_entropy: log_softmax, then nll_loss with label smoothing
            return functional.cross_entropy(x, to(target), w, ignore_index=ignore_index, reduction=reduction,
                                            label_smoothing=smoothing)
        return functional.nll_loss(x, to(target), w, ignore_index=ignore_index, reduction=reduction)
    return f


case("nll_loss")(_draw_nll)(_nll("ag"), _nll("torch"))


def _draw_bce(d):
    rng = rng_of(d)
    shape = shape_of(d)
    return [rng.uniform(0.05, 0.95, shape), rng.uniform(0.0, 1.0, shape)], {
        "reduction": d(st.sampled_from(["mean", "sum", "none"])),
        "weight": rng.uniform(0.5, 2.0, shape) if d(st.booleans()) else None}


def _bce(lib):
    def f(x, y, reduction, weight):
        functional = F if lib == "ag" else torch.nn.functional
        w = None if weight is None else (ag.tensor(weight) if lib == "ag" else torch.from_numpy(weight))
        return functional.binary_cross_entropy(x, y, w, reduction=reduction)
    return f


case("binary_cross_entropy")(_draw_bce)(_bce("ag"), _bce("torch"))
case("alias")(_unary())(lambda x, function: extend.apply("alias", x), lambda x, function: x.view_as(x))


# the catalogue beyond the lecture registers its cases from modules of its own
import op_cases_conv  # noqa: E402,F401
import op_cases_math  # noqa: E402,F401
import op_cases_shape  # noqa: E402,F401


# vmap's entering and leaving of a level (the batch dimension moved in front, and back)
def _draw_vmap(d):
    rng = rng_of(d)
    shape = shape_of(d, min_dims=1, min_side=1)
    return [normal(rng, shape)], {"dim": d(st.integers(0, len(shape) - 1))}


def _vmap_case(lib):
    def f(x, dim):
        import torch.func

        import autograd.func

        vmap = torch.func.vmap if lib == "torch" else autograd.func.vmap
        return vmap(lambda s: s.sin() * 2, in_dims=dim, out_dims=dim)(x)
    return f


case("vmap_in")(_draw_vmap)(_vmap_case("ag"), _vmap_case("torch"))
case("vmap_out")(_draw_vmap)(_vmap_case("ag"), _vmap_case("torch"))
