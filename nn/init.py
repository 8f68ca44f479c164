"""nn.init: fill a tensor in place with initial values drawn from the default generator (ag.manual_seed)
or from the ``generator=`` (an ``ag.Generator``) given, as torch's functions take it.

Each function works under no_grad (it is initialisation, not part of the model's computation),
writes into the tensor's array and returns the tensor, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from autograd import Generator, Tensor
from autograd.extend import generator as draw

from .parameter import _write

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "zeros_",
    "ones_",
    "constant_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "trunc_normal_",
]


def _fill(tensor: Tensor, values) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init functions fill a Tensor in place, got {type(tensor).__name__}")
    return _write(tensor, values)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + slope^2)) (leaky_relu, slope ``param`` default 0.01), 3/4 (selu)."""
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"unsupported nonlinearity {nonlinearity!r}: use one of linear, sigmoid, tanh, relu, leaky_relu, selu"
    )


def _fans(tensor: Tensor):
    """(fan_in, fan_out) of a weight: (in, out) features for (out, in), times the receptive field."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape {tensor.shape})"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Fill with U(a, b) (from ``generator``, an ``ag.Generator``, or the default one)."""
    return _fill(tensor, draw(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Fill with N(mean, std^2) (from ``generator``, an ``ag.Generator``, or the default one)."""
    return _fill(tensor, draw(generator).normal(mean, std, size=tensor.shape))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 0 in place, without recording it (``torch.nn.init.zeros_``); returns it."""
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 1 in place, without recording it (``torch.nn.init.ones_``); returns it."""
    return _fill(tensor, 1)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val`` in place, without recording it (``torch.nn.init.constant_``)."""
    return _fill(tensor, val)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He: U(-b, b) with b = gain sqrt(3 / fan) (fan_in or fan_out; gain from ``nonlinearity`` and slope a).

    ``nn.Linear`` uses a = sqrt(5), which gives b = 1 / sqrt(fan_in), PyTorch's default."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He: N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al.): the tensor viewed as (rows, rest),
    filled with Q of the QR decomposition of a standard normal matrix, signs fixed by R's diagonal
    so that Q is uniform over the orthogonal matrices. Rows (or columns, whichever are fewer) are
    orthonormal."""
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported (got shape {tensor.shape})")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = draw(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(mean, std^2) restricted to [a, b] (bounds in the values' units, as torch): the
    normal distribution conditioned on landing in the interval, drawn by rejection (values outside
    are drawn again). The interval must hold at least 1e-4 of the distribution's mass."""
    if not a < b:
        raise ValueError(f"trunc_normal_: the interval [a, b] = [{a}, {b}] is empty")
    mass = 0.5 * (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2))))
    if mass < 1e-4:
        raise ValueError(
            f"trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.2g} of N({mean}, {std}^2); put the "
            f"interval nearer the mean"
        )
    size = int(np.prod(tensor.shape))
    rng = draw(generator)
    kept, count = [], 0
    while count < size:
        batch = rng.normal(mean, std, size=int((size - count) / mass * 1.1) + 16)
        inside = batch[(batch >= a) & (batch <= b)]
        kept.append(inside)
        count += inside.size
    return _fill(tensor, np.concatenate(kept)[:size].reshape(tensor.shape))
