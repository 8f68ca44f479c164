"""A leaf's .grad is an array no one else holds: it is updated in place by later backward passes,
by optimizers' zero_grad(set_to_none=False) and by gradient clipping. The engine hands a leaf only
arrays it allocated itself (no reference counting), in eager backward and in ag.Graph's replay."""
import pathlib

import numpy as np
import pytest

import autograd as ag
import nn


def _shares(a, b):
    return np.shares_memory(a.grad.data, b.grad.data)


def _graph_or_eager(loss, replay):
    """One backward of ``loss``: eager, or through a captured ag.Graph (its compiled replay)."""
    if replay:
        g = ag.Graph(loss)
        g.forward()
        g.backward()
    else:
        loss.backward()


@pytest.mark.parametrize("replay", [False, True])
def test_identity_rules_hand_each_leaf_its_own_array(replay):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.tensor([3.0, 4.0], requires_grad=True)
    z = ag.tensor([5.0, 6.0], requires_grad=True)
    loss = ((x + y) - z).clone().sum()  # add, sub and clone pass g on unchanged
    _graph_or_eager(loss, replay)
    assert not _shares(x, y) and not _shares(x, z) and not _shares(y, z)
    x.grad.data *= 10  # (clip_grad_norm_ scales gradients in place)
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(z.grad.data, [-1.0, -1.0])


def test_a_leaf_never_keeps_an_array_its_user_holds():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0], dtype=np.float32)
    x.backward(seed)  # a leaf as the root: the seed is copied
    assert not np.shares_memory(x.grad.data, seed)
    kept = []
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    w.register_hook(lambda g: kept.append(g))
    (w * 2).sum().backward()
    assert not np.shares_memory(w.grad.data, kept[0].data)  # a hook saw that array


def test_a_function_returning_a_saved_array_does_not_alias_a_leaf_gradient():
    class PassThrough(ag.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return a  # (an odd gradient, but one the user may return: the input's own values)

    a = ag.tensor([1.0, 2.0], requires_grad=True)
    PassThrough.apply(a).sum().backward()
    assert not np.shares_memory(a.grad.data, a.data)
    a.grad.data[0] = 99.0
    assert a.data[0] == 1.0


def test_retained_gradients_and_leaf_gradients_are_separate_arrays():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    h.retain_grad()
    y = h.clone()
    y.retain_grad()
    (y * 3).sum().backward(retain_graph=True)
    assert not np.shares_memory(h.grad.data, y.grad.data)
    assert not np.shares_memory(x.grad.data, h.grad.data)
    (y * 3).sum().backward()  # a second pass accumulates each in place, once
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])
    np.testing.assert_array_equal(y.grad.data, [6.0, 6.0])


@pytest.mark.parametrize("replay", [False, True])
def test_shared_parameters_accumulate_once_per_use_over_two_steps(replay):
    layer = nn.Linear(3, 3)
    x = ag.randn(4, 3)
    loss = (layer(layer(x)) + layer.bias).sum()  # the bias is reached by three paths, once directly
    if replay:
        graph = ag.Graph(loss)
        for _ in range(2):
            graph.forward()
            graph.backward()
    else:
        loss.backward(retain_graph=True)
        loss.backward()
    tx = __import__("torch")
    tl = tx.nn.Linear(3, 3)
    with tx.no_grad():
        tl.weight.copy_(tx.from_numpy(layer.weight.data))
        tl.bias.copy_(tx.from_numpy(layer.bias.data))
    for _ in range(2):
        (tl(tl(tx.from_numpy(x.data))) + tl.bias).sum().backward()
    np.testing.assert_allclose(layer.bias.grad.data, tl.bias.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.data, tl.weight.grad.numpy(), rtol=1e-5)


def test_the_engine_does_not_count_references():
    """Reference counts are an interpreter detail (CPython 3.14 borrows references on its stack):
    nothing in autograd decides by them."""
    root = pathlib.Path(ag.__file__).parent
    assert not [p.name for p in root.rglob("*.py") if "getrefcount" in p.read_text()]
