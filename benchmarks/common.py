"""Shared helpers for the benchmarks: data, timing, environment, output, finding our engine.

Trimmed from ../shared/bench/common.py (the anchor benchmarks' helpers). Nothing here depends on an
autodiff engine except use_chainrule(), which puts this checkout (or $CHAINRULE_PATH) first on
sys.path so that `import autograd` is ours and never HIPS autograd.
"""
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

# ----------------------------------------------------------------------------- data


def two_moons(n=100, noise=0.1, seed=1337):
    """Deterministic two-moons data (same construction as sklearn.datasets.make_moons).

    Returns X (n, 2) float64 and y (n,) float64 with labels in {-1, +1}, as micrograd's demo uses.
    """
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
    ])
    y = np.hstack([np.zeros(n_out), np.ones(n_in)])
    perm = rng.permutation(n)
    X, y = X[perm], y[perm]
    X = X + rng.normal(scale=noise, size=X.shape)
    return X, y * 2 - 1


# ----------------------------------------------------------------------------- timing


def now_ns():
    return time.perf_counter_ns()


def summarize(samples_s, scale=1e3):
    """min / p10 / median / p90 / max / mean of a list of seconds, multiplied by scale (1e3 = ms)."""
    xs = sorted(s * scale for s in samples_s)
    n = len(xs)

    def pct(q):
        return xs[min(n - 1, max(0, round(q * (n - 1))))]

    return {
        "n": n,
        "min": xs[0],
        "p10": pct(0.10),
        "median": statistics.median(xs),
        "p90": pct(0.90),
        "max": xs[-1],
        "mean": statistics.fmean(xs),
    }


# ----------------------------------------------------------------------------- environment


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            fields = dict(
                line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line
            )
        f = {k.strip(): v.strip() for k, v in fields.items()}
        return f"{f.get('model name')} (family {f.get('cpu family')}, model {f.get('model')})"
    except OSError:
        return platform.processor()


def blas_info():
    """The BLAS / OpenMP libraries loaded in this process, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    keys = ("internal_api", "version", "num_threads", "architecture", "threading_layer")
    return [
        {k: lib[k] for k in keys if k in lib} | {"file": os.path.basename(lib["filepath"])}
        for lib in threadpool_info()
    ]


MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX")


def environment():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "malloc_env": {k: os.environ[k] for k in MALLOC_ENV if k in os.environ},
        "blas": blas_info(),
    }


def engine_version(engine):
    if is_chainrule(engine):
        return chainrule_version()
    mod = {"numpy": "numpy", "torch": "torch", "autograd": "autograd", "mygrad": "mygrad",
           "micrograd": "micrograd", "tinygrad": "tinygrad"}.get(engine)
    if mod is None:
        return None
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:  # noqa: BLE001 - version is informational only
        return None


def emit(result):
    """Print the one JSON line a workload script outputs (the runner reads the last line)."""
    print(json.dumps(result, sort_keys=False, default=float))
    sys.stdout.flush()


def set_torch_threads(n=2):
    import torch

    torch.set_num_threads(n)
    return torch.get_num_threads()


# ----------------------------------------------------------------------------- our engine

CHAINRULE_DEFAULT_PATH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout
CHAINRULE_PACKAGES = ("autograd", "nn", "optim")


def is_chainrule(engine):
    """Our engine's variants are named chainrule, chainrule-graph, chainrule-scalar."""
    return engine.startswith("chainrule")


def chainrule_path():
    """The checkout of our engine to benchmark: $CHAINRULE_PATH (default: the checkout holding this folder)."""
    return os.path.abspath(os.environ.get("CHAINRULE_PATH") or CHAINRULE_DEFAULT_PATH)


def use_chainrule():
    """Make `import autograd`, `import nn`, `import optim` find our engine, in the checkout at
    chainrule_path(); call it before those imports. Returns the checkout's path.

    Our top-level package `autograd` has the same name as HIPS autograd, which the anchors' venv
    holds. The checkout goes first on sys.path and each of our packages is imported here and checked
    to come from it, so a chainrule process never runs HIPS autograd (every engine runs in its own
    process, so the two never meet). Exits with a message when the checkout has no autograd package.
    """
    path = chainrule_path()
    if not os.path.isfile(os.path.join(path, "autograd", "__init__.py")):
        sys.exit(f"CHAINRULE_PATH={path} has no autograd/__init__.py: point CHAINRULE_PATH at our checkout")
    loaded = sys.modules.get("autograd")
    if loaded is not None and _package_root(loaded) != path:
        raise RuntimeError(f"another `autograd` ({loaded.__file__}) is already imported in this process: "
                           f"run our engine in a process of its own")
    if sys.path[0] != path:
        sys.path.insert(0, path)
    for name in CHAINRULE_PACKAGES:
        module = importlib.import_module(name)
        if _package_root(module) != path:
            raise RuntimeError(f"`import {name}` found {module.__file__}, not our package in {path}")
    return path


def _package_root(module):
    """The sys.path entry a top-level package was imported from (the folder above its folder)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(module.__file__ or "")))


def chainrule_version():
    """Our engine has no release number: the checkout's commit (git describe --always --dirty) and path."""
    path = chainrule_path()
    try:
        described = subprocess.run(["git", "-C", path, "describe", "--always", "--dirty"],
                                   capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return f"{described} at {path}" if described else path
