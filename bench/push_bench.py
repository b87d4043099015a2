#!/usr/bin/env python3
"""Re-pushing unchanged local inputs: `mlk push` of a pipeline whose one input is a directory of
--files small files, against `aws s3 sync` of the same directory, on a loopback moto server.

    bench/push_bench.py --mlk MLK --bin VENV_BIN [--runs 5] [--files 10000] [--file-kib 1]

The first `mlk push` stores the directory under its content address (and the first `aws s3
sync` copies it); every later run finds the inputs unchanged. For each later run the script
records the wall time, the requests the server received during that run (moto logs one line
per request: method counts are read from that log) and the bytes uploaded (PUT and POST
requests; must be 0). `mlk render` of the same pipeline, which hashes the inputs the same way
but talks to no store, is timed too: `push - render` is the time spent on the store. Prints
medians, min and max. Python 3 standard library only; reuses transfer_bench.py's helpers.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer_bench as tb  # noqa: E402

PIPELINE = """[pipeline]
name = "repush"

[steps.count]
image = "python:3.12-slim"
inputs = { data = "data" }
outputs = ["n"]
command = ["sh", "-c", "find {{ inputs.data }} -type f | wc -l > {{ outputs.n }}"]
"""

STACK = """[stack]
name = "bench"
backend = "kubernetes"
namespace = "ml"

[artifacts]
uri = "s3://bench/mlk"
endpoint = "ENDPOINT"
region = "us-east-1"
launcher_image = "example.invalid/mlk-launcher:0.1.0"
"""

REQUEST = re.compile(r'"(GET|HEAD|PUT|POST|DELETE) ')


def requests_since(log, offset):
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        text = f.read()
        end = f.tell()
    counts = {}
    for method in REQUEST.findall(text):
        counts[method] = counts.get(method, 0) + 1
    return counts, end


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        tb.measure(sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlk", required=True)
    ap.add_argument("--bin", required=True, help="the venv's bin directory (moto_server, aws)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--file-kib", type=int, default=1)
    args = ap.parse_args()
    env = tb.bench_env()
    with tempfile.TemporaryDirectory(prefix="mlk-push-") as scratch:
        log = os.path.join(scratch, "moto.log")
        with open(log, "wb") as log_file:
            moto = tb.Moto(args.bin, log=log_file)
        try:
            data = os.path.join(scratch, "data")
            for i in range(args.files):
                sub = os.path.join(data, f"d{i // 100:03}")
                os.makedirs(sub, exist_ok=True)
                with open(os.path.join(sub, f"f{i:05}.txt"), "wb") as f:
                    f.write(os.urandom(args.file_kib << 10))
            pipeline = os.path.join(scratch, "pipeline.toml")
            stack = os.path.join(scratch, "stack.toml")
            with open(pipeline, "w") as f:
                f.write(PIPELINE)
            with open(stack, "w") as f:
                f.write(STACK.replace("ENDPOINT", moto.endpoint))
            push = [args.mlk, "push", pipeline, "--stack", stack]
            render = [args.mlk, "render", pipeline, "--stack", stack]
            sync = [os.path.join(args.bin, "aws"), "s3", "sync", "--only-show-errors",
                    "--endpoint-url", moto.endpoint, data, "s3://bench/aws/data"]
            offset = 0
            first = {}
            for name, cmd in (("mlk push", push), ("aws s3 sync", sync)):
                first[name] = tb.timed(cmd, env)["wall"]
                counts, offset = requests_since(log, offset)
                print(f"first {name}: {first[name]:.2f} s, requests {counts}", file=sys.stderr)
            walls = {"mlk push": [], "mlk render": [], "aws s3 sync": []}
            requests = {"mlk push": [], "aws s3 sync": []}
            for run in range(args.runs):
                for name, cmd in (("mlk push", push), ("mlk render", render),
                                  ("aws s3 sync", sync)):
                    walls[name].append(tb.timed(cmd, env)["wall"])
                    counts, offset = requests_since(log, offset)
                    if name in requests:
                        requests[name].append(counts)
                    uploads = counts.get("PUT", 0) + counts.get("POST", 0)
                    if uploads:
                        sys.exit(f"push_bench: {name} run {run + 1} uploaded ({counts})")
                print(f"  run {run + 1} of {args.runs} done", file=sys.stderr)
        finally:
            moto.stop()
    print(f"{args.files} unchanged files of {args.file_kib} KiB in one input directory; "
          f"{args.runs} runs after the first")
    print(f"{'command':<12} {'median s':>8} {'min s':>7} {'max s':>7}  requests per run (last run)")
    for name, ws in walls.items():
        reqs = requests[name][-1] if name in requests else {}
        print(f"{name:<12} {statistics.median(ws):>8.3f} {min(ws):>7.3f} {max(ws):>7.3f}  "
              f"{reqs or '-'}")
    store = statistics.median(
        p - r for p, r in zip(walls["mlk push"], walls["mlk render"]))
    print(f"time on the store (median of push - render): {store:.3f} s; bytes uploaded: 0")


if __name__ == "__main__":
    main()
