"""detect_anomaly(): find the operation whose backward produced NaN or Inf, and where it was made."""

from __future__ import annotations

import functools
import traceback
import weakref
from pathlib import Path

# On while any detect_anomaly() block is open (process-wide, as torch's anomaly mode): a plain
# module global, because every operation reads it.
enabled = False

_PACKAGE = str(Path(__file__).resolve().parent.parent)  # the folder holding autograd/, nn/, optim/
_OURS = tuple(str(Path(_PACKAGE) / p) for p in ("autograd", "nn", "optim"))

# id(node) -> (weak reference, creation site); the entry goes when the node does. (Not a
# WeakKeyDictionary: it compares keys with ==, which is elementwise on Tensors.)
creation_sites: dict = {}


def _forget(key, _ref) -> None:
    creation_sites.pop(key, None)


def remember(node) -> None:
    """Record where in the user's code ``node``'s operation is being created (anomaly mode only)."""
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_OURS)]
    key = id(node)
    ref = weakref.ref(node, functools.partial(_forget, key))
    creation_sites[key] = (ref, "".join(traceback.format_list(frames[-4:])) if frames else None)


def created_at(node):
    entry = creation_sites.get(id(node))
    return entry[1] if entry is not None and entry[0]() is node else None


class detect_anomaly:
    """``with ag.detect_anomaly():`` makes backward raise RuntimeError naming the operation whose
    backward produced NaN or Inf, with the file and line in your code where that operation was
    created. Slower: every operation records a stack trace; use it to debug, not to train."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        global enabled
        self._prev = enabled
        enabled = self.check_nan

    def __exit__(self, *exc):
        global enabled
        enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper
