"""ag.Graph's compiled replay (autograd/replay.py) against the eager engine.

A Tensor graph captured by ag.Graph is re-run through a Plan: generated straight-line Python for
forward and backward. Every test here rebuilds the same computation eagerly (fresh leaves with the
same values, or the same parameters) and compares values, dtypes and ``.grad``; the node-by-node
path (Scalar graphs, ag.Function nodes, detect_anomaly(), graphs rewired in place) is the
reference where the plan must agree with it. Every test runs twice: with the plan written whole, as
these small graphs are, and written in pieces of 2 lines, as a large graph is (test_graph_scale.py).
"""
import numpy as np
import pytest
import torch

import autograd as ag
import nn
import optim
from autograd import replay
from nn import functional as F


@pytest.fixture(autouse=True, params=["whole", "pieces of 2 lines"])
def piece_size(request, monkeypatch):
    """Every test runs twice: with the plan's functions whole (these graphs are small), and written
    in pieces of 2 lines, so that a gradient pending across pieces travels through ``pending`` (and
    multi-path sums, hooks, leaves' gradients and the checks all meet a piece boundary somewhere)."""
    if request.param != "whole":
        monkeypatch.setattr(replay, "PIECE_LINES", 2)
    return request.param


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def close(got, want, rtol=1e-12):
    got = got.detach().numpy() if isinstance(got, ag.Tensor) else np.asarray(got)
    want = want.detach().numpy() if isinstance(want, ag.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-13)


def grads_of(leaves):
    return [None if t.grad is None else t.grad.detach().numpy().copy() for t in leaves]


def replay_then_eager(g, feeds, params, eager_loss):
    """g replayed on ``feeds`` (forward and backward), then ``eager_loss()`` built and backpropagated
    from fresh gradients: (replayed loss, replayed gradients of ``params``, eager loss), the eager
    gradients left in the params' .grad."""
    for p in params:
        p.grad = None
    loss = g.forward(feeds=feeds)
    g.backward()
    got = grads_of(params)
    for p in params:
        p.grad = None
    want = eager_loss()
    want.backward()
    return loss, got, want


def eager_grads(fn, values):
    """fn applied to fresh leaves (requiring grad) with ``values``: (output, leaves' grads)."""
    leaves = [ag.tensor(v, requires_grad=True) for v in values]
    out = fn(*leaves)
    out.backward()
    return out, grads_of(leaves)


def check_replay(fn, shapes, steps=3):
    """Capture fn on leaves of ``shapes``, then feed new values ``steps`` times: value and grads
    of g.forward()/g.backward() equal those of fn rebuilt eagerly on the same values."""
    leaves = [ag.tensor(rnd(s, i), requires_grad=True) for i, s in enumerate(shapes)]
    g = ag.Graph(fn(*leaves))
    assert g._compiled() is not None, "a Tensor graph of built-in ops is replayed through a plan"
    for step in range(steps):
        values = [rnd(s, 100 * (step + 1) + i) for i, s in enumerate(shapes)]
        out = g.forward(feeds=dict(zip(leaves, values)))
        for t in leaves:
            t.grad = None
        g.backward()
        want, want_grads = eager_grads(fn, values)
        close(out, want)
        for got, w in zip(grads_of(leaves), want_grads):
            close(got, w)
    return g


# -- 1. multi-path, broadcasting, reductions, matmul chains, an nn model --------------------------

def test_multi_path_reuse_of_a_tensor_and_an_intermediate():
    def fn(x, w):
        h = x * w  # used by two branches below
        a = h.exp() * h
        b = (x * x + x + x) * h.tanh()
        c = (x - x * 2) / (w * w + 1)  # x and w each reach c along two paths
        return (a + b + c + h).sum()

    g = check_replay(fn, [(4, 3), (4, 3)])
    assert "def forward" in g.code and "def backward" in g.code


def test_multi_path_matches_torch():
    xv, wv = rnd((3, 4), 1), rnd((3, 4), 2)
    x, w = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    h = x * w
    g = ag.Graph((h.exp() * h + x * x + h.tanh() * x).mean())
    x.grad = w.grad = None
    g.forward()
    g.backward()
    tx, tw = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
    th = tx * tw
    tl = (th.exp() * th + tx * tx + th.tanh() * tx).mean()
    tl.backward()
    np.testing.assert_allclose(g.outputs[0].item(), tl.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_same_tensor_as_both_operands():
    check_replay(lambda x: (x * x + x + x - x / (x * x + 1)).sum(), [(6,)])


def test_broadcasting_bias_and_outer_shapes():
    def fn(X, W, b, u, v):
        out = X @ W + b  # b (3,) broadcast over 5 rows
        outer = u * v  # (5, 1) * (1, 4) -> (5, 4)
        return (out.tanh() ** 2).sum() + (outer * outer.sigmoid()).mean()

    check_replay(fn, [(5, 2), (2, 3), (3,), (5, 1), (1, 4)])


def test_broadcast_gradients_with_a_new_batch_size():
    rng = np.random.default_rng(3)
    X = ag.tensor(rng.standard_normal((5, 2)))
    W = ag.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(3), requires_grad=True)
    col = ag.tensor(rng.standard_normal((5, 1)))
    g = ag.Graph((((X @ W) + b) * col).sum())
    for n in (7, 2, 5):
        Xb, cb = rng.standard_normal((n, 2)), rng.standard_normal((n, 1))
        out = g.forward(feeds={X: Xb, col: cb})
        W.grad = b.grad = None
        g.backward()
        assert b.grad.shape == (3,) and W.grad.shape == (2, 3)
        W2, b2 = ag.tensor(W.detach().numpy(), requires_grad=True), ag.tensor(b.detach().numpy(), requires_grad=True)
        want = (((ag.tensor(Xb) @ W2) + b2) * ag.tensor(cb)).sum()
        want.backward()
        close(out, want)
        close(W.grad, W2.grad)
        close(b.grad, b2.grad)
        close(b.grad, np.repeat(cb.sum(), 3))


def test_reductions_to_0d():
    def fn(x, y):
        s = x.sum()
        m = y.mean()
        rows = x.sum(1, keepdim=True).mean(0)  # (1,)
        return s * m + (x * y).mean() + rows.sum() + (x.amax() - y.var())

    g = check_replay(fn, [(4, 5), (4, 5)])
    assert g.outputs[0].shape == ()
    assert isinstance(g.outputs[0].data, np.ndarray)


def test_matmul_chain():
    def fn(A, B, C, v):
        return ((A @ B @ C) @ v).tanh().sum() + (A @ (B @ C)).pow(2).mean()

    check_replay(fn, [(3, 4), (4, 5), (5, 2), (2,)])


def _model():
    return nn.Sequential(nn.Linear(4, 16, dtype=ag.float64), nn.ReLU(), nn.Linear(16, 8, dtype=ag.float64),
                         nn.ReLU(), nn.Linear(8, 3, dtype=ag.float64))


@pytest.mark.parametrize("make_opt", [lambda ps: optim.Adam(ps, lr=1e-2), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)],
                         ids=["adam", "sgd"])
def test_nn_model_new_batch_sizes_and_optimizer_steps(make_opt):
    rng = np.random.default_rng(5)
    model = _model()
    params = list(model.parameters())
    x = ag.tensor(rng.standard_normal((8, 4)))
    y = ag.tensor(rng.integers(0, 3, 8))
    assert y.dtype == np.int64
    g = ag.Graph(F.cross_entropy(model(x), y))
    assert g._compiled() is not None
    opt = make_opt(params)
    for n in (5, 13, 1, 8):
        xb, yb = rng.standard_normal((n, 4)), rng.integers(0, 3, n)
        loss, got, want = replay_then_eager(g, {x: xb, y: yb}, params,
                                            lambda: F.cross_entropy(model(ag.tensor(xb)), ag.tensor(yb)))
        close(loss, want)
        for p, gr in zip(params, got):
            assert gr.shape == p.shape
            close(gr, p.grad)
        # torch agrees on the loss too (same weights)
        tl = torch.nn.functional.cross_entropy(
            _torch_forward(model, torch.tensor(xb)), torch.tensor(yb))
        np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-10)
        opt.step()  # the replayed gradients are still in .grad after the eager comparison


def _torch_forward(model, x):
    for m in model.children():
        if isinstance(m, nn.Linear):
            x = x @ torch.tensor(m.weight.detach().numpy()).T + torch.tensor(m.bias.detach().numpy())
        else:
            x = torch.relu(x)
    return x


def test_float32_model_replay_is_bit_identical_to_eager():
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    params = list(model.parameters())
    x = ag.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    t = ag.tensor(rng.standard_normal((4, 2)).astype(np.float32))
    g = ag.Graph(F.mse_loss(model(x), t))
    for n in (4, 9):
        xb = rng.standard_normal((n, 3)).astype(np.float32)
        tb = rng.standard_normal((n, 2)).astype(np.float32)
        loss, got, want = replay_then_eager(g, {x: xb, t: tb}, params,
                                            lambda: F.mse_loss(model(ag.tensor(xb)), ag.tensor(tb)))
        assert loss.dtype == want.dtype == np.float32
        np.testing.assert_array_equal(loss.detach().numpy(), want.detach().numpy())
        for gr, p in zip(got, params):
            assert gr.dtype == np.float32
            np.testing.assert_array_equal(gr, p.grad.numpy())


def test_relu_gradient_in_place_only_where_no_one_else_sees_it():
    """The replay multiplies the gradient that linear's rule made for a ReLU's output in place
    (kernels.IN_PLACE): never a gradient a hook was shown or that retain_grad() keeps."""
    rng = np.random.default_rng(7)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    params = list(model.parameters())
    x = ag.tensor(rng.standard_normal((8, 3)).astype(np.float32))
    t = ag.tensor(rng.integers(0, 2, 8))
    h1 = model[1](model[0](x))  # the ReLU outputs, built as Sequential builds them
    h2 = model[3](model[2](h1))
    g = ag.Graph(F.cross_entropy(model[4](h2), t))
    assert "r_relu_0_in_place(" in g.code  # (each distinct piece of a plan in pieces shown once)
    seen = []
    for step in range(3):
        if step == 1:
            h1.register_hook(lambda gr: seen.append(gr))  # keeps the array it was shown
            h2.retain_grad()
        h2.grad = None  # (a retained gradient adds up over backward passes, as a leaf's does)
        xb = rng.standard_normal((8, 3)).astype(np.float32)
        tb = rng.integers(0, 2, 8)
        _, got, _ = replay_then_eager(g, {x: xb, t: tb}, params,
                                      lambda xb=xb, tb=tb: F.cross_entropy(model(ag.tensor(xb)), ag.tensor(tb)))
        for gr, p in zip(got, params):
            np.testing.assert_array_equal(gr, p.grad.numpy())
    eager = []
    eh1 = model[1](model[0](ag.tensor(xb)))
    eh1.register_hook(lambda gr: eager.append(gr))
    eh2 = model[3](model[2](eh1))
    eh2.retain_grad()
    F.cross_entropy(model[4](eh2), ag.tensor(tb)).backward()
    np.testing.assert_array_equal(seen[-1].numpy(), eager[-1].numpy())  # not multiplied by the mask since
    np.testing.assert_array_equal(h2.grad.numpy(), eh2.grad.numpy())


# -- 2. mixed dtypes -------------------------------------------------------------------------------

def test_float32_times_int64_keeps_float32():
    xv = rnd((2, 3), 1).astype(np.float32)
    kv = np.arange(6, dtype=np.int64).reshape(2, 3) - 2
    x = ag.tensor(xv, requires_grad=True)
    k = ag.tensor(kv)
    h = x * k
    y = (h * h + h).sum()
    g = ag.Graph(y)
    for step in range(2):
        xn = rnd((2, 3), 10 + step).astype(np.float32)
        kn = kv * (step + 2)
        out = g.forward(feeds={x: xn, k: kn})
        x.grad = None
        g.backward()
        ex = ag.tensor(xn, requires_grad=True)
        eh = ex * ag.tensor(kn)
        ey = (eh * eh + eh).sum()
        ey.backward()
        assert eh.dtype == np.float32 and h.dtype == np.float32  # not numpy's float64
        assert out.dtype == ey.dtype == np.float32
        assert x.grad.dtype == ex.grad.dtype == np.float32
        np.testing.assert_array_equal(h.detach().numpy(), eh.detach().numpy())
        np.testing.assert_array_equal(out.detach().numpy(), ey.detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), ex.grad.numpy())


def test_float32_times_float64_promotes_and_grads_keep_leaf_dtypes():
    xv, wv = rnd((3, 2), 1).astype(np.float32), rnd((3, 2), 2)
    x, w = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    z = x * w
    g = ag.Graph((z.exp() * x).sum())
    xn, wn = rnd((3, 2), 3).astype(np.float32), rnd((3, 2), 4)
    out = g.forward(feeds={x: xn, w: wn})
    g.backward()
    ex, ew = ag.tensor(xn, requires_grad=True), ag.tensor(wn, requires_grad=True)
    ez = ex * ew
    ey = (ez.exp() * ex).sum()
    ey.backward()
    assert z.dtype == ez.dtype == np.float64
    assert out.dtype == ey.dtype == np.float64
    assert x.grad.dtype == ex.grad.dtype == np.float32
    assert w.grad.dtype == ew.grad.dtype == np.float64
    np.testing.assert_array_equal(out.detach().numpy(), ey.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), ex.grad.numpy())
    np.testing.assert_array_equal(w.grad.numpy(), ew.grad.numpy())


def test_integer_division_and_int_matmul_operand():
    # float64 * int64, float64 / int64 and float64 @ int64 cast the integer operand
    a = ag.tensor(np.array([[1, 2], [3, 4]]))
    b = ag.tensor(np.array([[2, 3], [4, 5]]))
    w = ag.tensor(rnd((2, 2), 7), requires_grad=True)
    y = ((w * a) / b).sum() + (w @ a).sum()
    g = ag.Graph(y)
    out = g.forward(feeds={a: np.array([[5, 6], [7, 8]]), b: np.array([[3, 3], [3, 3]])})
    g.backward()
    ew = ag.tensor(w.detach().numpy(), requires_grad=True)
    ea, eb = ag.tensor(np.array([[5, 6], [7, 8]])), ag.tensor(np.array([[3, 3], [3, 3]]))
    ey = ((ew * ea) / eb).sum() + (ew @ ea).sum()
    ey.backward()
    close(out, ey)
    close(w.grad, ew.grad)


# -- 3. multiple outputs ---------------------------------------------------------------------------

def test_multiple_outputs_seed_each_with_ones():
    xv, wv = rnd(4, 1), rnd(4, 2)
    x, w = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    a = (x * w).sum()
    b = a * a + x.exp().sum()  # b depends on a
    g = ag.Graph(a, b)
    assert g._compiled() is not None
    xn, wn = rnd(4, 3), rnd(4, 4)
    outs = g.forward(feeds={x: xn, w: wn})
    assert isinstance(outs, tuple) and len(outs) == 2
    x.grad = w.grad = None
    g.backward()

    ex, ew = ag.tensor(xn, requires_grad=True), ag.tensor(wn, requires_grad=True)
    ea = (ex * ew).sum()
    eb = ea * ea + ex.exp().sum()
    close(outs[0], ea)
    close(outs[1], eb)
    ea.backward(retain_graph=True)
    eb.backward()
    close(x.grad, ex.grad)
    close(w.grad, ew.grad)
    # the same as (a + b).backward()
    ex2, ew2 = ag.tensor(xn, requires_grad=True), ag.tensor(wn, requires_grad=True)
    ea2 = (ex2 * ew2).sum()
    (ea2 + ea2 * ea2 + ex2.exp().sum()).backward()
    close(x.grad, ex2.grad)
    close(w.grad, ew2.grad)


def test_same_output_twice_gets_two_seeds():
    x = ag.tensor(rnd(3), requires_grad=True)
    y = (x * x).sum()
    g = ag.Graph(y, y)
    g.forward()
    g.backward()
    close(x.grad, 4 * x.detach().numpy())


def test_non_scalar_output_with_gradient_argument():
    xv, gv = rnd((2, 3), 1), rnd((2, 3), 2)
    x = ag.tensor(xv, requires_grad=True)
    g = ag.Graph((x * x).tanh() + x)
    g.forward()
    g.backward(gradient=gv)
    ex = ag.tensor(xv, requires_grad=True)
    ((ex * ex).tanh() + ex).backward(gradient=gv)
    close(x.grad, ex.grad)


# -- 4. code and plan use --------------------------------------------------------------------------

def test_code_of_a_tensor_graph_and_of_a_scalar_graph():
    x = ag.tensor(rnd((2, 3)), requires_grad=True)
    W = ag.tensor(rnd((3, 4), 1), requires_grad=True)
    g = ag.Graph((x @ W).relu().sum())
    assert g._compiled() is not None
    code = g.code
    assert "def forward" in code and "def backward" in code
    for op in ("matmul", "relu", "sum"):
        assert op in code

    a, b = ag.Scalar(2.0), ag.Scalar(-3.0)
    gs = ag.Graph((a * b + a).tanh())
    assert gs._compiled() is None
    assert "node by node" in gs.code
    assert "def forward" not in gs.code


def test_function_node_graph_falls_back_and_agrees():
    class Cube(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    xv = rnd(5)
    x = ag.tensor(xv, requires_grad=True)
    g = ag.Graph((Cube.apply(x) + x.exp()).sum())
    assert g._compiled() is None and "node by node" in g.code
    x.grad = None
    xn = rnd(5, 9)
    out = g.forward(feeds={x: xn})
    g.backward()
    np.testing.assert_allclose(out.item(), (xn ** 3 + np.exp(xn)).sum(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 3 * xn ** 2 + np.exp(xn), rtol=1e-12)


# -- 5. hooks and retain_grad registered after the capture -----------------------------------------

def test_leaf_hook_registered_after_capture_runs():
    xv, wv = rnd((3, 2), 1), rnd((2, 2), 2)
    x, W = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    g = ag.Graph((x @ W).tanh().sum())
    g.forward()
    g.backward()
    plain_W, plain_x = W.grad.numpy().copy(), x.grad.numpy().copy()
    seen = []
    handle = W.register_hook(lambda gr: (seen.append(gr.numpy().copy()), gr * 2)[1])
    W.grad = x.grad = None
    g.forward()
    g.backward()
    close(W.grad, 2 * plain_W)
    close(x.grad, plain_x)  # the hook on W does not touch x's gradient
    assert len(seen) == 1
    close(seen[0], plain_W)
    handle.remove()
    W.grad = None
    g.forward()
    g.backward()
    close(W.grad, plain_W)


def test_intermediate_hook_and_retain_grad_after_capture():
    xv, wv = rnd(4, 1), rnd(4, 2)

    def build(x, w):
        h = x * w
        k = h.sin()
        return h, k, (k * x + h.exp()).sum()

    x, w = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    h, k, y = build(x, w)
    g = ag.Graph(y)
    assert g._compiled() is not None  # the plan exists before the hooks are added
    h.retain_grad()
    k.register_hook(lambda gr: gr * 2)
    y.retain_grad()
    g.forward()
    g.backward()

    ex, ew = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    eh, ek, ey = build(ex, ew)
    eh.retain_grad()
    ek.register_hook(lambda gr: gr * 2)
    ey.retain_grad()
    ey.backward()
    assert h.grad is not None and y.grad is not None
    close(h.grad, eh.grad)
    close(y.grad, ey.grad)
    close(x.grad, ex.grad)
    close(w.grad, ew.grad)
    assert k.grad is None  # a hook alone does not keep the gradient
    # the doubled path really is doubled: compare with the hand-written gradient
    xw = xv * wv
    dh = 2 * np.cos(xw) * xv + np.exp(xw)
    close(h.grad, dh)
    close(w.grad, dh * xv)


# -- 6. requires_grad flags changed after the capture ---------------------------------------------

def test_leaf_frozen_after_capture_and_unfrozen_again():
    xv, Wv, bv = rnd((4, 3), 1), rnd((3, 2), 2), rnd(2, 3)

    def fn(x, W, b):
        return ((x @ W).tanh() + b).pow(2).sum()

    x, W, b = (ag.tensor(v, requires_grad=True) for v in (xv, Wv, bv))
    g = ag.Graph(fn(x, W, b))
    _, want = eager_grads(fn, (xv, Wv, bv))

    W.requires_grad_(False)
    g.forward()
    g.backward()
    assert W.grad is None
    close(x.grad, want[0])
    close(b.grad, want[2])

    W.requires_grad_(True)
    x.grad = b.grad = None
    g.forward()
    g.backward()
    close(W.grad, want[1])
    close(x.grad, want[0])
    close(b.grad, want[2])


def test_leaf_frozen_at_capture_gets_grad_once_unfrozen():
    xv, cv = rnd(3, 1), rnd(3, 2)
    x = ag.tensor(xv, requires_grad=True)
    c = ag.tensor(cv)  # a constant at capture
    g = ag.Graph((x * c).exp().sum())
    g.forward()
    g.backward()
    assert c.grad is None
    c.requires_grad_(True)
    x.grad = None
    g.forward()
    g.backward()
    close(c.grad, xv * np.exp(xv * cv))
    close(x.grad, cv * np.exp(xv * cv))


# -- 7. version checks, repeated backward ----------------------------------------------------------

@pytest.mark.parametrize("modify", ["mul_", "iadd"])
def test_leaf_modified_in_place_after_forward_raises_until_next_forward(modify):
    xv, Wv = rnd((3, 2), 1), rnd((2, 2), 2)
    x, W = ag.tensor(xv, requires_grad=True), ag.tensor(Wv, requires_grad=True)
    g = ag.Graph((x @ W).sum())  # x's gradient needs W's value
    g.forward()
    with ag.no_grad():
        if modify == "mul_":
            W.mul_(2)
        else:
            W += 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        g.backward()
    assert x.grad is None and W.grad is None  # nothing accumulated
    g.forward()
    g.backward()
    _, want = eager_grads(lambda x, W: (x @ W).sum(), (xv, W.detach().numpy()))
    close(x.grad, want[0])
    close(W.grad, want[1])


def test_forward_records_the_versions_it_read():
    # W modified in place before a forward: that forward reads the new version, so a backward
    # after it is fine, even when some unrelated tensor is modified in place in between
    xv, Wv = rnd((3, 2), 1), rnd((2, 2), 2)
    x, W = ag.tensor(xv, requires_grad=True), ag.tensor(Wv, requires_grad=True)
    g = ag.Graph((x @ W).exp().sum())
    g.forward()
    g.backward()
    with ag.no_grad():
        W.mul_(3)
    x.grad = W.grad = None
    g.forward()
    unrelated = ag.tensor(np.ones(2))
    unrelated.add_(1.0)
    g.backward()
    _, want = eager_grads(lambda x, W: (x @ W).exp().sum(), (xv, 3 * Wv))
    close(x.grad, want[0])
    close(W.grad, want[1])
    with ag.no_grad():
        W.mul_(2)  # and a modification after this forward is still caught
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        g.backward()


def test_in_place_on_a_value_backward_does_not_read_is_allowed():
    xv, bv = rnd((3, 2), 1), rnd(2, 2)
    x, b = ag.tensor(xv, requires_grad=True), ag.tensor(bv, requires_grad=True)
    g = ag.Graph(((x + b) ** 2).sum())  # add reads neither input
    g.forward()
    with ag.no_grad():
        b.add_(1.0)
    g.backward()  # the gradient is that of the values of the last forward
    d = 2 * (xv + bv)
    close(x.grad, d)
    close(b.grad, d.sum(0))


def test_two_backwards_after_one_forward_accumulate_twice():
    xv, wv = rnd((3, 3), 1), rnd(3, 2)

    def fn(x, w):
        return ((x @ w).sigmoid() * w.sum()).sum()

    x, w = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    g = ag.Graph(fn(x, w))
    g.forward()
    g.backward()
    g.backward()
    ex, ew = ag.tensor(xv, requires_grad=True), ag.tensor(wv, requires_grad=True)
    ey = fn(ex, ew)
    ey.backward(retain_graph=True)
    ey.backward()
    close(x.grad, ex.grad)
    close(w.grad, ew.grad)


def test_leaf_grads_do_not_alias_after_repeated_backward():
    # add hands the same gradient array to both of its inputs
    av, bv, cv = rnd(4, 1), rnd(4, 2), rnd(4, 3)
    a, b = ag.tensor(av, requires_grad=True), ag.tensor(bv, requires_grad=True)
    c = ag.tensor(cv)
    g = ag.Graph(((a + b) * c).sum())
    g.forward()
    g.backward()
    g.backward()
    close(a.grad, 2 * cv)
    close(b.grad, 2 * cv)
    a.grad.data += 100.0  # the user edits one gradient in place
    close(b.grad, 2 * cv)
    g.backward()
    close(a.grad, 3 * cv + 100.0)
    close(b.grad, 3 * cv)


# -- 8. a graph freed by an eager backward ---------------------------------------------------------

def test_eager_backward_frees_the_graph_until_the_next_forward():
    xv = rnd((2, 3), 1)
    x = ag.tensor(xv, requires_grad=True)
    y = (x.exp() * x).sum()
    g = ag.Graph(y)
    g.forward()
    y.backward()  # not retaining: frees the saved values
    want = (np.exp(xv) * (1 + xv))
    close(x.grad, want)
    with pytest.raises(RuntimeError, match="retain_graph") as plan_err:
        g.backward()
    with ag.detect_anomaly(), pytest.raises(RuntimeError, match="retain_graph") as node_err:
        g.backward()  # the node-by-node path says the same
    assert str(plan_err.value) == str(node_err.value)
    close(x.grad, want)  # neither failed backward accumulated anything
    g.forward()
    x.grad = None
    g.backward()
    close(x.grad, want)
    g.backward()  # Graph.backward itself retains
    close(x.grad, 2 * want)


# -- 9. detect_anomaly ---------------------------------------------------------------------------

def test_detect_anomaly_names_the_op_through_graph_backward():
    x = ag.tensor(np.array([0.0, 1.0, 4.0]), requires_grad=True)
    g = ag.Graph((x.sqrt() * 2).sum())
    g.forward()
    with ag.detect_anomaly(), pytest.raises(RuntimeError, match="Sqrt"), np.errstate(divide="ignore"):
        g.backward()
    with np.errstate(divide="ignore"):
        g.backward()  # without anomaly mode the inf flows silently, as eagerly
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, 1.0, 0.5])


def test_detect_anomaly_log_of_zero_times_zero():
    x = ag.tensor(np.array([0.0, 2.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ag.Graph((x.log() * 0).sum())
    with ag.detect_anomaly(), pytest.raises(RuntimeError, match="returned nan or inf") as e, \
            np.errstate(divide="ignore", invalid="ignore"):
        g.forward()
        g.backward()
    assert "LogBackward" in str(e.value)


# -- 10. a node rewired by an in-place operation after the capture --------------------------------

def test_rewired_node_drops_the_plan_and_replays_node_by_node():
    x = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    h = x * 2
    y = (h * 3).sum()
    g = ag.Graph(y)
    assert g._compiled() is not None
    h.add_(1)  # grad enabled: h becomes add_scalar(<copy of the old h>)
    assert g._compiled() is None
    assert "node by node" in g.code
    # The graph's node h now reads the copy of its old value, which is not a node of the graph:
    # forward recomputes h = [2, 4, 6] + 1 whatever x is, and backward stops at h (x gets nothing),
    # as the node-by-node path did before the compiled replay existed.
    out = g.forward(feeds={x: np.array([10.0, 20.0, 30.0])})
    assert out.item() == 3 * (3 + 5 + 7)
    np.testing.assert_array_equal(h.detach().numpy(), [3.0, 5.0, 7.0])
    g.backward()
    assert x.grad is None
    assert h.grad is None


# -- 11. dropout -----------------------------------------------------------------------------------

def test_dropout_draws_a_new_mask_each_forward_and_grads_follow_it():
    p = 0.25
    xv, cv = rnd(2000, 1), rnd(2000, 2)
    x = ag.tensor(xv, requires_grad=True)
    c = ag.tensor(cv)
    g = ag.Graph((F.dropout(x, p=p) * c).sum())
    assert g._compiled() is not None
    mask_node = next(n for n in g.nodes if n._inputs and n._op.name == "dropout_mask")
    masks = []
    for _ in range(3):
        out = g.forward()
        mask = mask_node.detach().numpy().copy()
        assert set(np.unique(mask)) <= {0.0, 1 / (1 - p)}
        assert 0.65 < (mask > 0).mean() < 0.85
        x.grad = None
        g.backward()
        np.testing.assert_allclose(x.grad.numpy(), mask * cv, rtol=1e-15)
        np.testing.assert_allclose(out.item(), (xv * mask * cv).sum(), rtol=1e-12)
        masks.append(mask)
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])


def test_dropout_module_in_train_mode_redraws():
    rng = np.random.default_rng(8)
    model = nn.Sequential(nn.Linear(3, 64, dtype=ag.float64), nn.Dropout(0.5), nn.Linear(64, 1, dtype=ag.float64))
    model.train()
    x = ag.tensor(rng.standard_normal((4, 3)))
    g = ag.Graph(model(x).sum())
    first_w = next(iter(model.parameters()))  # the first Linear's weight, (64, 3)
    assert first_w.shape == (64, 3)
    values, grads = [], []
    for _ in range(3):
        values.append(g.forward().item())
        model.zero_grad()
        g.backward()
        grads.append(first_w.grad.numpy().copy())
    assert len(set(values)) == 3
    # rows of the first weight whose unit was dropped for every sample get no gradient; those
    # patterns differ from draw to draw
    zero_rows = [tuple(np.all(gr == 0, axis=1)) for gr in grads]
    assert len(set(zero_rows)) > 1


# -- 12. leaves reached only through non-differentiable ops ---------------------------------------

def test_output_independent_of_a_leaf_along_differentiable_paths():
    x = ag.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    w = ag.tensor(np.array([0.5, 1.5, 2.5]), requires_grad=True)
    z = ag.where((x * x) > 2.0, w, -w).sum() + (w * x.argmax()).sum()
    g = ag.Graph(z)
    assert g._compiled() is not None
    for xv in ([1.0, -2.0, 3.0], [5.0, 0.1, -1.0], [0.0, 0.0, 9.0]):
        xv = np.array(xv)
        out = g.forward(feeds={x: xv})
        x.grad = w.grad = None
        g.backward()
        assert x.grad is None
        want_w = np.where(xv * xv > 2.0, 1.0, -1.0) + xv.argmax()
        np.testing.assert_array_equal(w.grad.numpy(), want_w)
        np.testing.assert_allclose(out.item(), (np.where(xv * xv > 2.0, 1, -1) * w.detach().numpy()).sum()
                                   + w.detach().numpy().sum() * xv.argmax(), rtol=1e-12)
        ex, ew = ag.tensor(xv, requires_grad=True), ag.tensor(w.detach().numpy(), requires_grad=True)
        ez = ag.where((ex * ex) > 2.0, ew, -ew).sum() + (ew * ex.argmax()).sum()
        ez.backward()
        assert ex.grad is None
        close(out, ez)
        close(w.grad, ew.grad)


def test_feed_of_a_float64_array_into_a_float32_leaf_is_cast():
    # (with numpy 2, _array(value, dtype, copy=False) used to raise "Unable to avoid copy")
    x = ag.tensor(np.ones(3, dtype=np.float32))
    w = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    g = ag.Graph((x * w).sum())
    out = g.forward(feeds={x: np.array([1.0, 2.0, 3.0])})  # float64 data, as numpy makes it
    assert out.item() == 6.0
    assert x.dtype == out.dtype == np.float32
    g.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.array([1.0, 2.0, 3.0], dtype=np.float32))


# -- where the plan once differed from the node-by-node path -------------------------------------

def test_freed_node_that_no_gradient_reaches_does_not_block_backward():
    x = ag.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    w = ag.tensor(np.array([0.5, 0.5, 0.5]), requires_grad=True)
    h = x * 2  # reaches the output only through a comparison
    g = ag.Graph(ag.where(h > 0, w, w * 3).sum())
    g.forward()
    (h * h).sum().backward()  # another graph's non-retaining backward frees h
    with ag.detect_anomaly():
        g.backward()  # node by node: fine (h is never visited)
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 3.0, 1.0])
    w.grad = None
    g.backward()  # the compiled plan too (it once raised "Trying to backward through the graph...")
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 3.0, 1.0])


def test_in_place_on_a_value_only_an_unreached_node_saved():
    x = ag.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    w = ag.tensor(np.array([0.5, 0.5, 0.5]), requires_grad=True)
    g = ag.Graph(ag.where((x * x) > 2.0, w, w * 3).sum())
    g.forward()
    with ag.no_grad():
        x.mul_(2)
    with ag.detect_anomaly():
        g.backward()  # node by node: fine (x * x is never visited)
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 1.0, 1.0])
    w.grad = None
    g.backward()  # the compiled plan too (it once raised "modified by an in-place operation")
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 1.0, 1.0])


def test_constant_leaf_rewired_in_place_after_capture():
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = ag.tensor(np.array([3.0, 4.0]))
    g = ag.Graph((x * c).sum())
    c.add_(ag.tensor(np.array([1.0, 1.0]), requires_grad=True))  # c becomes a node requiring grad
    assert g.forward().item() == 1 * 4 + 2 * 5
    with ag.detect_anomaly():
        g.backward()  # node by node: x gets c's values, c's new inputs are not in the graph
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 5.0])
    x.grad = None
    g.backward()  # without a plan (building one once failed with a KeyError on c's new inputs)
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 5.0])


def test_feed_that_changes_a_leafs_ndim_promotes_like_eager():
    x = ag.tensor(np.array(1.0, dtype=np.float32))
    s = ag.tensor(2.0, dtype=ag.float64, requires_grad=True)
    y = x * s
    g = ag.Graph(y)
    assert g.forward(feeds={x: np.full(5, 0.1, dtype=np.float32)}).dtype == np.float32  # as eager
    eager = ag.tensor(np.array(0.1, dtype=np.float32)) * s
    assert eager.dtype == np.float64
    assert g.forward(feeds={x: np.array(0.1, dtype=np.float32)}).dtype == eager.dtype


def test_feeds_are_copied_and_never_written_into_memory_the_leaf_shared():
    data = np.arange(8, dtype=np.float32).reshape(4, 2)
    x = ag.from_numpy(data[:2])  # a view of the user's array
    w = ag.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    g = ag.Graph((x * w).sum())
    batch = np.full((2, 2), 3.0, dtype=np.float32)
    assert g.forward(feeds={x: batch}).item() == 3 * 2 + 6 * 2
    np.testing.assert_array_equal(data, np.arange(8, dtype=np.float32).reshape(4, 2))  # untouched
    batch[:] = 100.0  # the leaf holds a copy of the batch, not the batch
    g.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])
    own = x.data
    g.forward(feeds={x: ag.tensor(np.ones((2, 2), dtype=np.float32))})
    assert x.data is own  # later feeds of the same shape reuse the graph's array
