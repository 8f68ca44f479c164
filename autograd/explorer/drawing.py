"""The explorer's drawing: ``ag.draw_graph``'s picture with named edges, and the page's model of it.

The picture is drawn by :class:`autograd.viz._Drawer` itself, so the page shows exactly what
``ag.draw_graph`` shows; :class:`Drawer` only names every edge (``e0``, ``e1``, ... as the
SVG ``id``) and remembers what each carries, and shows the gradients the explorer computes.

What is drawn, by size (``drawn`` counts what ``draw_graph`` counts: a node per Tensor and per
Scalar leaf, two per Scalar operation):

* within ``max_nodes`` (or ``max_nodes=None``): every node, each module a cluster, all expanded;
* beyond it, when collapsing whole modules fits ``max_nodes`` (draw_graph's first step) and the
  graph has at most :data:`FULL_LIMIT` drawn nodes: still every node, and the modules that
  draw_graph would collapse start collapsed on the page (each can be expanded there);
* otherwise draw_graph's folded drawing (modules, long chains and wide fans as single boxes): a
  box is one step of each pass, and its details say what it holds.

The model (:func:`page_model`) is plain data for the page's script: the units it steps through
(a drawn node, or a box), their values and gradients (summaries of bounded size), and per drawn
edge the term ``g · ∂out/∂in`` it carries in the backward pass.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Any

import numpy as np

from .. import viz, viz_collapse, viz_text
from ..scalar import Scalar
from ..tensor import Tensor
from .summary import number, summarize, summarize_terms
from .trace import Trace

__all__ = ["Drawer", "FULL_LIMIT", "explorer_drawing", "page_svg", "page_model"]

FULL_LIMIT = 600
"""The most drawn nodes for which the page holds every node (modules then collapse on the page)."""

SLOT = "000000000"
"""The invisible text that keeps room on an edge for its term (about as wide as the term)."""


class Drawer(viz._Drawer):
    """draw_graph's drawer with an ``id`` on every edge, showing the gradients of a :class:`Trace`."""

    def __init__(self, roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes):
        self.trace = None  # set once the plan says which gradients to keep (see explorer_drawing)
        self.edge_list = []  # (edge id, tail id, head id, carried positions, copy or None)
        super().__init__(roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes)

    def _gradients(self):
        if self.trace is None or self.scalars_only:
            return {}
        return {n: g for n, g in zip(self.nodes, self.trace.grads) if g is not None and isinstance(n, Tensor)}

    def _scalar_grad(self, n):
        g = self.trace.grads[self.pos[n]] if self.trace is not None else None
        return 0.0 if g is None else g

    def _edge(self, tail, head, carried, copy, **attrs):
        edge_id = f"e{len(self.edge_list)}"
        self.edge_list.append((edge_id, tail, head, tuple(carried), copy))
        if carried and any(self.nodes[j].requires_grad for j in carried):
            # room for the term the page writes on the edge: an invisible last line, which Graphviz
            # places clear of other labels and nodes like any label
            label = attrs.pop("label", None)
            shown = f"{html.escape(label)}<br/>" if label else ""
            attrs["label"] = f'<{shown}<font color="#ffffff00">{SLOT}</font>>'
        self.graph.edge(tail, head, id=edge_id, **attrs)

    def weights(self):
        """Drawn nodes per graph node, as draw() counts them."""
        if self.scalars_only:
            return [2 if ins else 1 for ins in self.inputs]
        return [2 if ins and isinstance(n, Scalar) else 1 for n, ins in zip(self.nodes, self.inputs)]


def explorer_drawing(roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes):
    """The drawer (drawn, its Digraph in ``.graph``), its Trace and the module paths to start collapsed."""
    drawer = Drawer(roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes)
    collapsed = []
    keep = None
    if max_nodes is not None:
        weights = drawer.weights()
        total = sum(weights)
        probe = None
        if total > max_nodes:
            probe = viz_collapse.plan(
                drawer.inputs,
                weights,
                drawer.scopes,
                [drawer.pos[r] for r in drawer.roots],
                viz_collapse.pinnable(drawer.nodes, drawer.inputs, drawer.names),
                max_nodes,
            )
        if probe is None:
            drawer.max_nodes = None  # everything fits: no bundled edges either
        elif not probe.summaries and group_modules and total <= FULL_LIMIT:
            drawer.max_nodes = None
            collapsed = sorted(set(probe.paths.values()))
        else:  # folded: keep the arrays of the nodes drawn alone and of those read across a box's border
            box, inputs = probe.box, drawer.inputs
            walked = range(len(inputs)) if probe.shown is None else probe.shown + probe.crossing
            keep = {i for i in walked if box[i] is None or any(box[j] != box[i] for j in inputs[i])}
    drawer.trace = Trace(drawer.roots, nodes=drawer.nodes, keep=keep)
    drawer.grads = drawer._gradients()
    drawer.draw()
    return drawer, collapsed


# ---------------------------------------------------------------------------------------------
# The SVG, made for the page

_NODE = re.compile(r'<g id="(node\d+)" class="node">\s*<title>(.*?)</title>\s*')
_EDGE = re.compile(r'<g id="(e\d+)" class="edge">\s*<title>.*?</title>\s*(.*?</g>)', re.S)
_SLOT = re.compile(r"<text ([^>]*)>" + SLOT + "</text>")
_CLUSTER = re.compile(r'<g id="(clust\d+)" class="cluster">\s*<title>(.*?)</title>\s*')
_TOOLTIP = re.compile(r'<g id="a_[^"]*"><a xlink:title="[^"]*">\s*')
_TOOLTIP_END = re.compile(r"</a>\s*</g>\s*")
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_FONT = re.compile(r' font-family="Helvetica,sans-Serif"')  # the page's style sets it once
_SIZE = re.compile(r'<svg width="[^"]*" height="[^"]*"')


def page_svg(svg, drawer):
    """Graphviz's SVG as the page holds it: without the XML prolog, comments and tooltips (the
    details panel says more), every node ``data-node-id``, every edge ``data-edge-id``, ``data-tail``
    and ``data-head`` (its room for a term: ``text.cr-slot``), every module cluster ``data-cluster``
    (its path); the legend ``data-legend``."""
    svg = svg[svg.index("<svg") :]
    svg = _FONT.sub("", _COMMENT.sub("", svg))
    svg = _TOOLTIP_END.sub("", _TOOLTIP.sub("", svg))
    clusters = {d.name: ".".join(path) for path, d in drawer.clusters.items()}
    edges = {e[0]: e for e in drawer.edge_list}

    def node(m):
        name = html.unescape(m.group(2))
        if name == "legend":
            return f'<g id="{m.group(1)}" class="node cr-legend" data-legend="grad_norm">'
        return f'<g id="{m.group(1)}" class="node" data-node-id="{html.escape(name)}">'

    def edge(m):
        _, tail, head, _, _ = edges[m.group(1)]
        body = _SLOT.sub(r'<text class="cr-slot" \1>' + SLOT + "</text>", m.group(2))
        return (
            f'<g id="{m.group(1)}" class="edge" data-edge-id="{m.group(1)}" data-tail="{tail}" '
            f'data-head="{head}">{body}'
        )

    def cluster(m):
        path = clusters.get(html.unescape(m.group(2)), "")
        return f'<g id="{m.group(1)}" class="cluster" data-cluster="{html.escape(path)}">'

    svg = _NODE.sub(node, svg)
    svg = _EDGE.sub(edge, svg)
    svg = _CLUSTER.sub(cluster, svg)
    if svg.count(" data-edge-id=") != len(edges) or svg.count(" data-cluster=") != len(clusters):
        raise RuntimeError(
            "the SVG that Graphviz wrote is not laid out as the explorer expects (a node, edge or "
            "cluster lost its id); please report it with the output of `dot -V`"
        )
    return _SIZE.sub('<svg id="cr-svg" width="100%" height="100%" preserveAspectRatio="xMidYMid meet"', svg, count=1)


# ---------------------------------------------------------------------------------------------
# The page's model of the graph


def unit_of(drawn_id):
    """The unit a drawn node belongs to: a Scalar's operation node ``n3_op`` to its value ``n3``."""
    return drawn_id[:-3] if drawn_id.endswith("_op") else drawn_id


def page_model(drawer, collapsed, title):
    """The data the page's script reads (JSON-ready): units in forward order, edges, clusters."""
    trace, plan = drawer.trace, drawer.plan
    box, members = plan.box, plan.members
    drawn = (
        range(len(drawer.nodes)) if plan.shown is None else sorted(plan.shown + [members[b][0] for b in plan.summaries])
    )
    units, unit_members = [], {}
    for i in drawn:
        b = box[i]
        if b is None:
            units.append(f"n{i}")
            unit_members[f"n{i}"] = [i]
        elif members[b][0] == i:
            units.append(b)
            unit_members[b] = members[b]
    unit_of_pos = {}
    for u, ms in unit_members.items():
        for i in ms:
            unit_of_pos[i] = u

    outgoing: dict[Any, list[Any]] = {u: [] for u in units}
    incoming: dict[Any, list[Any]] = {u: [] for u in units}
    edges: dict[Any, Any] = {}
    for edge_id, tail, head, carried, copy in drawer.edge_list:
        t, h = unit_of(tail), unit_of(head)
        record = {"tail": t, "head": h, "tailEl": tail, "headEl": head}
        if carried:
            record.update(_edge_terms(trace, unit_members[h], carried, copy))
            outgoing[t].append(edge_id)
            incoming[h].append(edge_id)
        else:
            record["internal"] = True  # a Scalar's operation node to its value: carries the value's own gradient
        edges[edge_id] = record

    nodes = {}
    for u in units:
        ms = unit_members[u]
        if u.startswith("n"):
            record = _node_record(drawer, ms[0])
        else:
            record = _box_record(drawer, u, ms)
        record.update(id=u, out=outgoing[u], **{"in": incoming[u]})
        nodes[u] = record

    clusters = []
    if drawer.group_modules and drawer.clusters:
        for path in drawer.clusters:  # in order of first appearance
            name = ".".join(path)
            inside = [
                u
                for u in units
                if nodes[u].get("scope") and (nodes[u]["scope"] == name or nodes[u]["scope"].startswith(name + "."))
            ]
            ops = sum(1 for u in inside if not nodes[u].get("leaf"))
            params = sum(1 for u in inside if nodes[u].get("leaf"))
            norms = [
                trace.norms[unit_members[u][0]]
                for u in inside
                if nodes[u].get("leaf") and trace.norms[unit_members[u][0]] is not None
            ]
            clusters.append(
                {
                    "path": name,
                    "depth": len(path),
                    "units": inside,
                    "ops": ops,
                    "params": params,
                    "gradNorm": number(np.sqrt(sum(n * n for n in norms))) if norms else None,
                    "collapsed": path in collapsed,
                }
            )

    first = drawer.nodes[0] if drawer.nodes else None
    return {
        "title": title,
        "kind": "scalar" if isinstance(first, Scalar) else "tensor",
        "folded": plan.shown is not None or bool(plan.paths),
        "maxNodes": drawer.max_nodes,
        "graphNodes": len(drawer.nodes),
        "steps": units,
        "roots": [unit_of_pos[drawer.pos[r]] for r in drawer.roots if drawer.pos[r] in unit_of_pos],
        "nodes": nodes,
        "edges": edges,
        "clusters": clusters,
    }


def _edge_terms(trace, head_members, carried, copy):
    """What a drawn edge carries backwards: the terms of the (node, input slot) pairs it stands for."""
    wanted = set(carried)
    if trace.keep is not None and len(head_members) > 1:  # a box: only its nodes that read across its border
        head_members = [i for i in head_members if i in trace.keep]
    slots = [(i, k) for i in head_members for k, j in enumerate(trace.inputs[i]) if j in wanted]
    if copy is not None:  # one read of one input: the copy-th of its slots
        slots = slots[copy : copy + 1]
    terms = [trace.terms.get(s) for s in slots]
    out = {"slots": len(slots)}
    if len(slots) == 1:
        out["c"] = summarize(terms[0], histogram=False)
        i, k = slots[0]
        if (i, k) in trace.partials:  # a Scalar edge: g · local derivative
            out["g"] = summarize(trace.grads[i])
            out["d"] = number(trace.partials[i, k])
    else:
        out["c"] = summarize_terms(terms)
    return out


def _name(drawer, n):
    """How a node is called on the page: its label or parameter name, else its operation."""
    if isinstance(n, Scalar):
        name = drawer.names.get(n, n.label)
        return name or (f"{n.data:.4g}" if not n._inputs else "")  # an unnamed leaf: a constant
    if n._inputs:
        return viz_text.op_text(n)
    return drawer.names.get(n) or ("leaf" if n.requires_grad else "input")


def _node_record(drawer, i):
    trace, n = drawer.trace, drawer.nodes[i]
    scope = drawer.scopes[i]
    leaf = not n._inputs
    op = None if leaf else viz_collapse.op_name(n)
    name = _name(drawer, n)
    record = {
        "kind": "scalar" if isinstance(n, Scalar) else "tensor",
        "pos": i,
        "name": name or op or "",
        "op": op,
        "leaf": leaf,
        "requiresGrad": bool(n.requires_grad),
        "scope": ".".join(scope) if scope else None,
        "inputs": [f"n{j}" for j in trace.inputs[i]],
        "value": summarize(n.data),
        "grad": summarize(trace.grads[i]),
        "root": n in drawer.root_set,
    }
    if isinstance(n, Scalar):
        record["label"] = n.label
    if i in trace.seeds:
        record["seed"] = summarize(trace.seeds[i])
    if i in trace.hooked:
        record["hooked"] = True
    if op and name != op:
        record["step"] = f"{op} ({name})" if isinstance(n, Scalar) else op
    return record


def _box_record(drawer, box_id, ms):
    """A collapsed module or a summary of folded nodes: one step of each pass."""
    trace = drawer.trace
    nodes = [drawer.nodes[i] for i in ms]
    counts = Counter(viz_collapse.op_name(n) for n in nodes if n._inputs)
    leaves = len(ms) - sum(counts.values())
    norms = [trace.norms[i] for i in ms if trace.norms[i] is not None]
    path: str | None
    if box_id in drawer.plan.paths:
        path = ".".join(drawer.plan.paths[box_id])
        name, kind = f"module {path}", "module"
    else:
        prefix = viz_collapse.common_prefix(drawer.scopes[i] for i in ms)
        path = ".".join(prefix) if prefix else None
        name, kind = f"… {sum(counts.values()):,} ops, {leaves:,} leaves", "summary"
    return {
        "kind": kind,
        "pos": ms[0],
        "name": name,
        "op": None,
        "leaf": False,
        "requiresGrad": any(n.requires_grad for n in nodes),
        "scope": path,
        "members": len(ms),
        "ops": [[k, v] for k, v in counts.most_common(12)],
        "leaves": leaves,
        "gradNorm": number(np.sqrt(sum(x * x for x in norms))) if norms else None,
    }
