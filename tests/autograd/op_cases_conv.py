"""Cases of test_ops.py for the convolution, pooling, padding, resampling and attention: see op_cases.py for what a case is."""
from op_cases import case  # noqa: F401
