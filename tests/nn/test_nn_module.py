"""Module mechanics: registration, traversal, state_dict / load_state_dict, modes, dtypes, repr, scopes."""
import copy

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.grad_mode import state


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(4, 2)
        self.scale = nn.Parameter(ag.ones(2))
        self.register_buffer("steps", ag.zeros(1))
        self.register_buffer("scratch", ag.zeros(2), persistent=False)
        self.plain = ag.zeros(5)  # a Tensor that is neither Parameter nor buffer: just an attribute

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(ag.tensor([1.0, 2.0]))
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf and p.grad_fn is None
    y = (p * p).sum()
    assert type(y) is ag.Tensor and not isinstance(y, nn.Parameter)
    y.backward()
    np.testing.assert_allclose(p.grad.data, [2.0, 4.0])
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")
    assert not nn.Parameter(ag.ones(2), requires_grad=False).requires_grad
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(ag.tensor([1, 2]))
    # shares memory with an ndarray, as torch.nn.Parameter shares a tensor's storage
    a = np.zeros(3, dtype=np.float32)
    q = nn.Parameter(a)
    a[0] = 5
    assert q.data[0] == 5
    # a Parameter made from a non-leaf is a leaf
    r = nn.Parameter(p * 2)
    assert r.is_leaf and r._inputs == ()
    # Parameter in-place updates under no_grad as optimizers do
    with ag.no_grad():
        p -= 0.5 * p.grad
    np.testing.assert_allclose(p.data, [0.0, 0.0])


def test_registration_and_traversal():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert len(list(net.parameters())) == 5
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Tanh", "Linear"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.modules())[0] is net
    assert "plain" not in dict(net.named_buffers()) and net.plain.shape == (5,)
    assert net.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 2
    # reassigning replaces; assigning None to a parameter slot keeps the name absent from parameters
    net.fc2 = nn.Linear(4, 2, bias=False)
    assert "fc2.bias" not in dict(net.named_parameters())
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="nn.Parameter"):
        net.scale = ag.ones(2)  # a plain Tensor can't fill a parameter slot
    del net.fc2
    assert "fc2" not in dict(net.named_children())


def test_shared_parameters_appear_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    import torch

    tlin = torch.nn.Linear(2, 2)
    assert list(seq.state_dict()) == list(torch.nn.Sequential(tlin, torch.nn.ReLU(), tlin).state_dict())
    seq.load_state_dict(seq.state_dict())


def test_assigning_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Bad()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(ag.ones(1))


def test_train_eval_propagate():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_requires_grad():
    net = Net()
    net(ag.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_apply_visits_children_first_then_self():
    seen = []
    net = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init)
    assert np.all(net[0].weight.data == 0.5)


def test_to_dtype_keeps_parameter_identity():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    params = list(net.parameters())
    net(ag.randn(4, 2)).sum().backward()
    assert net.to(ag.float64) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # integer buffers stay integers
    out = net(ag.randn(4, 2, dtype=ag.float64))
    assert out.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())


def test_state_dict_round_trip_and_sharing():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["scale", "steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]  # no 'scratch'
    assert all(not v.requires_grad for v in sd.values())
    other = Net()
    result = other.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.data, sd[k].data)
    # loaded by copying into the existing Parameters (an optimizer holding them stays valid)
    before = [id(p) for p in other.parameters()]
    other.load_state_dict({k: v.data * 2 for k, v in sd.items()})
    assert [id(p) for p in other.parameters()] == before
    np.testing.assert_allclose(other.fc1.weight.data, 2 * net.fc1.weight.data)


def test_load_state_dict_errors_list_everything_and_change_nothing():
    net = Net()
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    bad = {k: ag.zeros(*v.shape) for k, v in net.state_dict().items()}
    del bad["fc1.bias"]
    bad["extra.weight"] = ag.zeros(1)
    bad["fc2.weight"] = ag.zeros(3, 3)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    msg = str(info.value)
    assert '"fc1.bias"' in msg and "Missing" in msg
    assert '"extra.weight"' in msg and "Unexpected" in msg
    assert "fc2.weight" in msg and "(3, 3)" in msg and "(2, 4)" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])  # nothing was written, not even fc1.weight
    # strict=False tolerates missing and unexpected keys but never a shape mismatch
    del bad["fc2.weight"]
    result = net.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["fc1.bias", "fc2.weight"] and result.unexpected_keys == ["extra.weight"]
    assert not net.fc1.weight.data.any()
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict({"fc2.bias": ag.zeros(7)}, strict=False)


def test_state_dict_matches_torch_keys():
    import torch

    ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(),
                                 torch.nn.Linear(3, 1))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.data)) for k, v in ours.state_dict().items()})
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1:], nn.Sequential)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="not an nn.Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("inp", nn.Linear(2, 2)), ("out", nn.Linear(2, 1))]))
    assert [n for n, _ in named.named_parameters()] == ["inp.weight", "inp.bias", "out.weight", "out.bias"]

    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.Linear(1, 2))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert [n for n, _ in ml.named_parameters()][-1] == "3.bias"
    with pytest.raises(TypeError):
        ml.append("no")

    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    md["c"] = nn.Tanh()
    assert list(md) == ["a", "b", "c"] and "c" in md and isinstance(md["a"], nn.Linear)
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]


def test_repr_is_nested_with_configuration_and_parameter_count():
    net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Sequential(nn.Dropout(0.25), nn.Linear(32, 10, bias=False)))
    text = repr(net)
    assert text == (
        "Sequential(\n"
        "  (0): Linear(in_features=64, out_features=32, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.25, inplace=False)\n"
        "    (1): Linear(in_features=32, out_features=10, bias=False)\n"
        "  )\n"
        ")\n"
        "[2,400 parameters]")
    assert repr(nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"
    assert "BatchNorm1d(4, eps=1e-05, momentum=0.1" in repr(nn.BatchNorm1d(4))
    assert "Embedding(10, 3, padding_idx=0)" == repr(nn.Embedding(10, 3, padding_idx=0))


def test_module_scope_is_set_during_forward():
    seen = {}

    class Probe(nn.Module):
        def forward(self, x):
            seen[id(self)] = state.scope
            return x

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 2)
            self.probe = Probe()

        def forward(self, x):
            return self.probe(self.fc1(x))

    inner = Block()
    model = nn.Sequential(inner, Probe())
    x = ag.randn(3, 2)
    out = model(x)
    assert seen[id(inner.probe)] == ("Sequential", "0", "probe")
    assert seen[id(model[1])] == ("Sequential", "1")
    assert state.scope is None  # restored afterwards
    assert out._scope == ("Sequential", "0", "fc1")  # the tensors made inside a module record its path
    h = inner.fc1(x)
    assert h._scope == ("Linear",)  # a module called directly is at the top level: its class name
    # restored after an exception too

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(ValueError):
        nn.Sequential(Boom())(x)
    assert state.scope is None


def test_deepcopy_gives_independent_parameters():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    twin = copy.deepcopy(net)
    assert all(isinstance(p, nn.Parameter) for p in twin.parameters())
    with ag.no_grad():
        net[0].weight.fill_(3.0)
    assert not np.all(twin[0].weight.data == 3.0)
    assert twin(ag.randn(3, 2)).shape == (3, 2)


def test_forgotten_super_init_is_explained_on_use_too():
    class Forgot(nn.Module):
        def __init__(self):
            self.k = 3

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        list(Forgot().parameters())


def test_to_cpu_is_a_no_op_and_other_devices_are_errors():
    net = nn.Linear(2, 2)
    assert net.to("cpu") is net and net.weight.dtype == np.float32
    assert net.to(device="cpu", dtype=ag.float64) is net and net.weight.dtype == np.float64 and net.cpu() is net
    for call in (lambda: net.to("cuda"), lambda: net.to("cuda:1", ag.float32), lambda: net.cuda()):
        with pytest.raises(RuntimeError, match="'cuda(:1)?' is not available.*available devices are: cpu"):
            call()
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):  # a typo, with torch's message
        net.to("gpu")
    with pytest.raises(TypeError, match="floating"):
        net.to(ag.int64)


def test_softmax_without_dim_warns_and_picks_torchs_dimension():
    x = ag.randn(3, 4)
    with pytest.warns(UserWarning, match="dim"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.data.sum(1), 1.0, rtol=1e-6)


def test_parameter_behaves_as_a_leaf_everywhere():
    import optim

    lin = nn.Linear(3, 2)
    x = ag.randn(4, 3)
    loss = (lin(x) ** 2).sum()
    g = ag.Graph(loss)
    assert {id(lin.weight), id(lin.bias)} <= {id(n) for n in g.leaves}
    gw, gb = ag.grad(loss, [lin.weight, lin.bias], retain_graph=True)
    seen = []
    lin.weight.register_hook(lambda grad: seen.append(grad.shape))
    loss.backward()
    assert seen == [(2, 3)]
    np.testing.assert_allclose(lin.weight.grad.data, gw.data, rtol=1e-6)
    np.testing.assert_allclose(lin.bias.grad.data, gb.data, rtol=1e-6)
    for t in (lin.weight.clone(), lin.weight.detach(), lin.weight[0], lin.weight.T, lin.weight * 1):
        assert type(t) is ag.Tensor
    before = lin.weight.data.copy()
    optim.SGD(lin.parameters(), lr=0.1).step()
    np.testing.assert_allclose(lin.weight.data, before - 0.1 * gw.data, rtol=1e-6)
    # modifying a parameter in place after it was used makes that backward refuse (version counter)
    loss2 = (lin(x) ** 2).sum()
    with ag.no_grad():
        lin.weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        loss2.backward()
    with pytest.raises(RuntimeError, match="leaf"):
        lin.weight.add_(1.0)  # outside no_grad
