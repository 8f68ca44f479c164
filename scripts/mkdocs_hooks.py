"""MkDocs hooks (mkdocs.yml): the notebooks as pages, and the API reference's lists of names.

The notebooks live beside their sources (notebooks/src/, notebooks/build.py) rather than in docs/:
each is added to the site's files before mkdocs-jupyter converts them (a higher priority than its
own ``on_files``), and the nav's notebook section lists whichever notebooks exist, in file order.

An API page holds a marker ``<!-- api: PACKAGE -->`` where the hook writes one mkdocstrings
directive for each public name (``autograd``) or public module (``nn``, ``optim``), taken from the
package's ``__all__`` when the site is built, or ``<!-- api-module: MODULE -->`` for one module with
its members (its ``__all__``; without one, the functions and classes it defines): a name added to a package appears in the reference
without anyone editing a page (tests/test_docs.py checks that every exported name is shown).
"""
from __future__ import annotations

import importlib
import inspect
import pathlib
import re
import sys

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = "notebooks"
SECTION = "The lecture (notebooks)"
MARKER = re.compile(r"^<!-- api(-module)?: ([\w.]+) -->$", re.M)

# the headings of autograd's page, by the module that defines a name (others: the module's name)
AUTOGRAD_SECTIONS = {
    "autograd.tensor": "Tensor", "autograd.scalar": "Scalar", "autograd.graph": "The graph as an object",
    "autograd.creation": "Creating tensors", "autograd.methods.elementwise": "Creating tensors",
    "autograd.random": "Random numbers", "autograd.device": "Devices and interoperation",
    "autograd.methods.interop": "Devices and interoperation", "autograd.grad_mode": "Recording gradients",
    "autograd.dtypes": "Dtypes", "autograd.gradcheck": "Checking gradients", "autograd.engine": "The engine",
    "autograd.functional": "Gradients", "autograd.anomaly": "Gradients", "autograd.checkpoint": "Gradients",
    "autograd.function": "Custom operations", "autograd.viz": "Drawing and the backprop explorer",
    "autograd.explorer": "Drawing and the backprop explorer", "autograd.tensor_functions": "Functions on tensors",
    "autograd.functions_math": "Functions on tensors", "autograd.functions_shape": "Functions on tensors",
}
OWN_PAGES = {"nn.functional"}  # public modules with a page of their own


def _notebooks():
    return sorted((ROOT / NOTEBOOKS).glob("*.ipynb"))


def on_config(config):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for entry in config["nav"]:
        if isinstance(entry, dict) and SECTION in entry:
            entry[SECTION] = ["lecture.md"] + [f"{NOTEBOOKS}/{path.name}" for path in _notebooks()]
    return config


@event_priority(100)
def on_files(files, config):
    for path in _notebooks():
        files.append(File(f"{NOTEBOOKS}/{path.name}", src_dir=str(ROOT), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


def _exported(package):
    names = getattr(package, "__all__", None)
    if names is None:
        names = [n for n in vars(package) if not n.startswith("_")]
    for name in names:
        obj = getattr(package, name, None)
        if obj is not None:
            yield name, obj


def _autograd_names(package):
    """One directive a function or class, under a heading for what it is about."""
    sections: dict[str, list[str]] = {}
    for name, obj in _exported(package):
        if (inspect.isclass(obj) or callable(obj)) and hasattr(obj, "__qualname__") and not inspect.ismodule(obj):
            title = AUTOGRAD_SECTIONS.get(obj.__module__, f"`{obj.__module__}`")
            sections.setdefault(title, []).append(name)
    out = []
    for title, names in sections.items():
        out.append(f"## {title}\n")
        for name in names:
            options = "      inherited_members: true\n" if name == "Tensor" else ""
            # a name the package loads on first use (its __getattr__: the drawing) is read where it is defined
            path = f"{package.__name__}.{name}" if name in vars(package) else f"{getattr(package, name).__module__}.{name}"
            out.append(f"::: {path}\n    options:\n      heading_level: 3\n{options}")
    return "\n".join(out)


def _members(module):
    """The names a module documents: its ``__all__``, or else the public functions and classes it
    defines (not what it imports)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__]
    return [n for n in names if hasattr(module, n) and not inspect.ismodule(getattr(module, n))]


def _module(name):
    """One module's directive, with exactly its members."""
    members = ", ".join(_members(importlib.import_module(name)))
    return f"::: {name}\n    options:\n      members: [{members}]\n"


def _modules(package):
    """One directive a module: those that define the package's exported names, then its public
    submodules, each with its members."""
    modules = []
    for name, obj in _exported(package):
        module = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None)
        if module and module.startswith(package.__name__ + ".") and module not in modules:
            modules.append(module)
    out = []
    for module in modules:
        if module in OWN_PAGES:
            continue
        out.append(_module(module))
        for name, obj in _exported(importlib.import_module(module)):
            if inspect.ismodule(obj) and obj.__name__.startswith(module + "."):  # nn.data.datasets
                out.append(_module(obj.__name__))
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    def directives(match):
        if match.group(1):  # <!-- api-module: NAME -->: that one module
            return _module(match.group(2))
        package = importlib.import_module(match.group(2))
        return _autograd_names(package) if package.__name__ == "autograd" else _modules(package)

    return MARKER.sub(directives, markdown)
