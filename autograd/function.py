"""ag.Function: user-defined operations with a hand-written backward.

    class Exp(ag.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    y = Exp.apply(x)

The result is a node of the engine like any built-in operation: backward, ag.grad, hooks,
gradcheck, ag.Graph (which calls ``forward`` again on re-evaluation) and drawing all work on it.
``backward`` receives Tensors; under ``create_graph=True`` the operations it performs are recorded,
so a backward written with Tensor operations can be differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .grad_mode import is_grad_enabled, no_grad, state
from .ops import Op
from .tensor import Tensor, make


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors and which inputs need a gradient."""

    def __init__(self, needs_input_grad=()):
        self.needs_input_grad = tuple(needs_input_grad)
        self._saved: tuple[Any, ...] = ()
        self._versions: tuple[int | None, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for backward; modifying one in place before backward is then an error."""
        self._saved = tensors
        self._versions = tuple(t._version if isinstance(t, Tensor) else None for t in tensors)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors given to save_for_backward; an error if one was modified in place since."""
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if isinstance(t, Tensor) and t._version != v:
                raise RuntimeError(
                    f"one of the tensors saved with ctx.save_for_backward (position {i}, shape {t.shape}) "
                    f"has been modified by an in-place operation since (version {t._version}, saved at "
                    f"version {v}); clone() it before modifying it"
                )
        return self._saved


class Function:
    """Subclass with ``@staticmethod forward(ctx, *args)`` and ``@staticmethod backward(ctx, *grads)``;
    call ``MyOp.apply(*args)``. ``backward`` returns one gradient per argument of ``forward``
    (None for arguments that are not tensors or need no gradient)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        """Compute the output(s) from ``args`` (Tensors as given, run under no_grad); save on ``ctx``."""
        raise NotImplementedError("a Function subclass must define @staticmethod forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        """Given d(loss)/d(output) for each output, return d(loss)/d(arg) per forward argument (or None)."""
        raise NotImplementedError("a Function subclass must define @staticmethod backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward on ``args`` and record one node whose backward calls ``backward`` (torch's apply)."""
        inputs = tuple(a for a in args if isinstance(a, Tensor))
        ctx = FunctionCtx(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = isinstance(result, Tensor)
        outs = (result,) if single else tuple(result)
        for o in outs:
            if not isinstance(o, Tensor):
                raise TypeError(
                    f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, got {type(o).__name__}"
                )
        if not (is_grad_enabled() and any(t.requires_grad for t in inputs)):
            return result
        shared = {
            "cls": cls,
            "args": args,
            "kwargs": kwargs,
            "ctx": ctx,
            "n_out": len(outs),
            "shapes": [o.shape for o in outs],
            "dtypes": [o.dtype for o in outs],
        }
        nodes = []
        for k, o in enumerate(outs):
            name = cls.__name__ if single else f"{cls.__name__}[{k}]"
            node = make(o.data, inputs, _op_for(name, k), {"k": k, "shared": shared})
            nodes.append(node)
        # A saved output is the recorded output node, so that a backward using it (y in
        # d exp(x) = g * y) can be differentiated again under create_graph.
        swap = {id(o): n for o, n in zip(outs, nodes)}
        ctx._saved = tuple(swap.get(id(t), t) for t in ctx._saved)
        return nodes[0] if single else tuple(nodes)


_op_cache: dict = {}


def _op_for(name, k):
    op = _op_cache.get(name)
    if op is None:
        op = _op_cache[name] = Op(name, _reevaluate, (), "a user-defined ag.Function", vjp_all=_function_vjp)
    return op


def _reevaluate(*arrays, k, shared):
    """Graph.forward: run the user's forward again on the inputs' current values (fresh ctx)."""
    args = list(shared["args"])
    it = iter(arrays)
    args = [make(next(it)) if isinstance(a, Tensor) else a for a in args]
    ctx = FunctionCtx(shared["ctx"].needs_input_grad)
    with no_grad():
        result = shared["cls"].forward(ctx, *args, **shared["kwargs"])
    shared["ctx"] = ctx
    outs = (result,) if isinstance(result, Tensor) else tuple(result)
    return outs[k].data


def _function_vjp(node, g):
    shared, k = node._params["shared"], node._params["k"]
    cls, ctx = shared["cls"], shared["ctx"]
    create_graph = state.grad_enabled
    grads_out = []
    for j in range(shared["n_out"]):
        if j == k:
            grads_out.append(g if isinstance(g, Tensor) else make(np.asarray(g)))
        else:
            grads_out.append(make(np.zeros(shared["shapes"][j], shared["dtypes"][j])))
    result = cls.backward(ctx, *grads_out)
    if not isinstance(result, tuple):
        result = (result,)
    args = shared["args"]
    if len(result) > len(args) and all(r is None for r in result[len(args) :]):
        result = result[: len(args)]  # extra Nones (for defaulted arguments) are fine, as in torch
    if len(result) != len(args):
        raise RuntimeError(
            f"{cls.__name__}.backward returned {len(result)} gradient(s) but forward took "
            f"{len(args)} argument(s): return one per argument (None for non-tensors)"
        )
    grads: list[Any] = []
    for i, (a, gi) in enumerate(zip(args, result)):
        if not isinstance(a, Tensor):
            continue
        if gi is None or not a.requires_grad:
            grads.append(None)
            continue
        if not isinstance(gi, Tensor):
            gi = make(np.asarray(gi))
        if gi.shape != a.shape:
            raise RuntimeError(
                f"{cls.__name__}.backward returned a gradient of shape {gi.shape} for argument "
                f"{i}, which has shape {a.shape}"
            )
        if gi.dtype != a.dtype:
            gi = gi.to(a.dtype)
        if create_graph:
            grads.append(gi)
        else:  # (a leaf keeps the array it is given: never one the user's code may still hold)
            grads.append(gi.data if a._inputs else np.array(gi.data))
    return grads
