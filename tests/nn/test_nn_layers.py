"""Every layer and activation against torch.nn with identical weights: values and gradients."""
import math

import numpy as np
import pytest
import torch

import autograd as ag
import nn
import nn.functional as F
from nn_torch_helpers import close, copy_params, grads_close, to_torch


def _run_both(ours, theirs, x_np, seed_grad=None, rtol=1e-5, atol=1e-6):
    """Forward the same input through both modules, backward the same cotangent, compare all."""
    x = ag.tensor(x_np, requires_grad=True)
    tx = to_torch(x_np, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    close(out, tout, rtol, atol)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype) if seed_grad is None else seed_grad
    out.backward(ag.tensor(g))
    tout.backward(torch.from_numpy(g))
    close(x.grad, tx.grad, rtol, atol)
    grads_close(ours, theirs, rtol, atol)
    return out


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    ours = nn.Linear(5, 3, bias=bias)
    theirs = torch.nn.Linear(5, 3, bias=bias)
    copy_params(ours, theirs)
    assert ours.weight.shape == (3, 5)
    _run_both(ours, theirs, np.random.randn(4, 5).astype(np.float32))
    _run_both(ours, theirs, np.random.randn(2, 6, 5).astype(np.float32))  # batched leading dims


def test_linear_default_init_is_torchs():
    ag.manual_seed(0)
    ours = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    for p in (ours.weight, ours.bias):
        assert p.data.min() >= -bound and p.data.max() <= bound
        assert p.data.max() > 0.9 * bound and p.data.min() < -0.9 * bound
    # uniform: variance bound^2 / 3
    np.testing.assert_allclose(ours.weight.data.var(), bound ** 2 / 3, rtol=0.05)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="features"):
        ours(ag.ones(2, 99))


def test_embedding_matches_torch_and_padding_gets_no_gradient():
    ours = nn.Embedding(6, 3, padding_idx=1)
    theirs = torch.nn.Embedding(6, 3, padding_idx=1)
    assert not ours.weight.data[1].any()
    copy_params(ours, theirs)
    idx = np.array([[0, 1, 5], [1, 1, 2]])
    out = ours(ag.tensor(idx))
    tout = theirs(torch.from_numpy(idx))
    close(out, tout)
    g = np.random.randn(2, 3, 3).astype(np.float32)
    out.backward(ag.tensor(g))
    tout.backward(torch.from_numpy(g))
    close(ours.weight.grad, theirs.weight.grad)
    assert not ours.weight.grad.data[1].any()
    np.testing.assert_allclose(ours.weight.grad.data[0], g[0, 0])  # repeated rows accumulate
    with pytest.raises(IndexError, match="out of range"):
        ours(ag.tensor([6]))
    with pytest.raises(TypeError, match="integer"):
        ours(ag.tensor([1.0]))
    assert nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3


def test_dropout_train_and_eval():
    ag.manual_seed(0)
    drop = nn.Dropout(0.3)
    x = ag.ones(200, 50, requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)  # inverted: survivors scaled by 1/(1-p)
    assert abs(kept.mean() - 0.7) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / 0.7, rtol=1e-6)  # the same mask in backward
    y2 = drop(x)
    assert (y2.data != y.data).any()  # a fresh mask each call
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)
    with pytest.raises(ValueError):
        F.dropout(x, 1.01)
    # expectation is preserved
    np.testing.assert_allclose(nn.Dropout(0.5)(ag.ones(100000)).data.mean(), 1.0, atol=0.02)


def test_dropout_with_p_one_zeroes_everything_as_torch():
    """torch allows p = 1: every unit is dropped in training (zeros, and zero gradients), and the
    layer is still the identity in evaluation."""
    x = ag.randn(4, 5, requires_grad=True)
    drop = nn.Dropout(1.0)
    y = drop(x)
    np.testing.assert_array_equal(y.data, np.zeros((4, 5), np.float32))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((4, 5), np.float32))
    t = torch.nn.Dropout(1.0)(torch.ones(4, 5, requires_grad=True))
    np.testing.assert_array_equal(t.detach().numpy(), y.data)
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((4, 5), np.float32))
    g = ag.Graph(F.dropout(x, 1.0).sum())
    assert float(g.forward()) == 0.0  # a captured graph replays it too
    drop.eval()
    assert drop(x) is x


def test_dropout_with_zero_inputs_keeps_the_mask_in_backward():
    ag.manual_seed(3)
    x = ag.zeros(1000, requires_grad=True)
    F.dropout(x, 0.5).sum().backward()
    g = x.grad.data
    assert set(np.unique(g)) <= {0.0, 2.0} and 0.3 < (g == 2).mean() < 0.7


@pytest.mark.parametrize("shape", [(8, 4), (6, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm1d_train_and_eval_match_torch(shape, affine):
    ours = nn.BatchNorm1d(4, affine=affine, momentum=0.2)
    theirs = torch.nn.BatchNorm1d(4, affine=affine, momentum=0.2)
    if affine:
        with ag.no_grad():
            ours.weight.copy_(ag.tensor(np.random.rand(4) + 0.5, dtype=ag.float32))
            ours.bias.copy_(ag.tensor(np.random.randn(4), dtype=ag.float32))
    copy_params(ours, theirs)
    for step in range(3):  # running statistics follow several batches exactly as torch's
        x = (np.random.randn(*shape) * 3 + 2).astype(np.float32)
        _run_both(ours, theirs, x, rtol=1e-4, atol=1e-5)
        close(ours.running_mean, theirs.running_mean, 1e-5, 1e-6)
        close(ours.running_var, theirs.running_var, 1e-5, 1e-6)  # unbiased variance
        assert int(ours.num_batches_tracked.item()) == step + 1
        if affine:
            ours.zero_grad()
            theirs.zero_grad()
    ours.eval()
    theirs.eval()
    x = np.random.randn(*shape).astype(np.float32)
    _run_both(ours, theirs, x, rtol=1e-4, atol=1e-5)
    one = x[:1]
    close(ours(ag.tensor(one)), theirs(torch.from_numpy(one)), 1e-4, 1e-5)  # one sample works in eval


def test_batchnorm1d_cumulative_average_and_no_running_stats():
    for kwargs in ({"momentum": None}, {"track_running_stats": False}):
        ours, theirs = nn.BatchNorm1d(3, **kwargs), torch.nn.BatchNorm1d(3, **kwargs)
        for _ in range(3):
            _run_both(ours, theirs, np.random.randn(5, 3).astype(np.float32), rtol=1e-4, atol=1e-5)
        ours.eval()
        theirs.eval()
        _run_both(ours, theirs, np.random.randn(5, 3).astype(np.float32), rtol=1e-4, atol=1e-5)
        if kwargs.get("momentum", 0.1) is None:
            close(ours.running_var, theirs.running_var)
        else:
            assert ours.running_mean is None and "running_mean" not in ours.state_dict()


def test_batchnorm1d_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="channel"):
        bn(ag.randn(4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ag.randn(1, 3))
    with pytest.raises(ValueError, match="2D"):
        bn(ag.randn(3))


@pytest.mark.parametrize("normalized_shape,shape", [(5, (3, 5)), ((4, 5), (2, 4, 5))])
def test_layernorm_matches_torch(normalized_shape, shape):
    ours = nn.LayerNorm(normalized_shape)
    theirs = torch.nn.LayerNorm(normalized_shape)
    with ag.no_grad():
        ours.weight.copy_(ag.tensor(np.random.rand(*ours.weight.shape) + 0.5, dtype=ag.float32))
        ours.bias.copy_(ag.tensor(np.random.randn(*ours.bias.shape), dtype=ag.float32))
    copy_params(ours, theirs)
    x = (np.random.randn(*shape) * 2 + 1).astype(np.float32)
    _run_both(ours, theirs, x, rtol=1e-4, atol=1e-5)
    ours.eval()
    theirs.eval()
    _run_both(ours, theirs, x, rtol=1e-4, atol=1e-5)
    plain = nn.LayerNorm(normalized_shape, elementwise_affine=False)
    assert list(plain.parameters()) == []
    _run_both(plain, torch.nn.LayerNorm(normalized_shape, elementwise_affine=False), x, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="normalized_shape"):
        ours(ag.randn(3, 7))


def test_identity_and_flatten():
    x = ag.randn(2, 3, 4, requires_grad=True)
    assert nn.Identity(54, foo=1)(x) is x
    close(nn.Flatten()(x), torch.nn.Flatten()(to_torch(x)))
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Flatten(0)(x).shape == (24,)
    nn.Flatten()(x).sum().backward()
    assert x.grad.shape == x.shape


ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.GELU(), torch.nn.GELU()),
    (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)),
]


@pytest.mark.parametrize("ours,theirs", ACTIVATIONS, ids=lambda m: repr(m))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_match_torch(ours, theirs, dtype):
    x = (np.random.randn(6, 5) * 3).astype(dtype)
    x[0, :3] = [0.0, 40.0, -40.0]  # the kink and saturation
    tol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    _run_both(ours, theirs, x, rtol=tol[0], atol=tol[1])


def test_activation_gradients_by_finite_differences():
    ag.set_default_dtype(ag.float64)
    x = ag.tensor(np.random.randn(4, 3) + 0.05, requires_grad=True)  # away from relu's kink
    for fn in (F.relu, F.leaky_relu, F.sigmoid, F.tanh, F.gelu, lambda t: F.gelu(t, approximate="tanh"),
               F.softplus, lambda t: F.softmax(t, 1), lambda t: F.log_softmax(t, 0)):
        assert ag.gradcheck(fn, (x,))


def test_gelu_second_order():
    ag.set_default_dtype(ag.float64)
    x = ag.tensor(np.random.randn(5), requires_grad=True)
    tx = to_torch(x, requires_grad=True)
    (g,) = ag.grad(F.gelu(x).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.gelu(tx).sum(), tx, create_graph=True)
    close(g, tg, 1e-10, 1e-12)
    g.sum().backward()
    tg.sum().backward()
    close(x.grad, tx.grad, 1e-10, 1e-12)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_structure_and_match_torch(batch_norm):
    mlp = nn.MLP([4, 8, 6, 3], activation=nn.Tanh, dropout=0.0, batch_norm=batch_norm)
    kinds = [type(m).__name__ for m in mlp]
    if batch_norm:
        assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"]
    else:
        assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    layers = []
    for m in mlp:
        if isinstance(m, nn.Linear):
            layers.append(torch.nn.Linear(m.in_features, m.out_features))
        elif isinstance(m, nn.BatchNorm1d):
            layers.append(torch.nn.BatchNorm1d(m.num_features))
        else:
            layers.append(torch.nn.Tanh())
    theirs = torch.nn.Sequential(*layers)
    copy_params(mlp, theirs)
    _run_both(mlp, theirs, np.random.randn(7, 4).astype(np.float32), rtol=1e-4, atol=1e-5)
    with_dropout = nn.MLP([4, 8, 2], dropout=0.5)
    assert [type(m).__name__ for m in with_dropout] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert isinstance(nn.MLP([64, 256, 10]), nn.Sequential)
    with pytest.raises(ValueError):
        nn.MLP([4])
    with pytest.raises(ValueError):
        nn.MLP([4, 2], dropout=1.5)


def test_erf_fallback_without_scipy_gives_the_same_values():
    from scipy.special import erf

    from autograd.ops.activation import erf_python

    x = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(erf_python(x), erf(x), rtol=1e-14, atol=1e-15)
    assert erf_python(x.astype(np.float32)).dtype == np.float32


def test_linear_rejects_integer_input():
    with pytest.raises(TypeError, match="float"):
        nn.Linear(2, 2)(ag.tensor([[1, 2]]))


@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 5, 3)])
def test_linear_gradients_of_every_order(shape):
    ag.set_default_dtype(ag.float64)
    x = ag.tensor(np.random.randn(*shape), requires_grad=True)
    w = ag.tensor(np.random.randn(2, 3), requires_grad=True)
    b = ag.tensor(np.random.randn(2), requires_grad=True)
    assert ag.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
    tx, tw, tb = (to_torch(t, requires_grad=True) for t in (x, w, b))
    grads = ag.grad((F.linear(x, w, b).tanh() ** 2).sum(), (x, w, b), create_graph=True)
    tgrads = torch.autograd.grad((torch.nn.functional.linear(tx, tw, tb).tanh() ** 2).sum(), (tx, tw, tb),
                                 create_graph=True)
    for g, tg in zip(grads, tgrads):
        close(g, tg, 1e-10, 1e-12)
    sum((g * g).sum() for g in grads).backward()
    sum((tg * tg).sum() for tg in tgrads).backward()
    for t, tt in ((x, tx), (w, tw), (b, tb)):
        close(t.grad, tt.grad, 1e-9, 1e-11)


def test_nn_ops_are_documented_and_gradchecked():
    from autograd.ops import OPS

    for name in ("linear", "dropout_mask", "softplus", "normal_cdf", "embedding", "nll_loss", "binary_cross_entropy"):
        op = OPS[name]
        assert op.doc and "\n" not in op.doc
        assert not op.differentiable or "dx" in op.doc, op.name
    ag.set_default_dtype(ag.float64)
    w = ag.tensor(np.random.randn(5, 3), requires_grad=True)
    idx = ag.tensor([[0, 4, 4], [2, 1, 0]])
    assert ag.gradcheck(lambda w: F.embedding(idx, w), (w,))
    # (with padding_idx the padding row's gradient is 0 by design, not the derivative: see the torch test)
    # second order through embedding (create_graph) matches torch
    tw = to_torch(w, requires_grad=True)
    (g,) = ag.grad((F.embedding(idx, w) ** 3).sum(), w, create_graph=True)
    (tg,) = torch.autograd.grad((torch.nn.functional.embedding(torch.from_numpy(idx.data), tw) ** 3).sum(), tw,
                                create_graph=True)
    close(g, tg, 1e-10, 1e-12)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    close(w.grad, tw.grad, 1e-9, 1e-12)
