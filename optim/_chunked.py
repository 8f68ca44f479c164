"""Large parameters updated in cache-sized chunks, spread over a small pool of threads.

An elementwise update rule (every built-in optimizer's but L-BFGS's) computes each element of a new
parameter and of its state buffers from the same element of the old ones and of the gradient, and
from the array's scalar state (its step count, NAdam's μ product), which is one number for the
whole array. So calling the rule on pieces of the arrays, each piece with its own copy of the
scalar state, gives bit for bit what one call on the whole arrays gives: the same operations on the
same numbers, element by element, and the same new scalar state from every piece. (optim/_flat.py
uses the same fact the other way round, for many small parameters as one array.)

``update_in_chunks`` calls the rule that way on the arrays of a step, for two gains:

- each large array is cut into chunks of ``CHUNK_BYTES`` (optim/_scratch.py, which says how that
  size was chosen), so that the rule's dozen passes over one chunk, and its temporaries (scratch
  buffers reused from chunk to chunk and from step to step), stay in cache: main memory is read
  and written about once a step instead of once a pass;
- the chunks are independent, so a few threads take them in turn (numpy releases the GIL in its
  loops, and the Python between them is short). Each thread pulls the next chunk as it finishes
  one, so a core busy with something else simply takes fewer.

The arrays smaller than a chunk go whole, several to a task. An array that cannot be cut into views
(a parameter, gradient or buffer that is not C-contiguous, a gradient of another shape) goes whole
too, as does one whose buffer the rule makes itself on this step (SGD's momentum buffer on the
first step). Threads: ``threads()``, used only when the step has at least ``PARALLEL_MIN``
elements; below that, the chunks run in the calling thread. The threads run each task in a copy of
the caller's context, so ``np.errstate`` applies in them as in the caller.

Threads pay only where cores are free. On a machine whose cores other processes keep busy, a worker
woken for a step waits for a time slice; the calling thread meanwhile takes the tasks, and waits
for the tasks a worker took, never for a worker that took none. Measured on the 2-CPU host at a
load average of 5 (other engineers' test suites), two threads then took 0-5% longer than one
(before that rule, up to twice as long); where they get no core, $CHAINRULE_OPTIM_THREADS=1 saves
that. Per step the threaded pass costs the same CPU time as one thread, within the noise.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import _scratch

THREADS_ENV = "CHAINRULE_OPTIM_THREADS"  # overrides the number of threads; 1: the calling thread only
MAX_THREADS = 8  # by default, at most this many: the passes are bound by memory long before 8 cores
PARALLEL_MIN = 1 << 18  # elements: a smaller step is not worth waking the threads for


def threads() -> int:
    """How many threads (the calling one included) a large update may use: the whole number in
    $CHAINRULE_OPTIM_THREADS if it is set, else the CPUs this process may run on
    (``os.sched_getaffinity``), at most ``MAX_THREADS``."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(
                f"{THREADS_ENV}={value!r}: expected the number of threads the optimizers may use, a "
                f"whole number >= 1 (1: no threads but the calling one), or unset it"
            )
        return n
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # (not on every platform)
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_THREADS))


def update_in_chunks(
    update: Callable, group: dict, arrays: list[np.ndarray], grads: list[np.ndarray], state: dict[str, list], made=()
) -> None:
    """``update(group, arrays, grads, state)``, an elementwise rule (see ``Optimizer._update``), in
    tasks of about one chunk each, on up to ``threads()`` threads; the same result as the one
    call, which is what small steps get. ``made``: the names of the buffers that the rule makes
    itself where their list holds None."""
    total = 0
    for a in arrays:
        total += a.size
    if total * arrays[0].dtype.itemsize <= 2 * _scratch.CHUNK_BYTES:
        update(group, arrays, grads, state)
        return
    tasks, back = _tasks(arrays, grads, state, made)
    n = min(threads(), len(tasks)) if total >= PARALLEL_MIN else 1
    _run(update, group, tasks, n)
    for t, j, i, whole in back:
        task_state = tasks[t][2]
        for name, column in state.items():
            # all of a whole array's entries back; of a cut one, the scalar state (each chunk's is the
            # same: its first chunk's), as its buffers were updated in place through the views
            if whole or not isinstance(column[i], np.ndarray):
                column[i] = task_state[name][j]


def _tasks(arrays, grads, state, made):
    """The arrays as tasks (arrays, grads, state) for the rule: a large one cut into chunks (views),
    one task each, the others whole, several to a task; and where each array's state comes back
    from: (task, position in the task, the array's index, whether the task has all of it)."""
    names = list(state)
    tasks: list[tuple[list[Any], list[Any], dict[str, list[Any]]]] = []
    back: list[tuple[int, int, int, bool]] = []
    batch: list[int] = []  # the indices of the whole arrays of the next task
    batch_bytes = 0  # (and their bytes)

    def flush():
        tasks.append(
            (
                [arrays[i] for i in batch],
                [grads[i] for i in batch],
                {name: [state[name][i] for i in batch] for name in names},
            )
        )
        back.extend((len(tasks) - 1, j, i, True) for j, i in enumerate(batch))

    for i, (a, g) in enumerate(zip(arrays, grads)):
        if a.nbytes > _scratch.CHUNK_BYTES and _splittable(
            a, g, [state[name][i] for name in names], [state[name][i] for name in made if name in state]
        ):
            n = max(1, _scratch.CHUNK_BYTES // a.dtype.itemsize)
            items = [(name, state[name][i]) for name in names]
            buffers = [(name, x.reshape(-1)) for name, x in items if isinstance(x, np.ndarray)]
            scalars = [(name, x) for name, x in items if not isinstance(x, np.ndarray)]
            a, g = a.reshape(-1), g.reshape(-1)  # (views: all of them are C-contiguous)
            back.append((len(tasks), 0, i, False))
            for start in range(0, a.size, n):
                stop = start + n
                task_state = {name: [x] for name, x in scalars}  # (a list of its own: the rule updates it)
                for name, x in buffers:
                    task_state[name] = [x[start:stop]]
                tasks.append(([a[start:stop]], [g[start:stop]], task_state))
            continue
        batch.append(i)
        batch_bytes += a.nbytes
        if batch_bytes >= _scratch.CHUNK_BYTES:
            flush()
            batch, batch_bytes = [], 0
    if batch:
        flush()
    return tasks, back


def _splittable(a, g, items, made_items) -> bool:
    """Whether the array ``a``, its gradient ``g`` and its state ``items`` can be cut into chunks
    that are views (written in place), and the rule makes none of its buffers on this step."""
    if not (a.flags.c_contiguous and g.flags.c_contiguous and g.shape == a.shape):
        return False
    if any(x is None for x in made_items):
        return False
    return all(x.flags.c_contiguous and x.shape == a.shape for x in items if isinstance(x, np.ndarray))


def _run(update, group, tasks, n) -> None:
    """Run the tasks, on ``n`` threads (the calling one among them), each pulling the next task.

    The calling thread waits for the tasks, not for the threads: a worker that wakes only once the
    calling one has taken the last task (a busy machine) finds nothing to do, and is not waited for."""
    if n <= 1:
        for arrays, grads, state in tasks:
            update(group, arrays, grads, state)
        return
    pending = iter(tasks)  # (shared: each next() is atomic under the GIL)
    done = threading.Semaphore(0)  # released for each task a worker has finished (or skipped)
    errors: list[BaseException] = []  # (after an error, every thread skips the tasks left, as the loop would stop)

    def work(release: bool) -> int:
        taken = 0
        for arrays, grads, state in pending:
            taken += 1
            if not errors:
                try:
                    update(group, arrays, grads, state)
                except BaseException as e:
                    errors.append(e)
            if release:
                done.release()
        return taken

    pool = _pool(n - 1)
    for _ in range(n - 1):
        pool.submit(contextvars.copy_context().run, work, True)
    for _ in range(len(tasks) - work(False)):
        done.acquire()
    if errors:
        raise errors[0]


_executor: ThreadPoolExecutor | None = None
_executor_size = 0


def _pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool, with at least ``workers`` threads (made on first use, grown when asked)."""
    global _executor, _executor_size
    if _executor is None or _executor_size < workers:
        if _executor is not None:
            _executor.shutdown(wait=False)
        _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="optim")
        _executor_size = workers
    return _executor


def _forget_pool() -> None:
    # a forked child has none of the parent's threads: it makes its own pool when it needs one
    global _executor, _executor_size
    _executor, _executor_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
