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
ndarrays while nothing needs more (one level, nothing to record), else Tensors.

A Scalar graph has its own dual numbers: ``make_dual`` of a Scalar gives a :class:`DualScalar`.
"""

from __future__ import annotations

import itertools
from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np

from .grad_mode import state
from .ops import ELEMENTWISE

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_ids = itertools.count(1)


def enter_dual_level() -> int:
    """Open a new (innermost) level of forward AD in this thread and return its id."""
    level = next(_ids)
    state.dual_levels = state.dual_levels + (level,)
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
    from .ops import OPS
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
    from .ops import OPS
    from .tensor import Tensor, apply, make

    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual expects a Tensor (or a Scalar), got {type(tensor).__name__}")
    if not state.dual_levels:
        return UnpackedDualTensor(tensor, None)
    level = _current(level, "unpack_dual")
    tangents = tensor._tangents
    if not tangents or level not in tangents:
        return UnpackedDualTensor(tensor, None)
    tangent = tangents[level]
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

    def __exit__(self, *exc):
        state.dual_ceiling = self.prev
        return False


def elementwise_tangents(op, x, data, params):
    """Forward mode's common case, cheaply: the tangents of ``data = op(x)`` for an elementwise op
    of one (unbatched) tensor ``x`` with one tangent, an ndarray, and nothing to record. The
    Jacobian is diagonal, so the JVP is the VJP rule applied to the tangent. None when the case
    does not apply (then ``propagate`` does the general work)."""
    tangents = x._tangents
    if len(tangents) != 1 or op.jvp_form != ELEMENTWISE or not op.keeps_shape or op.jvp is None:
        return None
    st = state  # (one lookup of the thread-local state: this runs once per operation)
    if st.dual_ceiling is not None or (x.requires_grad and st.grad_enabled):
        return None
    for level, t in tangents.items():
        if t.__class__ is not np.ndarray or level not in st.dual_levels:
            return None
        rule = op.vjps[0]
        return {level: rule(t, data, x.data, **params) if params else rule(t, data, x.data)}


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
        ts = [None if not t._tangents else t._tangents.get(level) for t in inputs]
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
