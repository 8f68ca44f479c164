"""ag.Graph's compiled replay: a captured Tensor graph's forward and backward as straight-line Python.

Re-running a graph node by node (``_recompute`` on each node, then the engine's reverse walk with
its dictionary of pending gradients) repeats, every step, decisions that never change once the
graph is captured: which rule runs for which input, which gradients are summed where, which nodes
are leaves. A plan makes those decisions once and writes them out as two Python functions, one
line per operation and one derivative rule (``r_<op>_<input>``) per edge, which ``exec`` turns into
code (torch.fx does the same):

    def forward():
        linear_3.data = f_linear(data_0.data, param_1.data, param_2.data)
        relu_4.data = f_relu(linear_3.data)
        ...

    def backward(seeds):
        d_sum_9 = seeds[0]
        ...
        # relu_4 = relu(linear_3)
        if relu_4._hooks is not None: d_relu_4 = relu_4._accumulate(d_relu_4, True)
        d_linear_3 = r_relu_0(d_relu_4, relu_4.data, linear_3.data)
        del d_relu_4
        ...

The pending gradients are local variables, each freed (``del``) once passed on, and a gradient
reaching a node along several paths is summed where the second path arrives (the multi-path chain
rule, resolved when the plan is built). ``Graph.code`` shows the source, with the checks ``backward``
makes. What the two paths share they take from one place: fitting a gradient to its input
(``fit``), handing a leaf an array it may keep (``own``, then the leaf's ``_accumulate``), and the
bookkeeping after a forward (``versions.stamp``, run on every node after the compiled forward).

The plan also knows which gradients no one else holds: one made by a rule that always returns a new
array (``kernels.FRESH``: linear's ``g W``), or a sum of two paths. A third path is added into such a
sum in place, and a ReLU after a linear layer masks that gradient in place (``kernels.IN_PLACE``), as
a hand-written backward does, unless its node has hooks (a hook is shown the array and may keep it)
or the gradient goes on to a leaf:

        d_linear_7 = r_relu_0_in_place(d_relu_8, relu_8.data, linear_7.data) if relu_8._hooks is None else r_relu_0(...)

Large graphs are written in pieces. One function for the whole graph does not scale: compiling a
function costs time and memory that grow faster than its length (the compiler holds its whole
syntax tree, symbol table and control-flow graph at once: 3.5 GB and 16 s for a 10^5-node chain),
and the compiled code of a line per node and edge is larger than the graph itself. A graph of more
than ``PIECE_LINES`` nodes is therefore written as pieces of at most about ``PIECE_LINES`` lines
each, run in turn. A piece names its nodes by local variables, unpacked from the tuple of objects
it is called with and named in the order the piece first mentions them, so that two pieces of the
same shape (the layers of a deep network, the steps of a long chain) are the same text: each
distinct piece is compiled once, and the plan holds one tuple of objects a piece. Backward's
pieces hand on the gradients still pending at a piece's end in a dictionary keyed by node, which
the piece that next adds to a gradient or passes it on takes it from:

    def backward_1(seeds, pending, objs):
        (mul_scalar_0, tanh_1, p_mul_scalar_0, add_scalar_2, mul_scalar_3, p_add_scalar_2, ...
         ...) = objs
        d_mul_scalar_0 = pending.pop(mul_scalar_0)
        # mul_scalar_0 = mul_scalar(tanh_1)
        if mul_scalar_0._hooks is not None: d_mul_scalar_0 = mul_scalar_0._accumulate(d_mul_scalar_0, True)
        d_tanh_1 = r_mul_scalar_0(d_mul_scalar_0, mul_scalar_0.data, tanh_1.data, **p_mul_scalar_0)
        del d_mul_scalar_0
        ...
        pending[mul_scalar_63] = d_mul_scalar_63

Every line of that traffic belongs to a line that touched the gradient, so the code stays linear
in the size of the graph whatever its shape. Building, running and holding a plan are thus linear
in the graph's size; the source of a plan in pieces is not kept but written again by ``Graph.code``
(each distinct piece once).

A plan only covers what it can replay exactly: graphs of Tensors whose operations are entries of
the op table. Graphs with Scalars or ag.Function nodes, backward under detect_anomaly(), and a
graph whose structure an in-place operation changed fall back to the node-by-node path, which gives
the same results. The plan keeps the checks of that path: a value saved for backward and modified
in place since the forward raises (tested cheaply: no in-place modification anywhere since the
forward means nothing to check), a graph freed by a non-retaining backward raises, hooks and
retain_grad() registered after the capture run, and changed requires_grad flags rebuild the plan.
"""

from __future__ import annotations

import hashlib
from operator import attrgetter
from typing import Any

import numpy as np

from . import anomaly, engine, versions
from .grad_mode import state
from .ops.kernels import FRESH, IN_PLACE
from .tensor import BINARY_OPS, Tensor, binary_dtype, binary_operands, fit, own

# A graph of more nodes than this is written in pieces of at most about this many lines. Compile
# time per line is flat up to a few thousand lines, and the compiler's transient memory (about 30 KB
# a line) is what this bounds: under 10 MB a piece. Shorter is better as long as a piece's fixed
# costs (a call, the unpacking of its objects) stay small against its lines: whatever asks the line
# number of a running frame scans its code from the start (tracemalloc does, for every allocation).
PIECE_LINES = 250

_requires_grad = attrgetter("requires_grad")
_freed = attrgetter("_freed")


def _needs_cast(op, x, y):
    """Whether binary() cast the operands of ``op`` (different dtypes, or integers divided)."""
    x, y = x.data, y.data
    return x.dtype != y.dtype or binary_dtype(op, x, y) != x.dtype


def _bind(ns, name, obj):
    """A global name of the generated code for ``obj``: ``name``, or ``name`` with a suffix when
    ``name`` already means something else (an op named like one of our prefixes)."""
    candidate, k = name, 0
    while candidate in ns and ns[candidate] is not obj:
        k += 1
        candidate = f"{name}_{k}"
    ns[candidate] = obj
    return candidate


class _Code:
    """Compiles generated functions into the namespace ``ns``, each distinct piece once.

    With ``run=False`` nothing is compiled: the sources are only collected (Graph.code of a plan
    too large to keep its source).
    """

    def __init__(self, ns, run=True):
        self.ns, self.run = ns, run
        self.sources = []  # the source of every function (whole) or of every distinct piece
        self.distinct = {}  # (name, digest of a piece's text) -> its function
        self.counts = {}  # name -> how many distinct pieces it has

    def function(self, name, params, lines):
        """``def name(params): lines``, compiled; the function."""
        source = f"def {name}({params}):\n{_body(lines)}"
        self.sources.append(source)
        return self._compile(source, name)

    def piece(self, name, params, lines):
        """The function of one piece of ``name``: the same function for every piece of the same
        text (named ``name_<k>`` by order of first appearance)."""
        body = _body(lines)
        # keyed by a digest, not the text: for a graph whose pieces all differ, holding every
        # text until the plan is built would cost as much memory as the whole source
        key = (name, hashlib.blake2b(body.encode(), digest_size=16).digest())
        function = self.distinct.get(key)
        if function is None and key not in self.distinct:
            k = self.counts.get(name, 0)
            self.counts[name] = k + 1
            source = f"def {name}_{k}({params}):\n{body}"
            self.sources.append(source)
            function = self.distinct[key] = self._compile(source, f"{name}_{k}")
        return function

    def _compile(self, source, name):
        if not self.run:
            return None
        exec(compile(source, "<ag.Graph plan>", "exec"), self.ns)
        return self.ns[name]


def _body(lines):
    return "\n".join(f"    {line}" for line in lines) if lines else "    pass"


class _Writer:
    """Writes one generated function of a plan: whole, or in pieces.

    Whole (a small graph): one function ``name(params)`` whose code names each node by a global of
    the plan's namespace (``relu_5``: its operation and its index in the graph). In pieces (a large
    graph): functions ``name_<k>(piece_params, objs)`` of at most about PIECE_LINES lines that name
    the nodes (and the keyword arguments of their operations) by locals unpacked from ``objs``
    (``relu_0``: the operation and the order in which the piece first mentions the node).
    ``node(n)`` and ``params(n)`` give those names, ``add(line)`` appends a line, ``full()`` says that
    the next group of lines should go into a new piece, ``close_piece()`` ends the current piece,
    and ``finish()`` returns the function (whole) or the list of (piece function, objs).
    """

    def __init__(self, code, name, params, whole, names, label, piece_params=""):
        self.code, self.name, self.signature, self.whole = code, name, params, whole
        self.names, self.label = names, label  # (whole) node -> global name; node -> "relu", "param"...
        self.piece_params = f"{piece_params}, objs" if piece_params else "objs"
        self.lines: list[str] = []
        self.add = self.lines.append  # append a line (to the current piece)
        # node -> its name: the global names (whole), or the locals of the current piece
        self.local = names if whole else {}
        self.local_params = {}  # id(an operation's keyword arguments) -> its local name
        self.objs, self.obj_names = [], []  # the objects of the current piece and their names
        self.pieces = []

    def node(self, n):
        name = self.local.get(n)
        if name is None:  # (in pieces only: every node has a global name)
            name = self.local[n] = f"{self.label(n)}_{len(self.local)}"
            self.objs.append(n)
            self.obj_names.append(name)
        return name

    def params(self, n):
        """The name of the dict of keyword arguments that node ``n``'s operation was called with."""
        if self.whole:
            return _bind(self.code.ns, f"p_{self.names[n]}", n._params)
        name = self.local_params.get(id(n._params))
        if name is None:
            name = self.local_params[id(n._params)] = f"p_{self.node(n)}"
            self.objs.append(n._params)
            self.obj_names.append(name)
        return name

    def full(self):
        return not self.whole and len(self.lines) >= PIECE_LINES

    def close_piece(self):
        unpack = []
        if self.obj_names:  # "(a, b, ...) = objs", wrapped
            rows = [", ".join(self.obj_names[k : k + 8]) for k in range(0, len(self.obj_names), 8)]
            unpack = ["(" + ",\n     ".join(rows) + ("," if len(self.obj_names) == 1 else "") + ") = objs"]
        function = self.code.piece(self.name, self.piece_params, unpack + self.lines)
        self.pieces.append((function, tuple(self.objs)))
        self.lines.clear()
        self.local, self.local_params, self.objs, self.obj_names = {}, {}, [], []

    def finish(self):
        if self.whole:
            return self.code.function(self.name, self.signature, self.lines)
        if self.lines or not self.pieces:
            self.close_piece()
        return self.pieces


class Plan:
    """The compiled forward and backward of the Tensor graph ``nodes`` (topologically sorted)."""

    @staticmethod
    def build(nodes, outputs):
        """A Plan for the graph, or None when it has nodes a plan does not cover (see the module doc)."""
        members = set(nodes)
        for n in nodes:
            if not isinstance(n, Tensor) or (n._inputs and n._op is not None and n._op.vjp_all is not None):
                return None
            if any(i not in members for i in n._inputs):
                return None  # rewired in place since the graph was captured
        return Plan(nodes, outputs)

    def __init__(self, nodes, outputs):
        self.nodes = nodes
        self.outputs = outputs
        self.ops = [n for n in nodes if n._inputs]
        self.leaves = [n for n in nodes if not n._inputs]
        # the structure at capture, as two flat lists (a tuple per node would cost 64 bytes more a node)
        self.op_kinds = [n._op for n in self.ops]
        self.op_inputs = [n._inputs for n in self.ops]
        self.rewires = versions.REWIRES[0]
        self.bumps = None  # BUMPS after the last forward (None: no forward since the plan was built)
        self._build()

    @staticmethod
    def _namespace():
        return {"asarray": np.asarray, "fit": fit, "own": own, "cast": binary_operands}

    def _build(self):
        """Generate and compile the functions for the current requires_grad flags."""
        self.flags = tuple(leaf.requires_grad for leaf in self.leaves)
        self.grad_order = [n for n in self.nodes if n.requires_grad]
        self.whole = len(self.nodes) <= PIECE_LINES
        code = _Code(self._namespace())
        forward, backward, flags, freed = self._generate(code)
        if self.whole:
            self.pieces = None
            self._source: str | None = "\n\n\n".join(code.sources)
            self._forward, self._backward, self._flags, self._freed = forward, backward, flags, freed
            return
        self._source = None  # Graph.code writes it again (as large as the graph for a graph without repeats)
        self.pieces = {"forward": forward, "backward": backward}  # [(function, objs)] each
        self._forward = _in_turn(forward)
        self._backward = _backward_in_turn(backward)
        leaves, visited = self.leaves, self.visited
        self._flags = lambda: tuple(map(_requires_grad, leaves))
        self._freed = lambda: any(map(_freed, visited))

    @property
    def source(self):
        """The generated Python source; for a plan in pieces, each distinct piece once and how they run."""
        if self._source is not None:
            return self._source
        code = _Code(self._namespace(), run=False)
        forward, backward, _, _ = self._generate(code)
        runs = []
        for name, pieces, args in (("forward", forward, ""), ("backward", backward, "seeds, pending, ")):
            runs.append(
                f"# {name}() runs {len(pieces)} pieces in turn, each {name}_<k>({args}objs) with the "
                f"objects of that piece ({code.counts[name]} distinct pieces above)"
            )
        runs.append("# flags() and freed() read the leaves' requires_grad and the operations' _freed in one pass")
        return "\n\n\n".join(code.sources) + "\n\n\n" + "\n".join(runs)

    # -- code generation ---------------------------------------------------------------------------

    def _generate(self, code):
        """Write (and compile, into ``code``) every function of the plan: forward and backward (each a
        function, or a list of pieces), flags and freed (None in pieces). Depends only on the graph
        and on ``grad_order`` (the flags when the plan was built), so writing it again gives the
        same code."""
        grad_set = set(self.grad_order)

        def label(n):  # parameters (leaves that require grad), data, operations
            return n._op.name if n._inputs else "param" if n in grad_set else "data"

        names: dict[Any, str] = {}  # (only a whole plan names its nodes)
        if self.whole:
            names = {n: _bind(code.ns, f"{label(n)}_{i}", n) for i, n in enumerate(self.nodes)}

        def writer(name, params, piece_params=""):
            return _Writer(code, name, params, self.whole, names, label, piece_params)

        forward = self._write_forward(writer("forward", ""), code.ns)
        backward = self._write_backward(writer("backward", "seeds", "seeds, pending"), code.ns, grad_set)
        # backward checks the requires_grad flags and freed nodes, as the node-by-node path does
        if not self.whole:
            return forward, backward, None, None
        leaves = ", ".join(f"{names[leaf]}.requires_grad" for leaf in self.leaves)
        flags = code.function("flags", "", [f"return ({leaves},)"])
        freed = " or ".join(f"{names[n]}._freed" for n in self.visited)
        freed = code.function("freed", "", [f"return {freed or 'False'}"])
        return forward, backward, flags, freed

    def _write_forward(self, w, ns):
        functions = {}  # op -> the global name of its forward function
        for n in self.ops:
            if w.full():
                w.close_piece()
            op = n._op
            if op not in functions:
                functions[op] = _bind(ns, f"f_{op.name}", op.forward)
            if op.variadic:  # (any number of inputs: read from the node, not named one by one)
                args = [f"*[i.data for i in {w.node(n)}._inputs]"]
            else:
                args = [f"{w.node(i)}.data" for i in n._inputs]  # (named before the output: inputs come first)
            if op in BINARY_OPS and _needs_cast(op, *n._inputs):
                # the operands are cast as _binary casts them, from their current values (whether
                # one is 0-d matters to the promotion)
                args = [f"*cast({_bind(ns, f'op_{op.name}', op)}, {args[0]}, {args[1]})"]
            if n._params:
                args.append(f"**{w.params(n)}")
            call = f"{functions[op]}({', '.join(args)})"
            if n.data.ndim == 0:  # numpy reductions return numpy scalars, not arrays
                call = f"asarray({call})"
            w.add(f"{w.node(n)}.data = {call}")
        return w.finish()

    def _write_backward(self, w, ns, grad_set):
        has_grad = set()  # nodes whose pending gradient exists at this point of the walk
        private = set()  # nodes whose pending gradient is an array that no other name holds (see kernels.FRESH)
        held: dict[Any, None] = {}  # the nodes whose pending gradient is a local of the current piece (ordered)
        handed_on = set()  # the nodes whose pending gradient waits in ``pending`` for a later piece
        self.visited = []  # the operations whose backward runs (those some gradient reaches)
        rules = {}  # (op, input position) -> the global name of its derivative rule

        def grad(n, name):
            """The local variable of node ``n``'s pending gradient in this piece (taken out of
            ``pending`` where an earlier piece handed it on)."""
            d = f"d_{name}"
            if n in handed_on:
                handed_on.discard(n)
                w.add(f"{d} = pending.pop({name})")
            held[n] = None
            return d

        def give(n, name, value, new_array=False):
            """Pass ``value`` on to ``n``'s pending gradient (the sum where a second path arrives).
            ``new_array``: ``value`` is always an array of its own (a FRESH rule's result)."""
            if n in has_grad:
                d = grad(n, name)
                if n in private:  # an array of its own, of the input's shape and dtype (as value): add in place
                    w.add(f"{d} += {value}")
                else:
                    w.add(f"{d} = {d} + {value}")
                    private.add(n)  # (a sum is a new array)
            else:
                w.add(f"d_{name} = {value}")
                held[n] = None
                has_grad.add(n)
                if new_array:
                    private.add(n)

        def done(n, d):
            w.add(f"del {d}")
            del held[n]

        def boundary():
            if w.full():  # hand what is still pending on to the next pieces
                for n in held:
                    name = w.node(n)
                    w.add(f"pending[{name}] = d_{name}")
                handed_on.update(held)
                held.clear()
                w.close_piece()

        for k, out in enumerate(self.outputs):
            if out in grad_set:
                boundary()
                give(out, w.node(out), f"seeds[{k}]")
        for n in reversed(self.grad_order):
            if n not in has_grad:
                continue  # no gradient reaches it (as the engine skips a node with none pending)
            boundary()
            name = w.node(n)
            d = grad(n, name)
            if not n._inputs:  # a leaf: hooks, and .grad (which keeps the array it is handed: see own())
                w.add(f"{name}._accumulate({d}, True)")
                done(n, d)
                continue
            op = n._op
            self.visited.append(n)
            shown = [w.node(i) for i in n._inputs[:8]] + (["..."] if len(n._inputs) > 8 else [])
            w.add(f"# {name} = {op.name}({', '.join(shown)})")
            w.add(f"if {name}._hooks is not None: {d} = {name}._accumulate({d}, True)")
            params = f", **{w.params(n)}" if n._params else ""
            if op.variadic:  # one rule gives every input's gradient: call it once, hand out its results
                if op not in rules:
                    rules[op] = _bind(ns, f"r_{op.name}", op.vjps[0])
                w.add(f"g_{name} = {rules[op]}({d}, {name}.data, *[i.data for i in {name}._inputs]{params})")
                for j, inp in enumerate(n._inputs):
                    if inp in grad_set:
                        input_name = w.node(inp)
                        give(inp, input_name, f"fit(g_{name}[{j}], {input_name}.data)")
                w.add(f"del g_{name}")
                done(n, d)
                continue
            inputs = [w.node(i) for i in n._inputs]
            args = ", ".join(f"{i}.data" for i in inputs)
            called = [
                j for j, (inp, rule) in enumerate(zip(n._inputs, op.vjps)) if rule is not None and inp in grad_set
            ]
            for j, (inp, input_name, rule) in enumerate(zip(n._inputs, inputs, op.vjps)):
                if rule is None or inp not in grad_set:
                    continue
                if (op, j) not in rules:
                    rules[op, j] = _bind(ns, f"r_{op.name}_{j}", rule)
                call = f"{rules[op, j]}({d}, {name}.data, {args}{params})"
                if (op, j) in IN_PLACE and n in private and j == called[-1] and inp._inputs:
                    # the last rule to read a gradient no one else holds may write into it, unless a
                    # hook was shown it (not for a leaf's gradient either, which would be copied: own())
                    if (op, j, "in place") not in rules:
                        rules[op, j, "in place"] = _bind(ns, f"r_{op.name}_{j}_in_place", IN_PLACE[op, j])
                    call = (
                        f"{rules[op, j, 'in place']}({d}, {name}.data, {args}{params}) if {name}._hooks is None "
                        f"else {call}"
                    )
                if not op.keeps_shape:  # fit: a broadcast gradient reduced to the input's shape, cast to its dtype
                    call = f"fit({call}, {input_name}.data)"
                if not inp._inputs:  # a leaf keeps what it is handed: not the array given to a sibling too
                    call = f"own({call}, {d})"
                give(inp, input_name, call, new_array=(op, j) in FRESH)
            done(n, d)
        return w.finish()

    # -- running -----------------------------------------------------------------------------------

    def usable(self):
        """False once an in-place operation has rewired one of the graph's nodes or leaves (its
        structure changed: the node-by-node path handles that)."""
        if versions.REWIRES[0] == self.rewires:
            return True
        if all(
            n._op is op and n._inputs is ins for n, op, ins in zip(self.ops, self.op_kinds, self.op_inputs)
        ) and not any(leaf._inputs for leaf in self.leaves):
            self.rewires = versions.REWIRES[0]
            return True
        return False

    def forward(self):
        self._forward()
        # the bookkeeping of the node-by-node path: after a forward each node is not freed and
        # records the versions of the values it read (so that an in-place modification before a
        # later backward is detected)
        stamp = versions.stamp
        for n in self.ops:
            stamp(n)
        self.bumps = versions.BUMPS[0]

    def backward(self, seeds):
        """Run the compiled backward; False when it cannot (the caller uses the engine instead)."""
        if anomaly.enabled:
            return False
        if self._flags() != self.flags:
            self._build()
        if self._freed():
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        if self.bumps != versions.BUMPS[0]:
            # something was modified in place since the forward: check every saved value, as the
            # node-by-node backward does
            for n in self.visited:
                if (
                    n._saved_versions is not None
                    or n._counter is not None
                    or any(i._counter is not None for i in n._inputs)
                ):
                    n._check_versions()
        enabled = state.grad_enabled  # (set_grad_enabled(False), without the context manager)
        state.grad_enabled = False
        try:
            self._backward(seeds)
        finally:
            state.grad_enabled = enabled
        return True


def _in_turn(pieces):
    """forward() of a plan in pieces: each piece's function on its own objects."""

    def run():
        for function, objs in pieces:
            function(objs)

    return run


def _backward_in_turn(pieces):
    """backward(seeds) of a plan in pieces; ``pending`` carries gradients from piece to piece."""

    def run(seeds):
        pending: dict[Any, Any] = {}
        for function, objs in pieces:
            function(seeds, pending, objs)

    return run
