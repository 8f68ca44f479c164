"""Data, initial weights, numpy Adam and step timing for the MLP workloads (W2, W3, W5).

Copied from ../shared/bench/common.py, the anchor benchmarks' helpers, so that every engine here
sees the same batches and starts from the same weights as there (the loss columns check it).
"""
import math
import resource

import numpy as np

from common import now_ns


def digits():
    """sklearn's bundled 8x8 digits (1797 samples): X (1797, 64) float32 scaled to [0, 1], y int64."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)


def random_classification(n, n_features, n_classes, seed=0):
    """Random float32 inputs (standard normal) and random int64 labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n, dtype=np.int64)
    return X, y


def minibatches(X, y, batch_size, n_batches, seed=0):
    """A fixed list of n_batches contiguous (Xb, yb) minibatches, drawn epoch by epoch without
    replacement (the last partial batch of each epoch is dropped). Built once, before any timing,
    so every engine sees exactly the same batches in the same order."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n_batches:
        perm = rng.permutation(len(X))
        for i in range(len(X) // batch_size):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            out.append((np.ascontiguousarray(X[idx]), np.ascontiguousarray(y[idx])))
            if len(out) == n_batches:
                break
    return out


def init_mlp(sizes, dtype=np.float32, seed=0):
    """Initial parameters [W1, b1, W2, b2, ...] with W of shape (fan_in, fan_out), drawn like
    torch.nn.Linear's default (uniform in +-1/sqrt(fan_in) for weights and biases)."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, size=(fan_out,)).astype(dtype))
    return params


class NumpyAdam:
    """Adam with PyTorch's semantics (bias-corrected, eps added after the sqrt), updating numpy
    arrays in place. Used by every numpy-backed engine, so they differ only in how they get grads."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1 - b1 ** self.t)
        bc2_sqrt = math.sqrt(1 - b2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom /= bc2_sqrt
            denom += self.eps
            p -= step_size * (m / denom)


def time_steps(step, n_steps, n_warmup, batches=None):
    """Call step(*batches[i % len(batches)]) (or step(i) without batches) n_warmup + n_steps times.

    Returns (seconds of each timed step, every step's return value (warm-up included),
    minor page faults per timed step)."""
    times, outputs = [], []
    faults0 = None
    for i in range(n_warmup + n_steps):
        if i == n_warmup:
            faults0 = minor_faults()
        args = batches[i % len(batches)] if batches is not None else (i,)
        t0 = now_ns()
        out = step(*args)
        t1 = now_ns()
        outputs.append(out)
        if i >= n_warmup:
            times.append((t1 - t0) * 1e-9)
    faults_per_step = (minor_faults() - faults0) / n_steps if n_steps else None
    return times, outputs, faults_per_step


def minor_faults():
    """Minor page faults of this process so far (a page first touched after malloc handed it out,
    typically because glibc returned the memory to the OS and took it back)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def peak_rss_mib():
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
