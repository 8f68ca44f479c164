"""autograd/openblas.py: importing autograd lets numpy's OpenBLAS threads sleep soon after a product
(a wait of 2**20 cycles instead of 2**28: about 0.4 ms instead of 0.1 s), unless the user chose or
it is unsafe.

Each case runs in a fresh interpreter (the setting is the process's, made once at import). The
workload runs a product large enough for OpenBLAS to use its threads, then sleeps 0.2 s: the CPU
time the process takes while it sleeps is what OpenBLAS's idle threads spend busy-waiting (about
0.1 s of one core with OpenBLAS's default wait, next to nothing with the short one)."""

from __future__ import annotations

from fresh_process import REPO, import_fails, last_json_line

SPIN = """
import json, sys, threading, time
sys.path.insert(0, {repo!r})
if {thread}:
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
import numpy as np
import autograd
from autograd.openblas import _threaded_openblas
a = np.random.default_rng(0).standard_normal((600, 600))
b = a @ a
ok = bool(np.allclose(b[:3, :3], np.einsum("ij,jk->ik", a[:3], a[:, :3])))
t0 = time.process_time()
time.sleep(0.2)
print(json.dumps({{"tuned": autograd.openblas.tuned(), "threaded": _threaded_openblas() is not None,
                  "spin": time.process_time() - t0, "ok": ok}}))
"""


def run(thread=False, **env):
    code = SPIN.format(repo=REPO, thread=thread)
    return last_json_line(code, drop=("CHAINRULE_OPENBLAS", "OPENBLAS_THREAD_TIMEOUT"), **env)


def test_importing_autograd_shortens_the_idle_threads_wait():
    tuned, plain = run(), run(CHAINRULE_OPENBLAS="default")
    assert tuned["ok"] and plain["ok"]  # (the threads started again: products still right)
    assert plain["tuned"] is False
    assert tuned["tuned"] is tuned["threaded"]  # (done wherever numpy's BLAS is a threaded OpenBLAS)
    if tuned["threaded"]:
        # the default wait spins about 0.1 s of CPU after the product (less if the host takes the
        # core from it); the short one a few milliseconds at most
        assert plain["spin"] > 0.02, plain
        assert tuned["spin"] < 0.015, tuned  # (seen: 2-4.4 ms)


def test_the_users_choice_stands_and_other_threads_leave_it_alone():
    for env in ({"OPENBLAS_THREAD_TIMEOUT": "28"}, {"CHAINRULE_OPENBLAS": "default"}):
        assert run(**env)["tuned"] is False
    assert run(thread=True)["tuned"] is False  # (a product might be running in the other thread)
    # the short wait set by the environment, as the docstring says: the same as tuned
    by_env = run(OPENBLAS_THREAD_TIMEOUT="20")
    if by_env["threaded"]:
        assert by_env["spin"] < 0.015, by_env


def test_a_bad_setting_is_named():
    error = import_fails(CHAINRULE_OPENBLAS="fast")
    assert "CHAINRULE_OPENBLAS='fast'" in error and "'default'" in error
