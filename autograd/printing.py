"""How a Tensor prints: PyTorch's format (``tensor([1., 2.], requires_grad=True)``, torch/_tensor_str.py),
with ``ag.`` dtypes, and the names of backward functions (``<MulBackward>``)."""

from __future__ import annotations

import builtins

import numpy as np

from . import dtypes


def backward_name(op):
    # x * 2 and x * y are one operation to a user (torch: MulBackward0 for both): the op table's
    # "_scalar" variants, which take the Python number as a parameter, are named like their op
    name = op.name[: -len("_scalar")] if op.name.endswith("_scalar") else op.name
    return "".join(part.capitalize() for part in name.split("_")) + "Backward"


# PyTorch's print options (torch._tensor_str.PRINT_OPTS defaults)
_PRECISION, _THRESHOLD, _EDGEITEMS, _LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    """PyTorch's element formatter: one width for all elements; floats in integer mode (``1.``),
    fixed (``2.5000``) or scientific (``1.0000e-05``) notation, chosen from the nonzero finite values."""

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = arr.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(str(value)))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = absv.min(), absv.max()
        self.int_mode = builtins.bool(np.all(vals == np.ceil(vals)))
        values = vals.tolist()
        if self.int_mode:
            if hi / lo > 1000.0 or hi > 1.0e8:
                self.sci_mode = True
                self.max_width = max(self.max_width, *(len(f"{v:.{_PRECISION}e}") for v in values))
            else:
                self.max_width = max(self.max_width, *(len(f"{v:.0f}") + 1 for v in values))
        elif hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4:
            self.sci_mode = True
            self.max_width = max(self.max_width, *(len(f"{v:.{_PRECISION}e}") for v in values))
        else:
            self.max_width = max(self.max_width, *(len(f"{v:.{_PRECISION}f}") for v in values))

    def format(self, value):
        if self.floating:
            if self.sci_mode:
                s = f"{value:{self.max_width}.{_PRECISION}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if not (np.isinf(value) or np.isnan(value)):
                    s += "."
            else:
                s = f"{value:.{_PRECISION}f}"
        else:
            s = str(value)
        return (self.max_width - len(s)) * " " + s


def _summarized(arr):
    """The edge items along every dimension (what the formatter sees for a summarized tensor)."""
    for d, n in enumerate(arr.shape):
        if n > 2 * _EDGEITEMS:
            index = np.r_[0:_EDGEITEMS, n - _EDGEITEMS : n]
            arr = np.take(arr, index, axis=d)
    return arr


def _format_array(arr, indent, summarize, fmt):
    if arr.ndim == 0:
        return fmt.format(arr.item())
    n = arr.shape[0]
    edge = summarize and n > 2 * _EDGEITEMS
    if arr.ndim == 1:
        per_line = max(1, (_LINEWIDTH - indent) // (fmt.max_width + 2))
        if edge:
            data = (
                [fmt.format(v) for v in arr[:_EDGEITEMS].tolist()]
                + [" ..."]
                + [fmt.format(v) for v in arr[-_EDGEITEMS:].tolist()]
            )
        else:
            data = [fmt.format(v) for v in arr.tolist()]
        lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(n) if not edge else [*range(_EDGEITEMS), None, *range(n - _EDGEITEMS, n)]
    slices = ["..." if i is None else _format_array(arr[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def format_tensor(t):
    """``repr`` as PyTorch prints (torch/_tensor_str.py), with ``ag.`` dtypes: ``tensor([1., 2.])``,
    ``tensor([2.5000, 3.5000], requires_grad=True)``, ``tensor(3., dtype=ag.float64)``."""
    arr = t.data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype != dtypes.get_default_dtype():  # no element shows whether it is an integer
            suffixes.append(f"dtype=ag.{arr.dtype}")
    else:
        summarize = arr.size > _THRESHOLD
        fmt = _Formatter(_summarized(arr) if summarize else arr)
        body = _format_array(arr, indent, summarize, fmt)
        if arr.dtype not in (dtypes.get_default_dtype(), np.int64, np.bool_):
            suffixes.append(f"dtype=ag.{arr.dtype}")
    if t.requires_grad:
        suffixes.append(f"grad_fn=<{backward_name(t._op)}>" if t._inputs else "requires_grad=True")
    out = [prefix + body]
    last = len(out[0]) - out[0].rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"
