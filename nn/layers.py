"""Basic layers: Linear, Embedding, Identity, Flatten, Unflatten, and the MLP built from them."""

from __future__ import annotations

import itertools
import math

import numpy as np

from autograd import Tensor, get_default_dtype

from . import functional as F
from . import init
from .activation import ReLU
from .dropout import Dropout
from .module import Module, Sequential
from .normalization import BatchNorm1d
from .parameter import Parameter

__all__ = ["Identity", "Linear", "Embedding", "Flatten", "Unflatten", "MLP"]


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Identity(Module):
    """y = x (a placeholder; any arguments to the constructor are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """An affine layer: y = x W^T + b, W of shape (out_features, in_features), b of shape (out_features,).

    Initialised as PyTorch does: W and b uniform in [-1/sqrt(in_features), 1/sqrt(in_features)]
    (``kaiming_uniform_(W, a=sqrt(5))``).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight (Kaiming uniform, a=sqrt(5)) and bias (U(-1/sqrt(in), 1/sqrt(in))) as torch does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: row i of the weight (num_embeddings, embedding_dim) is the vector of index i.

    out[...] = W[idx[...]], which equals one_hot(idx) @ W. Initialised N(0, 1); the ``padding_idx``
    row is zero and receives no gradient, so it stays what it is.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None):
        super().__init__()
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim")
        self.padding_idx = None if padding_idx is None else F._padding_idx(padding_idx, self.num_embeddings)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the embeddings from N(0, 1), the row of ``padding_idx`` zero (as torch)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, idx: Tensor) -> Tensor:
        return F.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"


class Flatten(Module):
    """Flatten dimensions start_dim..end_dim into one (default: everything but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        n = x.ndim
        s, e = self.start_dim % max(n, 1), self.end_dim % max(n, 1)
        if n == 0 or s > e:
            if n == 0:
                return x.reshape(1)
            raise ValueError(
                f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                f"for an input with {n} dimensions"
            )
        shape = x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :]
        return x.reshape(shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (one entry may be -1), the inverse of Flatten:
    ``nn.Unflatten(1, (C, H, W))`` turns (N, C H W) into (N, C, H, W)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim % max(x.ndim, 1)
        sizes = list(self.unflattened_size)
        n = x.shape[dim]
        known = int(np.prod([s for s in sizes if s != -1]))
        if sizes.count(-1) > 1 or (-1 in sizes and (known == 0 or n % known)) or (-1 not in sizes and known != n):
            raise RuntimeError(
                f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {self.dim} "
                f"({n}) in the input tensor (shape {list(x.shape)})"
            )
        if -1 in sizes:
            sizes[sizes.index(-1)] = n // known
        return x.reshape(x.shape[:dim] + tuple(sizes) + x.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class MLP(Sequential):
    """A multi-layer perceptron: ``MLP([64, 256, 10])`` is Linear(64, 256), activation, Linear(256, 10).

    Between consecutive Linear layers come, in this order, BatchNorm1d (``batch_norm=True``), the
    activation (a Module class such as ``nn.ReLU``, or a function returning a Module) and Dropout
    (``dropout > 0``); nothing follows the last Linear, so the output is the raw logits / values.
    The children are numbered like any Sequential: ``mlp[0]`` is the first Linear.
    """

    def __init__(self, sizes, activation=ReLU, dropout: float = 0.0, batch_norm: bool = False):
        sizes = [_positive_int(s, "each size") for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, e.g. [64, 10]; got {sizes}")
        F._check_p(dropout)
        layers: list[Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(Linear(a, b))
            if i < len(sizes) - 2:
                if batch_norm:
                    layers.append(BatchNorm1d(b))
                act = activation() if not isinstance(activation, Module) else activation
                if not isinstance(act, Module):
                    raise TypeError(f"activation must be a Module class (e.g. nn.ReLU), got {activation!r}")
                layers.append(act)
                if dropout > 0:
                    layers.append(Dropout(dropout))
        super().__init__(*layers)
        self.sizes = sizes
