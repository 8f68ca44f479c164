"""Per-coordinate adaptive learning rates: Adagrad, Adadelta and RMSprop."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from . import _blas
from ._scratch import gradient, scratch
from ._state import Buffer, Count, count
from .optimizer import Optimizer, _check_eps, _check_lr, _check_nonneg, _check_real

__all__ = ["Adagrad", "Adadelta", "RMSprop", "adagrad", "adadelta", "rmsprop"]


def adagrad(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    state_sums: list[np.ndarray],
    steps: list[int],
    *,
    lr: float,
    weight_decay: float,
    lr_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    r"""One Adagrad step on the arrays ``params``, in place (PyTorch's update rule).

    Adagrad (Duchi et al., 2011) gives each coordinate its own learning rate, divided by the root
    of the sum of its past squared gradients, so rarely updated features take bigger steps::

        input: η (lr), λ (weight decay), η_decay (lr decay), ε, G_0 (initial accumulator)
        for t = 1, 2, ...:
            g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
            if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
            η̃ ← η / (1 + (t − 1) η_decay)
            G_t ← G_{t−1} + g_t²                           (elementwise)
            θ_t ← θ_{t−1} − η̃ g_t / (√G_t + ε)

    The lecture (after Ruder) writes θ_{t+1,i} = θ_{t,i} − η / √(G_{t,ii} + ε) · g_{t,i}; PyTorch, and
    this function, add ε outside the root. ``steps`` holds each parameter's step count before this
    step; it is incremented in place.
    """
    for i, (param, grad, state_sum) in enumerate(zip(params, grads, state_sums)):
        steps[i] += 1
        step = steps[i]
        g = gradient(grad, param, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        # the formulas above, operation for operation, in place through a scratch array
        state_sum += np.multiply(g, g, out=scratch(g, slot=1))
        std = np.sqrt(state_sum, out=scratch(state_sum, slot=1))
        std += eps
        tmp = np.divide(g, std, out=scratch(g, std, slot=1))
        tmp *= clr
        param -= tmp
        del g, std, tmp  # (freed before the next parameter's temporaries are allocated)


def adadelta(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    square_avgs: list[np.ndarray],
    acc_deltas: list[np.ndarray],
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    r"""One Adadelta step on the arrays ``params``, in place (PyTorch's update rule).

    Adadelta (Zeiler, 2012) replaces Adagrad's growing sum by a decaying average E[g²] and
    multiplies by the RMS of past updates, so the step has the units of θ and needs no global
    learning rate (``lr`` only scales it, default 1)::

        input: η (lr), ρ (decay), ε, λ (weight decay)
        E[g²]_0 ← 0,  E[Δθ²]_0 ← 0
        for t = 1, 2, ...:
            g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
            if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
            E[g²]_t ← ρ E[g²]_{t−1} + (1 − ρ) g_t²
            Δθ_t ← √(E[Δθ²]_{t−1} + ε) / √(E[g²]_t + ε) · g_t    (RMS[Δθ]_{t−1} / RMS[g]_t · g_t)
            E[Δθ²]_t ← ρ E[Δθ²]_{t−1} + (1 − ρ) Δθ_t²
            θ_t ← θ_{t−1} − η Δθ_t
    """
    for param, grad, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
        g = gradient(grad, param, weight_decay, maximize)
        # the formulas above, operation for operation, in place through scratch arrays
        square_avg *= rho
        tmp = np.multiply(g, g, out=scratch(g, slot=1))
        tmp *= 1 - rho
        square_avg += tmp  # E[g²] ← ρ E[g²] + (1 − ρ) g²
        std = np.add(square_avg, eps, out=scratch(square_avg, slot=1))
        std = np.sqrt(std, out=std)  # RMS[g]
        delta = np.add(acc_delta, eps, out=scratch(acc_delta, slot=2))
        delta = np.sqrt(delta, out=delta)
        delta = np.divide(delta, std, out=scratch(delta, std, slot=2))
        delta = np.multiply(delta, g, out=scratch(delta, g, slot=2))  # Δθ = RMS[Δθ] / RMS[g] · g
        acc_delta *= rho
        tmp = np.multiply(delta, delta, out=scratch(delta, slot=1))
        tmp *= 1 - rho
        acc_delta += tmp  # E[Δθ²] ← ρ E[Δθ²] + (1 − ρ) Δθ²
        tmp = np.multiply(delta, lr, out=scratch(delta, slot=1))
        param -= tmp
        del g, std, delta, tmp  # (freed before the next parameter's temporaries are allocated)


def rmsprop(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    square_avgs: list[np.ndarray],
    grad_avgs: list[np.ndarray | None],
    momentum_buffers: list[np.ndarray | None],
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    r"""One RMSprop step on the arrays ``params``, in place (PyTorch's update rule).

    RMSprop (Hinton, lecture 6e) divides the gradient by a running root mean square of recent
    gradients, E[g²]_t = α E[g²]_{t−1} + (1 − α) g_t² (the lecture's γ = 0.9 is α here, default
    0.99)::

        input: η (lr), α (smoothing), ε, λ (weight decay), μ (momentum), centered, maximize
        v_0 ← 0,  ḡ_0 ← 0,  b_0 ← 0
        for t = 1, 2, ...:
            g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
            if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
            v_t ← α v_{t−1} + (1 − α) g_t²
            if centered:                                   (divide by an estimate of the variance)
                ḡ_t ← α ḡ_{t−1} + (1 − α) g_t
                s ← √(v_t − ḡ_t²) + ε
            else:
                s ← √v_t + ε
            if μ > 0:
                b_t ← μ b_{t−1} + g_t / s
                θ_t ← θ_{t−1} − η b_t
            else:
                θ_t ← θ_{t−1} − η g_t / s
    """
    for i, (param, grad, square_avg) in enumerate(zip(params, grads, square_avgs)):
        g = gradient(grad, param, weight_decay, maximize)
        # the formulas above in place through scratch arrays, with BLAS's axpy and axpby where they
        # save passes (optim/_blas.py)
        tmp = np.multiply(g, g, out=scratch(g, slot=1))
        tmp *= 1 - alpha
        if not _blas.scale_add(alpha, square_avg, tmp):  # v ← α v + (1 − α) g², in one pass
            square_avg *= alpha
            square_avg += tmp
        if centered:
            grad_avg = grad_avgs[i]
            assert grad_avg is not None  # (kept when centered)
            tmp = np.subtract(g, grad_avg, out=scratch(g, grad_avg, slot=1))
            if not _blas.axpy(1 - alpha, tmp, grad_avg):  # ḡ ← ḡ + (1 − α)(g − ḡ), one rounding: torch's lerp
                tmp *= 1 - alpha
                grad_avg += tmp
            avg = np.multiply(grad_avg, grad_avg, out=scratch(grad_avg, slot=1))
            avg = np.subtract(square_avg, avg, out=scratch(square_avg, avg, slot=1))
        else:
            avg = square_avg
        avg = np.sqrt(avg, out=scratch(avg, slot=1))
        avg += eps  # s
        tmp = np.divide(g, avg, out=scratch(g, avg, slot=1))  # g / s
        if momentum > 0:
            buf = momentum_buffers[i]
            assert buf is not None  # (kept when momentum > 0)
            if not _blas.scale_add(momentum, buf, tmp):  # b ← μ b + g / s
                buf *= momentum
                buf += tmp
            tmp = buf
        if not _blas.axpy(-lr, tmp, param):  # θ − η (g / s or b), in one pass
            param -= np.multiply(tmp, lr, out=scratch(tmp, slot=1))
        del g, avg, tmp  # (freed before the next parameter's temporaries are allocated)


class Adagrad(Optimizer):
    """Adagrad, PyTorch's ``torch.optim.Adagrad``; the update is :func:`adagrad`.

    Args: lr (1e-2), lr_decay (0), weight_decay (0), initial_accumulator_value (0), eps (1e-10),
    maximize (False), project (None: the default projection of every group, see :class:`Optimizer`).
    State per parameter: ``step`` and ``sum`` (created at construction, as torch).
    """

    _state_spec = (Count("step"), Buffer("sum", fill=lambda group: group["initial_accumulator_value"]))

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
            project=project,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:  # (torch's Adagrad makes its state here, not on the first step)
            self._lazy_state(group, group["params"])

    def _validate_group(self, group):
        _check_lr("Adagrad", group)
        _check_nonneg("Adagrad", group, "lr_decay", "weight_decay", "initial_accumulator_value")
        _check_eps("Adagrad", group)

    def _update(self, group, params, grads, state):
        adagrad(
            params,
            grads,
            state["sum"],
            state["step"],
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            lr_decay=group["lr_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )


class Adadelta(Optimizer):
    """Adadelta, PyTorch's ``torch.optim.Adadelta``; the update is :func:`adadelta`.

    Args: lr (1.0), rho (0.9), eps (1e-6), weight_decay (0), maximize (False), project (None: the
    default projection of every group, see :class:`Optimizer`). State per parameter: ``step``,
    ``square_avg`` (E[g²]) and ``acc_delta`` (E[Δθ²]).
    """

    _state_spec = (Count("step"), Buffer("square_avg"), Buffer("acc_delta"))

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, project=project)
        )

    def _validate_group(self, group):
        _check_lr("Adadelta", group)
        _check_real("Adadelta", group, "rho")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho={group['rho']!r}; rho must be in [0, 1]")
        _check_eps("Adadelta", group)
        _check_nonneg("Adadelta", group, "weight_decay")

    def _update(self, group, params, grads, state):
        adadelta(
            params,
            grads,
            state["square_avg"],
            state["acc_delta"],
            lr=group["lr"],
            rho=group["rho"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
        count(state["step"])


class RMSprop(Optimizer):
    """RMSprop, PyTorch's ``torch.optim.RMSprop``; the update is :func:`rmsprop`.

    Args: lr (1e-2), alpha (0.99), eps (1e-8), weight_decay (0), momentum (0), centered (False),
    maximize (False), project (None: the default projection of every group, see :class:`Optimizer`).
    State per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` (when momentum > 0) and
    ``grad_avg`` (when centered), each created on the first step that needs it.
    """

    _state_spec = (
        Count("step"),
        Buffer("square_avg"),
        Buffer("momentum_buffer", when=lambda group: group["momentum"] > 0),
        Buffer("grad_avg", when=lambda group: group["centered"]),
    )

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
            project=project,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_lr("RMSprop", group)
        _check_eps("RMSprop", group)
        _check_nonneg("RMSprop", group, "momentum", "weight_decay", "alpha")

    def _update(self, group, params, grads, state):
        rmsprop(
            params,
            grads,
            state["square_avg"],
            state["grad_avg"],
            state["momentum_buffer"],
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            centered=group["centered"],
            maximize=group["maximize"],
        )
        count(state["step"])
