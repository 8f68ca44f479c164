"""The reduction, scan, sorting, shape, indexing and einsum catalogue beyond the op cases: the
operations that compose entries of the table (checked against torch with the same battery as
test_ops.py: values, VJP, JVP, forward-over-reverse, gradcheck and gradgradcheck), ties against
torch, integer and bool tensors, unique's orders and counts, scatter_reduce's edge cases, einsum's
subscripts, errors, and gradients of gradients through cumprod, sort and einsum."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import autograd.functions_shape as agf
import test_ops as _ops


def battery(ours, theirs, arrays, tol=1e-9, name="op", finite_differences=True):
    """test_op's checks for a composite operation: values, VJP, JVP and forward-over-reverse against
    torch, then gradcheck and gradgradcheck (``finite_differences``)."""
    xs, ts = _ops._inputs(arrays)
    out, ref = _ops._flat(ours(*xs)), _ops._flat(theirs(*ts))
    assert len(out) == len(ref)
    for i, (o, r) in enumerate(zip(out, ref)):
        _ops._assert_close(o, r, tol, f"{name}: value of output {i}")
    wrt = [x for x in xs if x.requires_grad]
    wrt_t = [t for t in ts if t.requires_grad]
    pairs = [(o, r) for o, r in zip(out, ref) if o.requires_grad]
    if not pairs:
        return
    rng = np.random.default_rng(0)
    cot = [rng.standard_normal(o.shape) for o, _ in pairs]
    g = ag.grad([o for o, _ in pairs], wrt, grad_outputs=[ag.tensor(c) for c in cot], allow_unused=True)
    g_t = torch.autograd.grad([r for _, r in pairs], wrt_t, grad_outputs=[torch.from_numpy(c) for c in cot],
                              allow_unused=True)
    _ops._grads_close(g, g_t, wrt, tol, f"{name}: gradient")
    case = SimpleNamespace(ours=ours, theirs=theirs, tol=tol)
    _ops._forward_mode_matches_torch(case, {}, xs, ts, wrt, wrt_t, cot, rng, name)
    if finite_differences:
        assert ag.gradcheck(ours, xs) and ag.gradgradcheck(ours, xs)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _both(lib):
    return (lambda a: torch.from_numpy(np.asarray(a))) if lib is torch else (lambda a: ag.tensor(np.asarray(a)))


AG = SimpleNamespace(**{**vars(ag), **{name: getattr(agf, name) for name in agf.__all__}})  # (ag.NAME of both)


# -- operations that compose entries of the table ---------------------------------------------------------

def _composites():
    idx = np.array([2, 0, 2])
    mask = np.array([[True], [False], [True]])
    yield "var_mean", [normal(3, 4)], lambda L, x: tuple(L.var_mean(x, 1, keepdim=True)) if L is torch else \
        tuple(agf.var_mean(x, 1, keepdim=True))
    yield "std_mean", [normal(3, 4)], lambda L, x: tuple(L.std_mean(x, dim=0, correction=0)) if L is torch else \
        tuple(agf.std_mean(x, dim=0, correction=0))
    yield "aminmax", [normal(3, 4)], lambda L, x: tuple(x.aminmax(dim=1, keepdim=True))
    yield "aminmax_all", [normal(3, 4)], lambda L, x: tuple(x.aminmax())
    yield "index_add", [normal(3, 4), normal(3, 4, seed=1)], \
        lambda L, x, s: x.index_add(0, _both(L)(idx), s, alpha=2.5)
    yield "index_add_dim1", [normal(2, 3), normal(2, 3, seed=1)], lambda L, x, s: L.index_add(x, 1, _both(L)(idx), s)
    yield "masked_select", [normal(3, 4)], lambda L, x: x.masked_select(_both(L)(mask))
    yield "take", [normal(3, 4)], lambda L, x: x.take(_both(L)([[0, -1], [5, 5]]))
    yield "narrow", [normal(3, 4)], lambda L, x: x.narrow(1, -3, 2)
    yield "movedim", [normal(2, 3, 4)], lambda L, x: L.movedim(x, (0, 2), (1, 0))
    yield "unflatten", [normal(3, 4)], lambda L, x: x.unflatten(1, (2, -1))
    yield "t", [normal(3, 4)], lambda L, x: x.t() * 2
    yield "mm", [normal(2, 3), normal(3, 4, seed=1)], lambda L, a, b: L.mm(a, b)
    yield "bmm", [normal(2, 2, 3), normal(2, 3, 4, seed=1)], lambda L, a, b: a.bmm(b)
    yield "mv", [normal(2, 3), normal(3, seed=1)], lambda L, a, b: L.mv(a, b)
    yield "expand_as", [normal(3, 1), normal(2, 3, 4, seed=1)], lambda L, a, b: a.expand_as(b) * b
    yield "view_as", [normal(3, 4), normal(2, 6, seed=1)], lambda L, a, b: a.view_as(b) * b
    yield "type_as", [normal(3)], lambda L, x: x.type_as(x.float()).double()
    yield "repeat_interleave", [normal(3, 2)], \
        lambda L, x: x.repeat_interleave(_both(L)([2, 0, 1]), dim=0) * 1
    yield "repeat_interleave_flat", [normal(3, 2)], lambda L, x: L.repeat_interleave(x, 2)
    yield "meshgrid", [normal(3), normal(2, seed=1)], lambda L, a, b: L.meshgrid(a, b, indexing="xy")
    yield "index_fill_tensor", [normal(3, 4), normal(seed=1).reshape(())], \
        lambda L, x, v: x.index_fill(1, _both(L)([0, 3]), v)  # (torch's backward fails on a negative index)
    yield "sum_dtype", [normal(3)], lambda L, x: x.float().sum(dtype=L.float64)
    yield "prod_dtype", [normal(3)], lambda L, x: x.float().prod(0, dtype=L.float64)
    yield "mean_dtype", [normal(3)], lambda L, x: x.float().mean(dtype=L.float64)
    yield "trace", [normal(3, 5)], lambda L, x: x.trace()
    yield "sort_stable", [normal(7)], lambda L, x: tuple(L.sort(x, dim=0, stable=True, descending=True))


@pytest.mark.parametrize("name, arrays, f", list(_composites()), ids=[c[0] for c in _composites()])
def test_composite_operations_against_torch(name, arrays, f):
    # through float32 (dtype conversions): values to float32's precision, and no finite differences
    # (a step of 1e-6 is lost in the rounding); the VJP and JVP are still checked against torch's
    rounded = name in ("type_as", "sum_dtype", "prod_dtype", "mean_dtype")
    battery(lambda *xs: f(AG, *xs), lambda *ts: f(torch, *ts), arrays, tol=1e-6 if rounded else 1e-9, name=name,
            finite_differences=not rounded)


def test_function_forms_are_torchs_and_call_the_methods():
    from autograd.methods import index, linalg, reduce, scan, shape

    for name in agf.__all__:
        assert hasattr(torch, name), f"ag.{name}: torch has no function of that name"
        assert getattr(ag, name) is getattr(agf, name) and name in ag.__all__, f"ag.{name} is not exported"
    methods = set()
    for mixin in (scan.ScanMethods, reduce.ReduceMethods, shape.ShapeMethods, index.IndexMethods, linalg.LinalgMethods):
        methods |= {n for n in vars(mixin) if not n.startswith("_")}
    assert not [n for n in methods if not hasattr(torch.Tensor, n)], "methods that torch.Tensor does not have"
    assert not [n for n in methods if hasattr(torch, n) and n not in agf.__all__ and not hasattr(ag, n)], \
        "torch functions without an ag form"
    x = ag.tensor(normal(3, 4))
    assert agf.cumsum(x, 1).tolist() == x.cumsum(1).tolist() and agf.cumsum.__doc__.startswith("``ag.cumsum(x, ...)``")
    assert np.array_equal(agf.t(x).data, x.data.T) and np.array_equal(agf.flip(x, (0, 1)).data, x.data[::-1, ::-1])
    assert agf.max(x, 1).indices.tolist() == x.max(1).indices.tolist() and agf.reshape(x, (4, 3)).shape == (4, 3)


# -- ties: the gradient goes where torch sends it ----------------------------------------------------------

def _tie_grads(f, x, seed=0):
    cot = np.random.default_rng(seed)
    ours = ag.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, ref = f(ours), f(theirs)
    c = cot.standard_normal(tuple(ref.shape))
    (g,) = ag.grad(out, ours, grad_outputs=ag.tensor(c))
    (g_t,) = torch.autograd.grad(ref, theirs, grad_outputs=torch.from_numpy(c))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_allclose(g.data, g_t.numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=40)
@given(st.data())
def test_values_of_selections_on_ties_route_the_gradient_as_torch(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    n = data.draw(st.sampled_from([1, 3, 16, 17, 40, 130]))
    x = rng.integers(0, 3, (2, n)).astype(float)
    k = data.draw(st.integers(1, n))
    largest, sorted_ = data.draw(st.booleans()), data.draw(st.booleans())
    for f in (lambda t: t.sort(1, descending=largest).values, lambda t: t.topk(k, 1, largest, sorted_).values,
              lambda t: t.kthvalue(k, 1).values, lambda t: t.median(1).values, lambda t: t.mode(1).values,
              lambda t: t.cummax(1).values, lambda t: t.cummin(1).values):
        _tie_grads(f, x)


def test_median_of_all_elements_splits_the_gradient_among_ties_as_torch():
    for x in ([1.0, 2.0, 2.0, 1.0], [3.0, 3.0, 3.0], [1.0, 2.0, 3.0, 4.0], [[2.0, 1.0], [2.0, 5.0]]):
        _tie_grads(lambda t: t.median(), np.array(x))
    x = ag.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    assert np.isnan(x.median().item())
    x.median().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.0, 0.5]  # (torch: the NaNs share it)
    assert np.isnan(ag.tensor([]).median().item())
    with pytest.raises(RuntimeError, match="empty"):
        ag.tensor([], dtype=ag.int64).median()


def test_sort_and_friends_with_nan_follow_torch():
    x = np.array([[1.0, np.nan, 3.0, 1.0, np.nan], [2.0, 2.0, 0.0, np.nan, 2.0]])
    t, xt = ag.tensor(x), torch.tensor(x)
    for f in (lambda a: a.sort(1), lambda a: a.sort(1, descending=True), lambda a: a.topk(3, 1),
              lambda a: a.topk(2, 1, largest=False), lambda a: a.kthvalue(3, 1), lambda a: a.median(1),
              lambda a: a.cummax(1), lambda a: a.cummin(1), lambda a: a.argsort(1)):
        for o, r in zip(_ops._flat(f(t)), _ops._flat(f(xt))):
            np.testing.assert_array_equal(o.data, r.numpy())


def test_long_tied_slices_replay_torchs_order_and_past_the_budget_keep_input_order(monkeypatch):
    from autograd.ops import sort as sort_ops

    x = np.random.default_rng(3).integers(0, 3, (4, 300)).astype(float)
    ours = ag.tensor(x).sort(1).indices.data
    assert np.array_equal(ours, torch.tensor(x).sort(1).indices.numpy())
    assert not np.array_equal(ours, np.argsort(x, 1, kind="stable"))  # (torch's sort is not stable there)
    monkeypatch.setattr(sort_ops, "REPLAY_BUDGET", 100)
    assert np.array_equal(ag.tensor(x).sort(1).indices.data, np.argsort(x, 1, kind="stable"))
    assert np.array_equal(ag.tensor(x).sort(1, stable=True).indices.data,
                          torch.tensor(x).sort(dim=1, stable=True).indices.numpy())


# -- integer and bool tensors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_and_bool_tensors_as_torch(dtype):
    data = np.random.default_rng(1).integers(0, 3, (3, 20)).astype(dtype)
    t, xt = ag.tensor(data), torch.from_numpy(data.copy())
    checks = [lambda a: a.cumsum(1), lambda a: a.cumprod(0), lambda a: a.cummax(1), lambda a: a.cummin(0),
              lambda a: a.sort(1), lambda a: a.argsort(0, descending=True), lambda a: a.mode(1),
              lambda a: a.all(1), lambda a: a.any(), lambda a: a.count_nonzero(0), lambda a: a.sum(),
              lambda a: a.prod(1), lambda a: a.flip(0), lambda a: a.roll(1, 1), lambda a: a.repeat(2, 1),
              lambda a: a.tril(), lambda a: a.diagonal(), lambda a: a.nonzero(), lambda a: a.unfold(1, 3, 2),
              lambda a: a.unique(return_inverse=True, return_counts=True), lambda a: a.unique(dim=0)]
    if dtype != "bool":
        checks += [lambda a: a.topk(4, 1), lambda a: a.kthvalue(5, 1), lambda a: a.median(1), lambda a: a.median(),
                   lambda a: a.trace(), lambda a: (agf if isinstance(a, ag.Tensor) else torch).einsum("ij,kj->ik", a, a)]
    for i, f in enumerate(checks):
        for o, r in zip(_ops._flat(f(t)), _ops._flat(f(xt))):
            assert o.dtype == np.dtype(str(r.dtype).replace("torch.", "")), (i, o.dtype, r.dtype)
            np.testing.assert_array_equal(o.data, r.numpy(), err_msg=str(i))


def test_cumsum_and_sum_dtype_rules():
    assert ag.tensor([True, True]).cumsum(0).dtype == ag.int64
    assert ag.tensor([1, 2], dtype=ag.uint8).sum().dtype == ag.int64  # (numpy: uint64)
    assert ag.tensor([1.0, 2.0]).cumsum(0, dtype=ag.float64).dtype == ag.float64
    assert ag.tensor([1, 2]).mean(dtype=ag.float32).item() == 1.5
    with pytest.raises(RuntimeError, match="floating"):
        ag.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="floating"):
        ag.tensor([1, 2]).logcumsumexp(0)
    # float16 accumulates in float32, as torch: 0.1 a thousand times is 100 (a float16 running sum stalls at 64)
    half = ag.tensor([0.1] * 1000, dtype=ag.float16).cumsum(0)
    assert half.dtype == ag.float16
    np.testing.assert_array_equal(half.data, torch.tensor([0.1] * 1000, dtype=torch.float16).cumsum(0).numpy())


# -- unique ------------------------------------------------------------------------------------------------------

def test_unique_orders_counts_and_inverse_as_torch():
    for data in ([2.0, 5.0, 1.0, 5.0, 1.0, 2.0], [[1, 2], [1, 2], [0, 5]], [np.nan, 1.0, np.nan], [7], []):
        a = np.array(data)
        for kw in ({}, {"return_inverse": True}, {"return_counts": True}, {"return_inverse": True, "return_counts": True},
                   {"sorted": False, "return_inverse": True}):
            for o, r in zip(_ops._flat(ag.tensor(a).unique(**kw)), _ops._flat(torch.tensor(a).unique(**kw))):
                np.testing.assert_array_equal(o.data, r.numpy())
    rows = np.array([[1, 2], [1, 2], [0, 5], [0, 5], [3, 3]])
    for dim in (0, 1):
        for o, r in zip(agf.unique(ag.tensor(rows), return_inverse=True, return_counts=True, dim=dim),
                        torch.unique(torch.tensor(rows), return_inverse=True, return_counts=True, dim=dim)):
            np.testing.assert_array_equal(o.data, r.numpy())
    x = ag.tensor([1.0, 2.0, 1.0], requires_grad=True)
    assert not x.unique().requires_grad  # (no gradient, as torch)
    with pytest.raises(RuntimeError, match="empty dimension"):
        ag.zeros(2, 0).unique(dim=0)


# -- scatter_reduce ------------------------------------------------------------------------------------------------

def _scatter_reduce_grads(x, src, index, reduce, include_self):
    out = []
    for lib in (ag, torch):
        xs = lib.tensor(x, requires_grad=True)
        ss = lib.tensor(src, requires_grad=True)
        i = lib.tensor(index)
        r = xs.scatter_reduce(0, i, ss, reduce, include_self=include_self)
        c = np.arange(1.0, r.numel() + 1).reshape(tuple(r.shape))
        grads = (ag.grad if lib is ag else torch.autograd.grad)(r, [xs, ss], (lib.tensor(c),))
        out.append((np.asarray(r.detach().numpy() if lib is torch else r.data),
                    [np.asarray(g.numpy() if lib is torch else g.data) for g in grads]))
    return out


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_equal_torchs_on_ties_and_zeros(reduce, include_self):
    # (without self, an x equal to its position's result would meet torch's miscount: next test)
    x = np.array([2.0, 0.0, 3.0, 1.0]) if include_self else np.array([9.0, 7.0, 3.0, 1.0])
    src = np.array([2.0, 2.0, 0.0, 5.0, 1.0])  # ties with x[0] at position 0, a zero scattered to position 1
    index = np.array([0, 0, 1, 2, 0])
    (ours, g), (theirs, g_t) = _scatter_reduce_grads(x, src, index, reduce, include_self)
    np.testing.assert_allclose(ours, theirs)
    for a, b in zip(g, g_t):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_scatter_reduce_amax_does_not_count_an_excluded_self():
    # torch counts x[0] (excluded, but equal to the result) among the ties and hands src[0] half the
    # gradient; the result is max(src[0], src[1]) = src[0] alone, so its derivative is 1
    x = ag.tensor([3.0, 5.0], dtype=ag.float64, requires_grad=True)
    src = ag.tensor([3.0, 1.0], dtype=ag.float64, requires_grad=True)
    out = x.scatter_reduce(0, ag.tensor([0, 0]), src, "amax", include_self=False)
    out.sum().backward()
    assert src.grad.tolist() == [1.0, 0.0] and x.grad.tolist() == [0.0, 1.0]
    assert ag.gradcheck(lambda s: x.detach().scatter_reduce(0, ag.tensor([0, 0]), s, "amax", include_self=False),
                        [src.detach().requires_grad_()])


def test_scatter_reduce_edge_cases():
    x = ag.tensor([5, 5, 7])
    i = ag.tensor([0, 0, 1, 1])
    s = ag.tensor([-3, -4, 3, 4])
    assert x.scatter_reduce(0, i, s, "mean").tolist() == [-1, 4, 7]  # floor division, as torch
    assert x.scatter_reduce(0, i, s, "mean", include_self=False).tolist() == [-4, 3, 7]
    assert x.scatter_reduce(0, i, s, "amax", include_self=False).tolist() == [-3, 4, 7]
    assert x.scatter_reduce(0, ag.tensor([], dtype=ag.int64), ag.tensor([], dtype=ag.int64), "prod").tolist() == [5, 5, 7]
    assert ag.zeros(3).scatter(0, ag.tensor([0, 2]), 2.5).tolist() == [2.5, 0.0, 2.5]
    assert ag.zeros(3, dtype=ag.int64).scatter(0, ag.tensor([1]), 2.5).tolist() == [0, 2, 0]  # (as torch: cast)
    assert ag.ones(3).scatter(0, ag.tensor([1, 1]), ag.tensor([2.0, 3.0]), reduce="multiply").tolist() == [1, 6, 1]
    assert agf.scatter_add(ag.zeros(3), 0, ag.tensor([2, 2]), ag.ones(2)).tolist() == [0, 0, 2]
    # the gradient of a src larger than index is 0 where it is not read (torch's backward fails there)
    src = ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    ag.zeros(2, 3).scatter(1, ag.tensor([[2]]), src).sum().backward()
    assert src.grad.tolist() == [[1.0, 0.0, 0.0]]
    # the backward of 'prod' with two zeros at one position can't be differentiated again (as torch)
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    src = ag.tensor([0.0, 0.0, 3.0], requires_grad=True)
    y = x.scatter_reduce(0, ag.tensor([0, 0, 1]), src, "prod")
    (g,) = ag.grad(y.sum(), src, retain_graph=True)
    assert g.tolist() == [0.0, 0.0, 2.0]
    with pytest.raises(RuntimeError, match="two or more zeros"):
        ag.grad(y.sum(), src, create_graph=True)


def test_index_add_copy_fill_and_in_place_forms_as_torch():
    base = normal(4, 3)
    for f in (lambda L, x: x.index_add_(0, L.tensor([0, 0, 3]), L.ones(3, 3, dtype=L.float64), alpha=2),
              lambda L, x: x.index_copy_(1, L.tensor([2, 0]), L.zeros(4, 2, dtype=L.float64)),
              lambda L, x: x.index_fill_(0, L.tensor([-1]), 7.0),
              lambda L, x: x.scatter_(0, L.tensor([[1, 2, 3]]), L.zeros(1, 3, dtype=L.float64)),
              lambda L, x: x.scatter_add_(1, L.tensor([[0, 0]]), L.ones(1, 2, dtype=L.float64)),
              lambda L, x: x.scatter_reduce_(0, L.tensor([[0, 0, 0]]), L.ones(1, 3, dtype=L.float64), "amin",
                                             include_self=False),
              lambda L, x: x.masked_scatter_(L.tensor([True, False, True]), L.arange(8.0, dtype=L.float64))):
        x, xt = ag.tensor(base.copy()), torch.tensor(base.copy())
        f(ag, x)
        f(torch, xt)
        np.testing.assert_array_equal(x.data, xt.numpy())
    # in a graph: the in-place forms are differentiable like the out-of-place ones
    w = ag.tensor(base, requires_grad=True)
    y = w * 1.0
    y.index_add_(0, ag.tensor([1, 1]), w[:2] * 3)
    y.sum().backward()
    assert w.grad.tolist()[:2] == [[4.0] * 3, [4.0] * 3] and w.grad.tolist()[2:] == [[1.0] * 3] * 2


# -- einsum ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(30, 40), (40, 20)]),  # (numpy's optimised path: BLAS)
    ("bij,bjk", [(3, 20, 30), (3, 30, 10)]), ("Ab,bA->", [(3, 4), (4, 3)]), ("ii", [(3, 3)]),
    ("...ii->...i", [(2, 3, 3)]), ("i...j,j...->i...", [(2, 1, 3), (3, 4)]), ("i,i,i,i->", [(5,)] * 4),
    ("a b, b c -> a c", [(2, 3), (3, 2)]), ("iij,jk->ik", [(2, 2, 3), (3, 1)]),
])
def test_einsum_subscripts_against_torch(equation, shapes):
    arrays = [normal(*s, seed=i) for i, s in enumerate(shapes)]
    battery(lambda *xs: agf.einsum(equation, *xs), lambda *ts: torch.einsum(equation, *ts), arrays, name=equation)


def test_einsum_forms_and_errors():
    a, b = ag.tensor(normal(2, 3)), ag.tensor(normal(3, 4))
    expected = (a @ b).data
    np.testing.assert_allclose(agf.einsum("ij,jk", [a, b]).data, expected)
    np.testing.assert_allclose(agf.einsum(a, [0, 1], b, [1, 2], [0, 2]).data, expected)
    np.testing.assert_allclose(agf.einsum(a, [Ellipsis, 1], [1]).data, a.data.sum(0))
    assert agf.einsum("bA", a).shape == (3, 2)  # implicit output: alphabetical, uppercase first (as torch)
    for equation, operands, message in (
            ("ij,jk->ik", [a, a], "subscript j has size 2 for operand 1"), ("ij->ji", [a, a], "2 operand"),
            ("i->ii", [a[0]], "appears more than once"), ("ij->k", [a], "does not appear"),
            ("i1->", [a], "invalid subscript"), ("ijk->", [a], "name 3 dimensions"),
            ("ii->i", [a], "repeated for operand 0"), ("ij,jk", [a, b.float()], "same dtype")):
        with pytest.raises(RuntimeError, match=message):
            agf.einsum(equation, *operands)


def test_hessians_through_cumprod_sort_and_einsum_match_torch():
    x0 = np.array([0.5, 0.0, 2.0, -1.5, 0.0, 3.0])
    funcs = [lambda L, x: (x.cumprod(0) ** 2).sum(), lambda L, x: (x.sort(descending=True).values * L.arange(6.0,
                                                                                                           dtype=L.float64)).sum() ** 2,
             lambda L, x: (agf if L is ag else torch).einsum("i,i,j->", x, x, x.cumsum(0)),
             lambda L, x: x.logcumsumexp(0).exp().sum() ** 2, lambda L, x: (x.unfold(0, 3, 2) ** 3).sum()]
    for f in funcs:
        hs = []
        for lib in (ag, torch):
            x = lib.tensor(x0, requires_grad=True)
            (g,) = (ag.grad if lib is ag else torch.autograd.grad)(f(lib, x), x, create_graph=True)
            rows = [(ag.grad if lib is ag else torch.autograd.grad)(g[i], x, retain_graph=True)[0] for i in range(6)]
            hs.append(np.stack([np.asarray(r.detach().numpy() if lib is torch else r.data) for r in rows]))
        np.testing.assert_allclose(hs[0], hs[1], rtol=1e-9, atol=1e-12)


def test_cumprod_third_derivative_with_zeros_matches_torch():
    x0 = np.array([[1.5, 0.0, 2.0, 0.0, -1.0], [0.0, 0.0, 1.0, 2.0, 3.0]])
    results = []
    for lib, grad in ((ag, ag.grad), (torch, torch.autograd.grad)):
        x = lib.tensor(x0, requires_grad=True)
        (g,) = grad((x.cumprod(1) ** 2).sum(), x, create_graph=True)
        (h,) = grad((g * g).sum(), x, create_graph=True)
        (t,) = grad((h * h).sum(), x)
        results.append(np.asarray(t.detach().numpy() if lib is torch else t.data))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-10)


def test_logcumsumexp_on_a_wide_slice_is_exact():
    import autograd.forward_ad as fw

    x = np.array([-40.0, 0.0, 35.0, -60.0])
    t = np.array([1.3, -0.7, 0.2, 2.0])
    with fw.dual_level():
        out = ag.tensor(x, requires_grad=True)
        tangent = fw.unpack_dual(fw.make_dual(out, ag.tensor(t)).logcumsumexp(0)).tangent.data
    # d out_j = sum_{i <= j} t_i softmax(x_0..x_j)_i, in closed form
    expected = [(np.exp(x[:j + 1] - np.logaddexp.reduce(x[:j + 1])) * t[:j + 1]).sum() for j in range(4)]
    np.testing.assert_allclose(tangent, expected, rtol=1e-14)
    _tie_grads(lambda a: a.logcumsumexp(0), x)  # the VJP (torch's is in the log domain too)


# -- shape operations: values, views and errors --------------------------------------------------------------

def test_views_and_copies_as_torch():
    x = ag.arange(12.0).reshape(3, 4)
    d = x.diagonal()
    d.add_(100.0)  # diagonal, narrow and unfold are views: writing through them changes x
    assert x[1, 1].item() == 105.0
    x.narrow(1, 0, 1).mul_(0.0)
    assert x[:, 0].tolist() == [0.0, 0.0, 0.0]
    f = x.flip(0)
    f.add_(1.0)  # flip, roll, repeat and tril copy
    assert x[0, 1].item() == 1.0
    v = ag.tensor([1.0, 2.0], dtype=ag.float64).view(ag.int32)
    assert v.shape == (4,) and v.dtype == ag.int32
    np.testing.assert_array_equal(v.data, torch.tensor([1.0, 2.0], dtype=torch.float64).view(torch.int32).numpy())
    assert ag.tensor([1, 2], dtype=ag.int8).view(ag.uint8).tolist() == [1, 2]
    assert ag.ones(4, dtype=ag.int8).view(ag.int32).shape == (1,)
    y = ag.tensor([1.0, 2.0], requires_grad=True)
    assert not y.view(ag.int32).requires_grad  # (no gradient, as torch)
    x = ag.ones(2, 3)
    assert x.new_zeros(2).dtype == ag.float32 and x.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert x.new_tensor([1, 2]).dtype == ag.float32 and x.new_ones(1, dtype=ag.int64).dtype == ag.int64
    assert x.new_empty((2, 2)).shape == (2, 2) and x.new_zeros(3, requires_grad=True).requires_grad
    assert ag.tensor(5.0).nonzero().shape == (1, 0) and ag.tensor(0.0).nonzero().shape == (0, 0)
    assert [t.tolist() for t in ag.tensor(5.0).nonzero(as_tuple=True)] == [[0]]
    assert [t.tolist() for t in ag.where(ag.tensor([[0, 1], [2, 0]]))] == [[0, 1], [1, 0]]
    assert ag.tensor(3.0).unfold(0, 1, 1).tolist() == [3.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: ag.ones(2, 3).mm(ag.ones(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda: ag.ones(2, 3).mm(ag.ones(4, 2)), RuntimeError, r"shapes cannot be multiplied \(2x3 and 4x2\)"),
    (lambda: ag.ones(2, 3).mm(ag.ones(3, 2, dtype=ag.float64)), RuntimeError, "same dtype"),
    (lambda: ag.ones(2, 3).bmm(ag.ones(2, 3, 4)), RuntimeError, "batch1 must be a 3-d tensor"),
    (lambda: ag.ones(2, 2, 3).bmm(ag.ones(3, 3, 4)), RuntimeError, r"first two dimensions of batch2 to be \[2, 3\]"),
    (lambda: ag.ones(2, 3).mv(ag.ones(2)), RuntimeError, "size mismatch"),
    (lambda: ag.ones(2, 3, 4).t(), RuntimeError, "<= 2 dimensions"),
    (lambda: ag.ones(3).topk(4), RuntimeError, "k = 4 is out of range"),
    (lambda: ag.ones(3).kthvalue(0), RuntimeError, "k = 0 is out of range"),
    (lambda: ag.ones(0, 3).median(0), IndexError, "dimension 0 has size 0"),
    (lambda: ag.tensor([True]).topk(1), RuntimeError, "bool"),
    (lambda: ag.ones(3, 4).unfold(1, 5, 1), RuntimeError, "maximum size for dimension 1 is 4 but size is 5"),
    (lambda: ag.ones(3, 4).unfold(1, 2, 0), RuntimeError, "step is 0"),
    (lambda: ag.ones(3, 4).narrow(1, 3, 2), RuntimeError, r"start \(3\) \+ length \(2\) exceeds"),
    (lambda: ag.ones(3, 4).unflatten(1, (3, -1)), RuntimeError, "don't multiply up to the size of dim 1"),
    (lambda: ag.ones(2, 3).repeat(2), RuntimeError, "give at least 2"),
    (lambda: ag.ones(3).tril(), RuntimeError, "at least 2 dimensions"),
    (lambda: ag.ones(2, 2, 2).diag(), RuntimeError, "1-d or 2-d"),
    (lambda: ag.ones(2, 2, 2).trace(), RuntimeError, "expected a matrix"),
    (lambda: ag.ones(3).diagonal(), RuntimeError, "at least 2 dimensions"),
    (lambda: ag.ones(2, 2).diagonal(0, 1, -1), RuntimeError, "can't be identical"),
    (lambda: ag.ones(6).take(ag.tensor([6])), IndexError, "index 6 is out of range for a tensor of 6 elements"),
    (lambda: ag.ones(6).take_along_dim(ag.tensor([-1]), 0), IndexError, "index -1 is out of bounds"),
    (lambda: ag.ones(2, 3).take_along_dim(ag.tensor([0, 1]), 0), RuntimeError, "same number of dimensions"),
    (lambda: ag.ones(2, 3).take_along_dim(ag.tensor([[0, 1]]), 0), RuntimeError, "do not broadcast"),
    (lambda: ag.zeros(3).scatter(0, ag.tensor([3]), ag.ones(1)), IndexError, "index 3 is out of bounds for dimension 0"),
    (lambda: ag.zeros(3).scatter(0, ag.tensor([0]), ag.ones(1, dtype=ag.float64)), RuntimeError, "dtype"),
    (lambda: ag.zeros(2, 3).scatter(1, ag.tensor([[0, 1]]), ag.ones(1, 1)), RuntimeError, "no larger than src"),
    (lambda: ag.zeros(2, 3).scatter(1, ag.tensor([0]), ag.ones(1)), RuntimeError, "same number"),
    (lambda: ag.zeros(3).scatter_reduce(0, ag.tensor([0]), ag.ones(1), "foo"), RuntimeError, "one of 'sum'"),
    (lambda: ag.zeros(3).scatter(0, ag.tensor([0]), ag.ones(1), reduce="max"), RuntimeError, "'add' or 'multiply'"),
    (lambda: ag.zeros(3).index_add(0, ag.tensor([-1]), ag.ones(1)), IndexError, "index -1 is out of bounds"),
    (lambda: ag.zeros(3).index_add(0, ag.tensor([0]), ag.ones(1, dtype=ag.float64)), RuntimeError, "dtype"),
    (lambda: ag.zeros(3, 2).index_copy(0, ag.tensor([[0]]), ag.ones(1, 2)), IndexError, "1 dimension or none"),
    (lambda: ag.zeros(3).index_fill(0, ag.tensor([3]), 1.0), IndexError, "index 3 is out of bounds"),
    (lambda: ag.zeros(3).masked_scatter(ag.tensor([True, True, False]), ag.ones(1)), RuntimeError,
     "source has 1 elements but mask has 2 True"),
    (lambda: ag.zeros(3).masked_scatter(ag.tensor([1, 1, 0]), ag.ones(3)), TypeError, "bool tensor"),
    (lambda: ag.zeros(3).masked_select(ag.tensor([True, False])), ValueError, None),
    (lambda: ag.zeros(3).repeat_interleave(ag.tensor([1, 2])), RuntimeError, "same size as the input"),
    (lambda: ag.zeros(3).repeat_interleave(ag.tensor([-1, 2, 2])), RuntimeError, "can not be negative"),
    (lambda: ag.ones(2, 2).roll((1, 1), 0), RuntimeError, "same length"),
    (lambda: ag.ones(2, 2).flip((0, 0)), RuntimeError, "appears multiple times"),
    (lambda: ag.tensor(1.0).view(ag.int16), RuntimeError, "0-d"),
    (lambda: ag.ones(3, 2).T.view(ag.int16), RuntimeError, "contiguous"),
    (lambda: ag.ones(3, dtype=ag.int8).view(ag.float32), RuntimeError, "divisible by 4"),
    (lambda: agf.meshgrid(ag.ones(2), ag.ones(3, dtype=ag.int64)), RuntimeError, "same dtype"),
    (lambda: agf.meshgrid(ag.ones(2, 2)), RuntimeError, "0-d or 1-d"),
    (lambda: ag.ones(2).aminmax(dim=(0,)), TypeError, "must be an int"),
    (lambda: ag.ones(0).aminmax(), RuntimeError, "empty"),
    (lambda: ag.ones(2).cumsum(), TypeError, "dim"),
])
def test_errors_name_the_argument_and_shapes(call, error, message):
    with pytest.raises(error) as info:
        call()
    if message is not None:
        assert info.match(message)
    if error is ValueError:  # (masked_select: both shapes named)
        assert "(3,)" in str(info.value) and "(2,)" in str(info.value)


def test_a_captured_graph_recomputes_selections_and_scatters_from_new_leaves():
    x = ag.tensor([3.0, 1.0, 2.0], requires_grad=True)
    idx = ag.tensor([0, 0, 2])
    loss = (x.sort().values * ag.tensor([1.0, 2.0, 3.0])).sum() + x.scatter_add(0, idx, x * x).sum() + \
        agf.einsum("i,i->", x, x.cumsum(0))
    graph = ag.Graph(loss)
    new = np.array([1.0, 3.0, 2.0])
    value = graph.forward({x: new}).item()
    t = torch.tensor(new, requires_grad=True)
    ref = (t.sort().values * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum() + \
        t.scatter_add(0, torch.tensor([0, 0, 2]), t * t).sum() + torch.einsum("i,i->", t, t.cumsum(0))
    assert value == pytest.approx(ref.item())
