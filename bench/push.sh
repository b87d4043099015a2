#!/usr/bin/env bash
# Re-pushing a pipeline whose 10,000 local input files are unchanged (issue 13): `mlk push`
# must upload zero bytes and spend under 1 s on the store. Compared with `aws s3 sync` of the
# same directory on the same loopback moto server. bench/push_bench.py does the work (see its
# docstring: requests are counted from moto's log, uploads must be zero).
#
#   bench/push.sh                        # 5 runs after the first, medians
#   RUNS=3 FILES=2000 bench/push.sh
#   MLK=target/debug/mlk bench/push.sh   # another mlk binary
#
# Measured 2026-12-06 (5 runs after the first; 2 shared CPUs, load average 5-9 from other
# builds; release build; moto 5.2.1, aws-cli 1.45.11), 10,000 files of 1 KiB in 100 directories:
#
#   first upload   mlk push 27.39 s (10,002 PUTs, 1 HEAD)   aws s3 sync 55.73 s (10,000 PUTs)
#   command      median s   min s   max s  requests per run
#   mlk push        0.088   0.066   0.163  1 HEAD (the input's marker), 0 bytes uploaded
#   mlk render      0.061   0.048   0.077  none (hashing through the stat cache)
#   aws s3 sync     5.578   4.570   7.573  10 GETs (listing 10,000 objects)
#   time on the store (median of push - render): 0.031 s
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
FILES=${FILES:-10000}

bin=$(.ci/s3-venv.sh)
if [ -z "${MLK:-}" ]; then
  cargo build --release --locked --quiet
  MLK=target/release/mlk
fi
echo "re-push through moto on 127.0.0.1: mlk push vs aws s3 sync; $RUNS runs, medians"
echo "mlk: $MLK ($("$MLK" --version)); $("$bin/aws" --version 2>&1)"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 bench/push_bench.py --mlk "$MLK" --bin "$bin" --runs "$RUNS" --files "$FILES"
