#!/usr/bin/env bash
# The long fuzz run of issue 12 (tests/mlk/fuzz.rs), outside CI: mutated example pipelines and
# stacks through load + resolve in-process, and through `mlk check` as a process (a twentieth
# of the cases). CI's `cargo test` runs the same target with 200 cases.
#
#   bench/fuzz.sh                          # one round of 100000 cases
#   MLK_FUZZ_CASES=20000 MINUTES=15 bench/fuzz.sh   # rounds of 20000 until 15 minutes pass
#
# Each round draws new random cases (proptest seeds from the OS); a failure prints the shrunk
# case and stops the script. Prints the rounds, cases and time at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
CASES=${MLK_FUZZ_CASES:-100000}
MINUTES=${MINUTES:-0}

cargo test --release --locked --test mlk --no-run
start=$(date +%s)
rounds=0
while :; do
    MLK_FUZZ_CASES=$CASES cargo test --release --locked --test mlk fuzz -- --test-threads=2
    rounds=$((rounds + 1))
    elapsed=$(($(date +%s) - start))
    if [ "$elapsed" -ge $((MINUTES * 60)) ]; then
        break
    fi
done
echo "fuzz: $rounds round(s), $((rounds * CASES)) load+resolve cases," \
    "$((rounds * (CASES / 20 > 10 ? CASES / 20 : 10))) mlk check cases, ${elapsed}s"
