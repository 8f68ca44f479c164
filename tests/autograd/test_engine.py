"""The engine: multi-path chain rule, accumulation, graph release, retain_graph, toposort."""
import numpy as np
import pytest
import torch

import autograd as ag
from autograd import engine


def test_multi_path_chain_rule_tensor():
    # z = x*y + x*x + exp(x): x reaches z along four edges; dz/dx = y + 2x + exp(x)
    xv, yv = np.array([0.3, -1.2, 2.0]), np.array([1.5, 0.5, -0.7])
    x = ag.tensor(xv, requires_grad=True)
    y = ag.tensor(yv, requires_grad=True)
    z = (x * y + x * x + x.exp()).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), yv + 2 * xv + np.exp(xv), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), xv, rtol=1e-12)


def test_shared_intermediate_gets_sum_of_successor_gradients():
    # h is used by three successors; its gradient must be the sum (checked against torch)
    xv = np.array([0.2, -0.4, 0.9])
    x = ag.tensor(xv, requires_grad=True)
    h = x.tanh()
    h.retain_grad()
    out = (h * h + h.sigmoid() * 3.0 - h).sum()
    out.backward()
    xt = torch.tensor(xv, requires_grad=True)
    ht = xt.tanh()
    ht.retain_grad()
    (ht * ht + ht.sigmoid() * 3.0 - ht).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), ht.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_multi_path_chain_rule_scalar():
    a = ag.Scalar(0.7)
    b = a * a  # a used twice by one node
    c = b + a  # and once more here
    d = c * b  # b used twice along different paths
    d.backward()
    # d = (a^2 + a) a^2 = a^4 + a^3: d' = 4a^3 + 3a^2
    assert a.grad == pytest.approx(4 * 0.7**3 + 3 * 0.7**2, rel=1e-14)
    # dd/db through both of its successors: c (weight c'=1) times b, plus c directly: b + c
    assert b.grad == pytest.approx(0.49 + (0.49 + 0.7), rel=1e-14)


def test_same_input_twice_in_one_op():
    x = ag.tensor([3.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, -4.0])
    s = ag.Scalar(3.0)
    (s + s).backward()
    assert s.grad == 2.0


def test_leaf_gradients_accumulate_across_calls():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0 + 2.0, 3.0 + 4.0])
    x.grad = None
    (x * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])

    s = ag.Scalar(2.0)
    (s * 4).backward()
    (s * s).backward()
    assert s.grad == 4.0 + 4.0
    s.zero_grad()
    assert s.grad == 0.0


def test_accumulated_grad_is_not_aliased_to_another_leaf():
    # both inputs of an add receive the very same upstream array: storing it in both leaves
    # without a copy would make a later accumulation into one leak into the other
    a = ag.tensor([1.0, 1.0], requires_grad=True)
    b = ag.tensor([1.0, 1.0], requires_grad=True)
    (a + b).backward(ag.tensor([1.0, 2.0]))
    (a * 10.0).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [11.0, 12.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("view", [lambda t: t.reshape(4), lambda t: t.T, lambda t: t.transpose(0, 1).reshape(2, 2)],
                         ids=["reshape", "T", "transpose-reshape"])
def test_leaf_gradients_that_are_views_of_one_array_are_not_shared(view):
    # add hands the same upstream array to both branches and each shape op returns a view of it:
    # the leaves must not end up holding views of one buffer (a later accumulation into one
    # would change the other)
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = view(x) + view(y)
    out.backward(ag.ones_like(out))
    assert not np.shares_memory(x.grad.data, y.grad.data)
    (x * 10.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 11.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.ones((2, 2)))


def test_retained_view_gradient_is_not_shared_with_the_leaf():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = a.reshape(1, 2)
    b.retain_grad()
    (b * 1.0).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    (a * 5.0).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [6.0, 6.0])
    np.testing.assert_array_equal(b.grad.numpy(), [[1.0, 1.0]])


def test_gradient_argument_is_not_modified_by_accumulation():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    seed = ag.tensor([1.0, 1.0])
    x.backward(seed)  # a leaf: its grad is the seed itself
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(seed.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_second_backward_raises_and_mentions_retain_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()
    s = ag.Scalar(1.5)
    t = s * s + s
    t.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        t.backward()


def test_partial_reuse_of_freed_graph_raises():
    # a new output built on top of a freed intermediate still needs the freed part
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        (h * 2.0).sum().backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 3 * np.array([1.0, 4.0]))
    s = ag.Scalar(2.0)
    t = s * s * s
    t.backward(retain_graph=True)
    t.backward()
    assert s.grad == 2 * 12.0


def test_backward_on_non_scalar_needs_gradient():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"gradient"):
        y.backward()
    y.backward(gradient=ag.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, -2.0])
    # one-element tensors of any shape backprop without a gradient, as in torch
    z = ag.tensor([[2.0]], requires_grad=True)
    (z * z).backward()
    np.testing.assert_array_equal(z.grad.numpy(), [[4.0]])


def test_backward_gradient_of_wrong_shape_raises():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape"):
        (x * 2.0).backward(gradient=ag.tensor([1.0, 2.0, 3.0]))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match=r"requires_grad"):
        ag.tensor([1.0]).sum().backward()


def test_backward_reaches_only_leaves_that_require_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 6.0])


def test_intermediate_grads_not_kept_unless_retained():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    k = h * 3.0
    k.retain_grad()
    k.sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_toposort_orders_inputs_before_users_and_is_deterministic():
    a, b = ag.Scalar(1.0, label="a"), ag.Scalar(2.0, label="b")
    c = a * b
    d = c + a
    e = d * c
    order = engine.toposort([e])
    pos = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for i in n._inputs:
            assert pos[id(i)] < pos[id(n)]
    assert order[-1] is e
    assert len(order) == len({id(n) for n in order}) == 5
    assert [id(n) for n in engine.toposort([e])] == [id(n) for n in order]
    # inputs are visited in argument order: a before b
    assert pos[id(a)] < pos[id(b)]


def test_toposort_grad_only_skips_constants():
    x = ag.tensor([1.0], requires_grad=True)
    c = ag.tensor([2.0])
    y = x * c
    assert c in engine.toposort([y])
    assert all(n is not c for n in engine.toposort([y], grad_only=True))


def test_toposort_wide_and_deep_without_recursion():
    x = ag.Scalar(1.0)
    y = x
    for _ in range(5000):
        y = y + x  # every node reads x too: a DAG, not a tree
    assert len(engine.toposort([y])) == 5001
    y.backward()
    assert x.grad == 5001.0


def test_hook_can_replace_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    h.register_hook(lambda g: g * 10.0)
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0])


def test_engine_backward_with_inputs_returns_gradients_without_accumulating():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    (gx,) = engine.backward((y,), (np.ones(()),), inputs=[x])
    np.testing.assert_array_equal(np.asarray(gx), [2.0, 4.0])
    assert x.grad is None


@pytest.mark.parametrize("make", [lambda: ag.tensor([1.0, 2.0], requires_grad=True), lambda: ag.Scalar(1.5)],
                         ids=["tensor", "scalar"])
def test_graph_has_no_reference_cycles(make):
    """Nodes are freed by reference counting alone, before and after backward (micrograd's closures
    make cycles, which leave its graphs to the cyclic GC)."""
    import gc
    import weakref

    enabled = gc.isenabled()
    gc.disable()
    try:
        for run_backward in (False, True):
            x = make()
            h = (x * 2.0).tanh()
            ref = weakref.ref(h)
            y = h * h + h
            if isinstance(y, ag.Tensor):
                y = y.sum()
            if run_backward:
                y.backward()
            del h
            assert ref() is not None  # y still needs it
            del y
            assert ref() is None
    finally:
        if enabled:
            gc.enable()


def test_gradient_seen_by_a_hook_is_not_modified_by_later_accumulation():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(seen.append)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    assert [s.tolist() for s in seen] == [[2.0, 2.0], [3.0, 3.0]]
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])
