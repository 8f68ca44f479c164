"""chainrule's neural-network package (``import nn``): modules, layers, losses, init, data, save/load.

It copies PyTorch's ``torch.nn`` data model (Module, Parameter, state_dict) on chainrule's Tensor;
``nn.scalar`` is micrograd's network on Scalar.
"""
from . import data, functional, init, utils  # noqa: F401
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .dropout import Dropout
from .layers import MLP, Embedding, Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, ModuleDict, ModuleList, Sequential
from .normalization import BatchNorm1d, LayerNorm
from .parameter import Parameter
from .serialization import CheckpointError, load, save

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "Embedding", "Dropout",
    "BatchNorm1d", "LayerNorm", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU",
    "Softmax", "LogSoftmax", "MLP", "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "functional", "init", "utils", "data", "save", "load", "CheckpointError", "scalar",
]


def __getattr__(name):
    # nn.scalar is imported on first use (it is pure Python and independent of the Tensor layers)
    if name == "scalar":
        import importlib

        return importlib.import_module(".scalar", __name__)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
