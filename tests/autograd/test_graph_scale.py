"""ag.Graph on large graphs: a compiled replay (autograd/replay.py) whose cost grows with the graph.

A plan used to be one generated function per pass, compiled whole: a 10^5-node chain took 3.5 GB
and 16 s to compile (the compiler holds a whole function's syntax tree and control-flow graph at
once), against 100 MB and 0.2 s for the eager backward. A large graph is now written in pieces of
at most about ``replay.PIECE_LINES`` lines, and pieces of the same text are compiled once. These
tests check what that promises without timing anything: gradients equal to eager's on a 10^5-node
chain and on a wide graph whose gradients wait across many pieces, bounded pieces, handed-on
gradients linear in the graph's size, and peak memory within a small factor of eager's.
(tests/autograd/test_graph_replay.py runs every semantic test of the replay with pieces of 2 lines.)
"""
import gc
import re
import tracemalloc

import numpy as np

import autograd as ag
from autograd import replay


def chain(x, ops):
    """``ops`` operations (a multiple of 3) of x -> tanh(1.0001 x + 0.5), then the sum."""
    for _ in range(ops // 3):
        x = (x * 1.0001 + 0.5).tanh()
    return x.sum()


def eager_grad(fn, value):
    x = ag.tensor(value, requires_grad=True)
    fn(x).backward()
    return x.grad.numpy()


def test_chain_of_a_hundred_thousand_nodes_replays_like_eager_in_bounded_pieces():
    v0, v1 = np.linspace(-1, 1, 4), np.linspace(-2, 0.5, 4)
    x = ag.tensor(v0, requires_grad=True)
    g = ag.Graph(chain(x, 99_999))
    assert len(g.nodes) == 100_001
    plan = g._compiled()
    assert plan is not None and plan.pieces is not None, "a graph this large is replayed in pieces"
    for value in (v0, v1):
        x.grad = None
        out = g.forward(feeds={x: value})
        g.backward()
        want = eager_grad(lambda t: chain(t, 99_999), value)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
        np.testing.assert_allclose(out.item(), chain(ag.tensor(value), 99_999).item(), rtol=1e-12)

    # every generated function is short, and the repeating chain needs only a few distinct ones
    code = g.code
    functions = re.split(r"\n\n\n(?=def )", code.split("\n\n\n# ")[0])
    assert 3 <= len(functions) <= 20, len(functions)
    for source in functions:
        body = [line for line in source.splitlines()[1:] if not line.startswith("     ")]  # (unpack rows)
        assert len(body) <= replay.PIECE_LINES + 10, (source.splitlines()[0], len(body))
    assert f"runs {len(plan.pieces['forward'])} pieces" in code


def test_wide_graph_whose_gradients_wait_across_many_pieces():
    # 600 branches, each read again at the far end: every branch's gradient is pending from the
    # first pieces of backward to the last ones, and x's gradient collects a share in each branch
    n = 600
    values = [np.random.default_rng(k).standard_normal(3) for k in range(n)]

    def fn(x, leaves):
        branches = [(leaf * x).tanh() for leaf in leaves]
        total = branches[0]
        for b in branches[1:]:
            total = total + b
        for a, b in zip(branches, reversed(branches)):
            total = total * 0.5 + a * b
        return total.sum()

    x = ag.tensor(np.full(3, 0.3), requires_grad=True)
    leaves = [ag.tensor(v, requires_grad=True) for v in values]
    g = ag.Graph(fn(x, leaves))
    plan = g._compiled()
    assert plan.pieces is not None
    g.forward()
    for t in (x, *leaves):
        t.grad = None
    g.backward()
    ex = ag.tensor(np.full(3, 0.3), requires_grad=True)
    eleaves = [ag.tensor(v, requires_grad=True) for v in values]
    fn(ex, eleaves).backward()
    np.testing.assert_allclose(x.grad.numpy(), ex.grad.numpy(), rtol=1e-10)
    for got, want in zip(leaves, eleaves):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-10)

    # a pending gradient is handed on when its piece ends and taken by the piece that next needs
    # it, not carried through every boundary in between (that would be 600 gradients times some 40
    # pieces here): the objects the pieces are called with stay within the graph's nodes and edges
    backward = plan.pieces["backward"]
    assert len(backward) > 40
    edges = sum(len(node._inputs) for node in g.nodes)
    assert sum(len(objs) for _, objs in backward) <= len(g.nodes) + edges


def test_peak_memory_of_build_forward_and_backward_stays_near_eager():
    ops = 30_000
    value = np.linspace(-1, 1, 4)
    gc.collect()
    tracemalloc.start()
    try:
        x = ag.tensor(value, requires_grad=True)
        base = tracemalloc.get_traced_memory()[0]
        chain(x, ops).backward()
        eager_peak = tracemalloc.get_traced_memory()[1] - base
        want = x.grad.numpy().copy()
        del x
        gc.collect()

        tracemalloc.reset_peak()
        x = ag.tensor(value, requires_grad=True)
        base = tracemalloc.get_traced_memory()[0]
        g = ag.Graph(chain(x, ops))
        g.forward()
        x.grad = None
        g.backward()
        graph_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    # (about 1.4x here; one function for the whole graph took 50x)
    assert graph_peak <= 3 * eager_peak, (graph_peak / 1e6, eager_peak / 1e6)


def test_small_graph_code_is_one_function_each_with_global_names():
    x = ag.tensor(np.ones(3), requires_grad=True)
    g = ag.Graph(chain(x, 30))
    assert g._compiled().pieces is None
    code = g.code
    assert code.startswith("def forward():\n    mul_scalar_1.data = f_mul_scalar(param_0.data, **p_mul_scalar_1)")
    assert "\n\n\ndef backward(seeds):\n" in code and "objs" not in code and "pending" not in code
