"""Dtypes (numpy dtypes) and the promotion rules of PyTorch."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001  (ag.float, as torch.float)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001  (ag.int, as torch.int)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001  (ag.bool, as torch.bool)
uint8 = np.dtype(np.uint8)

# torch's names of the tensor types (``t.type()`` gives 'ag.FloatTensor' where torch gives
# 'torch.FloatTensor'), and of the dtypes in its error messages ("not implemented for 'Long'")
_TYPE_NAMES = {
    float16: "Half",
    float32: "Float",
    float64: "Double",
    int8: "Char",
    int16: "Short",
    int32: "Int",
    int64: "Long",
    uint8: "Byte",
    bool: "Bool",
}

_default: list[np.dtype[Any]] = [float32]


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the dtype that Python floats (and float lists) become: float32 (default) or float64."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"the default dtype must be a floating dtype (float32 or float64), got {dt}")
    _default[0] = dt


def get_default_dtype() -> np.dtype[Any]:
    """The float dtype that tensors made from Python floats get (float32 unless set_default_dtype)."""
    return _default[0]


def is_floating(dtype) -> builtins.bool:
    return dtype.kind == "f"


def _category(dtype):
    return 2 if dtype.kind == "f" else (0 if dtype.kind == "b" else 1)


def result_type(a, b):
    """The dtype of a binary operation on arrays a and b, as torch promotes.

    Across categories (bool < integer < floating) the higher category's dtype wins, so an integer
    tensor never drags a float32 one up to float64 (numpy would). Within a category, a tensor
    with dimensions wins over a 0-d one; otherwise the usual promotion applies.
    """
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _category(da), _category(db)
    if ca != cb:
        return da if ca > cb else db
    if a.ndim and not b.ndim:
        return da
    if b.ndim and not a.ndim:
        return db
    return np.promote_types(da, db)


def scalar_result_type(dtype, value):
    """The dtype of (tensor of ``dtype``) op (Python number ``value``): never upcasts a float tensor;
    a float number makes an integer or bool tensor float (the default dtype); an int makes bool int64."""
    if dtype.kind == "f":
        return dtype
    if isinstance(value, builtins.float):
        return _default[0]
    if dtype.kind == "b" and not isinstance(value, builtins.bool):
        return int64
    return dtype


_KIND_NAMES = {
    "O": "Python objects",
    "c": "complex",
    "U": "strings",
    "S": "bytes",
    "M": "datetimes",
    "m": "time deltas",
    "V": "structured/void",
}


def check_supported(dtype, what):
    """``dtype`` when a Tensor can hold it (bool, integer, floating), else a TypeError naming ``what``.

    numpy would carry object, complex, string and date dtypes along, and complex data meeting a float
    parameter would silently lose its imaginary part."""
    if dtype.kind not in "biuf":
        raise TypeError(
            f"{what}: a Tensor can't hold numpy dtype {dtype} ({_KIND_NAMES.get(dtype.kind, 'other')}); "
            f"only bool, integer and floating data are supported. Convert the data first "
            f"(e.g. arr.real or arr.astype(np.float32))."
        )
    return dtype


def require_float(dtype, what="Tensor"):
    """Only floating tensors may require grad: the RuntimeError that says so for any other ``dtype``."""
    if dtype.kind != "f":
        raise RuntimeError(
            f"only Tensors of floating point dtype can require gradients; this {what} has dtype "
            f"{dtype}. Convert it first, e.g. t.float() or ag.tensor(data, dtype=ag.float32)."
        )


def type_name(dtype) -> str:
    """torch's short name of ``dtype``: 'Float', 'Long', 'Bool'... (numpy's name for the others)."""
    return _TYPE_NAMES.get(dtype) or dtype.name.capitalize()


def tensor_type(dtype) -> str:
    """The name ``t.type()`` gives a tensor of ``dtype``: 'ag.FloatTensor', 'ag.LongTensor'..."""
    return f"ag.{type_name(dtype)}Tensor"


def from_tensor_type(name: str):
    """The dtype of a tensor type name ('ag.FloatTensor', or 'FloatTensor'): the inverse of tensor_type."""
    short = name[3:] if name.startswith("ag.") else name
    for dtype, n in _TYPE_NAMES.items():
        if short == f"{n}Tensor":
            return dtype
    raise ValueError(
        f"invalid type: {name!r}; expected a dtype (e.g. ag.float64) or a tensor type name such as "
        f"'ag.DoubleTensor' ({', '.join(sorted(tensor_type(d) for d in _TYPE_NAMES))})"
    )
