"""Work cut into independent tasks, run on the calling thread and a few worker threads.

BLAS runs a convolution's products on every core; the passes around them (max pooling's windows,
the im2col and col2im copies, a ReLU over a feature map) are numpy loops on one, and so is an
optimizer's elementwise update. Both treat parts of their arrays apart (samples of the batch,
channels, chunks of a parameter), so they hand those parts as tasks to ``run_tasks``: the calling
thread and up to ``n - 1`` workers take the tasks in turn (numpy releases the GIL inside its
loops). A task computes the same numbers in the same order as the whole call and writes its own
slice of arrays made for the result, so the result is the whole call's, bit for bit.
``split(run, n, nbytes)`` is the common case: ``run(lo, hi)`` over ranges of ``range(n)``.
optim/_chunked.py uses ``run_tasks`` (through autograd.extend) for its chunked update.

The workers are threads kept for the process's life, each asleep on a lock of its own between
jobs: waking one costs the caller a futex call (2-7 µs on the 2-CPU host, against 8-16 µs for a
ThreadPoolExecutor's submit, whose worker also took longer to start). The tasks are taken from
the iterator under a lock, so they may be made as they are taken. The calling thread waits for
the tasks a worker took, not for the workers: a worker that wakes only after the caller has taken
the last task (the other core busy with another process) finds nothing to do and is not waited
for, so on a loaded machine the split costs a few Python calls, not a time slice. The workers run
each task in a copy of the caller's context, so ``np.errstate`` applies in them as in the caller.

Thread counts come from the environment (``thread_count``): the kernels use ``CHAINRULE_THREADS``
(at most 4 by default), the optimizers ``CHAINRULE_OPTIM_THREADS`` (at most 8); 1 turns the
threads off.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

THREADS_ENV = "CHAINRULE_THREADS"  # the kernels' threads (the calling one included); 1: no split
MAX_THREADS = 4  # the kernels' default at most: their passes are bound by memory beyond a few cores
MIN_BYTES = 1 << 20  # the bytes a kernel's call reads and writes below which it is not split


def thread_count(env: str = THREADS_ENV, most: int = MAX_THREADS) -> int:
    """How many threads (the calling one included) work may be spread over: the whole number in
    the environment variable ``env`` if it is set, else the CPUs this process may run on
    (``os.sched_getaffinity``), at most ``most``."""
    value = os.environ.get(env, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(
                f"{env}={value!r}: expected the number of threads to use, a whole number >= 1 (1: "
                f"only the calling thread), or unset it"
            )
        return int(value)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # (not on every platform)
        n = os.cpu_count() or 1
    return max(1, min(n, most))


def split(run: Callable[[int, int], None], n: int, nbytes: int) -> None:
    """``run(lo, hi)`` for ranges that together cover ``range(n)``: one call ``run(0, n)`` when the
    work is small (``nbytes`` under ``MIN_BYTES``) or one thread is all there is, else parts
    (twice as many as threads, for balance) taken by the calling thread and the workers."""
    k = thread_count()
    if k <= 1 or n < 2 or nbytes < MIN_BYTES:
        run(0, n)
        return
    parts = min(n, 2 * k)
    bounds = [n * i // parts for i in range(parts + 1)]
    run_tasks(itertools.pairwise(bounds), lambda task: run(*task), k)


def run_tasks(tasks: Iterator, run: Callable[[Any], None], n: int) -> None:
    """``run(task)`` for every task of the iterator ``tasks``, on ``n`` threads (the calling one
    and ``n - 1`` workers), each taking the next task (made as it is taken) until none is left.
    After an error the tasks not yet taken are skipped, and the first error is raised here."""
    if n <= 1:
        for task in tasks:
            run(task)
        return
    job = _Job(run, tasks)
    for worker in _workers(n - 1):
        worker.start(job, contextvars.copy_context())
    job.work()
    with job.lock:
        wait = job.finished < job.taken
        job.waiting = wait
    if wait:
        job.done.acquire()  # (released by the worker that finishes the last task)
    if job.errors:
        raise job.errors[0]


class _Job:
    """The tasks of one call of ``run_tasks``, taken in turn by the threads."""

    def __init__(self, run: Callable[[Any], None], tasks: Iterator):
        self.run, self.tasks = run, tasks
        self.lock = threading.Lock()  # over what follows (and the next task's making)
        self.taken = self.finished = 0
        self.left = True  # (False once the tasks are all taken)
        self.waiting = False  # (whether the calling thread waits for ``done``)
        self.done = threading.Lock()
        self.done.acquire()
        self.errors: list[BaseException] = []

    def work(self) -> None:
        """Take tasks until none is left."""
        run, errors, lock = self.run, self.errors, self.lock
        task = None
        while True:
            with lock:
                if task is not None:
                    self.finished += 1
                    if self.waiting and self.finished == self.taken:
                        self.waiting = False
                        self.done.release()
                task = self._take()
            if task is None:
                return
            try:
                run(task)
            except BaseException as e:
                errors.append(e)

    def _take(self):
        """The next task, or None (under ``lock``)."""
        if self.errors or not self.left:
            return None
        try:
            task = next(self.tasks)
        except StopIteration:
            self.left = False
            return None
        except BaseException as e:
            self.left = False
            self.errors.append(e)
            return None
        self.taken += 1
        return task


class _Worker:
    """A thread that sleeps on a lock between jobs (no future, no queue, no semaphore)."""

    def __init__(self) -> None:
        self.job: tuple[_Job, contextvars.Context] | None = None
        self.wake = threading.Lock()
        self.wake.acquire()
        threading.Thread(target=self._loop, name="chainrule-worker", daemon=True).start()

    def start(self, job: _Job, context: contextvars.Context) -> None:
        """Have the thread take tasks of ``job`` (in ``context``: np.errstate holds there too)."""
        self.job = (job, context)
        try:
            self.wake.release()
        except RuntimeError:  # (not locked: it has yet to wake for an earlier job, and takes this one then)
            pass

    def _loop(self) -> None:
        while True:
            self.wake.acquire()
            started, self.job = self.job, None
            if started is not None:  # (None: the job was taken on an earlier wake-up)
                job, context = started
                del started
                context.run(job.work)
                del job, context  # (the tasks' arrays are not kept until the next job)


_pool: list[_Worker] = []
_pool_lock = threading.Lock()


def _workers(k: int) -> list[_Worker]:
    """The first ``k`` of the shared worker threads (started on first use)."""
    with _pool_lock:
        while len(_pool) < k:
            _pool.append(_Worker())
        return _pool[:k]


def _forget_workers() -> None:
    # a forked child has none of the parent's threads: it starts its own when it needs them
    _pool.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)
