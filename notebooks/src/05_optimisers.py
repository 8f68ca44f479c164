# %% [markdown]
# # 05 · Optimisers: a race on a saddle point and on Rosenbrock, and learning-rate schedules
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
# a learning-rate schedule is for.
#
# ## Learning-rate schedules
#
# `optim.lr_scheduler` changes each group's `lr` as training goes on; call `scheduler.step()` once an
# epoch (or once an update), after `optimizer.step()`. Here every schedule's learning rate over 100
# epochs, from $\eta_0 = 0.1$; `ReduceLROnPlateau` is driven by a loss that is flat from epoch 30 to
# 50 and again after epoch 70: it halves the rate after every 5 epochs without improvement.

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
ax.plot(lr_curve(lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5), metric=plateau_loss),
        label="ReduceLROnPlateau(factor=0.5, patience=5)", linestyle="--")
ax.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="optim.lr_scheduler")
ax.legend(fontsize=8, loc="lower left")
plt.show()

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
