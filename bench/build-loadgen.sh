#!/bin/bash
# Build the shared harness's XMPP load generator (xmpp-loadgen, refserver) without
# writing into the read-only shared dir: copy its sources to $RUN_ROOT/loadgen, apply
# bench/loadgen-phone.patch and `cargo build --release --locked` there. bench/env.sh then points LOADGEN at it.
#   bench/build-loadgen.sh        (~2-3 min on 2 cores; run once, again if the shared sources change)
set -euo pipefail
source "$(dirname "$0")/env.sh"
SRC="$SHARED_BENCH/loadgen"
DST="$RUN_ROOT/loadgen"
mkdir -p "$DST"
# Sources only (never the shared target/); a changed source triggers a rebuild.
rm -rf -- "$DST/src"
cp -rp "$SRC/Cargo.toml" "$SRC/Cargo.lock" "$SRC/src" "$DST/"
chmod -R u+w "$DST"
# Our one change: `--enable carbons,sm` (XMPP_ENABLE) turns phone features on in
# every session after binding, for issue 13's runs; without it the load is the
# shared harness's, unchanged.
patch -d "$DST" -p1 --quiet < "$ROOST_BENCH_DIR/loadgen-phone.patch"
( cd "$DST" && CARGO_TARGET_DIR="$DST/target" nice -n 5 cargo build --release --locked )
ls -l "$DST/target/release/xmpp-loadgen" "$DST/target/release/refserver"
echo "LOADGEN=$DST/target/release/xmpp-loadgen"
