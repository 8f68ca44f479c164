"""Dtypes and type promotion against torch's rules, and the dtypes of gradients."""
import itertools

import numpy as np
import pytest
import torch

import autograd as ag

DTYPES = [ag.bool, ag.uint8, ag.int32, ag.int64, ag.float16, ag.float32, ag.float64]
TORCH = {ag.bool: torch.bool, ag.uint8: torch.uint8, ag.int32: torch.int32, ag.int64: torch.int64,
         ag.float16: torch.float16, ag.float32: torch.float32, ag.float64: torch.float64}


def test_dtype_objects_are_numpy_dtypes():
    assert ag.float32 == np.float32 and ag.float64 == np.float64 and ag.int64 == np.int64
    assert ag.bool == np.bool_
    assert ag.tensor([1.0], dtype=ag.float64).dtype is not None
    assert ag.tensor([1.0], dtype="float64").dtype == ag.float64  # anything np.dtype() understands


def _example(dt, ndim):
    values = np.array([1, 0, 1], dtype=dt) if ndim else np.array(1, dtype=dt)
    return values


@pytest.mark.parametrize("da, db", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("nda, ndb", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_binary_promotion_matches_torch(da, db, nda, ndb):
    a, b = _example(da, nda), _example(db, ndb)
    for name, f in (("add", lambda x, y: x + y), ("mul", lambda x, y: x * y)):
        expected = f(torch.from_numpy(a), torch.from_numpy(b)).dtype
        got = f(ag.tensor(a), ag.tensor(b)).dtype
        assert TORCH[got] == expected, f"{name}: {da}[{nda}-d] with {db}[{ndb}-d]"


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("c", [2, 2.5, True])
def test_python_number_promotion_matches_torch(dt, c):
    a = _example(dt, 1)
    for f in (lambda x: x + c, lambda x: c * x):
        assert TORCH[f(ag.tensor(a)).dtype] == f(torch.from_numpy(a)).dtype


@pytest.mark.parametrize("da, db", [(ag.int64, ag.int64), (ag.int32, ag.int64), (ag.bool, ag.int64),
                                    (ag.int64, ag.float32), (ag.float16, ag.float64)])
def test_true_division_matches_torch(da, db):
    a, b = np.array([3, 4], dtype=da), np.array([2, 8], dtype=db)
    out = ag.tensor(a) / ag.tensor(b)
    ref = torch.from_numpy(a) / torch.from_numpy(b)
    assert TORCH[out.dtype] == ref.dtype
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-3)
    assert TORCH[(ag.tensor(a) / 2).dtype] == (torch.from_numpy(a) / 2).dtype


def test_default_dtype_governs_int_division_and_float_numbers():
    ag.set_default_dtype(ag.float64)
    torch.set_default_dtype(torch.float64)
    try:
        i = np.array([1, 2])
        assert TORCH[(ag.tensor(i) / 2).dtype] == (torch.from_numpy(i) / 2).dtype == torch.float64
        assert TORCH[(ag.tensor(i) * 0.5).dtype] == (torch.from_numpy(i) * 0.5).dtype == torch.float64
        # a float32 tensor stays float32 whatever the default
        assert (ag.tensor([1.0], dtype=ag.float32) * 0.5).dtype == ag.float32
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("leaf_dtype, other_dtype", [(ag.float32, ag.float64), (ag.float64, ag.float32),
                                                     (ag.float16, ag.float32), (ag.float32, ag.int64)])
def test_gradient_has_the_leaf_dtype(leaf_dtype, other_dtype):
    x = ag.tensor([1.0, 2.0], dtype=leaf_dtype, requires_grad=True)
    c = ag.tensor([3, 4], dtype=other_dtype)
    out = (x * c + x / (c + 1)).sum()
    out.backward()
    assert x.grad.dtype == leaf_dtype
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64), [3 + 1 / 4, 4 + 1 / 5], rtol=1e-3)


def test_mixed_float_leaves_each_get_their_own_dtype():
    a = ag.tensor([1.5], dtype=ag.float32, requires_grad=True)
    b = ag.tensor([2.5], dtype=ag.float64, requires_grad=True)
    y = a * b
    assert y.dtype == ag.float64
    y.sum().backward()
    assert a.grad.dtype == ag.float32 and b.grad.dtype == ag.float64
    assert a.grad.item() == 2.5 and b.grad.item() == 1.5


def test_cast_to_int_is_not_recorded():
    x = ag.tensor([1.7], requires_grad=True)
    i = x.to(ag.int64)
    assert i.dtype == ag.int64 and not i.requires_grad


def test_set_default_dtype_accepts_only_floating():
    for bad in (ag.int64, ag.bool, "int32"):
        with pytest.raises(TypeError, match="floating"):
            ag.set_default_dtype(bad)
    assert ag.get_default_dtype() == ag.float32
    ag.set_default_dtype("float64")
    assert ag.get_default_dtype() == ag.float64
