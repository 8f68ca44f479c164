"""The engine: one node contract, an iterative topological sort and the reverse walk.

Scalar and Tensor are both nodes. The engine knows nothing else about them; a node has

    _inputs          tuple of the nodes it was computed from, in argument order (() for a leaf)
    requires_grad    whether gradients flow to and through it
    _backward(g, retain_graph, create_graph)
                     the gradients of its inputs given the gradient g of its output (None where an
                     input needs none): the vector-Jacobian product of its operation, recorded when
                     ``create_graph``. Raises if an earlier backward freed what it needs; frees it
                     unless ``retain_graph``
    _hooks           None, or the node's gradient hooks (a sequence, maybe empty): a node with
                     hooks, one that keeps its gradient (retain_grad(), every Scalar) and a leaf
                     get their complete gradient through _accumulate
    _accumulate(g, store)
                     called with the complete gradient of a node that keeps it, has hooks or is a
                     leaf: runs the hooks (which may replace it), stores it (.grad) when ``store``,
                     and returns the gradient to pass on

Only detect_anomaly() asks a node for more: ``_op_name()`` and ``_created_at()`` (where the user's
code made it) for its error message.

Backward is the seed's "Bprop": visit the nodes in reverse topological order; each node's gradient
is complete when it is visited, because every node that uses it (its successors) came after it in
topological order and has already passed its share on. That is the multi-path chain rule

    dz/dx = sum_i dz/dy_i * dy_i/dx        over the successors y_i of x,

with the sum built up in ``pending`` as each successor is processed, and popped (freed) as soon
as the node has passed it on.
"""

from __future__ import annotations

from typing import Any

from . import anomaly
from .grad_mode import set_grad_enabled

RETAIN_GRAPH_MSG = (
    "Trying to backward through the graph a second time (or to read values it saved after they "
    "were freed). Saved values are freed after .backward() or ag.grad(); pass retain_graph=True "
    "to the first call if you need to backward through the graph again."
)

# Whether the walk in progress keeps leaf gradients (a .backward(), not ag.grad(inputs)): an op
# whose rule runs a walk of its own (ag.checkpoint's recomputation) may then accumulate its
# parameters' gradients as that walk makes them, instead of holding them all to return.
_stores = [False]


def walk_stores() -> bool:
    """Whether the backward walk in progress accumulates into the leaves' ``.grad``."""
    return _stores[0]


def toposort(roots, grad_only=False):
    """The nodes reachable from ``roots``, each after all of its inputs (depth-first post-order).

    Iterative, so a graph a million nodes deep is fine. The order is deterministic: inputs are
    visited in argument order. With ``grad_only`` the walk does not enter nodes that do not
    require grad (constants, data), which backward never needs.
    """
    order: list = []
    seen: set = set()
    mark, place = seen.add, order.append
    for root in roots:
        if root in seen or (grad_only and not root.requires_grad):
            continue
        mark(root)
        # The recursive post-order, with the recursion's frames on ``stack``: each entry a node
        # being visited and the iterator over its remaining inputs. The node in hand is kept in
        # locals rather than on the stack, and an input without inputs of its own (a leaf) is
        # placed at once instead of being pushed and popped (on micrograd's demo this sort takes
        # more than half of a Scalar backward).
        stack: list = []
        push, pop = stack.append, stack.pop
        node, children = root, iter(root._inputs)
        while True:
            for child in children:
                if child not in seen and (not grad_only or child.requires_grad):
                    mark(child)
                    grandchildren = child._inputs
                    if grandchildren:
                        push((node, children))
                        node, children = child, iter(grandchildren)
                        break
                    place(child)
            else:  # every input of node placed: place node, and return to the node that reached it
                place(node)
                if not stack:
                    break
                node, children = pop()
    return order


def backward(roots, grads, retain_graph=False, create_graph=False, inputs=None, order=None, release=False):
    """Backpropagate ``grads`` (one per root) through the graph below ``roots``.

    Without ``inputs`` every node's complete gradient goes to its ``_accumulate`` (leaf gradients
    add up across calls). With ``inputs`` (a sequence of nodes) nothing is accumulated: the
    gradients of those nodes are returned in a list (None for a node the roots do not depend on).
    With ``create_graph`` the vector-Jacobian products are themselves recorded, so the returned
    gradients can be differentiated again. ``order``: the graph's nodes in topological order when
    the caller already has it (ag.Graph re-running a captured graph), instead of sorting again.
    ``release``: the caller hands the graph over (ag.checkpoint's recomputed inside, which nothing
    else holds): ``roots`` is emptied once read and each node is let go as soon as it has passed
    its gradient on, so that its value is freed during the walk rather than after it.
    """
    pending: dict[Any, Any] = {}
    for root, g in zip(roots, grads):
        prev = pending.get(root)
        pending[root] = g if prev is None else prev + g
    wanted = None if inputs is None else dict.fromkeys(inputs)
    store = wanted is None
    if order is None:
        order = toposort(roots, grad_only=True)
    if release:
        roots.clear()
        root = prev = None  # (the loop's last root: no reference may stay)
    check = _check_finite if anomaly.enabled else None
    pop, get = pending.pop, pending.get
    outer, _stores[0] = _stores[0], store
    try:
        nodes = _handed_over(order) if release else reversed(order)
        _walk(nodes, pending, pop, get, wanted, store, check, retain_graph, create_graph)
    finally:
        _stores[0] = outer
    return None if wanted is None else list(wanted.values())


def _handed_over(order):
    """The nodes of ``order`` last first, each taken out of the list as it is given."""
    while order:
        yield order.pop()


def _walk(nodes, pending, pop, get, wanted, store, check, retain_graph, create_graph):
    """Each node of ``nodes`` (reverse topological order) passes its complete gradient on."""
    with set_grad_enabled(create_graph):
        for node in nodes:
            g = pop(node, None)
            if g is None:
                continue  # no gradient reaches it
            node_inputs = node._inputs
            if wanted is not None or node._hooks is not None or not node_inputs:
                g = node._accumulate(g, store)
                if wanted is not None and node in wanted:
                    wanted[node] = g
                if not node_inputs:
                    continue
            input_grads = node._backward(g, retain_graph, create_graph)
            if check is not None:
                check(node, input_grads)
            # (input i's gradient is input_grads[i], and there may be fewer of those than inputs: a
            # zip() of the two, built for every node, would cost more than the rest of a one-input
            # node's turn here)
            i = 0
            for gi in input_grads:
                if gi is not None:
                    inp = node_inputs[i]
                    prev = get(inp)
                    pending[inp] = gi if prev is None else prev + gi
                i += 1
            # drop these references now: a leaf may then keep its gradient array without a copy
            input_grads = gi = None


def _check_finite(node, input_grads):
    """detect_anomaly(): a backward that produced NaN or Inf names its operation and where it was made."""
    import numpy as np

    for gi in input_grads:
        if gi is None:
            continue
        value = getattr(gi, "data", gi)
        if not np.all(np.isfinite(value)):
            where = node._created_at() or "(not recorded: the operation was created outside detect_anomaly())"
            raise RuntimeError(
                f"Function '{node._op_name()}' returned nan or inf values in its gradient. "
                f"The operation was created at:\n{where}"
            )
