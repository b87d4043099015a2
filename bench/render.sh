#!/usr/bin/env bash
# Whole-process time of `mlk render` at several pipeline sizes.
#
#   bench/render.sh                  # 20 timed runs per case after 3 warm-ups
#   RUNS=50 WARMUP=5 bench/render.sh
#   MLK_BIN=/tmp/mlk-old bench/render.sh    # time another build (no cargo build then)
#
# Builds the release binary (offline: the benchmark makes no network calls), generates
# 10-, 100- and 1000-step pipelines with bench/gen_pipeline.py into a temporary directory,
# checks that each renders (exit 0, one document per step), then times
# `target/release/mlk render PIPELINE --stack examples/stacks/dev.toml > /dev/null` for those
# and for examples/pipelines/quickstart.toml. Prints min / median / max in milliseconds.
# Uses hyperfine when it is installed, else bench/timeit.py (Python 3 standard library).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
STACK=examples/stacks/dev.toml
BIN=${MLK_BIN:-target/release/mlk}

if ((RUNS < 15)); then
  echo "bench/render.sh: RUNS must be at least 15 (medians of fewer runs are noise)" >&2
  exit 2
fi

[ -n "${MLK_BIN:-}" ] || cargo build --release --locked --offline --quiet

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cases=("quickstart:4:examples/pipelines/quickstart.toml")
for n in 10 100 1000; do
  python3 bench/gen_pipeline.py "$tmp/bench-$n.toml" --steps "$n" --stack "$STACK"
  cases+=("bench-$n:$n:$tmp/bench-$n.toml")
done

# A benchmark of a failing render would time the error path: check every case first.
for c in "${cases[@]}"; do
  IFS=: read -r label steps file <<<"$c"
  if ! "$BIN" render "$file" --stack "$STACK" >"$tmp/out.yaml" 2>"$tmp/err.txt"; then
    cat "$tmp/err.txt" >&2
    echo "bench/render.sh: FAILED: mlk render $file --stack $STACK" >&2
    exit 1
  fi
  docs=$(grep -c '^kind: ' "$tmp/out.yaml" || true)
  if [[ "$docs" != "$steps" ]]; then
    echo "bench/render.sh: FAILED: $label rendered $docs documents, expected $steps" >&2
    exit 1
  fi
done

echo "mlk render, whole process, --stack $STACK"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
if command -v hyperfine >/dev/null; then
  echo "timer: hyperfine, $WARMUP warm-ups, $RUNS runs"
else
  echo "timer: bench/timeit.py, $WARMUP warm-ups, $RUNS runs"
fi
echo
python3 bench/timeit.py --header
for c in "${cases[@]}"; do
  IFS=: read -r label steps file <<<"$c"
  cmd=("$BIN" render "$file" --stack "$STACK")
  if command -v hyperfine >/dev/null; then
    hyperfine --shell=none --style=none --warmup "$WARMUP" --runs "$RUNS" \
      --export-json "$tmp/$label.json" "${cmd[*]}" >/dev/null
    python3 bench/timeit.py --hyperfine-json "$tmp/$label.json" --label "$label" --steps "$steps"
  else
    python3 bench/timeit.py --warmup "$WARMUP" --runs "$RUNS" --label "$label" --steps "$steps" -- "${cmd[@]}"
  fi
done
