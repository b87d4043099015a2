#!/usr/bin/env bash
# .ci/s3-venv.sh: the loopback S3 server (moto) and the AWS CLI the store tests and the transfer
# benchmark use, in a Python venv kept between runs. Prints the venv's bin directory.
#
#   bin=$(.ci/s3-venv.sh)      # then "$bin/moto_server -H 127.0.0.1 -p PORT", "$bin/aws"
#
# Needs python3 (with the venv module). The venv lives in
# ${MLK_S3_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mlk-ci/s3-venv}; it is created once and
# reinstalled only when the pinned versions below change. Everything comes from PyPI.
set -euo pipefail

# Pinned versions; bump them together, then the next run reinstalls.
MOTO_VERSION=5.2.1
AWSCLI_VERSION=1.45.11

VENV="${MLK_S3_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mlk-ci/s3-venv}"
STAMP="$VENV/.mlk-pins"
PINS="moto[server]==$MOTO_VERSION awscli==$AWSCLI_VERSION"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$PINS" ] || [ ! -x "$VENV/bin/moto_server" ]; then
  command -v python3 >/dev/null 2>&1 || {
    echo "s3-venv: python3 is not on PATH: install Python 3 (with venv) first" >&2
    exit 1
  }
  echo "s3-venv: installing $PINS into $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
  # pip's progress goes to stderr so that stdout carries only the bin directory.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" >&2
  printf '%s' "$PINS" >"$STAMP"
fi
printf '%s\n' "$VENV/bin"
