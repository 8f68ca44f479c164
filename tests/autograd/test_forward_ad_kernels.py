"""Forward mode's fast path for an elementwise op of one tensor (forward_ad.elementwise_tangents):
each tangent kernel against the VJP rule it stands for (the same bits, dtype and shape), scaled
tangents (products by numbers kept as a scale) against their closed form and torch at the edges of
the dtype's range, and chains through the fast path against the general path (propagate, taken
when the input requires grad) and against torch.autograd.forward_ad."""

import math

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import autograd as ag
import autograd.forward_ad as fw
from autograd.forward_ad import TANGENT_KERNELS

RNG = np.random.default_rng(0)
SCALAR_OPS = {"add_scalar", "mul_scalar", "div_scalar", "rsub_scalar"}


def _arrays(shape, dtype, tangent_dtype):
    x = RNG.uniform(-2, 2, shape).astype(dtype)
    t = RNG.standard_normal(shape).astype(tangent_dtype)
    if len(shape) == 2:  # non-contiguous operands, as transposed views make them
        x, t = x.T.copy().T, t.T.copy().T
    return x, t


@pytest.mark.parametrize("op", sorted(TANGENT_KERNELS, key=lambda op: op.name), ids=lambda op: op.name)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (64, 80)])  # (64 x 80: the large-array kernels)
@pytest.mark.parametrize(
    "dtypes", [(np.float16, np.float16), (np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64)]
)
def test_each_tangent_kernel_gives_its_rules_bits(op, shape, dtypes):
    x, t = _arrays(shape, *dtypes)
    for c in (1.0001, -3, 0.5, True) if op.name in SCALAR_OPS else (None,):
        params = {} if c is None else {"c": c}
        y = np.asarray(op.forward(x, **params))
        expected = np.asarray(op.vjps[0](t, y, x, **params))
        got = np.asarray(TANGENT_KERNELS[op](t, y, c))
        assert got.dtype == expected.dtype and got.shape == expected.shape, (op.name, c)
        np.testing.assert_array_equal(got, expected, err_msg=f"{op.name}, c={c}")
        assert got.tobytes() == expected.tobytes(), (op.name, c)  # (the same bits, signed zeros too)


def _chain(x):
    for i in range(40):
        x = x * 1.0001 + 0.5 if i % 2 == 0 else x * 0.9999 - 0.5
        x = x.tanh() if i % 3 == 0 else (-x).exp() / 3.0
        x = 0.25 - x.sin() if i % 5 == 0 else x.sigmoid()
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (70, 70)])
def test_a_chain_through_the_fast_path_equals_the_general_path_and_torch(dtype, shape):
    primal = RNG.uniform(-1, 1, shape).astype(dtype)
    direction = RNG.standard_normal(shape).astype(dtype)

    def ours(requires_grad):
        with fw.dual_level():
            x = fw.make_dual(ag.tensor(primal, requires_grad=requires_grad), ag.tensor(direction))
            p, t = fw.unpack_dual(_chain(x))
            return p.data, t.data

    fast_p, fast_t = ours(False)
    general_p, general_t = ours(True)  # (recording: every op takes propagate)
    assert fast_t.__class__ is np.ndarray and fast_t.shape == shape and fast_t.dtype == dtype
    assert fast_p.tobytes() == general_p.tobytes()
    # The tangent is a product of about 200 rounded factors. The fast path multiplies the numbers
    # of x * c, x / c, c - x into one scale and the array once (the general path: each in turn),
    # so the two round differently, by at most about 100 eps relative (seen: at most 15 eps); in
    # float32 this chain shrinks the tangents to subnormals, which differ in their last bit.
    info = np.finfo(dtype)
    np.testing.assert_allclose(fast_t, general_t, rtol=100 * info.eps, atol=4 * info.smallest_subnormal)
    with tfw.dual_level():
        x = tfw.make_dual(torch.from_numpy(primal), torch.from_numpy(direction))
        theirs = tfw.unpack_dual(_chain(x)).tangent.numpy()
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fast_t, theirs, rtol=rtol, atol=rtol)


def test_the_fast_path_leaves_inputs_tangents_and_closed_levels_alone():
    direction = np.array([1.0, -2.0, 3.0], np.float32)
    t0 = ag.tensor(direction)
    with fw.dual_level():
        x = fw.make_dual(ag.tensor([0.1, 0.2, 0.3], dtype=ag.float32), t0)
        y = (x * 2.0).tanh()
        assert fw.unpack_dual(x + 1.0).tangent.data is fw.unpack_dual(x).tangent.data  # d(x + c) = dx
        np.testing.assert_array_equal(t0.data, direction)  # no kernel wrote into an input's tangent
        np.testing.assert_array_equal(fw.unpack_dual(y).tangent.data, 2 * direction * (1 - y.data * y.data))
    z = y * 3.0  # the level is closed: no tangent, and no error
    with fw.dual_level():
        assert fw.unpack_dual(z.tanh()).tangent is None
        # a tangent at an outer level still propagates while an inner level is open
        outer = fw.make_dual(ag.tensor([0.5], dtype=ag.float64), ag.tensor([1.0], dtype=ag.float64))
        with fw.dual_level():
            assert fw.unpack_dual((outer * 2.0).tanh()).tangent is None  # (none at the inner level)
        np.testing.assert_allclose(fw.unpack_dual((outer * 2.0).tanh()).tangent.data, 2 / np.cosh(1.0) ** 2)


def _torch_jvp(f, primal, direction):
    with tfw.dual_level():
        x = tfw.make_dual(torch.from_numpy(primal), torch.from_numpy(direction))
        return tfw.unpack_dual(f(x)).tangent.numpy()


def _our_jvp(f, primal, direction):
    with fw.dual_level():
        x = fw.make_dual(ag.tensor(primal), ag.tensor(direction))
        return fw.unpack_dual(f(x)).tangent.data


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_products_by_numbers_scale_the_tangent_once(dtype):
    # x * c, x / c, c - x, -x and x + c on the fast path only change a scale: the tangent comes out
    # as the direction times the product of the numbers, each rounded to the dtype as its op
    # rounds it, that product rounded to the dtype once
    primal = np.array([0.5, -1.5, 2.0, 0.0], dtype)
    direction = np.array([1.0, -3.0, 0.1, 7.0], dtype)

    def f(x):
        return 0.5 - (-(x * 1.0001 + 2.0) / 3.0 * 0.9999 - 1.0) * 1.7

    factors = [np.asarray(c, dtype).item() for c in (1.0001, 3.0, 0.9999, 1.7)]
    scale = -1.0 * -1.0 * factors[0] / factors[1] * factors[2] * factors[3]
    got = _our_jvp(f, primal, direction)
    assert got.dtype == dtype
    assert got.tobytes() == (direction * np.asarray(scale, dtype)).tobytes()
    np.testing.assert_allclose(got, _torch_jvp(f, primal, direction), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_scaled_tangent_at_the_edges_of_the_range_matches_torch(dtype):
    # a scale that would leave the dtype's normal numbers is formed there and then, as the op's
    # rule forms it: tangents overflow to inf and underflow to 0 where torch's do; products by 0,
    # inf and NaN give torch's 0, inf and NaN
    big = float(np.finfo(dtype).max) ** 0.5 * 2.0
    primal = np.array([1.0, -2.0, 0.5], dtype)
    direction = np.array([1.0, -1.0, 0.0], dtype)
    chains = [
        lambda x: x * big * big,
        lambda x: x * big * big / big,
        lambda x: x / big / big,
        lambda x: (x / big / big) * big,
        lambda x: (x * 0.5) * 0.0,
        lambda x: (x * 0.5) * math.inf,
        lambda x: (x * 0.5) * math.nan,
        lambda x: -(x * 0.5) / math.inf,
    ]
    for i, f in enumerate(chains):
        with np.errstate(all="ignore"):
            ours, theirs = _our_jvp(f, primal, direction), _torch_jvp(f, primal, direction)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"chain {i}")
        assert np.array_equal(np.signbit(ours), np.signbit(theirs)) or np.isnan(theirs).any(), f"chain {i}"


def test_a_scaled_tangent_read_by_several_ops_and_levels_matches_torch():
    # one scaled tangent feeding the general path (a binary op, a reduction, a matrix product),
    # the fast path and a nested level
    primal = RNG.uniform(-1, 1, (3, 4))
    direction = RNG.standard_normal((3, 4))
    w = RNG.standard_normal((4, 2))

    def f(x, lib):
        y = x * 3.0 / 7.0
        z = -y * 1.5
        mm = (y @ (lib.from_numpy(w) if lib is torch else ag.tensor(w))).sum()
        return (y * z).sum() + y.tanh().sum() + mm + (z - 2.0).exp().mean()

    np.testing.assert_allclose(
        _our_jvp(lambda x: f(x, ag), primal, direction), _torch_jvp(lambda x: f(x, torch), primal, direction), rtol=1e-12
    )
    # JVP of a JVP: the inner tangent scaled on its own level, the outer one through propagate
    v1, v2 = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))

    # (torch has no nested levels: the closed form of d/dx in v1 of the JVP of 5 sum sin(2x/3) in v2)
    with fw.dual_level():
        x = fw.make_dual(ag.tensor(primal), ag.tensor(v1))
        with fw.dual_level():
            y = fw.make_dual(x, ag.tensor(v2))
            inner = fw.unpack_dual((y * 2.0 / 3.0).sin().sum() * 5.0).tangent
        ours = fw.unpack_dual(inner).tangent.data
    expected = -5 * (2 / 3) ** 2 * np.sum(np.sin(2 * primal / 3) * v1 * v2)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
