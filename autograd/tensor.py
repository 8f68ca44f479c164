"""Tensor: a numpy array that records the operations made on it.

A Tensor is a node of the engine (see engine.py): an operation's result keeps its inputs
(``_inputs``), its entry of the op table (``_op``) and the operation's non-tensor arguments
(``_params``). Backward asks each node for its vector-Jacobian product (``_vjp``), which runs the
op's rules on the saved arrays. The hot path of an operation is: one dispatch, one numpy call,
one node record.
"""
from __future__ import annotations

import builtins
import copy
import operator
import sys
from collections import namedtuple
from numbers import Number

import numpy as np

from . import anomaly, dtypes, engine
from .broadcast import unbroadcast
from .grad_mode import state
from .ops import OPS
from .ops.index import Slot as _Slot
from .ops.inplace import KeyChain as _KeyChain
from .random import generator

_new = object.__new__
_ndarray = np.ndarray
_getrefcount = sys.getrefcount
_PY_SCALARS = (int, float, builtins.bool)

_ADD, _SUB, _MUL, _DIV, _POW = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["pow"]
_ADD_S, _RSUB_S, _MUL_S, _DIV_S = OPS["add_scalar"], OPS["rsub_scalar"], OPS["mul_scalar"], OPS["div_scalar"]
_RDIV_S, _POW_S, _RPOW_S = OPS["rdiv_scalar"], OPS["pow_scalar"], OPS["rpow_scalar"]
_MATMUL = OPS["matmul"]
# the operations applied through _binary, which casts both operands to one dtype first
_BINARY_OPS = frozenset(OPS[name] for name in ("add", "sub", "mul", "div", "pow", "matmul", "dot", "outer",
                                               "maximum", "minimum", "lt", "le", "gt", "ge", "eq", "ne"))


# Process-wide counts of in-place modifications (version bumps) and of tensors rewired onto a new
# node by an in-place operation: ag.Graph's compiled replay skips its per-node version checks while
# no bump happened since its forward, and rebuilds itself when some tensor was rewired.
_bumps = [0]
_rewires = [0]


def bump_versions(tensors):
    """Count an in-place modification of each of ``tensors`` (an optimizer's step): t._bump() each."""
    for t in tensors:
        cell = t._vc
        if cell is None:
            cell = t._vc = [0]
        cell[0] += 1
    _bumps[0] += len(tensors)


def _require_float(dtype, what="Tensor"):
    if dtype.kind != "f":
        raise RuntimeError(
            f"only Tensors of floating point dtype can require gradients; this {what} has dtype "
            f"{dtype}. Convert it first, e.g. t.float() or ag.tensor(data, dtype=ag.float32)."
        )


def _check_dtype(dtype, what):
    """Refuse a numpy dtype a Tensor can't hold (object, complex, strings, dates): numpy would carry
    them along, and complex data meeting a float parameter would silently lose its imaginary part."""
    if dtype.kind not in "biuf":
        raise TypeError(f"{what}: a Tensor can't hold numpy dtype {dtype} ({_KIND_NAMES.get(dtype.kind, 'other')}); "
                        f"only bool, integer and floating data are supported. Convert the data first "
                        f"(e.g. arr.real or arr.astype(np.float32)).")
    return dtype


_KIND_NAMES = {"O": "Python objects", "c": "complex", "U": "strings", "S": "bytes", "M": "datetimes",
               "m": "time deltas", "V": "structured/void"}


def _array(data, dtype=None, copy=True):
    """The ndarray for user data, with the dtype policy of API.md."""
    if dtype is not None:
        dtype = _check_dtype(np.dtype(dtype), "dtype")
    if isinstance(data, Tensor):
        arr = data.data
        arr = arr.astype(dtype) if dtype is not None else (arr.copy() if copy else arr)
        return arr
    if isinstance(data, (_ndarray, np.generic)):
        _check_dtype(data.dtype, f"can't make a Tensor from this {type(data).__name__}")
        arr = np.array(data, dtype=dtype, copy=copy or None) if copy or dtype is not None else data
        return np.asarray(arr)
    arr = np.array(data)
    if dtype is not None:
        _check_dtype(arr.dtype, f"can't make a Tensor from this {type(data).__name__}")
        return arr.astype(dtype, copy=False)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(dtypes.get_default_dtype(), copy=False)
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "b":
        return arr
    raise TypeError(f"can't make a Tensor from {type(data).__name__} (numpy dtype {arr.dtype}); "
                    f"pass numbers, nested lists of numbers or an ndarray")


def _make(data, requires_grad=False, inputs=(), op=None, params=None):
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t._inputs = inputs
    t._op = op
    t._params = params
    t._vc = None
    t._sv = None
    t._hooks = None
    t._retain = False
    t._freed = False
    t._scope = None
    return t


def _record(out, inputs, op, params):
    """Make ``out`` the node of ``op`` applied to ``inputs`` (called when recording)."""
    out._inputs = inputs
    out._op = op
    out._params = params
    out.requires_grad = op.differentiable
    out._sv = _versions(inputs)
    out._scope = state.scope
    if anomaly.enabled:
        anomaly.remember(out)


def _versions(inputs):
    """The inputs' versions when some input was modified in place before (else None: all 0)."""
    for t in inputs:
        if t._vc is not None:
            return tuple(0 if i._vc is None else i._vc[0] for i in inputs)
    return None


def _node(data, inputs, op, params):
    """A new Tensor that is the node of ``op`` applied to ``inputs`` (the recording hot path)."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = op.differentiable
    t._inputs = inputs
    t._op = op
    t._params = params
    t._vc = None
    t._hooks = None
    t._retain = False
    t._freed = False
    t._sv = None
    for i in inputs:
        if i._vc is not None:
            t._sv = _versions(inputs)
            break
    t._scope = state.scope
    if anomaly.enabled:
        anomaly.remember(t)
    return t


def _apply(op, inputs, params=None):
    """Run ``op`` on Tensors ``inputs`` and record it when any input requires grad."""
    if params:
        data = op.forward(*[t.data for t in inputs], **params)
    else:
        data = op.forward(*[t.data for t in inputs])
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    out = _make(data)
    if data.base is not None:
        # a view (reshape, transpose, basic indexing...): writing through it changes the input too,
        # so both count their in-place modifications on one version counter, as in torch
        for t in inputs:
            if np.may_share_memory(data, t.data):
                out._vc = t._version_cell()
                break
    if state.grad_enabled:
        for t in inputs:
            if t.requires_grad:
                _record(out, inputs, op, params)
                break
    return out


def _unary(op, x):
    data = op.forward(x.data)
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    if x.requires_grad and state.grad_enabled:
        return _node(data, (x,), op, None)
    return _make(data)


def _as_tensor(value):
    """A constant operand (ndarray, nested list) as a Tensor leaf that does not require grad."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple, _ndarray, np.generic)):
        return _make(_array(value, copy=False))
    raise TypeError(f"unsupported operand type: {type(value).__name__}; use a Tensor, an ndarray or a number")


def _binary(op, a, b):
    """a op b for two Tensors, with torch's dtype promotion and a clear broadcasting error."""
    x, y = a.data, b.data
    if x.dtype != y.dtype or (op is _DIV and x.dtype.kind != "f"):
        x, y = _binary_operands(op, x, y)
    try:
        data = op.forward(x, y)
    except ValueError as e:
        if x.shape != y.shape and "broadcast" in str(e):
            raise ValueError(f"{op.name}: shapes {tuple(x.shape)} and {tuple(y.shape)} do not broadcast "
                             f"(numpy broadcasting rules)") from None
        raise
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    if (a.requires_grad or b.requires_grad) and state.grad_enabled:
        return _node(data, (a, b), op, None)
    return _make(data)


def _binary_dtype(op, x, y):
    """The dtype both operands of a binary op are cast to (torch's promotion; true division of
    integers gives the default float dtype)."""
    dt = dtypes.result_type(x, y) if x.dtype != y.dtype else x.dtype
    if op is _DIV and dt.kind != "f":
        dt = dtypes.get_default_dtype()
    return dt


def _binary_operands(op, x, y):
    """The arrays x and y cast to _binary_dtype (as _binary, Graph.forward and its replay cast them)."""
    dt = _binary_dtype(op, x, y)
    return (x if x.dtype == dt else x.astype(dt)), (y if y.dtype == dt else y.astype(dt))


def _scalar(op, x, c):
    """x op c for a Tensor x and a Python number c, which never upcasts a float tensor."""
    arr = x.data
    if arr.dtype.kind != "f":
        dt = dtypes.scalar_result_type(arr.dtype, c)
        if op is _POW_S and dt.kind != "f" and c < 0:
            raise RuntimeError(f"Integers to negative integer powers are not allowed (a {arr.dtype} tensor ** "
                               f"{c}); convert the tensor first, e.g. t.double() ** {c}")
        if op is _DIV_S or op is _RDIV_S:
            dt = dtypes.get_default_dtype() if dt.kind != "f" else dt
        if dt != arr.dtype:
            x = _make(arr.astype(dt))  # the cast is of a tensor that cannot require grad
            arr = x.data
    data = op.forward(arr, c=c)
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    if x.requires_grad and state.grad_enabled:
        return _node(data, (x,), op, {"c": c})
    return _make(data)


def _fit(gi, like):
    """A rule's gradient fitted to its input's array ``like``: broadcast dimensions summed away
    (unbroadcast), cast to the input's dtype (for an ndarray or, under create_graph, a Tensor)."""
    if gi.shape != like.shape:
        gi = unbroadcast(gi, like.shape)
    if gi.dtype != like.dtype:
        gi = gi.to(like.dtype) if isinstance(gi, Tensor) else gi.astype(like.dtype)
    return gi


def _norm_dims(dim, ndim, name="dim"):
    """None, an int or a sequence of ints -> None or a sorted tuple of non-negative axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{name} {d} is out of range for a tensor with {ndim} dimension(s) "
                             f"(expected {name} in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
        out.append(d % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} {dim} repeats a dimension")
    # an empty dim tuple reduces every dimension, as in torch (numpy's axis=() reduces none)
    return tuple(sorted(out)) if ndim and out else None


def _dim_arg(dim, axis):
    if axis is not None:
        if dim is not None:
            raise TypeError("pass either dim= or its alias axis=, not both")
        return axis
    return dim


# -- argument handling of the operation catalogue (ops/*.py hold the maths) ------------------------

_MaxResult = namedtuple("max", ["values", "indices"])
_MinResult = namedtuple("min", ["values", "indices"])


def _reduction(t, dim, axis, keepdim, keepdims, nonempty=None, **extra):
    """The params of a reduction op: normalised ``axis``, ``keepdims`` and ``extra``.

    ``nonempty`` (the op's name) rejects reducing over an empty dimension, which has no max/min."""
    dims = _norm_dims(_dim_arg(dim, axis), t.ndim)
    if nonempty is not None and t.data.size == 0:
        empty = [d for d in (range(t.ndim) if dims is None else dims) if t.shape[d] == 0]
        if empty:
            raise IndexError(f"{nonempty}(): dimension {empty[0]} has size 0 and cannot be reduced "
                             f"(shape {t.shape}); reduce over non-empty dimensions only")
    return {"axis": dims, "keepdims": builtins.bool(keepdim if keepdims is None else keepdims), **extra}


def _one_dim(dim, ndim, name):
    """One dimension (an int, possibly negative) as a non-negative int; 0 for a 0-d tensor."""
    if isinstance(dim, builtins.bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    if ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"{name}: dim {dim} is out of range for a 0-d tensor (expected 0 or -1)")
        return 0
    return _norm_dims(dim, ndim, "dim")[0]


def _correction(correction, unbiased):
    if unbiased is not None:
        if correction is not None:
            raise TypeError("pass either correction= or the older unbiased=, not both")
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def _need_float(t, name):
    if t.dtype.kind != "f":
        raise RuntimeError(f"{name}() needs a floating tensor, got {t.dtype}; convert it with .float() or .double()")
    return t


def _operand(value):
    """The other operand of a binary method: a Tensor, or a constant (a number keeps torch's dtype rules)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, np.generic)):
        return _make(_array(value))
    return _as_tensor(value)


def _unbounded(dtype, upper):
    """The bound that does not bound: +-inf, or an integer dtype's extreme."""
    if dtype.kind == "f":
        return np.array(np.inf if upper else -np.inf, dtype=dtype)
    if dtype.kind == "b":
        return np.array(upper)
    info = np.iinfo(dtype)
    return np.array(info.max if upper else info.min, dtype=dtype)


def _clamp_tensor(x, lo, hi):
    lo = None if lo is None else _operand(lo)
    hi = None if hi is None else _operand(hi)
    dt = x.dtype
    for b in (lo, hi):
        if b is not None:
            dt = dtypes.result_type(np.empty((1,) * x.ndim, dt), b.data)  # only ndim and dtype count
    x, lo, hi = (_make(_unbounded(dt, i == 2)) if t is None else t.to(dt) for i, t in enumerate((x, lo, hi)))
    try:
        return _apply(OPS["clamp_tensor"], (x, lo, hi))
    except ValueError:
        raise ValueError(f"clamp: the bounds' shapes {lo.shape} and {hi.shape} do not broadcast with the "
                         f"tensor's shape {x.shape}") from None


class Tensor:
    """A numpy-backed tensor that records operations for reverse-mode differentiation.

    ``ag.Tensor(data, requires_grad=False)`` copies ``data`` as ``ag.tensor`` does.
    """

    __slots__ = ("data", "grad", "requires_grad", "_inputs", "_op", "_params", "_vc", "_sv", "_hooks",
                 "_retain", "_freed", "_scope", "__weakref__")

    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator
    _partials = None  # engine contract: Tensor nodes compute VJPs (_backward), not scalar partials
    __hash__ = object.__hash__  # == is elementwise, identity is the hash (nodes are dict keys)

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _array(data, dtype)
        self.data = arr
        self.grad = None
        self._inputs = ()
        self._op = None
        self._params = None
        self._vc = None
        self._sv = None
        self._hooks = None
        self._retain = False
        self._freed = False
        self._scope = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- attributes ------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return not self._inputs or not self.requires_grad

    @property
    def grad_fn(self):
        """The operation that made this tensor (None for a leaf), shown as ``<MulBackward>``."""
        if not self._inputs or not self.requires_grad:
            return None
        return GradFn(self)

    @property
    def T(self) -> "Tensor":
        """The tensor with its dimensions reversed (the transpose of a matrix)."""
        if self.ndim < 2:
            return self
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim=None, *, axis=None):
        dim = _dim_arg(dim, axis)
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"size({dim}): a 0-d tensor has no dimensions")
        return self.shape[_norm_dims(dim, self.ndim)[0]]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad. Use t.detach().numpy() instead.")
        return self.data

    def __array__(self, dtype=None, copy=None):
        # numpy 2 trusts the copy flag: np.array(t) passes copy=True and must not share t's memory
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self.data.size} elements is ambiguous")
        return builtins.bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.data)

    def __deepcopy__(self, memo):
        """A copy of a leaf (its data, requires_grad and .grad), as torch makes; an operation's result
        can't be deep-copied (its copy would drag the whole graph below it along)."""
        if self._inputs and self.requires_grad:
            raise RuntimeError(
                f"Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol; this "
                f"one was computed by an operation (grad_fn=<{_backward_name(self._op)}>). Deep-copy "
                f"t.detach() (or t.detach().clone()) instead.")
        new = _make(self.data.copy())
        new.__class__ = type(self)  # (a Parameter stays a Parameter)
        memo[id(self)] = new
        new.requires_grad = self.requires_grad
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        return new

    # -- grad bookkeeping ------------------------------------------------------------------------

    def detach(self) -> "Tensor":
        """The same data (shared) as a new leaf that does not require grad."""
        out = _make(self.data)
        out._vc = self._version_cell()
        return out

    def clone(self) -> "Tensor":
        """A copy of the data, recorded (the gradient flows back to this tensor)."""
        return _unary(OPS["clone"], self)

    def to(self, dtype) -> "Tensor":
        """This tensor converted to ``dtype`` (itself when it already has it); differentiable."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if self.requires_grad and state.grad_enabled and dtype.kind == "f":
            return _apply(OPS["cast"], (self,), {"dtype": dtype})
        return _make(self.data.astype(dtype))

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        return self.to(dtypes.float64)

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def astype(self, dtype) -> "Tensor":
        """numpy's name for :meth:`to` (so that code written for arrays and Tensors can convert)."""
        return self.to(dtype)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad:
            _require_float(self.dtype)
        elif self._inputs and self.requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; "
                               "use t.detach() for a non-leaf")
        self.requires_grad = builtins.bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        self._retain = True
        if self._hooks is None:
            self._hooks = []  # the engine hands a node its gradient when it has hooks (or is a leaf)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) (times ``gradient``) into every leaf's ``.grad``."""
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn: "
                               "nothing to differentiate (did you forget requires_grad=True, or run under no_grad?)")
        g = self._seed_grad(gradient)
        if create_graph:
            g = _make(g)
        engine.backward((self,), (g,), retain_graph=create_graph if retain_graph is None else retain_graph,
                        create_graph=create_graph)

    def _seed_grad(self, gradient):
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                    f"{self.shape}: pass gradient= (a tensor of that shape) to backward()")
            data = self.data
            return np.ones(data.shape, data.dtype)  # (ones_like's Python wrapper costs more than the array)
        g = _array(gradient, dtype=self.dtype)
        if g.shape != self.shape:
            raise RuntimeError(f"gradient has shape {g.shape} but the tensor has shape {self.shape}")
        return g

    # -- engine contract -------------------------------------------------------------------------

    def _version_cell(self):
        if self._vc is None:
            self._vc = [0]
        return self._vc

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _check_versions(self):
        op = self._op
        reads_out, positions = op.reads
        saved = self._sv
        inputs = self._inputs
        for i, inp in enumerate(inputs):
            now = 0 if inp._vc is None else inp._vc[0]
            then = 0 if saved is None else saved[i]
            if now == then:
                continue
            if i in positions:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"in-place operation: input {i} (shape {inp.shape}) of {op.name} is at version "
                    f"{now}; expected version {then}. Use an out-of-place operation (e.g. x = x + y "
                    f"instead of x += y) or clone() the tensor before modifying it.")
            if inp._inputs and inp.requires_grad:
                raise RuntimeError(
                    f"input {i} (shape {inp.shape}) of {op.name} was modified by an in-place operation "
                    f"after {op.name} used it (version {now}, used at version {then}), so its gradient "
                    f"can't be routed to the value {op.name} read. clone() it before modifying it.")
        expected = saved[len(inputs)] if saved is not None and len(saved) > len(inputs) else 0
        if reads_out and self._vc is not None and self._vc[0] != expected:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an in-place "
                f"operation: the output of {op.name} (shape {self.shape}) is at version {self._vc[0]}; "
                f"expected version {expected}. Use an out-of-place operation or clone() it first.")

    def _vjp(self, g):
        """The gradients of this node's inputs given ``g`` (keeps what backward needs)."""
        return self._backward(g, True, state.grad_enabled)

    def _backward(self, g, retain_graph, create_graph=False):
        if self._freed:
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        if not retain_graph:
            self._freed = True
        op = self._op
        inputs = self._inputs
        if op.keeps_shape and not create_graph:
            # one input, gradient of its shape and dtype (no checks needed): the hot path of chains
            # of elementwise operations
            x = inputs[0]
            if self._sv is not None or self._vc is not None or x._vc is not None:
                self._check_versions()
            if g.__class__ is Tensor:
                g = g.data
            params = self._params
            return (op.vjps[0](g, self.data, x.data, **params) if params else op.vjps[0](g, self.data, x.data),)
        if op.vjp_all is not None:
            return op.vjp_all(self, g)
        if self._sv is not None or self._vc is not None:
            self._check_versions()
        else:
            for t in inputs:
                if t._vc is not None:
                    self._check_versions()
                    break
        params = self._params
        if create_graph:  # run the rules on Tensors so that the backward is itself recorded
            if not isinstance(g, Tensor):
                g = _make(np.asarray(g))
            args, out = inputs, self
        else:
            if g.__class__ is Tensor:
                g = g.data
            args = (inputs[0].data,) if len(inputs) == 1 else [t.data for t in inputs]
            out = self.data
        if op.variadic:  # one rule gives every input's gradient, in one pass over the inputs
            joint = op.vjps[0](g, out, *args, **params)
            return [_fit(gi, inp.data) if inp.requires_grad else None for inp, gi in zip(inputs, joint)]
        grads = []
        for inp, rule in zip(inputs, op.vjps):
            if rule is None or not inp.requires_grad:
                grads.append(None)
                continue
            gi = rule(g, out, *args, **params) if params else rule(g, out, *args)
            grads.append(_fit(gi, inp.data))
        return grads

    def _accumulate(self, g, store=True):
        if self._hooks is not None:
            for hook in self._hooks:
                new = hook(g if isinstance(g, Tensor) else _make(np.asarray(g)))
                if new is not None:
                    g = new if state.grad_enabled else _array(new, dtype=self.dtype, copy=False)
        if store and (not self._inputs or self._retain):
            if self.data.dtype.kind != "f":  # requires_grad was assigned directly, bypassing requires_grad_()
                _require_float(self.data.dtype)
            if isinstance(g, Tensor):  # create_graph: keep the graph of the gradient
                self.grad = g if self.grad is None else self.grad + g
            elif self.grad is None:
                # Keep the array when nothing else can see it (the engine's variable, this argument
                # and getrefcount's are the only references; a view's base is referenced only by
                # the view), else copy: gradients of different leaves may share one array (both
                # inputs of an add), and .grad is updated in place later.
                if g.__class__ is not _ndarray or not g.flags.writeable or _getrefcount(g) > 3 \
                        or (g.base is not None and _getrefcount(g.base) > 2):
                    g = np.array(g, dtype=self.data.dtype)
                self.grad = _make(g)
            else:
                acc = self.grad.data
                if acc.shape == g.shape and acc.flags.writeable and self.grad._vc is None:
                    acc += g
                else:
                    self.grad = _make(acc + g)
        return g

    def _op_name(self):
        return _backward_name(self._op)

    def _created_at(self):
        return anomaly.created_at(self)

    def _recompute(self):
        """Graph.forward: evaluate this node again from its inputs' current values."""
        op, params = self._op, self._params
        arrays = [t.data for t in self._inputs]
        if op in _BINARY_OPS:  # cast the operands as _binary did when the node was made
            arrays = _binary_operands(op, *arrays)
        data = op.forward(*arrays, **params) if params else op.forward(*arrays)
        self.data = data if data.__class__ is _ndarray else np.asarray(data)
        self._freed = False
        # the values read from now on are the inputs' current ones, at their current versions
        inputs = self._inputs
        if self._vc is not None or any(i._vc is not None for i in inputs):
            self._sv = tuple(0 if i._vc is None else i._vc[0] for i in inputs) + (self._version,)
        else:
            self._sv = None

    def _feed(self, value, buffer=None):
        """Graph.forward(feeds=...): write ``value`` into this leaf. ``buffer``: the array the graph
        gave this leaf at the last feed; values are copied into it while the leaf still holds it,
        else into a new array (never into an array the leaf may share with its creator, such as
        from_numpy's). Counts as an in-place modification. Returns the leaf's array."""
        arr = value.data if isinstance(value, Tensor) else value
        data = self.data
        if data is buffer and arr.__class__ is _ndarray and arr.shape == data.shape and arr.dtype == data.dtype:
            data[...] = arr  # (np.copyto's Python-level dispatch costs more than this copy)
        else:
            self.data = data = np.array(_array(value, dtype=self.dtype, copy=False))
        self._bump()
        return data

    # -- arithmetic ------------------------------------------------------------------------------

    def __add__(self, other):
        if isinstance(other, Tensor):
            return _binary(_ADD, self, other)
        if other.__class__ in _PY_SCALARS:
            return _scalar(_ADD_S, self, other)
        return _binary(_ADD, self, _as_tensor(other))

    def __radd__(self, other):
        if other.__class__ in _PY_SCALARS:
            return _scalar(_ADD_S, self, other)
        return _binary(_ADD, _as_tensor(other), self)

    def __sub__(self, other):
        if isinstance(other, Tensor):
            return _binary(_SUB, self, other)
        if other.__class__ in _PY_SCALARS:
            return _scalar(_ADD_S, self, -other)
        return _binary(_SUB, self, _as_tensor(other))

    def __rsub__(self, other):
        if other.__class__ in _PY_SCALARS:
            return _scalar(_RSUB_S, self, other)
        return _binary(_SUB, _as_tensor(other), self)

    def __mul__(self, other):
        if isinstance(other, Tensor):
            return _binary(_MUL, self, other)
        if other.__class__ in _PY_SCALARS:
            return _scalar(_MUL_S, self, other)
        return _binary(_MUL, self, _as_tensor(other))

    def __rmul__(self, other):
        if other.__class__ in _PY_SCALARS:
            return _scalar(_MUL_S, self, other)
        return _binary(_MUL, _as_tensor(other), self)

    def __truediv__(self, other):
        if isinstance(other, Tensor):
            return _binary(_DIV, self, other)
        if other.__class__ in _PY_SCALARS:
            return _scalar(_DIV_S, self, other)
        return _binary(_DIV, self, _as_tensor(other))

    def __rtruediv__(self, other):
        if other.__class__ in _PY_SCALARS:
            return _scalar(_RDIV_S, self, other)
        return _binary(_DIV, _as_tensor(other), self)

    def __pow__(self, other):
        if isinstance(other, Tensor):
            return _binary(_POW, self, other)
        if other.__class__ in _PY_SCALARS:
            return _scalar(_POW_S, self, other)
        return _binary(_POW, self, _as_tensor(other))

    def __rpow__(self, other):
        if other.__class__ in _PY_SCALARS:
            return _scalar(_RPOW_S, self, other)
        return _binary(_POW, _as_tensor(other), self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _as_tensor(other).matmul(self)

    def __neg__(self):
        return _unary(OPS["neg"], self)

    def __pos__(self):
        return self

    def pow(self, exponent):
        """self ** exponent (a number or a Tensor)."""
        return self.__pow__(exponent)

    def matmul(self, other) -> "Tensor":
        """Matrix product with numpy's rules: 1-D, 2-D, and batched with broadcasting."""
        other = _as_tensor(other)
        if self.ndim == 0 or other.ndim == 0:
            raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                               f"{self.shape} and {other.shape}")
        k1 = self.shape[-1]
        k2 = other.shape[0] if other.ndim == 1 else other.shape[-2]
        if k1 != k2:
            raise ValueError(f"matmul: shapes {self.shape} and {other.shape} are not aligned "
                             f"({k1} != {k2} in the contracted dimension)")
        return _binary(_MATMUL, self, other)

    # -- comparisons (boolean, no gradient) ------------------------------------------------------

    def _compare(self, name, other):
        other = other if isinstance(other, Tensor) else _as_tensor(np.asarray(other))
        return _binary(OPS[name], self, other)

    def __lt__(self, other):
        return self._compare("lt", other)

    def __le__(self, other):
        return self._compare("le", other)

    def __gt__(self, other):
        return self._compare("gt", other)

    def __ge__(self, other):
        return self._compare("ge", other)

    def __eq__(self, other):
        return self._compare("eq", other)

    def __ne__(self, other):
        return self._compare("ne", other)

    # -- elementwise -----------------------------------------------------------------------------

    def exp(self):
        return _unary(OPS["exp"], self)

    def log(self):
        return _unary(OPS["log"], self)

    def sqrt(self):
        return _unary(OPS["sqrt"], self)

    def abs(self):
        return _unary(OPS["abs"], self)

    def sin(self):
        return _unary(OPS["sin"], self)

    def cos(self):
        return _unary(OPS["cos"], self)

    def tanh(self):
        return _unary(OPS["tanh"], self)

    def sigmoid(self):
        return _unary(OPS["sigmoid"], self)

    def relu(self):
        return _unary(OPS["relu"], self)

    def sign(self):
        return _unary(OPS["sign"], self)

    def __abs__(self):
        return self.abs()

    def maximum(self, other) -> "Tensor":
        """Elementwise max(self, other); the gradient of a tie goes half to each side (as torch)."""
        return _binary(OPS["maximum"], self, _operand(other))

    def minimum(self, other) -> "Tensor":
        """Elementwise min(self, other); the gradient of a tie goes half to each side (as torch)."""
        return _binary(OPS["minimum"], self, _operand(other))

    def clamp(self, min=None, max=None) -> "Tensor":  # noqa: A002
        """Elementwise min(max(self, min), max): the gradient passes where min <= self <= max.

        Bounds are numbers or Tensors (broadcast; differentiable); None means no bound."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min= and max= must be given (both are None)")
        if isinstance(min, (Tensor, _ndarray)) or isinstance(max, (Tensor, _ndarray)):
            return _clamp_tensor(self, min, max)
        x = self
        if x.dtype.kind != "f" and any(isinstance(b, float) for b in (min, max)):
            x = x.to(dtypes.get_default_dtype())
        return _apply(OPS["clamp"], (x,), {"min": min, "max": max})

    def clip(self, min=None, max=None) -> "Tensor":  # noqa: A002
        """Alias of :meth:`clamp`."""
        return self.clamp(min, max)

    # -- reductions ------------------------------------------------------------------------------

    def sum(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """Sum over ``dim`` (None: all; an int or a tuple), keeping reduced dims with ``keepdim``."""
        dim = _norm_dims(_dim_arg(dim, axis), self.ndim)
        keep = builtins.bool(keepdim if keepdims is None else keepdims)
        return _apply(OPS["sum"], (self,), {"axis": dim, "keepdims": keep})

    def mean(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """Mean over ``dim`` (None: all; an int or a tuple)."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"mean() needs a floating tensor, got {self.dtype}; convert it with .float()")
        dim = _norm_dims(_dim_arg(dim, axis), self.ndim)
        keep = builtins.bool(keepdim if keepdims is None else keepdims)
        return _apply(OPS["mean"], (self,), {"axis": dim, "keepdims": keep})

    def var(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
            keepdims=None) -> "Tensor":
        """sum (x - mean)**2 / (n - correction) over ``dim`` (correction=1 by default: Bessel's;
        ``unbiased=False`` is correction=0, as torch's older signature)."""
        return _apply(OPS["var"], (_need_float(self, "var"),),
                      _reduction(self, dim, axis, keepdim, keepdims, correction=_correction(correction, unbiased)))

    def std(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
            keepdims=None) -> "Tensor":
        """sqrt(var) over ``dim`` (correction=1 by default)."""
        return _apply(OPS["std"], (_need_float(self, "std"),),
                      _reduction(self, dim, axis, keepdim, keepdims, correction=_correction(correction, unbiased)))

    def amax(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """Max over ``dim`` (None: all); the gradient is split evenly among tied maxima."""
        return _apply(OPS["amax"], (self,), _reduction(self, dim, axis, keepdim, keepdims, nonempty="amax"))

    def amin(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """Min over ``dim`` (None: all); the gradient is split evenly among tied minima."""
        return _apply(OPS["amin"], (self,), _reduction(self, dim, axis, keepdim, keepdims, nonempty="amin"))

    def max(self, dim=None, keepdim: bool = False, *, axis=None):
        """No dim: the largest element (0-d; gradient split among ties). With an int ``dim``: the
        named pair ``(values, indices)`` along it, indices of the first maximum (the gradient goes
        to that one). With a Tensor: :meth:`maximum`."""
        return self._extreme("max", OPS["amax"], OPS["argmax"], _MaxResult, dim, keepdim, axis)

    def min(self, dim=None, keepdim: bool = False, *, axis=None):
        """No dim: the smallest element (0-d); with an int ``dim``: ``(values, indices)``; with a
        Tensor: :meth:`minimum`."""
        return self._extreme("min", OPS["amin"], OPS["argmin"], _MinResult, dim, keepdim, axis)

    def _extreme(self, name, value_op, index_op, result, dim, keepdim, axis):
        dim = _dim_arg(dim, axis)
        if isinstance(dim, Tensor):
            return self.maximum(dim) if name == "max" else self.minimum(dim)
        if dim is None:
            return _apply(value_op, (self,), _reduction(self, None, None, False, None, nonempty=name))
        d = _one_dim(dim, self.ndim, name)
        _reduction(self, d, None, True, None, nonempty=name)  # validates a non-empty dimension
        axis_ = d if self.ndim else None
        indices = _apply(index_op, (self,), {"axis": axis_, "keepdims": True})
        values = self.gather(d, indices)
        if not keepdim and self.ndim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return result(values, indices)

    def argmax(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """Index of the first maximum along ``dim`` (None: in the flattened tensor); int64, no gradient."""
        return self._arg("argmax", dim, keepdim, axis)

    def argmin(self, dim=None, keepdim: bool = False, *, axis=None) -> "Tensor":
        """Index of the first minimum along ``dim`` (None: in the flattened tensor); int64, no gradient."""
        return self._arg("argmin", dim, keepdim, axis)

    def _arg(self, name, dim, keepdim, axis):
        dim = _dim_arg(dim, axis)
        d = None if dim is None or not self.ndim else _one_dim(dim, self.ndim, name)
        _reduction(self, d, None, keepdim, None, nonempty=name)
        return _apply(OPS[name], (self,), {"axis": d, "keepdims": builtins.bool(keepdim)})

    def logsumexp(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """log sum exp(x) over ``dim``, computed as m + log sum exp(x - m) with m the max (stable)."""
        return _apply(OPS["logsumexp"], (_need_float(self, "logsumexp"),),
                      _reduction(self, dim, axis, keepdim, keepdims))

    def softmax(self, dim=None, *, axis=None) -> "Tensor":
        """exp(x_i) / sum_j exp(x_j) along ``dim``, computed after subtracting the max (stable)."""
        return _apply(OPS["softmax"], (_need_float(self, "softmax"),), {"axis": self._softmax_dim(dim, axis)})

    def log_softmax(self, dim=None, *, axis=None) -> "Tensor":
        """x_i - logsumexp(x) along ``dim`` (stable: no exp of large values, no log of 0)."""
        return _apply(OPS["log_softmax"], (_need_float(self, "log_softmax"),),
                      {"axis": self._softmax_dim(dim, axis)})

    def _softmax_dim(self, dim, axis):
        dim = _dim_arg(dim, axis)
        if dim is None:
            raise TypeError("softmax/log_softmax need the dimension to normalise over, e.g. x.softmax(dim=-1)")
        d = _one_dim(dim, self.ndim, "softmax")
        return d if self.ndim else None

    def prod(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """Product over ``dim``; d/dx_i = prod_{j != i} x_j, exact when x holds zeros."""
        return _apply(OPS["prod"], (self,), _reduction(self, dim, axis, keepdim, keepdims))

    def norm(self, p=2, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> "Tensor":
        """The vector p-norm (sum |x|**p)**(1/p) over ``dim`` (None: all); p may be inf, -inf, 0
        (the count of non-zeros) or 'fro' (= 2). The gradient is 0 where the norm is 0 (as torch)."""
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p={p!r} is not supported; use a number, inf, -inf or 'fro'")
            p = 2
        if p is None:
            p = 2
        return _apply(OPS["norm"], (_need_float(self, "norm"),),
                      _reduction(self, dim, axis, keepdim, keepdims, p=float(p)))

    # -- shape -----------------------------------------------------------------------------------

    def reshape(self, *shape) -> "Tensor":
        """The same values in a new shape (one dimension may be -1)."""
        shape = _shape_args(shape, "shape")
        try:  # numpy validates the shape as it reshapes
            return _apply(OPS["reshape"], (self,), {"shape": shape})
        except ValueError:
            raise RuntimeError(f"shape {list(shape)} is invalid for a tensor of {self.data.size} elements "
                               f"(shape {self.shape})") from None

    view = reshape

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        """Swap two dimensions."""
        d0, d1 = (_norm_dims(d, self.ndim)[0] if self.ndim else 0 for d in (dim0, dim1))
        return _apply(OPS["transpose"], (self,), {"dim0": d0, "dim1": d1})

    def permute(self, *dims) -> "Tensor":
        """Reorder the dimensions: ``permute(2, 0, 1)``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = tuple(int(d) % max(self.ndim, 1) for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dimensions")
        return _apply(OPS["permute"], (self,), {"dims": dims})

    def unsqueeze(self, dim: int = None, *, axis=None) -> "Tensor":
        """Insert a dimension of size 1 at ``dim``."""
        d = int(_dim_arg(dim, axis))
        if not -self.ndim - 1 <= d <= self.ndim:
            raise IndexError(f"unsqueeze: dim {d} is out of range for a tensor with {self.ndim} dimension(s)")
        d = d % (self.ndim + 1)
        return _apply(OPS["unsqueeze"], (self,), {"dim": d})

    def broadcast_to(self, shape) -> "Tensor":
        """A read-only view broadcast to ``shape`` (numpy's rules)."""
        shape = tuple(int(s) for s in shape)
        if shape == self.shape:
            return self
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: shape {self.shape} does not broadcast to {shape}") from None
        return _apply(OPS["expand"], (self,), {"shape": shape})

    def expand(self, *sizes) -> "Tensor":
        """Broadcast to ``sizes`` (new dimensions in front; -1 keeps a dimension's size)."""
        sizes = _shape_args(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: {len(sizes)} sizes {sizes} given for a tensor with {self.ndim} "
                               f"dimensions (shape {self.shape}); give at least {self.ndim}")
        target = []
        for i, s in enumerate(sizes):
            n = self.shape[i - lead] if i >= lead else None
            if s == -1 and n is not None:
                s = n
            if s < 0 or (n is not None and n != 1 and n != s):
                raise RuntimeError(f"expand: can't expand shape {self.shape} to {sizes}: dimension {i} "
                                   f"would go from {n if n is not None else 'new'} to {s} (only size-1 "
                                   f"dimensions expand; -1 keeps an existing dimension)")
            target.append(s)
        return self.broadcast_to(tuple(target))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """The dimensions start_dim..end_dim (inclusive) merged into one; a 0-d tensor becomes 1-d."""
        if self.ndim == 0:
            return _apply(OPS["flatten"], (self,), {"start": 0, "end": -1})
        s, e = _one_dim(start_dim, self.ndim, "flatten"), _one_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        if s == e:
            return self
        return _apply(OPS["flatten"], (self,), {"start": s, "end": e})

    def squeeze(self, dim=None, *, axis=None) -> "Tensor":
        """Remove the size-1 dimensions (all, or those among ``dim``: an int or a tuple; a listed
        dimension that is not of size 1 stays, as in torch)."""
        dims = _norm_dims(_dim_arg(dim, axis), self.ndim)
        drop = [d for d in (range(self.ndim) if dims is None else dims) if self.shape[d] == 1]
        if not drop:
            return self
        return _apply(OPS["squeeze"], (self,), {"dims": tuple(drop)})

    def split(self, split_size_or_sections, dim: int = 0, *, axis=None) -> tuple:
        """Pieces along ``dim``: of size ``split_size_or_sections`` (the last may be smaller) or of
        the listed sizes (which must add up to the dimension's size). Each piece is a slice."""
        d = _one_dim(axis if axis is not None else dim, self.ndim, "split")
        if self.ndim == 0:
            raise RuntimeError("split: a 0-d tensor has no dimension to split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size <= 0 and not (size == 0 and n == 0):
                raise ValueError(f"split: the split size must be positive, got {size}")
            sizes = [min(size, n - a) for a in range(0, n, size)] if n else [0]
        else:
            sizes = [int(k) for k in split_size_or_sections]
            if sum(sizes) != n or any(k < 0 for k in sizes):
                raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n}, the size "
                                 f"of dimension {d}")
        pieces, start = [], 0
        for k in sizes:
            pieces.append(self[(slice(None),) * d + (slice(start, start + k),)])
            start += k
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0, *, axis=None) -> tuple:
        """At most ``chunks`` pieces along ``dim``, each of size ceil(n / chunks) but the last."""
        d = _one_dim(axis if axis is not None else dim, self.ndim, "chunk")
        if int(chunks) <= 0:
            raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
        n = self.shape[d] if self.ndim else 1
        if n == 0:
            return self.split([0] * int(chunks), d)
        return self.split(-(-n // int(chunks)), d)

    def __getitem__(self, key):
        """numpy indexing (ints, slices, None, Ellipsis, bool masks, integer arrays and Tensors).

        Index Tensors are inputs of the node (no gradient); repeated indices accumulate their
        gradients."""
        steps = _torch_index_steps(key)
        if steps is not None:
            return self[steps[0]][steps[1]]
        template, idx = _index_template(key)
        try:
            return _apply(OPS["getitem"], (self, *idx) if idx else (self,), {"key": template})
        except IndexError as e:
            raise _index_error(e, self) from None

    def gather(self, dim=None, index=None, *, axis=None) -> "Tensor":
        """out[i][j][k] = self[index[i][j][k]][j][k] for dim=0 (likewise for other dims): ``index``
        has as many dimensions as self and is no larger outside ``dim``."""
        d = _one_dim(_dim_arg(dim, axis), self.ndim, "gather")
        index = _index_tensor(index, "gather", self, d)
        if index.ndim != self.ndim:
            raise RuntimeError(f"gather: index has {index.ndim} dimensions but the tensor has {self.ndim}; "
                               f"they must have the same number")
        for k in range(self.ndim):
            if k != d and index.shape[k] > self.shape[k]:
                raise RuntimeError(f"gather: index shape {index.shape} is larger than the tensor's shape "
                                   f"{self.shape} in dimension {k}; only dimension {d} may differ")
        try:
            return _apply(OPS["gather"], (self, index), {"dim": d})
        except IndexError as e:
            raise _index_error(e, self) from None

    def index_select(self, dim=None, index=None, *, axis=None) -> "Tensor":
        """The slices of self at the positions ``index`` (a 1-d integer tensor) along ``dim``."""
        d = _one_dim(_dim_arg(dim, axis), self.ndim, "index_select")
        index = _index_tensor(index, "index_select", self, d)
        if index.ndim > 1:
            raise RuntimeError(f"index_select: index must be 1-d (or 0-d), got shape {index.shape}")
        if self.ndim == 0:
            raise RuntimeError("index_select: a 0-d tensor has no dimension to select along; reshape it first")
        try:
            return _apply(OPS["index_select"], (self, index), {"dim": d})
        except IndexError as e:
            raise _index_error(e, self) from None

    def masked_fill(self, mask, value) -> "Tensor":
        """self with ``value`` where the boolean ``mask`` (broadcast to self's shape) is True; the
        gradient is 0 there. ``value``: a number or a 0-d Tensor (which then gets the gradient)."""
        mask = mask if isinstance(mask, Tensor) else _make(np.asarray(mask))
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype} (use mask != 0)")
        try:
            ok = np.broadcast_shapes(self.shape, mask.shape) == self.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the tensor's "
                             f"shape {self.shape}")
        if isinstance(value, Tensor):
            if value.ndim:
                raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            return where(mask, value.to(self.dtype), self)
        return _apply(OPS["masked_fill"], (self, mask), {"value": value})

    # -- products --------------------------------------------------------------------------------

    def dot(self, other) -> "Tensor":
        """sum_i self_i other_i of two 1-d tensors of the same size."""
        other = _as_tensor(other)
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"dot: 1-d tensors expected, got shapes {self.shape} and {other.shape} "
                               f"(use matmul for matrices)")
        if self.shape != other.shape:
            raise RuntimeError(f"dot: the vectors have different sizes, {self.shape[0]} and {other.shape[0]}")
        return _binary(OPS["dot"], self, other)

    def outer(self, other) -> "Tensor":
        """out_ij = self_i other_j of two 1-d tensors."""
        other = _as_tensor(other)
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"outer: 1-d tensors expected, got shapes {self.shape} and {other.shape}")
        return _binary(OPS["outer"], self, other)

    # -- in-place --------------------------------------------------------------------------------

    def _inplace(self, what, compute):
        """Apply an in-place operation: ``compute(x)`` gives the new value from a tensor x holding
        the current one. In a graph, this tensor becomes the node of that computation, applied to
        a node holding its old value (so gradients flow through the old role and the new one)."""
        if state.grad_enabled:
            if self.requires_grad:
                if not self._inputs:
                    raise RuntimeError(
                        f"a leaf Tensor that requires grad is being used in an in-place operation ({what}). "
                        f"Do it under `with ag.no_grad():` (as optimizers do), or work on a copy (t.clone()).")
                if self.data.base is not None:
                    raise RuntimeError(
                        f"in-place operation {what} on a view of another tensor that requires grad: the "
                        f"gradient of the tensor it views would not see the change. clone() the view first.")
                result = compute(self._shell())
            else:
                result = compute(self)
                if result.requires_grad:  # a constant receiving values that require grad
                    result = compute(self._shell())
            if result.requires_grad:
                self._inputs, self._op, self._params = result._inputs, result._op, result._params
                _rewires[0] += 1
                self.requires_grad, self._freed, self._scope = True, False, result._scope
        else:
            result = compute(self)
        np.copyto(self.data, result.data, casting="same_kind")
        self._bump()
        if self.requires_grad and self._inputs:
            # the node's output is this tensor at its new version: remember it with the inputs'
            self._sv = tuple(0 if i._vc is None else i._vc[0] for i in self._inputs) + (self._vc[0],)
        return self

    def _shell(self):
        """A new node with this tensor's current role in the graph and a copy of its values."""
        s = _make(self.data.copy(), self.requires_grad, self._inputs, self._op, self._params)
        sv = self._sv
        s._sv = None if sv is None else sv[: len(self._inputs)]
        s._scope = self._scope
        return s

    def _bump(self):
        bump_versions((self,))

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        return self._inplace("add_", lambda x: x + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return self._inplace("sub_", lambda x: x - (other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._inplace("mul_", lambda x: x * other)

    def div_(self, other):
        return self._inplace("div_", lambda x: x / other)

    def _overwrite(self, what, value):
        """Replace every value by ``value`` (a number or a Tensor broadcast to this shape): in a
        graph the old values get gradient 0 and ``value`` gets the gradient (NaN/Inf in the old
        values do not leak through, as x * 0 + v would let them)."""
        value = value if isinstance(value, Tensor) else _make(np.asarray(value, dtype=self.dtype))
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        keep_none = _make(np.zeros(self.shape, dtype=np.bool_))
        return self._inplace(what, lambda x: where(keep_none, x, value.broadcast_to(self.shape)))

    def zero_(self):
        """Set every value to 0, in place."""
        return self._overwrite("zero_", 0)

    def fill_(self, value):
        """Set every value to ``value``, in place."""
        return self._overwrite("fill_", value)

    def clamp_(self, min=None, max=None):  # noqa: A002
        return self._inplace("clamp_", lambda x: x.clamp(min, max))

    def copy_(self, src):
        """Copy src's values (broadcast to this shape) into this tensor; differentiable in src."""
        return self._overwrite("copy_", src if isinstance(src, Tensor) else _make(np.asarray(src)))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, key, value):
        """t[key] = value, in place (recorded in a graph: differentiable in t and value)."""
        steps = _torch_index_steps(key)
        key = _index_key(key) if steps is None else _KeyChain(_index_key(k) for k in steps)
        v = value if isinstance(value, Tensor) else _make(np.asarray(value, dtype=self.dtype))
        self._inplace("__setitem__", lambda x: _apply(OPS["index_put"], (x, v), {"key": key}))

    # -- printing --------------------------------------------------------------------------------

    def __repr__(self):
        return _format(self)

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)


def _int_like(k):
    """Whether the index part k selects one position as an int does (for torch, a 0-d integer
    tensor too)."""
    if isinstance(k, (int, np.integer)):
        return not isinstance(k, (builtins.bool, np.bool_))
    return isinstance(k, (Tensor, _ndarray)) and k.ndim == 0 and k.dtype.kind in "iu"


def _torch_index_steps(key):
    """For a key that mixes integers with index arrays: (basic key, advanced key) to apply one after
    the other, else None.

    numpy counts an integer among the advanced indices, so ``x[0, :, [0, 1]]`` puts the array's
    dimension first (2, n); torch selects with the integers first and then places the arrays'
    dimensions as if the integers were not there: (n, 2). Applying the integers (and slices) first as
    a basic index, then the arrays to the result, gives torch's placement."""
    if not isinstance(key, tuple):
        return None
    ints = advanced = False
    for k in key:
        if _int_like(k):
            ints = True
        elif isinstance(k, (Tensor, _ndarray, list)):
            advanced = True
    if not (ints and advanced):
        return None
    basic, rest = [], []
    for k in key:
        if _int_like(k):
            basic.append(int(k))
        elif k is None:
            basic.append(None)
            rest.append(slice(None))  # the new axis is a dimension of the first step's result
        elif k is Ellipsis:
            basic.append(k)
            rest.append(k)
        elif isinstance(k, slice):
            basic.append(k)
            rest.append(slice(None))
        else:  # an index array, or a bool mask covering as many dimensions as it has
            arr = k.data if isinstance(k, Tensor) else np.asarray(k)
            basic.extend([slice(None)] * (arr.ndim if arr.dtype == np.bool_ else 1))
            rest.append(k)
    return tuple(basic), tuple(rest)


def _index_key(key):
    """A numpy index from a user's key: Tensors become their arrays."""
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _index_template(key):
    """(key, index Tensors) for ``x[key]``: each Tensor in the key becomes a Slot filled by an
    input of the getitem node (see ops/index.py); lists become arrays."""
    if isinstance(key, Tensor):
        return _Slot(0), (key,)
    if isinstance(key, tuple):
        if not any(isinstance(k, (Tensor, list)) for k in key):
            return key, ()
        parts, idx = [], []
        for k in key:
            if isinstance(k, Tensor):
                parts.append(_Slot(len(idx)))
                idx.append(k)
            else:
                parts.append(np.asarray(k) if isinstance(k, list) else k)
        return tuple(parts), tuple(idx)
    if isinstance(key, list):
        return np.asarray(key), ()
    return key, ()


def _index_error(e, t):
    """numpy's IndexError in torch's words: 'index 5 is out of bounds for dimension 0 with size 3'."""
    return IndexError(f"{str(e).replace(' axis ', ' dimension ')} (indexing a tensor of shape {t.shape})")


def _index_tensor(index, name, t, dim):
    """The index of gather/index_select: integer, and (as in torch) never negative."""
    index = index if isinstance(index, Tensor) else _make(np.asarray(index))
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got dtype {index.dtype}")
    if index.data.size and index.data.min() < 0:
        raise IndexError(f"{name}: index {index.data.min()} is out of bounds for dimension {dim} with size "
                         f"{t.shape[dim] if t.ndim else 1} (negative indices are not allowed here)")
    return index


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _backward_name(op):
    # x * 2 and x * y are one operation to a user (torch: MulBackward0 for both): the op table's
    # "_scalar" variants, which take the Python number as a parameter, are named like their op
    name = op.name[: -len("_scalar")] if op.name.endswith("_scalar") else op.name
    return "".join(part.capitalize() for part in name.split("_")) + "Backward"


class GradFn:
    """What ``t.grad_fn`` shows: the operation that made ``t`` (PyTorch's ``<MulBackward0>``)."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor):
        self._tensor = tensor

    def name(self) -> str:
        return _backward_name(self._tensor._op)

    @property
    def next_functions(self):
        return tuple((t.grad_fn, 0) for t in self._tensor._inputs)

    def __eq__(self, other):
        return isinstance(other, GradFn) and other._tensor is self._tensor

    def __hash__(self):
        return id(self._tensor)

    def __repr__(self):
        return f"<{self.name()}>"


# PyTorch's print options (torch._tensor_str.PRINT_OPTS defaults)
_PRECISION, _THRESHOLD, _EDGEITEMS, _LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    """PyTorch's element formatter: one width for all elements; floats in integer mode (``1.``),
    fixed (``2.5000``) or scientific (``1.0000e-05``) notation, chosen from the nonzero finite values."""

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = arr.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(str(value)))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = absv.min(), absv.max()
        self.int_mode = builtins.bool(np.all(vals == np.ceil(vals)))
        values = vals.tolist()
        if self.int_mode:
            if hi / lo > 1000.0 or hi > 1.0e8:
                self.sci_mode = True
                self.max_width = max(self.max_width, *(len(f"{v:.{_PRECISION}e}") for v in values))
            else:
                self.max_width = max(self.max_width, *(len(f"{v:.0f}") + 1 for v in values))
        elif hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4:
            self.sci_mode = True
            self.max_width = max(self.max_width, *(len(f"{v:.{_PRECISION}e}") for v in values))
        else:
            self.max_width = max(self.max_width, *(len(f"{v:.{_PRECISION}f}") for v in values))

    def format(self, value):
        if self.floating:
            if self.sci_mode:
                s = f"{value:{self.max_width}.{_PRECISION}e}"
            elif self.int_mode:
                s = f"{value:.0f}"
                if not (np.isinf(value) or np.isnan(value)):
                    s += "."
            else:
                s = f"{value:.{_PRECISION}f}"
        else:
            s = str(value)
        return (self.max_width - len(s)) * " " + s


def _summarized(arr):
    """The edge items along every dimension (what the formatter sees for a summarized tensor)."""
    for d, n in enumerate(arr.shape):
        if n > 2 * _EDGEITEMS:
            index = np.r_[0:_EDGEITEMS, n - _EDGEITEMS:n]
            arr = np.take(arr, index, axis=d)
    return arr


def _format_array(arr, indent, summarize, fmt):
    if arr.ndim == 0:
        return fmt.format(arr.item())
    n = arr.shape[0]
    edge = summarize and n > 2 * _EDGEITEMS
    if arr.ndim == 1:
        per_line = max(1, (_LINEWIDTH - indent) // (fmt.max_width + 2))
        if edge:
            data = ([fmt.format(v) for v in arr[:_EDGEITEMS].tolist()] + [" ..."]
                    + [fmt.format(v) for v in arr[-_EDGEITEMS:].tolist()])
        else:
            data = [fmt.format(v) for v in arr.tolist()]
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(n) if not edge else [*range(_EDGEITEMS), None, *range(n - _EDGEITEMS, n)]
    slices = ["..." if i is None else _format_array(arr[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _format(t):
    """``repr`` as PyTorch prints (torch/_tensor_str.py), with ``ag.`` dtypes: ``tensor([1., 2.])``,
    ``tensor([2.5000, 3.5000], requires_grad=True)``, ``tensor(3., dtype=ag.float64)``."""
    arr = t.data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype != dtypes.get_default_dtype():  # no element shows whether it is an integer
            suffixes.append(f"dtype=ag.{arr.dtype}")
    else:
        summarize = arr.size > _THRESHOLD
        fmt = _Formatter(_summarized(arr) if summarize else arr)
        body = _format_array(arr, indent, summarize, fmt)
        if arr.dtype not in (dtypes.get_default_dtype(), np.int64, np.bool_):
            suffixes.append(f"dtype=ag.{arr.dtype}")
    if t.requires_grad:
        suffixes.append(f"grad_fn=<{_backward_name(t._op)}>" if t._inputs else "requires_grad=True")
    out = [prefix + body]
    last = len(out[0]) - out[0].rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


# -- creation --------------------------------------------------------------------------------------


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (number, nested list, ndarray, Tensor)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the ndarray ``a``."""
    if not isinstance(a, _ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(a).__name__}")
    _check_dtype(a.dtype, "from_numpy")
    return _make(a)


def _shape_args(shape, what="size"):
    """A shape given as ints or as one tuple/list of them (``zeros(2, 3)``, ``zeros((2, 3))``).

    Each size must be an integer (an int, a numpy integer or a one-element integer Tensor): a float
    such as 2.5 raises TypeError rather than being truncated."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    sizes = []
    for s in shape:
        if isinstance(s, builtins.bool):
            raise TypeError(f"{what} must be a tuple of ints, got {shape!r} (a bool is not a size)")
        try:
            sizes.append(operator.index(s))
        except TypeError:
            raise TypeError(f"{what} must be a tuple of ints, got {shape!r}: {s!r} is a "
                            f"{type(s).__name__}; sizes must be integers") from None
    return tuple(sizes)


def _new_tensor(arr, requires_grad):
    t = _make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    return dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.zeros(_shape_args(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.ones(_shape_args(shape), _float_dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.empty(_shape_args(shape), _float_dtype(dtype)), requires_grad)


def full(shape, value, dtype=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = dtypes.get_default_dtype() if isinstance(value, float) else (
            np.bool_ if isinstance(value, builtins.bool) else np.int64)
    return _new_tensor(np.full(_shape_args((shape,)) if not isinstance(shape, int) else (shape,), value, dtype),
                       requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.zeros(np.shape(t.data if isinstance(t, Tensor) else t),
                                dtype or _dtype_of(t)), requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.ones(np.shape(t.data if isinstance(t, Tensor) else t), dtype or _dtype_of(t)),
                       requires_grad)


def full_like(t, value, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.full(np.shape(t.data if isinstance(t, Tensor) else t), value,
                               dtype or _dtype_of(t)), requires_grad)


def rand_like(t, dtype=None, requires_grad=False) -> Tensor:
    dt = dtype or _dtype_of(t)
    return _new_tensor(generator().random(np.shape(t.data if isinstance(t, Tensor) else t)).astype(dt),
                       requires_grad)


def randn_like(t, dtype=None, requires_grad=False) -> Tensor:
    dt = dtype or _dtype_of(t)
    return _new_tensor(generator().standard_normal(np.shape(t.data if isinstance(t, Tensor) else t)).astype(dt),
                       requires_grad)


def _dtype_of(t):
    return t.dtype if isinstance(t, Tensor) else np.asarray(t).dtype


def rand(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) from the global generator (ag.manual_seed)."""
    return _new_tensor(generator().random(_shape_args(shape)).astype(_float_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False) -> Tensor:
    """Standard normal samples from the global generator (ag.manual_seed)."""
    return _new_tensor(generator().standard_normal(_shape_args(shape)).astype(_float_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` also works) from the global generator."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, (high if high is not None else size)
    return _make(generator().integers(low, high, size=_shape_args((size,)) if not isinstance(size, int)
                                      else (size,), dtype=np.int64 if dtype is None else dtype))


def arange(start, end=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    """The values start, start + step, ... up to (not including) ``end``; ``arange(n)`` is 0..n-1.

    int64 when every argument is an integer, else the default float dtype. ``step`` must be
    nonzero and point from ``start`` towards ``end`` (or the range is empty: start == end)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError(f"arange: step must be nonzero, got {step!r}")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the range from {start!r} to {end!r} can't be walked with step {step!r} "
                         f"(upper and lower bound inconsistent with the step's sign)")
    if dtype is None:
        dtype = dtypes.get_default_dtype() if any(isinstance(v, float) for v in (start, end, step)) else np.int64
    return _new_tensor(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included).

    With an integer ``dtype``, as torch: start and end are truncated to integers first, each value
    start + i * step (from the end backwards for the second half) is computed in float64 and then
    truncated towards zero."""
    steps = _shape_args((steps,), "linspace: steps")[0]
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    dtype = _float_dtype(dtype)
    if dtype.kind == "f":
        return _new_tensor(np.linspace(start, end, steps, dtype=dtype), requires_grad)
    lo, hi = (float(np.array(int(v), np.int64).astype(dtype)) for v in (start, end))
    step = (hi - lo) / (steps - 1) if steps > 1 else 0.0
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    values = np.where(i < half, lo + step * i, hi - step * (steps - i - 1))
    return _new_tensor(np.trunc(values).astype(dtype), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False) -> Tensor:
    return _new_tensor(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` else ``b`` (elementwise, broadcasting); differentiable in a and b."""
    cond = condition if isinstance(condition, Tensor) else _make(np.asarray(condition))
    if cond.dtype != np.bool_:
        cond = _make(cond.data.astype(np.bool_))
    a = a if isinstance(a, Tensor) else _make(_array(a, copy=False))
    b = b if isinstance(b, Tensor) else _make(_array(b, copy=False))
    if a.dtype != b.dtype:
        dt = dtypes.result_type(a.data, b.data)
        a = a if a.dtype == dt else a.to(dt)
        b = b if b.dtype == dt else b.to(dt)
    return _apply(OPS["where"], (cond, a, b))
