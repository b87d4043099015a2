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
#
# Measured 2026-12-06 (RUNS=3; 2 shared CPUs, load average 6-9 from other builds; static
# launcher build; moto 5.2.1, aws-cli 1.45.11 with its defaults):
#
#   case   op    tool median s   min s   max s   MiB/s RSS med MiB  RSS max
#   big    up    mlk     14.76    9.26   15.35      69       37.3     37.3
#   big    up    aws     13.37    9.70   14.40      77       91.6     91.7
#   big    down  mlk      2.30    1.41    2.44     446       22.1     22.1
#   big    down  aws     92.02   81.95  109.12      11      126.6    126.9
#   many   up    mlk      5.18    4.81    6.78     193       32.5     34.3
#   many   up    aws      8.80    8.66    9.40     114       91.0     91.4
#   many   down  mlk      3.41    3.07    3.52     293       27.1     27.5
#   many   down  aws      5.92    5.58    7.13     169       79.3     79.6
#
# The 1 GiB upload is moto-bound (it hashes and stores every part in Python): both tools vary
# from 9 to 15 s under that load. Again at load average 2.3, three alternating uploads each
# (same script's measuring): mlk 6.43 / 6.71 / 8.06 s (median 6.71, 35 MiB), aws 6.62 / 6.91 /
# 9.46 s (median 6.91, 93 MiB). aws's 1 GiB download is slow because it fetches 8 MiB ranges and moto reads
# the whole object for each; mlk streams one GET per object.
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
