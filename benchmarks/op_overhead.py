"""Benchmark (a), per-op overhead: a long chain of elementwise ops on a tiny tensor, then backward.

The anchor workload W4 of ../shared/bench (copied here; engines not installed by the `bench` extra
left out). Start from x = [0.5, 0.5, 0.5, 0.5] (float32, requires grad) and apply N = 10,000 ops
in a row: op k is tanh(x) when k % 10 == 9, else x * 1.0001 when k is even, else x + 0.0001
(per 10 ops: 5 mul, 4 add, 1 tanh). Then y.sum().backward() (scalar engines: y.backward()).
forward_us_per_op = time to build the chain / N; backward_us_per_op = time of backward / N.

Engines: torch; micrograd (0.1.0, on one Python float; it has no tanh, so relu stands in for it;
its backward recurses, so the recursion limit is raised to N + 1000 for the timing: see
--probe-depth); our engine, from this checkout (or $CHAINRULE_PATH): chainrule (ag.tensor,
float32, like torch) and chainrule-scalar (ag.Scalar, with tanh, like micrograd), both at the
default recursion limit (the engine's backward is iterative); and two floors written by hand:
numpy (ops on the float32 array, forward and a hand-written reverse sweep) and python (the same
with Python floats and math.tanh).

    python benchmarks/op_overhead.py --engine torch [--n 10000 --repeats 7]
    python benchmarks/op_overhead.py --engine chainrule-scalar [--no-gc] [--probe-depth]

--probe-depth keeps Python's default recursion limit and reports, for depths 10,000 and 100,000,
whether forward + backward succeed, and the smallest failing depth (bisection) if one fails.
Prints one JSON line; benchmarks/run.py runs the engines in fresh processes and tabulates them.
"""
import argparse
import gc
import math
import statistics
import sys

import numpy as np

from common import emit, engine_version, environment, now_ns, set_torch_threads, use_chainrule

MUL, ADD, TANH = 1.0001, 0.0001, "tanh"
ENGINES = ("torch", "micrograd", "chainrule", "chainrule-scalar", "numpy", "python")
SCALAR_ENGINES = ("micrograd", "chainrule-scalar")  # the chain is on one Python float, not a (4,) array


def op_codes(n):
    """0 = mul by MUL, 1 = add ADD, 2 = tanh (relu for micrograd)."""
    return [2 if k % 10 == 9 else k % 2 for k in range(n)]


# Each engine: run(ops) -> (forward_s, backward_s, y0, grad0, extra dict)


def run_torch(ops):
    import torch

    x = torch.full((4,), 0.5, dtype=torch.float32, requires_grad=True)
    t0 = now_ns()
    y = x
    for op in ops:
        y = y * MUL if op == 0 else (y + ADD if op == 1 else torch.tanh(y))
    t1 = now_ns()
    y.sum().backward()
    t2 = now_ns()
    return t1 - t0, t2 - t1, y.detach()[0].item(), x.grad[0].item(), {"dtype": str(y.dtype)}


def run_micrograd(ops):
    from micrograd.engine import Value

    created = [0]
    x = Value(0.5)
    t0 = now_ns()
    y = x
    for op in ops:
        y = y * MUL if op == 0 else (y + ADD if op == 1 else y.relu())
    t1 = now_ns()
    y.backward()
    t2 = now_ns()
    # mul and add by a constant create two Values each (the constant and the result), relu one
    created[0] = sum(1 if op == 2 else 2 for op in ops)
    return t1 - t0, t2 - t1, y.data, x.grad, {"values_created": created[0], "tanh_replaced_by": "relu"}


def run_chainrule(ops):
    use_chainrule()
    import autograd as ag

    x = ag.tensor([0.5] * 4, requires_grad=True)  # float32, the default dtype; Python scalars keep it
    t0 = now_ns()
    y = x
    for op in ops:
        y = y * MUL if op == 0 else (y + ADD if op == 1 else y.tanh())
    t1 = now_ns()
    y.sum().backward()
    t2 = now_ns()
    return t1 - t0, t2 - t1, y.detach()[0].item(), x.grad[0].item(), {"dtype": str(y.dtype)}


def run_chainrule_scalar(ops):
    use_chainrule()
    import autograd as ag

    x = ag.Scalar(0.5)
    t0 = now_ns()
    y = x
    for op in ops:
        y = y * MUL if op == 0 else (y + ADD if op == 1 else y.tanh())
    t1 = now_ns()
    y.backward()
    t2 = now_ns()
    return t1 - t0, t2 - t1, y.data, x.grad, {"dtype": "float (Python)"}


def run_numpy(ops):
    x = np.full(4, 0.5, dtype=np.float32)
    t0 = now_ns()
    tape, y = [], x
    for op in ops:
        if op == 0:
            y = y * MUL
        elif op == 1:
            y = y + ADD
        else:
            y = np.tanh(y)
            tape.append(y)
    t1 = now_ns()
    g = np.ones_like(y)
    for op in reversed(ops):
        if op == 0:
            g = g * MUL
        elif op == 2:
            t = tape.pop()
            g = g * (1 - t * t)
    t2 = now_ns()
    return t1 - t0, t2 - t1, float(y[0]), float(g[0]), {"dtype": str(y.dtype)}


def run_python(ops):
    t0 = now_ns()
    tape, y = [], 0.5
    for op in ops:
        if op == 0:
            y = y * MUL
        elif op == 1:
            y = y + ADD
        else:
            y = math.tanh(y)
            tape.append(y)
    t1 = now_ns()
    g = 1.0
    for op in reversed(ops):
        if op == 0:
            g = g * MUL
        elif op == 2:
            t = tape.pop()
            g = g * (1 - t * t)
    t2 = now_ns()
    return t1 - t0, t2 - t1, y, g, {"dtype": "float (Python)"}


RUNNERS = {"torch": run_torch,
           "micrograd": run_micrograd, "chainrule": run_chainrule, "chainrule-scalar": run_chainrule_scalar,
           "numpy": run_numpy, "python": run_python}


def attempt(run, n):
    """True if forward + backward at depth n succeed, else the exception's type name."""
    try:
        run(op_codes(n))
        return True
    except RecursionError:
        return "RecursionError"
    finally:
        gc.collect()


def probe_depth(run):
    out = {"default_recursion_limit": sys.getrecursionlimit()}
    for n in (10_000, 100_000):
        out[f"ok_at_{n}"] = ok = attempt(run, n)
        if ok is not True:
            lo, hi = 1, n  # lo succeeds (assumed), hi fails
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if attempt(run, mid) is True else (lo, mid)
            out["first_failing_depth"] = hi
            break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=ENGINES)
    ap.add_argument("--n", type=int, default=10_000, help="ops in the chain (default 10,000)")
    ap.add_argument("--repeats", type=int, default=7, help="timed chains, after one warm-up (default 7)")
    ap.add_argument("--probe-depth", action="store_true", help="find the depth where backward first fails")
    ap.add_argument("--no-gc", action="store_true", help="cyclic GC off while timing (collected between chains)")
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    if args.engine == "torch":
        set_torch_threads(args.torch_threads)
    run = RUNNERS[args.engine]
    result = {"workload": "W4", "engine": args.engine, "version": engine_version(args.engine)}

    if args.probe_depth:
        emit(result | {"probe": probe_depth(run), "env": environment()})
        return

    limit = None
    if args.engine == "micrograd":
        limit = args.n + 1000
        sys.setrecursionlimit(limit)
    ops = op_codes(args.n)
    fwd, bwd = [], []
    if args.no_gc:
        gc.disable()  # gc.collect() below still runs
    for i in range(args.repeats + 1):
        f_ns, b_ns, y0, g0, extra = run(ops)
        if i > 0:
            fwd.append(f_ns * 1e-3 / args.n)
            bwd.append(b_ns * 1e-3 / args.n)
        gc.collect()  # untimed: drop the previous chain before building the next
    emit(result | {
        "config": {"n": args.n, "repeats": args.repeats, "shape": [] if args.engine in SCALAR_ENGINES else [4],
                   "recursion_limit": limit or sys.getrecursionlimit(), "gc": not args.no_gc},
        "forward_us_per_op": statistics.median(fwd), "backward_us_per_op": statistics.median(bwd),
        "forward_us_per_op_min": min(fwd), "backward_us_per_op_min": min(bwd),
        "y0": y0, "grad0": g0, **extra, "env": environment(),
    })


if __name__ == "__main__":
    main()
