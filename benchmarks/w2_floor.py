"""How fast can a W2 step be in numpy at all? The hand-written reference against the best numpy
programs I could write for the same step, and our engine, in one process.

W2 (mlp_step.py): 64-256-256-10 ReLU MLP, batch 128, float32, mean cross-entropy, Adam, the digits.
The variants, every one from the same weights on the same batches:

    numpy            the reference of ../shared/bench (mlp_engines.py): hand-written forward,
                     backward and Adam, fresh arrays for every result
    numpy-ours       the arithmetic our engine does for the step (torch's weight layout, a new array
                     for each result, ReLU against a row of zeros, its gradient in place, bias
                     gradients by BLAS, Adam in place through one scratch array), with no framework
                     around it: what our replay would take if its own work cost nothing
    numpy-best       the same step with nothing a framework could not avoid: every array made once
                     and reused (out=), activations kept feature-major (the products then run as
                     torch's weight layout likes them best), bias gradients by BLAS, the ReLU
                     gradient in place, Adam with the fewest numpy calls; one array per parameter
    numpy-best-flat  numpy-best with all parameters, all gradients and each Adam buffer as one
                     flat array (the parameters are views into it), so Adam is a dozen calls in all
    chainrule        ours, eager, as users write it (mlp_engines.py)
    chainrule-graph  ours, the step captured once as ag.Graph and replayed

The variants take turns in blocks of steps within one process, so a change in the host's speed
hits all of them alike; the figure is each variant's median step. Run with glibc's malloc tuned
(the shared bench's convention for ratios against hand-written numpy; ``--malloc default`` to
leave it):

    python benchmarks/w2_floor.py [--blocks 12 --steps 60]

Prints one JSON line and a table. The losses of the first and last steps must agree across the
variants (they compute the same thing, in float32).
"""
import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

from common import emit, environment, use_chainrule
from mlp_common import init_mlp
from mlp_engines import make_step
from mlp_step import WORKLOADS, data

TUNED = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
SIZES = WORKLOADS["W2"]["sizes"]
BATCH = WORKLOADS["W2"]["batch"]
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8


def best_step(params, flat):
    """The best numpy step I could write (see the module's docstring); ``params`` as the reference's
    [W1, b1, ...] with W of shape (in, out)."""
    n_layers = len(params) // 2
    weights = [np.ascontiguousarray(params[2 * i].T) for i in range(n_layers)]  # (out, in): torch's layout
    biases = [params[2 * i + 1].copy() for i in range(n_layers)]
    ordered = [a for pair in zip(weights, biases) for a in pair]
    if flat:
        values = np.concatenate([a.reshape(-1) for a in ordered])
        grad_flat = np.empty_like(values)
        ordered, grads = _views(values, ordered), _views(grad_flat, ordered)
        weights, biases = ordered[0::2], ordered[1::2]
        adam_sets = [(values, grad_flat, np.zeros_like(values), np.zeros_like(values), np.empty_like(values))]
    else:
        grads = [np.empty_like(a) for a in ordered]
        adam_sets = [(a, g, np.zeros_like(a), np.zeros_like(a), np.empty_like(a)) for a, g in zip(ordered, grads)]
    outs = [w.shape[0] for w in weights]
    pre = [np.empty((o, BATCH), np.float32) for o in outs]  # z^T of each layer
    act = [np.empty((o, BATCH), np.float32) for o in outs[:-1]]  # relu(z)^T
    grad_t = [np.empty((o, BATCH), np.float32) for o in outs]
    masks = [np.empty((o, BATCH), bool) for o in outs[:-1]]
    ones = np.ones(BATCH, np.float32)
    cols = np.arange(BATCH)
    steps = [0]

    def step(x, y):
        h_t = x.T
        for i in range(n_layers):
            np.matmul(weights[i], h_t, out=pre[i])
            pre[i] += biases[i][:, None]
            if i < n_layers - 1:
                h_t = np.maximum(pre[i], 0, out=act[i])
        logits_t = pre[-1]  # (classes, batch)
        shifted = logits_t - logits_t.max(axis=0)
        e = np.exp(shifted)
        total = e.sum(axis=0)
        loss = float(np.log(total).mean() - shifted[y, cols].mean())
        g_t = np.divide(e, total, out=grad_t[-1])
        g_t[y, cols] -= 1
        g_t *= np.float32(1.0 / BATCH)
        for i in reversed(range(n_layers)):
            np.matmul(g_t, x if i == 0 else act[i - 1].T, out=grads[2 * i])
            np.matmul(g_t, ones, out=grads[2 * i + 1])
            if i > 0:
                np.matmul(weights[i].T, g_t, out=grad_t[i - 1])
                g_t = grad_t[i - 1]
                g_t *= np.greater(pre[i - 1], 0, out=masks[i - 1])
        steps[0] += 1
        _adam(adam_sets, steps[0])
        return loss

    return step


def ours_step(params):
    """The arithmetic of our engine's W2 step, written out in numpy (see the module's docstring)."""
    n_layers = len(params) // 2
    weights = [np.ascontiguousarray(params[2 * i].T) for i in range(n_layers)]
    biases = [params[2 * i + 1].copy() for i in range(n_layers)]
    adam_sets = [(a, np.zeros_like(a), np.zeros_like(a), np.empty_like(a)) for pair in zip(weights, biases) for a in pair]
    zeros = [np.zeros(w.shape[0], np.float32) for w in weights]
    steps = [0]

    def step(x, y):
        n = len(y)
        rows = np.arange(n)
        inputs, pre, h = [], [], x
        for i in range(n_layers):
            inputs.append(h)
            z = np.matmul(h, weights[i].T)
            z += biases[i]
            pre.append(z)
            h = np.maximum(z, zeros[i]) if i < n_layers - 1 else z
        shifted = h - h.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = float(np.log(total[:, 0]).mean() - shifted[rows, y].mean())
        g = e / total
        g[rows, y] -= 1
        g *= np.float32(1.0 / n)
        grads = [None] * (2 * n_layers)
        ones = np.ones(n, np.float32)
        for i in reversed(range(n_layers)):
            grads[2 * i] = g.T @ inputs[i]
            grads[2 * i + 1] = ones @ g
            if i > 0:
                g = g @ weights[i]
                g *= pre[i - 1] > 0
        steps[0] += 1
        _adam([(p, g, m, v, tmp) for (p, m, v, tmp), g in zip(adam_sets, grads)], steps[0])
        return loss

    return step


def _adam(sets, t):
    """Adam's step t (torch's rule, bias corrections folded into the step size and eps) in place
    on each (parameter, gradient, m, v, scratch) of ``sets``: twelve numpy calls a parameter."""
    (b1, b2) = BETAS
    bc2 = math.sqrt(1 - b2**t)
    size = LR / (1 - b1**t)
    for p, g, m, v, tmp in sets:
        np.subtract(g, m, out=tmp)
        tmp *= 1 - b1
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += EPS * bc2  # size m / (sqrt(v) / bc2 + eps) = size bc2 m / (sqrt(v) + eps bc2)
        np.divide(m, tmp, out=tmp)
        tmp *= size * bc2
        p -= tmp


def _views(flat, like):
    out, at = [], 0
    for a in like:
        out.append(flat[at : at + a.size].reshape(a.shape))
        out[-1][...] = a
        at += a.size
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=12, help="rounds of turns (the first is warm-up)")
    ap.add_argument("--steps", type=int, default=60, help="steps of each variant in a turn")
    ap.add_argument("--malloc", choices=("tuned", "default"), default="tuned")
    args = ap.parse_args()
    if args.malloc == "tuned" and any(os.environ.get(k) != v for k, v in TUNED.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **TUNED})
    use_chainrule()
    params = init_mlp(SIZES, seed=0)
    batches = data("W2")
    variants = {"numpy": make_step("numpy", params)}
    variants["numpy-ours"] = (ours_step(params), lambda b: b)
    variants["numpy-best"] = (best_step(params, flat=False), lambda b: b)
    variants["numpy-best-flat"] = (best_step(params, flat=True), lambda b: b)
    for engine in ("chainrule", "chainrule-graph"):
        variants[engine] = make_step(engine, params)
    prepared = {name: prepare(batches) for name, (_, prepare) in variants.items()}
    times = {name: [] for name in variants}
    losses = {name: [] for name in variants}
    clock = time.perf_counter
    for block in range(args.blocks):
        for name, (step, _) in variants.items():
            b = prepared[name]
            for i in range(args.steps):
                x, y = b[(block * args.steps + i) % len(b)]
                t0 = clock()
                loss = step(x, y)
                t1 = clock()
                losses[name].append(loss)
                if block:
                    times[name].append(t1 - t0)
    medians = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    ref = medians["numpy"]
    print("| variant | ms/step | vs numpy | loss first | loss last |")
    print("|---|---|---|---|---|")
    for name, ms in medians.items():
        print(f"| {name} | {ms:.3f} | {ms / ref:.3f}x | {losses[name][0]:.6f} | {losses[name][-1]:.6f} |")
    emit({"workload": "W2", "malloc": args.malloc, "step_ms": {k: round(v, 4) for k, v in medians.items()},
          "vs_numpy": {k: round(v / ref, 4) for k, v in medians.items()},
          "loss_first": {k: v[0] for k, v in losses.items()}, "loss_last": {k: v[-1] for k, v in losses.items()},
          "env": environment()})


if __name__ == "__main__":
    main()
