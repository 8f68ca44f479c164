"""Fast kernels, beside the formula sheet.

The entries of the table are the formulas a student checks against the lecture. Where a faster
computation of the same thing pays (a layout numpy reduces slowly, a gradient that is mostly
zeros), it lives here: a *kernel* replaces one entry's forward or one of its rules on the inputs
its predicate ``when`` accepts, and the formula runs on everything else. PyTorch keeps
``derivatives.yaml`` one formula per input and its fast kernels in ATen for the same reason.

    @kernel("log_softmax", "forward", when=few_class_rows)
    def log_softmax_rows(x, *, axis): ...

A kernel computes what its formula computes, on the inputs its predicate accepts (the order of a
floating-point sum may differ, so the last bits may); it may decline (return None) when a check it
can only make on its own work fails, and the formula then runs. Kernels run on ndarrays only: a
rule called under create_graph receives Tensors, which every predicate here refuses, so recorded
backward passes always use the formulas. ``tests/autograd/test_kernels.py`` runs every kernel
against the formula it replaces.
"""

from __future__ import annotations

import math

import numpy as np

from . import OPS, constant, ones_vector
from .threads import split


class Kernel:
    """A registered kernel: ``run`` replaces ``reference`` (op ``op``'s forward, or its rule for
    input ``slot``) where ``when`` accepts the arguments."""

    __slots__ = ("name", "op", "slot", "when", "run", "reference")

    def __init__(self, name, op, slot, when, run, reference):
        self.name, self.op, self.slot, self.when, self.run, self.reference = name, op, slot, when, run, reference

    def __repr__(self):
        return f"<kernel {self.name} for {self.op.name} {self.slot}>"


KERNELS: list[Kernel] = []


def kernel(op_name: str, slot, when):
    """Register the decorated function as a kernel of ``OPS[op_name]``'s forward (``slot`` is
    ``"forward"``) or of its rule for input ``slot`` (an int), used where ``when(*args, **params)``
    (the same arguments) is true."""

    def register(run):
        op = OPS[op_name]
        reference = op.forward if slot == "forward" else op.vjps[slot]
        dispatch = _dispatcher(when, run, reference)
        if slot == "forward":
            op.forward = dispatch
        else:
            op.vjps = op.vjps[:slot] + (dispatch,) + op.vjps[slot + 1 :]
        KERNELS.append(Kernel(run.__name__, op, slot, when, run, reference))
        return run

    return register


def _dispatcher(when, run, reference):
    def dispatch(*args, **params):
        if when(*args, **params):
            out = run(*args, **params)
            if out is not None:
                return out
        return reference(*args, **params)

    dispatch.__name__ = dispatch.__qualname__ = f"{reference.__name__}_or_{run.__name__}"
    return dispatch


# -- relu: a vectorised maximum ------------------------------------------------------------------


def _float_array(x):
    return x.__class__ is np.ndarray and x.ndim > 0 and x.dtype.kind == "f"


_BLAS_SUM_MAX = 4096  # terms: a longer sum is left to numpy (whose pairwise sum of a vector beats BLAS's dot)
_SPLIT_BYTES = 4 << 20  # an array from this size up is done in parts on a few threads (threads.py)


@kernel("relu", "forward", when=_float_array)
def relu_rows(x):
    """max(x, 0) against a cached row of zeros broadcast along the last axis: numpy's maximum has no
    vectorised loop for a scalar operand (about 5x slower than for two arrays); a large x (a CNN's
    feature maps) in parts of its first axis on a few threads. The same values."""
    n, dtype = x.shape[-1], x.dtype
    zeros = constant(("zeros", n, dtype), lambda: np.zeros(n, dtype))
    if x.nbytes < _SPLIT_BYTES or x.ndim < 2:
        return np.maximum(x, zeros)
    out = np.empty_like(x)  # (x's memory layout, as np.maximum's own result would have)
    split(lambda lo, hi: np.maximum(x[lo:hi], zeros, out=out[lo:hi]), x.shape[0], 2 * x.nbytes)
    return out


def _large_relu_grad(g, out, x):
    return (
        x.__class__ is np.ndarray
        and g.__class__ is np.ndarray
        and x.nbytes >= _SPLIT_BYTES
        and x.ndim >= 2
        and g.shape == x.shape
        and g.dtype == x.dtype
        and x.dtype.kind == "f"
    )


@kernel("relu", 0, when=_large_relu_grad)
def relu_grad_in_parts(g, out, x):
    """The formula g [x > 0] for a large x, in parts of its first axis on a few threads (threads.py):
    the same values."""
    dx = np.empty_like(g)

    def rows(lo, hi):
        np.multiply(g[lo:hi], np.greater(x[lo:hi], 0), out=dx[lo:hi])

    split(rows, x.shape[0], 3 * x.nbytes)
    return dx


# -- linear's bias gradient: the sum of g's rows by BLAS ------------------------------------------


def _bias_rows(g, out, x, w, b):
    return (
        g.__class__ is np.ndarray
        and g.ndim == 2
        and 0 < g.shape[0] <= _BLAS_SUM_MAX
        and g.dtype.char in "fd"
        and b.__class__ is np.ndarray
        and b.dtype == g.dtype
    )


@kernel("linear", 2, when=_bias_rows)
def linear_grad_b_rows(g, out, x, w, b):
    """db = 1^T g, the batch's rows summed by BLAS (gemv): half the time of numpy's column sums for
    a batch of 128 rows of 256 (its order of summation differs, so the last bits may)."""
    return ones_vector(g.shape[0], g.dtype) @ g


# -- relu's gradient in place (ag.Graph's compiled replay) -----------------------------------------
# In a replayed graph the gradient a node receives from a rule listed in FRESH is a new array that
# nothing else holds (no hook was shown it: replay.py checks that the node has none), so the node's
# last rule to read it may write its result into it, as a hand-written backward does (``g *= x > 0``).
# IN_PLACE[op, slot](g, out, *inputs, **params) is that rule; it falls back to the entry where g is
# not an array of the result's shape and dtype that owns its memory, so it returns the entry's values.

IN_PLACE: dict = {}
FRESH = frozenset({(OPS["linear"], 0)})  # rules whose result is always a new array (x's gradient g W)


def in_place(op_name: str, slot: int, when):
    """Register the decorated ``run(g, out, *inputs, **params)`` as OPS[op_name]'s rule for input
    ``slot`` writing its result into the gradient ``g``, used where ``when`` accepts the same
    arguments and ``g`` is an ndarray that owns its memory (not a view). (A FRESH rule's result
    is writeable: no cached constant; reading ``g.flags`` would cost more than a small product.)"""

    def register(run):
        op = OPS[op_name]
        rule = op.vjps[slot]

        def dispatch(g, *args, **params):
            if g.__class__ is np.ndarray and g.base is None and when(g, *args, **params):
                return run(g, *args, **params)
            return rule(g, *args, **params)

        IN_PLACE[op, slot] = dispatch
        KERNELS.append(Kernel(run.__name__, op, f"{slot} in place", when, run, rule))
        return run

    return register


def _relu_grad_fits(g, out, x):
    return x.__class__ is np.ndarray and g.shape == x.shape and g.dtype == x.dtype and x.dtype.kind == "f"


@in_place("relu", 0, when=_relu_grad_fits)
def relu_grad_in_place(g, out, x):
    """g [x > 0], multiplying g itself."""
    return np.multiply(g, np.greater(x, 0), out=g)


# -- softmax over the classes of many short rows --------------------------------------------------
# A batch of N rows of C classes (cross-entropy's logits), reduced over the classes: numpy reduces
# each short row separately; in the transposed (C, N) layout each reduction is one elementwise pass,
# and short rows sum by BLAS (ones @ x).

_FEW_CLASSES = 32
_MANY_ROWS = 16


def short_rows(x, *, axis):
    """A float32/float64 (N, C) array reduced over its classes, rows of at most 32 classes."""
    return (
        x.__class__ is np.ndarray
        and x.ndim == 2
        and (axis == 1 or axis == (1,))
        and x.dtype.char in "fd"
        and 0 < x.shape[1] <= _FEW_CLASSES
    )


def few_class_rows(x, *, axis):
    """short_rows, and many of them (N >= 16)."""
    return short_rows(x, axis=axis) and x.shape[0] >= _MANY_ROWS


@kernel("log_softmax", "forward", when=few_class_rows)
def log_softmax_rows(x, *, axis):
    """x - logsumexp(x) over axis 1 with the reductions in the transposed layout (C <= 16: all of it,
    one copy back) or by BLAS (longer rows). Declines when some row's max is not finite (the formula
    handles infinities)."""
    n, c = x.shape
    xt = x.T.copy()  # (C, N), C order: a fresh array (ascontiguousarray could return x itself)
    m = np.maximum.reduce(xt, axis=0)
    if not math.isfinite(m.dot(ones_vector(n, x.dtype))):  # a finite sum: every max is finite
        return None
    if c <= 16:
        xt -= m
        s = ones_vector(c, x.dtype).dot(np.exp(xt))  # the column sums of exp(x - m)^T
        xt -= np.log(s, out=s)
        return np.ascontiguousarray(xt.T)
    shifted = x - m.reshape(n, 1)  # (longer rows: the copy back costs more than this broadcast)
    s = np.exp(shifted).dot(ones_vector(c, x.dtype))
    shifted -= np.log(s, out=s).reshape(n, 1)
    return shifted


def _fresh_gradient(g, out, x, *, axis):
    """g and out ndarrays of one shape and dtype, not 0-d: the rule may work in place on a fresh array."""
    return (
        g.__class__ is np.ndarray
        and out.__class__ is np.ndarray
        and out.ndim > 0
        and g.dtype == out.dtype
        and g.shape == out.shape
    )


@kernel("log_softmax", 0, when=_fresh_gradient)
def log_softmax_grad_in_place(g, out, x, *, axis):
    """g - exp(out) sum(g) in place on one fresh array (exp(out)), the sums of short rows by BLAS."""
    e = np.exp(out)
    if short_rows(out, axis=axis):
        e *= g.dot(ones_vector(out.shape[1], out.dtype)).reshape(out.shape[0], 1)
    else:
        e *= np.add.reduce(g, axis=axis, keepdims=True)
    return np.subtract(g, e, out=e)


# -- nll_loss on (N, C) with every target a class -------------------------------------------------


def _blas_sum(v, w=None):
    """sum_i v_i (or sum_i v_i w_i) of 1-d float arrays: by BLAS's dot for at most 4096 elements
    (cheaper than a numpy reduction for a few; its order of summation differs in the last bits)."""
    if v.dtype.char in "fd" and v.shape[0] <= _BLAS_SUM_MAX:
        return v.dot(ones_vector(v.shape[0], v.dtype) if w is None else w)
    return np.add.reduce(v if w is None else v * w, axis=None)


def class_rows(logp, target, weight, *, ignore_index, smoothing, reduction, g=None):
    """An (N, C) ndarray of log-probabilities, N > 0, with an ndarray of N targets, no smoothing
    and an ignore_index that is no class; for a rule, also g an ndarray of the loss's shape and
    logp's dtype. (Whether every target is a class in [0, C) the kernels check as they gather.)"""
    if logp.__class__ is not np.ndarray or logp.ndim != 2 or smoothing or target.__class__ is not np.ndarray:
        return False
    n, n_classes = logp.shape
    if n == 0 or target.shape != (n,) or 0 <= ignore_index < n_classes or weight.__class__ is not np.ndarray:
        return False
    return g is None or (
        g.__class__ is np.ndarray and g.dtype == logp.dtype and g.shape == ((n,) if reduction == "none" else ())
    )


def _targets(logp, target, weight):
    """(w[target] in logp's dtype, the flat position of each row's target in logp), or None when
    some target is not a class in [0, C) (the formula then raises the error for it)."""
    n, n_classes = logp.shape
    try:
        w_t = weight.take(target)  # IndexError for a target >= C or < -C,
        np.bincount(target)  # then ValueError for one in [-C, 0) (TypeError: not a safe integer type)
    except (IndexError, ValueError, TypeError):
        return None
    offsets = constant(("row offsets", n, n_classes), lambda: np.arange(0, n * n_classes, n_classes, dtype=np.intp))
    return w_t.astype(logp.dtype, copy=False), offsets + target


@kernel("nll_loss", "forward", when=class_rows)
def nll_loss_rows(logp, target, weight, *, ignore_index, smoothing, reduction):
    """-w[t_i] logp[i, t_i] by one gather at the targets' flat positions, summed by BLAS."""
    found = _targets(logp, target, weight)
    if found is None:
        return None
    w_t, pos = found
    picked = logp.take(pos)  # logp[i, target[i]] (take reads logp in C order, as pos counts)
    if reduction == "none":
        picked *= w_t
        return np.negative(picked, out=picked)  # -(w_t picked) = -w_t * picked, exactly
    total = _blas_sum(w_t, picked)
    if reduction == "mean":
        total = total / _blas_sum(w_t)
    return np.asarray(-total)  # (negating the sum: the same as summing the negated terms)


def _class_rows_rule(g, out, logp, target, weight, **params):
    return class_rows(logp, target, weight, g=g, **params)


@kernel("nll_loss", 0, when=_class_rows_rule)
def nll_loss_grad_rows(g, out, logp, target, weight, *, ignore_index, smoothing, reduction):
    """As torch: zeros with -g w_t (over the sum of w_t for 'mean') scattered in at the targets."""
    found = _targets(logp, target, weight)
    if found is None:
        return None
    w_t, pos = found
    if reduction == "none":  # g: (N,)
        vals = w_t * g
        np.negative(vals, out=vals)
    elif reduction == "mean":  # g: ()
        vals = w_t * -(g[()] / _blas_sum(w_t))
    else:
        vals = w_t * -g[()]
    grad = np.zeros(logp.shape, logp.dtype)
    grad.reshape(-1)[pos] = vals
    return grad
