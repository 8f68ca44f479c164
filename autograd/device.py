"""Devices, as torch names them: chainrule computes with numpy on the CPU, so ``cpu`` is the one
device there is. ``ag.device('cpu')``, ``t.device``, ``t.to('cpu')``, ``device=`` on the factory
functions and ``Module.to('cpu')`` are accepted so that torch code ports unchanged; asking for any
other device raises an error that names the one available."""

from __future__ import annotations

import numpy as np

from . import dtypes

# the device types torch's parser knows: a name from this list that is not 'cpu' is a real device
# chainrule does not have (an error says so); any other name is a typo (torch's error lists these)
KNOWN = (
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
)


class device:  # (torch's name)
    """A device: ``ag.device('cpu')``, ``ag.device('cpu', 0)`` or ``ag.device('cpu:0')``, with
    ``.type`` and ``.index`` (None unless given). Any device torch knows can be named; only ``cpu``
    can hold tensors (see :func:`check`)."""

    __slots__ = ("type", "index")
    type: str
    index: int | None

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): give an index with a device type string, not with a device")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            # torch reads a bare ordinal as an accelerator (cuda:N), never as the CPU
            type, index = "cuda", type if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu' or a device, got {type.__class__.__name__}")
        name, colon, ordinal = type.partition(":")
        if name not in KNOWN:
            raise RuntimeError(f"Expected one of {', '.join(KNOWN)} device type at start of device string: {type}")
        if colon:
            if index is not None:
                raise RuntimeError(f"device(): the string {type!r} has an index already; don't pass index={index}")
            if not ordinal.isdigit():
                raise RuntimeError(
                    f"Invalid device string: {type!r} (the index after ':' must be a non-negative integer)"
                )
            index = int(ordinal)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative and must be an integer, got {index!r}")
        self.type, self.index = name, index

    def __eq__(self, other):
        return isinstance(other, device) and other.type == self.type and other.index == self.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


def check(where, what="device") -> device:
    """``where`` (a device, a string such as 'cpu', or None for the CPU) as a device that can hold
    chainrule's tensors, or an error naming the devices that are available."""
    if where is None:
        return CPU
    d = where if isinstance(where, device) else device(where)
    if d.type != "cpu" or d.index not in (None, 0):
        raise RuntimeError(
            f"{what} {str(d)!r} is not available: chainrule computes on the CPU with numpy, and the "
            f"available devices are: cpu. Use 'cpu' (or leave the device out)."
        )
    return CPU


def parse_to(args, kwargs, what="to()"):
    """The arguments of torch's ``.to()`` overloads, ``to(dtype)``, ``to(device, dtype)``,
    ``to(other_tensor)`` with ``non_blocking``/``copy`` positional or by keyword, as ``(device, dtype,
    non_blocking, copy)``: the device checked (the CPU), the dtype a numpy dtype or None. A string is a
    device (torch reads ``to('float32')`` as a device too, and refuses it)."""
    where = dtype = None
    flags = []
    for a in args:
        if isinstance(a, bool):
            flags.append(a)
        elif isinstance(a, (str, device)):
            where = a
        elif hasattr(a, "shape") and hasattr(a, "dtype") and not isinstance(a, type):  # another tensor
            dtype = a.dtype
        else:
            dtype = a
    if len(flags) > 2:
        raise TypeError(f"{what}: too many positional arguments {args!r}")
    non_blocking, copy = (flags + [False, False])[:2]
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"{what} got an unexpected keyword argument {sorted(unknown)[0]!r}")
    where = kwargs.get("device", where)
    dtype = kwargs.get("dtype", dtype)
    non_blocking = bool(kwargs.get("non_blocking", non_blocking))
    copy = bool(kwargs.get("copy", copy))
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{what}: expected a dtype, a device or a tensor, got {dtype!r}") from None
        dtypes.check_supported(dtype, what)
    return check(where), dtype, non_blocking, copy
