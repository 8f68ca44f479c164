"""The backprop explorer: ``ag.explore`` and ``ag.save_html`` (see :func:`explore`).

A page that steps through the forward pass in topological order and the backward pass in reverse,
showing on every edge the term ``g · ∂out/∂in`` that backward sends along it, so that the gradient
of a node read along several edges is seen as the sum of those terms (the multi-path chain rule).

    trace.py     the forward values and the backward walk, with the term each edge carries
    drawing.py   draw_graph's drawing with named edges, what is collapsed, the page's data
    summary.py   values, gradients and terms as small JSON objects (statistics, histograms)
    page.py      the self-contained HTML, and the block that shows it inside a notebook
    assets/      the page's template, script and styles (package data)
"""

from __future__ import annotations

import os

from .. import viz
from .drawing import FULL_LIMIT, explorer_drawing, page_model, page_svg
from .page import notebook_block, render_page

__all__ = ["explore", "save_html", "Explorer", "FULL_LIMIT"]


class Explorer:
    """The explorer page of a graph, made by :func:`explore`.

    ``html`` is the self-contained page, ``save(path)`` writes it; in Jupyter it shows inline
    (``_repr_html_``). ``steps`` are the ids of the drawn nodes in the order of the forward pass (the
    backward pass visits them in reverse); ``model`` is the data the page's script reads.
    """

    def __init__(self, html, static_svg, model, height):
        self.html = html
        self.model = model
        self._static_svg = static_svg
        self._height = height

    @property
    def steps(self) -> list:
        return list(self.model["steps"])

    def save(self, path) -> str:
        """Write the page to ``path`` (an ``.html`` file) and return the path."""
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)
        return path

    def _repr_html_(self):
        return notebook_block(self.html, self._static_svg, self._height)

    def __repr__(self):
        return (
            f"<backprop explorer of {self.model['graphNodes']} nodes, {len(self.model['steps'])} steps each way, "
            f"{len(self.html) / 1024:.0f} KiB of HTML>"
        )


def explore(
    *roots,
    params=None,
    title: str | None = None,
    height: int = 640,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str = "LR",
    group_modules: bool = True,
    color_by: str | None = None,
    max_nodes: int | None = viz.DEFAULT_MAX_NODES,
) -> Explorer:
    """The backprop explorer of the graph below ``roots``: a page that steps through both passes.

    ``roots``, ``params`` and the drawing options are those of :func:`autograd.viz.draw_graph`; the
    page shows the same drawing (Scalar or Tensor, module clusters). ``title`` heads the page;
    ``height`` is its height in pixels inside a notebook. Returns an :class:`Explorer`: it shows
    inline in Jupyter and ``.save(path)`` writes one self-contained HTML file (scripts, styles and
    the drawing inline; it makes no network request).

    What the page computes. Every node's value is the one recorded when the graph was built. Every
    node's gradient is d(roots)/d(node), each root seeded with ones, computed here by the engine's
    backward walk without accumulating into any ``.grad`` (so it does not matter whether or how often
    ``backward()`` was called; after an in-place change of a tensor the graph read, as
    ``optimizer.step()`` makes, the walk refuses as backward would). On each edge from an input ``x``
    to a node ``y`` it keeps the term ``g_y · ∂y/∂x`` that backward sends along it (for a Tensor, the
    operation's vector-Jacobian product, reduced to ``x``'s shape); ``x``'s gradient is the sum of
    the terms on its outgoing edges. Tensors are shown by shape, dtype, statistics and a histogram;
    only tensors of at most 64 elements carry their values, so the page size does not grow with
    the batch or the layer widths.

    What the page does.

    * **Steps.** The forward pass visits the nodes in topological order (``autograd.engine.toposort``,
      the order of ``ag.Graph(...).nodes``), the backward pass in the reverse order. Buttons ``forward
      ▶`` (``#cr-step-forward``, key →) and ``◀ backward`` (``#cr-step-backward``, key ←) take one
      step of each pass (stepping backward first completes the forward pass); ``undo``
      (``#cr-undo``, Backspace) takes a step back; ``play`` (``#cr-play``, Space) plays both passes
      at the speed of the slider (``#cr-speed``, keys + and -); ``reset`` (``#cr-reset``, Home)
      returns to the start; End finishes the current pass. ``#cr-status`` names the step, e.g.
      ``forward 3 / 17: mul`` or ``backward 3 / 17: mul`` (ready: ``ready: 17 nodes ...``);
      ``#cr-app`` carries ``data-phase`` (ready, forward, backward), ``data-step`` (0 to 2N) and
      ``data-current`` (the current node's id).
    * **Highlighting.** Nodes the forward pass has not computed yet are faded; the current node is
      outlined; in the forward pass the edges it reads are green. In the backward pass every edge
      whose reader has been visited shows its term (a Scalar's number; for a tensor ``Σ`` and the
      sum of the term's elements: the terms add up element by element, so their sums add up to
      the sum of the gradient); the current node's outgoing edges (the terms summed into its
      gradient) are red, its incoming edges (the terms it sends to its inputs) blue. A node's
      ``grad`` line in the drawing reads ``grad ?`` until the backward pass reaches it.
    * **Details.** ``#cr-details`` describes the node clicked, else the one hovered, else the
      current one: its operation and inputs, shape, dtype and module, its value (statistics and a
      histogram, or the values of a small tensor) and, once the backward pass has reached it, its
      gradient written as the sum of its terms (one per edge to a reader, with the seed of an
      output), checked element by element, and the terms it sends to its inputs (for a Scalar as
      ``g × ∂y/∂x``). It carries ``data-node-id``; values are in ``data-value`` attributes (JSON).
    * **Modules.** Each ``nn.Module`` call is a cluster; clicking its name, or its button in the
      module list, collapses it into a box (click the box to expand it). Beyond ``max_nodes``
      drawn nodes the modules that ``draw_graph`` would collapse start collapsed, as long as the
      whole graph has at most ``FULL_LIMIT`` (600) drawn nodes; a bigger graph is drawn folded as
      draw_graph folds it, each box one step of each pass.
    * **Search.** ``#cr-search`` (key /) marks the nodes whose id, name, operation, label or
      module contains the text; Enter selects the next match (expanding its modules).
    * **View.** Drag to pan, the wheel to zoom (with Ctrl inside a notebook), ``fit`` (key F); key C
      centres the selected or current node at the drawing's own size. Stepping pans to the current node.

    Every drawn node is an element with a ``data-node-id`` attribute (``n3``: the node at position 3
    of the topological order; ``n3_op``: a Scalar's operation node; ``m0``/``s0``: a folded box);
    every edge has ``data-edge-id``, ``data-tail`` and ``data-head``; every module cluster
    ``data-cluster``. Rendering needs the Graphviz ``dot`` program
    (:class:`autograd.viz.GraphvizNotFoundError` says how to install it).
    """
    roots = viz._collect_roots(roots)
    if rankdir not in viz._RANKDIRS:
        raise ValueError(f"rankdir must be one of {viz._RANKDIRS} (Graphviz layout directions), got {rankdir!r}")
    if color_by not in viz._COLOR_BY:
        raise ValueError(f"color_by must be None or 'grad_norm', got {color_by!r}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None (no budget), got {max_nodes!r}")
    if isinstance(height, bool) or not isinstance(height, int) or height < 200:
        raise ValueError(f"height must be an int of at least 200 (pixels in a notebook), got {height!r}")
    names = viz._param_names(params)
    drawer, collapsed = explorer_drawing(
        roots, names, show_data, show_grad, rankdir, group_modules, color_by, max_nodes
    )
    svg = viz.render_svg(drawer.graph)
    if title is None:
        kind = "Scalar" if drawer.scalars_only else "Tensor"
        title = f"backprop explorer: a {kind} graph of {len(drawer.nodes):,} nodes"
    model = page_model(drawer, collapsed, str(title))
    return Explorer(render_page(model, page_svg(svg, drawer)), svg, model, height)


def save_html(roots, path, **options) -> str:
    """Write the explorer page of the graph below ``roots`` (one Scalar or Tensor, or a list) to
    ``path``; ``options`` are those of :func:`explore`. Returns the path written."""
    if not isinstance(roots, (list, tuple)):
        roots = [roots]
    return explore(*roots, **options).save(path)
