"""The objects a Tensor hands out about its place in the graph: ``t.grad_fn`` (:class:`GradFn`,
torch's ``<MulBackward0>``) and the handle ``t.register_hook`` returns (:class:`HookHandle`)."""
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
        """The ``grad_fn`` of each input with its output index, as ``((grad_fn, 0), ...)``; an
        input that no operation made (a leaf) shows as ``(None, 0)``."""
        return tuple((t.grad_fn, 0) for t in self._tensor._inputs)

    def __eq__(self, other):
        return isinstance(other, GradFn) and other._tensor is self._tensor

    def __hash__(self):
        return id(self._tensor)

    def __repr__(self):
        return f"<{self.name()}>"
