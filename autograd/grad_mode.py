"""Gradient mode (``no_grad`` / ``enable_grad``), per thread.

The recording switch is read on every operation, so it lives in one thread-local object whose
attributes are class-level defaults: a new thread starts with gradients enabled.
"""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    grad_enabled = True  # record operations into the graph
    _scope: tuple[str | None, ...] | None = None  # (see scope)
    dual_levels: tuple[int, ...] = ()  # forward AD: the open levels, innermost last (see forward_ad.py)
    dual_ceiling: int | None = None  # forward AD: while a level's JVP rule runs, only the levels up to this propagate
    dual_top = 0  # forward AD: the innermost open level, or 0 while dual_ceiling is set (see forward_ad.py)
    # vmap: the levels whose function is running (per-sample semantics), outermost first
    vmap_levels: tuple[int, ...] = ()
    inference = False  # inside ``inference_mode()``

    @property
    def scope(self) -> tuple[str | None, ...] | None:
        """The nn.Module path an operation is created in (for drawing), or None."""
        return self._scope

    @scope.setter
    def scope(self, path: tuple[str | None, ...] | None) -> None:
        SCOPES_USED[0] = True
        self._scope = path


state = _State()

# Whether a scope was ever set, in any thread (module_scope, or ``state.scope = ...``): until then no
# operation is made inside one, and recording a node skips reading the thread-local scope, which
# costs about as much as a small Python call (a chain of small operations pays it on every node).
SCOPES_USED = [False]


class module_scope:
    """``with module_scope(name, outermost):`` the operations recorded in the block are made inside the
    module ``name``, nested in the enclosing module's scope (``outermost`` names it when no module
    encloses it: nn uses the class name there). ``ag.draw_graph`` clusters operations by this path;
    nn.Module.__call__ runs its forward in one."""

    __slots__ = ("name", "outermost", "prev")

    def __init__(self, name, outermost=None):
        self.name, self.outermost = name, outermost

    def __enter__(self):
        SCOPES_USED[0] = True  # (state._scope is the scope property's value, written without its setter)
        prev = self.prev = state._scope
        if prev is None:
            state._scope = (self.outermost if self.outermost is not None else self.name,)
        else:
            state._scope = prev + (self.name if self.name is not None else self.outermost,)

    def __exit__(self, *exc):
        state._scope = self.prev
        return False


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are recorded (the default)."""
    return state.grad_enabled


class _Mode:
    """A context manager that sets the gradient mode, also usable as a decorator (``@no_grad()``,
    or ``@no_grad`` without the call, as torch allows)."""

    mode = True

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]) and cls in (no_grad, enable_grad):
            return cls()(args[0])  # used as a bare decorator: the decorated function
        return super().__new__(cls)

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Mode):
    """Operations inside ``with no_grad():`` are not recorded: their results do not require grad."""

    mode = False


class enable_grad(_Mode):
    """Re-enables recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_Mode):
    """Switch recording on or off for this thread: at once when called, as torch does.

    ``ag.set_grad_enabled(False)`` on its own line turns recording off until it is turned on again;
    ``with ag.set_grad_enabled(flag):`` restores the previous mode when the block ends; and
    ``@ag.set_grad_enabled(flag)`` runs the decorated function in that mode (the decorator itself
    changes nothing at definition time).
    """

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.mode

    def __enter__(self):
        pass  # (the mode was set when the object was made; __exit__ restores the one before)

    def __call__(self, fn):
        state.grad_enabled = self._prev  # used as a decorator: undo the switch made by __init__
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode:
    """``with ag.inference_mode():`` (or as a decorator, with or without the call): operations are
    not recorded, as under ``no_grad``, and :func:`is_inference_mode_enabled` says so.
    ``inference_mode(False)`` leaves recording as it is. chainrule's tensors carry nothing extra
    for autograd when not recording, so unlike torch's "inference tensors" the results are ordinary
    tensors that later code may use in recorded operations."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)  # @ag.inference_mode without the call
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = (state.grad_enabled, state.inference)
        state.inference = self.mode
        if self.mode:
            state.grad_enabled = False

    def __exit__(self, *exc):
        state.grad_enabled, state.inference = self._prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    """True inside ``ag.inference_mode()``."""
    return state.inference
