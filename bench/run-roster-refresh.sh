#!/bin/bash
# Issue 10's benchmark: refresh of delegated rosters. ROSTER_USERS (1000)
# online users, each with ROSTER_CONTACTS (50) contacts served by a local
# contacts backend, one `POST /roster_admin/refresh` with every username after
# the backend changed one item of three kinds per user (one removed, one added,
# one renamed): wall time of the call, its updated/errors, the backend
# requests it made, the roster pushes delivered (3 per user), roostd's RSS.
# Target: under 1 s for 1,000 users, on the shared procedure's pinning.
#
#   export $(bench/build-roster-refresh.sh)          # the tool (once per change of it)
#   ROOST_BIN_DIR=/path/to/release bench/run-roster-refresh.sh       # RUNS=3 rounds
#   RUNS=1 ROSTER_USERS=200 bench/run-roster-refresh.sh               # plumbing check
#   PROFILE=1 RUNS=1 bench/run-roster-refresh.sh     # + perf profile of roostd during the call
#
# Each round: a freshly started roostd (fresh data dir, bench/roost.toml.in +
# roster-refresh/roost-delegation.toml.in) pinned to core $SERVER_CPU at nice
# $NICE; its ROSTER_USERS accounts (bench/roost-accounts.sh); then
# bench/roster-refresh on core $LOADGEN_CPU at nice $NICE: the backend, the
# logins (STARTTLS, SASL2 PLAIN + Bind2, roster get = version 1 fetched,
# initial presence), the refresh, the pushes; roostd stopped.
#
# Builds nothing. Run as root. Every wait is bounded (the tool's own limits and
# `timeout`); roostd is stopped on exit (also on error or Ctrl-C) by its PID.
# Results: bench/results/<date-time>-roster-refresh/ or $RESULTS: raw.jsonl
# (one tool JSON object per round), meta.txt, run.log, setup/, logs/, summary.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${RESULTS:=$HERE/results/$(date +%Y-%m-%d-%H%M%S)-roster-refresh}"
# Our own run dir (config, data, socket, PID), apart from the other benches'.
: "${ROOST_RUN_DIR:=${RUN_ROOT:-/tmp/roost-bench}/bench-roster}"
export RESULTS ROOST_RUN_DIR
source "$HERE/env.sh"
ROOST_DATA_DIR="$ROOST_RUN_DIR/data"   # wiped before every round
: "${ROSTER_REFRESH:=$RUN_ROOT/roster-refresh/target/release/roster-refresh}"
: "${ROSTER_USERS:=1000}"
: "${ROSTER_CONTACTS:=50}"
: "${BACKEND_PORT:=6490}"              # harness port range 6000-7999
: "${BACKEND_DELAY_MS:=0}"             # the backend answers at once; e.g. 5 for a slower one
: "${ROSTER_TIMEOUT:=5s}"              # [roster_delegation] timeout (the default)
: "${ROSTER_MAX_CONCURRENT:=16}"       # [roster_delegation] max_concurrent_requests (the default)
: "${PUSH_WAIT:=5}"                    # seconds to wait for the pushes after the answer
: "${LOGIN_CONC:=50}"
: "${ROSTER_TOOL_ARGS:=}"               # more roster-refresh options, e.g. "--trace-user 0" (to logs/tool-roundN.stderr)
: "${PROFILE:=0}"                     # 1: perf record roostd (cpu-clock, 1999 Hz) for PROFILE_SECONDS from just before the call
: "${PROFILE_SECONDS:=3}"
: "${PROFILE_CALLGRAPH:=}"             # e.g. dwarf,16384: call chains too (round<N>-callers.txt)
: "${QUIET_WAIT:=300}"                 # seconds to wait for a quiet machine before each round (0: don't)
: "${QUIET_BUSY:=15}"                  # % busy of a core (over 3 s) below which the machine counts as quiet
export ROOST_DATA_DIR
die() { echo "run-roster-refresh: $*" >&2; exit 1; }

case "$(readlink -f "$RESULTS")" in "$(readlink -f "$SHARED_BENCH")"*) die "RESULTS must not be inside the shared bench dir";; esac
[ "$(id -u)" = 0 ] || die "run as root (nice -10, like the other benches)"
for t in taskset nice python3 timeout; do command -v "$t" >/dev/null || die "$t not installed"; done
[ "$PROFILE" != 1 ] || command -v perf >/dev/null || die "PROFILE=1 needs perf (apt-get install linux-perf)"
[ -x "$ROSTER_REFRESH" ] || die "$ROSTER_REFRESH missing: run bench/build-roster-refresh.sh (or set ROSTER_REFRESH)"
for b in "$ROOSTD" "$ROOSTCTL"; do
  [ -x "$b" ] || die "$b missing: set ROOST_BIN_DIR to a release build (roostd and roostctl)"
done
[ ${#ROOST_SOCKET} -lt 100 ] || die "socket path too long for a Unix socket: $ROOST_SOCKET"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$ROOST_C2S_PORT" "$ROOST_HTTP_PORT" "$BACKEND_PORT"; do
  port_busy "$p" && die "127.0.0.1:$p is in use (another roostd? ROOST_RUN_DIR=$ROOST_RUN_DIR bench/stop-roost.sh stops ours)"
done
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((ROSTER_USERS + 200)) ] || die "ulimit -n $(ulimit -n) is too small for $ROSTER_USERS sessions"

mkdir -p "$RESULTS/setup" "$RESULTS/logs"
exec > >(tee -a "$RESULTS/run.log") 2>&1

# roostd with the bench config plus the delegation table, as start-roost.sh
# starts it (same pinning, same readiness checks), PID in $ROOST_RUN_DIR/server.pid
# so that roost-accounts.sh and stop-roost.sh find it.
start_roost() {
  "$SHARED_BENCH/tools/make-certs.sh" >/dev/null
  mkdir -p "$ROOST_RUN_DIR"
  rm -f -- "$ROOST_SOCKET"
  rm -rf -- "$ROOST_DATA_DIR"; mkdir -p "$ROOST_DATA_DIR"
  {
    sed -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@DATA_DIR@|$ROOST_DATA_DIR|g" \
        -e "s|@HTTP_BIND@|127.0.0.1:$ROOST_HTTP_PORT|g" -e "s|@C2S_BIND@|127.0.0.1:$ROOST_C2S_PORT|g" \
        -e "s|@ADMIN_SOCKET@|$ROOST_SOCKET|g" -e "s|@CERT_DIR@|$CERT_DIR|g" \
        -e "s|@SYNCHRONOUS@|$ROOST_SYNCHRONOUS|g" -e "s|@LOG_LEVEL@|$ROOST_LOG_LEVEL|g" \
        "$HERE/roost.toml.in"
    echo
    sed -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@BACKEND_PORT@|$BACKEND_PORT|g" \
        -e "s|@TIMEOUT@|$ROSTER_TIMEOUT|g" -e "s|@MAX_CONCURRENT@|$ROSTER_MAX_CONCURRENT|g" \
        "$HERE/roster-refresh/roost-delegation.toml.in"
  } > "$ROOST_RUN_DIR/roost.toml"
  "$ROOSTD" --config "$ROOST_RUN_DIR/roost.toml" --check-config >/dev/null 2>"$ROOST_RUN_DIR/check-config.log" || {
    cat "$ROOST_RUN_DIR/check-config.log" >&2; die "roostd --check-config rejected $ROOST_RUN_DIR/roost.toml"; }
  # taskset and nice exec the next program, so $! is roostd's own PID.
  taskset -c "$SERVER_CPU" nice -n "$NICE" "$ROOSTD" --config "$ROOST_RUN_DIR/roost.toml" \
    > "$ROOST_RUN_DIR/stdout.log" 2>&1 &
  local pid=$! ok=
  echo "$pid" > "$ROOST_RUN_DIR/server.pid"
  for _ in $(seq 1 75); do   # 75 x 0.2 s = 15 s
    kill -0 "$pid" 2>/dev/null || break
    if timeout 5 "$ROOSTCTL" --socket "$ROOST_SOCKET" invites-api list "$DOMAIN" >/dev/null 2>&1 \
       && port_busy "$ROOST_HTTP_PORT" && port_busy "$ROOST_C2S_PORT"; then ok=1; break; fi
    sleep 0.2
  done
  if [ -z "$ok" ]; then
    tail -20 "$ROOST_RUN_DIR/stdout.log" >&2 || true
    die "roostd not ready after 15 s"
  fi
  echo "roostd started: pid $pid, cpu $SERVER_CPU, nice $NICE, fresh data $ROOST_DATA_DIR"
}
stop_roost() { "$HERE/stop-roost.sh" >/dev/null 2>&1 || true; }
# PROFILE=1: once the tool says it is about to call (its --ready-file), perf
# records roostd for PROFILE_SECONDS (perf itself on the load core), then the
# tool is let go. The perf data stays under $RUN_ROOT (large); the reports
# (per thread, per thread and symbol) go to $RESULTS/profile/.
profile_round() {   # profile_round ROUND PID READY_FILE
  local r=$1 pid=$2 ready=$3 data="$RUN_ROOT/roster-refresh-perf-round$1.data"
  for _ in $(seq 1 3000); do [ -e "$ready" ] && break; sleep 0.2; done
  [ -e "$ready" ] || return 0
  # shellcheck disable=SC2086   # an empty PROFILE_CALLGRAPH adds nothing
  taskset -c "$LOADGEN_CPU" perf record -q -e cpu-clock -F 1999 ${PROFILE_CALLGRAPH:+--call-graph $PROFILE_CALLGRAPH} \
    -p "$pid" -o "$data" -- sleep "$PROFILE_SECONDS" 2>/dev/null &
  local perf_pid=$!
  sleep 0.3
  touch "${ready%.*}.go"
  wait "$perf_pid" || true
  mkdir -p "$RESULTS/profile"
  perf report -i "$data" --stdio --no-children --sort comm -n 2>/dev/null | grep -v '^#' | grep -v '^$' \
    > "$RESULTS/profile/round$r-threads.txt" || true
  perf report -i "$data" --stdio --no-children --sort comm,dso,sym -n -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -80 \
    > "$RESULTS/profile/round$r-symbols.txt" || true
  if [ -n "$PROFILE_CALLGRAPH" ]; then
    nice -n 10 perf report -i "$data" --stdio --no-children --sort sym -g caller,0.5,callee,function,percent --percent-limit 2 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -1500 > "$RESULTS/profile/round$r-callers.txt" || true
  fi
}
save_log() { [ -s "$ROOST_RUN_DIR/stdout.log" ] && cp "$ROOST_RUN_DIR/stdout.log" "$RESULTS/logs/roostd-$1.log" || true; }
SUMMARY_DONE=
cleanup() {
  set +e
  stop_roost
  if [ -z "$SUMMARY_DONE" ] && [ -s "$RESULTS/raw.jsonl" ]; then
    { echo "**INCOMPLETE RUN** (the script stopped early; see run.log)"; echo;
      python3 "$HERE/roster-refresh/summarize.py" "$RESULTS"; } > "$RESULTS/summary.md" 2>&1
    echo "partial summary: $RESULTS/summary.md"
  fi
  echo "roostd stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This box is shared: wait (at most QUIET_WAIT s) until both cores are below
# QUIET_BUSY % busy for 3 s before each round (as run-fast.sh does); the tool
# waits the same way right before the refresh call (the users online, their
# presence traffic settled), and reports both cores' busy, softirq and steal %
# during the call, which shows any load that came later.
wait_quiet() {
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  python3 - "$QUIET_WAIT" "$QUIET_BUSY" "$SERVER_CPU" "$LOADGEN_CPU" <<'PY'
import sys, time
wait, limit, cores = float(sys.argv[1]), float(sys.argv[2]), ["cpu" + c for c in sys.argv[3:]]
def snap():
    out = {}
    for line in open("/proc/stat"):
        p = line.split()
        if p[0] in cores:
            v = list(map(int, p[1:9])); out[p[0]] = (sum(v), v[3] + v[4])
    return out
t0 = time.time(); waited = False
while True:
    a = snap(); time.sleep(3); b = snap()
    busy = {c: 100.0 * (1 - (b[c][1] - a[c][1]) / max(1, b[c][0] - a[c][0])) for c in cores}
    if all(v < limit for v in busy.values()):
        if waited:
            print(f"    machine quiet after {time.time() - t0:.0f} s")
        break
    if time.time() - t0 > wait:
        print(f"    machine still busy after {wait:.0f} s ({', '.join(f'{c} {v:.0f} %' for c, v in busy.items())}); measuring anyway")
        break
    if not waited:
        print(f"    waiting for a quiet machine ({', '.join(f'{c} {v:.0f} %' for c, v in busy.items())} busy)")
        waited = True
PY
}

commit_of() { local c="$1/../../COMMIT"; [ -s "$c" ] && echo "commit $(cut -c1-12 "$c")" || echo "no COMMIT file (a working-tree build)"; }
{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cores, $(uname -r); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "roost bench scripts: git $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$HERE/.." diff --quiet HEAD -- bench 2>/dev/null || echo ' (+ uncommitted bench changes)')"
  echo "roostd: $ROOST_BIN_DIR ($("$ROOSTD" --version 2>/dev/null | head -1)), built $(date -r "$ROOSTD" -Is); $(commit_of "$ROOST_BIN_DIR")"
  echo "roster-refresh: $ROSTER_REFRESH (built $(date -r "$ROSTER_REFRESH" -Is))"
  echo "params: RUNS=$RUNS ROSTER_USERS=$ROSTER_USERS ROSTER_CONTACTS=$ROSTER_CONTACTS BACKEND_DELAY_MS=$BACKEND_DELAY_MS ROSTER_TIMEOUT=$ROSTER_TIMEOUT ROSTER_MAX_CONCURRENT=$ROSTER_MAX_CONCURRENT PUSH_WAIT=${PUSH_WAIT}s ROSTER_TOOL_ARGS='$ROSTER_TOOL_ARGS' LOGIN_CONC=$LOGIN_CONC ROOST_LOG_LEVEL=$ROOST_LOG_LEVEL ROOST_SYNCHRONOUS=$ROOST_SYNCHRONOUS"
  echo "quiet machine: before each round (3 s) and again before the refresh call (1 s), wait up to ${QUIET_WAIT}s for both cores < ${QUIET_BUSY}% busy"
  [ "$PROFILE" = 1 ] && echo "PROFILE=1: perf record on roostd during the call (perf on the load core): the figures are not the benchmark's"
  echo "pinning: roostd on core $SERVER_CPU at nice $NICE, roster-refresh (clients + backend) on core $LOADGEN_CPU at nice $NICE"
  echo "ports: roostd c2s 127.0.0.1:$ROOST_C2S_PORT, http 127.0.0.1:$ROOST_HTTP_PORT; backend 127.0.0.1:$BACKEND_PORT"
} > "$RESULTS/meta.txt"
cat "$RESULTS/meta.txt"

for r in $(seq 1 "$RUNS"); do
  echo "== round $r/$RUNS ($(date +%T))"
  stop_roost
  start_roost
  ACCOUNTS=$ROSTER_USERS OUT="$RESULTS/setup/accounts-round$r.json" "$HERE/roost-accounts.sh" >/dev/null \
    || die "not all $ROSTER_USERS accounts exist (see $RESULTS/setup/accounts-round$r.json)"
  python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print("    %s accounts in %s s" % (a["created"], a["elapsed_s"]))' \
    "$RESULTS/setup/accounts-round$r.json"
  wait_quiet
  PID=$(cat "$ROOST_RUN_DIR/server.pid")
  PROFILE_ARGS=()
  if [ "$PROFILE" = 1 ]; then
    READY="$RUN_ROOT/roster-refresh-ready.$r"
    rm -f -- "$READY" "$RUN_ROOT/roster-refresh-ready.go"
    PROFILE_ARGS=(--ready-file "$READY")
    profile_round "$r" "$PID" "$READY" &
    PROF_PID=$!
  fi
  rc=0
  # shellcheck disable=SC2086   # ROSTER_TOOL_ARGS is a list of options
  timeout 900 taskset -c "$LOADGEN_CPU" nice -n "$NICE" "$ROSTER_REFRESH" \
    --host 127.0.0.1 --port "$ROOST_C2S_PORT" --domain "$DOMAIN" --prefix "$BENCH_PREFIX" \
    --password "$BENCH_PASSWORD" --label "round$r" --users "$ROSTER_USERS" --contacts "$ROSTER_CONTACTS" \
    --login-concurrency "$LOGIN_CONC" --backend-port "$BACKEND_PORT" --backend-delay-ms "$BACKEND_DELAY_MS" \
    --http-port "$ROOST_HTTP_PORT" --server-pid "$PID" --push-wait "$PUSH_WAIT" \
    --server-cpu "$SERVER_CPU" --load-cpu "$LOADGEN_CPU" --quiet-busy "$QUIET_BUSY" --quiet-wait "$QUIET_WAIT" \
    "${PROFILE_ARGS[@]}" $ROSTER_TOOL_ARGS \
    > "$RESULTS/round$r.json" 2> "$RESULTS/logs/tool-round$r.stderr" || rc=$?
  if [ "$PROFILE" = 1 ]; then wait "$PROF_PID" || true; rm -f -- "$READY" "$RUN_ROOT/roster-refresh-ready.go"; fi
  [ -s "$RESULTS/logs/tool-round$r.stderr" ] || rm -f "$RESULTS/logs/tool-round$r.stderr"
  if [ -s "$RESULTS/round$r.json" ]; then
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["round"]=int(sys.argv[2]); r["exit"]=int(sys.argv[3]); print(json.dumps(r))' \
      "$RESULTS/round$r.json" "$r" "$rc" >> "$RESULTS/raw.jsonl"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
keys = ["online", "login_errors", "refresh_status", "refresh_ms", "refresh_updated", "refresh_errors",
        "backend_requests_refresh", "pushes", "pushes_expected", "last_push_ms", "server_rss_kb_end", "status"]
print("   ", ", ".join(f"{k} {r.get(k)}" for k in keys))' "$RESULTS/round$r.json"
  else
    echo "    no output from roster-refresh (exit $rc)"
  fi
  kill -0 "$PID" 2>/dev/null || { save_log "round$r-died"; die "roostd died during round $r"; }
  save_log "round$r"
  stop_roost
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"

python3 "$HERE/roster-refresh/summarize.py" "$RESULTS" > "$RESULTS/summary.md"
SUMMARY_DONE=1
echo; cat "$RESULTS/summary.md"; echo; echo "results: $RESULTS"
