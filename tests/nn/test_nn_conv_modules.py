"""The convolution-era nn modules against torch.nn: parameter shapes, default initialisation,
state_dict keys and reprs; a torch state_dict converted to numpy loads into ours and gives the same
outputs (a small CNN, MultiheadAttention); a gradient penalty through Conv2d (second derivatives)
matches torch's; captured training steps and forward mode work through a CNN."""
import math

import numpy as np
import pytest
import torch
import torch.nn as tnn

import autograd as ag
import nn
import nn.functional as F
import optim

RNG = np.random.default_rng(0)


def _numpy_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def _same_layout(ours, theirs):
    """Same state_dict keys in the same order, same shapes, same dtypes (float32 by default)."""
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert a[key].shape == tuple(b[key].shape), key
        assert a[key].dtype == np.dtype(str(b[key].dtype).replace("torch.", "")), key


PAIRS = [
    lambda L: L.Conv1d(4, 6, 3), lambda L: L.Conv2d(3, 8, (3, 2), stride=2, padding=1, bias=False),
    lambda L: L.Conv2d(4, 6, 3, groups=2, padding="same", padding_mode="reflect"), lambda L: L.Conv3d(2, 4, 2),
    lambda L: L.ConvTranspose1d(4, 6, 3, stride=2), lambda L: L.ConvTranspose2d(4, 6, 3, groups=2, output_padding=1,
                                                                                stride=2),
    lambda L: L.ConvTranspose3d(2, 3, 2, bias=False), lambda L: L.BatchNorm2d(5), lambda L: L.BatchNorm3d(2),
    lambda L: L.BatchNorm2d(3, affine=False, track_running_stats=False), lambda L: L.GroupNorm(2, 6),
    lambda L: L.InstanceNorm2d(3), lambda L: L.InstanceNorm2d(3, affine=True, track_running_stats=True),
    lambda L: L.MultiheadAttention(8, 2), lambda L: L.MultiheadAttention(8, 4, kdim=6, vdim=5, add_bias_kv=True),
    lambda L: L.MultiheadAttention(6, 3, bias=False),
]


@pytest.mark.parametrize("make", PAIRS)
def test_parameters_buffers_and_state_dict_keys_are_torch_s(make):
    _same_layout(make(nn), make(tnn))


@pytest.mark.parametrize("make", [
    lambda L: L.Conv2d(3, 8, 3), lambda L: L.Conv2d(3, 8, (3, 2), stride=2, padding=1, dilation=2, bias=False,
                                                     padding_mode="reflect"),
    lambda L: L.Conv1d(4, 4, 3, padding="same", groups=2),
    lambda L: L.ConvTranspose2d(3, 6, 3, stride=2, output_padding=1),
    lambda L: L.MaxPool2d(2), lambda L: L.MaxPool1d(3, 2, 1, ceil_mode=True), lambda L: L.AvgPool2d(2),
    lambda L: L.AvgPool1d(3), lambda L: L.AdaptiveAvgPool2d((2, None)), lambda L: L.AdaptiveMaxPool2d(3),
    lambda L: L.MaxUnpool2d(2), lambda L: L.Dropout2d(0.3), lambda L: L.Upsample(scale_factor=2),
    lambda L: L.Upsample(size=3, mode="bilinear", align_corners=True), lambda L: L.PixelShuffle(2),
    lambda L: L.Unflatten(1, (2, -1)), lambda L: L.ZeroPad2d(2), lambda L: L.ReflectionPad2d((1, 2, 3, 4)),
    lambda L: L.ConstantPad2d(1, 3.5), lambda L: L.ReplicationPad2d(1)])
def test_repr_is_torch_s(make):
    ours, theirs = repr(make(nn)), repr(make(tnn))
    assert ours == theirs


@pytest.mark.parametrize("make,fan_in", [(lambda: nn.Conv2d(4, 6, 3), 36), (lambda: nn.Conv2d(8, 8, 3, groups=4), 18),
                                         (lambda: nn.Conv1d(5, 7, 4), 20), (lambda: nn.ConvTranspose2d(4, 6, 3), 54),
                                         (lambda: nn.ConvTranspose2d(4, 6, 3, groups=2), 27),
                                         (lambda: nn.Conv3d(2, 64, 3), 54)])
def test_default_init_is_uniform_within_one_over_sqrt_fan_in(make, fan_in):
    ag.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound  # uniform over the whole interval, not a narrower one
    # the variance of U(-bound, bound) is bound^2 / 3
    assert abs(w.var() - bound ** 2 / 3) < 0.25 * bound ** 2 / 3


def test_torch_state_dict_loads_into_our_cnn_and_gives_torch_s_outputs():
    def cnn(L):
        return L.Sequential(
            L.Conv2d(3, 8, 3, padding=1), L.BatchNorm2d(8), L.ReLU(), L.MaxPool2d(2), L.Dropout2d(0.25),
            L.Conv2d(8, 8, 3, padding="same", groups=2, bias=False), L.GroupNorm(4, 8), L.ReLU(),
            L.AvgPool2d(2, ceil_mode=True),
            L.ConvTranspose2d(8, 4, 2, stride=2), L.ReLU(), L.AdaptiveAvgPool2d((3, 3)), L.Flatten(), L.Linear(36, 5))

    torch.manual_seed(0)
    theirs = cnn(tnn)
    x = RNG.standard_normal((4, 3, 11, 10)).astype(np.float32)
    theirs.train()
    theirs(torch.tensor(x))  # batch statistics move the running averages away from 0 and 1
    ours = cnn(nn)
    _same_layout(ours, theirs)
    ours.load_state_dict(_numpy_state(theirs))
    ours.eval()
    theirs.eval()
    out = ours(ag.tensor(x))
    with torch.no_grad():
        ref = theirs(torch.tensor(x)).numpy()
    assert out.dtype == ag.float32
    np.testing.assert_allclose(out.data, ref, rtol=1e-4, atol=1e-5)
    # and the gradients of one loss match (evaluation mode: no random masks)
    y = RNG.integers(0, 5, 4)
    F.cross_entropy(ours(ag.tensor(x)), ag.tensor(y)).backward()
    tnn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)
    # in training mode batch norm's running statistics follow torch's
    ours.train()
    theirs.train()
    ours(ag.tensor(x))
    theirs(torch.tensor(x))
    np.testing.assert_allclose(ours[1].running_var.data, theirs[1].running_var.detach().numpy(), rtol=1e-5)
    assert int(ours[1].num_batches_tracked.item()) == 2


def test_gradient_penalty_through_conv2d_matches_torch():
    """WGAN-GP's penalty (||d critic / d x|| - 1)^2: the input gradient is recorded (create_graph)
    and differentiated again with respect to every parameter: second derivatives of conv2d,
    max_pool and avg_pool."""
    def critic(L):
        return L.Sequential(L.Conv2d(2, 6, 3, padding=1), L.Tanh(), L.MaxPool2d(2), L.Conv2d(6, 4, 3, stride=2),
                            L.Sigmoid(), L.AvgPool2d(2), L.Flatten(), L.Linear(4, 1))

    torch.manual_seed(1)
    theirs = critic(tnn).double()
    ours = critic(nn).double()
    ours.load_state_dict(_numpy_state(theirs))
    x = RNG.standard_normal((3, 2, 10, 10))

    xo = ag.tensor(x, requires_grad=True)
    (gx,) = ag.grad(ours(xo).sum(), xo, create_graph=True)
    penalty = ((gx.reshape(3, -1).norm(dim=1) - 1) ** 2).mean()
    penalty.backward()

    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(theirs(xt).sum(), xt, create_graph=True)
    penalty_t = ((gt.reshape(3, -1).norm(dim=1) - 1) ** 2).mean()
    penalty_t.backward()

    np.testing.assert_allclose(penalty.item(), penalty_t.item(), rtol=1e-12)
    np.testing.assert_allclose(gx.data, gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        if q.grad is None:  # the last bias: the input gradient does not depend on it
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    assert sum(p.grad is not None for p in ours.parameters()) == 5
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("options,call", [
    (dict(), dict()), (dict(batch_first=True), dict()), (dict(kdim=6, vdim=5), dict()),
    (dict(add_bias_kv=True, add_zero_attn=True), dict(key_padding_mask="bool")),
    (dict(bias=False), dict(attn_mask="bool", average_attn_weights=False)), (dict(), dict(attn_mask="float")),
    (dict(), dict(need_weights=False, key_padding_mask="float")), (dict(), dict(unbatched=True))])
def test_multihead_attention_with_torch_s_state_dict_gives_torch_s_outputs(options, call):
    call = dict(call)
    torch.manual_seed(0)
    theirs = tnn.MultiheadAttention(8, 2, **options).double()
    ours = nn.MultiheadAttention(8, 2, **options).double()
    _same_layout(ours.float(), theirs.float())
    ours.double(), theirs.double()
    ours.load_state_dict(_numpy_state(theirs))
    L, S, N = 4, 5, 3
    kdim, vdim = options.get("kdim", 8), options.get("vdim", 8)
    unbatched = call.pop("unbatched", False)
    lead = (lambda n, s: (s,)) if unbatched else ((lambda n, s: (n, s)) if options.get("batch_first") else
                                                   (lambda n, s: (s, n)))
    q, k, v = RNG.standard_normal(lead(N, L) + (8,)), RNG.standard_normal(lead(N, S) + (kdim,)), \
        RNG.standard_normal(lead(N, S) + (vdim,))
    kw_ours, kw_theirs = {}, {}
    for name, kind in call.items():
        if kind == "bool":
            shape = (N, S) if name == "key_padding_mask" else (L, S)
            m = RNG.random(shape) < 0.3
            m[..., 0] = False  # every query can attend somewhere
            kw_ours[name], kw_theirs[name] = ag.tensor(m), torch.tensor(m)
        elif kind == "float":
            shape = (N, S) if name == "key_padding_mask" else (L, S)
            m = RNG.standard_normal(shape)
            kw_ours[name], kw_theirs[name] = ag.tensor(m), torch.tensor(m)
        else:
            kw_ours[name] = kw_theirs[name] = kind
    xo = [ag.tensor(a, requires_grad=True) for a in (q, k, v)]
    xt = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out, w = ours(*xo, **kw_ours)
    ref, wt = theirs(*xt, **kw_theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    if wt is None:
        assert w is None
    else:
        np.testing.assert_allclose(w.data, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    cot = RNG.standard_normal(out.shape)
    out.backward(ag.tensor(cot))
    ref.backward(torch.tensor(cot))
    for a, b in zip(xo, xt):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_multihead_attention_init_and_errors():
    ag.manual_seed(0)
    m = nn.MultiheadAttention(16, 4)
    assert np.all(m.in_proj_bias.data == 0) and np.all(m.out_proj.bias.data == 0)
    bound = math.sqrt(6 / (16 + 48))  # xavier_uniform_ of the (3E, E) stacked projection
    assert np.abs(m.in_proj_weight.data).max() <= bound
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        m(ag.ones(2, 1, 16), ag.ones(2, 1, 16), ag.ones(2, 1, 16), is_causal=True)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(2, 3\), but should be \(2, 2\)"):
        m(ag.ones(2, 1, 16), ag.ones(2, 1, 16), ag.ones(2, 1, 16), attn_mask=ag.zeros(2, 3))


def test_conv_transpose_output_size_argument():
    torch.manual_seed(0)
    theirs = tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    ours = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    ours.load_state_dict(_numpy_state(theirs))
    x = RNG.standard_normal((1, 3, 4, 5)).astype(np.float32)
    for size in ((7, 9), (8, 10), (1, 2, 8, 9)):
        np.testing.assert_allclose(ours(ag.tensor(x), output_size=size).data,
                                   theirs(torch.tensor(x), output_size=size).detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="valid sizes range from"):
        ours(ag.tensor(x), output_size=(10, 9))


@pytest.mark.parametrize("make", [
    lambda L: L.MaxPool2d(3, 2, 1, ceil_mode=True), lambda L: L.MaxPool1d(2), lambda L: L.MaxPool3d(2),
    lambda L: L.AvgPool2d(3, 2, 1, count_include_pad=False), lambda L: L.AvgPool1d(2), lambda L: L.AvgPool3d(2),
    lambda L: L.AdaptiveAvgPool2d((3, 2)), lambda L: L.AdaptiveAvgPool1d(3), lambda L: L.AdaptiveMaxPool2d((2, 3)),
    lambda L: L.AdaptiveMaxPool1d(2), lambda L: L.Upsample(scale_factor=2), lambda L: L.Upsample(size=(5, 7),
                                                                                              mode="bilinear"),
    lambda L: L.PixelShuffle(2), lambda L: L.PixelUnshuffle(2), lambda L: L.ZeroPad2d((1, 0, 2, 1)),
    lambda L: L.ReflectionPad2d(2), lambda L: L.ReplicationPad2d((0, 1, 2, 0)), lambda L: L.ConstantPad2d(1, -1.5),
    lambda L: L.CircularPad2d(1), lambda L: L.Unflatten(1, (2, 2)), lambda L: L.InstanceNorm2d(4),
    lambda L: L.GroupNorm(2, 4), lambda L: L.BatchNorm3d(4)])
def test_parameter_free_modules_match_torch(make):
    shape = {"1d": (2, 4, 8), "3d": (2, 4, 4, 4, 6)}
    name = type(make(tnn)).__name__
    x = RNG.standard_normal(next((s for k, s in shape.items() if k in name), (2, 4, 8, 6)))
    if name == "PixelUnshuffle":
        x = RNG.standard_normal((2, 4, 8, 6))
    out = make(nn).double()(ag.tensor(x))
    ref = make(tnn).double()(torch.tensor(x))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_max_pool_and_unpool_modules_round_trip():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = ag.tensor(RNG.permutation(np.arange(32.0)).reshape(1, 2, 4, 4))
    y, i = pool(x)
    back = unpool(y, i)
    assert back.shape == x.shape
    assert np.all((back.data == 0) | (back.data == x.data)) and np.count_nonzero(back.data) == 8
    yt, it = tnn.MaxPool2d(2, return_indices=True)(torch.tensor(x.data))
    np.testing.assert_array_equal(back.data, tnn.MaxUnpool2d(2)(yt, it).numpy())


def test_dropout2d_module_and_eval():
    ag.manual_seed(0)
    d = nn.Dropout2d(0.5)
    x = ag.ones(4, 8, 3, 3)
    y = d(x)
    assert set(np.unique(y.data)) <= {0.0, 2.0}
    d.eval()
    assert d(x) is x


def test_orthogonal_and_trunc_normal_init():
    ag.manual_seed(0)
    for shape in ((5, 3), (3, 5), (4, 2, 3, 3)):
        w = nn.init.orthogonal_(ag.empty(*shape), gain=2.0).data.reshape(shape[0], -1)
        small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(small, 4 * np.eye(small.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        nn.init.orthogonal_(ag.empty(3))
    t = nn.init.trunc_normal_(ag.empty(20000), mean=1.0, std=2.0, a=-1.0, b=2.0).data
    assert t.min() >= -1.0 and t.max() <= 2.0 and t.dtype == np.float32
    assert abs(t.mean() - 0.61) < 0.03  # the mean of N(1, 4) truncated to [-1, 2] (torch's samples agree)
    torch.manual_seed(0)
    assert abs(tnn.init.trunc_normal_(torch.empty(20000), 1.0, 2.0, -1.0, 2.0).mean().item() - t.mean()) < 0.04


def test_unflatten_and_errors():
    u = nn.Unflatten(1, (2, -1))
    assert u(ag.ones(3, 6)).shape == (3, 2, 3) and nn.Unflatten(-1, (3, 2))(ag.ones(2, 6)).shape == (2, 3, 2)
    with pytest.raises(RuntimeError, match=r"Provided sizes \[4, -1\] don't multiply up to the size of dim 1 \(6\)"):
        u = nn.Unflatten(1, (4, -1))(ag.ones(3, 6))


def test_module_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 6, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 6, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="BatchNorm2d expects a 4D"):
        nn.BatchNorm2d(3)(ag.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"expected input\[2, 4, 5, 5\] to have 3 channels"):
        nn.Conv2d(3, 6, 3)(ag.ones(2, 4, 5, 5))


def test_cnn_training_step_as_a_captured_graph():
    """ag.Graph re-runs a CNN step with a new batch fed in, as the eager step computes it."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16, 3))
    x, y = ag.randn(5, 1, 4, 4), ag.randint(0, 3, (5,))
    loss = F.cross_entropy(model(x), y)
    graph = ag.Graph(loss)
    x2, y2 = ag.randn(5, 1, 4, 4), ag.randint(0, 3, (5,))
    replayed = graph.forward({x: x2.data, y: y2.data}).item()
    for p in model.parameters():
        p.grad = None
    graph.backward()
    replayed_grads = [p.grad.data.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    eager = F.cross_entropy(model(x2), y2)
    eager.backward()
    assert replayed == pytest.approx(eager.item(), rel=1e-6)
    for a, p in zip(replayed_grads, model.parameters()):
        np.testing.assert_allclose(a, p.grad.data, rtol=1e-5, atol=1e-7)


def test_forward_mode_through_a_cnn_matches_reverse_mode():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.ConvTranspose2d(3, 2, 2, 2),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 1)).double()
    x = ag.randn(1, 2, 4, 4, dtype=ag.float64)
    v = ag.randn(1, 2, 4, 4, dtype=ag.float64)
    import autograd.forward_ad as fw

    with fw.dual_level():
        jvp = fw.unpack_dual(model(fw.make_dual(x, v))).tangent.item()
    xr = x.detach().requires_grad_()
    (g,) = ag.grad(model(xr).sum(), xr)
    assert jvp == pytest.approx((g * v).sum().item(), rel=1e-10)


def test_small_cnn_learns():
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    # images with a bright vertical or horizontal bar: a task for an edge-detecting kernel
    x = rng.normal(0, 0.3, (64, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    for i, label in enumerate(y):
        pos = rng.integers(1, 7)
        if label:
            x[i, 0, :, pos] += 2
        else:
            x[i, 0, pos, :] += 2
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                          nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = F.cross_entropy(model(ag.tensor(x)), ag.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (model(ag.tensor(x)).argmax(1).data == y).mean() > 0.95
