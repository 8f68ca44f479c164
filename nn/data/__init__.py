"""nn.data: datasets and the DataLoader that cuts them into (mini-)batches."""

from __future__ import annotations

from typing import Any

import collections.abc
from collections.abc import Callable
import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from autograd import Generator, Tensor
from autograd.extend import generator as generator_of
from autograd.extend import leaf

from . import datasets

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate", "datasets"]


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i)`` returning a sample (a Tensor or a tuple of them)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows: ``TensorDataset(X, y)[i] == (X[i], y[i])``. All tensors share the first dimension."""

    def __init__(self, *tensors: Any):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, e.g. TensorDataset(X, y)")
        tensors = tuple(t if isinstance(t, Tensor) else leaf(np.asarray(t)) for t in tensors)
        n = {t.shape[0] if t.ndim else None for t in tensors}
        if len(n) != 1 or None in n:
            raise ValueError(
                f"TensorDataset: every tensor needs the same first dimension (the number of samples); "
                f"got shapes {[t.shape for t in tensors]}"
            )
        self.tensors = tensors

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(leaf(np.asarray(t.data[index])) for t in self.tensors)

    def _batch(self, idx):
        return tuple(leaf(t.data[idx]) for t in self.tensors)


def default_collate(samples: list[Any]) -> Any:
    """A list of samples -> one batch, as torch's ``default_collate``: Tensors and ndarrays stacked
    along a new first dimension (keeping their dtype), Python numbers into a tensor (int64, float64
    or bool), strings kept as a list, and tuples, lists, named tuples and dicts collated field by
    field (a tuple of batches for tuples and lists)."""
    if not samples:
        raise ValueError("default_collate: no samples to collate (a batch needs at least one)")
    first = samples[0]
    if isinstance(first, Tensor):
        return leaf(np.stack([s.data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic, bool, int, float)):
        return leaf(
            np.stack([np.asarray(s) for s in samples]) if isinstance(first, np.ndarray) else np.asarray(samples)
        )
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a named tuple keeps its type
        return type(first)(*(default_collate(list(field)) for field in zip(*samples)))
    if isinstance(first, collections.abc.Sequence):
        if any(len(s) != len(first) for s in samples):
            raise RuntimeError("default_collate: each sample in the batch should have the same number of fields")
        return tuple(default_collate(list(field)) for field in zip(*samples))
    raise TypeError(
        f"default_collate: a batch must hold Tensors, ndarrays, numbers, strings, dicts or sequences of "
        f"them; found {type(first).__name__} (pass collate_fn= to batch it yourself)"
    )


class DataLoader:
    """Iterate over a dataset in batches of ``batch_size`` samples (torch's DataLoader).

    ``batch_size = len(dataset)`` gives batch gradient descent (one batch an epoch), 1 stochastic
    gradient descent, anything between mini-batch gradient descent. With ``shuffle`` each epoch
    (each ``iter()``) visits the samples in a new random order, drawn from ``generator`` (an
    ``ag.Generator``), from a generator of its own seeded with ``seed`` (chainrule's shorthand), or
    else from the default generator (``ag.manual_seed``). ``drop_last`` drops a final batch that is
    smaller than ``batch_size``. ``collate_fn`` turns a list of samples into a batch
    (:func:`default_collate` by default; a TensorDataset without one is sliced whole, which gives the
    same batches). ``num_workers > 0`` builds batches ahead in that many worker threads
    (``prefetch_factor`` batches each), delivered in order; threads, not processes, so the dataset is
    shared rather than copied and numpy's work releases the interpreter lock. ``worker_init_fn(i)``
    runs once in worker i. ``pin_memory`` is accepted and does nothing (there is no accelerator).
    Batches are new Tensors that do not require grad.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        *,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        generator: Generator | None = None,
        prefetch_factor: int | None = None,
        worker_init_fn: Callable[[int], object] | None = None,
        pin_memory: bool = False,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(
                f"num_workers option should be non-negative; use num_workers=0 to disable "
                f"multiprocessing (got {num_workers!r})"
            )
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 "
                "to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give either seed= or generator=, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.generator = generator
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        self.worker_init_fn = worker_init_fn
        self.pin_memory = bool(pin_memory)
        self._rng = None if seed is None else np.random.default_rng(seed)
        if generator is not None:
            self._rng = generator_of(generator)  # (checks that it is an ag.Generator)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng if self._rng is not None else generator_of()
        return rng.permutation(n)

    def _batches(self):
        order = self._order()
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        return [order[start : start + bs] for start in range(0, stop, bs)]

    def _make_batch(self, idx):
        if self.collate_fn is None and isinstance(self.dataset, TensorDataset):
            batch = self.dataset._batch(idx)
            return batch if len(batch) > 1 else batch[0]
        collate = default_collate if self.collate_fn is None else self.collate_fn
        return collate([self.dataset[int(i)] for i in idx])

    def __iter__(self):
        batches = self._batches()
        if self.num_workers == 0:
            return (self._make_batch(idx) for idx in batches)
        return self._prefetched(batches)

    def _prefetched(self, batches):
        ids = itertools.count()

        def start_worker():
            if self.worker_init_fn is not None:
                self.worker_init_fn(next(ids))

        ahead = self.num_workers * self.prefetch_factor
        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="DataLoader", initializer=start_worker) as pool:
            pending = collections.deque(pool.submit(self._make_batch, idx) for idx in batches[:ahead])
            try:
                for idx in batches[ahead:]:
                    yield pending.popleft().result()
                    pending.append(pool.submit(self._make_batch, idx))
                while pending:
                    yield pending.popleft().result()
            finally:  # (a loop left early: the batches not started yet are not built)
                for future in pending:
                    future.cancel()
