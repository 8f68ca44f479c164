# %% [markdown]
# # 02 · From linear models to neural networks
#
# The lecture recaps linear models (least squares, softmax regression), stacks logistic regressions
# into a network, and asks why the network needs a non-linearity. Each claim below is checked
# numerically with chainrule's Tensor engine.

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
import nn
import nn.functional as F
import optim
from nn.data.datasets import load_digits, make_moons, make_regression
from threadpoolctl import threadpool_limits

threadpool_limits(1)  # small matrices: one BLAS thread is faster than several sharing the cores

ag.set_default_dtype(ag.float64)  # exact comparisons with closed forms in this notebook
ag.manual_seed(0)

# %% [markdown]
# ## Least squares: closed form against gradient descent
#
# The residual sum of squares $RSS(\mathbf{w}) = \sum_{i=1}^N (y_i - \mathbf{w}^\top \mathbf{x}_i)^2$
# is a convex quadratic. Setting its gradient $-2\mathbf{X}^\top(\mathbf{y} - \mathbf{X}\mathbf{w})$ to
# zero gives the normal equations and the closed form
#
# $$\mathbf{w} = (\mathbf{X}^\top \mathbf{X})^{-1} \mathbf{X}^\top \mathbf{y}.$$
#
# Gradient descent, $\theta_{k+1} = \theta_k - \eta_k \mathbf{g}_k$, on the mean squared error reaches
# the same point (a column of ones in $\mathbf{X}$ carries the bias).

# %%
X, y, w_true = make_regression(n_samples=200, n_features=3, noise=5.0, bias=2.0, coef=True, seed=0)
Xb = ag.cat([X, ag.ones(200, 1)], dim=1)  # bias column

Xn, yn = Xb.numpy(), y.numpy()
w_closed = np.linalg.solve(Xn.T @ Xn, Xn.T @ yn)  # (X^T X)^{-1} X^T y without forming the inverse

w = ag.zeros(4, requires_grad=True)
opt = optim.SGD([w], lr=0.1)
losses = []
for step in range(150):
    loss = ((Xb @ w - y) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())

print("true w, bias:       ", np.round(np.append(w_true.numpy(), 2.0), 4))
print("closed form:        ", np.round(w_closed, 4))
print("gradient descent:   ", np.round(w.detach().numpy(), 4))
print("max |difference|:    %.2e" % np.abs(w.detach().numpy() - w_closed).max())
assert np.allclose(w.detach().numpy(), w_closed, atol=1e-6)

fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(np.array(losses[:100]) - ((Xn @ w_closed - yn) ** 2).mean())  # beyond ~100 steps: rounding
ax.set(xlabel="gradient-descent step", ylabel="MSE − optimal MSE",
       title="Gradient descent converges to the closed form")
plt.show()

# %% [markdown]
# ## Softmax regression
#
# For $C$ classes, softmax regression scores each class linearly and normalises:
#
# $$p(y = c \mid \mathbf{x}) = \frac{\exp(\mathbf{w}_c^\top \mathbf{x})}{\sum_{c'=1}^C \exp(\mathbf{w}_{c'}^\top \mathbf{x})}.$$
#
# Trained with the cross-entropy $J = -\sum_n \log p(y_n \mid \mathbf{x}_n)$, the gradient with
# respect to the scores $\mathbf{b} = \mathbf{W}\mathbf{x}$ is $\hat{\mathbf{y}} - \mathbf{y}$ (predicted
# probabilities minus the one-hot target): the error signal $\delta^w$ of notebook 03.
# Here on the 8×8 digits, with a train/test split.

# %%
Xd, yd = load_digits()
Xd = Xd / 16.0
perm = np.random.default_rng(0).permutation(len(yd))
train, test = perm[:1300], perm[1300:]
X_train, y_train, X_test, y_test = Xd[train], yd[train], Xd[test], yd[test]

softmax_reg = nn.Linear(64, 10)
opt = optim.SGD(softmax_reg.parameters(), lr=0.5)
for step in range(150):
    loss = F.cross_entropy(softmax_reg(X_train), y_train)
    opt.zero_grad()
    loss.backward()
    opt.step()

with ag.no_grad():
    acc = (softmax_reg(X_test).argmax(dim=1) == y_test).float().mean().item()
print(f"softmax regression: train loss {loss.item():.3f}, test accuracy {acc:.3f}")

# the gradient of the summed cross-entropy with respect to the scores is softmax(scores) - one_hot(y)
scores = softmax_reg(X_train[:5]).detach().requires_grad_()
F.cross_entropy(scores, y_train[:5], reduction="sum").backward()
delta = scores.softmax(dim=1).detach().numpy() - F.one_hot(y_train[:5], 10).numpy()
print("max |dJ/db - (ŷ - y)| =", np.abs(scores.grad.numpy() - delta).max())
assert np.allclose(scores.grad.numpy(), delta)

# %% [markdown]
# ## Why non-linearity? Stacked linear layers collapse into one
#
# Without an activation function, two layers compute
# $\mathbf{W}_2(\mathbf{W}_1\mathbf{x} + \mathbf{b}_1) + \mathbf{b}_2 = \mathbf{V}\mathbf{x} + \mathbf{c}$ with
# $\mathbf{V} = \mathbf{W}_2\mathbf{W}_1$ and $\mathbf{c} = \mathbf{W}_2\mathbf{b}_1 + \mathbf{b}_2$:
# extra layers "could just be compiled down into a single linear transform". Numerically:

# %%
deep_linear = nn.Sequential(nn.Linear(2, 16), nn.Linear(16, 16), nn.Linear(16, 1))
Ws = [layer.weight.detach().numpy() for layer in deep_linear]
bs = [layer.bias.detach().numpy() for layer in deep_linear]
V = Ws[2] @ Ws[1] @ Ws[0]
c = Ws[2] @ (Ws[1] @ bs[0] + bs[1]) + bs[2]

x = ag.randn(5, 2)
print("three linear layers:", deep_linear(x).detach().numpy().ravel())
print("one linear layer Vx+c:", (x.numpy() @ V.T + c).ravel())
assert np.allclose(deep_linear(x).detach().numpy(), x.numpy() @ V.T + c)

# %% [markdown]
# So a stack of linear layers can only draw a straight decision boundary. On two moons, a
# three-layer *linear* network is no better than logistic regression, while the same network with
# ReLUs between the layers separates the classes.

# %%
Xm, ym = make_moons(n_samples=200, noise=0.1, seed=0)


def fit(model, steps=300):
    opt = optim.Adam(model.parameters(), lr=0.03)
    for _ in range(steps):
        loss = F.cross_entropy(model(Xm), ym)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


ag.manual_seed(0)
linear_stack = fit(nn.Sequential(nn.Linear(2, 16), nn.Linear(16, 16), nn.Linear(16, 2)))
relu_net = fit(nn.MLP([2, 16, 16, 2], activation=nn.ReLU))

xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 120), np.linspace(-1.0, 1.5, 100))
grid = ag.tensor(np.stack([xx.ravel(), yy.ravel()], 1))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, model, name in zip(axes, [linear_stack, relu_net], ["3 linear layers", "3 layers with ReLU"]):
    with ag.no_grad():
        acc = (model(Xm).argmax(dim=1) == ym).float().mean().item()
        region = model(grid).argmax(dim=1).numpy().reshape(xx.shape)
    ax.contourf(xx, yy, region, cmap="coolwarm", alpha=0.3)
    ax.scatter(Xm.numpy()[:, 0], Xm.numpy()[:, 1], c=ym.numpy(), cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3)
    ax.set_title(f"{name}: accuracy {acc:.2f}")
plt.show()

# %% [markdown]
# ## Activation functions and their derivatives
#
# | | $f(x)$ | $f'(x)$ | range |
# |---|---|---|---|
# | sigmoid | $\sigma(x) = \dfrac{1}{1 + e^{-x}}$ | $\sigma(x)(1 - \sigma(x)) \le \tfrac14$ | $(0, 1)$ |
# | tanh | $\dfrac{e^x - e^{-x}}{e^x + e^{-x}}$ | $1 - \tanh^2 x \le 1$ | $(-1, 1)$ |
# | ReLU | $\max(0, x)$ | $1$ for $x > 0$, $0$ for $x < 0$ | $[0, \infty)$ |
# | leaky ReLU | $x$ for $x \ge 0$, $\alpha x$ for $x < 0$ | $1$ or $\alpha$ | $\mathbb{R}$ |
#
# The derivatives below are not typed in: each curve is `x.grad` after `f(x).sum().backward()`
# (the gradient of a sum of elementwise functions is the elementwise derivative).

# %%
activations = {
    "sigmoid": lambda t: t.sigmoid(),
    "tanh": lambda t: t.tanh(),
    "ReLU": lambda t: t.relu(),
    "leaky ReLU (α = 0.1)": lambda t: F.leaky_relu(t, 0.1),
}
xs = ag.linspace(-4, 4, 401)
fig, axes = plt.subplots(1, 4, figsize=(14, 3), sharey=True)
for ax, (name, f) in zip(axes, activations.items()):
    x = xs.detach().requires_grad_()
    out = f(x)
    out.sum().backward()
    ax.plot(xs.numpy(), out.detach().numpy(), label="f(x)")
    ax.plot(xs.numpy(), x.grad.numpy(), label="f'(x) by autograd", linestyle="--")
    ax.set_title(name)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_ylim(-1.2, 2)
axes[0].legend(loc="upper left")
plt.show()

s = xs.sigmoid().numpy()
x = xs.detach().requires_grad_()
x.sigmoid().sum().backward()
assert np.allclose(x.grad.numpy(), s * (1 - s))
print(f"largest sigmoid derivative: {x.grad.numpy().max():.4f} (at x = 0; the bound is 1/4)")

# %% [markdown]
# ## Vanishing gradients
#
# Backpropagation multiplies one factor $f'(a)$ per layer (notebook 03), and a sigmoid's is at most
# $\tfrac14$. Through 20 sigmoid layers the gradient reaching the first layers is many orders of
# magnitude smaller than at the last; ReLU's derivative is exactly 1 where it is active, so the ReLU
# network's gradients keep their size. Each network gets the initialisation meant for its activation
# (Xavier for sigmoid, Kaiming for ReLU).

# %%
def layer_grad_norms(activation, depth=20):
    ag.manual_seed(0)
    model = nn.MLP([16] + [32] * depth + [1], activation=activation)
    for layer in model:
        if isinstance(layer, nn.Linear):
            if activation is nn.ReLU:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    x, y = ag.randn(64, 16), ag.randn(64, 1)
    loss = F.mse_loss(model(x), y)
    loss.backward()
    return [layer.weight.grad.norm().item() for layer in model if isinstance(layer, nn.Linear)], model, loss


norms_sigmoid, deep_sigmoid, _ = layer_grad_norms(nn.Sigmoid)
norms_relu, _, _ = layer_grad_norms(nn.ReLU)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(range(1, len(norms_sigmoid) + 1), norms_sigmoid, "o-", label="sigmoid")
ax.semilogy(range(1, len(norms_relu) + 1), norms_relu, "s-", label="ReLU")
ax.set(xlabel="layer (1 = nearest the input)", ylabel="‖∂J/∂W‖", title="Gradient norm per layer, 21 layers")
ax.legend()
plt.show()
print(f"sigmoid: first layer / last layer gradient norm = {norms_sigmoid[0] / norms_sigmoid[-1]:.1e}")
print(f"ReLU:    first layer / last layer gradient norm = {norms_relu[0] / norms_relu[-1]:.1e}")
assert norms_sigmoid[0] / norms_sigmoid[-1] < 1e-4 < norms_relu[0] / norms_relu[-1]

# %% [markdown]
# **Turn the knobs.** The depth and the activation are yours to choose below: how deep can a sigmoid
# network get before its first layer learns nothing, and does tanh fare better? Each setting builds
# a fresh network with the initialisation meant for its activation and plots the gradient norm of
# every layer's weights. The figure just below is the default setting (drawn here so that the notebook
# reads without a kernel); the sliders under it need a running kernel.

# %%
import ipywidgets as widgets

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU, "leaky ReLU": nn.LeakyReLU}


def show_vanishing(depth=20, activation="sigmoid"):
    norms, _, _ = layer_grad_norms(ACTIVATIONS[activation], depth)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.semilogy(range(1, len(norms) + 1), norms, "o-")
    ax.set(xlabel="layer (1 = nearest the input)", ylabel="‖∂J/∂W‖", title=f"{activation}, {depth} hidden layers")
    plt.show()
    print(f"{activation}, depth {depth}: first layer / last layer gradient norm = {norms[0] / norms[-1]:.1e}")


show_vanishing()

# %%
widgets.interact(show_vanishing,
                 depth=widgets.IntSlider(value=20, min=1, max=40, description="depth", continuous_update=False),
                 activation=widgets.Dropdown(options=list(ACTIVATIONS), value="sigmoid", description="activation"));

# %% [markdown]
# The same, seen in the graph: `ag.draw_graph` with `color_by='grad_norm'` shades every node by the
# decade of its gradient's norm, and `max_nodes` collapses each layer into one node. Blue is vanishing.
# (Here a sigmoid net of 6 hidden layers, to keep the picture small, drawn top to bottom with
# `rankdir='TB'`: the input at the top, the loss at the bottom, so that the chain of layers fits the
# page's width.)

# %%
ag.manual_seed(0)
small = nn.MLP([16] + [32] * 6 + [1], activation=nn.Sigmoid)
loss = F.mse_loss(small(ag.randn(64, 16)), ag.randn(64, 1))
ag.draw_graph(loss, params=dict(small.named_parameters()), color_by="grad_norm", show_data=False, max_nodes=30,
              rankdir="TB")
