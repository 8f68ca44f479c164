"""Every fast kernel (autograd/ops/kernels.py) against the formula of the table entry it replaces,
on inputs its predicate accepts: the same values, up to the order of floating-point sums."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops import OPS
from autograd.ops.kernels import FRESH, IN_PLACE, KERNELS

RNG = np.random.default_rng(0)


def _logits(n, c, dtype):
    return (RNG.standard_normal((n, c)) * 3).astype(dtype)


def _nll_inputs(n, c, dtype, reduction, weighted):
    logp = OPS["log_softmax"].forward(_logits(n, c, dtype), axis=1)
    target = RNG.integers(0, c, n)
    weight = (RNG.random(c) + 0.5).astype(dtype) if weighted else np.ones(c, dtype)
    return (logp, target, weight), {"ignore_index": -100, "smoothing": 0.0, "reduction": reduction}


def _feature_maps(dtype):
    """A CNN's feature maps, large enough (over 4 MiB) that the kernels split them over threads."""
    return (37, 32, 30, 30) if np.dtype(dtype).itemsize == 4 else (19, 32, 30, 30)


def _channels_first(x):
    """x with its memory laid out (C, N, ...), as a convolution's output is."""
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(x, 0, 1)), 0, 1)


def _examples(name):
    """(args, params) pairs the kernel ``name`` accepts."""
    out = []
    for dtype in (np.float32, np.float64):
        if name == "relu_rows":
            for shape in [(7,), (3, 5), (2, 3, 4), (128, 256), _feature_maps(dtype)]:
                x = RNG.standard_normal(shape).astype(dtype)
                x.flat[0] = 0.0
                out.append(((x,), {}))
            out.append(((_channels_first(RNG.standard_normal(_feature_maps(dtype)).astype(dtype)),), {}))
        elif name == "relu_grad_in_parts":
            for layout in (np.asarray, _channels_first):
                x = layout(RNG.standard_normal(_feature_maps(dtype)).astype(dtype))
                x.flat[0], x.flat[-1] = 0.0, np.nan
                g = RNG.standard_normal(x.shape).astype(dtype)
                g.flat[1] = np.inf
                out.append(((g, np.maximum(x, 0), x), {}))
        elif name == "relu_grad_in_place":
            for shape in [(7,), (3, 5), (2, 3, 4), (128, 256)]:
                x = RNG.standard_normal(shape).astype(dtype)
                x.flat[0] = 0.0
                x.flat[-1] = np.nan
                g = RNG.standard_normal(shape).astype(dtype)
                g.flat[1] = np.inf  # (inf * 0 is nan in both)
                out.append(((g, np.maximum(x, 0), x), {}))
        elif name == "linear_grad_b_rows":
            for n, i, o in [(1, 3, 4), (128, 64, 256), (512, 20, 10), (4096, 2, 3)]:
                x = RNG.standard_normal((n, i)).astype(dtype)
                w, b = RNG.standard_normal((o, i)).astype(dtype), RNG.standard_normal(o).astype(dtype)
                g = RNG.standard_normal((n, o)).astype(dtype)
                g[0, 0] = 1e6  # a large term: the sums' orders differ, their values agree to the result's scale
                out.append(((g, OPS["linear"].forward(x, w, b), x, w, b), {}))
        elif name == "log_softmax_rows":
            for n, c in [(16, 1), (16, 2), (128, 10), (17, 16), (64, 17), (512, 32)]:
                x = _logits(n, c, dtype)
                x[0, 0] = 80.0  # a large logit: the max is subtracted in both
                out.append(((x,), {"axis": 1}))
                out.append(((x,), {"axis": (1,)}))
        elif name == "log_softmax_grad_in_place":
            for shape, axis in [((128, 10), 1), ((5, 20), 1), ((40, 33), 1), ((4, 3, 5), 2), ((6,), 0), ((3, 4), 0)]:
                x = (RNG.standard_normal(shape) * 2).astype(dtype)
                lsm = OPS["log_softmax"].forward(x, axis=axis)
                g = RNG.standard_normal(shape).astype(dtype)
                out.append(((g, lsm, x), {"axis": axis}))
        elif name in ("nll_loss_rows", "nll_loss_grad_rows"):
            for n, c in [(1, 3), (128, 10), (5000, 4)]:
                for reduction in ("mean", "sum", "none"):
                    for weighted in (False, True):
                        args, params = _nll_inputs(n, c, dtype, reduction, weighted)
                        if name == "nll_loss_grad_rows":
                            g = RNG.standard_normal((n,) if reduction == "none" else ()).astype(dtype)
                            out_value = OPS["nll_loss"].forward(*args, **params)
                            args = (g, out_value) + args
                        out.append((args, params))
    return out


@pytest.mark.parametrize("k", KERNELS, ids=[k.name for k in KERNELS])
def test_kernel_matches_the_formula_it_replaces(k):
    examples = _examples(k.name)
    assert examples, f"no examples for kernel {k.name}: add them to _examples"
    for args, params in examples:
        assert k.when(*args, **params), f"{k.name}'s predicate refuses its example"
        reference = k.reference(*args, **params)
        if k.slot != "forward" and k.slot.__class__ is str:  # an in-place rule: it writes into g, a copy here
            g = args[0].copy()
            fast = k.run(g, *args[1:], **params)
            assert fast is g, f"{k.name} must return the gradient it was given, now holding its result"
            np.testing.assert_array_equal(fast, reference)  # (the same operations: the same bits)
            np.testing.assert_array_equal(IN_PLACE[k.op, int(k.slot.split()[0])](args[0].copy(), *args[1:], **params),
                                          reference)
            continue
        fast = k.run(*args, **params)
        assert fast is not None, f"{k.name} declined an example it should handle"
        assert fast.shape == reference.shape and fast.dtype == reference.dtype
        # the same values, up to the order of summation (a few ulps of the result's scale)
        eps = np.finfo(reference.dtype).eps
        scale = np.maximum(np.abs(reference), 1.0)
        if k.name == "linear_grad_b_rows":
            # a sum of n terms, in any order, is within n eps (sum of their magnitudes) of the exact
            # sum (Higham's bound): so the two orders are within twice that of each other
            n = args[0].shape[0]
            scale = np.maximum(n / 32 * np.abs(args[0]).sum(axis=0), 1.0)
        with np.errstate(invalid="ignore"):  # (inf - inf: equal infinities pass by the second test)
            close = (np.abs(fast - reference) <= 64 * eps * scale) | (fast == reference)
        assert np.all(close | (np.isnan(fast) & np.isnan(reference))), k.name
        # ... and what the dispatching entry returns is the kernel's
        entry = OPS[k.op.name].forward if k.slot == "forward" else OPS[k.op.name].vjps[k.slot]
        np.testing.assert_array_equal(entry(*args, **params), fast)


@pytest.mark.parametrize("threads", ["1", "3"])
def test_relu_kernels_in_parts_give_the_formulas_bits(threads, monkeypatch):
    """relu's kernels on feature maps, whole (one thread) or in parts on three threads: the
    formula's values exactly, NaN and inf included."""
    monkeypatch.setenv("CHAINRULE_THREADS", threads)
    for k in KERNELS:
        if k.name in ("relu_rows", "relu_grad_in_parts"):
            for args, params in _examples(k.name):
                np.testing.assert_array_equal(k.run(*args, **params), k.reference(*args, **params))


def test_kernels_refuse_tensors_so_recorded_backward_passes_use_the_formulas():
    """Under create_graph a rule receives Tensors: no kernel's predicate accepts them."""
    for k in KERNELS:
        args, params = _examples(k.name)[0]
        tensors = tuple(ag.tensor(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)
        assert not k.when(*tensors, **params), k.name


def test_kernels_decline_what_the_formula_must_handle():
    # a row whose max is infinite: the formula's shift handles it
    x = _logits(32, 4, np.float64)
    x[3, 1] = np.inf
    x[5] = -np.inf
    lsm = OPS["log_softmax"].forward(x, axis=1)
    from autograd.ops.reduce import _log_softmax
    np.testing.assert_array_equal(lsm, _log_softmax(x, axis=1))
    # a target outside [0, C): the formula raises its error
    (logp, target, weight), params = _nll_inputs(20, 3, np.float64, "mean", False)
    target[4] = 3
    with pytest.raises(IndexError, match="out of bounds"):
        OPS["nll_loss"].forward(logp, target, weight, **params)


def test_in_place_rules_fall_back_where_the_gradient_is_not_theirs_to_write():
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    rule = IN_PLACE[OPS["relu"], 0]
    want = OPS["relu"].vjps[0](np.ones((4, 5), np.float32), np.maximum(x, 0), x)
    base = np.ones((4, 10), np.float32)
    view = base[:, :5]  # a view: writing into it would change base
    np.testing.assert_array_equal(rule(view, np.maximum(x, 0), x), want)
    np.testing.assert_array_equal(base, 1.0)
    wider = np.ones((4, 5), np.float64)  # another dtype than x's: the formula's result is float64
    assert rule(wider, np.maximum(x, 0), x) is not wider


def test_fresh_rules_return_new_arrays():
    """kernels.FRESH lists rules whose result is never one of their arguments nor a view of one: the
    replay lets the node that receives it write into it (kernels.IN_PLACE)."""
    x, w, b = (RNG.standard_normal(s).astype(np.float32) for s in ((6, 3), (4, 3), (4,)))
    out = OPS["linear"].forward(x, w, b)
    for op, slot in FRESH:
        assert op.name == "linear", "add examples for the new FRESH rule here"
        args = (np.ones_like(out), out, x, w, b)
        got = op.vjps[slot](*args)
        assert got.base is None and not any(np.shares_memory(got, a) for a in args)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, ">f4"])
def test_kept_numbers_give_the_bits_of_the_python_number(dtype):
    """x + c, x * c, x / c and the rules' g * c, g / c take c as a kept 0-d array of x's dtype
    (ops.number_operand) where that gives numpy's own result for the Python number: every value
    and dtype here, the kept array or not (zero, NaN, inf, huge and tiny numbers, ints, float16,
    a big-endian array), gives exactly what the Python number gives."""
    from autograd.ops import number_operand

    x = (RNG.standard_normal(257) * 1e3).astype(dtype)
    numbers = [1.0001, -0.0001, 3.3, 1e-20, 7e29, 1e31, 1e-31, 0.0, -0.0, np.nan, np.inf, 2, True, 5e-324]
    with np.errstate(all="ignore"):
        for c in numbers:
            for f in (np.add, np.multiply, np.true_divide):
                expected = f(x, c)
                got = f(x, number_operand(c, x))
                assert got.dtype == expected.dtype, (c, f)
                np.testing.assert_array_equal(got, expected)
                x0 = x[3:4].reshape(())  # (a 0-d array too)
                np.testing.assert_array_equal(f(x0, number_operand(c, x0)), f(x0, c))


def test_scalar_operations_under_create_graph_are_still_recorded_with_their_number():
    x = ag.tensor([0.5, -1.5, 2.0], requires_grad=True)
    (g,) = ag.grad((x * 1.7 / 3.1 + 0.25).pow(2).sum(), (x,), create_graph=True)
    (gg,) = ag.grad(g.sum(), (x,))
    np.testing.assert_allclose(gg.data, 2 * (1.7 / 3.1) ** 2 * np.ones(3), rtol=1e-6)
