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
: "${ROOST_C2S_PORT:=6422}"                 # not used by the shared harness (6222 Prosody, 7222 ejabberd)
: "${ROOST_SYNCHRONOUS:=normal}"            # [storage] synchronous: normal | full
: "${ROOST_LOG_LEVEL:=warn}"                # log_level; roostd logs to $ROOST_RUN_DIR/stdout.log
: "${NICE:=-10}"
# A second roostd (run-fast.sh's baseline build) runs beside the first with
# its own ROOST_RUN_DIR and ports.
: "${ROOST_RUN_DIR:=$RUN_ROOT/bench-roost}"
# data_dir: run-invites.sh wants it empty on every start (ROOST_FRESH_DATA=1, the
# default); run-xmpp.sh keeps its accounts in a separate directory
# (ROOST_DATA_DIR=$ROOST_RUN_DIR/data-xmpp ROOST_FRESH_DATA=0), which the invite
# bench therefore never wipes.
: "${ROOST_DATA_DIR:=$ROOST_RUN_DIR/data}"
: "${ROOST_FRESH_DATA:=1}"
ROOST_SOCKET="$ROOST_RUN_DIR/roostd.sock"
ROOST_URL="http://127.0.0.1:$ROOST_HTTP_PORT/invites_api"
ROOSTD="$ROOST_BIN_DIR/roostd"
ROOSTCTL="$ROOST_BIN_DIR/roostctl"
# The XMPP load generator. The shared env.sh points LOADGEN into the shared dir,
# which we never write to (not even a cargo target/); bench/build-loadgen.sh builds
# a copy under $RUN_ROOT/loadgen. A build in the shared dir is used if one exists.
if [ -z "${XMPP_LOADGEN:-}" ]; then
  if [ -x "$SHARED_BENCH/loadgen/target/release/xmpp-loadgen" ]; then
    XMPP_LOADGEN="$SHARED_BENCH/loadgen/target/release/xmpp-loadgen"
  else
    XMPP_LOADGEN="$RUN_ROOT/loadgen/target/release/xmpp-loadgen"
  fi
fi
LOADGEN="$XMPP_LOADGEN"
export ROOST_BENCH_DIR SHARED_BENCH ROOST_BIN_DIR ROOST_HTTP_PORT ROOST_C2S_PORT ROOST_SYNCHRONOUS \
       ROOST_LOG_LEVEL NICE ROOST_RUN_DIR ROOST_DATA_DIR ROOST_FRESH_DATA ROOST_SOCKET ROOST_URL \
       ROOSTD ROOSTCTL XMPP_LOADGEN LOADGEN
