"""The two passes the explorer replays: every node's value, and the backward walk with what each edge carries.

The walk is the engine's (:func:`autograd.engine.backward`): visit the nodes in reverse topological
order; a node's gradient is complete when it is visited, because every node that reads it came
after it and has already passed its share on; the node then hands each input its share, the
vector-Jacobian product of its operation. Here each share is also kept, per edge: for node ``i``
and its ``k``-th input, ``terms[i, k]`` is

    g_i · ∂out_i/∂in_k        (a Scalar: the gradient times the local partial on the edge;
                               a Tensor: its operation's rule applied to g_i, reduced to the input's shape)

so that the gradient of a node read along several edges is visibly the sum of those terms (the
multi-path chain rule, dz/dx = Σ_i dz/dy_i · dy_i/dx). Nothing is accumulated into any ``.grad``:
the gradients are those of the roots, each seeded with ones (d root / d root = 1), as one
``backward()`` of each root would leave them; hooks run as in a backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import engine, viz_collapse
from ..grad_mode import set_grad_enabled
from ..scalar import OPS as SCALAR_OPS
from ..scalar import Scalar, _op_function
from ..tensor import Tensor
from ..viz_text import norm

__all__ = ["Trace"]


class Trace:
    """The graph below ``roots`` as topological positions, with each node's gradient and each edge's term.

    ``nodes``: the graph in topological order when the caller has it; ``keep``: the positions whose
    gradients and terms are kept (None: all); for the others only the norm of the gradient is kept,
    so a large graph's walk holds no more arrays than the engine's.

    Attributes:
        nodes: the nodes, inputs before the nodes that read them (:func:`autograd.engine.toposort`).
        pos: node -> its position in ``nodes``.
        inputs: per node, the positions of its inputs (a tuple in argument order, with repeats).
        grads: per node, d(roots)/d(node): a float for a Scalar, an ndarray for a Tensor, or None
            where no gradient reaches it (a node that does not require grad, a branch no root reads)
            or where it is not kept.
        norms: per node, the L2 norm of its gradient (None where no gradient reaches it).
        terms: ``(i, k)`` -> what node ``i`` hands its ``k``-th input during backward (None: nothing,
            the input needs no gradient).
        seeds: root position -> the gradient backward starts from there (1, or ones of its shape).
        hooked: positions of the nodes whose hooks changed the gradient they pass on.
    """

    def __init__(self, roots, nodes=None, keep=None):
        self.roots = tuple(roots)
        self.nodes = engine.toposort(self.roots) if nodes is None else nodes
        self.pos = {n: i for i, n in enumerate(self.nodes)}
        self.inputs = viz_collapse.input_positions(self.nodes, self.pos)
        self.keep = keep
        self.grads: list[Any] = [None] * len(self.nodes)
        self.norms: list[float | None] = [None] * len(self.nodes)
        self.terms = {}
        self.seeds = {}
        self.hooked = set()
        self.partials = {}  # (i, k) -> a Scalar operation's local derivative d out_i / d in_k
        self._walk()

    def _walk(self):
        keep = self.keep
        pending: dict[Any, Any] = {}
        for root in self.roots:
            if not root.requires_grad:
                continue
            seed = 1.0 if isinstance(root, Scalar) else np.ones_like(root.data)
            self.seeds[self.pos[root]] = seed
            pending[root] = seed if root not in pending else pending[root] + seed
        # A Tensor keeps its values after backward (only the right to backward through it again is
        # withdrawn), so the graph may be walked again; in-place changes since are still refused.
        freed = [n for n in self.nodes if isinstance(n, Tensor) and n._freed]
        for n in freed:
            n._freed = False
        try:
            with set_grad_enabled(False):
                for node in reversed(self.nodes):
                    g = pending.pop(node, None)
                    if g is None:
                        continue
                    i = self.pos[node]
                    kept = keep is None or i in keep
                    if kept:
                        self.grads[i] = g
                    self.norms[i] = abs(g) if isinstance(g, float) else norm(g)
                    if not node._inputs:
                        continue
                    if isinstance(node, Tensor) and node._hooks:
                        passed = node._accumulate(g, store=False)
                        if passed is not g:
                            self.hooked.add(i)
                            g = np.asarray(getattr(passed, "data", passed))
                    shares, partials = self._vjp(node, g)
                    for k, (inp, gi) in enumerate(zip(node._inputs, shares)):
                        if kept:
                            self.terms[i, k] = gi
                            if partials is not None:
                                self.partials[i, k] = partials[k]
                        if gi is not None:
                            prev = pending.get(inp)
                            pending[inp] = gi if prev is None else prev + gi  # a new array: terms stay as sent
        except RuntimeError as e:
            raise RuntimeError(
                f"ag.explore walks the graph's backward pass again from the values it saved, and could not: {e} "
                f"Explore the graph before changing its tensors in place (e.g. before optimizer.step())."
            ) from e
        finally:
            for n in freed:
                n._freed = True

    @staticmethod
    def _vjp(node, g):
        """What ``node`` hands each of its inputs given its gradient ``g`` (None for an input that needs
        none), and for a Scalar the local partial derivatives on its edges (else None)."""
        if isinstance(node, Scalar):
            da, db = node._da, node._db
            if da is None:  # freed by a backward without retain_graph: the partials again, from the inputs
                assert node._a is not None  # (leaves have no partials)
                if node._b is None:
                    _, da, db = _op_function(node._op)(node._a.data)
                else:
                    _, da, db = SCALAR_OPS[node._op](node._a.data, node._b.data)
            return ([g * da], (da,)) if node._b is None else ([g * da, g * db], (da, db))
        grads = node._backward(g, True, False)
        return [None if gi is None else np.asarray(getattr(gi, "data", gi)) for gi in grads], None
