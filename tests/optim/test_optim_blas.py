"""SGD's update on BLAS (optim/_blas.py): axpy and axpby (scale_add) from numpy's own OpenBLAS.

With BLAS, SGD's float32 and float64 steps give torch.optim.SGD's numbers to the bit (both compute
θ − η g, g + λθ and b + (1 − τ) g as one fused multiply-add, and μ b + g as two roundings), on one
thread and on the chunked, threaded pass, wherever a chunk ends. Without it (no OpenBLAS found,
CHAINRULE_OPTIM_BLAS=0, or kernels that round otherwise: the load-time probe) the numpy formulas
run, two roundings each, and agree with torch to float rounding. The tests run on any host: where
the probe finds kernels that do not round as torch's, they check the numpy formulas instead.
"""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import autograd as ag
import optim
import optim._blas as blas
import optim._chunked as chunked
import optim._scratch as scratch_mod

SGD_CASES = [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1, maximize=True),
    dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.05),
    dict(lr=0.02, weight_decay=0.2, maximize=True),
]
SHAPES = [(37, 29), (301,), (5,), ()]


def _numpy_has_openblas() -> bool:
    config = getattr(np, "__config__", None)
    blas_info = getattr(config, "CONFIG", {}).get("Build Dependencies", {}).get("blas", {})
    return "openblas" in str(blas_info.get("name", "")).lower()


def _probe_passed(flag, dtype) -> bool:
    """Whether this host's kernels passed one of the load-time probes (``fused``: axpy's;
    ``torch_rounding``: scale_add's) for ``dtype``."""
    lib = blas._library
    return lib is not None and getattr(lib, flag)[np.dtype(dtype)]


def _rounds_as_torch(dtype) -> bool:
    """Whether this host's OpenBLAS kernels passed the load-time probe for ``dtype`` (every x86-64
    kernel with FMA we tried does: SkylakeX, SapphireRapids, Haswell, Zen)."""
    lib = blas._library
    return lib is not None and lib.fused[np.dtype(dtype)] and lib.torch_rounding[np.dtype(dtype)]


def _steps(options, dtype=np.float32, steps=5, shapes=SHAPES, seed=0):
    """Ours and torch.optim.SGD (foreach) after ``steps`` steps on the same random gradients."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    ours = [ag.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    opt, topt = optim.SGD(ours, **options), torch.optim.SGD(theirs, foreach=True, **options)
    for _ in range(steps):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad, q.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    return [p.data for p in ours], [q.detach().numpy() for q in theirs]


def test_blas_is_found_where_numpy_uses_openblas():
    """numpy's wheels bundle OpenBLAS: the update must find it (else SGD silently loses its speed)."""
    assert _numpy_has_openblas(), "make test installs numpy's wheels, which bundle OpenBLAS"
    assert blas.available()
    assert blas._library.set_local is not None  # (OpenBLAS 0.3.27 or later)


@pytest.mark.parametrize("options", SGD_CASES, ids=[str(i) for i in range(len(SGD_CASES))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_on_blas_equals_torch_bit_for_bit(options, dtype):
    ours, theirs = _steps(options, dtype)
    for a, b in zip(ours, theirs):
        if _rounds_as_torch(dtype):
            np.testing.assert_array_equal(a, b, strict=True)
        else:  # (the numpy formulas: test_sgd_without_blas_uses_the_numpy_formulas)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("options", SGD_CASES[1:4], ids=["momentum", "dampening", "nesterov"])
def test_sgd_chunked_on_threads_equals_torch_bit_for_bit(options, monkeypatch):
    """Large parameters, cut into tasks (made small here) on three threads."""
    monkeypatch.setenv(chunked.THREADS_ENV, "3")
    monkeypatch.setattr(scratch_mod, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(optim.SGD, "_task_bytes", 8192)
    monkeypatch.setattr(chunked, "PARALLEL_MIN", 0)
    ours, theirs = _steps(options, shapes=[(150, 70), (5003,), (3,)])
    for a, b in zip(ours, theirs):
        if _rounds_as_torch(np.float32):
            np.testing.assert_array_equal(a, b, strict=True)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("options", SGD_CASES, ids=[str(i) for i in range(len(SGD_CASES))])
@pytest.mark.parametrize("why", ["no library", "kernels that round otherwise"])
def test_sgd_without_blas_uses_the_numpy_formulas(options, why, monkeypatch):
    """The numpy path: torch's numbers to float32 rounding, and exactly the two-rounding formulas."""
    if why == "no library" or blas._library is None:
        monkeypatch.setattr(blas, "_library", None)
    else:  # (as the probe leaves a library whose kernels do not fuse)
        monkeypatch.setitem(blas._library.fused, np.dtype(np.float32), False)
        monkeypatch.setitem(blas._library.torch_rounding, np.dtype(np.float32), False)
    ours, theirs = _steps(options, steps=1)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # one step from θ with gradient g, no state: θ − η (g' ) with g' = (±g) + λθ, rounded twice each
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((37, 29)).astype(np.float32)
    g = rng.standard_normal((37, 29)).astype(np.float32)
    p = ag.tensor(theta.copy(), requires_grad=True)
    p.grad = ag.tensor(g)
    optim.SGD([p], **options).step()
    lr, wd = np.float32(options["lr"]), np.float32(options.get("weight_decay", 0))
    d = (-g if options.get("maximize") else g) + wd * theta if wd else (-g if options.get("maximize") else g)
    if options.get("nesterov"):
        d = d + np.float32(options["momentum"]) * d
    np.testing.assert_array_equal(p.data, theta - d * lr, strict=True)


def test_blas_environment_switch_turns_it_off():
    code = "import optim._blas as b; print(b.available())"
    env = dict(os.environ, **{blas.ENV: "0"})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_axpy_and_scale_add_against_torch():
    """Every length (whole blocks, a padded last block, both): axpy is torch's add_ with alpha and
    scale_add its mul_ then add_, to the bit, where the probe passed."""
    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.float64):
        for n in (0, 1, 7, 16, 33, 63, 64, 65, 1000, 100_003):
            x, y = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
            out = y.copy()
            ran = blas.axpy(-0.3, x, out)
            assert ran == _probe_passed("fused", dtype)
            expected = torch.tensor(y).add_(torch.tensor(x), alpha=-0.3).numpy()
            if ran:
                np.testing.assert_array_equal(out, expected)
            else:
                np.testing.assert_array_equal(out, y)  # (nothing done)
            out = y.copy()
            ran = blas.scale_add(0.9, out, x)
            assert ran == _probe_passed("torch_rounding", dtype)
            if ran:
                np.testing.assert_array_equal(out, torch.tensor(y).mul_(0.9).add_(torch.tensor(x)).numpy())


def test_the_probe_tells_fused_kernels_from_others():
    """What the load-time probe reads: a = 1 + 2^-13, a·a − 1 is 2^-12 + 2^-26 fused, 2^-12 not."""
    a = np.float32(1 + 2.0**-13)
    unfused = np.full(64, a, np.float32) * a - np.float32(1)
    assert (unfused == np.float32(2.0**-12)).all()
    fused = (np.float64(a) * np.float64(a) - 1).astype(np.float32)
    assert fused == np.float32(2.0**-12 + 2.0**-26)
    assert blas._library is not None
    assert blas._library.fused[np.dtype(np.float32)] == bool((_probe_axpy(a) == fused).all())


def _probe_axpy(a):
    x, y = np.full(64, a, np.float32), np.full(64, -1.0, np.float32)
    blas._library.axpy[np.dtype(np.float32)](64, float(a), blas._address(x), 1, blas._address(y), 1)
    return y


def test_arrays_blas_cannot_take_are_left_to_numpy():
    x, y = np.ones(10, np.float32), np.ones(10, np.float32)
    readonly = np.ones(10, np.float32)
    readonly.flags.writeable = False
    for a, b in [
        (np.ones(20, np.float32)[::2], y),  # not contiguous
        (x, np.ones(20, np.float32)[::2]),
        (np.ones(10, np.float16), np.ones(10, np.float16)),  # no half-precision BLAS
        (np.ones(10, np.int32), np.ones(10, np.int32)),
        (x, np.ones(10, np.float64)),  # two dtypes
        (x, np.ones(11, np.float32)),  # two shapes
        (x, readonly),  # nothing to write into
    ]:
        before = b.copy()
        assert not blas.axpy(2.0, a, b) and not blas.scale_add(3.0, b, a)
        np.testing.assert_array_equal(b, before)
    assert blas.axpy(2.0, readonly, y) == _probe_passed("fused", np.float32)  # (read-only x is fine)


def _count(n):
    """Set OpenBLAS's thread count (the one ``one_thread`` sets) to n; return the count before."""
    if not blas.available() or blas._library.set_local is None:
        pytest.fail("no OpenBLAS with openblas_set_num_threads_local found")
    return blas._library.set_local(n)


def test_the_threaded_pass_runs_blas_on_its_own_threads_and_restores_the_count(monkeypatch):
    """Inside every task of a pass on threads OpenBLAS's count is 1 (the tasks are on threads
    already); afterwards it is what it was, for the products of the next forward pass."""
    before = _count(3)
    try:
        monkeypatch.setenv(chunked.THREADS_ENV, "2")
        monkeypatch.setattr(chunked, "PARALLEL_MIN", 0)
        monkeypatch.setattr(scratch_mod, "CHUNK_BYTES", 2048)
        monkeypatch.setattr(optim.SGD, "_task_bytes", 4096)
        p = ag.tensor(np.ones(50_000, np.float32), requires_grad=True)
        p.grad = ag.tensor(np.ones(50_000, np.float32))
        opt = optim.SGD([p], lr=0.1, momentum=0.9)
        opt.step()  # (the first step makes the momentum buffer: the array goes whole)
        counts, sizes = [], []
        update = opt._update

        def recording(group, arrays, grads, state):
            counts.append(_count(1))
            sizes.extend(a.nbytes for a in arrays)
            update(group, arrays, grads, state)

        opt._update = recording
        for _ in range(3):
            opt.step()
            assert _count(3) == 3
        assert set(counts) == {1} and max(sizes) <= 4096 and sum(sizes) == 3 * p.data.nbytes
    finally:
        _count(before)


def test_overlapping_passes_restore_the_count_once_the_last_ends():
    before = _count(3)
    try:
        first, second = blas.one_thread(), blas.one_thread()
        first.__enter__()
        assert _count(1) == 1
        done = threading.Event()

        def other():
            second.__enter__()
            first.__exit__(None, None, None)  # (the first pass ends while the second runs)
            assert _count(1) == 1
            second.__exit__(None, None, None)
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert done.is_set() and _count(3) == 3
    finally:
        _count(before)
