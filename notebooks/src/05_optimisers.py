# %% [markdown]
# # 05 · Optimisers: a race on a saddle point and on Rosenbrock, Newton's method, and learning-rate schedules
#
# The lecture's challenges for plain gradient descent $\theta_{k+1} = \theta_k - \eta\,\mathbf{g}_k$:
# choosing a learning rate, an annealing schedule, updating parameters to different extents, and
# escaping saddle points. Its answers are the SGD variants; `optim` implements each with PyTorch's
# update rule (the tests compare trajectories with `torch.optim`). With
# $\mathbf{g}_k = \nabla f(\theta_k)$:
#
# | optimiser | update (PyTorch's form, without weight decay) |
# |---|---|
# | SGD | $\theta \leftarrow \theta - \eta\,\mathbf{g}$ |
# | Momentum | $\mathbf{b} \leftarrow \mu \mathbf{b} + \mathbf{g}$, $\theta \leftarrow \theta - \eta\,\mathbf{b}$ |
# | Nesterov | $\mathbf{b} \leftarrow \mu \mathbf{b} + \mathbf{g}$, $\theta \leftarrow \theta - \eta\,(\mathbf{g} + \mu \mathbf{b})$ (look ahead along the momentum) |
# | Adagrad | $\mathbf{s} \leftarrow \mathbf{s} + \mathbf{g}^2$, $\theta \leftarrow \theta - \eta\,\mathbf{g} / (\sqrt{\mathbf{s}} + \epsilon)$: a rate per parameter |
# | Adadelta | $\mathbf{v} \leftarrow \rho \mathbf{v} + (1-\rho)\mathbf{g}^2$, $\Delta = \frac{\sqrt{\mathbf{u} + \epsilon}}{\sqrt{\mathbf{v} + \epsilon}}\,\mathbf{g}$, $\mathbf{u} \leftarrow \rho \mathbf{u} + (1-\rho)\Delta^2$, $\theta \leftarrow \theta - \eta\,\Delta$: no rate to tune |
# | RMSprop | $\mathbf{v} \leftarrow \alpha \mathbf{v} + (1-\alpha)\mathbf{g}^2$, $\theta \leftarrow \theta - \eta\,\mathbf{g} / (\sqrt{\mathbf{v}} + \epsilon)$: Adagrad that forgets |
# | Adam | $\mathbf{m} \leftarrow \beta_1 \mathbf{m} + (1-\beta_1)\mathbf{g}$, $\mathbf{v} \leftarrow \beta_2 \mathbf{v} + (1-\beta_2)\mathbf{g}^2$, $\theta \leftarrow \theta - \eta\,\hat{\mathbf{m}} / (\sqrt{\hat{\mathbf{v}}} + \epsilon)$ with bias corrections $\hat{\mathbf{m}} = \mathbf{m}/(1-\beta_1^k)$, $\hat{\mathbf{v}} = \mathbf{v}/(1-\beta_2^k)$ |
# | AMSGrad | Adam with $\hat{\mathbf{v}}$ replaced by its running maximum |
# | AdamW | Adam plus decoupled weight decay $\theta \leftarrow \theta - \eta\lambda\theta$ |
# | Adamax | Adam with the $\infty$-norm: $\mathbf{u} \leftarrow \max(\beta_2 \mathbf{u}, \lvert\mathbf{g}\rvert)$, $\theta \leftarrow \theta - \frac{\eta}{1-\beta_1^k}\,\mathbf{m} / \mathbf{u}$ |
# | NAdam | Adam with Nesterov momentum |
# | L-BFGS | a quasi-Newton direction $-\mathbf{H}_k \mathbf{g}$ from the last updates' $(\Delta\theta, \Delta\mathbf{g})$ pairs, with a strong-Wolfe line search (second order, the lecture's "or L-BFGS") |

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
import optim

ag.set_default_dtype(ag.float64)

# %% [markdown]
# Each contestant gets a 2-vector $\theta$ (a Tensor that requires grad), its own optimiser, and the
# same number of steps. Every optimiser's `step` accepts a closure that re-evaluates the loss;
# L-BFGS needs it (its line search evaluates $f$ several times per step), the others call it once.

# %%
OPTIMISERS = {
    "SGD": lambda p, lr: optim.SGD(p, lr=lr),
    "Momentum": lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9),
    "Nesterov": lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda p, lr: optim.Adagrad(p, lr=lr),
    "Adadelta": lambda p, lr: optim.Adadelta(p, lr=lr),
    "RMSprop": lambda p, lr: optim.RMSprop(p, lr=lr),
    "Adam": lambda p, lr: optim.Adam(p, lr=lr),
    "AMSGrad": lambda p, lr: optim.Adam(p, lr=lr, amsgrad=True),
    "AdamW": lambda p, lr: optim.AdamW(p, lr=lr),
    "Adamax": lambda p, lr: optim.Adamax(p, lr=lr),
    "NAdam": lambda p, lr: optim.NAdam(p, lr=lr),
    # one L-BFGS iteration a step (to draw every iterate), up to 25 evaluations for its line search
    "L-BFGS": lambda p, lr: optim.LBFGS(p, lr=lr, max_iter=1, max_eval=25, line_search_fn="strong_wolfe"),
}
FIRST_ORDER_MOMENTUM = ["SGD", "Momentum", "Nesterov", "L-BFGS"]
ADAPTIVE = ["Adagrad", "Adadelta", "RMSprop", "Adam", "AMSGrad", "AdamW", "Adamax", "NAdam"]


def race(f, start, steps, lrs):
    """Run every optimiser from `start` for `steps` steps; return {name: trajectory (steps+1, 2)}."""
    trajectories = {}
    for name, make in OPTIMISERS.items():
        theta = ag.tensor(start, requires_grad=True)
        opt = make([theta], lrs[name])

        def closure():
            opt.zero_grad()
            loss = f(theta)
            loss.backward()
            return loss

        path = [theta.detach().numpy().copy()]
        for _ in range(steps):
            opt.step(closure)
            path.append(theta.detach().numpy().copy())
        trajectories[name] = np.array(path)
    return trajectories


def contour_panels(f_np, trajectories, box, levels, title, minima=(), marker=".-"):
    (x0, x1), (y0, y1) = box
    xx, yy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    zz = f_np(xx, yy)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    for ax, group in zip(axes, [FIRST_ORDER_MOMENTUM, ADAPTIVE]):
        ax.contour(xx, yy, zz, levels=levels, colors="0.82", linewidths=0.7)
        for name in group:
            path = trajectories[name]
            ax.plot(path[:, 0], path[:, 1], marker, markersize=2.5, linewidth=1.2, label=name)
        ax.plot(*trajectories["SGD"][0], "k*", markersize=12)
        for m in minima:
            ax.plot(*m, "rx", markersize=10, mew=2)
        ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="θ₁", ylabel="θ₂")
        ax.legend(fontsize=8, loc="best")
    axes[0].set_title(f"{title}: SGD, momentum, Nesterov, L-BFGS")
    axes[1].set_title(f"{title}: adaptive learning rates")
    plt.show()


def table(f, trajectories, target, label):
    print(f"{'optimiser':<10} {'final θ':>24} {'final f':>12} {label:>22}")
    for name, path in trajectories.items():
        values = np.array([f(ag.tensor(p)).item() for p in path])
        hit = np.nonzero(values <= target)[0]
        first = str(hit[0]) if len(hit) else "never"
        print(f"{name:<10} {np.array2string(path[-1], precision=4):>24} {values[-1]:12.4g} {first:>22}")

# %% [markdown]
# ## A saddle point
#
# $f(\theta) = \theta_1^2 + \tfrac14\theta_2^4 - \tfrac12\theta_2^2$ has a saddle at the origin (a
# minimum along $\theta_1$, a maximum along $\theta_2$) and two minima at $(0, \pm 1)$ with
# $f = -\tfrac14$. We start at $(1, 10^{-3})$, almost on the ridge: the gradient along $\theta_2$ is
# about $-\theta_2 = -10^{-3}$, so plain SGD crawls away from the saddle by a factor $1 + \eta$ per
# step. Methods that rescale each coordinate by its gradient history (Adagrad, RMSprop, Adam and
# kin) take full-size steps along $\theta_2$ and escape at once; momentum accumulates the small
# gradient.

# %%
def saddle(t):
    return t[0] ** 2 + t[1] ** 4 / 4 - t[1] ** 2 / 2


saddle_lrs = dict.fromkeys(OPTIMISERS, 0.05) | {"Adagrad": 0.5, "Adadelta": 1.0, "L-BFGS": 1.0}
saddle_paths = race(saddle, [1.0, 1e-3], steps=100, lrs=saddle_lrs)
contour_panels(lambda x, y: x ** 2 + y ** 4 / 4 - y ** 2 / 2, saddle_paths, ((-1.2, 1.2), (-0.6, 1.4)),
               levels=np.linspace(-0.25, 1.5, 22), title="saddle", minima=[(0, 1), (0, -1)])
table(saddle, saddle_paths, target=-0.24, label="first step with f≤−0.24")

# %% [markdown]
# Plain SGD has barely left the ridge after 100 steps ($\theta_2$ has grown by $1.05^{100}$, to about
# 0.13). Adadelta escapes along $\theta_2$ too, but its steps start at the scale of $\sqrt{\epsilon}$
# and grow slowly, so it is still on its way down along $\theta_1$. Momentum and Nesterov overshoot
# and spiral into the minimum; L-BFGS's line search takes a few long steps.

# %% [markdown]
# ## Rosenbrock's banana
#
# $f(\theta) = (1 - \theta_1)^2 + 100\,(\theta_2 - \theta_1^2)^2$: a long, curved, flat-bottomed
# valley with the minimum at $(1, 1)$. The valley walls are steep (curvature about 1000 across,
# about 1 along), so a learning rate small enough not to bounce off the walls barely moves along the
# floor: the ill-conditioning that per-parameter rates, momentum and curvature information address.
# Start: $(-1.2, 1)$, 2000 steps; each learning rate roughly the largest that stays stable.

# %%
def rosenbrock(t):
    return (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2


rosen_lrs = dict.fromkeys(OPTIMISERS, 0.05) | {"SGD": 1.5e-3, "Momentum": 3e-4, "Nesterov": 3e-4, "Adagrad": 0.5,
                                               "Adadelta": 1.0, "L-BFGS": 1.0}
rosen_paths = race(rosenbrock, [-1.2, 1.0], steps=2000, lrs=rosen_lrs)
contour_panels(lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, rosen_paths, ((-2.0, 2.0), (-1.0, 3.0)),
               levels=np.logspace(-1, 3.5, 15), title="Rosenbrock", minima=[(1, 1)], marker="-")
table(rosenbrock, rosen_paths, target=1e-3, label="first step with f≤1e-3")
assert np.allclose(rosen_paths["L-BFGS"][-1], [1, 1], atol=1e-3)
assert np.allclose(rosen_paths["Adam"][-1], [1, 1], atol=1e-2)

# %% [markdown]
# L-BFGS, using curvature, is done in a few dozen steps. Among first-order methods Adam gets closest.
# AdamW's decoupled weight decay pulls $\theta$ towards 0, so it settles short of $(1, 1)$: on a
# network that is the regularisation it is meant to be, here it shifts the optimum. RMSprop with a
# constant rate keeps jittering across the valley floor at a step size of about $\eta$: which is what
# a learning-rate schedule is for (after the next section).

# %% [markdown]
# ## Curvature: the Hessian of Rosenbrock
#
# L-BFGS *estimates* the curvature from its last few gradients. An autodiff engine can compute it
# exactly: the Hessian $H_{ij} = \partial^2 f / \partial\theta_i \partial\theta_j$ is the Jacobian of
# the gradient, and `ag.functional.hessian(f, θ)` (as `torch.autograd.functional.hessian`) gets it by
# differentiating the gradient once more. For Rosenbrock, by hand:
#
# $$\nabla f = \begin{pmatrix} -2(1 - \theta_1) - 400\,\theta_1(\theta_2 - \theta_1^2) \\ 200\,(\theta_2 - \theta_1^2) \end{pmatrix},
#   \qquad
#   H = \begin{pmatrix} 1200\,\theta_1^2 - 400\,\theta_2 + 2 & -400\,\theta_1 \\ -400\,\theta_1 & 200 \end{pmatrix}.$$

# %%
def rosenbrock_hessian(t1, t2):
    return np.array([[1200 * t1 ** 2 - 400 * t2 + 2, -400 * t1], [-400 * t1, 200.0]])


for point in [(-1.2, 1.0), (0.0, 1.0), (1.0, 1.0)]:
    H = ag.functional.hessian(rosenbrock, ag.tensor(point)).numpy()
    error = np.abs(H - rosenbrock_hessian(*point)).max()
    print(f"θ = {point}: ag.functional.hessian = {H.tolist()}, |error| = {error:.1e}, "
          f"eigenvalues {np.round(np.linalg.eigvalsh(H), 2)}")
    assert error < 1e-9

curvatures = np.linalg.eigvalsh(rosenbrock_hessian(1.0, 1.0))
print(f"at the minimum: curvature {curvatures[1]:.1f} across the valley, {curvatures[0]:.3f} along it, "
      f"condition number {curvatures[1] / curvatures[0]:.0f}")

# %% [markdown]
# The eigenvalues at the minimum put numbers on "steep walls, flat floor": a curvature of about 1000
# across the valley and 0.4 along it, a condition number of 2500. A gradient step stays stable only
# with $\eta < 2/1000$ (which is why plain SGD above needed $\eta = 1.5 \cdot 10^{-3}$), and with
# such an $\eta$ it shrinks the distance along the floor by a factor of only $1 - 0.4\,\eta$ per
# step. At $(0, 1)$, above the floor, one eigenvalue is negative: there $f$ curves *down* in one
# direction, and a quadratic model of it has no minimum.
#
# ## Newton's method
#
# The second-order Taylor model $f(\theta + \mathbf{d}) \approx f(\theta) + \mathbf{g}^\top \mathbf{d}
# + \tfrac12\, \mathbf{d}^\top H\, \mathbf{d}$ is smallest, when $H$ is positive definite, at the
# **Newton step** $\mathbf{d} = -H^{-1}\mathbf{g}$. It rescales every direction by its own curvature,
# so the condition number no longer matters, and near a minimum Newton's method converges
# quadratically: the number of correct digits doubles with every step. Far from the minimum the
# model can be poor: the step may go uphill, or, where $H$ has a negative eigenvalue, head for a
# saddle or a maximum (Newton's method looks for any point where $\nabla f = 0$). Two safeguards make
# it a descent method:
#
# * **Levenberg damping**: use $H + \lambda I$ with the smallest $\lambda$ (0, or 0.01 doubled until it
#   suffices) that makes it positive definite; then $\mathbf{d}$ points downhill (for a large
#   $\lambda$ it is a short gradient step $-\mathbf{g}/\lambda$).
# * **A backtracking line search**: try the step length $\alpha = 1$ and halve it until $f$ decreases
#   enough, $f(\theta + \alpha\mathbf{d}) \le f(\theta) + 10^{-4}\,\alpha\,\mathbf{g}^\top\mathbf{d}$
#   (Armijo's condition).
#
# The race from $(-1.2, 1)$: pure Newton, Newton with both safeguards, L-BFGS (as above, one
# iteration a step, its strong-Wolfe line search evaluating $f$ and $\nabla f$ several times) and
# Adam ($\eta = 0.05$), each until $\lVert\nabla f\rVert < 10^{-10}$, until it stops moving, or
# until its budget of steps is spent. Each counts what it evaluates: $f$ alone (the line searches),
# $f$ with its gradient (a forward and a backward pass), the Hessian (here `ag.functional.hessian`;
# `ag.func.hessian(f)` is the same as a function transform).

# %%
def newton(f, start, safeguarded, tol=1e-10, max_iter=100):
    """Newton's method with numpy's solver; returns the path and the evaluations made by each iteration."""
    theta = np.array(start, dtype=float)
    path, counts = [theta.copy()], []
    for _ in range(max_iter):
        g, value = ag.func.grad_and_value(f)(ag.tensor(theta))
        g, value = g.numpy(), value.item()
        count = {"f": 0, "f and ∇f": 1, "Hessian": 0}
        if np.linalg.norm(g) < tol:
            counts.append(count)
            break
        H = ag.functional.hessian(f, ag.tensor(theta)).numpy()
        count["Hessian"] = 1
        lam = 0.0
        if safeguarded:  # Levenberg: the smallest damping from 0, 0.01, 0.02, 0.04, ... that makes H + λI positive definite
            while np.linalg.eigvalsh(H + lam * np.eye(len(g)))[0] <= 1e-8:
                lam = max(2 * lam, 1e-2)
        d = np.linalg.solve(H + lam * np.eye(len(g)), -g)
        alpha = 1.0
        if safeguarded:  # backtracking until Armijo's sufficient decrease
            while True:
                count["f"] += 1
                if f(ag.tensor(theta + alpha * d)).item() <= value + 1e-4 * alpha * (g @ d):
                    break
                alpha /= 2
        theta = theta + alpha * d
        path.append(theta.copy())
        counts.append(count)
    return np.array(path), counts


def first_order(make_optimiser, start, steps, tol=1e-10):
    """An optim optimiser for up to `steps` steps (fewer if it stops moving); returns the path and the
    closure calls of each step."""
    theta = ag.tensor(start, requires_grad=True)
    opt = make_optimiser([theta])
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = rosenbrock(theta)
        loss.backward()
        return loss

    path, counts = [theta.detach().numpy().copy()], []
    for _ in range(steps):
        calls[0] = 0
        opt.step(closure)
        path.append(theta.detach().numpy().copy())
        counts.append({"f": 0, "f and ∇f": calls[0], "Hessian": 0})
        if theta.grad.norm().item() < tol or np.array_equal(path[-1], path[-2]):
            break
    return np.array(path), counts


contestants = {
    "Newton (pure)": newton(rosenbrock, [-1.2, 1.0], safeguarded=False),
    "Newton (damped, line search)": newton(rosenbrock, [-1.2, 1.0], safeguarded=True),
    "L-BFGS": first_order(lambda p: optim.LBFGS(p, lr=1, max_iter=1, max_eval=25, line_search_fn="strong_wolfe",
                                                tolerance_grad=1e-10, tolerance_change=1e-14), [-1.2, 1.0], 200),
    "Adam (lr 0.05)": first_order(lambda p: optim.Adam(p, lr=0.05), [-1.2, 1.0], 3000),
}

TARGET = 1e-6
print(f"{'':<29}{'to reach ‖θ − θ*‖ < 1e-6':^44}{'at the end':^26}")
print(f"{'':<29}{'iterations':>11}{'f':>7}{'f and ∇f':>10}{'Hessians':>10}{'     ':>6}{'iterations':>11}{'‖θ − θ*‖':>12}")
for name, (path, counts) in contestants.items():
    distance = np.linalg.norm(path - 1.0, axis=1)
    reached = np.nonzero(distance < TARGET)[0]
    if len(reached):
        k = reached[0]
        used = {key: sum(c[key] for c in counts[:k]) for key in counts[0]}
        cells = f"{k:>11}{used['f']:>7}{used['f and ∇f']:>10}{used['Hessian']:>10}"
    else:
        cells = f"{'never':>11}{'':>27}"
    print(f"{name:<29}{cells}{'':>6}{len(path) - 1:>11}{distance[-1]:>12.1e}")

# %% [markdown]
# And the paths, over Rosenbrock's contours, beside the distance to the minimum at every iteration
# (both axes logarithmic: Adam's thousands of steps and Newton's handful on one plot).

# %%
xx, yy = np.meshgrid(np.linspace(-2.0, 2.0, 300), np.linspace(-1.0, 3.0, 300))
fig, (ax, ax_d) = plt.subplots(1, 2, figsize=(14, 5.5))
ax.contour(xx, yy, (1 - xx) ** 2 + 100 * (yy - xx ** 2) ** 2, levels=np.logspace(-1, 3.5, 15), colors="0.82",
           linewidths=0.7)
styles = {"Newton (pure)": "o--", "Newton (damped, line search)": "o-", "L-BFGS": ".-", "Adam (lr 0.05)": "-"}
for name, (path, _) in contestants.items():
    ax.plot(path[:, 0], path[:, 1], styles[name], markersize=4, linewidth=1.2, label=name)
    ax_d.loglog(np.arange(1, len(path) + 1), np.linalg.norm(path - 1.0, axis=1) + 1e-17, styles[name],
                markersize=4, label=name)
ax.plot(-1.2, 1.0, "k*", markersize=12)
ax.plot(1, 1, "rx", markersize=10, mew=2)
ax.set(xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), xlabel="θ₁", ylabel="θ₂", title="Rosenbrock: second order against first")
ax.legend(fontsize=8, loc="lower right")
ax_d.axhline(TARGET, color="0.6", linestyle=":")
ax_d.set(xlabel="iteration + 1", ylabel="‖θ − θ*‖", ylim=(1e-17, 10), title="distance to the minimum (1, 1)")
ax_d.legend(fontsize=8)
plt.show()
assert all(np.linalg.norm(path[-1] - 1.0) < 1e-6 for name, (path, _) in contestants.items() if "Adam" not in name)

# %% [markdown]
# Pure Newton is done in a handful of steps, but look at its path: its second step leaves the
# valley altogether, down to about $(0.76, -3.2)$ (off the plot), where $f \approx 1400$ against 24
# at the start, and only Rosenbrock's friendly shape ($f$ is a quadratic in $\theta_2$) brings it
# straight back. On a less friendly function such a step lands anywhere. The safeguarded version
# refuses every step that does not lower $f$, so it walks along the floor: more iterations, each
# one safe, and the same quadratic finish (the near-vertical drop of its distance curve at the end).
# L-BFGS gets there with gradients only, in a few dozen cheap iterations, and stops at about
# $10^{-8}$ when its steps no longer change $\theta$; Adam, first order with a constant rate, needs
# thousands of steps. Each Newton iteration forms the whole Hessian and solves an $n \times n$
# system with it: cheap for $n = 2$, out of the question for a network.
#
# ## Hessian-vector products, without the Hessian
#
# A Hessian has $n^2$ entries: 8 TB in float64 for a network of a million parameters. Many
# second-order methods only need its products with vectors, $H\mathbf{v}$: Newton's method with the
# linear system solved by conjugate gradients (Newton-CG, "Hessian-free" optimisation), the power
# or Lanczos iteration for the sharpest curvature, influence functions. And $H\mathbf{v}$ is a
# directional derivative of the gradient,
#
# $$H\mathbf{v} = \frac{d}{d\varepsilon}\, \nabla f(\theta + \varepsilon \mathbf{v})\Big|_{\varepsilon = 0},$$
#
# which is what forward mode computes (notebook 01): give $\theta$ the tangent $\mathbf{v}$, compute
# the gradient by a reverse pass that is itself recorded (`create_graph=True`), and the tangent
# carried through the forward *and* the backward pass arrives on the gradient as $H\mathbf{v}$.
# This is **forward-over-reverse**: one pass of each mode, a small constant times the cost of a
# gradient, whatever $n$ is. Below, by hand with `ag.forward_ad`, on the $n$-dimensional
# Rosenbrock function $f(\mathbf{x}) = \sum_{i=1}^{n-1} 100\,(x_{i+1} - x_i^2)^2 + (1 - x_i)^2$,
# and with `ag.functional.hvp` (as `torch.autograd.functional.hvp`), which does the same, against
# the whole Hessian times $\mathbf{v}$.

# %%
fwAD = ag.forward_ad


def rosenbrock_n(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


rng = np.random.default_rng(0)
x, v = ag.tensor(rng.standard_normal(6)), ag.tensor(rng.standard_normal(6))

with fwAD.dual_level():
    x_dual = fwAD.make_dual(x.detach().requires_grad_(), v)  # θ with the tangent v
    (gradient,) = ag.grad(rosenbrock_n(x_dual), x_dual, create_graph=True)  # a recorded reverse pass
    hv_by_hand = fwAD.unpack_dual(gradient).tangent  # the gradient's tangent: H v

_, hv = ag.functional.hvp(rosenbrock_n, x, v)
H_times_v = ag.functional.hessian(rosenbrock_n, x).numpy() @ v.numpy()
print("forward over reverse, by hand:", np.round(hv_by_hand.detach().numpy(), 6))
print("ag.functional.hvp:            ", np.round(hv.numpy(), 6))
print("whole Hessian @ v:            ", np.round(H_times_v, 6))
assert np.allclose(hv_by_hand.detach().numpy(), H_times_v) and np.allclose(hv.numpy(), H_times_v)

# %% [markdown]
# The cost as $n$ grows: `ag.functional.hvp` against forming the whole Hessian with
# `ag.functional.hessian` (its Jacobian of the gradient, all $n$ rows) and multiplying.

# %%
import time


def best_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


print(f"{'n':>6} {'hvp':>10} {'whole Hessian':>15} {'ratio':>8} {'Hessian memory':>16}")
hvp_ms, hessian_ms, ns = [], [], [10, 100, 1000, 2000]
for n in ns:
    x, v = ag.tensor(rng.standard_normal(n)), ag.tensor(rng.standard_normal(n))
    hvp_ms.append(best_time(lambda: ag.functional.hvp(rosenbrock_n, x, v)) * 1e3)
    hessian_ms.append(best_time(lambda: ag.functional.hessian(rosenbrock_n, x).numpy() @ v.numpy(), repeat=1) * 1e3)
    print(f"{n:>6} {hvp_ms[-1]:>7.2f} ms {hessian_ms[-1]:>12.2f} ms {hessian_ms[-1] / hvp_ms[-1]:>8.0f} "
          f"{n * n * 8 / 2 ** 20:>13.2f} MB")

fig, ax = plt.subplots(figsize=(6, 3.6))
ax.loglog(ns, hvp_ms, "o-", label="ag.functional.hvp (forward over reverse)")
ax.loglog(ns, hessian_ms, "s-", label="ag.functional.hessian, then H @ v")
ax.set(xlabel="n (parameters)", ylabel="time (ms)", title="H v on the n-dimensional Rosenbrock")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The product's cost hardly moves with $n$ (at these sizes Python's overhead per operation
# dominates; it grows like one gradient), while the Hessian's grows like $n$ gradients and its
# memory like $n^2$. That is why large-scale second-order methods are written in terms of $H\mathbf{v}$.

# %% [markdown]
# ## Learning-rate schedules
#
# `optim.lr_scheduler` changes each group's `lr` as training goes on; call `scheduler.step()` once an
# epoch (or once an update), after `optimizer.step()`. Here every schedule's learning rate over 100
# epochs, from $\eta_0 = 0.1$. `ReduceLROnPlateau` is driven by a loss that improves until epoch 30,
# is flat from epoch 30 to 50, improves again until epoch 70 and is flat after that. With
# `patience=5` it tolerates 5 epochs without improvement and halves the rate at the 6th (the count
# must *exceed* the patience, as in PyTorch), then starts counting again; the epochs at which it
# halved are printed under the figure.

# %%
def lr_curve(make_scheduler, epochs=100, metric=None):
    opt = optim.SGD([ag.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = make_scheduler(opt)
    lrs = []
    for epoch in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step(metric(epoch)) if metric else scheduler.step()
    return lrs


S = optim.lr_scheduler
schedules = {
    "StepLR(step_size=30, gamma=0.5)": lambda o: S.StepLR(o, step_size=30, gamma=0.5),
    "MultiStepLR([40, 70], gamma=0.2)": lambda o: S.MultiStepLR(o, milestones=[40, 70], gamma=0.2),
    "ExponentialLR(gamma=0.97)": lambda o: S.ExponentialLR(o, gamma=0.97),
    "CosineAnnealingLR(T_max=100)": lambda o: S.CosineAnnealingLR(o, T_max=100),
    "LinearLR(warm-up over 10 epochs)": lambda o: S.LinearLR(o, start_factor=0.1, total_iters=10),
    "LambdaLR(1 / (1 + epoch / 10))": lambda o: S.LambdaLR(o, lambda epoch: 1 / (1 + epoch / 10)),
}
plateau_loss = lambda epoch: 1.0 / (1 + min(epoch, 30) + 0.5 * max(0, min(epoch, 70) - 50))  # noqa: E731

fig, ax = plt.subplots(figsize=(9, 4))
for name, make in schedules.items():
    ax.plot(lr_curve(make), label=name)
plateau_lrs = lr_curve(lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5), metric=plateau_loss)
ax.plot(plateau_lrs, label="ReduceLROnPlateau(factor=0.5, patience=5)", linestyle="--")
ax.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="optim.lr_scheduler")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# scheduler.step(plateau_loss(e)) at the end of epoch e sets the rate of epoch e + 1
improved = [e for e in range(1, 100) if plateau_loss(e) < plateau_loss(e - 1)]
halved = [e - 1 for e in range(1, len(plateau_lrs)) if plateau_lrs[e] < plateau_lrs[e - 1]]
print("the loss stopped improving after the end of epochs", [e for e in improved if e + 1 not in improved])
print("ReduceLROnPlateau halved the rate at the end of epochs", halved)

# %% [markdown]
# Annealing in action: RMSprop on Rosenbrock again, with a constant rate and with an
# `ExponentialLR` decay of the rate by 0.2 % a step.

# %%
def rmsprop_on_rosenbrock(decay):
    theta = ag.tensor([-1.2, 1.0], requires_grad=True)
    opt = optim.RMSprop([theta], lr=0.05)
    scheduler = S.ExponentialLR(opt, gamma=decay)
    values = []
    for _ in range(2000):
        opt.zero_grad()
        loss = rosenbrock(theta)
        loss.backward()
        opt.step()
        scheduler.step()
        values.append(loss.item())
    return values


fig, ax = plt.subplots(figsize=(6, 3.5))
constant, annealed = rmsprop_on_rosenbrock(1.0), rmsprop_on_rosenbrock(0.998)
ax.semilogy(constant, label="constant lr = 0.05")
ax.semilogy(annealed, label="ExponentialLR(gamma=0.998)")
ax.set(xlabel="step", ylabel="f(θ)", title="RMSprop on Rosenbrock")
ax.legend()
plt.show()
print(f"final f: constant {constant[-1]:.3g}, annealed {annealed[-1]:.3g}")
assert annealed[-1] < constant[-1]

# %% [markdown]
# ## Constraints: projected gradient descent
#
# Sometimes the parameters must stay in a set $\Theta$: probabilities on a simplex, weights that
# are nonnegative or bounded, a weight vector of bounded norm. The lecture's **projected** SGD takes
# the ordinary step and then moves the result back to the nearest point of $\Theta$:
#
# $$\theta_{k+1} = \mathrm{proj}_\Theta\big(\theta_k - \eta\,\mathbf{g}_k\big), \qquad
#   \mathrm{proj}_\Theta(\mathbf{z}) = \arg\min_{\theta \in \Theta} \lVert \theta - \mathbf{z} \rVert_2 .$$
#
# Every optimiser in `optim` takes a `project` option, a function applied to each parameter in place
# after each step, for all parameters (`project=...`) or per parameter group
# (`{'params': [w], 'project': ...}`). `optim.projections` has the common ones: `nonnegative`,
# `box(low, high)`, `l2_ball(radius)` and `simplex`. The projection composes with any update rule:
# below SGD, momentum and Adam minimise Rosenbrock's function inside the unit disk
# $\lVert\theta\rVert_2 \le 1$ (`l2_ball(1.0)`: $\theta \leftarrow \theta \cdot \min(1, 1/\lVert\theta\rVert)$).
# The unconstrained minimum $(1, 1)$ lies outside the disk, so the constrained one is on its edge.
# To check where they end, we also search the circle by brute force, $\theta = (\cos\varphi, \sin\varphi)$ over a
# fine grid of angles $\varphi$.

# %%
disk = optim.projections.l2_ball(1.0)
projected = {
    "SGD (lr 1.5e-3)": lambda p: optim.SGD(p, lr=1.5e-3, project=disk),
    "Momentum (lr 3e-4)": lambda p: optim.SGD(p, lr=3e-4, momentum=0.9, project=disk),
    "Adam (lr 0.01)": lambda p: optim.Adam(p, lr=0.01, project=disk),
}
projected_paths = {}
for name, make in projected.items():
    theta = ag.tensor([-0.5, 0.5], requires_grad=True)
    opt = make([theta])
    path = [theta.detach().numpy().copy()]
    for _ in range(2000):
        opt.zero_grad()
        rosenbrock(theta).backward()
        opt.step()
        path.append(theta.detach().numpy().copy())
    projected_paths[name] = np.array(path)

# the constrained minimum by brute force: f on the unit circle, two rounds of a grid of angles
phi = np.linspace(-np.pi, np.pi, 100001)
for _ in range(2):
    on_circle = (1 - np.cos(phi)) ** 2 + 100 * (np.sin(phi) - np.cos(phi) ** 2) ** 2
    best = phi[np.argmin(on_circle)]
    phi = np.linspace(best - 1e-4, best + 1e-4, 100001)
theta_star = np.array([np.cos(best), np.sin(best)])
print(f"constrained minimum by brute force: θ* = {np.round(theta_star, 6)}, f = {rosenbrock(ag.tensor(theta_star)).item():.6f}")
print(f"{'':<20}{'final θ':>24}{'‖θ‖':>10}{'‖θ − θ*‖':>11}{'largest ‖θ‖ on the way':>24}{'cos(−∇f, θ)':>13}")
for name, path in projected_paths.items():
    g = ag.func.grad(rosenbrock)(ag.tensor(path[-1])).numpy()
    cosine = -g @ path[-1] / (np.linalg.norm(g) * np.linalg.norm(path[-1]))
    print(f"{name:<20}{np.array2string(path[-1], precision=5):>24}{np.linalg.norm(path[-1]):>10.6f}"
          f"{np.linalg.norm(path[-1] - theta_star):>11.1e}{np.linalg.norm(path, axis=1).max():>24.6f}{cosine:>13.5f}")

xx, yy = np.meshgrid(np.linspace(-1.3, 1.5, 300), np.linspace(-0.6, 1.6, 300))
fig, ax = plt.subplots(figsize=(7, 5.5))
ax.contour(xx, yy, (1 - xx) ** 2 + 100 * (yy - xx ** 2) ** 2, levels=np.logspace(-1, 3.5, 15), colors="0.82",
           linewidths=0.7)
ax.add_patch(plt.Circle((0, 0), 1.0, color="C7", alpha=0.15, label="Θ: the unit disk"))
for name, path in projected_paths.items():
    ax.plot(path[:, 0], path[:, 1], ".-", markersize=2, linewidth=1, label=name)
ax.plot(-0.5, 0.5, "k*", markersize=12)
ax.plot(1, 1, "rx", markersize=10, mew=2, label="unconstrained minimum (1, 1)")
ax.plot(*theta_star, "r*", markersize=12, label="constrained minimum θ*")
ax.set(xlim=(-1.3, 1.5), ylim=(-0.6, 1.6), aspect="equal", xlabel="θ₁", ylabel="θ₂",
       title="projected gradient descent: Rosenbrock in the unit disk")
ax.legend(fontsize=8, loc="lower left")
plt.show()
assert all(np.linalg.norm(path, axis=1).max() <= 1 + 1e-12 for path in projected_paths.values())

# %% [markdown]
# No iterate ever leaves the disk (the largest norm along each path is 1, up to rounding). SGD and
# momentum end on the point of the circle that the brute-force search finds, to within about
# $10^{-9}$, the search's own resolution; there the gradient points straight into the disk, along
# $-\theta$ (the cosine between $-\nabla f$ and $\theta$ is 1), which is the optimality condition
# for a minimum on the boundary: $\nabla f = -\lambda\theta$ with a Lagrange multiplier
# $\lambda \ge 0$, so that any step from there either leaves the disk or goes uphill. Adam, with its
# constant rate, ends about $10^{-5}$ away, still jittering along the edge (its cosine is a little
# below 1), as RMSprop did on the floor of the valley: projection changes where the iterates may go,
# not how the update rule behaves.

# %% [markdown]
# ## Your own race
#
# Pick the surface, the optimiser, its learning rate and the number of steps:
# the left panel draws the path from the start (★) over the contours, the right one how far $f$ is
# above its minimum at each step. Try plain SGD on Rosenbrock above its stable rate (about 2e-3),
# or Adagrad with a small one. The figure below is the default setting (drawn here so that the
# notebook reads without a kernel); the controls under it need a running kernel.

# %%
import ipywidgets as widgets

SURFACES = {  # f on Tensors, f on arrays, start, plotting box, contour levels, minimum value
    "saddle": (saddle, lambda x, y: x ** 2 + y ** 4 / 4 - y ** 2 / 2, [1.0, 1e-3], ((-1.2, 1.2), (-0.6, 1.4)),
               np.linspace(-0.25, 1.5, 22), -0.25),
    "Rosenbrock": (rosenbrock, lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, [-1.2, 1.0],
                   ((-2.0, 2.0), (-1.0, 3.0)), np.logspace(-1, 3.5, 15), 0.0),
}


def show_race(surface="Rosenbrock", optimiser="Adam", lr=0.05, steps=2000):
    f, f_np, start, ((x0, x1), (y0, y1)), levels, f_min = SURFACES[surface]
    theta = ag.tensor(start, requires_grad=True)
    opt = OPTIMISERS[optimiser]([theta], lr)

    def closure():
        opt.zero_grad()
        loss = f(theta)
        loss.backward()
        return loss

    path = [theta.detach().numpy().copy()]
    with np.errstate(all="ignore"):  # a rate too large diverges to inf: that is the lesson, not an error
        for _ in range(steps):
            opt.step(closure)
            path.append(theta.detach().numpy().copy())
        path = np.array(path)
        values = np.array([f(ag.tensor(p)).item() for p in path])
    xx, yy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    fig, (ax, ax_f) = plt.subplots(1, 2, figsize=(12, 4.2))
    ax.contour(xx, yy, f_np(xx, yy), levels=levels, colors="0.82", linewidths=0.7)
    ax.plot(path[:, 0], path[:, 1], ".-", markersize=2.5, linewidth=1.2)
    ax.plot(*path[0], "k*", markersize=12)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="θ₁", ylabel="θ₂", title=f"{optimiser}, lr = {lr:.3g} on {surface}")
    ax_f.semilogy(values - f_min + 1e-16)
    ax_f.set(xlabel="step", ylabel="f(θ) − min f", title="distance to the minimum")
    plt.show()
    end = "diverged" if not np.all(np.isfinite(path[-1])) else f"θ = {np.array2string(path[-1], precision=4)}, f = {values[-1]:.4g}"
    print(f"{optimiser} after {steps} steps: {end}")


show_race()

# %%
widgets.interact(show_race,
                 surface=widgets.Dropdown(options=list(SURFACES), value="Rosenbrock", description="surface"),
                 optimiser=widgets.Dropdown(options=list(OPTIMISERS), value="Adam", description="optimiser"),
                 lr=widgets.FloatLogSlider(value=0.05, base=10, min=-4, max=0.5, step=0.25, description="lr",
                                           continuous_update=False),
                 steps=widgets.IntSlider(value=2000, min=10, max=3000, step=10, description="steps",
                                         continuous_update=False));
