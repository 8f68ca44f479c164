"""ag.functional (torch.autograd.functional): vjp, jvp, jacobian, hessian, hvp, vhp against torch:
values, return structures (a Tensor or tuples, nested for several outputs), create_graph and strict."""
import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import autograd as ag
import autograd.functional as AF

RNG = np.random.default_rng(0)
A, B, V = RNG.standard_normal(3), RNG.standard_normal((2, 3)), RNG.standard_normal(3)


def _pair():
    return ((ag.tensor(A, dtype=ag.float64), ag.tensor(B, dtype=ag.float64)), (torch.tensor(A), torch.tensor(B)))


def _two_outputs(x, w):
    return (w @ x.tanh()).exp(), (x * x).sum()


def _scalar(x):
    return (x.sin() * x).sum() + (x[0] * x[1]) ** 2


def _close(ours, theirs):
    if isinstance(theirs, list):  # (torch's vectorized forward-mode jacobian gives lists: tuples in its docs)
        theirs = tuple(theirs)
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b)
        return
    assert isinstance(ours, ag.Tensor) and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_structures_and_values(strategy):
    (x, w), (tx, tw) = _pair()
    kw = {"strategy": strategy, "vectorize": strategy == "forward-mode"}  # (torch's forward mode needs vectorize)
    _close(AF.jacobian(_two_outputs, (x, w), strategy=strategy), TF.jacobian(_two_outputs, (tx, tw), **kw))
    _close(AF.jacobian(lambda x: x.exp() * 2, x, strategy=strategy),
           TF.jacobian(lambda x: x.exp() * 2, tx, **kw))
    _close(AF.jacobian(lambda x: (x.exp(), x.sum()), x, strategy=strategy),
           TF.jacobian(lambda x: (x.exp(), x.sum()), tx, **kw))


def test_hessian_single_and_tuple_inputs():
    (x, w), (tx, tw) = _pair()
    _close(AF.hessian(_scalar, x), TF.hessian(_scalar, tx))
    f = lambda x, w: (w @ x).pow(2).sum() + x.exp().sum()  # noqa: E731
    _close(AF.hessian(f, (x, w)), TF.hessian(f, (tx, tw)))


def test_products():
    (x, w), (tx, tw) = _pair()
    v, tv = ag.tensor(V, dtype=ag.float64), torch.tensor(V)
    for ours_fn, theirs_fn in ((AF.hvp, TF.hvp), (AF.vhp, TF.vhp)):
        _close(ours_fn(_scalar, x, v), theirs_fn(_scalar, tx, tv))
    _close(AF.vjp(lambda x: x.exp(), x, v), TF.vjp(lambda x: x.exp(), tx, tv))
    u = ag.tensor(B, dtype=ag.float64)
    _close(AF.jvp(lambda x, w: w @ x, (x, w), (v, u)), TF.jvp(lambda x, w: w @ x, (tx, tw), (tv, torch.tensor(B))))
    _close(AF.vjp(_two_outputs, (x, w), (ag.ones(2, dtype=ag.float64), ag.tensor(1.0, dtype=ag.float64))),
           TF.vjp(_two_outputs, (tx, tw), (torch.ones(2, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))))


def test_create_graph_keeps_the_result_differentiable():
    x = ag.tensor(A, dtype=ag.float64, requires_grad=True)
    tx = torch.tensor(A, requires_grad=True)
    h = AF.hessian(_scalar, x, create_graph=True)
    th = TF.hessian(_scalar, tx, create_graph=True)
    assert h.requires_grad
    (g,) = ag.grad(h.sum(), x)
    (tg,) = torch.autograd.grad(th.sum(), tx)
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-10)
    assert not AF.hessian(_scalar, x).requires_grad


def test_errors_and_strict_mode():
    x = ag.tensor(A, dtype=ag.float64)
    with pytest.raises(RuntimeError, match="v can only be omitted"):
        AF.vjp(lambda x: x.exp(), x)
    with pytest.raises(RuntimeError, match="v can only be omitted"):
        AF.jvp(lambda x: x.exp(), x)
    with pytest.raises(RuntimeError, match="shape"):
        AF.vjp(lambda x: x.exp(), x, ag.ones(4, dtype=ag.float64))
    with pytest.raises(RuntimeError, match="single-element"):
        AF.hessian(lambda x: x.exp(), x)
    with pytest.raises(TypeError, match="Tensor"):
        AF.jacobian(lambda x: x, [1.0, 2.0])
    # an output independent of the input: zeros, or an error in strict mode (as torch)
    y = ag.tensor(B, dtype=ag.float64)
    jac = AF.jacobian(lambda x, y: x.exp(), (x, y))
    np.testing.assert_array_equal(jac[1].data, np.zeros((3, 2, 3)))
    with pytest.raises(RuntimeError, match="independent"):
        AF.jacobian(lambda x, y: x.exp(), (x, y), strict=True)
    with pytest.raises(RuntimeError, match="strict"):
        AF.vjp(lambda x: ag.ones(3, dtype=ag.float64), x, ag.ones(3, dtype=ag.float64), strict=True)
