#!/usr/bin/env python3
"""Whole-process timing of input hashing (`mlk plan`) against openssl and sha256sum.

    bench/hash_bench.py --mlk target/release/mlk [--runs 7] [--warmup 1] [--keep DIR]

Generates, in a temporary directory (deleted afterwards unless --keep), three inputs:

  1gib      one 1 GiB file of random bytes
  100x20mib a tree of 100 files of 20 MiB
  10k-small a tree of 10,000 files of 1 KiB in 100 directories

and a pipeline per input whose one step has `inputs = { data = "<input>" }`. Each case runs
`--warmup` times untimed (which also warms the page cache), then `--runs` times, and prints
min / median / max milliseconds:

  - `mlk plan` with the stat cache removed before every run (`rm -f .mlk/stat-cache`, in the
    same `sh -c`), so every byte is read and hashed: cases 1gib and 100x20mib;
  - the baselines on the same data: `openssl dgst -sha256 FILE`, and
    `find DIR -type f -print0 | sort -z | xargs -0 -P2 sha256sum`;
  - `mlk plan` on the unchanged 10k tree with a warm stat cache (files are dated an hour
    back, since the stat cache ignores files changed in the last 2 seconds), and
    `mlk plan` of the same pipeline without inputs as the floor (process start, load,
    resolve, print).

Python 3 standard library only.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
ROW = "{:<34} {:>9} {:>10} {:>9} {:>5}"

PIPELINE = """[pipeline]
name = "hash-bench"

[steps.read]
image = "python:3.12-slim"
command = ["python3", "-c", "pass"]
{inputs}
"""


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MIB)
            f.write(os.urandom(n))
            left -= n


def age(root):
    """Dates every file an hour back, so the stat cache trusts it."""
    t = time.time() - 3600
    for dirpath, _, names in os.walk(root):
        for n in names:
            os.utime(os.path.join(dirpath, n), (t, t))


def pipeline(dir, name, input_path):
    path = os.path.join(dir, name + ".toml")
    inputs = f'inputs = {{ data = "{input_path}" }}' if input_path else ""
    with open(path, "w") as f:
        f.write(PIPELINE.format(inputs=inputs))
    return path


def timed(cmd, runs, warmup, cwd, shell=False):
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        p = subprocess.run(
            cmd,
            cwd=cwd,
            shell=shell,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        elapsed = time.perf_counter() - start
        if p.returncode != 0:
            sys.exit(f"hash_bench: FAILED ({p.returncode}): {cmd}\n{p.stderr.decode()}")
        if i >= warmup:
            times.append(elapsed)
    return times


def row(label, times):
    ms = [t * 1000.0 for t in times]
    print(
        ROW.format(
            label,
            f"{min(ms):.1f}",
            f"{statistics.median(ms):.1f}",
            f"{max(ms):.1f}",
            len(ms),
        ),
        flush=True,
    )
    return statistics.median(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlk", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--keep", help="generate into this directory and keep it")
    a = ap.parse_args()
    mlk = os.path.abspath(a.mlk)

    tmp = a.keep or tempfile.mkdtemp(prefix="mlk-hash-bench-")
    os.makedirs(tmp, exist_ok=True)
    try:
        big = os.path.join(tmp, "big.bin")
        if not os.path.exists(big):
            write_random(big, 1024 * MIB)
        tree = os.path.join(tmp, "tree")
        if not os.path.isdir(tree):
            os.makedirs(tree)
            for i in range(100):
                write_random(os.path.join(tree, f"f{i:03}.bin"), 20 * MIB)
        small = os.path.join(tmp, "small")
        if not os.path.isdir(small):
            for d in range(100):
                os.makedirs(os.path.join(small, f"d{d:02}"))
                for i in range(100):
                    with open(os.path.join(small, f"d{d:02}", f"f{i:02}.txt"), "wb") as f:
                        f.write(os.urandom(1024))
            age(small)

        p_big = pipeline(tmp, "big", "big.bin")
        p_tree = pipeline(tmp, "tree", "tree/")
        p_small = pipeline(tmp, "small", "small/")
        p_none = pipeline(tmp, "none", None)
        fresh = f"rm -f .mlk/stat-cache && exec {mlk} plan"

        print(ROW.format("case", "min ms", "median ms", "max ms", "runs"))
        m_big = row("1gib: mlk plan (no stat cache)", timed(f"{fresh} {p_big}", a.runs, a.warmup, tmp, True))
        m_ossl = row("1gib: openssl dgst -sha256", timed(["openssl", "dgst", "-sha256", big], a.runs, a.warmup, tmp))
        m_tree = row("100x20mib: mlk plan (no stat cache)", timed(f"{fresh} {p_tree}", a.runs, a.warmup, tmp, True))
        m_sum = row(
            "100x20mib: find|sort|xargs -P2 sha256",
            timed("find tree -type f -print0 | sort -z | xargs -0 -P2 sha256sum", a.runs, a.warmup, tmp, True),
        )
        # One untimed run fills the stat cache; the timed ones re-key from it.
        timed(f"{fresh} {p_small}", 1, 0, tmp, True)
        m_small = row("10k-small: mlk plan (stat cache)", timed([mlk, "plan", p_small], a.runs, a.warmup, tmp))
        row("10k-small: mlk plan (no stat cache)", timed(f"{fresh} {p_small}", a.runs, a.warmup, tmp, True))
        row("floor: mlk plan, no inputs", timed([mlk, "plan", p_none], a.runs, a.warmup, tmp))
        print()
        print(f"1gib:      mlk / openssl          = {m_big / m_ossl:.2f}x   (target <= 1.10x)")
        print(f"100x20mib: sha256sum pipeline / mlk = {m_sum / m_tree:.2f}x   (target >= 3x)")
        print(f"10k-small: {m_small:.1f} ms unchanged re-key   (target < 50 ms)")
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
