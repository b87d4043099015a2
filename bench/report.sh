#!/usr/bin/env bash
# Whole-process time of `mlk report` (the HTML run report) at 10, 200 and 1,000 steps: an
# upper bound of what writing report.html adds to the end of every `mlk run`.
#
#   bench/report.sh                   # 20 timed runs per case after 3 warm-ups
#   RUNS=30 SIZES=1000 bench/report.sh
#
# Builds the release binary (offline), writes layered pipelines of trivial (`true`) steps
# into a temporary directory (layers of about √N steps, each after one or two steps of the
# layer before), runs each once with `mlk run` on the built-in local stack (untimed), then
# times `mlk report RUN > /dev/null` with bench/timeit.py: process start, reading the run's
# graph, record, timeline, logs and cache records, the layout and the HTML. Prints min /
# median / max milliseconds, the median CPU time (user + system) and the size of each report.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
SIZES=${SIZES:-10,200,1000}

if ((RUNS < 15)); then
  echo "bench/report.sh: RUNS must be at least 15 (medians of fewer runs are noise)" >&2
  exit 2
fi

cargo build --release --locked --offline --quiet
MLK="$ROOT/target/release/mlk"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A layered pipeline of $1 `true` steps.
pipeline() {
  python3 - "$1" <<'PY'
import math, sys
n = int(sys.argv[1])
width = math.ceil(math.sqrt(n))
print('[pipeline]\nname = "report-bench"\n\n[defaults]\nimage = "alpine:3"\n')
for i in range(n):
    layer, row = divmod(i, width)
    print(f'[steps.s{i:04}]\ncommand = ["true"]')
    if layer > 0:
        prev = (layer - 1) * width
        after = {prev + (row * 7 + 3) % width}
        if row % 2 == 0:
            after.add(prev + (row * 3 + 1) % width)
        print("after = [" + ", ".join(f'"s{a:04}"' for a in sorted(after)) + "]")
    print()
PY
}

echo "mlk report, whole process, local stack"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/timeit.py --header
IFS=, read -r -a sizes <<<"$SIZES"
for n in "${sizes[@]}"; do
  dir="$tmp/$n"
  mkdir -p "$dir"
  pipeline "$n" >"$dir/pipeline.toml"
  (cd "$dir" && "$MLK" -q run pipeline.toml -j "$(nproc)" >/dev/null)
  run=$(ls "$dir/.mlk/runs")
  (cd "$dir" && python3 "$ROOT/bench/timeit.py" --runs "$RUNS" --warmup "$WARMUP" \
    --label report --steps "$n" -- "$MLK" report "$run")
  # CPU time (user + system) per run: what the report costs on a busy machine too.
  (cd "$dir" && python3 - "$RUNS" "$MLK" "$run" <<'PY'
import resource, statistics, subprocess, sys
runs, cmd = int(sys.argv[1]), sys.argv[2:]
cpu = []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([cmd[0], "report", cmd[1]], stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
print(f"             cpu (user + sys): median {statistics.median(cpu):.2f} ms")
PY
  )
  echo "             report.html: $(wc -c <"$dir/.mlk/runs/$run/report.html") bytes"
done
