"""Porting from PyTorch (API.md, "Devices, interop and porting"): devices, ag.autograd, is_tensor,
inference_mode, Generator and generator=, backward(inputs=), DLPack and numpy's protocols, and
grad_fn.next_functions, each against what torch does."""
import numpy as np
import pytest
import torch

import autograd as ag
import nn
import nn.functional as F
from nn.data import DataLoader, TensorDataset, default_collate

# -- devices --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda:1",), ("cuda", 2), ("meta",)])
def test_device_objects_read_and_print_as_torch_s(args):
    ours, theirs = ag.device(*args), torch.device(*args)
    assert (ours.type, ours.index, str(ours), repr(ours)) == (theirs.type, theirs.index, str(theirs), repr(theirs))
    assert ours == ag.device(str(theirs)) and hash(ours) == hash(ag.device(str(theirs)))


@pytest.mark.parametrize("bad", ["tpu", "gpu:0", "cpu:x"])
def test_unknown_device_strings_are_errors(bad):
    with pytest.raises(RuntimeError) as theirs:
        torch.device(bad)
    with pytest.raises(RuntimeError) as ours:
        ag.device(bad)
    assert str(ours.value).split()[0] == str(theirs.value).split()[0]  # "Expected ..." / "Invalid ..."


def test_tensors_live_on_the_cpu_and_other_devices_are_refused_by_name():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert x.device == ag.device("cpu") and str(x.device) == str(torch.zeros(1).device)
    assert x.cpu() is x and x.to("cpu") is x and x.to(ag.device("cpu")) is x and not x.is_cuda and x.is_cpu
    y = x.to("cpu", ag.float64)
    assert y.dtype == np.float64 and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and x.grad.dtype == np.float32  # (the cast is recorded)
    assert x.to(ag.zeros(1, dtype=ag.float64)).dtype == np.float64  # to(other): other's dtype
    c = x.to(copy=True)
    assert c is not x and c.tolist() == x.tolist() and c.grad_fn is not None
    for call in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: x.to(device="cuda:0"), lambda: ag.zeros(2, device="mps"),
                 lambda: ag.randn(2, device="cuda"), lambda: ag.tensor([1], device="cuda"), lambda: ag.Generator("cuda")):
        with pytest.raises(RuntimeError, match="is not available: .*the available devices are: cpu"):
            call()
    for make in (lambda d: ag.zeros(2, device=d), lambda d: ag.ones_like(x, device=d), lambda d: ag.arange(3, device=d),
                 lambda d: ag.full((2,), 1.0, device=d), lambda d: ag.eye(2, device=d), lambda d: ag.rand(2, device=d),
                 lambda d: ag.linspace(0, 1, 3, device=d), lambda d: ag.tensor([1.0], device=d)):
        assert make("cpu").device == ag.device("cpu") and make(ag.device("cpu:0")).device == ag.device("cpu")
    with pytest.raises(TypeError, match="unexpected keyword argument 'layout'"):
        x.to(layout="strided")
    with pytest.raises(RuntimeError, match="must be a cuda device"):  # (it returned None)
        x.cuda("cpu")


# -- ag.autograd, is_tensor, inference_mode ------------------------------------------------------


def test_ag_autograd_has_torch_autograd_s_names_and_they_are_ag_s_own():
    for name in ("grad", "backward", "Function", "functional", "forward_ad", "gradcheck", "gradgradcheck",
                 "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "detect_anomaly"):
        assert hasattr(torch.autograd, name) and hasattr(ag.autograd, name), name
    assert ag.autograd.grad is ag.grad and ag.autograd.functional is ag.functional
    assert ag.autograd.forward_ad is ag.forward_ad and ag.autograd.Function is ag.Function
    assert ag.is_tensor(ag.zeros(1)) and not ag.is_tensor(np.zeros(1)) and not ag.is_tensor(1.0)


def test_inference_mode_records_nothing_in_every_form():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.inference_mode():
        assert ag.is_inference_mode_enabled() and not ag.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert not ag.is_inference_mode_enabled() and (x * 2).requires_grad
    with ag.inference_mode(False):
        assert (x * 2).requires_grad and not ag.is_inference_mode_enabled()

    @ag.inference_mode
    def bare(t):
        return (t * 2).requires_grad

    @ag.inference_mode()
    def called(t):
        return (t * 2).requires_grad

    @ag.no_grad
    def bare_no_grad(t):
        return (t * 2).requires_grad

    assert not bare(x) and not called(x) and not bare_no_grad(x) and (x * 2).requires_grad


# -- backward(inputs=) -----------------------------------------------------------------------------


def _graph(lib, requires_grad=True):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=requires_grad)
    w = lib.tensor([0.5, 4.0, -1.0], requires_grad=requires_grad)
    h = x * w
    return x, w, h, (h * h + x).sum()


@pytest.mark.parametrize("pick", [lambda x, w, h: [w], lambda x, w, h: w, lambda x, w, h: [h, x],
                                  lambda x, w, h: (x, w)])
def test_backward_inputs_fills_only_those_gradients_as_torch(pick):
    ours, theirs = _graph(ag), _graph(torch)
    chosen_ours, chosen_theirs = pick(*ours[:3]), pick(*theirs[:3])
    ours[3].backward(inputs=chosen_ours)
    theirs[3].backward(inputs=chosen_theirs)
    for a, b in zip(ours[:3], theirs[:3]):
        assert (a.grad is None) == (b.grad is None)
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-6)


def test_autograd_backward_with_several_roots_and_their_gradients():
    ours, theirs = [], []
    for lib, out in ((ag, ours), (torch, theirs)):
        x = lib.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
        y = lib.tensor([0.5, -0.5], requires_grad=True)
        roots = [(x * y).sum(1), (x ** 2).sum()]
        lib.autograd.backward(roots, [lib.tensor([1.0, -2.0]), None])
        lib.autograd.backward([(x * y).sum()], inputs=[y])  # adds to y.grad only
        out += [x.grad, y.grad]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-6)
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="'inputs' argument to backward\\(\\) cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward(inputs=[ag.tensor([1.0])])


# -- generators --------------------------------------------------------------------------------------


def test_generators_reproduce_their_draws_and_leave_the_default_one_alone():
    g = ag.Generator()
    assert g.manual_seed(7) is g and g.initial_seed() == 7 and g.device == ag.device("cpu")
    first = ag.randn(5, generator=g).tolist()
    state = g.get_state()
    second = ag.randn(5, generator=g).tolist()
    assert first != second and ag.randn(5, generator=ag.Generator().manual_seed(7)).tolist() == first
    g.set_state(state)
    assert ag.randn(5, generator=g).tolist() == second
    assert ag.manual_seed(3) is ag.default_generator and ag.initial_seed() == 3
    expected = ag.rand(4).tolist()
    ag.manual_seed(3)
    ag.rand(4, generator=g), ag.randint(0, 9, (3,), generator=g), ag.randperm(5, generator=g)
    assert ag.rand(4).tolist() == expected  # the default generator did not move
    assert ag.Generator().manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    with pytest.raises(TypeError, match="ag.Generator"):
        ag.rand(2, generator=np.random.default_rng(0))


RANDOM_CALLS = {
    "rand": lambda g: ag.rand(3, 2, generator=g), "randn": lambda g: ag.randn(4, generator=g),
    "randint": lambda g: ag.randint(0, 100, (6,), generator=g), "randperm": lambda g: ag.randperm(9, generator=g),
    "rand_like": lambda g: ag.rand_like(ag.zeros(3), generator=g),
    "randn_like": lambda g: ag.randn_like(ag.zeros(3), generator=g),
    "randint_like": lambda g: ag.randint_like(ag.zeros(3, dtype=ag.int64), 10, generator=g),
    "dropout": lambda g: F.dropout(ag.ones(50), 0.5, generator=g),
    "dropout2d": lambda g: F.dropout2d(ag.ones(2, 8, 3, 3), 0.5, generator=g),
    "Dropout": lambda g: nn.Dropout(0.5, generator=g)(ag.ones(50)),
    "shuffle": lambda g: ag.tensor(np.concatenate([b.data for b in DataLoader(TensorDataset(ag.arange(20)),
                                                                               4, shuffle=True, generator=g)])),
}
RANDOM_CALLS.update({
    name: (lambda f: lambda g: f(ag.zeros(6, 5), generator=g))(getattr(nn.init, name))
    for name in ("uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                 "orthogonal_", "trunc_normal_")})


@pytest.mark.parametrize("name", sorted(RANDOM_CALLS))
def test_every_random_function_takes_a_generator(name):
    call = RANDOM_CALLS[name]
    ag.manual_seed(11)
    a = call(ag.Generator().manual_seed(5)).tolist()
    b = call(ag.Generator().manual_seed(5)).tolist()
    c = call(ag.Generator().manual_seed(6)).tolist()
    assert a == b and a != c
    ag.manual_seed(11)
    assert call(None).tolist() != a  # (the default generator draws otherwise)


def test_checkpoint_replays_the_draws_of_a_caller_s_generator():
    g = ag.Generator().manual_seed(0)
    w = ag.randn(8, 8, requires_grad=True)
    x = ag.randn(4, 8)

    def block(t):
        return F.dropout((t @ w).tanh(), 0.5, generator=g) @ w

    state = g.get_state()
    plain = ag.grad(block(x).square().sum(), w)[0]
    g.set_state(state)
    checkpointed = ag.grad(ag.checkpoint(block, x).square().sum(), w)[0]
    np.testing.assert_array_equal(checkpointed.data, plain.data)


# -- DataLoader: collate_fn, num_workers ------------------------------------------------------------


class Records:
    def __len__(self):
        return 11

    def __getitem__(self, i):
        if i == 99:
            raise IndexError(i)
        return {"x": np.full(3, i, np.float32), "label": i % 3, "name": f"s{i}", "pair": (float(i), i)}


def test_default_collate_batches_as_torch_s():
    samples = [Records()[i] for i in range(4)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert set(ours) == set(theirs) and ours["name"] == theirs["name"]
    for key in ("x", "label"):
        np.testing.assert_array_equal(ours[key].data, theirs[key].numpy())
        assert ours[key].dtype == theirs[key].numpy().dtype
    for a, b in zip(ours["pair"], theirs["pair"]):
        np.testing.assert_array_equal(a.data, b.numpy())
        assert a.dtype == b.numpy().dtype


@pytest.mark.parametrize("workers", [1, 3])
def test_worker_threads_give_the_same_batches_in_order(workers):
    started = []
    plain = list(DataLoader(Records(), batch_size=3, shuffle=True, seed=1))
    loader = DataLoader(Records(), batch_size=3, shuffle=True, seed=1, num_workers=workers,
                        worker_init_fn=started.append, prefetch_factor=1)
    threaded = list(loader)
    assert len(threaded) == len(plain) == 4
    for a, b in zip(threaded, plain):
        np.testing.assert_array_equal(a["x"].data, b["x"].data)
        assert a["name"] == b["name"]
    assert sorted(started) == list(range(len(started))) and 1 <= len(started) <= workers
    first = next(iter(DataLoader(Records(), batch_size=2, num_workers=2)))  # leaving early is fine
    assert first["name"] == ["s0", "s1"]
    joined = list(DataLoader(Records(), batch_size=4, collate_fn=lambda s: "+".join(r["name"] for r in s),
                             num_workers=2))
    assert joined == ["s0+s1+s2+s3", "s4+s5+s6+s7", "s8+s9+s10"]


def test_data_loader_errors():
    class Broken(Records):
        def __getitem__(self, i):
            raise KeyError(f"sample {i} is missing")

    with pytest.raises(KeyError, match="sample 0 is missing"):  # a worker's error reaches the loop
        list(DataLoader(Broken(), batch_size=2, num_workers=2))
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(Records(), num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(Records(), prefetch_factor=2)
    with pytest.raises(TypeError, match="ag.Generator"):
        DataLoader(Records(), shuffle=True, generator=np.random.default_rng(0))


# -- DLPack and numpy ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "bool", "float16", "uint8"])
def test_dlpack_shares_memory_both_ways_with_torch_and_numpy(dtype):
    x = ag.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    t = torch.from_dlpack(x)
    assert t.__dlpack_device__() == x.__dlpack_device__() and t.numpy().dtype == np.dtype(dtype)
    assert np.shares_memory(t.numpy(), x.data) and np.shares_memory(np.from_dlpack(x), x.data)
    back = ag.from_dlpack(torch.arange(4).to(getattr(torch, dtype)).reshape(2, 2).t())
    assert back.dtype == np.dtype(dtype) and back.tolist() == torch.arange(4).reshape(2, 2).t().to(
        getattr(torch, dtype)).tolist()
    source = torch.zeros(3)
    ag.from_dlpack(source).data[1] = 5  # writes show in the other
    assert source.tolist() == [0.0, 5.0, 0.0]


def test_dlpack_and_numpy_refuse_tensors_that_require_grad_as_torch_does():
    ours, theirs = ag.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    for call in (np.asarray, np.exp, torch.from_dlpack):
        with pytest.raises((RuntimeError, BufferError)) as expected:
            call(theirs)
        with pytest.raises(expected.type) as got:
            call(ours)
        assert str(got.value).split(".")[0] == str(expected.value).split(".")[0]
    with pytest.raises(BufferError, match="require gradient"):
        ag.from_dlpack(theirs)
    assert np.asarray(ours.detach()).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="__dlpack__"):
        ag.from_dlpack([1, 2])


@pytest.mark.parametrize("call", [lambda t: np.exp(t), lambda t: np.sqrt(t), lambda t: np.add.reduce(t),
                                  lambda t: np.maximum(t, 2), lambda t: np.add.accumulate(t), lambda t: np.sin(t)])
@pytest.mark.parametrize("values", [[1.0, 4.0, 9.0], [1, 4, 9]])
def test_numpy_ufuncs_on_a_tensor_give_what_torch_gives(call, values):
    ours, theirs = call(ag.tensor(values)), call(torch.tensor(values))
    assert isinstance(ours, ag.Tensor) and isinstance(theirs, torch.Tensor)
    assert ours.dtype == theirs.numpy().dtype and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_numpy_operators_with_a_tensor_are_recorded_and_asarray_shares_memory():
    w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = np.array([2.0, -1.0, 0.5], dtype=np.float32)
    y = a * w + np.float32(1) - a / (w + 1)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(w.grad.data, a + a / (w.data + 1) ** 2, rtol=1e-6)
    assert (a < w).tolist() == (a < w.data).tolist() and (a >= w).tolist() == (a >= w.data).tolist()
    x = ag.tensor([1.0, 2.0])
    assert np.shares_memory(np.asarray(x), x.data) and not np.shares_memory(np.array(x), x.data)
    out = np.empty(2, np.float32)
    assert np.exp(x, out=out) is out and np.allclose(out, np.exp([1.0, 2.0]))


# -- grad_fn.next_functions ----------------------------------------------------------------------


def _walk(fn, depth=0):
    if fn is None:
        return ["None"]
    rows = [fn.name() if hasattr(fn, "name") else type(fn).__name__]
    for nxt, index in fn.next_functions:
        assert index == 0
        rows += ["  " + r for r in _walk(nxt, depth + 1)]
    return rows


def test_next_functions_show_leaves_as_accumulate_grad_like_torch():
    graphs = []
    for lib in (ag, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        c = lib.tensor([3.0, 4.0])
        y = ((x * c).exp() + x).sum()
        graphs.append((x, y))
    (x, y), (tx, ty) = graphs
    ours = [r.strip().rstrip("0123456789") for r in _walk(y.grad_fn)]
    theirs = [r.strip().rstrip("0123456789").replace("torch::autograd::", "") for r in _walk(ty.grad_fn)]
    assert ours == theirs
    leaf = y.grad_fn.next_functions[0][0].next_functions[1][0]
    assert leaf.name() == "AccumulateGrad" and leaf.variable is x and leaf.next_functions == ()
