"""Helpers shared by the nn tests: copying weights into torch and comparing values and gradients."""
import numpy as np
import torch


def to_torch(t, requires_grad=False):
    arr = np.array(t.data if hasattr(t, "data") and not isinstance(t, np.ndarray) else t)
    out = torch.from_numpy(arr)
    if requires_grad:
        out.requires_grad_(True)
    return out


def copy_params(ours, theirs):
    """Give the torch module the same parameters and buffers as ours (names must match)."""
    sd = {k: torch.from_numpy(np.array(v.data)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd)


def close(ours, theirs, rtol=1e-5, atol=1e-6):
    a = np.asarray(ours.data if hasattr(ours, "data") and not isinstance(ours, np.ndarray) else ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def grads_close(ours_module, theirs_module, rtol=1e-5, atol=1e-6):
    theirs = dict(theirs_module.named_parameters())
    for name, p in ours_module.named_parameters():
        tp = theirs[name]
        if tp.grad is None:
            assert p.grad is None or np.all(p.grad.data == 0), name
            continue
        assert p.grad is not None, f"{name} got no gradient"
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
