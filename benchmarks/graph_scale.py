"""Graph scale: time and peak memory of ag.Graph on long chains, against eager backward of the same chain.

The chain: x -> tanh(1.0001 x + 0.5), repeated, on a shape-(4,) float64 tensor requiring grad, then
the sum; ``--sizes`` counts its operations (3 a link, so 10^5 is a chain of 33,333 links). For each
size, two fresh processes (one per engine, so each peak RSS is its own):
  eager  the chain built (forward), then loss.backward()
  graph  the chain built, ag.Graph(loss), the compiled plan built (g._compiled(), which the first
         g.forward() would do), g.forward(), g.backward(), then a second g.forward() + g.backward()
Each child reports its phases in seconds, its peak RSS (getrusage), also as the growth over its RSS
after `import autograd`, and the loss and x.grad[0] of its first step (which must agree; the
gradient of so long a chain underflows to 0). The table's "x eager" columns divide the graph's first-step total
(build, Graph, plan, forward, backward) and its RSS growth by eager's.

    python benchmarks/graph_scale.py                        # 1e4 and 1e5
    python benchmarks/graph_scale.py --sizes 1e4,1e5,1e6
    python benchmarks/graph_scale.py --sizes 1e5 --at HEAD~1  # also our engine at an older commit

Like run.py, the children run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, each ends with one
JSON line, and ``--at`` checks a commit out once into a detached worktree under /tmp. A child that
runs out of time or memory shows as an error row.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # (KiB on Linux)


def child(engine, ops):
    """One measurement in this process: prints one JSON line."""
    from common import emit, engine_version, environment, use_chainrule

    use_chainrule()
    import numpy as np

    import autograd as ag

    rss_import = peak_rss_mib()
    x = ag.tensor(np.linspace(-1, 1, 4), requires_grad=True)
    phases = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        phases[name] = time.perf_counter() - t0
        return out

    def chain():
        y = x
        for _ in range(ops // 3):
            y = (y * 1.0001 + 0.5).tanh()
        return y.sum()

    loss = timed("build_s", chain)
    if engine == "eager":
        timed("backward_s", loss.backward)
        total = phases["build_s"] + phases["backward_s"]
    else:
        g = timed("graph_s", lambda: ag.Graph(loss))
        timed("plan_s", g._compiled)
        timed("forward_s", g.forward)
        x.grad = None
        timed("backward_s", g.backward)
        total = sum(phases.values())
        grad = x.grad
        timed("step_s", lambda: (g.forward(), g.backward()))
        x.grad = grad
    emit({"benchmark": "graph_scale", "engine": engine, "ops": ops, "version": engine_version("chainrule"),
          **phases, "total_s": total, "loss": loss.item(), "grad0": float(x.grad.numpy()[0]),
          "peak_rss_mib": peak_rss_mib(), "rss_growth_mib": peak_rss_mib() - rss_import, "env": environment()})


def checkout_at(commit):
    """A detached worktree of ``commit`` under /tmp (made once), as run.py's --at makes it."""
    rev = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    path = Path(f"/tmp/chainrule-at-{rev}")
    if not (path / "autograd" / "__init__.py").is_file():
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), rev], cwd=REPO, check=True,
                       capture_output=True)
    return rev, path


def run_child(engine, ops, checkout, timeout):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["CHAINRULE_PATH"] = str(checkout)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, "--ops", str(ops)]
    try:
        proc = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        why = "killed (out of memory?)" if proc.returncode in (-9, 137) else proc.stderr.strip().splitlines()[-1:]
        return {"error": f"exit {proc.returncode}: {why}"}
    return json.loads(lines[-1])


def fmt(value, spec=".2f"):
    return "" if value is None else format(value, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e4,1e5", help="chain lengths in operations, comma-separated "
                                                       "(default 1e4,1e5; 1e6 takes about a minute and 1 GB)")
    ap.add_argument("--at", help="comma-separated git commits: also run the graph (and eager) at each")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a child may run (default 1800)")
    ap.add_argument("--child", choices=("eager", "graph"), help=argparse.SUPPRESS)
    ap.add_argument("--ops", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.ops)
        return

    checkouts = [("this checkout", Path(os.environ.get("CHAINRULE_PATH") or REPO).resolve())]
    for commit in (args.at.split(",") if args.at else []):
        rev, path = checkout_at(commit)
        checkouts.append((rev, path))
    sizes = [int(float(s)) // 3 * 3 for s in args.sizes.split(",")]
    print("| ops | engine | at | build s | Graph() s | plan s | forward s | backward s | total s | x eager "
          "| next step s | peak RSS MiB | RSS growth MiB | x eager | loss | grad[0] |")
    print("|" + "---|" * 16)
    for ops in sizes:
        for label, path in checkouts:
            eager = run_child("eager", ops, path, args.timeout)
            graph = run_child("graph", ops, path, args.timeout)
            for engine, r in (("eager", eager), ("graph", graph)):
                if "error" in r:
                    print(f"| {ops:,} | {engine} | {label} | {r['error']} |" + " |" * 12)
                    continue
                ratio = (engine == "graph" and "error" not in eager)
                print(f"| {ops:,} | {engine} | {label} | {fmt(r['build_s'])} | {fmt(r.get('graph_s'))} "
                      f"| {fmt(r.get('plan_s'))} | {fmt(r.get('forward_s'))} | {fmt(r['backward_s'])} "
                      f"| {fmt(r['total_s'])} | {fmt(r['total_s'] / eager['total_s'] if ratio else None, '.1f')} "
                      f"| {fmt(r.get('step_s'))} | {r['peak_rss_mib']:.0f} | {r['rss_growth_mib']:.0f} "
                      f"| {fmt(r['rss_growth_mib'] / eager['rss_growth_mib'] if ratio else None, '.1f')} "
                      f"| {r['loss']:.10g} | {r['grad0']:.6g} |", flush=True)


if __name__ == "__main__":
    main()
