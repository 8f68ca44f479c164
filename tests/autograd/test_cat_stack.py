"""ag.cat and ag.stack: gradients against torch for mixed inputs, and a backward whose work is linear
in the number of joined tensors (each joined tensor is an input of one node; its rule used to be
called once per input with all n inputs, n**2 work: 249 s for 10**5 stacked scalars)."""
import numpy as np
import pytest
import torch

import autograd as ag
from autograd.ops import OPS


@pytest.mark.parametrize("join", ["cat", "stack"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_join_gradients_match_torch_with_some_inputs_constant(join, dim):
    rng = np.random.default_rng(0)
    shapes = [(2, 3), (2, 3), (2, 3), (2, 3)] if join == "stack" else (
        [(2, 3), (4, 3), (1, 3)] if dim == 0 else [(2, 1), (2, 4), (2, 2)])
    arrays = [rng.standard_normal(s) for s in shapes]
    needs = [i != 1 for i in range(len(arrays))]
    ours = [ag.tensor(a, dtype=ag.float64, requires_grad=r) for a, r in zip(arrays, needs)]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, needs)]
    out = getattr(ag, join)(ours, dim=dim)
    ref = getattr(torch, join)(theirs, dim=dim)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    w = rng.standard_normal(out.shape)
    (out.tanh() * ag.tensor(w)).sum().backward()
    (ref.tanh() * torch.tensor(w)).sum().backward()
    for a, t in zip(ours, theirs):
        if t.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("join", ["cat", "stack"])
def test_join_second_derivatives(join):
    xs = [ag.randn(3, 2, dtype=ag.float64, requires_grad=True) for _ in range(3)]
    assert ag.gradgradcheck(lambda *a: getattr(ag, join)(a, dim=1).sin() * 1.5, xs)


@pytest.mark.parametrize("join", ["cat", "stack"])
def test_join_backward_reads_each_input_once(join, monkeypatch):
    """The rule of a join runs once per node and sees each input once: the arrays all its calls
    receive add up to n (they added up to n**2)."""
    op = OPS[join]
    seen = []

    def counting(rule):
        def wrapped(g, out, *xs, **params):
            seen.append(len(xs))
            return rule(g, out, *xs, **params)
        return wrapped

    n = 2000
    xs = [ag.tensor([float(i)], requires_grad=True) for i in range(n)]
    joined = getattr(ag, join)(xs)
    loss = (joined * joined).sum()
    monkeypatch.setattr(op, "vjps", tuple(counting(r) for r in op.vjps))  # every rule the op has now
    loss.backward()
    assert sum(seen) == n
    assert [x.grad.item() for x in xs[:3]] == [0.0, 2.0, 4.0]


def test_stacking_100000_scalars_backpropagates():
    xs = [ag.tensor(float(i), requires_grad=True) for i in range(100_000)]
    s = ag.stack(xs)
    (s * s).sum().backward()
    assert xs[99_999].grad.item() == 199_998.0


@pytest.mark.parametrize("piece_lines", [None, 2])
def test_join_replayed_by_a_captured_graph_matches_eager(piece_lines, monkeypatch):
    """ag.Graph's compiled replay calls a join's rule once and hands each input its part (also
    when the plan is written in pieces)."""
    import autograd.replay as replay

    if piece_lines is not None:
        monkeypatch.setattr(replay, "PIECE_LINES", piece_lines)
    xs = [ag.randn(3, dtype=ag.float64, requires_grad=True) for _ in range(5)]
    data = ag.randn(2, dtype=ag.float64)
    loss = ag.cat(xs[:3] + [data]).tanh().sum() + (ag.stack(xs[2:], dim=1) ** 2).sum()
    graph = ag.Graph(loss)
    new = np.array([0.5, -1.5])
    graph.forward({data: new})
    graph.backward()
    replayed = [x.grad.data.copy() for x in xs]
    for x in xs:
        x.grad = None
    eager = ag.cat(xs[:3] + [ag.tensor(new)]).tanh().sum() + (ag.stack(xs[2:], dim=1) ** 2).sum()
    eager.backward()
    for r, x in zip(replayed, xs):
        np.testing.assert_allclose(r, x.grad.data, rtol=1e-14)
