"""nn.functional (``import nn.functional as F``): layers, activations and losses as functions.

Every tensor argument (inputs, targets, class indices, class weights) is read by a recorded
operation whenever the result requires grad, so it is an input of a node of the graph: a captured
training step ``g = ag.Graph(loss)`` can be fed a new batch and new targets with
``g.forward({x: batch, y: targets})``. This is why, for example, ``(1 - t) * a`` is written
``a - t * a`` below: ``1 - t`` of a target that does not require grad would not be recorded, and a
fed ``t`` would never reach the loss.

The functions live by family in this package: layers.py, activations.py, losses.py, conv.py
(convolutions, unfold/fold), pooling.py, vision.py (padding, interpolation, pixel shuffle) and
attention.py.
"""

from __future__ import annotations

from .activations import *
from .activations import __all__ as _activations
from .attention import *
from .attention import __all__ as _attention
from .common import _t  # nn's modules turn arguments into Tensors the same way
from .conv import *
from .conv import __all__ as _conv
from .layers import *
from .layers import __all__ as _layers
from .layers import _check_p, _padding_idx  # nn's modules check their arguments alike
from .losses import *
from .losses import __all__ as _losses
from .losses import _check_reduction
from .pooling import *
from .pooling import __all__ as _pooling
from .vision import *
from .vision import __all__ as _vision

__all__ = _layers + _activations + _losses + _conv + _pooling + _vision + _attention
