"""``ag.autograd``: the names of ``torch.autograd`` in one place, so that code written against it
ports by changing the import: ``ag.autograd.grad``, ``ag.autograd.backward``, ``ag.autograd.Function``,
``ag.autograd.functional``, ``ag.autograd.forward_ad``, ``ag.autograd.gradcheck`` and the gradient
modes. Each is the object of the same name in ``ag`` (nothing is defined twice)."""

from __future__ import annotations

from . import forward_ad, functional
from .anomaly import detect_anomaly
from .function import Function, FunctionCtx
from .functional import backward, grad
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "grad",
    "backward",
    "Function",
    "FunctionCtx",
    "functional",
    "forward_ad",
    "gradcheck",
    "gradgradcheck",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "detect_anomaly",
]
