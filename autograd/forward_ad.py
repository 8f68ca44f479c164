"""Forward-mode AD (``torch.autograd.forward_ad``): tangents that travel with the forward pass.

Inside ``with dual_level():``, ``make_dual(x, t)`` gives a tensor whose value is ``x`` and whose
*tangent* (a direction dx) is ``t``; every operation on it computes, beside its value, the tangent
of its result from its inputs' tangents with the JVP rule of its entry of the op table (the other
side of the derivative whose VJP rule backward uses). ``unpack_dual(y)`` reads the value and the
tangent dy = J dx of the result: a Jacobian-vector product in one forward pass, with no backward.

    with fwAD.dual_level():
        x = fwAD.make_dual(primal, direction)
        y = f(x)
        jvp = fwAD.unpack_dual(y).tangent

Levels nest: a tangent at an inner level may itself carry a tangent at an outer level (JVPs of
JVPs), since an operation computes the tangent of each level with the levels below it still
active. Forward mode mixes with reverse mode: an operation on tensors that require grad is
recorded as usual, and a backward pass recorded with ``create_graph=True`` propagates tangents
through its own operations, so the gradient of a function of a dual tensor is dual too:
forward-over-reverse Hessian-vector products, ``unpack_dual(x.grad).tangent = H v``. Tangents are
ndarrays while nothing needs more (one level, nothing to record), else Tensors. On the fast path an
ndarray tangent may be held as a number times an array (:func:`scaled`): a JVP is linear in the
tangent, so ``x * c``, ``x / c``, ``c - x`` and ``-x`` multiply that number and leave the array
alone, and any other elementwise op of one tensor applies its rule to the array and keeps the
number; the product is formed once, where something reads the tangent.

A Scalar graph has its own dual numbers: ``make_dual`` of a Scalar gives a :class:`DualScalar`.
"""

from __future__ import annotations

import itertools
from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np

from .grad_mode import state
from .ops import ELEMENTWISE, OPS, number_operand
from .ops import NUMBERS as _NUMBERS

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_ids = itertools.count(1)


def enter_dual_level() -> int:
    """Open a new (innermost) level of forward AD in this thread and return its id."""
    level = next(_ids)
    state.dual_levels = state.dual_levels + (level,)
    _fast_levels()
    return level


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost level (which must be ``level`` when given); its tangents are forgotten."""
    levels = state.dual_levels
    if not levels:
        raise RuntimeError("exit_dual_level: no dual level is open (use `with fwAD.dual_level():`)")
    if level is not None and level != levels[-1]:
        raise RuntimeError(
            f"exit_dual_level: level {level} is not the innermost open level ({levels[-1]}); "
            f"levels are closed in the reverse order of opening"
        )
    state.dual_levels = levels[:-1]
    _fast_levels()


class dual_level:
    """``with dual_level():`` forward AD inside the block (``as level`` gives the level's id)."""

    def __enter__(self):
        self.level = enter_dual_level()
        return self.level

    def __exit__(self, *exc):
        exit_dual_level(level=self.level)
        return False


def _current(level, what):
    levels = state.dual_levels
    if level is None:
        if not levels:
            raise RuntimeError(f"{what}: no dual level is open: use `with ag.forward_ad.dual_level():` first")
        return levels[-1]
    if level not in levels:
        raise RuntimeError(f"{what}: level {level} is not open (open levels: {list(levels)})")
    return level


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A tensor with the value of ``tensor`` and the tangent ``tangent`` at ``level`` (the innermost
    open level by default). It is a view of ``tensor`` (gradients flow back to it); ``tangent`` has
    ``tensor``'s shape and a floating dtype."""
    from .scalar import Scalar

    if isinstance(tensor, Scalar):
        from .dual_scalar import DualScalar

        _current(level, "make_dual")
        return DualScalar.of(tensor, tangent)
    from .tensor import Tensor, apply, make, to_array

    level = _current(level, "make_dual")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual expects a Tensor (or a Scalar), got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise RuntimeError(f"make_dual: expected a floating primal, got dtype {tensor.dtype}")
    t = tangent if isinstance(tangent, Tensor) else make(to_array(tangent, copy=False))
    if t.shape != tensor.shape:
        raise RuntimeError(
            f"make_dual: the tangent has shape {t.shape} but the primal has shape {tensor.shape}; "
            f"a tangent must have its primal's shape"
        )
    if t.dtype.kind != "f":
        raise RuntimeError(f"make_dual: expected a floating tangent, got dtype {t.dtype}")
    out = apply(OPS["alias"], (tensor,))
    tangents = dict(out._tangents) if out._tangents else {}
    tangents[level] = t if (t.requires_grad or t._tangents or _batched(t)) else t.data
    out._tangents = tangents
    return out


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at ``level`` (the innermost open level by default): the
    value as a view without that tangent, and the tangent (None where it has none)."""
    from .scalar import Scalar

    if isinstance(tensor, Scalar):
        return UnpackedDualTensor(tensor, getattr(tensor, "tangent", None))
    from .tensor import Tensor, apply, make

    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual expects a Tensor (or a Scalar), got {type(tensor).__name__}")
    if not state.dual_levels:
        return UnpackedDualTensor(tensor, None)
    level = _current(level, "unpack_dual")
    tangents = tensor._tangents
    if not tangents or level not in tangents:
        return UnpackedDualTensor(tensor, None)
    tangent = tangent_value(tangents[level])
    with _below(level):
        primal = apply(OPS["alias"], (tensor,))  # (its other levels' tangents come along)
    return UnpackedDualTensor(primal, tangent if isinstance(tangent, Tensor) else make(tangent))


class _below:
    """Within the block only levels below ``level`` propagate (while ``level``'s rules run)."""

    __slots__ = ("level", "prev")

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        self.prev = state.dual_ceiling
        state.dual_ceiling = self.level - 1
        _fast_levels()

    def __exit__(self, *exc):
        state.dual_ceiling = self.prev
        _fast_levels()
        return False


def _fast_levels():
    """Set ``state.dual_top``, the level whose tangents :func:`elementwise_tangents` may propagate
    by itself: the innermost open one, none (0) while a level's rule runs or no level is open (one
    lookup on its hot path)."""
    levels = state.dual_levels
    state.dual_top = levels[-1] if levels and state.dual_ceiling is None else 0


def elementwise_tangents(op, x, data, c, out):
    """Give ``out``, the result ``data`` of the elementwise ``op`` of the one tensor ``x`` (and of
    the Python number ``c`` for arithmetic with a number; None for a function of ``x`` alone), its
    tangents. Forward mode's common case runs here cheaply: ``x`` unbatched with one tangent, an
    ndarray (maybe scaled, see :func:`scaled`) at an open level, and nothing to record. The
    Jacobian is diagonal, so the JVP is the VJP rule applied to the tangent's array, or the op's
    tangent kernel, which computes the same thing with fewer passes or calls
    (:data:`TANGENT_KERNELS`), the scale kept; a product by a number only changes the scale. Every
    other case goes through ``propagate``."""
    tangents = x._tangents
    level = state.dual_top  # (a tangent at an outer level only takes propagate)
    if level and len(tangents) == 1 and not (x.requires_grad and state.grad_enabled):
        t = tangents.get(level)
        if t.__class__ is _ndarray or t.__class__ is tuple:
            if op is _ADD_S:  # d(x + c) = dx: out shares x's tangents (never changed in place)
                out._tangents = tangents
                return
            if op in _SCALINGS:
                out._tangents = {level: scaled(t, op, c)}
                return
            array, scale = (t, 1.0) if t.__class__ is _ndarray else t
            kernel = TANGENT_KERNELS.get(op)
            if kernel is not None:
                tangent = kernel(array, data, c)
            elif op.jvp_form == ELEMENTWISE and op.keeps_shape and op.jvp is not None:
                rule = op.vjps[0]
                tangent = rule(array, data, x.data) if c is None else rule(array, data, x.data, c=c)
            else:
                tangent = None
            if tangent is not None:
                if tangent.__class__ is not _ndarray:
                    tangent = np.asarray(tangent)
                out._tangents = {level: tangent if scale == 1.0 else (tangent, scale)}
                return
    propagate(op, (x,), _NO_PARAMS if c is None else {"c": c}, out)


# A scaled tangent is the tuple (array, scale): cheaper to make than any object (a product by a
# number must cost less than numpy's product of a small array), and no other tangent is a tuple.
# Its scale stays a normal number of the array's dtype (_RANGE), so that it converts exactly.
_RANGE = {np.dtype(d): (float(np.finfo(d).tiny), float(np.finfo(d).max)) for d in (np.float16, np.float32, np.float64)}


def tangent_value(t):
    """A tangent as the rules take it: a scaled one, ``(array, scale)``, formed as ``array`` times
    ``scale`` rounded to the array's dtype; an ndarray or a Tensor as it is. Each factor of a scale
    is the number its op used, rounded to the tangent's dtype as the op's rule rounds it, so the
    result differs from multiplying factor by factor only by the roundings of that product."""
    if t.__class__ is not tuple:
        return t
    a, s = t
    v = np.multiply(a, np.asarray(s, a.dtype))
    return v if v.__class__ is _ndarray else np.asarray(v)


def scaled(t, op, c, z=None):
    """The tangent of ``x * c``, ``x / c``, ``c - x`` or ``-x`` (``op``; ``c`` its number, ``z``
    that number kept as a 0-d array where the caller has it) from the tangent ``t`` of x (an ndarray
    or scaled): the same array with another scale. Where the scale would leave the normal numbers
    of the array's dtype (or ``c`` is not finite), the product is formed there and then instead, as
    the op's rule forms it (an overflow happens no later than the rule's own would)."""
    if t.__class__ is tuple:
        array, scale = t
    else:
        array, scale = t, 1.0
    if op is _NEG or op is _RSUB_S:
        new = -scale
    else:
        if z is None or z.dtype is not array.dtype:
            z = _NUMBERS.get(c)
            if z is None or z.dtype is not array.dtype:
                z = np.asarray(c, array.dtype)
        new = scale * float(z) if op is _MUL_S else scale / float(z)
    if new == 1.0:
        return array
    low, high = _RANGE[array.dtype]
    if low <= abs(new) <= high:
        return (array, new)
    tangent = TANGENT_KERNELS[op](tangent_value(t), None, c)
    return tangent if tangent.__class__ is _ndarray else np.asarray(tangent)


_NO_PARAMS: dict = {}
_ADD_S, _MUL_S, _NEG, _RSUB_S = OPS["add_scalar"], OPS["mul_scalar"], OPS["neg"], OPS["rsub_scalar"]
_ndarray = np.ndarray


# -- tangent kernels: the JVP of an elementwise op of one tensor, on ndarrays ----------------------
# Each computes what its op's VJP rule computes with the tangent t as g (the same operations in
# the same order, so the same bits), from t, the result y and the number c (None for a function
# of x alone); tests/autograd/test_forward_ad_kernels.py checks each against the rule.


def _mul_tangent(t, y, c):
    return np.multiply(t, number_operand(c, t))


def _div_tangent(t, y, c):
    return np.true_divide(t, number_operand(c, t))


_ONE = {np.dtype(d): np.ones((), d) for d in (np.float16, np.float32, np.float64)}
for _one in _ONE.values():
    _one.flags.writeable = False


def _tanh_tangent(t, y, c):
    # the rule's t * (1 - y * y), with 1 as a kept array (not converted on each call) and, on a
    # large array, in one new array instead of three (on a small one, writing into a buffer costs
    # more than it saves); a tangent of another dtype than y gives the promoted dtype, as the rule
    one = _ONE.get(y.dtype)
    if one is None:
        return t * (1 - y * y)
    if y.size < 4096 or t.dtype is not y.dtype:
        return t * (one - y * y)
    buf = np.multiply(y, y)
    np.subtract(one, buf, buf)
    return np.multiply(t, buf, buf)


TANGENT_KERNELS = {
    OPS["add_scalar"]: lambda t, y, c: t,
    OPS["mul_scalar"]: _mul_tangent,
    OPS["div_scalar"]: _div_tangent,
    OPS["rsub_scalar"]: lambda t, y, c: -t,
    OPS["neg"]: lambda t, y, c: -t,
    OPS["exp"]: lambda t, y, c: t * y,
    OPS["tanh"]: _tanh_tangent,
}
_SCALINGS = {_MUL_S, OPS["div_scalar"], _RSUB_S, _NEG}  # (their tangent: the input's times a number)


def propagate(op, inputs, params, out):
    """Give ``out`` (the result of ``op`` on ``inputs``) its tangents: one per open level that some
    input has a tangent at, by the op's JVP rule, innermost-last so that each level's rule runs
    with the levels below it active (their tangents become the tangent's own tangents)."""
    open_levels = state.dual_levels
    if not open_levels:
        return
    ceiling = state.dual_ceiling
    if not any(t._tangents for t in inputs):
        return
    tangent_levels = set()
    for t in inputs:
        if t._tangents:
            tangent_levels.update(t._tangents)
    levels = sorted(L for L in tangent_levels if L in open_levels and (ceiling is None or L <= ceiling))
    if not levels:
        return
    jvp = op.jvp
    if jvp is None:
        if not op.differentiable:
            return  # (comparisons, argmax, masks: integer or boolean results carry no tangent)
        raise RuntimeError(f"forward-mode AD: operation {op.name!r} has no JVP rule")
    tangents = out._tangents = dict(out._tangents) if out._tangents else {}
    for level in levels:
        ts = [None if not t._tangents else tangent_value(t._tangents.get(level)) for t in inputs]
        if _plain(inputs, ts, level):
            # one level and nothing to record: the rule on arrays
            arrays = [t.data for t in inputs]
            result = jvp(ts, out.data, *arrays, **params) if params else jvp(ts, out.data, *arrays)
        else:
            result = _recorded_jvp(jvp, inputs, ts, params, out, level)
        if result is not None:
            tangents[level] = _fit(result, out)


def _plain(inputs, tangents, level):
    """Whether the rule can run on ndarrays: no other active level below this one on the inputs or
    the tangents, and nothing to record (no input or tangent requires grad, or grad mode is off)."""
    from .tensor import Tensor

    recording = state.grad_enabled
    for x, t in zip(inputs, tangents):
        if x.__class__ is not Tensor and getattr(x, "_levels", None):
            return False  # batched (vmap): the rule must run on the Tensors, through the batching rules
        if x._tangents and any(L < level for L in x._tangents):
            return False
        if recording and x.requires_grad:
            return False
        if isinstance(t, Tensor):
            return False
    return True


def _recorded_jvp(jvp, inputs, tangents, params, out, level):
    """The rule on Tensors (recorded, and propagating the tangents of the levels below ``level``)."""
    from .tensor import Tensor

    ts = [t if (t is None or isinstance(t, Tensor)) else _tangent_tensor(t, x) for t, x in zip(tangents, inputs)]
    with _below(level):
        return jvp(ts, out, *inputs, **params) if params else jvp(ts, out, *inputs)


def _tangent_tensor(t, x):
    """An array tangent of ``x`` as a Tensor: batched as x is (vmap), its array being physical too."""
    from .tensor import Tensor, make

    levels = getattr(x, "_levels", None) if x.__class__ is not Tensor else None
    if levels:
        from .vmap import wrap

        return wrap(t, levels)
    return make(t)


def _batched(t):
    """Whether the Tensor ``t`` is vmap's batched view (its ``.data`` holds the whole batch)."""
    from .tensor import Tensor

    return t.__class__ is not Tensor and bool(getattr(t, "_levels", None))


def _fit(tangent, out):
    """A tangent of ``out``'s shape: broadcast (a rule may give a smaller one), and an ndarray
    where it needs no Tensor."""
    from .tensor import Tensor

    if isinstance(tangent, Tensor):
        if tangent.shape != out.shape:
            tangent = tangent.broadcast_to(out.shape)
        if not tangent.requires_grad and not tangent._tangents and not _batched(tangent):
            return tangent.data
        return tangent
    tangent = np.asarray(tangent)
    if tangent.shape != out.shape:
        tangent = np.broadcast_to(tangent, out.shape)
    return tangent
