"""optim.projections and the ``project`` option: θ ← proj_Θ(θ − ηg) after every step of every
optimizer, equal to torch.optim's step followed by the same projection."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import autograd as ag
import optim
from optim import projections as P
from optim_oracle import assert_same_trajectory, loss_ours, ours_params, trajectory_ours, trajectory_torch

finite = st.floats(-50, 50, allow_nan=False, width=64)


def torch_simplex(t):
    """Reference simplex projection by bisection on the threshold τ (Σ max(v − τ, 0) = 1)."""
    v = t.detach().numpy().reshape(-1)
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.maximum(v - mid, 0).sum() > 1:
            lo = mid
        else:
            hi = mid
    t.copy_(torch.from_numpy(np.maximum(v - (lo + hi) / 2, 0).reshape(t.shape)))


@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=finite))
def test_simplex_is_the_euclidean_projection(v):
    x = v.copy()
    out = P.simplex(x)
    assert out is x
    assert (x >= 0).all() and abs(x.sum() - 1) < 1e-9
    ref = torch.tensor(v.copy())
    torch_simplex(ref)
    np.testing.assert_allclose(x, ref.numpy(), atol=1e-9)
    # projection: no other point of the simplex is closer (checked against the vertices and the
    # centre), and projecting again changes nothing
    dist = np.linalg.norm(x - v)
    for e in list(np.eye(v.size)) + [np.full(v.size, 1 / v.size)]:
        assert dist <= np.linalg.norm(e.reshape(v.shape) - v) + 1e-9
    again = x.copy()
    P.simplex(again)
    np.testing.assert_allclose(again, x, atol=1e-12)


@given(arrays(np.float64, st.integers(1, 6), elements=finite), st.floats(0.0, 10.0))
def test_l2_ball_box_nonnegative(v, radius):
    x = v.copy()
    P.l2_ball(radius)(x)
    assert np.linalg.norm(x) <= radius * (1 + 1e-12)
    norm = np.linalg.norm(v)  # (a BLAS dot: its last bit depends on the host, l2_ball's sum may differ)
    if norm <= radius * (1 - 1e-12):  # inside the ball: untouched, bit for bit
        np.testing.assert_array_equal(x, v)
    else:  # outside, or on the sphere up to rounding (where leaving v or scaling it are both right)
        np.testing.assert_allclose(x, v * min(1.0, radius / norm), rtol=1e-12)
    x = v.copy()
    P.box(-1.5, 2.0)(x)
    np.testing.assert_array_equal(x, np.clip(v, -1.5, 2.0))
    x = v.copy()
    P.nonnegative(x)
    np.testing.assert_array_equal(x, np.maximum(v, 0))


def test_projections_accept_tensors_and_array_bounds():
    t = ag.tensor([[-1.0, 5.0], [0.5, 3.0]])
    P.box(np.array([0.0, 1.0]), np.array([1.0, 2.0]))(t)
    np.testing.assert_array_equal(t.data, np.array([[0.0, 2.0], [0.5, 2.0]], dtype=np.float32))
    assert t.dtype == ag.float32
    P.box(high=1.0)(t)
    assert t.data.max() == 1.0
    with pytest.raises(ValueError, match="low <= high"):
        P.box(1.0, 0.0)
    with pytest.raises(ValueError, match="radius"):
        P.l2_ball(-1.0)


TORCH_PROJ = {
    "nonnegative": (P.nonnegative, lambda t: t.clamp_(min=0)),
    "box": (P.box(-0.3, 0.4), lambda t: t.clamp_(-0.3, 0.4)),
    "l2_ball": (P.l2_ball(0.5), lambda t: t.mul_(min(1.0, 0.5 / t.norm().item()))),
    "simplex": (P.simplex, torch_simplex),
}

OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adagrad", dict(lr=0.1)),
    ("Adadelta", dict(lr=1.0)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05)),
]


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("proj", list(TORCH_PROJ))
def test_projected_step_matches_torch_step_then_projection(name, options, proj):
    ours_p, torch_p = TORCH_PROJ[proj]
    # W is projected with ``proj``; b (the other group) stays in a box
    ours, _ = trajectory_ours(name, options, {}, steps=15, project=ours_p, project1=P.box(-0.2, 0.2))
    theirs, _ = trajectory_torch(name, options, {}, steps=15, project=torch_p,
                                 project1=lambda t: t.clamp_(-0.2, 0.2))
    assert_same_trajectory(ours, theirs, rtol=1e-6, atol=1e-10)
    for W, b in ours:
        assert b.min() >= -0.2 and b.max() <= 0.2
        if proj == "nonnegative":
            assert W.min() >= 0
        elif proj == "box":
            assert W.min() >= -0.3 and W.max() <= 0.4
        elif proj == "l2_ball":
            assert np.linalg.norm(W) <= 0.5 * (1 + 1e-12)
        else:
            assert W.min() >= 0 and abs(W.sum() - 1) < 1e-9


def test_project_may_return_the_projected_array():
    w = ag.tensor([3.0, -2.0], dtype=ag.float64, requires_grad=True)
    opt = optim.SGD([{"params": [w], "project": lambda x: np.clip(x, -1, 1)}], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.data, [1.0, -1.0])
    opt = optim.SGD([{"params": [w], "project": lambda x: x[:1]}], lr=0.1)
    with pytest.raises(ValueError, match="shape"):
        opt.step()


def test_project_is_left_out_of_state_dict_and_kept_on_load():
    w = ag.tensor([3.0, -2.0], dtype=ag.float64, requires_grad=True)
    opt = optim.Adam([{"params": [w], "project": P.nonnegative}], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert "project" not in sd["param_groups"][0]
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["project"] is P.nonnegative


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_constructor_project_is_every_groups_default(name, options):
    """``project=`` of the constructor projects every group that does not name its own, as torch's
    step followed by the projection of both tensors."""
    ours, opt = trajectory_ours(name, {**options, "project": P.box(-0.3, 0.4)}, {}, steps=10)
    theirs, _ = trajectory_torch(name, options, {}, steps=10, project=lambda t: t.clamp_(-0.3, 0.4),
                                 project1=lambda t: t.clamp_(-0.3, 0.4))
    assert_same_trajectory(ours, theirs, rtol=1e-6, atol=1e-10)
    assert opt.defaults["project"] is opt.param_groups[0]["project"] is opt.param_groups[1]["project"]


@pytest.mark.parametrize("name,options", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_a_groups_own_project_overrides_the_constructors(name, options):
    """Group 1 names its own projection; group 0 takes the constructor's."""
    ours, _ = trajectory_ours(name, {**options, "project": P.nonnegative}, {}, steps=10,
                              project1=P.box(-0.2, 0.2))
    theirs, _ = trajectory_torch(name, options, {}, steps=10, project=lambda t: t.clamp_(min=0),
                                 project1=lambda t: t.clamp_(-0.2, 0.2))
    assert_same_trajectory(ours, theirs, rtol=1e-6, atol=1e-10)


def test_a_group_with_project_none_is_unconstrained_and_added_groups_take_the_default():
    W, b = ours_params()
    c = ag.tensor([5.0, -5.0], dtype=ag.float64, requires_grad=True)
    opt = optim.SGD([{"params": [W], "project": None}, {"params": [b]}], lr=0.1, project=P.box(-1, 1))
    opt.add_param_group({"params": [c]})
    assert opt.param_groups[0]["project"] is None
    assert opt.param_groups[1]["project"] is opt.param_groups[2]["project"] is opt.defaults["project"]
    W.data[0, 0], b.data[0] = 7.0, 7.0
    for p in (W, b, c):
        p.grad = ag.zeros_like(p)
    opt.step()
    assert W.data[0, 0] == 7.0 and b.data[0] == 1.0
    np.testing.assert_array_equal(c.data, [1.0, -1.0])


def test_lbfgs_takes_project_from_the_constructor():
    w = ag.tensor([3.0, -2.0], dtype=ag.float64, requires_grad=True)
    opt = optim.LBFGS([w], project=P.nonnegative)

    def closure():
        opt.zero_grad()
        loss = ((w + 1.0) ** 2).sum()  # minimum at -1, outside the feasible set
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(w.data, [0.0, 0.0], atol=1e-12)


def test_constructor_project_and_state_dict(tmp_path):
    """project is never saved (a callable): the state dict saves with nn.save, and loading keeps each
    group's projection of the loading optimizer, whether it came from its constructor or its group."""
    import nn
    W, b = ours_params()
    opt = optim.Adam([{"params": [W]}, {"params": [b], "project": P.box(-0.1, 0.1)}], lr=0.05,
                     project=P.nonnegative)
    loss_ours(W, b).backward()
    opt.step()
    sd = opt.state_dict()
    assert all("project" not in g for g in sd["param_groups"])
    nn.save(sd, tmp_path / "opt.npz")
    loaded = nn.load(tmp_path / "opt.npz")

    W2, b2 = ours_params()
    other = P.l2_ball(1.0)
    opt2 = optim.Adam([W2, b2], project=other)
    with pytest.raises(ValueError, match="parameter group"):  # one group here, two saved
        opt2.load_state_dict(loaded)
    opt2 = optim.Adam([{"params": [W2]}, {"params": [b2], "project": None}], project=other)
    opt2.load_state_dict(loaded)
    assert opt2.param_groups[0]["project"] is other and opt2.param_groups[1]["project"] is None
    assert opt2.param_groups[0]["lr"] == 0.05


def test_project_must_be_callable():
    W, b = ours_params()
    with pytest.raises(TypeError, match="project must be a callable"):
        optim.SGD([W], lr=0.1, project="nonnegative")
    with pytest.raises(TypeError, match="project must be a callable"):
        optim.Adam([{"params": [W]}, {"params": [b], "project": 1.0}])
