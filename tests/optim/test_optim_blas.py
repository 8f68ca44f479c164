"""SGD's update on BLAS (optim/_blas.py): axpy and axpby (scale_add) from numpy's own OpenBLAS.

With BLAS, SGD's float32 and float64 steps give torch.optim.SGD's numbers to the bit (both compute
θ − η g, g + λθ and b + (1 − τ) g as one fused multiply-add, and μ b + g as two roundings), on one
thread and on the chunked, threaded pass, wherever a chunk ends. Without it (no OpenBLAS found,
CHAINRULE_OPTIM_BLAS=0, or kernels that round otherwise: the load-time probe) the numpy formulas
run, two roundings each, and agree with torch to float rounding. The tests run on any host: where
the probe finds kernels that do not round as torch's, they check the numpy formulas instead.
"""
import ctypes
import os
import subprocess
import sys
import threading
from fractions import Fraction

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
    """Whether this host's OpenBLAS kernels passed both probes for ``dtype`` (every x86-64 kernel
    with FMA we tried does: SkylakeX, SapphireRapids, Haswell, Zen)."""
    return _probe_passed("fused", dtype) and _probe_passed("torch_rounding", dtype)


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
    d = -g if options.get("maximize") else g
    if wd:
        d = d + wd * theta
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


class _FakeKernels:
    """Stand-ins for a library's axpy and axpby on the addresses the probe passes: ``fused`` rounds
    a·x + y once (computed exactly, in fractions), else a·x first; ``fused_axpby`` likewise rounds
    b·y + x once, else b·y first (torch's order)."""

    def __init__(self, fused, fused_axpby):
        self.fused, self.torch_rounding = {}, {}
        self.axpy = {np.dtype(d): self._axpy(np.dtype(d), fused) for d in (np.float32, np.float64)}
        self.axpby = {np.dtype(d): self._axpby(np.dtype(d), fused_axpby) for d in (np.float32, np.float64)}

    @staticmethod
    def _arrays(dtype, n, *addresses):
        ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_double
        return [np.ctypeslib.as_array((ctype * n).from_address(a)) for a in addresses]

    @staticmethod
    def _fma(dtype, s, u, v):
        """round(s·u + v) to ``dtype``, elementwise, rounded once."""
        exact = [Fraction(float(dtype.type(s))) * Fraction(float(ui)) + Fraction(float(vi)) for ui, vi in zip(u, v)]
        if dtype == np.float32:  # (a float64 holds the probe's sums exactly: one rounding, to float32)
            return np.array([float(e) for e in exact]).astype(dtype)
        return np.array([float(e) for e in exact], dtype)  # (float() rounds a fraction correctly)

    def _axpy(self, dtype, fused):
        def axpy(n, a, xp, incx, yp, incy):
            x, y = self._arrays(dtype, n, xp, yp)
            y[:] = self._fma(dtype, a, x, y) if fused else dtype.type(a) * x + y

        return axpy

    def _axpby(self, dtype, fused):
        def axpby(n, a, xp, incx, b, yp, incy):
            x, y = self._arrays(dtype, n, xp, yp)
            y[:] = self._fma(dtype, b, y, x) if fused else dtype.type(b) * y + x

        return axpby


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("fused_axpby", [True, False])
def test_the_probe_tells_fused_kernels_from_others(fused, fused_axpby):
    """The load-time probe's verdicts on kernels that do and do not fuse (a = 1 + 2^-13: a·a − 1
    is 2^-12 + 2^-26 fused, 2^-12 rounded first): axpy is used only where it fuses, scale_add only
    where it rounds b·y first, as torch's mul_ then add_."""
    lib = blas._probe(_FakeKernels(fused, fused_axpby))
    for dtype in (np.float32, np.float64):
        assert lib.fused[np.dtype(dtype)] is fused
        assert lib.torch_rounding[np.dtype(dtype)] is (not fused_axpby)


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
    # a numpy scalar (the sum of two 0-d arrays is one) has no memory of its own: the address BLAS
    # would get is a temporary's, freed before the call (SGD read garbage through it, now and then)
    y0 = np.ones((), np.float64)
    scalar = np.ones((), np.float64) + np.ones((), np.float64)
    assert scalar.__class__ is np.float64
    assert not blas.usable(scalar, y0) and not blas.scale_add(0.9, y0, scalar) and not blas.axpy(2.0, scalar, y0)
    assert y0 == 1.0


def test_a_0d_parameter_with_a_gradient_of_another_dtype_follows_the_formula_on_threads(monkeypatch):
    """SGD's gradient g + λθ of a 0-d float32 parameter and a float64 gradient is a numpy scalar;
    on the chunked pass, other tasks allocating on other threads overwrote the temporary its
    address pointed to (errors of 1-25%). Many runs, each against the formula in float64 step by
    step (to float32's precision: the rule rounds its float64 terms in its own order)."""
    monkeypatch.setenv(chunked.THREADS_ENV, "3")
    monkeypatch.setattr(scratch_mod, "CHUNK_BYTES", 64)
    monkeypatch.setattr(chunked, "PARALLEL_MIN", 0)
    lr, mu, wd = 0.03, 0.9, 0.05
    for run in range(40):
        rng = np.random.default_rng(run)
        others = [ag.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True) for n in (301, 5, 203)]
        p = ag.tensor(np.float32(rng.standard_normal()), requires_grad=True)
        opt = optim.SGD([*others, p], lr=lr, momentum=mu, nesterov=True, weight_decay=wd, maximize=True)
        opt._task_bytes = 64
        theta, buf = np.float32(p.data), None
        for _ in range(6):
            for q in others:
                q.grad = ag.tensor(rng.standard_normal(q.shape))
            grad = rng.standard_normal()
            p.grad = ag.tensor(np.array(grad))  # (float64: another dtype than the parameter's)
            opt.step()
            g = -grad + wd * np.float64(theta)
            buf = g if buf is None else mu * buf + g
            theta = np.float32(theta - lr * (g + mu * buf))
            np.testing.assert_allclose(p.data, theta, rtol=1e-6, err_msg=f"run {run}")


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


@pytest.mark.parametrize("size, inside", [(50_000, 1), (5_000, 3)])
def test_a_step_too_small_for_chunks_runs_large_blas_calls_on_the_calling_thread(size, inside):
    """A step that is not cut into chunks calls the rule once; where an array is large enough for
    OpenBLAS to spread its axpy over threads (over 10,000 elements), the call runs with OpenBLAS's
    count at 1 (its threads would leave the rule's numpy passes reading what another core wrote),
    and the count is back afterwards. Smaller arrays leave the count alone (no call to set it)."""
    before = _count(3)
    try:
        p = ag.tensor(np.ones(size, np.float32), requires_grad=True)
        p.grad = ag.tensor(np.full(size, 0.5, np.float32))
        opt = optim.SGD([p], lr=0.1, momentum=0.9)
        counts = []
        update = opt._update

        def recording(group, arrays, grads, state):
            count = _count(2)  # (the count now, put back at once)
            _count(count)
            counts.append(count)
            update(group, arrays, grads, state)

        opt._update = recording
        for _ in range(2):
            opt.step()
            assert _count(3) == 3
        assert counts == [inside, inside]
        # torch's SGD: bit for bit where the kernels round as torch's (the same updates, on one
        # thread or many), else the numpy formulas' values
        q = torch.ones(size, dtype=torch.float32, requires_grad=True)
        torch_opt = torch.optim.SGD([q], lr=0.1, momentum=0.9, foreach=True)
        for _ in range(2):
            q.grad = torch.full((size,), 0.5, dtype=torch.float32)
            torch_opt.step()
        if _rounds_as_torch(np.float32):
            np.testing.assert_array_equal(p.data, q.detach().numpy())
        else:
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6)
    finally:
        _count(before)
