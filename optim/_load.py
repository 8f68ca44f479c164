"""Checking the entries of a loaded optimizer state before any of it is used.

``Optimizer.load_state_dict`` accepts a state dict from a file, from another process or built by
hand, so its entries may be of the wrong shape or type. torch.optim copies them as they are and the
next ``step()`` fails inside the update arithmetic (or, worse, broadcasts and succeeds). Here every
entry is checked against the kind of entry the optimizer keeps under that name, and converted:

=================  ==========================================================================
kind               accepted value, and what the optimizer gets
=================  ==========================================================================
``BUFFER``         a real array (Tensor, ndarray, nested list) of the parameter's shape; a
                   copy cast to the parameter's dtype, as a Tensor
``COUNT``          a whole number >= 0 (``step``, evaluation counts), also a one-element array
                   or a whole float (torch keeps ``step`` as a float tensor); a Python int
``NUMBER``         a real number, also a one-element array; a Python float
``FLAT``           L-BFGS: a 1-D real array as long as all the group's parameters together
``FLAT_LIST``      L-BFGS: a list of ``FLAT`` arrays (the curvature history)
``NUMBER_LIST``    L-BFGS: a list of ``NUMBER`` s
=================  ==========================================================================

Each loader raises TypeError for a value of the wrong type (a string, a dict, a non-numeric array)
and ValueError for one of the right type but the wrong shape or value, with ``where`` (which entry
of which parameter) at the front of the message. Nothing is modified: the loaders return copies.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import cast

import numpy as np

from autograd import Tensor, from_numpy

BUFFER = "buffer"
COUNT = "count"
NUMBER = "number"
FLAT = "flat"
FLAT_LIST = "flat list"
NUMBER_LIST = "number list"


def state_tensor(array: np.ndarray) -> Tensor:
    """An optimizer buffer: a Tensor that does not require grad, wrapping ``array``."""
    # (asarray with order="C", not ascontiguousarray, which makes a 0-d array 1-d: the buffer of a
    # 0-d parameter is 0-d, as torch's)
    return from_numpy(np.asarray(array, order="C"))


def _type_name(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return type(value).__name__


def real_array(value, where: str) -> np.ndarray:
    """``value`` (a Tensor, ndarray or nested list of numbers) as a real ndarray, not copied."""
    if isinstance(value, Tensor):
        arr = value.data
    elif isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (str, bytes, dict, set, frozenset)) or value is None:
        # (np.asarray would happily make a 0-d string or object array of these)
        raise TypeError(f"{where}: expected a real array (a Tensor or ndarray), got {_type_name(value)}")
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError):  # a ragged list
            raise TypeError(
                f"{where}: expected a real array (a Tensor or ndarray), got {_type_name(value)} "
                f"that is not an array of numbers"
            ) from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{where}: expected a real array (floating or integer dtype), got {_type_name(arr)}")
    return arr


def real_number(value, where: str) -> float:
    """``value`` (a number, or a one-element Tensor or array) as a Python int or float."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"{where}: expected a number, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: expected a number, got {_type_name(value)}")
    return cast(float, value)  # (an int or a float: numpy's and the Tensors' .item())


def load_buffer(value, where: str, shape: tuple, dtype) -> Tensor:
    """A per-parameter buffer: a real array of the parameter's ``shape``, copied to ``dtype``."""
    arr = real_array(value, where)
    if arr.shape != tuple(shape):
        raise ValueError(
            f"{where}: expected an array of the parameter's shape {tuple(shape)}, got shape "
            f"{arr.shape}; was the state saved for other parameters, or for these in another order?"
        )
    return state_tensor(arr.astype(dtype, copy=True))


def load_count(value, where: str) -> int:
    """A count (``step``, ``n_iter``...): a whole number >= 0."""
    v = real_number(value, where)
    if not (np.isfinite(v) and float(v).is_integer() and v >= 0):
        raise ValueError(f"{where}: expected a whole number >= 0, got {v!r}")
    return int(v)


def load_number(value, where: str) -> float:
    """A real scalar (NAdam's ``mu_product``, L-BFGS's ``t``...)."""
    return float(real_number(value, where))


def load_flat(value, where: str, size: int, dtype) -> Tensor:
    """A vector over all of a group's parameters flattened and concatenated (L-BFGS)."""
    arr = real_array(value, where)
    if arr.shape != (size,):
        raise ValueError(
            f"{where}: expected a 1-D array of {size} elements (the parameters' total size), got shape {arr.shape}"
        )
    return state_tensor(arr.astype(dtype, copy=True))


def load_list(value, where: str, load_item: Callable) -> list:
    """A list (or tuple) whose items are loaded by ``load_item(item, where_of_item)``."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{where}: expected a list, got {_type_name(value)}")
    return [load_item(item, f"{where}[{i}]") for i, item in enumerate(value)]


def plain(value):
    """A loaded option as a Python value (a 0-d array from a file becomes a number)."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def state_index(key) -> int | None:
    """A saved state key as a parameter index (also ``'3'``, ``np.int64(3)``), or None."""
    if isinstance(key, str):
        return int(key) if key.isdigit() else None
    if isinstance(key, bool):
        return None
    if isinstance(key, (int, np.integer)):
        return int(key)
    return None


def load_free_value(name, value, param):
    """An entry of a custom optimizer's state (one that declares no ``_state_kinds``): copied,
    floating arrays cast to the parameter's dtype, ``step`` and ``mu_product`` kept as numbers."""
    if isinstance(value, (list, tuple)):
        return [load_free_value(name, v, param) for v in value]
    if name in ("step", "mu_product"):
        number = real_number(value, f"state entry {name!r}")
        return int(number) if name == "step" else float(number)
    if isinstance(value, (Tensor, np.ndarray)):
        arr = np.array(value.data if isinstance(value, Tensor) else value)
        if arr.dtype.kind == "f":
            arr = arr.astype(param.data.dtype)
        return state_tensor(arr)
    if isinstance(value, dict):
        return {k: load_free_value(k, v, param) for k, v in value.items()}
    return plain(value)
