"""ag.grad and higher-order gradients, against torch."""
import numpy as np
import pytest
import torch

import autograd as ag


def pair(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def test_grad_returns_tuple_and_leaves_grad_untouched():
    x, tx = pair((3,))
    y = (x * x * x).sum()
    (g,) = ag.grad(y, x)
    assert x.grad is None
    np.testing.assert_allclose(g.numpy(), 3 * tx.detach().numpy() ** 2)


def test_grad_outputs_and_multiple_inputs():
    x, tx = pair((2, 3))
    w, tw = pair((3, 4), 1)
    v = np.random.default_rng(2).standard_normal((2, 4))
    gx, gw = ag.grad(x @ w, (x, w), grad_outputs=ag.tensor(v))
    tgx, tgw = torch.autograd.grad(tx @ tw, (tx, tw), grad_outputs=torch.tensor(v))
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-12)


def test_allow_unused():
    x, _ = pair((2,))
    z, _ = pair((2,), 1)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ag.grad(y, (x, z), retain_graph=True)
    gx, gz = ag.grad(y, (x, z), allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 2.0])


def test_grad_releases_graph_unless_retained():
    x, _ = pair((2,))
    y = (x.exp()).sum()
    ag.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        ag.grad(y, x)
    y2 = (x.exp()).sum()
    ag.grad(y2, x, retain_graph=True)
    ag.grad(y2, x)


def test_hessian_vector_product_matches_torch():
    x, tx = pair((4,))
    A = np.random.default_rng(3).standard_normal((4, 4))
    v = np.random.default_rng(4).standard_normal(4)

    def f(lib_x, A):
        return ((lib_x @ A).tanh() * lib_x.sin()).sum()

    (g,) = ag.grad(f(x, ag.tensor(A)), x, create_graph=True)
    (hv,) = ag.grad((g * ag.tensor(v)).sum(), x)
    (tg,) = torch.autograd.grad(f(tx, torch.tensor(A)), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(hv.numpy(), thv.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_penalty_matches_torch():
    w, tw = pair((3, 2))
    x = np.random.default_rng(5).standard_normal((5, 3))

    def penalty(lib, w, xin):
        xin.requires_grad_(True)
        out = (xin @ w).sigmoid().sum()
        (gx,) = lib.grad(out, xin, create_graph=True) if lib is ag else torch.autograd.grad(out, xin, create_graph=True)
        return ((gx * gx).sum(1).sqrt() - 1).pow(2).mean()

    p = penalty(ag, w, ag.tensor(x))
    p.backward()
    tp = penalty(torch, tw, torch.tensor(x))
    tp.backward()
    np.testing.assert_allclose(p.item(), tp.item(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_third_order():
    x, tx = pair((3,))
    g1 = ag.grad(x.sin().sum(), x, create_graph=True)[0]
    g2 = ag.grad(g1.sum(), x, create_graph=True)[0]
    g3 = ag.grad(g2.sum(), x)[0]
    np.testing.assert_allclose(g3.numpy(), -np.cos(tx.detach().numpy()), rtol=1e-12)


def test_backward_create_graph_gives_differentiable_grad():
    x, tx = pair((3,))
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = ag.grad(x.grad.sum(), x)
    (tx ** 3).sum().backward(create_graph=True)
    (tgg,) = torch.autograd.grad(tx.grad.sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class BadSquare(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()  # first derivative right, but cut from the graph

    x, _ = pair((3,))
    assert ag.gradcheck(BadSquare.apply, (x,))
    with pytest.raises(ag.GradcheckError, match="input 0"):
        ag.gradgradcheck(BadSquare.apply, (x,))
