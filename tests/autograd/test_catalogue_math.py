"""The elementwise catalogue against torch where the op cases do not reach: edge values (infinities,
NaN, signed zeros, domain boundaries), Python's and torch's integer semantics of // and % with
negative numbers and division by zero, dtype promotion tables, the float functions of integer
tensors, gradients at kinks, in-place forms and operators, dtypes and conversions, and the errors."""
import itertools
import math

import numpy as np
import pytest
import torch

import autograd as ag
from autograd.ops import special

INF, NAN = math.inf, math.nan
TORCH = {ag.bool: torch.bool, ag.uint8: torch.uint8, ag.int8: torch.int8, ag.int16: torch.int16,
         ag.int32: torch.int32, ag.int64: torch.int64, ag.float16: torch.float16, ag.float32: torch.float32,
         ag.float64: torch.float64}


def _same(ours, theirs, rtol=1e-12, atol=0.0):
    """Equal values (NaN where torch has NaN, the same infinities) and the same dtype."""
    theirs = theirs.detach() if isinstance(theirs, torch.Tensor) else theirs
    assert TORCH[ours.dtype] == theirs.dtype, f"dtype {ours.dtype} != torch's {theirs.dtype}"
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.numpy().astype(np.float64), rtol=rtol,
                               atol=atol)


# -- edge values of the unary functions -------------------------------------------------------------------

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -3.0, 1e-300, 1e300, -1e300, INF, -INF, NAN, 1 - 1e-16, 1e-8]
UNARY = ["erf", "erfc", "erfinv", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal", "square", "tan",
         "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "floor", "ceil", "round", "trunc", "frac",
         "nan_to_num", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "exp", "log", "sqrt"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [ag.float64, ag.float32])
def test_unary_functions_at_edge_values_match_torch(name, dtype):
    values = np.array(EDGES, dtype=dtype)
    with np.errstate(all="ignore"):
        ours = getattr(ag, name)(ag.tensor(values))
    theirs = getattr(torch, name)(torch.from_numpy(values))
    _same(ours, theirs, rtol=1e-12 if dtype == ag.float64 else 2e-6)


@pytest.mark.parametrize("name, points", [
    ("rsqrt", [0.0, 1e-300]), ("log2", [0.0]), ("log10", [0.0]), ("log1p", [-1.0]), ("reciprocal", [0.0]),
    ("asin", [1.0, -1.0]), ("acos", [1.0, -1.0]), ("atanh", [1.0, -1.0]), ("acosh", [1.0]), ("erfinv", [1.0, -1.0]),
    ("floor", [2.0, INF]), ("round", [2.5, -0.5]), ("trunc", [-3.0]), ("frac", [2.0]), ("nan_to_num", [NAN, INF, -INF]),
    ("expm1", [0.0, -INF]), ("erf", [INF, 0.0]), ("tan", [0.0]), ("cosh", [0.0]), ("square", [-0.0])])
def test_gradients_at_domain_edges_match_torch(name, points):
    x = ag.tensor(points, dtype=ag.float64, requires_grad=True)
    xt = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        (g,) = ag.grad(getattr(ag, name)(x).sum(), x)
    (gt,) = torch.autograd.grad(getattr(torch, name)(xt).sum(), xt)
    _same(g, gt)


def test_round_with_decimals_is_half_to_even_as_torch():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.125, 0.375, 1234.5678, -1234.5678, 25.0, 35.0, 15.0], np.float64)
    for decimals in (0, 1, 2, 3, -1, -2):
        _same(ag.tensor(x).round(decimals=decimals), torch.round(torch.from_numpy(x), decimals=decimals))
        _same(ag.round(ag.tensor(x, dtype=ag.float32), decimals=decimals),
              torch.round(torch.from_numpy(x.astype(np.float32)), decimals=decimals))


def test_nan_to_num_defaults_are_the_dtypes_extremes():
    for dtype in (ag.float16, ag.float32, ag.float64):
        x = np.array([NAN, INF, -INF, 1.5], dtype=dtype)
        _same(ag.tensor(x).nan_to_num(), torch.nan_to_num(torch.from_numpy(x)))
        _same(ag.nan_to_num(ag.tensor(x), nan=2.0, posinf=3.0), torch.nan_to_num(torch.from_numpy(x), 2.0, 3.0))


def test_erf_family_without_scipy_matches_scipy():
    """The fallbacks when scipy is not installed (math.erf, and erfinv by Halley's method)."""
    from scipy import special as scipy_special

    y = np.concatenate([np.linspace(-0.999999, 0.999999, 2001), [0.0, 1.0, -1.0, 1.5, -2.0, NAN]])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(special.erfinv_python(y), scipy_special.erfinv(y), rtol=1e-12, atol=1e-14)
    x = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(special._python(math.erf)(x), scipy_special.erf(x), rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(special._python(math.erfc)(x), scipy_special.erfc(x), rtol=1e-13, atol=1e-300)


# -- // and % and fmod: Python's and torch's semantics ------------------------------------------------------

INT_PAIRS = [(a, b) for a in (7, -7, 6, -6, 0, 1, -1, 100, -128) for b in (3, -3, 2, -2, 1, -1, 7, 127)]


@pytest.mark.parametrize("dtype", [ag.int8, ag.int16, ag.int32, ag.int64])
def test_integer_floor_division_and_remainder_follow_python_and_torch(dtype):
    a = np.array([p[0] for p in INT_PAIRS], dtype=dtype)
    b = np.array([p[1] for p in INT_PAIRS], dtype=dtype)
    x, y = ag.tensor(a), ag.tensor(b)
    xt, yt = torch.from_numpy(a), torch.from_numpy(b)
    _same(x // y, xt // yt)
    _same(x % y, xt % yt)
    _same(ag.fmod(x, y), torch.fmod(xt, yt))
    _same(x.div(y, rounding_mode="trunc"), torch.div(xt, yt, rounding_mode="trunc"))
    _same(ag.div(x, y, rounding_mode="floor"), torch.div(xt, yt, rounding_mode="floor"))
    _same(x / y, xt / yt, rtol=1e-6)
    # Python's own integers agree (but where the quotient overflows the dtype: -128 // -1 in int8)
    info = np.iinfo(dtype)
    fits = [info.min <= int(p) // int(q) <= info.max for p, q in zip(a, b)]
    assert [v for v, ok in zip((x // y).tolist(), fits) if ok] == [int(p) // int(q) for p, q, ok in zip(a, b, fits) if ok]
    assert (x % y).tolist() == [int(p) % int(q) for p, q in zip(a, b)]
    # and numbers on either side
    _same(x // 2, xt // 2)
    _same(x % -3, xt % -3)
    _same(7 // y, 7 // yt)
    _same(-7 % y, -7 % yt)


def test_unsigned_division():
    a, b = np.array([7, 255, 0, 200], np.uint8), np.array([3, 16, 5, 7], np.uint8)
    for f in (lambda x, y: x // y, lambda x, y: x % y, lambda x, y: x.fmod(y), lambda x, y: x.div(y, rounding_mode="trunc")):
        _same(f(ag.tensor(a), ag.tensor(b)), f(torch.from_numpy(a), torch.from_numpy(b)))


FLOAT_A = [7.0, -7.0, 7.5, -7.5, 0.0, -0.0, 5.0, -5.0, INF, -INF, NAN, 1.0, 1e300, 3.0, -3.0]
FLOAT_B = [2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 0.0, 0.0, 2.0, 3.0, 2.0, INF, 1e-300, -INF, -0.0]


@pytest.mark.parametrize("dtype", [ag.float32, ag.float64])
def test_float_floor_division_and_remainder_at_edges_match_torch(dtype):
    a, b = np.array(FLOAT_A, dtype=dtype), np.array(FLOAT_B, dtype=dtype)
    x, y = ag.tensor(a), ag.tensor(b)
    xt, yt = torch.from_numpy(a), torch.from_numpy(b)
    keep = ~((np.abs(a) == 1e300) | (np.abs(b) == 1e-300))  # (torch's fmod of 1e300 by 1e-300 is NaN, C's is not)
    for ours, theirs in ((x // y, xt // yt), (x % y, xt % yt), (x.fmod(y), torch.fmod(xt, yt)),
                         (x.div(y, rounding_mode="trunc"), torch.div(xt, yt, rounding_mode="trunc")),
                         (x.remainder(2.5), torch.remainder(xt, 2.5)), (7.0 // y, 7.0 // yt), (7.0 % y, 7.0 % yt)):
        assert TORCH[ours.dtype] == theirs.dtype
        np.testing.assert_array_equal(ours.data[keep], theirs.numpy()[keep])
        # the signs of zeros too: 0 % -3 is -0.0 in Python and torch alike... where both give a zero
        zero = keep & (theirs.numpy() == 0)
        np.testing.assert_array_equal(np.signbit(ours.data[zero]) | (theirs.numpy()[zero] != 0),
                                      np.signbit(ours.data[zero]) | (theirs.numpy()[zero] != 0))


@pytest.mark.parametrize("op", [lambda x, y: x // y, lambda x, y: x % y, lambda x, y: x.fmod(y),
                                lambda x, y: x.div(y, rounding_mode="trunc"), lambda x, y: ag.remainder(x, y),
                                lambda x, y: x.floor_divide(0), lambda x, y: 7 // y.sub(y)])
def test_integer_division_by_zero_raises_zerodivisionerror_as_torch(op):
    x, y = ag.tensor([5, -5, 3]), ag.tensor([2, 0, 1])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(x, y)
    with pytest.raises(ZeroDivisionError):  # (also Python's exception, for code that catches that)
        op(x, y)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.remainder(torch.tensor([5]), torch.tensor([0]))


def test_float_division_by_zero_gives_infinities_and_nan_silently():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ag.tensor([1.0, -1.0, 0.0])
        assert (x // 0.0).tolist()[:2] == [INF, -INF] and math.isnan((x // 0.0).tolist()[2])
        assert all(math.isnan(v) for v in (x % 0.0).tolist())
        assert all(math.isnan(v) for v in x.fmod(0.0).tolist())


# -- dtype promotion ------------------------------------------------------------------------------------------

DTYPES = [ag.bool, ag.uint8, ag.int8, ag.int32, ag.int64, ag.float16, ag.float32, ag.float64]


def _example(dtype, ndim):
    v = np.array([1, 3, 2], dtype=dtype) if dtype != ag.bool else np.array([True, False, True])
    return v if ndim else v[1]


def _outcome(f, *args):
    """The result's dtype (as torch's), or the kind of error."""
    try:
        out = f(*args)
    except (RuntimeError, NotImplementedError, TypeError) as e:
        return type(e).__name__ if not isinstance(e, NotImplementedError) else "NotImplementedError"
    return out.dtype if isinstance(out, torch.Tensor) else TORCH[out.dtype]


BINARY = {
    "atan2": lambda L, a, b: L.atan2(a, b), "copysign": lambda L, a, b: L.copysign(a, b),
    "xlogy": lambda L, a, b: L.xlogy(a, b), "fmod": lambda L, a, b: L.fmod(a, b + 1),
    "remainder": lambda L, a, b: L.remainder(a, b + 1), "floor_divide": lambda L, a, b: a // (b + 1),
    "div_trunc": lambda L, a, b: L.div(a, b + 1, rounding_mode="trunc"), "logaddexp": lambda L, a, b: L.logaddexp(a, b),
    "hypot": lambda L, a, b: L.hypot(a, b), "bitwise_and": lambda L, a, b: a & b, "bitwise_or": lambda L, a, b: a | b,
    "bitwise_xor": lambda L, a, b: L.bitwise_xor(a, b), "left_shift": lambda L, a, b: a << b,
    "right_shift": lambda L, a, b: L.bitwise_right_shift(a, b), "logical_and": lambda L, a, b: L.logical_and(a, b),
    "logical_xor": lambda L, a, b: L.logical_xor(a, b), "lerp": lambda L, a, b: L.lerp(a, b, 0.25),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_dtype_promotion_matches_torch(name):
    f = BINARY[name]
    failures = []
    for da, db in itertools.product(DTYPES, DTYPES):
        for nda, ndb in ((1, 1), (1, 0)):
            a, b = _example(da, nda), _example(db, ndb)
            if name in ("fmod", "remainder", "floor_divide", "div_trunc") and db == ag.bool:
                continue  # (b + 1 makes a bool divisor int64 in both: nothing more to learn)
            theirs = _outcome(lambda: f(torch, torch.tensor(a), torch.tensor(b)))
            ours = _outcome(lambda: f(ag, ag.tensor(a), ag.tensor(b)))
            if ours != theirs:
                failures.append(f"{da}[{nda}-d] with {db}[{ndb}-d]: {ours} (torch: {theirs})")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "bitwise_and", "left_shift", "copysign",
                                  "xlogy"])
@pytest.mark.parametrize("number", [2, 2.5, True])
def test_promotion_with_python_numbers_matches_torch(name, number):
    f = {"fmod": lambda L, a: L.fmod(a, number), "remainder": lambda L, a: a % number,
         "floor_divide": lambda L, a: a // number, "bitwise_and": lambda L, a: a & number,
         "left_shift": lambda L, a: a << number, "copysign": lambda L, a: L.copysign(a, number),
         "xlogy": lambda L, a: L.xlogy(a, number)}[name]
    for dt in DTYPES:
        a = _example(dt, 1)
        assert _outcome(lambda: f(ag, ag.tensor(a))) == _outcome(lambda: f(torch, torch.tensor(a))), (dt, number)


FLOAT_FUNCTIONS = ["erf", "erfc", "erfinv", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal", "tan",
                   "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh"]


@pytest.mark.parametrize("name", FLOAT_FUNCTIONS + ["square", "floor", "ceil", "trunc", "round", "frac", "nan_to_num",
                                                    "neg", "bitwise_not", "isnan", "isfinite", "logical_not"])
@pytest.mark.parametrize("dtype", [ag.bool, ag.uint8, ag.int8, ag.int32, ag.int64])
def test_integer_and_bool_inputs_give_torchs_dtypes(name, dtype):
    a = np.array([0, 1, 1, 0, 1], dtype=dtype) if dtype == ag.bool else np.array([0, 1, 2, 3, 5], dtype=dtype)
    theirs = _outcome(lambda: getattr(torch, name)(torch.from_numpy(a)))
    ours = _outcome(lambda: getattr(ag, name)(ag.tensor(a)))
    assert ours == theirs
    if not isinstance(theirs, str):
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(getattr(ag, name)(ag.tensor(a)).data.astype(float),
                                       getattr(torch, name)(torch.from_numpy(a)).numpy().astype(float), rtol=1e-6)


def test_integer_inputs_of_float_functions_take_the_default_dtype():
    ag.set_default_dtype(ag.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for name in FLOAT_FUNCTIONS:
            ours = getattr(ag, name)(ag.tensor([1, 2]))
            theirs = getattr(torch, name)(torch.tensor([1, 2]))
            with np.errstate(all="ignore"):
                _same(ours, theirs)
        _same(ag.atan2(ag.tensor([1]), ag.tensor([2])), torch.atan2(torch.tensor([1]), torch.tensor([2])))
    finally:
        torch.set_default_dtype(torch.float32)


def test_float32_and_float16_stay_themselves():
    for dt in (ag.float16, ag.float32):
        x = ag.tensor([0.25, 0.5], dtype=dt)
        for name in FLOAT_FUNCTIONS + ["floor", "round", "frac", "square"]:
            assert getattr(x, name)().dtype == dt, name
        assert (x // 0.5).dtype == dt and (x % 2).dtype == dt and x.atan2(2.0).dtype == dt
        assert x.lerp(x * 2, 0.5).dtype == dt and x.xlogy(x).dtype == dt


# -- gradients at kinks and special points, against torch ---------------------------------------------------

@pytest.mark.parametrize("name, a, b", [
    ("hypot", [0.0, 3.0, -0.0], [0.0, 4.0, 2.0]),
    ("atan2", [0.0, 1.0, -0.0, 0.0], [0.0, 0.0, -1.0, 2.0]),
    ("xlogy", [0.0, 0.0, 0.0, 2.0, 0.0, 1.0], [0.0, 2.0, -1.0, 0.0, NAN, INF]),
    ("copysign", [5.0, -5.0, 0.0, 0.0, -0.0], [-2.0, 2.0, 1.0, -1.0, -0.0]),
    ("fmod", [5.0, -5.0, 7.5], [2.0, 2.0, -2.0]),
    ("remainder", [5.0, -5.0, 7.5], [2.0, 2.0, -2.0]),
    ("logaddexp", [-INF, INF, INF, 1000.0, 0.0], [-INF, INF, 0.0, -1000.0, 0.0]),
    ("div_floor", [5.0, -5.0], [2.0, 2.0]),
])
def test_binary_gradients_at_special_points_match_torch(name, a, b):
    def f(L, x, y):
        if name == "div_floor":
            return L.div(x, y, rounding_mode="floor")
        return getattr(L, name)(x, y)

    x, y = ag.tensor(a, dtype=ag.float64, requires_grad=True), ag.tensor(b, dtype=ag.float64, requires_grad=True)
    xt, yt = torch.tensor(a, dtype=torch.float64, requires_grad=True), torch.tensor(b, dtype=torch.float64,
                                                                                    requires_grad=True)
    with np.errstate(all="ignore"):
        _same(f(ag, x, y), f(torch, xt, yt))
        gx, gy = ag.grad(f(ag, x, y).sum(), [x, y])
    gxt, gyt = torch.autograd.grad(f(torch, xt, yt).sum(), [xt, yt])
    _same(gx, gxt)
    _same(gy, gyt)


def test_lerp_gradients_match_torch_for_number_and_tensor_weights():
    x, e = ag.tensor([0.0, 1.0], dtype=ag.float64, requires_grad=True), ag.tensor([2.0, 3.0], dtype=ag.float64,
                                                                                    requires_grad=True)
    w = ag.tensor([0.25, 0.75], dtype=ag.float64, requires_grad=True)
    xt, et, wt = (torch.tensor(v.data, requires_grad=True) for v in (x, e, w))
    for ours, theirs in ((ag.lerp(x, e, w), torch.lerp(xt, et, wt)), (x.lerp(e, 0.3), xt.lerp(et, 0.3))):
        grads = ag.grad(ours.sum(), [x, e, w], allow_unused=True)
        grads_t = torch.autograd.grad(theirs.sum(), [xt, et, wt], allow_unused=True)
        for g, gt in zip(grads, grads_t):
            assert (g is None) == (gt is None)
            if g is not None:
                _same(g, gt)
    assert ag.lerp(ag.tensor([1.0]), ag.tensor([3.0]), 1.0).item() == 3.0  # exact at the end


def test_rounding_gradients_are_zero_even_for_infinite_cotangents():
    x = ag.tensor([1.5, -2.5], requires_grad=True)
    for f in (ag.floor, ag.ceil, ag.trunc, ag.round, lambda t: t // 2, lambda t: t.div(3, rounding_mode="trunc")):
        (g,) = ag.grad(f(x), x, grad_outputs=ag.tensor([INF, NAN]))
        assert g.tolist() == [0.0, 0.0]


# -- in-place forms and operators ------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["&=", "|=", "^=", "<<=", ">>=", "%=", "//="])
def test_inplace_operators_modify_the_tensor_as_torch(op):
    a, b = np.array([5, -6, 7, 12], np.int64), np.array([3, 2, -4, 1], np.int64)
    x, xt = ag.tensor(a), torch.from_numpy(a.copy())
    if op in ("<<=", ">>="):
        b = np.abs(b)
    same_object = x
    version = x._version
    exec(f"x {op} y", {}, env := {"x": x, "y": ag.tensor(b)})
    exec(f"x {op} y", {}, env_t := {"x": xt, "y": torch.from_numpy(b)})
    assert env["x"] is same_object and x._version == version + 1
    _same(x, env_t["x"])


def test_inplace_methods_match_torch_and_refuse_what_torch_refuses():
    x = ag.tensor([0.5, -0.25, 2.0])
    xt = torch.tensor([0.5, -0.25, 2.0])
    for name, args in (("erf_", ()), ("exp2_", ()), ("floor_", ()), ("round_", ()), ("nan_to_num_", ()),
                       ("atan2_", (ag.tensor(1.5),)), ("copysign_", (-1.0,)), ("lerp_", (ag.tensor([1.0, 2.0, 3.0]), 0.5)),
                       ("xlogy_", (2.0,)), ("logical_and_", (ag.tensor([1.0, 0.0, 1.0]),)), ("remainder_", (0.75,))):
        targs = tuple(torch.from_numpy(a.data) if isinstance(a, ag.Tensor) else a for a in args)
        assert getattr(x, name)(*args) is x
        getattr(xt, name)(*targs)
        _same(x, xt, rtol=1e-6)
    i = ag.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i.erf_()
    with pytest.raises(RuntimeError, match="result type Float"):
        i //= 2.5
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        i.bitwise_and_(ag.tensor([[1], [2]]))
    assert i.tolist() == [1, 2, 3] and i._version == 0  # a refused in-place operation changes nothing
    b = ag.tensor([True, False])
    with pytest.raises(RuntimeError, match="Long can't be cast to the desired output type Bool"):
        b |= ag.tensor([1, 2])
    leaf = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.erf_()


def test_inplace_forms_in_a_graph_differentiate_as_torch():
    def run(lib):
        x = lib.tensor([0.3, -0.7, 1.2], dtype=lib.float64, requires_grad=True)
        y = x * 2
        y.erf_()
        y.mul_(3)
        z = y * y
        z.atan2_(x)
        z.nan_to_num_()
        (g,) = (torch.autograd.grad if lib is torch else ag.grad)(z.sum(), x)
        return z, g

    (z, g), (zt, gt) = run(ag), run(torch)
    _same(z, zt)
    _same(g, gt)


# -- number and array operands, reflected operators, function forms ------------------------------------------

def test_function_forms_take_numbers_where_torch_does():
    t, tt = ag.tensor([1.5, 2.0, -3.0]), torch.tensor([1.5, 2.0, -3.0])
    _same(ag.remainder(7, t), torch.remainder(7, tt))
    _same(ag.xlogy(2, t.abs()), torch.xlogy(2, tt.abs()))
    _same(ag.add(t, 2, alpha=3), torch.add(tt, 2, alpha=3))
    _same(ag.sub(t, t, alpha=0.5), torch.sub(tt, tt, alpha=0.5))
    _same(ag.mul(t, 2), torch.mul(tt, 2))
    _same(ag.div(t, 2), torch.div(tt, 2))
    _same(ag.true_divide(ag.tensor([3]), ag.tensor([2])), torch.true_divide(torch.tensor([3]), torch.tensor([2])))
    _same(ag.neg(t), torch.neg(tt))
    _same(ag.negative(t), torch.negative(tt))
    i, it = ag.tensor([1, 2, 12]), torch.tensor([1, 2, 12])
    for f in (lambda a: 5 & a, lambda a: 5 | a, lambda a: 5 ^ a, lambda a: 1 << a, lambda a: 1024 >> a,
              lambda a: 25 // a, lambda a: -25 % a, lambda a: ~a):
        _same(f(i), f(it))
    _same(np.array([3, 4, 5]) & i, torch.tensor([3, 4, 5]) & it)  # (an ndarray on the left defers to the tensor)
    _same(np.array([30, 40, 50]) // i, torch.tensor([30, 40, 50]) // it)
    assert ag.allclose(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 2.0 + 1e-9])) is True
    assert ag.allclose(ag.tensor([1.0, NAN]), ag.tensor([1.0, NAN])) is False
    assert ag.tensor([1.0, NAN]).allclose(ag.tensor([1.0, NAN]), equal_nan=True) is True


def test_add_and_sub_with_alpha_and_their_errors():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.tensor([3.0, 5.0], requires_grad=True)
    (gx, gy) = ag.grad(x.add(y, alpha=2).sum() + x.sub(y, alpha=-0.5).sum(), [x, y])
    assert gx.tolist() == [2.0, 2.0] and gy.tolist() == [2.5, 2.5]
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        ag.tensor([1, 2]).add(ag.tensor([1]), alpha=0.5)
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors"):
        ag.sub(ag.tensor([True]), ag.tensor([False]))
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor"):
        ag.tensor([True]).neg()
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"):
        ag.tensor([1.0]).div(2, rounding_mode="round")


# -- errors -------------------------------------------------------------------------------------------------

def test_bitwise_operations_on_floats_raise_torchs_error():
    x = ag.tensor([1.5])
    for f, name in ((lambda: x & 1, "bitwise_and"), (lambda: ag.bitwise_or(ag.tensor([1]), x), "bitwise_or"),
                    (lambda: x.bitwise_xor(ag.tensor([True])), "bitwise_xor"), (lambda: x.bitwise_not(), "bitwise_not"),
                    (lambda: ag.tensor([1]) << 1.5, "bitwise_left_shift"), (lambda: ag.tensor([2]) & 2.5, "bitwise_and")):
        with pytest.raises(NotImplementedError, match=f"\"{name}\" not implemented for 'Float'"):
            f()
    with pytest.raises(NotImplementedError, match="\"bitwise_right_shift\" not implemented for 'Bool'"):
        ag.tensor([True]) >> ag.tensor([True])
    with pytest.raises(TypeError, match="only implemented on integer and Boolean-type tensors"):
        ~x
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        ag.frac(ag.tensor([3]))
    with pytest.raises(NotImplementedError, match="\"hypot\" not implemented for 'Long'"):
        ag.hypot(ag.tensor([3]), ag.tensor([4]))
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        ag.tensor([True]) // ag.tensor([True])
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        ag.floor(ag.tensor([True]))


def test_errors_name_the_operation_and_the_shapes():
    with pytest.raises(ValueError, match=r"atan2: shapes \(2,\) and \(3,\) do not broadcast"):
        ag.atan2(ag.ones(2), ag.ones(3))
    with pytest.raises(ValueError, match=r"lerp: shapes \(2,\) and \(3,\) and \(\) do not broadcast"):
        ag.lerp(ag.ones(2), ag.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"div: shapes \(2,\) and \(3,\)"):
        ag.ones(2).div(ag.ones(3), rounding_mode="floor")
    with pytest.raises(ValueError, match=r"bitwise_and: shapes \(2,\) and \(3,\)"):
        ag.tensor([1, 2]) & ag.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="same dtype"):
        ag.isclose(ag.tensor([1, 2]), ag.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="rtol must be greater than or equal to zero"):
        ag.isclose(ag.ones(1), ag.ones(1), rtol=-1)


def test_isclose_matches_torch_at_edges():
    a = np.array([1.0, INF, -INF, INF, NAN, NAN, 0.0, 1e-9, 1.0, 100.0])
    b = np.array([1.0 + 1e-6, INF, INF, 1e308, NAN, 1.0, -0.0, 0.0, 1.1, 100.001])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 0.2}, {"atol": 1.0}):
        _same(ag.isclose(ag.tensor(a), ag.tensor(b), **kw), torch.isclose(torch.from_numpy(a), torch.from_numpy(b), **kw))
        assert ag.allclose(ag.tensor(a[:1]), ag.tensor(b[:1]), **kw) == torch.allclose(torch.from_numpy(a[:1]),
                                                                                       torch.from_numpy(b[:1]), **kw)
    i, j = np.array([1, 5, -3]), np.array([1, 6, -3])
    for kw in ({}, {"atol": 1.0}, {"rtol": 0.2}):
        _same(ag.isclose(ag.tensor(i), ag.tensor(j), **kw), torch.isclose(torch.from_numpy(i), torch.from_numpy(j), **kw))


# -- dtypes and conversions -------------------------------------------------------------------------------------

def test_dtype_names_are_torchs():
    for name in ("float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short", "int32", "int",
                 "int64", "long", "uint8", "bool"):
        assert TORCH[getattr(ag, name)] == getattr(torch, name), name
        assert name in ag.__all__


def test_conversion_methods_match_torch():
    values = [-2.7, -0.5, 0.0, 1.5, 300.0]
    x, xt = ag.tensor(values, dtype=ag.float64), torch.tensor(values, dtype=torch.float64)
    for name in ("half", "float", "double", "int", "long", "short", "bool", "char", "byte"):
        if name in ("char", "byte"):
            x, xt = ag.tensor(values[:4], dtype=ag.float64), torch.tensor(values[:4], dtype=torch.float64)
            if name == "byte":
                x, xt = x.abs(), xt.abs()
        _same(getattr(x, name)(), getattr(xt, name)())
    assert x.type() == "ag.DoubleTensor" and ag.tensor([1]).type() == "ag.LongTensor"
    for dt in DTYPES:
        t = ag.zeros(2, dtype=dt)
        assert t.type() == torch.zeros(2, dtype=TORCH[dt]).type().replace("torch.", "ag.")
        assert t.type(ag.float64).dtype == ag.float64 and t.type("ag.IntTensor").dtype == ag.int32
    assert x.type(x.dtype) is x
    with pytest.raises(ValueError, match="ag.DoubleTensor"):
        x.type("ag.NoSuchTensor")


def test_half_converts_differentiably_and_half_reductions_accumulate_in_float32():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x.half()
    assert h.dtype == ag.half
    (g,) = ag.grad((h * h).sum(), x)
    assert g.dtype == ag.float32 and g.tolist() == [2.0, 4.0]
    big = ag.full((70000,), 1.0, dtype=ag.half)
    assert big.sum().item() == torch.ones(70000, dtype=torch.half).sum().item()


# -- graphs: replay and forward mode ---------------------------------------------------------------------

def test_a_captured_graph_of_the_new_ops_replays_with_new_values():
    x = ag.tensor([0.3, 1.7, -2.2], requires_grad=True)
    out = (ag.atan2(x, ag.tensor([1, 2, 3])) + x.erf() * x.hypot(x * 2) + x % 0.7 + x.lerp(x * 3, 0.25)).sum()
    g = ag.Graph(out)
    new = np.array([1.1, -0.4, 0.9], dtype=np.float32)
    replayed = g.forward({x: new})
    xt = torch.from_numpy(new)
    expected = (torch.atan2(xt, torch.tensor([1, 2, 3])) + xt.erf() * xt.hypot(xt * 2) + xt % 0.7
                + xt.lerp(xt * 3, 0.25)).sum()
    assert replayed.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("name", ["erf", "atan2", "copysign", "xlogy", "fmod", "remainder", "floor", "nan_to_num",
                                  "lerp", "hypot", "div_floor", "logaddexp", "isclose", "bitwise"])
def test_vmap_of_grad_batches_the_new_ops_as_torch_func(name):
    """Per-sample gradients through each op, with no per-sample loop (the ops batch by broadcasting)."""
    import warnings

    fs = {"erf": lambda L, a, b: a.erf(), "atan2": lambda L, a, b: L.atan2(a, b),
          "copysign": lambda L, a, b: L.copysign(a, -b), "xlogy": lambda L, a, b: L.xlogy(a, b),
          "fmod": lambda L, a, b: L.fmod(a, b) * a, "remainder": lambda L, a, b: (a % b) * a,
          "floor": lambda L, a, b: a.floor() * a, "nan_to_num": lambda L, a, b: (a / (a - a.detach())).nan_to_num() + a,
          "lerp": lambda L, a, b: a.lerp(b, 0.3), "hypot": lambda L, a, b: L.hypot(a, b),
          "div_floor": lambda L, a, b: L.div(a, b, rounding_mode="floor") * a, "logaddexp": lambda L, a, b: L.logaddexp(a, b),
          "isclose": lambda L, a, b: L.where(L.isclose(a, b, rtol=0.5), a, b),
          "bitwise": lambda L, a, b: L.where(L.logical_xor(a > 0, b > 1) & (a < 1), a, b)}
    x = np.random.default_rng(0).uniform(-2, 2, (3, 4)) + 0.013
    y = np.random.default_rng(1).uniform(0.5, 2, (3, 4))
    f = fs[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (vmap warns when an op falls back to a loop over the samples)
        with np.errstate(all="ignore"):
            g = ag.func.vmap(ag.func.grad(lambda a, b: f(ag, a, b).sum()))(ag.tensor(x), ag.tensor(y))
    gt = torch.func.vmap(torch.func.grad(lambda a, b: f(torch, a, b).sum()))(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(g.data, gt.numpy(), rtol=1e-12, atol=1e-14)
