"""ag.explore / ag.save_html without a browser: what the page says (the data its script reads and the
SVG it shows) against the engine's own gradients, the page's self-containment and size, big graphs,
errors, and the package data that carries the page's script."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
import optim
from autograd.viz import GraphvizNotFoundError

ROOT = Path(__file__).resolve().parents[2]


def page_data(html):
    """The JSON the page's script reads."""
    return json.loads(re.search(r'<script type="application/json" id="cr-data">(.*?)</script>', html, re.S)
                      .group(1))


def as_float(x):
    return {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}.get(x, x) if isinstance(x, str) else x


def exact(summary):
    """What a summary holds exactly: a Scalar's number, a small tensor's values, else its sum."""
    if "v" in summary and "values" not in summary:
        return summary["v"]
    return np.array(summary["values"], dtype=float) if "values" in summary else summary["sum"]


def neuron():
    """The lecture's neuron with a squared loss: d reaches L along two paths, x1 feeds two products."""
    x1, x2 = ag.Scalar(2.0, label="x1"), ag.Scalar(-1.0, label="x2")
    w1, w2, b = ag.Scalar(-0.5, label="w1"), ag.Scalar(0.3, label="w2"), ag.Scalar(0.8, label="b")
    t = ag.Scalar(0.5, label="t")
    d = (x1 * w1 + x2 * w2 + x1 * b).tanh() - t
    d.label = "d"
    L = d * d
    L.label = "L"
    return L


def shared_tensor_graph():
    """Small tensors, a broadcast, and values read along several paths (h, s and x)."""
    x = ag.tensor([[0.5, -1.0, 2.0]], dtype=ag.float64, requires_grad=True)
    W = ag.tensor([[0.2, -0.3, 0.4], [1.0, 0.5, -0.6]], dtype=ag.float64, requires_grad=True)
    h = W * x
    s = h.tanh()
    u = s * h + s
    y = (u * x).sum() + (x * x).sum()
    return y, {"x": x, "W": W}


def check_sums(model, engine_grad):
    """Every node's gradient on the page is the sum of the terms on the edges to its readers (and
    its seed), and equals the engine's; returns how many nodes have more than one term."""
    nodes, edges = model["nodes"], model["edges"]
    multi = 0
    for u, n in nodes.items():
        if n["grad"] is None:
            assert engine_grad(u) is None, u
            continue
        terms = [exact(edges[e]["c"]) for e in n["out"] if edges[e].get("c")]
        if "seed" in n:
            terms.append(exact(n["seed"]))
        multi += len(terms) > 1
        np.testing.assert_allclose(sum(terms), exact(n["grad"]), rtol=1e-6, atol=1e-9, err_msg=u)
        np.testing.assert_allclose(exact(n["grad"]), engine_grad(u), rtol=1e-6, atol=1e-9, err_msg=u)
    return multi


def test_scalar_terms_add_up_to_the_engines_gradients():
    L = neuron()
    before = ag.explore(L)  # explored before backward: nothing accumulates into .grad
    assert all(n.grad == 0.0 for n in ag.toposort([L]))
    L.backward()
    nodes = ag.toposort([L])
    for ex in (before, ag.explore(L)):  # and after backward (its partials freed): the same page
        model = ex.model
        assert ex.steps == [f"n{i}" for i in range(len(nodes))]
        assert check_sums(model, lambda u: nodes[int(u[1:])].grad) >= 2  # x1 and d: multi-path sums
        for e in model["edges"].values():  # a Scalar edge: the reader's gradient times the local partial
            if e.get("c"):
                assert e["c"]["v"] == pytest.approx(e["g"]["v"] * e["d"], rel=1e-7, abs=1e-12)
    assert before.model["nodes"] == ag.explore(L).model["nodes"]
    assert [n.grad for n in nodes] == [n.grad for n in ag.toposort([L])]  # exploring changed no .grad


def test_tensor_terms_add_up_to_the_engines_gradients_element_by_element():
    y, leaves = shared_tensor_graph()
    nodes = ag.toposort([y])
    for n in nodes:
        if n.requires_grad and not n.is_leaf:
            n.retain_grad()
    y.backward()
    ex = ag.explore(y, params=leaves)
    model = ex.model

    def engine_grad(u):
        n = nodes[int(u[1:])]
        return None if n.grad is None else n.grad.numpy().ravel()

    assert check_sums(model, engine_grad) >= 3
    x_id = next(u for u, n in model["nodes"].items() if n["name"] == "x")
    assert len(model["nodes"][x_id]["out"]) == 4  # W * x, u * x and x * x twice
    np.testing.assert_allclose(exact(model["nodes"][x_id]["grad"]), leaves["x"].grad.numpy().ravel())
    # the term on the edge of the broadcast x is reduced to x's shape, as its gradient is
    mul = next(u for u, n in model["nodes"].items() if n["op"] == "mul" and n["inputs"][1] == x_id)
    term = model["edges"][next(e for e in model["nodes"][mul]["in"] if model["edges"][e]["tail"] == x_id)]["c"]
    assert term["shape"] == [1, 3]


def test_page_is_self_contained_and_follows_the_contract(tmp_path):
    L = neuron()
    path = ag.save_html(L, tmp_path / "neuron.html", title="a neuron")
    html = Path(path).read_text()
    assert html.startswith("<!DOCTYPE html>") and "<title>a neuron</title>" in html
    assert "default-src 'none'" in html  # the page's CSP forbids every request
    without_ns = re.sub(r'xmlns(:xlink)?="[^"]*"', "", html)
    assert not re.search(r"(src|href)\s*=|url\(|@import|https?://", without_ns.replace("'http://www.w3.org/2000/svg'", ""))
    assert "<link" not in html and "<script src" not in html
    for button in ("cr-step-forward", "cr-step-backward", "cr-play", "cr-reset"):
        assert f'<button id="{button}"' in html
    assert 'id="cr-details"' in html and 'id="cr-status"' in html
    drawn = set(re.findall(r'data-node-id="([^"]+)"', html[html.index("<svg"):html.index("</svg>")]))
    n_ops = sum(1 for n in ag.toposort([L]) if n._inputs)
    assert len(drawn) == len(ag.toposort([L])) + n_ops  # a record per value, an ellipse per operation
    model = page_data(html)
    assert set(model["steps"]) == {d for d in drawn if not d.endswith("_op")}
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert set(re.findall(r'data-edge-id="([^"]+)"', svg)) == set(model["edges"])


def test_page_size_does_not_grow_with_the_tensors():
    def page(n):
        ag.manual_seed(0)
        model = nn.MLP([n, n, 4])
        loss = F.mse_loss(model(ag.randn(8 * n, n)), ag.randn(8 * n, 4))
        return ag.explore(loss, params=dict(model.named_parameters()))

    small, big = page(8), page(256)
    assert abs(len(big.html) - len(small.html)) < 0.05 * len(small.html)
    big_values = [n for n in big.model["nodes"].values() if n["value"]["n"] > 64]
    assert big_values and all("values" not in n["value"] and len(n["value"]["hist"]["counts"]) == 16
                              for n in big_values)


def test_a_graph_beyond_max_nodes_starts_with_its_modules_collapsed():
    ag.manual_seed(0)
    model = nn.MLP([8] + [8] * 12 + [2], batch_norm=True)
    loss = F.cross_entropy(model(ag.randn(4, 8)), ag.randint(0, 2, (4,)))
    ex = ag.explore(loss, params=dict(model.named_parameters()), max_nodes=60)
    nodes = ag.toposort([loss])
    assert 60 < len(nodes) and ex.steps == [f"n{i}" for i in range(len(nodes))]  # every node is still there
    collapsed = [c for c in ex.model["clusters"] if c["collapsed"]]
    assert collapsed and len(collapsed) + sum(1 for u, n in ex.model["nodes"].items()
                                              if not any(u in c["units"] for c in collapsed)) <= 60
    whole = ag.explore(loss, params=dict(model.named_parameters()), max_nodes=None).model
    assert whole["clusters"] and not any(c["collapsed"] for c in whole["clusters"])


def test_a_huge_graph_is_folded_as_draw_graph_folds_it():
    x = ag.Scalar(0.3, label="x")
    z = x
    for _ in range(2000):
        z = (z * 0.99 + 0.01).tanh()
    z.label = "z"
    ex = ag.explore(z, max_nodes=80)
    model = ex.model
    assert model["folded"] and len(ex.steps) <= 80 < model["graphNodes"]
    summaries = [u for u in ex.steps if u.startswith("s")]
    assert summaries and model["nodes"][summaries[0]]["members"] > 1000
    positions = [model["nodes"][u]["pos"] for u in ex.steps]
    assert positions == sorted(positions)  # each box where its first node is in topological order
    z.backward()
    nodes = ag.toposort([z])
    drawn = {u: n for u, n in model["nodes"].items() if u.startswith("n")}
    for u, n in drawn.items():
        assert exact(n["grad"]) == pytest.approx(nodes[int(u[1:])].grad, rel=1e-8)
    assert len(ex.html) < 400_000


def test_explore_takes_what_draw_graph_takes_and_says_what_is_wrong():
    L = neuron()
    assert ag.explore(ag.Graph(L)).steps == ag.explore(L).steps
    assert ag.explore([L]).steps == ag.explore(L).steps
    with pytest.raises(ValueError, match="at least one root"):
        ag.explore()
    with pytest.raises(TypeError, match="Scalars and Tensors"):
        ag.explore(3.0)
    with pytest.raises(ValueError, match="rankdir"):
        ag.explore(L, rankdir="up")
    with pytest.raises(ValueError, match="height"):
        ag.explore(L, height=10)
    with pytest.raises(ValueError, match="max_nodes"):
        ag.explore(L, max_nodes=0)


def test_a_graph_changed_in_place_is_refused_with_what_to_do():
    ag.manual_seed(0)
    model = nn.Linear(3, 2)
    loss = model(ag.randn(4, 3)).tanh().sum()
    loss.backward()
    optim.SGD(model.parameters(), lr=0.1).step()
    with pytest.raises(RuntimeError, match=r"ag.explore .* before optimizer.step\(\)"):
        ag.explore(loss)


def test_missing_dot_says_how_to_install_graphviz(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        ag.explore(neuron())


def test_notebook_display_is_an_iframe_made_by_a_script_with_a_static_fallback():
    ex = ag.explore(neuron())
    block = ex._repr_html_()
    assert block.count("<script>") == 1 and "srcdoc" in block and "sandbox" in block
    static = re.search(r'<div class="chainrule-explorer-static"[^>]*>(.*?)<p style', block, re.S).group(1)
    assert static.startswith("<svg") and "x1" in static  # the drawing, for a notebook read without a kernel
    assert "</script" not in block[block.index("<script>") + 8:block.rindex("</script>")]
    assert "steps each way" in repr(ex)


def test_import_autograd_loads_the_explorer_only_when_used():
    code = ("import sys, autograd as ag; assert 'autograd.explorer' not in sys.modules; "
            "f = ag.explore; assert 'autograd.explorer' in sys.modules and callable(ag.save_html)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_the_wheel_carries_the_pages_script_and_styles(tmp_path):
    assets = {p.name for p in resources.files("autograd.explorer").joinpath("assets").iterdir()}
    assert {"explorer.html", "explorer.js", "explorer.css"} <= assets
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("chainrule-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"autograd/explorer/assets/{a}" for a in ("explorer.html", "explorer.js", "explorer.css")} <= names
