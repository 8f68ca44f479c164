"""Adam's small parameters updated as one flat array (optim/_flat.py) give exactly the per-parameter
result, through every change of layout: state saved and loaded, parameters without a gradient on
some steps, different step counts, amsgrad, weight decay, a parameter's array replaced."""
import numpy as np
import pytest
import torch

import autograd as ag
import optim
import optim._flat as flat

SHAPES = [(3, 4), (4,), (5000,), (2, 2), (7,)]  # one above MAX_SIZE: updated on its own


def _params(seed=0, dtype=ag.float32):
    rng = np.random.default_rng(seed)
    return [ag.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True) for s in SHAPES]


def _run(max_size, make, steps=12, skip=None, reload_at=None, replace_at=None, dtype=ag.float32):
    """Train the parameters of SHAPES on a fixed quadratic-ish loss; returns their final values and
    the optimizer. ``skip(step)`` -> indices of parameters left without a gradient that step."""
    old = flat.MAX_SIZE
    flat.MAX_SIZE = max_size
    try:
        params = _params(dtype=dtype)
        opt = make(params)
        rng = np.random.default_rng(1)
        targets = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        for step in range(steps):
            opt.zero_grad(set_to_none=True)
            left_out = skip(step) if skip else ()
            loss = sum(((p - ag.tensor(t)) ** 2 * (k + 1)).sum()
                       for k, (p, t) in enumerate(zip(params, targets)) if k not in left_out)
            loss.backward()
            opt.step()
            if step == reload_at:
                opt.load_state_dict(opt.state_dict())
            if step == replace_at:
                params[0].data = params[0].data.copy()
        return [p.data.copy() for p in params], opt
    finally:
        flat.MAX_SIZE = old


MAKERS = {
    "adam": lambda ps: optim.Adam(ps, lr=0.05),
    "amsgrad": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True),
    "l2": lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.1),
    "adamw-maximize": lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.1, maximize=True),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("case", ["plain", "reload", "skip", "replace"])
def test_flat_update_is_bitwise_the_per_parameter_one(name, case):
    kwargs = {"plain": {}, "reload": {"reload_at": 5}, "replace": {"replace_at": 3},
              # parameter 1 has no gradient on even steps (its step count falls behind the others')
              "skip": {"skip": lambda step: (1,) if step % 2 == 0 else ()}}[case]
    per_param, _ = _run(0, MAKERS[name], **kwargs)
    flat_result, opt = _run(flat.MAX_SIZE, MAKERS[name], **kwargs)
    for a, b in zip(per_param, flat_result):
        np.testing.assert_array_equal(a, b)
    assert opt._flat_layouts, "the flat path was not taken"


def test_flat_state_is_seen_per_parameter_and_matches_torch():
    """In float64, as the other comparisons with torch: in float32, rounding (torch's order of
    operations, or another host's) takes most of any tolerance tight enough to mean something, as
    exp_avg is a sum of gradients of both signs (its error is relative to the gradients, not to
    itself). The float32 flat path is checked bit for bit against the per-parameter one above."""
    values, opt = _run(flat.MAX_SIZE, MAKERS["adam"], steps=6, dtype=ag.float64)
    assert opt._flat_layouts, "the flat path was not taken"
    ps = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in _params(dtype=ag.float64)]
    topt = torch.optim.Adam(ps, lr=0.05, foreach=False)
    rng = np.random.default_rng(1)
    targets = [torch.tensor(rng.standard_normal(p.shape).astype(np.float32).astype(np.float64)) for p in ps]
    for _ in range(6):
        topt.zero_grad()
        sum(((p - t) ** 2 * (k + 1)).sum() for k, (p, t) in enumerate(zip(ps, targets))).backward()
        topt.step()
    for ours, theirs in zip(values, ps):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-6, atol=1e-12)
    # the optimizer's state reads per parameter, as in torch, whichever way it is stored
    for p, tp in zip(opt.param_groups[0]["params"], ps):
        state, tstate = opt.state[p], topt.state[tp]
        assert state["step"] == int(tstate["step"])
        np.testing.assert_allclose(state["exp_avg"].numpy(), tstate["exp_avg"].numpy(), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(state["exp_avg_sq"].numpy(), tstate["exp_avg_sq"].numpy(), rtol=1e-6, atol=1e-12)


def test_a_saved_state_dict_does_not_change_with_later_steps():
    params = _params()
    opt = optim.Adam(params, lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        sum((p * p).sum() for p in params).backward()
        opt.step()
    saved = opt.state_dict()
    before = saved["state"][0]["exp_avg"].numpy().copy()
    opt.zero_grad()
    sum((p * p).sum() for p in params).backward()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"].numpy(), before)


def test_a_gradient_of_another_dtype_is_not_squeezed_into_the_flat_buffer():
    results = []
    for max_size in (0, flat.MAX_SIZE):
        old, flat.MAX_SIZE = flat.MAX_SIZE, max_size
        try:
            params = _params()
            opt = optim.Adam(params, lr=0.1)
            for step in range(3):
                for k, p in enumerate(params):  # gradients set by hand, one of them float64
                    g = np.full(p.shape, 0.1 * (k + 1) + 1e-9 * step, dtype=np.float64 if k == 1 else np.float32)
                    p.grad = ag.tensor(g, dtype=ag.float64 if k == 1 else ag.float32)
                opt.step()
            results.append([p.data.copy() for p in params])
        finally:
            flat.MAX_SIZE = old
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
