"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from . import _blas
from ._scratch import gradient, scratch
from ._state import Buffer
from .optimizer import Optimizer, _check_lr, _check_nonneg, _check_real

__all__ = ["SGD", "sgd"]

TASK_BYTES = 4 << 20  # the most bytes of a task of the chunked pass when the update runs on BLAS (see SGD)


def sgd(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    momentum_buffers: list[np.ndarray | None],
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    r"""One SGD step on the arrays ``params``, in place (PyTorch's update rule).

    The lecture's gradient descent θ_{k+1} = θ_k − η_k g_k, where g is ∇_θ J(θ) on the whole data set
    (batch), on one example ∇_θ J(θ; x⁽ⁱ⁾, y⁽ⁱ⁾) (stochastic) or on a mini-batch
    ∇_θ J(θ; x⁽ⁱ:ⁱ⁺ⁿ⁾, y⁽ⁱ:ⁱ⁺ⁿ⁾) (the caller's choice of loss decides which), with momentum
    (Polyak) and Nesterov's accelerated gradient as options::

        input: η (lr), μ (momentum), τ (dampening), λ (weight decay), nesterov, maximize
        for each parameter θ with gradient ∇f(θ):
            g ← −∇f(θ) if maximize else ∇f(θ)
            if λ ≠ 0:  g ← g + λ θ                      (L2 penalty λ/2 ‖θ‖²)
            if μ ≠ 0:
                b ← g                    on the first step
                b ← μ b + (1 − τ) g      afterwards      (velocity)
                g ← g + μ b  if nesterov else  b
            θ ← θ − η g

    The lecture writes momentum as v_t = γ v_{t−1} + η g_t, θ ← θ − v_t; PyTorch (and this
    function) keep η outside the buffer, b_t = μ b_{t−1} + g_t, θ ← θ − η b_t, which is the same
    trajectory while η is constant (v_t = η b_t). Nesterov's look-ahead gradient ∇f(θ − γ v) is
    rewritten, as in Sutskever et al. (2013), as the step θ ← θ − η (g + μ b) taken from the
    current point. ``momentum_buffers[i]`` is None before the first step and is then created
    (the list is updated in place).
    """
    for i, (param, grad) in enumerate(zip(params, grads)):
        g = gradient(grad, param, weight_decay, maximize)
        # the formulas above in place, through scratch arrays (slot 0 may hold g)
        if momentum != 0:
            buf = momentum_buffers[i]
            if buf is None:
                buf = np.array(g, copy=True)
                momentum_buffers[i] = buf
            elif dampening == 0:
                if not _blas.scale_add(momentum, buf, g):  # μ b + g in one pass, rounded as torch's
                    buf *= momentum
                    buf += g  # ((1 − 0)·g is g: a pass fewer)
            else:
                buf *= momentum
                if not _blas.axpy(1 - dampening, g, buf):  # + (1 − τ) g, one rounding, as torch's add_
                    buf += np.multiply(g, 1 - dampening, out=scratch(g, slot=1))
            if nesterov:
                look = scratch(g, buf, slot=1)
                np.copyto(look, g)
                if not _blas.axpy(momentum, buf, look):  # g + μ b, one rounding, as torch's add_(b, alpha=μ)
                    np.add(g, np.multiply(buf, momentum, out=look), out=look)  # (two roundings)
                g = look
            else:
                g = buf
        if not _blas.axpy(-lr, g, param):  # θ − η g, one rounding, as torch's add_(g, alpha=−η)
            param -= np.multiply(g, lr, out=scratch(g, slot=1))
        del g  # (freed before the next parameter's temporaries are allocated)


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), PyTorch's ``torch.optim.SGD``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate η (default 1e-3, as in torch).
        momentum: momentum factor μ (default 0).
        dampening: dampening τ of the momentum (default 0).
        weight_decay: L2 penalty λ (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing it.
        project: the projection applied after every step to the parameters of every group that
            does not give its own (see :class:`Optimizer`); None: unconstrained.

    The update is :func:`sgd`; per parameter the state holds ``momentum_buffer`` once momentum is used.
    """

    # torch makes the buffer on a parameter's first step with momentum, as a copy of that gradient
    _state_spec = (Buffer("momentum_buffer", when=lambda group: group["momentum"] != 0, by_update=True),)
    # With BLAS, the update is two passes that stream through their arrays (optim/_blas.py): cutting
    # them into cache-sized chunks gains nothing and costs calls. The passes alone over W3's 1.86M float32
    # numbers on 2 threads: in chunks of 0.9 MiB 0.43 ms, in tasks of 3.7 MB (one a thread) 0.32 ms.
    _task_bytes = TASK_BYTES if _blas.available() else None

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            project=project,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_lr("SGD", group)
        _check_nonneg("SGD", group, "momentum", "weight_decay")
        _check_real("SGD", group, "dampening")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum="
                f"{group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(self, group, params, grads, state):
        sgd(
            params,
            grads,
            state["momentum_buffer"],
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
