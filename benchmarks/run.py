"""Run a benchmark's engines in fresh processes, interleaved, and print a markdown table of ratios.

    python benchmarks/run.py op_overhead     # (a) per-op overhead: ours vs torch vs plain numpy
    python benchmarks/run.py scalar_moons    # (b) Scalar on micrograd's demo: ours vs micrograd, GC on and off
    python benchmarks/run.py graph_replay    # a training step re-run as a captured ag.Graph vs built eagerly
    python benchmarks/run.py small_mlp       # W2: 64-256-256-10 MLP step on the digits (Adam)
    python benchmarks/run.py large_mlp       # W3: 784-1024-1024-10 MLP step, against the bare-GEMM floor
    python benchmarks/run.py peak_rss        # W5: peak RSS of 50 W3 steps
    python benchmarks/run.py small_cnn       # W6: small CNN step (conv, relu, max-pool, linear; Adam) vs torch
    python benchmarks/run.py conv2d          # conv2d forward + backward across sizes vs torch and its GEMM floor
    python benchmarks/run.py optim_step      # each elementwise optimizer's step on W3's parameters vs torch foreach
    python benchmarks/run.py all [--reps 3] [--engines chainrule,torch] [--quiet-wait 30] [--log out.jsonl]
    python benchmarks/run.py small_mlp --at 9faf590      # also the engine as it was at a commit (before/after)
    python benchmarks/run.py small_mlp --malloc tuned    # every engine with glibc told to keep freed memory

Each run is `python <script> --engine E [args]` in a new process (the script's last stdout line is
its JSON result), and the engines take turns (A B C A B C ...) so that a drift of the machine's
speed hits them alike. Per engine the table shows the median over runs of each run's own median
and the min..max over runs; a ratio "vs X" is taken run by run (the engine's figure over X's in
the same round) and the median of those is shown: below 1 means faster than X. The targets of
issue 2 are checked at the end against those ratios.

The runs' environment drops OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (some machines set them for old
OpenBLAS builds; they force numpy onto slower kernels). Before each run the runner waits up to
--quiet-wait seconds for the machine to be idle and records the share of the CPU that other
processes used during the run; the table lists runs where that was over 5% (their timings are
suspect). It also probes the host (host_probe.py: how much a second BLAS thread speeds up one
small product) and lists the runs made while the host was using our second core; each target is
then also given over the rounds where both of its runs had the second core free.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from host_probe import CONTENDED_BELOW  # noqa: E402 (the benchmarks directory is not a package)


def variant(label, *args, group=None):
    """One engine's run: ``label`` (its first word is the engine), the script's extra ``args``, and
    the ``group`` (a size) whose runs a ratio compares when its reference names ``{group}``."""
    return {"label": label, "engine": label.split()[0], "args": list(args), "group": group}


OPTIMIZERS = ("SGD", "RMSprop", "Adam", "AdamW", "NAdam", "Adagrad")


def _optim_variants():
    return [variant(f"{e} {name}", "--workload", "W3", "--optimizer", name, group=name)
            for name in OPTIMIZERS for e in ("torch-foreach", "chainrule")]


def _conv_variants():
    out = []
    for size in ("3,32,32,3", "32,64,15,3", "64,64,16,3", "128,128,8,3", "16,16,32,5"):
        name = size.replace(",", "-")
        out += [variant(f"{e} {name}", "--size", size, group=name) for e in ("gemm", "torch", "chainrule")]
    return out


BENCHMARKS = {
    "op_overhead": {
        "script": "op_overhead.py", "timeout": 300,
        "ratios": [("forward_us_per_op", "fwd", "torch"), ("backward_us_per_op", "bwd", "torch"),
                   ("total_us_per_op", "fwd+bwd", "torch"), ("forward_us_per_op", "fwd", "numpy"),
                   ("total_us_per_op", "fwd+bwd", "numpy")],
        "metrics": [("forward_us_per_op", "fwd us/op"), ("backward_us_per_op", "bwd us/op"),
                    ("total_us_per_op", "fwd+bwd us/op")],
        "variants": [variant("python"), variant("numpy"), variant("torch"), variant("micrograd"),
                     variant("micrograd --no-gc", "--no-gc"), variant("chainrule"), variant("chainrule-scalar"),
                     variant("chainrule-scalar --no-gc", "--no-gc")],
        # (engine, metric, reference, at most): issue 2's target for the Tensor front end
        # (engine, metric, reference, at most[, issue]): issue 2's target for the Tensor front end, issue 20's
        "targets": [("chainrule", "total_us_per_op", "torch", 0.5), ("chainrule", "total_us_per_op", "torch", 0.4, 20)],
    },
    "scalar_moons": {
        "script": "scalar_moons.py", "timeout": 600,
        "ratios": [("step_ms", "step", "micrograd"), ("step_ms", "step", "micrograd --no-gc"),
                   ("step_ms", "step", "torch")],
        "metrics": [("step_ms", "ms/step")],
        "variants": [variant("micrograd"), variant("micrograd --no-gc", "--no-gc"), variant("chainrule"),
                     variant("chainrule --no-gc", "--no-gc"), variant("torch"), variant("numpy")],
        "targets": [("chainrule", "step_ms", "micrograd", 0.1),
                    ("chainrule --no-gc", "step_ms", "micrograd --no-gc", 0.6),
                    ("chainrule --no-gc", "step_ms", "micrograd --no-gc", 0.5, 20)],
    },
    "graph_replay": {
        "script": "graph_replay.py", "timeout": 300, "issue": 4,
        "ratios": [("step_ms", "step", "chainrule"), ("step_ms", "step", "torch"),
                   ("step_ms", "step", "chainrule tiny")],
        "metrics": [("step_ms", "ms/step")],
        "variants": [variant("chainrule"), variant("chainrule-graph"), variant("torch"),
                     variant("chainrule tiny", "--sizes", "2,16,16,2", "--batch", "32"),
                     variant("chainrule-graph tiny", "--sizes", "2,16,16,2", "--batch", "32")],
        "targets": [("chainrule-graph", "step_ms", "chainrule", 0.7),
                    ("chainrule-graph tiny", "step_ms", "chainrule tiny", 0.7)],
    },
    # the anchor workloads W2, W3 and W5 of ../shared/bench, with issue 9's targets
    "small_mlp": {
        "script": "mlp_step.py", "timeout": 300, "issue": 9,
        "ratios": [("step_ms", "step", "torch"), ("step_ms", "step", "numpy")],
        "metrics": [("step_ms", "ms/step")],
        "variants": [variant(e, "--workload", "W2") for e in ("numpy", "torch", "chainrule", "chainrule-graph")],
        "targets": [("chainrule", "step_ms", "torch", 0.8), ("chainrule-graph", "step_ms", "torch", 0.65),
                    ("chainrule", "step_ms", "numpy", 1.0, 20), ("chainrule-graph", "step_ms", "numpy", 0.95, 20)],
    },
    "large_mlp": {
        "script": "mlp_step.py", "timeout": 300, "issue": 9,
        "ratios": [("step_ms", "step", "torch"), ("step_ms", "step", "gemm")],
        "metrics": [("step_ms", "ms/step")],
        "variants": [variant(e, "--workload", "W3") for e in ("gemm", "numpy", "torch", "chainrule",
                                                            "chainrule-graph")],
        "targets": [("chainrule", "step_ms", "gemm", 1.15), ("chainrule", "step_ms", "torch", 0.7),
                    ("chainrule", "step_ms", "gemm", 1.10, 20), ("chainrule", "step_ms", "torch", 1.0, 20)],
    },
    "peak_rss": {
        "script": "peak_rss.py", "timeout": 300, "issue": 9,
        "ratios": [("peak_rss_mib", "peak RSS", "numpy"), ("peak_rss_mib", "peak RSS", "torch")],
        "metrics": [("peak_rss_mib", "peak RSS MiB"), ("peak_rss_mib_after_import", "after import MiB")],
        "variants": [variant("numpy"), variant("torch"), variant("chainrule")],
        "targets": [("chainrule", "peak_rss_mib", "numpy", 1.15), ("chainrule", "peak_rss_mib", "numpy", 1.0, 20)],
    },
    # the CNN workload W6 of ../shared/bench, and a conv2d micro-benchmark, with their targets
    "small_cnn": {
        "script": "cnn_step.py", "timeout": 600, "issue": "the convolution issue",
        "ratios": [("step_ms", "step", "torch"), ("step_ms", "step", "numpy"), ("step_ms", "step", "gemm")],
        "metrics": [("step_ms", "ms/step")],
        "variants": [variant(e) for e in ("gemm", "numpy", "torch", "chainrule", "chainrule-graph")],
        "targets": [("chainrule", "step_ms", "torch", 1.25)],
    },
    "conv2d": {
        "script": "conv_bench.py", "timeout": 300, "issue": "the convolution issue",
        "ratios": [("step_ms", "fwd+bwd", "gemm {group}"), ("step_ms", "fwd+bwd", "torch {group}")],
        "metrics": [("step_ms", "ms fwd+bwd")],
        "variants": _conv_variants(),
        "targets": [(f"chainrule {g}", "step_ms", f"gemm {g}", 1.3)
                    for g in ("3-32-32-3", "32-64-15-3", "64-64-16-3", "128-128-8-3", "16-16-32-5")],
    },
    # issue 20: the step of each elementwise optimizer on W3's parameters (optim_step.py has more options)
    "optim_step": {
        "script": "optim_step.py", "timeout": 120, "issue": 20,
        "ratios": [("step_ms", "step", "torch-foreach {group}")],
        "metrics": [("step_ms", "ms/step")],
        "variants": _optim_variants(),
        "targets": [(f"chainrule {name}", "step_ms", f"torch-foreach {name}", 1.2) for name in OPTIMIZERS],
    },
}
LOSS_COLUMNS = ("graph_replay", "small_mlp", "large_mlp", "small_cnn")


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_fraction(seconds=1.0):
    b0, t0 = cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = cpu_jiffies()
    return (b1 - b0) / max(t1 - t0, 1)


def wait_for_quiet(max_wait_s, threshold=0.05):
    """Wait until the machine is idle (under 5% busy over one second), at most max_wait_s."""
    waited, frac = 0.0, busy_fraction()
    while frac > threshold and waited < max_wait_s:
        time.sleep(1.0)
        waited += 2.0
        frac = busy_fraction()
    return frac, waited


def probe_host(env):
    """host_probe.py's second-core speedup (a fresh process, so no BLAS thread of ours lingers), or
    None if the probe failed."""
    try:
        proc = subprocess.run([sys.executable, str(HERE / "host_probe.py")], cwd=HERE, env=env,
                              capture_output=True, text=True, timeout=60)
        return json.loads(proc.stdout.strip().splitlines()[-1])["second_core_speedup"]
    except (subprocess.SubprocessError, ValueError, IndexError, KeyError):
        return None


def contended(result):
    speedup = result.get("second_core_speedup")
    return speedup is not None and speedup < CONTENDED_BELOW


def metric(result, key):
    if key == "total_us_per_op" and "forward_us_per_op" in result:
        return result["forward_us_per_op"] + result["backward_us_per_op"]
    value = result.get(key)
    return value["median"] if isinstance(value, dict) else value


def run_once(script, var, env, timeout):
    cmd = [sys.executable, str(HERE / script), "--engine", var["engine"], *var["args"]]
    jiffy = os.sysconf("SC_CLK_TCK")
    ru0, (busy0, _) = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_jiffies()
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s"}
    wall = time.monotonic() - t0
    ru1, (busy1, _) = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_jiffies()
    own = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"}
    result = json.loads(lines[-1])
    # CPU time other processes used while this run ran, as a share of the machine's capacity
    result["foreign_cpu_share"] = max(0.0, (busy1 - busy0) / jiffy - own) / (wall * (os.cpu_count() or 1))
    return result


def fmt(x):
    return "-" if x is None else (f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}")


def ratio(per_round, label, ref, key, free_only=False):
    """Median over rounds of label's figure / ref's figure in the same round, or None. With
    ``free_only``, only over the rounds where neither run had a contended second core."""
    rs = [metric(r[label], key) / metric(r[ref], key) for r in per_round
          if label in r and ref in r and metric(r[ref], key)
          and not (free_only and (contended(r[label]) or contended(r[ref])))]
    return statistics.median(rs) if rs else None


def table(name, spec, per_round, errors):
    labels = [var["label"] for var in spec["variants"]]
    groups = {var["label"]: var.get("group") for var in spec["variants"]}
    ratios = [(key, title, ref) for key, title, ref in spec["ratios"]
              if ref in labels or any(ref.format(group=g) in labels for g in groups.values() if g)]
    head = ["engine"]
    for _, title in spec["metrics"]:
        head += [title, "runs (min..max)"]
    head += [f"{title} vs {ref.replace(' {group}', '')}" for _, title, ref in ratios]
    if name == "op_overhead":
        head += ["y[0]", "grad[0]"]
    elif name in LOSS_COLUMNS:
        head += ["loss first", "loss last"]
    elif name == "peak_rss":
        head += ["loss last"]
    elif name == "conv2d":
        head += ["GFLOP", "sum of dw"]
    elif name == "optim_step":
        head += ["threads"]
    else:
        head += ["nodes/step", "loss step 0", "loss step 19"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lab in labels:
        rs = [r[lab] for r in per_round if lab in r]
        if not rs:
            out.append(f"| {lab} | failed: {errors.get(lab, ['?'])[0]} |" + " |" * (len(head) - 2))
            continue
        cells = [lab]
        for key, _ in spec["metrics"]:
            vals = [metric(r, key) for r in rs]
            cells += [fmt(statistics.median(vals)), f"{fmt(min(vals))}..{fmt(max(vals))}"]
        for key, _, ref in ratios:
            ref = ref.format(group=groups[lab]) if groups[lab] else ref
            x = ratio(per_round, lab, ref, key) if ref != lab else None
            cells.append("-" if x is None else f"{x:.3g}x")
        last = rs[-1]
        if name == "op_overhead":
            cells += [f"{last['y0']:.6g}", f"{last['grad0']:.6g}"]
        elif name in LOSS_COLUMNS:
            cells += ["-" if last.get(k) is None else f"{last[k]:.6f}" for k in ("loss_first", "loss_last")]
        elif name == "peak_rss":
            cells += [f"{last['loss_last']:.6f}"]
        elif name == "conv2d":
            cells += [f"{last['gflop']:.3g}", "-" if last.get("dw_sum") is None else f"{last['dw_sum']:.6g}"]
        elif name == "optim_step":
            cells += [str(last["threads"])]
        else:
            cells += [fmt(last.get("nodes_per_step")), f"{last['loss_step0']:.6f}",
                      "-" if last.get("loss_step19") is None else f"{last['loss_step19']:.6f}"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def with_commits(variants, commits):
    """``variants`` plus, for each commit, a copy of every chainrule variant that runs the engine as
    it was at that commit (a detached git worktree under /tmp, made once). Targets and ratios keep
    referring to the current checkout's variants."""
    out = list(variants)
    for commit in commits:
        rev = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        path = Path(f"/tmp/chainrule-at-{rev}")
        if not (path / "autograd" / "__init__.py").is_file():
            subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), rev], cwd=REPO, check=True,
                           capture_output=True)
        for var in variants:
            if var["engine"].startswith("chainrule"):
                label = var["label"].replace(var["engine"], f"{var['engine']}@{rev}", 1)
                out.append(var | {"label": label, "env": {"CHAINRULE_PATH": str(path)}})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmark", choices=[*BENCHMARKS, "all"])
    ap.add_argument("--reps", type=int, default=3, help="rounds: runs of each engine (default 3)")
    ap.add_argument("--engines", help="comma-separated labels to run (default: all of the benchmark)")
    ap.add_argument("--quiet-wait", type=float, default=15,
                    help="before each run, wait up to this many seconds for an idle machine (default 15)")
    ap.add_argument("--log", help="append every run's JSON result to this file")
    ap.add_argument("--malloc", choices=("default", "tuned"), default="default",
                    help="tuned: every engine's run gets MALLOC_MMAP_THRESHOLD_=33554432 "
                         "MALLOC_TRIM_THRESHOLD_=1073741824 (../shared/bench's --malloc tuned: glibc keeps freed "
                         "memory, so no engine page-faults its temporaries in each step; importing chainrule sets "
                         "much the same itself, see autograd/malloc.py); default: the environment as it is")
    ap.add_argument("--openblas-core", metavar="CORE",
                    help="every engine's run gets OPENBLAS_CORETYPE=CORE (numpy's OpenBLAS then uses that CPU's "
                         "kernels, e.g. Haswell: its AVX2 sgemm is about 8%% faster than the AVX-512 SkylakeX one "
                         "that OpenBLAS picks on AMD Zen 4); default: unset")
    ap.add_argument("--at", help="comma-separated git commits: also run every chainrule engine on each of "
                                 "them (labelled 'chainrule@COMMIT'), for before/after figures in one run")
    args = ap.parse_args()

    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["CHAINRULE_PATH"] = os.path.abspath(os.environ.get("CHAINRULE_PATH") or REPO)
    if args.openblas_core:
        env["OPENBLAS_CORETYPE"] = args.openblas_core
    if args.malloc == "tuned":
        env |= {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
    names = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    for name in names:
        spec = dict(BENCHMARKS[name])
        if args.engines:
            wanted = args.engines.split(",")
            spec["variants"] = [var for var in spec["variants"] if var["label"] in wanted]
        if args.at:
            spec["variants"] = with_commits(spec["variants"], args.at.split(","))
        per_round, errors, noisy, busy_host = [], {}, [], []
        for rep in range(args.reps):
            results = {}
            for var in spec["variants"]:
                speedup = probe_host(env)
                busy, waited = wait_for_quiet(args.quiet_wait)
                r = run_once(spec["script"], var, env | var.get("env", {}), spec["timeout"])
                r["second_core_speedup"] = speedup
                if "error" in r:
                    errors.setdefault(var["label"], []).append(r["error"])
                else:
                    results[var["label"]] = r
                    if r["foreign_cpu_share"] > 0.05:
                        noisy.append(f"{var['label']} (round {rep}): {r['foreign_cpu_share']:.0%}")
                    if contended(r):
                        busy_host.append(f"{var['label']} (round {rep}): {speedup:.2f}x")
                if args.log:
                    with open(args.log, "a") as log:
                        log.write(json.dumps({"benchmark": name, "round": rep, "label": var["label"]} | r) + "\n")
                status = r.get("error") or ", ".join(f"{t}={fmt(metric(r, k))}" for k, t in spec["metrics"])
                second = "-" if speedup is None else f"{speedup:.2f}x"
                print(f"[{name}] round {rep} {var['label']}: {status}  (busy before {busy:.0%}, "
                      f"waited {waited:.0f} s, others' CPU {r.get('foreign_cpu_share', 0):.0%}, "
                      f"second core {second})", file=sys.stderr, flush=True)
            per_round.append(results)
        lines = [f"### {name} ({args.reps} rounds, engines interleaved, each run a fresh process; "
                 f"OPENBLAS_* unset{'' if not args.openblas_core else ' but OPENBLAS_CORETYPE=' + args.openblas_core}; malloc {args.malloc}; {time.strftime('%Y-%m-%d %H:%M')})", ""]
        lines += table(name, spec, per_round, errors)
        labels = {var["label"] for var in spec["variants"]}
        checks = {}  # issue -> lines
        for lab, key, ref, limit, *issue in spec["targets"]:
            if lab in labels and ref in labels:
                x = ratio(per_round, lab, ref, key)
                verdict = "-" if x is None else ("met" if x <= limit else "NOT met")
                line = (f"- {lab} {key} / {ref}: {'-' if x is None else f'{x:.2f}x'} "
                        f"(target at most {limit}x): {verdict}")
                if busy_host:
                    free = ratio(per_round, lab, ref, key, free_only=True)
                    line += ("; over the rounds with the second core free: " +
                             ("none" if free is None else f"{free:.2f}x, {'met' if free <= limit else 'NOT met'}"))
                checks.setdefault(issue[0] if issue else spec.get("issue", 2), []).append(line)
        for issue, found in checks.items():
            lines += ["", f"Targets of {issue if isinstance(issue, str) else f'issue {issue}'}:", *found]
        if noisy:
            lines += ["", "Runs during which other processes used over 5% of the machine: " + ", ".join(noisy)]
        if busy_host:
            lines += ["", f"Runs made while the host used our second core (a second BLAS thread sped a small "
                          f"product up by under {CONTENDED_BELOW}x, against about 1.8x when it is free; see "
                          f"host_probe.py): " + ", ".join(busy_host)]
        print("\n".join(lines) + "\n", flush=True)


if __name__ == "__main__":
    main()
