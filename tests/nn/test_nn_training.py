"""End to end: an nn.MLP trained with Adam on the digits, and micrograd's scalar MLP on two moons."""
import random

import numpy as np

import autograd as ag
import nn
import nn.functional as F
import optim
from nn.data import DataLoader, TensorDataset, datasets


def test_mlp_with_adam_learns_the_digits():
    ag.manual_seed(0)
    X, y = datasets.load_digits()
    X = X / 16.0
    perm = np.random.default_rng(0).permutation(len(y))
    train, test = perm[:1400], perm[1400:]
    loader = DataLoader(TensorDataset(X[train], y[train]), batch_size=64, shuffle=True, seed=0)
    model = nn.MLP([64, 64, 10], dropout=0.1)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(15):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
    model.eval()
    with ag.no_grad():
        pred = model(X[test]).argmax(dim=1)
    accuracy = (pred.data == y[test].data).mean()
    assert accuracy >= 0.95, accuracy


def test_batchnorm_mlp_trains_and_evaluates_with_running_statistics():
    ag.manual_seed(1)
    X, y = datasets.make_spiral(300, n_classes=3, noise=0.1, seed=1)
    model = nn.MLP([2, 64, 3], batch_norm=True)
    opt = optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
    model.eval()
    with ag.no_grad():
        acc = (model(X).argmax(dim=1).data == y.data).mean()
    assert acc >= 0.9, acc


def test_scalar_mlp_fits_two_moons():
    random.seed(1)
    X, y = datasets.make_moons(40, noise=0.1, seed=0)
    xs = X.tolist()
    ys = [2.0 * t - 1.0 for t in y.tolist()]  # labels -1 / +1 for the max-margin loss
    model = nn.scalar.MLP(2, [16, 16, 1])
    for k in range(30):
        scores = [model(x) for x in xs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg = 1e-4 * sum(p * p for p in model.parameters())
        total = data_loss + reg
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / 30
        for p in model.parameters():
            p.data -= lr * p.grad
    acc = np.mean([(si.data > 0) == (yi > 0) for yi, si in zip(ys, [model(x) for x in xs])])
    assert acc >= 0.95, acc
