"""Scalar (micrograd's Value) against torch float64 and against Tensor on random expression DAGs."""
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag

# -- a random expression DAG, built the same way through any front end -------------------------
# Each step reads one or two nodes from the pool (leaves and every intermediate so far), so later
# steps reuse intermediates: shared subexpressions, i.e. several paths from the output to a node.
# Domain-restricted operations get a positive argument by construction (a*a + c), which keeps the
# same derivative rules under test without drawing inputs where a function is undefined.

UNARY = ("exp", "log", "tanh", "sigmoid", "relu", "abs", "sqrt", "neg", "pow_const", "rpow_const")
BINARY = ("+", "-", "*", "/", "**")
WITH_NUMBER = ("radd", "rsub", "rmul", "rdiv", "add", "sub", "mul", "div")


def _apply(kind, a, b, c):
    """One step on front-end values a, b (Scalar, Tensor or torch tensor) and a Python number c."""
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    if kind == "/":
        return a / (b * b + 0.5)
    if kind == "**":
        return (a * a + 0.5) ** b
    if kind == "exp":
        return a.tanh().exp() if c > 0 else (a * 0.5).exp()
    if kind == "log":
        return (a * a + 0.25).log()
    if kind == "sqrt":
        return (a * a + 0.1).sqrt()
    if kind == "neg":
        return -a
    if kind == "pow_const":
        return a ** 2 if c > 0 else (a * a + 1.0) ** c  # integer power of anything; real power of a positive
    if kind == "rpow_const":
        return abs(c) ** a.tanh()
    if kind == "radd":
        return c + a
    if kind == "rsub":
        return c - a
    if kind == "rmul":
        return c * a
    if kind == "rdiv":
        return c / (a * a + 0.5)
    if kind == "add":
        return a + c
    if kind == "sub":
        return a - c
    if kind == "mul":
        return a * c
    if kind == "div":
        return a / c
    return getattr(a, kind)()  # tanh sigmoid relu abs


_number = st.floats(0.3, 2.5).flatmap(lambda v: st.sampled_from([v, -v]))
_step = st.tuples(st.sampled_from(UNARY + BINARY + WITH_NUMBER), st.integers(0, 10**6), st.integers(0, 10**6),
                  _number)
dags = st.tuples(st.lists(st.floats(-2.0, 2.0, allow_subnormal=False), min_size=1, max_size=4),
                 st.lists(_step, min_size=1, max_size=12))


def build(leaves, steps):
    """Evaluate the DAG: returns (output, every node in creation order)."""
    pool = list(leaves)
    for kind, i, j, c in steps:
        pool.append(_apply(kind, pool[i % len(pool)], pool[j % len(pool)], c))
    # the output sums the last few nodes, so several branches of the DAG meet again at the root
    out = pool[-1]
    for node in pool[-4:-1]:
        out = out + node
    return out, pool


def _torch_run(values, steps):
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out, pool = build(leaves, steps)
    for node in pool[len(leaves):]:
        if node.requires_grad:
            node.retain_grad()
    out.backward()
    return out, pool


def _finite(*xs):
    return all(math.isfinite(x) and abs(x) < 1e8 for x in xs)


@given(dags)
def test_scalar_dag_matches_torch(dag):
    values, steps = dag
    with np.errstate(all="ignore"):
        t_out, t_pool = _torch_run(values, steps)
    assume(_finite(t_out.item()))
    t_grads = [0.0 if n.grad is None else n.grad.item() for n in t_pool]
    assume(_finite(*t_grads))

    leaves = [ag.Scalar(v) for v in values]
    out, pool = build(leaves, steps)
    out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-12, abs=1e-12)
    # every node, leaves and intermediates: a Scalar keeps its gradient (micrograd's behaviour)
    for node, tg in zip(pool, t_grads):
        assert node.grad == pytest.approx(tg, rel=1e-9, abs=1e-11)


@given(dags)
def test_scalar_and_tensor_give_the_same_gradients(dag):
    values, steps = dag
    leaves = [ag.Scalar(v) for v in values]
    out, _ = build(leaves, steps)
    assume(_finite(out.data))
    out.backward()
    assume(_finite(*(leaf.grad for leaf in leaves)))

    tleaves = [ag.tensor(v, dtype=ag.float64, requires_grad=True) for v in values]
    tout, _ = build(tleaves, steps)
    assert tout.shape == () and tout.dtype == ag.float64
    tout.backward()
    assert tout.item() == pytest.approx(out.data, rel=1e-12, abs=1e-12)
    for s, t in zip(leaves, tleaves):
        tg = 0.0 if t.grad is None else t.grad.item()
        assert tg == pytest.approx(s.grad, rel=1e-9, abs=1e-11)


def test_lecture_example():
    a, b = ag.Scalar(2.0, label="a"), ag.Scalar(-3.0, label="b")
    e = (a * b + a).tanh()
    e.backward()
    t = math.tanh(-4.0)
    assert e.data == pytest.approx(t)
    assert a.grad == pytest.approx((1 - t * t) * (-3.0 + 1.0))
    assert b.grad == pytest.approx((1 - t * t) * 2.0)


@pytest.mark.parametrize("op, f, df", [
    (lambda s: s + 3, lambda x: x + 3, lambda x: 1.0),
    (lambda s: 3 + s, lambda x: 3 + x, lambda x: 1.0),
    (lambda s: s - 3, lambda x: x - 3, lambda x: 1.0),
    (lambda s: 3 - s, lambda x: 3 - x, lambda x: -1.0),
    (lambda s: s * 2.5, lambda x: x * 2.5, lambda x: 2.5),
    (lambda s: 2.5 * s, lambda x: 2.5 * x, lambda x: 2.5),
    (lambda s: s / 4, lambda x: x / 4, lambda x: 0.25),
    (lambda s: 4 / s, lambda x: 4 / x, lambda x: -4 / x**2),
    (lambda s: s ** 3, lambda x: x**3, lambda x: 3 * x**2),
    (lambda s: s ** -1.5, lambda x: x**-1.5, lambda x: -1.5 * x**-2.5),
    (lambda s: 2 ** s, lambda x: 2**x, lambda x: 2**x * math.log(2)),
    (lambda s: -s, lambda x: -x, lambda x: -1.0),
    (lambda s: s.sqrt(), math.sqrt, lambda x: 0.5 / math.sqrt(x)),
    (lambda s: s.log(), math.log, lambda x: 1 / x),
    (lambda s: s.exp(), math.exp, math.exp),
    (lambda s: s.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
], ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "pow_int", "pow_float", "rpow", "neg", "sqrt",
        "log", "exp", "sigmoid"])
def test_ops_with_python_numbers_either_side(op, f, df):
    x = 1.7
    s = ag.Scalar(x)
    out = op(s)
    assert isinstance(out, ag.Scalar)
    out.backward()
    assert out.data == pytest.approx(f(x), rel=1e-14)
    assert s.grad == pytest.approx(df(x), rel=1e-12)


def test_scalar_exponent_gradient():
    a, b = ag.Scalar(1.3), ag.Scalar(-0.7)
    (a ** b).backward()
    assert a.grad == pytest.approx(-0.7 * 1.3 ** -1.7)
    assert b.grad == pytest.approx(1.3 ** -0.7 * math.log(1.3))


def test_zero_base_power_has_zero_exponent_gradient_like_torch():
    a, b = ag.Scalar(0.0), ag.Scalar(2.0)
    (a ** b).backward()
    at = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (at ** bt).backward()
    assert (a.grad, b.grad) == (at.grad.item(), bt.grad.item()) == (0.0, 0.0)


@pytest.mark.parametrize("x", [-1.5, 0.0, 2.0])
def test_relu_and_abs_match_torch_including_zero(x):
    for name in ("relu", "abs"):
        s = ag.Scalar(x)
        getattr(s, name)().backward()
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        getattr(t, name)().backward()
        assert s.grad == t.grad.item(), name


def test_sigmoid_is_stable_for_large_inputs():
    for x in (-800.0, 800.0):
        s = ag.Scalar(x)
        out = s.sigmoid()
        out.backward()
        assert out.data == (0.0 if x < 0 else 1.0)
        assert s.grad == 0.0


def test_attributes_and_repr():
    s = ag.Scalar(2, label="w")
    assert isinstance(s.data, float) and s.data == 2.0
    assert s.grad == 0.0 and s.label == "w" and s.op == ""
    t = s * 3
    assert t.op == "*" and t._inputs[0] is s
    assert float(t) == 6.0
    assert repr(s) == "Scalar(data=2, grad=0, label='w')"
    assert ag.Value is ag.Scalar
    assert ag.Scalar(ag.Scalar(1.5)).data == 1.5
    assert ag.Scalar(np.float64(0.25)).data == 0.25


def test_bad_data_raises_type_error():
    with pytest.raises(TypeError, match="real number"):
        ag.Scalar("3")
    with pytest.raises(TypeError, match="real number"):
        ag.Scalar([1.0])
    with pytest.raises(TypeError):
        ag.Scalar(1.0) + "a"


def test_scalar_graph_forward_re_evaluation():
    a, b = ag.Scalar(1.0), ag.Scalar(2.0)
    c = a * b + a.exp()
    g = ag.Graph(c)
    g.forward({a: 0.5})
    assert c.data == pytest.approx(0.5 * 2.0 + math.exp(0.5))
    a.grad = b.grad = 0.0
    g.backward()
    assert a.grad == pytest.approx(2.0 + math.exp(0.5))
    assert b.grad == pytest.approx(0.5)


# -- the same random DAGs on tensors of broadcastable shapes ------------------------------------


@given(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       st.lists(_step, min_size=1, max_size=10))
def test_tensor_dag_with_broadcasting_matches_torch(shapes, steps):
    """The random DAGs above, on Tensor leaves whose shapes broadcast against each other: values
    and every leaf gradient (reduced back over the broadcast axes) equal torch's."""
    rng = np.random.default_rng(0)
    values = [rng.uniform(-2, 2, size=s) for s in shapes.input_shapes]
    with np.errstate(all="ignore"):
        t_leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
        t_out, _ = build(t_leaves, steps)
    assume(bool(torch.isfinite(t_out).all()) and float(t_out.detach().abs().max()) < 1e8)
    cot = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(cot))
    t_grads = [np.zeros(v.shape) if t.grad is None else t.grad.numpy() for v, t in zip(values, t_leaves)]
    assume(all(np.isfinite(g).all() and np.abs(g).max(initial=0) < 1e8 for g in t_grads))

    leaves = [ag.tensor(v, dtype=ag.float64, requires_grad=True) for v in values]
    out, _ = build(leaves, steps)
    assert out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    out.backward(ag.tensor(cot, dtype=ag.float64))
    for leaf, tg in zip(leaves, t_grads):
        got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.numpy()
        assert got.shape == leaf.shape
        np.testing.assert_allclose(got, tg, rtol=1e-9, atol=1e-11)


@given(dags, st.lists(st.floats(-2.0, 2.0, allow_subnormal=False), min_size=4, max_size=4))
def test_graph_re_evaluation_equals_a_fresh_build(dag, new_values):
    """ag.Graph(out).forward(feeds) and .backward() on a random DAG give what building the DAG
    afresh from the new leaf values gives, for Scalar and Tensor leaves alike."""
    values, steps = dag
    new_values = new_values[: len(values)]
    for make in (ag.Scalar, lambda v: ag.tensor(v, dtype=ag.float64, requires_grad=True)):
        fresh_leaves = [make(v) for v in new_values]
        fresh, _ = build(fresh_leaves, steps)
        fresh_value = float(fresh.data)
        assume(_finite(fresh_value))
        fresh.backward()
        fresh_grads = [float(getattr(leaf.grad, "data", leaf.grad) if leaf.grad is not None else 0.0)
                       for leaf in fresh_leaves]
        assume(_finite(*fresh_grads))

        leaves = [make(v) for v in values]
        out, _ = build(leaves, steps)
        g = ag.Graph(out)
        result = g.forward({leaf: v for leaf, v in zip(leaves, new_values) if leaf in set(g.leaves)})
        assert result is out
        assert float(out.data) == pytest.approx(fresh_value, rel=1e-12, abs=1e-12)
        g.backward()
        for leaf, expected in zip(leaves, fresh_grads):
            got = leaf.grad if isinstance(leaf, ag.Scalar) else (0.0 if leaf.grad is None else leaf.grad.item())
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-11)


def test_numpy_scalars_on_either_side():
    # micrograd's demo notebook feeds numpy float64 scalars; they must mix like Python floats
    s = ag.Scalar(1.5)
    for out in (np.float64(2.0) * s, s * np.float64(2.0), np.float64(2.0) + s - np.float32(0.5)):
        assert isinstance(out, ag.Scalar)
    y = np.float64(3.0) * s + s * np.float64(2.0) - np.float64(1.0) / s
    y.backward()
    assert isinstance(y.data, float) and isinstance(s.grad, float)
    assert y.data == pytest.approx(3 * 1.5 + 3.0 - 1 / 1.5)
    assert s.grad == pytest.approx(5.0 + 1 / 1.5**2)


def test_graph_forward_starts_intermediate_gradients_afresh():
    """After g.forward(), a node's gradient from the previous backward (of its old value) is gone:
    drawing the graph after the next backward shows this step's gradients, not a running sum."""
    a = ag.Scalar(1.0)
    b = a * 2.0
    c = b * b
    g = ag.Graph(c)
    g.backward()
    assert (a.grad, b.grad, c.grad) == (8.0, 4.0, 1.0)
    for value in (1.0, 3.0):
        g.forward({a: value})
        a.zero_grad()
        g.backward()
        assert (a.grad, b.grad, c.grad) == (8.0 * value, 4.0 * value, 1.0)


def test_subclass_instances_stay_nodes():
    # an operand that is a Scalar subclass is a node of the graph, not a number to copy
    class Parameter(ag.Scalar):
        pass

    p, s = Parameter(3.0), ag.Scalar(2.0)
    (s * p + p.tanh()).backward()
    assert p.grad == pytest.approx(2.0 + (1 - math.tanh(3.0) ** 2))
    assert s.grad == 3.0


def test_scalar_backprop_gives_exactly_what_the_engines_general_walk_gives():
    """Scalar.backward walks with each node's partials inline (scalar.backprop); the engine's
    general walk (node._backward / node._accumulate, as for Tensors) must give the same gradients,
    bit for bit, on random graphs with shared subexpressions."""
    import random

    from autograd import engine
    from autograd.scalar import backprop

    rng = random.Random(7)
    for _ in range(20):
        def build():
            rng_local = random.Random(seed)
            leaves = [ag.Scalar(rng_local.uniform(-2, 2)) for _ in range(4)]
            nodes = list(leaves)
            for _ in range(40):
                a, b = rng_local.choice(nodes), rng_local.choice(nodes)
                op = rng_local.choice(["+", "*", "-", "tanh", "exp", "relu", "**2"])
                out = {"+": lambda: a + b, "*": lambda: a * b, "-": lambda: a - b, "tanh": lambda: a.tanh(),
                       "exp": lambda: (a * 0.1).exp(), "relu": lambda: a.relu(), "**2": lambda: a ** 2}[op]()
                nodes.append(out)
            return leaves, sum(nodes[-10:])

        seed = rng.randrange(10 ** 6)
        leaves_fast, root_fast = build()
        backprop((root_fast,), (1.0,))
        leaves_general, root_general = build()
        engine.backward((root_general,), (1.0,))
        assert [x.grad for x in leaves_fast] == [x.grad for x in leaves_general]
        assert root_fast.data == root_general.data


@given(dags, st.integers(1, 3))
def test_scalar_sort_is_the_engines_order(dag, n_roots):
    """Scalar.backward sorts with scalar._order (the slots read directly, leaves placed at once);
    it must give engine.toposort's order exactly, on random DAGs with shared subexpressions, an
    input used twice (x * x), leaves on either side and several roots (a root reachable from
    another one included)."""
    from autograd import engine
    from autograd.scalar import _order

    values, steps = dag
    leaves = [ag.Scalar(v) for v in values]
    with np.errstate(all="ignore"):
        out, pool = build(leaves, steps)
    roots = [out] + pool[-n_roots:-1] + [pool[0]]
    expected = engine.toposort(roots)
    assert _order(roots) == expected
    assert len(set(map(id, expected))) == len(expected)
