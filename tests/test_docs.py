"""The documentation site (mkdocs.yml, docs/): it builds with ``mkdocs build --strict`` (no broken
link, reference or snippet), renders every notebook and documents every public name, and the code
on its pages runs."""
import html
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out


def _ids(page):
    return set(re.findall(r'id="([^"]+)"', page.read_text()))


def test_the_site_has_its_pages_and_renders_every_notebook_with_its_outputs(site):
    assert (site / "index.html").is_file()
    for page in ("getting-started", "coming-from-pytorch", "engine", "lecture", "benchmarks"):
        assert (site / page / "index.html").is_file(), page
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 6
    for nb in notebooks:
        page = site / "notebooks" / nb.stem / "index.html"
        assert page.is_file(), f"{nb.name} is not rendered"
        # the committed outputs are shown (the site never runs a notebook): images or drawn graphs
        text = page.read_text()
        assert "jp-OutputArea" in text and ("<img" in text or "<svg" in text), f"{nb.name}: no outputs rendered"
    # the benchmark tables come from benchmarks/ (snippets), not a copy
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    first_table_row = next(line for line in results.splitlines() if line.startswith("|") and "---" not in line)
    first_cell = first_table_row.split("|")[1].strip().strip("*`")
    assert html.escape(first_cell, quote=False) in (site / "benchmarks" / "index.html").read_text()


def test_the_api_reference_documents_every_exported_name(site):
    import autograd
    import nn
    import nn.functional
    import optim

    ids = set().union(*(_ids(page) for page in (site / "api").rglob("index.html")))
    shown = {i.rsplit(".", 1)[-1] for i in ids}
    missing = []
    for module in (autograd, nn, nn.functional, optim):
        for name in module.__all__:
            obj = getattr(module, name, None)
            if obj is None or not (callable(obj) and hasattr(obj, "__qualname__")):
                continue  # dtypes, submodules (documented by their members), sentinels
            if name not in shown:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public names missing from the API reference: {missing}"
    tensor_methods = {i.rsplit(".", 1)[-1] for i in ids if i.startswith("autograd.Tensor.")}
    for method in ("backward", "relu", "sum", "reshape", "scatter_add_", "numpy"):
        assert method in tensor_methods, method


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_the_code_on_each_page_runs(page, tmp_path):
    """A page's ```python blocks run in order as one script (a block with a title or other
    attributes, such as PyTorch's side of a comparison, is not run)."""
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)
    if not blocks:
        assert page.name in ("benchmarks.md", "lecture.md"), f"{page.name} has no code to check"
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", "\n".join(blocks)], cwd=tmp_path, capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr[-3000:]}"
