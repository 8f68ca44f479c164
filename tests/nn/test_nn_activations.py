"""Activation modules and functions against torch's: outputs, gradients (first and second order),
constructor arguments, repr, empty state_dicts, in-place forms, dtypes and errors."""
import inspect
import math

import numpy as np
import pytest
import torch

import autograd as ag
import nn
import nn.functional as F

TF = torch.nn.functional

# (constructor arguments, input values kept away from the kinks where the modules are not smooth)
MODULES = [
    ("SiLU", (), {}), ("SiLU", (), {"inplace": True}), ("Mish", (), {}), ("ELU", (), {}), ("ELU", (0.5,), {}),
    ("ELU", (), {"alpha": 2.0, "inplace": True}), ("SELU", (), {}), ("CELU", (), {}), ("CELU", (0.7,), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 3.0), {}), ("Hardtanh", (), {"min_val": -0.5, "max_val": 0.25}),
    ("ReLU6", (), {}), ("ReLU6", (True,), {}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("Softsign", (), {}),
    ("Softplus", (), {}), ("Softplus", (2.0,), {}), ("Softplus", (), {"beta": 0.5, "threshold": 1.0}),
    ("LogSigmoid", (), {}), ("Softmin", (1,), {}), ("Softmin", (), {"dim": 0}), ("GLU", (), {}), ("GLU", (0,), {}),
    ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}), ("ReLU", (), {}), ("ReLU", (True,), {}),
    ("LeakyReLU", (0.2,), {}), ("LeakyReLU", (), {"negative_slope": 0.1, "inplace": True}),
]
KINKS = [0.0, -3.0, 3.0, 6.0, -1.0, 1.0, -2.0, -0.5, 0.25, 10.0]


def _input(seed=0, shape=(4, 6)):
    x = np.random.default_rng(seed).uniform(-7, 7, shape)
    for k in KINKS:  # away from every kink of every module (their gradients are checked elsewhere)
        x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
    return x


def _pair(name, args, kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("name, args, kwargs", MODULES)
def test_module_matches_torch(name, args, kwargs):
    ours, theirs = _pair(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and list(ours.parameters()) == [] and not theirs.state_dict()
    for attr in ("alpha", "inplace", "min_val", "max_val", "beta", "threshold", "dim", "approximate", "negative_slope"):
        assert getattr(ours, attr, None) == getattr(theirs, attr, None), attr
    x = _input()
    # in a graph: the input is computed (an in-place module may not overwrite a leaf that requires grad)
    leaf, leaf_t = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h, h_t = leaf * 1.0, leaf_t * 1.0
    out, out_t = ours(h), theirs(h_t)
    assert out.dtype == ag.float64
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    if kwargs.get("inplace") or (name in ("ReLU6", "ReLU") and args == (True,)):
        assert out is h and out_t is h_t
    cot = np.random.default_rng(1).standard_normal(out.shape)
    (g,) = ag.grad(out, leaf, grad_outputs=ag.tensor(cot), create_graph=True)
    (g_t,) = torch.autograd.grad(out_t, leaf_t, grad_outputs=torch.from_numpy(cot), create_graph=True)
    # torch rounds two constants of these backward formulas to float32 (hardsigmoid's 1/6 is the float
    # literal 1.0f / 6.0f; CELU's backward takes 1 / alpha.toFloat()): ours are float64's, so their
    # gradients agree with torch's to float32's precision, and with the exact formula below
    rtol = 1e-6 if name in ("Hardsigmoid", "CELU") else 1e-10
    np.testing.assert_allclose(g.data, g_t.detach().numpy(), rtol=rtol, atol=1e-12)
    if name == "CELU":
        alpha = ours.alpha
        np.testing.assert_allclose(g.data, cot * np.where(x > 0, 1.0, np.exp(x / alpha)), rtol=1e-13)
    # second order, where torch has it (piecewise-linear modules have none: their gradients are constants)
    w = np.random.default_rng(2).standard_normal(x.shape)
    assert g.requires_grad == (g_t.requires_grad and name not in ("Hardsigmoid", "Hardtanh", "ReLU6", "ReLU",
                                                                  "LeakyReLU"))
    if g.requires_grad:
        (h2,) = ag.grad((g * ag.tensor(w)).sum(), leaf, allow_unused=True)
        (h2_t,) = torch.autograd.grad((g_t * torch.from_numpy(w)).sum(), leaf_t, allow_unused=True)
        h2 = np.zeros(x.shape) if h2 is None else h2.data
        h2_t = np.zeros(x.shape) if h2_t is None else h2_t.numpy()
        np.testing.assert_allclose(h2, h2_t, rtol=1e-6 if name == "CELU" else 1e-9, atol=1e-12)


@pytest.mark.parametrize("name, args, kwargs", MODULES)
def test_module_keeps_float32(name, args, kwargs):
    ours, theirs = _pair(name, args, kwargs)
    x = _input().astype(np.float32)
    out = ours(ag.tensor(x))
    assert out.dtype == ag.float32
    np.testing.assert_allclose(out.data, theirs(torch.from_numpy(x)).numpy(), rtol=2e-6, atol=2e-6)


def test_constructors_take_torchs_arguments():
    for name in ("SiLU", "ELU", "SELU", "CELU", "Hardtanh", "Hardsigmoid", "Hardswish", "Mish", "Softplus",
                 "Softmin", "GLU", "GELU", "ReLU", "LeakyReLU", "ReLU6"):
        ours = list(inspect.signature(getattr(nn, name).__init__).parameters)
        theirs = list(inspect.signature(getattr(torch.nn, name).__init__).parameters)
        assert ours == theirs, name
    assert issubclass(nn.ReLU6, nn.Hardtanh)
    with pytest.warns(FutureWarning, match="min_val"):
        assert nn.Hardtanh(min_value=-3.0).min_val == -3.0


def test_functions_take_torchs_arguments():
    for name in ("silu", "mish", "elu", "selu", "celu", "relu6", "hardtanh", "hardsigmoid", "hardswish", "softsign",
                 "softmin", "glu", "relu", "leaky_relu"):
        ours = list(inspect.signature(getattr(F, name)).parameters)
        theirs = list(inspect.signature(getattr(TF, name)).parameters)
        assert ours == theirs, name
    x, xt = ag.tensor([-1.5, 0.5, 25.0]), torch.tensor([-1.5, 0.5, 25.0])
    np.testing.assert_allclose(F.softplus(x, beta=2, threshold=5).data, TF.softplus(xt, beta=2, threshold=5).numpy())
    np.testing.assert_allclose(F.gelu(x, approximate="tanh").data, TF.gelu(xt, approximate="tanh").numpy(), rtol=1e-6)
    np.testing.assert_allclose(F.softmin(x.reshape(1, 3), dim=1, dtype=ag.float64).data,
                               TF.softmin(xt.reshape(1, 3), dim=1, dtype=torch.float64).numpy())


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 1.0), (0.5, 3.0), (-1.0, 20.0)])
def test_softplus_with_beta_and_threshold_matches_torch_on_both_sides_of_the_threshold(beta, threshold):
    values = [-30.0, -2.0, -0.3, 0.0, 0.4, 0.6, 1.9, 2.1, 5.9, 6.1, 19.0, 21.0, 40.0]
    x = ag.tensor(values, dtype=ag.float64, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    out, out_t = F.softplus(x, beta, threshold), TF.softplus(xt, beta, threshold)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-13)
    (g,) = ag.grad(out.sum(), x, create_graph=True)
    (g_t,) = torch.autograd.grad(out_t.sum(), xt, create_graph=True)
    np.testing.assert_allclose(g.data, g_t.detach().numpy(), rtol=1e-12, atol=1e-300)
    (h,) = ag.grad(g.sum(), x)
    (h_t,) = torch.autograd.grad(g_t.sum(), xt)
    # (the second derivative s (1 - s), s = sigmoid(beta x), is computed as a derivative of
    # e^(beta (x - out)): 1 - s cancels where s is within 1e-9 of 1, so it is exact to 1e-16 absolutely)
    np.testing.assert_allclose(h.data, h_t.numpy(), rtol=1e-10, atol=1e-15)
    smooth = ag.tensor([v for v in values if abs(beta * v - threshold) > 0.1], dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(lambda t: F.softplus(t, beta, threshold), [smooth])
    assert ag.gradgradcheck(lambda t: F.softplus(t, beta, threshold), [smooth])


@pytest.mark.parametrize("name, points", [
    ("hardtanh", [-1.0, 1.0, 0.0, -2.0, 2.0]), ("relu6", [0.0, 6.0, 3.0, -1.0, 7.0]),
    ("hardswish", [-3.0, 3.0, 0.0, -4.0, 4.0]), ("hardsigmoid", [-3.0, 3.0, 0.0, -4.0, 4.0]),
    ("elu", [0.0, -1.0, 1.0]), ("celu", [0.0, -1.0, 1.0]), ("selu", [0.0, -1.0, 1.0]),
    ("silu", [-1000.0, 1000.0, 0.0]), ("mish", [-1000.0, 1000.0, 30.0, 0.0]), ("logsigmoid", [-1000.0, 1000.0, 0.0]),
    ("softsign", [0.0, -5.0]), ("leaky_relu", [0.0, -1.0]), ("relu", [0.0])])
def test_values_and_gradients_at_kinks_and_extremes_match_torch(name, points):
    x = ag.tensor(points, dtype=ag.float64, requires_grad=True)
    xt = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    out, out_t = getattr(F, name)(x), getattr(TF, name)(xt)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-13)
    (g,) = ag.grad(out.sum(), x)
    (g_t,) = torch.autograd.grad(out_t.sum(), xt)
    # (rounding aside: torch's hardsigmoid gradient is 1/6 rounded to float32, see test_module_matches_torch)
    np.testing.assert_allclose(g.data, g_t.numpy(), rtol=1e-7 if name == "hardsigmoid" else 1e-15, atol=0)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_elu_family_parameters_match_torch(alpha):
    x = _input(3, (10,))
    for ours, theirs in ((F.elu(ag.tensor(x), alpha), TF.elu(torch.tensor(x), alpha)),
                         (F.celu(ag.tensor(x), alpha), TF.celu(torch.tensor(x), alpha))):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-13)
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(ag.tensor(x), 0.0)


def test_inplace_forms_write_into_the_input_as_torch():
    for f, tf in ((lambda t: F.elu_(t, 0.5), lambda t: TF.elu_(t, 0.5)), (F.selu_, TF.selu_), (F.celu_, TF.celu_),
                  (F.relu_, TF.relu_), (lambda t: F.hardtanh_(t, -0.5, 0.5), lambda t: TF.hardtanh_(t, -0.5, 0.5)),
                  (lambda t: F.leaky_relu_(t, 0.3), lambda t: TF.leaky_relu_(t, 0.3)),
                  (lambda t: F.silu(t, inplace=True), lambda t: TF.silu(t, inplace=True)),
                  (lambda t: F.mish(t, True), lambda t: TF.mish(t, True)),
                  (lambda t: F.hardswish(t, True), lambda t: TF.hardswish(t, True)),
                  (lambda t: F.hardsigmoid(t, True), lambda t: TF.hardsigmoid(t, True)),
                  (lambda t: F.relu6(t, True), lambda t: TF.relu6(t, True))):
        x, xt = ag.tensor(_input(4, (7,))), torch.tensor(_input(4, (7,)))
        assert f(x) is x
        tf(xt)
        np.testing.assert_allclose(x.data, xt.numpy(), rtol=1e-13)
    leaf = ag.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        nn.ELU(inplace=True)(leaf)
    assert leaf.tolist() == [1.0, -1.0]


def test_an_inplace_activation_inside_a_model_trains_as_torch():
    ours = nn.Sequential(nn.Linear(4, 8), nn.SiLU(inplace=True), nn.Linear(8, 6), nn.ELU(inplace=True), nn.GLU(),
                         nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.SiLU(inplace=True), torch.nn.Linear(8, 6),
                                 torch.nn.ELU(inplace=True), torch.nn.GLU(), torch.nn.Linear(3, 1)).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.data, dtype=np.float64))
                            for k, v in ours.state_dict().items()})
    ours.to(ag.float64)
    x = np.random.default_rng(5).standard_normal((5, 4))
    loss = (ours(ag.tensor(x)) ** 2).mean()
    loss_t = (theirs(torch.from_numpy(x)) ** 2).mean()
    loss.backward()
    loss_t.backward()
    assert loss.item() == pytest.approx(loss_t.item(), rel=1e-12)
    for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, pt.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


def test_integer_and_bool_inputs_follow_torch():
    i, it = ag.tensor([-3, 0, 2, 9]), torch.tensor([-3, 0, 2, 9])
    for name in ("hardtanh", "relu6"):
        out = getattr(F, name)(i)
        assert out.dtype == ag.int64 and out.tolist() == getattr(TF, name)(it).tolist()
    np.testing.assert_allclose(F.softsign(i).data, TF.softsign(it).numpy())
    for name in ("silu", "mish", "elu", "selu", "celu", "hardsigmoid", "hardswish", "softplus", "logsigmoid", "glu"):
        with pytest.raises(NotImplementedError, match="not implemented for int64"):
            getattr(F, name)(i)
    with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
        F.hardtanh(ag.tensor([True]))


def test_glu_checks_its_dimension_as_torch():
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(ag.ones(2, 3))
    with pytest.raises(RuntimeError, match="does not support scalars"):
        F.glu(ag.tensor(1.0))
    with pytest.raises(IndexError, match="out of range"):
        F.glu(ag.ones(2, 4), 2)
    assert F.glu(ag.ones(2, 4), -2).shape == (1, 4) and F.glu(ag.ones(0, 2)).shape == (0, 1)


def test_softmin_without_dim_warns_as_torch():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmin(ag.tensor([[1.0, 2.0], [3.0, 5.0]]))
    with pytest.warns(UserWarning):
        ref = TF.softmin(torch.tensor([[1.0, 2.0], [3.0, 5.0]]))
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-6)


def test_gelu_tanh_is_one_node_and_the_exact_gelu_is_unchanged():
    x = ag.tensor([0.5, -1.5], requires_grad=True)
    assert F.gelu(x, approximate="tanh").grad_fn.name() == "GeluTanhBackward"
    assert nn.GELU("tanh")(x).tolist() == F.gelu(x, "tanh").tolist()
    assert math.isclose(F.gelu(x).tolist()[1], TF.gelu(torch.tensor([-1.5])).item(), rel_tol=1e-6)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")
