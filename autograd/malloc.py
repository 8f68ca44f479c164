"""glibc's malloc told to keep freed memory for reuse, so that a training step does not page-fault.

A numpy-backed engine allocates fresh arrays every step: activations, gradients, temporaries,
megabytes each for a CNN's feature maps. glibc serves large requests with ``mmap`` and gives the
memory of freed ones back to the kernel (``munmap``, or trimming the top of the heap once more than
``M_TRIM_THRESHOLD`` is free there), so the next step's arrays arrive as new pages: each page is
zero-filled by the kernel on first touch, and with transparent huge pages (numpy asks for them on
large arrays) a fault may first compact memory. Measured on the 2-CPU AMD EPYC host, the W6 CNN
step (benchmarks/cnn_step.py, batch 64) took 6,280 minor page faults and 46-57 ms a step under
glibc's defaults, 1 fault and 32-42 ms with the settings below; torch's own step gains from them
too when they are set from outside (the shared benchmarks' ``--malloc tuned``).

So on glibc, importing autograd sets, for the whole process:

- ``M_MMAP_THRESHOLD`` to 32 MiB (the largest glibc accepts): requests below it come from the heap,
  whose freed memory is reused, instead of from ``mmap``;
- ``M_TRIM_THRESHOLD`` to 256 MiB: up to that much freed memory stays in the heap.

The cost is memory held, not used: after a step the process keeps up to 256 MiB of freed heap for
the next one (its peak is what it was). Arrays of 32 MiB and more are unaffected.

Nothing is changed when ``CHAINRULE_MALLOC=default`` is set, when the process was started with
glibc's own settings for either (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, or
``glibc.malloc`` in ``GLIBC_TUNABLES``: the user's choice stands), or off glibc (musl, macOS,
Windows). ``tuned()`` says whether the settings were applied.
"""

from __future__ import annotations

import ctypes
import os
import platform

ENV = "CHAINRULE_MALLOC"  # "default": leave glibc's malloc as it is
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # (glibc's malloc.h)

_applied = False


def tuned() -> bool:
    """Whether importing autograd set glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` (see the
    module's docstring for when it does not)."""
    return _applied


def _users_choice() -> bool:
    env = os.environ
    setting = env.get(ENV, "").strip().lower()
    if setting not in ("", "tuned", "default"):
        raise ValueError(
            f"{ENV}={env[ENV]!r}: expected 'default' (leave glibc's malloc as it is) or 'tuned', or unset it"
        )
    return (
        setting == "default"
        or "MALLOC_MMAP_THRESHOLD_" in env
        or "MALLOC_TRIM_THRESHOLD_" in env
        or "glibc.malloc" in env.get("GLIBC_TUNABLES", "")
    )


def _apply() -> None:
    global _applied
    if _users_choice() or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # (a static or unusual build: leave malloc alone)
        return
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; the trim threshold only after the mmap one (setting either
    # turns glibc's dynamic adjustment of both off)
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


_apply()
