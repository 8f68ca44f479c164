"""The chunked, threaded pass (optim/_chunked.py, with the rules' scratch arrays, optim/_scratch.py)
gives bit for bit the plain formula's result: the rule called once per parameter on its whole
arrays (the path every step took before, and still takes for small steps).

Bit for bit, not to float32 rounding: the rules are elementwise, a chunk sees the same operations
on the same numbers in the same order as the whole array does, and each chunk is given its own copy
of the scalar state (step count, NAdam's μ product), from which every chunk computes the same new
value. The scratch arrays change where temporaries live, not what is computed: the rewritten
in-place rules do the operations of the former expressions one for one (λθ + ∇ for ∇ + λθ, and
λθ − ∇ for (−∇) + λθ, the same numbers in IEEE arithmetic).

Chunks are made small here (``CHUNK_BYTES`` of a few hundred bytes) so that the parameters (odd
sizes, several chunks each) are cut into many, and threads are used from the first element on.
"""
import copy
import threading

import numpy as np
import pytest

import autograd as ag
import optim
import optim._chunked as chunked
import optim._scratch as scratch_mod

# (a matrix of several chunks and an odd size, a vector just over one chunk, a small one, a 0-d one,
# and one of float64 over several chunks)
SHAPES = [((37, 29), np.float32), ((301,), np.float32), ((5,), np.float32), ((), np.float32), ((203,), np.float64)]

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.02, weight_decay=0.2, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, eps=1e-6)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.3, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.0)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.02, amsgrad=True, weight_decay=0.5, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.03, decoupled_weight_decay=True, weight_decay=0.2)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6,
                     maximize=True)),
    # not among issue 20's six, but elementwise too: they go through the same pass
    ("Adadelta", dict(lr=0.5, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, weight_decay=0.2, maximize=True)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _params(seed=0, non_contiguous=False):
    rng = np.random.default_rng(seed)
    params = [ag.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for shape, dtype in SHAPES]
    if non_contiguous:  # a parameter viewing every other column of a bigger array, a transposed one
        params[0].data = rng.standard_normal((37, 58)).astype(np.float32)[:, ::2]
        params.append(ag.tensor(np.zeros((13, 40), np.float32), requires_grad=True))
        params[-1].data = rng.standard_normal((40, 13)).astype(np.float32).T
    return params


def _train(name, options, *, chunk_bytes, threads, steps=6, non_contiguous=False, skip_first=None, grad64=False):
    """The parameters and the state dict after ``steps`` steps on a fixed loss, with chunks of
    ``chunk_bytes`` (None: never cut, the plain formula) on ``threads`` threads."""
    old = scratch_mod.CHUNK_BYTES, chunked.PARALLEL_MIN
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(chunked.THREADS_ENV, str(threads))
        scratch_mod.CHUNK_BYTES = 1 << 40 if chunk_bytes is None else chunk_bytes
        chunked.PARALLEL_MIN = 0
        try:
            params = _params(non_contiguous=non_contiguous)
            opt = getattr(optim, name)(params, **options)
            if opt._task_bytes is not None and chunk_bytes is not None:
                opt._task_bytes = chunk_bytes  # (SGD's tasks on BLAS: as small as the chunks here)
            rng = np.random.default_rng(1)
            for step in range(steps):
                for k, p in enumerate(params):
                    if skip_first is not None and step == 0 and k == skip_first:
                        p.grad = None
                        continue
                    g = rng.standard_normal(p.shape).astype(np.float64 if grad64 else p.data.dtype) * (k + 1)
                    if non_contiguous and k == 0:
                        g = np.asfortranarray(g)  # (a gradient that is not C-contiguous either)
                    p.grad = ag.tensor(g)
                    if non_contiguous and k == 0:
                        p.grad.data = g
                opt.step()
        finally:
            scratch_mod.CHUNK_BYTES, chunked.PARALLEL_MIN = old
    return [p.data.copy() for p in params], opt.state_dict()


def _assert_same(a, b):
    (values_a, sd_a), (values_b, sd_b) = a, b
    for x, y in zip(values_a, values_b):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y, strict=True)
    assert sd_a["param_groups"] == sd_b["param_groups"]
    assert sd_a["state"].keys() == sd_b["state"].keys()
    for i, state in sd_a["state"].items():
        other = sd_b["state"][i]
        assert state.keys() == other.keys()
        for key, value in state.items():
            if isinstance(value, ag.Tensor):
                np.testing.assert_array_equal(value.data, other[key].data, strict=True)
            else:
                assert value == other[key] and type(value) is type(other[key]), (i, key)


@pytest.mark.parametrize("name,options", CASES, ids=IDS)
@pytest.mark.parametrize("threads", [1, 3])
def test_chunked_equals_plain_formula(name, options, threads):
    plain = _train(name, options, chunk_bytes=None, threads=1)
    _assert_same(_train(name, options, chunk_bytes=64, threads=threads), plain)
    _assert_same(_train(name, options, chunk_bytes=400, threads=threads), plain)


@pytest.mark.parametrize("name,options", [CASES[3], CASES[7], CASES[10], CASES[16], CASES[19]],
                         ids=["SGD", "RMSprop", "Adam", "NAdam", "Adagrad"])
def test_chunked_with_non_contiguous_parameters_and_a_late_parameter(name, options):
    """Arrays that cannot be cut into views go whole (still on the threads); a parameter without a
    gradient on the first step joins later with its own step count (SGD: its buffer made then);
    float64 gradients of float32 parameters (assigned by hand) are cut and computed as before."""
    for kw in (dict(non_contiguous=True), dict(skip_first=0), dict(skip_first=4), dict(grad64=True)):
        plain = _train(name, options, chunk_bytes=None, threads=1, **kw)
        _assert_same(_train(name, options, chunk_bytes=64, threads=3, **kw), plain)


def test_the_chunks_run_on_several_threads(monkeypatch):
    monkeypatch.setenv(chunked.THREADS_ENV, "3")
    monkeypatch.setattr(scratch_mod, "CHUNK_BYTES", 256)
    monkeypatch.setattr(chunked, "PARALLEL_MIN", 0)
    params = _params()
    for p in params:
        p.grad = ag.tensor(np.ones(p.shape, p.data.dtype))
    opt = optim.Adam(params)
    seen, sizes = set(), []
    barrier = threading.Barrier(3, timeout=10)
    update = opt._update

    def recording(group, arrays, grads, state):
        if threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            barrier.wait()  # (each thread waits for the other two: all three take tasks)
        sizes.extend(a.size for a in arrays)
        update(group, arrays, grads, state)

    opt._update = recording
    opt.step()
    assert len(seen) == 3
    assert max(sizes) <= 64 and sum(sizes) == sum(p.data.size for p in params)


def test_small_steps_make_one_call_in_the_calling_thread(monkeypatch):
    monkeypatch.setenv(chunked.THREADS_ENV, "4")
    params = [ag.tensor(np.ones((100, 100), np.float32), requires_grad=True)]  # 40 kB: under two chunks
    params[0].grad = ag.tensor(np.ones((100, 100), np.float32))
    opt = optim.Adam(params)
    calls = []
    update = opt._update
    opt._update = lambda *args: calls.append(threading.get_ident()) or update(*args)
    opt.step()
    assert calls == [threading.get_ident()]


def test_np_errstate_holds_in_the_threads(monkeypatch):
    monkeypatch.setenv(chunked.THREADS_ENV, "2")
    monkeypatch.setattr(scratch_mod, "CHUNK_BYTES", 256)
    monkeypatch.setattr(chunked, "PARALLEL_MIN", 0)
    p = ag.tensor(np.ones(1000, np.float32), requires_grad=True)
    p.grad = ag.tensor(np.full(1000, np.inf, np.float32))
    opt = optim.Adam([p])
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        opt.step()


def test_threads_from_the_environment_and_the_affinity(monkeypatch):
    import os

    monkeypatch.delenv(chunked.THREADS_ENV, raising=False)
    assert chunked.threads() == max(1, min(len(os.sched_getaffinity(0)), chunked.MAX_THREADS))
    monkeypatch.setenv(chunked.THREADS_ENV, "5")
    assert chunked.threads() == 5
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv(chunked.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=chunked.THREADS_ENV):
            chunked.threads()


def test_deepcopy_and_state_dict_after_chunked_steps():
    """The state of chunked parameters is the parameters' own buffers (no chunk escapes into it)."""
    values, sd = _train("Adam", dict(lr=0.05, amsgrad=True), chunk_bytes=64, threads=3)
    for i, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, ag.Tensor):
                assert value.data.shape == values[i].shape
    params = _params()
    opt = optim.Adam(params)
    for p in params:
        p.grad = ag.tensor(np.ones(p.shape, p.data.dtype))
    opt.step()
    twin = copy.deepcopy(opt)
    assert twin.state_dict()["state"].keys() == opt.state_dict()["state"].keys()


def test_adam_steps_a_lone_0d_parameter():
    """(The in-place rule once took numpy's scalar result of a 0-d subtraction for an array.)"""
    p = ag.tensor(np.float32(1.5), requires_grad=True)
    p.grad = ag.tensor(np.float32(0.5))
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    assert p.data.shape == () and np.isclose(p.data, 1.4)
