"""ag.Graph: the DAG below some outputs as an object that can be inspected and re-run.

This is the lecture's general back-propagation recipe held in a variable:

    1. Fprop: visit the nodes in topological order; compute each node's value from its inputs.
    2. Bprop: set the output gradient to 1; visit the nodes in reverse order and compute each
       node's gradient from the gradients of its successors (the multi-path chain rule).
"""

from __future__ import annotations

from . import engine
from .replay import Plan
from .scalar import Scalar, backprop


class Graph:
    """The graph below ``outputs`` (Scalars or Tensors), topologically sorted.

    ``nodes``: every node, inputs before the nodes that use them; ``leaves``: the nodes made by no
    operation (parameters, data, constants); ``outputs``: the given outputs.
    """

    def __init__(self, *outputs):
        if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
            outputs = tuple(outputs[0])
        if not outputs:
            raise ValueError("Graph needs at least one output node, e.g. ag.Graph(loss)")
        self.outputs = tuple(outputs)
        self.nodes = engine.toposort(self.outputs)
        self.leaves = [n for n in self.nodes if not n._inputs]
        self._leaf_set = set(self.leaves)
        self._ops = [n for n in self.nodes if n._inputs]
        self._grad_order = [n for n in self.nodes if n.requires_grad]  # what backward walks
        self._flags = tuple(leaf.requires_grad for leaf in self.leaves)
        self._plan = None  # the compiled replay (replay.Plan), built on first use
        self._plan_built = False
        self._buffers = {}  # leaf -> the array its last feed was written into

    def forward(self, feeds=None):
        """Write ``feeds`` ({leaf: new value}) into the leaves, evaluate every operation again in
        topological order, and return the output (or a tuple of outputs).

        A fed value is copied (into an array of the graph's own: memory that a leaf shared with its
        creator, as ``from_numpy`` shares, is never written) and converted to the leaf's dtype."""
        if feeds:
            buffers = self._buffers
            for leaf, value in feeds.items():
                if leaf not in self._leaf_set:
                    what = f"{type(leaf).__name__} of shape {getattr(leaf, 'shape', ())}"
                    if getattr(leaf, "_inputs", None):
                        why = "an operation's result, not a leaf"
                    else:
                        why = (
                            "not in this graph (only operations that involve a tensor requiring grad are "
                            "recorded, so data that meets a parameter only later is not a leaf of it)"
                        )
                    raise KeyError(f"feeds may only name leaves of this graph; this {what} is {why}")
                buffers[leaf] = leaf._feed(value, buffers.get(leaf))
        plan = self._compiled()
        if plan is not None:
            plan.forward()
        else:
            for node in self._ops:
                node._recompute()
        return self.outputs[0] if len(self.outputs) == 1 else self.outputs

    def backward(self, gradient=None):
        """Run the reverse walk again (the graph is kept for the next forward)."""
        grads = [o._seed_grad(gradient) for o in self.outputs]
        plan = self._compiled()
        if plan is not None and plan.backward(grads):
            return
        flags = tuple(leaf.requires_grad for leaf in self.leaves)
        if flags != self._flags:  # a leaf was frozen or unfrozen since the capture
            self._flags, self._grad_order = flags, [n for n in self.nodes if n.requires_grad]
        if isinstance(self.outputs[0], Scalar):  # (a Scalar graph is Scalars only)
            backprop(self.outputs, grads, retain_graph=True, order=self._grad_order)
        else:
            engine.backward(self.outputs, grads, retain_graph=True, order=self._grad_order)

    def _compiled(self):
        """The compiled replay of this graph (see replay.py), or None where it does not apply."""
        if not self._plan_built:
            self._plan, self._plan_built = Plan.build(self.nodes, self.outputs), True
        plan = self._plan
        if plan is not None and not plan.usable():
            self._plan = plan = None  # an in-place operation rewired a node: replay node by node
        return plan

    def inputs(self, node) -> tuple:
        """The nodes ``node`` was computed from, in argument order (``()`` for a leaf): the edges of
        the graph into ``node``, which fprop reads and bprop passes gradients along."""
        return node._inputs

    @property
    def code(self) -> str:
        """The Python source of the compiled forward and backward (one line per operation), or
        an explanation of why this graph is replayed node by node instead. A large graph's plan is
        in pieces: its source lists each distinct piece once (written again on each access)."""
        plan = self._compiled()
        if plan is None:
            return (
                "# replayed node by node (no compiled plan): the graph has Scalar or ag.Function nodes, "
                "or an in-place operation changed it after capture"
            )
        return plan.source

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        return f"Graph({len(self.nodes)} nodes, {len(self.leaves)} leaves, {len(self.outputs)} output(s))"

    def _repr_svg_(self):
        """Jupyter shows the graph inline: ``ag.draw_graph(self)`` rendered to SVG by Graphviz."""
        from .viz import draw_graph, render_svg

        return render_svg(draw_graph(self))
