# Roost bench defaults, layered on the shared harness's env.sh. Source this file;
# every value can be overridden from the environment.
ROOST_BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${SHARED_BENCH:=/work/shared/bench}"     # the shared harness (read-only, never modified)
# Our own run root, so this bench never shares $RUN_ROOT/bench-prosody or the
# certificates with another session's runs of the shared harness under /tmp.
: "${RUN_ROOT:=/tmp/roost-bench}"
export RUN_ROOT
source "$SHARED_BENCH/env.sh"               # SERVER_CPU, LOADGEN_CPU, DOMAIN, DURATION, RUNS, ports ...
: "${ROOST_BIN_DIR:=$(cd "$ROOST_BENCH_DIR/.." && pwd)/target/release}"
: "${ROOST_HTTP_PORT:=6480}"                # harness port range 6000-7999
: "${ROOST_SYNCHRONOUS:=normal}"            # [storage] synchronous: normal | full
: "${NICE:=-10}"
ROOST_RUN_DIR="$RUN_ROOT/bench-roost"
ROOST_SOCKET="$ROOST_RUN_DIR/roostd.sock"
ROOST_URL="http://127.0.0.1:$ROOST_HTTP_PORT/invites_api"
ROOSTD="$ROOST_BIN_DIR/roostd"
ROOSTCTL="$ROOST_BIN_DIR/roostctl"
export ROOST_BENCH_DIR SHARED_BENCH ROOST_BIN_DIR ROOST_HTTP_PORT ROOST_SYNCHRONOUS NICE \
       ROOST_RUN_DIR ROOST_SOCKET ROOST_URL ROOSTD ROOSTCTL
