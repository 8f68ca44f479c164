"""autograd/openblas.py: importing autograd lets numpy's OpenBLAS threads sleep soon after a product
(a wait of 2**20 cycles instead of 2**28: about 0.4 ms instead of 0.1 s), unless the user chose or
it is unsafe.

Each case runs in a fresh interpreter (the setting is the process's, made once at import). The
workload runs a product large enough for OpenBLAS to use its threads, then looks at the process's
other threads 20-60 ms later (Linux: /proc/self/task): with OpenBLAS's default wait one of them is
still busy-waiting, running or ready to run ("R") however little of a core a loaded machine gives
it; with the short wait all are asleep. It also reports the CPU time the process takes in the 0.2 s
after the product (about 0.1 s with the default wait, a few milliseconds with the short one)."""

from __future__ import annotations

import os

import pytest
from fresh_process import REPO, import_fails, last_json_line

SPIN = """
import json, os, sys, threading, time
sys.path.insert(0, {repo!r})
if {thread}:
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
import numpy as np
import autograd
from autograd.openblas import _threaded_openblas

def running_others():
    me = str(threading.get_native_id())
    states = []
    for tid in os.listdir("/proc/self/task"):
        if tid != me:
            with open(f"/proc/self/task/{{tid}}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
    return states.count("R")

a = np.random.default_rng(0).standard_normal((600, 600))
b = a @ a
ok = bool(np.allclose(b[:3, :3], np.einsum("ij,jk->ik", a[:3], a[:, :3])))
t0 = time.process_time()
time.sleep(0.02)
running = []
for _ in range(5):
    running.append(running_others())
    time.sleep(0.01)
time.sleep(0.13)
print(json.dumps({{"tuned": autograd.openblas.tuned(), "threaded": _threaded_openblas() is not None,
                  "spin": time.process_time() - t0, "running": running, "ok": ok}}))
"""
LINUX = os.path.isdir("/proc/self/task")


def run(thread=False, **env):
    code = SPIN.format(repo=REPO, thread=thread)
    return last_json_line(code, drop=("CHAINRULE_OPENBLAS", "OPENBLAS_THREAD_TIMEOUT"), **env)


@pytest.mark.skipif(not LINUX, reason="the threads' states are read from /proc (Linux)")
def test_importing_autograd_shortens_the_idle_threads_wait():
    tuned, plain = run(), run(CHAINRULE_OPENBLAS="default")
    assert tuned["ok"] and plain["ok"]  # (the threads started again: products still right)
    assert plain["tuned"] is False
    assert tuned["tuned"] is tuned["threaded"]  # (done wherever numpy's BLAS is a threaded OpenBLAS)
    if tuned["threaded"]:
        assert max(plain["running"]) >= 1, plain  # OpenBLAS's default: a thread still busy-waiting
        assert max(tuned["running"]) == 0, tuned  # the short wait: all asleep 20 ms after the product
        assert tuned["spin"] < plain["spin"], (tuned, plain)


@pytest.mark.skipif(not LINUX, reason="the threads' states are read from /proc (Linux)")
def test_the_users_choice_stands_and_other_threads_leave_it_alone():
    for env in ({"OPENBLAS_THREAD_TIMEOUT": "28"}, {"CHAINRULE_OPENBLAS": "default"}):
        assert run(**env)["tuned"] is False
    assert run(thread=True)["tuned"] is False  # (a product might be running in the other thread)
    # the short wait set by the environment, as the docstring says: the same as tuned
    by_env = run(OPENBLAS_THREAD_TIMEOUT="20")
    if by_env["threaded"]:
        assert max(by_env["running"]) == 0, by_env


def test_a_bad_setting_is_named():
    error = import_fails(CHAINRULE_OPENBLAS="fast")
    assert "CHAINRULE_OPENBLAS='fast'" in error and "'default'" in error
