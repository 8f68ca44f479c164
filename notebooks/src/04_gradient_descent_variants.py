# %% [markdown]
# # 04 · Gradient-descent variants: batch, stochastic, mini-batch
#
# All three take the step $\theta_{k+1} = \theta_k - \eta_k \mathbf{g}_k$; they differ in how much
# data goes into the gradient $\mathbf{g}_k$ of one update:
#
# | variant | gradient of one update |
# |---|---|
# | batch | $\nabla_\theta J(\theta)$ over the **entire** training set |
# | stochastic (SGD) | $\nabla_\theta J(\theta; x^{(i)}, y^{(i)})$ for **one** example |
# | mini-batch | $\nabla_\theta J(\theta; x^{(i:i+n)}, y^{(i:i+n)})$ for $n$ examples (here 32) |
#
# In chainrule the variant is only the `batch_size` of the `DataLoader`: `len(dataset)` is batch
# gradient descent, 1 is SGD, anything between is mini-batch. Below each trains the same network
# (same initial weights) on the digits for the same **3 seconds** of compute, and we measure the
# entries of the lecture's comparison table.

# %%
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import autograd as ag
import nn
import nn.functional as F
import optim
from nn.data import DataLoader, TensorDataset
from nn.data.datasets import load_digits
from threadpoolctl import threadpool_limits

# One BLAS thread: these matrices are small, and several BLAS threads competing for shared cores
# make the timings erratic (a full-batch step here is several times slower with them, not faster).
threadpool_limits(1)

X, y = load_digits()
X = X / 16.0
perm = np.random.default_rng(0).permutation(len(y))
X_train, y_train, X_test, y_test = X[perm[:1347]], y[perm[:1347]], X[perm[1347:]], y[perm[1347:]]
N = len(y_train)
BUDGET = 3.0       # seconds of training per variant
TARGET_LOSS = 0.3  # for "time to a target loss"
print(f"{N} training and {len(y_test)} test images")

# %% [markdown]
# The three configurations. SGD's single-example gradients are noisy, so it gets the lecture's
# annealing: $\eta_k = \eta_0 / (1 + k/2000)$, a `LambdaLR` stepped after every update.

# %%
VARIANTS = {
    "batch": dict(batch_size=N, lr=1.0, anneal=None),
    "stochastic": dict(batch_size=1, lr=0.05, anneal=lambda k: 1.0 / (1.0 + k / 2000)),
    "mini-batch (32)": dict(batch_size=32, lr=0.2, anneal=None),
}


def new_model():
    ag.manual_seed(0)  # the same initial weights for every variant
    return nn.MLP([64, 32, 10])


def full_loss(model, X, y):
    with ag.no_grad():
        return F.cross_entropy(model(X), y).item()


def train(batch_size, lr, anneal, budget=BUDGET):
    """Train for `budget` seconds of update time; record (updates, seconds, full training loss) about
    60 times along the way (the evaluations are not counted as training time)."""
    model = new_model()
    opt = optim.SGD(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.LambdaLR(opt, anneal) if anneal else None
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, seed=0)
    history = [(0, 0.0, full_loss(model, X_train, y_train))]
    seconds, updates, next_record = 0.0, 0, budget / 60
    while seconds < budget:
        for xb, yb in loader:
            start = time.perf_counter()
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if schedule:
                schedule.step()
            seconds += time.perf_counter() - start
            updates += 1
            if seconds >= next_record or seconds >= budget:
                history.append((updates, seconds, full_loss(model, X_train, y_train)))
                next_record += budget / 60
            if seconds >= budget:
                break
    return model, np.array(history)


results = {}
for name, cfg in VARIANTS.items():
    model, history = train(**cfg)
    with ag.no_grad():
        accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
    results[name] = dict(model=model, history=history, accuracy=accuracy, **cfg)
    print(f"{name:>16}: {int(history[-1, 0]):6d} updates, final training loss {history[-1, 2]:.4f}, "
          f"test accuracy {accuracy:.3f}")

# %% [markdown]
# ## Loss against updates and against time
#
# Per update, batch gradient descent makes the best step: its gradient is exact. Per second, it makes
# very few of them. SGD makes thousands of cheap, noisy updates; mini-batch makes about as many
# updates per second as SGD (a 32-row matrix product costs little more than a 1-row one: the
# "matrix multiplication primitives"), each with a 32-times less noisy gradient.

# %%
fig, (ax_u, ax_t) = plt.subplots(1, 2, figsize=(12, 4))
for name, r in results.items():
    h = r["history"]
    ax_u.plot(np.maximum(h[:, 0], 1), h[:, 2], label=name)
    ax_t.plot(h[:, 1], h[:, 2], label=name)
ax_u.set(xscale="log", yscale="log", xlabel="updates", ylabel="training loss (full set)", title="loss against updates")
ax_t.set(yscale="log", xlabel="seconds of training", ylabel="training loss (full set)", title="loss against time")
for ax in (ax_u, ax_t):
    ax.axhline(TARGET_LOSS, color="grey", linestyle=":", linewidth=1)
    ax.legend()
plt.show()

# %% [markdown]
# ## SGD's fluctuation: the variance of the updates
#
# How far is one update's gradient from the full-batch gradient? At the initial weights we draw
# 200 gradients of each kind and measure $\mathbb{E}\,\lVert \mathbf{g}_B - \nabla J \rVert / \lVert \nabla J \rVert$.
# The noise falls like $1/\sqrt{n}$ with the batch size $n$.

# %%
def flat_grad(model, xb, yb):
    model.zero_grad()
    F.cross_entropy(model(xb), yb).backward()
    return np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])


model0 = new_model()
full_gradient = flat_grad(model0, X_train, y_train)
rng = np.random.default_rng(0)
noise = {}
for name, r in results.items():
    n = r["batch_size"]
    draws = [flat_grad(model0, X_train[idx], y_train[idx])
             for idx in (rng.choice(N, n, replace=False) for _ in range(200 if n < N else 1))]
    noise[name] = np.mean([np.linalg.norm(g - full_gradient) for g in draws]) / np.linalg.norm(full_gradient)
    print(f"{name:>16}: relative gradient noise {noise[name]:.3f}")

# %% [markdown]
# ## Memory of one step
#
# The peak memory that one update (forward, backward, optimiser step) allocates, measured with
# `tracemalloc` (numpy reports its array buffers to it). Batch gradient descent holds every
# example's activations at once: its memory grows with the dataset, and a dataset that does not fit
# in memory cannot be trained on this way.

# %%
def step_peak_memory(batch_size):
    model = new_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    xb, yb = X_train[:batch_size], y_train[:batch_size]
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


for name, r in results.items():
    r["memory"] = step_peak_memory(r["batch_size"])
    print(f"{name:>16}: peak {r['memory'] / 1024:8.1f} KiB per step")

# %% [markdown]
# ## The lecture's comparison table, measured
#
# *Online learning* is whether the method can update as examples arrive: we count how many examples
# must have arrived before the first update can be made (batch: all of them).

# %%
def time_to_target(history):
    hit = np.nonzero(history[:, 2] <= TARGET_LOSS)[0]
    return f"{history[hit[0], 1]:.2f} s" if len(hit) else f"not in {BUDGET:.0f} s"


rows = []
for name, r in results.items():
    h = r["history"]
    rows.append([
        name,
        f"{r['accuracy']:.3f}",
        f"{h[-1, 0] / h[-1, 1]:,.0f}",
        time_to_target(h),
        f"{r['memory'] / 1024:,.0f} KiB",
        f"{noise[name]:.2f}",
        f"{r['batch_size']}",
        "yes" if r["batch_size"] < N else "no",
    ])
header = ["method", "test accuracy", "updates / s", f"time to loss {TARGET_LOSS}", "peak memory / step",
          "gradient noise", "examples before 1st update", "online"]
widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
for row in [header, ["-" * w for w in widths]] + rows:
    print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))

# %% [markdown]
# Compare with the lecture's table:
#
# | Method | Accuracy | Update Speed | Memory Usage | Online Learning |
# |---|---|---|---|---|
# | Batch gradient descent | Good | Slow | High | No |
# | Stochastic gradient descent | Good (with annealing) | High | Low | Yes |
# | Mini-batch gradient descent | Good | Medium | Medium | Yes |
#
# The measurements line up with it. **Update speed**: SGD makes the most updates per second,
# mini-batch nearly as many (a 32-row matrix product costs little more than a 1-row one: the
# "matrix multiplication primitives"), batch gradient descent far fewer. **Memory**: a batch step
# holds every example's activations at once. **Online learning**: only batch gradient descent must
# see the whole dataset before its first update. **Accuracy**: all three get there; SGD only with
# annealing, and it settles at a higher training loss because its single-example gradients are
# about $\sqrt{32}$ times noisier than mini-batch's.
#
# On a dataset as small as this one a full-batch step is still cheap, so batch gradient descent
# keeps up per second here. That stops as the dataset grows: the cost of one batch update is
# proportional to $N$, while a mini-batch update costs the same whatever $N$ is.

# %%
ag.manual_seed(0)
model = new_model()
opt = optim.SGD(model.parameters(), lr=0.1)


def seconds_per_update(xb, yb, repeats=20):
    start = time.perf_counter()
    for _ in range(repeats):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / repeats


sizes = [N, 4 * N, 16 * N]
batch_cost, minibatch_cost = [], []
for size in sizes:
    reps = size // N
    X_big, y_big = ag.cat([X_train] * reps), ag.cat([y_train] * reps)  # the dataset, repeated
    batch_cost.append(seconds_per_update(X_big, y_big))
    minibatch_cost.append(seconds_per_update(X_big[:32], y_big[:32]))
    print(f"N = {size:6d}: batch update {batch_cost[-1] * 1e3:7.2f} ms, mini-batch update "
          f"{minibatch_cost[-1] * 1e3:5.2f} ms")

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.loglog(sizes, np.array(batch_cost) * 1e3, "o-", label="batch")
ax.loglog(sizes, np.array(minibatch_cost) * 1e3, "s-", label="mini-batch (32)")
ax.set(xlabel="dataset size N", ylabel="ms per update", title="Cost of one update")
ax.legend()
plt.show()

# %% [markdown]
# Batch gradient descent: each update costs a full pass over the data, so it is **slow** on large
# datasets and impossible on ones that do not fit in memory. Mini-batch gradient descent is typically
# the algorithm of choice, and is usually what "SGD" means in practice.
