"""The small parameters of a group updated as one flat array (optim/_flat.py, driven by
Optimizer._update_group) give exactly the per-parameter result, for every elementwise optimizer and
option, through every change of layout: state saved and loaded (also into a fresh optimizer, also
a state saved by torch.optim), the optimizer deep-copied, parameters without a gradient on some
steps, different step counts, options switched on during training, a parameter's array or a state
Tensor replaced, parameters of mixed dtypes, a gradient of another dtype."""
import copy

import numpy as np
import pytest
import torch

import autograd as ag
import optim
import optim._flat as flat

SHAPES = [(3, 4), (4,), (5000,), (2, 2), (7,)]  # one above MAX_SIZE: updated on its own


def _params(seed=0, dtype=ag.float32, dtypes=None):
    rng = np.random.default_rng(seed)
    dtypes = dtypes or [dtype] * len(SHAPES)
    return [ag.tensor(rng.standard_normal(s), dtype=d, requires_grad=True) for s, d in zip(SHAPES, dtypes)]


def _flat_taken(opt):
    """Whether some group of ``opt`` has its small parameters laid out as one flat array."""
    return any(layout._laid_out for _, layout in opt._flat_layouts.values())


def _run(max_size, make, steps=12, skip=None, reload_at=None, replace_at=None, dtype=ag.float32, dtypes=None,
         fresh_at=None, copy_at=None, edit_at=None, switch_at=None, torch_until=None, torch_make=None):
    """Train the parameters of SHAPES on a fixed quadratic-ish loss; returns their final values and
    the optimizer. ``skip(step)`` -> indices of parameters left without a gradient that step;
    ``*_at``: the step after which the optimizer's state is saved and loaded into itself (reload)
    or into a new optimizer (fresh), the optimizer is deep-copied (copy), parameter 0's array is
    replaced (replace), a state Tensor of parameter 1 is replaced (edit), ``switch_at = (step,
    options)``: the options set in the group after that step; ``torch_until``: the first steps are
    taken by torch.optim (``torch_make``) and its state dict, as torch saves it, is loaded."""
    old = flat.MAX_SIZE
    flat.MAX_SIZE = max_size
    try:
        params = _params(dtype=dtype, dtypes=dtypes)
        opt = make(params)
        rng = np.random.default_rng(1)
        targets = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        first = 0
        if torch_until is not None:
            first = torch_until
            tparams = [torch.tensor(p.data, requires_grad=True) for p in params]
            topt = torch_make(tparams)
            for _ in range(torch_until):
                topt.zero_grad()
                sum(((p - torch.tensor(t, dtype=p.dtype)) ** 2 * (k + 1)).sum()
                    for k, (p, t) in enumerate(zip(tparams, targets))).backward()
                topt.step()
            for p, tp in zip(params, tparams):
                p.data[...] = tp.detach().numpy()
            saved = topt.state_dict()
            ours = opt.state_dict()["param_groups"]
            opt.load_state_dict({
                "state": {k: {n: v.numpy() if torch.is_tensor(v) else v for n, v in s.items()}
                          for k, s in saved["state"].items()},
                "param_groups": [{k: v for k, v in g.items() if k in mine} for g, mine in zip(saved["param_groups"],
                                                                                          ours)]})
        for step in range(first, steps):
            opt.zero_grad(set_to_none=True)
            left_out = skip(step) if skip else ()
            loss = sum(((p - ag.tensor(t)) ** 2 * (k + 1)).sum()
                       for k, (p, t) in enumerate(zip(params, targets)) if k not in left_out)
            loss.backward()
            opt.step()
            if step == reload_at:
                opt.load_state_dict(opt.state_dict())
            if step == fresh_at:
                saved = copy.deepcopy(opt.state_dict())
                opt = make(params)
                opt.load_state_dict(saved)
            if step == copy_at:
                opt = copy.deepcopy(opt)
                params = opt.param_groups[0]["params"]
            if step == replace_at:
                params[0].data = params[0].data.copy()
            if step == edit_at:
                state = opt.state[params[1]]
                name = next((n for n, v in state.items() if isinstance(v, ag.Tensor)), None)
                if name is not None:  # (plain SGD keeps no state)
                    state[name] = ag.tensor(state[name].data * 0.5, dtype=state[name].dtype)
            if switch_at is not None and step == switch_at[0]:
                opt.param_groups[0].update(switch_at[1])
        return [p.data.copy() for p in params], opt
    finally:
        flat.MAX_SIZE = old


# every elementwise optimizer, with each of its options: (name, options)
CONFIGS = {
    "sgd": ("SGD", dict(lr=0.05)),
    "sgd-momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd-nesterov-l2": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    "sgd-dampening-maximize": ("SGD", dict(lr=0.01, momentum=0.5, dampening=0.3, weight_decay=0.1, maximize=True)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad-options": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5,
                                        eps=1e-6, maximize=True)),
    "adadelta": ("Adadelta", dict()),
    "adadelta-options": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop-centered": ("RMSprop", dict(lr=0.01, centered=True)),
    "rmsprop-momentum": ("RMSprop", dict(lr=0.01, momentum=0.9)),
    "rmsprop-all": ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1,
                                    maximize=True)),
    "adam": ("Adam", dict(lr=0.05)),
    "amsgrad": ("Adam", dict(lr=0.05, amsgrad=True)),
    "l2": ("Adam", dict(lr=0.05, weight_decay=0.1)),
    "adamw-maximize": ("AdamW", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    "adamw-amsgrad": ("AdamW", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.3, amsgrad=True)),
    "adamax": ("Adamax", dict(lr=0.05)),
    "adamax-options": ("Adamax", dict(lr=0.05, betas=(0.7, 0.95), weight_decay=0.2, eps=1e-3, maximize=True)),
    "nadam": ("NAdam", dict(lr=0.05)),
    "nadam-decoupled": ("NAdam", dict(lr=0.05, momentum_decay=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    "nadam-maximize": ("NAdam", dict(lr=0.03, betas=(0.8, 0.9), weight_decay=0.2, maximize=True)),
}


def _maker(config):
    name, options = CONFIGS[config]
    return lambda ps: getattr(optim, name)(ps, **options)


def _torch_maker(config):
    name, options = CONFIGS[config]
    return lambda ps: getattr(torch.optim, name)(ps, **options, foreach=False)


MAKERS = {  # (the original four, by the names the tests had)
    "adam": _maker("adam"),
    "amsgrad": _maker("amsgrad"),
    "l2": _maker("l2"),
    "adamw-maximize": _maker("adamw-maximize"),
}


def _assert_same_state(a, b, path="state_dict"):
    """Two state dicts (or parts) hold the same entries in the same order, arrays bit for bit."""
    if isinstance(a, (ag.Tensor, np.ndarray)):
        assert type(a) is type(b), path
        a, b = np.asarray(getattr(a, "data", a)), np.asarray(getattr(b, "data", b))
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            _assert_same_state(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_state(x, y, f"{path}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{path}: {a!r} != {b!r}"


def _assert_flat_is_per_parameter(make, **kwargs):
    per_param, per_opt = _run(0, make, **kwargs)
    flat_result, flat_opt = _run(flat.MAX_SIZE, make, **kwargs)
    for a, b in zip(per_param, flat_result):
        np.testing.assert_array_equal(a, b)
    _assert_same_state(flat_opt.state_dict(), per_opt.state_dict())
    assert not _flat_taken(per_opt)
    return flat_opt


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


CASES = {
    "plain": {},
    "reload": {"reload_at": 5},
    "fresh-optimizer": {"fresh_at": 4},
    "deepcopy": {"copy_at": 4},
    # parameter 1 has no gradient on even steps (its step count falls behind the others'), 3 none
    # before step 5 (its state is made later)
    "skip": {"skip": lambda step: ((1,) if step % 2 == 0 else ()) + ((3,) if step < 5 else ())},
    "replace-array": {"replace_at": 3},
    "replace-state": {"edit_at": 3},
    "mixed-dtypes": {"dtypes": [ag.float32, ag.float64, ag.float32, ag.float64, ag.float64]},
    "torch-state": {"torch_until": 5, "dtype": ag.float64},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_optimizer_flat_is_bitwise_per_parameter(config, case):
    """Values and state dicts (entries, their order, dtypes and bits) are the same either way, and
    the flat path is taken."""
    kwargs = dict(CASES[case])
    if case == "torch-state":
        kwargs["torch_make"] = _torch_maker(config)
    opt = _assert_flat_is_per_parameter(_maker(config), **kwargs)
    assert _flat_taken(opt), "the flat path was not taken"


SWITCHES = {  # options switched on (or off) during training: the state they need is made then
    "amsgrad-on": ("adam", {"amsgrad": True}),
    "amsgrad-off": ("amsgrad", {"amsgrad": False}),
    "sgd-momentum-on": ("sgd", {"momentum": 0.9}),
    "sgd-momentum-off": ("sgd-momentum", {"momentum": 0}),
    "rmsprop-centered-on": ("rmsprop", {"centered": True}),
    "rmsprop-momentum-on": ("rmsprop", {"momentum": 0.5}),
}


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_options_switched_during_training(switch):
    config, options = SWITCHES[switch]
    opt = _assert_flat_is_per_parameter(_maker(config), switch_at=(4, options))
    assert _flat_taken(opt)


def test_sgd_momentum_buffer_is_made_from_the_first_gradient_in_the_flat_array():
    """torch starts SGD's momentum buffer as a copy of the first gradient: on the flat path the
    update makes it as one flat array, and each parameter's state is a view of it."""
    params = _params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    assert len(opt.state) == 0
    grads = [np.full(p.shape, k + 1.0, np.float32) for k, p in enumerate(params)]
    for p, g in zip(params, grads):
        p.grad = ag.tensor(g)
    opt.step()
    small = [p for p in params if p.data.size <= flat.MAX_SIZE]
    bufs = [opt.state[p]["momentum_buffer"].data for p in small]
    assert bufs[0].base is not None and all(b.base is bufs[0].base for b in bufs[1:])
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(opt.state[p]["momentum_buffer"].data, g)
    assert list(opt.state_dict()["state"]) == [0, 1, 2, 3, 4]


def test_sgd_without_momentum_keeps_no_state():
    params = _params()
    opt = optim.SGD(params, lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        sum((p * p).sum() for p in params).backward()
        opt.step()
    assert _flat_taken(opt)
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_optimizer_flat_state_is_seen_per_parameter_and_matches_torch(config):
    """As the test above, for every elementwise optimizer and option (in float64)."""
    values, opt = _run(flat.MAX_SIZE, _maker(config), steps=6, dtype=ag.float64)
    assert _flat_taken(opt), "the flat path was not taken"
    ps = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in _params(dtype=ag.float64)]
    topt = _torch_maker(config)(ps)
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
        assert set(state) == set(tstate)
        for name, value in state.items():
            np.testing.assert_allclose(np.asarray(getattr(value, "data", value), dtype=float),
                                       tstate[name].detach().numpy(), rtol=1e-6, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("config", ["adam", "sgd-momentum", "rmsprop-all", "nadam"])
def test_a_gradient_of_another_dtype_with_every_kind_of_state(config):
    """As the test above, the state dicts too, for optimizers with each kind of state."""
    results = []
    for max_size in (0, flat.MAX_SIZE):
        old, flat.MAX_SIZE = flat.MAX_SIZE, max_size
        try:
            params = _params()
            opt = _maker(config)(params)
            for step in range(3):
                for k, p in enumerate(params):  # gradients set by hand, one of them float64
                    g = np.full(p.shape, 0.1 * (k + 1) + 1e-9 * step, dtype=np.float64 if k == 1 else np.float32)
                    p.grad = ag.tensor(g, dtype=ag.float64 if k == 1 else ag.float32)
                opt.step()
            results.append(([p.data.copy() for p in params], opt.state_dict()))
        finally:
            flat.MAX_SIZE = old
    (a_values, a_state), (b_values, b_state) = results
    for a, b in zip(a_values, b_values):
        np.testing.assert_array_equal(a, b)
    _assert_same_state(a_state, b_state)
