"""Build the lecture notebooks from their sources and execute them, so they are committed with outputs.

    .venv/bin/python notebooks/build.py              # every notebook
    .venv/bin/python notebooks/build.py 03 05        # those whose names start with 03 or 05

Each notebook ``notebooks/NN_name.ipynb`` is written from ``notebooks/src/NN_name.py``, a Python file
in the "percent" format that Jupytext, VS Code and Spyder read: a line ``# %%`` starts a code cell,
``# %% [markdown]`` a markdown cell whose lines are comments (``# `` is stripped). Edit the source,
run this script, commit both. The notebook is executed in a real Jupyter kernel (nbclient, the
venv's ``python3`` kernel, working directory ``notebooks/``), exactly as tests/notebooks runs it.
"""
from __future__ import annotations

import glob
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
CELL_TIMEOUT = 300  # seconds for one cell

_MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?\s*$")


def parse_source(text: str):
    """The cells of a percent-format source: a list of ``(kind, source)``, kind 'code' or 'markdown'."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is not None:
            body = "\n".join(lines).strip("\n")
            if body:
                cells.append((kind, body))

    for line in text.splitlines():
        m = _MARKER.match(line)
        if m:
            flush()
            kind, lines = ("markdown" if m.group("markdown") else "code"), []
        elif kind == "markdown":
            if line and not line.startswith("#"):
                raise ValueError(f"a markdown cell's lines must be comments ('# ...'), got {line!r}")
            lines.append(line[2:] if line.startswith("# ") else line[1:])
        elif kind == "code":
            lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"code before the first '# %%' cell marker: {line!r}")
    flush()
    return cells


def notebook_from_source(path: str) -> nbformat.NotebookNode:
    with open(path, encoding="utf-8") as f:
        cells = parse_source(f.read())
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
                for kind, src in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: rebuilding an unchanged source gives the same file
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run every cell in a fresh ``python3`` kernel in notebooks/; raises CellExecutionError on an error."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": HERE}})
    client.execute()
    return nb


def build(source: str) -> str:
    name = os.path.splitext(os.path.basename(source))[0]
    target = os.path.join(HERE, name + ".ipynb")
    start = time.perf_counter()
    nb = execute(notebook_from_source(source))
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)
    print(f"{os.path.relpath(target)}: {len(nb.cells)} cells, executed in {time.perf_counter() - start:.1f} s")
    return target


def sources(prefixes=()):
    found = sorted(glob.glob(os.path.join(SRC, "[0-9][0-9]_*.py")))
    if prefixes:
        found = [s for s in found if os.path.basename(s).startswith(tuple(prefixes))]
    return found


def main(argv):
    chosen = sources(argv)
    if not chosen:
        raise SystemExit(f"no notebook source in {SRC} matches {argv}")
    for source in chosen:
        build(source)


if __name__ == "__main__":
    main(sys.argv[1:])
