"""vmap's engine: batched tensors and the batching rules of the op table.

``ag.func.vmap(f)`` runs ``f`` once on whole batches. Each mapped argument becomes a
:class:`BatchedTensor`: its array holds the batch in leading dimensions, one per vmap level (outer
levels first), and it presents to ``f`` only the shape of one sample (``shape``, ``ndim``). Every
operation on a batched tensor goes through the *batching rule* of its entry of the op table, which
runs the operation once on the whole array: elementwise ops align the samples' dimensions
(broadcasting across the batch), reductions and softmaxes shift their axes past the batch
dimensions, shape ops keep the batch dimensions in front, matrix products broadcast over them,
and nll_loss decomposes into batched elementwise ops and reductions. An op without a rule falls
back to a loop over the batch (correct, slow; it warns once).

Gradients inside vmap are per sample. A graph recorded under vmap is differentiated with its rules
run on the batched tensors (through their batching rules), so the gradient of a sample's loss with
respect to a tensor shared by the batch (a model's weights) stays batched while the vmap level is
running: ``vmap(grad(loss), in_dims=(None, 0, 0))`` gives per-sample gradients. Once the level has
finished, a backward through its outputs sums such gradients over the batch, as the gradient of the
whole batch's result must.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from . import args, forward_ad, versions
from .grad_mode import state
from .ops import ELEMENTWISE, OPS, REDUCTION
from .ops.batch import move_in, move_out
from .tensor import BATCHED, Tensor, make, operand

_ids = itertools.count(1)
_RANDOMNESS: dict[int, str] = {}  # level -> 'error' | 'different' | 'same'


class BatchedTensor(Tensor):
    """A batch of tensors of one shape, moving through a function under vmap as one sample would.

    ``data`` holds the batch: one leading dimension per vmap level of ``_levels`` (outer first),
    then the sample's dimensions, which are what ``shape`` and ``ndim`` report."""

    __slots__ = ("_levels",)
    _levels: tuple[int, ...]

    @property
    def shape(self) -> tuple:
        return self.data.shape[len(self._levels) :]

    @property
    def ndim(self) -> int:
        return self.data.ndim - len(self._levels)

    def numel(self) -> int:
        return math.prod(self.shape)

    def size(self, dim=None, *, axis=None):
        dim = args.dim_or_axis(dim, axis)
        return self.shape if dim is None else self.shape[args.dims(dim, self.ndim)[0]]

    def detach(self):
        out = wrap(self.data, self._levels)
        out._counter = versions.counter(self)
        return out

    def _value_error(self, what) -> RuntimeError:
        return RuntimeError(
            f"vmap: {what} of a batched tensor is not possible inside vmap: the function runs once "
            f"for the whole batch, so a sample's value can't steer it (data-dependent Python control "
            f"flow); compute it outside vmap or with tensor operations (e.g. ag.where)"
        )

    def item(self):
        raise self._value_error("item()")

    def tolist(self):
        raise self._value_error("tolist()")

    def numpy(self):
        raise self._value_error("numpy()")

    def __array__(self, dtype=None, copy=None):
        raise self._value_error("converting to a numpy array")

    def __bool__(self):
        raise self._value_error("the truth value")

    def __float__(self):
        raise self._value_error("float()")

    def __int__(self):
        raise self._value_error("int()")

    def __index__(self):
        raise self._value_error("using it as an index")

    def __repr__(self):
        return f"BatchedTensor(levels={self._levels}, batch={self.data.shape[: len(self._levels)]}, shape={self.shape})"

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        raise RuntimeError(
            "backward() inside vmap: a leaf's .grad can't hold one gradient per sample; take "
            "gradients with ag.func.grad (or ag.grad) inside the vmapped function instead"
        )

    def _seed_grad(self, gradient):
        if gradient is None:
            if self.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; each sample of this "
                    f"batched tensor has shape {self.shape}"
                )
            return np.ones(self.data.shape, self.data.dtype)
        g = _physical(operand(gradient), self._levels, _sizes(self))
        return np.array(np.broadcast_to(g, self.data.shape), dtype=self.data.dtype)

    def _seed_tensor(self, seed):
        return wrap(seed, self._levels)

    def _backward(self, g, retain_graph, create_graph=False):
        # the rules run on the batched tensors, through their batching rules (a sample's gradient of a
        # tensor shared by the batch stays per sample while the level runs; see vmap.fit)
        if isinstance(g, Tensor) and not isinstance(g, BatchedTensor):
            g = g + wrap(np.zeros(self.data.shape, self.data.dtype), self._levels)  # (the same for every sample)
        elif not isinstance(g, Tensor):
            arr = np.asarray(g)  # the batch's gradient, or one sample's (the same for all of them)
            g = wrap(arr if arr.shape == self.data.shape else np.broadcast_to(arr, self.data.shape), self._levels)
        return Tensor._backward(self, g, retain_graph, True)


BATCHED[0] = BatchedTensor  # (see tensor.BATCHED)


def wrap(data, levels, inputs=(), op=None, params=None):
    """A BatchedTensor holding the array ``data`` (leading dims: ``levels``), a node when ``op``."""
    t = make(data, inputs, op, params, cls=BatchedTensor)
    t._levels = levels
    t._tangents = {}  # (not None: the marker that sends every operation on it to batched_apply)
    return t


def _levels_of(t):
    return getattr(t, "_levels", ()) if t.__class__ is not Tensor else ()


def _sizes(t):
    return dict(zip(t._levels, t.data.shape[: len(t._levels)]))


def _physical(t, levels, sizes, expand=False):
    """``t``'s array with one leading dim per level of ``levels``: its own batch dims in place, size
    1 (or, with ``expand``, the level's size, broadcast) for the levels it is not batched at."""
    own = _levels_of(t)
    arr = t.data
    if own == levels:
        return arr
    k_own = len(own)
    shape = []
    for L in levels:
        if L in own:
            shape.append(arr.shape[own.index(L)])
        else:
            shape.append(1)
    arr = arr.reshape(tuple(shape) + arr.shape[k_own:])
    if expand:
        arr = np.broadcast_to(arr, tuple(sizes[L] for L in levels) + arr.shape[len(levels) :])
    return arr


# -- applying an op to batched tensors ---------------------------------------------------------------


def batched_apply(op, inputs, params):
    """The result of ``op`` on ``inputs`` (some batched): by the op's batching rule, recorded as a
    node on the batched inputs when one of them requires grad."""
    levels = tuple(sorted({L for t in inputs for L in _levels_of(t)}))
    sizes: dict[int, int] = {}
    for t in inputs:
        for L, n in zip(_levels_of(t), t.data.shape):
            if sizes.get(L, 1) == 1:
                sizes[L] = n
            elif n not in (1, sizes[L]):
                raise ValueError(
                    f"vmap: inputs of {op.name} have batch sizes {sizes[L]} and {n} at the same vmap level"
                )
    rule = _rule(op)
    data = rule(op, inputs, params or {}, levels, sizes)
    if isinstance(data, Tensor):  # a rule that decomposes the op into batched primitives
        return data
    data = np.asarray(data)
    recording = state.grad_enabled and any(t.requires_grad for t in inputs)
    out = wrap(data, levels, inputs, op, params) if recording else wrap(data, levels)
    if data.base is not None:
        for t in inputs:
            if np.may_share_memory(data, t.data):
                out._counter = versions.counter(t)
                break
    if any(t._tangents for t in inputs):
        forward_ad.propagate(op, inputs, params or {}, out)
    return out


def _rule(op):
    if op.batch is not None:
        return op.batch
    if op.keeps_shape or op.jvp_form == ELEMENTWISE or op.name in _ELEMENTWISE:
        return _elementwise
    if op.jvp_form == REDUCTION or op.name in ("sum", "mean"):
        return _reduction
    return _fallback


_ELEMENTWISE = {"lt", "le", "gt", "ge", "eq", "ne", "where", "cast"}


def _elementwise(op, inputs, params, levels, sizes):
    """Each sample's dimensions right-aligned as broadcasting aligns them, behind the batch dims."""
    nd = max(t.ndim for t in inputs)
    arrays = []
    for t in inputs:
        if _levels_of(t):
            arr = _physical(t, levels, sizes)
            k = len(levels)
            arr = arr.reshape(arr.shape[:k] + (1,) * (nd - t.ndim) + arr.shape[k:])
        else:
            arr = t.data  # (right-aligned by numpy against the samples' dimensions)
        arrays.append(arr)
    return op.forward(*arrays, **params)


def _shift(axis, k, ndim):
    if axis is None:
        return tuple(range(k, k + ndim))
    if isinstance(axis, tuple):
        return tuple(a + k for a in axis)
    return axis + k


def _reduction(op, inputs, params, levels, sizes):
    (x,) = inputs
    p = dict(params)
    p["axis"] = _shift(params["axis"], len(levels), x.ndim)
    return op.forward(_physical(x, levels, sizes), **p)


def _softmax(op, inputs, params, levels, sizes):
    (x,) = inputs
    axis = params["axis"]
    return op.forward(_physical(x, levels, sizes), axis=() if axis is None else axis + len(levels))


def _arg_extreme(op, inputs, params, levels, sizes):
    (x,) = inputs
    k = len(levels)
    arr = _physical(x, levels, sizes)
    if params["axis"] is None:  # the index in each flattened sample
        flat = arr.reshape(arr.shape[:k] + (-1,))
        out = op.forward(flat, axis=k, keepdims=False)
        return out.reshape(out.shape + (1,) * x.ndim) if params["keepdims"] else out
    return op.forward(arr, axis=params["axis"] + k, keepdims=params["keepdims"])


def _reshape(op, inputs, params, levels, sizes):
    (x,) = inputs
    arr = _physical(x, levels, sizes, expand=True)
    return arr.reshape(arr.shape[: len(levels)] + tuple(params["shape"]))


def _shape_op(**shifts):
    """A shape op whose params name dimensions: each shifted past the batch dims (``shifts``: param
    name -> 'one', 'tuple' or 'perm')."""

    def rule(op, inputs, params, levels, sizes):
        (x,) = inputs
        k = len(levels)
        p = dict(params)
        for name, kind in shifts.items():
            v = params[name]
            if kind == "perm":
                p[name] = tuple(range(k)) + tuple(d + k for d in v)
            elif kind == "tuple":
                p[name] = tuple(d + k for d in v)
            elif v >= 0:
                p[name] = v + k
        return op.forward(_physical(x, levels, sizes), **p)

    return rule


def _expand(op, inputs, params, levels, sizes):
    (x,) = inputs
    k, shape = len(levels), tuple(params["shape"])
    arr = _physical(x, levels, sizes)
    arr = arr.reshape(arr.shape[:k] + (1,) * (len(shape) - x.ndim) + arr.shape[k:])  # (new dims in front)
    return np.broadcast_to(arr, arr.shape[:k] + shape)


def _join(op, inputs, params, levels, sizes):
    k = len(levels)
    arrays = [_physical(t, levels, sizes, expand=True) for t in inputs]
    return op.forward(*arrays, dim=params["dim"] + k)


def _getitem(op, inputs, params, levels, sizes):
    key = params["key"]
    parts = key if isinstance(key, tuple) else (key,)
    if len(inputs) > 1 or not all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts):
        return _fallback(op, inputs, params, levels, sizes)  # (advanced indices: one sample at a time)
    (x,) = inputs
    return op.forward(_physical(x, levels, sizes), key=(slice(None),) * len(levels) + parts)


def _operand_array(t, levels, sizes):
    """(array with the batch dims in front, or size-1 dims where t is not batched; t's sample ndim)."""
    k = len(levels)
    arr = _physical(t, levels, sizes) if _levels_of(t) else t.data.reshape((1,) * k + t.data.shape)
    return arr, t.ndim


def _matmul_arrays(a, a_ndim, b, b_ndim, k):
    """np.matmul of the samples: vectors made matrices ((n,) -> (1, n) / (n, 1)), the samples' own
    batch dims aligned behind the vmap batch dims, then the added dims removed."""
    if a_ndim == 1:
        a = np.expand_dims(a, k)
    if b_ndim == 1:
        b = np.expand_dims(b, -1)
    la, lb = a.ndim - k - 2, b.ndim - k - 2
    lead = max(la, lb)
    a = a.reshape(a.shape[:k] + (1,) * (lead - la) + a.shape[k:])
    b = b.reshape(b.shape[:k] + (1,) * (lead - lb) + b.shape[k:])
    out = _stacked_matmul(a, b)
    if b_ndim == 1:
        out = out[..., 0]
    if a_ndim == 1:
        out = out[..., 0, :] if b_ndim != 1 else out[..., 0]
    return out


def _stacked_matmul(a, b):
    """np.matmul(a, b) of two stacks of matrices (equal ndim, broadcasting leading dims), with the
    shapes per-sample gradients make computed the way BLAS is fast at, instead of numpy's loop of one
    small product per matrix: a contraction over one element (the outer products of a linear
    layer's per-sample weight gradient) is an elementwise product, and a right operand that is the
    same for every matrix of the stack is one product of all the left rows at once."""
    if a.shape[-1] == 1 and a.ndim > 2:  # sum over one term: the product itself (the same bits)
        return a * b
    if a.ndim > 2 and all(d == 1 for d in b.shape[:-2]):
        rows = np.ascontiguousarray(a).reshape(-1, a.shape[-1]) @ b.reshape(b.shape[-2:])
        return rows.reshape(a.shape[:-1] + (b.shape[-1],))
    return np.matmul(a, b)


def _matmul(op, inputs, params, levels, sizes):
    (a, na), (b, nb) = (_operand_array(t, levels, sizes) for t in inputs)
    return _matmul_arrays(a, na, b, nb, len(levels))


def _linear(op, inputs, params, levels, sizes):
    """x W^T + b, each of them batched or not."""
    x, w, b = inputs
    k = len(levels)
    (xa, nx), (wa, _), (ba, nb) = (_operand_array(t, levels, sizes) for t in (x, w, b))
    out = _matmul_arrays(xa, nx, np.swapaxes(wa, -1, -2), 2, k)
    return out + ba.reshape(ba.shape[:k] + (1,) * (out.ndim - k - nb) + ba.shape[k:])


def _gather(op, inputs, params, levels, sizes):
    x, index = inputs
    k = len(levels)
    return op.forward(
        _physical(x, levels, sizes, expand=True), _physical(index, levels, sizes, expand=True), dim=params["dim"] + k
    )


def _scatter_add(op, inputs, params, levels, sizes):
    g, index = inputs
    k = len(levels)
    batch = tuple(sizes[L] for L in levels)
    return op.forward(
        _physical(g, levels, sizes, expand=True),
        _physical(index, levels, sizes, expand=True),
        dim=params["dim"] + k,
        shape=batch + tuple(params["shape"]),
    )


def _dropout_mask(op, inputs, params, levels, sizes):
    mode = _RANDOMNESS.get(levels[-1], "error")
    (x,) = inputs
    if mode == "error":
        raise RuntimeError(
            "vmap: a random operation (dropout) was called inside vmap with randomness='error'; pass "
            "randomness='different' (a draw per sample) or 'same' (one draw for the batch) to vmap, or "
            "call it outside vmap"
        )
    arr = _physical(x, levels, sizes, expand=True)
    if mode == "same":
        return np.broadcast_to(op.forward(arr[(0,) * len(levels)], **params), arr.shape)
    return op.forward(arr, **params)


def _nll_loss(op, inputs, params, levels, sizes):
    """nll_loss as batched elementwise ops and reductions (so that its backward is batched too)."""
    from .creation import arange, where

    logp, target, weight = inputs
    ignore_index, smoothing, reduction = params["ignore_index"], params["smoothing"], params["reduction"]
    cdim = 1 if logp.ndim >= 2 else 0
    n_classes = logp.shape[cdim]
    t = target.data[target.data != ignore_index]
    if t.size and ((t >= n_classes).any() or (t < 0).any()):
        raise IndexError(
            f"nll_loss: a target is out of bounds: class indices must be in [0, {n_classes}) (or equal "
            f"ignore_index={ignore_index})"
        )
    classes = arange(n_classes).reshape((-1,) + (1,) * (logp.ndim - cdim - 1))
    onehot = (classes == target.unsqueeze(cdim)).to(logp.dtype)
    wb = weight.to(logp.dtype).reshape(classes.shape)
    valid = target != ignore_index
    w_t = where(valid, (onehot * wb).sum(dim=cdim), 0.0)
    per = -(w_t * (onehot * logp).sum(dim=cdim))
    if smoothing:
        smooth = where(valid, -(logp * wb).sum(dim=cdim), 0.0)
        per = per * (1 - smoothing) + smooth * (smoothing / n_classes)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / w_t.sum()


def _fallback(op, inputs, params, levels, sizes):
    """One sample at a time: correct for any op, one op call per sample (warns once per op)."""
    if op.name not in _warned:
        _warned.add(op.name)
        warnings.warn(
            f"vmap: {op.name!r} has no batching rule; it runs once per sample (slower)", RuntimeWarning, stacklevel=4
        )
    batch = tuple(sizes[L] for L in levels)
    arrays = [_physical(t, levels, sizes, expand=True) if _levels_of(t) else t.data for t in inputs]
    results = []
    for idx in np.ndindex(*batch):
        sample = [a[idx] if _levels_of(t) else a for a, t in zip(arrays, inputs)]
        results.append(np.asarray(op.forward(*sample, **params)))
    return np.stack(results).reshape(batch + results[0].shape) if results else np.empty(batch)


_warned: set = set()


def _install():
    rules = {
        "matmul": _matmul,
        "linear": _linear,
        "reshape": _reshape,
        "expand": _expand,
        "cat": _join,
        "stack": _join,
        "getitem": _getitem,
        "gather": _gather,
        "scatter_add": _scatter_add,
        "dropout_mask": _dropout_mask,
        "nll_loss": _nll_loss,
        "softmax": _softmax,
        "log_softmax": _softmax,
        "argmax": _arg_extreme,
        "argmin": _arg_extreme,
        "permute": _shape_op(dims="perm"),
        "transpose": _shape_op(dim0="one", dim1="one"),
        "flatten": _shape_op(start="one", end="one"),
        "squeeze": _shape_op(dims="tuple"),
        "unsqueeze": _shape_op(dim="one"),
    }
    for name, rule in rules.items():
        OPS[name].batch = rule


_install()


# -- entering and leaving a level (recorded: gradients flow across) -----------------------------------


def enter(x, level, dim):
    """``x`` batched at ``level`` along its (sample) dimension ``dim``."""
    outer = _levels_of(x)
    k = len(outer)
    dim = args.one_dim(dim, x.ndim, "vmap: in_dims") if x.ndim else dim
    params = {"k": k, "dim": dim, "level": level}
    data = move_in(x.data, k=k, dim=dim)
    recording = state.grad_enabled and x.requires_grad
    out = wrap(data, outer + (level,), (x,), OPS["vmap_in"], params) if recording else wrap(data, outer + (level,))
    out._counter = versions.counter(x)  # (a view of x)
    _carry_tangents(x, out, "vmap_in", params)
    return out


def leave(x, level, dim):
    """The batch of ``x`` at ``level`` as its (sample) dimension ``dim``: an ordinary tensor again, or
    one batched at the outer levels only."""
    levels = _levels_of(x)
    if level not in levels:  # not batched at this level: the same value for every sample
        return x
    k = levels.index(level)
    ndim = x.ndim + 1
    dim = dim % ndim if ndim else 0
    params = {"k": k, "dim": dim, "level": level}
    data = move_out(x.data, k=k, dim=dim)
    rest = tuple(L for L in levels if L != level)
    recording = state.grad_enabled and x.requires_grad
    node = (x,), OPS["vmap_out"], params
    if rest:
        out = wrap(data, rest, *node) if recording else wrap(data, rest)
    else:
        out = make(data, *node) if recording else make(data)
    out._counter = versions.counter(x)
    _carry_tangents(x, out, "vmap_out", params)
    return out


def _carry_tangents(x, out, name, params):
    if x._tangents:
        forward_ad.propagate(OPS[name], (x,), params, out)


def fit(gi, like):
    """A gradient ``gi`` (batched) for the input ``like``: summed over the batch of each level that
    ``like`` is not batched at and whose function has finished (its result's gradient is the sum of
    the samples'); kept per sample while the level runs. Then fitted to ``like``'s sample shape."""
    from .broadcast import unbroadcast

    own = _levels_of(like)
    active = state.vmap_levels
    done = [L for L in gi._levels if L not in own and L not in active]
    if done:
        keep = tuple(L for L in gi._levels if L not in done)
        axes = tuple(gi._levels.index(L) for L in done)
        summed = np.add.reduce(gi.data, axis=axes) if not gi.requires_grad else None
        if summed is None:  # (recorded: as batched operations)
            for L in done:
                gi = leave(gi, L, 0).sum(dim=0)
        else:
            gi = wrap(summed, keep) if keep else make(summed)
    if gi.shape != like.shape:
        gi = unbroadcast(gi, like.shape)
    if gi.dtype != like.dtype:
        gi = gi.to(like.dtype)
    return gi


def new_level(randomness="error"):
    level = next(_ids)
    _RANDOMNESS[level] = randomness
    return level
