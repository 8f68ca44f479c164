"""Every scheduler's learning-rate sequence equals torch.optim.lr_scheduler's (two groups with
different starting rates), including composition, the closed forms of step(epoch) and state_dict."""
import copy
import math
import warnings

import numpy as np
import pytest
import torch

import autograd as ag
import optim
from optim import lr_scheduler as ours_sched
from torch.optim import lr_scheduler as torch_sched


def make_pair():
    w = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    b = ag.tensor([0.5], dtype=ag.float64, requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    tb = torch.tensor([0.5], requires_grad=True)
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [tw]}, {"params": [tb], "lr": 0.05}], lr=0.1, momentum=0.9)
    return opt, topt


def lam(epoch):
    return 0.95 ** epoch + 0.01 * (epoch % 3)


CASES = [
    ("StepLR", dict(step_size=7)),
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=13, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=lam)),
    ("LambdaLR", dict(lr_lambda=[lam, lambda e: 1.0 / (1 + e)])),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.8, total_iters=12)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=20)),
]


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_lr_sequence_matches_torch(name, kwargs):
    opt, topt = make_pair()
    sched = getattr(ours_sched, name)(opt, **kwargs)
    tsched = getattr(torch_sched, name)(topt, **kwargs)
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
    for epoch in range(45):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15,
                                   err_msg=f"epoch {epoch}")
        np.testing.assert_allclose(_lrs(opt), _lrs(topt), rtol=1e-12, atol=1e-15)
        assert _lrs(opt) == sched.get_last_lr()


@pytest.mark.parametrize("name,kwargs", [c for c in CASES if c[0] != "LambdaLR"])
def test_closed_form_step_epoch_matches_torch(name, kwargs):
    opt, topt = make_pair()
    sched = getattr(ours_sched, name)(opt, **kwargs)
    tsched = getattr(torch_sched, name)(topt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [3, 7, 8, 12, 25, 5]:
            sched.step(epoch)
            tsched.step(epoch)
            np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15)


def test_schedulers_compose_like_torch():
    """Warm-up then decay: two schedulers on one optimizer multiply, as torch's recursive forms do."""
    opt, topt = make_pair()
    ours = [ours_sched.LinearLR(opt, start_factor=0.2, total_iters=4), ours_sched.ExponentialLR(opt, gamma=0.9)]
    theirs = [torch_sched.LinearLR(topt, start_factor=0.2, total_iters=4), torch_sched.ExponentialLR(topt, gamma=0.9)]
    for _ in range(15):
        opt.step()
        topt.step()
        for s, t in zip(ours, theirs):
            s.step()
            t.step()
        np.testing.assert_allclose(_lrs(opt), _lrs(topt), rtol=1e-12)


def test_cosine_annealing_closed_form():
    """The seed's annealing: η_t = η_min + ½ (η_0 − η_min)(1 + cos(π t / T_max))."""
    opt, _ = make_pair()
    sched = ours_sched.CosineAnnealingLR(opt, T_max=8, eta_min=0.001)
    for t in range(1, 9):
        opt.step()
        sched.step()
        expected = [0.001 + 0.5 * (lr0 - 0.001) * (1 + math.cos(math.pi * t / 8)) for lr0 in (0.1, 0.05)]
        np.testing.assert_allclose(sched.get_last_lr(), expected, rtol=1e-12)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, cooldown=1),
    dict(patience=1, threshold=0.05, threshold_mode="abs", min_lr=[0.02, 0.001]),
    dict(mode="max", patience=0, threshold_mode="abs", min_lr=0.03, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    opt, topt = make_pair()
    sched = ours_sched.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch_sched.ReduceLROnPlateau(topt, **kwargs)
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 6), 0.5 + 0.02 * rng.normal(size=40)])
    for m in metrics:
        sched.step(m)
        tsched.step(torch.tensor(m))
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        assert (sched.num_bad_epochs, sched.cooldown_counter, sched.best) == \
            (tsched.num_bad_epochs, tsched.cooldown_counter, tsched.best)
    assert min(sched.get_last_lr()) < 0.1  # the metric plateaued: the rate was reduced


@pytest.mark.parametrize("name,kwargs", CASES[:7] + [("ReduceLROnPlateau", dict(patience=1))],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_state_dict_resumes_identically(name, kwargs, tmp_path):
    """Save optimizer and scheduler (nn.save/nn.load) after 9 epochs, restore into new objects,
    continue: the same rates as an uninterrupted run."""
    import nn
    plateau = name == "ReduceLROnPlateau"
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.85, 0.85, 0.9] * 3

    def advance(sched, opt, epochs):
        out = []
        for e in epochs:
            opt.step()
            sched.step(metrics[e]) if plateau else sched.step()
            out.append(sched.get_last_lr())
        return out

    opt, _ = make_pair()
    full = advance(getattr(ours_sched, name)(opt, **kwargs), opt, range(20))

    opt, _ = make_pair()
    sched = getattr(ours_sched, name)(opt, **kwargs)
    advance(sched, opt, range(9))
    nn.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.npz")
    saved = nn.load(tmp_path / "ckpt.npz")

    opt2, _ = make_pair()
    sched2 = getattr(ours_sched, name)(opt2, **kwargs)
    opt2.load_state_dict(saved["optimizer"])
    sched2.load_state_dict(saved["scheduler"])
    rest = advance(sched2, opt2, range(9, 20))
    np.testing.assert_allclose(rest, full[9:], rtol=1e-15)


def test_scheduler_stepped_before_optimizer_warns():
    opt, _ = make_pair()
    sched = ours_sched.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt, _ = make_pair()
    sched = ours_sched.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_scheduler_validation():
    opt, _ = make_pair()
    with pytest.raises(TypeError, match="not an Optimizer"):
        ours_sched.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="lr_lambdas"):
        ours_sched.LambdaLR(opt, [lam])
    with pytest.raises(ValueError, match="start_factor"):
        ours_sched.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="factor"):
        ours_sched.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        ours_sched.ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(KeyError, match="initial_lr"):
        ours_sched.StepLR(copy.deepcopy(opt), step_size=2, last_epoch=4)
