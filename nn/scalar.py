"""micrograd's neural network on Scalar: ``Neuron``, ``Layer``, ``MLP``.

Every number is an ``ag.Scalar``, so a forward pass builds the graph one multiplication and one
addition at a time, and ``loss.backward()`` runs the lecture's back-propagation on it:

    neuron:  y = phi(sum_i w_i x_i + b)        phi = ReLU (or the identity for the output layer)
    layer:   nout neurons reading the same inputs
    MLP:     layers composed, y = L_k( ... L_2(L_1(x)))

Training is plain gradient descent on ``parameters()``: ``p.data -= lr * p.grad`` after
``zero_grad()`` and ``backward()``. The Tensor network of the same shape is ``nn.MLP``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from autograd import Scalar


class Module:
    """The micrograd Module: ``parameters()`` and ``zero_grad()``."""

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (Scalar gradients accumulate over backward calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Scalar]:
        """The Scalars this module learns, in a fixed order (a list, as micrograd's)."""
        return []


class Neuron(Module):
    """One neuron: act(w . x + b), weights uniform in [-1, 1], bias 0; ReLU unless ``nonlin=False``."""

    def __init__(self, nin: int, nonlin: bool = True):
        self.w = [Scalar(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Scalar(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Scalar | float]) -> Scalar:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Scalar]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; returns a list (a single Scalar when nout == 1)."""

    def __init__(self, nin: int, nout: int, **kwargs: Any):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Scalar | float]) -> Scalar | list[Scalar]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Scalar]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])``; ReLU everywhere but the last layer."""

    def __init__(self, nin: int, nouts: Sequence[int]):
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Scalar]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
