#!/usr/bin/env bash
# mlk render against Helm's template engine on the same 1000-step workload.
#
#   bench/render-vs-helm.sh              # 15 timed runs per tool after 3 warm-ups
#   RUNS=30 STEPS=2000 bench/render-vs-helm.sh
#
# The workload: bench/gen_pipeline.py's synthetic pipeline (jobs, 4-replica PyTorchJobs, GPUs,
# env, secrets) for examples/stacks/dev.toml. `mlk plan -o json` of it is handed to the Helm
# chart in bench/helm-chart as its values, so Helm only templates steps mlk has already resolved
# (names, cache keys, resources): the comparison favours Helm. The peer is helm-python-sdk (from
# PyPI: Helm v4's Go engine behind a C ABI, no helm binary), installed into a virtualenv under
# ${XDG_CACHE_HOME:-~/.cache}/mlk-bench-helm on first use.
#
# Prints, in milliseconds: mlk render as a whole process; the Helm peer as a whole process
# (Python start-up, loading the Go library and the chart, one render); and Helm's render call
# alone, in process (the median of RUNS renders), which is the engine without any start-up.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-15}
WARMUP=${WARMUP:-3}
STEPS=${STEPS:-1000}
STACK=examples/stacks/dev.toml
BIN=target/release/mlk
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/mlk-bench-helm"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import helm_python' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'helm-python-sdk==0.2.2'
fi
cargo build --release --locked --quiet

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/gen_pipeline.py "$tmp/bench.toml" --steps "$STEPS" --stack "$STACK"
"$BIN" plan "$tmp/bench.toml" --stack "$STACK" -o json >"$tmp/plan.json" 2>/dev/null
"$BIN" render "$tmp/bench.toml" --stack "$STACK" >"$tmp/mlk.yaml"
"$VENV/bin/python" bench/helm_render.py "$tmp/plan.json" --out "$tmp/helm.yaml"
echo "documents: mlk $(grep -c '^kind: ' "$tmp/mlk.yaml"), helm $(grep -c '^kind: ' "$tmp/helm.yaml")"
echo "bytes:     mlk $(wc -c <"$tmp/mlk.yaml"), helm $(wc -c <"$tmp/helm.yaml")"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo
python3 bench/timeit.py --header
python3 bench/timeit.py --warmup "$WARMUP" --runs "$RUNS" --label mlk --steps "$STEPS" -- \
  "$BIN" render "$tmp/bench.toml" --stack "$STACK"
python3 bench/timeit.py --warmup "$WARMUP" --runs "$RUNS" --label helm --steps "$STEPS" -- \
  "$VENV/bin/python" bench/helm_render.py "$tmp/plan.json"
echo
echo "helm render call alone, in process: median $("$VENV/bin/python" bench/helm_render.py "$tmp/plan.json" --repeat "$RUNS") ms over $RUNS renders"
