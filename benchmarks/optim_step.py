"""The optimizer step alone: ``opt.step()`` on fixed random gradients, ours (this checkout, and with
``--at`` the engine as it was at a commit) against torch.optim on the same arrays.

Three sets of float32 parameters, the layers of the benchmark MLPs:
  W3    784x1024, 1024, 1024x1024, 1024, 1024x10, 10   (1.86M numbers: the arithmetic dominates)
  W2    64x256, 256, 256x256, 256, 256x10, 10          (86k)
  tiny  2x16, 16, 16x16, 16, 16x2, 2                    (370: the per-call overhead is all there is)
and six optimizers: SGD(momentum=0.9), RMSprop, Adam, AdamW, NAdam, Adagrad (lr 1e-3, else the
defaults). Each (engine, workload, optimizer) runs in a fresh process: it sets every parameter's
gradient once (random normal numbers, the same for every engine), takes warm-up steps for 0.3 s, then
times ``opt.step()``: each sample the mean of as many steps as fill about 2 ms, the figure the
median of ``--samples`` samples. The processes take turns (engine by engine within a round) for
``--rounds`` rounds (each run after waiting up to ``--quiet-wait`` seconds for an idle machine), and
the table shows per engine the median over rounds of the figures and
their min..max, and the ratios "after/before" (this checkout over the commit) and "ours/torch",
each the median of the per-round ratios.

Threads: ours update large parameters in chunks over ``optim._chunked.threads()`` threads (the CPUs
this process may run on, or $CHAINRULE_OPTIM_THREADS); torch runs with its own default number of
intra-op threads unless ``--torch-threads N`` says otherwise (the header shows both). ``torch`` is
torch.optim's default implementation (foreach=None, which on CPU tensors is the per-tensor loop)
and ``torch foreach`` the multi-tensor one (foreach=True), the reference of issue 20's target: on
W3's parameters, every optimizer's step at most ``TARGET`` times torch foreach's (the summary
table at the end, in ms per step, with the ratio taken round by round). The header names the host
CPU and the load average before and after the run: on a shared machine quote them with the figures.

``--paired`` measures ours and torch foreach in one process instead, their steps alternating (one
sample of ours, one of torch's, and so on), and takes each run's ratio as the median of the pairs'
ratios. On a machine that others are using, separate processes see different loads and their
ratios scatter (a 2-3x min..max spread on W3 at a load average of 5 on 2 CPUs); pairs hold still.
Pair with one thread each (CHAINRULE_OPTIM_THREADS=1 and --torch-threads 1): with more, torch's
OpenMP workers spin between its operations and slow ours down in the same process.

    python benchmarks/optim_step.py --at 59e9aae                 # before (59e9aae) / after (this checkout)
    python benchmarks/optim_step.py --at 59e9aae --after HEAD    # after: the committed engine (a worktree)
    python benchmarks/optim_step.py --at 59e9aae --rounds 5 --workloads tiny,W2
    python benchmarks/optim_step.py --workloads W3 --rounds 5    # issue 20's check: W3, ours vs torch foreach
    CHAINRULE_OPTIM_THREADS=1 python benchmarks/optim_step.py --workloads W3 --torch-threads 1   # one thread each
    CHAINRULE_OPTIM_THREADS=1 python benchmarks/optim_step.py --workloads W3 --torch-threads 1 --paired
    python benchmarks/optim_step.py --engine chainrule --workload W2 --optimizer Adam   # one run, one JSON line
    python benchmarks/run.py optim_step      # the W3 check of issue 20 among run.py's benchmarks (run.py all)

Like run.py, the children run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, and ``--at`` checks a
commit out once into a detached worktree under /tmp (``git worktree add``).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from common import cpu_model  # noqa: E402 (the benchmarks directory is not a package)
from run import wait_for_quiet  # noqa: E402

WORKLOADS = {
    "W3": [(784, 1024), (1024,), (1024, 1024), (1024,), (1024, 10), (10,)],
    "W2": [(64, 256), (256,), (256, 256), (256,), (256, 10), (10,)],
    "tiny": [(2, 16), (16,), (16, 16), (16,), (16, 2), (2,)],
}
OPTIMIZERS = {
    "SGD": dict(lr=1e-3, momentum=0.9),
    "RMSprop": dict(lr=1e-3),
    "Adam": dict(lr=1e-3),
    "AdamW": dict(lr=1e-3),
    "NAdam": dict(lr=1e-3),
    "Adagrad": dict(lr=1e-3),
}
WARMUP_S = 0.3  # steps before the timing starts (see warm_up)
SAMPLE_S = 2e-3  # a sample times about this long: many steps of a tiny step, one of W3's
TARGET = 1.2  # issue 20: on W3, each optimizer's step at most this many times torch foreach's


def arrays(workload):
    import numpy as np

    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) for s in WORKLOADS[workload]]
    grads = [rng.standard_normal(s).astype(np.float32) for s in WORKLOADS[workload]]
    return values, grads


def make_step(engine, workload, name, torch_threads):
    """(``opt.step`` of ``engine``'s optimizer ``name`` on the workload's parameters, with their
    gradients set; the threads it uses)."""
    values, grads = arrays(workload)
    options = OPTIMIZERS[name]
    if engine.startswith("torch"):
        import torch

        if torch_threads > 0:
            torch.set_num_threads(torch_threads)
        params = [torch.tensor(v, requires_grad=True) for v in values]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        opt = getattr(torch.optim, name)(params, **options, foreach=engine == "torch foreach")
        return opt.step, torch.get_num_threads()
    from common import use_chainrule

    use_chainrule()
    import autograd as ag
    import optim

    params = [ag.tensor(v, requires_grad=True) for v in values]
    for p, g in zip(params, grads):
        p.grad = ag.tensor(g)
    opt = getattr(optim, name)(params, **options)
    try:
        from optim._chunked import threads as optim_threads
    except ImportError:  # (an engine from before the chunked pass: one thread)
        return opt.step, 1
    return opt.step, optim_threads()


def warm_up(step):
    """``step()`` at least 5 times and for at least ``WARMUP_S`` seconds. Not 5 steps alone: numpy's
    OpenBLAS starts its worker threads when numpy is imported, and they spin for about 0.1 s
    (measured: 100 ms of CPU time on the second core of the 2-CPU host), taking the core from an
    engine's own threads; an engine that imports quickly (ours) would be timed in that window, one
    that imports slowly (torch, 1-2 s) after it."""
    t0 = time.perf_counter()
    for k in itertools.count():
        step()
        if k >= 4 and time.perf_counter() - t0 >= WARMUP_S:
            return


def child(engine, workload, name, samples, torch_threads):
    """One measurement in this process; prints one JSON line."""
    step, threads = make_step(engine, workload, name, torch_threads)
    warm_up(step)
    t0 = time.perf_counter()
    step()
    inner = max(1, int(SAMPLE_S / max(time.perf_counter() - t0, 1e-7)))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        times.append((time.perf_counter() - t0) / inner)
    print(json.dumps({"engine": engine, "workload": workload, "optimizer": name, "us": 1e6 * statistics.median(times),
                      "step_ms": 1e3 * statistics.median(times),
                      "inner": inner, "samples": samples, "threads": threads}))


def paired_child(workload, name, samples, torch_threads):
    """Ours and torch foreach in this one process, their steps alternating (a sample of each, then
    the next pair), so that both see the same load from moment to moment; prints one JSON line with
    the medians and the median of the pairs' ratios."""
    ours, threads = make_step("chainrule", workload, name, torch_threads)
    theirs, torch_threads_used = make_step("torch foreach", workload, name, torch_threads)
    warm_up(lambda: (ours(), theirs()))
    inners = []
    for step in (ours, theirs):
        t0 = time.perf_counter()
        step()
        inners.append(max(1, int(SAMPLE_S / max(time.perf_counter() - t0, 1e-7))))
    pairs = []
    for _ in range(samples):
        pair = []
        for step, inner in zip((ours, theirs), inners):
            t0 = time.perf_counter()
            for _ in range(inner):
                step()
            pair.append((time.perf_counter() - t0) / inner)
        pairs.append(pair)
    print(json.dumps({"engine": "paired", "workload": workload, "optimizer": name,
                      "us": 1e6 * statistics.median(p[0] for p in pairs),
                      "torch_us": 1e6 * statistics.median(p[1] for p in pairs),
                      "ratio": statistics.median(p[0] / p[1] for p in pairs), "samples": samples,
                      "threads": threads, "torch_threads": torch_threads_used}))


def worktree(commit):
    """A detached worktree of ``commit`` under /tmp (made once); (short hash, path)."""
    rev = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    path = Path(f"/tmp/chainrule-at-{rev}")
    if not (path / "autograd" / "__init__.py").is_file():
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), rev], cwd=REPO, check=True,
                       capture_output=True)
    return rev, path


def run_child(engine, workload, name, args, env):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine.split("@")[0], "--workload", workload,
           "--optimizer", name, "--samples", str(args.samples), "--torch-threads", str(args.torch_threads)]
    proc = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{engine} {workload} {name}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


def fmt(us):
    return f"{us:.3g}" if us < 100 else f"{us:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--at", help="a git commit: also time our engine as it was there (the 'before')")
    ap.add_argument("--after", help="a git commit: time our engine as it is there as the 'after' (default: this "
                                    "checkout, or $CHAINRULE_PATH)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=31)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    ap.add_argument("--no-torch", action="store_true", help="leave torch out")
    ap.add_argument("--torch-threads", type=int, default=0,
                    help="torch's intra-op threads (default 0: torch's own default)")
    ap.add_argument("--quiet-wait", type=float, default=10,
                    help="before each run, wait up to this many seconds for an idle machine (default 10)")
    ap.add_argument("--paired", action="store_true",
                    help="ours and torch foreach in one process per run, steps alternating (see paired_child): "
                         "ratios that hold still on a loaded machine; use with one thread each")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--engine", help="one run in this process (as run.py's optim_step makes them): chainrule, torch or "
                                     "torch-foreach, with --workload and --optimizer; prints one JSON line")
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--optimizer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "paired":
        paired_child(args.workload, args.optimizer, args.samples, args.torch_threads)
        return
    if args.engine:
        args.child = args.engine.replace("-", " ")
        args.workload, args.optimizer = args.workload or "W3", args.optimizer or "Adam"
    if args.child:
        child(args.child, args.workload, args.optimizer, args.samples, args.torch_threads)
        return

    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    here = os.path.abspath(os.environ.get("CHAINRULE_PATH") or REPO)
    after = "after"
    if args.after:
        rev, here = worktree(args.after)
        after = f"after@{rev}"
    engines = {after: env | {"CHAINRULE_PATH": str(here)}}
    before = None
    if args.at:
        rev, path = worktree(args.at)
        before = f"before@{rev}"
        engines = {before: env | {"CHAINRULE_PATH": str(path)}, **engines}
    if args.paired:
        engines = {"paired": engines[after]}
    elif not args.no_torch:
        engines["torch"] = engines["torch foreach"] = env
    workloads, names = args.workloads.split(","), args.optimizers.split(",")
    results = {}  # (workload, optimizer) -> engine -> [us per round]
    threads = {}  # engine -> the threads its runs used
    busy = []
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for workload in workloads:
            for name in names:
                for engine, engine_env in engines.items():
                    if args.quiet_wait > 0:
                        busy.append(wait_for_quiet(args.quiet_wait)[0])
                    kind = "chainrule" if engine in (after, before) else engine
                    out = run_child(kind, workload, name, args, engine_env)
                    results.setdefault((workload, name), {}).setdefault(engine, []).append(out["us"])
                    threads.setdefault(engine, set()).add(out.get("threads"))
                    if kind == "paired":
                        results[workload, name].setdefault("torch", []).append(out["torch_us"])
                        results[workload, name].setdefault("ratio", []).append(out["ratio"])
                        threads.setdefault("torch foreach", set()).add(out.get("torch_threads"))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def ratio(runs, a, b):
        if a not in runs or b not in runs:
            return "-"
        return f"{statistics.median(x / y for x, y in zip(runs[a], runs[b])):.2f}x"

    if args.paired:
        print_paired(results, threads, args, load_before)
        return
    cols = list(engines)
    head = ["workload", "optimizer"] + [f"{e} µs (min..max)" for e in cols]
    if before:
        head.append("after/before")
    if not args.no_torch:
        head += ["after/torch", "after/torch foreach"]
    quiet = (f"; before a run the machine was busy {statistics.median(busy):.0%} (median), {max(busy):.0%} at most"
             if busy else "")
    load_after = os.getloadavg()
    used = "; ".join(f"{e} {'/'.join(str(t) for t in sorted(threads[e], key=str))}" for e in cols)
    lines = [f"opt.step() alone, float32, median of {args.rounds} rounds ({args.samples} samples each; "
             f"{time.strftime('%Y-%m-%d %H:%M')}; OPENBLAS_* unset{quiet})",
             f"host: {cpu_model()}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} ours); load average "
             f"(1, 5, 15 min) {_load(load_before)} before, {_load(load_after)} after",
             f"threads: {used}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (workload, name), runs in results.items():
        cells = [workload, name]
        for e in cols:
            v = runs[e]
            cells.append(f"{fmt(statistics.median(v))} ({fmt(min(v))}..{fmt(max(v))})")
        if before:
            cells.append(ratio(runs, after, before))
        if not args.no_torch:
            cells += [ratio(runs, after, "torch"), ratio(runs, after, "torch foreach")]
        lines.append("| " + " | ".join(cells) + " |")
    if not args.no_torch and any(w == "W3" for w, _ in results):
        lines += ["", f"Issue 20's target on W3's parameters: each step at most {TARGET}x torch.optim's foreach step "
                      f"(ms per step, median over rounds; the ratio the median of the per-round ratios)", "",
                  "| optimizer | ours ms | torch foreach ms | ours/torch foreach | target |", "|---|---|---|---|---|"]
        for (workload, name), runs in results.items():
            if workload != "W3":
                continue
            r = statistics.median(x / y for x, y in zip(runs[after], runs["torch foreach"]))
            lines.append(f"| {name} | {statistics.median(runs[after]) / 1e3:.2f} | "
                         f"{statistics.median(runs['torch foreach']) / 1e3:.2f} | {r:.2f}x | "
                         f"{'met' if r <= TARGET else 'not met'} |")
    print("\n".join(lines))


def print_paired(results, threads, args, load_before):
    """The table of a --paired run: per workload and optimizer, ours and torch foreach (medians over
    rounds of each run's median) and the median over rounds of each run's median ratio of pairs."""
    load_after = os.getloadavg()
    used = "; ".join(f"{'ours' if e == 'paired' else e} {'/'.join(str(t) for t in sorted(v, key=str))}"
                     for e, v in threads.items())
    lines = [f"opt.step() alone, float32, ours and torch.optim foreach in one process, steps alternating; median "
             f"of {args.rounds} rounds ({args.samples} pairs each; {time.strftime('%Y-%m-%d %H:%M')}; OPENBLAS_* unset)",
             f"host: {cpu_model()}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} ours); load average "
             f"(1, 5, 15 min) {_load(load_before)} before, {_load(load_after)} after",
             f"threads: {used}", "",
             "| workload | optimizer | ours ms | torch foreach ms | ours/torch foreach (min..max over rounds) | "
             "target |", "|---|---|---|---|---|---|"]
    for (workload, name), runs in results.items():
        ratio = statistics.median(runs["ratio"])
        target = ("met" if ratio <= TARGET else "not met") if workload == "W3" else "-"
        lines.append(f"| {workload} | {name} | {statistics.median(runs['paired']) / 1e3:.2f} | "
                     f"{statistics.median(runs['torch']) / 1e3:.2f} | {ratio:.2f}x ({min(runs['ratio']):.2f}.."
                     f"{max(runs['ratio']):.2f}) | {target} |")
    print("\n".join(lines))


def _load(avg):
    return ", ".join(f"{x:.2f}" for x in avg)


if __name__ == "__main__":
    main()
