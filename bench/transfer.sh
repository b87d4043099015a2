#!/usr/bin/env bash
# Moving artifacts through a loopback S3 server: `mlk store-cp` (the artifact store layer runs
# and the in-pod launcher use) against the AWS CLI (`aws s3 cp`, `aws s3 cp --recursive`), on
# the same moto server, up and down:
#
#   - one 1 GiB file (multipart upload; one streamed GET);
#   - 1,000 files of 1 MiB in 10 directories.
#
#   bench/transfer.sh                     # 5 runs per case, medians
#   RUNS=3 SIZE_MIB=256 FILES=200 bench/transfer.sh
#   MLK=target/release/mlk bench/transfer.sh   # another mlk binary
#
# moto and the AWS CLI come from .ci/s3-venv.sh (PyPI, cached). The mlk measured is the static
# launcher build (scripts/build-launcher.sh), the binary pods run. bench/transfer_bench.py does
# the work: see its docstring for how time and peak RSS are measured. Needs ~3 GiB of free
# memory (moto keeps objects in memory) and 2.2 GiB of free disk in $TMPDIR.
#
# Target (issue 13): at least as fast as the AWS CLI, peak RSS under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
FILES=${FILES:-1000}
CASES=${CASES:-big,many}

bin=$(.ci/s3-venv.sh)
if [ -z "${MLK:-}" ]; then
  scripts/build-launcher.sh >/dev/null
  MLK=target/x86_64-unknown-linux-gnu/release/mlk
fi

echo "transfers through moto on 127.0.0.1: mlk store-cp vs aws s3 cp; $RUNS runs, medians"
echo "mlk: $MLK ($("$MLK" --version)); $("$bin/aws" --version 2>&1); moto $("$bin/python" -c 'import moto; print(moto.__version__)')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 bench/transfer_bench.py --mlk "$MLK" --bin "$bin" --runs "$RUNS" \
  --size-mib "$SIZE_MIB" --files "$FILES" --cases "$CASES"
