#!/usr/bin/env python3
"""Transfers through a loopback S3 server (moto): `mlk store-cp` against the AWS CLI.

    bench/transfer_bench.py --mlk MLK --bin VENV_BIN [--runs 5] [--size-mib 1024]
                            [--files 1000] [--file-mib 1] [--cases big,many]

Starts `VENV_BIN/moto_server` on 127.0.0.1 (a fresh one per case, so that objects from earlier
cases do not fill its memory), writes the data into a temporary directory (one file of
--size-mib MiB of random bytes; --files files of --file-mib MiB), then for every run, mlk and
aws in turn: upload, then download into a fresh directory. The AWS CLI runs with its default
settings (10 concurrent requests, 8 MiB parts): `aws s3 cp` for the file, `aws s3 cp
--recursive` for the directory (`aws s3 sync` would skip the files of the previous run). Each
command is timed (wall clock) and its peak resident memory read (getrusage RUSAGE_CHILDREN in a
fresh measuring process around the one child). Prints median, min and max seconds, MiB/s at
the median, and peak RSS (median and max MiB). Every download is compared with its source.
Python 3 standard library only.
"""

import argparse
import filecmp
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAMLKBENCH",
    "AWS_SECRET_ACCESS_KEY": "mlk-bench-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def bench_env():
    """This process's environment with moto's credentials, and without the AWS settings that
    would send the tools elsewhere."""
    env = dict(os.environ, **CREDENTIALS)
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        env.pop(var, None)
    return env


def measure(cmd):
    """Runs cmd (in a fresh process: this one), prints {"wall": s, "rss_kib": n} as JSON."""
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        sys.exit(f"transfer_bench: `{' '.join(cmd)}` exited with {p.returncode}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"wall": wall, "rss_kib": rss}))


def timed(cmd, env):
    out = subprocess.run(
        [sys.executable, __file__, "--measure", "--", *cmd],
        env=env,
        stdout=subprocess.PIPE,
        check=True,
    )
    return json.loads(out.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self, bin_dir, log=subprocess.DEVNULL):
        """Starts moto_server; its request log (one line per request) goes to `log`."""
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    sys.exit("transfer_bench: moto_server did not start")
                time.sleep(0.2)
        req = urllib.request.Request(self.endpoint + "/bench", method="PUT")
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def write_data(root, size_mib, files, file_mib):
    big = os.path.join(root, "big.bin")
    with open(big, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(1 << 20))
    many = os.path.join(root, "many")
    for i in range(files):
        sub = os.path.join(many, f"d{i // 100:02}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:04}.bin"), "wb") as f:
            f.write(os.urandom(file_mib << 20))
    return big, many


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(
        same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs
    )


def commands(tool, args, endpoint, src, is_dir, key, dst):
    uri = f"s3://bench/{tool}/{key}"
    if tool == "mlk":
        up = [args.mlk, "store-cp", src, uri, "--endpoint", endpoint]
        down = [args.mlk, "store-cp", uri, dst, "--endpoint", endpoint]
    else:
        aws = [os.path.join(args.bin, "aws"), "s3", "cp", "--only-show-errors"]
        aws += ["--endpoint-url", endpoint] + (["--recursive"] if is_dir else [])
        up = aws + [src, uri]
        down = aws + [uri, dst]
    return up, down


def run_case(args, name, src, is_dir, total_bytes, scratch, env):
    moto = Moto(args.bin)
    results = {}
    try:
        for run in range(args.runs):
            for tool in ("mlk", "aws"):
                dst = os.path.join(scratch, f"{tool}-{name}")
                shutil.rmtree(dst, ignore_errors=True)
                if os.path.isfile(dst):
                    os.remove(dst)
                up, down = commands(tool, args, moto.endpoint, src, is_dir, name, dst)
                for op, cmd in (("up", up), ("down", down)):
                    results.setdefault((tool, op), []).append(timed(cmd, env))
                ok = same_tree(src, dst) if is_dir else filecmp.cmp(src, dst, shallow=False)
                if not ok:
                    sys.exit(f"transfer_bench: {tool} {name} run {run}: download differs")
            print(f"  {name}: run {run + 1} of {args.runs} done", file=sys.stderr)
    finally:
        moto.stop()
    for op in ("up", "down"):
        for tool in ("mlk", "aws"):
            rs = results[(tool, op)]
            walls = [r["wall"] for r in rs]
            rss = [r["rss_kib"] / 1024 for r in rs]
            med = statistics.median(walls)
            print(
                ROW.format(
                    name,
                    op,
                    tool,
                    f"{med:.2f}",
                    f"{min(walls):.2f}",
                    f"{max(walls):.2f}",
                    f"{total_bytes / (1 << 20) / med:.0f}",
                    f"{statistics.median(rss):.1f}",
                    f"{max(rss):.1f}",
                )
            )
        sys.stdout.flush()


ROW = "{:<6} {:<5} {:<4} {:>8} {:>7} {:>7} {:>7} {:>10} {:>8}"


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        measure(sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlk", required=True)
    ap.add_argument("--bin", required=True, help="the venv's bin directory (moto_server, aws)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--file-mib", type=int, default=1)
    ap.add_argument("--cases", default="big,many")
    args = ap.parse_args()
    env = bench_env()
    with tempfile.TemporaryDirectory(prefix="mlk-transfer-") as scratch:
        big, many = write_data(scratch, args.size_mib, args.files, args.file_mib)
        print(ROW.format("case", "op", "tool", "median s", "min s", "max s", "MiB/s",
                         "RSS med MiB", "RSS max"))
        cases = args.cases.split(",")
        if "big" in cases:
            run_case(args, "big", big, False, args.size_mib << 20, scratch, env)
        if "many" in cases:
            total = args.files * (args.file_mib << 20)
            run_case(args, "many", many, True, total, scratch, env)


if __name__ == "__main__":
    main()
