"""THE derivative table: every Tensor operation, once, with its forward, its VJP rules and its JVP rule.

An entry is ``defop(name, forward, *rules, jvp=...)``:

    forward(*arrays, **params) -> ndarray            the operation on numpy arrays
    rule_i(g, out, *inputs, **params) -> gradient    d(loss)/d(input_i), given g = d(loss)/d(out)
    jvp(tangents, out, *inputs, **params) -> tangent the tangent of out (forward mode), given the
                                                     tangents of the inputs (None where an input has none)

one VJP rule per tensor input (None for an input that gets no gradient, such as an index). The JVP
rule is the other side of the same derivative: sum_i J_i t_i where the VJP rule computes g J_i.
Where it follows from what the operation is, ``jvp`` names the form instead of a function:
``LINEAR`` (the operation is linear in its differentiable inputs: its JVP is the operation applied
to the tangents), ``ELEMENTWISE`` (each output element depends on the same element of each
broadcast input: the Jacobians are diagonal, so the JVP is the sum of the VJP rules applied to the
tangents; the default of one-input elementwise entries) or ``REDUCTION`` (a reduction over
``axis``: each output element depends on its slice only, so the JVP is the sum over the slice of
the tangent times d out/d x, which the VJP rule gives for g = 1). A rule is
written once and runs on two kinds of values: on ndarrays in an ordinary backward (fast, nothing
recorded), and on Tensors under ``create_graph=True``, where the backward is itself recorded and
can be differentiated again. So a rule may only use arithmetic operators, the methods that
ndarrays and Tensors share (sum, mean, reshape, transpose, swapaxes, astype-free indexing...) and
the functions of :mod:`autograd.ops.fn`, which dispatch on the argument's type.

A rule may return a gradient of the broadcast shape of the output: the gradient is reduced to the
input's shape in one place (:func:`autograd.broadcast.unbroadcast`), not in the rules.

Forward mode (autograd/forward_ad.py) runs the JVP rules on the same two kinds of values. The
groups live in elementwise.py, activation.py, reduce.py, linalg.py, shape.py, index.py, inplace.py,
layers.py and loss.py.
"""

from __future__ import annotations

import dis

import numpy as np

from . import fn

OPS: dict = {}


class Op:
    """One operation of the table (see the module docstring)."""

    __slots__ = (
        "name",
        "forward",
        "vjps",
        "jvp",
        "jvp_form",
        "batch",
        "doc",
        "reads",
        "differentiable",
        "vjp_all",
        "keeps_shape",
        "variadic",
    )

    def __init__(self, name, forward, vjps, doc, vjp_all=None, keeps_shape=False, variadic=False, jvp=None):
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.doc = doc
        # vjp_all(node, g) -> gradients of all inputs at once: for ag.Function, whose user-written
        # backward computes them together; table entries use one rule per input instead.
        self.vjp_all = vjp_all
        # one input, and its gradient always has that input's shape and dtype (elementwise unary
        # ops and arithmetic with a Python number): backward then skips the shape/dtype checks
        self.keeps_shape = keeps_shape
        # any number of inputs (cat, stack): ``vjps`` is one rule returning the gradients of all the
        # inputs at once, so that backward costs one pass over the inputs, not one per input
        self.variadic = variadic
        self.differentiable = vjp_all is not None or any(rule is not None for rule in vjps)
        # jvp(tangents, out, *inputs, **params): the tangent of the output (see _jvp_rule)
        self.jvp = _jvp_rule(self, jvp) if self.differentiable else None
        self.jvp_form = jvp if isinstance(jvp, str) else None
        # the batching rule under vmap (see autograd/vmap.py); None: the one vmap derives from the
        # op's form (elementwise ops, reductions) or, for an op without one, a loop over the batch
        self.batch = None
        # Which values the rules read: 'out' and/or input positions. Only those are checked
        # against in-place modification (version counters) when backward runs.
        self.reads = _reads(vjps)

    def __repr__(self):
        return f"<op {self.name}>"


LINEAR = "linear"
ELEMENTWISE = "elementwise"
REDUCTION = "reduction"


def defop(
    name: str,
    forward,
    *vjps,
    jvp=None,
    doc: str | None = None,
    keeps_shape: bool = False,
    half_in_float32: bool = False,
    variadic: bool = False,
) -> Op:
    """Add an operation to the table and return it (see Op for ``keeps_shape`` and ``variadic``).

    ``jvp``: the JVP rule, a function or ``LINEAR`` / ``ELEMENTWISE`` (see the module docstring);
    a one-input elementwise entry (``keeps_shape``) defaults to ``ELEMENTWISE``.

    ``half_in_float32``: a reduction, which on a float16 first input computes in float32 and gives
    a float16 result, as torch accumulates (a float16 sum of squares overflows at 65504, and a
    count n > 65504 is inf in float16). Its rules then also run in float32; the engine casts the
    gradients back to float16 (each gradient takes its input's dtype)."""
    if name in OPS:
        raise ValueError(f"operation {name!r} is defined twice")
    if keeps_shape and len(vjps) != 1:
        raise ValueError(f"operation {name!r}: keeps_shape is for one-input operations")
    if variadic and len(vjps) != 1:
        raise ValueError(f"operation {name!r}: a variadic operation has one rule, for all its inputs")
    if jvp is None and keeps_shape:
        jvp = ELEMENTWISE
    op = Op(name, forward, tuple(vjps), doc or "", keeps_shape=keeps_shape, variadic=variadic, jvp=jvp)
    if half_in_float32:  # after Op() has read which values the rules use
        op.forward = _half_in_float32_forward(forward)
        op.vjps = tuple(None if rule is None else _half_in_float32_rule(rule) for rule in vjps)
        if callable(jvp):
            op.jvp = _half_in_float32_jvp(jvp)
    OPS[name] = op
    return op


_HALF = np.dtype(np.float16)


def _half_in_float32_forward(forward):
    def run(x, *rest, **params):
        if x.dtype == _HALF:
            return np.asarray(forward(x.astype(np.float32), *rest, **params)).astype(_HALF)
        return forward(x, *rest, **params)

    run.__name__ = run.__qualname__ = forward.__name__
    run.__doc__ = forward.__doc__
    return run


def _half_in_float32_rule(rule):
    def run(g, out, x, *rest, **params):
        if x.dtype == _HALF:
            return rule(fn.to_float32(g), fn.to_float32(out), fn.to_float32(x), *rest, **params)
        return rule(g, out, x, *rest, **params)

    run.__name__ = run.__qualname__ = getattr(rule, "__name__", "rule")
    return run


def _half_in_float32_jvp(jvp):
    def run(tangents, out, x, *rest, **params):
        if x.dtype == _HALF:
            tangents = [None if t is None else fn.to_float32(t) for t in tangents]
            return jvp(tangents, fn.to_float32(out), fn.to_float32(x), *rest, **params)
        return jvp(tangents, out, x, *rest, **params)

    return run


# -- the forms of a JVP rule ----------------------------------------------------------------------


def _jvp_rule(op, jvp):
    """The JVP rule of ``op`` as a function: ``jvp`` itself, or the function of its form (None:
    the entry has none yet; forward mode then refuses the operation, naming it)."""
    if jvp is None or callable(jvp):
        return jvp
    if jvp == LINEAR:
        return _linear_jvp(op)
    if jvp == ELEMENTWISE:
        return _elementwise_jvp(op)
    if jvp == REDUCTION:
        return _reduction_jvp(op)
    raise ValueError(f"operation {op.name!r}: jvp must be a function, LINEAR, ELEMENTWISE or REDUCTION, got {jvp!r}")


def _linear_jvp(op):
    def jvp(tangents, out, *inputs, **params):
        # the operation on the tangents of its differentiable inputs (zeros where an input has none)
        # and on its other inputs themselves (indices, masks)
        args = []
        for i, (x, t) in enumerate(zip(inputs, tangents)):
            if op.variadic or (i < len(op.vjps) and op.vjps[i] is not None):
                args.append(fn.zeros_like(x) if t is None else t)
            else:
                args.append(x)
        return fn.apply_op(op, args, params)

    jvp.__name__ = jvp.__qualname__ = f"{op.name}_linear_jvp"
    return jvp


def _elementwise_jvp(op):
    def jvp(tangents, out, *inputs, **params):
        # J_i is diagonal: g J_i (the VJP rule) with the tangent, broadcast to out's shape, for g
        total = None
        for rule, t in zip(op.vjps, tangents):
            if t is None or rule is None:
                continue
            if t.shape != out.shape:
                t = fn.broadcast_to(t, out.shape)
            term = rule(t, out, *inputs, **params)
            total = term if total is None else total + term
        return total

    jvp.__name__ = jvp.__qualname__ = f"{op.name}_elementwise_jvp"
    return jvp


def _reduction_jvp(op):
    def jvp(tangents, out, x, *, axis, keepdims, **params):
        # d out / d x, broadcast back over the slice: the VJP rule with g = 1
        slope = op.vjps[0](fn.ones_like(out), out, x, axis=axis, keepdims=keepdims, **params)
        return (tangents[0] * slope).sum(axis=axis, keepdims=keepdims)

    jvp.__name__ = jvp.__qualname__ = f"{op.name}_reduction_jvp"
    return jvp


_CONSTANTS: dict = {}


def constant(key, make):
    """A read-only array for forward functions to share across calls (a row of zeros, the row
    offsets of a shape): ``make()`` the first time ``key`` is asked for, the same array after that.
    At most 128 are kept; the cache starts over when it is full."""
    arr = _CONSTANTS.get(key)
    if arr is None:
        if len(_CONSTANTS) >= 128:
            _CONSTANTS.clear()
        arr = _CONSTANTS[key] = make()
        arr.flags.writeable = False
    return arr


NUMBERS: dict = {}  # a Python float c -> c as a 0-d array (of the dtype it was last asked for)


def kept_number(c, dtype):
    """The Python number ``c`` as a read-only 0-d array of ``dtype``, which numpy casts ``c`` to in
    ``t * c`` for a ``t`` of that dtype (so ``t * kept_number(c, t.dtype)`` has the bits of
    ``t * c``); None where c is not a finite nonzero float in float32's range or the dtype not
    float32 or float64 (the operation then takes ``c`` itself). numpy converts a Python number on
    every call, which on a small array costs as much as the product: the arrays are kept (at most
    64; the cache starts over when it is full)."""
    if c.__class__ is not float or not (1e-30 < abs(c) < 1e30) or dtype.char not in "fd":
        return None  # (zeros kept out: 0.0 == -0.0 as dict keys; NaN is never found again)
    if len(NUMBERS) >= 64:
        NUMBERS.clear()
    z = NUMBERS[c] = np.array(c, dtype)
    z.flags.writeable = False
    return z


def number_operand(c, x):
    """What to combine the array ``x`` with for the Python number ``c``: the kept 0-d array of
    ``c`` in x's dtype (kept_number: the same result, bit for bit, without numpy converting ``c``
    again), or ``c`` itself (another number or dtype, or a Tensor ``x`` under create_graph, whose
    operation with ``c`` is then recorded as such)."""
    if x.__class__ is np.ndarray:
        z = NUMBERS.get(c)
        if z is not None and z.dtype is x.dtype:
            return z
        z = kept_number(c, x.dtype)
        if z is not None:
            return z
    return c


def ones_vector(n, dtype):
    """A cached read-only vector of n ones of ``dtype`` (a numpy dtype).

    ``a.dot(ones_vector(a.shape[-1], a.dtype))`` sums the short rows of a float array by BLAS, where
    ``np.add.reduce(a, axis=-1)`` loops over the rows one by one (its order of summation differs, so
    the last bits may too)."""
    return constant(("ones", n, dtype.char), lambda: np.ones(n, dtype))


def _reads(vjps):
    """(reads_out, input positions read) over all rules, from the names each rule's code loads."""
    out, positions = False, set()
    for rule in vjps:
        if rule is None:
            continue
        code = rule.__code__
        names = code.co_varnames[: code.co_argcount]
        loaded = {ins.argval for ins in dis.get_instructions(code) if ins.opname.startswith("LOAD_")}
        loaded |= {ins.argval for ins in dis.get_instructions(code) if ins.opname == "LOAD_DEREF"}
        if code.co_flags & 0x04:  # *args: assume every input is read
            positions |= set(range(len(vjps)))
        out = out or (len(names) > 1 and names[1] in loaded)
        positions |= {i for i, n in enumerate(names[2:]) if n in loaded}
    return out, tuple(sorted(positions))


def _load_groups():
    from . import activation, batch, elementwise, index, inplace, layers, linalg, loss, reduce, shape  # they fill OPS
    from . import bitwise, conv, pool, resample, scan, special  # the catalogue beyond the lecture
    from . import kernels  # the fast paths, installed over the formulas they replace


_load_groups()
