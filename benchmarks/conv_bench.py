"""conv2d forward + backward, one size at a time, against torch and against its im2col GEMM floor.

One measurement: y = conv2d(x, w, b) with x (batch, C_in, H, W), w (C_out, C_in, k, k), padding 0,
stride 1, float32, then backward with a fixed output gradient to x, w and b; ms per forward +
backward (median of --reps after --warmup). The engines:

  torch      F.conv2d and torch.autograd.grad (oneDNN / its own kernels, 2 threads)
  chainrule  F.conv2d and ag.grad (this checkout, or $CHAINRULE_PATH)
  gemm       the floor of the im2col formulation: only its three matrix products, in numpy, into
             preallocated outputs: y = W (C_out, C_in k k) @ cols (C_in k k, N L), dW = g @ cols^T,
             dcols = W^T @ g (L = output positions an image), on random operands of those shapes;
             no im2col copy, no col2im, no bias, no allocation

    python benchmarks/conv_bench.py --engine chainrule --size 32,64,15,3 [--batch 64]

Prints one JSON line (step_ms: the distribution over the timed repetitions).
"""
import argparse
import math

import numpy as np
from common import emit, engine_version, environment, now_ns, set_torch_threads, summarize, use_chainrule

ENGINES = ("gemm", "torch", "chainrule")
SIZES = ("3,32,32,3", "32,64,15,3", "64,64,16,3", "128,128,8,3", "16,16,32,5")  # C_in, C_out, H = W, k


def _operands(batch, cin, cout, hw, k, seed=0):
    rng = np.random.default_rng(seed)
    out = hw - k + 1
    x = rng.standard_normal((batch, cin, hw, hw), dtype=np.float32)
    w = (rng.standard_normal((cout, cin, k, k), dtype=np.float32) / math.sqrt(cin * k * k)).astype(np.float32)
    b = rng.standard_normal(cout, dtype=np.float32)
    g = rng.standard_normal((batch, cout, out, out), dtype=np.float32)
    return x, w, b, g


def _timed(fn, reps, warmup):
    times = []
    for i in range(warmup + reps):
        t0 = now_ns()
        fn()
        if i >= warmup:
            times.append((now_ns() - t0) * 1e-9)
    return times


def run(engine, batch, size, reps, warmup):
    cin, cout, hw, k = size
    x, w, b, g = _operands(batch, cin, cout, hw, k)
    check = None
    if engine == "gemm":
        rng = np.random.default_rng(1)
        rows, positions = cin * k * k, batch * (hw - k + 1) ** 2
        cols = rng.standard_normal((rows, positions), dtype=np.float32)
        wm = rng.standard_normal((cout, rows), dtype=np.float32)
        gm = rng.standard_normal((cout, positions), dtype=np.float32)
        y, dw, dcols = np.empty_like(gm), np.empty_like(wm), np.empty_like(cols)

        def step():
            np.matmul(wm, cols, out=y)
            np.matmul(gm, cols.T, out=dw)
            np.matmul(wm.T, gm, out=dcols)
    elif engine == "torch":
        import torch
        import torch.nn.functional as F

        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        gt = torch.from_numpy(g)

        def step():
            y = F.conv2d(xt, wt, bt)
            return torch.autograd.grad(y, (xt, wt, bt), gt)

        check = float(step()[1].double().sum())
    else:
        use_chainrule()
        import autograd as ag
        import nn.functional as F

        xa, wa, ba = (ag.tensor(a, requires_grad=True) for a in (x, w, b))
        ga = ag.tensor(g)

        def step():
            y = F.conv2d(xa, wa, ba)
            return ag.grad(y, (xa, wa, ba), ga)

        check = float(step()[1].data.astype(np.float64).sum())
    times = _timed(step, reps, warmup)
    flops = 3 * 2 * cout * cin * k * k * batch * (hw - k + 1) ** 2
    return {"step_ms": summarize(times), "gflop": flops * 1e-9, "dw_sum": check}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=ENGINES)
    ap.add_argument("--size", default=SIZES[1], help="C_in,C_out,H,k (default %(default)s)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split(","))
    if args.engine == "torch":
        set_torch_threads(args.torch_threads)
    result = {"workload": "conv2d", "engine": args.engine, "version": engine_version(args.engine),
              "config": {"size": size, "batch": args.batch, "dtype": "float32", "reps": args.reps}}
    result.update(run(args.engine, args.batch, size, args.reps, args.warmup))
    emit(result | {"env": environment()})


if __name__ == "__main__":
    main()
