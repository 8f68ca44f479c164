"""nn.functional inside a captured ag.Graph: new batches and targets can be fed, dropout redraws."""
import numpy as np

import autograd as ag
import nn
import nn.functional as F


def _leaf_ids(graph):
    return {id(n) for n in graph.leaves}


def test_cross_entropy_graph_can_be_fed_new_batches_and_targets():
    model = nn.MLP([3, 5, 4])
    x = ag.randn(6, 3)
    y = ag.tensor([0, 1, 2, 3, 0, 1])
    w = ag.tensor([1.0, 2.0, 1.0, 0.5])
    loss = F.cross_entropy(model(x), y, weight=w, label_smoothing=0.1)
    g = ag.Graph(loss)
    assert {id(x), id(y), id(w)} <= _leaf_ids(g)  # targets and class weights are inputs of the graph
    x2, y2 = ag.randn(6, 3), ag.tensor([3, 3, 2, 1, 0, 0])
    fresh = F.cross_entropy(model(x2), y2, weight=w, label_smoothing=0.1)
    again = g.forward({x: x2.data, y: y2.data})
    np.testing.assert_allclose(again.data, fresh.data, rtol=1e-6)
    model.zero_grad()
    g.backward()
    graph_grads = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    fresh.backward()
    for a, p in zip(graph_grads, model.parameters()):
        np.testing.assert_allclose(a, p.grad.data, rtol=1e-5, atol=1e-7)


def test_every_loss_reads_its_target_through_the_graph():
    x = ag.randn(4, 3, requires_grad=True)
    y_float = ag.rand(4, 3)
    y_class = ag.tensor([0, 2, 1, 1])
    cases = [
        (lambda t: F.mse_loss(x, t), y_float, ag.rand(4, 3)),
        (lambda t: F.l1_loss(x, t), y_float, ag.rand(4, 3)),
        (lambda t: F.huber_loss(x, t), y_float, ag.rand(4, 3)),
        (lambda t: F.binary_cross_entropy(x.sigmoid(), t), y_float, ag.rand(4, 3)),
        (lambda t: F.binary_cross_entropy_with_logits(x, t, pos_weight=ag.tensor([1.0, 2.0, 3.0])), y_float,
         ag.rand(4, 3)),
        (lambda t: F.cross_entropy(x, t, label_smoothing=0.2), y_float, ag.rand(4, 3)),
        (lambda t: F.cross_entropy(x, t), y_class, ag.tensor([1, 1, 0, 2])),
        (lambda t: F.nll_loss(F.log_softmax(x, 1), t, reduction="none"), y_class, ag.tensor([2, 0, 0, 1])),
    ]
    for fn, target, new in cases:
        loss = fn(target)
        g = ag.Graph(loss)
        assert id(target) in _leaf_ids(g)
        expected = fn(new).data
        np.testing.assert_allclose(g.forward({target: new.data}).data, expected, rtol=1e-6)


def test_embedding_indices_are_graph_inputs():
    emb = nn.Embedding(5, 2)
    idx = ag.tensor([0, 3])
    out = emb(idx).sum()
    g = ag.Graph(out)
    assert id(idx) in _leaf_ids(g)
    np.testing.assert_allclose(g.forward({idx: np.array([4, 4])}).data, 2 * emb.weight.data[4].sum(), rtol=1e-6)


def test_dropout_draws_a_new_mask_on_each_graph_evaluation():
    x = ag.ones(1000, requires_grad=True)
    y = F.dropout(x, 0.5)
    g = ag.Graph(y.sum())
    first = y.data.copy()
    g.forward()
    second = y.data.copy()
    assert (first != second).any()
    assert set(np.unique(second)) <= {0.0, 2.0}
    x.grad = None
    g.backward()
    np.testing.assert_allclose(x.grad.data, second)  # backward uses the mask of this evaluation
