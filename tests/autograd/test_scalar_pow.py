"""Scalar ** number: the exponent is part of the operation (micrograd's '**2'), not a node."""
import math

import pytest

import autograd as ag


def test_number_exponent_is_not_a_node_and_has_no_nan():
    x = ag.Scalar(-3.0)
    y = x ** 2
    y.backward()
    assert y.op == "**2"
    assert y._inputs == (x,)
    assert x.grad == -6.0
    assert all(not math.isnan(n.grad) for n in ag.Graph(y).nodes)


def test_number_exponent_reevaluates_in_graph():
    x = ag.Scalar(2.0)
    g = ag.Graph(x ** 0.5 * 3)
    x.data = 9.0
    assert g.forward().data == pytest.approx(9.0)
    x.grad = 0.0
    g.backward()
    assert x.grad == pytest.approx(3 * 0.5 / 3.0)


def test_scalar_exponent_still_a_node():
    a, b = ag.Scalar(2.0), ag.Scalar(3.0)
    z = a ** b
    z.backward()
    assert z._inputs == (a, b)
    assert b.grad == pytest.approx(8 * math.log(2))
