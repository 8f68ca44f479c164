"""load_state_dict checks every entry it loads: a buffer of the wrong shape, a value of the wrong type
(a string, a nested dict), a count that is not a whole number, a name the optimizer does not keep,
a missing entry or a state for no parameter raises TypeError/ValueError naming the entry, what was
expected and what was found, and leaves the optimizer as it was (a step afterwards equals the step of
an untouched twin). Every optimizer, every state entry."""
import copy
import re

import numpy as np
import pytest

import autograd as ag
import nn
import optim
from optim_oracle import loss_ours, ours_params

# options that make every optimizer keep all of its state entries
OPTIONS = {
    "SGD": dict(lr=0.05, momentum=0.9),
    "Adagrad": dict(lr=0.1),
    "Adadelta": dict(),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adam": dict(lr=0.05, amsgrad=True),
    "AdamW": dict(lr=0.05, amsgrad=True),
    "Adamax": dict(lr=0.05),
    "NAdam": dict(lr=0.05),
    "LBFGS": dict(history_size=5, max_iter=4, line_search_fn="strong_wolfe"),
}

# each optimizer's state entries (as torch.optim names them), and their kinds: "buffer" an array of the
# parameter's shape, "count" a whole number, "number" a real number; L-BFGS: "flat" a vector over all
# the parameters, "flat list" a list of them, "number list" a list of numbers
STATE = {
    "SGD": {"momentum_buffer": "buffer"},
    "Adagrad": {"step": "count", "sum": "buffer"},
    "Adadelta": {"step": "count", "square_avg": "buffer", "acc_delta": "buffer"},
    "RMSprop": {"step": "count", "square_avg": "buffer", "momentum_buffer": "buffer", "grad_avg": "buffer"},
    "Adam": {"step": "count", "exp_avg": "buffer", "exp_avg_sq": "buffer", "max_exp_avg_sq": "buffer"},
    "AdamW": {"step": "count", "exp_avg": "buffer", "exp_avg_sq": "buffer", "max_exp_avg_sq": "buffer"},
    "Adamax": {"step": "count", "exp_avg": "buffer", "exp_inf": "buffer"},
    "NAdam": {"step": "count", "mu_product": "number", "exp_avg": "buffer", "exp_avg_sq": "buffer"},
    "LBFGS": {"func_evals": "count", "n_iter": "count", "d": "flat", "t": "number", "old_dirs": "flat list",
              "old_stps": "flat list", "ro": "number list", "H_diag": "number", "prev_flat_grad": "flat",
              "prev_loss": "number"},
}
# the entries a non-empty state always holds (the others are created when an option needs them)
REQUIRED = {"SGD": set(), "RMSprop": {"step", "square_avg"}, "Adam": {"step", "exp_avg", "exp_avg_sq"},
            "AdamW": {"step", "exp_avg", "exp_avg_sq"}, "LBFGS": {"func_evals", "n_iter"}}

# the state checked: b's (index 1, param_groups[1]['params'][0], shape (4,)); L-BFGS keeps one state,
# under its first parameter (index 0, W, shape (3, 4)), whose vectors span W and b (16 numbers)
INDEX = {name: 0 if name == "LBFGS" else 1 for name in OPTIONS}
PLACE = {name: "param_groups[0]['params'][0]" if name == "LBFGS" else "param_groups[1]['params'][0]"
         for name in OPTIONS}


class Trained:
    """An optimizer of the shared float64 problem (W: 3x4 and b: 4, two groups; one for L-BFGS) after
    three steps; two made alike are bit for bit alike."""

    def __init__(self, name, steps=3, **options):
        self.W, self.b = ours_params()
        cls = getattr(optim, name)
        options = {**OPTIONS[name], **options}
        if name == "LBFGS":
            self.opt = cls([self.W, self.b], **options)
        else:
            self.opt = cls([{"params": [self.W]}, {"params": [self.b], "lr": 0.02}], **options)
        for _ in range(steps):
            self.step()

    def closure(self):
        self.opt.zero_grad()
        loss = loss_ours(self.W, self.b)
        loss.backward()
        return loss

    def step(self):
        if isinstance(self.opt, optim.LBFGS):
            self.opt.step(self.closure)
        else:
            self.closure()
            self.opt.step()


def assert_same(a, b, path="state_dict"):
    """``a`` and ``b`` (state dicts, or parts of them) hold the same values, arrays bit for bit."""
    if isinstance(a, (ag.Tensor, np.ndarray)):
        a, b = np.asarray(a.data if isinstance(a, ag.Tensor) else a), np.asarray(b.data if isinstance(b, ag.Tensor)
                                                                                 else b)
        assert a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{path}: {a!r} != {b!r}"


def assert_rejected_and_unchanged(name, bad, error, match):
    """Loading ``bad`` into a trained ``name`` optimizer raises ``error`` matching ``match``; the
    optimizer is then untouched: the same objects, the same values, and its next step is its twin's."""
    trained, twin = Trained(name), Trained(name)
    opt = trained.opt
    groups, state, before = opt.param_groups, opt.state, opt.state_dict()
    entries = {id(p): dict(s) for p, s in opt.state.items()}
    with pytest.raises(error, match=match) as raised:
        opt.load_state_dict(bad)
    assert "Nothing was loaded" in str(raised.value)
    assert opt.param_groups is groups and opt.state is state
    assert all(opt.state[p][k] is v for p in opt.state for k, v in entries[id(p)].items())
    assert_same(opt.state_dict(), before)
    trained.step()
    twin.step()
    np.testing.assert_array_equal(trained.W.data, twin.W.data)
    np.testing.assert_array_equal(trained.b.data, twin.b.data)
    assert_same(opt.state_dict(), twin.opt.state_dict())


def saved(name):
    return Trained(name).opt.state_dict()


def entry(name, key):
    """The regex naming state entry ``key`` of the checked parameter, and that parameter."""
    return re.escape(f"state[{INDEX[name]}][{key!r}]")


@pytest.mark.parametrize("name", list(OPTIONS))
def test_the_state_entries_are_torchs(name):
    """The table above is each optimizer's state (so the cases below cover every entry)."""
    state = saved(name)["state"][INDEX[name]]
    assert set(state) == set(STATE[name])


CASES = [(name, key) for name in OPTIONS for key in STATE[name]]
IDS = [f"{name}-{key}" for name, key in CASES]


@pytest.mark.parametrize("name,key", CASES, ids=IDS)
def test_wrong_shape(name, key):
    sd = saved(name)
    kind = STATE[name][key]
    state = sd["state"][INDEX[name]]
    if kind == "buffer":
        state[key] = np.zeros(5)
        match = entry(name, key) + r": expected an array of the parameter's shape \(4,\), got shape \(5,\)"
    elif kind == "flat":
        state[key] = np.zeros((4, 4))
        match = entry(name, key) + r": expected a 1-D array of 16 elements .*got shape \(4, 4\)"
    elif kind == "flat list":
        state[key][1] = np.zeros(17)
        match = entry(name, key) + re.escape("[1]") + r": expected a 1-D array of 16 elements .*got shape \(17,\)"
    elif kind == "number list":
        state[key][0] = np.zeros(2)
        match = entry(name, key) + re.escape("[0]") + r": expected a number, got an array of shape \(2,\)"
    else:
        state[key] = np.zeros(2)
        match = entry(name, key) + r": expected a number, got an array of shape \(2,\)"
    assert_rejected_and_unchanged(name, sd, ValueError, match + ".*" + re.escape(PLACE[name]))


@pytest.mark.parametrize("value", ["abc", {"exp_avg": np.zeros(4)}], ids=["string", "nested-dict"])
@pytest.mark.parametrize("name,key", CASES, ids=IDS)
def test_wrong_type(name, key, value):
    sd = saved(name)
    sd["state"][INDEX[name]][key] = copy.deepcopy(value)
    got = type(value).__name__
    assert_rejected_and_unchanged(name, sd, TypeError,
                                  entry(name, key) + rf": expected a .*, got {got}.*" + re.escape(PLACE[name]))


@pytest.mark.parametrize("name,key", [c for c in CASES if c[1] in ("old_dirs", "ro")], ids=["old_dirs", "ro"])
def test_wrong_type_inside_a_history_list(name, key):
    sd = saved(name)
    sd["state"][0][key][0] = "abc"
    assert_rejected_and_unchanged(name, sd, TypeError, entry(name, key) + re.escape("[0]") + ": expected a .*got str")


@pytest.mark.parametrize("value,problem", [(-1, "-1"), (2.5, "2.5"), (True, "bool")])
@pytest.mark.parametrize("name,key", [c for c in CASES if STATE[c[0]][c[1]] == "count"],
                         ids=[i for c, i in zip(CASES, IDS) if STATE[c[0]][c[1]] == "count"])
def test_a_count_must_be_a_whole_number(name, key, value, problem):
    sd = saved(name)
    sd["state"][INDEX[name]][key] = value
    error = TypeError if isinstance(value, bool) else ValueError
    assert_rejected_and_unchanged(name, sd, error, entry(name, key) + ".*" + problem)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_a_name_the_optimizer_does_not_keep(name):
    sd = saved(name)
    sd["state"][INDEX[name]]["velocity"] = np.zeros(4)
    assert_rejected_and_unchanged(name, sd, ValueError,
                                  rf"state\[{INDEX[name]}\]: {name} keeps no state named 'velocity'")


@pytest.mark.parametrize("name,key", [c for c in CASES if c[1] in REQUIRED.get(c[0], STATE[c[0]])],
                         ids=[i for c, i in zip(CASES, IDS) if c[1] in REQUIRED.get(c[0], STATE[c[0]])])
def test_a_missing_entry(name, key):
    sd = saved(name)
    del sd["state"][INDEX[name]][key]
    assert_rejected_and_unchanged(name, sd, ValueError, rf"state\[{INDEX[name]}\]: .*{key}")


def test_the_state_of_another_kind_of_optimizer():
    assert_rejected_and_unchanged("SGD", saved("Adam"), ValueError, "SGD keeps no state named 'step'")


@pytest.mark.parametrize("name", list(OPTIONS))
def test_a_state_for_no_parameter_and_a_state_that_is_not_a_dict(name):
    sd = saved(name)
    sd["state"][9] = copy.deepcopy(sd["state"][INDEX[name]])
    assert_rejected_and_unchanged(name, sd, ValueError, r"state\[9\]: no parameter group lists the index 9")
    sd = saved(name)
    sd["state"][INDEX[name]] = [np.zeros(4)]
    assert_rejected_and_unchanged(name, sd, TypeError, rf"state\[{INDEX[name]}\]: expected a dict .* got list")


@pytest.mark.parametrize("name", list(OPTIONS))
def test_a_wrong_group_option(name):
    sd = saved(name)
    sd["param_groups"][0]["lr"] = "fast"
    assert_rejected_and_unchanged(name, sd, TypeError, r"param_groups\[0\]: .*lr must be a number, got str")


def test_lbfgs_history_must_be_consistent():
    sd = saved("LBFGS")
    sd["state"][0]["ro"].pop()
    assert_rejected_and_unchanged("LBFGS", sd, ValueError, "old_dirs, old_stps and ro should be equally long")
    sd = saved("LBFGS")
    sd["param_groups"][0]["history_size"] = 1
    assert_rejected_and_unchanged("LBFGS", sd, ValueError, "more than history_size=1")
    sd = saved("LBFGS")
    del sd["state"][0]["prev_loss"]
    assert_rejected_and_unchanged("LBFGS", sd, ValueError, r"n_iter=\d+ iterations .* lacks \['prev_loss'\]")
    sd = saved("LBFGS")
    sd["state"][1] = {"func_evals": 1, "n_iter": 0}
    assert_rejected_and_unchanged("LBFGS", sd, ValueError, "under the first parameter")


@pytest.mark.parametrize("name", list(OPTIONS))
def test_round_trip_through_nn_save_resumes_identically(name, tmp_path):
    """The good path: a state saved with nn.save, loaded with nn.load into an optimizer built with
    other options, continues exactly as the optimizer it was saved from; the loaded state is a copy."""
    trained = Trained(name)
    nn.save(trained.opt.state_dict(), tmp_path / "opt.npz")
    sd = nn.load(tmp_path / "opt.npz")

    fresh = Trained(name, steps=0, lr=0.5)
    fresh.W.data[...], fresh.b.data[...] = trained.W.data, trained.b.data
    fresh.opt.load_state_dict(sd)
    for value in sd["state"][INDEX[name]].values():  # the caller's dict is not the optimizer's state
        if isinstance(value, ag.Tensor):
            value.data[...] = np.nan
    for _ in range(3):
        trained.step()
        fresh.step()
        np.testing.assert_array_equal(fresh.W.data, trained.W.data)
        np.testing.assert_array_equal(fresh.b.data, trained.b.data)
    assert_same(fresh.opt.state_dict(), trained.opt.state_dict())


def test_lenient_where_torch_is():
    """A one-element array for a count (torch saves ``step`` as a float tensor), an integer array for
    a float buffer (cast), string keys, torch's L-BFGS scratch entry ``al`` and
    ``momentum_buffer=None`` (torch's SGD once saved it): all load."""
    sd = saved("Adam")
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    sd["state"]["1"]["step"] = np.array(3.0)
    sd["state"]["1"]["exp_avg"] = np.array([0, 1, 2, 3])
    trained = Trained("Adam")
    trained.opt.load_state_dict(sd)
    state = trained.opt.state[trained.b]
    assert state["step"] == 3 and type(state["step"]) is int
    assert state["exp_avg"].dtype == ag.float64
    np.testing.assert_array_equal(state["exp_avg"].data, [0.0, 1.0, 2.0, 3.0])

    sd = saved("LBFGS")  # torch's LBFGS also keeps its scratch list 'al': left out
    sd["state"][0]["al"] = [None] * 5
    trained = Trained("LBFGS")
    trained.opt.load_state_dict(sd)
    assert "al" not in trained.opt.state[trained.W]

    sd = saved("SGD")
    sd["state"][1]["momentum_buffer"] = None
    trained = Trained("SGD")
    trained.opt.load_state_dict(sd)
    assert "momentum_buffer" not in trained.opt.state[trained.b]
    trained.step()  # starts b's momentum afresh: b ← b − lr g
    assert trained.opt.state[trained.b]["momentum_buffer"].shape == (4,)


def test_a_custom_optimizer_state_is_copied_as_it_is():
    """An optimizer that declares no state kinds (the extension point) keeps torch's laxness."""

    class Sign(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p]["anything"] = {"note": "kept", "seen": np.ones(7)}

    W, _ = ours_params()
    opt = Sign([W])
    opt.step()
    opt.load_state_dict(opt.state_dict())
    assert opt.state[W]["anything"]["note"] == "kept" and opt.state[W]["anything"]["seen"].shape == (7,)
