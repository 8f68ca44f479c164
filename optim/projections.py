r"""Euclidean projections onto convex sets, for the ``project`` option of every optimizer.

The lecture's stochastic gradient descent keeps the parameters in a feasible set Θ by projecting
after each step,

    θ ← proj_Θ(θ − η g),    proj_Θ(z) = argmin_{θ ∈ Θ} ‖θ − z‖₂.

Each projection here works in place on a parameter's array (a Tensor is accepted too and its
``data`` is changed) and also returns that array::

    opt = optim.SGD([{'params': [w], 'project': optim.projections.nonnegative},
                     {'params': [b], 'project': optim.projections.box(-1, 1)}], lr=0.1)
    opt = optim.Adam(model.parameters(), project=optim.projections.l2_ball(10.0))  # every group

``nonnegative`` and ``simplex`` are projections; ``box(low, high)`` and ``l2_ball(radius)`` make one.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real

import numpy as np

from autograd import Tensor

__all__ = ["nonnegative", "box", "l2_ball", "simplex"]


def _array(x) -> np.ndarray:
    arr = x.data if isinstance(x, Tensor) else x
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"a projection works in place on an ndarray or a Tensor, got {type(x).__name__}")
    return arr


def nonnegative(x: Tensor | np.ndarray) -> np.ndarray:
    r"""Project onto the nonnegative orthant Θ = {θ : θ ≥ 0}: θ_i ← max(θ_i, 0)."""
    arr = _array(x)
    np.maximum(arr, 0, out=arr)
    return arr


def box(low: float | np.ndarray | None = None, high: float | np.ndarray | None = None) -> Callable:
    r"""A projection onto the box Θ = {θ : low ≤ θ ≤ high}: θ_i ← min(max(θ_i, low_i), high_i).

    ``low``/``high`` are numbers or arrays that broadcast to the parameter; None leaves that side
    open. Raises ValueError when some low exceeds its high.
    """
    if low is None and high is None:
        raise ValueError("box(low, high) needs at least one bound")
    lo = None if low is None else np.asarray(low.data if isinstance(low, Tensor) else low)
    hi = None if high is None else np.asarray(high.data if isinstance(high, Tensor) else high)
    if lo is not None and hi is not None and np.any(lo > hi):
        raise ValueError(f"box(low, high) needs low <= high, got low={low!r}, high={high!r}")

    def project_box(x):
        arr = _array(x)
        np.clip(arr, lo, hi, out=arr, casting="unsafe")
        return arr

    project_box.__doc__ = f"Projection onto the box [{low}, {high}]."
    return project_box


def l2_ball(radius: float = 1.0) -> Callable:
    r"""A projection onto the Euclidean ball Θ = {θ : ‖θ‖₂ ≤ r} (the whole tensor's norm):
    θ ← θ · min(1, r / ‖θ‖₂)."""
    if not isinstance(radius, Real) or not radius >= 0:
        raise ValueError(f"l2_ball(radius) needs a radius >= 0, got {radius!r}")

    def project_l2_ball(x):
        arr = _array(x)
        norm = float(np.sqrt(np.sum(arr.astype(np.float64) ** 2)))
        if norm > radius:
            arr *= radius / norm
        return arr

    project_l2_ball.__doc__ = f"Projection onto the L2 ball of radius {radius}."
    return project_l2_ball


def simplex(x: Tensor | np.ndarray) -> np.ndarray:
    r"""Project the whole tensor (flattened) onto the probability simplex
    Θ = {θ : θ_i ≥ 0, Σ_i θ_i = 1}.

    The sort-based algorithm of Duchi et al. (2008): with u the entries sorted in decreasing
    order, ρ = max{j : u_j − (Σ_{i≤j} u_i − 1)/j > 0} and τ = (Σ_{i≤ρ} u_i − 1)/ρ, the
    projection is θ_i ← max(θ_i − τ, 0).
    """
    arr = _array(x)
    if arr.size == 0:
        raise ValueError("cannot project an empty tensor onto the simplex")
    v = arr.reshape(-1).astype(np.float64)
    u = np.sort(v)[::-1]
    css = np.cumsum(u)
    j = np.arange(1, v.size + 1)
    rho = np.nonzero(u - (css - 1.0) / j > 0)[0][-1]
    tau = (css[rho] - 1.0) / (rho + 1)
    arr[...] = np.maximum(v - tau, 0.0).reshape(arr.shape)
    return arr
