"""The Optimizer base class: parameter groups, per-parameter state, state_dict, projection.

This copies PyTorch's data model (``torch/optim/optimizer.py``), not its machinery: an optimizer holds
``defaults`` (the options given to its constructor), ``param_groups`` (a list of dicts, each with its
``params`` and a full set of options) and ``state`` (a dict from parameter to its buffers).

An elementwise optimizer (all but L-BFGS) declares its per-parameter state (``_state_spec``, see
optim/_state.py) and its update rule (``_update``: a call of a plain function whose docstring
writes the algorithm out, ``optim.adam.adam``...), and ``Optimizer.step`` does the rest for it:
the parameters that have a gradient, their state created lazily, the calls of the rule (the small
parameters as one flat array, see optim/_flat.py, the large ones in cache-sized chunks spread over
a few threads, see optim/_chunked.py), the results written back, version counts and projection.

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
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from autograd import Tensor, enable_grad
from autograd.extend import bump_versions

from . import _load
from ._chunked import update_in_chunks
from ._flat import FlatState
from ._load import BUFFER, COUNT, NUMBER
from ._load import state_tensor as _state_tensor
from ._state import Plan


class _Required:
    """Sentinel for an option that has no default and that every group must give."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


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


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors (leaf tensors that require grad, e.g. ``model.parameters()``),
            of ``(name, Tensor)`` pairs (``model.named_parameters()``), or of dicts, each a parameter
            group ``{'params': [...], 'lr': ..., ...}`` whose options override ``defaults``.
        defaults: the default value of each option. Every group also takes ``project``: a callable
            applied to each parameter's array after every step (the lecture's projected SGD,
            θ ← proj_Θ(θ − ηg)); it works in place (``np.clip(x, 0, 1, out=x)``) or returns the
            projected array, which is then copied into the parameter. ``defaults['project']``
            (every built-in optimizer's ``project=`` keyword, default None) is the projection of
            the groups that do not name their own; a group's ``'project': None`` leaves that
            group unconstrained.

    Attributes:
        defaults (dict): the options of the constructor.
        param_groups (list[dict]): each group's ``params`` and options.
        state (dict): per-parameter buffers, ``state[p]`` a dict (empty until the first step).

    A NaN gradient is not checked: as in torch.optim it turns the matching parameter entries (and
    the optimizer's buffers for them) into NaN; see the module docstring.
    """

    #: The per-parameter state entries this optimizer keeps, name -> kind (see optim/_load.py), so
    #: that ``load_state_dict`` can check what it loads. None (a custom optimizer that did not
    #: declare its state): entries are copied as they are, and arrays cast to the parameter's
    #: floating dtype.
    _state_kinds: ClassVar[dict[str, str] | None] = None
    #: The entries every non-empty state must hold (the others are created when first needed).
    _required_state: ClassVar[frozenset[str]] = frozenset()
    #: Entries that torch.optim's version of the optimizer keeps and this one does not need: a
    #: loaded state may hold them (a state converted from torch's), and they are left out.
    _torch_only_state: frozenset[str] = frozenset()
    #: An elementwise optimizer's per-parameter state: Count, Number and Buffer declarations (see
    #: optim/_state.py) in the order the entries are created. ``_state_kinds`` and
    #: ``_required_state`` are derived from it.
    _state_spec: tuple = ()
    #: The most bytes of a task of the chunked pass (optim/_chunked.py); None: a chunk.
    _task_bytes: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("_state_spec")
        if spec:
            cls._state_kinds = {e.name: e.kind for e in spec}
            cls._required_state = frozenset(e.name for e in spec if e.when is None and not e.by_update)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_records_call", False):
            # remember that step() ran, so that a scheduler stepped first can warn (as torch does)
            @functools.wraps(step)
            def recording_step(self, *args, **kwargs):
                self._opt_called = True
                return step(self, *args, **kwargs)

            recording_step._records_call = True  # type: ignore[attr-defined]
            cls.step = recording_step  # type: ignore[method-assign]

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.defaults.setdefault("project", None)
        _check_project(self.defaults)
        self._validate_group(self.defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._flat_layouts: dict[int, tuple[dict, FlatState]] = {}  # id(group) -> (group, its layout)

        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                "a Tensor: wrap it in a list, e.g. optim.SGD([w], lr=0.1)"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MSG)
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(
                "optimizer got an empty parameter list: pass the tensors to optimize, e.g. "
                "model.parameters() of a model that has parameters"
            )
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
                    "leaves it was computed from, or make a leaf with t.detach().requires_grad_()"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError(
                "a parameter group contains the same parameter more than once; each parameter may be listed only once"
            )
        group["params"] = params
        if names is not None:
            group["param_names"] = names

        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization option {name!r}")
            group.setdefault(name, default)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        _check_project(group)
        self._validate_group(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(
                "some parameters appear in more than one parameter group: give each parameter to exactly one group"
            )
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

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss.

        An elementwise optimizer (every built-in one but L-BFGS) declares its per-parameter state
        (``_state_spec``) and its update rule (``_update``, which calls a plain function whose
        docstring writes the algorithm out), and steps here, group by group:

        1. the parameters that have a gradient, and their state, created where missing
           (:meth:`_lazy_state`);
        2. the update rule on their arrays (:meth:`_update_group`): the small parameters that
           share a dtype and their scalar state as one flat array, the others one by one, bit for
           bit the same arithmetic;
        3. the new values, counts and buffers written back, each updated parameter counted as
           modified in place, and the group's projection θ ← proj_Θ(θ).
        """
        if type(self)._update is Optimizer._update:
            raise NotImplementedError(f"{type(self).__name__} does not implement step()")
        self._opt_called = True
        loss = self._evaluate(closure)
        for group in self.param_groups:
            params, grads = self._with_grad(group)
            if params:
                plan = Plan.of(self._state_spec, group)
                states = self._lazy_state(group, params, plan)
                self._update_group(group, params, grads, states, plan)
            self._finish_step(group, params)
        return loss

    def _update(
        self, group: dict[str, Any], params: list[np.ndarray], grads: list[np.ndarray], state: dict[str, list]
    ) -> None:
        """The update rule on the arrays ``params`` (with gradients ``grads``), in place, with the
        group's options. ``state`` maps each entry of ``_state_spec`` to a list with one item per
        array: the buffer's array (None where the group does not use it, or where the update is to
        make it: put the new array there), the count's or number's value (to be updated in the list).
        An array may be one parameter's, several parameters' flattened into one, or a chunk of
        one, and calls may run on several threads at once (on disjoint arrays): the rule must be
        elementwise, as every built-in one but L-BFGS's is."""
        raise NotImplementedError

    def _lazy_state(self, group: dict[str, Any], params: list[Tensor], plan: Plan | None = None):
        """The state dicts of ``params``, with the entries of ``_state_spec`` that ``group`` uses
        created where missing, in the declared order; None when the group uses no state (SGD
        without momentum keeps none, as torch's). ``plan``: the group's Plan, if known.

        The one place where state is created: on a parameter's first step, when an option that needs
        an entry is switched on later (amsgrad, RMSprop's momentum or centering), after loading a
        state without the entry; Adagrad also calls it at construction, as torch's creates its state
        there. Buffers made by the update function (``by_update``) are left to it."""
        if plan is None:
            plan = Plan.of(self._state_spec, group)
        if plan.stateless:
            return None
        optimizer_state = self.state
        states = [optimizer_state[p] for p in params]
        names = plan.created_names
        for p, state in zip(params, states):
            if not state.keys() >= names:  # (one check in C for all the names, as this runs every step)
                for name, entry in plan.created:
                    if name not in state:
                        state[name] = entry.initial(p.data, group)
        return states

    def _update_group(self, group, params, grads, states, plan) -> None:
        """The update rule on the arrays of ``group``'s ``params`` (with gradients ``grads`` and
        state dicts ``states``), and the results written back.

        The one place that decides how the arrays reach the update rule. The small parameters of
        one dtype that share their scalar state (the values of the counts and numbers, and which
        buffers the update still has to make: the rule takes one of each per array) go as one flat
        array (optim/_flat.py), the others one array each; either way a large step reaches the
        rule in cache-sized chunks, on a few threads (optim/_chunked.py).
        """
        layout = self._flat_layout(group)
        flat, each = layout.split(params, states, plan.keys)
        if flat:
            if each:
                take = _taker(flat)
                updated = self._update_flat(
                    group, layout, take(params), take(grads), None if states is None else take(states), plan
                )
            else:
                updated = self._update_flat(group, layout, params, grads, states, plan)
            if not updated:
                flat, each = (), range(len(params))
        if each:
            if flat:
                take = _taker(each)
                params, grads, states = take(params), take(grads), None if states is None else take(states)
            self._update_each(group, params, grads, states, plan)

    def _update_flat(self, group, layout, params, grads, states, plan) -> bool:
        """The update rule on ``params`` as one flat array (see _update_group); False, and
        nothing done, when they do not fit one."""
        gathered = layout.gather(params, grads, states, plan.names)
        if gathered is None:
            return False
        values, flat_grads, buffers = gathered
        state = {name: [buffers[name]] for name in plan.names}
        for name in plan.unused:
            state[name] = [None]
        for name in plan.scalars:
            state[name] = [states[0][name]]  # (the same in every state: see FlatState.split)
        update_in_chunks(self._update, group, [values], [flat_grads], state, plan.made, self._task_bytes)
        layout.scatter(params)
        for name in plan.made:
            layout.adopt(name, state[name][0], states)
        for name in plan.scalars:
            value = state[name][0]
            for s in states:
                s[name] = value
        return True

    def _update_each(self, group, params, grads, states, plan) -> None:
        """The update rule on ``params`` one array each (see _update_group)."""
        state = {}
        for name in plan.names:
            state[name] = [None if (t := s.get(name)) is None else t.data for s in states]
        for name in plan.unused:
            state[name] = [None] * len(params)
        for name in plan.scalars:
            state[name] = [s[name] for s in states]
        update_in_chunks(self._update, group, [p.data for p in params], grads, state, plan.made, self._task_bytes)
        for name in plan.scalars:
            for s, value in zip(states, state[name]):
                s[name] = value
        for name in plan.made:
            for s, array in zip(states, state[name]):
                if array is not None and ((t := s.get(name)) is None or t.data is not array):
                    s[name] = _state_tensor(array)

    def _flat_layout(self, group) -> FlatState:
        """The FlatState of ``group``'s small parameters."""
        entry = self._flat_layouts.get(id(group))
        if entry is None or entry[0] is not group:
            live = {id(g) for g in self.param_groups}  # (load_state_dict makes new groups)
            self._flat_layouts = {k: v for k, v in self._flat_layouts.items() if k in live}
            entry = self._flat_layouts[id(group)] = (group, FlatState())
        return entry[1]

    @staticmethod
    def _evaluate(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @staticmethod
    def _with_grad(group):
        """The parameters of ``group`` that have a gradient, with the gradient arrays."""
        params = [p for p in group["params"] if p.grad is not None]
        return params, [p.grad.data for p in params]

    @classmethod
    def _finish_step(cls, group, stepped: list[Tensor] | None = None) -> None:
        """After a group's update: count it as an in-place modification of each updated parameter
        (``stepped``; None: those with a gradient), so that a graph that saved the old values
        refuses to backward through them, as in torch; then apply the group's projection."""
        bump_versions([p for p in group["params"] if p.grad is not None] if stepped is None else stepped)
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
                        f"shape {p.data.shape}: a projection must keep the shape"
                    )
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
        are matched by position. Everything is checked before anything is replaced:

        - each saved group's options, by the constructor's rules (``project`` is never saved: each
          group keeps this optimizer's own);
        - each parameter's state, against the entries the optimizer keeps (``_state_kinds``):
          a buffer must be a real array of the parameter's shape (it is copied and cast to the
          parameter's dtype), a count (``step``) a whole number >= 0, a scalar a number; a name
          the optimizer does not keep, a state without one of the entries it always keeps, or a
          state for an index that no group lists is an error too.

        An error (TypeError for a value of the wrong type, ValueError for a wrong shape, value or
        name) says which entry (``state[1]['exp_avg']``, and which parameter that is:
        ``param_groups[1]['params'][0]``), what was expected and what was found; the optimizer is
        then left exactly as it was.

        torch.optim copies whatever it is given, and the next ``step()`` fails inside the update
        (or broadcasts a wrong-shaped buffer without a word); on every valid state dict the two
        agree. As in torch, string keys ``'0'``, ``'1'``... count as parameter indices, and a
        ``None`` entry that the optimizer does not always keep counts as absent (torch's SGD once
        saved ``momentum_buffer=None``); entries that only torch's version of the optimizer keeps
        (``_torch_only_state``, L-BFGS's scratch ``al``) are left out.
        """
        try:
            groups, state = self._loaded(state_dict)
        except (TypeError, ValueError) as error:
            raise _same_kind(
                error, f"{type(self).__name__}.load_state_dict: {error}. Nothing was loaded: the optimizer is unchanged"
            ) from None
        self.param_groups = groups
        self.state = state

    def _loaded(self, state_dict) -> tuple[list[dict[str, Any]], defaultdict]:
        """The checked copies of ``state_dict``'s groups and state that load_state_dict installs."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("expected a dict with 'state' and 'param_groups', as made by state_dict()")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)):
            raise TypeError(f"'param_groups' should be a list of dicts, got {type(saved_groups).__name__}")
        if not isinstance(saved_state, dict):
            raise TypeError(
                f"'state' should be a dict from parameter index to that parameter's state, got "
                f"{type(saved_state).__name__}"
            )
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"the loaded state dict has {len(saved_groups)} parameter groups, this optimizer "
                f"has {len(self.param_groups)}"
            )
        groups = [
            self._loaded_group(i, group, saved) for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups))
        ]

        position: dict[int, tuple[int, int]] = {}  # saved index -> (group, position in the group)
        for i, saved in enumerate(saved_groups):
            for j, saved_index in enumerate(saved["params"]):
                index = _load.load_count(saved_index, f"param_groups[{i}]['params'][{j}]")
                if index in position:
                    a, b = position[index]
                    raise ValueError(
                        f"param_groups[{i}]['params'][{j}]: index {index} is also listed at "
                        f"param_groups[{a}]['params'][{b}]; each parameter has its own index"
                    )
                position[index] = (i, j)

        state: defaultdict = defaultdict(dict)
        for key, value in saved_state.items():
            saved_index = _load.state_index(key)
            if saved_index in position:
                i, j = position[saved_index]
                param = groups[i]["params"][j]
                try:
                    state[param] = self._load_param_state(value, param, groups[i], f"state[{key!r}]")
                except (TypeError, ValueError) as error:
                    raise _same_kind(
                        error,
                        f"{error} (state[{key!r}] is the state of param_groups[{i}]['params']"
                        f"[{j}], a parameter of shape {tuple(param.shape)})",
                    ) from None
            elif self._state_kinds is None:
                state[key] = _copy_value(value)  # a custom optimizer's own entry, kept as torch keeps it
            else:
                raise ValueError(
                    f"state[{key!r}]: no parameter group lists the index {key!r} (they list "
                    f"{sorted(position)}): the state belongs to some other set of parameters"
                )
        return groups, state

    def _loaded_group(self, i: int, group: dict[str, Any], saved) -> dict[str, Any]:
        """This optimizer's group ``i`` with the options of the saved group, checked."""
        if not isinstance(saved, dict):
            raise TypeError(
                f"param_groups[{i}] should be a dict of the group's options and 'params' (the "
                f"parameters' indices), got {type(saved).__name__}"
            )
        if "params" not in saved:
            raise ValueError(f"param_groups[{i}] has no 'params' entry (the indices of the group's parameters)")
        saved_ids = saved["params"]
        if not isinstance(saved_ids, (list, tuple)):
            raise TypeError(
                f"param_groups[{i}]['params'] should be a list of parameter indices, got {type(saved_ids).__name__}"
            )
        if len(saved_ids) != len(group["params"]):
            raise ValueError(
                f"the loaded parameter group {i} has {len(saved_ids)} parameters, but this "
                f"optimizer's group {i} has {len(group['params'])}: the parameters are matched by "
                f"position, so the groups must list the same number of them"
            )
        # (copies: the loaded optimizer shares nothing with the caller's dict)
        new_group = {k: copy.deepcopy(_load.plain(v)) for k, v in saved.items() if k not in ("params", "project")}
        new_group["params"] = group["params"]
        new_group["project"] = group.get("project")  # a callable is never saved: keep this optimizer's
        if "param_names" in group and "param_names" not in new_group:
            new_group["param_names"] = group["param_names"]
        if isinstance(group.get("betas"), tuple) and isinstance(new_group.get("betas"), list):
            new_group["betas"] = tuple(new_group["betas"])
        for name, default in self.defaults.items():
            if name not in new_group:
                new_group[name] = group.get(name, default)
        try:
            self._validate_group(new_group)
        except (TypeError, ValueError) as error:
            raise _same_kind(error, f"param_groups[{i}]: {error}") from None
        return new_group

    def _load_param_state(self, saved, param: Tensor, group: dict[str, Any], where: str) -> dict[str, Any]:
        """One parameter's loaded state, checked against ``_state_kinds`` and copied.

        ``group`` is the parameter's group as loaded (with the saved options); ``where`` is the
        state's place in the state dict (``state[3]``), for error messages.
        """
        if not isinstance(saved, dict):
            raise TypeError(f"{where}: expected a dict from state name to value, got {type(saved).__name__}")
        kinds = self._state_kinds
        if kinds is None:
            return {name: _load.load_free_value(name, value, param) for name, value in saved.items()}
        saved = {name: value for name, value in saved.items() if name not in self._torch_only_state}
        unknown = [name for name in saved if name not in kinds]
        if unknown:
            raise ValueError(
                f"{where}: {type(self).__name__} keeps no state named "
                f"{', '.join(repr(n) for n in unknown)} (its state names are {sorted(kinds)}); is "
                f"this the state dict of another kind of optimizer?"
            )
        loaded = {}
        for name, value in saved.items():
            if value is None and name not in self._required_state:
                continue  # not created yet: the next step creates it when it is needed
            loaded[name] = self._load_entry(kinds[name], value, f"{where}[{name!r}]", param, group)
        missing = sorted(self._required_state - loaded.keys())
        if loaded and missing:
            raise ValueError(
                f"{where}: the state has {sorted(loaded)} but not {missing}, which "
                f"{type(self).__name__} keeps for every parameter it has stepped"
            )
        return loaded

    def _load_entry(self, kind: str, value, where: str, param: Tensor, group: dict[str, Any]):
        """A loaded state entry of ``kind`` (see optim/_load.py), checked and copied."""
        if kind == BUFFER:
            return _load.load_buffer(value, where, param.shape, param.data.dtype)
        if kind == COUNT:
            return _load.load_count(value, where)
        if kind == NUMBER:
            return _load.load_number(value, where)
        raise NotImplementedError(
            f"{type(self).__name__} declares a state entry of kind {kind!r} but does not "
            f"override _load_entry to load it"
        )

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


@functools.lru_cache(maxsize=256)
def _taker(indices: tuple[int, ...]):
    """A function that takes the items at ``indices`` of a sequence, as a tuple (itemgetter: the
    loop in C, as this runs every step)."""
    if len(indices) == 1:
        index = indices[0]
        return lambda items: (items[index],)
    return operator.itemgetter(*indices)


_SET_MSG = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets changes between runs: use a list instead"
)


def _same_kind(error: Exception, message: str) -> Exception:
    """A TypeError or ValueError, as ``error`` is, with ``message``."""
    return TypeError(message) if isinstance(error, TypeError) else ValueError(message)


def _check_project(group):
    project = group.get("project")
    if project is not None and not callable(project):
        raise TypeError(
            f"project must be a callable applied to each parameter's array after every step (e.g. "
            f"optim.projections.nonnegative) or None, got {type(project).__name__}"
        )


def _check_real(cls, group, name):
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a number, got {type(value).__name__}")


def _check_nonneg(cls, group, *names):
    for name in names:
        _check_real(cls, group, name)
        value = group[name]
        if not 0.0 <= value:
            raise ValueError(f"{cls}: invalid {name}={value!r}; {name} must be >= 0")


def _check_lr(cls, group):
    lr = group["lr"]
    if lr is required:
        return
    if not isinstance(lr, numbers.Real) or isinstance(lr, bool):
        raise TypeError(f"{cls}: lr must be a number, got {type(lr).__name__}")
    if not 0.0 <= float(lr):
        raise ValueError(f"{cls}: invalid learning rate lr={lr!r}; lr must be >= 0")


def _check_eps(cls, group):
    _check_real(cls, group, "eps")
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
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise TypeError(f"{cls}: betas[{i}] must be a number, got {type(beta).__name__}")
        if not 0.0 <= float(beta) < 1.0:
            raise ValueError(f"{cls}: invalid beta parameter betas[{i}]={beta!r}; each beta must be in [0, 1)")
