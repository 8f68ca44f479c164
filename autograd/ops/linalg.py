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


defop(
    "matmul",
    _matmul,
    _matmul_grad_a,
    _matmul_grad_b,
    jvp=_bilinear_jvp(fn.matmul),
    doc="a @ b: da = g @ b^T, db = a^T @ g (vectors promoted and squeezed as numpy does)",
)


defop(
    "dot",
    lambda a, b: np.asarray(np.dot(a, b)),
    lambda g, out, a, b: g * b,
    lambda g, out, a, b: g * a,
    jvp=_bilinear_jvp(fn.dot),
    doc="sum_i a_i b_i of two vectors: da = g b, db = g a",
)
defop(
    "outer",
    np.outer,
    lambda g, out, a, b: g @ b,
    lambda g, out, a, b: a @ g,
    jvp=_bilinear_jvp(fn.outer),
    doc="out_ij = a_i b_j: da = g @ b, db = a @ g",
)


# -- einsum -------------------------------------------------------------------------------------------
# The entry runs on a canonical equation: explicit output, one letter per dimension (no ellipsis;
# see canonical_einsum). The gradient of operand k is itself an einsum: g and the other operands,
# contracted to operand k's subscripts; a letter that only operand k has (summed over it alone)
# comes back as a broadcast (a ones factor), and a repeated letter (a diagonal) as an identity
# factor that puts the gradient back on that diagonal.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_OPERANDS = 32  # (one VJP rule for each operand position)


def split_equation(equation):
    inputs, output = equation.split("->")
    return inputs.split(","), output


def _einsum(*operands, equation):
    # numpy's contraction order search pays for three operands or more, and for two large ones
    # (it then contracts with BLAS); for small pairs its own cost dominates
    optimize = len(operands) > 2 or sum(a.size for a in operands) > 4096
    return np.asarray(np.einsum(equation, *operands, optimize="greedy" if optimize else False))


def einsum_of(operands, equation):
    from . import OPS

    return fn.apply_op(OPS["einsum"], list(operands), {"equation": equation})


def _einsum_operand_grad(k):
    def rule(g, out, *operands, equation):
        inputs, output = split_equation(equation)
        target = inputs[k]
        used = set(equation)
        fresh = (c for c in LETTERS if c not in used)
        sizes = dict(zip(target, operands[k].shape))
        dtype = fn.const(g).dtype
        terms, factors = [output], [g]
        for j, sub in enumerate(inputs):
            if j != k:
                terms.append(sub)
                factors.append(operands[j])
        result, seen = [], set()
        for c in target:
            if c in seen:  # a diagonal: the gradient goes back on it, through an identity factor
                f = next(fresh)
                terms.append(c + f)
                factors.append(np.eye(sizes[c], dtype=dtype))
                result.append(f)
            else:
                seen.add(c)
                result.append(c)
        elsewhere = set("".join(terms))
        for c in seen - elsewhere:  # summed over operand k alone: its gradient is broadcast along c
            terms.append(c)
            factors.append(np.ones(sizes[c], dtype=dtype))
        return einsum_of(factors, ",".join(terms) + "->" + "".join(result))

    rule.__name__ = rule.__qualname__ = f"einsum_grad_{k}"
    return rule


def _einsum_jvp(tangents, out, *operands, equation):
    # multilinear: the sum over operands of the einsum with that operand's tangent in its place
    total = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        term = einsum_of(operands[:k] + (t,) + operands[k + 1 :], equation)
        total = term if total is None else total + term
    return total


defop(
    "einsum",
    _einsum,
    *[_einsum_operand_grad(k) for k in range(MAX_OPERANDS)],
    jvp=_einsum_jvp,
    half_in_float32=True,
    doc="einsum(equation, *x): dx_k = einsum of g with the other operands to x_k's subscripts "
    "(broadcast over letters only x_k has, on the diagonal for a repeated letter)",
)
