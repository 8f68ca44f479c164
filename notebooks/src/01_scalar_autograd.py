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
# (∂J/∂value), each small node the operation that produced the value below it. The longest path
# from an input to $J$ passes through nine operations; drawn left to right (the default,
# `rankdir='LR'`) the graph would be about 4000 pixels wide, so we draw it top to bottom
# (`rankdir='TB'`), where it fits the page.

# %%
ag.draw_graph(J, rankdir="TB")

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

# %% [markdown]
# ## Forward mode: derivatives that travel with the values
#
# `backward()` is **reverse mode**: the forward pass records the graph, then one walk from the output
# back to the inputs gives $\partial J / \partial v$ for *every* value $v$ at once. The chain rule can
# also be run the other way round. Choose a direction $\dot{\mathbf{x}}$ for the inputs and carry,
# beside every value $v$, its **tangent** $\dot v$: the rate at which $v$ changes when the inputs
# move along $\dot{\mathbf{x}}$. Each operation computes its result's tangent from its inputs'
# tangents with the same local derivatives that backward uses:
#
# $$c = a\,b:\ \ \dot c = \dot a\, b + a\, \dot b, \qquad c = \tanh a:\ \ \dot c = (1 - \tanh^2 a)\,\dot a, \qquad
#   c = \sigma(a):\ \ \dot c = \sigma(a)\,(1 - \sigma(a))\,\dot a .$$
#
# This is arithmetic on **dual numbers** $a + \dot a\,\varepsilon$ with $\varepsilon^2 = 0$:
# $(a + \dot a \varepsilon)(b + \dot b \varepsilon) = ab + (\dot a b + a \dot b)\,\varepsilon$, and
# $f(a + \dot a \varepsilon) = f(a) + f'(a)\,\dot a\,\varepsilon$ (Taylor's series stops after the
# first term). When the forward pass ends, the output's tangent is the directional derivative
# $\nabla J \cdot \dot{\mathbf{x}}$. With $\dot{\mathbf{x}} = \mathbf{e}_i$ (1 for input $i$, 0 for
# the others) it is $\partial J / \partial x_i$: one forward pass per input, where reverse mode needed
# one backward pass for all of them. The multiple-path rule comes for free: a value used twice adds
# up the tangents arriving along both paths, as $\dot a b + a \dot b$ shows.
#
# In chainrule, `ag.forward_ad.make_dual(s, tangent)` (inside `with ag.forward_ad.dual_level():`)
# turns a Scalar into a dual Scalar; every operation on it is dual too, and
# `ag.forward_ad.unpack_dual(result).tangent` reads the derivative. Here is the neuron from the top of
# the notebook, differentiated both ways: three forward passes (one per parameter) against one
# backward pass.

# %%
fwAD = ag.forward_ad


def neuron(w1, w2, b, x=(1.5, -0.5), y=1.0):
    y_hat = (w1 * x[0] + w2 * x[1] + b).sigmoid()
    return -(y * y_hat.log() + (1 - y) * (1 - y_hat).log())


params = {"w1": 0.8, "w2": -1.2, "b": 0.1}

# reverse mode: one forward pass, one backward pass, every partial derivative
leaves = {name: ag.Scalar(v, label=name) for name, v in params.items()}
neuron(**leaves).backward()
reverse = {name: s.grad for name, s in leaves.items()}

# forward mode: one forward pass per parameter, the tangent 1 on that parameter and 0 on the others
forward = {}
with fwAD.dual_level():
    for chosen in params:
        duals = {name: fwAD.make_dual(ag.Scalar(v), 1.0 if name == chosen else 0.0) for name, v in params.items()}
        forward[chosen] = fwAD.unpack_dual(neuron(**duals)).tangent

print(f"{'':>6} {'reverse mode (backward)':>24} {'forward mode (tangent)':>24}")
for name in params:
    print(f"dJ/d{name:<2} {reverse[name]:+24.15f} {forward[name]:+24.15f}")
assert all(abs(reverse[name] - forward[name]) < 1e-14 for name in params)

# %% [markdown]
# The same numbers, to the last digit: both modes apply the same local derivatives, and only the
# order of the multiplications differs. A dual Scalar is still a Scalar (its `repr` shows the
# tangent beside the value), so it draws, backpropagates and mixes with plain Scalars and numbers,
# whose tangent is 0.
#
# ## Which mode costs what
#
# A function $F: \mathbb{R}^n \to \mathbb{R}^m$ has an $m \times n$ Jacobian. One forward pass with
# tangent $\dot{\mathbf{x}}$ gives the Jacobian times a vector, $J\dot{\mathbf{x}}$: one **column**
# for $\dot{\mathbf{x}} = \mathbf{e}_i$. One backward pass from output $k$ gives a vector times the
# Jacobian, $\mathbf{e}_k^\top J$: one **row**. So the whole Jacobian costs
#
# | | passes for the Jacobian | cheap when |
# |---|---|---|
# | forward mode | $n$ forward passes (one per input) | few inputs, many outputs |
# | reverse mode | 1 forward pass + $m$ backward passes (one per output) | many inputs, few outputs |
#
# Two functions of opposite shapes show it:
#
# * $f: \mathbb{R}^n \to \mathbb{R}$, $\ f(\mathbf{x}) = \sum_{i=1}^{n} \tanh(x_i\, x_{i+1})$ (indices
#   wrapping round): many inputs, one output, the shape of a training loss.
# * $g: \mathbb{R} \to \mathbb{R}^m$, the $m$ hidden states of a tiny recurrent network driven by one
#   input $t$: $h_0 = t$, $h_k = \tanh(0.9\,h_{k-1} + t)$, $g(t) = (h_1, \dots, h_m)$: one input, many
#   outputs. Each backward pass from $h_k$ walks back through $k$ steps.
#
# The helpers below count the passes they make and check that both modes give the same derivatives.

# %%
import time

import matplotlib.pyplot as plt

passes = {"forward": 0, "backward": 0}


def f_ring(xs):
    passes["forward"] += 1
    total = 0.0
    for i in range(len(xs)):
        total = total + (xs[i] * xs[(i + 1) % len(xs)]).tanh()
    return total


def g_states(t, m):
    passes["forward"] += 1
    h, states = t, []
    for _ in range(m):
        h = (0.9 * h + t).tanh()
        states.append(h)
    return states


def gradient_reverse(x0):
    xs = [ag.Scalar(v) for v in x0]
    out = f_ring(xs)
    passes["backward"] += 1
    out.backward()
    return [x.grad for x in xs]


def gradient_forward(x0):
    grad = []
    with fwAD.dual_level():
        for i in range(len(x0)):  # one pass per input direction e_i
            xs = [fwAD.make_dual(ag.Scalar(v), 1.0 if j == i else 0.0) for j, v in enumerate(x0)]
            grad.append(fwAD.unpack_dual(f_ring(xs)).tangent)
    return grad


def jacobian_reverse(t0, m):
    t = ag.Scalar(t0)
    column = []
    for h in g_states(t, m):  # one backward pass per output; the graph is kept for the next
        t.grad = 0.0
        passes["backward"] += 1
        h.backward(retain_graph=True)
        column.append(t.grad)
    return column


def jacobian_forward(t0, m):
    with fwAD.dual_level():
        t = fwAD.make_dual(ag.Scalar(t0), 1.0)
        return [fwAD.unpack_dual(h).tangent for h in g_states(t, m)]


def measure(fn, *args):
    """(result, passes made, best time of 3 runs in ms)."""
    passes.update(forward=0, backward=0)
    result = fn(*args)
    counted = dict(passes)
    best = min(_timed(fn, *args) for _ in range(3))
    return result, counted, best * 1e3


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


sizes = [10, 30, 100, 300]
rows = []
print(f"{'function':<14}{'forward mode':>26}{'reverse mode':>30}{'time forward':>16}")
print(f"{'':<14}{'passes':>14}{'time':>12}{'passes':>18}{'time':>12}{'/ reverse':>16}")


def report(label, kind, size, fw_passes, fw_ms, rv_passes, rv_ms):
    rows.append((kind, size, fw_ms, rv_ms))
    reverse_passes = f"{rv_passes['forward']} fwd + {rv_passes['backward']} bwd"
    print(f"{label:<14}{fw_passes['forward']:>10} fwd{fw_ms:>9.2f} ms{reverse_passes:>18}{rv_ms:>9.2f} ms"
          f"{fw_ms / rv_ms:>16.3g}")


for n in sizes:
    x0 = [math.sin(i) for i in range(n)]
    fw, fw_passes, fw_ms = measure(gradient_forward, x0)
    rv, rv_passes, rv_ms = measure(gradient_reverse, x0)
    assert max(abs(a - b) for a, b in zip(fw, rv)) < 1e-12
    report(f"f: R^{n} -> R", "f", n, fw_passes, fw_ms, rv_passes, rv_ms)
for m in sizes:
    fw, fw_passes, fw_ms = measure(jacobian_forward, 0.3, m)
    rv, rv_passes, rv_ms = measure(jacobian_reverse, 0.3, m)
    assert max(abs(a - b) for a, b in zip(fw, rv)) < 1e-12
    report(f"g: R -> R^{m}", "g", m, fw_passes, fw_ms, rv_passes, rv_ms)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, kind, title, xlabel in [(axes[0], "f", "f: Rⁿ → R (the gradient)", "inputs n"),
                                (axes[1], "g", "g: R → Rᵐ (all m derivatives)", "outputs m")]:
    ns = [r[1] for r in rows if r[0] == kind]
    ax.loglog(ns, [r[2] for r in rows if r[0] == kind], "o-", label="forward mode")
    ax.loglog(ns, [r[3] for r in rows if r[0] == kind], "s-", label="reverse mode")
    ax.set(title=title, xlabel=xlabel, ylabel="time (ms)")
    ax.legend()
plt.show()

# %% [markdown]
# Every derivative agrees (the asserts check them to $10^{-12}$), and the costs are mirror images.
# For $f$, reverse mode makes one forward and one backward pass whatever $n$ is, each of about $n$
# operations: its time grows like $n$. Forward mode makes $n$ passes of $n$ operations: $n^2$, a
# hundreds of times slower than reverse mode at $n = 300$. For $g$ the roles swap: one forward pass with a tangent
# gives all $m$ derivatives, while reverse mode needs a backward pass per output, the one from $h_k$
# through $k$ steps: $m^2/2$ steps in all.
#
# A network's training loss is the first shape in the extreme, millions of parameters in and one
# number out, which is why backpropagation is reverse mode. Forward mode has its uses all the same:
# Jacobians of functions with few inputs, directional derivatives, and, combined with reverse mode,
# Hessian-vector products (notebook 05). The Tensor engine has both modes too: `ag.forward_ad` with
# Tensors, and `ag.func.jacfwd` against `ag.func.jacrev`.
