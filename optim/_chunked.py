"""Large parameters updated in cache-sized chunks, spread over a small pool of threads.

An elementwise update rule (every built-in optimizer's but L-BFGS's) computes each element of a new
parameter and of its state buffers from the same element of the old ones and of the gradient, and
from the array's scalar state (its step count, NAdam's μ product), which is one number for the
whole array. So calling the rule on pieces of the arrays, each piece with its own copy of the
scalar state, gives bit for bit what one call on the whole arrays gives: the same operations on the
same numbers, element by element, and the same new scalar state from every piece. (optim/_flat.py
uses the same fact the other way round, for many small parameters as one array.)

``update_in_chunks`` calls the rule that way on the arrays of a step, for two gains:

- the arrays are cut into tasks of at most ``CHUNK_BYTES`` (optim/_scratch.py, which says how that
  size was chosen), so that the rule's dozen passes over one task, and its temporaries (scratch
  buffers reused from task to task and from step to step), stay in cache: main memory is read
  and written about once a step instead of once a pass;
- the tasks are independent, so a few threads take them in turn (numpy releases the GIL in its
  loops, and the Python between them is short). Each thread takes the next task as it finishes
  one, so a core busy with something else simply takes fewer.

An optimizer may ask for larger tasks (``Optimizer._task_bytes``): SGD on BLAS (optim/_blas.py)
makes two passes that stream through memory, for which cache-sized pieces only add calls (the two
passes alone over 1.86M float32 numbers on two threads: 0.43 ms in chunks of 0.9 MiB, 0.32 ms in one
task a thread). On threads, the pass runs with OpenBLAS's own threads off (``_blas.one_thread``):
the tasks are on threads already.

The tasks are of equal size, as many as the threads or a multiple (with two threads, W3's eight
tasks of 0.9 MiB rather than seven chunks of 1 MiB and the rest, which left one thread a chunk
behind the other at the end): the arrays are taken one after the other and cut where a task
ends, so that a task may hold the end of one array and the start of the next. A piece is at
least 1/``PIECES_PER_CHUNK`` of a chunk (the rule's Python costs as much on a small piece as on a
large one); a smaller array goes whole. An array that cannot be cut into views (a parameter,
gradient or buffer that is not C-contiguous, a gradient of another shape) goes whole too, as does
one whose buffer the rule makes itself on this step (SGD's momentum buffer on the first step).
The tasks are made as they are taken (under a lock), so the calling thread starts on the first
one while the others are still to be cut, and the worker cuts its own.

Threads: ``threads()``, used only when the step has at least ``PARALLEL_MIN`` elements; below
that, the tasks run in the calling thread. The threads are autograd's (``run_tasks`` of
autograd.extend, shared with the convolution kernels): workers kept for the process's life, each
asleep on a lock of its own between steps (waking one costs the caller 2-7 µs on the 2-CPU host,
against 8-16 µs for a ThreadPoolExecutor's submit), running each task in a copy of the caller's
context, so that ``np.errstate`` applies in them as in the caller.

Where the time of a two-thread step goes, on the 2-CPU host when quiet (W3's parameters, Adam,
a step of 1.8-2.0 ms): about 30 µs outside the pass (the optimizer's bookkeeping and the small
parameters' flat update); in the pass, the caller's first task starts about 17 µs in (3 µs for
the job, 7 µs to wake the worker, 6 µs to cut the task) and the worker's 10-40 µs later; each
further task takes 2-3 µs to cut; a task of 0.9 MiB takes 460 µs of wall time against 390 µs
with one thread, of which about 15 µs is spent waiting for the GIL and the rest is CPU time (the
two cores share the L3 cache and the memory bandwidth; SGD's tasks: 119 against 112 µs). The
two threads then end within a task of each other, mostly the worker last. Smaller tasks towards
the end (guided scheduling: each task 1/4 or 1/2 of the bytes left) measured 2-15% slower than
equal ones: each task costs its Python again, and more of it collides on the GIL.

Threads pay only where cores are free. On a machine whose cores other processes keep busy, a worker
woken for a step waits for a time slice; the calling thread meanwhile takes the tasks, and waits
for the tasks a worker took, never for a worker that took none. Measured on the 2-CPU host at a
load average of 5 (other engineers' test suites), two threads then took 0-5% longer than one
(before that rule, up to twice as long); where they get no core, $CHAINRULE_OPTIM_THREADS=1 saves
that. Per step the threaded pass costs 5-15% more CPU time than one thread (see above).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from autograd.extend import run_tasks, thread_count

from . import _blas, _scratch

THREADS_ENV = "CHAINRULE_OPTIM_THREADS"  # overrides the number of threads; 1: the calling thread only
MAX_THREADS = 8  # by default, at most this many: the passes are bound by memory long before 8 cores
PARALLEL_MIN = 1 << 18  # elements: a smaller step is not worth waking the threads for
ALIGN_BYTES = 4096  # pieces are cut at multiples of this many bytes from an array's start
# OpenBLAS runs a level-1 call (axpy) on more elements than this on its threads. For the arrays of
# a step too small to cut into chunks that costs more than it saves: the numpy passes after it then
# read what the other core wrote (W2's parameters: SGD's step 86 against 72 us on one thread,
# RMSprop's 176 against 149), so such a step runs its BLAS calls on the calling thread.
BLAS_THREADED = 10_000
PIECES_PER_CHUNK = 8  # a piece of an array has at least 1/8 of a chunk's bytes (and at least 16)


def threads() -> int:
    """How many threads (the calling one included) a large update may use: the whole number in
    $CHAINRULE_OPTIM_THREADS if it is set, else the CPUs this process may run on
    (``os.sched_getaffinity``), at most ``MAX_THREADS``."""
    return thread_count(THREADS_ENV, MAX_THREADS)


def update_in_chunks(
    update: Callable,
    group: dict,
    arrays: list[np.ndarray],
    grads: list[np.ndarray],
    state: dict[str, list],
    made=(),
    task_bytes: int | None = None,
) -> None:
    """``update(group, arrays, grads, state)``, an elementwise rule (see ``Optimizer._update``), in
    tasks of at most about one chunk each, on up to ``threads()`` threads; the same result as the
    one call, which is what small steps get. ``made``: the names of the buffers that the rule makes
    itself where their list holds None. ``task_bytes``: the most bytes of a task where the rule
    wants other than a chunk (SGD's two BLAS passes, which gain nothing from cache-sized pieces)."""
    total = largest = 0
    for a in arrays:
        total += a.nbytes
        largest = max(largest, a.size)
    if total <= 2 * _scratch.CHUNK_BYTES:
        if largest > BLAS_THREADED and _blas.available():
            with _blas.one_thread():  # (see BLAS_THREADED)
                update(group, arrays, grads, state)
        else:
            update(group, arrays, grads, state)
        return
    n = threads() if total // arrays[0].dtype.itemsize >= PARALLEL_MIN else 1
    back: list[tuple[dict[str, list], int, int, bool]] = []
    most = task_bytes or _scratch.CHUNK_BYTES
    _run(update, group, _tasks(arrays, grads, state, made, -(-total // (n * most)) * n, most, back), n)
    for task_state, j, i, whole in back:
        for name, column in state.items():
            # all of a whole array's entries back; of a cut one, the scalar state (each piece's is the
            # same: its first piece's), as its buffers were updated in place through the views
            if whole or not isinstance(column[i], np.ndarray):
                column[i] = task_state[name][j]


def _tasks(arrays, grads, state, made, count, most, back) -> Iterator[tuple[list, list, dict[str, list]]]:
    """The arrays as ``count`` tasks (arrays, grads, state) for the rule, of about equal bytes (at
    most ``most``), made as they are taken: the arrays one after the other, cut into pieces (views)
    where a task ends, each piece of at least 1/``PIECES_PER_CHUNK`` of a chunk (the rule costs as
    much Python on a piece as on a whole array); an array that cannot be cut, or is smaller than
    two pieces, goes whole. Appends to ``back`` where each array's state comes back from: (the
    task's state, position in the task, the array's index, whether the task has all of it)."""
    names = list(state)
    total = 0
    for a in arrays:
        total += a.nbytes
    least = max(16, most // PIECES_PER_CHUNK)  # a piece's bytes, at least
    align = min(ALIGN_BYTES, least)
    size = -(-total // count)  # a task's bytes
    task: tuple[list[Any], list[Any], dict[str, list[Any]]] = ([], [], {name: [] for name in names})
    end = size  # where the task ends, in bytes of all the arrays one after the other
    offset = 0  # the bytes before array i
    for i, (a, g) in enumerate(zip(arrays, grads)):
        nbytes = a.nbytes
        items = [state[name][i] for name in names]
        if nbytes < 2 * least or not _splittable(a, g, items, [state[name][i] for name in made if name in state]):
            back.append((task[2], len(task[0]), i, True))
            task[0].append(a)
            task[1].append(g)
            for name, x in zip(names, items):
                task[2][name].append(x)
        else:
            itemsize = a.dtype.itemsize
            a, g = a.reshape(-1), g.reshape(-1)  # (views: all of them are C-contiguous)
            flat = [x.reshape(-1) if isinstance(x, np.ndarray) else None for x in items]
            back.append((task[2], len(task[0]), i, False))
            start = 0  # (bytes of this array)
            while True:
                cut = end - offset
                if cut > nbytes - least and nbytes - start <= most:
                    cut = nbytes  # (the rest of the array rather than a piece too small)
                else:
                    cut = min(max(cut - cut % align, start + least), nbytes)
                lo, hi = start // itemsize, cut // itemsize
                task[0].append(a[lo:hi])
                task[1].append(g[lo:hi])
                for name, x, f in zip(names, items, flat):
                    task[2][name].append(x if f is None else f[lo:hi])
                if cut == nbytes:
                    break
                yield task
                task, start, end = ([], [], {name: [] for name in names}), cut, offset + cut + size
        offset += nbytes
        if offset > end - least and offset < total:
            yield task
            task, end = ([], [], {name: [] for name in names}), offset + size
    if task[0]:
        yield task


def _splittable(a, g, items, made_items) -> bool:
    """Whether the array ``a``, its gradient ``g`` and its state ``items`` can be cut into chunks
    that are views (written in place), and the rule makes none of its buffers on this step."""
    if not (a.flags.c_contiguous and g.flags.c_contiguous and g.shape == a.shape):
        return False
    if any(x is None for x in made_items):
        return False
    return all(x.flags.c_contiguous and x.shape == a.shape for x in items if isinstance(x, np.ndarray))


def _run(update, group, tasks: Iterator, n: int) -> None:
    """Run the tasks, on ``n`` threads (the calling one and ``n - 1`` workers: autograd's
    ``run_tasks``), each taking the next task (made as it is taken) until none is left.

    The calling thread waits for the tasks, not for the threads: a worker that wakes only once the
    calling one has taken the last task (a busy machine) finds nothing to do, and is not waited for."""
    if n <= 1:
        for task in tasks:
            update(group, *task)
        return
    with _blas.one_thread():  # (BLAS calls in the tasks: the tasks are on threads already)
        run_tasks(tasks, lambda task: update(group, *task), n)
