"""Every fast kernel of the convolution and pooling entries (autograd/ops/conv_kernels.py) against the
formula it replaces, on inputs its predicate accepts: the same values, up to the order of sums."""

import sys

import numpy as np
import pytest

import autograd as ag
from autograd.ops import OPS
from autograd.ops.conv_kernels import CONV_KERNELS

RNG = np.random.default_rng(0)


def _pool_examples():
    """(g, out, x) and pooling params: disjoint and overlapping windows, padding, ceil-mode
    overhang, dilation, ties, NaN, channels-last memory."""
    cases = [
        ((2, 3, 8, 8), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
        ((2, 3, 9, 7), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
        ((1, 2, 7, 7), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
        ((1, 2, 7, 8), (3, 2), (1, 2), ((1, 1), (0, 1)), (1, 1)),
        ((1, 2, 9, 9), (2, 2), (3, 3), ((0, 0), (0, 0)), (2, 2)),
        ((2, 2, 10), (3,), (3,), ((1, 2),), (1,)),
        ((1, 2, 4, 5, 6), (2, 2, 2), (2, 1, 2), ((0, 0), (1, 1), (0, 0)), (1, 2, 1)),
    ]
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


def _conv_transpose_examples():
    """(x, w, b) and conv_transpose params as a convolution's input gradient and as a layer uses
    it: stride, padding (uneven), dilation, groups, output padding, 1-D/2-D/3-D, with and without
    bias, a transposed (channels-first in memory) x as a conv's output gradient arrives."""
    cases = [  # x shape, w shape, stride, padding, dilation, groups, output size
        ((8, 4, 6, 6), (4, 3, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, (8, 8)),
        ((8, 4, 5, 4), (4, 2, 3, 2), (2, 1), ((1, 1), (0, 1)), (1, 1), 2, (9, 4)),
        ((9, 6, 4, 4), (6, 1, 2, 3), (1, 2), ((1, 0), (2, 2)), (2, 1), 3, (4, 6)),
        ((10, 3, 7, 5), (3, 2, 3, 3), (2, 2), ((0, 0), (0, 0)), (1, 1), 1, (16, 12)),
        ((8, 2, 11), (2, 3, 4), (3,), ((2, 2),), (2,), 1, (33,)),
        ((8, 2, 3, 4, 3), (2, 2, 2, 2, 2), (1, 2, 1), ((0, 0), (1, 1), (0, 0)), (1, 1, 2), 1, (4, 7, 5)),
    ]
    out = []
    for dtype in (np.float32, np.float64):
        for xs, ws, s, p, r, groups, size in cases:
            for bias in (False, True):
                x = RNG.standard_normal(xs).astype(dtype)
                if bias:
                    x = np.swapaxes(np.ascontiguousarray(np.swapaxes(x, 0, 1)), 0, 1)
                w = RNG.standard_normal(ws).astype(dtype)
                b = RNG.standard_normal(ws[1] * groups).astype(dtype) if bias else np.zeros(0, dtype)
                params = {"stride": s, "padding": p, "dilation": r, "groups": groups, "output_size": size}
                out.append(((x, w, b), params))
    return out


_CONV_CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((4, 3, 8, 8), (5, 3, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    ((2, 4, 9, 7), (6, 2, 3, 2), (2, 1), ((1, 1), (0, 1)), (1, 2), 2),
    ((3, 6, 6, 6), (3, 2, 2, 3), (1, 2), ((2, 1), (1, 1)), (2, 1), 3),
    ((2, 2, 11), (3, 2, 4), (3,), ((2, 2),), (2,), 1),
    ((2, 2, 4, 5, 4), (2, 2, 2, 2, 2), (1, 2, 1), ((0, 0), (1, 1), (0, 0)), (1, 1, 2), 1),
]


def _conv_examples(rule):
    """(x, w, b) for the forward, or (g, out, x, w, b) for the weight rule (out made by the forward,
    which keeps its columns), with conv params: stride, uneven padding, dilation, groups, 1-D to
    3-D, with and without bias, a channels-last x."""
    out = []
    for dtype in (np.float32, np.float64):
        for xs, ws, s, p, r, groups in _CONV_CASES:
            for bias in (False, True):
                x = RNG.standard_normal(xs).astype(dtype)
                if bias:
                    x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
                w = RNG.standard_normal(ws).astype(dtype)
                b = RNG.standard_normal(ws[0]).astype(dtype) if bias else np.zeros(0, dtype)
                params = {"stride": s, "padding": p, "dilation": r, "groups": groups}
                if not rule:
                    out.append(((x, w, b), params))
                    continue
                y = OPS["conv"].forward(x, w, b, **params)
                g = RNG.standard_normal(y.shape).astype(dtype)
                if bias:  # g laid out as the forward's output, (C, N, *sp)
                    g = np.swapaxes(np.ascontiguousarray(np.swapaxes(g, 0, 1)), 0, 1)
                out.append(((g, y, x, w, b), params))
    return out


def _examples(name):
    if name == "max_pool_grad_direct":
        return _pool_examples()
    if name == "max_pool_in_parts":
        return [((x,), params) for (_, _, x), params in _pool_examples()]
    if name == "conv_transpose_batch_last":
        return _conv_transpose_examples()
    if name == "conv_keeping_columns":
        return _conv_examples(rule=False)
    if name == "conv_weight_grad_kept_columns":
        return _conv_examples(rule=True)
    if name == "bias_grad_by_blas":  # (g laid out (C, N, *sp) as a conv's output, and C-contiguous)
        with_bias = [(args, params) for args, params in _conv_examples(rule=True) if args[4].size]
        return with_bias + [((np.ascontiguousarray(args[0]),) + args[1:], params) for args, params in with_bias]
    return []


def test_kept_columns_serve_only_their_own_output_and_input():
    """The weight rule uses the forward's columns once, for the output and the x they were built
    for; another x (same shape), a second backward or a forward under no_grad gets the formula."""
    from autograd.ops import conv_kernels as K

    (g, y, x, w, b), params = _conv_examples(rule=True)[0]
    reference = next(k.reference for k in CONV_KERNELS if k.name == "conv_weight_grad_kept_columns")
    other = x + 1
    assert K.conv_weight_grad_kept_columns(g, y, other, w, b, **params) is None
    kept = K.conv_weight_grad_kept_columns(g, y, x, w, b, **params)
    np.testing.assert_array_equal(kept, reference(g, y, x, w, b, **params))
    assert K.conv_weight_grad_kept_columns(g, y, x, w, b, **params) is None  # taken once
    with ag.no_grad():
        y2 = OPS["conv"].forward(x, w, b, **params)
    assert K.conv_weight_grad_kept_columns(g, y2, x, w, b, **params) is None
    before = len(K._KEPT)
    y3 = OPS["conv"].forward(x, w, b, **params)
    assert len(K._KEPT) == before + 1
    del y3  # the entry goes with its output
    assert len(K._KEPT) == before


def test_an_in_place_change_after_the_forward_is_refused_not_served_stale():
    import nn.functional as F

    x = ag.tensor(RNG.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = ag.tensor(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    h = x * 1.0
    y = F.conv2d(h, w)
    with ag.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError):
        y.sum().backward()
    y = F.conv2d(h, w)  # made again from the new values: the gradient of the new columns
    (gw,) = ag.grad(y.sum(), (w,))
    expected = ag.grad(F.conv2d(ag.tensor(h.data.copy()), w).sum(), (w,))[0]
    np.testing.assert_allclose(gw.data, expected.data, rtol=1e-6)


def test_conv_transpose_kernel_gives_the_formulas_bits_and_layout():
    """The batch-last col2im adds the same terms in the same order: the same values bit for bit,
    returned C-contiguous (N, C, *size)."""
    from autograd.ops.conv_kernels import conv_transpose_batch_last

    reference = next(k.reference for k in CONV_KERNELS if k.name == "conv_transpose_batch_last")
    for (x, w, b), params in _conv_transpose_examples():
        fast = conv_transpose_batch_last(x, w, b, **params)
        np.testing.assert_array_equal(fast, reference(x, w, b, **params))
        assert fast.flags.c_contiguous


def test_conv_gradients_through_the_kernel_match_torch():
    """A strided, padded, grouped conv2d at a batch the kernel serves: x's gradient (the kernel),
    w's and b's against torch."""
    torch = pytest.importorskip("torch")
    import nn.functional as F

    x = RNG.standard_normal((16, 4, 9, 9)).astype(np.float32)
    w = RNG.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(6).astype(np.float32)
    g = RNG.standard_normal((16, 6, 5, 5)).astype(np.float32)
    xa, wa, ba = (ag.tensor(a, requires_grad=True) for a in (x, w, b))
    ours = ag.grad(F.conv2d(xa, wa, ba, stride=2, padding=1, groups=2), (xa, wa, ba), ag.tensor(g))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.conv2d(xt, wt, bt, stride=2, padding=1, groups=2)
    theirs = torch.autograd.grad(y, (xt, wt, bt), torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.data, t.numpy(), rtol=1e-4, atol=1e-4)


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
        close = np.abs(fast - reference) <= 64 * eps * scale
        assert np.all(close | (np.isnan(fast) & np.isnan(reference))), k.name
        entry = OPS[k.op.name].forward if k.slot == "forward" else OPS[k.op.name].vjps[k.slot]
        np.testing.assert_array_equal(entry(*args, **params), fast)


@pytest.mark.parametrize("threads", [2, 3])
def test_kernels_split_over_threads_give_the_whole_calls_bits(threads, monkeypatch):
    """Every kernel with its work cut into parts on a few threads (autograd/ops/threads.py; here
    even the examples' small arrays) gives what one call in one thread gives, bit for bit."""
    from autograd.ops import threads as T

    def run_all():  # (the same examples each time: the weight rule takes the forward's columns once)
        monkeypatch.setattr(sys.modules[__name__], "RNG", np.random.default_rng(1))
        return [k.run(*args, **params) for k in CONV_KERNELS for args, params in _examples(k.name)]

    monkeypatch.setenv(T.THREADS_ENV, "1")
    wholes = run_all()
    monkeypatch.setenv(T.THREADS_ENV, str(threads))
    monkeypatch.setattr(T, "MIN_BYTES", 0)
    parts = run_all()
    for whole, part in zip(wholes, parts, strict=True):
        np.testing.assert_array_equal(part, whole)


def test_a_bad_thread_count_is_named(monkeypatch):
    from autograd.ops import threads as T

    monkeypatch.setenv(T.THREADS_ENV, "two")
    with pytest.raises(ValueError, match="CHAINRULE_THREADS='two'"):
        T.thread_count()


def test_an_error_in_a_part_reaches_the_caller(monkeypatch):
    from autograd.ops import threads as T

    monkeypatch.setenv(T.THREADS_ENV, "2")
    seen = []

    def run(lo, hi):
        seen.append((lo, hi))
        if lo == 0:
            raise FloatingPointError("part 0")

    with pytest.raises(FloatingPointError, match="part 0"):
        T.split(run, 8, T.MIN_BYTES)
    T.split(lambda lo, hi: seen.append((lo, hi)), 8, T.MIN_BYTES)
    assert sorted(seen[-4:]) == [(0, 2), (2, 4), (4, 6), (6, 8)]


def test_kernels_refuse_tensors_so_recorded_backward_passes_use_the_formulas():
    for k in CONV_KERNELS:
        args, params = _examples(k.name)[0]
        tensors = tuple(ag.tensor(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)
        assert not k.when(*tensors, **params), k.name
