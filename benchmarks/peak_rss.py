"""W5: peak resident set size of 50 W3 training steps, one engine per process.

Reports this process's peak RSS (getrusage) after importing the engine, after building the data
and the model, and after the steps.

    python benchmarks/peak_rss.py --engine chainrule [--steps 50]

Prints one JSON line.
"""
import argparse
import importlib

from common import emit, engine_version, environment, is_chainrule, set_torch_threads, use_chainrule
from mlp_common import init_mlp, peak_rss_mib
from mlp_engines import ENGINES, make_step
from mlp_step import WORKLOADS, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=ENGINES)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    if is_chainrule(args.engine):
        use_chainrule()
    else:
        importlib.import_module(args.engine)
    if args.engine == "torch":
        set_torch_threads(args.torch_threads)
    rss_import = peak_rss_mib()
    batches = data("W3")
    step, prepare = make_step(args.engine, init_mlp(WORKLOADS["W3"]["sizes"], seed=0))
    batches = prepare(batches)
    rss_setup = peak_rss_mib()
    loss = None
    for i in range(args.steps):
        loss = step(*batches[i % len(batches)])
    rss_peak = peak_rss_mib()
    emit({"workload": "W5", "engine": args.engine, "version": engine_version(args.engine),
          "config": {"sizes": WORKLOADS["W3"]["sizes"], "batch": WORKLOADS["W3"]["batch"], "steps": args.steps},
          "peak_rss_mib": rss_peak, "peak_rss_mib_after_import": rss_import,
          "peak_rss_mib_after_setup": rss_setup, "training_increment_mib": rss_peak - rss_setup,
          "loss_last": loss, "env": environment()})


if __name__ == "__main__":
    main()
