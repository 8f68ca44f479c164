"""The Optimizer base class: parameter groups, per-parameter state, state_dict, projection.

This copies PyTorch's data model (``torch/optim/optimizer.py``), not its machinery: an optimizer
holds ``defaults`` (the options given to its constructor), ``param_groups`` (a list of dicts, each
with its ``params`` and a full set of options) and ``state`` (a dict from parameter to that
parameter's buffers). Each subclass gathers, for every group, the parameters that have a gradient
and hands their arrays to a plain update function whose docstring writes the algorithm out.

Every step follows the lecture's projected stochastic gradient descent,

    θ ← proj_Θ(θ − η g),

where the update θ − η g is the optimizer's own rule and ``proj_Θ`` is the group's ``project``
option (None: Θ is the whole space). See :mod:`optim.projections`.

Non-finite gradients. Like torch.optim, no optimizer checks its gradients: a NaN (or ±Inf) in
``p.grad`` flows into the update, so the matching entries of ``p`` become NaN, and an optimizer
with state (momentum, moment estimates, accumulators) also stores the NaN in its buffers, where it
stays for every later step. Check ``np.isfinite(p.grad.data).all()`` or clip with
``nn.utils.clip_grad_norm_`` before ``step()`` if a loss can blow up.
"""
from __future__ import annotations

import copy
import functools
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd import Tensor, enable_grad, from_numpy
from autograd.tensor import bump_versions


class _Required:
    """Sentinel for an option that has no default and that every group must give."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _state_tensor(array: np.ndarray) -> Tensor:
    """An optimizer buffer: a Tensor that does not require grad, wrapping ``array``."""
    return from_numpy(np.ascontiguousarray(array))


def _copy_value(value):
    """A deep copy of state: Tensors and arrays are copied (as Tensors), containers recursed."""
    if isinstance(value, Tensor):
        return _state_tensor(value.data.copy())
    if isinstance(value, np.ndarray):
        return _state_tensor(value.copy())
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy_value(v) for v in value)
    return value


def _as_number(value, key):
    """A scalar state entry (``step``, ``mu_product``...) as a Python number."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        if value.size != 1:
            raise ValueError(f"state entry {key!r} should be a number, got an array of shape {value.shape}")
        value = value.item()
    if not isinstance(value, numbers.Number):
        raise ValueError(f"state entry {key!r} should be a number, got {type(value).__name__}")
    return value


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors (leaf tensors that require grad, e.g. ``model.parameters()``),
            of ``(name, Tensor)`` pairs (``model.named_parameters()``), or of dicts, each a parameter
            group ``{'params': [...], 'lr': ..., ...}`` whose options override ``defaults``.
        defaults: the default value of each option. Every group also takes ``project``: a callable
            applied to each parameter's array after every step (the lecture's projected SGD,
            θ ← proj_Θ(θ − ηg)); it works in place (``np.clip(x, 0, 1, out=x)``) or returns the
            projected array, which is then copied into the parameter.

    Attributes:
        defaults (dict): the options of the constructor.
        param_groups (list[dict]): each group's ``params`` and options.
        state (dict): per-parameter buffers, ``state[p]`` a dict (empty until the first step).

    A NaN gradient is not checked: as in torch.optim it turns the matching parameter entries (and
    the optimizer's buffers for them) into NaN; see the module docstring.
    """

    #: state entries that are numbers (not per-parameter arrays): load_state_dict keeps them numbers
    _scalar_state = frozenset({"step", "mu_product"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_records_call", False):
            # remember that step() ran, so that a scheduler stepped first can warn (as torch does)
            @functools.wraps(step)
            def recording_step(self, *args, **kwargs):
                self._opt_called = True
                return step(self, *args, **kwargs)

            recording_step._records_call = True
            cls.step = recording_step

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.defaults.setdefault("project", None)
        self._validate_group(self.defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                "a Tensor: wrap it in a list, e.g. optim.SGD([w], lr=0.1)")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MSG)
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(
                "optimizer got an empty parameter list: pass the tensors to optimize, e.g. "
                "model.parameters() of a model that has parameters")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- groups ----------------------------------------------------------------------------------

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError naming the option when a group's hyper-parameters are invalid."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``params`` and any options) to ``param_groups``.

        Options the group leaves out take the optimizer's ``defaults``. Useful to start training a
        frozen part of a model: ``opt.add_param_group({'params': head.parameters(), 'lr': 1e-3})``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry (the tensors to optimize)")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MSG)
        else:
            params = list(params)

        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params):
            names = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    "can't optimize a non-leaf Tensor (one computed from other tensors): optimize the "
                    "leaves it was computed from, or make a leaf with t.detach().requires_grad_()")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(
                "a parameter group contains the same parameter more than once; each parameter may be "
                "listed only once")
        group["params"] = params
        if names is not None:
            group["param_names"] = names

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization option {name!r}")
            group.setdefault(name, default)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        self._validate_group(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(
                "some parameters appear in more than one parameter group: give each parameter to "
                "exactly one group")
        self.param_groups.append(group)

    # -- stepping --------------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None or p.grad.requires_grad:
                    # a gradient recorded with create_graph: drop its graph, as torch detaches it
                    p.grad = _state_tensor(np.zeros_like(p.grad.data))
                else:
                    p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    @staticmethod
    def _evaluate(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @staticmethod
    def _with_grad(group):
        """The parameters of ``group`` that have a gradient, with the gradient arrays."""
        params, grads = [], []
        for p in group["params"]:
            if p.grad is not None:
                params.append(p)
                grads.append(p.grad.data)
        return params, grads

    @classmethod
    def _finish_step(cls, group) -> None:
        """After a group's update: count it as an in-place modification of each updated parameter
        (so a graph that saved the old values refuses to backward through them, as in torch), then
        apply the group's projection."""
        bump_versions([p for p in group["params"] if p.grad is not None])
        cls._project(group)

    @staticmethod
    def _project(group) -> None:
        """Apply the group's ``project`` option to every parameter, in place: θ ← proj_Θ(θ)."""
        project = group.get("project")
        if project is None:
            return
        for p in group["params"]:
            out = project(p.data)
            if out is not None and out is not p.data:
                out = np.asarray(out.data if isinstance(out, Tensor) else out)
                if out.shape != p.data.shape:
                    raise ValueError(
                        f"the project option returned an array of shape {out.shape} for a parameter of "
                        f"shape {p.data.shape}: a projection must keep the shape")
                np.copyto(p.data, out, casting="same_kind")

    # -- state dict ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as a dict of plain data: ``{'state': ..., 'param_groups': ...}``.

        As in torch, ``state`` maps each parameter's index (its position counted across the
        groups) to its buffers, and each group lists those indices under ``params``. Unlike torch,
        the buffers are copies (a later step does not change a saved state dict), and the groups
        leave out ``project`` (a callable cannot be saved): ``load_state_dict`` keeps the
        optimizer's own.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k not in ("params", "project")}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for key, value in self.state.items():
            if isinstance(key, Tensor):
                if id(key) not in index:
                    continue
                key = index[id(key)]
            state[key] = _copy_value(value)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state made by ``state_dict()`` (possibly of another optimizer of the same kind).

        The saved groups must have as many parameters as this optimizer's groups; the parameters
        are matched by position. Buffers are copied and cast to their parameter's dtype. On any
        error the optimizer is left as it was.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("load_state_dict expects a dict with 'state' and 'param_groups', as made by state_dict()")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, this optimizer has "
                f"{len(self.param_groups)}")
        id_map = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            saved_ids = list(saved["params"])
            if len(saved_ids) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group ({i}) with {len(saved_ids)} parameters, "
                    f"but the optimizer's group {i} has {len(group['params'])}")
            for sid, p in zip(saved_ids, group["params"]):
                id_map[int(_as_number(sid, "params"))] = p

        new_state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            k = key
            if isinstance(k, str) and k.lstrip("-").isdigit():  # a saver may turn int keys into strings
                k = int(k)
            elif isinstance(k, (np.integer, Tensor, np.ndarray)):
                k = int(_as_number(k, "state key"))
            if isinstance(k, int) and k in id_map:
                p = id_map[k]
                new_state[p] = {name: self._load_value(name, v, p) for name, v in value.items()}
            else:
                new_state[key] = _copy_value(value)

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new_group = {k: _plain(v) for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            new_group["project"] = group.get("project")
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            if isinstance(group.get("betas"), tuple) and isinstance(new_group.get("betas"), list):
                new_group["betas"] = tuple(new_group["betas"])
            for name, default in self.defaults.items():
                if name not in new_group:
                    new_group[name] = group.get(name, default)
            self._validate_group(new_group)
            new_groups.append(new_group)

        self.state = new_state
        self.param_groups = new_groups

    def _load_value(self, name, value, param):
        if isinstance(value, (list, tuple)):
            return [self._load_value(name, v, param) for v in value]
        if name in self._scalar_state:
            v = _as_number(value, name)
            return int(v) if name in ("step", "func_evals", "n_iter") else float(v)
        if isinstance(value, (Tensor, np.ndarray)):
            arr = np.array(value.data if isinstance(value, Tensor) else value)
            if arr.dtype.kind == "f":
                arr = arr.astype(param.data.dtype)
            return _state_tensor(arr)
        if isinstance(value, dict):
            return {k: self._load_value(k, v, param) for k, v in value.items()}
        return _plain(value)

    # -- printing --------------------------------------------------------------------------------

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


_SET_MSG = ("optimizer parameters need to be organized in ordered collections, but the ordering of "
            "tensors in sets changes between runs: use a list instead")


def _plain(value):
    """A loaded option as a Python value (a 0-d array from a file becomes a number)."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_nonneg(cls, group, *names):
    for name in names:
        value = group[name]
        if not 0.0 <= value:
            raise ValueError(f"{cls}: invalid {name}={value!r}; {name} must be >= 0")


def _check_lr(cls, group):
    lr = group["lr"]
    if lr is required:
        return
    if not isinstance(lr, numbers.Real) or isinstance(lr, bool):
        raise TypeError(f"{cls}: lr must be a number, got {type(lr).__name__}")
    if not 0.0 <= lr:
        raise ValueError(f"{cls}: invalid learning rate lr={lr!r}; lr must be >= 0")


def _check_eps(cls, group):
    eps = group["eps"]
    if not 0.0 <= eps:
        raise ValueError(f"{cls}: invalid epsilon eps={eps!r}; eps must be >= 0")


def _check_betas(cls, group):
    betas = group["betas"]
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{cls}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    for i, beta in enumerate((beta1, beta2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{cls}: invalid beta parameter betas[{i}]={beta!r}; each beta must be in [0, 1)")
