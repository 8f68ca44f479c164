"""Drawing big graphs (autograd/viz.py, autograd/viz_collapse.py): any graph, with or without
modules, is drawn in at most ``max_nodes`` nodes, and the DOT text stays as small as the drawing."""
import math
import random
import re
import tracemalloc

import autograd as ag
from autograd import viz
from autograd.grad_mode import state
from test_viz import Drawn

SUMMARY_LABEL = re.compile(r"… ([\d,]+) ops(?:, ([\d,]+) lea(?:f|ves))?|… ([\d,]+) lea(?:f|ves)")


def dot_nodes(source):
    """The node statements of a DOT text: {name: the rest of its line}."""
    found = {}
    for line in source.splitlines():
        m = re.match(r"\s+(\w+) \[(.*)$", line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            found[m.group(1)] = m.group(2)
    return found


def dot_edges(source):
    return [m.groups() for m in re.finditer(r"^\s+(\w+) -> (\w+)", source, re.M)]


def summary_counts(attrs):
    """(ops, leaves) from a summary node's label."""
    m = SUMMARY_LABEL.search(attrs)
    ops, leaves, only_leaves = m.groups()
    if only_leaves:
        return 0, int(only_leaves.replace(",", ""))
    return int(ops.replace(",", "")), int((leaves or "0").replace(",", ""))


def accounted(source):
    """How many graph nodes a drawing stands for: its drawn values plus what its summaries hold."""
    total = 0
    for name, attrs in dot_nodes(source).items():
        if re.fullmatch(r"s\d+", name):
            total += sum(summary_counts(attrs))
        elif re.fullmatch(r"n\d+", name):
            total += 1
    return total


def scalar_chain(steps):
    """x -> x * 1.0001 + 0.1, ``steps`` times: 4 nodes a step (two constants, a product, a sum)."""
    x = ag.Scalar(1.0, label="x")
    y = x
    for _ in range(steps):
        y = y * 1.0001 + 0.1
    return x, y


def scoped(path, fn):
    prev = state.scope
    state.scope = path
    try:
        return fn()
    finally:
        state.scope = prev


# ---------------------------------------------------------------------------------------------
# Long chains


def test_100k_node_scalar_chain_is_folded_to_the_budget():
    x, y = scalar_chain(25_000)  # 100,001 nodes, no modules: drawn whole before (24.7 MB of DOT)
    tracemalloc.start()
    try:
        drawing = ag.draw_graph(y)
        source = drawing.source
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    nodes = dot_nodes(source)
    assert len(nodes) <= viz.DEFAULT_MAX_NODES
    assert len(source) < 100_000
    # the graph itself was built before; drawing it needs a few hundred bytes a node (was 690)
    assert peak < 45e6
    # the root and the nodes nearest it, the labelled leaf, and one summary for the chain between
    assert {"n0", "n100000", "n100000_op", "n99999", "n99998", "s0"} <= set(nodes) and "s1" not in nodes
    assert nodes["n0"].startswith('label="{ x |')
    ops, leaves = summary_counts(nodes["s0"])
    assert ops + leaves > 99_000 and ops > 49_000
    assert "* ×" in nodes["s0"] and "+ ×" in nodes["s0"] and "shape=folder" in nodes["s0"]
    assert accounted(source) == 100_001
    edges = dot_edges(source)
    assert ("n0", "s0") in edges and sum(1 for t, _ in edges if t == "s0") == 1
    # dot lays the collapsed drawing out (it segfaulted on the 10^6-node one, after 200 s)
    drawn = Drawn(drawing.pipe(format="svg", encoding="utf-8"))
    assert set(drawn.nodes) == set(nodes)


def test_tensor_chain_is_folded_keeping_leaf_and_root():
    x = ag.ones(3, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.1  # Tensor ops with a number: no constant nodes, 20,001 nodes
    source = ag.draw_graph(y).source
    nodes = dot_nodes(source)
    assert len(nodes) <= viz.DEFAULT_MAX_NODES
    assert {"n0", "n20000", "s0"} <= set(nodes) and "s1" not in nodes
    assert "mul_scalar ×" in nodes["s0"] and "add_scalar ×" in nodes["s0"] and "-> (3,) float32" in nodes["s0"]
    assert accounted(source) == 20_001
    assert len(ag.draw_graph(y, max_nodes=None).source.splitlines()) > 40_000  # every node and edge


# ---------------------------------------------------------------------------------------------
# Wide fans


def test_sum_of_10k_scalars_is_folded():
    xs = [ag.Scalar(i / 1000) for i in range(10_000)]
    s = sum(xs)  # a chain of 10,000 additions, each reading its own leaf
    source = ag.draw_graph(s).source
    assert len(dot_nodes(source)) <= viz.DEFAULT_MAX_NODES
    assert accounted(source) == len(ag.toposort([s]))
    named = [ag.Scalar(i / 1000, label=f"x{i}") for i in range(10_000)]
    source = ag.draw_graph(sum(named)).source  # labelled leaves are kept, up to a quarter of the budget
    nodes = dot_nodes(source)
    assert len(nodes) <= viz.DEFAULT_MAX_NODES
    labelled = {m.group(1) for a in nodes.values() if (m := re.match(r'label="\{ (x\d+) \|', a))}
    assert {f"x{i}" for i in range(viz.DEFAULT_MAX_NODES // 4)} <= labelled  # pinned, deepest first
    assert "x9999" in labelled  # and those the drawing reaches from the root


def test_stack_of_10k_tensors_is_one_summary():
    xs = [ag.tensor(float(i), requires_grad=True) for i in range(10_000)]
    loss = (ag.stack(xs) * 2.0).sum()
    drawing = ag.draw_graph(loss, max_nodes=40)
    nodes = dot_nodes(drawing.source)
    assert len(nodes) <= 40
    stack = next(k for k, a in nodes.items() if "stack" in a)
    summaries = [k for k in nodes if k.startswith("s")]
    # the first 10 leaves (parameters, pinned: a quarter of the budget) are drawn, the rest is one node
    assert summaries == ["s0"] and "… 9,990 leaves" in nodes["s0"]
    edges = dot_edges(drawing.source)
    assert sum(1 for _, h in edges if h == stack) == 11
    assert re.search(rf's0 -> {stack} \[label="9,990 tensors"', drawing.source)
    assert set(Drawn(drawing.pipe(format="svg", encoding="utf-8")).nodes) == set(nodes)
    w = ag.ones((), requires_grad=True)
    products = [ag.tensor(float(i)) * w for i in range(10_000)]  # inputs made by ops: nothing pinned but w
    source = ag.draw_graph(ag.stack(products).sum(), params={"w": w}, max_nodes=40).source
    nodes = dot_nodes(source)
    assert len(nodes) <= 40
    stack = next(k for k, a in nodes.items() if "stack" in a)
    assert [k for k in nodes if k.startswith("s")] == ["s0"]  # the stack's first 4 inputs are drawn
    assert "… 9,996 ops, 9,996 leaves" in nodes["s0"] and "mul ×9,996" in nodes["s0"]
    assert re.search(rf's0 -> {stack} \[label="9,996 tensors"', source)
    assert accounted(source) == 1 + 2 * 10_000 + 2


def test_fan_out_of_a_parameter_is_one_summary():
    w = ag.randn(3, requires_grad=True)
    t = ag.stack([(w * float(i)).tanh() for i in range(2_000)]).sum()
    source = ag.draw_graph(t, params={"w": w}).source
    nodes = dot_nodes(source)
    assert len(nodes) <= viz.DEFAULT_MAX_NODES
    assert "w\\n(3,) float32" in nodes["n0"]
    assert [k for k in nodes if k.startswith("s")] == ["s0"]
    assert "mul_scalar ×" in nodes["s0"] and "tanh ×" in nodes["s0"]
    assert ("n0", "s0") in dot_edges(source)
    assert accounted(source) == len(ag.toposort([t]))


def test_many_copies_of_one_input_are_one_edge():
    x = ag.ones(2, requires_grad=True)
    y = ag.stack([x] * 1000).sum()
    source = ag.draw_graph(y).source
    assert re.findall(r"n0 -> n1 \[label=\"(.*)\"\]", source) == ["(2,) ×1,000"]
    assert len(dot_edges(ag.draw_graph(y, max_nodes=None).source)) == 1001


# ---------------------------------------------------------------------------------------------
# Budgets, modules, roots, NaN


def test_modules_are_kept_as_boxes_when_folding():
    x = ag.randn(2, 3, requires_grad=True)
    h = x
    for _ in range(1000):  # a long chain outside every module ...
        h = h * 1.001
    for i in range(5):  # ... under five modules near the loss
        W = ag.randn(3, 3, requires_grad=True)
        h = scoped(("MLP", str(i)), lambda: (h @ W).tanh())
    source = ag.draw_graph(h.sum(), max_nodes=30).source
    nodes = dot_nodes(source)
    assert len(nodes) <= 30
    boxes = [a for a in nodes.values() if "shape=box3d" in a]
    assert len(boxes) == 1 and boxes[0].startswith('label="MLP\\n10 ops, 5 params')  # the top level
    assert [k for k in nodes if k.startswith("s")] == ["s0"] and "mul_scalar ×" in nodes["s0"]


def test_budget_holds_when_roots_exceed_it():
    roots = [ag.Scalar(float(i)) * 2.0 for i in range(100)]
    nodes = dot_nodes(ag.draw_graph(roots, max_nodes=10).source)
    assert len(nodes) <= 10 and "n2" in nodes  # the first root is always drawn
    assert len(dot_nodes(ag.draw_graph(roots[0], max_nodes=1).source)) == 3  # root's value and op, a summary
    x, y = scalar_chain(100)
    assert len(dot_nodes(ag.draw_graph(y, max_nodes=1).source)) == 3  # the root's two nodes, a summary


def test_nan_inside_a_summary_is_shown():
    x, y = scalar_chain(1000)
    ag.toposort([y])[10].grad = math.nan
    d = Drawn(viz.render_svg(ag.draw_graph(y)))
    assert d.fill("s0") == viz.NONFINITE_FILL and d.stroke("s0") == viz.NONFINITE_BORDER
    assert "!! NaN or Inf in 1 node" in d.text(d.nodes["s0"])
    assert "NaN or Inf in n10" in d.tooltip(d.nodes["s0"])


def test_folded_drawing_is_the_same_every_run():
    def build():
        x, y = scalar_chain(2000)
        return ag.draw_graph(y, color_by="grad_norm").source

    assert build() == build()


def random_scalar_graph(rng, size):
    """A random Scalar DAG: leaves (some labelled), then operations reading recent values."""
    nodes = [ag.Scalar(rng.uniform(-1, 1), label=f"p{i}" if rng.random() < 0.2 else "")
             for i in range(rng.randint(1, 8))]
    read = set()
    for _ in range(size):
        a = nodes[-1 - min(int(rng.expovariate(0.3)), len(nodes) - 1)]
        if rng.random() < 0.2:
            out = a.tanh()
            read.add(a)
        else:
            b = nodes[rng.randrange(len(nodes))] if rng.random() < 0.3 else ag.Scalar(rng.uniform(-1, 1))
            out = a * b if rng.random() < 0.5 else a + b
            read.update((a, b))
        nodes.append(out)
    return [n for n in nodes if n not in read]  # the sinks: every node is below one of them


def test_random_graphs_keep_the_budget_lose_nothing_and_stay_acyclic():
    rng = random.Random(7)
    for _ in range(40):
        roots = random_scalar_graph(rng, rng.randint(5, 600))
        max_nodes = rng.choice([3, 5, 10, 30, 60, 200])
        source = ag.draw_graph(roots, max_nodes=max_nodes).source
        nodes = dot_nodes(source)
        assert len(nodes) <= max(max_nodes, 3)  # the first root (two nodes) and one summary at least
        assert accounted(source) == len(ag.toposort(roots))
        order = ag.toposort(roots)
        assert f"n{order.index(roots[0])}" in nodes
        # Kahn's algorithm on the drawn edges: all roots are sinks, so the drawing is a DAG
        edges = dot_edges(source)
        indegree = {k: 0 for k in nodes}
        for _, head in edges:
            indegree[head] += 1
        ready = [k for k, d in indegree.items() if d == 0]
        seen = 0
        while ready:
            k = ready.pop()
            seen += 1
            for tail, head in edges:
                if tail == k:
                    indegree[head] -= 1
                    if indegree[head] == 0:
                        ready.append(head)
        assert seen == len(nodes)


def random_tensor_graph(rng, size):
    """A random Tensor DAG whose operations run inside random (nested) modules, or none."""
    nodes = [ag.randn(2, requires_grad=rng.random() < 0.7) for _ in range(rng.randint(2, 6))]
    nodes[0].requires_grad = True
    paths = [None, ("net", "a"), ("net", "b"), ("net", "b", "c"), ("head",)]
    read = set()
    for _ in range(size):
        a = nodes[-1 - min(int(rng.expovariate(0.3)), len(nodes) - 1)]
        b = nodes[rng.randrange(len(nodes))]
        if not (a.requires_grad or b.requires_grad):
            a = nodes[0]
        op = rng.choice(["mul", "add", "tanh"])
        out = scoped(rng.choice(paths), lambda: a.tanh() if op == "tanh" else a * b if op == "mul" else a + b)
        read.update((a,) if op == "tanh" else (a, b))
        nodes.append(out)
    return [n for n in nodes if n not in read and n._inputs]


def test_random_graphs_with_modules_keep_the_budget_and_lose_nothing():
    rng = random.Random(11)
    for _ in range(25):
        roots = random_tensor_graph(rng, rng.randint(5, 300))
        max_nodes = rng.choice([3, 8, 20, 50])
        source = ag.draw_graph(roots, max_nodes=max_nodes).source
        nodes = dot_nodes(source)
        assert len(nodes) <= max_nodes
        in_modules = 0
        for attrs in nodes.values():
            if "shape=box3d" in attrs:
                m = re.match(r'label="[^"]*?\\n(\d+) ops?(?:, (\d+) params?)?', attrs)
                in_modules += int(m.group(1)) + int(m.group(2) or 0)
        assert accounted(source) + in_modules == len(ag.toposort(roots))
