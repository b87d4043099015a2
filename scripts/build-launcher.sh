#!/usr/bin/env bash
# scripts/build-launcher.sh: the fully static mlk that the launcher image ships (issue 13).
#
#   scripts/build-launcher.sh            # → target/x86_64-unknown-linux-gnu/release/mlk, and a
#                                        #   copy in target/launcher/ (the image's build context)
#   scripts/build-launcher.sh --check    # build, then check that the binary is static and runs
#                                        # with an empty environment
#
# glibc links statically with `-C target-feature=+crt-static` (no musl target needed). Only the
# target's code gets the flag (cargo applies RUSTFLAGS to build scripts and proc macros only
# without --target, hence the explicit target), and its own target directory keeps the normal
# builds untouched. The binary then runs in any Linux image, scratch and distroless included:
# docs/launcher.md says how to build and push the image, and why it needs no NSS files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET=x86_64-unknown-linux-gnu
BIN="target/$TARGET/release/mlk"

RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
  cargo build --release --locked --target "$TARGET" --bin mlk
mkdir -p target/launcher
cp "$BIN" target/launcher/mlk
echo "built $BIN (and target/launcher/mlk, the context of launcher/Dockerfile)"

if [ "${1:-}" = "--check" ]; then
  file "$BIN"
  file "$BIN" | grep -Eq "statically linked|static-pie linked" || {
    echo "build-launcher: $BIN is not statically linked" >&2
    exit 1
  }
  # ldd says "statically linked" for a static PIE, "not a dynamic executable" otherwise.
  deps=$(ldd "$BIN" 2>&1 || true)
  echo "ldd: $deps"
  case "$deps" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *)
    echo "build-launcher: ldd lists shared libraries for $BIN" >&2
    exit 1
    ;;
  esac
  env -i "$BIN" --version
fi
