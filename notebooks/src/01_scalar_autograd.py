# %% [markdown]
# # 01 · Scalar autograd: a neuron, the chain rule, and a finite-difference check
#
# *"If you understand how logistic regression works, then you already understand the operation of a
# basic neural network neuron."* This notebook builds that neuron from `ag.Scalar`, chainrule's
# pure-Python value (micrograd's `Value`), and lets the engine differentiate it.
#
# Every operation on a Scalar records a node with its inputs. `backward()` sorts the recorded DAG
# topologically and walks it in reverse, applying the chain rule at every node.

# %%
import math

import autograd as ag

# %% [markdown]
# ## A neuron is logistic regression
#
# A neuron with weights $\mathbf{w}$, bias $b$ and the logistic sigmoid
# $\sigma(u) = \dfrac{1}{1 + e^{-u}}$ computes
#
# $$\hat y = \sigma(\mathbf{w}^\top \mathbf{x} + b),$$
#
# the probability that logistic regression assigns to class 1. With the cross-entropy loss
# $J = -\,[\,y \log \hat y + (1 - y) \log (1 - \hat y)\,]$ the gradient has the famous closed form
#
# $$\frac{\partial J}{\partial \mathbf{w}} = (\hat y - y)\,\mathbf{x}, \qquad
#   \frac{\partial J}{\partial b} = \hat y - y .$$
#
# Let the engine find it.

# %%
x = [ag.Scalar(1.5, label="x1"), ag.Scalar(-0.5, label="x2")]
w = [ag.Scalar(0.8, label="w1"), ag.Scalar(-1.2, label="w2")]
b = ag.Scalar(0.1, label="b")
y = 1.0

u = x[0] * w[0] + x[1] * w[1] + b
u.label = "u"
y_hat = u.sigmoid()
y_hat.label = "ŷ"
J = -(y * y_hat.log() + (1 - y) * (1 - y_hat).log())
J.label = "J"
J.backward()

print(f"ŷ = {y_hat.data:.6f},  J = {J.data:.6f}")
for wi, xi in zip(w, x):
    print(f"dJ/d{wi.label}: engine {wi.grad:+.8f}   closed form (ŷ - y) x = {(y_hat.data - y) * xi.data:+.8f}")
print(f"dJ/db:  engine {b.grad:+.8f}   closed form (ŷ - y)     = {y_hat.data - y:+.8f}")
assert all(abs(wi.grad - (y_hat.data - y) * xi.data) < 1e-12 for wi, xi in zip(w, x))

# %% [markdown]
# The recorded graph, as `ag.draw_graph` draws it: each value shows its `data` and its `grad`
# (∂J/∂value), each small node the operation that produced the value to its right.

# %%
ag.draw_graph(J)

# %% [markdown]
# ## The chain rule
#
# For $z = f(y)$ and $y = g(x)$:
# $$\frac{\partial z}{\partial x} = \frac{\partial z}{\partial y}\,\frac{\partial y}{\partial x}.$$
#
# With $y = x^2$ and $z = \tanh y$: $\dfrac{\partial z}{\partial x} = (1 - \tanh^2 y)\cdot 2x$.

# %%
x = ag.Scalar(0.7, label="x")
y = x ** 2
z = y.tanh()
z.backward()
print(f"engine: dz/dx = {x.grad:.10f}")
print(f"by hand: (1 - tanh(y)^2) * 2x = {(1 - math.tanh(0.49) ** 2) * 2 * 0.7:.10f}")

# %% [markdown]
# ## The multiple-path chain rule
#
# When $x$ reaches $z$ along several paths, through its successors $y_1, \dots, y_n$, the
# contributions add up:
#
# $$\frac{\partial z}{\partial x} = \sum_{i=1}^n \frac{\partial z}{\partial y_i}\,\frac{\partial y_i}{\partial x}.$$
#
# Take $y_1 = 3x$, $y_2 = e^x$ and $z = y_1 y_2$. Then
# $\frac{\partial z}{\partial x} = y_2 \cdot 3 + y_1 \cdot e^x = 3e^x + 3x e^x$.
# In the drawing, $x$ has two outgoing edges: backward sums the gradient arriving along each.

# %%
x = ag.Scalar(0.5, label="x")
y1 = 3 * x
y1.label = "y1"
y2 = x.exp()
y2.label = "y2"
z = y1 * y2
z.label = "z"
z.backward()
path1 = y2.data * 3             # dz/dy1 * dy1/dx
path2 = y1.data * math.exp(0.5)  # dz/dy2 * dy2/dx
print(f"path through y1: {path1:.10f}\npath through y2: {path2:.10f}")
print(f"sum of paths:    {path1 + path2:.10f}\nengine x.grad:   {x.grad:.10f}")
assert abs(x.grad - (path1 + path2)) < 1e-12
ag.draw_graph(z)

# %% [markdown]
# ### Stepping through it: the backprop explorer
#
# `ag.explore` shows the same graph as a page that runs both passes one node at a time: **forward ▶**
# (or →) computes the values in topological order, **◀ backward** (or ←) visits the nodes in reverse
# order. At each backward step the node sends its inputs the terms $g \cdot \partial \text{out} / \partial \text{in}$,
# written on the edges. When the walk reaches $x$, its two outgoing edges carry
# $\frac{\partial z}{\partial y_1}\frac{\partial y_1}{\partial x}$ and
# $\frac{\partial z}{\partial y_2}\frac{\partial y_2}{\partial x}$, and the details panel adds
# them up to $x$'s gradient. (Run the cell to use it; a notebook read without a kernel shows its
# static drawing. `ag.save_html(z, "z.html")` writes the page to a file for any browser.)

# %%
ag.explore(z, title="z = y1 · y2 with y1 = 3x, y2 = exp(x)", height=520)

# %% [markdown]
# A value used twice is the simplest multi-path case: $z = x \cdot x$ gives $\partial z/\partial x = 2x$,
# which a naive implementation that *overwrites* gradients instead of *adding* them gets wrong.

# %%
x = ag.Scalar(3.0, label="x")
(x * x).backward()
print("d(x*x)/dx at 3:", x.grad)
assert x.grad == 6.0

# %% [markdown]
# ## Checking gradients with finite differences
#
# The derivative is a limit, so a small step approximates it. The central difference
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(\mathbf{x} + \varepsilon \mathbf{e}_i) - f(\mathbf{x} - \varepsilon \mathbf{e}_i)}{2\varepsilon}$$
#
# has an error of order $\varepsilon^2$ (the $\varepsilon^1$ terms of the two Taylor expansions cancel),
# until rounding error, of order $10^{-16}/\varepsilon$, takes over. Below: the error of both one-sided
# and central differences on the neuron's loss as $\varepsilon$ shrinks.

# %%
def neuron_loss(w1, w2, b, x=(1.5, -0.5), y=1.0):
    y_hat = 1 / (1 + math.exp(-(w1 * x[0] + w2 * x[1] + b)))
    return -(y * math.log(y_hat) + (1 - y) * math.log(1 - y_hat))


w1, w2, b = 0.8, -1.2, 0.1
W1 = ag.Scalar(w1)
u = W1 * 1.5 + w2 * -0.5 + b
(-(u.sigmoid().log())).backward()
exact = W1.grad

print(f"{'eps':>8} {'forward diff error':>20} {'central diff error':>20}")
for k in range(1, 12, 2):
    eps = 10.0 ** -k
    forward = (neuron_loss(w1 + eps, w2, b) - neuron_loss(w1, w2, b)) / eps
    central = (neuron_loss(w1 + eps, w2, b) - neuron_loss(w1 - eps, w2, b)) / (2 * eps)
    print(f"{eps:8.0e} {abs(forward - exact):20.3e} {abs(central - exact):20.3e}")

# %% [markdown]
# `ag.gradcheck` does this for every element of every input of a Tensor function, in float64, and
# raises `ag.GradcheckError` naming the worst element when the engine and the differences disagree.
# Here: the same neuron, vectorised over a batch of 5 examples.

# %%
ag.manual_seed(0)
X = ag.randn(5, 2, dtype=ag.float64)
Y = ag.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=ag.float64)
w = ag.randn(2, dtype=ag.float64, requires_grad=True)
b = ag.zeros(1, dtype=ag.float64, requires_grad=True)


def batch_loss(w, b):
    p = (X @ w + b).sigmoid()
    return -(Y * p.log() + (1 - Y) * (1 - p).log()).mean()


print("gradcheck passed:", ag.gradcheck(batch_loss, (w, b)))

# %% [markdown]
# And a gradient that is deliberately wrong is caught: an `ag.Function` whose backward forgets
# the factor 3 in $\frac{d}{dx} x^3 = 3x^2$.

# %%
class BadCube(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * x  # should be 3 x^2


try:
    ag.gradcheck(lambda t: BadCube.apply(t).sum(), (ag.randn(3, dtype=ag.float64, requires_grad=True),))
except ag.GradcheckError as err:
    print("caught:", str(err).splitlines()[0])
