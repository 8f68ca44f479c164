"""nn.data: TensorDataset, DataLoader semantics, and the dataset generators."""
import sys

import numpy as np
import pytest

import autograd as ag
from nn.data import DataLoader, Dataset, TensorDataset
from nn.data import datasets


def _ds(n=10):
    return TensorDataset(ag.arange(n * 2, dtype=ag.float32).reshape(n, 2), ag.arange(n))


def test_tensor_dataset():
    ds = _ds()
    assert len(ds) == 10
    x, y = ds[3]
    np.testing.assert_array_equal(x.data, [6.0, 7.0]) and y.item() == 3
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(ag.zeros(3, 2), ag.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()


@pytest.mark.parametrize("batch_size,drop_last,sizes", [
    (1, False, [1] * 10),  # stochastic
    (10, False, [10]),  # batch
    (4, False, [4, 4, 2]),  # mini-batch
    (4, True, [4, 4]),
    (3, True, [3, 3, 3]),
    (20, False, [10]),
    (20, True, []),
])
def test_batch_sizes_and_drop_last(batch_size, drop_last, sizes):
    loader = DataLoader(_ds(), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert [len(y) for _, y in batches] == sizes and len(loader) == len(sizes)
    if not drop_last:  # in order, every sample once
        np.testing.assert_array_equal(np.concatenate([y.data for _, y in batches]), np.arange(10))
    for x, y in batches:
        np.testing.assert_array_equal(x.data[:, 0], 2 * y.data)  # rows stay paired
        assert not x.requires_grad


def test_shuffle_is_a_permutation_reproducible_with_seed_and_new_each_epoch():
    loader = DataLoader(_ds(), batch_size=3, shuffle=True, seed=42)
    epoch1 = np.concatenate([y.data for _, y in loader])
    epoch2 = np.concatenate([y.data for _, y in loader])
    assert sorted(epoch1) == list(range(10)) and sorted(epoch2) == list(range(10))
    assert not np.array_equal(epoch1, np.arange(10)) and not np.array_equal(epoch1, epoch2)
    again = DataLoader(_ds(), batch_size=3, shuffle=True, seed=42)
    np.testing.assert_array_equal(np.concatenate([y.data for _, y in again]), epoch1)
    # without a seed: the global generator, reproducible through ag.manual_seed
    ag.manual_seed(5)
    a = np.concatenate([y.data for _, y in DataLoader(_ds(), batch_size=4, shuffle=True)])
    ag.manual_seed(5)
    b = np.concatenate([y.data for _, y in DataLoader(_ds(), batch_size=4, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_generic_dataset_and_single_tensor():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return ag.tensor([float(i)]), ag.tensor(i * i)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 1), (2, 1), (1, 1)]
    np.testing.assert_array_equal(batches[1][1].data, [4, 9])
    only = list(DataLoader(TensorDataset(ag.arange(5)), batch_size=2))
    assert isinstance(only[0], ag.Tensor) and only[0].tolist() == [0, 1]
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_ds(), batch_size=0)


def test_make_moons_spiral_regression():
    X, y = datasets.make_moons(101, noise=0.0, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert sorted(np.bincount(y.data)) == [50, 51]
    upper = X.data[y.data == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-5)  # a half circle
    X2, _ = datasets.make_moons(101, noise=0.1, seed=0)
    assert not np.allclose(X.data, X2.data)
    np.testing.assert_array_equal(datasets.make_moons(50, noise=0.1, seed=3)[0].data,
                                  datasets.make_moons(50, noise=0.1, seed=3)[0].data)
    Xs, ys = datasets.make_spiral(300, n_classes=3, seed=0)
    assert Xs.shape == (300, 2) and np.bincount(ys.data).tolist() == [100, 100, 100]
    assert np.abs(Xs.data).max() <= 1.0 + 1e-6
    Xr, yr, w = datasets.make_regression(50, n_features=3, noise=0.0, bias=2.0, coef=True, seed=0)
    assert Xr.shape == (50, 3) and yr.shape == (50,)
    np.testing.assert_allclose(yr.data, Xr.data @ w.data + 2.0, rtol=1e-4)
    with pytest.raises(ValueError):
        datasets.make_moons(0)


def test_load_digits():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.data.min() == 0 and X.data.max() == 16 and sorted(set(y.tolist())) == list(range(10))


def test_load_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        datasets.load_digits()
