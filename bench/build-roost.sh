#!/bin/bash
# Release build of roostd + roostctl from a committed revision, outside the working
# tree: `git archive REV` into $RUN_ROOT/src-<short sha>, `cargo build --release
# --locked` there. The figures then belong to a commit, not to whatever the working
# tree (shared with other sessions) holds while the bench runs. Prints the
# ROOST_BIN_DIR to pass to the run scripts.
#   bench/build-roost.sh            # HEAD
#   bench/build-roost.sh a6e9822
#   export $(bench/build-roost.sh) && bench/run-xmpp.sh     # stdout is just ROOST_BIN_DIR=...
set -euo pipefail
source "$(dirname "$0")/env.sh"
REPO="$(cd "$ROOST_BENCH_DIR/.." && pwd)"
REV=${1:-HEAD}
SHA=$(git -C "$REPO" rev-parse --short "$REV^{commit}")
DIR="$RUN_ROOT/src-$SHA"
if [ ! -s "$DIR/COMMIT" ]; then
  rm -rf -- "$DIR"; mkdir -p "$DIR"
  git -C "$REPO" archive "$SHA" | tar -x -C "$DIR"
  git -C "$REPO" log -1 --format='%H %ci %s' "$SHA" > "$DIR/COMMIT"
fi
( cd "$DIR" && CARGO_TARGET_DIR="$DIR/target" nice -n 10 cargo build --release --locked -p roost-server -p roostctl ) >&2
echo "built $(cat "$DIR/COMMIT")" >&2
echo "ROOST_BIN_DIR=$DIR/target/release"
