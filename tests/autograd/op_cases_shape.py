"""Cases of test_ops.py for the reductions, scans, sorting, shape, indexing and linear-algebra catalogue: see op_cases.py for what a case is."""
from op_cases import case  # noqa: F401
