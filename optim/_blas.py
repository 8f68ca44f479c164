"""Level-1 BLAS (``axpy``, ``axpby``) from the OpenBLAS that numpy itself loaded, for SGD's update.

numpy has no operation for y ← a·x + y: ``y += a * x`` is two passes over memory (the product into
a temporary, then the sum), and the sum is rounded twice. BLAS's axpy is one pass, and OpenBLAS's
kernels compute it as one fused multiply-add (one rounding), which is also what torch's
``param.add_(buf, alpha=-lr)`` computes (its vectorised ``add`` with ``alpha`` is an FMA): with
axpy, SGD's parameter update gives torch's numbers to the bit, where numpy's two roundings differ
from them in the last bit of about one element in 2,500. axpby, y ← a·x + b·y, gives momentum's
b ← μ·b + g in one pass instead of two; OpenBLAS rounds μ·b and then the sum, as torch's
``buf.mul_(μ).add_(g)`` does (the same bits on the hosts we measured). SGD with momentum thus
takes two passes over its arrays, against numpy's four and torch's three.

The library is the one numpy loaded (numpy's wheels bundle OpenBLAS under a prefixed name,
``scipy_cblas_saxpy64_`` with 64-bit integers; a system OpenBLAS exports ``cblas_saxpy``): found
in numpy's wheel directories or among the process's shared objects (``/proc/self/maps``), and
called through ctypes (which releases the GIL around the call). Where there is none (numpy built on
another BLAS, such as Accelerate or MKL, or an OpenBLAS without these symbols),
``available()`` is False and the rules use their numpy formulas. So does every rule when the
environment variable ``CHAINRULE_OPTIM_BLAS`` is ``0``.

Threads: an OpenBLAS call on a large array runs on OpenBLAS's own threads. The chunked pass
(optim/_chunked.py) already spreads its tasks over threads, so it runs them inside ``one_thread()``,
which sets OpenBLAS's thread count to 1 for the pass (``openblas_set_num_threads_local``, OpenBLAS
0.3.27 and later; despite its name one count for the whole process in numpy's pthreads builds).
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading

import numpy as np

ENV = "CHAINRULE_OPTIM_BLAS"  # "0": the numpy formulas only

# (prefix, suffix) of the symbol names, most specific first: numpy's wheels' scipy-openblas (ILP64),
# an OpenBLAS built with 64-bit integers and the "64_" suffix, a plain one
_NAMES = (("scipy_", "64_"), ("", "64_"), ("scipy_", ""), ("", ""))


class _Library:
    """The functions of one OpenBLAS library, bound with their argument types."""

    def __init__(self, lib: ctypes.CDLL, prefix: str, suffix: str, wide: bool):
        index = ctypes.c_int64 if wide else ctypes.c_int32
        pointer = ctypes.c_void_p
        self.axpy, self.axpby = {}, {}
        for char, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
            axpy = getattr(lib, f"{prefix}cblas_{char}axpy{suffix}")
            axpy.argtypes, axpy.restype = [index, real, pointer, index, pointer, index], None
            axpby = getattr(lib, f"{prefix}cblas_{char}axpby{suffix}")
            axpby.argtypes, axpby.restype = [index, real, pointer, index, real, pointer, index], None
            dtype = np.dtype(np.float32 if char == "s" else np.float64)
            self.axpy[dtype], self.axpby[dtype] = axpy, axpby
        self.most = 2**63 - 1 if wide else 2**31 - 1  # (elements in one call)
        self.set_local = None
        for name in (f"{prefix}openblas_set_num_threads_local{suffix}", "openblas_set_num_threads_local"):
            if hasattr(lib, name):
                self.set_local = getattr(lib, name)
                self.set_local.argtypes, self.set_local.restype = [ctypes.c_int], ctypes.c_int
                break


def _candidates() -> list[str]:
    """Paths of OpenBLAS libraries: numpy's wheel's own first (numpy.libs on Linux and Windows,
    .dylibs on macOS), then those this process has loaded (Linux: a distribution's numpy links the
    system's, e.g. .../openblas-pthread/libblas.so.3; scipy's wheel brings a copy of its own)."""
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


def _load() -> _Library | None:
    """The first library among ``_candidates()`` with every function we call, or None."""
    if os.environ.get(ENV, "").strip() == "0":
        return None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in _NAMES:
            if not hasattr(lib, f"{prefix}cblas_saxpy{suffix}"):
                continue
            wide = suffix == "64_" or _config_says_64bit(lib, prefix, suffix)
            try:
                return _Library(lib, prefix, suffix, wide)
            except AttributeError:  # (an older OpenBLAS without axpby)
                break
    return None


def _config_says_64bit(lib: ctypes.CDLL, prefix: str, suffix: str) -> bool:
    """Whether the library's build configuration names 64-bit integers (``USE64BITINT``)."""
    for name in (f"{prefix}openblas_get_config{suffix}", "openblas_get_config"):
        if hasattr(lib, name):
            get = getattr(lib, name)
            get.restype = ctypes.c_char_p
            return b"USE64BITINT" in (get() or b"")
    return False


_library = _load()


def available() -> bool:
    """Whether the BLAS functions are there (else the rules use their numpy formulas)."""
    return _library is not None


def usable(*arrays: np.ndarray) -> bool:
    """Whether BLAS can take these arrays: one dtype that it has, C-contiguous, one shape, writable
    where written (the last), and not too many elements for its integers."""
    lib = _library
    first = arrays[0]
    if lib is None or first.dtype not in lib.axpy or first.size > lib.most:
        return False
    for a in arrays:
        if not a.flags.c_contiguous or a.dtype != first.dtype or a.shape != first.shape:
            return False
    return bool(arrays[-1].flags.writeable)


def _address(a: np.ndarray) -> int:
    """The address of ``a``'s first element (through a ctypes object on its buffer: 0.2 µs, against
    1 µs for ``a.ctypes.data``, and a step makes dozens of calls)."""
    try:
        return _addressof(_char_at(a))  # type: ignore[arg-type]
    except TypeError:  # (a read-only buffer)
        return a.__array_interface__["data"][0]


_addressof, _char_at = ctypes.addressof, ctypes.c_char.from_buffer


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """y ← alpha·x + y in place (one fused multiply-add per element), and True; or, where BLAS
    cannot take the arrays (``usable``), nothing, and False: the caller then uses numpy."""
    if not usable(x, y):
        return False
    if y.size:
        _library.axpy[y.dtype](y.size, alpha, _address(x), 1, _address(y), 1)  # type: ignore[union-attr]
    return True


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray) -> bool:
    """y ← alpha·x + beta·y in place, and True; or, where BLAS cannot take the arrays, nothing, and
    False: the caller then uses numpy."""
    if not usable(x, y):
        return False
    if y.size:
        _library.axpby[y.dtype](y.size, alpha, _address(x), 1, beta, _address(y), 1)  # type: ignore[union-attr]
    return True


class one_thread:
    """``with one_thread():`` OpenBLAS's calls run on the calling thread alone (its threads are
    not woken), and its thread count is back to what it was afterwards.

    For the chunked pass, whose tasks are on threads of its own already. The count is OpenBLAS's
    ``openblas_set_num_threads_local``, which in the pthreads builds of numpy's wheels is one
    number for the whole process, not one per thread: so it is set once around the whole pass, by
    the calling thread, and passes that overlap (optimizers stepping in two threads at once) share
    one setting, restored by the last to end. Where the library has no such count, nothing is
    done."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _depth, _before
        set_local = None if _library is None else _library.set_local
        if set_local is not None:
            with _lock:
                if _depth == 0:
                    _before = set_local(1)
                _depth += 1

    def __exit__(self, *exc) -> None:
        global _depth
        set_local = None if _library is None else _library.set_local
        if set_local is not None:
            with _lock:
                _depth -= 1
                if _depth == 0:
                    set_local(_before)


_lock = threading.Lock()
_depth = 0  # (the passes inside one_thread now)
_before = 0  # (the count before the first of them)
