"""ag.Function, detect_anomaly and ag.Graph."""
import numpy as np
import pytest
import torch

import autograd as ag


def pair(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


class Cube(ag.Function):
    """x**3 with a hand-written derivative 3 x**2."""

    @staticmethod
    def forward(ctx, x, scale=1.0):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


class SplitSum(ag.Function):
    """Two outputs: (a + b, a * b)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, g_sum, g_prod):
        a, b = ctx.saved_tensors
        return g_sum + g_prod * b, g_sum + g_prod * a


class Noisy(ag.Function):
    """x + fresh uniform noise (a random op: Graph.forward must draw again)."""

    @staticmethod
    def forward(ctx, x):
        return x + ag.rand_like(x)

    @staticmethod
    def backward(ctx, g):
        return g


# -- Function ---------------------------------------------------------------------------------------

def test_function_gradcheck_and_value():
    x, tx = pair((3, 2))
    assert ag.gradcheck(lambda x: Cube.apply(x, 2.0), (x,))
    assert ag.gradgradcheck(lambda x: Cube.apply(x, 2.0), (x,))
    y = Cube.apply(x, 2.0)
    np.testing.assert_allclose(y.detach().numpy(), 2 * tx.detach().numpy() ** 3)
    assert repr(y.grad_fn) == "<CubeBackward>"


def test_function_needs_input_grad_and_no_record_without_grad():
    seen = {}

    class Probe(ag.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    x, _ = pair((2,))
    Probe.apply(x, ag.ones(2, dtype=ag.float64))
    assert seen["needs"] == (True, False)
    with ag.no_grad():
        assert not Probe.apply(x, x).requires_grad


def test_function_multiple_outputs():
    a, ta = pair((3,))
    b, tb = pair((3,), 1)
    s, p = SplitSum.apply(a, b)
    (s * 2 + p * 3).sum().backward()
    (((ta + tb) * 2) + (ta * tb) * 3).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)


def test_function_hooks_and_saved_tensor_check():
    x, _ = pair((2,))
    h = x * 1
    y = Cube.apply(h)
    y.register_hook(lambda g: g * 2)
    y.sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy() ** 2)
    with ag.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_function_wrong_gradient_shape_is_reported():
    class Bad(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x, _ = pair((3,))
    with pytest.raises(RuntimeError, match="shape"):
        Bad.apply(x).sum().backward()


# -- detect_anomaly ---------------------------------------------------------------------------------

def test_detect_anomaly_names_op_and_line():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        y = x.sqrt()  # the line to be named
        line = test_detect_anomaly_names_op_and_line.__code__.co_firstlineno + 3
        z = (y * 0).sum()
        with pytest.raises(RuntimeError) as err:
            z.backward()
    msg = str(err.value)
    assert "SqrtBackward" in msg
    assert f"test_function_anomaly_graph.py\", line {line}" in msg


def test_without_detect_anomaly_nan_flows_silently():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x.sqrt() * 0).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


# -- Graph ------------------------------------------------------------------------------------------

def _mlp_step(x, y, W1, b1, W2):
    h = (x @ W1 + b1).relu()
    logits = h @ W2
    return ((logits - y) ** 2).mean()


def test_graph_nodes_are_topologically_ordered():
    a, _ = pair((2,))
    b, _ = pair((2,), 1)
    c = a * b
    d = c + a
    e = (d * c).sum()
    g = ag.Graph(e)
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    for n in g.nodes:
        for i in n._inputs:
            assert pos[id(i)] < pos[id(n)]
    assert [id(n) for n in g.leaves] == [id(a), id(b)]
    assert g.outputs == (e,)
    assert len(g.nodes) == 6  # a, b, c, d, d * c, sum


def test_graph_forward_backward_equal_eager_rebuild():
    rng = np.random.default_rng(0)
    W1 = ag.tensor(rng.standard_normal((4, 8)), requires_grad=True)
    b1 = ag.tensor(rng.standard_normal(8), requires_grad=True)
    W2 = ag.tensor(rng.standard_normal((8, 2)), requires_grad=True)
    x = ag.tensor(rng.standard_normal((5, 4)))
    y = ag.tensor(rng.standard_normal((5, 2)))
    g = ag.Graph(_mlp_step(x, y, W1, b1, W2))
    for step in range(3):
        xb, yb = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
        loss = g.forward(feeds={x: xb, y: yb})
        for p in (W1, b1, W2):
            p.grad = None
        g.backward()
        grads = [p.grad.numpy().copy() for p in (W1, b1, W2)]
        for p in (W1, b1, W2):
            p.grad = None
        eager = _mlp_step(ag.tensor(xb), ag.tensor(yb), W1, b1, W2)
        eager.backward()
        np.testing.assert_allclose(loss.item(), eager.item(), rtol=1e-12)
        for got, p in zip(grads, (W1, b1, W2)):
            np.testing.assert_allclose(got, p.grad.numpy(), rtol=1e-12)
        with ag.no_grad():
            for p in (W1, b1, W2):
                p -= 0.1 * p.grad


def test_graph_scalar():
    a, b = ag.Scalar(2.0), ag.Scalar(-3.0)
    e = (a * b + a).tanh()
    g = ag.Graph(e)
    g.backward()
    ga = a.grad
    a.data = 0.5
    out = g.forward()
    assert out.data == pytest.approx(np.tanh(0.5 * -3.0 + 0.5))
    a.grad = b.grad = 0.0
    g.backward()
    assert a.grad == pytest.approx((1 - np.tanh(-1.0) ** 2) * (-3.0 + 1))
    assert ga != a.grad


def test_graph_feeds_must_be_leaves():
    x, _ = pair((2,))
    h = x * 2
    g = ag.Graph((h * h).sum())
    with pytest.raises(KeyError, match="leaves"):
        g.forward(feeds={h: np.ones(2)})


def test_graph_random_ops_draw_afresh():
    x = ag.zeros(1000, dtype=ag.float64, requires_grad=True)
    g = ag.Graph(Noisy.apply(x).sum())
    first = g.forward().item()
    second = g.forward().item()
    assert first != second
    assert 400 < first < 600 and 400 < second < 600


def test_graph_rebuild_after_eager_backward():
    x, _ = pair((3,))
    y = (x.exp() * 2).sum()
    y.backward()
    g = ag.Graph(y)
    x.grad = None
    g.forward()
    g.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()))


def test_graph_feeds_a_batch_of_another_size_through_flatten_squeeze_unsqueeze():
    W = ag.tensor(np.random.default_rng(0).standard_normal((6, 2)), requires_grad=True)
    x = ag.tensor(np.ones((4, 2, 3, 1)))
    s = ag.tensor(2.0, dtype=ag.float64, requires_grad=True)
    g = ag.Graph(((x * s).squeeze(-1).flatten(1) @ W).unsqueeze(0).sum())
    xb = np.random.default_rng(1).standard_normal((7, 2, 3, 1))
    out = g.forward(feeds={x: xb})
    np.testing.assert_allclose(out.item(), 2 * (xb.reshape(7, 6) @ W.detach().numpy()).sum())
    g.backward()
    np.testing.assert_allclose(W.grad.numpy(), 2 * np.repeat(xb.reshape(7, 6).sum(0)[:, None], 2, axis=1))


def test_function_node_is_drawn_like_a_built_in_op():
    x, _ = pair((2,))
    y = (Cube.apply(x) * 2).sum()
    y.backward()
    svg = ag.draw_graph(y).pipe(format="svg").decode()
    assert "Cube" in svg
    assert ag.draw_graph(y, color_by="grad_norm").pipe(format="svg")
