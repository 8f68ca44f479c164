"""ag.func (torch.func) and ag.forward_ad against torch: grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, hessian and vmap, their compositions (jacrev(jacfwd), vmap(grad), grad(grad), nested
vmaps), per-sample gradients of an MLP, JVPs of JVPs, and the errors torch raises."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw
import torch.func as TF

import autograd as ag
import autograd.forward_ad as fw
import autograd.func as AF
import nn.functional as F

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 3))
W = RNG.standard_normal((4, 3))
B = RNG.standard_normal(4)
Y = RNG.integers(0, 4, 5)


def _ag(a):
    return ag.tensor(a, dtype=ag.float64) if np.asarray(a).dtype.kind == "f" else ag.tensor(a)


def _t(a):
    return torch.tensor(np.asarray(a))


def _close(ours, theirs, rtol=1e-10):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, rtol)
        return
    assert isinstance(ours, ag.Tensor) and ours.shape == tuple(theirs.shape), (ours, theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=1e-12)


def _f(x):
    return (x.sin() * x.exp()).sum() + (x[0] * x[-1]) ** 2


def test_grad_grad_and_value_and_argnums():
    f = lambda x, w: ((w @ x).tanh() ** 2).sum()  # noqa: E731
    _close(AF.grad(f)(_ag(X[0]), _ag(W)), TF.grad(f)(_t(X[0]), _t(W)))
    _close(AF.grad(f, argnums=(0, 1))(_ag(X[0]), _ag(W)), TF.grad(f, argnums=(0, 1))(_t(X[0]), _t(W)))
    g, v = AF.grad_and_value(f, argnums=1)(_ag(X[0]), _ag(W))
    tg, tv = TF.grad_and_value(f, argnums=1)(_t(X[0]), _t(W))
    _close((g, v), (tg, tv))
    g, aux = AF.grad(lambda x: (_f(x), x * 2), has_aux=True)(_ag(X[0]))
    tg, taux = TF.grad(lambda x: (_f(x), x * 2), has_aux=True)(_t(X[0]))
    _close((g, aux), (tg, taux))
    _close(AF.grad(AF.grad(lambda s: (s ** 3).sum() * s.sin()))(_ag(1.3)),
           TF.grad(TF.grad(lambda s: (s ** 3).sum() * s.sin()))(_t(1.3)))


def test_vjp_and_jvp():
    f = lambda x, w: ((w @ x).exp(), x.sum())  # noqa: E731
    out, fn = AF.vjp(f, _ag(X[0]), _ag(W))
    tout, tfn = TF.vjp(f, _t(X[0]), _t(W))
    _close(out, tout)
    cts = (_ag(B), _ag(2.0))
    _close(fn(cts), tfn((_t(B), _t(2.0))))
    out, d = AF.jvp(f, (_ag(X[0]), _ag(W)), (_ag(X[1]), _ag(W * 0.5)))
    tout, td = TF.jvp(f, (_t(X[0]), _t(W)), (_t(X[1]), _t(W * 0.5)))
    _close((out, d), (tout, td))


def test_jacobians_and_hessian():
    x, tx = _ag(X[0]), _t(X[0])
    g = lambda v: v.sin() * v.sum() + v.exp()  # noqa: E731
    _close(AF.jacrev(g)(x), TF.jacrev(g)(tx))
    _close(AF.jacfwd(g)(x), TF.jacfwd(g)(tx))
    _close(AF.hessian(_f)(x), TF.hessian(_f)(tx))
    _close(AF.jacrev(AF.jacfwd(g))(x), TF.jacrev(TF.jacfwd(g))(tx))
    _close(AF.jacfwd(AF.jacrev(g))(x), TF.jacfwd(TF.jacrev(g))(tx))
    two = lambda v, w: (w @ v, v * 2)  # noqa: E731
    _close(AF.jacrev(two, argnums=(0, 1))(x, _ag(W)), TF.jacrev(two, argnums=(0, 1))(tx, _t(W)))


def test_vmap_in_dims_out_dims_and_nesting():
    f = lambda x, w: (w @ x).tanh()  # noqa: E731
    _close(AF.vmap(f, in_dims=(0, None))(_ag(X), _ag(W)), TF.vmap(f, in_dims=(0, None))(_t(X), _t(W)))
    _close(AF.vmap(f, in_dims=(1, None), out_dims=1)(_ag(X.T), _ag(W)),
           TF.vmap(f, in_dims=(1, None), out_dims=1)(_t(X.T), _t(W)))
    h = lambda a, c: a * c + a.sum()  # noqa: E731
    _close(AF.vmap(AF.vmap(h, in_dims=(0, None)), in_dims=(None, 0))(_ag(X[0]), _ag(X)),
           TF.vmap(TF.vmap(h, in_dims=(0, None)), in_dims=(None, 0))(_t(X[0]), _t(X)))
    # reductions, softmaxes and shape ops see one sample
    s = lambda x: (x.log_softmax(dim=-1).sum() + x.unsqueeze(0).transpose(0, 1).flatten().amax()  # noqa: E731
                   + (x.softmax(dim=0) * x.reshape(3, 1).expand(3, 2).T.sum(0)).sum())
    _close(AF.vmap(s)(_ag(X)), TF.vmap(s)(_t(X)))


def test_per_sample_gradients_of_an_mlp_match_torch_func():
    def loss(w, b, x, y):
        return F.cross_entropy(F.linear(x, w, b).relu().unsqueeze(0), y.unsqueeze(0))

    def tloss(w, b, x, y):
        return torch.nn.functional.cross_entropy(torch.nn.functional.linear(x, w, b).relu().unsqueeze(0),
                                                 y.unsqueeze(0))

    ours = AF.vmap(AF.grad(loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(_ag(W), _ag(B), _ag(X), _ag(Y))
    theirs = TF.vmap(TF.grad(tloss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(_t(W), _t(B), _t(X), _t(Y))
    _close(ours, theirs)
    assert ours[0].shape == (5, 4, 3)
    # ... and they add up to the batch's gradient
    w = ag.tensor(W, requires_grad=True, dtype=ag.float64)
    b = ag.tensor(B, requires_grad=True, dtype=ag.float64)
    F.cross_entropy(F.linear(_ag(X), w, b).relu(), _ag(Y), reduction="sum").backward()
    np.testing.assert_allclose(ours[0].data.sum(0), w.grad.data, rtol=1e-10)


@pytest.mark.parametrize("transform", [
    lambda L, f, x: L.vmap(L.grad(f), in_dims=(None, 0))(x[0], x),
    lambda L, f, x: L.hessian(lambda v: f(v, v))(x[0]),
    lambda L, f, x: L.jacfwd(L.jacrev(lambda v: f(v, v)))(x[0]),
    lambda L, f, x: L.jvp(lambda v: f(v, v), (x[0],), (x[1],))[1],
    lambda L, f, x: L.vmap(lambda t: L.jvp(lambda v: (v * v).tanh(), (x[0],), (t,))[1])(x),
])
def test_results_carry_no_graph_when_nothing_outside_needs_one(transform):
    """As torch.func: inputs that require no grad give results that require none (no graph kept)."""
    def f(w, x):
        return ((w * x).tanh() * w).sum()

    ours, theirs = transform(AF, f, _ag(X)), transform(TF, f, _t(X))
    _close(ours, theirs)
    assert not ours.requires_grad and not theirs.requires_grad and ours.grad_fn is None
    x = ag.tensor(X, dtype=ag.float64, requires_grad=True)  # ... and a graph when something does
    assert transform(AF, f, x).requires_grad


@pytest.mark.parametrize("g", [lambda v: v.tanh(), lambda v: v[0] * v[-1], lambda v: (v * v).sum(), lambda v: v[1:]])
def test_vmap_of_jvp_with_a_batched_tangent_and_a_plain_primal(g):
    w = X[0]
    ours = AF.vmap(lambda t: AF.jvp(g, (_ag(w),), (t,))[1])(_ag(np.eye(3)))
    theirs = TF.vmap(lambda t: TF.jvp(g, (_t(w),), (t,))[1])(_t(np.eye(3)))
    _close(ours, theirs)


def test_per_sample_gradients_of_a_deep_mlp_use_batching_rules_only(monkeypatch):
    """The showcase path (a ReLU MLP with cross-entropy, as benchmarks/func_transforms.py runs it)
    never falls back to the loop over samples, forward or backward; float32 as a user trains."""
    import autograd.vmap as V

    looped = []
    real = V._fallback
    monkeypatch.setattr(V, "_fallback", lambda op, *a: looped.append(op.name) or real(op, *a))
    rng = np.random.default_rng(3)
    sizes = [6, 8, 8, 4]
    params = [rng.standard_normal((o, i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    params += [rng.standard_normal(o).astype(np.float32) for o in sizes[1:]]
    x, y = rng.standard_normal((7, 6)).astype(np.float32), rng.integers(0, 4, 7)

    def loss(ps, xi, yi, F=F):
        h = xi.unsqueeze(0)
        for w, b in zip(ps[:3], ps[3:]):
            h = F.linear(h, w, b)
            h = h.relu() if w.shape[0] != 4 else h
        return F.cross_entropy(h, yi.unsqueeze(0))

    ours = AF.vmap(AF.grad(loss), in_dims=(None, 0, 0))([ag.tensor(p) for p in params], ag.tensor(x), ag.tensor(y))
    theirs = TF.vmap(TF.grad(lambda ps, xi, yi: loss(ps, xi, yi, torch.nn.functional)), in_dims=(None, 0, 0))(
        [torch.tensor(p) for p in params], torch.tensor(x), torch.tensor(y))
    assert looped == []
    assert isinstance(ours, list) and len(ours) == 6
    for a, b in zip(ours, theirs):
        assert a.shape == (7, *b.shape[1:]) and a.dtype == ag.float32
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-4, atol=1e-6)


def test_vmap_output_then_backward_sums_over_the_batch():
    w, tw = ag.tensor(W, requires_grad=True, dtype=ag.float64), torch.tensor(W, requires_grad=True)
    AF.vmap(lambda xi: (w @ xi).exp().sum())(_ag(X)).sum().backward()
    TF.vmap(lambda xi: (tw @ xi).exp().sum())(_t(X)).sum().backward()
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-10)


def test_vmap_errors():
    with pytest.raises(ValueError, match="different sizes"):
        AF.vmap(lambda a, b: a + b)(_ag(X), _ag(W))
    with pytest.raises(ValueError, match="out of range"):
        AF.vmap(lambda a: a, in_dims=2)(_ag(X))
    with pytest.raises(RuntimeError, match="control flow"):
        AF.vmap(lambda a: a if a.sum() > 0 else -a)(_ag(X))
    with pytest.raises(RuntimeError, match="randomness"):
        AF.vmap(lambda a: F.dropout(a, 0.5))(_ag(X))
    out = AF.vmap(lambda a: F.dropout(a, 0.5), randomness="different")(ag.ones(64, 8))
    assert not np.all(out.data == out.data[0])  # a draw per sample
    out = AF.vmap(lambda a: F.dropout(a, 0.5), randomness="same")(ag.ones(64, 8))
    assert np.all(out.data == out.data[0])


def test_jvp_of_jvp_nested_levels_match_torch():
    x = X[0]

    def ours_second(v):
        with fw.dual_level():
            inner = fw.make_dual(_ag(x), _ag(v))
            with fw.dual_level():
                outer = fw.make_dual(inner, _ag(v))
                y = (outer.sin() * outer).sum()
                t_outer = fw.unpack_dual(y).tangent
            return fw.unpack_dual(t_outer).tangent

    def theirs_second(v):
        first = lambda p: TF.jvp(lambda q: (q.sin() * q).sum(), (p,), (torch.tensor(v),))[1]  # noqa: E731
        return TF.jvp(first, (torch.tensor(x),), (torch.tensor(v),))[1]

    v = X[2]
    np.testing.assert_allclose(ours_second(v).data, theirs_second(v).numpy(), rtol=1e-10)


def test_forward_mode_errors_and_scalars():
    with pytest.raises(RuntimeError, match="no dual level"):
        fw.make_dual(_ag(X[0]), _ag(X[1]))
    with fw.dual_level():
        with pytest.raises(RuntimeError, match="shape"):
            fw.make_dual(_ag(X[0]), _ag(W))
        x = fw.make_dual(_ag(X[0]), _ag(X[1]))
        assert fw.unpack_dual(x * 2).tangent is not None
    with tfw.dual_level():
        pass
    # Scalars are dual numbers: the tangent of a result is its derivative along the inputs' tangents
    a, b = ag.Scalar(1.5), ag.Scalar(-0.5)
    with fw.dual_level():
        da = fw.make_dual(a, 1.0)
        z = (da * b + da ** 2).tanh() * 3 + 1 / da
        tangent = fw.unpack_dual(z).tangent
    z.backward()
    assert tangent == pytest.approx(a.grad, rel=1e-12)


@pytest.mark.parametrize("shapes", [((5, 4, 1), (5, 1, 3)), ((1, 4, 1), (5, 1, 3)), ((5, 4, 3), (1, 3, 2)),
                                    ((2, 5, 4, 3), (1, 1, 3, 2)), ((5, 4, 3), (5, 3, 2)), ((1, 4, 3), (5, 3, 2))])
def test_vmaps_stacked_products_equal_numpys(shapes):
    """vmap's matmul takes the outer products of per-sample weight gradients as elementwise products
    and a product with the same right matrix for every sample as one GEMM: numpy's values."""
    from autograd.vmap import _stacked_matmul

    a, b = (RNG.standard_normal(s).astype(np.float32) for s in shapes)
    a = np.swapaxes(np.swapaxes(a, -1, -2).copy(), -1, -2)  # (a transposed view, as the rules make)
    expected = np.matmul(a, b)
    got = _stacked_matmul(a, b)
    assert got.shape == expected.shape
    if shapes[0][-1] == 1:
        np.testing.assert_array_equal(got, expected)  # one product per element: the same bits
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
