"""Small datasets for the lecture: two moons, spirals, linear regression, and the 8x8 digits.

The generators return ``(X, y)`` Tensors: X of the default float dtype, shape (n_samples,
n_features); y int64 class labels (moons, spiral) or floats (regression). ``seed`` makes them
reproducible; without it the global generator (``ag.manual_seed``) is used.
"""

from __future__ import annotations

import numpy as np

from autograd import Tensor, get_default_dtype
from autograd.extend import generator, leaf

__all__ = ["make_moons", "make_spiral", "make_regression", "load_digits"]


def _rng(seed):
    return generator() if seed is None else np.random.default_rng(seed)


def _check_n(n, name="n_samples"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def make_moons(
    n_samples: int = 100, noise: float = 0.0, shuffle: bool = True, seed: int | None = None
) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles (scikit-learn's construction): class 0 on the upper arc
    (cos t, sin t), class 1 on the lower (1 - cos t, 1/2 - sin t), t in [0, pi], plus N(0, noise^2)."""
    n = _check_n(n_samples)
    rng = _rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate(
        [np.stack([np.cos(t_out), np.sin(t_out)], 1), np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)]
    )
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if shuffle:
        p = rng.permutation(n)
        X, y = X[p], y[p]
    if noise:
        X = X + rng.normal(0.0, noise, X.shape)
    return leaf(X.astype(get_default_dtype())), leaf(y)


def make_spiral(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> tuple[Tensor, Tensor]:
    """``n_classes`` interleaved spiral arms in 2-D (the CS231n spiral): arm k has its points at
    radius r from 0 to 1 and angle theta from 4k to 4(k + 1) radians (both evenly spaced), plus
    N(0, noise^2) on the angle; the point is (r sin theta, r cos theta). ``n_samples`` is the total,
    split as evenly as possible between the arms."""
    n = _check_n(n_samples)
    k = _check_n(n_classes, "n_classes")
    rng = _rng(seed)
    per = [n // k + (1 if c < n % k else 0) for c in range(k)]
    X, y = [], []
    for c, m in enumerate(per):
        r = np.linspace(0.0, 1.0, m)
        theta = np.linspace(c * 4.0, (c + 1) * 4.0, m) + rng.normal(0.0, 1.0, m) * noise
        X.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        y.append(np.full(m, c, np.int64))
    return leaf(np.concatenate(X).astype(get_default_dtype())), leaf(np.concatenate(y))


def make_regression(
    n_samples: int = 100,
    n_features: int = 1,
    noise: float = 0.0,
    bias: float = 0.0,
    coef: bool = False,
    seed: int | None = None,
) -> tuple[Tensor, ...]:
    """A linear regression problem: X ~ N(0, 1), y = X w + bias + N(0, noise^2), w ~ U(0, 100) per feature
    (as scikit-learn). Returns (X, y) with y of shape (n_samples,), and w too with ``coef=True``."""
    n = _check_n(n_samples)
    d = _check_n(n_features, "n_features")
    rng = _rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.uniform(0.0, 100.0, d)
    y = X @ w + bias
    if noise:
        y = y + rng.normal(0.0, noise, n)
    dt = get_default_dtype()
    out = (leaf(X.astype(dt)), leaf(y.astype(dt)))
    return out + (leaf(w.astype(dt)),) if coef else out


def load_digits() -> tuple[Tensor, Tensor]:
    """The 8x8 handwritten digits that scikit-learn ships (1797 images, UCI's optdigits test set).

    Returns (X, y): X of shape (1797, 64), the pixel intensities 0..16 as the default float dtype
    (divide by 16 to scale into [0, 1]); y the digit 0..9 (int64). Needs scikit-learn (the
    ``datasets`` extra: ``pip install chainrule[datasets]``), which reads the data from its own files.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError:
        raise ImportError(
            "nn.data.datasets.load_digits() needs scikit-learn, which ships the digits data: "
            "pip install scikit-learn (or pip install 'chainrule[datasets]')"
        ) from None
    X, y = _sk_load_digits(return_X_y=True)
    return leaf(np.asarray(X).astype(get_default_dtype())), leaf(np.asarray(y).astype(np.int64))
