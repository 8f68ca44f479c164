"""One MLP classifier training step, written once per engine (used by W2, W3 and W5).

Copied from ../shared/bench/mlp_engines.py with the engines the `bench` extra installs.

The step is: ReLU MLP forward -> mean softmax cross-entropy -> backward -> Adam update
(lr 1e-3, betas (0.9, 0.999), eps 1e-8), all in float32, and it returns the loss as a Python float.
Every engine starts from the same initial weights (common.init_mlp) and sees the same batches,
so their losses agree to float32 rounding: the scripts print the first and last loss as a check.

Each engine is written the way its users would write it:
  numpy            hand-written forward, backward and Adam: the floor for a numpy-backed engine
  torch            nn.Sequential of nn.Linear/nn.ReLU, F.cross_entropy, torch.optim.Adam (defaults)
  chainrule        our engine (the checkout at CHAINRULE_PATH, see common.use_chainrule), the torch
                   step line for line: nn.Sequential of nn.Linear/nn.ReLU, F.cross_entropy, optim.Adam
  chainrule-graph  the same model, loss and optimizer, with the step captured once as ag.Graph(loss)
                   and re-run each step: g.forward(feeds={x_leaf: x, y_leaf: y}), g.backward()
"""
import numpy as np

from common import use_chainrule
from mlp_common import NumpyAdam

ENGINES = ("numpy", "torch", "chainrule", "chainrule-graph")
LR = 1e-3


def make_step(engine, params, lr=LR):
    """Return (step, prepare): step(x, y) -> loss float; prepare(batches) converts numpy batches
    to the engine's input type once, before timing (chainrule-graph also captures its graph there)."""
    params = [p.copy() for p in params]
    return {"numpy": _numpy, "torch": _torch, "chainrule": _chainrule,
            "chainrule-graph": _chainrule_graph}[engine](params, lr)


def _identity(batches):
    return batches


# ----------------------------------------------------------------------------- numpy (by hand)


def _numpy(params, lr):
    n_layers = len(params) // 2
    adam = NumpyAdam(params, lr)

    def step(x, y):
        # forward, keeping each layer's input and pre-activation
        inputs, pre = [], []
        h = x
        for i in range(n_layers):
            W, b = params[2 * i], params[2 * i + 1]
            inputs.append(h)
            z = h @ W
            z += b
            pre.append(z)
            h = np.maximum(z, 0) if i < n_layers - 1 else z
        logits = h
        # mean softmax cross-entropy
        n = len(y)
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sumexp = exp.sum(axis=1, keepdims=True)
        loss = float(np.log(sumexp[:, 0]).mean() - shifted[rows, y].mean())
        # backward: d loss / d logits = (softmax - onehot) / n
        g = exp / sumexp
        g[rows, y] -= 1
        g /= n
        grads = [None] * len(params)
        for i in reversed(range(n_layers)):
            W = params[2 * i]
            grads[2 * i] = inputs[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ W.T
                g *= pre[i - 1] > 0
        adam.step(grads)
        return loss

    return step, _identity


# ----------------------------------------------------------------------------- PyTorch eager


def _torch(params, lr):
    import torch
    import torch.nn.functional as F
    from torch import nn

    n_layers = len(params) // 2
    layers = []
    for i in range(n_layers):
        W, b = params[2 * i], params[2 * i + 1]
        lin = nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < n_layers - 1:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def prepare(batches):
        return [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]

    return step, prepare


# ----------------------------------------------------------------------------- chainrule (our engine)


def _chainrule_model(params):
    """Our nn.Sequential of nn.Linear / nn.ReLU holding the given weights, built like the torch one
    (after use_chainrule())."""
    import autograd as ag
    import nn

    n_layers = len(params) // 2
    layers = []
    for i in range(n_layers):
        W, b = params[2 * i], params[2 * i + 1]
        lin = nn.Linear(W.shape[0], W.shape[1])
        with ag.no_grad():
            lin.weight.copy_(ag.tensor(W.T))  # nn.Linear's weight is (out, in), as in torch
            lin.bias.copy_(ag.tensor(b))
        layers.append(lin)
        if i < n_layers - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _chainrule_inputs(batches):
    """Numpy batches as our tensors: float32 inputs, int64 class indices."""
    import autograd as ag

    return [(ag.tensor(x, dtype=ag.float32), ag.tensor(y, dtype=ag.int64)) for x, y in batches]


def _chainrule(params, lr):
    use_chainrule()
    import nn.functional as F
    import optim

    model = _chainrule_model(params)
    opt = optim.Adam(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step, _chainrule_inputs


def _chainrule_graph(params, lr):
    """The step captured once as a graph object (API.md, "The graph as an object"): prepare() builds
    the loss of the first batch on input leaves of the graph's own and wraps it in ag.Graph(loss),
    untimed; each step then writes its batch into those leaves and re-evaluates the graph
    (g.forward(feeds=...)), runs its backward (g.backward()) and takes the Adam step."""
    use_chainrule()
    import autograd as ag
    import nn.functional as F
    import optim

    model = _chainrule_model(params)
    opt = optim.Adam(model.parameters(), lr=lr)
    graph = x_leaf = y_leaf = None

    def prepare(batches):
        nonlocal graph, x_leaf, y_leaf
        # copies of the first batch, so that feeding the leaves never overwrites a prepared batch
        [(x_leaf, y_leaf)] = _chainrule_inputs(batches[:1])
        graph = ag.Graph(F.cross_entropy(model(x_leaf), y_leaf))
        return _chainrule_inputs(batches)

    def step(x, y):
        loss = graph.forward(feeds={x_leaf: x, y_leaf: y})
        opt.zero_grad(set_to_none=True)
        graph.backward()
        opt.step()
        return loss.item()

    return step, prepare
