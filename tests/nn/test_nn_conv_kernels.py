"""Every fast kernel of the convolution and pooling entries (autograd/ops/conv_kernels.py) against the
formula it replaces, on inputs its predicate accepts: the same values, up to the order of sums."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops import OPS
from autograd.ops.conv_kernels import CONV_KERNELS

RNG = np.random.default_rng(0)


def _pool_examples():
    """(g, out, x) and pooling params: disjoint and overlapping windows, padding, ceil-mode
    overhang, dilation, ties, NaN, channels-last memory."""
    cases = [((2, 3, 8, 8), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
             ((2, 3, 9, 7), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
             ((1, 2, 7, 7), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
             ((1, 2, 7, 8), (3, 2), (1, 2), ((1, 1), (0, 1)), (1, 1)),
             ((1, 2, 9, 9), (2, 2), (3, 3), ((0, 0), (0, 0)), (2, 2)),
             ((2, 2, 10), (3,), (3,), ((1, 2),), (1,)),
             ((1, 2, 4, 5, 6), (2, 2, 2), (2, 1, 2), ((0, 0), (1, 1), (0, 0)), (1, 2, 1))]
    out = []
    for dtype in (np.float32, np.float64):
        for shape, k, s, p, r in cases:
            for variant in ("plain", "ties", "nan", "channels_last"):
                x = RNG.standard_normal(shape).astype(dtype)
                if variant == "ties":
                    x = np.round(x).astype(dtype)
                if variant == "nan":
                    x.flat[RNG.integers(0, x.size, 3)] = np.nan
                if variant == "channels_last" and x.ndim == 4:
                    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
                params = {"kernel_size": k, "stride": s, "padding": p, "dilation": r}
                y = OPS["max_pool"].forward(x, **params)
                g = RNG.standard_normal(y.shape).astype(dtype)
                out.append(((g, y, x), params))
    return out


def _examples(name):
    if name == "max_pool_grad_direct":
        return _pool_examples()
    return []


@pytest.mark.parametrize("k", CONV_KERNELS, ids=[k.name for k in CONV_KERNELS])
def test_kernel_matches_the_formula_it_replaces(k):
    examples = _examples(k.name)
    assert examples, f"no examples for kernel {k.name}: add them to _examples"
    for args, params in examples:
        assert k.when(*args, **params), f"{k.name}'s predicate refuses its example"
        fast = k.run(*args, **params)
        assert fast is not None, f"{k.name} declined an example it should handle"
        reference = k.reference(*args, **params)
        assert fast.shape == reference.shape and fast.dtype == reference.dtype
        eps = np.finfo(reference.dtype).eps
        scale = np.maximum(np.abs(reference), 1.0)
        assert np.all(np.abs(fast - reference) <= 64 * eps * scale), k.name
        entry = OPS[k.op.name].forward if k.slot == "forward" else OPS[k.op.name].vjps[k.slot]
        np.testing.assert_array_equal(entry(*args, **params), fast)


def test_kernels_refuse_tensors_so_recorded_backward_passes_use_the_formulas():
    for k in CONV_KERNELS:
        args, params = _examples(k.name)[0]
        tensors = tuple(ag.tensor(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)
        assert not k.when(*tensors, **params), k.name
