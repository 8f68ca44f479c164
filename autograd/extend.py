"""The public extension surface: what code built on the engine uses, besides ``import autograd as ag``.

Our own ``nn`` and ``optim`` are built with nothing else (a test checks that they import no private
name of autograd), and so can any library on top of chainrule. HIPS autograd's ``autograd.extend``
is the model.

Operations
    ``defop(name, forward, *vjps, doc=...)`` adds an operation to the derivative table (see
    :mod:`autograd.ops` for the contract of ``forward`` and of the rules) and returns its
    :class:`Op`; ``apply(op, *inputs, **params)`` runs it on Tensors and records it when an input
    requires grad; ``fn`` holds the functions a rule may call (each runs on ndarrays and on Tensors,
    so a rule written with them differentiates to any order); ``cached_constant(key, make)`` shares a
    read-only array between calls of a forward function.

Tensors from arrays
    ``leaf(array)`` wraps an ndarray in a Tensor without copying or checking it (a constant that
    requires no grad); ``as_array(data, dtype=None, copy=True)`` converts user data with the dtype
    policy of ``ag.tensor`` (floats to the default dtype, integers to int64, unsupported dtypes
    refused).

State that lives outside the graph
    ``bump_versions(tensors)`` counts an in-place modification of each tensor (an optimizer's step,
    a module loading new values), so that a graph that saved the old values refuses to backward
    through them; ``generator(gen=None)`` is the numpy Generator to draw from: that of ``gen`` (an
    ``ag.Generator``, as a user passes with ``generator=``) or of the default one ``ag.manual_seed`` seeds;
    ``module_scope(name)`` is the context in which an ``nn.Module`` runs its forward: the operations
    recorded inside it carry the module's path, which ``ag.draw_graph`` groups them by.

Work on a few threads
    ``run_tasks(tasks, run, n)`` runs ``run(task)`` for every task of an iterator on the calling
    thread and ``n - 1`` worker threads kept for the process (numpy releases the GIL in its loops:
    independent slices of arrays update in parallel); ``thread_count(env, most)`` reads how many
    threads to use from an environment variable, else the CPUs available, at most ``most``.

numpy's BLAS
    ``openblas_libraries()`` yields the OpenBLAS libraries numpy may be using (its wheel's own, then
    those loaded in the process) as ctypes libraries, for code that calls a BLAS function numpy
    does not offer; ``openblas_names(lib, function)`` is the (prefix, suffix) under which ``lib``
    names ``function`` (numpy's wheels: ``scipy_cblas_saxpy64_``), or None.

Arguments as torch takes them
    ``parse_to(args, kwargs)`` reads the overloads of ``.to()`` (a dtype, a device, another tensor,
    ``non_blocking``, ``copy``) as ``(device, dtype, non_blocking, copy)``, the device checked.
"""

from __future__ import annotations

from .device import parse_to
from .grad_mode import module_scope
from .openblas import libraries as openblas_libraries
from .openblas import names as openblas_names
from .ops import Op, defop, fn
from .ops import constant as cached_constant
from .ops.threads import run_tasks, thread_count
from .random import generator
from .tensor import Tensor, make, to_array
from .tensor import apply as _apply_op
from .versions import bump_versions

__all__ = [
    "Op",
    "defop",
    "apply",
    "fn",
    "cached_constant",
    "leaf",
    "as_array",
    "bump_versions",
    "generator",
    "module_scope",
    "parse_to",
    "run_tasks",
    "thread_count",
    "openblas_libraries",
    "openblas_names",
]


def apply(op: Op | str, *inputs: Tensor, **params) -> Tensor:
    """``op`` (an :class:`Op` or its name in the table) applied to the Tensors ``inputs``, with the
    keyword arguments ``params`` of its forward function and rules; recorded when some input
    requires grad and recording is on."""
    if isinstance(op, str):
        from .ops import OPS

        op = OPS[op]
    return _apply_op(op, inputs, params or None)


def leaf(array) -> Tensor:
    """A Tensor that holds ``array`` (an ndarray) itself, not a copy, and requires no grad."""
    return make(array)


def as_array(data, dtype=None, copy: bool = True):
    """The ndarray ``ag.tensor(data, dtype)`` would hold (without ``copy``, ``data`` itself where it
    already is an ndarray of that dtype)."""
    return to_array(data, dtype, copy)
