"""Adam and its extensions: Adam (with AMSGrad), AdamW, Adamax and NAdam."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ._scratch import gradient, scratch
from ._state import Buffer, Count, Number
from .optimizer import Optimizer, _check_betas, _check_eps, _check_lr, _check_nonneg

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "adam", "adamax", "nadam"]


def adam(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    exp_avgs: list[np.ndarray],
    exp_avg_sqs: list[np.ndarray],
    max_exp_avg_sqs: list[np.ndarray | None],
    steps: list[int],
    *,
    amsgrad: bool,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    r"""One Adam (or AdamW) step on the arrays ``params``, in place (PyTorch's update rule).

    Adam (Kingma & Ba, 2015) keeps decaying averages of past gradients m_t (momentum) and of past
    squared gradients v_t (as RMSprop), corrects their bias towards zero, and steps by
    η m̂_t / (√v̂_t + ε)::

        input: η (lr), β1, β2 (betas), ε, λ (weight decay), amsgrad, maximize, decoupled
        m_0 ← 0,  v_0 ← 0,  v_0^max ← 0
        for t = 1, 2, ...:
            g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
            if λ ≠ 0:
                decoupled (AdamW):  θ_{t−1} ← θ_{t−1} − η λ θ_{t−1}
                else (Adam, L2):    g_t ← g_t + λ θ_{t−1}
            m_t ← β1 m_{t−1} + (1 − β1) g_t
            v_t ← β2 v_{t−1} + (1 − β2) g_t²
            m̂_t ← m_t / (1 − β1^t)                       (bias corrections)
            if amsgrad:                                    (Reddi et al., 2018)
                v_t^max ← max(v_{t−1}^max, v_t)
                v̂_t ← v_t^max / (1 − β2^t)
            else:
                v̂_t ← v_t / (1 − β2^t)
            θ_t ← θ_{t−1} − η m̂_t / (√v̂_t + ε)

    As PyTorch does, the bias corrections are folded into the step: the denominator is
    √v_t / √(1 − β2^t) + ε and the step size η / (1 − β1^t). ``steps`` is incremented in place.
    """
    for i, (param, grad, exp_avg, exp_avg_sq) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        steps[i] += 1
        step = steps[i]
        if weight_decay != 0 and decoupled_weight_decay:
            param *= 1 - lr * weight_decay
            g = gradient(grad, param, 0, maximize)
        else:
            g = gradient(grad, param, weight_decay, maximize)
        # the same arithmetic, in place through one scratch array (no temporaries to allocate)
        tmp = np.subtract(g, exp_avg, out=scratch(g, exp_avg, slot=1))
        tmp *= 1 - beta1
        exp_avg += tmp  # m ← m + (1 − β1)(g − m), torch's lerp
        exp_avg_sq *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        exp_avg_sq += tmp  # v ← β2 v + (1 − β2) g²
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if amsgrad:
            max_sq = max_exp_avg_sqs[i]
            assert max_sq is not None  # (kept when amsgrad)
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            np.sqrt(max_sq, out=tmp)
        else:
            np.sqrt(exp_avg_sq, out=tmp)
        if step_size != 0:
            # the step size folded into the denominator, one pass fewer:
            # η' m / (√v / √(1 − β2^t) + ε) = m / (√v / (√(1 − β2^t) η') + ε / η')
            tmp *= 1 / (bias_correction2_sqrt * step_size)
            tmp += eps / step_size
            np.divide(exp_avg, tmp, out=tmp)
        else:
            tmp /= bias_correction2_sqrt
            tmp += eps  # the denominator √v / √(1 − β2^t) + ε
            np.divide(exp_avg, tmp, out=tmp)
            tmp *= step_size
        param -= tmp
        # free this parameter's temporaries now, not when the next one's are already allocated
        del tmp, g


def adamax(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    exp_avgs: list[np.ndarray],
    exp_infs: list[np.ndarray],
    steps: list[int],
    *,
    eps: float,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    r"""One Adamax step on the arrays ``params``, in place (PyTorch's update rule).

    Adamax (Kingma & Ba, 2015, §7) replaces Adam's v_t, an L2 norm of past gradients, by the
    L∞ norm u_t = max(β2 u_{t−1}, |g_t|), which needs no bias correction::

        input: η (lr), β1, β2 (betas), ε, λ (weight decay), maximize
        m_0 ← 0,  u_0 ← 0
        for t = 1, 2, ...:
            g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
            if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
            m_t ← β1 m_{t−1} + (1 − β1) g_t
            u_t ← max(β2 u_{t−1}, |g_t| + ε)
            θ_t ← θ_{t−1} − η / (1 − β1^t) · m_t / u_t
    """
    for i, (param, grad, exp_avg, exp_inf) in enumerate(zip(params, grads, exp_avgs, exp_infs)):
        steps[i] += 1
        g = gradient(grad, param, weight_decay, maximize)
        # the formulas above, operation for operation, in place through a scratch array
        tmp = np.subtract(g, exp_avg, out=scratch(g, exp_avg, slot=1))
        tmp *= 1 - beta1
        exp_avg += tmp  # m ← m + (1 − β1)(g − m)
        exp_inf *= beta2
        tmp = np.abs(g, out=scratch(g, slot=1))
        tmp += eps
        np.maximum(exp_inf, tmp, out=exp_inf)
        clr = lr / (1 - beta1 ** steps[i])
        tmp = np.divide(exp_avg, exp_inf, out=scratch(exp_avg, exp_inf, slot=1))
        tmp *= clr
        param -= tmp
        del g, tmp  # (freed before the next parameter's temporaries are allocated)


def nadam(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    exp_avgs: list[np.ndarray],
    exp_avg_sqs: list[np.ndarray],
    mu_products: list[float],
    steps: list[int],
    *,
    beta1: float,
    beta2: float,
    lr: float,
    weight_decay: float,
    momentum_decay: float,
    eps: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    r"""One NAdam step on the arrays ``params``, in place (PyTorch's update rule).

    NAdam (Dozat, 2016) puts Nesterov's look-ahead into Adam: the step uses the momentum of the
    next iteration, with Dozat's warm-up schedule of the momentum coefficient μ_t::

        input: η (lr), β1, β2 (betas), ε, λ (weight decay), ψ (momentum decay), maximize
        m_0 ← 0,  v_0 ← 0,  Π_0 ← 1
        for t = 1, 2, ...:
            g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
            if λ ≠ 0:
                decoupled:  θ_{t−1} ← θ_{t−1} − η λ θ_{t−1}
                else:       g_t ← g_t + λ θ_{t−1}
            μ_t ← β1 (1 − ½ · 0.96^{t ψ}),   μ_{t+1} ← β1 (1 − ½ · 0.96^{(t+1) ψ})
            Π_t ← Π_{t−1} μ_t                               (product of the μ's)
            m_t ← β1 m_{t−1} + (1 − β1) g_t
            v_t ← β2 v_{t−1} + (1 − β2) g_t²
            v̂_t ← v_t / (1 − β2^t)
            θ_t ← θ_{t−1} − η (1 − μ_t) / (1 − Π_t) · g_t / (√v̂_t + ε)
                          − η μ_{t+1} / (1 − Π_t μ_{t+1}) · m_t / (√v̂_t + ε)

    ``mu_products`` and ``steps`` are updated in place.
    """
    for i, (param, grad, exp_avg, exp_avg_sq) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        steps[i] += 1
        step = steps[i]
        g = -grad if maximize else grad
        bias_correction2 = 1 - beta2**step
        if weight_decay != 0 and decoupled_weight_decay:
            param *= 1 - lr * weight_decay
            g = gradient(grad, param, 0, maximize)
        else:
            g = gradient(grad, param, weight_decay, maximize)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_products[i] *= mu
        mu_product = mu_products[i]
        mu_product_next = mu_product * mu_next
        # the formulas above, operation for operation, in place through scratch arrays
        tmp = np.subtract(g, exp_avg, out=scratch(g, exp_avg, slot=1))
        tmp *= 1 - beta1
        exp_avg += tmp  # m ← m + (1 − β1)(g − m)
        exp_avg_sq *= beta2
        tmp = np.multiply(g, g, out=scratch(g, slot=1))
        tmp *= 1 - beta2
        exp_avg_sq += tmp  # v ← β2 v + (1 − β2) g²
        denom = np.divide(exp_avg_sq, bias_correction2, out=scratch(exp_avg_sq, slot=2))
        np.sqrt(denom, out=denom)
        denom += eps  # √v̂ + ε
        tmp = np.divide(g, denom, out=scratch(g, denom, slot=1))
        tmp *= -lr * (1.0 - mu) / (1.0 - mu_product)
        param += tmp
        tmp = np.divide(exp_avg, denom, out=scratch(exp_avg, denom, slot=1))
        tmp *= (-lr * mu_next) / (1.0 - mu_product_next)
        param += tmp
        del g, tmp, denom  # (freed before the next parameter's temporaries are allocated)


class Adam(Optimizer):
    """Adam, PyTorch's ``torch.optim.Adam``; the update is :func:`adam`.

    Args: lr (1e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0, an L2 penalty added to the
    gradient), amsgrad (False), maximize (False), decoupled_weight_decay (False; True is AdamW),
    project (None: the default projection of every group, see :class:`Optimizer`).
    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), and ``max_exp_avg_sq`` with
    amsgrad (created on the first amsgrad step, so amsgrad may be switched on during training).
    """

    _name = "Adam"
    _state_spec = (
        Count("step"),
        Buffer("exp_avg"),
        Buffer("exp_avg_sq"),
        Buffer("max_exp_avg_sq", when=lambda group: group["amsgrad"]),
    )

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        project: Callable | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas) if isinstance(betas, list) else betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
            project=project,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_lr(self._name, group)
        _check_eps(self._name, group)
        _check_betas(self._name, group)
        _check_nonneg(self._name, group, "weight_decay")

    def _update(self, group, params, grads, state):
        beta1, beta2 = group["betas"]
        adam(
            params,
            grads,
            state["exp_avg"],
            state["exp_avg_sq"],
            state["max_exp_avg_sq"],
            state["step"],
            amsgrad=group["amsgrad"],
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019), PyTorch's ``torch.optim.AdamW``: Adam with decoupled
    weight decay θ ← θ − ηλθ applied to the parameters instead of an L2 term in the gradient, so
    the decay does not pass through the adaptive denominator. The update is :func:`adam` with
    ``decoupled_weight_decay=True``.

    Args: lr (1e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (1e-2), amsgrad (False),
    maximize (False), project (None). State as :class:`Adam`'s.
    """

    _name = "AdamW"

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
            project=project,
        )


class Adamax(Optimizer):
    """Adamax, PyTorch's ``torch.optim.Adamax``; the update is :func:`adamax`.

    Args: lr (2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0), maximize (False), project
    (None: the default projection of every group, see :class:`Optimizer`).
    State per parameter: ``step``, ``exp_avg`` (m) and ``exp_inf`` (u).
    """

    _state_spec = (Count("step"), Buffer("exp_avg"), Buffer("exp_inf"))

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas) if isinstance(betas, list) else betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            project=project,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_lr("Adamax", group)
        _check_eps("Adamax", group)
        _check_betas("Adamax", group)
        _check_nonneg("Adamax", group, "weight_decay")

    def _update(self, group, params, grads, state):
        beta1, beta2 = group["betas"]
        adamax(
            params,
            grads,
            state["exp_avg"],
            state["exp_inf"],
            state["step"],
            eps=group["eps"],
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )


class NAdam(Optimizer):
    """NAdam, PyTorch's ``torch.optim.NAdam``; the update is :func:`nadam`.

    Args: lr (2e-3), betas ((0.9, 0.999)), eps (1e-8), weight_decay (0), momentum_decay (4e-3),
    decoupled_weight_decay (False), maximize (False), project (None: the default projection of every
    group, see :class:`Optimizer`). State per parameter: ``step``, ``mu_product`` (a number),
    ``exp_avg`` and ``exp_avg_sq``.
    """

    _state_spec = (Number("mu_product", 1.0), Count("step"), Buffer("exp_avg"), Buffer("exp_avg_sq"))

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        project: Callable | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas) if isinstance(betas, list) else betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            project=project,
        )
        super().__init__(params, defaults)

    def _validate_group(self, group):
        _check_lr("NAdam", group)
        _check_eps("NAdam", group)
        _check_betas("NAdam", group)
        _check_nonneg("NAdam", group, "weight_decay", "momentum_decay")

    def _update(self, group, params, grads, state):
        beta1, beta2 = group["betas"]
        nadam(
            params,
            grads,
            state["exp_avg"],
            state["exp_avg_sq"],
            state["mu_product"],
            state["step"],
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            momentum_decay=group["momentum_decay"],
            eps=group["eps"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
            maximize=group["maximize"],
        )
