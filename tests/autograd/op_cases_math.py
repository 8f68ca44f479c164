"""Cases of test_ops.py for the elementwise catalogue (special functions, rounding, logical and bitwise ops, activations): see op_cases.py for what a case is.

Values are kept away from the kinks, jumps and domain edges where finite differences mean nothing
(integers for floor, half-multiples for round, the bounds of hardtanh, +-3 for the hard activations,
integer quotients for fmod/remainder/floor division). Integer and bool inputs are drawn where the
result is exact (integer and bool results); the float functions of integer tensors are checked in
test_catalogue_math.py (their float32 results agree with torch's to rounding only).
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn.functional as F
from op_cases import broadcast_shapes, case, nonzero, normal, one_dim, pos, positive, rng_of, shape_of

TF = torch.nn.functional
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8]


def recorded(*tensors):
    """The integer and bool tensors among ``tensors`` as leaves that operations are recorded on.

    An operation of tensors that require no grad makes no node (torch records nothing for them
    either), but test_op checks that each case reaches its entry in the recorded graph: these
    leaves are marked as if they required grad, so that the entry's node is made. They are fresh
    leaves on the same data; the inputs themselves stay as they were."""
    out = []
    for t in tensors:
        if isinstance(t, ag.Tensor) and t.dtype.kind != "f":
            t = ag.from_numpy(t.data)
            t.requires_grad = True  # (bypasses requires_grad_(), which refuses integer tensors)
        out.append(t)
    return out if len(out) != 1 else out[0]


def on_integers(f):
    """``f`` with its integer and bool tensor arguments ``recorded``; an integer or bool result then
    requires no grad again (the marks would make a differentiable entry's node require it)."""
    def run(*args, **kw):
        out = f(*[recorded(a) for a in args], **kw)
        for o in out if isinstance(out, tuple) else (out,):
            if o.dtype.kind != "f":
                o.requires_grad = False
        return out
    return run


def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def off_grid(step=1.0, margin=0.1):
    """Values at least ``margin`` steps away from the multiples of ``step`` plus a half (where
    round jumps) and from the multiples themselves (where floor, ceil, trunc and frac jump)."""
    def values(rng, shape):
        k = rng.integers(-4, 5, shape)
        frac = rng.uniform(margin, 0.5 - margin, shape) * rng.choice([-1.0, 1.0], shape)
        return (k + frac) * step
    return values


def bools(rng, shape):
    return np.asarray(rng.random(shape) < 0.5)


def integers(rng, shape, dtype=np.int64, lo=-20, hi=21):
    info = np.iinfo(dtype)
    return np.asarray(rng.integers(max(lo, info.min), min(hi, info.max), shape), dtype=dtype)


# -- unary float functions ----------------------------------------------------------------------------

def _unary(values):
    def draw(d):
        rng = rng_of(d)
        return [values(rng, shape_of(d))], {"form": d(st.sampled_from(["method", "function", "inplace"]))}
    return draw


def _unary_forms(name, torch_name=None):
    """x.name(), ag.name(x), or name_ on a recorded copy (the in-place form)."""
    def ours(x, form):
        if form == "method":
            return getattr(x, name)()
        if form == "function":
            return getattr(ag, name)(x)
        return getattr(x * 1.0, name + "_")()

    def theirs(x, form):
        return getattr(torch, torch_name or name)(x)
    return ours, theirs


for _name, _values in (("erf", normal), ("erfc", normal), ("erfinv", uniform(-0.9, 0.9)), ("exp2", normal),
                       ("expm1", normal), ("log2", positive), ("log10", positive), ("log1p", uniform(-0.5, 2.0)),
                       ("rsqrt", positive), ("reciprocal", nonzero), ("tan", uniform(-1.2, 1.2)),
                       ("asin", uniform(-0.9, 0.9)), ("acos", uniform(-0.9, 0.9)), ("atan", normal), ("sinh", normal),
                       ("cosh", normal), ("asinh", normal), ("acosh", uniform(1.1, 3.0)), ("atanh", uniform(-0.9, 0.9)),
                       ("frac", off_grid())):
    case(_name)(_unary(_values))(*_unary_forms(_name))


def _with_integers(float_values, int_dtypes=INT_DTYPES, with_bools=False):
    """Float64 values, or (one draw in three) integers of a drawn dtype (or bools), which take the
    method and function forms (an in-place operation on a tensor that requires no grad makes no node)."""
    def draw(d):
        rng = rng_of(d)
        shape = shape_of(d)
        kind = d(st.sampled_from(["float", "float", "int"] + (["bool"] if with_bools else [])))
        forms = ["method", "function"] + (["inplace"] if kind == "float" else [])
        if kind == "float":
            x = float_values(rng, shape)
        elif kind == "int":
            x = integers(rng, shape, d(st.sampled_from(int_dtypes)))
        else:
            x = bools(rng, shape)
        return [x], {"form": d(st.sampled_from(forms))}
    return draw


def _exact_forms(name):
    ours, theirs = _unary_forms(name)
    return on_integers(ours), theirs


case("square")(_with_integers(normal, with_bools=True))(*_exact_forms("square"))
for _name in ("floor", "ceil", "trunc"):
    case(_name)(_with_integers(off_grid()))(*_exact_forms(_name))


def _draw_round(d):
    rng = rng_of(d)
    shape = shape_of(d)
    if d(st.booleans()):
        decimals = d(st.sampled_from([0, 1, 2, -1]))
        return [off_grid(10.0 ** -decimals)(rng, shape)], {"decimals": decimals, "form": d(st.sampled_from(
            ["method", "function", "inplace"]))}
    return [integers(rng, shape, d(st.sampled_from(INT_DTYPES)))], {"decimals": 0, "form": "method"}


@on_integers
def _round_ours(x, decimals, form):
    if form == "inplace":
        return (x * 1.0).round_(decimals=decimals)
    return x.round(decimals=decimals) if form == "method" else ag.round(x, decimals=decimals)


case("round")(_draw_round)(  # (torch refuses decimals= for integers, even 0)
    _round_ours, lambda x, decimals, form: torch.round(x, decimals=decimals) if decimals else torch.round(x))


def _draw_nan_to_num(d):
    rng = rng_of(d)
    shape = shape_of(d)
    numbers = st.one_of(st.none(), st.floats(-5, 5))
    kw = {"nan": d(st.floats(-5, 5)), "posinf": d(numbers), "neginf": d(numbers)}
    if d(st.booleans()) or not shape:
        x = normal(rng, shape)
        flat = x.reshape(-1)
        flat[rng.random(x.size) < 0.3] = np.nan
        # (infinities only where they become small numbers: a dtype's largest value, the default,
        # swamps the finite differences of gradcheck; the defaults are checked in test_catalogue_math)
        if kw["posinf"] is not None:
            flat[rng.random(x.size) < 0.2] = np.inf
        if kw["neginf"] is not None:
            flat[rng.random(x.size) < 0.2] = -np.inf
    else:
        x = integers(rng, shape, d(st.sampled_from(INT_DTYPES)))
    return [x], kw


case("nan_to_num")(_draw_nan_to_num)(
    on_integers(lambda x, nan, posinf, neginf: x.nan_to_num(nan, posinf, neginf) if nan > 0
                else ag.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)),
    lambda x, nan, posinf, neginf: torch.nan_to_num(x, nan, posinf, neginf))


# -- functions of two tensors ---------------------------------------------------------------------------

def _binary(values_a=normal, values_b=normal):
    def draw(d):
        rng = rng_of(d)
        sa, sb = broadcast_shapes(d)
        return [values_a(rng, sa), values_b(rng, sb)], {"form": d(st.sampled_from(["method", "function"]))}
    return draw


def _binary_forms(name, torch_name=None):
    return (lambda a, b, form: getattr(a, name)(b) if form == "method" else getattr(ag, name)(a, b),
            lambda a, b, form: getattr(torch, torch_name or name)(a, b))


case("logaddexp")(_binary(lambda r, s: 3 * normal(r, s), lambda r, s: 3 * normal(r, s)))(*_binary_forms("logaddexp"))
case("atan2")(_binary())(*_binary_forms("atan2"))
case("hypot")(_binary())(*_binary_forms("hypot"))
case("xlogy")(_binary(lambda r, s: np.where(r.random(s) < 0.2, 0.0, normal(r, s)), positive))(
    *_binary_forms("xlogy"))


def _draw_copysign(d):
    rng = rng_of(d)
    sa, sb = broadcast_shapes(d)
    other = d(st.sampled_from(["tensor", "number", "int"]))
    b = nonzero(rng, sb) if other == "tensor" else d(st.sampled_from([-2.0, 3.0, -0.0, 0.0]))
    if other == "int":
        b = integers(rng, sb)
    return [nonzero(rng, sa)] + ([b] if other != "number" else []), {"number": b if other == "number" else None}


case("copysign")(_draw_copysign)(
    lambda a, *b, number: a.copysign(b[0] if b else number) if b else ag.copysign(a, number),
    lambda a, *b, number: torch.copysign(a, b[0] if b else number))


def _draw_quotient(d):
    """a and b for fmod, remainder and floor division: a / b at least 0.1 away from an integer (where
    the quotient's floor or trunc jumps), a number b, or integers (with negative values; b nonzero)."""
    rng = rng_of(d)
    full = shape_of(d)
    small = tuple(1 if d(st.booleans()) else n for n in full)[d(st.integers(0, len(full))):]
    a_full = d(st.booleans())
    sa, sb = (full, small) if a_full else (small, full)
    kind = d(st.sampled_from(["float", "float", "int", "number"]))
    if kind == "int":
        dtype = d(st.sampled_from(INT_DTYPES))
        b = integers(rng, sb, dtype, lo=1, hi=7)
        if dtype != np.uint8:
            b = np.asarray(b * rng.choice(np.array([-1, 1], dtype=dtype), sb), dtype=dtype)
        return [integers(rng, sa, dtype), b], {"number": None}
    q = off_grid(1.0, 0.1)(rng, full) + 0.5  # at least 0.1 from an integer
    if kind == "number":
        c = d(st.sampled_from([2.5, -1.5, 3, -2]))
        return [q * c], {"number": c}
    if a_full:
        b = nonzero(rng, sb)
        return [np.broadcast_to(b, full) * q, b], {"number": None}
    a = nonzero(rng, sa)
    return [a, np.broadcast_to(a, full) / q], {"number": None}


def _draw_fmod(d):
    arrays, kw = _draw_quotient(d)
    kw["form"] = d(st.sampled_from(["method", "function"]))
    return arrays, kw


def _mod_forms(name, operator=None):
    @on_integers
    def ours(a, *b, number, form):
        other = number if number is not None else b[0]
        if form == "operator":
            return operator(a, other)
        return getattr(a, name)(other) if form == "method" else getattr(ag, name)(a, other)

    def theirs(a, *b, number, form):
        return getattr(torch, name)(a, number if number is not None else b[0])
    return ours, theirs


case("fmod")(_draw_fmod)(*_mod_forms("fmod"))


def _draw_remainder(d):
    arrays, kw = _draw_quotient(d)
    kw["form"] = d(st.sampled_from(["method", "function", "operator"]))
    return arrays, kw


case("remainder")(_draw_remainder)(*_mod_forms("remainder", lambda a, b: a % b))


def _draw_div_rounded(d):
    arrays, kw = _draw_quotient(d)
    kw["form"] = d(st.sampled_from(["floor", "trunc", "operator", "function"]))
    return arrays, kw


def _div_rounded(lib):
    def f(a, *b, number, form):
        other = number if number is not None else b[0]
        if lib is torch:  # (torch's // and floor_divide have no derivative; div(rounding_mode=) has: 0)
            return torch.div(a, other, rounding_mode="trunc" if form == "trunc" else "floor")
        if form == "operator":
            return a // other
        if form == "function":
            return ag.floor_divide(a, other)
        return a.div(other, rounding_mode=form)
    return on_integers(f) if lib is ag else f


case("div_rounded")(_draw_div_rounded)(_div_rounded(ag), _div_rounded(torch))


def _draw_lerp(d):
    rng = rng_of(d)
    sx, se, sw = broadcast_shapes(d, n=3)
    if d(st.booleans()):
        return [normal(rng, sx), normal(rng, se)], {"weight": d(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0, 1.7]))}
    return [normal(rng, sx), normal(rng, se), rng.uniform(-0.5, 1.5, sw)], {"weight": None}


case("lerp")(_draw_lerp)(
    lambda x, end, *w, weight: x.lerp(end, w[0] if w else weight) if w else ag.lerp(x, end, weight),
    lambda x, end, *w, weight: torch.lerp(*torch.broadcast_tensors(x, end, w[0])) if w
    else torch.lerp(*torch.broadcast_tensors(x, end), weight))


# -- logical and bitwise operations, tests of values (no gradient) -----------------------------------------

def _any_values(rng, shape, kind):
    if kind == "float":
        return np.where(rng.random(shape) < 0.3, 0.0, normal(rng, shape))
    if kind == "bool":
        return bools(rng, shape)
    return integers(rng, shape, np.int64, -2, 3)


def _draw_logical(d, n=2):
    rng = rng_of(d)
    shapes = broadcast_shapes(d, n=n)
    kinds = [d(st.sampled_from(["float", "int", "bool"])) for _ in shapes]
    return [_any_values(rng, s, k) for s, k in zip(shapes, kinds)], {"form": d(st.sampled_from(["method", "function"]))}


for _name in ("logical_and", "logical_or", "logical_xor"):
    case(_name)(_draw_logical)(
        lambda a, b, form, _n=_name: getattr(recorded(a), _n)(recorded(b)) if form == "method"
        else getattr(ag, _n)(*recorded(a, b)),
        lambda a, b, form, _n=_name: getattr(torch, _n)(a, b))
case("logical_not")(lambda d: _draw_logical(d, n=1))(
    lambda x, form: recorded(x).logical_not() if form == "method" else ag.logical_not(recorded(x)),
    lambda x, form: torch.logical_not(x))


def _draw_bitwise(d, shifts=False):
    """Two tensors of one integer (or bool) dtype, or one and a number of its kind (mixed dtypes
    promote by casts that no graph records: their results are checked in test_catalogue_math)."""
    rng = rng_of(d)
    sa, sb = broadcast_shapes(d)
    dtype = d(st.sampled_from(INT_DTYPES + ([] if shifts else [np.bool_])))
    if shifts:
        a = integers(rng, sa, dtype, -128, 128)
        b = integers(rng, sb, dtype, -2, 70)
    else:
        a = bools(rng, sa) if dtype == np.bool_ else integers(rng, sa, dtype, -100, 100)
        b = bools(rng, sb) if dtype == np.bool_ else integers(rng, sb, dtype, -100, 100)
    number = d(st.booleans()) if dtype == np.bool_ else d(st.integers(0, 5))
    return [a, b], {"form": d(st.sampled_from(["operator", "method", "function", "number", "reflected"])),
                    "number": number}


def _bitwise_case(name, operator):
    def ours(a, b, form, number):
        a, b = recorded(a, b)
        if form == "operator":
            return operator(a, b)
        if form == "number":
            return operator(a, number)
        if form == "reflected":
            return operator(number, a)
        return getattr(a, name)(b) if form == "method" else getattr(ag, name)(a, b)

    def theirs(a, b, form, number):
        if form == "number":
            return operator(a, number)
        if form == "reflected":
            return operator(number, a)
        return operator(a, b)
    return ours, theirs


case("bitwise_and")(_draw_bitwise)(*_bitwise_case("bitwise_and", lambda a, b: a & b))
case("bitwise_or")(_draw_bitwise)(*_bitwise_case("bitwise_or", lambda a, b: a | b))
case("bitwise_xor")(_draw_bitwise)(*_bitwise_case("bitwise_xor", lambda a, b: a ^ b))
case("bitwise_left_shift")(lambda d: _draw_bitwise(d, shifts=True))(
    *_bitwise_case("bitwise_left_shift", lambda a, b: a << b))
case("bitwise_right_shift")(lambda d: _draw_bitwise(d, shifts=True))(
    *_bitwise_case("bitwise_right_shift", lambda a, b: a >> b))


def _draw_bitwise_not(d):
    rng = rng_of(d)
    shape = shape_of(d)
    dtype = d(st.sampled_from(INT_DTYPES + [np.bool_]))
    x = bools(rng, shape) if dtype == np.bool_ else integers(rng, shape, dtype, -100, 100)
    return [x], {"form": d(st.sampled_from(["operator", "method", "function"]))}


case("bitwise_not")(_draw_bitwise_not)(
    lambda x, form: ~recorded(x) if form == "operator" else recorded(x).bitwise_not() if form == "method"
    else ag.bitwise_not(recorded(x)),
    lambda x, form: torch.bitwise_not(x))


def _draw_special_values(d):
    rng = rng_of(d)
    shape = shape_of(d)
    if d(st.integers(0, 3)) == 0:
        return [integers(rng, shape)], {}
    x = normal(rng, shape)
    flat = x.reshape(-1)
    flat[rng.random(x.size) < 0.4] = rng.choice([np.nan, np.inf, -np.inf])
    return [x], {}


for _name in ("isnan", "isinf", "isfinite"):
    case(_name)(_draw_special_values)(lambda x, _n=_name: getattr(ag, _n)(recorded(x)),
                                      lambda x, _n=_name: getattr(torch, _n)(x))


_NEAR_ONE = np.array([0.0, 1e-9, 2e-9, 1.0, 1.0 + 1e-7, 1.0 + 1e-4, 1.0 + 2e-3, 1.1, -1.0, np.nan, np.inf, -np.inf])


def _draw_isclose(d):
    rng = rng_of(d)
    sa, sb = broadcast_shapes(d)
    kw = {"rtol": d(st.sampled_from([1e-5, 1e-2, 0.0])), "atol": d(st.sampled_from([1e-8, 1e-3, 0.0])),
          "equal_nan": d(st.booleans())}
    if d(st.integers(0, 3)) == 0:
        return [integers(rng, sa, np.int64, -3, 4), integers(rng, sb, np.int64, -3, 4)], kw
    # values from a small set, so that equal, close, far, infinite and NaN pairs all occur
    return [rng.choice(_NEAR_ONE, sa), rng.choice(_NEAR_ONE, sb)], kw


case("isclose")(_draw_isclose)(
    lambda a, b, **kw: ag.isclose(*recorded(a, b), **kw),
    lambda a, b, **kw: torch.isclose(*torch.broadcast_tensors(a, b), **kw))


# -- activations (through nn.functional, as users reach them) -----------------------------------------------

def _activation(values):
    def draw(d):
        rng = rng_of(d)
        return [values(rng, shape_of(d))], {}
    return draw


def away_from(points, spread=4.0, margin=0.1):
    """Values in (-spread, spread) at least ``margin`` away from each of ``points``."""
    def values(rng, shape):
        x = rng.uniform(-spread, spread, shape)
        for p in points:
            x = np.where(np.abs(x - p) < margin, p + np.copysign(margin, x - p) * 2, x)
        return x
    return values


case("silu")(_activation(lambda r, s: 3 * normal(r, s)))(lambda x: F.silu(x), lambda x: TF.silu(x))
case("mish")(_activation(lambda r, s: 3 * normal(r, s)))(lambda x: F.mish(x), lambda x: TF.mish(x))
case("logsigmoid")(_activation(lambda r, s: 3 * normal(r, s)))(lambda x: F.logsigmoid(x), lambda x: TF.logsigmoid(x))
case("gelu_tanh")(_activation(lambda r, s: 2 * normal(r, s)))(
    lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"))
# (torch has no forward-mode derivative of hardsigmoid's backward, which test_op's forward-over-reverse
# check needs: its oracle is torch's formula for it, clamp(x + 3, 0, 6) / 6, whose derivatives agree away
# from -3 and 3)
case("hardsigmoid")(_activation(away_from([-3.0, 3.0])))(lambda x: F.hardsigmoid(x),
                                                          lambda x: torch.clamp(x + 3, 0, 6) / 6)
case("hardswish")(_activation(away_from([-3.0, 3.0])))(lambda x: F.hardswish(x), lambda x: TF.hardswish(x))


def _draw_elu(d):
    rng = rng_of(d)
    return [3 * nonzero(rng, shape_of(d))], {"kind": d(st.sampled_from(["elu", "selu", "celu"])),
                                             "alpha": d(st.sampled_from([1.0, 0.5, 2.0]))}


def _elu(functional):
    def f(x, kind, alpha):
        if kind == "selu":
            return functional.selu(x)
        return getattr(functional, kind)(x, alpha)
    return f


case("elu")(_draw_elu)(_elu(F), _elu(TF))


def _draw_hardtanh(d):
    rng = rng_of(d)
    shape = shape_of(d)
    kind = d(st.sampled_from(["hardtanh", "relu6", "int"]))
    lo, hi = (0.0, 6.0) if kind == "relu6" else (d(st.sampled_from([-1.0, -2.5, 0.0])), d(st.sampled_from([1.0, 0.5])))
    if kind == "int":
        return [integers(rng, shape, np.int64, -3, 4)], {"kind": "hardtanh", "lo": -1.0, "hi": 2.0}
    return [away_from([lo, hi], spread=8.0)(rng, shape)], {"kind": kind, "lo": lo, "hi": hi}


def _hardtanh(functional):
    def f(x, kind, lo, hi):
        return functional.relu6(x) if kind == "relu6" else functional.hardtanh(x, lo, hi)
    return on_integers(f) if functional is F else f


case("hardtanh")(_draw_hardtanh)(_hardtanh(F), _hardtanh(TF))


def _draw_glu(d):
    rng = rng_of(d)
    shape = list(shape_of(d, min_dims=1))
    dim = one_dim(d, len(shape))
    shape[pos(dim, len(shape))] = 2 * d(st.integers(0, 2))
    return [normal(rng, tuple(shape))], {"dim": dim}


case("glu")(_draw_glu)(lambda x, dim: F.glu(x, dim), lambda x, dim: TF.glu(x, dim))
