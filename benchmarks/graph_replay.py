"""Graph replay: one MLP training step built eagerly vs the same step captured once as ag.Graph.

The step (mlp_engines.py, as for W2/W3): ReLU MLP -> mean cross-entropy -> backward -> Adam (lr 1e-3),
float32, a new batch of random data each step; default 64-256-256-10 with batch 128 (W2's shape),
``--sizes 2,16,16,2 --batch 32`` for a tiny one. Engines:
  chainrule        eager: model(x), F.cross_entropy, loss.backward(), opt.step(), as users write it
  chainrule-graph  the step captured once as ag.Graph(loss), then g.forward(feeds=...), g.backward()
  torch            the same step in PyTorch
Every engine starts from the same weights and sees the same batches: the losses must agree.

    python benchmarks/graph_replay.py --engine chainrule-graph [--sizes 2,16,16,2 --batch 32]

Prints one JSON line; step_ms is the distribution over the timed steps (median is the figure).
"""
import argparse

from common import emit, engine_version, environment, set_torch_threads, summarize
from mlp_common import init_mlp, minibatches, random_classification, time_steps
from mlp_engines import make_step

ENGINES = ("chainrule", "chainrule-graph", "torch")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=ENGINES)
    ap.add_argument("--sizes", default="64,256,256,10", help="layer widths (default 64,256,256,10)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    if args.engine == "torch":
        set_torch_threads(args.torch_threads)
    X, y = random_classification(args.batch * 16, sizes[0], sizes[-1], seed=1)
    step, prepare = make_step(args.engine, init_mlp(sizes, seed=0))
    times, losses, _ = time_steps(step, args.steps, args.warmup, prepare(minibatches(X, y, args.batch, 16, seed=0)))
    emit({"benchmark": "graph_replay", "engine": args.engine, "version": engine_version(args.engine),
          "config": {"sizes": sizes, "batch": args.batch, "steps": args.steps, "warmup": args.warmup},
          "step_ms": summarize(times), "loss_first": losses[0], "loss_last": losses[-1], "env": environment()})


if __name__ == "__main__":
    main()
