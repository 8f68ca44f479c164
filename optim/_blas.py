"""Level-1 BLAS (axpy, and axpby as a scaled sum) from the OpenBLAS that numpy loaded, for SGD's update.

numpy has no operation for y ← a·x + y: ``y += a * x`` is two passes over memory (the product into
a temporary, then the sum), and the sum is rounded twice. BLAS's axpy is one pass, and OpenBLAS's
vectorised kernels compute it as one fused multiply-add (one rounding), which is also what torch's
``param.add_(buf, alpha=-lr)`` computes (its vectorised ``add`` with ``alpha`` is an FMA): with
axpy, SGD's parameter update gives torch's numbers to the bit, where numpy's two roundings differ
from them in the last bit of about one element in 2,500. axpby with a = 1, y ← x + b·y
(``scale_add``), gives momentum's b ← μ·b + g in one pass instead of two, rounded as torch's
``buf.mul_(μ).add_(g)``. SGD with momentum thus takes two passes over its arrays, against numpy's
four and torch's three.

What a kernel rounds differs between OpenBLAS's CPU kernels: the AVX2 (Haswell) one fuses in its
vector loop but not in the scalar loop over the last elements, and its axpby rounds a·x too. So
the rounding is checked when the library is loaded (``_probe``): axpy is used only where
a block of 64 elements comes out fused, and always on whole blocks (the last elements of an array
go through a padded block of their own: every element is then fused, wherever a chunk ends);
``scale_add`` only where it rounds as torch's mul_ then add_ on every length tried. Elsewhere the
numpy formulas run.

The library is the one numpy loaded (numpy's wheels bundle OpenBLAS under a prefixed name,
``scipy_cblas_saxpy64_`` with 64-bit integers; a system OpenBLAS exports ``cblas_saxpy``): found
in numpy's wheel directories or among the process's shared objects (autograd.extend's
``openblas_libraries``), and called through ctypes (which releases the GIL around the call).
Where there is none (numpy built on another BLAS, such as Accelerate or MKL, or an OpenBLAS without
these symbols), ``available()`` is False and the rules use their numpy formulas. So does every rule when the
environment variable ``CHAINRULE_OPTIM_BLAS`` is ``0``.

Threads: an OpenBLAS call on a large array runs on OpenBLAS's own threads. The chunked pass
(optim/_chunked.py) already spreads its tasks over threads, so it runs them inside ``one_thread()``,
which sets OpenBLAS's thread count to 1 for the pass (``openblas_set_num_threads_local``, OpenBLAS
0.3.27 and later; despite its name one count for the whole process in numpy's pthreads builds).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

import numpy as np

from autograd.extend import openblas_libraries, openblas_names

ENV = "CHAINRULE_OPTIM_BLAS"  # "0": the numpy formulas only
BLOCK = 64  # axpy runs on whole blocks of this many elements (see the docstring)


class _Library:
    """The functions of one OpenBLAS library, bound with their argument types."""

    def __init__(self, lib: ctypes.CDLL, prefix: str, suffix: str, wide: bool):
        index = ctypes.c_int64 if wide else ctypes.c_int32
        pointer = ctypes.c_void_p
        self.axpy: dict[np.dtype, Any] = {}
        self.axpby: dict[np.dtype, Any] = {}
        for char, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
            axpy = getattr(lib, f"{prefix}cblas_{char}axpy{suffix}")
            axpy.argtypes, axpy.restype = [index, real, pointer, index, pointer, index], None
            axpby = getattr(lib, f"{prefix}cblas_{char}axpby{suffix}")
            axpby.argtypes, axpby.restype = [index, real, pointer, index, real, pointer, index], None
            dtype = np.dtype(np.float32 if char == "s" else np.float64)
            self.axpy[dtype], self.axpby[dtype] = axpy, axpby
        self.most = 2**63 - 1 if wide else 2**31 - 1  # (elements in one call)
        self.fused: dict = {}  # dtype -> whether axpy fuses on whole blocks (see probe)
        self.torch_rounding: dict = {}  # dtype -> whether axpby(1, x, b, y) rounds b·y, then the sum
        self.set_local = None
        for name in (f"{prefix}openblas_set_num_threads_local{suffix}", "openblas_set_num_threads_local"):
            if hasattr(lib, name):
                self.set_local = getattr(lib, name)
                self.set_local.argtypes, self.set_local.restype = [ctypes.c_int], ctypes.c_int
                break


def _address(a: np.ndarray) -> int:
    """The address of ``a``'s first element (through a ctypes object on its buffer: 0.2 µs, against
    1 µs for ``a.ctypes.data``, and a step makes dozens of calls)."""
    try:
        return _addressof(_char_at(a))  # type: ignore[arg-type]
    except TypeError:  # (a read-only buffer)
        return a.__array_interface__["data"][0]


_addressof, _char_at = ctypes.addressof, ctypes.c_char.from_buffer


def _probe(lib: _Library) -> _Library:
    """Fill ``lib.fused`` and ``lib.torch_rounding`` from a few calls on numbers whose fused and
    unfused results differ: with a = y = 1 + 2^-k (k = 13 for float32, 30 for float64) and x = −1,
    a·a + x is 2^(1−k) + 2^(−2k) fused, and 2^(1−k) when a·a is rounded first."""
    for dtype, k in ((np.dtype(np.float32), 13), (np.dtype(np.float64), 30)):
        a = 1 + 2.0**-k
        fused, rounded = 2.0 ** (1 - k) + 2.0 ** (-2 * k), 2.0 ** (1 - k)
        ok = True
        for n in (BLOCK, 2 * BLOCK, 64 * BLOCK):
            x, y = np.full(n, a, dtype), np.full(n, -1.0, dtype)
            lib.axpy[dtype](n, a, _address(x), 1, _address(y), 1)
            ok = ok and bool((y == dtype.type(fused)).all())
        lib.fused[dtype] = ok
        ok = True
        for n in list(range(1, 2 * BLOCK + 3)) + [64 * BLOCK + 5]:
            x, y = np.full(n, -1.0, dtype), np.full(n, a, dtype)
            lib.axpby[dtype](n, 1.0, _address(x), 1, a, _address(y), 1)
            ok = ok and bool((y == dtype.type(rounded)).all())
        lib.torch_rounding[dtype] = ok
    return lib


def _load() -> _Library | None:
    """The first library among ``openblas_libraries()`` with every function we call, or None."""
    if os.environ.get(ENV, "").strip() == "0":
        return None
    for lib in openblas_libraries():
        found = openblas_names(lib, "cblas_saxpy")
        if found is None:
            continue
        prefix, suffix = found
        wide = suffix == "64_" or _config_says_64bit(lib, prefix, suffix)
        try:
            return _probe(_Library(lib, prefix, suffix, wide))
        except AttributeError:  # (an older OpenBLAS without axpby)
            continue
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
    """Whether BLAS can take these arrays: ndarrays (a numpy scalar, such as the sum of two 0-d
    arrays, has no memory of its own to point to: its address would be a temporary's), of one
    dtype that it has, C-contiguous, one shape, writable where written (the last), and not too
    many elements for its integers."""
    lib = _library
    first = arrays[0]
    if lib is None or first.__class__ is not np.ndarray or first.dtype not in lib.axpy or first.size > lib.most:
        return False
    for a in arrays:
        if (
            a.__class__ is not np.ndarray
            or not a.flags.c_contiguous
            or a.dtype != first.dtype
            or a.shape != first.shape
        ):
            return False
    return bool(arrays[-1].flags.writeable)


def fuses(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``axpy(alpha, x, y)`` would run (and fuse): the arrays ``usable`` and the kernel fusing."""
    return usable(x, y) and _library.fused[y.dtype]  # type: ignore[union-attr]


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """y ← alpha·x + y in place, one fused multiply-add per element, and True; or, where BLAS
    cannot take the arrays (``usable``) or does not fuse (see the docstring), nothing, and False:
    the caller then uses numpy. Whole blocks of ``BLOCK`` elements in one call; the last
    ``y.size % BLOCK`` through a padded block of their own."""
    if not fuses(x, y):
        return False
    call = _library.axpy[y.dtype]  # type: ignore[union-attr]
    n = y.size
    body = n - n % BLOCK
    if body:
        call(body, alpha, _address(x), 1, _address(y), 1)
    if body < n:
        xs, ys = np.zeros(BLOCK, y.dtype), np.zeros(BLOCK, y.dtype)
        tail_x, tail_y = x.reshape(-1)[body:], y.reshape(-1)[body:]
        xs[: n - body], ys[: n - body] = tail_x, tail_y
        call(BLOCK, alpha, _address(xs), 1, _address(ys), 1)
        tail_y[...] = ys[: n - body]
    return True


def scale_add(beta: float, y: np.ndarray, x: np.ndarray) -> bool:
    """y ← beta·y + x in place (axpby with a = 1), rounded as ``y *= beta; y += x``, torch's
    ``y.mul_(beta).add_(x)``, in one pass, and True; or, where BLAS cannot take the arrays or
    rounds otherwise, nothing, and False: the caller then uses numpy."""
    if not usable(x, y) or not _library.torch_rounding[y.dtype]:  # type: ignore[union-attr]
        return False
    if y.size:
        _library.axpby[y.dtype](y.size, 1.0, _address(x), 1, beta, _address(y), 1)  # type: ignore[union-attr]
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
