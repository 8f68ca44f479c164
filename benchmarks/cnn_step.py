"""W6 - small CNN training step, and the BLAS floor under it (run.py small_cnn).

Copied from ../shared/bench/w6_small_cnn.py (the anchor workload) with this folder's helpers, plus
chainrule-graph (the step captured once as ag.Graph and re-run with each batch fed in).

Conv2d(3 -> 32, 3x3, no padding) -> ReLU -> MaxPool2d(2) -> Conv2d(32 -> 64, 3x3) -> ReLU -> MaxPool2d(2)
-> Flatten -> Linear(64*6*6 -> 10), mean softmax cross-entropy, Adam (lr 1e-3), float32, batch 64 of
3x32x32 random images (standard-normal pixels, random labels out of 10; 8 batches cycled, built before
timing). One timed step = forward + loss + backward + Adam update (+ reading the loss as a float).
Every engine starts from the same weights (init_cnn: numpy, drawn like torch's default init, in
PyTorch's layouts: conv weight (out, in, kh, kw), linear weight (out, in)) and sees the same batches,
so loss_first / loss_last must agree across engines.

Engines, each written the way its users write it:
  numpy      hand-written forward and backward: im2col (sliding_window_view) + one BLAS GEMM per conv,
             activations kept channels-last (NHWC) so that each GEMM's output is the next layer's input,
             max-pool with argmax masks (first maximum of each window, as torch), col2im by 9 shifted
             adds, softmax cross-entropy and Adam (common.NumpyAdam) by hand: the numpy reference
  torch      nn.Sequential of nn.Conv2d/nn.ReLU/nn.MaxPool2d/nn.Flatten/nn.Linear, F.cross_entropy,
             torch.optim.Adam, weights copied in under torch.no_grad()
  gemm       only the 8 matrix products of the numpy engine's step (the im2col formulation), in numpy,
             into preallocated outputs: conv1/conv2/linear forward, their weight gradients, and the
             input gradients of the linear layer and conv2 (conv1's input gradient is not needed)
  chainrule  our engine (the checkout at CHAINRULE_PATH, see common.use_chainrule), the torch step line
             for line (API.md, part two: nn.Conv2d, nn.MaxPool2d, nn.Flatten), weights copied in with
             `with ag.no_grad(): layer.weight.copy_(ag.tensor(W))`

    python benchmarks/cnn_step.py --engine torch [--steps 30 --warmup 5]
    python benchmarks/cnn_step.py --engine gemm
    python benchmarks/cnn_step.py --engine chainrule            # this checkout (or $CHAINRULE_PATH)

Prints one JSON line; step_ms is the distribution over the timed steps (median is the figure).
"""
import argparse
import math

import numpy as np
from common import emit, engine_version, environment, now_ns, set_torch_threads, summarize, use_chainrule
from mlp_common import NumpyAdam, minibatches, random_classification, time_steps
from numpy.lib.stride_tricks import sliding_window_view

ENGINES = ("numpy", "torch", "chainrule", "chainrule-graph")
IMAGE = (3, 32, 32)  # channels, height, width
CONV1, CONV2, K = 32, 64, 3  # output channels of the two convolutions, kernel size
N_CLASSES = 10
FLAT = CONV2 * 6 * 6  # 32 -conv-> 30 -pool-> 15 -conv-> 13 -pool-> 6
BATCH = 64
N_BATCHES = 8
LR = 1e-3


def init_cnn(seed=0):
    """Initial parameters [conv1.weight, conv1.bias, conv2.weight, conv2.bias, linear.weight, linear.bias]
    in PyTorch's layouts, float32, drawn like torch's default init (uniform in +-1/sqrt(fan_in),
    fan_in = in_channels*kh*kw for a convolution)."""
    rng = np.random.default_rng(seed)
    shapes = [(CONV1, IMAGE[0], K, K), (CONV2, CONV1, K, K), (N_CLASSES, FLAT)]
    params = []
    for shape in shapes:
        bound = 1.0 / math.sqrt(math.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, size=shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, size=shape[:1]).astype(np.float32))
    return params


def make_step(engine, params, lr=LR):
    """Return (step, prepare): step(x, y) -> loss float; prepare(batches) converts the numpy batches
    to the engine's input type once, before timing."""
    params = [p.copy() for p in params]
    return {"numpy": _numpy, "torch": _torch, "chainrule": _chainrule,
            "chainrule-graph": _chainrule_graph}[engine](params, lr)


# ----------------------------------------------------------------------------- numpy (by hand)


def im2col(h, k=K):
    """Channels-last h (n, H, W, C) -> patches (n*Ho*Wo, k*k*C), each row ordered (kh, kw, c)."""
    n, H, W, C = h.shape
    win = sliding_window_view(h, (k, k), axis=(1, 2))  # (n, Ho, Wo, C, kh, kw), a view
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * (H - k + 1) * (W - k + 1), k * k * C)  # the copy


def col2im(dcols, shape, k=K):
    """Adjoint of im2col: patch gradients (n*Ho*Wo, k*k*C) summed back into an (n, H, W, C) gradient."""
    n, H, W, C = shape
    Ho, Wo = H - k + 1, W - k + 1
    d = dcols.reshape(n, Ho, Wo, k, k, C)
    dh = np.zeros(shape, dcols.dtype)
    for i in range(k):
        for j in range(k):
            dh[:, i:i + Ho, j:j + Wo] += d[:, :, :, i, j]
    return dh


POOL_POSITIONS = ((0, 0), (0, 1), (1, 0), (1, 1))  # a 2x2 window, row-major: torch's scan order


def maxpool2(a):
    """2x2 max-pool, stride 2, floor, of channels-last a (n, H, W, C): (n, H//2, W//2, C), and the four
    argmax masks (one per window position, boolean, output-sized) marking the first maximum of each
    window, the one torch picks."""
    n, H, W, C = a.shape
    Ho, Wo = H // 2, W // 2
    q = [a[:, i:2 * Ho:2, j:2 * Wo:2] for i, j in POOL_POSITIONS]  # strided views
    p = np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    masks = [q[0] == p]
    taken = masks[0].copy()
    for qi in q[1:3]:
        m = qi == p
        m &= ~taken
        taken |= m
        masks.append(m)
    masks.append(~taken)
    return p, masks


def maxpool2_backward(g, masks, shape):
    """The gradient of maxpool2: each output's gradient goes to its window's argmax, zeros elsewhere
    (also in the last row / column that an odd size leaves out)."""
    n, H, W, C = shape
    Ho, Wo = H // 2, W // 2
    da = (np.empty if (2 * Ho, 2 * Wo) == (H, W) else np.zeros)(shape, g.dtype)
    for (i, j), m in zip(POOL_POSITIONS, masks):
        np.multiply(g, m, out=da[:, i:2 * Ho:2, j:2 * Wo:2])
    return da


def _numpy(params, lr):
    W1, b1, W2, b2, W3, b3 = params  # PyTorch layouts; Adam updates them in place
    adam = NumpyAdam(params, lr)

    def step(x, y):
        n = len(x)
        # forward; convolution weights as (out, kh*kw*in) to match im2col's (kh, kw, c) patches
        W1m = W1.transpose(0, 2, 3, 1).reshape(CONV1, -1)
        W2m = W2.transpose(0, 2, 3, 1).reshape(CONV2, -1)
        cols1 = im2col(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))  # NCHW input to NHWC: (n*30*30, 27)
        z1 = cols1 @ W1m.T
        z1 += b1
        a1 = np.maximum(z1, 0).reshape(n, 30, 30, CONV1)
        p1, masks1 = maxpool2(a1)  # (n, 15, 15, 32)
        cols2 = im2col(p1)  # (n*13*13, 288)
        z2 = cols2 @ W2m.T
        z2 += b2
        a2 = np.maximum(z2, 0).reshape(n, 13, 13, CONV2)
        p2, masks2 = maxpool2(a2)  # (n, 6, 6, 64)
        flat = p2.transpose(0, 3, 1, 2).reshape(n, FLAT)  # torch's Flatten order (c, h, w)
        logits = flat @ W3.T
        logits += b3
        # mean softmax cross-entropy
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sumexp = exp.sum(axis=1, keepdims=True)
        loss = float(np.log(sumexp[:, 0]).mean() - shifted[rows, y].mean())
        # backward: d loss / d logits = (softmax - onehot) / n
        g = exp / sumexp
        g[rows, y] -= 1
        g /= n
        dW3 = g.T @ flat
        db3 = g.sum(axis=0)
        dp2 = (g @ W3).reshape(n, CONV2, 6, 6).transpose(0, 2, 3, 1)
        dz2 = maxpool2_backward(dp2, masks2, a2.shape).reshape(-1, CONV2)
        dz2 *= z2 > 0
        dW2 = (dz2.T @ cols2).reshape(CONV2, K, K, CONV1).transpose(0, 3, 1, 2)
        db2 = dz2.sum(axis=0)
        dp1 = col2im(dz2 @ W2m, p1.shape)
        dz1 = maxpool2_backward(dp1, masks1, a1.shape).reshape(-1, CONV1)
        dz1 *= z1 > 0
        dW1 = (dz1.T @ cols1).reshape(CONV1, K, K, IMAGE[0]).transpose(0, 3, 1, 2)
        db1 = dz1.sum(axis=0)
        adam.step([dW1, db1, dW2, db2, dW3, db3])
        return loss

    return step, lambda batches: batches


# ----------------------------------------------------------------------------- PyTorch eager / chainrule


def _model(nn):
    """The network, written once against torch.nn's names (our nn has the same ones, API.md)."""
    return nn.Sequential(
        nn.Conv2d(IMAGE[0], CONV1, K), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(CONV1, CONV2, K), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(FLAT, N_CLASSES),
    )


def _weighted_layers(model):
    return [layer for layer in model if hasattr(layer, "weight")]  # conv1, conv2, linear


def _torch(params, lr):
    import torch
    import torch.nn.functional as F
    from torch import nn

    model = _model(nn)
    with torch.no_grad():
        for layer, W, b in zip(_weighted_layers(model), params[0::2], params[1::2]):
            layer.weight.copy_(torch.from_numpy(W))
            layer.bias.copy_(torch.from_numpy(b))
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


def _chainrule(params, lr):
    use_chainrule()
    import autograd as ag
    import nn
    import nn.functional as F
    import optim

    model = _model(nn)
    with ag.no_grad():
        for layer, W, b in zip(_weighted_layers(model), params[0::2], params[1::2]):
            layer.weight.copy_(ag.tensor(W))
            layer.bias.copy_(ag.tensor(b))
    opt = optim.Adam(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def prepare(batches):
        return [(ag.tensor(x, dtype=ag.float32), ag.tensor(y, dtype=ag.int64)) for x, y in batches]

    return step, prepare


def _chainrule_graph(params, lr):
    """The step captured once as ag.Graph(loss) on input leaves of its own (prepare(), untimed),
    then each step: feed the batch, g.forward(), g.backward(), Adam (as mlp_engines.py's)."""
    use_chainrule()
    import autograd as ag
    import nn
    import nn.functional as F
    import optim

    model = _model(nn)
    with ag.no_grad():
        for layer, W, b in zip(_weighted_layers(model), params[0::2], params[1::2]):
            layer.weight.copy_(ag.tensor(W))
            layer.bias.copy_(ag.tensor(b))
    opt = optim.Adam(model.parameters(), lr=lr)
    graph = x_leaf = y_leaf = None

    def inputs(batches):
        return [(ag.tensor(x, dtype=ag.float32), ag.tensor(y, dtype=ag.int64)) for x, y in batches]

    def prepare(batches):
        nonlocal graph, x_leaf, y_leaf
        [(x_leaf, y_leaf)] = inputs(batches[:1])  # copies: feeding never overwrites a prepared batch
        graph = ag.Graph(F.cross_entropy(model(x_leaf), y_leaf))
        return inputs(batches)

    def step(x, y):
        loss = graph.forward(feeds={x_leaf: x, y_leaf: y})
        opt.zero_grad(set_to_none=True)
        graph.backward()
        opt.step()
        return loss.item()

    return step, prepare


# ----------------------------------------------------------------------------- the GEMM floor


def gemm_floor(batch, n_steps, n_warmup, seed=0):
    """The numpy engine's matrix products alone, on random operands of the same shapes, into
    preallocated outputs (no im2col, pooling, elementwise work or allocation)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    m1, m2 = batch * 30 * 30, batch * 13 * 13  # rows of the two im2col matrices
    k1, k2 = K * K * IMAGE[0], K * K * CONV1  # their columns

    def rand(*shape):
        return rng.standard_normal(shape, dtype=f32)

    cols1, W1m, z1 = rand(m1, k1), rand(CONV1, k1), rand(m1, CONV1)
    cols2, W2m, z2 = rand(m2, k2), rand(CONV2, k2), rand(m2, CONV2)
    flat, W3, logits = rand(batch, FLAT), rand(N_CLASSES, FLAT), rand(batch, N_CLASSES)
    dW1, dW2, dW3 = np.empty_like(W1m), np.empty_like(W2m), np.empty_like(W3)
    dcols2, dflat = np.empty_like(cols2), np.empty_like(flat)
    gemms = [  # (name, flops, thunk); z*/logits double as the output gradients in the backward ones
        ("conv1 fwd cols@W.T", 2 * m1 * k1 * CONV1, lambda: np.matmul(cols1, W1m.T, out=z1)),
        ("conv2 fwd cols@W.T", 2 * m2 * k2 * CONV2, lambda: np.matmul(cols2, W2m.T, out=z2)),
        ("linear fwd h@W.T", 2 * batch * FLAT * N_CLASSES, lambda: np.matmul(flat, W3.T, out=logits)),
        ("linear bwd g.T@h", 2 * batch * FLAT * N_CLASSES, lambda: np.matmul(logits.T, flat, out=dW3)),
        ("linear bwd g@W", 2 * batch * FLAT * N_CLASSES, lambda: np.matmul(logits, W3, out=dflat)),
        ("conv2 bwd g.T@cols", 2 * m2 * k2 * CONV2, lambda: np.matmul(z2.T, cols2, out=dW2)),
        ("conv2 bwd g@W", 2 * m2 * k2 * CONV2, lambda: np.matmul(z2, W2m, out=dcols2)),
        ("conv1 bwd g.T@cols", 2 * m1 * k1 * CONV1, lambda: np.matmul(z1.T, cols1, out=dW1)),
    ]
    per_gemm = {name: [] for name, _, _ in gemms}
    totals = []
    for step in range(n_warmup + n_steps):
        total = 0
        for name, _, fn in gemms:
            t0 = now_ns()
            fn()
            dt = now_ns() - t0
            total += dt
            if step >= n_warmup:
                per_gemm[name].append(dt * 1e-9)
        if step >= n_warmup:
            totals.append(total * 1e-9)
    flops = sum(f for _, f, _ in gemms)
    median_s = summarize(totals, scale=1.0)["median"]
    return {
        "step_ms": summarize(totals),
        "gemm_median_ms": {name: summarize(ts)["median"] for name, ts in per_gemm.items()},
        "gflop_per_step": flops * 1e-9,
        "gflops_at_median": flops * 1e-9 / median_s,
    }


# ----------------------------------------------------------------------------- main


def batches_w6():
    X, y = random_classification(BATCH * N_BATCHES, math.prod(IMAGE), N_CLASSES, seed=0)
    return minibatches(X.reshape(-1, *IMAGE), y, BATCH, n_batches=N_BATCHES, seed=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=ENGINES + ("gemm",))
    ap.add_argument("--steps", type=int, default=30, help="timed steps (default 30)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    ap.add_argument("--torch-threads", type=int, default=2)
    args = ap.parse_args()

    config = {"image": IMAGE, "conv_channels": (CONV1, CONV2), "kernel": K, "classes": N_CLASSES,
              "batch": BATCH, "dtype": "float32", "optimizer": "adam", "lr": LR,
              "steps": args.steps, "warmup": args.warmup,
              "torch_threads": args.torch_threads if args.engine == "torch" else None}
    result = {"workload": "W6", "engine": args.engine, "version": engine_version(args.engine), "config": config}

    if args.engine == "gemm":
        result.update(gemm_floor(BATCH, args.steps, args.warmup))
    else:
        if args.engine == "torch":
            set_torch_threads(args.torch_threads)
        step, prepare = make_step(args.engine, init_cnn(seed=0))
        times, losses, faults = time_steps(step, args.steps, args.warmup, prepare(batches_w6()))
        result.update({"step_ms": summarize(times), "loss_first": losses[0], "loss_last": losses[-1],
                       "minor_faults_per_step": faults})
    emit(result | {"env": environment()})


if __name__ == "__main__":
    main()
