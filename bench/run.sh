#!/usr/bin/env bash
# Whole-process time of `mlk run` of 10, 500 and 5,000 trivial (`true`) steps on the local
# stack, independent and chained: the executor's overhead per step.
#
#   bench/run.sh                          # 5 timed runs per case after 1 warm-up, -j = CPUs
#   RUNS=7 LARGE_RUNS=3 JOBS=2 bench/run.sh
#   SIZES=10,500 bench/run.sh             # skip the long 5,000-step cases
#
# Builds the release binary (offline), then bench/run_bench.py writes the pipelines into a
# temporary directory and times `mlk run PIPELINE --no-cache -j JOBS` (no --stack: the
# built-in local stack, steps as local processes, .mlk/ in the case's directory), removing
# the previous runs' directories untimed before each run. Prints min / median / max
# milliseconds, the median per step, the marginal median per step (leaving out the
# 1-step run's time: process start, load, resolve) and the CPU time per step.
#
# Target (issue #11, point 8): under 2 ms per step, the same at 10 and at 5,000 steps.
# A `true` process start costs about 1 ms of that.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
LARGE_RUNS=${LARGE_RUNS:-$RUNS}
WARMUP=${WARMUP:-1}
JOBS=${JOBS:-$(nproc)}
SIZES=${SIZES:-10,500,5000}

if ((RUNS < 3 || LARGE_RUNS < 3)); then
  echo "bench/run.sh: RUNS and LARGE_RUNS must be at least 3" >&2
  exit 2
fi

cargo build --release --locked --offline --quiet

echo "mlk run overhead, whole process, local stack, -j $JOBS, --no-cache"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "timer: bench/run_bench.py, $WARMUP warm-up(s), $RUNS runs ($LARGE_RUNS at 1,000 steps and more)"
echo
python3 bench/run_bench.py --mlk target/release/mlk --runs "$RUNS" --large-runs "$LARGE_RUNS" \
  --warmup "$WARMUP" --jobs "$JOBS" --sizes "$SIZES"
