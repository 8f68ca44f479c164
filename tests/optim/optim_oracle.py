"""The shared float64 problem on which optimizer trajectories are compared with torch.optim.

Two parameter tensors (W: 3x4, b: 4) in two parameter groups; the loss is computed with our engine's
backward on our tensors and with torch's autograd on torch's tensors, from the same numbers.

Comparing with torch is only meaningful while rounding cannot reach the tolerance. Two programs
(or one program on two hosts: OpenBLAS picks its kernels by CPU, numpy its SIMD loops) round the
last bits differently, and an optimizer amplifies such differences at a rate set by the problem
(a chaotic one such as L-BFGS on Rosenbrock's valley, or Adam oscillating around a minimum, by
orders of magnitude per few steps). ``rounding_noise`` stands in for another host: a few ulps of
relative noise in every gradient. A test that compares with torch checks with it that the steps it
compares element by element move by less than 1% of the tolerance under that noise
(``tolerance_used``), and compares later steps only in what rounding cannot move (the loss).
"""
import numpy as np
import torch

import autograd as ag
import optim

RNG = np.random.default_rng(1234)
X = RNG.normal(size=(8, 3))
Y = RNG.uniform(-0.8, 0.8, size=(8, 4))
W0 = RNG.normal(scale=0.5, size=(3, 4))
B0 = RNG.normal(scale=0.5, size=(4,))


def loss_ours(W, b):
    h = (ag.tensor(X, dtype=ag.float64) @ W + b).tanh()
    return ((h - ag.tensor(Y, dtype=ag.float64)) ** 2).mean() + 0.01 * (W ** 4).sum()


def loss_torch(W, b):
    h = torch.tanh(torch.tensor(X) @ W + b)
    return ((h - torch.tensor(Y)) ** 2).mean() + 0.01 * (W ** 4).sum()


def ours_params(w0=W0, b0=B0):
    return (ag.tensor(w0, dtype=ag.float64, requires_grad=True),
            ag.tensor(b0, dtype=ag.float64, requires_grad=True))


def torch_params(w0=W0, b0=B0):
    return (torch.tensor(w0, dtype=torch.float64, requires_grad=True),
            torch.tensor(b0, dtype=torch.float64, requires_grad=True))


# torch's optimizers that take ``foreach``: ask for the single-tensor loop (the reference algorithm)
NO_FOREACH = {"SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam"}


def torch_optimizer(name, groups, options):
    cls = getattr(torch.optim, name)
    extra = {"foreach": False} if name in NO_FOREACH else {}
    return cls(groups, **options, **extra)


def ours_optimizer(name, groups, options):
    return getattr(optim, name)(groups, **options)


def loss_value(W, b):
    """The loss at (W, b), in numpy (for comparing trajectories by their loss)."""
    h = np.tanh(X @ W + b)
    return float(((h - Y) ** 2).mean() + 0.01 * (W ** 4).sum())


def rounding_noise(seed, ulps=3):
    """A function that multiplies an array in place by 1 + k·2⁻⁵³, k a random integer in
    [−ulps, ulps] for each element: a few ulps of relative noise, as another host's rounding of the
    same computation would give."""
    rng = np.random.default_rng(seed)

    def perturb(array):
        array *= 1 + rng.integers(-ulps, ulps + 1, size=array.shape) * 2.0 ** -53

    return perturb


def tolerance_used(actual, desired, rtol=1e-6, atol=1e-12):
    """The largest |actual − desired| / (atol + rtol |desired|): the fraction of
    ``assert_allclose(actual, desired, rtol, atol)``'s tolerance that the difference takes."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    return float((np.abs(actual - desired) / (atol + rtol * np.abs(desired))).max())


def trajectory_ours(name, options, group1, steps=30, project=None, project1=None, noise=None):
    """Our optimizer's trajectory [(W, b) after each step] and the optimizer; ``noise`` (see
    rounding_noise) perturbs every gradient before the step."""
    W, b = ours_params()
    g0 = {"params": [W]}
    g1 = {"params": [b], **group1}
    if project is not None:
        g0["project"] = project
    if project1 is not None:
        g1["project"] = project1
    opt = ours_optimizer(name, [g0, g1], options)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_ours(W, b)
        loss.backward()
        if noise is not None:
            noise(W.grad.data)
            noise(b.grad.data)
        opt.step()
        out.append((W.data.copy(), b.data.copy()))
    return out, opt


def trajectory_torch(name, options, group1, steps=30, project=None, project1=None):
    """torch.optim's trajectory; ``project`` (a function of a torch tensor, in place) is applied to
    W after every step, as the lecture's projected SGD does."""
    W, b = torch_params()
    opt = torch_optimizer(name, [{"params": [W]}, {"params": [b], **group1}], options)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_torch(W, b)
        loss.backward()
        opt.step()
        with torch.no_grad():
            if project is not None:
                project(W)
            if project1 is not None:
                project1(b)
        out.append((W.detach().numpy().copy(), b.detach().numpy().copy()))
    return out, opt


def assert_same_trajectory(ours, theirs, rtol=1e-6, atol=1e-12):
    assert len(ours) == len(theirs)
    for k, ((w, b), (tw, tb)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(w, tw, rtol=rtol, atol=atol, err_msg=f"W after step {k + 1}")
        np.testing.assert_allclose(b, tb, rtol=rtol, atol=atol, err_msg=f"b after step {k + 1}")
