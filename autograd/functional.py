"""ag.grad: gradients of outputs with respect to chosen inputs, returned instead of accumulated."""
from __future__ import annotations

import numpy as np

from . import engine
from .tensor import Tensor, make


def _as_tuple(x, name):
    if isinstance(x, Tensor):
        return (x,)
    x = tuple(x)
    for t in x:
        if not isinstance(t, Tensor):
            raise TypeError(f"ag.grad: {name} must be Tensors, got {type(t).__name__}")
    return x


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False):
    """d(outputs)/d(inputs) as a tuple of Tensors (one per input), without touching any ``.grad``.

    ``grad_outputs``: the vector of the vector-Jacobian product, one per output (may be omitted for
    scalar outputs). With ``create_graph=True`` the result is itself differentiable (Hessian-vector
    products, gradient penalties). An input the outputs do not depend on raises unless
    ``allow_unused=True``, which gives None for it.
    """
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"ag.grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"ag.grad: input {i} does not require grad, so it has no gradient "
                               f"(create it with requires_grad=True)")
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"ag.grad: output {i} does not require grad and does not have a grad_fn")
    seeds = []
    for o, g in zip(outputs, grad_outputs):
        if create_graph and isinstance(g, Tensor):
            seeds.append(g)
            continue
        seed = o._seed_grad(g.data if isinstance(g, Tensor) else g)
        seeds.append(make(seed) if create_graph else seed)
    if retain_graph is None:
        retain_graph = create_graph
    grads = engine.backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                            inputs=inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"ag.grad: input {i} (shape {t.shape}) was not used to compute the "
                                   f"outputs; pass allow_unused=True to get None for it")
            result.append(None)
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(make(np.array(g, dtype=t.dtype)))
    return tuple(result)
