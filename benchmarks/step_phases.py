"""Where a W2 or W3 step replayed through ag.Graph spends its time: forward, backward, optimizer step.

The chainrule-graph engine of mlp_step.py (the model, loss, optimizer and data of the workload),
with each phase of every step timed on its own: ``g.forward(feeds=...)``, ``opt.zero_grad()`` +
``g.backward()``, ``opt.step()``. Medians over the timed steps, in microseconds. For comparing
settings of the machine, e.g. one BLAS thread against two:

    python benchmarks/step_phases.py                       # W2, 600 steps after 30 warm-up steps
    OPENBLAS_NUM_THREADS=1 python benchmarks/step_phases.py

Prints one JSON line.
"""
import argparse
import statistics
import time

from common import emit, environment, use_chainrule
from mlp_common import init_mlp
from mlp_engines import _chainrule_inputs, _chainrule_model
from mlp_step import WORKLOADS, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=WORKLOADS, default="W2")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()
    use_chainrule()
    import autograd as ag
    import nn.functional as F
    import optim

    w = WORKLOADS[args.workload]
    model = _chainrule_model(init_mlp(w["sizes"], seed=0))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    batches = _chainrule_inputs(data(args.workload))
    [(x_leaf, y_leaf)] = _chainrule_inputs(data(args.workload)[:1])
    graph = ag.Graph(F.cross_entropy(model(x_leaf), y_leaf))
    clock = time.perf_counter
    phases = {"forward_us": [], "backward_us": [], "optimizer_us": [], "step_us": []}
    for i in range(args.warmup + args.steps):
        x, y = batches[i % len(batches)]
        t0 = clock()
        loss = graph.forward(feeds={x_leaf: x, y_leaf: y})
        t1 = clock()
        opt.zero_grad(set_to_none=True)
        graph.backward()
        t2 = clock()
        opt.step()
        t3 = clock()
        loss.item()
        if i >= args.warmup:
            for key, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2, clock() - t0)):
                phases[key].append(dt * 1e6)
    emit({"workload": args.workload, "engine": "chainrule-graph", "steps": args.steps,
          **{key: round(statistics.median(v), 1) for key, v in phases.items()}, "env": environment()})


if __name__ == "__main__":
    main()
