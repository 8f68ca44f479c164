"""The one global random generator used by rand*, dropout and nn.init (seeded by manual_seed)."""
from __future__ import annotations

import numpy as np

_generator = [np.random.default_rng()]


def manual_seed(seed: int) -> None:
    """Seed the generator behind ag.rand/randn/randint, dropout masks and nn.init."""
    _generator[0] = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    return _generator[0]
