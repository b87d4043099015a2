#!/usr/bin/env bash
# Re-pushing a pipeline whose 10,000 local input files are unchanged (issue 13): `mlk push`
# must upload zero bytes and spend under 1 s on the store. Compared with `aws s3 sync` of the
# same directory on the same loopback moto server. bench/push_bench.py does the work (see its
# docstring: requests are counted from moto's log, uploads must be zero).
#
#   bench/push.sh                        # 5 runs after the first, medians
#   RUNS=3 FILES=2000 bench/push.sh
#   MLK=target/debug/mlk bench/push.sh   # another mlk binary
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
