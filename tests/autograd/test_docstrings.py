"""The examples written in docstrings (>>>) run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

import autograd
import nn
import optim


def _modules():
    for package in (autograd, nn, optim):
        yield package.__name__
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            yield info.name


@pytest.mark.parametrize("name", sorted(set(_modules())))
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
