"""ag.gradcheck: passes correct gradients, names the input and the worst element of a wrong one.

(The loop that gradchecks every op of the table lives in test_ops.py.)
"""
import re

import numpy as np
import pytest

import autograd as ag
from autograd.ops import OPS


def _x(shape, seed=0, requires_grad=True):
    return ag.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, size=shape), dtype=ag.float64,
                     requires_grad=requires_grad)


def test_correct_functions_pass():
    a, b = _x((3, 4)), _x((4,), 1)
    assert ag.gradcheck(lambda x, y: (x * y).tanh() + x.exp() / y, [a, b]) is True
    assert ag.gradcheck(lambda x: x @ x.T, [a]) is True
    assert ag.gradcheck(lambda x: x.sum(dim=1, keepdim=True) * x.mean(), a) is True  # a single Tensor works
    assert ag.gradcheck(lambda x: x ** 3, [_x(())]) is True  # 0-d input and output


def test_multiple_outputs_and_non_tensor_arguments():
    a = _x((2, 3))
    assert ag.gradcheck(lambda x, k: (x * k, x.sigmoid().sum()), [a, 3.0]) is True
    # an input that does not need grad is used but not checked
    c = _x((2, 3), 1, requires_grad=False)
    assert ag.gradcheck(lambda x, y: x * y, [a, c]) is True


def test_unused_input_has_zero_gradient():
    a, b = _x((2,)), _x((2,), 1)
    assert ag.gradcheck(lambda x, y: x * 2.0, [a, b]) is True


def test_inputs_restored_and_no_grad_accumulated():
    a = _x((2, 2))
    before = a.data.copy()
    ag.gradcheck(lambda x: (x * x).sum(), [a])
    np.testing.assert_array_equal(a.data, before)
    assert a.grad is None


def test_non_contiguous_input():
    # a transposed array: the perturbation must reach the tensor's own data
    a = ag.tensor(np.arange(1.0, 7.0).reshape(2, 3).T, requires_grad=True)
    assert not a.data.flags["C_CONTIGUOUS"]
    assert ag.gradcheck(lambda x: (x * x * x).sum(dim=0), [a]) is True


def test_float32_inputs_rejected_with_advice():
    with pytest.raises(ValueError, match=r"float64.*double\(\)"):
        ag.gradcheck(lambda x: x * 2.0, [ag.tensor([1.0, 2.0], requires_grad=True)])


def test_function_without_floating_output_raises():
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda x: x > 1.0, [_x((2,))])


class _WrongSquare(ag.Function):
    """x**2 with a backward that is wrong in one element only (index 2 of the flattened input)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        wrong = np.ones(x.shape)
        wrong.reshape(-1)[2] = 1.5
        return g * x * 2.0 * ag.tensor(wrong)


def test_wrong_custom_function_names_input_and_worst_element():
    good = _x((3,), 1)
    bad = _x((2, 3))
    with pytest.raises(ag.GradcheckError) as info:
        ag.gradcheck(lambda y, x: y * _WrongSquare.apply(x), [good, bad])
    msg = str(info.value)
    assert "input 1" in msg  # the second input: the first one's gradient is right
    assert "(0, 2)" in msg  # flat index 2 of a (2, 3) input
    nums = [float(v) for v in re.findall(r"(?:analytic|numeric) (-?[\d.e+-]+)", msg)]
    assert len(nums) == 2 and nums[0] != pytest.approx(nums[1], rel=1e-3)


def test_the_correct_custom_function_passes():
    class Square(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x * 2.0

    assert ag.gradcheck(Square.apply, [_x((2, 3))]) is True


def test_perturbed_table_rule_is_caught(monkeypatch):
    """A wrong derivative in the op table itself (test-local: monkeypatch restores the rule)."""
    op = OPS["sigmoid"]
    right = op.vjps[0]
    monkeypatch.setattr(op, "vjps", (lambda *args, **params: right(*args, **params) * 1.01,))
    with pytest.raises(ag.GradcheckError, match=r"input 0 \(shape \(4,\)\)"):
        ag.gradcheck(lambda x: x.sigmoid(), [_x((4,))])
    monkeypatch.undo()
    assert ag.gradcheck(lambda x: x.sigmoid(), [_x((4,))]) is True


def test_wrong_broadcast_reduction_is_caught(monkeypatch):
    # a rule that forgets the 1/n of mean is off by a factor: caught for every element
    op = OPS["mean"]
    right = op.vjps[0]
    monkeypatch.setattr(op, "vjps", (lambda g, out, x, **params: right(g, out, x, **params) * x.size,))
    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(lambda x: x.mean(dim=1), [_x((2, 3))])


def test_tolerances_are_used():
    class Off(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3.0

        @staticmethod
        def backward(ctx, g):
            return g * (3.0 + 1e-4)  # relative error 3.3e-5

    x = _x((3,))
    assert ag.gradcheck(Off.apply, [x]) is True  # within rtol=1e-3
    with pytest.raises(ag.GradcheckError, match="rtol=1e-06"):
        ag.gradcheck(Off.apply, [x], atol=1e-9, rtol=1e-6)


def test_nan_gradient_is_an_error():
    class NanGrad(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    with pytest.raises(ag.GradcheckError):
        ag.gradcheck(NanGrad.apply, [_x((2,))])


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(ag.GradcheckError, AssertionError)
