"""Finite-difference checks of the analytic gradients (central differences in float64)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import engine
from .grad_mode import enable_grad


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central finite differences."""


def _tensor_inputs(inputs):
    from .tensor import Tensor

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} has dtype {t.dtype}; finite differences need float64 inputs (use t.double())"
            )
    return inputs


def _outputs(fn, inputs):
    """fn's floating Tensor outputs (those that do not require grad have a zero derivative)."""
    from .tensor import Tensor

    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _compare(name, analytic, numeric, atol, rtol, label):
    err = np.abs(analytic - numeric)
    bad = err > atol + rtol * np.abs(numeric)
    if bad.any() or np.isnan(analytic).any() != np.isnan(numeric).any():
        flat = int(np.argmax(np.where(np.isnan(err), np.inf, err - atol - rtol * np.abs(numeric))))
        idx = np.unravel_index(flat, analytic.shape) if analytic.ndim else ()
        raise GradcheckError(
            f"{label} for {name} (shape {analytic.shape}) disagrees with finite differences; worst "
            f"element {tuple(int(i) for i in idx)}: analytic {float(analytic[idx])!r}, numeric {float(numeric[idx])!r} "
            f"(atol={atol}, rtol={rtol})"
        )


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check d fn / d inputs against central differences (fn(x + eps) - fn(x - eps)) / 2 eps.

    ``inputs``: a Tensor or a sequence; those that require grad (float64) are checked. Every
    output that requires grad is checked through a random projection (a vector-Jacobian product
    with random cotangents), which tests the whole Jacobian with one backward. Returns True or
    raises GradcheckError naming the input and its worst element.
    """
    inputs = _tensor_inputs(inputs)
    rng = np.random.default_rng(0)
    with enable_grad():
        outs = _outputs(fn, inputs)
        if not outs:
            raise GradcheckError("gradcheck: the function returned no floating Tensor output")
        cotangents = [rng.standard_normal(o.shape) for o in outs]
        wrt = [t for t in inputs if getattr(t, "requires_grad", False)]
        live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
        analytic = [None] * len(wrt)
        if live:
            analytic = engine.backward([o for o, _ in live], [c.astype(o.dtype) for o, c in live], inputs=wrt)

    def projected(values):
        return sum(float(np.sum(o.data.astype(np.float64) * c)) for o, c in zip(values, cotangents))

    for pos, t in enumerate(inputs):
        if not getattr(t, "requires_grad", False):
            continue
        k = next(i for i, w in enumerate(wrt) if w is t)
        a = analytic[k]
        a = np.zeros(t.shape) if a is None else np.asarray(getattr(a, "data", a), dtype=np.float64)
        numeric = np.zeros(t.shape)
        data = t.data  # perturbed in place, element by element (a reshape(-1) of a non-contiguous array is a copy)
        with enable_grad():  # fn may itself differentiate (gradgradcheck)
            for j in np.ndindex(data.shape):
                orig = data[j]
                data[j] = orig + eps
                plus = projected(_outs_nograd(fn, inputs))
                data[j] = orig - eps
                minus = projected(_outs_nograd(fn, inputs))
                data[j] = orig
                numeric[j] = (plus - minus) / (2 * eps)
        _compare(f"input {pos}", a, numeric, atol, rtol, "gradient")
    return True


def _outs_nograd(fn, inputs):
    return _outputs(fn, inputs)


def gradgradcheck(
    fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> bool:
    """Check second derivatives: gradcheck of x -> ag.grad(fn(x), x, v, create_graph=True) for a
    random cotangent v, i.e. of the backward pass itself as recorded under create_graph."""
    from .functional import grad
    from .tensor import make

    inputs = _tensor_inputs(inputs)
    rng = np.random.default_rng(1)
    with enable_grad():
        cotangents = [make(rng.standard_normal(o.shape).astype(o.dtype)) for o in _outputs(fn, inputs)]

    def first_derivative(*xs):
        outs = _outputs(fn, xs)
        wrt = [t for t in xs if getattr(t, "requires_grad", False)]
        live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad]
        if not live:
            return tuple(make(np.zeros(t.shape)) for t in wrt)
        gs = grad([o for o, _ in live], wrt, grad_outputs=[c for _, c in live], create_graph=True, allow_unused=True)
        return tuple(make(np.zeros(t.shape)) if g is None else g for g, t in zip(gs, wrt))

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol)
