import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "chainrule", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("chainrule")


@pytest.fixture(autouse=True)
def _seed_and_default_dtype():
    import autograd as ag

    ag.manual_seed(0)
    np.random.seed(0)
    yield
    ag.set_default_dtype(ag.float32)
