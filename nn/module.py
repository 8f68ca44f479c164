"""nn.Module: the base class of layers and models, and the containers Sequential, ModuleList, ModuleDict.

The data model is PyTorch's: assigning a :class:`Parameter` to an attribute registers it as a
parameter, assigning a Module registers a sub-module, and ``register_buffer`` registers a Tensor
that is state but not trained (batch norm's running statistics). Everything else is built on those
three ordered dictionaries: ``parameters()``, ``state_dict()``, ``train()``, ``to()``, the repr.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.extend import as_array, module_scope, parse_to

from .parameter import Parameter, _write

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their Parameters and sub-modules as
    attributes, and define ``forward``. Calling the module (``model(x)``) runs ``forward`` inside
    the module's scope (its path in the model, e.g. ``('MLP', '0')``), which every operation
    created meanwhile records, so that ``ag.draw_graph`` can group the nodes by module.
    """

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_name"] = None  # the attribute name under which a parent registered this module

    # -- registration ----------------------------------------------------------------------------

    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() is called: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._discard(name)
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            self._check_init("sub-modules")
            self._discard(name)
            d["_modules"][name] = value
            value.__dict__["_name"] = name
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__}: use nn.Parameter(...) or None"
                )
            d["_parameters"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer {name!r} of "
                    f"{type(self).__name__}: use a Tensor or None"
                )
            d["_buffers"][name] = value
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as sub-module {name!r} of "
                    f"{type(self).__name__}: use an nn.Module or None"
                )
            d["_modules"][name] = None
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            d[key].pop(name, None)
        d.pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name: str):
        # only called when ordinary lookup fails: look in the registries
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            reg = d.get(key)
            if reg is not None and name in reg:
                return reg[name]
        if "_parameters" not in d and name in ("_parameters", "_buffers", "_modules", "_non_persistent"):
            raise AttributeError(
                f"{type(self).__name__} was not initialised as a Module: call "
                f"super().__init__() first in {type(self).__name__}.__init__"
            )
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d.get(key, ()):
                del d[key][name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter, or None for an absent one such as a missing bias)."""
        self._check_init("parameters")
        _check_name(name, self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter({name!r}): expected an nn.Parameter or None, got {type(param).__name__}"
            )
        self._discard(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a Tensor that is state but not a parameter (e.g. running statistics).

        Persistent buffers are saved in ``state_dict()``; ``to(dtype)`` converts floating buffers.
        """
        self._check_init("buffers")
        _check_name(name, self)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, got {type(tensor).__name__}")
        self._discard(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name`` (as attribute assignment does)."""
        self._check_init("sub-modules")
        _check_name(name, self)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected an nn.Module, got {type(module).__name__}")
        self._discard(name)
        self._modules[name] = module
        if module is not None:
            module.__dict__["_name"] = name

    register_module = add_module

    # -- calling ---------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module: define it in every subclass (``torch.nn.Module.forward``)."""
        raise NotImplementedError(f"{type(self).__name__} has no forward(): define forward(self, ...) in the subclass")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # the operations of forward are drawn inside this module: under its name in its parent, or
        # its class name when it is called on its own
        with module_scope(self.__dict__.get("_name"), type(self).__name__):
            return self.forward(*args, **kwargs)

    # -- traversal -------------------------------------------------------------------------------

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every descendant, depth first; each module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first, each once (``torch.nn.Module.modules``)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, each once (``torch.nn.Module.children``)."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, kind, prefix="", recurse=True):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, kind).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, e.g. ``('0.weight', ...)``; a shared Parameter appears once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter of this module and (``recurse=True``) its descendants, a shared one once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) for every buffer, e.g. ``('bn.running_mean', ...)``."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (state that is not trained, such as batch norm's running statistics)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar parameters (elements of all Parameters)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # -- modes, gradients, dtypes --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout drops, batch norm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every Parameter (False freezes the module); returns the module."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (default) or fill it with zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.grad.data))

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn(m)`` on every sub-module (children first) and on this module; returns self.

        The usual use is custom initialisation: ``model.apply(init_weights)``.
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Convert every floating Parameter and buffer (and gradient) to a dtype, in place, with
        torch's overloads: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``.

        The Parameter objects stay the same (an optimizer built before still holds them). The
        device can only be the CPU, where the tensors are already: ``to('cpu')`` changes nothing,
        any other device is an error naming the available one.
        """
        _, dtype, _, _ = parse_to(args, kwargs, "Module.to()")
        if dtype is None:
            return self  # tensors live in host memory: moving to the CPU is a no-op
        if dtype.kind != "f":
            raise TypeError(f"Module.to() only converts to floating dtypes, got {dtype}")
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.dtype.kind == "f":
                    p.data = p.data.astype(dtype)
                    if p.grad is not None:
                        p.grad = Tensor(p.grad.data.astype(dtype))
            for b in m._buffers.values():
                if b is not None and b.dtype.kind == "f":
                    b.data = b.data.astype(dtype)
        return self

    def cpu(self) -> Module:
        """The module itself: its tensors are on the CPU already."""
        return self

    def cuda(self, device: Any = None) -> Module:
        """An error naming the available device: chainrule computes on the CPU."""
        return self.to("cuda" if device is None else device if isinstance(device, str) else f"cuda:{device}")

    def float(self) -> Module:
        """Convert every floating-point Parameter and buffer to float32 in place; returns the module."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Convert every floating-point Parameter and buffer to float64 in place; returns the module."""
        return self.to(np.float64)

    # -- state -----------------------------------------------------------------------------------

    def state_dict(
        self, destination: OrderedDict[str, Tensor] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as detached Tensors sharing memory."""
        out = OrderedDict() if destination is None else destination
        # every path to a shared sub-module gets its keys, as in torch (parameters() lists it once)
        for mod_prefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            pre = mod_prefix + "." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[pre + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (name -> Tensor or array) into the parameters and buffers.

        Everything is checked before anything is written, so a bad state dict leaves the model as
        it was. With ``strict`` (default), missing and unexpected keys are errors; a value whose
        shape differs from the parameter's is always an error. The error lists every problem.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict expects a dict of name -> Tensor, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched, bad_values, updates = [], [], []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            try:
                arr = value.data if isinstance(value, Tensor) else as_array(value, copy=False)
            except TypeError:
                bad_values.append(f"{key}: a {type(value).__name__} is not a tensor")
                continue
            if tuple(arr.shape) != tuple(target.shape):
                mismatched.append(
                    f"{key}: copying a param with shape {tuple(arr.shape)}, the shape in the "
                    f"current model is {tuple(target.shape)}"
                )
                continue
            if (target.dtype.kind == "f" and arr.dtype.kind not in "fiub") or (
                target.dtype.kind in "iub" and arr.dtype.kind == "f" and not np.all(arr == np.round(arr))
            ):
                bad_values.append(f"{key}: values of dtype {arr.dtype} can't be loaded into a {target.dtype} tensor")
                continue
            updates.append((target, arr))
        problems = []
        if strict and missing:
            problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            problems.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if mismatched:
            problems.append("size mismatch for " + "; size mismatch for ".join(mismatched) + ".")
        if bad_values:
            problems.append("bad value(s): " + "; ".join(bad_values) + ".")
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__} (nothing was "
                f"loaded; the model is unchanged):\n\t" + "\n\t".join(problems)
            )
        for target, arr in updates:
            _write(target, arr)
        return IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The configuration shown inside this module's parentheses (e.g. ``in_features=2, ...``)."""
        return ""

    def _repr_lines(self):
        extra = self.extra_repr()
        children = [(name, m) for name, m in self._modules.items() if m is not None]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        if extra:
            lines += ["  " + line for line in extra.split("\n")]
        for name, m in children:
            child = m._repr_lines().replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        lines.append(")")
        return "\n".join(lines)

    def __repr__(self):
        text = self._repr_lines()
        if any(m is not None for m in self._modules.values()):
            # a model (a module with children) ends with its size: the number of scalar parameters
            text += f"\n[{self.num_parameters():,} parameters]"
        return text

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, d):
        self.__dict__.update(d)


def _check_name(name, module):
    if not isinstance(name, str):
        raise TypeError(f"a registered name must be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"invalid name {name!r}: it must be a non-empty string without '.'")
    if hasattr(type(module), name):
        raise KeyError(f"attribute {name!r} already exists on {type(module).__name__}")


# -- containers ----------------------------------------------------------------------------------


class Sequential(Module):
    """Modules applied one after another: ``Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))``.

    The children are named '0', '1', ...; an OrderedDict of name -> module names them instead.
    Indexing returns a child (``seq[0]``), a slice a new Sequential.
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, not an nn.Module")
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        """Call the modules in order, each on the output of the one before."""
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[_index(idx, len(mods))][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its index); returns the Sequential."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered (so their parameters are the container's); no forward."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end (named by its index); returns the ModuleList."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds nn.Modules, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of the iterable ``modules``; returns the ModuleList."""
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index(idx, len(mods))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self))), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ModuleList only holds modules (``torch.nn.ModuleList``): it raises NotImplementedError."""
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your module's forward")


class ModuleDict(Module):
    """A dict of name -> module, registered; no forward."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace the modules of a mapping or of (name, module) pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for name, m in items:
            self[name] = m

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds nn.Modules, got {type(module).__name__} for key {key!r}")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __contains__(self, key) -> bool:
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self) -> KeysView[str]:
        """The names of the modules, in insertion order."""
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self) -> ItemsView[str, Module]:
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove the module named ``key`` and return it."""
        return self._modules.pop(key)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ModuleDict only holds modules (``torch.nn.ModuleDict``): it raises NotImplementedError."""
        raise NotImplementedError("ModuleDict has no forward(): pick modules by key in your module's forward")


def _index(idx, n):
    idx = int(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for a container of {n} modules")
    return idx % n
