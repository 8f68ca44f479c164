"""Drawing graphs (autograd/viz.py), rendered with the real Graphviz ``dot`` and read back as XML."""
import math
import re
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest
import torch

import autograd as ag
from autograd import viz
from autograd.grad_mode import state

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


class Drawn:
    """The nodes, clusters and edges of a rendered SVG, keyed by their <title> (the DOT name)."""

    def __init__(self, svg):
        self.svg = svg
        root = ET.fromstring(svg)
        self.nodes, self.clusters, self.edges = {}, {}, []
        for g in root.iter(SVG + "g"):
            kind = g.get("class")
            if kind not in ("node", "cluster", "edge"):
                continue
            title = g.find(SVG + "title").text
            if kind == "node":
                self.nodes[title] = g
            elif kind == "cluster":
                self.clusters[title] = g
            else:
                self.edges.append(title.replace("&#45;", "-"))

    @staticmethod
    def text(g):
        return "\n".join(t.text or "" for t in g.iter(SVG + "text"))

    @staticmethod
    def tooltip(g):
        a = g.find(f".//{SVG}a")
        return None if a is None else a.get(XLINK + "title")

    @staticmethod
    def shape(g):
        """The first drawn shape of a node or cluster (its outline)."""
        for el in g.iter():
            if el.tag in (SVG + "polygon", SVG + "ellipse", SVG + "path"):
                return el
        raise AssertionError("no shape")

    def fill(self, title):
        return self.shape(self.nodes[title]).get("fill")

    def stroke(self, title):
        return self.shape(self.nodes[title]).get("stroke")

    def cluster_by_label(self, label):
        found = [c for c in self.clusters.values() if self.text(c).split("\n")[0] == label]
        assert len(found) == 1, (label, [self.text(c) for c in self.clusters.values()])
        return found[0]

    @staticmethod
    def bbox(g):
        xs, ys = [], []
        for el in g.iter():
            if el.tag == SVG + "polygon":
                for p in el.get("points").split():
                    x, y = p.split(",")
                    xs.append(float(x))
                    ys.append(float(y))
            elif el.tag == SVG + "path":  # rounded boxes: the outline's control points
                nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", el.get("d"))]
                xs += nums[0::2]
                ys += nums[1::2]
            elif el.tag == SVG + "ellipse":
                cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
                xs += [cx - rx, cx + rx]
                ys += [cy - ry, cy + ry]
        return min(xs), min(ys), max(xs), max(ys)

    def inside(self, node_title, cluster):
        x0, y0, x1, y1 = self.bbox(self.nodes[node_title])
        cx0, cy0, cx1, cy1 = self.bbox(cluster)
        return cx0 <= x0 and cy0 <= y0 and x1 <= cx1 and y1 <= cy1


def render(*roots, **options):
    return Drawn(viz.render_svg(ag.draw_graph(*roots, **options)))


def grad_bin_fill(norm):
    for bound, fill, _, _ in viz.GRAD_NORM_BINS:
        if norm < bound:
            return fill
    raise AssertionError(norm)


# ---------------------------------------------------------------------------------------------
# Scalar graphs: micrograd's picture


def test_scalar_graph_is_micrograds_picture():
    a, b = ag.Scalar(2.0, label="a"), ag.Scalar(-3.0, label="b")
    e = (a * b + a).tanh()
    e.backward()
    d = render(e)
    # five values (a, b, a*b, a*b+a, tanh) and one small node per operation (*, +, tanh)
    assert sorted(d.nodes) == sorted(["n0", "n1", "n2", "n2_op", "n3", "n3_op", "n4", "n4_op"])
    # edges: each op -> its value, each input -> the op (a is read twice)
    assert sorted(d.edges) == sorted(["n2_op->n2", "n0->n2_op", "n1->n2_op", "n3_op->n3", "n2->n3_op",
                                      "n0->n3_op", "n4_op->n4", "n3->n4_op"])
    # closed form: de/da = (1 - tanh^2)(b + 1), de/db = (1 - tanh^2) a
    t = math.tanh(2.0 * -3.0 + 2.0)
    assert d.text(d.nodes["n0"]).split("\n") == ["a", "data 2.0000", f"grad {(1 - t * t) * -2.0:.4f}"]
    assert d.text(d.nodes["n1"]).split("\n") == ["b", "data -3.0000", f"grad {(1 - t * t) * 2.0:.4f}"]
    assert d.text(d.nodes["n4"]).split("\n")[-2:] == [f"data {t:.4f}", "grad 1.0000"]
    assert [d.text(d.nodes[k]) for k in ("n2_op", "n3_op", "n4_op")] == ["*", "+", "tanh"]
    assert d.shape(d.nodes["n2_op"]).tag == SVG + "ellipse"
    for title, g in d.nodes.items():
        assert d.tooltip(g), f"{title} has no tooltip"
    assert "data 2.0" in d.tooltip(d.nodes["n0"]) and "grad" in d.tooltip(d.nodes["n0"])


def test_scalar_constants_and_show_flags():
    a = ag.Scalar(1.5, label="a")
    y = 2 * a  # the 2 becomes a constant leaf, drawn like any value
    d = render(y, show_data=False, show_grad=False)
    assert sorted(d.nodes) == ["n0", "n1", "n2", "n2_op"]
    texts = [d.text(d.nodes[k]) for k in ("n0", "n1", "n2")]
    assert not any("data" in t or "grad" in t for t in texts)
    assert texts[1] == "a"
    full = render(y)
    assert "data 2.0000" in full.text(full.nodes["n0"]) and "data 3.0000" in full.text(full.nodes["n2"])


def test_scalar_label_is_literal_text():
    a = ag.Scalar(1.0, label='x|<y> {z} "q" \\n')
    d = render(a * 1.0)
    assert d.text(d.nodes["n0"]).split("\n")[0] == 'x|<y> {z} "q" \\n'


def test_scalar_params_name_leaves():
    w = ag.Scalar(0.5)
    d = render(w * 3.0, params={"w0": w})
    assert d.text(d.nodes["n0"]).split("\n")[0] == "w0"


def test_scalar_nan_is_highlighted():
    a = ag.Scalar(-1.0, label="a")
    y = a.log() * 2.0  # log(-1) = NaN
    d = render(y)
    assert d.fill("n1") == viz.NONFINITE_FILL and d.stroke("n1") == "red"
    assert "not finite" in d.text(d.nodes["n1"])
    assert d.fill("n0") != viz.NONFINITE_FILL


# ---------------------------------------------------------------------------------------------
# Tensor graphs


def small_tensor_graph():
    x = ag.randn(4, 3)
    W = ag.randn(3, 2, requires_grad=True)
    b = ag.zeros(2, requires_grad=True)
    loss = (x @ W + b).relu().sum()
    return x, W, b, loss


def test_tensor_nodes_show_op_shape_dtype_and_edges_carry_shapes():
    x, W, b, loss = small_tensor_graph()
    loss.backward()
    d = render(loss, params={"W": W, "b": b})
    # x, W, matmul, b, add, relu, sum: topological positions are the node names
    assert sorted(d.nodes) == [f"n{i}" for i in range(7)]
    texts = {k: d.text(g).split("\n") for k, g in d.nodes.items()}
    assert texts["n0"][:2] == ["input", "(4, 3) float32"]
    assert texts["n1"][:2] == ["W", "(3, 2) float32"]
    assert texts["n2"][:2] == ["matmul", "(4, 2) float32"]
    assert texts["n3"][:2] == ["b", "(2,) float32"]
    assert texts["n4"][:2] == ["add", "(4, 2) float32"]
    assert texts["n5"][:2] == ["relu", "(4, 2) float32"]
    assert texts["n6"][:2] == ["sum", "() float32"]
    assert texts["n6"][2] == f"data {loss.item():.4g}"
    # leaves keep .grad after backward: shown as [min, max]
    g = W.grad.data
    assert texts["n1"][3] == f"grad [{g.min():.4g}, {g.max():.4g}]"
    assert sorted(d.edges) == sorted(["n0->n2", "n1->n2", "n2->n4", "n3->n4", "n4->n5", "n5->n6"])
    edge_labels = [d.text(g) for g in ET.fromstring(d.svg).iter(SVG + "g") if g.get("class") == "edge"]
    assert sorted(edge_labels) == sorted(["(4, 3)", "(3, 2)", "(4, 2)", "(2,)", "(4, 2)", "(4, 2)"])
    # fills by role: parameters, data, operations, the root
    assert d.fill("n1") == d.fill("n3") == "lightblue"
    assert d.fill("n0") == "#eeeeee"
    assert d.fill("n2") == "white"
    assert d.fill("n6") == "#caff70"  # darkolivegreen1


def test_tensor_tooltips_carry_statistics():
    x, W, b, loss = small_tensor_graph()
    loss.backward()
    d = render(loss, params={"W": W, "b": b})
    for title, g in d.nodes.items():
        tip = d.tooltip(g)
        assert tip and all(w in tip for w in ("min", "max", "mean", "norm")), (title, tip)
    tip = d.tooltip(d.nodes["n1"]).split("\n")
    w, gw = W.data.astype(np.float64), W.grad.data.astype(np.float64)
    assert tip[2] == f"data: min {w.min():.4g}, max {w.max():.4g}, mean {w.mean():.4g}, norm {np.linalg.norm(w):.4g}"
    assert tip[3] == f"grad: min {gw.min():.4g}, max {gw.max():.4g}, mean {gw.mean():.4g}, " \
                     f"norm {np.linalg.norm(gw):.4g}"
    # an intermediate keeps no .grad: the tooltip says why
    assert "retain_grad" in d.tooltip(d.nodes["n4"])


def test_op_arguments_and_literal_param_names():
    x = ag.randn(2, 3, requires_grad=True)
    y = (x * 2.5).sum(dim=1)
    d = render(y, params={'w"1\\n': x})
    texts = {k: d.text(g).split("\n")[0] for k, g in d.nodes.items()}
    assert texts == {"n0": 'w"1\\n', "n1": "mul_scalar(c=2.5)", "n2": "sum(axis=(1,))"}


def test_tensor_nan_and_inf_are_highlighted():
    x = ag.tensor([0.0, 1.0, -1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = x.sqrt()  # sqrt(-1) = NaN in the data; d sqrt/dx at 0 = Inf in the gradient
        loss = y.sum()
        loss.backward(retain_graph=True)
    d = render(loss, params={"x": x})
    assert d.fill("n1") == viz.NONFINITE_FILL and d.stroke("n1") == "red"
    assert "!! 1 NaN in data" in d.text(d.nodes["n1"])
    assert d.fill("n0") == viz.NONFINITE_FILL  # x.grad = [inf, 0.5, nan]
    assert "1 NaN 1 Inf in grad" in d.text(d.nodes["n0"])
    assert "(1 NaN, 1 Inf)" in d.tooltip(d.nodes["n0"])


# ---------------------------------------------------------------------------------------------
# Module clusters


def scoped(path, fn):
    prev = state.scope
    state.scope = path
    try:
        return fn()
    finally:
        state.scope = prev


def test_group_modules_draws_nested_clusters():
    x = ag.randn(4, 3)
    W = ag.randn(3, 2, requires_grad=True)
    b = ag.zeros(2, requires_grad=True)
    h = scoped(("model", "0"), lambda: x @ W + b)
    r = scoped(("model", "1"), lambda: h.relu())
    loss = r.sum()
    d = render(loss, params={"0.weight": W, "0.bias": b})
    labels = sorted(d.text(c).split("\n")[0] for c in d.clusters.values())
    assert labels == ["model", "model.0", "model.1"]
    outer, first, second = (d.cluster_by_label(s) for s in ("model", "model.0", "model.1"))
    # matmul (n2) and add (n4) in model.0 with their parameters W (n1) and b (n3); relu (n5) in model.1
    for n in ("n1", "n2", "n3", "n4"):
        assert d.inside(n, first) and d.inside(n, outer) and not d.inside(n, second)
    assert d.inside("n5", second) and d.inside("n5", outer)
    assert not d.inside("n0", outer) and not d.inside("n6", outer)  # data and the loss are outside
    flat = render(loss, group_modules=False)
    assert flat.clusters == {} and sorted(flat.nodes) == sorted(d.nodes)


def test_shared_parameter_joins_common_module():
    w = ag.randn(3, 3, requires_grad=True)
    x = ag.randn(2, 3)
    h = scoped(("net", "a"), lambda: x @ w)
    y = scoped(("net", "b"), lambda: h @ w)
    d = render(y.sum(), params={"w": w})
    assert d.inside("n1", d.cluster_by_label("net"))
    assert not d.inside("n1", d.cluster_by_label("net.a")) and not d.inside("n1", d.cluster_by_label("net.b"))


def test_real_nn_modules_are_grouped():
    import nn

    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    loss = model(ag.randn(4, 3)).sum()
    d = render(loss, params=dict(model.named_parameters()))
    labels = {d.text(c).split("\n")[0] for c in d.clusters.values()}
    assert labels == {"Sequential", "Sequential.0", "Sequential.1", "Sequential.2"}
    texts = {k: d.text(g).split("\n")[0] for k, g in d.nodes.items()}
    first = d.cluster_by_label("Sequential.0")
    for name in ("0.weight", "0.bias"):
        (title,) = [k for k, t in texts.items() if t == name]
        assert d.inside(title, first)
    (relu,) = [k for k, t in texts.items() if t == "relu"]
    assert d.inside(relu, d.cluster_by_label("Sequential.1"))


# ---------------------------------------------------------------------------------------------
# Colouring by gradient norm


def test_color_by_grad_norm_matches_torch_gradients():
    x0, W0, b0 = np.random.randn(4, 3), np.random.randn(3, 2), np.random.randn(2)
    x, W, b = ag.tensor(x0), ag.tensor(W0, requires_grad=True), ag.tensor(b0, requires_grad=True)
    mm = x @ W
    h = mm + b
    s = h.sigmoid()
    loss = (s * 300.0).sum()
    d = render(loss, color_by="grad_norm")
    assert W.grad is None and b.grad is None  # drawing accumulates nothing

    tx, tW, tb = torch.tensor(x0), torch.tensor(W0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    tmm = tx @ tW
    th = tmm + tb
    ts = th.sigmoid()
    tm = ts * 300.0
    tloss = tm.sum()
    for t in (tmm, th, ts, tm):
        t.retain_grad()
    tloss.backward()
    pairs = {W: tW, b: tb, mm: tmm, h: th, s: ts}
    pos = {n: i for i, n in enumerate(ag.toposort([loss]))}
    for node, t in pairs.items():
        assert d.fill(f"n{pos[node]}") == grad_bin_fill(float(t.grad.norm())), node
    assert d.fill(f"n{pos[loss]}") == grad_bin_fill(1.0)  # the root's seed
    assert d.fill(f"n{pos[x]}") == viz.NO_GRAD_FILL
    legend = d.text(d.nodes["legend"])
    assert "vanishing" in legend and "exploding" in legend and "NaN / Inf" in legend
    legend_fills = {el.get("fill") for el in d.nodes["legend"].iter(SVG + "polygon")}
    assert {fill for _, fill, _, _ in viz.GRAD_NORM_BINS} <= legend_fills


def test_color_by_shows_vanishing_and_exploding_gradients():
    # a chain of sigmoids: d out/d a_k = prod_{j>k} a_j (1 - a_j), at most 1/4 a link
    x = ag.tensor([0.3], dtype=ag.float64, requires_grad=True)
    chain = [x]
    for _ in range(14):
        chain.append(chain[-1].sigmoid())
    d = render(chain[-1], color_by="grad_norm")
    vals = [float(t.data[0]) for t in chain]
    for k in range(len(chain)):
        expected = math.prod(v * (1 - v) for v in vals[k + 1:])
        assert d.fill(f"n{k}") == grad_bin_fill(expected)
    assert d.fill("n0") == viz.GRAD_NORM_BINS[0][1]  # vanishing at the input
    # multiplying by 100 three times: d out/dx = 1e6, exploding
    y = ag.tensor([1.0], requires_grad=True)
    z = y * 100.0 * 100.0 * 100.0
    e = render(z, color_by="grad_norm")
    assert e.fill("n0") == viz.GRAD_NORM_BINS[-1][1]
    assert e.fill("n3") == grad_bin_fill(1.0)


def test_color_by_works_after_backward_and_accumulates_nothing():
    x, W, b, loss = small_tensor_graph()
    loss.backward()
    gW = W.grad.data.copy()
    d = render(loss, color_by="grad_norm")
    assert d.fill("n1") == grad_bin_fill(np.linalg.norm(gW))
    np.testing.assert_array_equal(W.grad.data, gW)  # nothing accumulated
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()  # the user's graph stays released


def test_color_by_reports_values_changed_in_place_since():
    x, W, b, loss = small_tensor_graph()
    loss.backward()
    with ag.no_grad():
        W.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        ag.draw_graph(loss, color_by="grad_norm")
    ag.draw_graph(loss)  # without color_by the drawing still works


def test_color_by_on_scalars_uses_grad():
    a = ag.Scalar(3.0, label="a")
    y = a * 1e-7
    y.backward()
    d = render(y, color_by="grad_norm")
    assert d.fill("n0") == grad_bin_fill(1e-7)
    assert d.fill("n2") == grad_bin_fill(1.0)


# ---------------------------------------------------------------------------------------------
# Big graphs: collapsing modules


def mlp_graph(n_layers, width=3, act="tanh"):
    x = ag.randn(2, width)
    h = x
    params = {}
    for i in range(n_layers):
        W = ag.randn(width, width, requires_grad=True)
        b = ag.zeros(width, requires_grad=True)
        params[f"{i}.weight"], params[f"{i}.bias"] = W, b
        h = scoped(("MLP", str(i)), lambda: getattr(h @ W + b, act)())
    return h.sum(), params


def test_max_nodes_collapses_modules():
    loss, params = mlp_graph(50)  # 50 x (W, b, matmul, add, tanh) + x + sum = 252 nodes
    assert len(ag.toposort([loss])) == 252
    d = render(loss, params=params, max_nodes=200)
    modules = sorted(k for k in d.nodes if k.startswith("m"))
    assert modules == sorted(f"m{i}" for i in range(50))
    assert len(d.nodes) == 52  # 50 modules, the data and the loss
    assert d.text(d.nodes["m7"]).split("\n")[:2] == ["MLP.7", "3 ops, 2 params"]
    assert "matmul x1, add x1, tanh x1" in d.tooltip(d.nodes["m7"])
    assert "7.weight" in d.tooltip(d.nodes["m7"])
    chain = ["n0->m0"] + [f"m{i}->m{i + 1}" for i in range(49)] + ["m49->n251"]
    assert sorted(d.edges) == sorted(chain)
    assert all(d.inside(m, d.cluster_by_label("MLP")) for m in modules)
    assert len(render(loss, max_nodes=None).nodes) == 252


def test_collapse_picks_the_deepest_level_that_fits():
    x = ag.randn(2, 2, requires_grad=True)
    h = x
    for i in range(30):  # 30 blocks of two sub-modules of two ops each: 121 nodes
        h = scoped(("net", f"b{i}", "f"), lambda: (h * 1.5).tanh())
        h = scoped(("net", f"b{i}", "g"), lambda: (h * 0.5).sigmoid())
    assert len(ag.toposort([h])) == 121
    fine = ag.draw_graph(h, max_nodes=70)  # depth 3: 60 sub-modules and x
    assert fine.source.count("shape=box3d") == 60
    coarse = ag.draw_graph(h, max_nodes=40)  # depth 2: 30 blocks
    assert coarse.source.count("shape=box3d") == 30
    top = ag.draw_graph(h, max_nodes=1)  # nothing fits: the coarsest level
    assert top.source.count("shape=box3d") == 1


def test_collapsed_modules_coloured_by_parameter_gradient_norm():
    loss, params = mlp_graph(30, act="sigmoid")
    d = render(loss, params=params, max_nodes=50, color_by="grad_norm")
    loss.backward()
    for i in (0, 15, 29):
        norm = math.sqrt(float(np.sum(params[f"{i}.weight"].grad.data.astype(np.float64) ** 2)
                               + np.sum(params[f"{i}.bias"].grad.data.astype(np.float64) ** 2)))
        assert d.fill(f"m{i}") == grad_bin_fill(norm)
        assert f"||grad||: {norm:.4g}" in d.tooltip(d.nodes[f"m{i}"])


def test_five_thousand_node_graph():
    x = ag.ones(2, requires_grad=True)
    y = x
    for _ in range(4999):  # deeper than the recursion limit
        y = y.tanh()
    d = render(y, max_nodes=None)
    assert len(d.nodes) == 5000 and len(d.edges) == 4999
    d = render(y)  # a chain without modules is folded to the budget too
    assert len(d.nodes) <= viz.DEFAULT_MAX_NODES
    assert {"n0", "n4999", "s0"} <= set(d.nodes) and "s1" not in d.nodes
    loss, params = mlp_graph(1000)  # 5002 nodes in 1000 modules: collapsed to the budget
    d = render(loss, params=params)
    assert len(d.nodes) <= viz.DEFAULT_MAX_NODES


def test_small_budget_folds_the_middle_of_a_chain():
    x = ag.Scalar(1.0, label="x")
    y = x
    for _ in range(30):  # 121 values and 60 operations: 181 drawn nodes
        y = y * 1.0001 + 0.1
    y.backward()
    assert len(render(y, max_nodes=None).nodes) == len(render(y).nodes) == 181  # within the budget: whole
    d = render(y, max_nodes=20)
    assert len(d.nodes) <= 20
    # the root and the operations nearest it, the labelled leaf, and one summary for the middle
    assert {"n0", "n120", "n120_op", "n119", "n118", "n118_op", "n117", "s0"} <= set(d.nodes)
    assert [k for k in d.nodes if k.startswith("s")] == ["s0"]
    assert d.text(d.nodes["n0"]).split("\n")[0] == "x"
    label = d.text(d.nodes["s0"]).split("\n")
    drawn_values = sum(1 for k in d.nodes if k.startswith("n") and not k.endswith("_op"))
    ops, leaves = (int(v) for v in re.match(r"… (\d+) ops, (\d+) leaves", label[0]).groups())
    assert ops + leaves + drawn_values == 121 and label[1] == f"* ×{ops // 2 + ops % 2}, + ×{ops // 2}"
    assert d.shape(d.nodes["s0"]).get("stroke-dasharray") and d.fill("s0") == viz._SUMMARY_FILL
    assert "max_nodes=None draws every node" in d.tooltip(d.nodes["s0"])
    assert "n0->s0" in d.edges and sum(e.startswith("s0->") for e in d.edges) == 1
    assert len(d.edges) == len(d.nodes) - 1  # still a chain


def test_deep_graph_is_walked_without_recursion():
    y = ag.ones(1, requires_grad=True)
    for _ in range(15000):
        y = y * 1.0
    d = ag.draw_graph(y, max_nodes=None)
    assert "n15000 [" in d.source


# ---------------------------------------------------------------------------------------------
# Determinism, saving, Jupyter, missing dot, bad input


def test_same_graph_same_svg():
    def build():
        ag.manual_seed(3)
        x = ag.randn(3, 3)
        W = ag.randn(3, 3, requires_grad=True)
        h = scoped(("m", "0"), lambda: (x @ W).tanh())
        return (h * h).mean(), W

    loss, W = build()
    svg1 = viz.render_svg(ag.draw_graph(loss, params={"W": W}, color_by="grad_norm"))
    svg2 = viz.render_svg(ag.draw_graph(loss, params={"W": W}, color_by="grad_norm"))
    loss2, W2 = build()  # a new graph, other objects at other addresses
    svg3 = viz.render_svg(ag.draw_graph(loss2, params={"W": W2}, color_by="grad_norm"))
    assert svg1 == svg2 == svg3


def test_roots_as_list_graph_and_duplicates():
    x, W, b, loss = small_tensor_graph()
    other = (W * 2.0).sum()
    both = render([loss, other, loss])
    assert len(both.nodes) == len(ag.toposort([loss, other]))
    assert render(ag.Graph(loss)).svg == render(loss).svg
    assert "rankdir=TB" in ag.draw_graph(loss, rankdir="TB").source


def test_save_svg(tmp_path):
    a = ag.Scalar(1.0, label="a")
    path = ag.save_svg(a.tanh(), tmp_path / "g.svg", rankdir="TB")
    d = Drawn(open(path, encoding="utf-8").read())
    assert sorted(d.nodes) == ["n0", "n1", "n1_op"]
    x, W, b, loss = small_tensor_graph()
    path = ag.save_svg([loss, W * 1.0], str(tmp_path / "t.svg"))
    assert len(Drawn(open(path, encoding="utf-8").read()).nodes) == 8


def test_jupyter_display():
    x, W, b, loss = small_tensor_graph()
    d = ag.draw_graph(loss)
    assert isinstance(d, graphviz.Digraph)
    bundle = d._repr_mimebundle_()
    assert len(Drawn(bundle["image/svg+xml"]).nodes) == 7
    assert len(Drawn(ag.Graph(loss)._repr_svg_()).nodes) == 7
    s = ag.Scalar(2.0) * 3.0
    assert len(Drawn(ag.Graph(s)._repr_svg_()).nodes) == 4


def test_missing_dot_says_how_to_install(monkeypatch, tmp_path):
    x, W, b, loss = small_tensor_graph()
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` to be found
    d = ag.draw_graph(loss, color_by="grad_norm")  # building needs no dot
    assert "n6" in d.source
    for attempt in (lambda: d.pipe(format="svg"), lambda: d._repr_mimebundle_(), lambda: viz.render_svg(d),
                    lambda: ag.save_svg(loss, tmp_path / "x.svg"), lambda: ag.Graph(loss)._repr_svg_(),
                    lambda: d.render(tmp_path / "out", format="svg")):
        with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz") as info:
            attempt()
        assert isinstance(info.value, graphviz.ExecutableNotFound) and isinstance(info.value, RuntimeError)
    assert not (tmp_path / "x.svg").exists()


def test_bad_input_raises_clear_errors():
    x, W, b, loss = small_tensor_graph()
    with pytest.raises(ValueError, match="at least one root"):
        ag.draw_graph()
    with pytest.raises(TypeError, match="Scalars and Tensors"):
        ag.draw_graph(3.0)
    with pytest.raises(ValueError, match="rankdir"):
        ag.draw_graph(loss, rankdir="sideways")
    with pytest.raises(ValueError, match="color_by"):
        ag.draw_graph(loss, color_by="data")
    with pytest.raises(ValueError, match="max_nodes"):
        ag.draw_graph(loss, max_nodes=0)
    with pytest.raises(TypeError, match="params"):
        ag.draw_graph(loss, params={"W": W.data})
    with pytest.raises(TypeError, match="params"):
        ag.draw_graph(loss, params=[W])


def test_color_by_after_graph_forward_recomputes():
    x, W, b, loss = small_tensor_graph()
    loss.backward()  # frees the graph ...
    g = ag.Graph(loss)
    g.forward()  # ... and evaluating it again makes it usable again
    d = render(g, color_by="grad_norm")
    assert d.fill("n1") == grad_bin_fill(np.linalg.norm(W.grad.data.astype(np.float64)))


def test_readme_script_renders_every_picture(tmp_path, monkeypatch):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "render_readme_graphs.py"
    spec = importlib.util.spec_from_file_location("render_readme_graphs", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "OUT", str(tmp_path))
    script.main()
    names = sorted(p.name for p in tmp_path.iterdir())
    screenshot = ["backprop_explorer.png"] if script.find_browser() else []  # taken in headless Chromium
    assert names == screenshot + ["deep_mlp_relu.svg", "deep_mlp_sigmoid.svg", "mlp_training_step.svg", "scalar_neuron.svg"]
    for name in screenshot:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    neuron = Drawn((tmp_path / "scalar_neuron.svg").read_text())
    texts = {d.split("\n")[0]: d.split("\n")[1:] for d in map(neuron.text, neuron.nodes.values())}
    # micrograd's neuron: o = tanh(n) = 1/sqrt(2), do/dn = 1 - o^2 = 0.5, dx1 = w1 * 0.5, dw1 = x1 * 0.5
    assert texts["o"] == ["data 0.7071", "grad 1.0000"]
    assert texts["x1"][1] == "grad -1.5000" and texts["w1"][1] == "grad 1.0000"
    assert texts["x2"][1] == "grad 0.5000" and texts["w2"][1] == "grad 0.0000"
    # the deep sigmoid net is drawn one node per layer, and its first layer's gradient has vanished
    deep = Drawn((tmp_path / "deep_mlp_sigmoid.svg").read_text())
    assert sum(k.startswith("m") for k in deep.nodes) == 41
    assert deep.fill("m0") == viz.GRAD_NORM_BINS[0][1]
    relu = Drawn((tmp_path / "deep_mlp_relu.svg").read_text())
    assert relu.fill("m0") not in {fill for _, fill, _, _ in viz.GRAD_NORM_BINS[:2]}


def test_fifty_layer_nn_mlp_is_collapsed_per_layer():
    import nn

    model = nn.MLP([4] + [8] * 50 + [1])  # 51 Linear and 50 ReLU modules
    x, y = ag.randn(16, 4), ag.randn(16, 1)
    loss = nn.MSELoss()(model(x), y)
    assert len(ag.toposort([loss])) > viz.DEFAULT_MAX_NODES
    d = render(loss, params=dict(model.named_parameters()), color_by="grad_norm")
    modules = {d.text(d.nodes[k]).split("\n")[0]: k for k in d.nodes if k.startswith("m")}
    assert set(modules) == {f"MLP.{i}" for i in range(101)}
    assert len(d.nodes) <= viz.DEFAULT_MAX_NODES
    ops_in_first = sum(1 for n in ag.toposort([loss]) if n._inputs and n._scope == ("MLP", "0"))
    assert d.text(d.nodes[modules["MLP.0"]]).split("\n")[1] == f"{ops_in_first} op{'' if ops_in_first == 1 else 's'}, 2 params"
    assert d.text(d.nodes[modules["MLP.1"]]).split("\n")[1] == "1 op"  # the ReLU
    # the first layer's node is coloured by its parameters' gradient norm (torch would agree: a
    # plain backward gives the same .grad)
    loss.backward()
    w, b = model[0].weight.grad.data.astype(np.float64), model[0].bias.grad.data.astype(np.float64)
    assert d.fill(modules["MLP.0"]) == grad_bin_fill(math.sqrt(np.sum(w * w) + np.sum(b * b)))
    assert all(d.inside(m, d.cluster_by_label("MLP")) for m in modules.values())
