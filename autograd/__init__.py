"""chainrule's autograd: Tensor and Scalar on one reverse-mode engine (``import autograd as ag``)."""

__version__ = "0.1.0"  # the one source of the version: pyproject.toml reads it (tool.setuptools.dynamic)

from . import malloc  # (first: glibc keeps freed memory for reuse, see autograd/malloc.py)
from . import openblas  # (numpy's OpenBLAS threads sleep sooner when idle, see autograd/openblas.py)
from . import ops, tensor_functions
from .dtypes import (
    bool,
    double,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_dtype,
    short,
    uint8,
)
from . import forward_ad, func, functional  # ag.forward_ad, ag.func, ag.functional
from .anomaly import detect_anomaly
from .checkpoint import checkpoint
from .engine import toposort
from .function import Function, FunctionCtx
from .functional import grad
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import Graph
from .device import device
from .methods.interop import from_dlpack
from .random import Generator, default_generator, initial_seed, manual_seed, seed
from .scalar import Scalar, Value
from .creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .tensor import Tensor, is_tensor
from . import autograd  # ag.autograd: torch.autograd's names
from .functions_math import *  # the elementwise catalogue's function forms: ag.erf, ag.bitwise_and...
from .functions_shape import *  # the shape catalogue's function forms: ag.cumsum, ag.einsum...
from . import functions_math, functions_shape
from .tensor_functions import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    cos,
    dot,
    exp,
    log,
    log_softmax,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    norm,
    outer,
    pow,
    prod,
    relu,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    stack,
    std,
    sum,
    tanh,
    var,
)

__all__ = [
    "Tensor",
    "Scalar",
    "Value",
    "Graph",
    "tensor",
    "from_numpy",
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand_like",
    "randn_like",
    "arange",
    "linspace",
    "eye",
    "rand",
    "randn",
    "randint",
    "where",
    "randint_like",
    "randperm",
    "manual_seed",
    "initial_seed",
    "seed",
    "Generator",
    "default_generator",
    "device",
    "from_dlpack",
    "is_tensor",
    "autograd",
    "inference_mode",
    "is_inference_mode_enabled",
    "float16",
    "half",
    "float32",
    "float",
    "float64",
    "double",
    "int8",
    "int16",
    "short",
    "int32",
    "int",
    "int64",
    "long",
    "bool",
    "uint8",
    "set_default_dtype",
    "get_default_dtype",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "toposort",
    "ops",
    "grad",
    "detect_anomaly",
    "Function",
    "FunctionCtx",
    "checkpoint",
    "forward_ad",
    "func",
    "functional",
    "draw_graph",
    "save_svg",
    "explore",
    "save_html",
]
for _module in (tensor_functions, functions_math, functions_shape):  # ag.exp, ag.cat, ag.erf, ag.cumsum, ...
    __all__ += [name for name in _module.__all__ if name not in __all__]

_DRAWING = ("draw_graph", "save_svg")
_EXPLORER = ("explore", "save_html")


def __getattr__(name):
    # drawing imports the graphviz package: only when it is first used, not with ``import autograd``
    if name in _DRAWING:
        from . import viz

        return getattr(viz, name)
    if name in _EXPLORER:
        from . import explorer

        return getattr(explorer, name)
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
