"""chainrule's flagship example (``make demo``): tensor networks on the digits (an MLP, then a CNN), then
micrograd's scalar network.

Part 1, Tensor engine. An MLP 64 -> 128 -> 64 -> 10 with batch norm and dropout between the layers
learns the 8x8 handwritten digits with Adam and a cosine learning-rate schedule:

    logits = MLP(x),  loss = cross_entropy(logits, y) = -mean_n log softmax(logits_n)[y_n]
    backward:  the chain rule, node by node, from the loss back to every parameter
    Adam:      m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,  theta <- theta - lr m^ / (sqrt(v^) + eps)
    schedule:  lr_t = lr_min + (lr_0 - lr_min) (1 + cos(pi t / T)) / 2   (CosineAnnealingLR)

It writes the learning curves, the graph of one training step (grouped by module, coloured by the
norm of each node's gradient), the backprop explorer of that step (a page that steps through its
forward and backward passes) and a checkpoint of the model and optimizer.

Part 2, a convolutional network on the same digits, as 1 x 8 x 8 images: three 3x3 convolutions
with batch norm and ReLU, max pooling, channel dropout and dropout, a linear classifier:

    conv:      y[o, i, j] = b[o] + sum_{c, a, b} x[c, i + a - 1, j + b - 1] w[o, c, a, b]  (3x3, padding 1)
    max pool:  the largest of each 2x2 block; its gradient goes to that element only
    backward:  the gradient of a convolution with respect to its input is the transposed
               convolution of the output's gradient with the same kernels

It writes its learning curves, the learned first-layer kernels (and what they make of one digit)
and the graph of one training step, each module a cluster.

Part 3, Scalar engine. micrograd's MLP(2, [16, 16, 1]) built from Python-float Scalars learns two
moons with a hinge loss; it writes the decision boundary and the graph of a single neuron.

Run it with ``make demo`` (which sets everything up first) or ``.venv/bin/python examples/demo.py``.
"""
from __future__ import annotations

import os
import random
import time
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")  # write files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from tqdm import tqdm  # noqa: E402

import autograd as ag  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
import optim  # noqa: E402
from nn.data import DataLoader, TensorDataset  # noqa: E402
from nn.data.datasets import load_digits, make_moons  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "out")
EPOCHS = 30  # the MLP's
CNN_EPOCHS = 20
BATCH_SIZE = 64


def wrote(path: str) -> str:
    print(f"  wrote {os.path.relpath(path)}")
    return path


# ------------------------------------------------------------------------------------------------
# Part 1: the Tensor engine on the digits


def split_digits(test_fraction: float = 0.25, seed: int = 0):
    """The 1797 digits, pixels scaled into [0, 1], shuffled and split into train and test sets."""
    X, y = load_digits()
    X = X / 16.0
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])


def accuracy(logits: ag.Tensor, y: ag.Tensor) -> float:
    return (logits.argmax(dim=1) == y).float().mean().item()


def fit(model, loader, test_set, optimizer, scheduler, epochs: int) -> dict:
    """Mini-batch training with a tqdm bar, one evaluation on the held-out set per epoch.

    In train mode dropout is on and batch norm normalises by the batch's statistics (and updates its
    running averages); in eval mode dropout is off and batch norm uses those running averages.
    """
    X_test, y_test = test_set
    n_train = len(loader.dataset)
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [], "lr": []}
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch")
    for _ in bar:
        model.train()
        total_loss = total_correct = 0.0
        for xb, yb in loader:
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(yb)
            total_correct += accuracy(logits, yb) * len(yb)
        history["lr"].append(scheduler.get_last_lr()[0])
        scheduler.step()

        model.eval()
        with ag.no_grad():
            test_logits = model(X_test)
        history["train_loss"].append(total_loss / n_train)
        history["train_acc"].append(total_correct / n_train)
        history["test_loss"].append(F.cross_entropy(test_logits, y_test).item())
        history["test_acc"].append(accuracy(test_logits, y_test))
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}", acc=f"{history['train_acc'][-1]:.3f}",
                        test_acc=f"{history['test_acc'][-1]:.3f}", lr=f"{history['lr'][-1]:.1e}")
    bar.close()
    return history


def train_digits():
    ag.manual_seed(0)
    (X_train, y_train), (X_test, y_test) = split_digits()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH_SIZE, shuffle=True, seed=0)

    model = nn.MLP([64, 128, 64, 10], batch_norm=True, dropout=0.2)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS, eta_min=1e-4)
    print(f"Part 1: an MLP on the digits ({len(y_train)} train / {len(y_test)} test images)\n{model}")

    history = fit(model, loader, (X_test, y_test), optimizer, scheduler, EPOCHS)
    print(f"held-out accuracy: {history['test_acc'][-1]:.4f} ({len(y_test)} test images)")
    return model, optimizer, history, (X_train, y_train)


def plot_history(history, path, title: str):
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["train_loss"], label="train")
    ax_loss.plot(epochs, history["test_loss"], label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    ax_acc.plot(epochs, history["train_acc"], label="train (dropout on)")
    ax_acc.plot(epochs, history["test_acc"], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.8, 1.0))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return wrote(path)


def draw_training_step(model, X, y, svg_path, html_path):
    """The graph of one training step on a small batch, each module a cluster, nodes coloured by the
    decade of their gradient norm, as a picture and as the backprop explorer's page (open it in a
    browser: the arrow keys step through the forward and the backward pass, each edge shows the term
    g · ∂out/∂in it carries). It is drawn before backward: the drawing computes the gradient of every
    node (not only the leaves) itself, which needs the graph's saved values."""
    model.train()
    loss = F.cross_entropy(model(X[:16]), y[:16])
    params = dict(model.named_parameters())
    wrote(ag.save_svg(loss, svg_path, params=params, color_by="grad_norm"))
    return wrote(ag.save_html(loss, html_path, params=params, color_by="grad_norm",
                              title="one training step of the digits MLP"))


def save_checkpoint(model, optimizer, path):
    nn.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    restored = nn.MLP([64, 128, 64, 10], batch_norm=True, dropout=0.2)
    restored.load_state_dict(nn.load(path)["model"])  # proves the file loads back
    return wrote(path)


# ------------------------------------------------------------------------------------------------
# Part 2: a convolutional network on the digits as images


def make_cnn() -> nn.Sequential:
    """1x8x8 -> 32x8x8 -> 32x8x8 -> pool 32x4x4 -> 64x4x4 -> pool 64x2x2 -> 10 logits.

    Each convolution is 3x3 with padding 1 (the size stays), followed by batch norm over each
    channel and ReLU. The layers are named, so the drawn graph's clusters read conv1, bn1, pool1, ...
    """
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 3, padding=1)), ("bn1", nn.BatchNorm2d(32)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(32, 32, 3, padding=1)), ("bn2", nn.BatchNorm2d(32)), ("relu2", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)), ("drop1", nn.Dropout2d(0.1)),  # drops whole channels
        ("conv3", nn.Conv2d(32, 64, 3, padding=1)), ("bn3", nn.BatchNorm2d(64)), ("relu3", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("drop2", nn.Dropout(0.3)), ("fc", nn.Linear(64 * 2 * 2, 10)),
    ]))


def train_cnn():
    """The CNN on the same split as the MLP (Adam, cosine schedule)."""
    ag.manual_seed(0)
    (X_train, y_train), (X_test, y_test) = split_digits()
    X_train, X_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)  # (N, C, H, W)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH_SIZE, shuffle=True, seed=0)
    model = make_cnn()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=CNN_EPOCHS, eta_min=1e-4)
    print(f"\nPart 2: a CNN on the digits as 1x8x8 images\n{model}")

    history = fit(model, loader, (X_test, y_test), optimizer, scheduler, CNN_EPOCHS)
    print(f"CNN held-out accuracy: {history['test_acc'][-1]:.4f} ({len(y_test)} test images)")
    return model, history, (X_train, y_train), X_test


def plot_filters(model, image, path):
    """The 32 learned 3x3 kernels of the first convolution, and the 32 feature maps they make of one
    digit (after batch norm and ReLU): each kernel responds to a local pattern, such as an edge."""
    kernels = model.conv1.weight.detach().numpy()[:, 0]
    model.eval()
    with ag.no_grad():
        maps = model[:3](image[None]).numpy()[0]  # conv1, bn1, relu1
    fig = plt.figure(figsize=(12, 3.8))
    grid = fig.add_gridspec(4, 17, width_ratios=[1] * 8 + [0.4] + [1] * 8, wspace=0.08, hspace=0.08, left=0.02,
                            right=0.98, bottom=0.02, top=0.86)
    limit = np.abs(kernels).max()
    for i in range(32):
        row, col = divmod(i, 8)
        for offset, picture, style in ((0, kernels[i], dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
                                       (9, maps[i], dict(cmap="magma"))):
            ax = fig.add_subplot(grid[row, col + offset])
            ax.imshow(picture, **style)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.text(0.02, 0.93, "the 32 learned 3x3 kernels of the first layer (red +, blue -)", fontsize=10)
    fig.text(0.52, 0.93, "what each makes of one test digit (after batch norm and ReLU)", fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return wrote(path)


def draw_cnn_step(model, X, y, path):
    """One training step of the CNN (a batch of 8 images) drawn as a graph, each named layer a cluster
    (conv1 holds its convolution, bn1 batch norm's arithmetic, pool1 the max pooling, ...), nodes
    coloured by the decade of their gradient norm, as for the MLP."""
    model.train()
    loss = F.cross_entropy(model(X[:8]), y[:8])
    return wrote(ag.save_svg(loss, path, params=dict(model.named_parameters()), color_by="grad_norm"))


# ------------------------------------------------------------------------------------------------
# Part 3: the Scalar engine on two moons


def train_moons(steps: int = 40):
    """micrograd's demo: an MLP of Scalars, an SVM hinge loss with L2 regularisation, full-batch SGD
    with a decaying learning rate. Labels are -1 / +1; a point is classified by the sign of the score."""
    random.seed(1337)  # nn.scalar draws its initial weights from Python's random module
    X, y = make_moons(n_samples=100, noise=0.1, seed=0)
    X, y = X.numpy().astype(float), y.numpy() * 2 - 1
    model = nn.scalar.MLP(2, [16, 16, 1])
    print(f"\nPart 3: micrograd's {len(model.parameters())}-parameter MLP of Scalars on two moons")

    def loss_and_accuracy():
        scores = [model([ag.Scalar(a), ag.Scalar(b)]) for a, b in X]
        hinge = sum((1 + -yi * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
        l2 = 1e-4 * sum(p * p for p in model.parameters())
        acc = np.mean([(s.data > 0) == (yi > 0) for yi, s in zip(y, scores)])
        return hinge + l2, acc

    bar = tqdm(range(steps), desc="training", unit="step")
    for k in bar:
        loss, acc = loss_and_accuracy()
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
        bar.set_postfix(loss=f"{loss.data:.3f}", acc=f"{acc:.2f}")
    bar.close()
    print(f"training accuracy: {acc:.2f}")
    return model, X, y


def plot_decision_boundary(model, X, y, path, h: float = 0.1):
    xs = np.arange(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, h)
    ys = np.arange(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, h)
    xx, yy = np.meshgrid(xs, ys)
    scores = np.array([model([ag.Scalar(a), ag.Scalar(b)]).data for a, b in zip(xx.ravel(), yy.ravel())])
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.contourf(xx, yy, (scores > 0).reshape(xx.shape), cmap="coolwarm", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=30)
    ax.set(title="nn.scalar.MLP(2, [16, 16, 1]) on two moons", xlabel="x1", ylabel="x2")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return wrote(path)


def draw_neuron(path):
    """One neuron, o = tanh(x1 w1 + x2 w2 + b), after o.backward(): each value's data and gradient."""
    x1, x2 = ag.Scalar(2.0, label="x1"), ag.Scalar(0.0, label="x2")
    w1, w2 = ag.Scalar(-3.0, label="w1"), ag.Scalar(1.0, label="w2")
    b = ag.Scalar(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return wrote(ag.save_svg(o, path))


def main():
    start = time.perf_counter()
    # The matrices here are small: one BLAS thread is faster than several competing for the cores.
    threadpool_limits(1)
    os.makedirs(OUT, exist_ok=True)

    model, optimizer, history, (X_train, y_train) = train_digits()
    plot_history(history, os.path.join(OUT, "digits_curves.png"),
                 "MLP with batch norm and dropout on the digits (Adam, cosine schedule)")
    save_checkpoint(model, optimizer, os.path.join(OUT, "digits_checkpoint.npz"))
    # after the checkpoint: a training-mode step updates batch norm's running statistics
    draw_training_step(model, X_train, y_train, os.path.join(OUT, "digits_training_step.svg"),
                       os.path.join(OUT, "digits_training_step.html"))

    cnn, cnn_history, (X_images, y_images), X_test_images = train_cnn()
    plot_history(cnn_history, os.path.join(OUT, "digits_cnn_curves.png"),
                 "CNN (Conv2d, BatchNorm2d, MaxPool2d, Dropout) on the digits (Adam, cosine schedule)")
    plot_filters(cnn, X_test_images[0], os.path.join(OUT, "digits_cnn_filters.png"))
    draw_cnn_step(cnn, X_images, y_images, os.path.join(OUT, "digits_cnn_training_step.svg"))

    scalar_model, X, y = train_moons()
    plot_decision_boundary(scalar_model, X, y, os.path.join(OUT, "moons_decision_boundary.png"))
    draw_neuron(os.path.join(OUT, "scalar_neuron.svg"))

    print(f"\ndone in {time.perf_counter() - start:.0f} s; everything is in {os.path.relpath(OUT)}/")


if __name__ == "__main__":
    main()
