# %% [markdown]
# # 03 · Backpropagation: the lecture's derivation by hand, and the engine that automates it
#
# A network with one hidden layer, as in the lecture:
#
# $$\mathbf{x}_n \xrightarrow{\ \mathbf{V}\ } \mathbf{a}_n \xrightarrow{\ g\ } \mathbf{z}_n
#   \xrightarrow{\ \mathbf{W}\ } \mathbf{b}_n \xrightarrow{\ h\ } \hat{\mathbf{y}}_n$$
#
# with $a_{nj} = \mathbf{v}_j^\top \mathbf{x}_n$, $z_{nj} = g(a_{nj})$, $b_{nk} = \mathbf{w}_k^\top \mathbf{z}_n$,
# $\hat{\mathbf{y}}_n = h(\mathbf{b}_n) = \mathrm{softmax}(\mathbf{b}_n)$ and the cross-entropy
# $J(\theta) = -\sum_n \sum_k y_{nk} \log \hat y_{nk}(\theta)$, $\theta = (\mathbf{V}, \mathbf{W})$.

# %%
import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
import nn.functional as F
from nn.data.datasets import load_digits

ag.set_default_dtype(ag.float64)

# %% [markdown]
# ## The last layer: $\delta^w$
#
# By the chain rule, $\nabla_{\mathbf{w}_k} J_n = \dfrac{\partial J_n}{\partial b_{nk}}\, \nabla_{\mathbf{w}_k} b_{nk}$.
# For softmax with cross-entropy (as for any GLM with its canonical link)
#
# $$\delta^w_{nk} \triangleq \frac{\partial J_n}{\partial b_{nk}} = \hat y_{nk} - y_{nk},
#   \qquad \nabla_{\mathbf{w}_k} b_{nk} = \mathbf{z}_n, \qquad
#   \nabla_{\mathbf{w}_k} J_n = (\hat y_{nk} - y_{nk})\, \mathbf{z}_n .$$
#
# ## The first layer: $\delta^v$, by the multiple-path chain rule
#
# $a_{nj}$ reaches the loss through every output $b_{nk}$, so
#
# $$\delta^v_{nj} \triangleq \frac{\partial J_n}{\partial a_{nj}}
#   = \sum_{k=1}^K \frac{\partial J_n}{\partial b_{nk}} \frac{\partial b_{nk}}{\partial a_{nj}}
#   = \sum_{k=1}^K \delta^w_{nk}\, w_{kj}\, g'(a_{nj}),
#   \qquad \nabla_{\mathbf{v}_j} J_n = \delta^v_{nj}\, \mathbf{x}_n ,$$
#
# and altogether $\nabla_\theta J(\theta) = \sum_n [\,\delta^v_n \mathbf{x}_n^\top,\ \delta^w_n \mathbf{z}_n^\top\,]$.
# In matrix form over a batch (rows are examples): $\Delta^w = \hat{\mathbf{Y}} - \mathbf{Y}$,
# $\nabla_\mathbf{W} J = {\Delta^w}^\top \mathbf{Z}$, $\Delta^v = (\Delta^w \mathbf{W}) \odot g'(\mathbf{A})$,
# $\nabla_\mathbf{V} J = {\Delta^v}^\top \mathbf{X}$.
#
# ## By hand in numpy
#
# With $g = \tanh$, $g'(a) = 1 - \tanh^2 a$, on 32 digits (64 pixels, 10 classes, 20 hidden units).

# %%
X, y = load_digits()
X, y = (X[:32] / 16.0).numpy(), y[:32].numpy()
Y = np.eye(10)[y]  # one-hot targets y_nk
rng = np.random.default_rng(0)
V0 = rng.normal(0, 0.3, (20, 64))  # v_j are the rows of V
W0 = rng.normal(0, 0.3, (10, 20))  # w_k are the rows of W


def backprop_by_hand(V, W, X, Y):
    # fprop
    A = X @ V.T                       # a_nj = v_j . x_n
    Z = np.tanh(A)                    # z_nj = g(a_nj)
    B = Z @ W.T                       # b_nk = w_k . z_n
    B = B - B.max(axis=1, keepdims=True)
    Y_hat = np.exp(B) / np.exp(B).sum(axis=1, keepdims=True)  # h = softmax
    J = -(Y * np.log(Y_hat)).sum()
    # bprop
    delta_w = Y_hat - Y                         # δʷ_nk = ŷ_nk − y_nk
    grad_W = delta_w.T @ Z                      # Σ_n δʷ_n z_nᵀ
    delta_v = (delta_w @ W) * (1 - Z ** 2)      # δᵛ_nj = Σ_k δʷ_nk w_kj g′(a_nj)
    grad_V = delta_v.T @ X                      # Σ_n δᵛ_n x_nᵀ
    return J, grad_V, grad_W


J_hand, gV_hand, gW_hand = backprop_by_hand(V0, W0, X, Y)
print(f"J = {J_hand:.6f};  |∇V| = {np.linalg.norm(gV_hand):.6f}, |∇W| = {np.linalg.norm(gW_hand):.6f}")

# %% [markdown]
# ## The same with the engine
#
# The forward pass written with Tensors, one `backward()`, and the two sets of gradients agree to
# rounding error. Nobody wrote $\delta^v$ down this time: the engine applied the multi-path chain rule
# node by node.

# %%
V = ag.tensor(V0, requires_grad=True)
W = ag.tensor(W0, requires_grad=True)
logits = (ag.tensor(X) @ V.T).tanh() @ W.T
J = F.cross_entropy(logits, ag.tensor(y), reduction="sum")
J.backward()

print(f"J:  hand {J_hand:.12f}   engine {J.item():.12f}")
print(f"max |∇V hand − ∇V engine| = {np.abs(gV_hand - V.grad.numpy()).max():.2e}")
print(f"max |∇W hand − ∇W engine| = {np.abs(gW_hand - W.grad.numpy()).max():.2e}")
assert np.allclose(J_hand, J.item()) and np.allclose(gV_hand, V.grad.numpy()) and np.allclose(gW_hand, W.grad.numpy())

# %% [markdown]
# Both are also checked against finite differences (notebook 01): `ag.gradcheck` perturbs every one
# of the 1480 weights.

# %%
print(ag.gradcheck(lambda V, W: F.cross_entropy((ag.tensor(X) @ V.T).tanh() @ W.T, ag.tensor(y), reduction="sum"),
                   (V.detach().requires_grad_(), W.detach().requires_grad_())))

# %% [markdown]
# Training with either gives the same trajectory: 50 steps of gradient descent with the hand-written
# gradients and with the engine's.

# %%
lr = 0.01
Vh, Wh = V0.copy(), W0.copy()
Ve, We = ag.tensor(V0, requires_grad=True), ag.tensor(W0, requires_grad=True)
hand_losses, engine_losses = [], []
for step in range(50):
    J_h, gV, gW = backprop_by_hand(Vh, Wh, X, Y)
    Vh -= lr * gV
    Wh -= lr * gW
    hand_losses.append(J_h)

    J_e = F.cross_entropy((ag.tensor(X) @ Ve.T).tanh() @ We.T, ag.tensor(y), reduction="sum")
    Ve.grad = We.grad = None
    J_e.backward()
    with ag.no_grad():
        Ve -= lr * Ve.grad
        We -= lr * We.grad
    engine_losses.append(J_e.item())

plt.figure(figsize=(5, 3))
plt.plot(hand_losses, label="hand-written backprop", linewidth=3, alpha=0.5)
plt.plot(engine_losses, "--", label="engine")
plt.xlabel("step"), plt.ylabel("J"), plt.legend(), plt.title("Same gradients, same trajectory")
plt.show()
assert np.allclose(hand_losses, engine_losses)

# %% [markdown]
# ## Backpropagation in a general computational graph
#
# The lecture's recipe for any DAG:
#
# 1. **Fprop**: visit the nodes in topological order; compute each node's value from its predecessors.
# 2. **Bprop**: set the output's gradient to 1; visit the nodes in reverse order and compute each
#    node's gradient from the gradients of its successors $y_1, \dots, y_n$:
#    $\dfrac{\partial z}{\partial x} = \sum_{i=1}^n \dfrac{\partial z}{\partial y_i}\,\dfrac{\partial y_i}{\partial x}$.
#
# `ag.Graph(output)` holds exactly this: the nodes in topological order (`g.nodes`), the leaves, and
# `forward()` / `backward()` that re-run the two passes. Take a neuron with a squared loss,
# $L = d \cdot d$ where $d = \tanh(w_1 x_1 + w_2 x_2 + b) - t$: $d$ reaches $L$ along two paths.
# The intermediate values get names from their position in that order, $v_i$ for `g.nodes[i]`
# (a Scalar's `label` is what the drawing shows), so that the drawing, the tables and the
# explorer below all use the same names.

# %%
x1, x2 = ag.Scalar(2.0, label="x1"), ag.Scalar(-1.0, label="x2")
w1, w2, b = ag.Scalar(-0.5, label="w1"), ag.Scalar(0.3, label="w2"), ag.Scalar(0.8, label="b")
t = ag.Scalar(0.5, label="t")
d = (x1 * w1 + x2 * w2 + b).tanh() - t
d.label = "d"
L = d * d
L.label = "L"

g = ag.Graph(L)
names = {}
for i, node in enumerate(g.nodes):  # name every unnamed node v<its position>, in the drawing and the tables below
    if not node.label:
        node.label = f"v{i}"
    names[node] = node.label
print(g)
print("topological order:", ", ".join(names[node] for node in g.nodes))
ag.draw_graph(g, rankdir="TB")

# %% [markdown]
# **Fprop, step by step.** We walk `g.nodes` (inputs before the nodes that use them) and compute each
# value ourselves from its inputs (`g.inputs(node)`, the edges into the node), with a
# table of what each operation does; then we compare with the value the engine recorded.

# %%
import math

forward_rule = {
    "+": lambda a, b: a + b,
    "*": lambda a, b: a * b,
    "tanh": math.tanh,
    "-": lambda a, b: a - b,
}


value = {}
for node in g.nodes:
    if not g.inputs(node):
        value[node] = node.data
        print(f"{names[node]:>4} = {node.data:+.6f}   (leaf)")
    else:
        args = [value[i] for i in g.inputs(node)]
        value[node] = forward_rule[node.op](*args)
        shown = ", ".join(names[i] for i in g.inputs(node))
        print(f"{names[node]:>4} = {node.op}({shown}) = {value[node]:+.6f}   engine recorded {node.data:+.6f}")
        assert math.isclose(value[node], node.data)

# %% [markdown]
# **Bprop, step by step.** Each operation needs its local derivatives $\partial y / \partial x$ with
# respect to its inputs (that is all "each node type needs to know"). Start with $\partial L/\partial L = 1$,
# visit the nodes in reverse topological order, and *add* each node's contribution to its inputs'
# gradients. When a node is visited, all its successors have already contributed, so its gradient is
# complete.

# %%
local_derivatives = {
    "+": lambda a, b, out: (1.0, 1.0),
    "*": lambda a, b, out: (b, a),
    "tanh": lambda a, out: (1 - out ** 2,),
    "-": lambda a, b, out: (1.0, -1.0),
}

grad = {node: 0.0 for node in g.nodes}
grad[L] = 1.0
for node in reversed(g.nodes):
    if not g.inputs(node):
        continue
    args = [value[i] for i in g.inputs(node)]
    partials = local_derivatives[node.op](*args, value[node])
    for inp, d in zip(g.inputs(node), partials):
        grad[inp] += grad[node] * d  # the multi-path chain rule: contributions add up
    print(f"at {names[node]:>4} (∂L/∂{names[node]} = {grad[node]:+.6f}): "
          + ", ".join(f"∂L/∂{names[i]} += {grad[node] * d:+.6f}" for i, d in zip(g.inputs(node), partials)))

# %% [markdown]
# The engine's own bprop (`g.backward()`) gives the same gradients:

# %%
g.backward()
for leaf in g.leaves:
    print(f"∂L/∂{names[leaf]:<3}: by hand {grad[leaf]:+.8f}   engine {leaf.grad:+.8f}")
    assert math.isclose(grad[leaf], leaf.grad, rel_tol=1e-12, abs_tol=1e-15)

# %% [markdown]
# **Both passes in the backprop explorer.** `ag.explore(L)` runs the same two walks on the drawn
# graph, one node a step (→ fprop, ← bprop, Space plays both): at each bprop step the current
# node's gradient is shown as the sum of the terms on its edges to its successors, and the terms it
# sends to its inputs appear on their edges, exactly the `+=` lines printed above. $d$ is the node
# with two terms ($L = d \cdot d$).

# %%
ag.explore(L, title="L = d · d,  d = tanh(w1 x1 + w2 x2 + b) − t", rankdir="TB", height=640)

# %% [markdown]
# Because the graph is an object, fprop can be re-run with new leaf values (`feeds`) without
# rebuilding anything: here one step of gradient descent on the weights, then a new forward and
# backward through the same nodes.

# %%
print(f"L before the step: {L.data:.6f}")
feeds = {w: w.data - 0.5 * w.grad for w in (w1, w2, b)}
for node in g.nodes:
    node.grad = 0.0  # Scalar gradients accumulate across backward calls, as in micrograd and PyTorch
g.forward(feeds)
g.backward()
print(f"L after the step:  {L.data:.6f}   new ∂L/∂w1 = {w1.grad:+.6f}")
ag.draw_graph(g, rankdir="TB")

# %% [markdown]
# The same works for Tensor graphs. Capture one training step of a small network as a graph, then
# train by feeding it new mini-batches: each `g.forward(feeds)` is the lecture's fprop over the
# recorded nodes with a new batch and new targets in the data leaves, each `g.backward()` its bprop,
# and the optimiser updates the parameter leaves in place between them. The network is built once;
# no Python code of the model runs again.

# %%
import nn
import optim

ag.manual_seed(0)
X_all, y_all = load_digits()
X_all = X_all / 16.0
model = nn.MLP([64, 32, 10])
opt = optim.SGD(model.parameters(), lr=0.5)

xb, yb = X_all[:64], y_all[:64]
loss = F.cross_entropy(model(xb), yb)
step_graph = ag.Graph(loss)
print(step_graph, "- the batch and the targets are leaves:",
      any(leaf is xb for leaf in step_graph.leaves) and any(leaf is yb for leaf in step_graph.leaves))

rng = np.random.default_rng(0)
captured_losses = []
for step in range(150):
    idx = rng.choice(len(y_all), 64, replace=False)
    opt.zero_grad()
    step_graph.forward({xb: X_all[idx].numpy(), yb: y_all[idx].numpy()})
    step_graph.backward()
    opt.step()
    captured_losses.append(loss.item())
print(f"mini-batch loss: first steps {np.mean(captured_losses[:10]):.3f}, last steps {np.mean(captured_losses[-10:]):.3f}")

# the captured graph computes exactly what running the model again (eagerly) computes
opt.zero_grad()
step_graph.forward({xb: X_all[:64].numpy(), yb: y_all[:64].numpy()})
step_graph.backward()
captured_grad = model[0].weight.grad.numpy().copy()
model.zero_grad()
eager = F.cross_entropy(model(X_all[:64]), y_all[:64])
eager.backward()
assert np.isclose(eager.item(), loss.item()) and np.allclose(captured_grad, model[0].weight.grad.numpy())
print("captured graph and eager re-run agree: loss", round(eager.item(), 6))

# %% [markdown]
# The explorer draws Tensor graphs too, each module a cluster (click its name to collapse it). Here
# one training step of this network on 8 digits: a tensor is shown by its shape, statistics and a
# histogram, and the term on an edge is summed over its elements (Σ), so the Σs of the terms into a
# node add up to the Σ of its gradient; the details panel checks the sum element by element. The
# 64-pixel inputs reach the loss through `linear`, `relu`, `linear` and `log_softmax`.

# %%
explored_step = F.cross_entropy(model(X_all[:8]), y_all[:8])
ag.explore(explored_step, params=dict(model.named_parameters()), title="one training step of MLP([64, 32, 10])",
           rankdir="TB", height=640)

# %% [markdown]
# Re-running the graph does not walk the node objects one by one: `ag.Graph` compiles the two passes
# into straight-line Python once, one line per operation for fprop and one call of a derivative rule
# per edge for bprop. The pending gradients of the multi-path chain rule are local variables (`d_...`),
# deleted as soon as they are passed on; a gradient arriving along a second path is added where it
# arrives; `fit` sums a gradient over the dimensions its input was broadcast along (a bias added to
# every row of the batch). `step_graph.code` is that source (here fprop and the start of bprop):

# %%
forward_src, backward_src = step_graph.code.split("\n\n\n")[:2]
print(forward_src)
print()
print("\n".join(backward_src.splitlines()[:24]))
print("    ...")
