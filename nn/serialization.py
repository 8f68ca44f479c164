"""nn.save / nn.load: nested dicts and lists of tensors, arrays, numbers and strings in a .npz file.

Format: a NumPy ``.npz`` (zip) archive holding
    ``__chainrule__``   the format tag (a string array),
    ``__structure__``   the nested structure as JSON, each tensor/array replaced by a reference,
    ``a0``, ``a1`` ...  the arrays (numeric and bool dtypes only).

Loading uses ``np.load(..., allow_pickle=False)`` and JSON: no Python object is ever unpickled, so a
malicious file cannot run code; it can only fail to load, with an error saying why. Saving writes a
temporary file in the same directory and renames it over the target (atomic on POSIX and Windows),
so an interrupted save never destroys the previous checkpoint.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from autograd.tensor import Tensor, _make

__all__ = ["save", "load", "CheckpointError"]

_TAG = "chainrule-checkpoint-v1"


class CheckpointError(ValueError):
    """A file that is not a loadable chainrule checkpoint (corrupt, truncated, foreign or unsafe)."""


def _encode(obj, arrays, path):
    """The JSON-able form of ``obj``; tensors and arrays go to ``arrays``."""
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = _check_array(obj.data, path)
        return {"$": "tensor", "key": key, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = _check_array(obj, path)
        return {"$": "array", "key": key}
    if isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = _check_array(np.asarray(obj), path)
        return {"$": "npscalar", "key": key}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return {"$": "int", "v": str(obj)}  # exact for any size
    if isinstance(obj, float):
        return {"$": "float", "v": repr(obj)}  # repr round-trips exactly, including nan and inf
    if isinstance(obj, (list, tuple)):
        return {"$": "list" if isinstance(obj, list) else "tuple",
                "v": [_encode(x, arrays, f"{path}[{i}]") for i, x in enumerate(obj)]}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(f"nn.save: dict key {k!r} at {path} is a {type(k).__name__}; keys must be "
                                f"strings, numbers, bools or None")
            items.append([_encode(k, arrays, path), _encode(v, arrays, f"{path}[{k!r}]")])
        return {"$": "dict", "v": items}
    raise TypeError(f"nn.save can't store a {type(obj).__name__} (at {path}): only tensors, ndarrays, numbers, "
                    f"strings, None, and lists/tuples/dicts of them")


def _check_array(arr, path):
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"nn.save: the array at {path} has dtype {arr.dtype}; only numeric and bool arrays can "
                        f"be saved (object arrays would need pickling)")
    return arr if arr.flags.c_contiguous else arr.copy()  # (ascontiguousarray would make 0-d 1-d)


def save(obj, path) -> None:
    """Save ``obj`` (e.g. ``model.state_dict()`` or an optimizer's ``state_dict()``) to ``path``.

    The file is written exactly at ``path`` (no extension is added), via a temporary file in the
    same directory that is renamed over ``path`` only once it is complete. ``path`` may also be an
    open binary file object.
    """
    arrays: dict = {}
    structure = _encode(obj, arrays, "obj")  # raises before anything touches the disk
    if hasattr(path, "write"):  # an open binary file (e.g. io.BytesIO): written in place
        np.savez(path, __chainrule__=np.array(_TAG), __structure__=np.array(json.dumps(structure)), **arrays)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __chainrule__=np.array(_TAG), __structure__=np.array(json.dumps(structure)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _decode(node, arrays, path):
    if node is None or isinstance(node, (bool, str)):
        return node
    if not isinstance(node, dict) or "$" not in node:
        raise CheckpointError(f"{path}: malformed structure entry {node!r}")
    kind = node["$"]
    if kind in ("tensor", "array", "npscalar"):
        key = node.get("key")
        if key not in arrays:
            raise CheckpointError(f"{path}: the structure refers to array {key!r}, which the file does not hold")
        arr = arrays[key]
        if kind == "array":
            return arr
        if kind == "npscalar":
            return arr[()]
        t = _make(arr)
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t
    if kind == "int":
        return int(node["v"])
    if kind == "float":
        return float(node["v"])
    if kind in ("list", "tuple"):
        items = [_decode(x, arrays, path) for x in node["v"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {_decode(k, arrays, path): _decode(v, arrays, path) for k, v in node["v"]}
    raise CheckpointError(f"{path}: unknown entry kind {kind!r} (written by a newer version?)")


def load(path):
    """Load what :func:`save` wrote. Never unpickles: a file holding pickled Python objects, a
    truncated or corrupt file, and a file that is not a chainrule checkpoint each raise
    :class:`CheckpointError` (a ValueError) saying which, having run nothing from the file."""
    if hasattr(path, "read"):  # an open binary file object
        content = path.read()
        magic, source = content[:6], io.BytesIO(content)
        path = getattr(path, "name", "<file object>")
    else:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"nn.load: no such file: {path!r}")
        with open(path, "rb") as f:
            magic = f.read(6)
        source = path
    if magic[:1] == b"\x80":
        raise CheckpointError(f"nn.load: {path!r} is a Python pickle (e.g. written by torch.save or pickle.dump); "
                              f"refusing to load it: unpickling can run arbitrary code. Save with nn.save.")
    if magic == b"\x93NUMPY":
        raise CheckpointError(f"nn.load: {path!r} is a single .npy array, not a chainrule checkpoint "
                              f"(the .npz archive nn.save writes)")
    if magic[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise CheckpointError(f"nn.load: {path!r} is not a chainrule checkpoint (not an .npz archive; it starts "
                              f"with {magic!r}). Checkpoints are written by nn.save.")
    try:
        with np.load(source, allow_pickle=False) as npz:
            names = set(npz.files)
            if "__chainrule__" not in names or "__structure__" not in names:
                raise CheckpointError(f"nn.load: {path!r} is an .npz file but not a chainrule checkpoint (it "
                                      f"lacks the __chainrule__ tag); it holds {sorted(names)[:5]}")
            tag = str(npz["__chainrule__"])
            if tag != _TAG:
                raise CheckpointError(f"nn.load: {path!r} has format {tag!r}; this version reads {_TAG!r}")
            structure = json.loads(str(npz["__structure__"]))
            arrays = {name: npz[name] for name in names if not name.startswith("__")}
    except CheckpointError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise CheckpointError(f"nn.load: {path!r} holds pickled Python objects; refusing to load it (unpickling "
                                  f"can run arbitrary code). Checkpoints written by nn.save never contain any.") from None
        raise CheckpointError(f"nn.load: {path!r} is not a valid chainrule checkpoint: {e}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"nn.load: {path!r} is truncated or corrupt, or not a chainrule checkpoint "
                              f"({type(e).__name__}: {e})") from None
    try:
        return _decode(structure, arrays, "obj")
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"nn.load: {path!r} has a malformed structure ({type(e).__name__}: {e}); it was "
                              f"not written by nn.save or has been altered") from None

