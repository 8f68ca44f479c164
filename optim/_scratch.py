"""Scratch arrays for the temporaries of the update rules, reused from call to call.

An update rule such as Adam's needs one or two temporaries the size of its parameter (g − m, the
denominator √v̂ + ε ...). Allocated afresh each time, a temporary costs a call to malloc and, when it
is large or glibc has just handed its memory back to the kernel, page faults on first touch. The
chunked pass (optim/_chunked.py) calls the rules on pieces of at most ``CHUNK_BYTES``, so their
temporaries are small: ``scratch`` hands out, per thread, the same few buffers of that size again
and again (their memory stays in cache between the rule's passes, and from one chunk and one step
to the next). Larger requests (a rule called on a whole large array, outside the chunked pass) get
a fresh array, as before, and so do small ones (under ``SMALL_BYTES``: malloc serves them from
memory in cache as fast as the look-up would).

The chunk size is a trade between cache and Python: a chunk costs about 5 µs (SGD) to 17 µs (NAdam)
of Python between its numpy calls. 1 MiB measured best on the 2-core AMD EPYC host (1 MiB of L2 a
core, 32 MiB of L3): Adam's chunk of θ, g, m, v and a temporary (5 MiB) stays in L3, where whole W3
arrays (5 × 7.5 MiB) do not, and the Python is a few per cent of its time; L2-sized chunks (128 to
256 KiB) were slower there by their Python alone. Measured again with two threads, each taking
tasks of at most a chunk (one process, steps with either size alternating, W3's parameters):
2 MiB within 1-5% of 1 MiB either way, 512 KiB 3-15% slower, 4 MiB 50-60% slower for SGD and
Adagrad (the two threads' tasks no longer fit the L3 together).

A rule asks for ``scratch(a, b, slot=k)``: an array of the shape and result dtype of ``a`` and
``b`` (the out= of an elementwise operation on them), in its slot ``k``. An array from slot ``k``
is overwritten by the next request for slot ``k`` in the same thread, so a rule uses one slot per
temporary that must stay alive, and always the array that scratch (or the ufunc) returned.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import _blas

CHUNK_BYTES = 1 << 20  # the chunk of a chunked pass, and the largest scratch array kept (see below)
SMALL_BYTES = 16 * 1024  # smaller temporaries are allocated: malloc is as cheap as the look-up

_local = threading.local()


def scratch(*like: np.ndarray, slot: int = 0) -> np.ndarray:
    """An uninitialised array for the result of an elementwise operation on the arrays ``like``
    (their shape and result dtype): from this thread's buffer ``slot`` (reused: valid until the
    next request for ``slot`` in this thread) when it takes from ``SMALL_BYTES`` to
    ``CHUNK_BYTES``; else new (malloc is as cheap as the look-up for a small array, and a large
    one is not kept)."""
    first = like[0]
    if len(like) > 1:
        dtype, shape = first.dtype, first.shape
        for other in like[1:]:
            if (other.dtype is not dtype and other.dtype != dtype) or other.shape != shape:
                return np.empty(np.broadcast_shapes(*(a.shape for a in like)), np.result_type(*like))
    nbytes = first.nbytes
    if nbytes <= SMALL_BYTES or nbytes > CHUNK_BYTES:
        return np.empty(first.shape, first.dtype)
    buffers: dict[Any, Any] = _local.__dict__
    key = (slot, first.dtype.num)
    buffer = buffers.get(key)
    if buffer is None or buffer.nbytes < nbytes or buffer.dtype != first.dtype:  # (dtype: its byte order)
        buffer = buffers[key] = np.empty(first.size, first.dtype)  # (grown to the largest request)
    return buffer[: first.size].reshape(first.shape)


def gradient(grad: np.ndarray, param: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """The rules' gradient g = (−∇ if maximize else ∇) + λθ (λ: ``weight_decay``, its term left
    out when 0): ``grad`` itself when there is nothing to add, else in scratch slot 0.

    With BLAS (optim/_blas.py), g + λθ is one fused multiply-add, torch's ``grad.add(param,
    alpha=λ)``; else the numbers of ``(-grad if maximize else grad) + weight_decay * param`` (λθ + ∇
    is ∇ + λθ and λθ − ∇ is (−∇) + λθ, exactly, in IEEE arithmetic)."""
    if weight_decay != 0:
        if grad.dtype != param.dtype or grad.shape != param.shape:
            return (-grad if maximize else grad) + weight_decay * param
        g = scratch(param, slot=0)
        if _blas.fuses(param, g):
            if maximize:
                np.negative(grad, out=g)
            else:
                np.copyto(g, grad)
            _blas.axpy(weight_decay, param, g)
            return g
        np.multiply(param, weight_decay, out=g)
        if maximize:
            g -= grad
        else:
            g += grad
        return g
    if maximize:
        return np.negative(grad, out=scratch(grad, slot=0))
    return grad
