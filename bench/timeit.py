#!/usr/bin/env python3
"""Whole-process timing of one command: the fallback of bench/render.sh without hyperfine.

    bench/timeit.py [--runs 20] [--warmup 3] [--label NAME] [--steps N] -- CMD [ARG...]
    bench/timeit.py --header
    bench/timeit.py --hyperfine-json FILE [--label NAME] [--steps N]

Runs CMD `--warmup` times untimed, then `--runs` times with time.perf_counter() around
subprocess.run (stdout to /dev/null), and prints one table row: min / median / max in
milliseconds. Any run that exits non-zero aborts with its stderr. `--hyperfine-json` prints
the same row from a `hyperfine --export-json` file instead, so both paths print one table.
Python 3 standard library only.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

ROW = "{:<12} {:>6} {:>9} {:>10} {:>9} {:>5}"


def header():
    print(ROW.format("case", "steps", "min ms", "median ms", "max ms", "runs"))


def row(label, steps, times):
    ms = [t * 1000.0 for t in times]
    print(
        ROW.format(
            label,
            steps,
            f"{min(ms):.2f}",
            f"{statistics.median(ms):.2f}",
            f"{max(ms):.2f}",
            len(ms),
        )
    )


def run_once(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        sys.exit(f"timeit: `{' '.join(cmd)}` exited with {p.returncode}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--label", default="")
    ap.add_argument("--steps", default="")
    ap.add_argument("--header", action="store_true", help="print the table header only")
    ap.add_argument("--hyperfine-json", metavar="FILE")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()

    if args.header:
        header()
        return
    if args.hyperfine_json:
        with open(args.hyperfine_json, encoding="utf-8") as f:
            result = json.load(f)["results"][0]
        for code in result.get("exit_codes", []):
            if code != 0:
                sys.exit(f"timeit: hyperfine recorded exit code {code}")
        row(args.label, args.steps, result["times"])
        return

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd or args.runs < 1:
        ap.error("give a command after `--`, and --runs of at least 1")
    for _ in range(args.warmup):
        run_once(cmd)
    row(args.label, args.steps, [run_once(cmd) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
