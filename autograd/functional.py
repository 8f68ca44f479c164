"""ag.grad: gradients of outputs with respect to chosen inputs, returned instead of accumulated."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) as a tuple of Tensors (one per input), without touching any ``.grad``.

    ``grad_outputs``: the vector of the vector-Jacobian product, one per output (may be omitted for
    scalar outputs). With ``create_graph=True`` the result is itself differentiable (Hessian-vector
    products, gradient penalties). An input the outputs do not depend on raises unless
    ``allow_unused=True``, which gives None for it.
    """
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    seeds = _seeds(outputs, grad_outputs, inputs, create_graph, "ag.grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = engine.backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)
    result: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"ag.grad: input {i} (shape {t.shape}) was not used to compute the "
                    f"outputs; pass allow_unused=True to get None for it"
                )
            result.append(None)
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(make(np.array(g, dtype=t.dtype)))
    return tuple(result)


def _seeds(outputs, grad_outputs, inputs, create_graph, fn_name):
    """The gradients the walk starts from, one per output (ones for a one-element output without
    one), after checking that the inputs and outputs take part in differentiation."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{fn_name}: {len(grad_outputs)} gradients for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(
                f"{fn_name}: input {i} does not require grad, so it has no gradient (create it with requires_grad=True)"
            )
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(
                f"{fn_name}: output {i} does not require grad and does not have a grad_fn"
                if fn_name != "backward"
                else f"element {i} of tensors does not require grad and does not have a grad_fn: nothing "
                f"to differentiate (did you forget requires_grad=True, or run under no_grad?)"
            )
    seeds = []
    for o, g in zip(outputs, grad_outputs):
        if create_graph and isinstance(g, Tensor):
            seeds.append(g)
            continue
        seed = o._seed_grad(g.data if isinstance(g, Tensor) else g)
        seeds.append(o._seed_tensor(seed) if create_graph else seed)
    return seeds


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Accumulate the gradients of ``tensors`` (a Tensor or a sequence; ``grad_tensors`` the vectors
    of the vector-Jacobian products, as ``gradient`` of ``Tensor.backward``) into the leaves'
    ``.grad`` (torch.autograd.backward). With ``inputs`` (a Tensor or a sequence of them, leaves or
    not) only those tensors receive gradients, in their ``.grad``; the other leaves are untouched."""
    tensors = _as_tuple(tensors, "tensors")
    if inputs is not None:
        inputs = _as_tuple(inputs, "inputs")
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    seeds = _seeds(tensors, grad_tensors, inputs or (), create_graph, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    grads = engine.backward(tensors, seeds, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)
    for t, g in zip(inputs or (), grads or ()):
        if g is not None:
            t._store(g)


# -- torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp ------------------------------
# A function of Tensors is differentiated at given inputs, which are first made leaves of their own
# (a view, when create_graph should keep the link to the caller's graph). Inputs and outputs come
# as a Tensor or a tuple of Tensors, and the results take the same form (torch's conventions).


def _as_inputs(x, what, fn_name):
    """(was it a tuple, the Tensors): a Tensor or a tuple/list of Tensors, as torch accepts them."""
    if isinstance(x, Tensor):
        return False, (x,)
    if not isinstance(x, (tuple, list)):
        raise TypeError(f"{fn_name}: the {what} must be a Tensor or a tuple of Tensors, got {type(x).__name__}")
    for i, t in enumerate(x):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{fn_name}: the {what} must be a Tensor or a tuple of Tensors, but element {i} is a {type(t).__name__}"
            )
    return True, tuple(x)


def _prepare(inputs, create_graph):
    """The inputs as fresh nodes to differentiate with respect to: a differentiable view where the
    caller's graph must be kept (create_graph on an input that requires grad), else a new leaf."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view(t.shape))
        else:
            out.append(t.detach().requires_grad_(t.dtype.kind == "f"))
    return tuple(out)


def _finish(values, create_graph):
    return tuple(v if create_graph or v is None else v.detach() for v in values)


def _form(values, is_tuple):
    return values if is_tuple else values[0]


def _check_outputs(outputs, strict, fn_name):
    if strict:
        for i, o in enumerate(outputs):
            if not o.requires_grad:
                raise RuntimeError(
                    f"{fn_name}: output {i} of the function does not require gradients; in strict "
                    f"mode every output must be computed in a differentiable way from the inputs"
                )


def _check_v(v, like, is_tuple, fn_name, what):
    """``v`` as a tuple of Tensors matching ``like`` (the outputs or the inputs) in number and shape."""
    _, v = _as_inputs(v, "v", fn_name)
    if len(v) != len(like):
        raise RuntimeError(
            f"{fn_name}: v has {len(v)} Tensor(s) but the {what} {len(like)}: give one vector "
            f"per {what[:-1] if what.endswith('s') else what}"
        )
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            raise RuntimeError(
                f"{fn_name}: entry {i} of v has shape {a.shape} but entry {i} of the {what} has shape {b.shape}"
            )
    return v


def _zeros_where_none(grads, like, strict, fn_name, what):
    out = []
    for i, (g, t) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{fn_name}: the output of the function is independent of {what} {i}, which "
                    f"strict mode does not allow"
                )
            g = make(np.zeros(t.shape, t.dtype))
        out.append(g)
    return tuple(out)


def _reverse(outputs, inputs, v, create_graph):
    """ag.grad of ``outputs`` with cotangents ``v`` (None where an output does not require grad)."""
    pairs = [(o, c) for o, c in zip(outputs, v) if o.requires_grad]
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    grads: list[Tensor | None] = [None] * len(inputs)
    if pairs and wanted:
        from .grad_mode import enable_grad

        with enable_grad():
            got = grad(
                [o for o, _ in pairs],
                [inputs[i] for i in wanted],
                grad_outputs=[c for _, c in pairs],
                retain_graph=True,
                create_graph=create_graph,
                allow_unused=True,
            )
        for i, g in zip(wanted, got):
            grads[i] = g
    return grads


def vjp(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product of ``func`` at ``inputs`` (as
    ``torch.autograd.functional.vjp``). ``v`` may be omitted when func returns one single-element
    Tensor. The product has the form of ``inputs`` (a Tensor, or a tuple)."""
    from .grad_mode import enable_grad

    is_inputs_tuple, inputs = _as_inputs(inputs, "inputs", "vjp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _as_inputs(func(*inputs), "outputs of the function", "vjp")
    _check_outputs(outputs, strict, "vjp")
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "vjp: v can only be omitted when the function returns a single Tensor with a single element"
            )
        v = (make(np.ones(outputs[0].shape, outputs[0].dtype)),)
    else:
        v = _check_v(v, outputs, is_outputs_tuple, "vjp", "outputs")
    grads = _zeros_where_none(_reverse(outputs, inputs, v, create_graph), inputs, strict, "vjp", "input")
    return _form(_finish(outputs, create_graph), is_outputs_tuple), _form(_finish(grads, create_graph), is_inputs_tuple)


def jvp(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), J v): the Jacobian-vector product of ``func`` at ``inputs`` along ``v`` (as
    ``torch.autograd.functional.jvp``), by forward mode: one forward pass carrying the tangents
    ``v``. ``v`` may be omitted when there is one single-element input. The product has the form
    of func's output."""
    from . import forward_ad as fw

    is_inputs_tuple, inputs = _as_inputs(inputs, "inputs", "jvp")
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("jvp: v can only be omitted when the input is a single Tensor with a single element")
        v = (make(np.ones(inputs[0].shape, inputs[0].dtype)),)
    else:
        v = _check_v(v, inputs, is_inputs_tuple, "jvp", "inputs")
    from .grad_mode import enable_grad, set_grad_enabled

    with set_grad_enabled(create_graph):
        base = [t if create_graph and t.requires_grad else t.detach() for t in inputs]
        with fw.dual_level():
            duals = [fw.make_dual(t, d) for t, d in zip(base, v)]
            with enable_grad() if create_graph else set_grad_enabled(False):
                is_outputs_tuple, outputs = _as_inputs(func(*duals), "outputs of the function", "jvp")
            unpacked = [fw.unpack_dual(o) for o in outputs]
    if strict and any(u.tangent is None for u in unpacked):
        raise RuntimeError(
            "jvp: an output of the function is independent of the inputs, which strict mode does not allow"
        )
    values = tuple(u.primal for u in unpacked)
    tangents = tuple(
        make(np.zeros(o.shape, o.dtype)) if u.tangent is None else u.tangent for u, o in zip(unpacked, values)
    )
    return _form(_finish(values, create_graph), is_outputs_tuple), _form(
        _finish(tangents, create_graph), is_outputs_tuple
    )


def jacobian(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs`` (as ``torch.autograd.functional.jacobian``): for an
    output of shape S and an input of shape T, a Tensor of shape S + T. With several inputs (a
    tuple) a tuple over the inputs; with several outputs a tuple over the outputs (of tuples).
    ``strategy='reverse-mode'`` takes a vector-Jacobian product per output element,
    ``'forward-mode'`` a Jacobian-vector product per input element (cheaper for few inputs);
    ``vectorize`` is accepted for torch's signature (the rows are computed one by one either way)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    from .grad_mode import enable_grad
    from .tensor_functions import stack

    is_inputs_tuple, inputs = _as_inputs(inputs, "inputs", "jacobian")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _as_inputs(func(*inputs), "outputs of the function", "jacobian")
    _check_outputs(outputs, strict, "jacobian")
    blocks: list[list[Any]] = [[None] * len(inputs) for _ in outputs]
    if strategy == "reverse-mode":
        for i, o in enumerate(outputs):
            rows: list[list[Tensor]] = [[] for _ in inputs]
            for k in range(o.numel()):
                basis = np.zeros(o.numel(), o.dtype)
                basis[k] = 1
                v: Any = [
                    make(basis.reshape(o.shape)) if j == i else make(np.zeros(p.shape, p.dtype))
                    for j, p in enumerate(outputs)
                ]
                grads = _reverse(outputs, inputs, v, create_graph)
                grads = _zeros_where_none(grads, inputs, strict and o.requires_grad, "jacobian", "input")
                for j, g in enumerate(grads):
                    rows[j].append(g)
            for j, t in enumerate(inputs):
                block = stack(rows[j]) if rows[j] else make(np.zeros((0,) + t.shape, t.dtype))
                blocks[i][j] = block.reshape(o.shape + t.shape)
    else:
        for j, t in enumerate(inputs):
            columns: list[list[Tensor]] = [[] for _ in outputs]
            for k in range(t.numel()):
                basis = np.zeros(t.numel(), t.dtype)
                basis[k] = 1
                v = tuple(
                    make(basis.reshape(t.shape)) if m == j else make(np.zeros(p.shape, p.dtype))
                    for m, p in enumerate(inputs)
                )
                _, tangents = jvp(func, inputs, v, create_graph=create_graph)
                tangents = tangents if is_outputs_tuple else (tangents,)
                for i, d in enumerate(tangents):
                    columns[i].append(d)
            for i, o in enumerate(outputs):
                block = stack(columns[i], dim=-1) if columns[i] else make(np.zeros(o.shape + (0,), o.dtype))
                blocks[i][j] = block.reshape(o.shape + t.shape)
    blocks = [[b if create_graph else b.detach() for b in row] for row in blocks]
    if is_outputs_tuple:
        return tuple(_form(tuple(row), is_inputs_tuple) for row in blocks)
    return _form(tuple(blocks[0]), is_inputs_tuple)


def hessian(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of the scalar function ``func`` at ``inputs`` (as
    ``torch.autograd.functional.hessian``): the Jacobian of its gradient; shape T + T for an input
    of shape T, a tuple of tuples for several inputs."""
    is_inputs_tuple, inputs = _as_inputs(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor):
            raise RuntimeError("hessian: the function must return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(f"hessian: the function must return a single-element Tensor, got shape {out.shape}")
        _check_outputs((out,), strict, "hessian")
        grads = _zeros_where_none(
            _reverse((out,), xs, (make(np.ones(out.shape, out.dtype)),), True), xs, strict, "hessian", "input"
        )
        return grads

    result = jacobian(
        gradient,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return result if is_inputs_tuple else result[0][0]


def hvp(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), H v): the Hessian of the scalar function ``func`` times ``v`` (as
    ``torch.autograd.functional.hvp``), computed forward-over-reverse: the tangent of the gradient
    along ``v``, one pass of each mode, without forming H."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def vhp(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), v^T H) (as ``torch.autograd.functional.vhp``): for the symmetric Hessian of a
    twice differentiable function the same as hvp."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def _hessian_product(func, inputs, v, create_graph, strict, fn_name):
    from . import forward_ad as fw
    from .grad_mode import enable_grad

    is_inputs_tuple, inputs = _as_inputs(inputs, "inputs", fn_name)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn_name}: v can only be omitted when the input is a single Tensor with a single element"
            )
        v = (make(np.ones(inputs[0].shape, inputs[0].dtype)),)
    else:
        v = _check_v(v, inputs, is_inputs_tuple, fn_name, "inputs")
    with enable_grad():
        prepared = _prepare(inputs, create_graph)
        with fw.dual_level():
            duals = [fw.make_dual(t, d) for t, d in zip(prepared, v)]
            out = func(*duals)
            if not isinstance(out, Tensor):
                raise RuntimeError(f"{fn_name}: the function must return a single Tensor")
            if out.numel() != 1:
                raise RuntimeError(
                    f"{fn_name}: the function must return a single-element Tensor, got shape {out.shape}"
                )
            _check_outputs((out,), strict, fn_name)
            grads = _zeros_where_none(
                _reverse((out,), duals, (make(np.ones(out.shape, out.dtype)),), True), duals, strict, fn_name, "input"
            )
            products = [fw.unpack_dual(g).tangent for g in grads]
            value = fw.unpack_dual(out).primal
    filled = tuple(make(np.zeros(t.shape, t.dtype)) if p is None else p for p, t in zip(products, inputs))
    return _finish((value,), create_graph)[0], _form(_finish(filled, create_graph), is_inputs_tuple)
