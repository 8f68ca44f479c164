"""The seams between the packages: what ``import autograd`` loads, and what nn, optim, the notebooks
and the examples may use of autograd (its public API and ``autograd.extend``, nothing private)."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_packages_does_not_load_graphviz():
    _run("import sys, autograd, nn, nn.functional, optim; assert 'graphviz' not in sys.modules, 'graphviz loaded'")
    # drawing loads it when first used
    _run("import sys, autograd as ag; ag.draw_graph(ag.Scalar(1.0) * 2); assert 'graphviz' in sys.modules")


def test_importing_nn_and_optim_changes_nothing_in_autograd():
    """The op table is autograd's alone: nn and optim add no operation to it (and change none)."""
    code = ("import autograd.ops as o; before = {k: id(v) for k, v in o.OPS.items()}; "
            "import nn, nn.functional, optim; after = {k: id(v) for k, v in o.OPS.items()}; "
            "assert before == after, sorted(set(after) ^ set(before))")
    _run(code)
