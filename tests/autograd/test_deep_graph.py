"""Deep graphs: the topological sort, backward and freeing never recurse (API.md: a graph a million
nodes deep works at the default recursion limit)."""
import subprocess
import sys

import numpy as np
import pytest

import autograd as ag

_DEEP = r"""
import gc, sys, weakref
import autograd as ag
N = 1_000_000
make = (lambda: ag.tensor([0.5], requires_grad=True)) if sys.argv[1] == "tensor" else (lambda: ag.Scalar(0.5))
x = make()
y = x
for k in range(N):
    y = y * 1.0 if k % 2 == 0 else y + 0.0
    if k == N // 2:
        middle = weakref.ref(y)
if sys.argv[1] == "tensor":
    y.sum().backward()
    assert x.grad.item() == 1.0, x.grad
else:
    assert len(ag.Graph(y).nodes) > N  # the whole chain is reachable
    y.backward()
    assert x.grad == 1.0, x.grad
del y  # freeing a chain a million deep must not overflow the C stack
gc.collect()
assert middle() is None, "the chain was not freed"
print("ok", sys.getrecursionlimit())
"""


@pytest.mark.parametrize("front_end", ["tensor", "scalar"])
def test_million_node_chain_builds_backprops_and_frees(front_end):
    """In a separate process: a C-stack overflow while freeing would kill pytest itself."""
    proc = subprocess.run([sys.executable, "-c", _DEEP, front_end], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit code {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.split() == ["ok", "1000"]  # at the default recursion limit


def test_deep_tensor_chain_of_mixed_ops_matches_hand_written_reverse_sweep():
    n = 30_000
    rng = np.random.default_rng(0)
    w = rng.uniform(-0.5, 0.5, size=(3, 3)) + np.eye(3)
    x = ag.tensor(rng.uniform(-1, 1, size=3), dtype=ag.float64, requires_grad=True)
    y, tape = x, []
    for k in range(n):
        if k % 3 == 0:
            y = (y @ w).tanh()
            tape.append(("mt", y.data))
        elif k % 3 == 1:
            y = y.reshape(3, 1).T.reshape(3)
        else:
            y = y * 0.9 + 0.01
            tape.append(("m", None))
    y.sum().backward()
    g = np.ones(3)
    for kind, out in reversed(tape):
        g = w @ (g * (1 - out * out)) if kind == "mt" else g * 0.9
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-10, atol=1e-300)


def test_deep_scalar_ladder_with_two_paths_per_node():
    # y_k = y_{k-1} * a + y_{k-2} * b: every node has two successors, so the number of paths
    # from the output to x grows like Fibonacci; the gradient must still be exact and linear-time
    n, a, b = 30_000, 0.6, 0.3
    x = ag.Scalar(1.0)
    prev2, prev1 = x, x * 1.0
    for _ in range(n):
        prev2, prev1 = prev1, prev1 * a + prev2 * b
    prev1.backward()
    # reverse sweep by hand: g_{k-1} += a g_k, g_{k-2} += b g_k
    g = [0.0] * (n + 2)
    g[n + 1] = 1.0
    for k in range(n + 1, 1, -1):
        g[k - 1] += a * g[k]
        g[k - 2] += b * g[k]
    assert x.grad == pytest.approx(g[0] + g[1] * 1.0, rel=1e-9, abs=1e-300)


def test_deep_retain_graph_and_repeated_backward():
    x = ag.tensor([0.3], dtype=ag.float64, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.00001
    y.sum().backward(retain_graph=True)
    first = x.grad.item()
    y.sum().backward()
    assert x.grad.item() == pytest.approx(2 * first)
    assert first == pytest.approx(1.00001**50_000)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.sum().backward()


def test_deep_graph_object_forward_and_backward():
    x = ag.tensor([0.5], dtype=ag.float64, requires_grad=True)
    y = x
    for k in range(50_000):
        y = y + 1e-5 if k % 2 else y * 1.0
    g = ag.Graph(y)
    assert len(g.nodes) == 50_001 and g.leaves == [x]
    out = g.forward({x: np.array([1.0])})
    assert out.item() == pytest.approx(1.0 + 25_000 * 1e-5)
    g.backward(np.ones(1))
    assert x.grad.item() == 1.0


def test_deep_second_order_gradient():
    """ag.grad with create_graph through a 10,000-deep chain, then backward through that gradient:
    the second derivative agrees with central differences of the first."""

    def first_derivative(v, create_graph):
        x = ag.tensor([v], dtype=ag.float64, requires_grad=True)
        y = x
        for k in range(10_000):
            y = (y * 0.9999).sin() + 0.0001 if k % 2 else y * 1.0001
        (gx,) = ag.grad(y.sum(), [x], create_graph=create_graph)
        return x, gx

    x, gx = first_derivative(0.7, True)
    gx.sum().backward()
    h = 1e-5
    numeric = (first_derivative(0.7 + h, False)[1].item() - first_derivative(0.7 - h, False)[1].item()) / (2 * h)
    assert x.grad.item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)
