"""The function forms ``ag.NAME`` of the elementwise catalogue: special functions, rounding,
logical and bitwise operations, and the arithmetic functions (``ag.add(x, y, alpha=...)``).
Each is the Tensor method of that name (see tensor_functions._function), so ``input`` may also be
a number or a list where torch accepts a Scalar (``ag.remainder(7, t)``, ``ag.xlogy(2, t)``).
"""
from __future__ import annotations

from .tensor_functions import _function

__all__: list[str] = [
    # arithmetic
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "neg", "negative",
    # special functions, powers, trigonometry
    "erf", "erfc", "erfinv", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal", "square", "tan",
    "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsinh",
    "arccosh", "arctanh",
    # rounding and cleaning
    "floor", "ceil", "round", "trunc", "fix", "frac", "nan_to_num",
    # functions of two tensors
    "logaddexp", "atan2", "arctan2", "fmod", "remainder", "copysign", "hypot", "lerp", "xlogy",
    # tests of values
    "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isclose", "allclose",
    # logical and bitwise operations
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
    # in-place forms that torch has as functions
    "abs_", "exp_", "exp2_", "expm1_", "log_", "log2_", "log10_", "log1p_", "sqrt_", "rsqrt_", "reciprocal_",
    "square_", "sin_", "cos_", "tan_", "asin_", "acos_", "atan_", "sinh_", "cosh_", "tanh_", "asinh_", "acosh_",
    "atanh_", "sigmoid_", "relu_", "erf_", "erfc_", "floor_", "ceil_", "trunc_", "fix_", "round_", "frac_",
    "nan_to_num_", "neg_", "negative_", "xlogy_",
]

for _name in __all__:
    globals()[_name] = _function(_name)
del _name
