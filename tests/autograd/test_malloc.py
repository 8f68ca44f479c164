"""autograd/malloc.py: importing autograd tells glibc to keep freed memory, unless the user chose.

Each case runs in a fresh interpreter (the settings are the process's, made once at import). The
workload frees three 8 MiB arrays at once, which glibc's defaults give back to the kernel (the free
top of the heap then exceeds its trim threshold), so the next round's arrays fault their pages in
again; tuned, the heap keeps them and later rounds fault almost nothing."""

from __future__ import annotations

import platform

import pytest
from fresh_process import REPO, import_fails, last_json_line

ROUNDS = """
import json, resource, sys
import numpy as np
sys.path.insert(0, {repo!r})
if {import_autograd}:
    import autograd
    tuned = autograd.malloc.tuned()
else:
    tuned = None

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

counts = []
for _ in range(6):
    f0 = faults()
    arrays = [np.ones(2 << 20, np.float32) for _ in range(3)]  # three 8 MiB arrays, touched
    del arrays
    counts.append(faults() - f0)
print(json.dumps({{"tuned": tuned, "faults": counts[2:]}}))
"""

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def run(import_autograd=True, **env):
    # (the environment's own malloc settings left out: each case sets what it tests)
    code = ROUNDS.format(repo=REPO, import_autograd=import_autograd)
    return last_json_line(code, drop=("MALLOC_*", "CHAINRULE_MALLOC", "GLIBC_TUNABLES"), **env)


@pytest.mark.skipif(not GLIBC, reason="the settings are glibc's: off glibc nothing is changed (tested below)")
def test_importing_autograd_keeps_freed_memory_for_reuse():
    plain, tuned = run(import_autograd=False), run()
    assert tuned["tuned"] is True
    # glibc's defaults give the 24 MiB back every round: thousands of faults (a dozen with huge pages)
    assert min(plain["faults"]) > 8, plain
    assert max(tuned["faults"]) <= 4, tuned  # kept: the pages are already there


@pytest.mark.skipif(not GLIBC, reason="the settings are glibc's")
@pytest.mark.parametrize(
    "env",
    [
        {"CHAINRULE_MALLOC": "default"},
        {"MALLOC_TRIM_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"},
    ],
)
def test_the_users_choice_stands(env):
    result = run(**env)
    assert result["tuned"] is False
    assert min(result["faults"]) > 8, result  # glibc's behaviour, as without chainrule


def test_off_glibc_nothing_is_changed_and_a_bad_setting_is_named():
    if not GLIBC:
        assert run()["tuned"] is False
    error = import_fails(CHAINRULE_MALLOC="fast")
    assert "CHAINRULE_MALLOC='fast'" in error and "'default'" in error
