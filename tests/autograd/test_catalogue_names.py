"""Every name of API.md's section "The rest of PyTorch's everyday operation catalogue" exists where
torch has it: as an ``nn.functional`` function, an ``nn`` module, an ``ag`` function and a Tensor
method (each where torch has that form), with the in-place forms torch has. (The op cases check what
each computes; this guards against a form left out.)"""
import pytest
import torch

import autograd as ag
import nn
import nn.functional as F

FUNCTIONAL = """conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d max_pool1d max_pool2d
max_pool3d max_unpool1d max_unpool2d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d
adaptive_max_pool2d pad interpolate unfold fold pixel_shuffle scaled_dot_product_attention normalize
cosine_similarity pairwise_distance silu elu selu celu relu6 hardtanh hardsigmoid hardswish mish softsign softplus
logsigmoid softmin glu gelu""".split()
MODULES = """SiLU ELU SELU CELU ReLU6 Hardtanh Hardsigmoid Hardswish Mish Softsign Softplus LogSigmoid Softmin GLU
GELU Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d MaxPool1d MaxPool2d MaxPool3d AvgPool1d
AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d MaxUnpool2d BatchNorm2d BatchNorm3d GroupNorm
InstanceNorm2d Dropout2d Upsample PixelShuffle Unflatten ZeroPad2d ReflectionPad2d MultiheadAttention""".split()
OPERATIONS = """erf erfc erfinv exp2 expm1 log2 log10 log1p logaddexp rsqrt reciprocal square tan asin acos atan
atan2 sinh cosh asinh acosh atanh floor ceil round trunc frac fmod remainder copysign hypot lerp xlogy nan_to_num
isnan isinf isfinite isclose allclose logical_and logical_or logical_xor logical_not bitwise_and bitwise_or
bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift add sub mul div neg cumsum cumprod cummax cummin
logcumsumexp all any count_nonzero median mode var_mean std_mean aminmax sort argsort topk kthvalue unique flip
roll repeat tile tril triu diag diagonal diag_embed trace unflatten movedim narrow take take_along_dim scatter
scatter_add scatter_reduce index_add index_copy index_fill masked_select masked_scatter nonzero where meshgrid
einsum bmm mm mv t repeat_interleave unfold expand_as view_as type_as new_zeros new_ones new_full new_tensor view
type half int long bool""".split()
OPERATORS = "__and__ __or__ __xor__ __invert__ __lshift__ __rshift__ __mod__ __floordiv__".split()


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional(name):
    assert hasattr(torch.nn.functional, name) and hasattr(F, name), f"F.{name}"


@pytest.mark.parametrize("name", MODULES + ["init.orthogonal_", "init.trunc_normal_"])
def test_modules(name):
    ours, theirs = nn, torch.nn
    for part in name.split("."):
        ours, theirs = getattr(ours, part, None), getattr(theirs, part)
    assert ours is not None, f"nn.{name}"


# torch's in-place forms that change the shape (a view's metadata rewritten in place): chainrule's
# in-place operations keep a tensor's shape, so these stay out-of-place only (x.t(), not x.t_())
SHAPE_CHANGING = {"t", "unsqueeze", "squeeze", "transpose", "resize", "as_strided"}


@pytest.mark.parametrize("name", OPERATIONS + OPERATORS)
def test_operations_in_each_of_torchs_forms(name):
    x = ag.ones(2, 2)
    forms = {"ag": hasattr(torch, name) and not name.startswith("__"), "Tensor": hasattr(torch.Tensor, name),
             "in-place": hasattr(torch.Tensor, name + "_") and not name.startswith("__") and name not in SHAPE_CHANGING}
    assert any(forms.values()), f"torch has no {name}"
    missing = [form for form, there in forms.items() if there and not hasattr(
        {"ag": ag, "Tensor": x, "in-place": x}[form], name + "_" if form == "in-place" else name)]
    assert not missing, f"{name}: torch has it as {missing} but chainrule does not"


def test_in_place_scans_and_triangles_match_torch():
    data = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    for name, args in (("cumsum_", (1,)), ("cumprod_", (0,)), ("tril_", ()), ("triu_", (1,))):
        x, t = ag.tensor(data), torch.tensor(data)
        assert getattr(x, name)(*args) is x
        getattr(t, name)(*args)
        assert x.tolist() == t.tolist(), name


def test_the_method_form_of_where_is_torchs():
    x = ag.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.where(x > 0, ag.tensor(0.5))
    t = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    u = t.where(t > 0, torch.tensor(0.5))
    y.sum().backward()
    u.sum().backward()
    assert y.tolist() == u.tolist() and x.grad.tolist() == t.grad.tolist()
