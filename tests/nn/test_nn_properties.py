"""Property-based checks (hypothesis): losses and normalisation against torch over random shapes/options."""
import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import nn.functional as F
from nn_torch_helpers import close, to_torch


@given(n=st.integers(1, 6), c=st.integers(2, 5), extra=st.sampled_from([(), (3,)]),
       reduction=st.sampled_from(["mean", "sum", "none"]), smoothing=st.sampled_from([0.0, 0.25]),
       weighted=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_cross_entropy_random_shapes(n, c, extra, reduction, smoothing, weighted, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c) + extra) * 3).astype(np.float64)
    t = rng.integers(0, c, size=(n,) + extra)
    t[rng.random(t.shape) < 0.2] = -100
    if reduction == "mean":
        t.flat[0] = 0  # at least one kept entry (all ignored is 0/0 = nan in both)
    w = rng.random(c) + 0.1 if weighted else None
    ours_x, theirs_x = ag.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    out = F.cross_entropy(ours_x, ag.tensor(t), weight=None if w is None else ag.tensor(w), reduction=reduction,
                          label_smoothing=smoothing)
    tout = torch.nn.functional.cross_entropy(theirs_x, torch.from_numpy(t),
                                             weight=None if w is None else torch.from_numpy(w),
                                             reduction=reduction, label_smoothing=smoothing)
    close(out, tout, 1e-10, 1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(ag.tensor(g))
    tout.backward(torch.from_numpy(g))
    close(ours_x.grad, theirs_x.grad, 1e-10, 1e-12)


@given(n=st.integers(2, 6), c=st.integers(1, 4), length=st.sampled_from([None, 1, 3]), seed=st.integers(0, 2 ** 16))
def test_batch_norm_random_shapes(n, c, length, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c) if length is None else (n, c, length)
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.random(c) + 0.5, rng.standard_normal(c)
    rm, rv = np.zeros(c), np.ones(c)
    trm, trv = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    ours_x, theirs_x = ag.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    ow, tw = ag.tensor(w, requires_grad=True), to_torch(w, requires_grad=True)
    ours_rm, ours_rv = ag.tensor(rm), ag.tensor(rv)
    out = F.batch_norm(ours_x, ours_rm, ours_rv, ow, ag.tensor(b), training=True, momentum=0.3)
    tout = torch.nn.functional.batch_norm(theirs_x, trm, trv, tw, torch.from_numpy(b), training=True, momentum=0.3)
    close(out, tout, 1e-9, 1e-10)
    close(ours_rm, trm, 1e-12, 1e-12)
    close(ours_rv, trv, 1e-12, 1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(ag.tensor(g))
    tout.backward(torch.from_numpy(g))
    close(ours_x.grad, theirs_x.grad, 1e-8, 1e-9)
    close(ow.grad, tw.grad, 1e-8, 1e-9)
