"""Drawing computation graphs with Graphviz: ``draw_graph``, ``save_svg`` and Jupyter display.

The drawing is the DAG the engine walks, in the engine's own topological order
(:func:`autograd.engine.toposort`, iterative: a graph a million nodes deep is fine), so the picture
shows exactly what backward will visit. Edges point the way the data flows, from an input to the
operation that reads it; backward runs them in reverse, and a node's gradient is the sum over its
outgoing edges (the multi-path chain rule, dz/dx = sum_i dz/dy_i * dy_i/dx).

Two front ends, two looks:

* Scalar graphs look like micrograd's ``draw_dot``: a record ``label | data | grad`` per value and a
  small node per operation, between the operation's inputs and its result.
* Tensor graphs draw one node per tensor: the operation that made it (or the leaf's name from
  ``params``), its shape and dtype, and a summary of its values; each edge is labelled with the
  shape of the tensor flowing along it. Every node carries a tooltip (``xlink:title`` in the SVG)
  with min / max / mean / L2 norm of its data and gradient.

A graph bigger than ``max_nodes`` is collapsed (modules, then long chains and wide fans folded into
summary nodes) by the plan of :mod:`autograd.viz_collapse`, so any graph draws in seconds.

Node identifiers are topological positions (``n0``, ``n1``, ... ``n3_op`` for a Scalar's operation,
``m0`` ... for collapsed modules, ``s0`` ... for summaries), never ``id()``, so the same graph gives
the same SVG every run.
"""

from __future__ import annotations

import html
import math
import os
from typing import Any

import graphviz
import numpy as np

from . import engine, viz_collapse
from .scalar import Scalar
from .tensor import Tensor
from .viz_text import (
    approx,
    as_array,
    brief,
    capped,
    count,
    fmt,
    nonfinite_note,
    norm,
    op_text,
    shape_text,
    stats,
)

__all__ = [
    "draw_graph",
    "save_svg",
    "render_svg",
    "GraphDrawing",
    "GraphvizNotFoundError",
    "DEFAULT_MAX_NODES",
    "GRAD_NORM_BINS",
]

DEFAULT_MAX_NODES = 200
"""Graphs with more drawn nodes than this are collapsed to at most this many (see draw_graph)."""

# Gradient-norm colour scale: decades of ||grad||_2, from vanishing (dark blue) through the healthy
# range (pale) to exploding (dark red). A fixed scale, not one stretched over each graph, so that a
# vanishing gradient looks vanishing in every drawing (the lecture's sigmoid-vs-ReLU comparison).
GRAD_NORM_BINS = (
    # (upper bound of ||grad||, fill colour, font colour, legend text)
    (1e-6, "#313695", "white", "< 1e-6  vanishing"),
    (1e-4, "#4575b4", "white", "1e-6 .. 1e-4"),
    (1e-2, "#abd9e9", "black", "1e-4 .. 1e-2"),
    (1e0, "#e0f3f8", "black", "1e-2 .. 1"),
    (1e2, "#fee090", "black", "1 .. 1e2"),
    (1e4, "#f46d43", "black", "1e2 .. 1e4"),
    (math.inf, "#a50026", "white", ">= 1e4  exploding"),
)
NONFINITE_FILL = "#ff66cc"  # NaN or Inf in a value or a gradient: pink, outside the blue-red ramp
NONFINITE_BORDER = "red"
NO_GRAD_FILL = "white"

_LEAF_PARAM_FILL = "lightblue"  # leaves that require grad (parameters)
_LEAF_DATA_FILL = "#eeeeee"  # leaves that do not (data, targets, constants)
_OP_FILL = "white"
_ROOT_FILL = "darkolivegreen1"  # the roots (outputs) of the drawing
_MODULE_FILL = "#dde6f0"  # a collapsed module
_SUMMARY_FILL = "#f7efd8"  # nodes folded to fit max_nodes (dashed folder, never a gradient colour)
_PARALLEL_EDGES = 8  # with a budget, more edges than this between two drawn nodes are drawn as one
_CLUSTER_FILLS = ("#f4f6fb", "#e9eef7", "#dfe6f2", "#d5def0")  # nested module clusters, by depth

_RANKDIRS = ("LR", "RL", "TB", "BT")
_COLOR_BY = (None, "grad_norm")

_INSTALL_HINT = (
    "Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `dnf install graphviz` (Fedora), "
    "`brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, or `winget install "
    "graphviz` (Windows), then make sure `dot` is on PATH."
)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs the Graphviz ``dot`` program and it is not installed (or not on PATH)."""

    def __init__(self, cause=None):
        detail = f" ({cause})" if cause else ""
        RuntimeError.__init__(
            self,
            f"rendering a graph needs the Graphviz `dot` program, which was not found{detail}. "
            f"{_INSTALL_HINT} Building the drawing (ag.draw_graph) works without it; only rendering "
            f"(save_svg, .pipe(), .render(), Jupyter display) needs `dot`.",
        )


class GraphDrawing(graphviz.Digraph):
    """The ``graphviz.Digraph`` that :func:`draw_graph` returns.

    A plain Digraph (it displays inline in Jupyter as SVG, ``.source`` is the DOT text) whose
    rendering methods turn a missing ``dot`` into :class:`GraphvizNotFoundError`, which says how to
    install it.
    """

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except GraphvizNotFoundError:
            raise
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError(e) from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except GraphvizNotFoundError:
            raise
        except graphviz.ExecutableNotFound as e:
            raise GraphvizNotFoundError(e) from None


# ---------------------------------------------------------------------------------------------
# Public functions


def draw_graph(
    *roots: Any,
    params: Any = None,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str = "LR",
    group_modules: bool = True,
    color_by: str | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
) -> graphviz.Digraph:
    """The graph below ``roots`` (Scalars or Tensors, a list of them, or an ``ag.Graph``) as a Digraph.

    Args:
        params: names for leaves, e.g. ``dict(model.named_parameters())`` (a dict or an iterable of
            ``(name, node)`` pairs); a Scalar's own ``label`` is used when it has one.
        show_data / show_grad: put the value / gradient in each node's label (a Scalar's number; a
            Tensor's single value, or ``[min, max]``). Tooltips always carry both.
        rankdir: Graphviz layout direction, ``'LR'`` (left to right, as micrograd), ``'TB'``, ...
        group_modules: draw the operations made inside an ``nn.Module`` call (their ``_scope``, the
            module path recorded while the module runs) in nested clusters named by that path. A
            leaf that requires grad (a parameter) joins the deepest module that all its users share.
        color_by: ``None``, or ``'grad_norm'``: fill each node by the decade of ||grad||_2 (the
            scale in :data:`GRAD_NORM_BINS`, shown in a legend); nodes that get no gradient are white.
            A Scalar's ``grad`` is read as is. For Tensors only leaves (and ``retain_grad()``
            tensors) keep ``.grad``, so the gradient of every node with respect to each root
            (seeded with ones, i.e. the gradient of ``root.sum()``) is computed here by running the
            engine's backward again with ``retain_graph=True``: nothing is accumulated into any
            ``.grad``, though registered hooks run as in a backward. This works before and after
            ``loss.backward()`` (a Tensor node keeps its values; in-place changes made since are
            reported by the version counters).
        max_nodes: a budget of drawn nodes (None: no budget; a Scalar operation counts two, value
            and operation). A bigger graph is drawn in at most ``max_nodes`` nodes (plus the legend;
            more only if the roots alone need more): whole modules collapsed into one node each, at
            the deepest module level that fits (else the top level); if that is not enough (no
            modules, long chains, wide fans), the part nearest the roots is drawn, with the roots
            and the named leaves (``params``, labels, Tensor parameters), and the rest is folded
            into dashed summary nodes, one per long chain or wide fan ("... 99,980 ops" with the
            count of each operation, the leaves, any NaN/Inf). More than 8 parallel edges are drawn
            as one labelled with their count. Building the drawing is linear in the graph's size
            (seconds for 10^6 nodes); see :mod:`autograd.viz_collapse` for the scheme.

    NaN or Inf in any value or gradient is shown by a pink fill, a thick red border and a
    warning line in the label. The result renders to SVG with ``.pipe(format='svg')`` and shows
    inline in Jupyter; building it does not need the ``dot`` program.
    """
    roots = _collect_roots(roots)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {_RANKDIRS} (Graphviz layout directions), got {rankdir!r}")
    if color_by not in _COLOR_BY:
        raise ValueError(f"color_by must be None or 'grad_norm', got {color_by!r}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None (no budget), got {max_nodes!r}")
    names = _param_names(params)
    return _Drawer(roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes).draw()


def save_svg(roots: Any, path: str | os.PathLike[str], **draw_options: Any) -> str:
    """Draw the graph below ``roots`` (one Scalar or Tensor, or a list) and write it to ``path`` as SVG.

    ``draw_options`` are those of :func:`draw_graph`. Returns the path written. Raises
    :class:`GraphvizNotFoundError` (saying how to install Graphviz) when ``dot`` is missing.
    """
    if not isinstance(roots, (list, tuple)):
        roots = [roots]
    svg = render_svg(draw_graph(*roots, **draw_options))
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(svg)
    return path


def render_svg(drawing: graphviz.Digraph) -> str:
    """The SVG text of a Digraph, rendered by ``dot`` (GraphvizNotFoundError when it is missing)."""
    try:
        return drawing.pipe(format="svg", encoding="utf-8")
    except GraphvizNotFoundError:
        raise
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(e) from None


# ---------------------------------------------------------------------------------------------
# Input checking


def _is_node(x):
    return isinstance(x, (Tensor, Scalar))


def _collect_roots(roots):
    from .graph import Graph

    if len(roots) == 1 and isinstance(roots[0], (list, tuple)):
        roots = tuple(roots[0])
    flat: list[Any] = []
    for r in roots:
        if isinstance(r, Graph):
            flat.extend(r.outputs)
        elif _is_node(r):
            flat.append(r)
        else:
            raise TypeError(
                f"draw_graph draws Scalars and Tensors (or an ag.Graph); got {type(r).__name__}. "
                f"Pass the output of a computation, e.g. ag.draw_graph(loss)."
            )
    if not flat:
        raise ValueError("draw_graph needs at least one root, e.g. ag.draw_graph(loss)")
    return tuple(dict.fromkeys(flat))  # the same root twice is drawn (and seeded) once


def _param_names(params):
    """node -> name, from a dict of names to nodes or an iterable of (name, node) pairs."""
    if params is None:
        return {}
    usage = (
        "params must map names to Tensors or Scalars, e.g. dict(model.named_parameters()) or a list "
        "of (name, tensor) pairs"
    )
    if isinstance(params, dict):
        items = list(params.items())
    elif isinstance(params, (Tensor, Scalar, str)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{usage}; got a {type(params).__name__}")
    else:
        items = list(params)
    names: dict[Any, str] = {}
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{usage}; got the item {type(item).__name__} {str(item)[:40]!r}")
        name, node = item
        if not _is_node(node):
            raise TypeError(f"params[{name!r}] is a {type(node).__name__}, not a Tensor or Scalar: {usage}")
        names.setdefault(node, str(name))
    return names


# ---------------------------------------------------------------------------------------------
# Numbers for labels and tooltips


def _grad_bin(norm):
    """The GRAD_NORM_BINS entry of a gradient norm (None for NaN/Inf)."""
    if not math.isfinite(norm):
        return None
    for entry in GRAD_NORM_BINS:
        if norm < entry[0]:
            return entry
    return GRAD_NORM_BINS[-1]


def _esc(text):
    """A string as literal text in a Graphviz label (backslashes and quotes are not escapes)."""
    return graphviz.escape(str(text))


def _record_esc(text):
    """Literal text in a record label field, where { } | < > are syntax."""
    out = _esc(text)
    for ch in "{}|<>":
        out = out.replace(ch, "\\" + ch)
    return out


def _lines(*lines):
    """Lines joined with Graphviz's centred line break (each line already escaped)."""
    return "\\n".join(line for line in lines if line is not None)


# ---------------------------------------------------------------------------------------------
# The drawing


class _Drawer:
    """One drawing: the graph as topological positions, its collapse plan, then the Digraph."""

    def __init__(self, roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes):
        self.roots = roots
        self.root_set = set(roots)
        self.names = names
        self.show_data = show_data
        self.show_grad = show_grad
        self.rankdir = rankdir
        self.group_modules = group_modules
        self.color_by = color_by
        self.max_nodes = max_nodes
        self.scalars_only = all(isinstance(r, Scalar) for r in roots)  # a Scalar only ever reads Scalars
        self.nodes = engine.toposort(roots)
        self.pos = {n: i for i, n in enumerate(self.nodes)}
        self.inputs = viz_collapse.input_positions(self.nodes, self.pos)
        self.grads = self._gradients()
        self.scopes = self._scopes()

    # -- gradients ------------------------------------------------------------------------------

    def _gradients(self):
        """Tensor node -> its gradient as an array (or None). A Scalar's gradient is its ``grad``."""
        if self.scalars_only:
            return {}
        grads = {n: as_array(n.grad) for n in self.nodes if isinstance(n, Tensor) and n.grad is not None}
        if self.color_by == "grad_norm":
            grads.update(self._tensor_gradients())
        return grads

    def _tensor_gradients(self):
        """d(sum of the Tensor roots)/d(node) for every Tensor node, by the engine (nothing accumulated)."""
        roots = [r for r in self.roots if isinstance(r, Tensor) and r.requires_grad]
        if not roots:
            return {}
        wanted = [n for n in self.nodes if isinstance(n, Tensor) and n.requires_grad]
        seeds = [np.ones_like(r.data) for r in roots]
        # A Tensor node keeps its own values after backward (only the right to backward through it
        # again is withdrawn), so drawing after loss.backward() may walk the graph once more;
        # in-place changes since are still caught by the version counters.
        freed = [n for n in wanted if n._freed]
        for n in freed:
            n._freed = False
        try:
            got = engine.backward(roots, seeds, retain_graph=True, inputs=wanted)
        finally:
            for n in freed:
                n._freed = True
        return {n: as_array(g) for n, g in zip(wanted, got)}

    # -- module scopes --------------------------------------------------------------------------

    def _scopes(self):
        """Per node, its module path (a tuple) or None. Parameters join the common module of their users."""
        if self.scalars_only:  # modules record scopes on Tensors only
            return [None] * len(self.nodes)
        scopes = [
            None if isinstance(n, Scalar) or not getattr(n, "_scope", None) else tuple(n._scope) for n in self.nodes
        ]
        if not any(scopes):
            return scopes
        params = [i for i, n in enumerate(self.nodes) if not self.inputs[i] and getattr(n, "requires_grad", False)]
        return viz_collapse.join_modules(scopes, self.inputs, params)

    # -- emitting -------------------------------------------------------------------------------

    def draw(self):
        g = GraphDrawing(
            name="chainrule",
            graph_attr={"rankdir": self.rankdir},
            node_attr={"fontname": "Helvetica", "fontsize": "11"},
            edge_attr={"fontname": "Helvetica", "fontsize": "9"},
        )
        self.graph = g
        # module path -> its cluster Digraph, in order of first appearance
        self.clusters: dict[tuple[str, ...], Any] = {}
        if self.scalars_only:
            weights = [2 if ins else 1 for ins in self.inputs]
        else:
            weights = [2 if ins and isinstance(n, Scalar) else 1 for n, ins in zip(self.nodes, self.inputs)]
        self.plan = viz_collapse.plan(
            self.inputs,
            weights,
            self.scopes,
            [self.pos[r] for r in self.roots],
            viz_collapse.pinnable(self.nodes, self.inputs, self.names),
            self.max_nodes,
        )
        # Edges first, as they tell which nodes of a box are read outside it (its outputs).
        edges, self.exported = viz_collapse.edges(self.plan, self.inputs, self._splits)

        # Nodes, in topological order (a box where its first node would be).
        box, members, shown = self.plan.box, self.plan.members, self.plan.shown
        drawn = (
            range(len(self.nodes)) if shown is None else sorted(shown + [members[b][0] for b in self.plan.summaries])
        )
        for i in drawn:
            n, b = self.nodes[i], box[i]
            if b is None:
                if isinstance(n, Scalar):
                    self._scalar_node(n)
                else:
                    self._tensor_node(n)
            elif members[b][0] == i:
                if b in self.plan.paths:
                    self._module_node(b, self.plan.paths[b], members[b])
                else:
                    self._summary_node(b, members[b])

        # Clusters, innermost first: a Digraph's subgraph() copies the child's body when called.
        for path in sorted(self.clusters, key=len, reverse=True):
            parent = self.clusters[path[:-1]] if len(path) > 1 else g
            parent.subgraph(self.clusters[path])

        if self.color_by == "grad_norm":
            self._legend()

        self._edges(edges)  # last, so that each node is first declared inside its cluster
        return g

    def _splits(self, i):
        """Whether node i is drawn as two nodes, its operation then its value (a Scalar operation)."""
        return isinstance(self.nodes[i], Scalar)

    def _edges(self, edges):
        """Draw the edges of ``viz_collapse.edges``: the shape of the tensor on each, and, with a budget,
        a bundle of more than ``_PARALLEL_EDGES`` (inputs from one box, copies of one input) as one
        edge labelled with its count, so that the DOT text stays as bounded as the drawn nodes."""
        cap = math.inf if self.max_nodes is None else _PARALLEL_EDGES
        for tail, head, carried, copies in edges:
            if not carried:  # a Scalar's operation node to its value
                self._edge(tail, head, carried, 0)
            elif len(carried) > cap:
                noun = "value" if isinstance(self.nodes[carried[0]], Scalar) else "tensor"
                self._edge(tail, head, carried, None, label=f"{len(carried):,} {noun}s", penwidth="2")
            elif copies > cap:
                self._edge(tail, head, carried, None, label=f"{self._edge_label(carried[0])} ×{copies:,}".strip())
            else:
                for j in carried:
                    label = self._edge_label(j)
                    for copy in range(copies):
                        self._edge(tail, head, (j,), copy, **({"label": label} if label else {}))

    def _edge(self, tail, head, carried, copy, **attrs):
        """One drawn edge, carrying the values of the nodes at ``carried`` (its ``copy``-th read of
        them, None: every read); the explorer (autograd/explorer) overrides it to name each edge."""
        self.graph.edge(tail, head, **attrs)

    def _outputs(self, box_id):
        """The positions of the nodes of a box that are roots or are read outside it, in order."""
        box = self.plan.box
        return sorted(i for i in self.exported.union(self.pos[r] for r in self.roots) if box[i] == box_id)

    def _edge_label(self, j):
        """The label of an edge carrying node j: a Tensor's shape (a Scalar's edges are unlabelled)."""
        n = self.nodes[j]
        return shape_text(n.shape) if isinstance(n, Tensor) else ""

    def _target(self, scope):
        """The Digraph a node with module path ``scope`` is declared in (creating its clusters)."""
        if not (self.group_modules and scope):
            return self.graph
        for k in range(1, len(scope) + 1):
            path = scope[:k]
            if path not in self.clusters:
                i = len(self.clusters)
                self.clusters[path] = graphviz.Digraph(
                    name=f"cluster_{i}",
                    graph_attr={
                        "label": _esc(".".join(path)),
                        "style": "rounded,filled",
                        "fillcolor": _CLUSTER_FILLS[(k - 1) % len(_CLUSTER_FILLS)],
                        "color": "#8899aa",
                        "fontname": "Helvetica",
                        "fontsize": "10",
                        "tooltip": _esc("module " + ".".join(path)),
                    },
                )
        return self.clusters[scope]

    def _style(self, base_fill, grad_norm, nonfinite):
        """Node attributes: fill by role, or by gradient norm with color_by; NaN/Inf highlighted."""
        attrs = {"style": "filled", "fillcolor": base_fill}
        if self.color_by == "grad_norm":
            if grad_norm is None:
                attrs["fillcolor"] = NO_GRAD_FILL
            else:
                entry = _grad_bin(grad_norm)
                if entry is None:
                    attrs["fillcolor"] = NONFINITE_FILL
                else:
                    attrs["fillcolor"], attrs["fontcolor"] = entry[1], entry[2]
        if nonfinite:
            attrs.update(fillcolor=NONFINITE_FILL, fontcolor="black", color=NONFINITE_BORDER, penwidth="3")
        return attrs

    def _scalar_node(self, n):
        i = self.pos[n]
        data, grad = n.data, self._scalar_grad(n)
        label = self.names.get(n, n.label)
        fields = [_record_esc(label)]
        if self.show_data:
            fields.append(_record_esc(f"data {data:.4f}"))
        if self.show_grad:
            fields.append(_record_esc(f"grad {grad:.4f}"))
        bad = [w for w, v in (("data", data), ("grad", grad)) if not math.isfinite(v)]
        if bad:
            fields.append(_record_esc("!! " + " and ".join(bad) + " not finite"))
        tooltip = _lines(
            _esc(f"n{i}: {label or '(no label)'}" + (f" = {n._op}(...)" if n._inputs else " (leaf)")),
            _esc(f"data {data!r}"),
            _esc(f"grad {grad!r}"),
        )
        base = _ROOT_FILL if n in self.root_set else "white"
        attrs = self._style(base, abs(grad), bool(bad))
        target = self.graph
        target.node(f"n{i}", label="{ " + " | ".join(fields) + " }", shape="record", tooltip=tooltip, **attrs)
        if n._inputs:
            target.node(
                f"n{i}_op",
                label=_esc(n._op),
                shape="ellipse",
                fontsize="10",
                width="0.3",
                height="0.3",
                margin="0.02",
                tooltip=_esc(f"operation {n._op} -> n{i}"),
            )

    def _scalar_grad(self, n):
        """The gradient a Scalar's record shows: its ``grad`` (the explorer shows the one it computes)."""
        return n.grad

    def _tensor_node(self, n):
        i = self.pos[n]
        data = n.data
        grad = self.grads.get(n)
        scope = self.scopes[i]
        if n._inputs:
            head = op_text(n)
            base = _OP_FILL
        else:
            head = self.names.get(n) or ("leaf" if n.requires_grad else "input")
            base = _LEAF_PARAM_FILL if n.requires_grad else _LEAF_DATA_FILL
        if n in self.root_set:
            base = _ROOT_FILL
        lines = [_esc(head), _esc(f"{shape_text(n.shape)} {n.dtype}")]
        if self.show_data:
            lines.append(_esc("data " + brief(data)))
        if self.show_grad and grad is not None:
            lines.append(_esc("grad " + brief(grad)))
        notes = [nonfinite_note("data", data), nonfinite_note("grad", grad)]
        notes = [x for x in notes if x]
        lines.extend(_esc(x) for x in notes)
        kind = f"{head} (operation)" if n._inputs else f"{head} (leaf, requires_grad={n.requires_grad})"
        tip = [
            _esc(f"n{i}: {kind}"),
            _esc(f"shape {shape_text(n.shape)}, dtype {n.dtype}"),
            _esc("data: " + stats(data)),
            _esc(
                "grad: "
                + (
                    stats(grad)
                    if grad is not None
                    else "none kept (only leaves and retain_grad() tensors keep .grad; "
                    "color_by='grad_norm' computes every node's)"
                )
            ),
        ]
        if scope:
            tip.append(_esc("module " + ".".join(scope)))
        grad_norm = None if grad is None else norm(grad)
        attrs = self._style(base, grad_norm, bool(notes))
        if n._inputs:
            attrs["style"] = "filled,rounded"  # operations rounded, leaves square (as torchviz)
        self._target(scope).node(f"n{i}", label=_lines(*lines), shape="box", tooltip=_lines(*tip), **attrs)

    def _module_node(self, node_id, path, members):
        """One node for a whole collapsed module: its path, op count, and gradient norm."""
        nodes = [self.nodes[i] for i in members]
        ops = [n for n in nodes if n._inputs]
        params = [n for n in nodes if not n._inputs]
        counts: dict[str, int] = {}
        for n in ops:
            name = viz_collapse.op_name(n)
            counts[name] = counts.get(name, 0) + 1
        outputs = [self.nodes[i] for i in self._outputs(node_id)]
        # ||grad|| of a module: over its parameters' gradients when it has any, else its outputs'.
        graded = [self.grads.get(n) for n in (params or outputs)]
        graded = [gr for gr in graded if gr is not None]
        grad_norm = math.sqrt(sum(norm(gr) ** 2 for gr in graded)) if graded else None
        notes = []
        for n in nodes:
            for what, a in (("data", n.data), ("grad", self.grads.get(n))):
                note = nonfinite_note(what, None if a is None else np.asarray(a))
                if note:
                    notes.append(f"{note} of n{self.pos[n]}")
        name = ".".join(path)
        summary = count(len(ops), "op") + (", " + count(len(params), "param") if params else "")
        lines = [_esc(name), _esc(summary)]
        if len(outputs) == 1:
            out = outputs[0]
            lines.append(_esc(f"-> {shape_text(out.shape)} {out.dtype}"))
        if self.show_grad and grad_norm is not None:
            lines.append(_esc(f"||grad|| {fmt(grad_norm)}"))
        if notes:
            lines.append(_esc(notes[0] + (f" (+{len(notes) - 1} more)" if len(notes) > 1 else "")))
        param_names = [self.names.get(p) or f"n{self.pos[p]}" for p in params]
        tip = [
            _esc(f"{node_id}: module {name}, collapsed ({summary})"),
            _esc("ops: " + capped([f"{k} x{v}" for k, v in counts.items()])),
            _esc("params: " + (capped(param_names) or "none")),
            _esc("||grad||: " + (fmt(grad_norm) if grad_norm is not None else "none")),
        ]
        for n in outputs[:4]:
            tip.append(_esc(f"output n{self.pos[n]} {shape_text(n.shape)}: data " + stats(n.data)))
        tip.extend(_esc(x) for x in notes[:8])
        attrs = self._style(_MODULE_FILL, grad_norm, bool(notes))
        self._target(path[:-1]).node(node_id, label=_lines(*lines), shape="box3d", tooltip=_lines(*tip), **attrs)

    def _summary_node(self, node_id, members):
        """One node for the nodes folded to fit the budget: its op counts, its leaves, its outputs."""
        counts, leaves, named, bad = viz_collapse.folded_stats(
            [self.nodes[i] for i in members], members, self.inputs, self.names, self.grads, self.scalars_only
        )
        ops = len(members) - leaves
        kinds = sorted(counts.items(), key=lambda kv: -kv[1])  # most frequent first, ties in order met
        leaf_text = f"{leaves:,} lea{'f' if leaves == 1 else 'ves'}"
        head = f"{ops:,} ops, {leaf_text}" if ops and leaves else f"{ops:,} ops" if ops else leaf_text
        lines = [_esc("… " + head)]
        if kinds:
            most = ", ".join(f"{k} ×{approx(v)}" for k, v in kinds[:3])
            lines.append(_esc(most + (", …" if len(kinds) > 3 else "")))
        outputs = self._outputs(node_id)
        if len(outputs) == 1:
            out = self.nodes[outputs[0]]
            lines.append(
                _esc(
                    f"-> data {out.data:.4f}" if isinstance(out, Scalar) else f"-> {shape_text(out.shape)} {out.dtype}"
                )
            )
        tip = [
            _esc(
                f"{node_id}: {ops:,} operations and {leaf_text} folded into one node to keep the drawing "
                f"within max_nodes={self.max_nodes} (max_nodes=None draws every node)"
            ),
            _esc("ops: " + capped([f"{k} x{v}" for k, v in kinds])),
            _esc("named leaves: " + (capped(named) or "none")),
        ]
        for i in outputs[:4]:
            n = self.nodes[i]
            tip.append(
                _esc(
                    f"output n{i}: data {n.data!r}, grad {n.grad!r}"
                    if isinstance(n, Scalar)
                    else f"output n{i} {shape_text(n.shape)}: data " + stats(n.data)
                )
            )
        attrs = {"style": "filled,dashed", "fillcolor": _SUMMARY_FILL}
        if bad:  # a NaN hidden in a summary must not go unseen
            lines.append(_esc(f"!! NaN or Inf in {count(len(bad), 'node')}"))
            tip.append(_esc("NaN or Inf in " + capped([f"n{i}" for i in bad], 8)))
            attrs.update(fillcolor=NONFINITE_FILL, color=NONFINITE_BORDER, penwidth="3")
        scope = viz_collapse.common_prefix(self.scopes[i] for i in members)
        self._target(scope).node(node_id, label=_lines(*lines), shape="folder", tooltip=_lines(*tip), **attrs)

    def _legend(self):
        """A legend for color_by='grad_norm': one node, a table with a swatch per decade bin."""
        entries = [(fill, font, text) for _, fill, font, text in GRAD_NORM_BINS]
        entries += [(NONFINITE_FILL, "black", "NaN / Inf"), (NO_GRAD_FILL, "black", "no gradient")]
        rows = "".join(
            f'<tr><td bgcolor="{fill}"><font color="{font}">{html.escape(text)}</font></td></tr>'
            for fill, font, text in entries
        )
        table = (
            '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
            f'<tr><td border="0"><b>||grad||<sub>2</sub></b></td></tr>{rows}</table>>'
        )
        self.graph.node(
            "legend",
            label=table,
            shape="plaintext",
            fontsize="9",
            tooltip="fill colour = L2 norm of the node's gradient (decades)",
        )
