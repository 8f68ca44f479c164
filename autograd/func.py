"""ag.func (``torch.func``): function transforms that compose.

``grad(f)`` is a function that returns the gradient of ``f``; ``jvp``/``vjp`` evaluate a function
with its Jacobian-vector or vector-Jacobian product; ``jacrev``/``jacfwd`` give Jacobians by reverse
mode (a VJP per output element) or forward mode (a JVP per input element); ``hessian`` is
``jacfwd(jacrev(f))``; ``vmap`` maps a function over a batch dimension with the op table's
batching rules (one pass over the batch, see autograd/vmap.py). They compose: ``jacrev(jacfwd(f))``,
``vmap(grad(f))`` (per-sample gradients), ``grad(grad(f))``.

Each transform differentiates with respect to fresh copies of its arguments, linked to the
caller's values: a transform inside another (or on tensors that require grad) records what it
computes, so the outer one can differentiate it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import forward_ad as fw
from . import vmap as _vmap
from .functional import grad as _grad
from .grad_mode import enable_grad, state
from .tensor import Tensor, make

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap"]


def _argnums(argnums, n, fn_name):
    many = isinstance(argnums, (tuple, list))
    nums = tuple(argnums) if many else (argnums,)
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, int) or not -n <= a < n:
            raise RuntimeError(f"{fn_name}: argnums {argnums!r} is out of range for {n} positional argument(s)")
    return many, tuple(a % n for a in nums)


def _leaves(tree):
    """The Tensors of a nest of lists, tuples and dicts (torch.func's pytrees), in order."""
    if isinstance(tree, Tensor):
        return [tree]
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in _leaves(item)]
    if isinstance(tree, dict):
        return [t for key in tree for t in _leaves(tree[key])]
    raise TypeError(
        f"expected a Tensor (or lists, tuples and dicts of them) to differentiate with respect to, got "
        f"{type(tree).__name__}"
    )


def _rebuild(tree, values):
    """``tree`` with its Tensors replaced, in order, by ``values`` (an iterator)."""
    if isinstance(tree, Tensor):
        return next(values)
    if isinstance(tree, (list, tuple)):
        items = [_rebuild(item, values) for item in tree]
        return type(tree)(items) if isinstance(tree, list) else tuple(items)
    return {key: _rebuild(tree[key], values) for key in tree}


def _linked_tree(tree):
    return _rebuild(tree, iter([_linked(t) for t in _leaves(tree)]))


def _linked(x):
    """A copy of tensor ``x`` to differentiate with respect to: recorded on ``x`` (so outer
    transforms see through it) when x requires grad, a new leaf otherwise; tangents and batching
    come along."""
    if x.requires_grad:
        return x.view(x.shape)
    return (x * 1 if x._tangents is not None else x.detach()).requires_grad_(True) if x.dtype.kind == "f" else x


def _outer_needs_graph(values):
    """Whether what a transform computes must be recorded for an outer transform (or caller)."""
    return any(isinstance(v, Tensor) and (v.requires_grad or v._tangents) for v in values)


def _recorded(outer):
    """Whether a transform's backward runs on Tensors (recorded): for an outer transform, and inside
    vmap, whose batching rules apply to the Tensors of the recorded rules (not to bare arrays); the
    results are detached afterwards unless ``outer``."""
    return outer or bool(state.vmap_levels)


def _split_aux(out, has_aux, fn_name):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fn_name}(f, has_aux=True): f must return a pair (output, aux)")
    return out


def grad_and_value(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning ``(gradient, value)`` of the scalar function ``func`` at its arguments
    (``((gradient, (value, aux))`` with ``has_aux``); the gradient is with respect to the argument
    ``argnums`` (an int, or a tuple of ints for a tuple of gradients)."""

    def wrapper(*args, **kwargs):
        many, nums = _argnums(argnums, len(args), "grad")
        outer = _outer_needs_graph([t for i in nums for t in _leaves(args[i])])
        with enable_grad():
            inner = list(args)
            for i in nums:
                inner[i] = _linked_tree(args[i])
            out, aux = _split_aux(func(*inner, **kwargs), has_aux, "grad")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad: f must return a Tensor, got {type(out).__name__}")
            if out.numel() != 1:
                raise RuntimeError(f"grad: f must return a scalar (one-element) Tensor, got shape {out.shape}")
            wrt = [t for i in nums for t in _leaves(inner[i])]
            if out.requires_grad:
                grads = _grad(out, wrt, create_graph=_recorded(outer), allow_unused=True)
            else:
                grads = (None,) * len(wrt)
        flat = iter([_zeros_like(w) if g is None else (g if outer else g.detach()) for g, w in zip(grads, wrt)])
        grads = tuple(_rebuild(inner[i], flat) for i in nums)  # (each in its argument's structure)
        value = out if outer else out.detach()
        result = grads if many else grads[0]
        return (result, (value, aux)) if has_aux else (result, value)

    return wrapper


def grad(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of the scalar function ``func`` as a function (``torch.func.grad``)."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def _zeros_like(t):
    from .creation import zeros_like

    return zeros_like(t)


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(func(*primals), vjp_fn)`` (and ``aux``): ``vjp_fn(cotangents)`` gives the vector-Jacobian
    product with respect to each primal, as a tuple (``torch.func.vjp``)."""
    outer = _outer_needs_graph(primals)
    with enable_grad():
        inner = [_linked(p) for p in primals]
        out, aux = _split_aux(func(*inner), has_aux, "vjp")
    outputs = out if isinstance(out, tuple) else (out,)

    def vjp_fn(*cotangents):
        cts = cotangents[0] if len(cotangents) == 1 and isinstance(cotangents[0], tuple) else cotangents
        if len(cts) != len(outputs):
            raise RuntimeError(f"vjp_fn: expected {len(outputs)} cotangent(s), one per output, got {len(cts)}")
        pairs = [(o, c) for o, c in zip(outputs, cts) if o.requires_grad]
        for o, c in zip(outputs, cts):
            if c.shape != o.shape:
                raise RuntimeError(f"vjp_fn: a cotangent has shape {c.shape} but its output has shape {o.shape}")
        create = _recorded(outer) or any(c.requires_grad for c in cts)
        with enable_grad():
            grads = (
                _grad(
                    [o for o, _ in pairs],
                    inner,
                    grad_outputs=[c for _, c in pairs],
                    retain_graph=True,
                    create_graph=create,
                    allow_unused=True,
                )
                if pairs
                else (None,) * len(inner)
            )
        keep = outer or any(c.requires_grad for c in cts)
        return tuple(_zeros_like(p) if g is None else (g if keep else g.detach()) for g, p in zip(grads, inner))

    value = out if outer else _detached(out)
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def _detached(out):
    return tuple(o.detach() for o in out) if isinstance(out, tuple) else out.detach()


def jvp(func: Callable[..., Any], primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False) -> Any:
    """``(func(*primals), J tangents)`` (and ``aux``) by forward mode (``torch.func.jvp``):
    ``primals`` and ``tangents`` are tuples of Tensors of the same shapes."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise RuntimeError("jvp: primals and tangents must be tuples of Tensors (e.g. jvp(f, (x,), (t,)))")
    if len(primals) != len(tangents):
        raise RuntimeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents: give one tangent per primal")
    for p, t in zip(primals, tangents):
        if p.shape != t.shape:
            raise RuntimeError(f"jvp: a tangent has shape {t.shape} but its primal has shape {p.shape}")
    with fw.dual_level():
        duals = [fw.make_dual(p, t) for p, t in zip(primals, tangents)]
        out, aux = _split_aux(func(*duals), has_aux, "jvp")
        outputs = out if isinstance(out, tuple) else (out,)
        unpacked = [fw.unpack_dual(o) for o in outputs]
    values = tuple(u.primal for u in unpacked)
    derivs = tuple(_zeros_like(v) if u.tangent is None else u.tangent for u, v in zip(unpacked, values))
    if not _outer_needs_graph(list(primals) + list(tangents)):  # (nothing outside differentiates them)
        values, derivs = _detached(values), _detached(derivs)
    if not isinstance(out, tuple):
        values, derivs = values[0], derivs[0]
    return (values, derivs, aux) if has_aux else (values, derivs)


def _basis(t, k):
    e = np.zeros(t.numel(), t.dtype)
    e[k] = 1
    return make(e.reshape(t.shape))


def jacrev(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False
) -> Callable[..., Any]:
    """The Jacobian of ``func`` by reverse mode, a vector-Jacobian product per output element
    (``torch.func.jacrev``): shape output.shape + input.shape; tuples follow the outputs (outer)
    and a tuple ``argnums`` (inner)."""
    from .tensor_functions import stack

    def wrapper(*args):
        many, nums = _argnums(argnums, len(args), "jacrev")

        def restricted(*chosen):
            full = list(args)
            for i, c in zip(nums, chosen):
                full[i] = c
            return func(*full)

        result = vjp(restricted, *[args[i] for i in nums], has_aux=has_aux)
        out, vjp_fn = result[0], result[1]
        outputs = out if isinstance(out, tuple) else (out,)
        blocks = []
        for j, o in enumerate(outputs):
            rows: list[list[Any]] = [[] for _ in nums]
            for k in range(o.numel()):
                cts = tuple(_basis(o, k) if m == j else _zeros_like(p) for m, p in enumerate(outputs))
                for r, g in zip(rows, vjp_fn(*cts)):
                    r.append(g)
            block = tuple(
                (stack(r) if r else _empty(o, args[i])).reshape(o.shape + args[i].shape) for r, i in zip(rows, nums)
            )
            blocks.append(block if many else block[0])
        jac = tuple(blocks) if isinstance(out, tuple) else blocks[0]
        return (jac, result[2]) if has_aux else jac

    return wrapper


def _empty(o, x):
    return make(np.zeros((0,) + x.shape, np.result_type(o.dtype, x.dtype)))


def jacfwd(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *, randomness: str = "error"
) -> Callable[..., Any]:
    """The Jacobian of ``func`` by forward mode, a Jacobian-vector product per input element
    (``torch.func.jacfwd``): the same shapes and structure as :func:`jacrev`."""
    from .tensor_functions import stack

    def wrapper(*args):
        many, nums = _argnums(argnums, len(args), "jacfwd")
        columns, out, aux = None, None, None
        for j, i in enumerate(nums):
            x = args[i]
            for k in range(max(x.numel(), 0)):
                tangents = tuple(_basis(x, k) if m == j else _zeros_like(args[n]) for m, n in enumerate(nums))
                result = jvp(
                    lambda *chosen: func(*_replace(args, nums, chosen)),
                    tuple(args[n] for n in nums),
                    tangents,
                    has_aux=has_aux,
                )
                out, deriv = result[0], result[1]
                aux = result[2] if has_aux else None
                derivs = deriv if isinstance(out, tuple) else (deriv,)
                if columns is None:
                    columns = [[[] for _ in nums] for _ in derivs]
                for c, d in zip(columns, derivs):
                    c[j].append(d)
        if columns is None:  # no input elements: evaluate once for the output's shape
            out = func(*args)
            out, aux = _split_aux(out, has_aux, "jacfwd")
            columns = [[[] for _ in nums] for _ in (out if isinstance(out, tuple) else (out,))]
        outputs = out if isinstance(out, tuple) else (out,)
        blocks = []
        for o, cols in zip(outputs, columns):
            block = tuple(
                (stack(c, dim=-1) if c else make(np.zeros(o.shape + (0,), o.dtype))).reshape(o.shape + args[i].shape)
                for c, i in zip(cols, nums)
            )
            blocks.append(block if many else block[0])
        jac = tuple(blocks) if isinstance(out, tuple) else blocks[0]
        return (jac, aux) if has_aux else jac

    return wrapper


def _replace(args, nums, chosen):
    full = list(args)
    for i, c in zip(nums, chosen):
        full[i] = c
    return full


def hessian(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The Hessian of the scalar function ``func``: ``jacfwd(jacrev(func))`` (``torch.func.hessian``)."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(
    func: Callable[..., Any],
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """``func`` mapped over a batch dimension (``torch.func.vmap``): ``in_dims`` says which dimension
    of each argument is the batch (an int for all, or one entry per argument, None for an argument
    that is the same for every sample); ``out_dims`` where the batch goes in each output. The
    function runs once, on the whole batch, through the op table's batching rules
    (autograd/vmap.py). ``randomness``: 'error' (random operations inside raise), 'different' (a
    draw per sample) or 'same' (one draw for the batch). ``chunk_size`` is accepted for torch's
    signature (the whole batch is one chunk)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"vmap: randomness must be 'error', 'different' or 'same', got {randomness!r}")

    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(
                f"vmap: in_dims has {len(dims)} entries but the function was given {len(args)} positional argument(s)"
            )
        sizes = set()
        for a, d in zip(args, dims):
            if d is None:
                continue
            if not isinstance(a, Tensor):
                raise ValueError(
                    f"vmap: in_dims {d} is given for an argument of type {type(a).__name__}; only "
                    f"Tensors can be mapped (use None for the others)"
                )
            if a.ndim == 0 or not -a.ndim <= d < a.ndim:
                raise ValueError(f"vmap: in_dims {d} is out of range for an argument of shape {a.shape}")
            sizes.add(a.shape[d])
        if not sizes:
            raise ValueError("vmap: at least one argument must be mapped (in_dims all None)")
        if len(sizes) > 1:
            raise ValueError(
                f"vmap: the mapped dimensions have different sizes {sorted(sizes)}: all must have the batch's size"
            )
        level = _vmap.new_level(randomness)
        inner = [a if d is None else _vmap.enter(a, level, d) for a, d in zip(args, dims)]
        previous = state.vmap_levels
        state.vmap_levels = previous + (level,)
        try:
            out = func(*inner, **kwargs)
        finally:
            state.vmap_levels = previous
        (batch,) = sizes
        return _leave_all(out, out_dims, level, batch)

    return wrapper


def _leave_all(out, out_dims, level, batch):
    if isinstance(out, (tuple, list)):
        dims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(out)
        items = [_leave_all(o, d, level, batch) for o, d in zip(out, dims)]
        return items if isinstance(out, list) else tuple(items)
    if isinstance(out, dict):
        return {k: _leave_all(v, out_dims, level, batch) for k, v in out.items()}
    if not isinstance(out, Tensor):
        raise ValueError(f"vmap: the function must return Tensors (or tuples of them), got {type(out).__name__}")
    result = _vmap.leave(out, level, out_dims)
    if result is out:  # the same for every sample: repeated along the batch dimension
        result = out.unsqueeze(out_dims).expand(
            *[batch if i == out_dims % (out.ndim + 1) else -1 for i in range(out.ndim + 1)]
        )
    return result
