"""PyTorch's semantics where a demanding user checks them: grad mode as a plain call, dtypes a Tensor
refuses, float16 reductions accumulated in float32, variances without degrees of freedom, integer
linspace and powers, torch's placement of dimensions in mixed indexing, sizes that must be integers,
arange's step, Scalar overflow, and deepcopy of a non-leaf. Each is compared with torch (or with
what a float64 tensor computes) on the same inputs."""
import copy
import threading
import warnings

import numpy as np
import pytest
import torch

import autograd as ag
import nn

# ============================================================================ set_grad_enabled


def test_set_grad_enabled_called_as_a_function_switches_recording():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    try:
        ag.set_grad_enabled(False)
        assert not ag.is_grad_enabled()
        assert not (x * 2).requires_grad
        ag.set_grad_enabled(True)
        assert ag.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        ag.set_grad_enabled(True)


def test_set_grad_enabled_as_a_function_is_per_thread():
    seen = {}

    def worker():
        ag.set_grad_enabled(False)
        seen["worker"] = ag.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["worker"] is False
    assert ag.is_grad_enabled()  # the main thread kept recording


def test_set_grad_enabled_as_context_and_decorator_restore_the_previous_mode():
    with ag.no_grad():
        with ag.set_grad_enabled(True):
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()

    @ag.set_grad_enabled(False)
    def off():
        return ag.is_grad_enabled()

    assert ag.is_grad_enabled()  # defining the decorated function switched nothing
    assert off() is False
    assert ag.is_grad_enabled()


# ============================================================================ dtypes a Tensor refuses


@pytest.mark.parametrize("array", [
    np.array([1 + 2j, 3.0]),
    np.array([1.0, "a"], dtype=object),
    np.array(["a", "b"]),
    np.array([b"a"]),
    np.array(["2020-01-01"], dtype="datetime64[D]"),
    np.array([1], dtype="timedelta64[s]"),
], ids=["complex", "object", "str", "bytes", "datetime", "timedelta"])
def test_tensor_refuses_arrays_of_unsupported_dtypes(array):
    with pytest.raises(TypeError, match="only bool, integer and floating"):
        ag.tensor(array)
    with pytest.raises(TypeError, match="only bool, integer and floating"):
        ag.from_numpy(array)


def test_complex_data_times_a_parameter_is_refused_not_truncated():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="complex"):
        w * np.array([1 + 1j, 2 - 1j])
    with pytest.raises(TypeError, match="complex"):
        ag.tensor([1.0, 2.0], dtype=np.complex64)
    with pytest.raises(TypeError):
        ag.tensor([1 + 1j])


# ============================================================================ float16 reductions


def _half(values, requires_grad=False):
    return (ag.tensor(values, dtype=ag.float16, requires_grad=requires_grad),
            torch.tensor(values, dtype=torch.float16, requires_grad=requires_grad))


def test_float16_norm_accumulates_in_float32_as_torch():
    x, tx = _half([300.0, 300.0, 300.0], requires_grad=True)
    n, tn = x.norm(), tx.norm()
    assert n.dtype == ag.float16
    assert float(n) == float(tn.detach()) == 519.5  # 300**2 = 90000 overflows float16 (max 65504)
    n.backward()
    tn.backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_float16_mean_gradient_over_more_than_65504_elements():
    x = ag.ones(70000, dtype=ag.float16, requires_grad=True)
    tx = torch.ones(70000, dtype=torch.float16, requires_grad=True)
    x.mean().backward()
    tx.mean().backward()
    assert x.grad.dtype == ag.float16
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())  # 1/70000, not 0 (70000 is inf in float16)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "logsumexp", "softmax", "log_softmax", "prod"])
def test_float16_reductions_match_torch(name):
    rng = np.random.default_rng(3)
    values = (rng.standard_normal((4, 300)) * 3).astype(np.float16)
    x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    if name == "prod":
        values = (1 + rng.standard_normal((4, 6)) * 0.1).astype(np.float16)
        x, tx = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out, ref = getattr(x, name)(dim=1), getattr(tx, name)(dim=1)
    assert out.dtype == ag.float16
    # both accumulate in float32 and round once to float16: at most one float16 ulp apart
    np.testing.assert_allclose(out.data.astype(np.float32), ref.detach().numpy().astype(np.float32),
                               rtol=2 ** -10, atol=1e-3)
    cot = rng.standard_normal(out.shape).astype(np.float16)
    out.backward(ag.tensor(cot))
    ref.backward(torch.tensor(cot))
    assert x.grad.dtype == ag.float16
    np.testing.assert_allclose(x.grad.data.astype(np.float32), tx.grad.numpy().astype(np.float32),
                               rtol=2 ** -9, atol=2e-3)


def test_float16_sum_overflows_to_inf_as_torch_and_float32_is_unchanged():
    x, tx = _half(np.full(70000, 2.0))
    assert np.isinf(x.sum().data) and np.isinf(tx.sum().numpy())
    assert float(x.var()) == float(tx.var()) == 0.0
    y = ag.tensor(np.linspace(0, 1, 1001, dtype=np.float32))
    assert y.sum().dtype == ag.float32
    assert float(y.sum()) == float(np.sum(y.data))


# ============================================================================ var / std without degrees of freedom


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("correction", [2, 3, 4, 7])
def test_var_std_with_correction_at_least_n_give_torchs_inf_or_nan(correction, dtype):
    values = [[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]]
    x, tx = ag.tensor(values, dtype=dtype), torch.tensor(values, dtype=getattr(torch, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the degrees of freedom are <= 0
        cases = [(x.var(correction=correction), tx.var(correction=correction)),
                 (x.std(correction=correction), tx.std(correction=correction)),
                 (x.var(dim=1, correction=correction), tx.var(dim=1, correction=correction)),
                 (x.std(dim=1, correction=correction), tx.std(dim=1, correction=correction))]
    for ours, theirs in cases:
        np.testing.assert_array_equal(ours.data.astype(np.float64), theirs.numpy().astype(np.float64))
        assert not (ours.data < 0).any()


def test_var_gradient_with_correction_equal_to_n_matches_torch():
    values = [[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]]
    x, tx = ag.tensor(values, dtype=ag.float64, requires_grad=True), torch.tensor(values, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore")
        x.var(dim=1, correction=3).sum().backward()
        tx.var(dim=1, correction=3).sum().backward()
        np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())  # 2 (x - mean) / 0: -inf, nan, inf
        x.grad = None
        tx.grad = None
        x.std(dim=1, correction=3).sum().backward()
        tx.std(dim=1, correction=3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


# ============================================================================ linspace and powers of integers


@pytest.mark.parametrize("args", [(0, 10, 5), (0, 1, 5), (-3.7, 3.7, 7), (0, 10, 4), (10, 0, 7), (-5, 5, 11),
                                  (0, 7, 13), (1, 1, 1), (0, 100, 0), (3, -2.5, 9), (-10, -1, 4)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16"])
def test_linspace_with_an_integer_dtype_matches_torch(args, dtype):
    ours = ag.linspace(*args, dtype=getattr(np, dtype))
    theirs = torch.linspace(*args, dtype=getattr(torch, dtype))
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_linspace_still_matches_numpy_for_floats():
    np.testing.assert_array_equal(ag.linspace(-1, 2, 7).data, np.linspace(-1, 2, 7, dtype=np.float32))
    np.testing.assert_allclose(ag.linspace(-1, 2, 7, dtype=ag.float64).data,
                               torch.linspace(-1, 2, 7, dtype=torch.float64).numpy(), rtol=1e-15)


def test_integer_tensor_to_a_negative_integer_power_raises_as_torch():
    for make in (lambda m: m.tensor([2, 3]), lambda m: m.tensor([True, False])):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
            make(torch) ** -1
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
            make(ag) ** -1
    np.testing.assert_allclose((ag.tensor([2, 4]) ** -1.0).data, [0.5, 0.25])  # a float exponent is fine
    assert (ag.tensor([2, 3]) ** 0).tolist() == [1, 1]


def test_integer_tensor_powers_with_negative_tensor_exponents_match_torch():
    base, exp = [-1, 1, 0, 2, -1, 5, -2], [-1, -2, 1, -1, -4, 0, 3]
    np.testing.assert_array_equal((ag.tensor(base) ** ag.tensor(exp)).data,
                                  (torch.tensor(base) ** torch.tensor(exp)).numpy())
    np.testing.assert_array_equal((2 ** ag.tensor([-1, 2, 0])).data, (2 ** torch.tensor([-1, 2, 0])).numpy())
    np.testing.assert_array_equal(((-1) ** ag.tensor([-1, -2, 3])).data, ((-1) ** torch.tensor([-1, -2, 3])).numpy())


# ============================================================================ mixed basic and advanced indexing

MIXED_KEYS = [
    (0, slice(None), [0, 1]),
    (slice(None), 0, [0, 1]),
    ([0, 1], slice(None), 0),
    (None, 0, slice(None), [1, 2]),
    (-1, slice(None), [[0], [4]]),
    (0, Ellipsis, [1, 3]),
    (Ellipsis, 0, [1, 2]),
    ([True, False, True], slice(None), 0),
    (2, None, [3, 1], None),
    ([0, 1], slice(None), [1, 2]),  # no integer: numpy's rule and torch's agree
]


def _torch_key(key):
    return tuple(torch.tensor(k) if isinstance(k, list) else k for k in key)


@pytest.mark.parametrize("key", MIXED_KEYS, ids=[str(k) for k in MIXED_KEYS])
def test_mixed_basic_and_advanced_indexing_places_dimensions_as_torch(key):
    values = np.arange(60.0).reshape(3, 4, 5)
    x, tx = ag.tensor(values, dtype=ag.float64, requires_grad=True), torch.tensor(values, requires_grad=True)
    out, ref = x[key], tx[_torch_key(key)]
    assert out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    cot = np.random.default_rng(0).standard_normal(out.shape)
    (out * ag.tensor(cot)).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    # a 0-d integer tensor counts as an integer, as in torch
    tensor_key = tuple(ag.tensor(k) if isinstance(k, int) and not isinstance(k, bool) else k for k in key)
    assert x[tensor_key].shape == out.shape


@pytest.mark.parametrize("key", MIXED_KEYS[:5], ids=[str(k) for k in MIXED_KEYS[:5]])
def test_mixed_indexing_assignment_matches_torch_also_in_a_graph(key):
    values = np.arange(60.0).reshape(3, 4, 5)
    x, tx = ag.tensor(values, dtype=ag.float64, requires_grad=True), torch.tensor(values, requires_grad=True)
    shape = tuple(tx[_torch_key(key)].shape)
    v = ag.ones(*shape, dtype=ag.float64, requires_grad=True)
    tv = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    y, ty = x * 1, tx * 1
    y[key] = v * 3
    ty[_torch_key(key)] = tv * 3
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    w = np.random.default_rng(1).standard_normal(values.shape)
    (y * ag.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(v.grad.data, tv.grad.numpy())


# ============================================================================ sizes and ranges


@pytest.mark.parametrize("make", [
    lambda: ag.randn(2.5), lambda: ag.rand(2.5), lambda: ag.zeros(2.5), lambda: ag.ones((2, 2.0)),
    lambda: ag.empty(3, 1.5), lambda: ag.full((2.5,), 1.0), lambda: ag.randint(0, 5, (2.5,)),
    lambda: ag.zeros(4).reshape(2.0, 2), lambda: ag.zeros(True), lambda: ag.linspace(0, 1, 2.5),
], ids=["randn", "rand", "zeros", "ones", "empty", "full", "randint", "reshape", "bool", "linspace"])
def test_non_integer_sizes_raise_type_error(make):
    with pytest.raises(TypeError, match="must be"):
        make()


def test_integer_like_sizes_are_accepted():
    assert ag.zeros(np.int64(2), 3).shape == (2, 3)
    assert ag.ones(ag.tensor(3)).shape == (3,)
    assert ag.randn((2, np.int32(2))).shape == (2, 2)


def test_arange_with_a_zero_step_or_a_step_pointing_away_raises_value_error():
    with pytest.raises(ValueError, match="step must be nonzero"):
        ag.arange(0, 5, 0)
    with pytest.raises(ValueError, match="inconsistent"):
        ag.arange(0, 5, -1)
    with pytest.raises(RuntimeError):
        torch.arange(0, 5, -1)
    assert ag.arange(5, 0, -1).tolist() == torch.arange(5, 0, -1).tolist()
    assert ag.arange(3, 3).numel() == 0


# ============================================================================ Scalar overflows as a float tensor


@pytest.mark.parametrize("fn, args", [
    (lambda x: x.exp(), (1000.0,)),
    (lambda x: x.exp(), (-1000.0,)),
    (lambda x: x ** 3, (1e200,)),
    (lambda x: x ** 3, (-1e200,)),
    (lambda x: x ** 2, (-1e200,)),
    (lambda x: x ** -1, (0.0,)),
    (lambda x: x ** -1, (-0.0,)),
    (lambda x: x ** -2, (0.0,)),
    (lambda x: x ** 0.5, (-4.0,)),
    (lambda x, y: x ** y, (10.0, 400.0)),
    (lambda x, y: x ** y, (0.0, -1.0)),
    (lambda x, y: x / y, (1.0, 0.0)),
    (lambda x, y: x / y, (-1.0, 0.0)),
    (lambda x, y: x / y, (0.0, 0.0)),
    (lambda x: x.sqrt(), (-1.0,)),
], ids=["exp", "exp-under", "cube", "cube-neg", "square-neg", "inv0", "inv-0", "inv2-0", "sqrt-neg-pow",
        "pow-big", "pow-0-neg", "div0", "div0-neg", "div00", "sqrt-neg"])
def test_scalar_overflow_and_poles_give_what_a_float64_tensor_gives(fn, args):
    scalars = [ag.Scalar(v) for v in args]
    out = fn(*scalars)
    out.backward()
    tensors = [ag.tensor(v, dtype=ag.float64, requires_grad=True) for v in args]
    with np.errstate(all="ignore"):
        ref = fn(*tensors)
        ref.backward()
    np.testing.assert_array_equal(out.data, ref.data)
    np.testing.assert_array_equal([s.grad for s in scalars], [float(t.grad.data) for t in tensors])


# ============================================================================ deepcopy


def test_deepcopy_of_a_non_leaf_raises_torchs_error_even_when_deep():
    x = ag.randn(3, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(y)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(torch.randn(3, requires_grad=True) * 2)


def test_deepcopy_of_leaves_keeps_data_grad_and_class():
    x = ag.randn(3, requires_grad=True)
    (x * 2).sum().backward()
    c = copy.deepcopy(x)
    assert c.requires_grad and c.is_leaf and c.data is not x.data
    np.testing.assert_array_equal(c.data, x.data)
    np.testing.assert_array_equal(c.grad.data, x.grad.data)
    assert c.grad.data is not x.grad.data
    model = nn.Linear(2, 3)
    clone = copy.deepcopy(model)
    assert isinstance(clone.weight, nn.Parameter) and clone.weight.data is not model.weight.data
    np.testing.assert_array_equal(clone.weight.data, model.weight.data)
    shared = [x, x]
    a, b = copy.deepcopy(shared)
    assert a is b  # the memo keeps shared tensors shared
