"""Cases of test_ops.py for the elementwise catalogue (special functions, rounding, logical and bitwise ops, activations): see op_cases.py for what a case is."""
from op_cases import case  # noqa: F401
