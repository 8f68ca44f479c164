"""ag.Graph's compiled replay: a captured Tensor graph's forward and backward as straight-line Python.

Re-running a graph node by node (``_recompute`` on each node, then the engine's reverse walk with
its dictionary of pending gradients) repeats, every step, decisions that never change once the
graph is captured: which rule runs for which input, which gradients are summed where, which nodes
are leaves. A plan makes those decisions once and writes them out as two Python functions, one
line per operation and one derivative rule (``r_...``) per edge, which ``exec`` turns into code
(torch.fx does the same):

    def forward():
        linear_3.data = f_linear_3(data_0.data, param_1.data, param_2.data)
        relu_4.data = f_relu_4(linear_3.data)
        ...

    def backward(seeds):
        d_sum_9 = seeds[0]
        ...
        # relu_4 = relu(linear_3)
        if relu_4._hooks is not None: d_relu_4 = relu_4._accumulate(d_relu_4, True)
        d_linear_3 = r_relu_4_0(d_relu_4, relu_4.data, linear_3.data)
        del d_relu_4
        ...

The pending gradients are local variables, each freed (``del``) once passed on, and a gradient
reaching a node along several paths is summed where the second path arrives (the multi-path chain
rule, resolved when the plan is built). ``Graph.code`` shows the source, with ``stamp()``, the
bookkeeping that ``forward`` does after computing the values, and the checks ``backward`` makes.

A plan only covers what it can replay exactly: graphs of Tensors whose operations are entries of
the op table. Graphs with Scalars or ag.Function nodes, backward under detect_anomaly(), and a
graph whose structure an in-place operation changed fall back to the node-by-node path, which gives
the same results. The plan keeps the checks of that path: a value saved for backward and modified
in place since the forward raises (tested cheaply: no in-place modification anywhere since the
forward means nothing to check), a graph freed by a non-retaining backward raises, hooks and
retain_grad() registered after the capture run, and changed requires_grad flags rebuild the plan.
"""
from __future__ import annotations

import sys

import numpy as np

from . import anomaly, engine
from . import tensor as _tensor
from .broadcast import unbroadcast
from .grad_mode import state


def _fit(g, like):
    """A gradient reduced to its input's shape (broadcasting) and cast to its dtype."""
    if g.shape == like.shape and g.dtype == like.dtype:
        return g
    if g.shape != like.shape:
        g = unbroadcast(g, like.shape)
    if g.dtype != like.dtype:
        g = g.astype(like.dtype)
    return g


def _needs_cast(op, x, y):
    """Whether _binary cast the operands of ``op`` (different dtypes, or integers divided)."""
    x, y = x.data, y.data
    return x.dtype != y.dtype or _tensor._binary_dtype(op, x, y) != x.dtype


class Plan:
    """The compiled forward and backward of the Tensor graph ``nodes`` (topologically sorted)."""

    @staticmethod
    def build(nodes, outputs):
        """A Plan for the graph, or None when it has nodes a plan does not cover (see the module doc)."""
        members = set(nodes)
        for n in nodes:
            if not isinstance(n, _tensor.Tensor) or (n._inputs and n._op.vjp_all is not None):
                return None
            if any(i not in members for i in n._inputs):
                return None  # rewired in place since the graph was captured
        return Plan(nodes, outputs)

    def __init__(self, nodes, outputs):
        self.nodes = nodes
        self.outputs = outputs
        self.ops = [n for n in nodes if n._inputs]
        self.leaves = [n for n in nodes if not n._inputs]
        self.structure = [(n._op, n._inputs) for n in self.ops]
        self.rewires = _tensor._rewires[0]
        self.bumps = None  # _bumps after the last forward (None: no forward since the plan was built)
        for n in nodes:  # every tensor of the graph gets its version counter now, so that the
            n._version_cell()  # forward records the versions it read without testing for one
        self._build()

    def _build(self):
        """Generate and compile the two functions for the current requires_grad flags."""
        self.flags = tuple(leaf.requires_grad for leaf in self.leaves)
        self.grad_order = [n for n in self.nodes if n.requires_grad]
        names = {}
        for i, n in enumerate(self.nodes):  # parameters (leaves that require grad), data, operations
            names[n] = n._op.name if n._inputs else ("param" if n.requires_grad else "data")
            names[n] += f"_{i}"
        ns = {"asarray": np.asarray, "fit": _fit, "cast": _tensor._binary_operands, "refs": sys.getrefcount, "make": _tensor._make}
        for n, name in names.items():
            ns[name] = n
        fwd = self._forward_source(names, ns)
        bwd = self._backward_source(names, ns)
        # the bookkeeping of the node-by-node path: after a forward each node is not freed and
        # records the versions of the values it read (so that an in-place modification before a
        # later backward is detected); backward checks the requires_grad flags and freed nodes
        stamps = ["def stamp():"]
        for n in self.ops:
            versions = ", ".join(f"{names[i]}._vc[0]" for i in (*n._inputs, n))
            stamps.append(f"    {names[n]}._freed, {names[n]}._sv = False, ({versions})")
        if len(stamps) == 1:
            stamps.append("    pass")
        leaves = ", ".join(f"{names[leaf]}.requires_grad" for leaf in self.leaves)
        ops = " or ".join(f"{names[n]}._freed" for n in self.visited) or "False"
        checks = (f"def flags():\n    return ({leaves},)\n\n\n"
                  f"def freed():\n    return {ops}")
        self.source = "\n\n\n".join((fwd, bwd, "\n".join(stamps), checks))
        exec(compile(self.source, "<ag.Graph plan>", "exec"), ns)  # noqa: S102 (our own generated code)
        self._forward, self._backward, self._stamp = ns["forward"], ns["backward"], ns["stamp"]
        self._flags, self._freed = ns["flags"], ns["freed"]

    # -- code generation ---------------------------------------------------------------------------

    def _forward_source(self, names, ns):
        lines = ["def forward():"]
        for n in self.ops:
            name, op = names[n], n._op
            ns[f"f_{name}"] = op.forward
            args = [f"{names[i]}.data" for i in n._inputs]
            if op in _tensor._BINARY_OPS and _needs_cast(op, *n._inputs):
                # the operands are cast as _binary casts them, from their current values (whether
                # one is 0-d matters to the promotion)
                ns[f"op_{name}"] = op
                args = [f"*cast(op_{name}, {args[0]}, {args[1]})"]
            if n._params:
                ns[f"p_{name}"] = n._params
                args.append(f"**p_{name}")
            call = f"f_{name}({', '.join(args)})"
            if n.data.ndim == 0:  # numpy reductions return numpy scalars, not arrays
                call = f"asarray({call})"
            lines.append(f"    {name}.data = {call}")
        if len(lines) == 1:
            lines.append("    pass")
        return "\n".join(lines)

    def _backward_source(self, names, ns):
        grad_set = set(self.grad_order)
        has_grad = set()  # nodes whose pending gradient exists at this point of the walk
        self.visited = []  # the operations whose backward runs (those some gradient reaches)
        lines = ["def backward(seeds):"]
        for k, out in enumerate(self.outputs):
            if out not in grad_set:
                continue
            d = f"d_{names[out]}"
            lines.append(f"    {d} = seeds[{k}]" if out not in has_grad else f"    {d} = {d} + seeds[{k}]")
            has_grad.add(out)
        for n in reversed(self.grad_order):
            if n not in has_grad:
                continue  # no gradient reaches it (as the engine skips a node with none pending)
            name = names[n]
            d = f"d_{name}"
            if not n._inputs:
                if n.data.dtype.kind == "f":
                    # _accumulate's common case inline: no hooks, no gradient yet, and nothing else
                    # holds this fresh array (the local and getrefcount's argument), so keep it
                    lines.append(f"    if {name}.grad is None and {name}._hooks is None and refs({d}) == 2 and "
                                 f"{d}.base is None and {d}.dtype.kind == 'f' and {d}.flags.writeable: "
                                 f"{name}.grad = make({d})")
                    lines.append(f"    else: {name}._accumulate({d}, True)")
                else:
                    lines.append(f"    {name}._accumulate({d}, True)")
                lines.append(f"    del {d}")
                continue
            op = n._op
            self.visited.append(n)
            lines.append(f"    # {name} = {op.name}({', '.join(names[i] for i in n._inputs)})")
            lines.append(f"    if {name}._hooks is not None: {d} = {name}._accumulate({d}, True)")
            params = f", **p_{name}" if n._params else ""
            if n._params:
                ns[f"p_{name}"] = n._params
            args = ", ".join(f"{names[i]}.data" for i in n._inputs)
            for j, (inp, rule) in enumerate(zip(n._inputs, op.vjps)):
                if rule is None or inp not in grad_set:
                    continue
                ns[f"r_{name}_{j}"] = rule
                call = f"r_{name}_{j}({d}, {name}.data, {args}{params})"
                target = f"d_{names[inp]}"
                if op.keeps_shape:  # the gradient has the input's shape and dtype already
                    lines.append(f"    {target} = {call}" if inp not in has_grad else f"    {target} = {target} + {call}")
                else:  # fit: a broadcast gradient reduced to the input's shape, cast to its dtype
                    call = f"fit({call}, {names[inp]}.data)"
                    lines.append(f"    {target} = {call}" if inp not in has_grad else f"    {target} = {target} + {call}")
                has_grad.add(inp)
            lines.append(f"    del {d}")
        if len(lines) == 1:
            lines.append("    pass")
        return "\n".join(lines)

    # -- running -----------------------------------------------------------------------------------

    def usable(self):
        """False once an in-place operation has rewired one of the graph's nodes or leaves (its
        structure changed: the node-by-node path handles that)."""
        if _tensor._rewires[0] == self.rewires:
            return True
        if all(n._op is op and n._inputs is ins for n, (op, ins) in zip(self.ops, self.structure)) \
                and not any(leaf._inputs for leaf in self.leaves):
            self.rewires = _tensor._rewires[0]
            return True
        return False

    def forward(self):
        self._forward()
        self._stamp()
        self.bumps = _tensor._bumps[0]

    def backward(self, seeds):
        """Run the compiled backward; False when it cannot (the caller uses the engine instead)."""
        if anomaly.enabled:
            return False
        if self._flags() != self.flags:
            self._build()
        if self._freed():
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        if self.bumps != _tensor._bumps[0]:
            # something was modified in place since the forward: check every saved value, as the
            # node-by-node backward does
            for n in self.visited:
                if n._sv is not None or n._vc is not None or any(i._vc is not None for i in n._inputs):
                    n._check_versions()
        enabled = state.grad_enabled  # (set_grad_enabled(False), without the context manager)
        state.grad_enabled = False
        try:
            self._backward(seeds)
        finally:
            state.grad_enabled = enabled
        return True
