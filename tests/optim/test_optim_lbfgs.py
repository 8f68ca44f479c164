"""L-BFGS against torch.optim.LBFGS on Rosenbrock, with and without the strong-Wolfe line search."""
import numpy as np
import pytest
import torch

import autograd as ag
import optim

X0 = np.array([-1.5, 0.3, -0.8])
Y0 = np.array([2.0, -0.5, 1.2])


def rosenbrock(x, y):
    """Three independent 2-D Rosenbrock functions, Σ 100 (y − x²)² + (1 − x)², minimum at x = y = 1."""
    return (100 * (y - x ** 2) ** 2 + (1 - x) ** 2).sum()


def run(lib, options, steps, project=None):
    if lib == "ours":
        x = ag.tensor(X0, dtype=ag.float64, requires_grad=True)
        y = ag.tensor(Y0, dtype=ag.float64, requires_grad=True)
        group = {"params": [x, y]}
        if project is not None:
            group["project"] = project
        opt = optim.LBFGS([group], **options)
    else:
        x = torch.tensor(X0, requires_grad=True)
        y = torch.tensor(Y0, requires_grad=True)
        opt = torch.optim.LBFGS([x, y], **options)
    evals = []

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x, y)
        loss.backward()
        evals.append(loss.item())
        return loss

    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        if lib == "torch" and project is not None:
            with torch.no_grad():
                project(x)
                project(y)
        xs = x.data if lib == "ours" else x.detach().numpy()
        ys = y.data if lib == "ours" else y.detach().numpy()
        out.append((loss.item(), xs.copy(), ys.copy()))
    state = opt.state[x]
    return out, evals, (state["func_evals"], state["n_iter"]), opt


# (options, steps). Each step runs up to max_iter iterations. On Rosenbrock's curved valley the line
# search amplifies rounding: torch itself, started 1e-15 (relative) away, is 3e-4 away after two
# steps of the default options (40 iterations), so that case is compared over one step; ours stays
# closer to torch than torch to its perturbed self in every case.
OPTIONS = [
    (dict(line_search_fn="strong_wolfe"), 1),
    (dict(line_search_fn="strong_wolfe", max_iter=8), 3),
    (dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7), 6),
    (dict(line_search_fn="strong_wolfe", lr=0.5, max_eval=12, tolerance_change=1e-12), 6),
    (dict(lr=0.05), 6),
    (dict(lr=0.1, history_size=2, max_iter=5), 6),
    (dict(lr=0.02, max_iter=30, max_eval=40, tolerance_grad=1e-5), 6),
]


@pytest.mark.parametrize("options,steps", OPTIONS, ids=[str(o) for o, _ in OPTIONS])
def test_lbfgs_matches_torch_on_rosenbrock(options, steps):
    ours, evals, counts, _ = run("ours", options, steps=steps)
    theirs, tevals, tcounts, _ = run("torch", options, steps=steps)
    assert counts == tcounts
    np.testing.assert_allclose(evals, tevals, rtol=1e-6, atol=1e-12)
    for k, ((loss, x, y), (tloss, tx, ty)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(loss, tloss, rtol=1e-6, atol=1e-12, err_msg=f"loss of step {k}")
        np.testing.assert_allclose(x, tx, rtol=1e-6, atol=1e-12, err_msg=f"x after step {k}")
        np.testing.assert_allclose(y, ty, rtol=1e-6, atol=1e-12, err_msg=f"y after step {k}")


def test_lbfgs_strong_wolfe_converges_to_the_minimum():
    ours, _, _, _ = run("ours", dict(line_search_fn="strong_wolfe", max_iter=100), steps=3)
    loss, x, y = ours[-1]
    np.testing.assert_allclose(x, 1.0, atol=1e-5)
    np.testing.assert_allclose(y, 1.0, atol=1e-5)


def test_lbfgs_state_dict_resumes_identically():
    """Two steps, save (through nn.save/nn.load), load into a fresh optimizer, three more steps:
    the same iterates as five uninterrupted steps."""
    import nn
    options = dict(line_search_fn="strong_wolfe", max_iter=4, history_size=5)
    full, _, _, _ = run("ours", options, steps=5)
    first, _, _, opt = run("ours", options, steps=2)

    x = ag.tensor(first[-1][1], dtype=ag.float64, requires_grad=True)
    y = ag.tensor(first[-1][2], dtype=ag.float64, requires_grad=True)
    opt2 = optim.LBFGS([x, y], **options)
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "lbfgs.npz")
        nn.save(opt.state_dict(), path)
        opt2.load_state_dict(nn.load(path))

    def closure():
        opt2.zero_grad()
        loss = rosenbrock(x, y)
        loss.backward()
        return loss

    for k in range(2, 5):
        loss = opt2.step(closure)
        np.testing.assert_allclose(float(loss), full[k][0], rtol=1e-12)
        np.testing.assert_allclose(x.data, full[k][1], rtol=1e-12)
        np.testing.assert_allclose(y.data, full[k][2], rtol=1e-12)


def test_lbfgs_projection_after_each_step():
    proj = optim.projections.box(-1.0, 0.9)
    ours, _, _, _ = run("ours", dict(line_search_fn="strong_wolfe", max_iter=5), steps=4, project=proj)
    theirs, _, _, _ = run("torch", dict(line_search_fn="strong_wolfe", max_iter=5), steps=4,
                          project=lambda t: t.clamp_(-1.0, 0.9))
    for (loss, x, y), (tloss, tx, ty) in zip(ours, theirs):
        assert x.min() >= -1.0 and x.max() <= 0.9 and y.min() >= -1.0 and y.max() <= 0.9
        np.testing.assert_allclose(x, tx, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(y, ty, rtol=1e-6, atol=1e-12)


def test_lbfgs_rejects_groups_and_bad_options():
    x = ag.tensor([1.0], dtype=ag.float64, requires_grad=True)
    y = ag.tensor([1.0], dtype=ag.float64, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [y]}])
    opt = optim.LBFGS([x])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [y]})
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size"):
        optim.LBFGS([x], history_size=0)
    with pytest.raises(ValueError, match="lr"):
        optim.LBFGS([x], lr=-1)
    with pytest.raises(RuntimeError, match="closure"):
        opt.step()
