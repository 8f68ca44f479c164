"""Dropout."""
from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout: in training, y = x * m with m_i = [u_i >= p] / (1 - p), u_i ~ U[0, 1).

    Each unit is zeroed with probability p and the survivors are scaled by 1 / (1 - p), so that
    E[y] = x; in evaluation mode (``model.eval()``) the layer is the identity. A fresh mask is drawn
    on every call (and on every ``ag.Graph.forward``). ``p`` must be in [0, 1] (p = 1 zeroes everything in training).
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        F._check_p(p)
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
