"""Small parameters updated as one flat array: per-call overhead instead of per-parameter overhead.

An elementwise update rule such as Adam's costs about a dozen numpy calls per parameter. For a big
weight matrix the arithmetic dominates them; for a bias vector or a tiny layer the half microsecond
of Python overhead per call is all there is, and a model's step pays it for every parameter
(PyTorch's ``foreach`` implementations exist for the same reason). ``FlatState`` concatenates the
small parameters of a group (those of at most ``MAX_SIZE`` elements) so that the rule runs once on
them all:

- their state buffers (Adam's ``exp_avg``, ``exp_avg_sq`` ...) live in one flat array per buffer,
  and each parameter's state Tensor is a view into it (``optimizer.state[p]`` looks as before);
- each step, their gradients and values are gathered into flat arrays, the rule updates those,
  and the new values are scattered back.

The arithmetic is elementwise and identical, so the result is bit for bit the per-parameter one,
provided the flat arrays share everything that is not elementwise: one dtype (of the parameters,
their gradients and their buffers) and one value of each scalar state entry (the step count...),
which ``split`` groups the parameters by. The layout is rebuilt whenever it no longer matches:
another set of parameters is chosen, a parameter's array was replaced, or a state Tensor or its
array was (``load_state_dict``).
"""

from __future__ import annotations

from operator import attrgetter, is_
from typing import Any

import numpy as np

from autograd.extend import leaf

MAX_SIZE = 4096  # elements: above this, gathering and scattering cost more than the saved calls

_data = attrgetter("data")


class FlatState:
    """The flat layout of one parameter group's small parameters."""

    def __init__(self):
        self._split_for: tuple[Any, list[Any]] = ([], [])  # the parameters of the last split(), and their arrays
        # the indices split() found for them (small, one dtype), and the others
        self._small: tuple[int, ...] = ()
        self._others: tuple[int, ...] = ()
        self._flat = None  # the indices of the flat parameters that the last split() chose
        self._laid_out = False  # whether the layout is made for them
        self._laid_out_for = None  # the indices of the flat parameters of the layout

    def __deepcopy__(self, memo):
        # a copy of the views would not share memory with a copy of the flat arrays: the copied
        # optimizer lays its parameters out anew from their (copied) state Tensors
        return type(self)()

    def split(self, params, states, keys_of):
        """(indices of the parameters to update as one flat array, indices of the others), tuples.

        The flat ones are the small parameters of one dtype (the most common one) that agree in
        their scalar state (``keys_of(states)``, a key for each; ``keys_of`` None: nothing to agree
        in), the largest such class where they do not all agree; fewer than two are not worth a
        flat array."""
        last_params, last_arrays = self._split_for
        # (map(is_, ...): the loops in C, as this runs every step)
        if not (
            len(params) == len(last_params)
            and all(map(is_, params, last_params))
            and all(map(is_, map(_data, params), last_arrays))
        ):
            self._split_for = params, [p.data for p in params]
            self._laid_out = False  # lay out again at the next gather()
            small = [i for i, p in enumerate(params) if p.data.size <= MAX_SIZE]
            dtypes = [params[i].data.dtype for i in small]
            if len(set(dtypes)) > 1:
                dtype = max(dtypes, key=dtypes.count)
                small = [i for i, d in zip(small, dtypes) if d == dtype]
            chosen = set(small)
            self._small = tuple(small)
            self._others = tuple(i for i in range(len(params)) if i not in chosen)
        flat, others = self._small, self._others
        if keys_of is not None and len(flat) >= 2:
            keys = keys_of(states)
            if others:
                keys = [keys[i] for i in flat]
            if keys.count(keys[0]) != len(keys):  # (they differ: a parameter skipped some steps)
                classes: dict[Any, list[int]] = {}
                for i, k in zip(flat, keys):
                    classes.setdefault(k, []).append(i)
                largest = max(classes.values(), key=len)
                flat = tuple(largest)
                chosen = set(flat)
                others = tuple(i for i in range(len(params)) if i not in chosen)
        if len(flat) < 2:
            return (), tuple(range(len(params)))
        if flat != self._laid_out_for:
            self._laid_out = False  # another set of parameters: lay out again at the next gather()
        self._flat = flat
        return flat, others

    def gather(self, params, grads, states, names):
        """Flat (values, gradients, {name: state buffer}) of ``params`` (with their gradients
        ``grads`` and state dicts ``states``, None for no state), for the state buffers ``names``,
        laid out anew if needed. A buffer that the parameters do not have yet (one the update
        function makes) is None. None when the parameters do not fit one flat array of their dtype:
        a gradient (assigned by hand) or a buffer (made from such a gradient) of another dtype.
        Call scatter() after updating."""
        if not self._fits(params, states, names) and not self._layout(params, states, names):
            return None
        dtype = self._values.dtype
        # (slice assignment: the same copy as np.copyto, without its Python-level dispatch)
        for dst, g in zip(self._grad_views, grads):
            if g.dtype != dtype:
                return None
            dst[...] = g
        for dst, p in zip(self._value_views, params):
            dst[...] = p.data
        return self._values, self._grads, self._buffers

    def scatter(self, params):
        """Write the updated flat values back into the parameters."""
        for p, src in zip(params, self._value_views):
            p.data[...] = src

    def adopt(self, name, flat, states):
        """Lay out the buffer ``name`` (of the parameters with state dicts ``states``) as ``flat``
        where the update function made it (it was None in gather()'s buffers)."""
        if flat is None or flat is self._buffers[name]:
            return
        self._buffers[name] = flat
        self._absent.remove(name)
        for v, s in zip(self._views(flat), states):
            s[name] = leaf(v)
            self._add_entry(s, name, v)

    def _add_entry(self, state, name, view):
        self._entry_states.append(state)
        self._entry_names.append(name)
        self._entry_views.append(view)

    def _fits(self, params, states, names):
        """Whether the layout still holds: the same state dicts (load_state_dict makes new ones),
        each still holding the state Tensors of the layout (or still without the buffers the
        update function is to make), each Tensor still holding its view."""
        if not self._laid_out or names != self._names:
            return False
        if states is not None:
            # (map(is_, ...): the loops in C, as this runs every step)
            try:
                if not (
                    all(map(is_, states, self._states))
                    and all(
                        map(is_, map(_data, map(dict.get, self._entry_states, self._entry_names)), self._entry_views)
                    )
                ):
                    return False
            except AttributeError:  # (dict.get gave None: a buffer was deleted)
                return False
            if self._absent and any(name in s for s in states for name in self._absent):
                return False
        return True

    def _views(self, flat):
        return [flat[a:b].reshape(shape) for a, b, shape in self._slices]

    def _layout(self, params, states, names):
        dtype = params[0].data.dtype
        if states is not None:
            for s, p in zip(states, params):
                for name in names:
                    t = s.get(name)
                    if t is not None and (t.data.dtype != dtype or t.data.shape != p.data.shape):
                        return False
        bounds = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self._slices = [(a, b, p.data.shape) for a, b, p in zip(bounds[:-1], bounds[1:], params)]
        self._values, self._grads = np.empty(bounds[-1], dtype), np.empty(bounds[-1], dtype)
        self._value_views, self._grad_views = self._views(self._values), self._views(self._grads)
        self._names = names
        self._buffers = dict.fromkeys(names)
        self._states = states
        # each state Tensor laid out: its state dict, its name, the view it holds
        self._entry_states, self._entry_names, self._entry_views = [], [], []
        self._absent = []
        for name in names:
            if name not in states[0]:  # (all or none of them have it: split() saw to that)
                self._absent.append(name)
                continue
            flat = self._buffers[name] = np.empty(bounds[-1], dtype)
            for v, s in zip(self._views(flat), states):
                t = s[name]
                np.copyto(v, t.data)  # the state so far (zeros at first, or loaded)
                t.data = v
                self._add_entry(s, name, v)
        self._laid_out, self._laid_out_for = True, self._flat
        return True
