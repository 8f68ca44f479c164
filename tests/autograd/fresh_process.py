"""Run a snippet of Python in a fresh interpreter (for settings a process makes once, at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def last_json_line(code: str, drop=(), **env) -> dict:
    """Run ``code`` with the environment less the variables ``drop`` (and those starting with a
    ``drop`` entry that ends in ``*``) plus ``env``; it must succeed, and its last line of output
    is read as JSON."""
    prefixes = tuple(d[:-1] for d in drop if d.endswith("*"))
    clean = {k: v for k, v in os.environ.items() if k not in drop and not (prefixes and k.startswith(prefixes))}
    proc = subprocess.run([sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def import_fails(**env) -> str:
    """``import autograd`` under the environment plus ``env``: it must fail; its error output."""
    code = f"import sys; sys.path.insert(0, {REPO!r}); import autograd"
    proc = subprocess.run([sys.executable, "-c", code], env=os.environ | env, capture_output=True, text=True)
    assert proc.returncode != 0
    return proc.stderr
