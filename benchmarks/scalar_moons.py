"""Benchmark (b), the scalar engine on micrograd's demo.

The anchor workload W1 of ../shared/bench (copied here; engines not installed by the `bench` extra
left out). micrograd's demo notebook: MLP(2, [16, 16, 1]) (ReLU hidden layers, linear output) on
100 two-moons points (common.two_moons, labels -1/+1), full batch, loss = mean max-margin SVM loss
relu(1 - y * score) + 1e-4 * sum of squared parameters, plain SGD with lr = 1.0 - 0.9 * k / 100
at step k (k taken mod 100). One timed step = forward (+ loss) / backward (+ zero grad) / update.

Engines: micrograd (0.1.0, as the notebook uses it, but fed Python floats: see --numpy-scalars),
chainrule (our engine's Scalar: nn.scalar.MLP on ag.Scalar, run by the same demo code, from this
checkout or $CHAINRULE_PATH), and the same computation as tensors: numpy by hand and torch.
Everything is float64 here (micrograd computes in Python floats), all engines start from the same
weights (uniform in [-1, 1], zero biases, like micrograd's init), so loss_step0 and loss_step19
must agree.

    python benchmarks/scalar_moons.py --engine micrograd [--steps 18 --warmup 2] [--no-gc]
    python benchmarks/scalar_moons.py --engine chainrule [--no-gc]

Prints one JSON line; step_ms is the distribution over timed steps (median is the figure);
phase_ms splits it into forward / backward / update medians. For micrograd, nodes_per_step counts
the Value objects created per step and us_per_node = median step time / nodes_per_step; for
chainrule, nodes_per_step counts the nodes of one step's graph (ag.Graph(loss).nodes) other than the
parameters, which is the same count for micrograd (its nodes_in_backward = nodes_per_step + 337).
Python's cyclic garbage collector is left on (as in the notebook); --no-gc turns it off during the
timed steps and runs gc.collect() between steps, outside the timing.
"""
import argparse
import gc

import numpy as np

from common import emit, engine_version, environment, now_ns, set_torch_threads, summarize, two_moons, use_chainrule

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4
ENGINES = ("micrograd", "numpy", "torch", "chainrule")
DEFAULT_STEPS = {"micrograd": (18, 2), "chainrule": (18, 2)}  # (steps, warmup); others (300, 30)


def init_params(seed=1337):
    """[W1, b1, W2, b2, W3, b3], W of shape (fan_in, fan_out) uniform in [-1, 1], b = 0 (float64)."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params += [rng.uniform(-1, 1, size=(fan_in, fan_out)), np.zeros(fan_out)]
    return params


def learning_rate(k):
    return 1.0 - 0.9 * (k % 100) / 100


# ----------------------------------------------------------------------------- engines
# Each engine: forward() -> loss handle, backward(loss), update(k), value(loss) -> float.


class Micrograd:
    def __init__(self, params, X, y, numpy_scalars=False):
        from micrograd.engine import Value
        from micrograd.nn import MLP

        self.Value = Value
        self.model = MLP(2, list(SIZES[1:]))
        for layer, W, b in zip(self.model.layers, params[0::2], params[1::2]):
            for j, neuron in enumerate(layer.neurons):
                for i, w in enumerate(neuron.w):
                    w.data = float(W[i, j])
                neuron.b.data = float(b[j])
        # The notebook maps Value over numpy rows (numpy scalars); Python floats are the fair input.
        self.X, self.y = (X, y) if numpy_scalars else (X.tolist(), y.tolist())

    def forward(self):  # verbatim from micrograd's demo notebook, batch_size=None
        Value, model = self.Value, self.model
        inputs = [list(map(Value, xrow)) for xrow in self.X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(self.y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum((p * p for p in model.parameters()))
        return data_loss + reg_loss

    def backward(self, loss):
        self.model.zero_grad()
        loss.backward()

    def update(self, k):
        lr = learning_rate(k)
        for p in self.model.parameters():
            p.data -= lr * p.grad

    @staticmethod
    def value(loss):
        return float(loss.data)

    def count_nodes(self):
        """Value objects created by one forward pass, and the nodes backward() visits."""
        Value, created = self.Value, [0]
        original_init = Value.__init__

        def counting_init(v, *args, **kwargs):
            created[0] += 1
            original_init(v, *args, **kwargs)

        Value.__init__ = counting_init
        try:
            loss = self.forward()
        finally:
            Value.__init__ = original_init
        seen, stack = {loss}, [loss]
        while stack:
            for child in stack.pop()._prev:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return created[0], len(seen)


class Chainrule(Micrograd):
    """Our engine's Scalar front end: nn.scalar.MLP on ag.Scalar, trained by micrograd's demo code
    (forward, backward, update and value are Micrograd's, unchanged), from the same initial weights,
    set through model.parameters()."""

    def __init__(self, params, X, y):
        use_chainrule()
        import autograd as ag
        import nn.scalar

        self.ag, self.Value = ag, ag.Scalar
        self.model = nn.scalar.MLP(2, list(SIZES[1:]))
        # micrograd's parameter order: layer by layer, neuron by neuron, the neuron's weights, then its bias
        values = []
        for W, b in zip(params[0::2], params[1::2]):
            for j in range(W.shape[1]):  # neuron j: column j of W, b[j]
                values += [*W[:, j], b[j]]
        parameters = list(self.model.parameters())
        if len(parameters) != len(values):
            raise RuntimeError(f"nn.scalar.MLP(2, {list(SIZES[1:])}) has {len(parameters)} parameters, "
                               f"expected {len(values)}")
        for p, value in zip(parameters, values):
            p.data = float(value)
        self.X, self.y = X.tolist(), y.tolist()

    def count_nodes(self):
        """Nodes of one step's graph other than the parameters (created by the step), and all of them."""
        nodes = len(self.ag.Graph(self.forward()).nodes)
        return nodes - len(list(self.model.parameters())), nodes


class Numpy:
    """Forward and backward written by hand."""

    def __init__(self, params, X, y):
        self.params = [p.copy() for p in params]
        self.X, self.y = X, y[:, None]

    def forward(self):
        W1, b1, W2, b2, W3, b3 = self.params
        z1 = self.X @ W1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ W2 + b2
        h2 = np.maximum(z2, 0)
        margin = 1 - self.y * (h2 @ W3 + b3)
        loss = np.maximum(margin, 0).mean() + ALPHA * sum((p * p).sum() for p in self.params)
        return loss, (z1, h1, z2, h2, margin)

    def backward(self, loss):
        _, (z1, h1, z2, h2, margin) = loss
        W1, b1, W2, b2, W3, b3 = self.params
        ds = -self.y * (margin > 0) / len(margin)
        g3 = ds
        dW3, db3 = h2.T @ g3, g3.sum(0)
        g2 = (g3 @ W3.T) * (z2 > 0)
        dW2, db2 = h1.T @ g2, g2.sum(0)
        g1 = (g2 @ W2.T) * (z1 > 0)
        dW1, db1 = self.X.T @ g1, g1.sum(0)
        self.grads = [g + 2 * ALPHA * p for g, p in zip((dW1, db1, dW2, db2, dW3, db3), self.params)]

    def update(self, k):
        lr = learning_rate(k)
        for p, g in zip(self.params, self.grads):
            p -= lr * g

    @staticmethod
    def value(loss):
        return float(loss[0])


class Torch:
    """Plain leaf tensors (W of shape (in, out)), manual SGD under no_grad."""

    def __init__(self, params, X, y):
        import torch

        self.torch = torch
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y[:, None])

    def forward(self):
        t = self.torch
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = t.relu(self.X @ W1 + b1)
        h2 = t.relu(h1 @ W2 + b2)
        scores = h2 @ W3 + b3
        data_loss = t.relu(1 - self.y * scores).mean()
        reg_loss = ALPHA * sum((p * p).sum() for p in self.params)
        return data_loss + reg_loss

    def backward(self, loss):
        for p in self.params:
            p.grad = None
        loss.backward()

    def update(self, k):
        lr = learning_rate(k)
        with self.torch.no_grad():
            for p in self.params:
                p -= lr * p.grad

    @staticmethod
    def value(loss):
        return loss.item()

    @staticmethod
    def count_nodes(loss):
        seen, stack = set(), [loss.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.extend(f for f, _ in fn.next_functions)
        return len(seen)


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=ENGINES)
    ap.add_argument("--steps", type=int, help="timed steps (default 18 for micrograd and chainrule, else 300)")
    ap.add_argument("--warmup", type=int, help="untimed steps first (default 2 for micrograd and chainrule, else 30)")
    ap.add_argument("--numpy-scalars", action="store_true",
                    help="micrograd only: wrap numpy float64 scalars, as the notebook does, not Python floats")
    ap.add_argument("--no-gc", action="store_true",
                    help="keep Python's cyclic GC off during the timed steps and collect between them, "
                         "untimed (micrograd's graph is full of reference cycles)")
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()
    if args.numpy_scalars and args.engine != "micrograd":
        ap.error("--numpy-scalars applies to --engine micrograd only")
    steps, warmup = DEFAULT_STEPS.get(args.engine, (300, 30))
    steps = args.steps if args.steps is not None else steps
    warmup = args.warmup if args.warmup is not None else warmup

    if args.engine == "torch":
        set_torch_threads(args.torch_threads)
    X, y = two_moons(100, noise=0.1, seed=1337)
    params = init_params()
    cls = {"micrograd": Micrograd, "numpy": Numpy, "torch": Torch, "chainrule": Chainrule}[args.engine]
    engine = cls(params, X, y, numpy_scalars=True) if args.numpy_scalars else cls(params, X, y)

    if args.no_gc:
        gc.collect()
        gc.disable()
    phases = {"forward": [], "backward": [], "update": []}
    steps_s, losses = [], []
    for k in range(warmup + steps):
        t0 = now_ns()
        loss = engine.forward()
        t1 = now_ns()
        engine.backward(loss)
        t2 = now_ns()
        engine.update(k)
        t3 = now_ns()
        losses.append(engine.value(loss))
        if args.no_gc:
            del loss
            gc.collect()  # untimed: frees the previous graph's cycles
        if k >= warmup:
            for name, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
                phases[name].append(dt * 1e-9)
            steps_s.append((t3 - t0) * 1e-9)

    result = {
        "workload": "W1", "engine": args.engine, "version": engine_version(args.engine),
        "config": {"sizes": SIZES, "n_points": 100, "dtype": "float64", "optimizer": "sgd",
                   "steps": steps, "warmup": warmup, "numpy_scalars": args.numpy_scalars, "gc": not args.no_gc,
                   "torch_threads": args.torch_threads if args.engine == "torch" else None},
        "step_ms": summarize(steps_s),
        "phase_ms": {name: summarize(ts)["median"] for name, ts in phases.items()},
        "loss_step0": losses[0], "loss_step19": losses[19] if len(losses) > 19 else None,
    }
    if args.engine in ("micrograd", "chainrule"):
        created, visited = engine.count_nodes()
        step_us = result["step_ms"]["median"] * 1e3
        result.update({
            "nodes_per_step": created, "nodes_in_backward": visited,
            "us_per_node": step_us / created,
            "us_per_node_forward": result["phase_ms"]["forward"] * 1e3 / created,
            "us_per_node_backward": result["phase_ms"]["backward"] * 1e3 / created,
        })
    if args.engine == "torch":
        result["torch_graph_nodes_per_step"] = engine.count_nodes(engine.forward())
    emit(result | {"env": environment()})


if __name__ == "__main__":
    main()
