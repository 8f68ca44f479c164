"""nn.init statistics and gains against torch; gradient clipping against torch."""
import math

import numpy as np
import pytest
import torch

import autograd as ag
import nn
from nn_torch_helpers import close


def test_calculate_gain_matches_torch():
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", "conv2d"):
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


def _bound_and_std(fn, shape, **kwargs):
    t = ag.empty(*shape)
    assert fn(t, **kwargs) is t
    return np.abs(t.data).max(), t.data.std()


@pytest.mark.parametrize("shape", [(200, 300), (64, 16, 3)])
def test_initialisers_have_torchs_scale(shape):
    fan_in = shape[1] * (shape[2] if len(shape) > 2 else 1)
    fan_out = shape[0] * (shape[2] if len(shape) > 2 else 1)
    b, s = _bound_and_std(nn.init.xavier_uniform_, shape, gain=2.0)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert b <= a and b > 0.95 * a and s == pytest.approx(a / math.sqrt(3), rel=0.05)
    _, s = _bound_and_std(nn.init.xavier_normal_, shape)
    assert s == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.05)
    b, s = _bound_and_std(nn.init.kaiming_uniform_, shape, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert b <= bound and b > 0.95 * bound
    _, s = _bound_and_std(nn.init.kaiming_normal_, shape, mode="fan_out", nonlinearity="relu")
    assert s == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    # the same statistics as torch's own initialisers
    tt = torch.empty(*shape)
    torch.nn.init.kaiming_normal_(tt, mode="fan_out", nonlinearity="relu")
    assert s == pytest.approx(tt.std().item(), rel=0.05)


def test_simple_fills_and_errors():
    t = ag.empty(3, 4)
    np.testing.assert_array_equal(nn.init.zeros_(t).data, 0)
    np.testing.assert_array_equal(nn.init.ones_(t).data, 1)
    np.testing.assert_array_equal(nn.init.constant_(t, 0.25).data, 0.25)
    u = nn.init.uniform_(ag.empty(1000), -2, 3).data
    assert u.min() >= -2 and u.max() < 3 and u.mean() == pytest.approx(0.5, abs=0.15)
    n = nn.init.normal_(ag.empty(10000), 1.0, 0.5).data
    assert n.mean() == pytest.approx(1.0, abs=0.03) and n.std() == pytest.approx(0.5, rel=0.05)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(ag.empty(5))
    with pytest.raises(ValueError, match="mode"):
        nn.init.kaiming_uniform_(ag.empty(2, 2), mode="fan")
    # initialisation works on Parameters (a leaf that requires grad) without no_grad, as in torch
    p = nn.Parameter(ag.empty(2, 2))
    nn.init.ones_(p)
    assert p.requires_grad and np.all(p.data == 1)


def test_init_is_reproducible_with_manual_seed():
    ag.manual_seed(7)
    a = nn.Linear(4, 4).weight.data.copy()
    ag.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(4, 4).weight.data, a)


def _grads_pair(scale):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2)]
    ours, theirs = [], []
    for s in shapes:
        g = (rng.standard_normal(s) * scale).astype(np.float32)
        p = nn.Parameter(ag.zeros(*s))
        p.grad = ag.tensor(g)
        tp = torch.zeros(*s, requires_grad=True)
        tp.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1000.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _grads_pair(2.0)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, ag.Tensor) and total.ndim == 0
    close(total, ttotal, 1e-6, 1e-6)  # the norm before clipping
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad, 1e-6, 1e-7)
    if max_norm == 0.5:
        flat = np.concatenate([p.grad.data.ravel() for p in ours])
        after = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
        assert after == pytest.approx(0.5, rel=1e-4)


def test_clip_grad_norm_skips_missing_grads_and_accepts_one_tensor():
    p, q = nn.Parameter(ag.ones(2)), nn.Parameter(ag.ones(2))
    p.grad = ag.tensor([3.0, 4.0])
    total = nn.utils.clip_grad_norm_([p, q], 1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_(p, 10.0).item() == pytest.approx(1.0, rel=1e-5)
    p.grad = ag.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    ours, theirs = _grads_pair(2.0)
    assert nn.utils.clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad)
    with pytest.raises(ValueError):
        nn.utils.clip_grad_value_(ours, -1.0)


def test_clip_on_a_real_model_after_backward():
    model = nn.MLP([3, 4, 2])
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.data)) for k, v in model.state_dict().items()})
    x = np.random.randn(5, 3).astype(np.float32)
    (model(ag.tensor(x)) ** 2).sum().backward()
    (theirs(torch.from_numpy(x)) ** 2).sum().backward()
    close(nn.utils.clip_grad_norm_(model.parameters(), 0.1), torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.1),
          1e-5, 1e-6)
    for p, tp in zip(model.parameters(), theirs.parameters()):
        close(p.grad, tp.grad, 1e-5, 1e-7)
