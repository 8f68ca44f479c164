"""nn.utils: gradient clipping (clip_grad_norm_, clip_grad_value_) and checkpoint_sequential."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from autograd import Tensor
from autograd.extend import leaf

__all__ = ["clip_grad_norm_", "clip_grad_value_", "checkpoint_sequential"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _scale_(grad: Tensor, factor) -> None:
    if grad.data.flags.writeable:
        np.multiply(grad.data, factor, out=grad.data, casting="unsafe")
    else:
        grad.data = (grad.data * factor).astype(grad.dtype, copy=False)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Rescale the gradients so that their joint norm is at most ``max_norm`` (the lecture's clipping):

        total = || (||g_1||_p, ..., ||g_k||_p) ||_p      (the p-norm of all gradients as one vector)
        if total > max_norm:  g <- g * max_norm / (total + 1e-6)

    ``norm_type`` p may be ``inf`` (the largest absolute entry). Gradients are modified in place.
    Returns the total norm *before* clipping, as a 0-d Tensor (PyTorch's value).
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return leaf(np.array(0.0, dtype=np.float32))
    if norm_type == math.inf:
        norms = [np.max(np.abs(g.data)) if g.data.size else np.zeros((), g.dtype) for g in grads]
        total = np.max(np.stack([np.asarray(n, dtype=np.result_type(*[g.dtype for g in grads])) for n in norms]))
    else:
        norms = [np.sum(np.abs(g.data) ** norm_type) ** (1.0 / norm_type) for g in grads]
        total = np.sum(np.stack(norms) ** norm_type) ** (1.0 / norm_type)
    total = np.asarray(total)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients is non-finite ({float(total)}), so it "
            f"cannot be clipped. Pass error_if_nonfinite=False to clip anyway (grads become NaN)."
        )
    coef = min(max_norm / (float(total) + 1e-6), 1.0)
    if coef < 1.0 or not np.isfinite(total):
        for g in grads:
            _scale_(g, g.dtype.type(max_norm / (float(total) + 1e-6)))
    return leaf(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_value must be non-negative, got {clip_value}")
    for g in _grads(parameters):
        if g.data.flags.writeable:
            np.clip(g.data, -clip_value, clip_value, out=g.data)
        else:
            g.data = np.clip(g.data, -clip_value, clip_value)


def checkpoint_sequential(
    functions, segments: int, input, use_reentrant: bool | None = None, preserve_rng_state: bool = True
):
    """Run the layers ``functions`` (an ``nn.Sequential`` or a list of callables) on ``input`` in
    ``segments`` checkpointed pieces (``torch.utils.checkpoint.checkpoint_sequential``): each piece
    but the last keeps only its input, and its inside is recomputed during backward (ag.checkpoint),
    so the activations of one piece at a time are held instead of all of them. The gradients are
    those of the plain run."""
    from autograd import checkpoint

    layers = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments!r}")
    if segments > len(layers):
        raise ValueError(
            f"checkpoint_sequential: {segments} segments for {len(layers)} layers: give at most one segment a layer"
        )

    def run(start, end):
        def forward(x):
            for layer in layers[start : end + 1]:
                x = layer(x)
            return x

        return forward

    size = len(layers) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve_rng_state)
    return run(end + 1, len(layers) - 1)(input)
