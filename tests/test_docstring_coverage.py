"""Every public function, class and method of autograd, nn and optim has a docstring.

Public means: the names each public module exports (its ``__all__``, else its names without a leading
underscore) that are defined in these packages, and every method and property without a leading
underscore of a public class, including those it inherits from a private base (``_Loss``,
``_BatchNorm``), which are named after the class that defines them. An override without a docstring
of its own reads its base's, as ``help()`` and ``inspect.getdoc`` do (``ReLU.forward`` reads
``Module.forward``'s); the base's must then exist.
"""
import importlib
import inspect

PACKAGES = ("autograd", "nn", "optim")
PUBLIC_MODULES = (
    "autograd", "autograd.extend", "autograd.functional", "autograd.forward_ad", "autograd.func", "autograd.ops",
    "nn", "nn.functional", "nn.init", "nn.utils", "nn.data", "nn.data.datasets", "nn.scalar",
    "optim", "optim.lr_scheduler", "optim.projections",
)


def _ours(obj):
    return (getattr(obj, "__module__", None) or "").split(".")[0] in PACKAGES


def _exported(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        # functions and classes (not modules, dtypes or sentinels such as optim.required)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and _ours(obj):
            yield obj


def _has_doc(obj):
    return bool((getattr(obj, "__doc__", None) or "").strip())


def _function(member):
    if isinstance(member, property):
        return member
    member = getattr(member, "__func__", member)  # staticmethod, classmethod
    return member if callable(member) else None


def public_definitions():
    """{qualified name: whether it has a docstring} for every public definition."""
    found = {}
    for module_name in PUBLIC_MODULES:
        for obj in _exported(importlib.import_module(module_name)):
            name = f"{obj.__module__}.{obj.__qualname__}"
            found.setdefault(name, _has_doc(obj))
            if not inspect.isclass(obj):
                continue
            for cls in obj.__mro__:
                if not _ours(cls):
                    continue
                for attr, member in vars(cls).items():
                    member = _function(member)
                    if attr.startswith("_") or member is None:
                        continue
                    documented = _has_doc(member) or any(
                        _has_doc(_function(vars(base)[attr])) for base in cls.__mro__[1:]
                        if _ours(base) and attr in vars(base) and _function(vars(base)[attr]) is not None)
                    found.setdefault(f"{cls.__module__}.{cls.__qualname__}.{attr}", documented)
    return found


def test_the_count_covers_the_public_surface():
    """The walk finds what it should (so an empty list of offenders means something)."""
    found = public_definitions()
    for name in ("autograd.tensor.Tensor", "autograd.tensor.Tensor.backward", "autograd.scalar.Scalar.backward",
                 "nn.module.Module.forward", "nn.layers.Linear", "nn.functional.layers.linear",
                 "optim.adam.Adam", "optim.optimizer.Optimizer.step", "optim.lr_scheduler.StepLR",
                 "autograd.func.vmap", "autograd.forward_ad.make_dual", "nn.data.DataLoader"):
        assert name in found, name
    assert len(found) > 800, len(found)


def test_every_public_definition_has_a_docstring():
    found = public_definitions()
    missing = sorted(name for name, documented in found.items() if not documented)
    assert not missing, (f"{len(missing)} of {len(found)} public definitions have no docstring:\n  "
                         + "\n  ".join(missing))
