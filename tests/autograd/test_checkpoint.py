"""ag.checkpoint and nn.utils.checkpoint_sequential: the gradients of the plain run (parameters the
function reads included, random draws replayed, second order), less memory held between forward and
backward, and against torch.utils.checkpoint."""
import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import autograd as ag
import nn
from nn.utils import checkpoint_sequential


def _mlp(depth=6, width=16, dropout=0.0):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers)


def _grads(model, x):
    return [p.grad.data.copy() for p in model.parameters()] + [x.grad.data.copy()]


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_checkpoint_gives_the_plain_gradients_with_the_same_random_draws(dropout):
    ag.manual_seed(0)
    model = _mlp(dropout=dropout)
    x = ag.randn(8, 16, requires_grad=True)
    ag.manual_seed(5)
    y = ag.checkpoint(model, x)
    (y ** 2).sum().backward()
    checkpointed = _grads(model, x)
    model.zero_grad()
    x.grad = None
    ag.manual_seed(5)
    plain = model(x)
    (plain ** 2).sum().backward()
    np.testing.assert_array_equal(y.data, plain.data)
    for a, b in zip(checkpointed, _grads(model, x)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoint_sequential_matches_torch():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(*[m for _ in range(4) for m in (torch.nn.Linear(6, 6), torch.nn.Tanh())])
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(6, 6), nn.Tanh())])
    model.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in tmodel.state_dict().items()})
    xs = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    x, tx = ag.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
    checkpoint_sequential(model, 3, x).sum().backward()
    tcp.checkpoint_sequential(tmodel, 3, tx, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_checkpoint_with_ag_grad_and_second_order():
    x = ag.randn(3, 4, dtype=ag.float64, requires_grad=True)
    w = ag.randn(4, 4, dtype=ag.float64, requires_grad=True)
    f = lambda t: ((t @ w).tanh() * t).sum(-1)  # noqa: E731  (w: read from the closure)
    (gw,) = ag.grad(ag.checkpoint(f, x).sum(), w)
    (gw_plain,) = ag.grad(f(x).sum(), w)
    np.testing.assert_allclose(gw.data, gw_plain.data, rtol=1e-12)
    (g,) = ag.grad(ag.checkpoint(f, x).sum(), x, create_graph=True)
    (h,) = ag.grad((g * g).sum(), x)
    (g2,) = ag.grad(f(x).sum(), x, create_graph=True)
    (h2,) = ag.grad((g2 * g2).sum(), x)
    np.testing.assert_allclose(h.data, h2.data, rtol=1e-10)


def test_checkpoint_holds_fewer_activations_between_forward_and_backward():
    """What stays alive after the forward: with checkpoints, the segments' inputs and the last
    segment's activations (it runs plainly, as in torch); without, every layer's saved activations
    (32 layers here: 8 segments keep 7 inputs and 4 layers' worth)."""
    import gc
    import tracemalloc

    model = _mlp(depth=16, width=256)
    x = ag.randn(128, 256, requires_grad=True)

    def held(run):
        gc.collect()
        tracemalloc.start()
        out = run()
        gc.collect()
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        out.sum().backward()
        return size

    plain = held(lambda: model(x))
    model.zero_grad()
    segmented = held(lambda: checkpoint_sequential(model, 8, x))
    assert segmented * 2 < plain, (segmented, plain)


@pytest.mark.parametrize("how", ["backward", "ag.grad"])
def test_the_recomputed_inside_is_freed_as_backward_passes_it(how):
    """The walk through the recomputed inside lets each node go once it has passed its gradient on:
    when the gradient reaches the first op inside, the ones after it are already freed (their
    values with them), in a .backward() and in an ag.grad; the gradients stay the plain ones."""
    import weakref

    x = ag.randn(5, 3, dtype=ag.float64, requires_grad=True)
    w = ag.randn(3, 3, dtype=ag.float64, requires_grad=True)
    late: list = []
    seen: list = []

    def f(t):
        a = t @ w
        b = a.tanh()
        c = b * 3.0
        late[:] = [weakref.ref(b), weakref.ref(c)]
        if a.requires_grad:
            a.register_hook(lambda g: seen.append([r() is None for r in late]))
        return c.sum(-1)

    out = ag.checkpoint(f, x)
    if how == "backward":
        out.sum().backward()
        got = [x.grad.data, w.grad.data]
    else:
        got = [g.data for g in ag.grad(out.sum(), [x, w])]
    # the hook ran in the first forward's graph never (it is dropped unwalked), once in the recomputed one
    assert seen == [[True, True]]
    x2, w2 = x.detach().requires_grad_(), w.detach().requires_grad_()
    ((x2 @ w2).tanh() * 3.0).sum().backward()
    np.testing.assert_allclose(got[0], x2.grad.data, rtol=1e-12)
    np.testing.assert_allclose(got[1], w2.grad.data, rtol=1e-12)


def test_checkpoint_returns_tuples_and_refuses_non_tensors():
    x = ag.randn(3, requires_grad=True)
    a, b = ag.checkpoint(lambda t: (t * 2, t.exp()), x)
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(x.grad.data, 2 + np.exp(x.data), rtol=1e-6)
    with pytest.raises(TypeError, match="Tensor"):
        ag.checkpoint(lambda t: [t.sum().item()], x)
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(_mlp(depth=1), 3, x)


def test_a_weight_shared_by_checkpointed_calls_and_the_plain_graph_sums_its_gradients():
    """Under .backward() the recomputation accumulates the parameters' gradients as it makes them
    (not holding a segment's worth); a weight read by two checkpointed calls and outside them gets
    the sum of all three, as without checkpoints; ag.grad of the same still returns it."""
    rng = np.random.default_rng(1)
    w = ag.tensor(rng.standard_normal((5, 5)), requires_grad=True)
    x = ag.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    f = lambda t: (t @ w).tanh()  # noqa: E731

    def loss(run):
        return (run(f, run(f, x)) @ w).sum()

    loss(ag.checkpoint).backward()
    got_w, got_x = w.grad.data.copy(), x.grad.data.copy()
    w.grad = x.grad = None
    loss(lambda fn, t: fn(t)).backward()
    np.testing.assert_allclose(got_w, w.grad.data, rtol=1e-12)
    np.testing.assert_allclose(got_x, x.grad.data, rtol=1e-12)
    gw, gx = ag.grad(loss(ag.checkpoint), (w, x))
    np.testing.assert_allclose(gw.data, w.grad.data, rtol=1e-12)
    np.testing.assert_allclose(gx.data, x.grad.data, rtol=1e-12)
