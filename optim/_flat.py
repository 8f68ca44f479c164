"""Small parameters updated as one flat array: per-call overhead instead of per-parameter overhead.

An elementwise update rule such as Adam's costs about a dozen numpy calls per parameter. For a big
weight matrix the arithmetic dominates them; for a bias vector or a tiny layer the half microsecond
of Python overhead per call is all there is, and a model's step pays it for every parameter
(PyTorch's ``foreach`` implementations exist for the same reason). ``FlatState`` concatenates the
small parameters of a group (those of at most ``MAX_SIZE`` elements, one dtype) so that the rule
runs once on them all:

- their state buffers (Adam's ``exp_avg``, ``exp_avg_sq`` ...) live in one flat array per buffer,
  and each parameter's state Tensor is a view into it (``optimizer.state[p]`` looks as before);
- each step, their gradients and values are gathered into flat arrays, the rule updates those,
  and the new values are scattered back.

The arithmetic is elementwise and identical, so the result is bit for bit the per-parameter one.
The layout is rebuilt whenever it no longer matches: another set of parameters has gradients,
a parameter's array was replaced, or a state Tensor or its array was (``load_state_dict``).
"""
from __future__ import annotations

import numpy as np

MAX_SIZE = 4096  # elements: above this, gathering and scattering cost more than the saved calls


class FlatState:
    """The flat layout of one parameter group's small parameters for the state buffers ``names``."""

    def __init__(self, names):
        self.names = names
        self.laid_out = False  # whether the layout is built for the parameters of the last split()
        self._split_for = None  # [(parameter, its array)] of the last split()

    def split(self, params):
        """(indices of the parameters to update flat, indices of the others); recomputed when the
        parameters or their arrays are not those of the last call."""
        last = self._split_for
        if last is not None and len(last) == len(params) and all(
                p is q and p.data is a for p, (q, a) in zip(params, last)):
            return self._split
        self._split_for = [(p, p.data) for p in params]
        self.laid_out = False  # lay out again at the next gather()
        small = [i for i, p in enumerate(params) if p.data.size <= MAX_SIZE]
        if len(small) >= 2:
            dtype = params[small[0]].data.dtype
            small = [i for i in small if params[i].data.dtype == dtype]
        if len(small) < 2:
            self._split = [], list(range(len(params)))
        else:
            chosen = set(small)
            self._split = small, [i for i in range(len(params)) if i not in chosen]
        return self._split

    def gather(self, params, grads, states):
        """Flat (values, gradients, {name: state buffer}) of ``params`` (their gradients ``grads``
        and state dicts ``states``), laid out anew if needed; None when a gradient's dtype is not
        the parameters'. Call scatter() after updating."""
        if not self.laid_out or not self._state_intact(states):
            self._layout(params, states)
        # (slice assignment: the same copy as np.copyto, without its Python-level dispatch)
        dtype = self.values.dtype
        for dst, g in zip(self.grad_views, grads):
            if g.dtype != dtype:
                return None  # a gradient of another dtype (assigned by hand): update one by one
            dst[...] = g
        for dst, p in zip(self.value_views, params):
            dst[...] = p.data
        return self.values, self.grads, self.buffers

    def scatter(self, params):
        """Write the updated flat values back into the parameters."""
        for p, src in zip(params, self.value_views):
            p.data[...] = src

    def _state_intact(self, states):
        for s, entries in zip(states, self.state_entries):
            for name, t, v in entries:
                if s[name] is not t or t.data is not v:
                    return False
        return True

    def _layout(self, params, states):
        dtype = params[0].data.dtype
        sizes = [p.data.size for p in params]
        bounds = np.cumsum([0] + sizes)
        total = int(bounds[-1])

        def views(flat):
            return [flat[a:b].reshape(p.data.shape) for a, b, p in zip(bounds[:-1], bounds[1:], params)]

        self.values, self.grads = np.empty(total, dtype), np.empty(total, dtype)
        self.value_views, self.grad_views = views(self.values), views(self.grads)
        self.buffers = {}
        per_name_views = {}
        for name in self.names:
            flat = np.empty(total, dtype)
            vs = views(flat)
            for v, s in zip(vs, states):
                np.copyto(v, s[name].data)  # the state so far (zeros at first, or loaded)
            self.buffers[name] = flat
            per_name_views[name] = vs
        self.state_entries = []  # per parameter: (name, its state Tensor, the view it holds)
        for i, s in enumerate(states):
            entries = tuple((name, s[name], per_name_views[name][i]) for name in self.names)
            for _, t, v in entries:
                t.data = v
            self.state_entries.append(entries)
        self.laid_out = True
