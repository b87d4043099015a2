#!/usr/bin/env bash
# Cache records in the artifact store (issue 14): `mlk plan` finding them in the step
# manifests on a loopback moto server, against records in .mlk/cache. bench/records_bench.py
# does the work (see its docstring).
#
#   bench/records.sh                         # 5 runs, 200 steps, 30 earlier records per step,
#                                            # and the hits through a proxy adding 20 ms a request
#   RUNS=3 STEPS=50 DAYS=5 bench/records.sh
#   MLK=target/debug/mlk bench/records.sh    # another mlk binary
#
# Measured 2026-12-06 (release build, 2 shared CPUs, load average ~2, moto 5.2.1), 200 steps:
#
#   30 earlier records per step (about 12,600 objects in the bucket), 5 runs
#   case           median s   min s   max s
#   plan (hits)       8.239   7.166   9.374
#   plan (local)      0.654   0.484   0.689
#   plan (misses)     8.126   7.236   9.093
#   hits +20ms        8.386   7.718   9.029
#
#   no earlier records (about 600 objects), 3 runs: plan (hits) 2.786, plan (local) 0.789,
#   plan (misses) 2.687
#
# Moto answers in Python, on the same 2 CPUs, and more slowly the more objects its bucket
# holds: it is the bound here (the same plan with lookups one at a time took 9.1 s and 2.8 s).
# The 20 ms a request that a remote store adds is hidden by the 16 lookups in flight: 400
# requests one after another would add at least 8 s.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
STEPS=${STEPS:-200}
DAYS=${DAYS:-30}
LATENCY_MS=${LATENCY_MS:-20}

bin=$(.ci/s3-venv.sh)
if [ -z "${MLK:-}" ]; then
  cargo build --release --locked --quiet
  MLK=$PWD/target/release/mlk
fi
echo "mlk plan with records in the artifact store (moto on 127.0.0.1) vs .mlk/cache; $RUNS runs, medians"
echo "mlk: $MLK ($("$MLK" --version)); machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 bench/records_bench.py --mlk "$MLK" --bin "$bin" --runs "$RUNS" --steps "$STEPS" --days "$DAYS" --latency-ms "$LATENCY_MS"
