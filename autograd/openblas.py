"""numpy's OpenBLAS told to let its idle threads sleep sooner, so that they leave the cores to ours.

After each product, OpenBLAS's worker threads (pthreads builds, as in numpy's wheels) busy-wait for
the next one for 2**28 CPU cycles, about 0.1 s, before they sleep. chainrule runs its large
elementwise passes right after products (a convolution's im2col copy, max pooling, ReLU over a
feature map, an optimizer's update) on a few threads of its own (autograd/ops/threads.py), and on
a 2-core machine the spinning thread then takes a core from them: the task on that core runs at
half speed while the other waits for it. Measured on the 2-CPU AMD EPYC host (Zen 4, 2.6 GHz), the
W6 CNN step (benchmarks/cnn_step.py, batch 64) took 30-43 ms a step with the default wait and
23-24 ms with a wait of 2**18 or 2**20 cycles (0.1 or 0.4 ms). A shorter wait costs the steps
whose products come less than the wait apart a wake-up of the sleeping thread each (the W2 MLP
step: 0.87 ms with the default wait and with 2**20, 0.92-0.94 ms with 2**18), hence 2**20; W3's
large products are unchanged. OpenBLAS reads that wait (``OPENBLAS_THREAD_TIMEOUT``, the power of
two) once, where it starts its threads.

So importing autograd, where numpy's BLAS is a pthreads OpenBLAS with more than one thread and no
other thread is running in the process yet: sets the wait in OpenBLAS's copy of the environment
(``openblas_read_env``, with ``OPENBLAS_THREAD_TIMEOUT`` set for that call only, so that child
processes do not inherit it) and stops OpenBLAS's threads (``blas_thread_shutdown_``), which
OpenBLAS starts again at the next product, with the shorter wait. A product issued after a pause
of more than the wait then wakes the sleeping thread.

Stopping the threads is safe only while no product runs, which the import cannot know of other
threads: with any other Python thread alive (a Jupyter kernel has several) nothing is done, and
setting ``OPENBLAS_THREAD_TIMEOUT=20`` in the environment before the process starts does the same
for any process. Nothing is changed either when ``CHAINRULE_OPENBLAS=default`` is set, when
``OPENBLAS_THREAD_TIMEOUT`` or ``GOTO_THREAD_TIMEOUT`` is set (the user's choice stands), or where
numpy's BLAS is not such an OpenBLAS. ``tuned()`` says whether the wait was set.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

ENV = "CHAINRULE_OPENBLAS"  # "default": leave numpy's OpenBLAS as it is
THREAD_TIMEOUT = 20  # the idle threads' busy wait, 2**20 cycles (OpenBLAS's default: 28)
_USERS = ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")
# (prefix, suffix) of OpenBLAS's own functions' names: numpy's wheels' scipy-openblas (ILP64), an
# OpenBLAS built with the "64_" suffix, a plain one
NAMES = (("scipy_", "64_"), ("", "64_"), ("scipy_", ""), ("", ""))

_applied = False


def tuned() -> bool:
    """Whether importing autograd shortened the busy wait of numpy's OpenBLAS threads (see the
    module's docstring for when it does not)."""
    return _applied


def library_paths() -> list[str]:
    """Paths of the OpenBLAS libraries numpy may use: numpy's wheel's own first (numpy.libs on
    Linux and Windows, .dylibs on macOS), then those this process has loaded (Linux: a
    distribution's numpy links the system's, e.g. .../openblas-pthread/libblas.so.3)."""
    paths = []
    root = os.path.dirname(os.path.abspath(np.__file__))
    for pattern in ("../numpy.libs/*openblas*", ".dylibs/*openblas*"):
        paths.extend(sorted(os.path.realpath(path) for path in glob.glob(os.path.join(root, pattern))))
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "openblas" in path.lower() and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    return paths


def _users_choice() -> bool:
    setting = os.environ.get(ENV, "").strip().lower()
    if setting not in ("", "tuned", "default"):
        raise ValueError(
            f"{ENV}={os.environ[ENV]!r}: expected 'default' (leave numpy's OpenBLAS as it is) or 'tuned', or unset it"
        )
    return setting == "default" or any(name in os.environ for name in _USERS)


def libraries():
    """Each OpenBLAS library numpy may use (``library_paths()``) that loads, as a ctypes library."""
    for path in library_paths():
        try:
            yield ctypes.CDLL(path)
        except OSError:
            continue


def names(lib, function: str):
    """The (prefix, suffix) of ``NAMES`` under which ``lib`` has ``function`` (``f"{prefix}{function}
    {suffix}"``), or None."""
    for prefix, suffix in NAMES:
        if hasattr(lib, f"{prefix}{function}{suffix}"):
            return prefix, suffix
    return None


def _threaded_openblas():
    """numpy's OpenBLAS as a ctypes library where it is a pthreads build running more than one
    thread and has the functions used here, else None."""
    for lib in libraries():
        found = names(lib, "openblas_get_parallel")
        if found is None or names(lib, "openblas_get_num_threads") != found:
            continue
        prefix, suffix = found
        parallel = getattr(lib, f"{prefix}openblas_get_parallel{suffix}")
        threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
        parallel.restype = threads.restype = ctypes.c_int
        usable = hasattr(lib, "openblas_read_env") and hasattr(lib, "blas_thread_shutdown_")
        # (1: the pthreads server, whose wait this is; 0 is sequential, 2 OpenMP)
        return lib if usable and parallel() == 1 and threads() > 1 else None
    return None


def _apply() -> None:
    global _applied
    if _users_choice() or threading.active_count() > 1:
        return
    lib = _threaded_openblas()
    if lib is None:
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(THREAD_TIMEOUT)
    try:
        lib.openblas_read_env()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]
    lib.blas_thread_shutdown_()  # (its threads end; the next product starts them with the new wait)
    _applied = True


_apply()
