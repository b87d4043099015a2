#!/usr/bin/env python3
"""Whole-process timing of `mlk run` of many trivial steps: the executor's own overhead.

    bench/run_bench.py --mlk target/release/mlk [--runs 5] [--warmup 1] [--jobs 2]
                       [--sizes 10,500,5000] [--large-runs N]

For every size N, writes two pipelines of N steps whose command is `true` (a process that
does nothing, so what is timed is mlk: scheduling, the run record, log files, cache records,
process start): `independent` (no edges) and `chain` (each step `after` the one before). Each
case runs in a directory of its own on the built-in local stack (no --stack: steps are local
processes, `.mlk/` in that directory), as

    mlk run PIPELINE --no-cache -j JOBS

(--no-cache: every run runs every step, and still writes every cache record). Before every
run, untimed, the previous runs' directories under .mlk/runs are removed, so each run starts
from the same state. `--warmup` runs are untimed; then `--runs` runs (`--large-runs` for
sizes of 1,000 steps or more, whose runs are long) are timed with time.perf_counter() around
subprocess.run, stdout and stderr to /dev/null. A run that exits non-zero aborts the
benchmark.

Prints per case the min / median / max milliseconds of the whole process, the median per
step (median / N), the marginal median per step ((median - median of the 1-step run of the
same shape) / (N - 1)), which leaves out process start, loading and resolving, and the median
CPU time (user + system, of mlk and its step processes) per step: on a machine shared with
other work, wall-clock time per step of a chain includes waiting for a CPU at every step's
start and end, and CPU time shows mlk's own cost apart from that.
Python 3 standard library only.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROW = "{:<12} {:>6} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>5}"


def pipeline(path, n, chain):
    """N `true` steps, each after the one before when `chain`."""
    out = [
        "[pipeline]",
        f'name = "run-bench-{n}"',
        "",
        "[defaults]",
        'image = "busybox:1.36"',
        "",
    ]
    for i in range(n):
        out.append(f"[steps.s{i:05d}]")
        out.append('command = ["true"]')
        if chain and i > 0:
            out.append(f'after = ["s{i - 1:05d}"]')
        out.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def cpu_seconds():
    """User + system CPU time of every child process that ended so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(mlk, file, jobs, runs, warmup, cwd):
    """Wall-clock and CPU seconds (mlk and its steps) of each timed run of `mlk run FILE`."""
    cmd = [mlk, "run", file, "--no-cache", "-j", str(jobs)]
    times = []
    cpu = []
    for i in range(warmup + runs):
        shutil.rmtree(os.path.join(cwd, ".mlk", "runs"), ignore_errors=True)
        cpu_start = cpu_seconds()
        start = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if p.returncode != 0:
            sys.exit(f"run_bench: FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode()}")
        if i >= warmup:
            times.append(elapsed)
            cpu.append(cpu_seconds() - cpu_start)
    return times, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlk", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--large-runs", type=int, help="runs of sizes >= 1000 (default: --runs)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sizes", default="10,500,5000")
    a = ap.parse_args()
    mlk = os.path.abspath(a.mlk)
    sizes = [int(s) for s in a.sizes.split(",")]
    large_runs = a.large_runs or a.runs

    tmp = tempfile.mkdtemp(prefix="mlk-run-bench-")
    try:
        print(
            ROW.format("case", "steps", "min ms", "median ms", "max ms", "ms/step", "marginal", "cpu/step", "runs")
        )
        for shape in ("independent", "chain"):
            floor = None
            for n in [1] + sizes:
                cwd = os.path.join(tmp, f"{shape}-{n}")
                os.makedirs(cwd)
                file = os.path.join(cwd, "pipeline.toml")
                pipeline(file, n, shape == "chain")
                runs = large_runs if n >= 1000 else a.runs
                times, cpu = timed(mlk, file, a.jobs, runs, a.warmup, cwd)
                ms = [t * 1000.0 for t in times]
                median = statistics.median(ms)
                if n == 1:
                    floor = median
                marginal = f"{(median - floor) / (n - 1):.2f}" if n > 1 else "-"
                print(
                    ROW.format(
                        shape,
                        n,
                        f"{min(ms):.1f}",
                        f"{median:.1f}",
                        f"{max(ms):.1f}",
                        f"{median / n:.2f}",
                        marginal,
                        f"{statistics.median(cpu) * 1000.0 / n:.2f}",
                        len(ms),
                    ),
                    flush=True,
                )
                shutil.rmtree(cwd, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
