"""chainrule's neural-network package (``import nn``): modules, layers, losses, init, data, save/load.

It copies PyTorch's ``torch.nn`` data model (Module, Parameter, state_dict) on chainrule's Tensor;
``nn.scalar`` is micrograd's network on Scalar. Each module file lists its public names in
``__all__``, gathered here.
"""

from . import activation, attention, conv, dropout, layers, loss, module, normalization, parameter, pooling, vision
from . import data, functional, init, utils
from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .layers import *
from .loss import *
from .module import *
from .normalization import *
from .parameter import *
from .pooling import *
from .serialization import CheckpointError, load, save
from .vision import *

__all__ = (
    module.__all__
    + parameter.__all__
    + layers.__all__
    + activation.__all__
    + dropout.__all__
    + normalization.__all__
    + loss.__all__
    + conv.__all__
    + pooling.__all__
    + vision.__all__
    + attention.__all__
    + ["functional", "init", "utils", "data", "save", "load", "CheckpointError", "scalar"]
)


def __getattr__(name):
    # nn.scalar is imported on first use (it is pure Python and independent of the Tensor layers)
    if name == "scalar":
        import importlib

        return importlib.import_module(".scalar", __name__)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
