"""Scalar: micrograd's ``Value``, a pure-Python float node on the same engine as Tensor.

Each operation computes its value and, at the same time, the local partial derivatives of its
output with respect to each input (the numbers written on the graph's edges in the lecture's
chain-rule figures). Backward is then the multi-path chain rule in its plainest form: a node's
gradient, times the local partial on each edge, is added to each input's gradient.

    >>> a, b = Scalar(2.0, label='a'), Scalar(-3.0, label='b')
    >>> e = (a * b + a).tanh()
    >>> e.backward()
    >>> round(a.grad, 6), round(b.grad, 6)
    (-0.007065, 0.002355)
"""
from __future__ import annotations

import math
from numbers import Real

from . import engine

# ---------------------------------------------------------------------------------------------
# The Scalar operation table: name -> f(*input values) -> (output value, local partials).
# Each partial is d(output)/d(input_i) at the inputs' current values. Graph.forward re-runs these.


def _pow_partials(a, b, out):
    # d/da a**b = b a**(b-1);  d/db a**b = a**b log a  (0 where a == 0 and b >= 0, as torch)
    da = b * a ** (b - 1) if b != 0 else 0.0
    if a > 0:
        db = out * math.log(a)
    elif a == 0 and b >= 0:
        db = 0.0
    else:
        db = math.nan
    return da, db


def _sigmoid(a):
    s = 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))
    return s, (s * (1.0 - s),)


def _pow(a, b):
    out = a ** b
    if isinstance(out, complex):
        out = math.nan
    return out, _pow_partials(a, b, out)


def _div(a, b):
    out = a / b
    return out, (1.0 / b, -out / b)


def _tanh(a):
    t = math.tanh(a)
    return t, (1.0 - t * t,)


def _exp(a):
    out = math.exp(a)
    return out, (out,)


def _sqrt(a):
    out = math.sqrt(a)
    return out, ((0.5 / out) if out else math.inf,)


OPS = {
    "+": lambda a, b: (a + b, (1.0, 1.0)),
    "-": lambda a, b: (a - b, (1.0, -1.0)),
    "*": lambda a, b: (a * b, (b, a)),
    "/": _div,
    "**": _pow,
    "neg": lambda a: (-a, (-1.0,)),
    "exp": _exp,
    "log": lambda a: (math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan), (1.0 / a if a else math.inf,)),
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "relu": lambda a: ((a, (1.0,)) if a > 0 else (0.0, (0.0,))),
    "abs": lambda a: (abs(a), (1.0 if a > 0 else (-1.0 if a < 0 else 0.0),)),
    "sqrt": _sqrt,
}


class Scalar:
    """A float that remembers how it was computed (micrograd's ``Value``).

    ``data`` and ``grad`` are Python floats; ``label`` names it in drawings; ``op`` is the operation
    that made it ('' for a leaf). Mixes with Python numbers, which become constant leaves.
    """

    __slots__ = ("data", "grad", "label", "_inputs", "_op", "_local", "__weakref__")

    requires_grad = True  # every Scalar takes part in backward, as in micrograd

    def __init__(self, data, label: str = "", _inputs=(), _op: str = ""):
        if isinstance(data, Scalar):
            data = data.data
        if not isinstance(data, Real):
            raise TypeError(f"Scalar holds a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._inputs = _inputs
        self._op = _op
        self._local = ()

    # -- operations -----------------------------------------------------------------------------

    def _apply(self, name, other=None):
        if other is None:
            inputs = (self,)
            data, local = OPS[name](self.data)
        else:
            if other.__class__ is not Scalar:
                other = Scalar(other)
            inputs = (self, other)
            data, local = OPS[name](self.data, other.data)
        out = Scalar.__new__(Scalar)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._inputs = inputs
        out._op = name
        out._local = local
        return out

    def _rapply(self, name, other):
        return Scalar(other)._apply(name, self)

    def __add__(self, other):
        return self._apply("+", other)

    def __radd__(self, other):
        return self._rapply("+", other)

    def __sub__(self, other):
        return self._apply("-", other)

    def __rsub__(self, other):
        return self._rapply("-", other)

    def __mul__(self, other):
        return self._apply("*", other)

    def __rmul__(self, other):
        return self._rapply("*", other)

    def __truediv__(self, other):
        return self._apply("/", other)

    def __rtruediv__(self, other):
        return self._rapply("/", other)

    def __pow__(self, other):
        return self._apply("**", other)

    def __rpow__(self, other):
        return self._rapply("**", other)

    def __neg__(self):
        return self._apply("neg")

    def exp(self):
        """e**x; derivative e**x."""
        return self._apply("exp")

    def log(self):
        """Natural log; derivative 1/x."""
        return self._apply("log")

    def tanh(self):
        """tanh x; derivative 1 - tanh(x)**2."""
        return self._apply("tanh")

    def sigmoid(self):
        """1 / (1 + e**-x); derivative s (1 - s)."""
        return self._apply("sigmoid")

    def relu(self):
        """max(0, x); derivative 1 where x > 0, else 0."""
        return self._apply("relu")

    def abs(self):
        """|x|; derivative sign(x)."""
        return self._apply("abs")

    def sqrt(self):
        """x ** 0.5; derivative 1 / (2 sqrt x)."""
        return self._apply("sqrt")

    # -- engine contract ------------------------------------------------------------------------

    @property
    def op(self) -> str:
        return self._op

    _retain = True  # every Scalar keeps its gradient (micrograd shows grad on every node)
    _hooks = None

    def _backward(self, g, retain_graph):
        local = self._local
        if local is None:
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        if not retain_graph:
            self._local = None
        return [g * d for d in local]

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
        self.data, self._local = OPS[self._op](*[i.data for i in self._inputs])

    def _seed_grad(self, gradient):
        """The gradient backward starts from: d(self)/d(self) = 1, or the given number."""
        return 1.0 if gradient is None else float(getattr(gradient, "data", gradient))

    def _feed(self, value):
        """Graph.forward(feeds=...): replace this leaf's value."""
        self.data = float(value.data if isinstance(value, Scalar) else value)

    def backward(self, retain_graph: bool = False):
        """Fill ``.grad`` of every node below this one with d(self)/d(node) (adding to what is there)."""
        engine.backward((self,), (1.0,), retain_graph=retain_graph)

    def zero_grad(self):
        self.grad = 0.0

    def __float__(self):
        return self.data

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Scalar(data={self.data:.6g}, grad={self.grad:.6g}{label})"


Value = Scalar
