"""The explorer's HTML: one self-contained page, and the block that shows it inside a notebook.

The page is ``assets/explorer.html`` with the drawing (inline SVG), the data (JSON) and the
script and styles of ``assets/`` written into it. A Content-Security-Policy forbids it any request:
nothing is fetched, so it works offline, from a file, in an e-mail or inside a notebook.

In Jupyter the page runs in an ``<iframe srcdoc>`` (its element ids and styles then cannot clash
with another explorer's or the notebook's). The iframe is made by a small script; where scripts
do not run (a notebook opened untrusted, or rendered on a website) the static drawing shows instead.
"""

from __future__ import annotations

import html
import json
import uuid
from importlib import resources

__all__ = ["render_page", "notebook_block"]


def _asset(name):
    return resources.files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")


def _script_safe(json_text):
    """JSON that may sit inside a <script> element: every ``<`` written ``\\u003c`` (the same string to
    JSON and JavaScript; the HTML parser then sees no tag, no ``</script>``, no ``<!--``)."""
    return json_text.replace("<", "\\u003c")


def render_page(model, svg):
    """The page: the template with the title, styles, drawing, data and script filled in."""
    data = _script_safe(json.dumps(model, separators=(",", ":"), allow_nan=False))
    parts = {
        "{{TITLE}}": html.escape(model["title"]),
        "{{CSS}}": _asset("explorer.css"),
        "{{SVG}}": svg,
        "{{DATA}}": data,
        "{{JS}}": _asset("explorer.js"),
    }
    page = _asset("explorer.html")
    for key in ("{{TITLE}}", "{{CSS}}", "{{JS}}", "{{DATA}}", "{{SVG}}"):  # the SVG last: it is data
        page = page.replace(key, parts[key])
    return page


def notebook_block(page, static_svg, height):
    """What a notebook shows: the page in an iframe made by a script, else the static drawing."""
    block_id = f"chainrule-explorer-{uuid.uuid4().hex[:12]}"
    static = static_svg[static_svg.index("<svg") :].replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
    source = _script_safe(json.dumps(page))
    return (
        f'<div id="{block_id}" class="chainrule-explorer">'
        f'<div class="chainrule-explorer-static" style="max-width:100%;overflow:auto">{static}'
        '<p style="font-size:12px;color:#666">The backprop explorer runs where the notebook is trusted '
        "(run the cell); this is its static drawing.</p></div>"
        "<script>(function () {"
        f"var box = document.getElementById('{block_id}'); if (!box) return;"
        "var frame = document.createElement('iframe');"
        f"frame.srcdoc = {source};"
        "frame.setAttribute('sandbox', 'allow-scripts');"
        "frame.setAttribute('title', 'backprop explorer');"
        f"frame.style.cssText = 'box-sizing:border-box;width:100%;height:{int(height)}px;"
        "border:1px solid #d5d9e0;border-radius:4px';"
        "box.querySelector('.chainrule-explorer-static').style.display = 'none';"
        "box.appendChild(frame);"
        "})();</script></div>"
    )
