"""Hooks, retain_grad and in-place operations (version counters), against torch."""
import numpy as np
import pytest
import torch

import autograd as ag


def pair(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


# -- hooks ----------------------------------------------------------------------------------------

def test_hook_sees_and_replaces_gradient_like_torch():
    x, tx = pair((3,))
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (h * h).sum().backward()
    th = tx * 2
    tseen = []
    th.register_hook(lambda g: tseen.append(g.numpy().copy()) or g * 10)
    (th * th).sum().backward()
    np.testing.assert_allclose(seen[0], tseen[0])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_leaf_hook_and_remove():
    x, tx = pair((2,))
    handle = x.register_hook(lambda g: g * 0 + 1)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_retain_grad():
    x, tx = pair((3,))
    h = x.exp()
    h.retain_grad()
    y = h * h
    y.sum().backward()
    th = tx.exp()
    th.retain_grad()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), th.grad.numpy())
    assert (x * 1).grad is None


def test_hook_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ag.tensor([1.0]).register_hook(lambda g: g)


# -- in-place -------------------------------------------------------------------------------------

def test_inplace_on_leaf_that_requires_grad_raises():
    x, _ = pair((2,))
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.fill_(1.0),
               lambda: x.copy_(ag.ones(2)), lambda: x.__setitem__(0, 1.0), lambda: x.sub_(1), lambda: x.div_(2)):
        with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
            op()


def test_inplace_under_no_grad_updates_and_bumps_version():
    x, _ = pair((2,))
    before = x.data.copy()
    with ag.no_grad():
        x -= 0.5 * ag.ones(2)
        x.mul_(2)
    np.testing.assert_allclose(x.numpy() if not x.requires_grad else x.detach().numpy(), (before - 0.5) * 2)
    assert x._version == 2
    assert x.detach()._version == 2


@pytest.mark.parametrize("name", ["add_", "sub_", "mul_", "div_", "setitem", "setitem_tensor", "copy_", "iadd",
                                  "fill_", "zero_"])
def test_inplace_on_non_leaf_matches_torch(name):
    x, tx = pair((4,))
    w, tw = pair((4,), 1)

    def run(lib, x, w):
        h = x * 2 + 1
        if name == "add_":
            h.add_(w, alpha=0.5)
        elif name == "sub_":
            h.sub_(w)
        elif name == "mul_":
            h.mul_(w)
        elif name == "div_":
            h.div_(3.0)
        elif name == "setitem":
            h[1:3] = 7.0
        elif name == "setitem_tensor":
            h[0] = w[2] * 5
        elif name == "copy_":
            h.copy_(w * w)
        elif name == "iadd":
            h += w
        elif name == "fill_":
            h.fill_(2.0)
        elif name == "zero_":
            h.zero_()
        return (h * x).sum()

    y = run(ag, x, w)
    y.backward()
    ty = run(torch, tx, tw)
    ty.backward()
    np.testing.assert_allclose(y.item(), ty.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    tw_grad = np.zeros(4) if tw.grad is None else tw.grad.numpy()
    w_grad = np.zeros(4) if w.grad is None else w.grad.numpy()
    np.testing.assert_allclose(w_grad, tw_grad, rtol=1e-12, atol=1e-12)


def test_modified_saved_tensor_raises_naming_the_op():
    x, _ = pair((3,))
    y = x.exp()
    z = y.tanh()  # tanh's backward reads its output; exp's reads its output y
    y.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        z.sum().backward()


def test_leaf_modified_after_use_raises_only_when_its_value_is_needed():
    p, _ = pair((3,))
    q, _ = pair((3,), 1)
    used_by_mul = (p * q).sum()
    used_by_add = (p + q).sum()
    with ag.no_grad():
        p.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        used_by_mul.backward()
    used_by_add.backward()  # add does not need p's value: fine, as in torch
    np.testing.assert_allclose(q.grad.numpy(), np.ones(3))


def test_stale_use_of_rewired_tensor_raises_instead_of_a_wrong_gradient():
    x, _ = pair((3,))
    h = x * 1
    early = h * 2  # uses h before the in-place multiply
    h.mul_(3)
    with pytest.raises(RuntimeError, match="in-place"):
        (early.sum() + h.sum()).backward()


def test_inplace_on_view_of_tensor_in_graph_raises():
    x, _ = pair((2, 3))
    h = x * 1
    v = h[0]
    with pytest.raises(RuntimeError, match="view"):
        v.mul_(2)


def test_inplace_records_when_the_value_requires_grad():
    x, tx = pair((3,))
    buf = ag.zeros(3, dtype=ag.float64)
    buf += x * x
    buf.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * tx.detach().numpy())


def test_overwriting_in_place_drops_nan_and_inf():
    t = ag.tensor([np.nan, np.inf, 1.0])
    t.zero_()
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0, 0.0])
    t = ag.tensor([np.nan, -np.inf])
    t.fill_(2.0)
    np.testing.assert_array_equal(t.numpy(), [2.0, 2.0])
    t = ag.tensor([np.nan, np.inf])
    t.copy_(ag.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_integer_leaf_made_to_require_grad_by_assignment_fails_at_backward():
    w = ag.tensor([1, 2])
    w.requires_grad = True  # bypasses requires_grad_(), which raises at once
    with pytest.raises(RuntimeError, match="floating point"):
        (w * 2).sum().backward()
