#!/bin/bash
# Build bench/archive-paging (the load tool of run-archive-paging.sh) into
# $RUN_ROOT/archive-paging/target, outside the working tree, with its own
# Cargo.lock (--locked). Through roost-cargo when it exists, so the build
# waits for the other cargo runs on this box instead of competing with them.
#   bench/build-archive-paging.sh      (~20 s on 2 cores; prints ARCHIVE_PAGING=...)
set -euo pipefail
source "$(dirname "$0")/env.sh"
SRC="$ROOST_BENCH_DIR/archive-paging"
export CARGO_TARGET_DIR="$RUN_ROOT/archive-paging/target"
mkdir -p "$CARGO_TARGET_DIR"
CARGO=cargo; command -v roost-cargo >/dev/null && CARGO=roost-cargo
( cd "$SRC" && nice -n 5 "$CARGO" build --release --locked ) >&2
ls -l "$CARGO_TARGET_DIR/release/archive-paging" >&2
echo "ARCHIVE_PAGING=$CARGO_TARGET_DIR/release/archive-paging"
