"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory.

``ag.checkpoint(function, *args)`` runs ``function`` and keeps only its inputs: the graph it
builds inside is dropped as soon as its outputs exist, and one node stands for the whole call.
When backward reaches that node, it runs ``function`` again on the same inputs (with the random
generator set back to where it was, so dropout draws the same masks), backpropagates through the
recomputed graph and frees it. The gradients are those of the plain call; the activations inside
live only during the recomputation, so a network cut into checkpointed segments holds the
activations of one segment at a time instead of all of them (``nn.utils.checkpoint_sequential``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import engine
from .grad_mode import enable_grad, no_grad, state
from .ops import Op
from .random import restore_states, save_states
from .tensor import Tensor, make

__all__ = ["checkpoint"]


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)``, recorded as one node whose inside is recomputed in backward.

    Every tensor the function reads that requires grad gets its gradient as without checkpointing:
    the Tensors among ``args`` and the leaves it uses (a module's parameters). ``use_reentrant`` is
    accepted for torch's signature: both of torch's implementations give these semantics here.
    Under ``.backward()`` the leaves the function reads take their gradients into ``.grad`` while
    its inside is recomputed, as they are made (so a hook on such a parameter sees each call's
    share, as with torch's reentrant variant); under ``ag.grad`` they are returned as usual.
    ``preserve_rng_state``: recompute with the random generators' states of the first call (the
    default one and every ``ag.Generator``), so dropout inside draws the same masks."""
    rng = save_states() if preserve_rng_state else None
    if not state.grad_enabled:  # nothing to differentiate: no graph to drop
        return function(*args, **kwargs)
    # Run it once with the graph, to learn which leaves it reads (the tensors among args, and the
    # parameters of a module it calls, which a closure hides), then keep only the outputs' values.
    tensors = [a for a in args if isinstance(a, Tensor)]
    copies = [_input_copy(a) for a in args]
    with enable_grad():
        result = function(*copies, **kwargs)
    single = isinstance(result, Tensor)
    outputs = (result,) if single else tuple(result)
    for o in outputs:
        if not isinstance(o, Tensor):
            raise TypeError(
                f"checkpoint: the function must return a Tensor or a tuple of Tensors, got {type(o).__name__}"
            )
    copy_ids = {id(c) for c in copies if isinstance(c, Tensor)}
    leaves = [
        n
        for n in engine.toposort(outputs, grad_only=True)
        if not n._inputs and n.requires_grad and id(n) not in copy_ids
    ]
    inputs = tuple(tensors) + tuple(leaves)
    shared = {"function": function, "args": args, "kwargs": kwargs, "rng": rng, "n_args": len(tensors)}
    nodes = tuple(
        make(o.data, inputs, _op_for(k), {"k": k, "shared": shared}) if o.requires_grad else make(o.data)
        for k, o in enumerate(outputs)
    )
    del result, outputs, copies  # (the graph inside is freed here: recomputed in backward)
    return nodes[0] if single else nodes


def _input_copy(a):
    """A leaf standing for the argument ``a`` inside the function (its gradient is the argument's)."""
    if isinstance(a, Tensor):
        return a.detach().requires_grad_(a.requires_grad)
    return a


_ops: dict = {}


def _op_for(k):
    op = _ops.get(k)
    if op is None:
        op = _ops[k] = Op(
            "checkpoint" if k == 0 else f"checkpoint[{k}]",
            _rerun,
            (),
            "ag.checkpoint: the inside recomputed in backward",
            vjp_all=_checkpoint_vjp,
        )
    return op


def _rerun(*arrays, k, shared):
    """Graph.forward: the function again on the inputs' current values."""
    it = iter(arrays)
    args = [make(next(it)) if isinstance(a, Tensor) else a for a in shared["args"]]
    with no_grad():
        result = shared["function"](*args, **shared["kwargs"])
    outs = (result,) if isinstance(result, Tensor) else tuple(result)
    return outs[k].data


def _checkpoint_vjp(node, g):
    """The gradients of every input of the checkpoint node: the function run again (same random
    draws), and the engine's backward through that recomputed graph, wanting the node's inputs."""
    shared = node._params["shared"]
    create_graph = state.grad_enabled
    n_args = shared["n_args"]
    args_in, leaves = node._inputs[:n_args], list(node._inputs[n_args:])
    # the inputs as fresh leaves (the walk stops there); under create_graph the inputs themselves,
    # so that the gradients are functions of them and can be differentiated again
    copies = list(args_in) if create_graph else [a.detach().requires_grad_(a.requires_grad) for a in args_in]
    it = iter(copies)
    call_args = [next(it) if isinstance(a, Tensor) else a for a in shared["args"]]
    current = save_states()
    if shared["rng"] is not None:
        restore_states(shared["rng"])
    try:
        with enable_grad():
            result = shared["function"](*call_args, **shared["kwargs"])
    finally:
        restore_states(current)
    outs = (result,) if isinstance(result, Tensor) else tuple(result)
    k = node._params["k"]
    grads_out = []
    for j, o in enumerate(outs):
        if j == k:
            grads_out.append(g if isinstance(g, Tensor) else (make(np.asarray(g)) if create_graph else np.asarray(g)))
        elif o.requires_grad:
            zeros = np.zeros(o.shape, o.dtype)
            grads_out.append(make(zeros) if create_graph else zeros)
        else:
            grads_out.append(None)
    # the recomputed graph is this rule's alone: without create_graph it is handed to the walk
    # (engine.backward's release), which lets each node go once it is done, so the recomputed
    # values are freed as backward passes them instead of all being held to the end
    roots = [o for o, gr in zip(outs, grads_out) if gr is not None and o.requires_grad]
    seeds = [gr for o, gr in zip(outs, grads_out) if gr is not None and o.requires_grad]
    del result, outs, o
    if roots and not create_graph and engine.walk_stores():
        return _accumulated(roots, seeds, copies, len(leaves))
    wanted = copies + leaves
    found = (
        engine.backward(
            roots, seeds, retain_graph=create_graph, create_graph=create_graph, inputs=wanted, release=not create_graph
        )
        if roots
        else [None] * len(wanted)
    )
    grads: list[Any] = []
    for t, gr in zip(node._inputs, found):
        if gr is None or not t.requires_grad:
            grads.append(None)
        elif create_graph:
            grads.append(gr if isinstance(gr, Tensor) else make(np.asarray(gr)))
        else:
            grads.append(gr.data if isinstance(gr, Tensor) else np.array(gr))  # (a leaf may keep it)
    return grads


def _accumulated(roots, seeds, copies, n_leaves):
    """The recomputed graph's walk under a .backward(): the leaves it reads (parameters) take their
    gradients into ``.grad`` as the walk makes them, as the plain call's walk does, rather than
    all being held until the segment is done (a segment of a network would hold every weight's
    gradient at once); the arguments' gradients, found on their stand-ins, go back to the node."""
    engine.backward(roots, seeds, release=True)
    grads: list[Any] = []
    for c in copies:
        g = c.grad if isinstance(c, Tensor) else None
        grads.append(None if g is None else g.data)
    return grads + [None] * n_leaves
