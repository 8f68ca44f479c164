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
# entries of the lecture's comparison table. Anything measured in seconds here (updates per second,
# time to a target loss, and so the number of updates in 3 seconds and the losses reached) depends
# on the machine and on what else it is running, and changes from one run to the next; the
# committed outputs are one such run.

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
from IPython.display import Markdown, clear_output, display
from tqdm.auto import tqdm

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
# The configurations. SGD's single-example gradients are noisy, so the lecture gives it annealing:
# $\eta_k = \eta_0 / (1 + k/2000)$, a `LambdaLR` stepped after every update. To see what the
# annealing does, SGD also runs a second time with the same $\eta_0$ held constant.

# %%
VARIANTS = {
    "batch": dict(batch_size=N, lr=1.0, anneal=None),
    "stochastic, annealed": dict(batch_size=1, lr=0.05, anneal=lambda k: 1.0 / (1.0 + k / 2000)),
    "stochastic, constant": dict(batch_size=1, lr=0.05, anneal=None),
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
for name, cfg in tqdm(VARIANTS.items(), desc="training", unit="variant"):
    model, history = train(**cfg)
    with ag.no_grad():
        accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
    results[name] = dict(model=model, history=history, accuracy=accuracy, **cfg)
clear_output()  # the progress bar has done its job: the saved notebook keeps the results, not a stale bar
for name, r in results.items():
    h = r["history"]
    print(f"{name:>20}: {int(h[-1, 0]):6d} updates, final training loss {h[-1, 2]:.4f}, "
          f"test accuracy {r['accuracy']:.3f}")

# %% [markdown]
# ## Loss against updates and against time
#
# Per update, batch gradient descent makes the best step: its gradient is exact. Per second, it makes
# very few of them. SGD makes thousands of cheap, noisy updates; mini-batch makes updates at a rate
# of the same order (a 32-row matrix product costs little more than a 1-row one: the
# "matrix multiplication primitives"), each with a gradient of 32 times smaller variance.

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
# ## SGD with and without annealing
#
# Three seconds are a short and noisy race (the number of updates each run gets depends on the
# machine's load). To compare the two SGD runs properly, give both the same number of updates: 10
# epochs of single-example updates each, from the same initial weights, over the same shuffled
# order, with the full training loss recorded every eighth of an epoch.

# %%
def sgd_by_updates(anneal, epochs=10, lr=0.05, records_per_epoch=8):
    model = new_model()
    opt = optim.SGD(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.LambdaLR(opt, anneal) if anneal else None
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=1, shuffle=True, seed=0)
    every = N // records_per_epoch
    history, updates = [(0, full_loss(model, X_train, y_train))], 0
    for _ in tqdm(range(epochs), desc="SGD, annealed" if anneal else "SGD, constant", unit="epoch"):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if schedule:
                schedule.step()
            updates += 1
            if updates % every == 0:
                history.append((updates, full_loss(model, X_train, y_train)))
    with ag.no_grad():
        accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
    return np.array(history), accuracy, opt.param_groups[0]["lr"]


by_updates = {name: sgd_by_updates(VARIANTS[name]["anneal"]) for name in ["stochastic, annealed", "stochastic, constant"]}
clear_output()  # the progress bars, once done
fig, ax = plt.subplots(figsize=(7, 3.8))
for name, (history, _, _) in by_updates.items():
    ax.plot(history[:, 0] / N, history[:, 1], "o-", markersize=2.5, label=name)
ax.set(yscale="log", xlabel="epochs (1347 single-example updates each)", ylabel="training loss (full set)",
       title="SGD: the same updates, with and without annealing")
ax.legend()
plt.show()
for name, (history, accuracy, final_lr) in by_updates.items():
    last = history[history[:, 0] > history[-1, 0] - 2 * N, 1]  # the records of the last two epochs
    print(f"{name}: training loss over the last 2 epochs between {last.min():.3f} and {last.max():.3f} "
          f"(mean {last.mean():.3f}), final lr {final_lr:.4f}, test accuracy {accuracy:.3f}")

# %% [markdown]
# With a constant rate, the training loss jumps up and down from one record to the next: every update
# follows a single example, and a step of the same size is taken whether or not the network is
# already close to the minimum. Annealed, the steps shrink, and the loss falls much more smoothly,
# with a much narrower range over the last two epochs. But SGD without annealing also gets there *on this
# problem*: its test accuracy is about the same, and its training loss is on average no higher
# (lower, in fact: by the end the annealed run's rate has been cut by a factor of almost 8).
# The reason is that this network can fit every training image (batch and mini-batch gradient
# descent took its training loss to a few thousandths above), and the better it fits an example,
# the smaller that example's gradient, so the noise of the updates dies away by itself. The
# lecture's "good (with annealing)" is the general case: where the examples' gradients do not all
# vanish at the minimum (noisy labels, a model too small to fit every example), SGD with a constant
# rate keeps wandering around the minimum in a region whose size grows with $\eta$, and only a
# decreasing rate makes it converge.

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
noise_of_size = {}  # by batch size: both SGD runs draw single examples
for n in sorted({r["batch_size"] for r in results.values()}):
    draws = [flat_grad(model0, X_train[idx], y_train[idx])
             for idx in (rng.choice(N, n, replace=False) for _ in range(200 if n < N else 1))]
    noise_of_size[n] = np.mean([np.linalg.norm(g - full_gradient) for g in draws]) / np.linalg.norm(full_gradient)
    print(f"batch size {n:>5}: relative gradient noise {noise_of_size[n]:.3f}")
noise = {name: noise_of_size[r["batch_size"]] for name, r in results.items()}

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
    print(f"{name:>20}: peak {r['memory'] / 1024:8.1f} KiB per step")

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
markdown_table = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                            + ["| " + " | ".join(row) + " |" for row in rows])
display(Markdown(markdown_table))

# %% [markdown]
# Compare with the lecture's table:
#
# | Method | Accuracy | Update Speed | Memory Usage | Online Learning |
# |---|---|---|---|---|
# | Batch gradient descent | Good | Slow | High | No |
# | Stochastic gradient descent | Good (with annealing) | High | Low | Yes |
# | Mini-batch gradient descent | Good | Medium | Medium | Yes |
#
# The measurements line up with it. **Update speed**: SGD and mini-batch both make thousands of
# updates per second, at rates of the same order (a 32-row matrix product costs little more than a
# 1-row one: the "matrix multiplication primitives"; which of the two is ahead changes from run to
# run), batch gradient descent several times fewer.
# **Memory**: a batch step holds every example's activations at once. **Online learning**: only
# batch gradient descent must see the whole dataset before its first update. **Accuracy**: all of
# them get there; SGD ends its 3 seconds at a higher training loss than mini-batch, its
# single-example gradients being about $\sqrt{32}$ times noisier (the gradient-noise column), and,
# as the previous section showed, on these digits it gets there with or without annealing.
#
# The table is one run's measurements. Its columns in seconds (updates per second, time to the target
# loss), and with them the number of updates made in 3 seconds and the accuracy reached, depend on
# the machine and on what else it is running, and change from one run to the next; the memory, the
# gradient noise and the last two columns do not.
#
# On a dataset as small as this one a full-batch step is still cheap, so batch gradient descent
# keeps up per second here. That stops as the dataset grows: the cost of one batch update is
# proportional to $N$, while a mini-batch update costs the same whatever $N$ is. Below, the time of
# one update as the dataset grows (the data repeated; the milliseconds, too, vary from run to run).

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
