"""state_dict round trips (through nn.save/nn.load) resume identically; bad hyper-parameters and bad
parameter lists raise at construction with a message naming the problem."""
import copy

import numpy as np
import pytest
import torch

import autograd as ag
import optim
from optim_oracle import loss_ours, ours_params

ALL = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.02, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01), dict(initial_accumulator_value=0.3)),
    ("Adadelta", dict(), dict(rho=0.8)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), dict(alpha=0.9)),
    ("Adam", dict(lr=0.05, amsgrad=True), dict(betas=(0.8, 0.99))),
    ("AdamW", dict(lr=0.05), dict(weight_decay=0.3)),
    ("Adamax", dict(lr=0.05), dict(lr=0.01)),
    ("NAdam", dict(lr=0.05), dict(decoupled_weight_decay=True, weight_decay=0.1)),
]


def _steps(opt, W, b, n):
    out = []
    for _ in range(n):
        opt.zero_grad()
        loss_ours(W, b).backward()
        opt.step()
        out.append((W.data.copy(), b.data.copy()))
    return out


@pytest.mark.parametrize("via", ["nn.save", "deepcopy"])
@pytest.mark.parametrize("name,options,group1", ALL, ids=[a[0] for a in ALL])
def test_state_dict_round_trip_resumes_identically(name, options, group1, via, tmp_path):
    cls = getattr(optim, name)
    W, b = ours_params()
    full = _steps(cls([{"params": [W]}, {"params": [b], **group1}], **options), W, b, 20)

    W, b = ours_params()
    opt = cls([{"params": [W]}, {"params": [b], **group1}], **options)
    _steps(opt, W, b, 8)
    sd = opt.state_dict()
    if via == "nn.save":
        import nn
        nn.save(sd, tmp_path / "opt.npz")
        sd = nn.load(tmp_path / "opt.npz")
    else:
        sd = copy.deepcopy(sd)
    _steps(opt, W, b, 3)  # the saved dict is a snapshot: later steps do not change it

    W2, b2 = ours_params(full[7][0], full[7][1])
    # a fresh optimizer built with other options: load_state_dict restores the saved ones
    opt2 = cls([{"params": [W2]}, {"params": [b2]}], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == opt.param_groups[1]["lr"]
    rest = _steps(opt2, W2, b2, 12)
    for (w, bb), (fw, fb) in zip(rest, full[8:]):
        np.testing.assert_array_equal(w, fw)
        np.testing.assert_array_equal(bb, fb)


def test_load_state_dict_casts_and_validates_without_corrupting():
    w = ag.tensor([1.0, 2.0], requires_grad=True)  # float32
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    w64 = ag.tensor([1.0, 2.0], dtype=ag.float64, requires_grad=True)
    opt64 = optim.Adam([w64], lr=0.1)
    opt64.load_state_dict(opt.state_dict())
    assert opt64.state[w64]["exp_avg"].dtype == ag.float64
    assert opt64.state[w64]["step"] == 1

    before = opt.state_dict()
    bad = copy.deepcopy(before)
    bad["param_groups"][0]["params"] = [0, 1]
    with pytest.raises(ValueError, match="parameter group"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(before)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="param_groups"):
        opt.load_state_dict({"state": {}})
    assert opt.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(opt.state[w]["exp_avg"].data, before["state"][0]["exp_avg"].data)


INVALID = [
    ("SGD", dict(lr=-0.1), "lr"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "momentum"),
    ("SGD", dict(lr=0.1, weight_decay=-1), "weight_decay"),
    ("SGD", dict(lr=0.1, nesterov=True), "nesterov"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening"),
    ("Adagrad", dict(lr=-1e-3), "lr"),
    ("Adagrad", dict(eps=-1e-10), "eps"),
    ("Adagrad", dict(lr_decay=-1), "lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    ("Adadelta", dict(rho=1.5), "rho"),
    ("Adadelta", dict(eps=-1.0), "eps"),
    ("RMSprop", dict(alpha=-0.1), "alpha"),
    ("RMSprop", dict(eps=-1e-8), "eps"),
    ("RMSprop", dict(lr=-0.1), "lr"),
    ("Adam", dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    ("Adam", dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    ("Adam", dict(betas=(0.9,)), "betas"),
    ("Adam", dict(eps=-1e-8), "eps"),
    ("Adam", dict(lr=-1e-3), "lr"),
    ("AdamW", dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    ("AdamW", dict(weight_decay=-0.01), "weight_decay"),
    ("Adamax", dict(betas=(-0.1, 0.9)), r"betas\[0\]"),
    ("Adamax", dict(eps=-1.0), "eps"),
    ("NAdam", dict(momentum_decay=-1.0), "momentum_decay"),
    ("NAdam", dict(betas=(0.9, 1.5)), r"betas\[1\]"),
    ("LBFGS", dict(lr=-1.0), "lr"),
]


@pytest.mark.parametrize("name,kwargs,option", INVALID, ids=[f"{n}-{o}" for n, _, o in INVALID])
def test_invalid_hyper_parameters_raise_naming_the_option(name, kwargs, option):
    W, _ = ours_params()
    with pytest.raises(ValueError, match=option):
        getattr(optim, name)([W], **kwargs)
    # the same option given in a parameter group is checked too
    if name != "LBFGS":
        options = {k: v for k, v in kwargs.items() if k != "nesterov"}
        base = {"nesterov": kwargs["nesterov"]} if "nesterov" in kwargs else {}
        if options:
            W, b = ours_params()
            with pytest.raises(ValueError, match=option):
                getattr(optim, name)([{"params": [W]}, {"params": [b], **options}], **base)


def test_invalid_parameter_lists():
    W, b = ours_params()
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [W, b]}, {"params": [b], "lr": 0.01}], lr=0.1)
    opt = optim.SGD([W], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [W]})
    assert len(opt.param_groups) == 1
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([W, W], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(W, lr=0.1)
    with pytest.raises(TypeError, match="list"):
        optim.SGD({W, b}, lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([W * 2], lr=0.1)
    with pytest.raises(ValueError, match="params"):
        opt.add_param_group({"lr": 0.1})


def test_param_groups_defaults_and_named_parameters():
    W, b = ours_params()
    opt = optim.SGD([{"params": [W]}, {"params": b, "lr": 0.01, "custom": "kept"}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["custom"] == "kept"
    assert opt.param_groups[1]["params"] == [b]
    assert opt.defaults["lr"] == 0.1 and opt.defaults["project"] is None
    opt = optim.Adam([("weight", W), ("bias", b)])
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert "Adam (" in repr(opt) and "lr: 0.001" in repr(opt)


def test_state_dict_layout_matches_torch():
    W, b = ours_params()
    tW = torch.tensor(W.data, requires_grad=True)
    tb = torch.tensor(b.data, requires_grad=True)
    opt = optim.SGD([{"params": [W]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [tW]}, {"params": [tb], "lr": 0.01}], lr=0.1, momentum=0.9)
    loss_ours(W, b).backward()
    (tW.sum() + tb.sum()).backward()
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]] == [[0], [1]]
    assert isinstance(sd["state"][0]["momentum_buffer"], ag.Tensor)


def test_custom_optimizer_on_the_base_class():
    """optim.Optimizer(params, defaults) is the extension point: a subclass with a required option."""

    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=optim.required):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            loss = self._evaluate(closure)
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data -= group["lr"] * np.sign(p.grad.data)
                self._project(group)
            return loss

    W, b = ours_params()
    with pytest.raises(ValueError, match="required optimization option 'lr'"):
        SignSGD([W])
    opt = SignSGD([{"params": [W], "lr": 0.1}, {"params": [b], "lr": 0.2,
                                                 "project": optim.projections.nonnegative}])
    before = W.data.copy(), b.data.copy()
    loss_ours(W, b).backward()
    gW, gb = W.grad.data.copy(), b.grad.data.copy()
    opt.step()
    np.testing.assert_allclose(W.data, before[0] - 0.1 * np.sign(gW))
    np.testing.assert_allclose(b.data, np.maximum(before[1] - 0.2 * np.sign(gb), 0))


def test_works_with_module_parameters():
    import nn
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.5)
    x = ag.tensor(np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.parameters())


def test_step_counts_as_in_place_modification_of_parameters():
    """As in torch: a graph that saved a parameter refuses to backward after the parameter was stepped."""
    import autograd as ag
    import optim

    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    loss = (p * p).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()
