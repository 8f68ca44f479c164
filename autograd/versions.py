"""Version counters: how backward knows that a value it saved was modified in place since.

Each Tensor counts its in-place modifications in a one-element list, ``t._counter`` (None until the
first one; views share their base's list, so writing through a view counts for both, as in torch).
A node records the versions of the values its rules read when it is made (``_saved_versions``),
and backward compares: a difference means a saved value changed, and backward raises instead of
computing a wrong gradient.

Two process-wide counts let ag.Graph's compiled replay skip work: ``BUMPS[0]`` counts every
in-place modification (no bump since its forward: no saved value can have changed) and
``REWIRES[0]`` every tensor that an in-place operation rewired onto a new node (the graph's
structure may have changed).
"""

from __future__ import annotations

BUMPS = [0]
REWIRES = [0]


def counter(t):
    """Tensor ``t``'s version counter (a one-element list), created at 0 if it has none yet."""
    cell = t._counter
    if cell is None:
        cell = t._counter = [0]
    return cell


def bump_versions(tensors) -> None:
    """Count an in-place modification of each of ``tensors`` (an optimizer's step, values loaded into
    a module): a graph that saved their old values then refuses to backward through them."""
    for t in tensors:
        cell = t._counter
        if cell is None:
            cell = t._counter = [0]
        cell[0] += 1
    BUMPS[0] += len(tensors)


def of(inputs):
    """The versions of ``inputs`` when one of them has ever been modified in place, else None
    (all at 0: nothing to record). What a node saves when it is made."""
    for t in inputs:
        if t._counter is not None:
            return tuple(0 if i._counter is None else i._counter[0] for i in inputs)
    return None


def stamp(node) -> None:
    """After ``node``'s value was computed (again) from its inputs' current values (ag.Graph's forward):
    not freed, and the versions it read are the inputs' current ones, its own last."""
    node._freed = False
    inputs = node._inputs
    if node._counter is None and all(i._counter is None for i in inputs):
        node._saved_versions = None  # (nothing here was ever modified in place: all at version 0)
    else:
        read = tuple([0 if i._counter is None else i._counter[0] for i in inputs])
        node._saved_versions = read + (0 if node._counter is None else node._counter[0],)
