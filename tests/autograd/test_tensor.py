"""The Tensor core: creation, attributes and methods, arithmetic, broadcasting, matmul, reductions,
shape operations and repr, with values and gradients compared against torch."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag


def _arr(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def compare_with_torch(fn, *arrays, rtol=1e-10, atol=1e-12):
    """Run ``fn`` on float64 ag tensors and torch tensors built from ``arrays``; backprop the same
    random cotangent through both and compare the outputs and every input gradient."""
    ours = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = fn(*ours), fn(*theirs)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == ag.float64
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(ag.tensor(cot, dtype=ag.float64))
    ref.backward(torch.tensor(cot))
    for i, (a, t) in enumerate(zip(ours, theirs)):
        expected = np.zeros(a.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        assert got.shape == a.shape, f"gradient of input {i} has shape {got.shape}, input {a.shape}"
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")


# ============================================================================== creation and dtypes


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = ag.tensor(a)
    a[0] = 5.0
    assert t.tolist() == [1.0, 2.0]
    u = ag.tensor(t)
    t.data[1] = 9.0
    assert u.tolist() == [1.0, 2.0]
    v = ag.Tensor([[1, 2], [3, 4]])
    assert v.shape == (2, 2) and v.dtype == ag.int64
    w = ag.Tensor([1.0, 2.0], requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.grad_fn is None


def test_from_numpy_shares_memory():
    a = np.arange(3.0)
    t = ag.from_numpy(a)
    a[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0] and t.dtype == ag.float64
    t.data[1] = -1.0
    assert a[1] == -1.0
    with pytest.raises(TypeError, match="ndarray"):
        ag.from_numpy([1.0, 2.0])


def test_dtype_policy():
    assert ag.get_default_dtype() == ag.float32
    assert ag.tensor(1.0).dtype == ag.float32
    assert ag.tensor([1.0, 2]).dtype == ag.float32  # a float list is floating even with ints in it
    assert ag.tensor(3).dtype == ag.int64
    assert ag.tensor([1, 2]).dtype == ag.int64
    assert ag.tensor([True, False]).dtype == ag.bool
    # numpy arrays keep their dtype
    for dt in (np.float64, np.float32, np.float16, np.int32, np.int64, np.bool_, np.uint8):
        assert ag.tensor(np.zeros(2, dtype=dt)).dtype == np.dtype(dt)
    assert ag.tensor(np.float64(1.5)).dtype == ag.float64
    # an explicit dtype wins
    assert ag.tensor([1, 2], dtype=ag.float64).dtype == ag.float64
    assert ag.tensor([1.7, 2.2], dtype=ag.int64).tolist() == [1, 2]


def test_set_default_dtype_changes_float_creation():
    ag.set_default_dtype(ag.float64)
    assert ag.get_default_dtype() == ag.float64
    assert ag.tensor(1.0).dtype == ag.float64
    assert ag.tensor([1, 2]).dtype == ag.int64  # integers are not affected
    for make in (ag.zeros, ag.ones, ag.empty, ag.rand, ag.randn):
        assert make(2).dtype == ag.float64, make.__name__
    assert ag.arange(0.0, 1.0, 0.5).dtype == ag.float64
    assert ag.linspace(0, 1, 3).dtype == ag.float64
    assert ag.eye(2).dtype == ag.float64
    assert (ag.tensor([1, 2]) / 2).dtype == ag.float64  # true division of ints gives the default
    ag.set_default_dtype(ag.float32)
    assert ag.tensor(1.0).dtype == ag.float32
    with pytest.raises(TypeError, match="floating"):
        ag.set_default_dtype(ag.int64)


@pytest.mark.parametrize("c", [2, 2.5, -1.0, True, 1e300])
def test_python_scalars_never_upcast_float32(c):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with np.errstate(over="ignore"):  # 1e300 overflows float32 to inf, as in torch
        results = [x + c, c + x, x - c, c - x, x * c, c * x, x / c, x ** 2, x ** 0.5, 2.0 ** x]
        if c:
            results.append(c / x)
    for r in results:
        assert r.dtype == ag.float32
    x16 = ag.tensor(np.ones(2, np.float16))
    assert (x16 * 2.5).dtype == np.float16


def test_integer_tensor_arithmetic_dtypes_follow_torch():
    i = ag.tensor([1, 2, 3])
    assert (i + 1).dtype == ag.int64
    assert (i * 2).dtype == ag.int64 and (i * 2).tolist() == [2, 4, 6]
    assert (i * 2.5).dtype == ag.float32  # a float number makes an integer tensor the default float
    assert (i / 2).dtype == ag.float32 and (i / 2).tolist() == [0.5, 1.0, 1.5]
    assert (i + ag.tensor([0.5, 0.5, 0.5])).dtype == ag.float32  # int64 tensor never drags float32 up
    b = ag.tensor([True, False])
    assert (b + 1).dtype == ag.int64
    # a 0-d tensor of the same category does not promote a tensor with dimensions (torch's rule)
    assert (ag.tensor([1.0, 2.0]) * ag.tensor(2.0, dtype=ag.float64)).dtype == ag.float32
    assert (ag.tensor([1.0, 2.0]) * ag.tensor([2.0, 1.0], dtype=ag.float64)).dtype == ag.float64
    for t in (i + 1, i * 2, i / 2):
        assert not t.requires_grad


def test_only_floating_tensors_can_require_grad():
    for make in (lambda: ag.tensor([1, 2], requires_grad=True),
                 lambda: ag.tensor([True], requires_grad=True),
                 lambda: ag.zeros(2, dtype=ag.int64, requires_grad=True),
                 lambda: ag.tensor([1, 2]).requires_grad_(),
                 lambda: ag.arange(3, requires_grad=True)):
        with pytest.raises((TypeError, RuntimeError), match="floating"):
            make()
    # the failed call leaves the tensor as it was
    t = ag.tensor([1, 2])
    with pytest.raises(RuntimeError):
        t.requires_grad_(True)
    assert t.requires_grad is False
    assert ag.tensor([1.0], dtype=ag.float64, requires_grad=True).requires_grad


def test_creation_functions():
    for make in (ag.zeros, ag.ones, ag.empty, ag.rand, ag.randn):
        assert make(2, 3).shape == (2, 3)
        assert make((2, 3)).shape == (2, 3)
        assert make([4]).shape == (4,)
        assert make().shape == ()
        assert make(2).dtype == ag.float32
        assert make(2, dtype=ag.float64).dtype == ag.float64
        t = make(2, requires_grad=True)
        assert t.requires_grad and t.is_leaf
    assert ag.zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert ag.ones(3).tolist() == [1.0, 1.0, 1.0]
    assert ag.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]] and ag.full((2,), 1.5).dtype == ag.float32
    assert ag.full((2,), 3).dtype == ag.int64 and ag.full((2,), True).dtype == ag.bool
    assert ag.full(3, 2.0).shape == (3,)
    assert ag.arange(4).tolist() == [0, 1, 2, 3] and ag.arange(4).dtype == ag.int64
    assert ag.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert ag.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75] and ag.arange(0, 1, 0.25).dtype == ag.float32
    assert ag.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ag.eye(3).tolist() == np.eye(3).tolist() and ag.eye(2, 3).shape == (2, 3)
    r = ag.rand(1000)
    assert 0.0 <= r.data.min() and r.data.max() < 1.0
    n = ag.randn(4000, dtype=ag.float64)
    assert abs(n.data.mean()) < 0.1 and abs(n.data.std() - 1) < 0.1
    ri = ag.randint(2, 5, (100,))
    assert ri.dtype == ag.int64 and ri.shape == (100,) and set(ri.tolist()) <= {2, 3, 4}
    assert ag.randint(3, (2, 2)).shape == (2, 2)


def test_like_functions():
    x = ag.tensor([[1.0, 2.0]], dtype=ag.float64, requires_grad=True)
    for make, value in ((ag.zeros_like, 0.0), (ag.ones_like, 1.0)):
        t = make(x)
        assert t.shape == (1, 2) and t.dtype == ag.float64 and not t.requires_grad
        assert t.tolist() == [[value, value]]
    assert ag.full_like(x, 7.0).tolist() == [[7.0, 7.0]]
    assert ag.zeros_like(x, dtype=ag.float32).dtype == ag.float32
    for make in (ag.rand_like, ag.randn_like):
        t = make(x)
        assert t.shape == (1, 2) and t.dtype == ag.float64
    assert ag.ones_like(x, requires_grad=True).requires_grad


def test_manual_seed_reproduces_random_tensors():
    ag.manual_seed(123)
    a = (ag.rand(3), ag.randn(3), ag.randint(0, 100, (3,)))
    ag.manual_seed(123)
    b = (ag.rand(3), ag.randn(3), ag.randint(0, 100, (3,)))
    for u, v in zip(a, b):
        assert u.tolist() == v.tolist()
    assert ag.rand(3).tolist() != a[0].tolist()


# ============================================================================== attributes and methods


def test_attributes():
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert isinstance(x.data, np.ndarray) and x.data.shape == (2, 3)
    assert x.grad is None and x.requires_grad and x.grad_fn is None and x.is_leaf
    assert x.shape == (2, 3) and isinstance(x.shape, tuple)
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.dtype == ag.float32
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3
    assert x.T.shape == (3, 2) and x.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    y = x * 2.0
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert repr(y.grad_fn) == "<MulBackward>"
    assert ag.tensor(2.5).item() == 2.5 and isinstance(ag.tensor(2.5).item(), float)
    assert ag.tensor([7]).item() == 7 and isinstance(ag.tensor([7]).item(), int)
    with pytest.raises((ValueError, RuntimeError)):
        x.item()
    with pytest.raises(TypeError):
        len(ag.tensor(1.0))
    with pytest.raises(IndexError):
        x.size(2)
    with pytest.raises(IndexError):
        ag.tensor(1.0).size(0)


def test_numpy_and_array_protocol():
    x = ag.tensor([1.0, 2.0])
    assert x.numpy() is x.data
    assert np.asarray(x) is x.data
    assert np.array(x, dtype=np.float64).dtype == np.float64
    assert np.sum(np.asarray(ag.tensor([1.0, 2.0]))) == 3.0
    # np.array copies (numpy 2 passes copy=True and trusts it), np.asarray does not
    copied = np.array(x)
    assert not np.shares_memory(copied, x.data)
    copied[0] = 5.0
    assert x.tolist() == [1.0, 2.0]
    assert np.array(x, copy=False) is x.data
    r = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        r.numpy()
    assert r.detach().numpy().tolist() == [1.0, 2.0]


def test_detach_shares_data_and_stops_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])  # d is a constant: no second path


def test_clone_copies_and_is_recorded():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.data, x.data) and c.grad_fn is not None
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert not ag.tensor([1.0]).clone().requires_grad


def test_to_float_double_are_differentiable():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert x.float() is x and x.to(ag.float32) is x
    d = x.double()
    assert d.dtype == ag.float64 and d.requires_grad
    (d * d).sum().backward()
    assert x.grad.dtype == ag.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    i = ag.tensor([1.5, 2.5]).to(ag.int64)
    assert i.dtype == ag.int64 and i.tolist() == [1, 2] and not i.requires_grad
    assert ag.tensor([1, 2]).float().dtype == ag.float32


def test_requires_grad_():
    x = ag.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = ag.tensor([1.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_retain_grad_and_register_hook():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.tolist()))
    (h * 3.0).sum().backward()
    assert seen == [[3.0, 3.0]]
    np.testing.assert_array_equal(h.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 12.0])
    handle.remove()
    h2 = x * 1.0
    h2.register_hook(lambda g: g * 0.0)
    h2.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 12.0])  # hook zeroed this contribution
    with pytest.raises(RuntimeError):
        ag.tensor([1.0]).retain_grad()
    with pytest.raises(RuntimeError):
        ag.tensor([1.0]).register_hook(lambda g: g)


def test_iteration_bool_float_int():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    assert bool(ag.tensor([1.0])) and not bool(ag.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert float(ag.tensor([2.5])) == 2.5 and int(ag.tensor(3)) == 3


# ============================================================================== repr


def _torch_repr(t):
    return repr(t).replace("torch.", "ag.").replace("Backward0>", "Backward>").replace("Backward1>", "Backward>")


@pytest.mark.parametrize("data, expected", [
    ([1.0, 2.0], "tensor([1., 2.])"),
    ([2.5, 3.5], "tensor([2.5000, 3.5000])"),
    (3.0, "tensor(3.)"),
    ([True, False], "tensor([ True, False])"),
    ([1, 2], "tensor([1, 2])"),
    ([1e-5, 1.0], "tensor([1.0000e-05, 1.0000e+00])"),
    ([[1.0, 2.0], [3.0, 4.0]], "tensor([[1., 2.],\n        [3., 4.]])"),
])
def test_repr_examples(data, expected):
    assert repr(ag.tensor(data)) == expected


def test_repr_suffixes():
    assert repr(ag.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(x * x) == "tensor([1., 4.], grad_fn=<MulBackward>)"
    assert repr((x + 1).sum()) == "tensor(5., grad_fn=<SumBackward>)"
    assert repr(ag.tensor([1.0], dtype=ag.float64)) == "tensor([1.], dtype=ag.float64)"
    assert repr(ag.tensor(np.array([1, 2], np.int32))) == "tensor([1, 2], dtype=ag.int32)"
    assert repr(ag.zeros(0)) == "tensor([])"
    assert repr(ag.zeros(0, 3)) == "tensor([], size=(0, 3))"
    ag.set_default_dtype(ag.float64)
    assert repr(ag.tensor([1.0])) == "tensor([1.])"
    assert repr(ag.tensor([1.0], dtype=ag.float32)) == "tensor([1.], dtype=ag.float32)"
    with ag.no_grad():
        assert repr(x * 2) == "tensor([2., 4.], dtype=ag.float32)"


_repr_dtypes = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.int32, np.uint8, np.bool_])
_repr_arrays = _repr_dtypes.flatmap(lambda dt: hnp.arrays(
    dt, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7),
    elements=st.floats(-1e9, 1e9, width=32) if dt in (np.float32, np.float64) else None))
_special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e-7, 123456789.0, 0.5, -3.0])


@given(_repr_arrays, st.lists(_special, max_size=3), st.booleans())
def test_repr_matches_torch(arr, specials, requires_grad):
    arr = np.array(arr)
    if arr.dtype.kind == "f" and arr.size:
        flat = arr.reshape(-1)
        with np.errstate(over="ignore"):  # 123456789 is inf in float16
            for k, v in enumerate(specials):
                flat[k % flat.size] = v
    ours = ag.tensor(arr)
    theirs = torch.tensor(arr)
    if requires_grad and arr.dtype.kind == "f":
        ours.requires_grad_()
        theirs.requires_grad_()
    assert repr(ours) == _torch_repr(theirs)


@pytest.mark.parametrize("shape", [(2000,), (40, 50), (3, 400, 2), (1001,), (90,)])
def test_repr_summarizes_and_wraps_like_torch(shape):
    arr = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    assert repr(ag.tensor(arr)) == _torch_repr(torch.tensor(arr))
    assert repr(ag.tensor(arr, requires_grad=True) * 2) == _torch_repr(torch.tensor(arr, requires_grad=True) * 2)
    ints = np.arange(int(np.prod(shape))).reshape(shape)
    assert repr(ag.tensor(ints)) == _torch_repr(torch.tensor(ints))


# ============================================================================== arithmetic


_BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
}


@pytest.mark.parametrize("name", list(_BINARY))
@pytest.mark.parametrize("c", [2, 0.5, -1.5])
def test_arithmetic_with_python_numbers_both_sides(name, c):
    f = _BINARY[name]
    rng = np.random.default_rng(0)
    x = _arr(rng, (3, 2), 0.5, 2.0)  # positive: a real power of the tensor and c ** x are defined
    compare_with_torch(lambda t: f(t, c), x)
    compare_with_torch(lambda t: f(abs(c), t) if name == "pow" else f(c, t), x)


@pytest.mark.parametrize("name", list(_BINARY))
def test_arithmetic_with_ndarrays_both_sides(name):
    f = _BINARY[name]
    rng = np.random.default_rng(1)
    x = _arr(rng, (2, 3), 0.5, 2.0)
    a = _arr(rng, (3,), 0.5, 2.0)  # broadcasts against x
    compare_with_torch(lambda t: f(t, a if isinstance(t, ag.Tensor) else torch.tensor(a)), x)
    compare_with_torch(lambda t: f(a, t) if isinstance(t, ag.Tensor) else f(torch.tensor(a), t), x)
    # ndarray on the left returns a Tensor (not an object array)
    out = f(a, ag.tensor(x))
    assert isinstance(out, ag.Tensor) and out.shape == (2, 3)
    out = f(ag.tensor(x), a)
    assert isinstance(out, ag.Tensor) and out.shape == (2, 3)
    # and a nested list works like an ndarray
    out = f(ag.tensor(x), a.tolist())
    assert isinstance(out, ag.Tensor) and out.shape == (2, 3)


def test_unary_minus_pos_and_abs():
    rng = np.random.default_rng(2)
    x = _arr(rng, (4,))
    compare_with_torch(lambda t: -t, x)
    compare_with_torch(lambda t: abs(t) * 2, x)
    t = ag.tensor([1.0])
    assert +t is t


def test_matmul_operator_with_ndarray_both_sides():
    rng = np.random.default_rng(3)
    x, m = _arr(rng, (2, 3)), _arr(rng, (3, 4))
    out = ag.tensor(x) @ m
    np.testing.assert_allclose(out.numpy(), x @ m, rtol=1e-6)
    out = m.T @ ag.tensor(x).T
    assert isinstance(out, ag.Tensor)
    np.testing.assert_allclose(out.numpy(), m.T @ x.T, rtol=1e-6)


@pytest.mark.parametrize("fname", ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "sign"])
def test_elementwise_against_torch(fname):
    rng = np.random.default_rng(4)
    x = _arr(rng, (3, 4), 0.1, 2.0) if fname in ("log", "sqrt") else _arr(rng, (3, 4))
    compare_with_torch(lambda t: getattr(t, fname)(), x)


def test_pow_with_tensor_exponent_against_torch():
    rng = np.random.default_rng(5)
    compare_with_torch(lambda a, b: a ** b, _arr(rng, (3, 1), 0.5, 2.0), _arr(rng, (4,)))
    compare_with_torch(lambda a, b: a.pow(b), _arr(rng, (2,), 0.5, 2.0), _arr(rng, (2,)))


def test_comparisons_return_bool_without_gradient():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2, x < np.array([0.0, 5.0, 5.0]), x > x):
        assert r.dtype == ag.bool and not r.requires_grad and r.grad_fn is None
    assert (x == 2).tolist() == [False, True, False]
    assert (2 < x).tolist() == [False, False, True]


# ============================================================================== broadcasting

_shape_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


@given(_shape_pairs, st.sampled_from(sorted(_BINARY)))
def test_broadcast_gradients_match_torch(shapes, name):
    rng = np.random.default_rng(6)
    (sa, sb), _ = shapes
    a, b = _arr(rng, sa, 0.5, 2.0), _arr(rng, sb, 0.5, 2.0)
    compare_with_torch(_BINARY[name], a, b, rtol=1e-9)


@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_broadcast_three_way_expression(shapes):
    rng = np.random.default_rng(7)
    arrays = [_arr(rng, s, 0.5, 2.0) for s in shapes.input_shapes]
    compare_with_torch(lambda a, b, c: (a * b - c / a).tanh() * b + c, *arrays, rtol=1e-9)


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, min_side=0, max_side=2),
       st.sampled_from(sorted(_BINARY)))
def test_broadcast_with_empty_dimensions_matches_torch(shapes, name):
    rng = np.random.default_rng(14)
    a, b = (_arr(rng, s, 0.5, 2.0) for s in shapes.input_shapes)
    compare_with_torch(_BINARY[name], a, b)
    compare_with_torch(lambda x, y: _BINARY[name](x, y).sum(dim=0), a, b)


def test_same_tensor_broadcast_against_itself():
    rng = np.random.default_rng(8)
    compare_with_torch(lambda a: a * a.reshape(3, 1) + a.T, _arr(rng, (1, 3)))


@pytest.mark.parametrize("sa, sb", [((3,), (2,)), ((2, 3), (3, 2)), ((4, 1, 2), (3, 3))])
def test_shapes_that_do_not_broadcast_raise_value_error(sa, sb):
    a, b = ag.ones(*sa, requires_grad=True), ag.ones(*sb)
    for name, f in _BINARY.items():
        with pytest.raises(ValueError) as info:
            f(a, b)
        msg = str(info.value)
        assert str(sa) in msg and str(sb) in msg and name in msg, msg
    with pytest.raises(ValueError) as info:
        a + np.ones(sb)
    assert str(sa) in str(info.value) and str(sb) in str(info.value)


# ============================================================================== matmul

_vec_or_mat = st.sampled_from(["1d@1d", "1d@2d", "2d@1d", "2d@2d", "nd@1d", "1d@nd", "nd@nd", "nd@2d", "2d@nd"])


@given(_vec_or_mat, st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3))
def test_matmul_against_torch(kind, n, k, m, batch):
    rng = np.random.default_rng(9)
    ba, bb = batch.input_shapes
    shapes = {
        "1d@1d": ((k,), (k,)), "1d@2d": ((k,), (k, m)), "2d@1d": ((n, k), (k,)), "2d@2d": ((n, k), (k, m)),
        "nd@1d": (ba + (n, k), (k,)), "1d@nd": ((k,), bb + (k, m)), "nd@nd": (ba + (n, k), bb + (k, m)),
        "nd@2d": (ba + (n, k), (k, m)), "2d@nd": ((n, k), bb + (k, m)),
    }[kind]
    a, b = (_arr(rng, s) for s in shapes)
    compare_with_torch(lambda x, y: x @ y, a, b, rtol=1e-9, atol=1e-11)
    compare_with_torch(lambda x, y: x.matmul(y), a, b, rtol=1e-9, atol=1e-11)


def test_matmul_bad_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        ag.ones(2, 3) @ ag.ones(4, 2)
    with pytest.raises((ValueError, RuntimeError)):
        ag.ones(3) @ ag.ones(4)
    with pytest.raises((ValueError, RuntimeError)):
        ag.tensor(2.0) @ ag.ones(2)
    with pytest.raises(ValueError):  # batch dimensions that do not broadcast
        ag.ones(2, 2, 3) @ ag.ones(3, 3, 2)


# ============================================================================== reductions

_dims = st.integers(0, 3).flatmap(
    lambda nd: st.tuples(st.just(nd), st.one_of(
        st.none(),
        st.integers(-nd, nd - 1) if nd else st.none(),
        st.lists(st.integers(0, nd - 1), unique=True, max_size=nd).map(tuple) if nd else st.none())))


@given(_dims, st.booleans(), st.sampled_from(["sum", "mean"]), st.data())
def test_sum_mean_dim_keepdim_against_torch(nd_dim, keepdim, name, data):
    nd, dim = nd_dim
    shape = data.draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=4)) if nd else ()
    x = _arr(np.random.default_rng(10), shape)

    def f(t):
        method = getattr(t, name)
        if dim is None:
            return method(dim=None, keepdim=keepdim) if isinstance(t, ag.Tensor) else (
                method().reshape((1,) * nd) if keepdim else method())
        return method(dim=dim, keepdim=keepdim)

    compare_with_torch(f, x, rtol=1e-12)


def test_sum_mean_axis_alias_and_default():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum().item() == 10.0 and x.mean().item() == 2.5
    assert x.sum(axis=0).tolist() == [4.0, 6.0]
    assert x.mean(1, keepdim=True).shape == (2, 1)
    assert x.sum(dim=(0, 1), keepdim=True).shape == (1, 1)
    assert ag.tensor([1, 2, 3]).sum().dtype == ag.int64
    with pytest.raises(IndexError, match="out of range"):
        x.sum(dim=2)
    with pytest.raises(TypeError):
        x.sum(dim=0, axis=0)
    with pytest.raises(RuntimeError, match="float"):
        ag.tensor([1, 2]).mean()


# ============================================================================== shape operations


def test_reshape_transpose_T_against_torch():
    rng = np.random.default_rng(11)
    x = _arr(rng, (2, 3, 4))
    compare_with_torch(lambda t: t.reshape(4, 6) * t.reshape(4, 6), x)
    compare_with_torch(lambda t: t.reshape((3, -1)).exp(), x)
    compare_with_torch(lambda t: t.view(-1).tanh(), x)
    compare_with_torch(lambda t: t.transpose(0, 2) * 2.0, x)
    compare_with_torch(lambda t: t.transpose(-1, 1).reshape(8, 3), x)
    m = _arr(rng, (3, 5))
    compare_with_torch(lambda t: t.T @ t, m)
    v = _arr(rng, (4,))
    out = ag.tensor(v).T
    assert out.shape == (4,)
    assert ag.tensor(1.5).T.shape == ()


def test_reshape_bad_shape_raises():
    with pytest.raises(RuntimeError, match=r"\[4, 4\].*6"):
        ag.ones(2, 3).reshape(4, 4)


@given(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3))
def test_reshape_round_trip_gradient_shape(shape):
    x = ag.tensor(_arr(np.random.default_rng(12), shape), dtype=ag.float64, requires_grad=True)
    y = x.reshape(-1)
    assert y.shape == (int(np.prod(shape)),)
    (y * ag.arange(y.shape[0]).double()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(int(np.prod(shape)), dtype=float).reshape(shape))


# ============================================================================== zero-dimensional tensors


def test_zero_dim_tensors():
    a = ag.tensor(2.0, requires_grad=True)
    b = ag.tensor([[1.0, 2.0]], requires_grad=True)
    y = (a * b + a).sum()
    y.backward()
    assert a.grad.shape == () and a.grad.item() == 3.0 + 2.0
    assert b.grad.shape == (1, 2) and b.grad.tolist() == [[2.0, 2.0]]
    c = ag.tensor(3.0, requires_grad=True)
    (c * c).backward()
    assert c.grad.item() == 6.0


# ============================================================================== float32 stays float32

_F32_FUNCS = {
    "arith": lambda a, b: (a * b - b / (a * a + 1.0) + 2.0 ** a.tanh()) ** 2,
    "unary": lambda a, b: a.exp().log().sqrt() + b.sigmoid() * a.abs() - (a - b).relu() + a.sin() * b.cos(),
    "reduce": lambda a, b: (a * b).sum(dim=-1, keepdim=True) - (a + b).mean(),
    "matmul": lambda a, b: a.reshape(-1, 1) @ b.reshape(1, -1),
}


@pytest.mark.parametrize("name", list(_F32_FUNCS))
def test_float32_values_gradients_and_dtypes_match_torch(name):
    f = _F32_FUNCS[name]
    rng = np.random.default_rng(13)
    a, b = rng.uniform(0.5, 1.5, size=(2, 3)).astype(np.float32), rng.uniform(-1, 1, size=(3,)).astype(np.float32)
    ours = [ag.tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    out, ref = f(*ours), f(*theirs)
    assert out.dtype == ag.float32
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=2e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    for o, t in zip(ours, theirs):
        assert o.grad.dtype == ag.float32
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=2e-5, atol=1e-5)
