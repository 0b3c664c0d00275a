#!/bin/bash
# Build bench/fast-login (the FAST login-rate tool of run-fast.sh) into
# $RUN_ROOT/fast-login/target, outside the working tree, with its own
# Cargo.lock (--locked). Through roost-cargo when it exists, so the build
# waits for the other cargo runs on this box instead of competing with them.
#   bench/build-fast-login.sh      (~1 min on 2 cores; prints FAST_LOGIN=...)
set -euo pipefail
source "$(dirname "$0")/env.sh"
SRC="$ROOST_BENCH_DIR/fast-login"
export CARGO_TARGET_DIR="$RUN_ROOT/fast-login/target"
mkdir -p "$CARGO_TARGET_DIR"
CARGO=cargo; command -v roost-cargo >/dev/null && CARGO=roost-cargo
( cd "$SRC" && nice -n 5 "$CARGO" build --release --locked ) >&2
ls -l "$CARGO_TARGET_DIR/release/fast-login" >&2
echo "FAST_LOGIN=$CARGO_TARGET_DIR/release/fast-login"
