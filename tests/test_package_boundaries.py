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


# the modules API.md names as public: the package, its extension surface and the function transforms
PUBLIC = ("autograd", "autograd.extend", "autograd.functional", "autograd.forward_ad", "autograd.func")


def _python_files():
    for folder in ("nn", "optim", "notebooks/src", "examples", "scripts", "benchmarks"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_code_outside_autograd_uses_only_its_public_api_and_extension_surface():
    """nn, optim, the notebooks, the examples, scripts and benchmarks import from ``autograd``, its
    public modules (``extend`` and the function transforms) only, and never a private name: a private name imported across packages is
    a seam that tears when autograd's inside changes (DESIGN.md, habit 9)."""
    import ast

    problems = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and node.module.split(".")[0] == "autograd":
                if node.module not in PUBLIC:
                    problems.append(f"{where}:{node.lineno}: from {node.module} import ...")
                problems += [f"{where}:{node.lineno}: imports the private name {a.name} of {node.module}"
                             for a in node.names if a.name.startswith("_")]
            elif isinstance(node, ast.Import):
                problems += [f"{where}:{node.lineno}: import {a.name}" for a in node.names
                             if a.name.startswith("autograd.") and a.name not in PUBLIC]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in ("ag", "autograd") and node.attr.startswith("_"):
                problems.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not problems, "private parts of autograd used outside it:\n" + "\n".join(problems)
