"""Every loss against torch.nn with identical inputs: values and gradients, all reductions."""
import numpy as np
import pytest
import torch

import autograd as ag
import nn
import nn.functional as F
from nn_torch_helpers import close, to_torch

REDUCTIONS = ["mean", "sum", "none"]


def _compare(ours_loss, theirs_loss, inputs, rtol=1e-5, atol=1e-6, grad_inputs=(0,)):
    """Evaluate both losses on the same inputs; compare value and gradients of the inputs listed."""
    ours_in = [ag.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(inputs)]
    theirs_in = [to_torch(a, requires_grad=i in grad_inputs) for i, a in enumerate(inputs)]
    out, tout = ours_loss(*ours_in), theirs_loss(*theirs_in)
    close(out, tout, rtol, atol)
    g = np.random.default_rng(2).standard_normal(out.shape).astype(out.dtype)
    out.backward(ag.tensor(g))
    tout.backward(torch.from_numpy(g))
    for i in grad_inputs:
        close(ours_in[i].grad, theirs_in[i].grad, rtol, atol)
    return out


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(reduction):
    x = np.random.randn(6, 3).astype(np.float32)
    y = np.random.randn(6, 3).astype(np.float32)
    y[0, 0] = x[0, 0]  # |d| = 0: the L1 kink
    y[1, 1] = x[1, 1] + 1.0  # |d| = delta: the Huber joint
    _compare(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), [x, y], grad_inputs=(0, 1))
    _compare(nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction), [x, y], grad_inputs=(0, 1))
    for delta in (1.0, 0.5, 2.0):
        _compare(nn.HuberLoss(reduction=reduction, delta=delta), torch.nn.HuberLoss(reduction=reduction, delta=delta),
                 [x, y], grad_inputs=(0, 1))


def test_regression_loss_shape_mismatch_warns():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(ag.randn(4, 1), ag.randn(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction, smoothing, weighted):
    x = (np.random.randn(7, 4) * 2).astype(np.float32)
    t = np.array([0, 3, 1, -100, 2, 3, 0])
    w = np.array([0.5, 1.0, 2.0, 1.5], dtype=np.float32) if weighted else None
    ours = nn.CrossEntropyLoss(weight=None if w is None else ag.tensor(w), reduction=reduction,
                               label_smoothing=smoothing)
    theirs = torch.nn.CrossEntropyLoss(weight=None if w is None else torch.from_numpy(w), reduction=reduction,
                                       label_smoothing=smoothing)
    _compare(ours, theirs, [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index_and_spatial_targets(reduction):
    x = np.random.randn(3, 5, 4).astype(np.float32)  # (N, C, d1)
    t = np.random.randint(0, 5, size=(3, 4))
    t[0, 1] = 2
    ours = nn.CrossEntropyLoss(ignore_index=2, reduction=reduction, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(ignore_index=2, reduction=reduction, label_smoothing=0.1)
    _compare(ours, theirs, [x, t])
    # unbatched: input (C,), target ()
    _compare(nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction),
             [x[0, :, 0], np.array(3)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_class_probabilities(reduction, smoothing):
    x = np.random.randn(5, 4).astype(np.float32)
    p = np.random.rand(5, 4).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    w = np.array([1.0, 0.5, 2.0, 1.0], dtype=np.float32)
    _compare(nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing),
             torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing), [x, p], grad_inputs=(0, 1))
    _compare(nn.CrossEntropyLoss(weight=ag.tensor(w), reduction=reduction, label_smoothing=smoothing),
             torch.nn.CrossEntropyLoss(weight=torch.from_numpy(w), reduction=reduction, label_smoothing=smoothing),
             [x, p], grad_inputs=(0, 1))


def test_cross_entropy_is_stable_for_large_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-5000.0, 5000.0, 4999.0]], dtype=np.float32)
    t = np.array([1, 2])
    out = _compare(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), [x, t], rtol=1e-5, atol=1e-4)
    assert np.isfinite(out.item()) and out.item() > 100


def test_cross_entropy_errors():
    x = ag.randn(4, 3, requires_grad=True)
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, ag.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="shape"):
        F.cross_entropy(x, ag.tensor([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, ag.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="one entry per class"):
        F.cross_entropy(x, ag.tensor([0, 1, 2, 0]), weight=ag.ones(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    logp = np.log(np.random.dirichlet(np.ones(4), size=6)).astype(np.float32)
    t = np.array([0, 1, 2, 3, 1, -100])
    w = np.array([1.0, 2.0, 0.5, 1.0], dtype=np.float32)
    _compare(nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), [logp, t])
    _compare(nn.NLLLoss(weight=ag.tensor(w), reduction=reduction),
             torch.nn.NLLLoss(weight=torch.from_numpy(w), reduction=reduction), [logp, t])
    # LogSoftmax + NLLLoss == CrossEntropyLoss
    x = ag.randn(6, 4)
    ce = F.cross_entropy(x, ag.tensor(t), reduction=reduction)
    nll = F.nll_loss(F.log_softmax(x, 1), ag.tensor(t), reduction=reduction)
    np.testing.assert_allclose(ce.data, nll.data, rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p = np.random.rand(5, 3).astype(np.float32) * 0.98 + 0.01
    y = (np.random.rand(5, 3) > 0.5).astype(np.float32)
    y[0, 0] = 0.3  # soft labels work too
    w = np.random.rand(5, 3).astype(np.float32)
    _compare(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), [p, y], grad_inputs=(0, 1))
    _compare(nn.BCELoss(weight=ag.tensor(w), reduction=reduction),
             torch.nn.BCELoss(weight=torch.from_numpy(w), reduction=reduction), [p, y])
    # log clamped at -100 as torch: p = 0 or 1 gives a finite loss
    edge = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    close(F.binary_cross_entropy(ag.tensor(edge), ag.tensor([1.0, 0.0, 1.0]), reduction=reduction),
          torch.nn.functional.binary_cross_entropy(torch.from_numpy(edge), torch.tensor([1.0, 0.0, 1.0]),
                                                   reduction=reduction))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ag.tensor([1.5]), ag.tensor([1.0]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_at_saturated_probabilities_has_torchs_finite_gradient(reduction, dtype):
    """At x = 0 or 1 the gradient (x - y) / (x (1 - x)) has its denominator floored at 1e-12, as in
    torch: -1e12 at x = 0, y = 1 (it was NaN). A float32 sigmoid is exactly 1 from a logit of about
    17, so one confident sample must not turn the whole batch's gradient into NaN."""
    xs = [0.0, 1.0, 0.0, 1.0, 0.3, 1e-30, 1 - 2 ** -24, 1e-7]
    ys = [1.0, 0.0, 0.0, 1.0, 0.6, 0.5, 0.0, 0.0]
    x = ag.tensor(xs, dtype=dtype, requires_grad=True)
    y = ag.tensor(ys, dtype=dtype, requires_grad=True)
    tx = torch.tensor(xs, dtype=getattr(torch, dtype), requires_grad=True)
    ty = torch.tensor(ys, dtype=getattr(torch, dtype), requires_grad=True)
    loss = F.binary_cross_entropy(x, y, reduction=reduction)
    ref = torch.nn.functional.binary_cross_entropy(tx, ty, reduction=reduction)
    np.testing.assert_allclose(loss.data, ref.detach().numpy(), rtol=1e-6)
    loss.backward(None if reduction != "none" else ag.ones(8, dtype=dtype))
    ref.backward(None if reduction != "none" else torch.ones(8, dtype=getattr(torch, dtype)))
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-6)
    # the target's gradient, log(1 - x) - log(x), is not clamped in torch: +-inf at x = 0 or 1
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-5)
    if reduction == "sum":
        assert x.grad.data[0] == pytest.approx(-1e12)


def test_binary_cross_entropy_of_a_saturated_sigmoid_trains():
    """A logit of 20 makes a float32 sigmoid exactly 1.0: the step through BCELoss stays finite."""
    logits = ag.tensor([20.0, -3.0, 0.5], requires_grad=True)
    assert logits.sigmoid().data[0] == 1.0
    loss = nn.BCELoss()(logits.sigmoid(), ag.tensor([0.0, 0.0, 1.0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.data).all()
    tl = torch.tensor([20.0, -3.0, 0.5], requires_grad=True)
    torch.nn.BCELoss()(tl.sigmoid(), torch.tensor([0.0, 0.0, 1.0])).backward()
    np.testing.assert_allclose(logits.grad.data, tl.grad.numpy(), rtol=1e-5)


def test_binary_cross_entropy_second_order_matches_torch():
    xs, ys = np.array([0.2, 0.7, 0.5]), np.array([1.0, 0.0, 0.4])
    x, y = ag.tensor(xs, requires_grad=True, dtype=ag.float64), ag.tensor(ys, requires_grad=True, dtype=ag.float64)
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    gx, = ag.grad(F.binary_cross_entropy(x, y, reduction="sum"), x, create_graph=True)
    tgx, = torch.autograd.grad(torch.nn.functional.binary_cross_entropy(tx, ty, reduction="sum"), tx,
                               create_graph=True)
    hx, hy = ag.grad((gx * gx).sum(), (x, y))
    thx, thy = torch.autograd.grad((tgx * tgx).sum(), (tx, ty))
    np.testing.assert_allclose(hx.data, thx.numpy(), rtol=1e-10)
    np.testing.assert_allclose(hy.data, thy.numpy(), rtol=1e-10)
    assert ag.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b), (x, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    x = (np.random.randn(5, 3) * 4).astype(np.float32)
    x[0] = [0.0, 80.0, -80.0]  # exact zero and saturation
    y = (np.random.rand(5, 3) > 0.5).astype(np.float32)
    w = np.random.rand(5, 3).astype(np.float32)
    pw = np.array([0.5, 2.0, 3.0], dtype=np.float32)
    _compare(nn.BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction), [x, y],
             grad_inputs=(0, 1))
    _compare(nn.BCEWithLogitsLoss(weight=ag.tensor(w), pos_weight=ag.tensor(pw), reduction=reduction),
             torch.nn.BCEWithLogitsLoss(weight=torch.from_numpy(w), pos_weight=torch.from_numpy(pw),
                                        reduction=reduction), [x, y], grad_inputs=(0, 1))


def test_losses_in_float64_by_finite_differences():
    ag.set_default_dtype(ag.float64)
    x = ag.tensor(np.random.randn(4, 3), requires_grad=True)
    y = ag.tensor(np.random.randn(4, 3))
    t = ag.tensor([0, 2, 1, 2])
    p = ag.tensor(np.random.dirichlet(np.ones(3), size=4))
    b = ag.tensor((np.random.rand(4, 3) > 0.5).astype(float))
    for fn in (lambda a: F.mse_loss(a, y), lambda a: F.huber_loss(a, y, delta=0.7),
               lambda a: F.cross_entropy(a, t, label_smoothing=0.1, weight=ag.tensor([1.0, 2.0, 0.5])),
               lambda a: F.cross_entropy(a, p), lambda a: F.binary_cross_entropy_with_logits(a, b),
               lambda a: F.binary_cross_entropy(a.sigmoid(), b), lambda a: F.nll_loss(a, t, reduction="none")):
        assert ag.gradcheck(fn, (x,))


def test_cross_entropy_second_order_matches_torch():
    ag.set_default_dtype(ag.float64)
    x = ag.tensor(np.random.randn(4, 3), requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    t = np.array([0, 2, 1, 1])
    (g,) = ag.grad(F.cross_entropy(x, ag.tensor(t), label_smoothing=0.1), x, create_graph=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), label_smoothing=0.1),
                                tx, create_graph=True)
    close(g, tg, 1e-10, 1e-12)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    close(x.grad, tx.grad, 1e-9, 1e-12)


def test_one_hot():
    t = ag.tensor([0, 2, 1])
    oh = F.one_hot(t)
    assert oh.dtype == np.int64
    np.testing.assert_array_equal(oh.data, torch.nn.functional.one_hot(torch.tensor([0, 2, 1])).numpy())
    assert F.one_hot(t, 5).shape == (3, 5)
    with pytest.raises(ValueError):
        F.one_hot(t, 2)
