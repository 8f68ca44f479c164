"""Big graphs for ``draw_graph``: what to draw when a graph exceeds ``max_nodes``, and its edges.

The graph is handled as topological positions (ints): ``input_positions`` gives each node's inputs,
``plan`` decides how each node is drawn (as itself, in a module box, or folded into a summary box),
``edges`` lists the edges between what is drawn, and ``folded_stats`` says what a summary holds.
``autograd/viz.py`` turns these into Graphviz nodes and edges.

A graph's drawn size counts one node per Tensor and per Scalar leaf, and two per Scalar operation
(its value record and its operation). A graph within the budget is drawn whole. A bigger one is
drawn with nodes folded into group boxes, in two steps:

1. **Modules** (only where the graph has any). The operations made inside an ``nn.Module`` call
   become one box per module, at the deepest module level whose collapse fits the budget, or at
   the top level when none does. If that fits, the drawing stops here.

2. **Summaries**, for whatever is still too big: long chains, wide fans, graphs without modules.
   Work on *units* (a node, or a module collapsed by step 1):

   a. Pin: the roots, then leaves worth finding (named by ``params`` or a Scalar's label, and Tensor
      leaves that require grad), in topological order, up to a quarter of the budget.
   b. Reveal from the roots: a unit is revealed once every unit that reads it is revealed,
      breadth first, until the budget is spent (Kahn's algorithm run from the outputs). So what is
      drawn is the top of the graph, the part nearest the loss that a reader of a backward graph
      looks at first. A unit comes with its private leaves (constants read by it alone: a Scalar
      ``x * 1.5`` shows its 1.5). A unit with many inputs (a fan-in, ``ag.stack`` of 10^5 tensors)
      reveals only its first ``max(3, max_nodes // 10)``; a unit with many readers (a fan-out) waits
      for all of them, so it stays folded unless the budget reaches them all.
   c. Fold the rest: the connected pieces of the hidden part become summary boxes, one per revealed
      unit that they feed first (so one per long chain, one per fan); if there are more of those
      than the budget leaves, neighbouring ones (in order of the unit they feed) share a box.

   Step 2 keeps back ``max(1, max_nodes // 20)`` of the budget for summary boxes, so the drawing has
   at most ``max_nodes`` nodes, unless the roots alone need more (they are always drawn, with one
   summary box for all the rest).

The drawing stays a DAG: a unit is revealed only after all its readers, so no edge runs from a
revealed unit into a hidden one except from a pinned leaf (which has no inputs, so closes no cycle)
or a pinned root read by other nodes (the one case where a summary can feed the root and read it;
``dot`` then draws one edge backwards). Distinct hidden pieces share no edge, so putting several in
one box makes no cycle either.

Everything here is linear in the graph's nodes and edges: one pass builds each unit's inputs and
reader counts, the reveal touches only revealed units, and one union-find pass (each new unit is
linked to the root of its first input's piece, so a chain's finds take a step or two) labels the
hidden pieces. Nodes are topological positions (ints) throughout.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import numpy as np

from .scalar import Scalar

__all__ = [
    "Plan",
    "plan",
    "edges",
    "pinnable",
    "folded_stats",
    "op_name",
    "input_positions",
    "join_modules",
    "all_finite",
    "common_prefix",
    "module_depth",
]

PIN_LEAVES_SHARE = 4  # pinned leaves: at most max_nodes // 4
FAN_SHARE = 10  # a unit reveals at most max(3, max_nodes // 10) of its inputs
SUMMARY_SHARE = 20  # kept back for summary boxes: max(1, max_nodes // 20)


class Plan:
    """How each node is drawn.

    Attributes:
        box: per node (topological position), ``None`` when the node is drawn as itself, else the
            id of the box it is drawn inside: ``"m3"`` a collapsed module, ``"s0"`` a summary.
        members: box id -> the positions of its nodes, in topological order.
        paths: module box id -> its module path (a tuple of names).
        summaries: the summary box ids, in order.
        shown: None when nothing is folded into a summary; else the positions of the nodes not in a
            summary, in order, so the drawing never has to walk the folded part.
        crossing: the positions of summary nodes that read something outside their summary (their
            edges are drawn), in order.
    """

    def __init__(self, n):
        self.box: list[str | None] = [None] * n
        self.members: dict[str, list[int]] = {}
        self.paths: dict[str, tuple[str, ...]] = {}
        self.summaries: list[str] = []
        self.shown: list[int] | None = None
        self.crossing: list[int] = []


def plan(inputs, weights, scopes, roots, pinnable, max_nodes):
    """The collapse plan of a graph (see the module docstring).

    Args:
        inputs: per node, in topological order, the positions of its inputs (a tuple, with repeats).
        weights: per node, how many drawn nodes it takes on its own (2 for a Scalar operation).
        scopes: per node, its module path (a tuple) or None.
        roots: positions of the roots, in the caller's order.
        pinnable: positions of the leaves to keep in sight, in order of preference.
        max_nodes: the budget, or None (draw everything).
    """
    n = len(inputs)
    result = Plan(n)
    if max_nodes is None or sum(weights) <= max_nodes:
        return result
    depth = module_depth(scopes, weights, max_nodes)
    rep = None  # node -> its unit: itself, or the first node of its collapsed module (None: no modules)
    if depth is not None:
        rep = list(range(n))
        first: dict[tuple[str, ...], tuple[int, str]] = {}  # module path -> (its first node, its box id)
        for i, s in enumerate(scopes):
            if s and len(s) >= depth:
                path = s[:depth]
                if path not in first:
                    box_id = f"m{len(first)}"
                    first[path] = (i, box_id)
                    result.paths[box_id] = path
                    result.members[box_id] = []
                rep[i], box_id = first[path]
                result.box[i] = box_id
                result.members[box_id].append(i)
        drawn = len(first) + sum(w for i, w in enumerate(weights) if result.box[i] is None)
        if drawn <= max_nodes:
            return result
    _fold(result, inputs, weights, rep, roots, pinnable, max_nodes)
    return result


def input_positions(nodes, pos):
    """Per node (in topological order), the positions of its inputs: a tuple, with repeats."""
    out = []
    for n in nodes:
        if n.__class__ is Scalar:  # inputs _a, _b in slots: no tuple to build (its _inputs property does)
            a, b = n._a, n._b
            out.append(() if a is None else (pos[a],) if b is None else (pos[a], pos[b]))
        else:
            out.append(tuple(map(pos.__getitem__, n._inputs)))
    return out


def pinnable(nodes, inputs, names):
    """Leaves to keep in sight when the graph is folded: named ones (``names``, a Scalar's label),
    then unnamed Tensor leaves that require grad (parameters), each in topological order."""
    named, params = [], []
    for i, ins in enumerate(inputs):
        if ins:
            continue
        n = nodes[i]
        if n in names or (isinstance(n, Scalar) and n.label):
            named.append(i)
        elif not isinstance(n, Scalar) and n.requires_grad:
            params.append(i)
    return named + params


def join_modules(scopes, inputs, params):
    """``scopes`` with each leaf in ``params`` moved to the deepest module all its readers share."""
    readers: dict[int, list[int]] = {j: [] for j in params}
    for i, ins in enumerate(inputs):
        for j in ins:
            if j in readers:
                readers[j].append(i)
    for j, users in readers.items():
        if users:
            scopes[j] = common_prefix(scopes[u] for u in users)
    return scopes


def common_prefix(paths):
    """The longest module path that starts every one of ``paths`` (None if one is None or they share none)."""
    common = None
    for s in paths:
        if s is None:
            return None
        if common is None:
            common = s
        else:
            k = 0
            while k < min(len(common), len(s)) and common[k] == s[k]:
                k += 1
            common = common[:k]
        if not common:
            return None
    return common


def module_depth(scopes, weights, max_nodes):
    """The module depth at which to collapse: the deepest that fits the budget, else 1 (None: no modules)."""
    deepest = max((len(s) for s in scopes if s), default=0)
    if deepest == 0:
        return None
    for depth in range(deepest, 0, -1):
        groups = set()
        count = 0
        for s, w in zip(scopes, weights):
            if s and len(s) >= depth:
                groups.add(s[:depth])
            else:
                count += w
        if count + len(groups) <= max_nodes:
            return depth
    return 1


def _unit_inputs(inputs, rep, box):
    """Per unit (None for the other nodes of a module), its distinct input units but itself, in order."""
    if rep is None:  # a unit is a node; only a Scalar's x * x or an n-ary op can repeat an input
        return [
            ins if len(ins) < 2 or (len(ins) == 2 and ins[0] != ins[1]) else tuple(dict.fromkeys(ins)) for ins in inputs
        ]
    uin: list[tuple[int, ...] | None] = [None] * len(inputs)
    collected: dict[int, dict[int, None]] = {}  # module unit -> {input unit: None}, over all the module's nodes
    for i, ins in enumerate(inputs):
        if box[i] is None:
            uin[i] = tuple(dict.fromkeys(rep[j] for j in ins))
            continue
        u = rep[i]
        seen = collected.setdefault(u, {})
        for j in ins:
            if rep[j] != u:
                seen[rep[j]] = None
    for u, seen in collected.items():
        uin[u] = tuple(seen)
    return uin


def _fold(result, inputs, weights, rep, roots, pinnable, max_nodes):
    """Step 2 of the module docstring: pin, reveal from the roots, fold the rest into summaries."""
    n = len(inputs)
    uin = _unit_inputs(inputs, rep, result.box)
    units: range | list[int]
    if rep is None:
        units, weight = range(n), weights
    else:
        units = [u for u in range(n) if rep[u] == u]
        weight = [1 if result.box[u] is not None else weights[u] for u in range(n)]  # a module box is 1 node
    readers = [0] * n  # distinct units reading each unit
    for u in units:
        for v in uin[u]:
            readers[v] += 1

    budget = max_nodes - max(1, max_nodes // SUMMARY_SHARE)
    visible = bytearray(n)
    revealed = []  # in order of revealing: roots, pinned leaves, then breadth first from the roots
    used = 0

    def reveal(u):
        nonlocal used
        visible[u] = 1
        revealed.append(u)
        used += weight[u]

    unit = (lambda i: i) if rep is None else rep.__getitem__
    for k, u in enumerate(dict.fromkeys(unit(r) for r in roots)):
        if k == 0 or used + weight[u] <= budget:  # the first root is drawn whatever the budget
            reveal(u)
    leaf_budget = max_nodes // PIN_LEAVES_SHARE
    for i in pinnable:
        if leaf_budget <= 0 or used + 1 > budget:
            break
        if result.box[i] is None and not visible[i]:  # a leaf inside a collapsed module stays in it
            reveal(i)
            leaf_budget -= 1

    fan = max(3, max_nodes // FAN_SHARE)
    queue = deque(revealed)
    while queue:
        u = queue.popleft()
        ready = []
        for v in uin[u][:fan]:
            readers[v] -= 1
            if readers[v] == 0 and not visible[v]:
                ready.append(v)
        for v in ready:
            # v comes with its private leaves: the inputs read by v alone (Scalar constants)
            private = [x for x in uin[v][:fan] if readers[x] == 1 and not uin[x] and not visible[x]]
            if used + weight[v] + sum(weight[x] for x in private) > budget:
                queue.clear()
                break
            reveal(v)
            for x in private:
                reveal(x)
            queue.append(v)

    # The hidden pieces: union-find over hidden units (parent links, halved as they are followed).
    parent = list(range(n))
    crossing = []  # hidden units that read a revealed one: a pinned leaf or root feeding a summary
    for u in units:
        if visible[u]:
            continue
        root = -1
        for v in uin[u]:
            if visible[v]:
                crossing.append(u)
                continue
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            if root < 0:
                root = v
            elif v != root:
                parent[v] = root
        if root >= 0:
            parent[u] = root

    def find(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    # Each piece goes to the summary of the first revealed unit that reads it (all the pieces
    # feeding one fan share one), or, when nothing revealed reads it (a root over the budget), to
    # one of its own.
    key = {}  # piece (its union-find root) -> summary number
    numbers: dict[int, int] = {}  # revealed unit -> the number of the summary of the pieces it reads first
    for u in revealed:
        for v in uin[u]:
            if not visible[v] and find(v) not in key:
                key[find(v)] = numbers.setdefault(u, len(numbers))
    summaries = len(numbers)
    for r in roots:
        if not visible[unit(r)] and find(unit(r)) not in key:
            key[find(unit(r))] = summaries
            summaries += 1
    if not key:
        return
    boxes = min(summaries, max(1, max_nodes - used))  # more than that: neighbours share a box
    result.summaries = [f"s{k}" for k in range(boxes)]
    members: list[list[int]] = [[] for _ in range(boxes)]
    hidden = [i for i in range(n) if not visible[i if rep is None else rep[i]]]
    if boxes == 1:
        members[0] = hidden
    else:
        for i in hidden:
            members[key[find(unit(i))] * boxes // summaries].append(i)
    box = result.box
    for box_id, nodes in zip(result.summaries, members):
        result.members[box_id] = nodes
        for i in nodes:
            box[i] = box_id
    for box_id in [b for b in result.paths if not visible[result.members[b][0]]]:
        del result.members[box_id], result.paths[box_id]  # a module folded into a summary
    if rep is None:
        result.shown, result.crossing = sorted(revealed), list(dict.fromkeys(crossing))
    else:
        result.shown = [i for i in range(n) if visible[rep[i]]]
        crossing_units = set(crossing)
        result.crossing = [i for i in hidden if rep[i] in crossing_units]


def edges(result, inputs, splits):
    """The edges between drawn nodes, in order, and the positions of boxed nodes read outside their box.

    Each edge is ``(tail, head, carried, copies)``: drawn node ids (``"n3"``, ``"n3_op"``, ``"m0"``,
    ``"s1"``), the positions of the nodes whose values it carries, and how many times each (x * x
    reads x twice). An edge runs from each input to the node that reads it or, for a node that
    ``splits(i)`` (a Scalar operation: its operation, then its value), to its operation node, which
    has an edge on to the value (carrying nothing). Edges into or out of a box are merged per tail
    and head, carrying each distinct input once; edges inside one box are not drawn. Only the
    drawn part of the graph and the folded nodes that read it are walked.
    """
    box = result.box
    order: list[tuple[Any, ...]] = []  # an edge, or the (tail, head) key of a merged edge at its first place
    merged: dict[tuple[str, str], dict[int, None]] = {}  # (tail, head) -> {input position: None}
    exported = set()
    for i in range(len(inputs)) if result.shown is None else sorted(result.shown + result.crossing):
        ins = inputs[i]
        if not ins:
            continue
        b = box[i]
        head = b or f"n{i}"
        if b is None and splits(i):
            order.append((f"n{i}_op", head, (), 1))
            head = f"n{i}_op"
        counted: Iterable[tuple[int, int]]
        if len(ins) == 1:
            counted = ((ins[0], 1),)
        elif len(ins) == 2:
            counted = ((ins[0], 2),) if ins[0] == ins[1] else ((ins[0], 1), (ins[1], 1))
        else:
            counted = Counter(ins).items()
        for j, copies in counted:
            t = box[j]
            if t is not None:
                if t == b:
                    continue  # inside one box
                exported.add(j)
            elif b is None:
                order.append((f"n{j}", head, (j,), copies))
                continue
            key = (t or f"n{j}", head)
            if key not in merged:
                merged[key] = {}
                order.append(key)
            merged[key][j] = None
    return [e if len(e) == 4 else (*e, tuple(merged[e]), 1) for e in order], exported


# ---------------------------------------------------------------------------------------------
# What a summary box says


def op_name(n):
    """The name of the operation that made node n ('*' for a Scalar product, 'matmul' for a Tensor's)."""
    if isinstance(n, Scalar):
        return n._op
    return getattr(n._op, "name", None) or str(n._op)


def all_finite(a):
    """Whether a value or gradient (a float, an array, or None) has no NaN or Inf."""
    if a is None:
        return True
    if isinstance(a, float):
        return math.isfinite(a)
    a = np.asarray(a)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def folded_stats(nodes, members, inputs, names, grads, scalars_only):
    """What a summary box of ``nodes`` (at positions ``members``) says: (op name -> count, number of
    leaves, up to 13 leaf names, the positions of nodes with a NaN or Inf in value or gradient).
    ``grads`` holds the Tensors' gradients (a Scalar keeps its own)."""
    if scalars_only:  # the huge case (a Scalar graph of 10^6 nodes): C-speed passes, no per-node calls
        counts = Counter(map(attrgetter("_op"), nodes))  # a leaf's op is ''
        leaves = counts.pop("", 0)
        named = [name for n in nodes if not n._op and (name := names.get(n) or n.label)]
        finite = np.ones(len(nodes), dtype=bool)
        for field in ("data", "grad"):
            finite &= np.isfinite(np.fromiter(map(attrgetter(field), nodes), float, len(nodes)))
        return counts, leaves, named[:13], [members[k] for k in np.flatnonzero(~finite)]
    counts = Counter(op_name(n) for i, n in zip(members, nodes) if inputs[i])
    leaves = len(nodes) - sum(counts.values())
    named = [
        names.get(n) or (n.label if isinstance(n, Scalar) else "") for i, n in zip(members, nodes) if not inputs[i]
    ]
    bad = [
        i
        for i, n in zip(members, nodes)
        if not (all_finite(n.data) and all_finite(n.grad if isinstance(n, Scalar) else grads.get(n)))
    ]
    return counts, leaves, [x for x in named if x][:13], bad
