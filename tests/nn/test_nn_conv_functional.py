"""nn.functional's convolution, pooling, padding, resampling, attention and vector functions against torch.

The entries of the op table (conv, conv_transpose, im2col, col2im, max_pool, max_pool_indices,
max_unpool, pad) are checked by tests/autograd/test_ops.py through op_cases_conv.py. Here: the
functions that compose them or other table operations (average and adaptive pooling, the other
padding modes, interpolation, pixel shuffle, attention, normalize, cosine_similarity,
pairwise_distance, group and instance norm, channel dropout), each against torch for values and
gradients, and ag.gradcheck / gradgradcheck in float64; then every bad argument against the error
torch raises.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import autograd as ag
import nn.functional as F

RNG = np.random.default_rng(0)


def _pair(arrays):
    ours = [ag.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    return ours, theirs


def _check(ours_fn, theirs_fn, arrays, tol=1e-9, second_order=True):
    """Values and gradients (random cotangent) equal torch's; gradcheck (and gradgradcheck) pass."""
    xs, ts = _pair(arrays)
    out, ref = ours_fn(*xs), theirs_fn(*ts)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
    assert out.shape == tuple(ref.shape)
    cot = RNG.standard_normal(out.shape)
    wrt = [x for x in xs if x.requires_grad]
    wrt_t = [t for t in ts if t.requires_grad]
    grads = ag.grad(out, wrt, grad_outputs=ag.tensor(cot), allow_unused=True)
    grads_t = torch.autograd.grad(ref, wrt_t, grad_outputs=torch.tensor(cot), allow_unused=True)
    for g, gt, x in zip(grads, grads_t, wrt):
        expected = np.zeros(x.shape) if gt is None else gt.numpy()
        np.testing.assert_allclose(np.zeros(x.shape) if g is None else g.data, expected, rtol=tol, atol=tol)
    assert ag.gradcheck(ours_fn, xs)
    if second_order:
        assert ag.gradgradcheck(ours_fn, xs)


def _x(*shape):
    return RNG.standard_normal(shape)


def _distinct(*shape):
    """Values without ties (max pooling is not differentiable at a tie)."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + RNG.uniform(0, 0.01, shape)


# -- pooling -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, padding=1,
                                                                       count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(2, 1), ceil_mode=True), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, divisor_override=3)])
def test_avg_pool2d(kw):
    _check(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [_x(2, 3, 7, 6)])


def test_avg_pool1d_and_3d_and_unbatched():
    _check(lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True), lambda x: TF.avg_pool1d(x, 3, 2, 1, ceil_mode=True),
           [_x(2, 3, 8)])
    _check(lambda x: F.avg_pool3d(x, 2, padding=1, count_include_pad=False),
           lambda x: TF.avg_pool3d(x, 2, padding=1, count_include_pad=False), [_x(1, 2, 3, 4, 5)])
    _check(lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2), [_x(3, 4, 4)])


def test_max_pool_return_indices_round_trip_through_max_unpool():
    x = _distinct(2, 3, 6, 7)
    y, i = F.max_pool2d(ag.tensor(x), 2, return_indices=True)
    _, it = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(i.data, it.numpy())
    assert i.dtype == ag.int64
    _check(lambda v: F.max_unpool2d(v, i, 2, output_size=(6, 7)),
           lambda v: TF.max_unpool2d(v, it, 2, output_size=(6, 7)), [y.data])
    y1, i1 = F.max_pool1d(ag.tensor(x[0]), 3, 2, return_indices=True)
    y1t, i1t = TF.max_pool1d(torch.tensor(x[0]), 3, 2, return_indices=True)
    np.testing.assert_array_equal(i1.data, i1t.numpy())
    np.testing.assert_array_equal(F.max_unpool1d(y1, i1, 3, 2).data, TF.max_unpool1d(y1t, i1t, 3, 2).numpy())


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (4, 5), (None, 3), 2, (7, 6)])
def test_adaptive_avg_pool2d(size):
    _check(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), [_x(2, 3, 7, 6)])


def test_adaptive_avg_pool1d_and_3d():
    _check(lambda x: F.adaptive_avg_pool1d(x, 3), lambda x: TF.adaptive_avg_pool1d(x, 3), [_x(2, 3, 7)])
    _check(lambda x: F.adaptive_avg_pool3d(x, (2, 1, 3)), lambda x: TF.adaptive_avg_pool3d(x, (2, 1, 3)),
           [_x(1, 2, 3, 4, 5)])


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (4, 5), (2, 3)])
def test_adaptive_max_pool2d_values_gradients_and_indices(size):
    x = _distinct(2, 3, 7, 6)
    _check(lambda t: F.adaptive_max_pool2d(t, size), lambda t: TF.adaptive_max_pool2d(t, size), [x])
    _, i = F.adaptive_max_pool2d(ag.tensor(x), size, return_indices=True)
    _, it = TF.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(i.data, it.numpy())
    y1, i1 = F.adaptive_max_pool1d(ag.tensor(x[0]), 4, return_indices=True)
    y1t, i1t = TF.adaptive_max_pool1d(torch.tensor(x[0]), 4, return_indices=True)
    np.testing.assert_array_equal(i1.data, i1t.numpy())
    np.testing.assert_array_equal(y1.data, y1t.numpy())


def test_max_pool_ties_and_nan_follow_torch():
    x = np.array([[[[1.0, 1.0, 0.0], [1.0, 0.5, 0.0], [2.0, 2.0, 2.0]]]])
    xs, ts = _pair([x])
    F.max_pool2d(xs[0], 2, 1).sum().backward()
    TF.max_pool2d(ts[0], 2, 1).sum().backward()
    np.testing.assert_array_equal(xs[0].grad.data, ts[0].grad.numpy())  # the first maximum of each window
    x[0, 0, 1, 1] = np.nan
    np.testing.assert_array_equal(F.max_pool2d(ag.tensor(x), 2, 1).data, TF.max_pool2d(torch.tensor(x), 2, 1).numpy())


# -- padding, interpolation, pixel shuffle ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0, 1, 3), (1, 1, 0, 2, 1, 0)])
def test_pad_modes(mode, pad):
    shape = {2: (2, 3, 5), 4: (2, 3, 4, 5), 6: (1, 2, 3, 4, 5)}[len(pad)]
    _check(lambda x: F.pad(x, pad, mode=mode), lambda x: TF.pad(x, pad, mode=mode), [_x(*shape)])


def test_pad_modes_with_negative_widths():
    for mode in ("reflect", "replicate", "circular", "constant"):
        _check(lambda x: F.pad(x, (-1, 2, 1, -2), mode=mode), lambda x: TF.pad(x, (-1, 2, 1, -2), mode=mode),
               [_x(1, 2, 5, 5)])


@pytest.mark.parametrize("mode,kw", [
    ("nearest", dict(size=(5, 7))), ("nearest", dict(scale_factor=2)), ("nearest", dict(scale_factor=(0.5, 1.7))),
    ("nearest-exact", dict(size=(5, 3))), ("bilinear", dict(size=(5, 7))), ("bilinear", dict(size=(2, 3))),
    ("bilinear", dict(size=(5, 7), align_corners=True)), ("bilinear", dict(scale_factor=1.5)),
    ("bilinear", dict(scale_factor=(2.3, 0.6), recompute_scale_factor=True)), ("area", dict(size=(2, 3)))])
def test_interpolate_2d(mode, kw):
    _check(lambda x: F.interpolate(x, mode=mode, **kw), lambda x: TF.interpolate(x, mode=mode, **kw), [_x(2, 2, 4, 5)])


def test_interpolate_1d_3d():
    for mode, kw in (("linear", dict(size=7)), ("linear", dict(scale_factor=0.6, align_corners=True)),
                     ("nearest", dict(size=3))):
        _check(lambda x: F.interpolate(x, mode=mode, **kw), lambda x: TF.interpolate(x, mode=mode, **kw), [_x(2, 3, 5)])
    for mode, kw in (("trilinear", dict(size=(3, 2, 5))), ("nearest", dict(scale_factor=2))):
        _check(lambda x: F.interpolate(x, mode=mode, **kw), lambda x: TF.interpolate(x, mode=mode, **kw),
               [_x(1, 2, 2, 3, 4)])


def test_interpolate_float32_matches_torch():
    x = RNG.standard_normal((1, 2, 5, 6)).astype(np.float32)
    for mode, kw in (("bilinear", dict(scale_factor=1.7)), ("nearest", dict(scale_factor=1.3)),
                     ("bilinear", dict(size=(9, 4), align_corners=True))):
        ours = F.interpolate(ag.tensor(x), mode=mode, **kw)
        assert ours.dtype == ag.float32
        np.testing.assert_allclose(ours.data, TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_pixel_shuffle_and_unshuffle():
    _check(lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2), [_x(2, 8, 3, 4)])
    _check(lambda x: F.pixel_unshuffle(x, 2), lambda x: TF.pixel_unshuffle(x, 2), [_x(3, 4, 6)])


# -- attention and vector functions ----------------------------------------------------------------


@pytest.mark.parametrize("kw", [dict(), dict(is_causal=True), dict(scale=0.3), dict(mask="bool"), dict(mask="float")])
def test_scaled_dot_product_attention(kw):
    kw = dict(kw)
    mask = kw.pop("mask", None)
    arrays = [_x(2, 3, 4, 5), _x(2, 3, 6, 5), _x(2, 3, 6, 2)]
    if mask == "bool":
        m = RNG.random((4, 6)) < 0.7
        m[:, 0] = True  # every query attends to something
        arrays.append(m)
    elif mask == "float":
        arrays.append(_x(4, 6))

    def run(lib, attention):
        def f(q, k, v, m=None):
            return attention(q, k, v, attn_mask=m, **kw)
        return f

    _check(run(ag, F.scaled_dot_product_attention), run(torch, TF.scaled_dot_product_attention), arrays)


def test_scaled_dot_product_attention_grouped_query_heads():
    arrays = [_x(1, 4, 3, 2), _x(1, 2, 5, 2), _x(1, 2, 5, 3)]
    _check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
           lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True), arrays)


def test_normalize_cosine_similarity_pairwise_distance():
    _check(lambda x: F.normalize(x), lambda x: TF.normalize(x), [_x(3, 4)])
    _check(lambda x: F.normalize(x, p=1, dim=-1), lambda x: TF.normalize(x, p=1, dim=-1), [_x(2, 3, 4)])
    _check(lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b), [_x(3, 4), _x(3, 4)])
    _check(lambda a, b: F.cosine_similarity(a, b, dim=-1), lambda a, b: TF.cosine_similarity(a, b, dim=-1),
           [_x(2, 3, 4), _x(3, 4)])
    _check(lambda a, b: F.pairwise_distance(a, b), lambda a, b: TF.pairwise_distance(a, b), [_x(3, 4), _x(3, 4)])
    _check(lambda a, b: F.pairwise_distance(a, b, p=3, keepdim=True),
           lambda a, b: TF.pairwise_distance(a, b, p=3, keepdim=True), [_x(3, 4), _x(1, 4)])
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
        F.cosine_similarity(ag.ones(2, 3), ag.ones(2, 4))


def test_group_norm_and_instance_norm():
    _check(lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: TF.group_norm(x, 2, w, b),
           [_x(2, 4, 3, 3), _x(4), _x(4)])
    _check(lambda x: F.group_norm(x, 1), lambda x: TF.group_norm(x, 1), [_x(3, 2, 5)])
    _check(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
           [_x(2, 3, 4, 5), _x(3), _x(3)])
    x = _x(4, 3, 5, 2)
    rm, rv = ag.zeros(3, dtype=ag.float64), ag.ones(3, dtype=ag.float64)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    F.instance_norm(ag.tensor(x), rm, rv, momentum=0.3)
    TF.instance_norm(torch.tensor(x), rmt, rvt, momentum=0.3)
    np.testing.assert_allclose(rm.data, rmt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.data, rvt.numpy(), rtol=1e-12)
    y = F.instance_norm(ag.tensor(x), rm, rv, use_input_stats=False)
    np.testing.assert_allclose(y.data, TF.instance_norm(torch.tensor(x), rmt, rvt, use_input_stats=False).numpy())
    with pytest.raises(RuntimeError, match=r"divisible by num_groups, but got input of shape \[2, 6, 3\] and "
                                           r"num_groups=4"):
        F.group_norm(ag.ones(2, 6, 3), 4)


def test_channel_dropout_drops_whole_channels():
    ag.manual_seed(0)
    x = ag.ones(8, 16, 3, 3, requires_grad=True)
    y = F.dropout2d(x, 0.5)
    per_channel = y.data.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel is kept or dropped whole
    assert 0.25 < (per_channel[:, :, 0] == 0).mean() < 0.75
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # d(x m)/dx = m
    assert F.dropout2d(x, 0.5, training=False) is x
    assert F.dropout1d(ag.ones(4, 5), 0.5).shape == (4, 5) and F.dropout3d(ag.ones(2, 3, 2, 2, 2), 0.2).shape == \
        (2, 3, 2, 2, 2)
    g = ag.Graph(F.dropout2d(x, 0.5).sum())  # a captured graph draws a new mask each evaluation
    assert len({float(g.forward().item()) for _ in range(5)}) > 1


# -- bad input: torch's errors -------------------------------------------------------------------


def _same_error(ours, theirs):
    """Both raise the same exception class; ours names what torch's names (returned for matching)."""
    with pytest.raises(Exception) as ref:
        theirs()
    with pytest.raises(type(ref.value)) as got:
        ours()
    return str(got.value), str(ref.value)


X4, W4 = _x(2, 4, 8, 8), _x(6, 4, 3, 3)


@pytest.mark.parametrize("call,fragments", [
    (lambda L, T: L.conv2d(T(_x(2, 3, 8, 8)), T(W4)), ["groups=1", "[6, 4, 3, 3]", "input[2, 3, 8, 8]", "4 channels",
                                                       "3 channels"]),
    (lambda L, T: L.conv2d(T(X4), T(_x(6, 2, 3, 3)), groups=3), ["groups=3", "6 channels", "4 channels"]),
    (lambda L, T: L.conv2d(T(X4), T(_x(5, 2, 3, 3)), groups=2), ["divisible by 2", "[5, 2, 3, 3]"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), groups=0), ["non-positive groups"]),
    (lambda L, T: L.conv2d(T(_x(8, 8)), T(W4)), ["3D (unbatched) or 4D (batched)", "[8, 8]"]),
    (lambda L, T: L.conv2d(T(_x(2, 4, 2, 2)), T(W4)), ["(2 x 2)", "(3 x 3)", "Kernel size can't be greater"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), stride=0), ["non-positive stride"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), padding=-1), ["negative padding"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), dilation=0), ["non-positive dilation"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), padding="same", stride=2), ["padding='same'", "strided"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), padding="full"), ["Invalid padding string", "full"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), T(_x(5))), ["bias", "6 elements", "[5]"]),
    (lambda L, T: L.conv2d(T(X4), T(W4), stride=(1, 2, 3)), ["stride", "2 values", "[1, 2, 3]"]),
    (lambda L, T: L.conv1d(T(X4), T(W4)), ["2D (unbatched) or 3D (batched)", "[2, 4, 8, 8]"]),
    (lambda L, T: L.conv2d(T(X4), T(W4.astype(np.float32))), ["float"]),
    (lambda L, T: L.conv_transpose2d(T(X4), T(_x(4, 3, 3, 3)), stride=2, output_padding=2),
     ["output padding must be smaller than either stride or dilation"]),
    (lambda L, T: L.conv_transpose2d(T(X4), T(_x(3, 3, 3, 3))), ["transposed=1", "[3, 3, 3, 3]", "input[2, 4, 8, 8]",
                                                                 "3 channels", "4 channels"]),
    (lambda L, T: L.conv_transpose2d(T(X4), T(_x(4, 3, 3, 3)), groups=3), ["divisible by 3", "[4, 3, 3, 3]"]),
    (lambda L, T: L.max_pool2d(T(X4), 3, padding=2), ["pad should be at most half of kernel size", "pad=2",
                                                      "kernel_size=3"]),
    (lambda L, T: L.max_pool2d(T(X4), 3, padding=2, dilation=2), ["half of kernel size", "pad=2", "dilation=2"]),
    (lambda L, T: L.max_pool2d(T(_x(1, 1, 2, 2)), 3), ["(1x2x2)", "(1x0x0)", "too small"]),
    (lambda L, T: L.max_pool2d(T(X4), 2, stride=0), ["stride should not be zero"]),
    (lambda L, T: L.max_pool2d(T(_x(8, 8)), 2), ["3D or 4D (batch mode) tensor expected"]),
    (lambda L, T: L.avg_pool2d(T(X4), 2, padding=2), ["pad should be at most half", "kernel_size=2"]),
    (lambda L, T: L.avg_pool2d(T(X4), 2, divisor_override=0), ["divisor must be not zero"]),
    (lambda L, T: L.max_unpool2d(T(_x(1, 1, 2, 2)), T(np.full((1, 1, 2, 2), 20)), 2), ["invalid max index: 20",
                                                                                       "4x4"]),
    (lambda L, T: L.max_unpool2d(T(_x(1, 1, 2, 2)), T(np.zeros((1, 1, 2, 3), dtype=np.int64)), 2),
     ["[1, 1, 2, 2]", "[1, 1, 2, 3]"]),
    (lambda L, T: L.max_unpool2d(T(_x(1, 1, 2, 2)), T(np.zeros((1, 1, 2, 2), dtype=np.int64)), 2, output_size=(9, 9)),
     ["invalid output_size", "(9, 9)", "between 2 and 6"]),
    (lambda L, T: L.pad(T(X4), (8, 8), mode="reflect"), ["Padding size 2 is not supported for 4D input"]),
    (lambda L, T: L.pad(T(X4), (8, 8, 1, 1), mode="reflect"), ["Padding size should be less than the corresponding",
                                                               "(8, 8)"]),
    (lambda L, T: L.pad(T(X4), (1,)), ["Padding length must be divisible by 2"]),
    (lambda L, T: L.pad(T(_x(2, 2)), (1, 1, 1, 1, 1, 1)), ["padding length 6", "input of dimension 2"]),
    (lambda L, T: L.pad(T(X4), (1, 1), mode="foo"), ["Unrecognised padding mode foo"]),
    (lambda L, T: L.pad(T(X4), (-5, -5)), ["negative output size"]),
    (lambda L, T: L.interpolate(T(X4), size=4, scale_factor=2), ["only one of size or scale_factor"]),
    (lambda L, T: L.interpolate(T(X4)), ["either size or scale_factor"]),
    (lambda L, T: L.interpolate(T(X4), size=4, mode="linear"), ["4D input", "linear mode needs 3D input"]),
    (lambda L, T: L.interpolate(T(X4), size=4, align_corners=True), ["align_corners option can only be set"]),
    (lambda L, T: L.interpolate(T(X4), size=(3, 3, 3)), ["same number of spatial dimensions", "(3, 3, 3)"]),
    (lambda L, T: L.pixel_shuffle(T(_x(1, 3, 2, 2)), 2), ["divisible by the square of upscale_factor",
                                                         "input.size(-3)=3", "not divisible by 4"]),
    (lambda L, T: L.pixel_unshuffle(T(_x(1, 1, 5, 4)), 2), ["height", "input.size(-2)=5"]),
    (lambda L, T: L.fold(T(_x(1, 12, 10)), (4, 4), 2), ["output_size=(4, 4)", "3 * 3 = 9", "input.size(2)=10"]),
    (lambda L, T: L.fold(T(_x(1, 10, 9)), (4, 4), 2), ["divisible by the product of kernel_size", "input.size(1)=10"]),
    (lambda L, T: L.adaptive_avg_pool2d(T(X4), (1, 2, 3)), ["output_size must be 2"]),
])
def test_bad_arguments_raise_torch_errors(call, fragments):
    ours, theirs = _same_error(lambda: call(F, ag.tensor), lambda: call(TF, torch.tensor))
    for fragment in fragments:
        assert fragment in ours, f"{fragment!r} not in our message {ours!r} (torch: {theirs!r})"
