"""Scalar: micrograd's ``Value``, a pure-Python float node on the same engine as Tensor.

Each operation computes its value and, at the same time, the local partial derivatives of its
output with respect to each input (the numbers written on the graph's edges in the lecture's
chain-rule figures). Backward is then the multi-path chain rule in its plainest form: a node's
gradient, times the local partial on each edge, is added to each input's gradient.

    >>> a, b = Scalar(2.0, label='a'), Scalar(-3.0, label='b')
    >>> e = (a * b + a).tanh()
    >>> e.backward()
    >>> round(a.grad, 6), round(b.grad, 6)
    (-0.002682, 0.002682)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

from . import anomaly, engine

# ---------------------------------------------------------------------------------------------
# The Scalar operation table: name -> f(a[, b]) -> (output value, d out/d a, d out/d b).
# The partials are taken at the inputs' current values (d out/d b is 0.0 for one-input ops).
# Operations compute them as they run; Graph.forward re-runs these functions.


def _power(a, b):
    """a ** b as a float tensor computes it (IEEE pow), where Python raises: inf on overflow, +-inf
    for 0 to a negative power, nan for a negative base to a fractional power (Python: complex)."""
    try:
        out = a**b
    except OverflowError:  # |a ** b| too large: the sign is negative only for a < 0 and an odd integer b
        return -math.inf if a < 0 and _odd_integer(b) else math.inf
    except ZeroDivisionError:  # 0 ** negative
        return math.copysign(math.inf, a) if _odd_integer(b) else math.inf
    return math.nan if isinstance(out, complex) else out


def _odd_integer(b):
    return float(b).is_integer() and abs(b) < 2**53 and int(b) % 2 == 1


def _pow(a, b):
    out = _power(a, b)
    # d/da a**b = b a**(b-1);  d/db a**b = a**b log a  (0 where a == 0 and b >= 0, as torch)
    da = b * _power(a, b - 1) if b != 0 else 0.0
    if a > 0:
        db = out * math.log(a)
    elif a == 0:
        db = 0.0 if b >= 0 else out * -math.inf  # (0 ** -b is inf, times log 0 = -inf)
    else:
        db = math.nan
    return out, da, db


def _div(a, b):
    if b == 0:  # as a float tensor divides: +-inf, or nan for 0 / 0 (Python raises ZeroDivisionError)
        out = math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
        return out, math.copysign(math.inf, b), (math.nan if a == 0 or a != a else -out * math.copysign(math.inf, b))
    out = a / b
    return out, 1.0 / b, -out / b


def _exp(a, b=None):
    try:
        out = math.exp(a)
    except OverflowError:  # e ** a beyond the largest float: inf, as a float tensor gives
        out = math.inf
    return out, out, 0.0


def _log(a, b=None):
    if a > 0:
        return math.log(a), 1.0 / a, 0.0
    return (-math.inf if a == 0 else math.nan), (math.inf if a == 0 else 1.0 / a), 0.0


def _tanh(a, b=None):
    t = math.tanh(a)
    return t, 1.0 - t * t, 0.0


def _sigmoid(a, b=None):
    s = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
    return s, s * (1.0 - s), 0.0


def _relu(a, b=None):
    return (a, 1.0, 0.0) if a > 0 else (0.0, 0.0, 0.0)


def _abs(a, b=None):
    return abs(a), (1.0 if a > 0 else (-1.0 if a < 0 else 0.0)), 0.0


def _sqrt(a, b=None):
    if not a >= 0:  # a negative number (or nan): nan, as a float tensor gives (math.sqrt raises)
        return math.nan, math.nan, 0.0
    out = math.sqrt(a)
    return out, ((0.5 / out) if out else math.inf), 0.0


OPS: dict[str, Callable[..., tuple[float, float, float]]] = {
    "+": lambda a, b: (a + b, 1.0, 1.0),
    "-": lambda a, b: (a - b, 1.0, -1.0),
    "*": lambda a, b: (a * b, b, a),
    "/": _div,
    "**": _pow,
    "neg": lambda a, b=None: (-a, -1.0, 0.0),
    "exp": _exp,
    "log": _log,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "abs": _abs,
    "sqrt": _sqrt,
}


def _power_name(c) -> str:
    """The op name of x ** c for a number c: '**2', '**0.5' (micrograd's label)."""
    c = float(c)
    return f"**{int(c)}" if c.is_integer() and abs(c) < 1e15 else f"**{c!r}"


def _op_function(name):
    """The table function of a one-input op; '**c' is x ** c with the constant c in its name."""
    fn = OPS.get(name)
    if fn is None and name.startswith("**"):
        c = float(name[2:])
        return lambda a, b=None: _pow(a, c)[:2] + (0.0,)
    return fn


def _operation(name, fn):
    """The function that applies the op ``name`` (table function ``fn``) to Scalars and records it:
    ``operation(a)`` for an op of one input, ``operation(a, b)`` for two (``b`` may be a number: it
    becomes a constant leaf). The new node holds its value, its inputs and the local partials.

    Scalar's binary operators are these functions themselves (``Scalar.__mul__`` is the '*'
    operation), so that ``a * b`` costs one Python call besides the table function's: a scalar
    graph is made of nothing but these calls. Every other operation reaches them through
    ``Scalar._apply``, which DualScalar overrides."""

    def operation(a, b=None):
        if b is None:
            data, da, db = fn(a.data)
        else:
            if b.__class__ is not Scalar and not isinstance(b, Scalar):
                b = Scalar(b)  # a number: a constant leaf (a subclass instance stays a node)
            data, da, db = fn(a.data, b.data)
        out = _new(Scalar)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._op = name
        out._a = a
        out._b = b
        out._da = da
        out._db = db
        return out

    return operation


_OPERATIONS = {name: _operation(name, fn) for name, fn in OPS.items()}


class Scalar:
    """A float that remembers how it was computed (micrograd's ``Value``).

    ``data`` and ``grad`` are Python floats; ``label`` names it in drawings; ``op`` is the operation
    that made it ('' for a leaf). Mixes with Python numbers, which become constant leaves.
    """

    # One object per node, inputs and local partials in slots (no tuples): a scalar graph is
    # hundreds of thousands of nodes, and Python's cyclic GC pays for every tracked object.
    __slots__ = ("data", "grad", "label", "_op", "_a", "_b", "_da", "_db", "_tangent", "__weakref__")
    # (_tangent is set on DualScalars only, see dual_scalar.py: nothing on the hot path reads it)
    data: float
    grad: float
    label: str
    _op: str
    _a: Scalar | None
    _b: Scalar | None
    _da: float | None  # None once backward has freed the node (no retain_graph)
    _db: float | None
    _tangent: float

    requires_grad = True  # every Scalar takes part in backward, as in micrograd

    def __init__(self, data: Scalar | float, label: str = ""):
        if data.__class__ is not float:  # (a Python float, the common case, needs no checks)
            if isinstance(data, Scalar):
                data = data.data
            if not isinstance(data, Real):
                raise TypeError(f"Scalar holds a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._op = ""
        self._a = self._b = None
        self._da = self._db = 0.0

    @property
    def _inputs(self):
        a = self._a
        if a is None:
            return ()
        b = self._b
        return (a,) if b is None else (a, b)

    # -- operations -----------------------------------------------------------------------------

    def _apply(self, name, other=None):
        """The Scalar ``name(self)``, or ``self name other``, recorded (see _operation)."""
        operation = _OPERATIONS.get(name)
        if operation is None:  # x ** c with the constant c in the op's name
            operation = _operation(name, _op_function(name))
        return operation(self, other)

    def _rapply(self, name, other):
        return Scalar(other)._apply(name, self)

    # the operators of two operands are the table's operations themselves (see _operation)
    __add__ = _OPERATIONS["+"]
    __sub__ = _OPERATIONS["-"]
    __mul__ = _OPERATIONS["*"]
    __truediv__ = _OPERATIONS["/"]

    def __radd__(self, other: Scalar | float) -> Scalar:
        return self._rapply("+", other)

    def __rsub__(self, other: Scalar | float) -> Scalar:
        return self._rapply("-", other)

    def __rmul__(self, other: Scalar | float) -> Scalar:
        return self._rapply("*", other)

    def __rtruediv__(self, other: Scalar | float) -> Scalar:
        return self._rapply("/", other)

    def __pow__(self, other: Scalar | float) -> Scalar:
        """self ** other; a Python number exponent is a constant of the operation, not a node (as
        micrograd's ``**2``), so it gets no gradient of its own."""
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self._apply(_power_name(other))
        return self._apply("**", other)

    def __rpow__(self, other: Scalar | float) -> Scalar:
        return self._rapply("**", other)

    def __neg__(self) -> Scalar:
        return self._apply("neg")

    def exp(self) -> Scalar:
        """e**x; derivative e**x."""
        return self._apply("exp")

    def log(self) -> Scalar:
        """Natural log; derivative 1/x."""
        return self._apply("log")

    def tanh(self) -> Scalar:
        """tanh x; derivative 1 - tanh(x)**2."""
        return self._apply("tanh")

    def sigmoid(self) -> Scalar:
        """1 / (1 + e**-x); derivative s (1 - s)."""
        return self._apply("sigmoid")

    def relu(self) -> Scalar:
        """max(0, x); derivative 1 where x > 0, else 0."""
        return self._apply("relu")

    def abs(self) -> Scalar:
        """|x|; derivative sign(x)."""
        return self._apply("abs")

    def sqrt(self) -> Scalar:
        """x ** 0.5; derivative 1 / (2 sqrt x)."""
        return self._apply("sqrt")

    # -- engine contract ------------------------------------------------------------------------

    @property
    def op(self) -> str:
        """The operation that made this Scalar ('+', '*', 'tanh', ...; '' for a leaf): micrograd's ``_op``."""
        return self._op

    _hooks = ()  # not None: every Scalar keeps its gradient (micrograd shows grad on every node)

    def _backward(self, g, retain_graph, create_graph=False):
        da, db = self._da, self._db
        if da is None:
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        if not retain_graph:
            self._da = self._db = None
        return [g * da] if self._b is None else [g * da, g * db]

    def _accumulate(self, g, store=True):
        if store:
            self.grad += g
        return g

    def _op_name(self):
        return self._op

    def _created_at(self):
        return None

    def _recompute(self):
        """Graph.forward: evaluate this node again from its inputs' current values."""
        # the gradient an earlier backward left here was of the old value: start the next from 0
        # (leaves keep theirs, which the user or the optimizer zeroes, as without a Graph)
        self.grad = 0.0
        b = self._b
        assert self._a is not None  # (only nodes are evaluated again)
        if b is None:
            self.data, self._da, self._db = _op_function(self._op)(self._a.data)
        else:
            self.data, self._da, self._db = OPS[self._op](self._a.data, b.data)

    def _seed_grad(self, gradient):
        """The gradient backward starts from: d(self)/d(self) = 1, or the given number."""
        return 1.0 if gradient is None else float(getattr(gradient, "data", gradient))

    def _feed(self, value, buffer=None):
        """Graph.forward(feeds=...): replace this leaf's value."""
        self.data = float(value.data if isinstance(value, Scalar) else value)

    def backward(self, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every node below this one with d(self)/d(node) (adding to what is there)."""
        backprop((self,), (1.0,), retain_graph=retain_graph)

    def zero_grad(self) -> None:
        """Set ``grad`` to 0.0: gradients accumulate over backward calls, as in micrograd and torch."""
        self.grad = 0.0

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Scalar(data={self.data:.6g}, grad={self.grad:.6g}{label})"


Value = Scalar
_new = object.__new__


_PLACE = object()  # (on _order's stack: "place the node below me")


def _order(roots):
    """engine.toposort for a graph of Scalars: the same depth-first post-order (inputs in argument
    order, ``_a`` before ``_b``), read from the slots rather than through ``_inputs``, which builds
    a tuple for every node (on micrograd's demo the sort was a third of a backward). The stack holds
    nodes to visit and, under the inputs of a node being visited, that node and ``_PLACE``; a node
    is visited once (``seen``), and a leaf placed at once."""
    order: list = []
    seen: set = set()
    mark, place = seen.add, order.append
    stack = list(reversed(roots))
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        if node is _PLACE:
            place(pop())
            continue
        if node in seen:
            continue
        mark(node)
        a = node._a
        if a is None:
            place(node)
            continue
        b = node._b
        if a._a is None:  # a leaf first input (a parameter, a constant): placed now, not pushed
            if a not in seen:
                mark(a)
                place(a)
            if b is None or b in seen:
                place(node)
                continue
            if b._a is None:
                mark(b)
                place(b)
                place(node)
                continue
            push(node)
            push(_PLACE)
            push(b)
            continue
        push(node)
        push(_PLACE)
        if b is not None and b not in seen:
            push(b)
        if a not in seen:
            push(a)
    return order


def backprop(roots, grads, retain_graph=False, order=None):
    """engine.backward for a graph of Scalars, with each node's vector-Jacobian product inline.

    The same walk as the engine's (reverse topological order, each node's gradient complete when it
    is visited, the multi-path sums built up in ``pending``), specialised to what every Scalar is: a
    node with at most two inputs ``_a``, ``_b`` and the local partial derivatives ``_da``, ``_db``
    on its edges, so its VJP is the gradient times the partial on each edge. Inlined, that is about
    twice as fast as the engine's general calls (a scalar graph is nothing but such nodes), with the
    same results (tests/autograd/test_scalar.py compares the two). Under detect_anomaly() the
    engine's checked walk runs instead. ``order``: the graph in topological order, when known.
    """
    if anomaly.enabled:
        engine.backward(roots, grads, retain_graph=retain_graph, order=order)
        return
    pending: dict[Scalar, float] = {}
    for root, g in zip(roots, grads):
        pending[root] = g + pending.get(root, 0.0)
    if order is None:
        order = _order(roots)
    pop, get = pending.pop, pending.get
    for node in reversed(order):
        g = pop(node, None)
        if g is None:
            continue  # no gradient reaches it
        node.grad += g
        a = node._a
        if a is None:
            continue  # a leaf
        da = node._da
        if da is None:
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        pending[a] = g * da + get(a, 0.0)
        b = node._b
        if b is not None:
            pending[b] = g * node._db + get(b, 0.0)
        if not retain_graph:
            node._da = node._db = None
