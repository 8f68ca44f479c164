"""Function transforms (issue 17's targets), each case in a fresh process, engines taking turns.

    .venv/bin/python benchmarks/func_transforms.py                 # all three, 3 rounds
    .venv/bin/python benchmarks/func_transforms.py --only jvp --rounds 5

- ``jvp``: a JVP through a 2000-op elementwise chain (W4's chain: mul/add by numbers, tanh every
  10th, on a float32 tensor of 4 elements and of 10^5, the issue's sizes, and of 10^3 and 10^4
  between them) against the plain forward of the same chain: target at most 1.5x. Beside it, the
  same arithmetic by hand in plain numpy, value and tangent: the ratio numpy itself sets.
- ``per_sample``: per-sample gradients with ``vmap(grad(loss))`` for a batch of 256 through a
  64-256-256-10 ReLU MLP with cross-entropy, against one batched forward+backward of ours (target
  at most 3x) and against torch.func's vmap(grad) on the same data (target: faster). Beside it, the
  floor under any way of computing them: writing the per-sample weight gradients (256 x 85,002
  numbers) as numpy's outer products into arrays made beforehand.
- ``checkpoint``: a 40-layer 1024-wide MLP (tanh) at batch 256, forward+backward plain and with
  ``nn.utils.checkpoint_sequential`` (10 segments, about the square root of its 80 modules): the activations' peak memory during the step (traced
  allocations above the start, less the gradients; target at least 3x lower) and time (target at most
  1.4x).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the children's environment. Prints a
markdown table of medians over the rounds and the ratios the targets name.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _child_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _best(fn, repeat, number):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return statistics.median(times)


def case_jvp(size):
    import numpy as np

    import autograd as ag
    import autograd.forward_ad as fw

    x0 = ag.tensor(np.linspace(-1, 1, size, dtype=np.float32))
    t0 = ag.tensor(np.ones(size, np.float32))

    def chain(x):
        for i in range(2000):
            x = x * 1.0001 + 0.5 if i % 2 == 0 else x * 0.9999 - 0.5
            if i % 10 == 0:
                x = x.tanh()
        return x

    def plain():
        chain(x0)

    def jvp():
        with fw.dual_level():
            fw.unpack_dual(chain(fw.make_dual(x0, t0))).tangent

    # the same arithmetic in plain numpy, the tangent beside the value (as forward mode computes it,
    # a tangent array for each product by a number, t (1 - y^2) for tanh): numpy's own cost of a JVP
    one, a, b = np.ones((), np.float32), np.array(1.0001, np.float32), np.array(0.9999, np.float32)

    def np_chain(x, t=None):
        for i in range(2000):
            x = x * 1.0001 + 0.5 if i % 2 == 0 else x * 0.9999 - 0.5
            if t is not None:
                t = t * (a if i % 2 == 0 else b)
            if i % 10 == 0:
                x = np.tanh(x)
                if t is not None:
                    t = t * (one - x * x)
        return x, t

    number = 3 if size > 1000 else 10
    return {"forward ms": _best(plain, 7, number) * 1e3, "jvp ms": _best(jvp, 7, number) * 1e3,
            "numpy forward ms": _best(lambda: np_chain(x0.data), 7, number) * 1e3,
            "numpy jvp ms": _best(lambda: np_chain(x0.data, t0.data), 7, number) * 1e3}


def _mlp_data():
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = [64, 256, 256, 10]
    ws = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    x = rng.standard_normal((256, 64)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    return ws, bs, x, y


def case_per_sample(engine):
    ws, bs, x, y = _mlp_data()
    if engine == "torch":
        import torch
        import torch.func as tf

        torch.set_num_threads(2)
        params = [torch.tensor(a) for a in ws + bs]
        xt, yt = torch.tensor(x), torch.tensor(y)

        def loss(params, xi, yi):
            h = xi.unsqueeze(0)
            for w, b in zip(params[:3], params[3:]):
                h = torch.nn.functional.linear(h, w, b)
                if w.shape[0] != 10:
                    h = torch.relu(h)
            return torch.nn.functional.cross_entropy(h, yi.unsqueeze(0))

        per_sample = tf.vmap(tf.grad(loss), in_dims=(None, 0, 0))
        return {"per-sample ms": _best(lambda: per_sample(params, xt, yt), 7, 3) * 1e3}
    import autograd as ag
    import autograd.func as af
    import nn.functional as F

    params = [ag.tensor(a) for a in ws + bs]
    xa, ya = ag.tensor(x), ag.tensor(y)

    def forward(params, xb, yb):
        h = xb
        for w, b in zip(params[:3], params[3:]):
            h = F.linear(h, w, b)
            if w.shape[0] != 10:
                h = h.relu()
        return F.cross_entropy(h, yb)

    def loss(params, xi, yi):
        return forward(params, xi.unsqueeze(0), yi.unsqueeze(0))

    per_sample = af.vmap(af.grad(loss), in_dims=(None, 0, 0))
    leaves = [p.detach().requires_grad_() for p in params]

    def batched():
        for p in leaves:
            p.grad = None
        forward(leaves, xa, ya).backward()

    # the floor of any per-sample gradients: writing them. Each layer's per-sample weight gradient
    # is the outer product of its output's gradient and its input, sample by sample; numpy's
    # cheapest way to form them, into arrays made beforehand (a transform must return fresh ones)
    import numpy as np

    sizes = [w.shape[1] for w in ws] + [ws[-1].shape[0]]
    ins = [np.ones((x.shape[0], i), np.float32) for i in sizes[:-1]]
    deltas = [np.ones((x.shape[0], o), np.float32) for o in sizes[1:]]
    outs = [np.empty((x.shape[0], o, i), np.float32) for i, o in zip(sizes[:-1], sizes[1:])]

    def write_only():
        for h, d, o in zip(ins, deltas, outs):
            np.multiply(d[:, :, None], h[:, None, :], out=o)

    return {"per-sample ms": _best(lambda: per_sample(params, xa, ya), 7, 3) * 1e3,
            "batched fwd+bwd ms": _best(batched, 7, 10) * 1e3,
            "writing per-sample weight gradients ms": _best(write_only, 7, 3) * 1e3}


def case_checkpoint(mode):
    import tracemalloc

    import numpy as np

    import autograd as ag
    import nn
    from nn.utils import checkpoint_sequential

    ag.manual_seed(0)
    layers = []
    for _ in range(40):
        layers += [nn.Linear(1024, 1024), nn.Tanh()]
    model = nn.Sequential(*layers)
    x = ag.tensor(np.random.default_rng(0).standard_normal((256, 1024)).astype(np.float32))
    grads_mib = sum(p.data.nbytes for p in model.parameters()) / 2 ** 20

    def step():
        model.zero_grad()
        out = checkpoint_sequential(model, 10, x) if mode == "segments" else model(x)
        out.sum().backward()

    step()  # warm-up
    t = _best(step, 3, 1)
    model.zero_grad()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the step's peak above what it started with, less the gradients it leaves (the same either way):
    # what the activations (saved or recomputed) need at their peak
    return {"step ms": t * 1e3, "activation peak MiB": (peak - before) / 2 ** 20 - grads_mib}


CASES = {
    "jvp": [("jvp-4", lambda: case_jvp(4)), ("jvp-1e3", lambda: case_jvp(1_000)), ("jvp-1e4", lambda: case_jvp(10_000)),
            ("jvp-1e5", lambda: case_jvp(100_000))],
    "per_sample": [("per-sample chainrule", lambda: case_per_sample("chainrule")),
                   ("per-sample torch", lambda: case_per_sample("torch"))],
    "checkpoint": [("checkpoint plain", lambda: case_checkpoint("plain")),
                   ("checkpoint segments", lambda: case_checkpoint("segments"))],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(CASES), action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child")
    a = parser.parse_args()
    if a.child:
        for group in CASES.values():
            for name, fn in group:
                if name == a.child:
                    print(json.dumps(fn()))
                    return
        raise SystemExit(f"unknown case {a.child}")
    groups = a.only or sorted(CASES)
    results = {}
    for _ in range(a.rounds):
        for g in groups:
            for name, _ in CASES[g]:
                out = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True,
                                     env=_child_env(), cwd=ROOT)
                if out.returncode:
                    raise SystemExit(f"{name} failed:\n{out.stderr}")
                results.setdefault(name, []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"host: {_host()}")
    print("| case | measure | median | runs |")
    print("|---|---|---|---|")
    med = {}
    for name, runs in results.items():
        for key in runs[0]:
            vals = [r[key] for r in runs]
            med[name, key] = statistics.median(vals)
            print(f"| {name} | {key} | {med[name, key]:.2f} | {', '.join(f'{v:.2f}' for v in vals)} |")
    print()
    for size in ("4", "1e3", "1e4", "1e5"):
        if (f"jvp-{size}", "jvp ms") in med:
            r = med[f"jvp-{size}", "jvp ms"] / med[f"jvp-{size}", "forward ms"]
            print(f"- JVP / forward, 2000-op chain, {size} elements: {r:.2f}x (target at most 1.5x)")
            if (f"jvp-{size}", "numpy jvp ms") in med:
                r = med[f"jvp-{size}", "numpy jvp ms"] / med[f"jvp-{size}", "numpy forward ms"]
                print(f"  (the same arithmetic in plain numpy, no framework: {r:.2f}x)")
    if ("per-sample chainrule", "per-sample ms") in med:
        ours = med["per-sample chainrule", "per-sample ms"]
        print(f"- per-sample gradients / one batched forward+backward: "
              f"{ours / med['per-sample chainrule', 'batched fwd+bwd ms']:.2f}x (target at most 3x)")
        floor = med["per-sample chainrule", "writing per-sample weight gradients ms"]
        print(f"  (writing the per-sample weight gradients alone, into arrays made beforehand: "
              f"{floor / med['per-sample chainrule', 'batched fwd+bwd ms']:.2f}x)")
        if ("per-sample torch", "per-sample ms") in med:
            print(f"- per-sample gradients, ours / torch.func: {ours / med['per-sample torch', 'per-sample ms']:.2f}x "
                  f"(target below 1x)")
    if ("checkpoint plain", "step ms") in med:
        plain, seg = (med[f"checkpoint {m}", "activation peak MiB"] for m in ("plain", "segments"))
        print(f"- checkpoint_sequential: activation peak {plain:.0f} -> {seg:.0f} MiB, {plain / seg:.1f}x lower "
              f"(target at least 3x); time {med['checkpoint segments', 'step ms'] / med['checkpoint plain', 'step ms']:.2f}x "
              f"(target at most 1.4x)")


def _host():
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


if __name__ == "__main__":
    main()
