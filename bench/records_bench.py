#!/usr/bin/env python3
"""Cache records in the artifact store (`[cache] store = "artifacts"`, issue 14): how long
`mlk plan` takes to find them, against the same plan with records in `.mlk/cache`.

    bench/records_bench.py --mlk MLK --bin VENV_BIN [--runs 5] [--steps 200] [--days 30]
                           [--latency-ms 20]

A pipeline of --steps independent steps, each writing one output, runs once on a local stack
whose artifacts are in a loopback moto server (each step through the launcher, its record
written into its manifest), and once more with records in `.mlk/cache`. Then, per run:

- `plan (hits)`: every step a hit: one GET of the manifest (the record) and one HEAD per step;
- `plan (local)`: the same plan with records in `.mlk/cache` (no store request for records);
- `plan (misses)`: `--param salt=…` makes every key new: each step is compared with its
  newest record, found by one LIST of the step's manifests and one GET, however many there
  are (the step has --days earlier records, as a nightly step gains one a day).

With --latency-ms, `mlk plan` reaches moto through a proxy on 127.0.0.1 that holds every
request that long (a remote object store's round trip; moto itself answers in a few ms).

Prints medians, min and max of whole-process wall time. Requests per step, read from moto's
log: a hit is one GET (the manifest with its record) and one HEAD (the outputs' manifest is
there, the hit rule); a miss is one GET (no manifest at the new key), one LIST and one GET
(the newest record). Python 3 standard library only.
"""

import argparse
import asyncio
import os
import threading
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer_bench as tb  # noqa: E402

STACK = """[stack]
name = "bench"
backend = "local"

[artifacts]
uri = "s3://bench/mlk"
endpoint = "ENDPOINT"
region = "us-east-1"

[cache]
store = "STORE"
"""


def delaying_proxy(target_port, delay):
    """Starts a TCP proxy on 127.0.0.1 (in a thread) that forwards to target_port, holding
    each chunk a client sends for `delay` seconds; returns its port."""
    ready = threading.Event()
    box = {}

    async def pipe(reader, writer, hold):
        try:
            while data := await reader.read(65536):
                if hold:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def handle(client_r, client_w):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    ready.wait()
    return box["port"]


def pipeline(steps):
    out = ['[pipeline]\nname = "records"\n\n[params]\nsalt = "0"\n\n[defaults]\n'
           'image = "python:3.12-slim"\n']
    for i in range(steps):
        out.append(f'\n[steps.s{i:04}]\noutputs = ["o"]\n'
                   f'command = ["sh", "-c", "echo {{{{ params.salt }}}} {i} > {{{{ outputs.o }}}}"]\n')
    return "".join(out)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        tb.measure(sys.argv[3:] if sys.argv[2] == "--" else sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlk", required=True)
    ap.add_argument("--bin", required=True, help="the venv's bin directory (moto_server)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--latency-ms", type=int, default=0)
    args = ap.parse_args()
    env = tb.bench_env()
    with tempfile.TemporaryDirectory(prefix="mlk-records-") as scratch:
        moto = tb.Moto(args.bin)
        try:
            with open(os.path.join(scratch, "pipeline.toml"), "w") as f:
                f.write(pipeline(args.steps))
            for store in ("artifacts", "local"):
                with open(os.path.join(scratch, f"{store}.toml"), "w") as f:
                    f.write(STACK.replace("ENDPOINT", moto.endpoint).replace("STORE", store))
            if args.latency_ms:
                port = delaying_proxy(moto.port, args.latency_ms / 1000.0)
                with open(os.path.join(scratch, "far.toml"), "w") as f:
                    f.write(STACK.replace("ENDPOINT", f"http://127.0.0.1:{port}")
                            .replace("STORE", "artifacts"))

            def mlk(*a):
                return [args.mlk, *a]

            def run(cmd):
                p = subprocess.run(cmd, cwd=scratch, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
                if p.returncode != 0:
                    sys.exit(f"records_bench: {cmd} failed:\n{p.stderr.decode()}")

            # Earlier days' records: --days runs with other salts, then today's.
            for day in range(args.days):
                run(mlk("run", "pipeline.toml", "--stack", "artifacts.toml", "-p",
                        f"salt=day{day}", "-j", "2"))
                print(f"  day {day + 1} of {args.days} recorded", file=sys.stderr)
            run(mlk("run", "pipeline.toml", "--stack", "artifacts.toml", "-j", "2"))
            run(mlk("run", "pipeline.toml", "--stack", "local.toml", "-j", "2"))
            cases = {
                "plan (hits)": mlk("plan", "pipeline.toml", "--stack", "artifacts.toml"),
                "plan (local)": mlk("plan", "pipeline.toml", "--stack", "local.toml"),
                "plan (misses)": mlk("plan", "pipeline.toml", "--stack", "artifacts.toml",
                                     "-p", "salt=new"),
            }
            if args.latency_ms:
                cases[f"hits +{args.latency_ms}ms"] = mlk("plan", "pipeline.toml", "--stack",
                                                          "far.toml")
            walls = {name: [] for name in cases}
            os.chdir(scratch)
            for r in range(args.runs):
                for name, cmd in cases.items():
                    walls[name].append(tb.timed(cmd, env)["wall"])
                print(f"  run {r + 1} of {args.runs} done", file=sys.stderr)
        finally:
            moto.stop()
    print(f"{args.steps} steps, {args.days} earlier records per step; {args.runs} runs"
          + (f"; the last case through a proxy adding {args.latency_ms} ms per request"
             if args.latency_ms else ""))
    print(f"{'case':<14} {'median s':>8} {'min s':>7} {'max s':>7}")
    for name, ws in walls.items():
        print(f"{name:<14} {statistics.median(ws):>8.3f} {min(ws):>7.3f} {max(ws):>7.3f}")


if __name__ == "__main__":
    main()
