"""The per-parameter state of an elementwise optimizer, declared once.

An elementwise optimizer (every built-in one but L-BFGS) lists the entries of ``state[p]`` in its
``_state_spec``, in the order in which they are created:

- ``Count(name)``: a whole number that starts at 0 (``step``);
- ``Number(name, initial)``: a real number (NAdam's ``mu_product``, which starts at 1);
- ``Buffer(name)``: an array of the parameter's shape and dtype, zeros at first, or ``fill(group)``
  everywhere (Adagrad's ``initial_accumulator_value``); ``when(group)`` says whether a group uses it
  at all (Adam's ``max_exp_avg_sq`` only with ``amsgrad``), and ``by_update=True`` that the update
  function makes it itself on the parameter's first step (SGD's momentum buffer, which torch starts
  as a copy of the first gradient, not as zeros).

From these declarations the base class (optim/optimizer.py) does the rest: it creates missing
entries lazily (``Optimizer._lazy_state``, the only place where state is created), hands the
update function one list per entry, writes counts, numbers and new buffers back, derives what
``load_state_dict`` accepts (``_state_kinds``, ``_required_state``), and updates the small
parameters as one flat array only when their scalar state (counts, numbers, which buffers the
update still has to make) is the same, since the update function takes one value of it per array.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ._load import BUFFER, COUNT, NUMBER, state_tensor


class Count:
    """A whole-number entry, 0 before the first step (``step``)."""

    kind = COUNT
    scalar = True
    by_update = False
    when = None

    def __init__(self, name: str) -> None:
        self.name = name

    def initial(self, array: np.ndarray, group: dict[str, Any]) -> int:
        """0: no step taken yet."""
        return 0


class Number:
    """A real-number entry that starts at ``initial`` (NAdam's ``mu_product``, the product of its
    momentum coefficients μ_1 ⋯ μ_t, starts at 1)."""

    kind = NUMBER
    scalar = True
    by_update = False
    when = None

    def __init__(self, name: str, initial: float) -> None:
        self.name = name
        self.value = initial

    def initial(self, array: np.ndarray, group: dict[str, Any]) -> float:
        """The declared starting value."""
        return self.value


class Buffer:
    """An array entry of the parameter's shape and dtype.

    Args:
        name: the entry's name in ``state[p]`` (torch's name).
        fill: None (zeros) or a function of the group giving the value of every element.
        when: None (every group uses it) or a function of the group: whether the group uses it.
            A group that does not gets None for it in the update function's list (the entry, if a
            former setting made one, is kept as it is).
        by_update: the update function makes the buffer on the parameter's first step: the list
            holds None for a parameter without one, and the function puts the new array there.
    """

    kind = BUFFER
    scalar = False

    def __init__(
        self,
        name: str,
        *,
        fill: Callable[[dict], float] | None = None,
        when: Callable[[dict], bool] | None = None,
        by_update: bool = False,
    ) -> None:
        self.name = name
        self.fill = fill
        self.when = when
        self.by_update = by_update

    def initial(self, array: np.ndarray, group: dict[str, Any]):
        """A new state Tensor like ``array``: zeros, or ``fill(group)`` everywhere."""
        if self.fill is None:
            return state_tensor(np.zeros_like(array))
        return state_tensor(np.full_like(array, self.fill(group)))


class Plan:
    """What a step needs to know of an optimizer's state entries (``spec``) that a group uses
    (``used``), worked out once for each such pair (``Plan.of``)."""

    def __init__(self, spec, used):
        self.stateless = not used
        self.created = [(e.name, e) for e in used if not e.by_update]  # (what _lazy_state makes)
        self.created_names = frozenset(name for name, _ in self.created)
        self.scalars = [e.name for e in used if e.scalar]
        self.made = [e.name for e in used if e.by_update]
        self.names = tuple(e.name for e in used if not e.scalar)  # the buffers
        self.unused = [e.name for e in spec if not e.scalar and e not in used]  # (None to the rule)
        self.keys = _keys(self.scalars, self.made)

    @staticmethod
    def of(spec, group: dict[str, Any]) -> Plan:
        """The Plan of the entries of ``spec`` that ``group`` uses, with its options as they are now."""
        conditions = _conditions(spec)
        if not conditions:
            return _plan(spec, spec)
        return _plan(spec, tuple([e for e, when in zip(spec, conditions) if when is None or when(group)]))


@functools.cache
def _plan(spec, used) -> Plan:
    return Plan(spec, used)


@functools.cache
def _conditions(spec) -> tuple:
    """Each entry's ``when``, or () when every entry is always used."""
    whens = tuple(e.when for e in spec)
    return whens if any(w is not None for w in whens) else ()


def _keys(scalars, made):
    """The function of a list of state dicts that gives, for each, the scalar state that the
    parameters of one flat array must share: the values of ``scalars``, and whether each of
    ``made`` is made yet (None: nothing to share). (map: the loop in C where it can be, as this
    runs at every step.)"""
    if not made:
        if not scalars:
            return None
        values = operator.itemgetter(*scalars)
        return lambda states: list(map(values, states))
    if not scalars and len(made) == 1:
        name = made[0]
        return lambda states: list(map(operator.contains, states, itertools.repeat(name)))
    scalars_of: Callable[[Any], Any] = operator.itemgetter(*scalars) if scalars else lambda state: None
    return lambda states: [(scalars_of(s), tuple([name in s for name in made])) for s in states]


def count(steps: list[int]) -> None:
    """Add one to every count of ``steps``, in place: the step count of a rule that does not use
    it (Adadelta, RMSprop), which torch's state keeps all the same."""
    steps[:] = [step + 1 for step in steps]
