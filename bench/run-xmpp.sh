#!/bin/bash
# Side-by-side XMPP benchmark of issue 3: Roost (roostd) vs Prosody 0.12 vs
# ejabberd 23.01, with the shared harness's procedure, configs, start scripts and
# measure.py (/work/shared/bench, read-only): the part of its run-all.sh that
# issue 3 asks for.
#
#   bench/run-xmpp.sh                              # 3 interleaved rounds, then idle-10000, then summary
#   DURATION=5 RUNS=1 IDLE_COUNTS=2000 bench/run-xmpp.sh   # plumbing check (~6 min once accounts exist)
#   SERVERS="roost" bench/run-xmpp.sh               # a subset, in that order
#   IDLE_COUNTS=none bench/run-xmpp.sh             # throughput rounds only (WORKLOADS=none: idle only)
#   PHONE=1 XMPP_ENABLE=carbons IDLE_COUNTS=none WORKLOADS=msg-tls bench/run-xmpp.sh   # issue 13's phone
#   PHONE=1 XMPP_ENABLE=carbons,sm WORKLOADS=none bench/run-xmpp.sh                     # profile (README)
#
# Phases:
#  1. setup, per server (fresh start): make sure bench0..bench9999 exist (Prosody and
#     ejabberd: XEP-0077 in-band registration by the load generator, as the shared
#     setup-accounts.sh; Roost: bench/roost-accounts.sh, piped roostctl shell), then
#     prime the load generator's SCRAM key cache (one unmeasured login pass).
#     Accounts persist between runs; only missing ones are created.
#  2. RUNS rounds; in each round every server in turn: restart it fresh, settle,
#     login-tls, login-plain, msg-tls (the shared run-xmpp.sh workloads), stop it.
#  3. idle: RUNS rounds x IDLE_COUNTS x servers, each measurement on a freshly
#     restarted server (the shared run-idle.sh logic).
#  4. summary: bench/summarize-xmpp.py -> summary.md (medians, bottleneck check,
#     PASS/FAIL against Roost's targets).
#
# Builds nothing: needs roostd/roostctl in ROOST_BIN_DIR (cargo build --release -p
# roost-server -p roostctl, or bench/build-roost.sh) and the load generator
# (bench/build-loadgen.sh). Run as root. Results: bench/results/<date-time>-xmpp/
# (raw.jsonl, setup/*.json, meta.txt, summary.md, run.log, roostd logs), or $RESULTS.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# PHONE=1: issue 13's phone profile. Prosody and ejabberd run the shared start
# scripts on the shared config templates plus archive (MAM) for every account, stream
# management and carbons (bench/phone/make-harness.sh), in their own dirs under
# $PHONE_RUN_ROOT (their own accounts); roostd runs with the usual roost.toml.in
# (archive, carbons and stream management are on by default) on its own data dir.
# What the sessions enable is XMPP_ENABLE (the load generator's --enable).
: "${PHONE:=}"
[ "$PHONE" = 0 ] && PHONE=
# PHONE_ARCHIVE=empty (the default): every server's archive is emptied before
# each round (bench/phone/empty-archive.sh), so that rounds and runs measure the
# same state; keep: each round adds to what the rounds before archived.
: "${PHONE_ARCHIVE:=empty}"
case $PHONE_ARCHIVE in empty|keep) ;; *) echo "run-xmpp: PHONE_ARCHIVE must be empty or keep" >&2; exit 2;; esac
PHONE_SUFFIX=${PHONE:+-phone}
: "${RESULTS:=$HERE/results/$(date +%Y-%m-%d-%H%M%S)-xmpp$PHONE_SUFFIX}"
: "${IDLE_COUNTS:=10000}"          # issue 3 asks for 10,000 idle sessions (shared default: "2000 10000")
export RESULTS IDLE_COUNTS
source "$HERE/env.sh"
# Roost keeps its accounts between rounds and runs in a data dir of its own,
# which the invite bench (fresh data on every start) never touches.
: "${ROOST_XMPP_DATA_DIR:=$ROOST_RUN_DIR/data-xmpp$PHONE_SUFFIX}"
export ROOST_DATA_DIR="$ROOST_XMPP_DATA_DIR" ROOST_FRESH_DATA=0
: "${SERVERS:=prosody ejabberd roost}"   # order inside a round
: "${WORKLOADS:=login-tls login-plain msg-tls}"
[ "$WORKLOADS" = none ] && WORKLOADS=
[ "$IDLE_COUNTS" = none ] && IDLE_COUNTS=
: "${SETTLE:=5}"                   # seconds after a start (shared run-all.sh / run-idle.sh: 5)
: "${SERVER_NICE:=$NICE}"          # all three servers at this nice (roostd started with it, the others reniced)
: "${PRIME_DURATION:=25}"          # unmeasured SCRAM-cache priming pass (shared setup-accounts.sh: 25 s)
: "${SKIP_SETUP:=}"                # 1: no account check / priming (accounts known to exist)
die() { echo "run-xmpp: $*" >&2; exit 1; }
# Where the Prosody/ejabberd start/stop/ctl scripts are, and the RUN_ROOT they run
# with (their dirs: $SRV_ROOT/bench-prosody, $SRV_ROOT/bench-ejabberd).
if [ -n "$PHONE" ]; then
  : "${PHONE_RUN_ROOT:=$RUN_ROOT/phone}"
  export PHONE_RUN_ROOT
  "$HERE/phone/make-harness.sh" >/dev/null || die "bench/phone/make-harness.sh failed"
  SRV_SCRIPTS="$PHONE_RUN_ROOT/servers" SRV_ROOT="$PHONE_RUN_ROOT"
else
  SRV_SCRIPTS="$SHARED_BENCH/servers" SRV_ROOT="$RUN_ROOT"
fi
srv() { local t=$1 what=$2; shift 2; RUN_ROOT="$SRV_ROOT" "$SRV_SCRIPTS/$t/$what.sh" "$@"; }
# The load generator's SCRAM key cache: per server and account set.
scram_cache() { echo "$RUN_ROOT/bench-scram-$1$PHONE_SUFFIX.cache"; }
for t in $SERVERS; do case $t in prosody|ejabberd|roost) ;; *) die "unknown server '$t' in SERVERS (prosody ejabberd roost)";; esac; done
for w in $WORKLOADS; do case $w in login-tls|login-plain|msg-tls|msg-plain) ;; *) die "unknown workload '$w'";; esac; done
want() { case " $SERVERS " in *" $1 "*) return 0;; esac; return 1; }

case "$(readlink -f "$RESULTS")" in "$(readlink -f "$SHARED_BENCH")"*) die "RESULTS must not be inside the shared bench dir";; esac
[ "$(id -u)" = 0 ] || die "run as root (the shared start scripts use setpriv)"
for t in taskset nice renice setpriv python3 timeout; do command -v "$t" >/dev/null || die "$t not installed"; done
[ -x "$LOADGEN" ] || die "load generator $LOADGEN missing: run bench/build-loadgen.sh (or set XMPP_LOADGEN)"
if want prosody; then command -v prosody >/dev/null || die "prosody not installed (apt-get install -y prosody prosody-modules)"; fi
if want ejabberd; then command -v ejabberdctl >/dev/null || die "ejabberd not installed (apt-get install -y ejabberd)"; fi
if want roost; then
  for b in "$ROOSTD" "$ROOSTCTL"; do
    [ -x "$b" ] || die "$b is missing. This script builds nothing; first run
    (cd $(cd "$HERE/.." && pwd) && cargo build --release -p roost-server -p roostctl)
  or bench/build-roost.sh and set the ROOST_BIN_DIR it prints."
  done
fi
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port already taken by someone else's server would make us measure that server.
declare -A PORTS=([prosody]="$PROSODY_C2S_PORT $PROSODY_HTTP_PORT" [ejabberd]="$EJABBERD_C2S_PORT $EJABBERD_DIST_PORT"
                  [roost]="$ROOST_C2S_PORT $ROOST_HTTP_PORT")
declare -A PIDFILE=([prosody]="$SRV_ROOT/bench-prosody/server.pid" [ejabberd]="$SRV_ROOT/bench-ejabberd/server.pid"
                    [roost]="$ROOST_RUN_DIR/server.pid")
for t in $SERVERS; do
  [ -s "${PIDFILE[$t]}" ] && continue   # ours from an earlier run: restarted below
  for p in ${PORTS[$t]}; do port_busy "$p" && die "127.0.0.1:$p ($t) is in use by something else"; done
done
ulimit -n "$(ulimit -Hn)"    # idle sessions: one fd per session in the load generator (hard limit 20000 here)
[ "$(ulimit -n)" -gt $(( $(printf '%s\n' $IDLE_COUNTS 0 | sort -n | tail -1) + 100 )) ] \
  || die "ulimit -n $(ulimit -n) is too small for IDLE_COUNTS=$IDLE_COUNTS"

mkdir -p "$RESULTS/setup" "$RESULTS/logs" "$RUN_ROOT"
LOG="$RESULTS/run.log"
exec > >(tee -a "$LOG") 2>&1
export XMPP_LOADGEN LOADGEN

stop_server() {
  case $1 in
    prosody|ejabberd) srv "$1" stop ;;
    roost) "$HERE/stop-roost.sh" ;;
  esac >/dev/null 2>&1 || true
}
# Renice every thread: setpriority() on a PID only reaches that one thread, and
# beam.smp's schedulers are other threads.
renice_all() { local pid=$1 tid; for tid in $(ls "/proc/$pid/task" 2>/dev/null); do renice -n "$SERVER_NICE" -p "$tid" >/dev/null 2>&1 || true; done; }
ROUND_TAG=setup
start_server() {
  local t=$1
  stop_server "$t"
  case $t in
    prosody|ejabberd) srv "$t" start ;;
    roost) "$HERE/start-roost.sh" ;;   # taskset -c SERVER_CPU nice -n NICE roostd (kept data dir)
  esac || die "$t failed to start"
  # The shared start scripts pin (taskset -c SERVER_CPU) but do not renice.
  [ "$t" = roost ] || renice_all "$(cat "${PIDFILE[$t]}")"
  TENV=$(target_env "$t")
  # shellcheck disable=SC1090
  source "$TENV"
  kill -0 "$SERVER_PID" 2>/dev/null || die "$t: server pid $SERVER_PID not running"
}
target_env() {
  case $1 in roost) echo "$ROOST_RUN_DIR/target.env";; *) echo "$SRV_ROOT/bench-$1/target.env";; esac
}
# Keep each roostd log (log_level from ROOST_LOG_LEVEL): warnings/errors per round.
save_roost_log() { [ -s "$ROOST_RUN_DIR/stdout.log" ] && cp "$ROOST_RUN_DIR/stdout.log" "$RESULTS/logs/roostd-$1.log" || true; }
check_alive() {   # after each measurement: a crashed server must not go unnoticed
  local t=$1 what=$2
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    [ "$t" = roost ] && { save_roost_log "$what-died"; tail -20 "$ROOST_RUN_DIR/stdout.log" >&2 || true; }
    die "$t (pid $SERVER_PID) died during $what"
  fi
}

# PHONE=1, PHONE_ARCHIVE=empty: the archive emptied before the round, while the
# server is stopped (Prosody's files, Roost's database) or once it runs
# (ejabberd's mnesia table).
phone_empty_before_start() {
  [ -n "$PHONE" ] && [ "$PHONE_ARCHIVE" = empty ] && [ "$1" != ejabberd ] || return 0
  stop_server "$1"
  # The shared stop.sh gives up after 10 s without a kill: Prosody's files are
  # only touched once its process is gone (roostd's lock is waited for).
  if [ "$1" = prosody ] && [ -s "${PIDFILE[prosody]}" ]; then
    local pid i; pid=$(cat "${PIDFILE[prosody]}")
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    ! kill -0 "$pid" 2>/dev/null || die "prosody (pid $pid) still runs; its archive is left alone"
  fi
  SRV_ROOT="$SRV_ROOT" SRV_SCRIPTS="$SRV_SCRIPTS" "$HERE/phone/empty-archive.sh" "$1" || die "$1: could not empty its archive"
}
phone_empty_after_start() {
  [ -n "$PHONE" ] && [ "$PHONE_ARCHIVE" = empty ] && [ "$1" = ejabberd ] || return 0
  SRV_ROOT="$SRV_ROOT" SRV_SCRIPTS="$SRV_SCRIPTS" "$HERE/phone/empty-archive.sh" "$1" || die "$1: could not empty its archive"
}
# PHONE=1: evidence that the phone features are really on in the server under test
# (results/…/phone/): archived message counts before and after a turn
# (archive.txt), and bench/phone/check-features.py's carbons / stream management /
# archive check after it (check-*.json; its verdict in archive.txt too).
phone_archive() {
  [ -n "$PHONE" ] || return 0
  mkdir -p "$RESULTS/phone"
  echo "$2 $1 ($(date +%T)): $(SRV_ROOT="$SRV_ROOT" SRV_SCRIPTS="$SRV_SCRIPTS" MSG_START="${MSG_START:-5000}" \
    MSG_PAIRS="$MSG_PAIRS" "$HERE/phone/archive-count.sh" "$1")" | tee -a "$RESULTS/phone/archive.txt"
}
phone_check() {
  [ -n "$PHONE" ] || return 0
  local t=$1 label=$2 verdict
  mkdir -p "$RESULTS/phone"
  if timeout 120 python3 "$HERE/phone/check-features.py" --host "$XMPP_HOST" --port "$XMPP_PORT" --domain "$XMPP_DOMAIN" \
      --user "$BENCH_PREFIX${MSG_START:-5000}" --peer "$BENCH_PREFIX$(( ${MSG_START:-5000} + 1 ))" --password "$BENCH_PASSWORD" \
      --json "$RESULTS/phone/check-$t-$label.json" >/dev/null 2>&1; then verdict="all on"; else verdict="FAILED"; fi
  echo "$label $t ($(date +%T)): check-features: $verdict: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(k + "=" + ("ok" if v else "NO") for k, v in r["checks"].items()), r["error"] or "")' "$RESULTS/phone/check-$t-$label.json" 2>&1)" \
    | tee -a "$RESULTS/phone/archive.txt"
}

SUMMARY_DONE=
cleanup() {
  set +e
  for t in $SERVERS; do stop_server "$t"; done
  if [ -z "$SUMMARY_DONE" ] && [ -s "$RESULTS/raw.jsonl" ]; then
    { echo "**INCOMPLETE RUN** (the script stopped early; see run.log)"; echo;
      python3 "$HERE/summarize-xmpp.py" "$RESULTS"; } > "$RESULTS/summary.md" 2>&1
    echo "partial summary: $RESULTS/summary.md"
  fi
  echo "servers stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "run-xmpp: command failed (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cores, $(uname -r); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg); ulimit -n $(ulimit -n)"
  echo "roost bench scripts: git $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$HERE/.." diff --quiet HEAD -- bench 2>/dev/null || echo ' (+ uncommitted bench changes)')"
  if want roost; then
    c="$ROOST_BIN_DIR/../../COMMIT"
    echo "roostd: $("$ROOSTD" --version 2>/dev/null | head -1); binaries $ROOST_BIN_DIR, built $(date -r "$ROOSTD" -Is); metrics listener ${ROOST_METRICS_BIND:-default (127.0.0.1:5290)}$([ -s "$c" ] && echo "; from commit $(cut -c1-12 "$c") ($(cut -d' ' -f5- "$c"))")"
  fi
  want prosody && echo "prosody: $(dpkg-query -W -f='${Version}' prosody 2>/dev/null)"
  want ejabberd && echo "ejabberd: $(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null), erlang-base $(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null)"
  echo "loadgen: $LOADGEN (built $(date -r "$LOADGEN" -Is))"
  echo "params: SERVERS='$SERVERS' RUNS=$RUNS WORKLOADS='$WORKLOADS' DURATION=${DURATION}s WARMUP=${WARMUP}s LOGIN_USERS=$LOGIN_USERS LOGIN_CONC=$LOGIN_CONC MSG_PAIRS=$MSG_PAIRS MSG_WINDOW=$MSG_WINDOW MSG_BODY=$MSG_BODY IDLE_COUNTS='$IDLE_COUNTS' IDLE_HOLD=$IDLE_HOLD ACCOUNTS=$ACCOUNTS SETTLE=${SETTLE}s"
  echo "pinning: servers on core $SERVER_CPU at nice $SERVER_NICE, load generator on core $LOADGEN_CPU at nice $NICE"
  echo "ports: prosody c2s $PROSODY_C2S_PORT, ejabberd c2s $EJABBERD_C2S_PORT, roost c2s $ROOST_C2S_PORT (all 127.0.0.1)"
  echo "sessions enable (XMPP_ENABLE, loadgen --enable): '${XMPP_ENABLE:-}'"
  [ -z "${ROOST_EXTRA_TOML:-}" ] || echo "roostd config additions (ROOST_EXTRA_TOML): $(printf '%s' "$ROOST_EXTRA_TOML" | tr '\n' ' ')"
  if [ -n "$PHONE" ]; then
    echo "PHONE=1 (issue 13 phone profile): prosody/ejabberd = the shared configs plus MAM for every account, stream management, carbons (bench/phone/make-harness.sh; dirs under $PHONE_RUN_ROOT); roostd = roost.toml.in with its defaults (archive on, default always; carbons; stream management), data $ROOST_XMPP_DATA_DIR; PHONE_ARCHIVE=$PHONE_ARCHIVE (empty: every archive emptied before each round)"
    want prosody && echo "prosody phone additions: $(grep -E '"mam"|default_archive_policy|archive_expires_after|smacks_hibernation_time' "$SRV_SCRIPTS/prosody/prosody.cfg.lua.in" | sed 's/^[[:space:]]*//' | tr '\n' ' ')"
    want ejabberd && echo "ejabberd phone additions: $(sed -n '/^  mod_mam:/,/resume_timeout/p' "$SRV_SCRIPTS/ejabberd/ejabberd.yml.in" | sed 's/^[[:space:]]*//' | tr '\n' ' ')"
  fi
} > "$RESULTS/meta.txt"
cat "$RESULTS/meta.txt"
"$SHARED_BENCH/tools/make-certs.sh" >/dev/null

# ---- 1. accounts + SCRAM cache priming --------------------------------------------
count_accounts() {   # how many of bench0..bench{ACCOUNTS-1} exist on a running server (Prosody, ejabberd)
  local t=$1 names
  names=$(case $t in
    prosody) ls "$SRV_ROOT/bench-prosody/data/${DOMAIN//./%2e}/accounts" 2>/dev/null | sed -n 's/\.dat$//p' ;;
    ejabberd) timeout 120 env RUN_ROOT="$SRV_ROOT" "$SRV_SCRIPTS/ejabberd/ctl.sh" registered_users "$DOMAIN" 2>/dev/null ;;
  esac) || true   # none yet: an empty list
  printf '%s\n' "$names" | awk -v p="$BENCH_PREFIX" -v n="$ACCOUNTS" \
    'index($0, p) == 1 { i = substr($0, length(p) + 1); if (i ~ /^[0-9]+$/ && i + 0 < n) c++ } END { print c + 0 }'
}
setup_server() {
  local t=$1 have
  start_server "$t"; sleep 2
  if [ "$t" = roost ]; then
    # `roostctl user list` cannot count 10,000 accounts (64 KiB admin frame), so
    # roost-accounts.sh tries them all: an existing one is refused at once.
    echo "== setup roost: creating the missing ones of $ACCOUNTS accounts (piped roostctl shell)"
    OUT="$RESULTS/setup/accounts-roost.json" "$HERE/roost-accounts.sh" \
      || die "roost: not all $ACCOUNTS accounts exist after roost-accounts.sh (see $RESULTS/setup/accounts-roost.json)"
  else
    have=$(count_accounts "$t")
    echo "== setup $t: $have of $ACCOUNTS accounts exist"
    if [ "$have" -lt "$ACCOUNTS" ]; then
      # as the shared setup-accounts.sh (ACCOUNT_MODE=ibr), bounded
      timeout 1800 taskset -c "$LOADGEN_CPU" "$LOADGEN" register --host "$XMPP_HOST" --port "$XMPP_PORT" \
        --domain "$XMPP_DOMAIN" --tls auto --prefix "$BENCH_PREFIX" --password "$BENCH_PASSWORD" \
        --users "$ACCOUNTS" --concurrency 16 --label "$TARGET_NAME" | tee "$RESULTS/setup/register-$t.json"
      have=$(count_accounts "$t")
      [ "$have" -ge "$ACCOUNTS" ] || die "$t: only $have of $ACCOUNTS accounts after registering them (see $RESULTS/setup/)"
    fi
  fi
  # Prime the client's SCRAM key cache for the login accounts (unmeasured), as the
  # shared setup-accounts.sh does.
  XMPP_SCRAM_CACHE="$(scram_cache "$TARGET_NAME")" timeout $((PRIME_DURATION + 120)) \
    taskset -c "$LOADGEN_CPU" "$LOADGEN" login --host "$XMPP_HOST" --port "$XMPP_PORT" --domain "$XMPP_DOMAIN" \
    --prefix "$BENCH_PREFIX" --password "$BENCH_PASSWORD" --users "$LOGIN_USERS" --concurrency "$LOGIN_CONC" \
    --duration "$PRIME_DURATION" --warmup 0 --label "prime-$TARGET_NAME" > "$RESULTS/setup/prime-$t.json" || true
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print("   prime pass:", r.get("completed"), "logins,", r.get("errors"), "errors", ("first: " + r["first_errors"]) if r.get("errors") else "")' \
    "$RESULTS/setup/prime-$t.json" 2>/dev/null || echo "   prime pass: no JSON result (see $RESULTS/setup/prime-$t.json)"
  check_alive "$t" setup
  [ "$t" = roost ] && save_roost_log setup
  stop_server "$t"
}
if [ -z "$SKIP_SETUP" ]; then
  for t in $SERVERS; do setup_server "$t"; done
fi

# ---- 2./3. measurements -------------------------------------------------------------
# The shared run-xmpp.sh's workloads, same parameters, same measure.py; repeated here
# only because the shared env.sh fixes LOADGEN to a build inside the read-only dir.
workload() {
  local w=$1 tls n
  export XMPP_SCRAM_CACHE; XMPP_SCRAM_CACHE="$(scram_cache "$TARGET_NAME")"
  local COMMON=(--host "$XMPP_HOST" --port "$XMPP_PORT" --domain "$XMPP_DOMAIN" --prefix "$BENCH_PREFIX"
                --password "$BENCH_PASSWORD" --label "$TARGET_NAME")
  echo "== $TARGET_NAME run $RUN_NO: $w ($(date +%T))"
  case $w in
    login-tls|login-plain)
      tls=on; [ "$w" = login-plain ] && tls=off
      timeout $((WARMUP + DURATION + 120)) "$SHARED_BENCH/tools/measure.py" --target "$TARGET_NAME" \
        --version "${TARGET_VERSION:-}" --run "$RUN_NO" --server-pid "$SERVER_PID" --out "$RESULTS/raw.jsonl" \
        --workload login --variant "${w#login-}" --delay "$WARMUP" --window "$DURATION" -- \
        "$LOADGEN" login "${COMMON[@]}" --tls $tls --users "$LOGIN_USERS" --concurrency "$LOGIN_CONC" \
        --duration "$DURATION" --warmup "$WARMUP" ;;
    msg-tls|msg-plain)
      tls=on; [ "$w" = msg-plain ] && tls=off
      # logins of 2*pairs sessions happen first (~1-3 s); the window starts after them
      timeout $((WARMUP + DURATION + 180)) "$SHARED_BENCH/tools/measure.py" --target "$TARGET_NAME" \
        --version "${TARGET_VERSION:-}" --run "$RUN_NO" --server-pid "$SERVER_PID" --out "$RESULTS/raw.jsonl" \
        --workload msg --variant "${w#msg-}" --delay "$((WARMUP + 4))" --window "$((DURATION - 4))" -- \
        "$LOADGEN" msg "${COMMON[@]}" --tls $tls --pairs "$MSG_PAIRS" --window "$MSG_WINDOW" --body "$MSG_BODY" \
        --start "${MSG_START:-5000}" --duration "$DURATION" --warmup "$WARMUP" ;;
    idle-*)
      n=${w#idle-}
      timeout $((IDLE_HOLD + 1000)) "$SHARED_BENCH/tools/measure.py" --target "$TARGET_NAME" \
        --version "${TARGET_VERSION:-}" --run "$RUN_NO" --server-pid "$SERVER_PID" --out "$RESULTS/raw.jsonl" \
        --workload idle --variant "$n" --window 5 --idle-ready "$RUN_ROOT/bench-idle-ready" -- \
        "$LOADGEN" idle "${COMMON[@]}" --tls on --conns "$n" --concurrency "$LOGIN_CONC" --hold "$IDLE_HOLD" \
        --ready-file "$RUN_ROOT/bench-idle-ready" ;;
  esac || echo "!! $TARGET_NAME $w: measure.py exited with $? (record may be missing)"
  check_alive "$TARGET_NAME" "run $RUN_NO $w"
  sleep 2
}

# Throughput rounds: every server freshly restarted for its turn in every round, and
# stopped after it (so no other server under test is even idling beside it); servers
# interleaved within a round, so slow drift on the shared box hits all alike.
for RUN_NO in $(seq "${START_RUN:-1}" "$RUNS"); do
  [ -n "$WORKLOADS" ] || break
  echo "=== round $RUN_NO/$RUNS ($(date +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  for t in $SERVERS; do
    phone_empty_before_start "$t"
    start_server "$t"
    phone_empty_after_start "$t"
    sleep "$SETTLE"
    phone_archive "$t" "round$RUN_NO-before"
    for w in $WORKLOADS; do workload "$w"; done
    phone_archive "$t" "round$RUN_NO-after"
    phone_check "$t" "round$RUN_NO"
    [ "$t" = roost ] && save_roost_log "round$RUN_NO"
    stop_server "$t"
  done
done

# Idle-session memory: each measurement on a freshly started server (an allocator
# rarely hands memory back, so an RSS delta on an already-grown heap reads near zero).
for RUN_NO in $(seq "${START_RUN:-1}" "$RUNS"); do
  for n in $IDLE_COUNTS; do
    echo "=== idle $n, round $RUN_NO/$RUNS ($(date +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
    for t in $SERVERS; do
      start_server "$t"; sleep "$SETTLE"
      workload "idle-$n"
      phone_check "$t" "idle$n-round$RUN_NO"
      [ "$t" = roost ] && save_roost_log "idle$n-round$RUN_NO"
      stop_server "$t"
    done
  done
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"

for t in $SERVERS; do stop_server "$t"; done
python3 "$HERE/summarize-xmpp.py" "$RESULTS" > "$RESULTS/summary.md"
SUMMARY_DONE=1
echo
cat "$RESULTS/summary.md"
echo
echo "results: $RESULTS"
