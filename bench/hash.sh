#!/usr/bin/env bash
# Whole-process time of keying local inputs (`mlk plan`), against openssl and sha256sum.
#
#   bench/hash.sh                    # 7 timed runs per case after 1 warm-up
#   RUNS=11 WARMUP=2 bench/hash.sh
#   KEEP=/tmp/mlk-hash bench/hash.sh # keep the generated data (3 GiB) for the next run
#
# Builds the release binary (offline), then bench/hash_bench.py generates in a temporary
# directory (deleted afterwards) one 1 GiB file, a tree of 100 × 20 MiB files and a tree of
# 10,000 × 1 KiB files, and times, with a warm page cache, medians of:
#
#   1gib       mlk plan, stat cache removed before each run   vs  openssl dgst -sha256
#   100x20mib  mlk plan, stat cache removed before each run   vs  find | sort -z | xargs -0 -P2 sha256sum
#   10k-small  mlk plan re-keying the unchanged tree from .mlk/stat-cache (target < 50 ms)
#
# Targets (issue #4): 1 GiB ≤ 1.1× openssl; 100×20 MiB ≥ 3× faster than the sha256sum
# pipeline; 10k unchanged < 50 ms. Needs about 3.1 GiB free in $TMPDIR.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}

if ((RUNS < 5)); then
  echo "bench/hash.sh: RUNS must be at least 5" >&2
  exit 2
fi

cargo build --release --locked --offline --quiet

echo "mlk input hashing, whole process"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
  "SHA extensions: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
echo "openssl: $(openssl version)"
echo "sha256sum: $(sha256sum --version | head -1)"
echo "timer: bench/hash_bench.py, $WARMUP warm-up(s), $RUNS runs"
echo
args=(--mlk target/release/mlk --runs "$RUNS" --warmup "$WARMUP")
if [[ -n "${KEEP:-}" ]]; then
  args+=(--keep "$KEEP")
fi
python3 bench/hash_bench.py "${args[@]}"
