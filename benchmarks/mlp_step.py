"""W2 and W3: an MLP classifier training step (forward, cross-entropy, backward, Adam), ms per step.

    W2 small MLP  64-256-256-10 (ReLU), batch 128, float32, the 8x8 digits (pixels / 16), 300 steps
    W3 large MLP  784-1024-1024-10, batch 512, random data, 40 steps; --engine gemm times only the
                  step's 9 matrix products into preallocated arrays: the BLAS floor

Engines (mlp_engines.py): numpy (by hand), torch, chainrule (eager, as users write it) and
chainrule-graph (the step captured once as ag.Graph and re-run with new batches fed).
Every engine starts from the same weights and sees the same batches: the losses must agree.

    python benchmarks/mlp_step.py --workload W2 --engine chainrule
    python benchmarks/mlp_step.py --workload W3 --engine gemm

Prints one JSON line; step_ms is the distribution over the timed steps (median is the figure).
"""
import argparse

from common import emit, engine_version, environment, set_torch_threads, summarize
from gemm_floor import gemm_floor
from mlp_common import digits, init_mlp, minibatches, random_classification, time_steps
from mlp_engines import ENGINES, make_step

WORKLOADS = {
    "W2": {"sizes": (64, 256, 256, 10), "batch": 128, "n_batches": 56, "steps": 300, "warmup": 30},
    "W3": {"sizes": (784, 1024, 1024, 10), "batch": 512, "n_batches": 8, "steps": 40, "warmup": 5},
}


def data(workload):
    w = WORKLOADS[workload]
    if workload == "W2":
        X, y = digits()
    else:
        X, y = random_classification(w["batch"] * w["n_batches"], w["sizes"][0], w["sizes"][-1], seed=0)
    return minibatches(X, y, w["batch"], n_batches=w["n_batches"], seed=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=WORKLOADS, default="W2")
    ap.add_argument("--engine", required=True, choices=ENGINES + ("gemm",))
    ap.add_argument("--steps", type=int, help="timed steps (default 300 for W2, 40 for W3)")
    ap.add_argument("--warmup", type=int, help="untimed steps first (default 30 for W2, 5 for W3)")
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    w = WORKLOADS[args.workload]
    steps = args.steps if args.steps is not None else w["steps"]
    warmup = args.warmup if args.warmup is not None else w["warmup"]
    result = {"workload": args.workload, "engine": args.engine, "version": engine_version(args.engine),
              "config": {"sizes": w["sizes"], "batch": w["batch"], "dtype": "float32", "optimizer": "adam",
                         "lr": 1e-3, "steps": steps, "warmup": warmup}}
    if args.engine == "gemm":
        result.update(gemm_floor(w["sizes"], w["batch"], steps, warmup))
    else:
        if args.engine == "torch":
            set_torch_threads(args.torch_threads)
        step, prepare = make_step(args.engine, init_mlp(w["sizes"], seed=0))
        times, losses, faults = time_steps(step, steps, warmup, prepare(data(args.workload)))
        result.update({"step_ms": summarize(times), "loss_first": losses[0], "loss_last": losses[-1],
                       "minor_faults_per_step": faults})
    emit(result | {"env": environment()})


if __name__ == "__main__":
    main()
