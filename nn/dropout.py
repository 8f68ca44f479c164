"""Dropout: of units (Dropout) and of whole channels (Dropout1d/2d/3d)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from autograd import Generator, Tensor

from . import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]


class Dropout(Module):
    """Inverted dropout: in training, y = x * m with m_i = [u_i >= p] / (1 - p), u_i ~ U[0, 1).

    Each unit is zeroed with probability p and the survivors are scaled by 1 / (1 - p), so that
    E[y] = x; in evaluation mode (``model.eval()``) the layer is the identity. A fresh mask is drawn
    on every call (and on every ``ag.Graph.forward``). ``p`` must be in [0, 1] (p = 1 zeroes everything in
    training); ``inplace`` multiplies the input itself; ``generator`` (an ``ag.Generator``, keyword only:
    chainrule's addition) draws the masks instead of the default generator.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator: Generator | None = None):
        super().__init__()
        F._check_p(p)
        self.p = float(p)
        self.inplace = bool(inplace)
        self.generator = generator  # an ag.Generator for the masks (None: the default generator)

    def forward(self, x: Tensor) -> Tensor:
        """``F.dropout(x, p, training)``: a fresh mask in training, the identity in evaluation."""
        return F.dropout(x, self.p, self.training, self.inplace, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _ChannelDropout(Dropout):
    _function: ClassVar[Callable[..., Any]]  # the nn.functional form, set by each subclass

    def forward(self, x: Tensor) -> Tensor:
        """Whole channels dropped in training (see the class), the identity in evaluation."""
        return type(self)._function(x, self.p, self.training, self.inplace, generator=self.generator)


class Dropout1d(_ChannelDropout):
    """Channel-wise dropout of (N, C, L): whole channels zeroed with probability p, the others scaled
    by 1 / (1 - p) (identity in evaluation)."""

    _function = staticmethod(F.dropout1d)


class Dropout2d(_ChannelDropout):
    """Channel-wise dropout of (N, C, H, W) feature maps: each whole channel zeroed with probability
    p and the others scaled by 1 / (1 - p) (neighbouring pixels are correlated, so dropping single
    pixels would hardly regularise a convolution); identity in evaluation."""

    _function = staticmethod(F.dropout2d)


class Dropout3d(_ChannelDropout):
    """Channel-wise dropout of (N, C, D, H, W) (see Dropout2d)."""

    _function = staticmethod(F.dropout3d)
