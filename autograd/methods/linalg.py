"""Matrix products beyond ``@``: mm, bmm, mv, t, dot and outer.

Each is matmul (or transpose) of the op table for the shapes it accepts, and refuses the others
as torch does (no broadcasting, no promotion between dtypes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ..ops import OPS
from ..tensor import as_tensor, binary
from .base import TensorMixin

if TYPE_CHECKING:
    from ..tensor import Tensor

_MATMUL = OPS["matmul"]


def _same_dtype(a, b, name):
    if a.dtype != b.dtype:
        raise RuntimeError(f"{name}: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}")


class LinalgMethods(TensorMixin):
    __slots__ = ()

    def mm(self, mat2) -> Tensor:
        """The matrix product of two 2-d tensors (n, k) @ (k, m)."""
        mat2 = as_tensor(mat2)
        if self.ndim != 2:
            raise RuntimeError(f"mm: self must be a matrix, got shape {self.shape}")
        if mat2.ndim != 2:
            raise RuntimeError(f"mm: mat2 must be a matrix, got shape {mat2.shape}")
        if self.shape[1] != mat2.shape[0]:
            raise RuntimeError(
                f"mm: mat1 and mat2 shapes cannot be multiplied ({self.shape[0]}x{self.shape[1]} and "
                f"{mat2.shape[0]}x{mat2.shape[1]})"
            )
        _same_dtype(self, mat2, "mm")
        return binary(_MATMUL, self, mat2)

    def bmm(self, mat2) -> Tensor:
        """Batched matrix products of two 3-d tensors (b, n, k) @ (b, k, m) (no broadcasting)."""
        mat2 = as_tensor(mat2)
        if self.ndim != 3:
            raise RuntimeError(f"bmm: batch1 must be a 3-d tensor, got shape {self.shape}")
        if mat2.ndim != 3:
            raise RuntimeError(f"bmm: batch2 must be a 3-d tensor, got shape {mat2.shape}")
        expected = (self.shape[0], self.shape[2])
        if mat2.shape[:2] != expected:
            raise RuntimeError(
                f"bmm: expected the first two dimensions of batch2 to be {list(expected)}, got "
                f"{list(mat2.shape[:2])} (batch1 has shape {self.shape})"
            )
        _same_dtype(self, mat2, "bmm")
        return binary(_MATMUL, self, mat2)

    def mv(self, vec) -> Tensor:
        """The product of a matrix (n, m) and a vector (m,)."""
        vec = as_tensor(vec)
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {self.shape} and {vec.shape}")
        if self.shape[1] != vec.shape[0]:
            raise RuntimeError(
                f"mv: size mismatch, matrix {self.shape[0]}x{self.shape[1]} and vector of size {vec.shape[0]}"
            )
        _same_dtype(self, vec, "mv")
        return binary(_MATMUL, self, vec)

    def t(self) -> Tensor:
        """The transpose of a matrix; a 0-d or 1-d tensor as it is."""
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but this one has {self.ndim} "
                f"(shape {self.shape}); use transpose(d0, d1) or permute"
            )
        return self.transpose(0, 1) if self.ndim == 2 else cast("Tensor", self)

    def dot(self, other) -> Tensor:
        """sum_i self_i other_i of two 1-d tensors of the same size."""
        other = as_tensor(other)
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(
                f"dot: 1-d tensors expected, got shapes {self.shape} and {other.shape} (use matmul for matrices)"
            )
        if self.shape != other.shape:
            raise RuntimeError(f"dot: the vectors have different sizes, {self.shape[0]} and {other.shape[0]}")
        return binary(OPS["dot"], self, other)

    def outer(self, other) -> Tensor:
        """out_ij = self_i other_j of two 1-d tensors."""
        other = as_tensor(other)
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"outer: 1-d tensors expected, got shapes {self.shape} and {other.shape}")
        return binary(OPS["outer"], self, other)
