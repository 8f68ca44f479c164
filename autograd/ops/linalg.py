"""Matrix products, with numpy's matmul rules: 1-D, 2-D and batched with broadcasting."""
import numpy as np

from . import defop, fn


def _matmul_grad_a(g, out, a, b):
    if b.ndim == 1:
        if a.ndim == 1:  # dot product: g is a scalar
            return g * b
        return fn.expand_dims(g, -1) * b  # (..., n, 1) * (k,): outer product per batch
    gb = fn.swapaxes(b, -1, -2)
    if a.ndim == 1:  # a (k,) behaved as (1, k)
        return (fn.expand_dims(g, -2) @ gb)[..., 0, :]
    return g @ gb


def _matmul_grad_b(g, out, a, b):
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return fn.expand_dims(a, -1) * fn.expand_dims(g, -2)  # (k, 1) * (..., 1, m)
    at = fn.swapaxes(a, -1, -2)
    if b.ndim == 1:  # b (k,) behaved as (k, 1)
        return (at @ fn.expand_dims(g, -1))[..., 0]
    return at @ g


def _matmul(a, b):
    return np.asarray(np.matmul(a, b))


def _bilinear_jvp(product):
    """The JVP of a product of two tensors: d(a . b) = da . b + a . db."""
    def jvp(tangents, out, a, b):
        ta, tb = tangents
        if ta is None:
            return product(a, tb)
        if tb is None:
            return product(ta, b)
        return product(ta, b) + product(a, tb)

    return jvp


defop("matmul", _matmul, _matmul_grad_a, _matmul_grad_b,
      jvp=_bilinear_jvp(fn.matmul), doc="a @ b: da = g @ b^T, db = a^T @ g (vectors promoted and squeezed as numpy does)")


defop("dot", lambda a, b: np.asarray(np.dot(a, b)), lambda g, out, a, b: g * b, lambda g, out, a, b: g * a,
      jvp=_bilinear_jvp(fn.dot), doc="sum_i a_i b_i of two vectors: da = g b, db = g a")
defop("outer", np.outer, lambda g, out, a, b: g @ b, lambda g, out, a, b: a @ g,
      jvp=_bilinear_jvp(fn.outer), doc="out_ij = a_i b_j: da = g @ b, db = a @ g")
