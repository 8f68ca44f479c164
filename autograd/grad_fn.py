"""The objects a Tensor hands out about its place in the graph: ``t.grad_fn`` (:class:`GradFn`,
torch's ``<MulBackward0>``; :class:`AccumulateGrad` for the leaves in its ``next_functions``) and
the handle ``t.register_hook`` returns (:class:`HookHandle`)."""

from __future__ import annotations

from .printing import backward_name


class HookHandle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook off again (torch's
    ``RemovableHandle``); removing it twice does nothing."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        """Take the hook off the tensor it was registered on."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _next(t):
    if t._inputs:
        return t.grad_fn
    return AccumulateGrad(t) if t.requires_grad else None


class GradFn:
    """What ``t.grad_fn`` shows: the operation that made ``t`` (PyTorch's ``<MulBackward0>``)."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor):
        self._tensor = tensor

    def name(self) -> str:
        """The operation's name as torch prints it: ``MulBackward0``, ``SumBackward0``, ..."""
        return backward_name(self._tensor._op)

    @property
    def next_functions(self):
        """Where the gradient goes next, one ``(node, 0)`` per input, as torch shows it: the input's
        ``grad_fn`` when an operation made it, an :class:`AccumulateGrad` for a leaf that requires
        grad (its ``.variable`` is the leaf), ``None`` for an input that takes no gradient."""
        return tuple((_next(t), 0) for t in self._tensor._inputs)

    def __eq__(self, other):
        return isinstance(other, GradFn) and other._tensor is self._tensor

    def __hash__(self):
        return id(self._tensor)

    def __repr__(self):
        return f"<{self.name()}>"


class AccumulateGrad:
    """The node that stores a leaf's gradient in ``.grad`` (torch's ``AccumulateGrad``), as
    ``next_functions`` shows it; ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        """``AccumulateGrad``."""
        return "AccumulateGrad"

    @property
    def next_functions(self):
        """Nothing: a leaf's gradient goes no further."""
        return ()

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return "<AccumulateGrad>"
