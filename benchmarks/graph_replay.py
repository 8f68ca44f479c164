"""Graph replay: one MLP training step built eagerly vs the same step captured once as ag.Graph.

The step: ReLU MLP (default 64-256-256-10, batch 128, float32) -> mean cross-entropy ->
backward -> Adam (lr 1e-3), a new batch each step. Engines:
  chainrule        eager: model(x), F.cross_entropy, loss.backward(), opt.step(), as users write it
  chainrule-graph  the step captured once as ag.Graph(loss) on input leaves of its own, then each step
                   g.forward(feeds={x_leaf: x, y_leaf: y}), g.backward(), opt.step()
  torch            the same step in PyTorch (nn.Sequential, F.cross_entropy, torch.optim.Adam)
Every engine starts from the same weights and sees the same batches: the losses must agree.

    python benchmarks/graph_replay.py --engine chainrule-graph [--sizes 2,16,16,2 --batch 32]

Prints one JSON line; step_ms is the distribution over the timed steps (median is the figure).
"""
import argparse

import numpy as np

from common import emit, engine_version, environment, now_ns, set_torch_threads, summarize, use_chainrule

ENGINES = ("chainrule", "chainrule-graph", "torch")


def weights(sizes, seed=0):
    """[(W (out, in), b (out,))] drawn like torch.nn.Linear's default, float32."""
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        out.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                    rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return out


def batches(sizes, batch, n=16, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, sizes[0])).astype(np.float32),
             rng.integers(0, sizes[-1], batch).astype(np.int64)) for _ in range(n)]


def make_chainrule(sizes, batch_list, graph):
    use_chainrule()
    import autograd as ag
    import nn
    import nn.functional as F
    import optim

    layers = []
    for i, (W, b) in enumerate(weights(sizes)):
        lin = nn.Linear(W.shape[1], W.shape[0])
        with ag.no_grad():
            lin.weight.copy_(ag.tensor(W))
            lin.bias.copy_(ag.tensor(b))
        layers += [lin] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    model = nn.Sequential(*layers)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    data = [(ag.tensor(x), ag.tensor(y)) for x, y in batch_list]
    if not graph:
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()
        return step, data
    x_leaf, y_leaf = ag.tensor(batch_list[0][0]), ag.tensor(batch_list[0][1])
    g = ag.Graph(F.cross_entropy(model(x_leaf), y_leaf))

    def step(x, y):
        loss = g.forward(feeds={x_leaf: x, y_leaf: y})
        opt.zero_grad()
        g.backward()
        opt.step()
        return loss.item()
    return step, data


def make_torch(sizes, batch_list):
    import torch
    import torch.nn.functional as F

    layers = []
    for i, (W, b) in enumerate(weights(sizes)):
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step, [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batch_list]


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
    batch_list = batches(sizes, args.batch)
    if args.engine == "torch":
        set_torch_threads(args.torch_threads)
        step, data = make_torch(sizes, batch_list)
    else:
        step, data = make_chainrule(sizes, batch_list, graph=args.engine == "chainrule-graph")
    times, losses = [], []
    for i in range(args.warmup + args.steps):
        x, y = data[i % len(data)]
        t0 = now_ns()
        losses.append(step(x, y))
        if i >= args.warmup:
            times.append((now_ns() - t0) * 1e-9)
    emit({"benchmark": "graph_replay", "engine": args.engine, "version": engine_version(args.engine),
          "config": {"sizes": sizes, "batch": args.batch, "steps": args.steps, "warmup": args.warmup},
          "step_ms": summarize(times), "loss_first": losses[0], "loss_last": losses[-1], "env": environment()})


if __name__ == "__main__":
    main()
