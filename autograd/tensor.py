"""Tensor: a numpy array that records the operations made on it.

A Tensor is a node of the engine (see engine.py): an operation's result keeps its inputs
(``_inputs``), its entry of the op table (``_op``) and the operation's non-tensor arguments
(``_params``); backward asks it for the gradients of its inputs (``_backward``), which runs the
entry's rules on the saved arrays. This module holds the class with that contract, its operators,
and how an operation's result becomes a node: one constructor (:func:`make`) and the functions that
apply an entry of the table (:func:`apply`, and its fast forms for one tensor, two tensors, or a
tensor and a Python number). The hot path of an operation is: one dispatch, one numpy call, one
node record. The named methods live in ``autograd/methods/``, one mixin a family.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from . import anomaly, dtypes, engine, forward_ad, versions
from .broadcast import unbroadcast
from .forward_ad import elementwise_tangents, scaled
from .grad_fn import GradFn, HookHandle
from .grad_mode import SCOPES_USED, state
from .ops import NUMBERS as _NUMBERS
from .ops import OPS
from .printing import backward_name

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import DTypeLike

_new = object.__new__
_ndarray = np.ndarray
_PY_SCALARS = (float, int, builtins.bool)  # (float first: `in` tests them in turn)

_DIV, _DIV_S, _RDIV_S, _POW_S = OPS["div"], OPS["div_scalar"], OPS["rdiv_scalar"], OPS["pow_scalar"]
# the ufuncs of the ops x (op) number_operand(c, x) and of their rules (None: g itself; see scalar_op)
_ADD_S = OPS["add_scalar"]
_NUMBER_KERNELS = {_ADD_S: np.add, OPS["mul_scalar"]: np.multiply, _DIV_S: np.true_divide}
_NUMBER_VJPS = {_ADD_S: None, OPS["mul_scalar"]: np.multiply, _DIV_S: np.true_divide}
# the operations applied through binary(), which casts both operands to one dtype first
BINARY_OPS = frozenset(
    OPS[name]
    for name in (
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "matmul",
        "dot",
        "outer",
        "maximum",
        "minimum",
        "lt",
        "le",
        "gt",
        "ge",
        "eq",
        "ne",
    )
)


# -- nodes ---------------------------------------------------------------------------------------


def make(data, inputs=(), op=None, params=None, cls=None):
    """The one constructor of Tensors (but for the user's ``Tensor(data)``): a leaf holding the
    ndarray ``data`` (no inputs), or the node of ``op`` applied to ``inputs`` with ``params``, which
    records the versions of its inputs, the module it is made in and, under detect_anomaly(), where.
    ``cls``: a subclass to make (vmap's BatchedTensor)."""
    t = _new(Tensor if cls is None else cls)
    t.data = data
    t.grad = None
    t._inputs = inputs
    t._op = op
    t._params = params
    t._counter = None
    t._hooks = None
    t._retain = False
    t._freed = False
    t._tangents = None
    if op is None:
        t.requires_grad = False
        t._saved_versions = None
        t._scope = None
        return t
    t.requires_grad = op.differentiable
    t._saved_versions = None
    for i in inputs:
        if i._counter is not None:
            t._saved_versions = versions.of(inputs)
            break
    t._scope = state._scope if SCOPES_USED[0] else None
    if anomaly.enabled:
        anomaly.remember(t)
    return t


def is_tensor(x: object) -> TypeGuard[Tensor]:
    """Whether ``x`` is a Tensor (torch.is_tensor)."""
    return isinstance(x, Tensor)


def _recorded(inputs):
    """Whether an operation on ``inputs`` is recorded: recording is on and some input requires grad."""
    if state.grad_enabled:
        for t in inputs:
            if t.requires_grad:
                return True
    return False


def apply(op, inputs, params=None):
    """Run ``op`` on the Tensors ``inputs`` and record it when one of them requires grad."""
    for t in inputs:
        if t._tangents is not None:  # a tensor with tangents (forward mode) or batched (vmap)
            return _apply_special(op, inputs, params)
    return _apply(op, inputs, params)


def _apply(op, inputs, params):
    if params:
        data = op.forward(*[t.data for t in inputs], **params)
    else:
        data = op.forward(*[t.data for t in inputs])
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    out = make(data, inputs, op, params) if _recorded(inputs) else make(data)
    if data.base is not None:
        # a view (reshape, transpose, basic indexing...): writing through it changes the input too,
        # so both count their in-place modifications on one version counter, as in torch
        for t in inputs:
            if np.may_share_memory(data, t.data):
                out._counter = versions.counter(t)
                break
    return out


# vmap's BatchedTensor class, once autograd/vmap.py is imported (it sets this): the class test is
# the cheapest way for the hot paths to tell a batched tensor from one that only carries tangents
BATCHED: list[type[Tensor] | None] = [None]
_NO_PARAMS: dict[str, Any] = {}


def _apply_special(op, inputs, params):
    """apply() where some input is batched (vmap: the op's batching rule) or carries tangents
    (forward mode: the op's JVP rule gives the result's tangents too)."""
    for t in inputs:
        if t.__class__ is BATCHED[0]:
            from . import vmap

            return vmap.batched_apply(op, inputs, params)
    out = _apply(op, inputs, params)
    forward_ad.propagate(op, inputs, params or _NO_PARAMS, out)
    return out


def unary(op, x):
    """``apply`` for an elementwise op of one tensor and no params (never a view)."""
    if x._tangents is not None and x.__class__ is BATCHED[0]:
        return _apply_special(op, (x,), None)
    data = op.forward(x.data)
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    out = make(data, (x,), op) if x.requires_grad and state.grad_enabled else make(data)
    if x._tangents is not None:  # forward mode: out's tangents too
        elementwise_tangents(op, x, data, None, out)
    return out


def binary(op, a, b):
    """a op b for two Tensors, with torch's dtype promotion and a clear broadcasting error."""
    if a._tangents is not None or b._tangents is not None:
        dt = binary_dtype(op, a.data, b.data)
        return _apply_special(
            op, (a if a.dtype == dt else a._to_dtype(dt), b if b.dtype == dt else b._to_dtype(dt)), None
        )
    x, y = a.data, b.data
    if x.dtype != y.dtype or (op is _DIV and x.dtype.kind != "f"):
        x, y = binary_operands(op, x, y)
    try:
        data = op.forward(x, y)
    except ValueError as e:
        if x.shape != y.shape and "broadcast" in str(e):
            raise ValueError(
                f"{op.name}: shapes {tuple(x.shape)} and {tuple(y.shape)} do not broadcast (numpy broadcasting rules)"
            ) from None
        raise
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    if (a.requires_grad or b.requires_grad) and state.grad_enabled:
        return make(data, (a, b), op)
    return make(data)


def binary_dtype(op, x, y):
    """The dtype both operands of a binary op are cast to (torch's promotion; true division of
    integers gives the default float dtype)."""
    dt = dtypes.result_type(x, y) if x.dtype != y.dtype else x.dtype
    if op is _DIV and dt.kind != "f":
        dt = dtypes.get_default_dtype()
    return dt


def binary_operands(op, x, y):
    """The arrays x and y cast to binary_dtype (as binary(), Graph.forward and its replay cast them)."""
    dt = binary_dtype(op, x, y)
    return (x if x.dtype == dt else x.astype(dt)), (y if y.dtype == dt else y.astype(dt))


def scalar_op(op, x, c):
    """x op c for a Tensor x and a Python number c, which never upcasts a float tensor."""
    arr = x.data
    z = _NUMBERS.get(c)
    if z is not None and z.dtype is arr.dtype:
        # x + c, x * c, x / c with c kept as a 0-d array of x's dtype: the op's forward, inlined
        kernel = _NUMBER_KERNELS.get(op)
        tangents = x._tangents
        if kernel is not None and (tangents is None or x.__class__ is not BATCHED[0]):
            data = kernel(arr, z)
            if data.__class__ is not _ndarray:
                data = np.asarray(data)
            out = make(data, (x,), op, {"c": c}) if x.requires_grad and state.grad_enabled else make(data)
            if tangents is not None:  # forward mode: elementwise_tangents' common case, inlined
                t = tangents.get(level := state.dual_top)  # (one array tangent at it; 0 is no level)
                if (t.__class__ is _ndarray or t.__class__ is tuple) and len(tangents) == 1 and not x.requires_grad:
                    # x + c shares x's tangents (never changed in place); x * c, x / c scale them
                    out._tangents = tangents if op is _ADD_S else {level: scaled(t, op, c, z)}
                    return out
                elementwise_tangents(op, x, data, c, out)
            return out
    if arr.dtype.kind != "f":
        dt = dtypes.scalar_result_type(arr.dtype, c)
        if op is _POW_S and dt.kind != "f" and c < 0:
            raise RuntimeError(
                f"Integers to negative integer powers are not allowed (a {arr.dtype} tensor ** "
                f"{c}); convert the tensor first, e.g. t.double() ** {c}"
            )
        if op is _DIV_S or op is _RDIV_S:
            dt = dtypes.get_default_dtype() if dt.kind != "f" else dt
        if dt != arr.dtype:
            x = make(arr.astype(dt))  # the cast is of a tensor that cannot require grad
            arr = x.data
    if x._tangents is not None and x.__class__ is BATCHED[0]:
        return _apply_special(op, (x,), {"c": c})
    data = op.forward(arr, c=c)
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    out = make(data, (x,), op, {"c": c}) if x.requires_grad and state.grad_enabled else make(data)
    if x._tangents is not None:
        elementwise_tangents(op, x, data, c, out)
    return out


def to_array(data, dtype=None, copy=True):
    """The ndarray for user data, with the dtype policy of API.md (floats to the default dtype,
    integers to int64, numpy arrays keep theirs; object, complex, string and date dtypes refused)."""
    if dtype is not None:
        dtype = dtypes.check_supported(np.dtype(dtype), "dtype")
    if isinstance(data, Tensor):
        arr = data.data
        return arr.astype(dtype) if dtype is not None else (arr.copy() if copy else arr)
    if isinstance(data, (_ndarray, np.generic)):
        dtypes.check_supported(data.dtype, f"can't make a Tensor from this {type(data).__name__}")
        return np.asarray(np.array(data, dtype=dtype, copy=copy or None) if copy or dtype is not None else data)
    arr = np.array(data)
    if dtype is not None:
        dtypes.check_supported(arr.dtype, f"can't make a Tensor from this {type(data).__name__}")
        return arr.astype(dtype, copy=False)
    kind = arr.dtype.kind
    if kind == "f":
        return arr.astype(dtypes.get_default_dtype(), copy=False)
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "b":
        return arr
    raise TypeError(
        f"can't make a Tensor from {type(data).__name__} (numpy dtype {arr.dtype}); "
        f"pass numbers, nested lists of numbers or an ndarray"
    )


def as_tensor(value):
    """A constant operand (Tensor, ndarray, nested list) as a Tensor: a leaf that does not require grad."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple, _ndarray, np.generic)):
        return make(to_array(value, copy=False))
    raise TypeError(f"unsupported operand type: {type(value).__name__}; use a Tensor, an ndarray or a number")


def operand(value):
    """The other operand of a binary method: a Tensor, or a constant (a number keeps torch's dtype rules)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, np.generic)):
        return make(to_array(value))
    return as_tensor(value)


# -- gradients: fitting and ownership (shared by backward and ag.Graph's replay) -----------------


def fit(gi, like):
    """A rule's gradient fitted to its input ``like`` (its array, or under create_graph the Tensor):
    broadcast dimensions summed away (unbroadcast), cast to the input's dtype."""
    if gi.__class__ is not _ndarray and gi.__class__ is not Tensor and getattr(gi, "_levels", None):
        from . import vmap

        return vmap.fit(gi, like)  # (a batched gradient: per sample, or summed over the batch)
    if gi.shape != like.shape:
        gi = unbroadcast(gi, like.shape)
    if gi.dtype != like.dtype:
        gi = gi._to_dtype(like.dtype) if isinstance(gi, Tensor) else gi.astype(like.dtype)
    return gi


def own(gi, g):
    """The gradient ``gi`` a rule gave a leaf, as an array no one else holds: a leaf keeps the array
    it receives as its ``.grad`` (and later adds to it in place). A rule returns a new array, or the
    gradient ``g`` it was given (identity rules such as add's, whose other input then gets the same
    array), or a view; only the first can be kept as it is."""
    return gi.copy() if gi is g else gi


def _adoptable(g, dtype):
    """Whether a leaf may keep ``g`` itself as its gradient: an array of its dtype that owns its
    memory, writeable (no view, no cached constant). The engine hands a leaf only arrays that no
    one else holds (see own()); hooks and user Functions are given copies."""
    return g.__class__ is _ndarray and g.base is None and g.dtype == dtype and g.flags.writeable


# -- the methods, by family (they use the functions above) -----------------------------------------
from .methods.arith import ArithmeticMethods  # noqa: E402
from .methods.bitwise import BitwiseMethods  # noqa: E402
from .methods.convert import ConvertMethods  # noqa: E402
from .methods.elementwise import ElementwiseMethods  # noqa: E402
from .methods.index import IndexMethods  # noqa: E402
from .methods.inplace import InplaceMethods  # noqa: E402
from .methods.interop import InteropMethods  # noqa: E402
from .methods.linalg import LinalgMethods  # noqa: E402
from .methods.reduce import ReduceMethods  # noqa: E402
from .methods.scan import ScanMethods  # noqa: E402
from .methods.shape import ShapeMethods  # noqa: E402


class Tensor(
    ArithmeticMethods,
    ConvertMethods,
    ElementwiseMethods,
    BitwiseMethods,
    ReduceMethods,
    ScanMethods,
    ShapeMethods,
    IndexMethods,
    LinalgMethods,
    InplaceMethods,
    InteropMethods,
):
    """A numpy-backed tensor that records operations for reverse-mode differentiation.

    ``ag.Tensor(data, requires_grad=False)`` copies ``data`` as ``ag.tensor`` does.
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_inputs",
        "_op",
        "_params",
        "_counter",
        "_saved_versions",
        "_hooks",
        "_retain",
        "_freed",
        "_scope",
        "_tangents",
        "__weakref__",
    )

    __hash__ = object.__hash__  # == is elementwise, identity is the hash (nodes are dict keys)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike | None = None):
        self.data = to_array(data, dtype)
        self.grad = None
        self._inputs = ()
        self._op = None
        self._params = None
        self._counter = None
        self._saved_versions = None
        self._hooks = None
        self._retain = False
        self._freed = False
        self._scope = None
        self._tangents = None  # forward mode: {level: tangent} (see forward_ad.py)
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- attributes ------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        """The sizes of the dimensions, a tuple (torch's ``torch.Size`` is a tuple too)."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions (0 for a scalar tensor)."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the elements (``ag.float32`` and the others are numpy's)."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no recorded operation made (or one that does not require grad)."""
        return not self._inputs or not self.requires_grad

    @property
    def grad_fn(self) -> GradFn | None:
        """The operation that made this tensor (None for a leaf), shown as ``<MulBackward>``."""
        if not self._inputs or not self.requires_grad:
            return None
        return GradFn(self)

    def numel(self) -> int:
        """The number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """The number of dimensions, as ``ndim``."""
        return self.data.ndim

    # -- grad bookkeeping ------------------------------------------------------------------------

    def detach(self) -> Tensor:
        """The same data (shared) as a new leaf that does not require grad."""
        out = make(self.data)
        out._counter = versions.counter(self)
        return out

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf for its gradient, in place; returns it."""
        if requires_grad:
            dtypes.require_float(self.dtype)
        elif self._inputs and self.requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; use t.detach() for a non-leaf")
        self.requires_grad = builtins.bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
        self._retain = True
        if self._hooks is None:
            self._hooks = []  # the engine hands a node its gradient when it has hooks (or is a leaf)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return HookHandle(self._hooks, hook)

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Tensor | Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) (times ``gradient``) into every leaf's ``.grad``; with ``inputs``
        (tensors) into theirs only (see ``ag.autograd.backward``)."""
        if inputs is not None or not self.requires_grad:  # (the latter: the error torch gives, there)
            from .functional import backward

            return backward(self, gradient, retain_graph, create_graph, inputs)
        g = self._seed_grad(gradient)
        if create_graph:
            g = self._seed_tensor(g)
        engine.backward(
            (self,),
            (g,),
            retain_graph=create_graph if retain_graph is None else retain_graph,
            create_graph=create_graph,
        )

    def _seed_tensor(self, seed):
        """The array ``_seed_grad`` made, as a Tensor (create_graph: the backward is recorded)."""
        return make(seed)

    def _seed_grad(self, gradient):
        """The gradient backward starts from: ones for a one-element tensor, else ``gradient`` (a new
        array either way: a leaf may keep it)."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                    f"{self.shape}: pass gradient= (a tensor of that shape) to backward()"
                )
            data = self.data
            return np.ones(data.shape, data.dtype)  # (ones_like's Python wrapper costs more than the array)
        g = to_array(gradient, dtype=self.dtype)
        if g.shape != self.shape:
            raise RuntimeError(f"gradient has shape {g.shape} but the tensor has shape {self.shape}")
        return g

    # -- engine contract (engine.py) ---------------------------------------------------------------

    @property
    def _version(self) -> int:
        return 0 if self._counter is None else self._counter[0]

    def _bump(self):
        versions.bump_versions((self,))

    def _check_versions(self):
        """Raise if a value this node's rules read was modified in place since the node was made."""
        op = self._op
        assert op is not None  # (only nodes are checked)
        reads_out, positions = op.reads
        saved = self._saved_versions
        inputs = self._inputs
        for i, inp in enumerate(inputs):
            now = 0 if inp._counter is None else inp._counter[0]
            then = 0 if saved is None else saved[i]
            if now == then:
                continue
            if i in positions:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"in-place operation: input {i} (shape {inp.shape}) of {op.name} is at version "
                    f"{now}; expected version {then}. Use an out-of-place operation (e.g. x = x + y "
                    f"instead of x += y) or clone() the tensor before modifying it."
                )
            if inp._inputs and inp.requires_grad:
                raise RuntimeError(
                    f"input {i} (shape {inp.shape}) of {op.name} was modified by an in-place operation "
                    f"after {op.name} used it (version {now}, used at version {then}), so its gradient "
                    f"can't be routed to the value {op.name} read. clone() it before modifying it."
                )
        expected = saved[len(inputs)] if saved is not None and len(saved) > len(inputs) else 0
        if reads_out and self._counter is not None and self._counter[0] != expected:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an in-place "
                f"operation: the output of {op.name} (shape {self.shape}) is at version {self._counter[0]}; "
                f"expected version {expected}. Use an out-of-place operation or clone() it first."
            )

    def _backward(self, g, retain_graph, create_graph=False):
        """The gradients of this node's inputs given ``g``, the gradient of its output: each input's
        rule of the op table (None for an input that needs none), fitted to the input's shape and
        dtype. Under ``create_graph`` the rules run on Tensors, so this backward is recorded too."""
        if self._freed:
            raise RuntimeError(engine.RETAIN_GRAPH_MSG)
        if not retain_graph:
            self._freed = True
        op = self._op
        assert op is not None  # (the engine asks only nodes)
        inputs = self._inputs
        if op.keeps_shape and not create_graph:
            # one input, gradient of its shape and dtype (no checks needed): the hot path of chains
            # of elementwise operations
            x = inputs[0]
            if self._saved_versions is not None or self._counter is not None or x._counter is not None:
                self._check_versions()
            if g.__class__ is Tensor:
                g = g.data
            params = self._params
            if op in _NUMBER_KERNELS:  # x + c, x * c, x / c: the rule's g, g * c, g / c (see scalar_op)
                if (kernel := _NUMBER_VJPS[op]) is None:
                    return (g.copy() if not x._inputs else g,)
                z = _NUMBERS.get(params["c"])  # type: ignore[index]
                if z is not None and z.dtype is g.dtype:
                    gi = kernel(g, z)
                    return (gi if gi.__class__ is _ndarray else np.asarray(gi),)
            gi = op.vjps[0](g, self.data, x.data, **params) if params else op.vjps[0](g, self.data, x.data)
            return (own(gi, g) if not x._inputs else gi,)
        if op.vjp_all is not None:
            return op.vjp_all(self, g)
        if self._saved_versions is not None or self._counter is not None:
            self._check_versions()
        else:
            for t in inputs:
                if t._counter is not None:
                    self._check_versions()
                    break
        params = self._params
        args: Any
        out: Any
        if create_graph:  # run the rules on Tensors so that the backward is itself recorded
            if not isinstance(g, Tensor):
                g = make(np.asarray(g))
            args, out = inputs, self
        else:
            if g.__class__ is Tensor:
                g = g.data
            args = (inputs[0].data,) if len(inputs) == 1 else [t.data for t in inputs]
            out = self.data
        if op.variadic:  # one rule gives every input's gradient, in one pass over the inputs
            joint = op.vjps[0](g, out, *args, **(params or _NO_PARAMS))
            return [
                fit(gi, inp if create_graph else inp.data) if inp.requires_grad else None
                for inp, gi in zip(inputs, joint)
            ]
        grads: list[Any] = []
        for inp, rule in zip(inputs, op.vjps):
            if rule is None or not inp.requires_grad:
                grads.append(None)
                continue
            gi = fit(
                rule(g, out, *args, **params) if params else rule(g, out, *args), inp if create_graph else inp.data
            )
            grads.append(own(gi, g) if not (inp._inputs or create_graph) else gi)
        return grads

    def _accumulate(self, g, store=True):
        """Given this node's complete gradient ``g``: run its hooks (which may replace it), keep it as
        ``.grad`` (a leaf, or a retain_grad() tensor) when ``store``, and return the gradient to pass on.

        A leaf keeps the array itself when the engine hands it one that no one else holds (see own());
        otherwise, and for a retain_grad() tensor, whose gradient is also passed on, a copy."""
        hooks = self._hooks
        if hooks:
            for hook in hooks:
                new = hook(g if isinstance(g, Tensor) else make(np.asarray(g)))
                if new is not None:
                    g = new if state.grad_enabled else to_array(new, dtype=self.dtype, copy=False)
        if store and (not self._inputs or self._retain):
            self._store(g, not self._inputs and not hooks)
        return g

    def _store(self, g, adopt=False):
        """Add the gradient ``g`` to ``.grad``; ``adopt``: ``g`` may become ``.grad`` itself (see own())."""
        dtype = self.data.dtype
        if dtype.kind != "f":  # requires_grad was assigned directly, bypassing requires_grad_()
            dtypes.require_float(dtype)
        if isinstance(g, Tensor):  # create_graph: keep the graph of the gradient
            if g.__class__ is not Tensor and getattr(g, "_levels", None):
                raise RuntimeError(
                    "a leaf's .grad can't hold per-sample gradients (a backward inside vmap): "
                    "use ag.func.grad or ag.grad inside the vmapped function"
                )
            self.grad = g if self.grad is None else self.grad + g
        elif self.grad is None:
            # (a hook may have kept the array it was shown: then a copy too)
            self.grad = make(g if adopt and _adoptable(g, dtype) else np.array(g, dtype=dtype))
        else:
            acc = self.grad.data
            if acc.shape == g.shape and acc.flags.writeable and self.grad._counter is None:
                acc += g
            else:
                self.grad = make(acc + g)

    def _op_name(self):
        return backward_name(self._op)

    def _created_at(self):
        return anomaly.created_at(self)

    def _recompute(self):
        """Graph.forward: evaluate this node again from its inputs' current values."""
        op, params = self._op, self._params
        assert op is not None  # (only nodes are evaluated again)
        arrays = [t.data for t in self._inputs]
        if op in BINARY_OPS:  # cast the operands as binary() did when the node was made
            arrays = binary_operands(op, *arrays)
        data = op.forward(*arrays, **params) if params else op.forward(*arrays)
        self.data = data if data.__class__ is _ndarray else np.asarray(data)
        versions.stamp(self)

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
            self.data = data = np.array(to_array(value, dtype=self.dtype, copy=False))
        self._bump()
        return data
