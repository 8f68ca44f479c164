"""Forward mode for Scalars: dual numbers x + t ε (ε² = 0) on the same graph.

``ag.forward_ad.make_dual(s, t)`` of a Scalar gives a DualScalar: a Scalar that also carries a
tangent t (a direction ds). Every Scalar operation already computes the local partial derivatives
of its result on its edges (for backward); a DualScalar's operation also adds them up along the
tangents: d out = (d out/d a) da + (d out/d b) db, the chain rule run forwards. So one forward pass
gives the derivative of every result along the direction of the inputs' tangents (one JVP), where
one backward pass gives the gradient of one result with respect to every input (one VJP): forward
mode costs a pass per input, reverse mode a pass per output.

DualScalars are Scalars (micrograd's Values): they draw, backpropagate and mix with plain Scalars
and numbers, whose tangent is 0.
"""

from __future__ import annotations

from .scalar import Scalar, _new


def _tangent_of(x):
    return x._tangent if isinstance(x, DualScalar) else 0.0


class DualScalar(Scalar):
    """A Scalar with a tangent (``.tangent``): the derivative of its value along a direction."""

    __slots__ = ()

    @classmethod
    def of(cls, scalar, tangent) -> DualScalar:
        """A dual number with ``scalar``'s value and ``tangent``: a node reading ``scalar`` (identity,
        so backward still reaches it)."""
        if not isinstance(scalar, Scalar):
            raise TypeError(f"a DualScalar is made from a Scalar, got {type(scalar).__name__}")
        out = _new(cls)
        out.data, out.grad, out.label, out._op = scalar.data, 0.0, "", "dual"
        out._a, out._b, out._da, out._db = scalar, None, 1.0, 0.0
        out._tangent = float(getattr(tangent, "data", tangent))
        return out

    @property
    def tangent(self) -> float:
        return self._tangent

    def _apply(self, name, other=None):
        out = Scalar._apply(self, name, other)
        t = out._da * self._tangent
        if other is not None:
            t += out._db * _tangent_of(other)
        return _dual(out, t)

    def _rapply(self, name, other):
        out = Scalar._apply(Scalar(other), name, self)  # other (a number) op self
        return _dual(out, out._db * self._tangent)

    # (Python asks a subclass's reflected operator first only when the subclass defines its own)
    def __add__(self, other):
        return self._apply("+", other)

    def __radd__(self, other):
        return self._rapply("+", other)

    def __sub__(self, other):
        return self._apply("-", other)

    def __rsub__(self, other):
        return self._rapply("-", other)

    def __mul__(self, other):
        return self._apply("*", other)

    def __rmul__(self, other):
        return self._rapply("*", other)

    def __truediv__(self, other):
        return self._apply("/", other)

    def __rtruediv__(self, other):
        return self._rapply("/", other)

    def __pow__(self, other):
        return Scalar.__pow__(self, other)

    def __rpow__(self, other):
        return self._rapply("**", other)

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"DualScalar(data={self.data:.6g}, tangent={self._tangent:.6g}, grad={self.grad:.6g}{label})"


def _dual(out, tangent):
    out.__class__ = DualScalar  # (the same slots: the node Scalar._apply made, now dual)
    out._tangent = tangent
    return out
