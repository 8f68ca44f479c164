import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_float64_scalars():
    """torch keeps optimizer scalars (step, NAdam's mu_product) in the default dtype: make it float64
    so that the oracle computes in the same precision as our Python floats."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
