#!/bin/bash
# Build bench/roster-refresh (the load tool and contacts backend of
# run-roster-refresh.sh) into $RUN_ROOT/roster-refresh/target, outside the
# working tree, with its own Cargo.lock (--locked). Through roost-cargo when it
# exists, so the build waits for the other cargo runs on this box instead of
# competing with them.
#   bench/build-roster-refresh.sh      (~1-2 min on 2 cores; prints ROSTER_REFRESH=...)
set -euo pipefail
source "$(dirname "$0")/env.sh"
SRC="$ROOST_BENCH_DIR/roster-refresh"
export CARGO_TARGET_DIR="$RUN_ROOT/roster-refresh/target"
mkdir -p "$CARGO_TARGET_DIR"
CARGO=cargo; command -v roost-cargo >/dev/null && CARGO=roost-cargo
( cd "$SRC" && nice -n 5 "$CARGO" build --release --locked ) >&2
ls -l "$CARGO_TARGET_DIR/release/roster-refresh" >&2
echo "ROSTER_REFRESH=$CARGO_TARGET_DIR/release/roster-refresh"
