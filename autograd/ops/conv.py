"""Convolution and its transposes, as im2col (or an equivalent strided view) and one BLAS product;
unfold/fold."""
from __future__ import annotations

from . import defop  # noqa: F401
