# %% [markdown]
# # 06 · Regularisation: overfitting, dropout, batch norm, gradient clipping, per-sample clipping
#
# Deep networks tend to overfit the training data, which hurts how well they generalise. This
# notebook shows the generalisation gap, then the lecture's remedies: dropout (with its ensemble
# effect), batch normalisation (and what it does to the activations), and gradient clipping against
# exploding gradients, on a cliff in the loss surface and in a deep network initialised with too
# large weights; at the end, the gradient of every single
# training example in one pass (`ag.func.vmap`), and clipping each of them with added noise, the idea
# behind differentially private SGD.

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
import nn
import nn.functional as F
import optim
from IPython.display import Markdown, clear_output, display
from nn.data.datasets import load_digits
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

threadpool_limits(1)  # small matrices: one BLAS thread is faster than several sharing the cores

X, y = load_digits()
X = X / 16.0
perm = np.random.default_rng(0).permutation(len(y))
# a deliberately small training set (100 images) makes overfitting easy to see
X_small, y_small = X[perm[:100]], y[perm[:100]]
X_test, y_test = X[perm[600:]], y[perm[600:]]


def accuracy(model, X, y):
    model.eval()
    with ag.no_grad():
        return (model(X).argmax(dim=1) == y).float().mean().item()

# %% [markdown]
# ## Overfitting and the generalisation gap
#
# `nn.MLP([64, 256, 256, 10])` has hundreds of parameters for every one of the 100 training images
# (the count is printed below), and learns them by heart: the training loss goes to zero while the
# test loss, after a first improvement, climbs. The *generalisation gap* is the difference between
# training and test performance. The question is what dropout ($p = 0.5$ after each hidden layer)
# changes. One training run is one draw of the initial weights and of the dropout masks, so each
# network is trained from 5 seeds, and we look at the spread as well as the mean.

# %%
EVAL_EVERY = 10
SEEDS = range(5)


def train_and_track(dropout, seed=0, steps=400):
    ag.manual_seed(seed)  # the initial weights and the dropout masks
    model = nn.MLP([64, 256, 256, 10], dropout=dropout)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    train_curve, test_curve = [], []
    for step in range(steps + 1):
        if step % EVAL_EVERY == 0:
            model.eval()
            with ag.no_grad():
                train_curve.append(F.cross_entropy(model(X_small), y_small).item())
                test_curve.append(F.cross_entropy(model(X_test), y_test).item())
        if step == steps:
            break
        model.train()
        loss = F.cross_entropy(model(X_small), y_small)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, np.array(train_curve), np.array(test_curve)


configs = [(p, seed) for p in (0.0, 0.5) for seed in SEEDS]
trained_runs = {config: train_and_track(*config) for config in tqdm(configs, desc="training", unit="run")}
clear_output()  # the progress bar has done its job: the saved notebook keeps the results, not a stale bar

n_params = sum(p.numel() for p in nn.MLP([64, 256, 256, 10]).parameters())
print(f"nn.MLP([64, 256, 256, 10]): {n_params:,} parameters for {len(y_small)} training images "
      f"({n_params / len(y_small):,.0f} per image)")
steps = np.arange(len(trained_runs[0.0, 0][1])) * EVAL_EVERY

fig, ax = plt.subplots(figsize=(7.5, 4.2))
for p, color in [(0.0, "C0"), (0.5, "C1")]:
    name = "no dropout" if p == 0 else f"dropout {p}"
    for curves, style, part in [([trained_runs[p, s][1] for s in SEEDS], "--", "train"),
                                ([trained_runs[p, s][2] for s in SEEDS], "-", "test")]:
        curves = np.array(curves)
        ax.plot(steps, curves.mean(axis=0), style, color=color, label=f"{name}: {part} (mean of {len(SEEDS)})")
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2, linewidth=0)
ax.set(yscale="log", xlabel="step (full batch of 100 images)", ylabel="cross-entropy",
       title=f"Overfitting: mean and range (shaded) over {len(SEEDS)} seeds")
ax.legend(fontsize=8)
plt.show()

summary = {}
for p in (0.0, 0.5):
    rows = []
    for seed in SEEDS:
        model, train_curve, test_curve = trained_runs[p, seed]
        tr, te = accuracy(model, X_small, y_small), accuracy(model, X_test, y_test)
        rows.append([tr, te, tr - te, test_curve.min(), test_curve[-1]])
    summary[p] = np.array(rows)

columns = ["train accuracy", "test accuracy", "gap (train − test)", "best test loss", "final test loss"]
lines = ["| network | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
for p, rows in summary.items():
    name = "no dropout" if p == 0 else f"dropout {p}"
    lines.append(f"| {name}, mean ± std | " + " | ".join(f"{m:.3f} ± {sd:.3f}" for m, sd in zip(rows.mean(0), rows.std(0)))
                 + " |")
    lines += [f"| {name}, seed {seed} | " + " | ".join(f"{v:.3f}" for v in row) + " |" for seed, row in zip(SEEDS, rows)]
display(Markdown("\n".join(lines)))
# seed by seed (the same seed gives both networks the same initial weights): is dropout's number the better one?
for column, smaller_is_better in [(1, False), (2, True), (3, True), (4, True)]:
    difference = summary[0.5][:, column] - summary[0.0][:, column]
    better = np.sum(difference < 0 if smaller_is_better else difference > 0)
    print(f"{columns[column]:>18}: dropout minus no dropout {np.array2string(difference, precision=3, sign='+')}, "
          f"dropout better in {better} of {len(SEEDS)} seeds")

# the seed-0 runs are the ones used below
plain, plain_train, plain_test = trained_runs[0.0, 0]
dropped, drop_train, drop_test = trained_runs[0.5, 0]

# %% [markdown]
# Both networks fit all 100 training images (training accuracy 1 in every run), so the gap in
# accuracy is just one minus the test accuracy. There dropout's advantage is small: about half a
# percentage point on average, the same size as the spread from seed to seed, and in one of the five
# seeds the network with dropout does worse. Five seeds are not enough to call that difference real.
# The test *loss* tells a clearer story: with dropout it is lower in every seed, both at its best
# and after the 400 steps. The cross-entropy also measures how much probability the network puts on
# the right class: dropout's networks get about as many test images right, but put more probability
# on the right answers (a higher average log-probability of the correct class). So on this data
# dropout reduces overfitting as the loss measures it, and changes the accuracy by no more than the
# seed-to-seed noise.

# %% [markdown]
# **Your dropout rate.** Choose $p$ and press the button to train the same network again (400
# full-batch steps from seed 0, a few seconds): the figure compares its training and test loss with
# the network without dropout (seed 0 as well). Below, $p = 0.5$ as above, drawn here so that the
# notebook reads without a kernel; the control needs a running kernel.

# %%
import ipywidgets as widgets

dropout_runs = {0.0: (plain, plain_train, plain_test), 0.5: (dropped, drop_train, drop_test)}


def show_dropout(p=0.5):
    p = round(p, 2)
    if p not in dropout_runs:
        dropout_runs[p] = train_and_track(dropout=p)
    model, train, test = dropout_runs[p]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(steps, plain_train, "C0--", label="no dropout: train")
    ax.plot(steps, plain_test, "C0-", label="no dropout: test")
    ax.plot(steps, train, "C1--", label=f"dropout {p}: train")
    ax.plot(steps, test, "C1-", label=f"dropout {p}: test")
    ax.set(yscale="log", xlabel="step", ylabel="cross-entropy", title=f"dropout p = {p}")
    ax.legend()
    plt.show()
    tr, te = accuracy(model, X_small, y_small), accuracy(model, X_test, y_test)
    print(f"dropout {p}: train accuracy {tr:.3f}, test accuracy {te:.3f}, gap {tr - te:.3f}; "
          f"best test loss {min(test):.3f}, final {test[-1]:.3f}")


show_dropout(0.5)

# %%
widgets.interact_manual(show_dropout, p=widgets.FloatSlider(value=0.5, min=0.0, max=0.9, step=0.1,
                                                            description="dropout p"));

# %% [markdown]
# ## Dropout: training versus evaluation
#
# During training each unit is dropped with probability $p$, independently, afresh on every forward
# pass; chainrule (like PyTorch) uses *inverted* dropout, scaling the survivors by $1/(1-p)$:
#
# $$y_i = x_i\, m_i, \qquad m_i = \frac{[u_i \ge p]}{1 - p},\ u_i \sim U[0, 1), \qquad \mathbb{E}[y_i] = x_i .$$
#
# At inference all activations are used (`model.eval()`: dropout is the identity), which is why no
# rescaling is needed at test time.

# %%
drop = nn.Dropout(p=0.5)
x = ag.ones(1, 12)
drop.train()
for _ in range(3):
    print("train:", drop(x).numpy().ravel())
drop.eval()
print("eval: ", drop(x).numpy().ravel())
drop.train()
samples = drop(ag.ones(20000, 12)).numpy()
print(f"train mode over 20000 draws: fraction dropped {np.mean(samples == 0):.3f}, mean output {samples.mean():.3f}")
assert abs(samples.mean() - 1) < 0.02

# %% [markdown]
# ## The ensemble effect
#
# Every dropout mask selects a thinned sub-network, all sharing weights: training with dropout trains
# an exponentially large ensemble. Averaging the predictions of $K$ random sub-networks (dropout left
# on at test time) approaches the prediction of the full network with all units kept, which is how
# evaluation mode approximates the ensemble's average cheaply. A single sub-network is worse than
# either.

# %%
def dropout_ensemble_accuracy(model, K, seed):
    ag.manual_seed(seed)
    model.train()  # dropout on: each forward pass is a different sub-network
    with ag.no_grad():
        probs = sum(model(X_test).softmax(dim=1).numpy() for _ in range(K)) / K
    return float(np.mean(probs.argmax(axis=1) == y_test.numpy()))


Ks = [1, 2, 4, 8, 16, 32]
ens = [np.mean([dropout_ensemble_accuracy(dropped, K, seed) for seed in range(3)]) for K in Ks]
full = accuracy(dropped, X_test, y_test)
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.semilogx(Ks, ens, "o-", base=2, label="average of K dropout sub-networks")
ax.axhline(full, color="C1", linestyle="--", label="eval mode (all units, no rescaling)")
ax.set(xlabel="K", ylabel="test accuracy", title="Dropout as an ensemble")
ax.legend()
plt.show()
print(f"one sub-network: {ens[0]:.3f}; 32 averaged: {ens[-1]:.3f}; eval mode: {full:.3f}")

# %% [markdown]
# ## Batch normalisation
#
# The lecture's Batch Normalizing Transform over a mini-batch $\mathcal{B} = \{x_{1..m}\}$, per feature:
#
# $$\mu_\mathcal{B} = \frac1m \sum_{i=1}^m x_i, \qquad \sigma^2_\mathcal{B} = \frac1m \sum_{i=1}^m (x_i - \mu_\mathcal{B})^2,
#   \qquad \hat x_i = \frac{x_i - \mu_\mathcal{B}}{\sqrt{\sigma^2_\mathcal{B} + \epsilon}}, \qquad
#   y_i = \gamma \hat x_i + \beta \equiv \mathrm{BN}_{\gamma,\beta}(x_i).$$
#
# `nn.BatchNorm1d` against the formula in numpy (in training mode, so it uses the batch's statistics):

# %%
ag.manual_seed(0)
bn = nn.BatchNorm1d(4)
with ag.no_grad():
    bn.weight.copy_(ag.tensor([1.0, 2.0, 0.5, -1.0]))
    bn.bias.copy_(ag.tensor([0.0, 1.0, -1.0, 3.0]))
xb = ag.randn(8, 4) * 5 + 3
mu, var = xb.numpy().mean(axis=0), xb.numpy().var(axis=0)
by_hand = bn.weight.detach().numpy() * (xb.numpy() - mu) / np.sqrt(var + bn.eps) + bn.bias.detach().numpy()
print("max |BatchNorm1d − formula| =", np.abs(bn(xb).detach().numpy() - by_hand).max())
assert np.allclose(bn(xb).detach().numpy(), by_hand, atol=1e-5)

# %% [markdown]
# **Activation statistics with and without.** Feed the digits through a 10-layer tanh network whose
# weights are initialised a little too large (a common accident). Without batch norm, the
# pre-activations drift, their spread grows with depth, and a growing fraction of the tanh units
# saturates at ±1, where $\tanh' \approx 0$ (notebook 02's vanishing gradients). With `batch_norm=True` every layer's
# pre-activations are brought back to mean 0 and standard deviation 1 before the non-linearity.

# %%
def deep_tanh(batch_norm, depth=10, width=64, gain=2.0):
    ag.manual_seed(0)
    model = nn.MLP([64] + [width] * depth + [10], activation=nn.Tanh, batch_norm=batch_norm)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_normal_(layer.weight, gain=gain)
    return model


def layer_statistics(model, X):
    """Mean and standard deviation of what goes into each tanh, and the fraction of saturated units."""
    stats = []
    h = X
    model.train()
    with ag.no_grad():
        for layer in model:
            if isinstance(layer, nn.Tanh):
                a = h.numpy()
                stats.append((a.mean(), a.std(), np.mean(np.abs(np.tanh(a)) > 0.99)))
            h = layer(h)
    return np.array(stats)


batch = X[perm[:256]]
plain_stats = layer_statistics(deep_tanh(False), batch)
bn_stats = layer_statistics(deep_tanh(True), batch)
layers = np.arange(1, len(plain_stats) + 1)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
for stats, name in [(plain_stats, "without batch norm"), (bn_stats, "with batch norm")]:
    axes[0].plot(layers, stats[:, 0], "o-", label=name)
    axes[1].plot(layers, stats[:, 1], "o-", label=name)
    axes[2].plot(layers, stats[:, 2], "o-", label=name)
axes[0].set(title="mean of pre-activations", xlabel="layer")
axes[1].set(title="std of pre-activations", xlabel="layer")
axes[2].set(title="fraction of saturated tanh units (|tanh| > 0.99)", xlabel="layer")
axes[1].legend()
plt.show()

# %% [markdown]
# The effect on training: the same two networks, 120 mini-batch steps of SGD on 1000 digits.

# %%
def train_curve(model, steps=120, batch_size=64, lr=0.1):
    opt = optim.SGD(model.parameters(), lr=lr)
    X_tr, y_tr = X[perm[:1000]], y[perm[:1000]]
    rng = np.random.default_rng(0)
    losses = []
    model.train()
    for _ in range(steps):
        idx = rng.choice(1000, batch_size, replace=False)
        loss = F.cross_entropy(model(X_tr[idx]), y_tr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


fig, ax = plt.subplots(figsize=(6, 3.5))
for batch_norm in (False, True):
    ax.plot(train_curve(deep_tanh(batch_norm)), label="with batch norm" if batch_norm else "without batch norm")
ax.set(xlabel="step", ylabel="mini-batch loss", title="10-layer tanh network, SGD")
ax.legend()
plt.show()

# %% [markdown]
# ## Gradient clipping on a cliff
#
# If the gradient becomes too big, the SGD step $\theta^{new} = \theta^{old} - \alpha \nabla_\theta J(\theta)$
# becomes too big: a bad update that lands far away, at a high loss (in the worst case at Inf or NaN).
# Recurrent networks have such **cliffs** in their loss surfaces. Here is the lecture's example, a
# recurrent network whose hidden state is a single number, $h_t = w\,\sigma(h_{t-1}) + b$ for 50
# steps from $h_0 = 0.5$, with the loss $(h_{50} - 0.7)^2$ as a function of $(w, b)$: the loss jumps
# across a sharp edge where the recurrence switches between its two fixed points.

# %%
ww, bb = np.meshgrid(np.linspace(-2, 12, 300), np.linspace(-6, 2, 300))
h = np.full_like(ww, 0.5)
for _ in range(50):
    h = ww / (1 + np.exp(-h)) + bb
fig, ax = plt.subplots(figsize=(6, 4))
c = ax.contourf(ww, bb, np.log10((h - 0.7) ** 2 + 1e-6), levels=30, cmap="viridis")
fig.colorbar(c, label="log10 loss")
ax.set(xlabel="w", ylabel="b", title="loss of a scalar RNN: cliffs")
plt.show()

# %% [markdown]
# To see the effect of one such wall cleanly, we build a two-parameter loss with the same anatomy: a
# gentle valley with its minimum at $(4, 0)$, and on the way there a cliff, a drop of height 20
# over a width of about $1/4$:
#
# $$J(\theta) = 0.05\,\big((\theta_1 - 4)^2 + 4\theta_2^2\big) + 20\,\sigma\!\big(-8(\theta_1 - 2 + 0.3\,\theta_2)\big).$$
#
# Plain SGD ($\alpha = 0.5$) walks down the plateau; the step that lands on the cliff face meets a
# gradient tens of times larger than any on the plateau before it (the ratio is printed below the
# figures), and is thrown far past the minimum, "shooting off to the right": a bad update, after which it spends the remaining steps
# walking back. With the lecture's norm clipping,
#
# $$\text{if } \lVert \hat{\mathbf{g}} \rVert \ge \text{threshold}: \quad \hat{\mathbf{g}} \leftarrow \frac{\text{threshold}}{\lVert \hat{\mathbf{g}} \rVert}\, \hat{\mathbf{g}},$$
#
# (`nn.utils.clip_grad_norm_(parameters, max_norm=1.0)`) the step keeps its direction but not its
# size, and the descent carries on down the valley.

# %%
def cliff(t):
    return 0.05 * ((t[0] - 4) ** 2 + 4 * t[1] ** 2) + 20 * (-8 * (t[0] - 2 + 0.3 * t[1])).sigmoid()


def cliff_np(x, y):
    return 0.05 * ((x - 4) ** 2 + 4 * y ** 2) + 20 / (1 + np.exp(8 * (x - 2 + 0.3 * y)))


def descend(max_norm, lr=0.5, steps=40, start=(-3.0, 2.5)):
    theta = ag.tensor(start, dtype=ag.float64, requires_grad=True)
    opt = optim.SGD([theta], lr=lr)
    path, losses, norms = [theta.detach().numpy().copy()], [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = cliff(theta)
        loss.backward()
        if max_norm is None:
            norms.append(theta.grad.norm().item())
        else:
            norms.append(nn.utils.clip_grad_norm_([theta], max_norm).item())  # returns the norm before clipping
        opt.step()
        losses.append(loss.item())
        path.append(theta.detach().numpy().copy())
    return np.array(path), np.array(losses), np.array(norms)


runs = {"without clipping": descend(None), "with clipping (max_norm = 1)": descend(1.0)}
xx, yy = np.meshgrid(np.linspace(-4, 20, 400), np.linspace(-3, 6, 200))
fig, axes = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
for ax, (name, (path, losses, norms)) in zip(axes, runs.items()):
    ax.contourf(xx, yy, cliff_np(xx, yy), levels=40, cmap="viridis")
    ax.plot(path[:, 0], path[:, 1], "wo-", markersize=3, linewidth=1)
    ax.plot(4, 0, "r*", markersize=14)
    big = int(np.argmax(norms))
    ax.annotate(f"‖g‖ = {norms[big]:.0f}", path[big], xytext=(path[big][0] - 3, path[big][1] + 1.2),
                color="white", arrowprops=dict(color="white", arrowstyle="->"))
    ax.set(title=f"{name}: final θ = {np.round(path[-1], 2)}, final loss {losses[-1]:.3f}", ylabel="θ₂",
           xlim=(-4, 20), ylim=(-3, 6))
axes[1].set_xlabel("θ₁")
plt.show()

fig, ax = plt.subplots(figsize=(6, 3.2))
for name, (path, losses, norms) in runs.items():
    ax.semilogy(losses, "o-", markersize=3, label=name)
ax.set(xlabel="step", ylabel="J(θ)", title="loss along the way")
ax.legend()
plt.show()

unclipped, clipped = runs["without clipping"], runs["with clipping (max_norm = 1)"]
cliff_step = int(np.argmax(unclipped[2]))
print(f"without clipping: ‖g‖ at the cliff (step {cliff_step}) = {unclipped[2][cliff_step]:.1f}, the largest on the "
      f"plateau before it = {unclipped[2][:cliff_step].max():.2f}: "
      f"{unclipped[2][cliff_step] / unclipped[2][:cliff_step].max():.0f} times larger")
print(f"largest step without clipping: {np.abs(np.diff(unclipped[0], axis=0)).max():.2f}; "
      f"with clipping: {np.linalg.norm(np.diff(clipped[0], axis=0), axis=1).max():.2f} (≤ lr × max_norm = 0.5)")
assert np.linalg.norm(np.diff(clipped[0], axis=0), axis=1).max() <= 0.5 + 1e-9
assert clipped[1][-1] < unclipped[1][-1]

# %% [markdown]
# **Your threshold.** Choose `max_norm` and see the descent with that clipping threshold next to the
# one without. A threshold below about 1 makes every step on the plateau shorter too (slower, but
# safe); a large one lets the cliff's step through. The default, `max_norm = 1`, is drawn below so
# that the notebook reads without a kernel; the slider needs a running kernel.

# %%
def show_clipping(max_norm=1.0):
    clipped_run = descend(max_norm)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    ax.contourf(xx, yy, cliff_np(xx, yy), levels=40, cmap="viridis")
    for (path, losses, _), color, name in [(unclipped, "white", "without clipping"),
                                           (clipped_run, "C1", f"max_norm = {max_norm:g}")]:
        ax.plot(path[:, 0], path[:, 1], "o-", color=color, markersize=3, linewidth=1, label=name)
        ax_loss.semilogy(losses, "o-", color="C0" if color == "white" else color, markersize=3, label=name)
    ax.plot(4, 0, "r*", markersize=14)
    ax.set(xlim=(-4, 20), ylim=(-3, 6), xlabel="θ₁", ylabel="θ₂", title="paths")
    ax.legend(loc="upper right", fontsize=8)
    ax_loss.set(xlabel="step", ylabel="J(θ)", title="loss")
    ax_loss.legend(fontsize=8)
    plt.show()
    steps_taken = np.linalg.norm(np.diff(clipped_run[0], axis=0), axis=1)
    print(f"max_norm = {max_norm:g}: largest step {steps_taken.max():.2f} (≤ lr × max_norm = {0.5 * max_norm:.2f}), "
          f"final loss {clipped_run[1][-1]:.3f}; without clipping: {unclipped[1][-1]:.3f}")


show_clipping(1.0)

# %%
widgets.interact(show_clipping, max_norm=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=2, step=0.1,
                                                                description="max_norm", continuous_update=False));

# %% [markdown]
# ## Exploding gradients in a deep network
#
# The cliff was made by hand. A deep network makes its own when its weights start too large.
# Backpropagation multiplies the error signal by one layer's Jacobian after another (notebook 03:
# $\delta^{(l)} = (\delta^{(l+1)} \mathbf{W}^{(l+1)}) \odot f'(\mathbf{a}^{(l)})$), so its size changes
# by about the same factor at every layer: Kaiming's initialisation (`nn.init.kaiming_normal_`) is
# chosen so that for ReLU layers that factor is about 1. Take an MLP with 12 hidden ReLU layers of
# 64 units, initialise it the Kaiming way and then multiply every weight matrix by a **gain**
# $g$: a gain of 1 is the right scale, 1.25 and 1.5 are too large. Below, for one batch of 256
# digits, the norm of $\partial J / \partial \mathbf{a}^{(l)}$ (each linear layer's output; its
# `retain_grad()` keeps it) and of $\partial J / \partial \mathbf{W}^{(l)}$, layer by layer.

# %%
X_digits, y_digits = X[perm[:1000]], y[perm[:1000]]


def deep_relu(gain, depth=12, width=64):
    """An MLP of `depth` hidden ReLU layers: Kaiming initialisation, every weight matrix times `gain`."""
    ag.manual_seed(0)
    model = nn.MLP([64] + [width] * depth + [10], activation=nn.ReLU)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
            with ag.no_grad():
                layer.weight.mul_(gain)
    return model


def gradient_norms(model, xb, yb):
    """‖∂J/∂a‖ for each linear layer's output a, and ‖∂J/∂W‖ for its weights; layer 1 nearest the input."""
    model.zero_grad()
    outputs, h = [], xb
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            h.retain_grad()  # keep the gradient of this intermediate tensor
            outputs.append(h)
    F.cross_entropy(h, yb).backward()
    weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
    return np.array([a.grad.norm().item() for a in outputs]), np.array([w.grad.norm().item() for w in weights])


gains = [1.0, 1.25, 1.5]
per_layer = {g: gradient_norms(deep_relu(g), X_digits[:256], y_digits[:256]) for g in gains}
fig, (ax_a, ax_w) = plt.subplots(1, 2, figsize=(12, 3.8))
for g, (d_a, d_w) in per_layer.items():
    layer_numbers = np.arange(1, len(d_a) + 1)
    ax_a.semilogy(layer_numbers, d_a, "o-", label=f"gain {g}")
    ax_w.semilogy(layer_numbers, d_w, "o-", label=f"gain {g}")
ax_a.set(xlabel="linear layer (1 = nearest the input)", ylabel="‖∂J/∂a‖", title="error signal reaching each layer")
ax_w.set(xlabel="linear layer (1 = nearest the input)", ylabel="‖∂J/∂W‖", title="gradient of each layer's weights")
ax_a.legend()
plt.show()
for g, (d_a, d_w) in per_layer.items():
    growth = (d_a[0] / d_a[-1]) ** (1 / (len(d_a) - 1))
    print(f"gain {g:<4}: ‖∂J/∂a‖ grows by {growth:.2f} per layer towards the input ({d_a[0] / d_a[-1]:.3g} times "
          f"over {len(d_a) - 1} layers); ‖∂J/∂W‖ from {d_w.min():.3g} to {d_w.max():.3g}, "
          f"{np.median(d_w / per_layer[1.0][1]):.3g} times the gain-1 network's (median over layers)")

# %% [markdown]
# With the right scale the error signal keeps its size through all 12 layers (its factor per layer
# is about 1). With a gain $g$ it grows by about $g$ per layer on its way to the input, geometrically:
# $1.5^{12} \approx 130$, close to the factor printed above for $g = 1.5$. The weight
# gradients, $\partial J / \partial \mathbf{W}^{(l)} = \delta^{(l)} {\mathbf{h}^{(l-1)}}^\top$, are
# larger still and by about as much in every layer: they also carry the layer's input
# $\mathbf{h}^{(l-1)}$, whose size grows by $g$ per layer the other way, in the forward pass. With a
# gain of 1.5 every layer's gradient is hundreds of times larger than with the right scale.
#
# Now train the three: plain SGD ($\eta = 0.05$, batches of 64 from 1000 digits, 150 steps) on the
# network with the right scale, on the one with gain 1.5, and on that one again with
# `nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)` before every step. The right-hand panel
# shows the gradient's norm before clipping.

# %%
def train_deep(gain, max_norm=None, steps=150, lr=0.05):
    model = deep_relu(gain)
    opt = optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)  # the same batches for every run
    losses, norms = [], []
    with np.errstate(all="ignore"):  # a diverging run overflows to inf and NaN: that is what we are watching
        for _ in range(steps):
            idx = rng.choice(len(y_digits), 64, replace=False)
            loss = F.cross_entropy(model(X_digits[idx]), y_digits[idx])
            opt.zero_grad()
            loss.backward()
            # clip_grad_norm_ returns the norm before clipping; max_norm = inf measures it without clipping
            norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm or float("inf")).item())
            opt.step()
            losses.append(loss.item())
    return np.array(losses), np.array(norms)


deep_runs = {"gain 1, no clipping": train_deep(1.0),
             "gain 1.5, no clipping": train_deep(1.5),
             "gain 1.5, clip_grad_norm_(max_norm=1)": train_deep(1.5, max_norm=1.0)}
fig, (ax_l, ax_n) = plt.subplots(1, 2, figsize=(12, 3.8))
for name, (losses, norms) in deep_runs.items():
    ax_l.semilogy(losses, label=name)
    ax_n.semilogy(norms, label=name)
    bad = np.nonzero(~np.isfinite(losses))[0]
    if len(bad):
        ax_l.axvline(bad[0], color="0.5", linestyle=":")
        ax_l.annotate(f"{name}:\noff the scale, inf or NaN from step {bad[0]}", (bad[0], 300), xytext=(bad[0] + 8, 250),
                      fontsize=8, va="top", arrowprops=dict(arrowstyle="->", color="0.5"))
ax_l.set(xlabel="step", ylabel="mini-batch loss", title="training a 12-layer ReLU MLP with SGD", ylim=(0.3, 1e3))
ax_n.set(xlabel="step", ylabel="‖g‖ before clipping", title="gradient norm")
ax_l.legend(fontsize=8)
plt.show()
for name, (losses, norms) in deep_runs.items():
    bad = np.nonzero(~np.isfinite(losses))[0]
    end = f"loss inf or NaN from step {bad[0]} on" if len(bad) else f"mean loss of the last 10 steps {losses[-10:].mean():.3f}"
    print(f"{name:>38}: first loss {losses[0]:.3g}, largest ‖g‖ {np.nanmax(norms):.3g}; {end}")

# %% [markdown]
# With the right scale, SGD trains. With a gain of 1.5 the first gradients are hundreds of times
# too large: the first steps throw the weights so far that within a few steps the activations
# overflow, and the loss and the gradients become inf and then NaN; nothing can be learned after
# that. Clipping the gradient's norm to 1 makes every step at most $\eta \cdot 1$ long, whatever
# the gradient, and the same network trains. It does not repair the initialisation: the clipped run
# starts from a loss of over a hundred and is still behind the well-initialised network after 150
# steps. The cure for a too-large initialisation is the right one (or a normalisation layer); clipping
# is the safety net that keeps one bad region of the loss surface, a cliff or a too-large start, from
# wrecking a training run, which is why it is routine for recurrent networks.

# %% [markdown]
# ## Per-sample gradients
#
# The gradient of a mini-batch's mean loss is the average of one gradient per example,
# $\nabla_\theta L = \frac1B \sum_{i=1}^B \nabla_\theta \ell(\theta; x_i, y_i)$, and backward hands us
# only that average. Sometimes we want the terms themselves: to see which examples pull hardest, to
# clip each one (next section), to estimate the gradient's variance. A Python loop makes $B$ forward
# and backward passes of batch size 1.
#
# `ag.func` (as `torch.func`) does it in one pass. `ag.func.grad(loss)` is a function that returns
# the gradient of `loss` with respect to its first argument, here the parameters of a small network
# written as a plain function of a dict of tensors, for **one** example. `ag.func.vmap(...,
# in_dims=(None, 0, 0))` maps that function over dimension 0 of the images and labels while sharing
# the parameters (`None`: not mapped). It is not a loop: every operation carries the batch dimension
# along (its *batching rule*), so the whole batch goes through once, and each parameter's gradient
# comes back with a leading batch dimension.

# %%
import time

X_train, y_train = X[perm[:1000]], y[perm[:1000]]  # 1000 digits to train on, the other 797 to test
X_held, y_held = X[perm[1000:]], y[perm[1000:]]


def init_params(seed=0, sizes=(64, 32, 10)):
    ag.manual_seed(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{i}"] = ag.randn(n_out, n_in) / np.sqrt(n_in)
        params[f"b{i}"] = ag.zeros(n_out)
    return params


def net(params, x):
    """A 64-32-10 tanh network as a function of its parameters."""
    return F.linear(F.linear(x, params["W0"], params["b0"]).tanh(), params["W1"], params["b1"])


def loss_one(params, x, y):
    """The loss of one example: x of shape (64,), y a label."""
    return F.cross_entropy(net(params, x.unsqueeze(0)), y.unsqueeze(0))


per_sample_grad = ag.func.vmap(ag.func.grad(loss_one), in_dims=(None, 0, 0))


def per_sample_gradients(params, xb, yb):
    """{name: tensor of shape (B, *parameter shape)}: the gradient of each example's loss."""
    with ag.no_grad():  # numbers, not a graph of them
        return per_sample_grad(params, xb, yb)


def per_sample_loop(params, xb, yb):
    grads = [ag.func.grad(loss_one)(params, xb[i], yb[i]) for i in range(len(yb))]
    return {name: ag.stack([g[name] for g in grads]) for name in params}


params = init_params()
xb, yb = X_train[:256], y_train[:256]
vmapped, looped = per_sample_gradients(params, xb, yb), per_sample_loop(params, xb, yb)
for name, g in vmapped.items():
    print(f"{name}: per-sample gradients of shape {tuple(g.shape)}, "
          f"max |vmap − loop| = {np.abs(g.numpy() - looped[name].numpy()).max():.1e}")
    assert np.allclose(g.numpy(), looped[name].numpy(), atol=1e-6)

# their mean is the ordinary gradient of the batch's mean loss
leaves = {name: p.detach().requires_grad_() for name, p in params.items()}
F.cross_entropy(net(leaves, xb), yb).backward()
print("max |mean of per-sample gradients − batch gradient| =",
      max(np.abs(vmapped[n].numpy().mean(axis=0) - leaves[n].grad.numpy()).max() for n in params))


def best_ms(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def batch_backward():
    for p in leaves.values():
        p.grad = None
    F.cross_entropy(net(leaves, xb), yb).backward()


t_vmap, t_loop = best_ms(lambda: per_sample_gradients(params, xb, yb)), best_ms(lambda: per_sample_loop(params, xb, yb))
t_batch = best_ms(batch_backward)
print(f"\nbatch of 256: per-sample gradients with vmap {t_vmap:.1f} ms, with a loop {t_loop:.1f} ms "
      f"({t_loop / t_vmap:.0f}x slower); one batched forward + backward (the mean only) {t_batch:.1f} ms")

# %% [markdown]
# The same numbers, and their mean is the batch's gradient. One vmapped pass costs several times an
# ordinary forward and backward pass (which gives only the mean; on a network this small both are
# mostly Python's overhead per operation), while the loop pays that overhead 256 times over.
#
# **Which examples pull hardest?** The norm of each example's gradient (all parameters together,
# $\lVert \nabla_\theta \ell_i \rVert$) over the 1000 training digits: at initialisation, and after
# 400 steps of plain SGD (the training function is defined here and used again below).

# %%
def sample_norms(grads):
    """‖∇ℓ_i‖ over all parameters together, one per example: a tensor of shape (B,)."""
    B = len(next(iter(grads.values())))
    return sum((g.reshape(B, -1) ** 2).sum(dim=1) for g in grads.values()).sqrt()


def test_accuracy(params):
    with ag.no_grad():
        return (net(params, X_held).argmax(dim=1) == y_held).float().mean().item()


def train_sgd(clip=None, noise=0.0, steps=400, batch_size=64, lr=0.5, seed=0):
    """SGD on the 1000 digits. With `clip` = C: each example's gradient clipped to norm C, the sum
    plus Gaussian noise of standard deviation noise · C, divided by the batch size (DP-SGD)."""
    params = {name: p.requires_grad_() for name, p in init_params(seed).items()}
    opt = optim.SGD(list(params.values()), lr=lr)
    rng = np.random.default_rng(seed)  # the same batches for every run
    curve = []
    for step in range(steps + 1):
        if step % 20 == 0:
            with ag.no_grad():
                curve.append((step, F.cross_entropy(net(params, X_train), y_train).item(), test_accuracy(params)))
        if step == steps:
            break
        idx = rng.choice(len(y_train), batch_size, replace=False)
        opt.zero_grad()
        if clip is None:
            F.cross_entropy(net(params, X_train[idx]), y_train[idx]).backward()
        else:
            grads = per_sample_gradients({n: p.detach() for n, p in params.items()}, X_train[idx], y_train[idx])
            scale = (clip / (sample_norms(grads) + 1e-12)).clamp(max=1.0)  # min(1, C / ‖g_i‖)
            for name, p in params.items():
                g = grads[name]
                clipped_sum = (g * scale.reshape(-1, *[1] * (g.ndim - 1))).sum(dim=0)
                p.grad = (clipped_sum + noise * clip * ag.randn(*p.shape)) / batch_size
        opt.step()
    return params, np.array(curve)


trained, sgd_curve = train_sgd()
norms_init = sample_norms(per_sample_gradients(init_params(), X_train, y_train)).numpy()
norms_trained = sample_norms(per_sample_gradients({n: p.detach() for n, p in trained.items()}, X_train, y_train)).numpy()

fig, ax = plt.subplots(figsize=(7, 3.8))
bins = np.logspace(-4, 1.5, 45)
ax.hist(norms_init, bins=bins, alpha=0.6, label="at initialisation")
ax.hist(norms_trained, bins=bins, alpha=0.6, label="after 400 steps of SGD")
ax.set(xscale="log", xlabel="‖∇θ ℓ_i‖ (one example's gradient)", ylabel="examples", title="per-sample gradient norms")
ax.legend()
plt.show()
for name, n in [("at initialisation", norms_init), ("after training", norms_trained)]:
    print(f"{name:>18}: median {np.median(n):.3g}, 99th percentile {np.percentile(n, 99):.3g}, largest {n.max():.3g}")

# %% [markdown]
# At initialisation every example is wrong in much the same way and their gradients have similar
# norms. After training most examples are fitted and their gradients have shrunk by orders of
# magnitude, but a tail of a few examples, the ones the network still gets wrong or barely right,
# keeps gradients a hundred times larger than the median: in a mini-batch, such an example dominates
# the update. Here are the four with the largest gradients:

# %%
hardest = np.argsort(norms_trained)[::-1][:4]
with ag.no_grad():
    predicted = net(trained, X_train[hardest]).argmax(dim=1).numpy()
fig, axes = plt.subplots(1, 4, figsize=(8, 2.4))
for ax, i, p in zip(axes, hardest, predicted):
    ax.imshow(X_train[int(i)].numpy().reshape(8, 8), cmap="gray_r")
    ax.set_title(f"label {int(y_train[int(i)].item())}, predicted {p}\n‖g‖ = {norms_trained[i]:.2f}", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Clipping each example's gradient: the idea behind DP-SGD
#
# A model that lets single examples pull that hard can memorise them, and what a model memorises
# about one person's record can leak. **Differentially private SGD** (Abadi et al., 2016) bounds how
# much any one example can change an update, in two steps on the per-sample gradients
# $\mathbf{g}_i$ of a batch of $B$:
#
# 1. **clip each one** to norm at most $C$: $\tilde{\mathbf{g}}_i = \mathbf{g}_i \cdot \min\!\big(1, C / \lVert\mathbf{g}_i\rVert\big)$,
#    the rule of `clip_grad_norm_` above, applied to every example instead of to the batch's sum;
# 2. **add noise** to their sum and average: $\hat{\mathbf{g}} = \frac1B \big(\sum_i \tilde{\mathbf{g}}_i + \mathcal{N}(0, \sigma^2 C^2 I)\big)$.
#
# After clipping, adding or removing one example changes the sum by at most $C$; the Gaussian noise,
# $\sigma$ times as large, hides that change. A privacy accountant turns $\sigma$, the sampling rate
# and the number of steps into the guarantee $(\varepsilon, \delta)$, which is beyond this notebook
# (as is the Poisson sampling of batches that the analysis assumes: here the batches are simply
# random). What we can see is the price of each ingredient. Four runs from the same initial
# network with the same batches and learning rate: plain SGD, clipping only ($C = 1$, $\sigma = 0$),
# and clipping with noise of two strengths ($C = 1$, $\sigma = 1$ and $\sigma = 4$; the larger
# $\sigma$, the stronger the privacy guarantee).

# %%
runs = {"plain SGD": sgd_curve,
        "clipped (C = 1)": train_sgd(clip=1.0)[1],
        "DP-SGD: clipped + noise (C = 1, σ = 1)": train_sgd(clip=1.0, noise=1.0)[1],
        "DP-SGD: clipped + noise (C = 1, σ = 4)": train_sgd(clip=1.0, noise=4.0)[1]}

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 3.8))
for name, curve in runs.items():
    ax_loss.plot(curve[:, 0], curve[:, 1], "o-", markersize=3, label=name)
    ax_acc.plot(curve[:, 0], curve[:, 2], "o-", markersize=3, label=name)
ax_loss.set(yscale="log", xlabel="step (batches of 64)", ylabel="training loss (all 1000 digits)", title="loss")
ax_acc.set(xlabel="step (batches of 64)", ylabel="test accuracy", title="accuracy on the 797 held-out digits")
ax_acc.legend(fontsize=8)
plt.show()
for name, curve in runs.items():
    print(f"{name:>40}: final training loss {curve[-1, 1]:.3f}, test accuracy {curve[-1, 2]:.3f}")

# %% [markdown]
# Clipping alone slows training down: at first every example's gradient is about four times longer
# than $C$ (the histogram), so every step is about four times shorter, and later the examples the
# network finds hardest, the histogram's tail, can no longer pull harder than the others, so they
# stay less well fitted (which is the point). The noise adds to each update a random vector of norm
# about $\sigma C \sqrt{d}/B$ for $d$ parameters: with $d = 2410$ and $B = 64$ that is about
# $0.8\,\sigma$, against at most $C = 1$ for the clipped average itself. At $\sigma = 1$ SGD
# averages it out over the steps and it costs little on top of the clipping; at $\sigma = 4$ the
# noise outweighs the signal, and the loss and accuracy pay for it. That is the trade DP-SGD makes,
# privacy for accuracy. The noise's share falls as $1/B$, which is why private training uses
# batches of thousands of examples, and computing thousands of per-sample gradients in one
# vectorised pass instead of a loop is what makes the clipping affordable.
