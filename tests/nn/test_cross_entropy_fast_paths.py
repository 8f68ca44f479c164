"""cross_entropy on (N, C) logits with class-index targets: the fast paths of log_softmax (many short
rows: transposed layout / BLAS row sums) and nll_loss (every target a class: one gather, a scatter
into zeros for the gradient), against torch: values and gradients, shapes on both sides of every
threshold, special values, weights and reductions, and the paths they must hand over to."""
import numpy as np
import pytest
import torch

import autograd as ag
from autograd.ops import OPS
import nn.functional as F

# (N, C): N < 16 (general log_softmax), C <= 16 (transposed layout), 16 < C <= 32 (BLAS row sums),
# C > 32 (general), C = 1 (log_softmax is 0), C = 2, N = 1
SHAPES = [(128, 10), (16, 2), (17, 16), (20, 17), (64, 32), (40, 33), (512, 3), (1, 5), (15, 10), (33, 1)]


def _ce_both(x, t, dtype=np.float32, upstream=1.0, **kw):
    """(loss, dlogits) of ours and of torch on the same inputs."""
    xs = ag.tensor(x.astype(dtype), requires_grad=True)
    loss = F.cross_entropy(xs, ag.tensor(t), weight=None if kw.get("weight") is None else ag.tensor(kw["weight"]),
                           reduction=kw.get("reduction", "mean"))
    g = np.full(loss.shape, upstream, dtype)
    loss.backward(ag.tensor(g))
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    tl = torch.nn.functional.cross_entropy(
        xt, torch.from_numpy(t.astype(np.int64)),
        weight=None if kw.get("weight") is None else torch.from_numpy(kw["weight"].astype(dtype)),
        reduction=kw.get("reduction", "mean"))
    tl.backward(torch.from_numpy(g))
    return (loss.data, xs.grad.data), (tl.detach().numpy(), xt.grad.numpy())


def _assert_close(ours, theirs, rtol, atol):
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_matches_torch(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape) * 3
    t = rng.integers(0, shape[1], shape[0])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    _assert_close(*_ce_both(x, t, dtype), rtol=tol, atol=tol)
    # an upstream gradient other than 1 scales both gradients
    _assert_close(*_ce_both(x, t, dtype, upstream=-2.5), rtol=tol, atol=tol)


def test_the_gradient_lands_on_each_rows_target():
    """Exactly one entry per row of the nll gradient is non-zero, at the row's target, -1/N: a wrong
    row offset or class position (or scaling) fails this even where the values happen to be close."""
    n, c = 128, 10
    t = np.random.default_rng(0).integers(0, c, n)
    logp = ag.tensor(np.log(np.full((n, c), 1 / c, np.float32)), requires_grad=True)
    F.nll_loss(logp, ag.tensor(t)).backward()
    expected = np.zeros((n, c), np.float32)
    expected[np.arange(n), t] = -1 / n
    np.testing.assert_array_equal(logp.grad.data, expected)
    assert not np.signbit(logp.grad.data[expected == 0]).any()  # zeros elsewhere (+0, as torch)
    # and the loss picks those entries: -mean(logp[i, t_i])
    x = np.random.default_rng(1).standard_normal((n, c)).astype(np.float32)
    loss = F.nll_loss(ag.tensor(x), ag.tensor(t))
    np.testing.assert_allclose(loss.item(), -x[np.arange(n), t].mean(), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weights_and_reductions_on_the_fast_path(reduction, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((96, 7)) * 2
    t = rng.integers(0, 7, 96)
    w = rng.random(7) * 2 + 0.1
    tol = 1e-5 if dtype == np.float32 else 1e-12
    _assert_close(*_ce_both(x, t, dtype, reduction=reduction, weight=w), rtol=tol, atol=tol)
    _assert_close(*_ce_both(x, t, dtype, upstream=0.5, reduction=reduction), rtol=tol, atol=tol)


@pytest.mark.parametrize("tdtype", [np.int64, np.int32, np.uint8])
def test_integer_target_dtypes(tdtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    t = rng.integers(0, 5, 64).astype(tdtype)
    _assert_close(*_ce_both(x, t), rtol=1e-5, atol=1e-6)


def test_large_and_infinite_logits():
    rng = np.random.default_rng(5)
    n, c = 64, 10
    x = (rng.standard_normal((n, c)) * 1e4).astype(np.float32)  # exp without the shift would overflow
    t = rng.integers(0, c, n)
    x[3, (t[3] + 1) % c] = -np.inf  # -inf off the target: a probability of 0, finite loss
    x[7, :] = -1e30
    x[7, t[7]] = 1e30
    (loss, grad), (tloss, tgrad) = _ce_both(x, t)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, tloss, rtol=1e-5)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-5, atol=1e-6)
    assert grad[3, (t[3] + 1) % c] == 0


def test_rows_with_an_infinite_or_nan_max_keep_their_values():
    """Rows whose max is +-inf or NaN leave the fast path: NaN where an all -inf row gives 0/0
    (as torch), -inf beside a +inf (the max shift is 0 there), NaN rows stay NaN; other rows exact."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    x[1] = -np.inf
    x[2, 1] = np.inf
    x[3, 2] = np.nan
    with np.errstate(all="ignore"):
        out = ag.tensor(x).log_softmax(1).data
    assert np.isnan(out[1]).all()
    assert np.isnan(out[2, 1]) and (out[2, [0, 2, 3]] == -np.inf).all()
    assert np.isnan(out[3]).all()
    rest = np.r_[0, 4:32]
    expected = torch.log_softmax(torch.from_numpy(x[rest]), 1).numpy()
    np.testing.assert_allclose(out[rest], expected, rtol=1e-6, atol=1e-6)


def test_log_softmax_exact_at_the_max_and_input_untouched():
    x = np.zeros((32, 3), np.float32)
    x[:, 0] = 1000.0
    out = ag.tensor(x).log_softmax(1).data
    assert (out[:, 0] == 0).all() and (out[:, 1:] == -1000).all()
    xf = np.asfortranarray(x)  # xf.T is C-contiguous: the transposed copy must still be a copy
    out = OPS["log_softmax"].forward(xf, axis=1)  # (the op itself: a Tensor may hold a copy)
    assert (out[:, 0] == 0).all() and (out[:, 1:] == -1000).all()
    np.testing.assert_array_equal(xf, x)


def test_non_contiguous_logits():
    rng = np.random.default_rng(7)
    big = rng.standard_normal((50, 24)).astype(np.float32)
    t = rng.integers(0, 12, 50)
    for x in (big[:, ::2], np.asfortranarray(big[:, :12]), big[::2, :12]):
        _assert_close(*_ce_both(np.asarray(x), t[:x.shape[0]]), rtol=1e-5, atol=1e-6)


def test_ignore_index_and_errors_leave_the_fast_path():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    t = rng.integers(0, 6, 40)
    t[5] = 2
    xs = ag.tensor(x, requires_grad=True)
    F.cross_entropy(xs, ag.tensor(t), ignore_index=2).backward()
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.from_numpy(t), ignore_index=2).backward()
    np.testing.assert_allclose(xs.grad.data, xt.grad.numpy(), rtol=1e-5, atol=1e-7)
    for bad in (6, -1, -6, -7, 10**12):
        tb = t.copy()
        tb[9] = bad
        with pytest.raises(IndexError, match=f"target {bad} is out of bounds"):
            F.cross_entropy(ag.tensor(x), ag.tensor(tb))


def test_second_order_through_the_fast_shapes():
    """create_graph runs the rules on Tensors (the general code): d/dx of sum(dloss/dx ** 2)."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((32, 5))
    t = rng.integers(0, 5, 32)
    xs = ag.tensor(x, requires_grad=True)
    (gx,) = ag.grad(F.cross_entropy(xs, ag.tensor(t)), [xs], create_graph=True)
    (gx * gx).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.nn.functional.cross_entropy(xt, torch.from_numpy(t)), [xt], create_graph=True)
    (gt * gt).sum().backward()
    np.testing.assert_allclose(gx.data, gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad.data, xt.grad.numpy(), rtol=1e-8, atol=1e-12)
