"""The elementwise passes of the large kernels split into parts, on a few threads.

BLAS runs a convolution's products on every core; the passes around them (max pooling's windows,
the im2col and col2im copies, a ReLU over a feature map) are numpy loops on one. Those passes treat
each sample of the batch (or each channel) apart, so a kernel can hand ``split`` a function of a
range of them: the range is cut into parts, and the calling thread and up to ``threads() - 1``
workers take the parts in turn (numpy releases the GIL inside its loops). Each part computes the
same numbers in the same order as the whole call and writes its own slice of arrays the kernel
made, so the result is the whole call's, bit for bit.

The calling thread waits for the parts, not for the workers: a worker that wakes only after the
caller has taken the last part (the other core busy with another process) finds nothing to do and
is not waited for, so on a loaded machine the split costs a few Python calls, not a time slice.
Work under ``MIN_BYTES`` runs whole in the calling thread; ``CHAINRULE_THREADS=1`` turns the split
off.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

THREADS_ENV = "CHAINRULE_THREADS"  # the number of threads (the calling one included); 1: no split
MAX_THREADS = 4  # by default at most this many: the passes are bound by memory beyond a few cores
MIN_BYTES = 1 << 20  # the bytes a call reads and writes below which it is not split


def threads() -> int:
    """How many threads a kernel's batch may be split over: $CHAINRULE_THREADS if set, else the CPUs
    this process may run on, at most ``MAX_THREADS``."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(
                f"{THREADS_ENV}={value!r}: expected the number of threads the kernels may use, a whole "
                f"number >= 1 (1: only the calling thread), or unset it"
            )
        return int(value)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # (not on every platform)
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_THREADS))


def split(run: Callable[[int, int], None], n: int, nbytes: int) -> None:
    """``run(lo, hi)`` for ranges that together cover ``range(n)``: one call ``run(0, n)``
    when the work is small (``nbytes`` under ``MIN_BYTES``) or one thread is all there is, else
    parts (twice as many as threads, for balance) taken by the calling thread and the workers."""
    k = threads()
    if k <= 1 or n < 2 or nbytes < MIN_BYTES:
        run(0, n)
        return
    parts = min(n, 2 * k)
    bounds = [n * i // parts for i in range(parts + 1)]
    pending = iter(itertools.pairwise(bounds))  # (shared: each next() is atomic under the GIL)
    done = threading.Semaphore(0)
    errors: list[BaseException] = []

    def work(release: bool) -> int:
        taken = 0
        for lo, hi in pending:
            taken += 1
            if not errors:
                try:
                    run(lo, hi)
                except BaseException as e:  # (raised in the calling thread below)
                    errors.append(e)
            if release:
                done.release()
        return taken

    pool = _pool(k - 1)
    for _ in range(k - 1):
        pool.submit(contextvars.copy_context().run, work, True)
    for _ in range(parts - work(False)):
        done.acquire()
    if errors:
        raise errors[0]


_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool with at least ``workers`` threads (made on first use, grown when asked)."""
    global _executor, _executor_size
    with _lock:
        if _executor is None or _executor_size < workers:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chainrule-kernel")
            _executor_size = workers
        return _executor


def _forget_pool() -> None:
    # a forked child has none of the parent's threads: it makes its own pool when it needs one
    global _executor, _executor_size
    _executor, _executor_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
