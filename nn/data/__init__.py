"""nn.data: datasets and the DataLoader that cuts them into (mini-)batches."""
from __future__ import annotations

import numpy as np

from autograd import Tensor
from autograd.extend import generator, leaf

from . import datasets

__all__ = ["Dataset", "TensorDataset", "DataLoader", "datasets"]


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i)`` returning a sample (a Tensor or a tuple of them)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows: ``TensorDataset(X, y)[i] == (X[i], y[i])``. All tensors share the first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, e.g. TensorDataset(X, y)")
        tensors = tuple(t if isinstance(t, Tensor) else leaf(np.asarray(t)) for t in tensors)
        n = {t.shape[0] if t.ndim else None for t in tensors}
        if len(n) != 1 or None in n:
            raise ValueError(f"TensorDataset: every tensor needs the same first dimension (the number of samples); "
                             f"got shapes {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(leaf(np.asarray(t.data[index])) for t in self.tensors)

    def _batch(self, idx):
        return tuple(leaf(t.data[idx]) for t in self.tensors)


def _collate(samples):
    """A list of samples -> one batch: tensors stacked along a new first dimension, tuples per field."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, Tensor):
        return leaf(np.stack([s.data for s in samples]))
    return leaf(np.asarray(samples))


class DataLoader:
    """Iterate over a dataset in batches of ``batch_size`` samples.

    ``batch_size = len(dataset)`` gives batch gradient descent (one batch an epoch), 1 stochastic
    gradient descent, anything between mini-batch gradient descent. With ``shuffle`` each epoch
    (each ``iter()``) visits the samples in a new random order, reproducible with ``seed`` (without a
    seed the global generator, ``ag.manual_seed``, is used). ``drop_last`` drops a final batch that
    is smaller than ``batch_size``. Batches are new Tensors that do not require grad.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False, seed=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng if self._rng is not None else generator()
        return rng.permutation(n)

    def __iter__(self):
        order = self._order()
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset)
        for start in range(0, stop, bs):
            idx = order[start:start + bs]
            if fast:
                batch = self.dataset._batch(idx)
                yield batch if len(batch) > 1 else batch[0]
            else:
                yield _collate([self.dataset[int(i)] for i in idx])
