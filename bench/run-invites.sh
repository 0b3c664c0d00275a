#!/bin/bash
# Side-by-side benchmark of invite creation over HTTP and of one admin CLI call:
# Roost (roostd / roostctl) vs Prosody 0.12 (mod_invites_api / prosodyctl), with the
# shared harness's procedure and scripts (/work/shared/bench, read-only).
#
#   bench/run-invites.sh                  # 3 interleaved rounds, 15 s each, then CLI, then summary
#   DURATION=5 RUNS=1 bench/run-invites.sh
#   ONLY=prosody bench/run-invites.sh     # one server only (ONLY=roost likewise)
#
# Builds nothing: run `cargo build --release -p roost-server -p roostctl` in the
# workspace first. Run as root (Prosody is started via setpriv by the shared script).
# Results: bench/results/<date-time>/ (raw.jsonl, invite-store.jsonl, cli/*.json,
# meta.txt, summary.md), or $RESULTS if set.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${RESULTS:=$HERE/results/$(date +%Y-%m-%d-%H%M%S)}"
export RESULTS
source "$HERE/env.sh"
: "${ONLY:=both}"                 # both | prosody | roost
: "${SETTLE:=3}"                  # seconds between a server start and its measurement
: "${PROSODY_NICE:=$NICE}"        # the shared start.sh does not renice; we do, to match roostd
case "$ONLY" in both|prosody|roost) ;; *) echo "ONLY must be both, prosody or roost" >&2; exit 2;; esac
want() { [ "$ONLY" = both ] || [ "$ONLY" = "$1" ]; }
die() { echo "run-invites: $*" >&2; exit 1; }

case "$(readlink -f "$RESULTS")" in "$(readlink -f "$SHARED_BENCH")"*) die "RESULTS must not be inside the shared bench dir";; esac
[ "$(id -u)" = 0 ] || die "run as root (the shared Prosody start script uses setpriv)"
for t in taskset nice setpriv python3 curl wrk hyperfine timeout; do command -v "$t" >/dev/null || die "$t not installed"; done
if want prosody; then
  for t in prosody prosodyctl; do command -v "$t" >/dev/null || die "$t not installed (apt-get install -y prosody prosody-modules)"; done
fi
if want roost; then
  for b in "$ROOSTD" "$ROOSTCTL"; do
    [ -x "$b" ] || die "$b is missing. This script builds nothing; first run:
    (cd $(cd "$HERE/.." && pwd) && cargo build --release -p roost-server -p roostctl)
  or set ROOST_BIN_DIR, or ONLY=prosody to measure Prosody alone."
  done
fi
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port already taken by someone else's server would make us measure that server.
if want prosody && [ ! -s "$RUN_ROOT/bench-prosody/server.pid" ]; then
  for p in "$PROSODY_C2S_PORT" "$PROSODY_HTTP_PORT"; do
    if port_busy "$p"; then die "127.0.0.1:$p is in use by something else (another Prosody?)"; fi
  done
fi
if want roost && [ ! -s "$ROOST_RUN_DIR/server.pid" ] && port_busy "$ROOST_HTTP_PORT"; then
  die "127.0.0.1:$ROOST_HTTP_PORT is in use by something else"
fi

mkdir -p "$RESULTS/cli" "$RUN_ROOT"
LOG="$RESULTS/run.log"
exec > >(tee -a "$LOG") 2>&1
SUMMARY_DONE=
cleanup() {
  set +e
  if want roost; then "$HERE/stop-roost.sh" >/dev/null 2>&1; fi
  if want prosody; then "$SHARED_BENCH/servers/prosody/stop.sh" >/dev/null 2>&1; fi
  if [ -z "$SUMMARY_DONE" ] && [ -s "$RESULTS/raw.jsonl" ]; then
    { echo "**INCOMPLETE RUN** (the script stopped early; see run.log)"; echo;
      python3 "$HERE/summarize-invites.py" "$RESULTS"; } > "$RESULTS/summary.md" 2>&1
    echo "partial summary: $RESULTS/summary.md"
  fi
  echo "servers stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_prosody() {
  "$SHARED_BENCH/servers/prosody/stop.sh" >/dev/null 2>&1 || true
  "$SHARED_BENCH/servers/prosody/start.sh"
  local pid; pid=$(cat "$RUN_ROOT/bench-prosody/server.pid")
  renice -n "$PROSODY_NICE" -p "$pid" >/dev/null   # Prosody is single-threaded (Lua)
}
start_roost() {
  "$HERE/stop-roost.sh" >/dev/null 2>&1 || true
  "$HERE/start-roost.sh"     # fresh data dir: empty invite store, no keys
  # API key for this round, made with the admin CLI; accept the bare `ID/SECRET` line
  # (Prosody-compatible output) or the key anywhere in a richer output.
  local out
  out=$(timeout 20 "$ROOSTCTL" --socket "$ROOST_SOCKET" invites-api create "$DOMAIN" bench) \
    || die "roostctl invites-api create failed (exit $?): $out"
  ROOST_KEY=$(printf '%s\n' "$out" | grep -oE '[A-Za-z0-9_-]{4,}/[A-Za-z0-9_-]{8,}' | tail -1 || true)
  [ -n "$ROOST_KEY" ] || die "no ID/SECRET key in the output of roostctl invites-api create: $out"
  printf '%s\n' "$ROOST_KEY" > "$ROOST_RUN_DIR/invites_api.key"
  local code
  code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ROOST_KEY" "$ROOST_URL") || true
  [ "$code" = 201 ] || die "roost invite API sanity check: GET $ROOST_URL answered '$code' (want 201)"
}

{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cores, $(uname -r); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "roost: git $(git -C "$HERE/.." rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$HERE/.." diff --quiet HEAD -- . 2>/dev/null || echo ' (+ uncommitted changes)'), binaries $ROOST_BIN_DIR"
  if want roost; then echo "roostd: $("$ROOSTD" --version 2>/dev/null | head -1); built $(date -r "$ROOSTD" -Is)"; fi
  echo "prosody: $(dpkg-query -W -f='${Version}' prosody 2>/dev/null), prosody-modules $(dpkg-query -W -f='${Version}' prosody-modules 2>/dev/null)"
  echo "wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null), hyperfine $(dpkg-query -W -f='${Version}' hyperfine 2>/dev/null)"
  echo "params: RUNS=$RUNS DURATION=${DURATION}s wrk -t$HTTP_THREADS -c$HTTP_CONNS --timeout ${HTTP_TIMEOUT:-10}s; server core $SERVER_CPU (nice roostd $NICE, prosody $PROSODY_NICE), wrk/CLI core $LOADGEN_CPU (nice $NICE); CLI hyperfine --warmup 2 --runs ${CLI_RUNS:-10}; ROOST_SYNCHRONOUS=$ROOST_SYNCHRONOUS; ONLY=$ONLY"
  echo "urls: prosody http://127.0.0.1:$PROSODY_HTTP_PORT/invites_api?bench=1 (shared run-http.sh), roost $ROOST_URL"
} > "$RESULTS/meta.txt"
cat "$RESULTS/meta.txt"
"$SHARED_BENCH/tools/make-certs.sh" >/dev/null

# HTTP rounds: both servers freshly restarted in every round (see BASELINE.md,
# Findings 1), Prosody then Roost, so drift on the shared box hits both alike.
RUN_TIMEOUT=$((DURATION + 120))
for r in $(seq 1 "$RUNS"); do
  echo "=== round $r/$RUNS"
  if want prosody; then
    start_prosody; sleep "$SETTLE"
    # empties Prosody's invite store, checks for a 201, then wrk pinned to core $LOADGEN_CPU
    timeout "$RUN_TIMEOUT" "$SHARED_BENCH/run-http.sh" invites-prosody "$r"
  fi
  if want roost; then
    start_roost; sleep "$SETTLE"
    PID=$(cat "$ROOST_RUN_DIR/server.pid")
    WRK_AUTH="$ROOST_KEY" timeout "$RUN_TIMEOUT" "$SHARED_BENCH/run-http.sh" url roost "$ROOST_URL" "$PID" "$r"
    kill -0 "$PID" 2>/dev/null || die "roostd (pid $PID) died during round $r; see $ROOST_RUN_DIR/stdout.log"
  fi
done

# Admin CLI: wall time of one list call (hyperfine pinned to core $LOADGEN_CPU);
# each server holds one API key at this point. One unmeasured call first, bounded,
# so a hanging command fails here instead of inside hyperfine.
echo "=== admin CLI"
if want prosody; then
  PCMD="$SHARED_BENCH/servers/prosody/ctl.sh mod_invites_api list $DOMAIN"
  timeout 30 $PCMD >/dev/null || die "'$PCMD' failed"
  timeout 300 "$SHARED_BENCH/run-cli.sh" prosodyctl-invites-api-list "$PCMD"
fi
if want roost; then
  RCMD="$ROOSTCTL --socket $ROOST_SOCKET invites-api list $DOMAIN"
  timeout 10 $RCMD >/dev/null || die "'$RCMD' failed"
  timeout 300 "$SHARED_BENCH/run-cli.sh" roostctl-invites-api-list "$RCMD"
fi
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"

"$HERE/stop-roost.sh" >/dev/null 2>&1 || true
"$SHARED_BENCH/servers/prosody/stop.sh" >/dev/null 2>&1 || true
python3 "$HERE/summarize-invites.py" "$RESULTS" > "$RESULTS/summary.md"
SUMMARY_DONE=1
echo
cat "$RESULTS/summary.md"
echo
echo "results: $RESULTS"
