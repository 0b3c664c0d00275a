#!/bin/bash
# Issue 9's benchmark: FAST logins (XEP-0484 HT-SHA-256-NONE over SASL2 with
# Bind2 inline: no stream restart, no separate bind) against SCRAM-SHA-1
# legacy logins, both over STARTTLS + TLS 1.3, side by side on one roostd, with
# the shared harness's procedure (server on core 0, load on core 1, 50 logins
# in flight over 1000 accounts, a fresh connection per login, each ending with
# initial presence and a ping reply; DURATION s after WARMUP s). Plus the
# idle-session memory (shared loadgen `idle`) on a freshly started roostd.
#
#   export $(bench/build-roost.sh) $(bench/build-fast-login.sh)
#   bench/build-loadgen.sh                  # once
#   bench/run-fast.sh                       # RUNS=3 rounds, then idle-10000
#   DURATION=5 RUNS=1 IDLE_COUNTS=2000 bench/run-fast.sh      # plumbing check
#   BASELINE_BIN_DIR=/tmp/roost-bench/src-b99aca8/target/release bench/run-fast.sh
#   KINDS="scram scram-baseline" IDLE_COUNTS=none bench/run-fast.sh   # a subset per round
#
# Phases:
#  1. setup on one freshly started roostd (ROOST_BIN_DIR): the ACCOUNTS bench
#     accounts (bench/roost-accounts.sh; kept between runs in
#     $ROOST_RUN_DIR/data-fast), one unmeasured SCRAM pass that fills the shared
#     loadgen's key cache (as the shared setup does), and `fast-login setup`:
#     one SASL2 PLAIN login per login account with <request-token>, which
#     writes the FAST tokens to $ROOST_RUN_DIR/fast-tokens (0600).
#     With BASELINE_BIN_DIR, a second roostd of that build starts beside it
#     (its own run dir, ports and data; idle while the first is measured) and
#     gets its LOGIN_USERS accounts and a priming pass too.
#  2. RUNS rounds on those same roostd processes, the order alternating per
#     round to cancel drift: SCRAM-SHA-1 TLS logins (shared loadgen `login`,
#     variant tls), FAST logins (fast-login `login`, variant fast), and with a
#     baseline its SCRAM-SHA-1 TLS logins (target roost-baseline).
#  3. idle: IDLE_RUNS x IDLE_COUNTS, each on a freshly started roostd
#     (ROOST_BIN_DIR, then the baseline build unless IDLE_BASELINE=0), shared
#     loadgen `idle` over TLS (an RSS delta on a grown heap would read near zero).
#  4. summary: bench/summarize-fast.py -> summary.md (ratio, targets).
#
# Builds nothing. Run as root. Every load is bounded by its own duration and by
# `timeout`; servers are stopped on exit (also on error or Ctrl-C) by their PIDs.
# Results: bench/results/<date-time>-fast/ or $RESULTS.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${RESULTS:=$HERE/results/$(date +%Y-%m-%d-%H%M%S)-fast}"
: "${IDLE_COUNTS:=10000}"
export RESULTS IDLE_COUNTS
source "$HERE/env.sh"
: "${ROOST_FAST_DATA_DIR:=$ROOST_RUN_DIR/data-fast}"
: "${FAST_LOGIN:=$RUN_ROOT/fast-login/target/release/fast-login}"
: "${FAST_TOKENS:=$ROOST_RUN_DIR/fast-tokens}"
: "${IDLE_RUNS:=$RUNS}"
: "${SETTLE:=5}"
: "${PRIME_DURATION:=25}"
: "${BASELINE_BIN_DIR:=}"
: "${BASELINE_RUN_DIR:=$RUN_ROOT/bench-roost-baseline}"
: "${BASELINE_C2S_PORT:=6424}"
: "${BASELINE_HTTP_PORT:=6482}"
: "${QUIET_WAIT:=600}"   # seconds to wait for a quiet machine before each measurement (0: don't)
: "${QUIET_BUSY:=15}"    # % busy of a core (over 3 s) below which the machine counts as quiet
: "${IDLE_BASELINE:=${BASELINE_BIN_DIR:+1}}"   # 1: idle memory of the baseline build too (needs ACCOUNTS accounts there)
: "${KINDS:=scram fast${BASELINE_BIN_DIR:+ scram-baseline}}"   # the measurements of a round
[ "$IDLE_COUNTS" = none ] && IDLE_COUNTS=
die() { echo "run-fast: $*" >&2; exit 1; }

case "$(readlink -f "$RESULTS")" in "$(readlink -f "$SHARED_BENCH")"*) die "RESULTS must not be inside the shared bench dir";; esac
[ "$(id -u)" = 0 ] || die "run as root (the shared harness's tools assume it)"
for t in taskset nice python3 timeout; do command -v "$t" >/dev/null || die "$t not installed"; done
[ -x "$LOADGEN" ] || die "shared load generator $LOADGEN missing: run bench/build-loadgen.sh"
[ -x "$FAST_LOGIN" ] || die "$FAST_LOGIN missing: run bench/build-fast-login.sh (or set FAST_LOGIN)"
for b in "$ROOSTD" "$ROOSTCTL"; do
  [ -x "$b" ] || die "$b missing: bench/build-roost.sh and set the ROOST_BIN_DIR it prints"
done
if [ -n "$BASELINE_BIN_DIR" ]; then
  for b in roostd roostctl; do [ -x "$BASELINE_BIN_DIR/$b" ] || die "$BASELINE_BIN_DIR/$b missing"; done
fi
for k in $KINDS; do case $k in scram|fast) ;; scram-baseline) [ -n "$BASELINE_BIN_DIR" ] || die "KINDS has scram-baseline but BASELINE_BIN_DIR is not set";; *) die "unknown kind '$k' in KINDS (scram fast scram-baseline)";; esac; done
[ "$LOGIN_USERS" -le "$ACCOUNTS" ] || die "LOGIN_USERS ($LOGIN_USERS) > ACCOUNTS ($ACCOUNTS)"
for n in $IDLE_COUNTS; do [ "$n" -le "$ACCOUNTS" ] || die "idle count $n > ACCOUNTS ($ACCOUNTS)"; done
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$ROOST_C2S_PORT" "$ROOST_HTTP_PORT" ${BASELINE_BIN_DIR:+"$BASELINE_C2S_PORT" "$BASELINE_HTTP_PORT"}; do
  port_busy "$p" && die "127.0.0.1:$p is in use (another roostd? bench/stop-roost.sh stops ours)"
done
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $(( $(printf '%s\n' $IDLE_COUNTS "$LOGIN_CONC" | sort -n | tail -1) + 100 )) ] \
  || die "ulimit -n $(ulimit -n) is too small for IDLE_COUNTS=$IDLE_COUNTS"

mkdir -p "$RESULTS/setup" "$RESULTS/logs"
exec > >(tee -a "$RESULTS/run.log") 2>&1

# The two roostd instances: "main" (ROOST_BIN_DIR, the build under test) and
# "baseline". Each call passes its whole identity, since env.sh keeps what the
# caller exported.
roost() {   # roost main|baseline start|stop
  local which=$1 what=$2
  if [ "$which" = main ]; then
    ROOST_RUN_DIR="$ROOST_RUN_DIR" ROOST_BIN_DIR="$ROOST_BIN_DIR" ROOST_C2S_PORT="$ROOST_C2S_PORT" \
      ROOST_HTTP_PORT="$ROOST_HTTP_PORT" ROOST_DATA_DIR="$ROOST_FAST_DATA_DIR" ROOST_FRESH_DATA=0 \
      "$HERE/$what-roost.sh"
  else
    ROOST_RUN_DIR="$BASELINE_RUN_DIR" ROOST_BIN_DIR="$BASELINE_BIN_DIR" ROOST_C2S_PORT="$BASELINE_C2S_PORT" \
      ROOST_HTTP_PORT="$BASELINE_HTTP_PORT" ROOST_DATA_DIR="$BASELINE_RUN_DIR/data-fast" ROOST_FRESH_DATA=0 \
      "$HERE/$what-roost.sh"
  fi
}
run_dir() { [ "$1" = main ] && echo "$ROOST_RUN_DIR" || echo "$BASELINE_RUN_DIR"; }
pid_of() { cat "$(run_dir "$1")/server.pid"; }
port_of() { [ "$1" = main ] && echo "$ROOST_C2S_PORT" || echo "$BASELINE_C2S_PORT"; }
save_log() { [ -s "$(run_dir "$1")/stdout.log" ] && cp "$(run_dir "$1")/stdout.log" "$RESULTS/logs/roostd-$1-$2.log" || true; }
check_alive() {
  local pid; pid=$(pid_of "$1" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    save_log "$1" "died"; tail -20 "$(run_dir "$1")/stdout.log" >&2 || true
    die "roostd ($1) died during $2"
  fi
}
INSTANCES="main${BASELINE_BIN_DIR:+ baseline}"
IDLE_INSTANCES="main"; [ "$IDLE_BASELINE" = 1 ] && [ -n "$BASELINE_BIN_DIR" ] && IDLE_INSTANCES="main baseline"
SUMMARY_DONE=
cleanup() {
  set +e
  for i in $INSTANCES; do roost "$i" stop >/dev/null 2>&1; done
  if [ -z "$SUMMARY_DONE" ] && [ -s "$RESULTS/raw.jsonl" ]; then
    { echo "**INCOMPLETE RUN** (the script stopped early; see run.log)"; echo;
      python3 "$HERE/summarize-fast.py" "$RESULTS"; } > "$RESULTS/summary.md" 2>&1
    echo "partial summary: $RESULTS/summary.md"
  fi
  echo "servers stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit_of() { local c="$1/../../COMMIT"; [ -s "$c" ] && echo "commit $(cut -c1-12 "$c") ($(cut -d' ' -f5- "$c" | cut -c1-100))" || echo "no COMMIT file"; }
{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cores, $(uname -r); loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "roost bench scripts: git $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$HERE/.." diff --quiet HEAD -- bench 2>/dev/null || echo ' (+ uncommitted bench changes)')"
  echo "roostd: $ROOST_BIN_DIR, built $(date -r "$ROOSTD" -Is); $(commit_of "$ROOST_BIN_DIR")"
  [ -n "$BASELINE_BIN_DIR" ] && echo "baseline roostd: $BASELINE_BIN_DIR, built $(date -r "$BASELINE_BIN_DIR/roostd" -Is); $(commit_of "$BASELINE_BIN_DIR")"
  echo "loadgen (SCRAM, idle): $LOADGEN (built $(date -r "$LOADGEN" -Is))"
  echo "fast-login (FAST): $FAST_LOGIN (built $(date -r "$FAST_LOGIN" -Is))"
  echo "params: KINDS='$KINDS' RUNS=$RUNS DURATION=${DURATION}s WARMUP=${WARMUP}s LOGIN_USERS=$LOGIN_USERS LOGIN_CONC=$LOGIN_CONC ACCOUNTS=$ACCOUNTS IDLE_COUNTS='$IDLE_COUNTS' IDLE_RUNS=$IDLE_RUNS IDLE_HOLD=$IDLE_HOLD IDLE_BASELINE=${IDLE_BASELINE:-0} SETTLE=${SETTLE}s"
  echo "quiet machine: before each measurement, wait up to ${QUIET_WAIT}s for both cores < ${QUIET_BUSY}% busy"
  echo "pinning: roostd on core $SERVER_CPU at nice $NICE, load generators on core $LOADGEN_CPU at nice $NICE"
  echo "ports: roostd c2s 127.0.0.1:$ROOST_C2S_PORT${BASELINE_BIN_DIR:+, baseline c2s 127.0.0.1:$BASELINE_C2S_PORT}"
} > "$RESULTS/meta.txt"
cat "$RESULTS/meta.txt"
"$SHARED_BENCH/tools/make-certs.sh" >/dev/null

# One measured load run through the shared measure.py (pinned to the load core,
# CPU of both cores, the server and the load generator sampled over the window).
# MEASURE_EXTRA: more measure.py options (the idle mode's --idle-ready FILE).
bin_dir() { [ "$1" = main ] && echo "$ROOST_BIN_DIR" || echo "$BASELINE_BIN_DIR"; }
M() {   # M INSTANCE TARGET WORKLOAD VARIANT ROUND DELAY WINDOW -- CMD...
  local inst=$1 target=$2 w=$3 v=$4 r=$5 delay=$6 window=$7; shift 8
  # shellcheck disable=SC2086
  timeout $((delay + window + 900)) python3 "$SHARED_BENCH/tools/measure.py" --target "$target" \
    --version "$("$(bin_dir "$inst")/roostd" --version 2>/dev/null | head -1)" \
    --workload "$w" --variant "$v" --run "$r" --server-pid "$(pid_of "$inst")" \
    --delay "$delay" --window "$window" ${MEASURE_EXTRA:-} --out "$RESULTS/raw.jsonl" -- "$@"
}
export XMPP_SCRAM_CACHE="$RUN_ROOT/bench-scram-roost.cache"
scram_cmd() {   # the shared loadgen's login workload, exactly as run-xmpp.sh runs it
  echo "$LOADGEN" login --host 127.0.0.1 --port "$(port_of "$1")" --domain "$DOMAIN" --prefix "$BENCH_PREFIX" \
    --password "$BENCH_PASSWORD" --label "$2" --tls on --users "$LOGIN_USERS" --concurrency "$LOGIN_CONC" \
    --duration "$3" --warmup "$4"
}
one_line() { python3 -c 'import json,sys
for line in reversed(sys.stdin.read().splitlines()):
    if line.startswith("{"):
        r = json.loads(line); x = r.get("result") or r
        print("   ", ", ".join(f"{k} {x[k]}" for k in sys.argv[1:] if k in x)); break
else: print("    no JSON result")' "$@"; }

# ---- 1. setup -----------------------------------------------------------------------
echo "== setup ($(date +%T))"
roost main start
if [ -n "$BASELINE_BIN_DIR" ]; then roost baseline start; fi
for i in $INSTANCES; do
  n=$ACCOUNTS; [ "$i" = baseline ] && [ "$IDLE_BASELINE" != 1 ] && n=$LOGIN_USERS   # a baseline that only logs in
  echo "== $i: $n accounts (bench/roost-accounts.sh)"
  ROOST_RUN_DIR="$(run_dir "$i")" ROOST_BIN_DIR="$(bin_dir "$i")" \
    ACCOUNTS=$n OUT="$RESULTS/setup/accounts-$i.json" "$HERE/roost-accounts.sh" \
    || die "$i: not all $n accounts exist (see $RESULTS/setup/accounts-$i.json)"
  echo "== $i: SCRAM key-cache priming pass, ${PRIME_DURATION}s (unmeasured)"
  # shellcheck disable=SC2046
  timeout $((PRIME_DURATION + 120)) taskset -c "$LOADGEN_CPU" $(scram_cmd "$i" "prime-$i" "$PRIME_DURATION" 0) \
    > "$RESULTS/setup/prime-$i.json" || true
  one_line completed errors first_errors < "$RESULTS/setup/prime-$i.json"
  check_alive "$i" "setup"
done
want() { case " $KINDS " in *" $1 "*) return 0;; esac; return 1; }
if want fast; then
echo "== main: FAST tokens for $LOGIN_USERS accounts (fast-login setup: SASL2 PLAIN + request-token)"
rm -f -- "$FAST_TOKENS"
timeout 900 taskset -c "$LOADGEN_CPU" nice -n "$NICE" "$FAST_LOGIN" setup --host 127.0.0.1 --port "$ROOST_C2S_PORT" \
  --domain "$DOMAIN" --prefix "$BENCH_PREFIX" --password "$BENCH_PASSWORD" --label fast-setup \
  --tokens "$FAST_TOKENS" --users "$LOGIN_USERS" --concurrency 16 > "$RESULTS/setup/fast-setup.json" \
  || { cat "$RESULTS/setup/fast-setup.json"; die "FAST setup failed: not every account got a token"; }
one_line tokens elapsed_s errors first_errors < "$RESULTS/setup/fast-setup.json"
check_alive main "FAST setup"
fi

# ---- 2. interleaved rounds ----------------------------------------------------------
fast_cmd() {
  echo "$FAST_LOGIN" login --host 127.0.0.1 --port "$ROOST_C2S_PORT" --domain "$DOMAIN" --prefix "$BENCH_PREFIX" \
    --label roost --tokens "$FAST_TOKENS" --users "$LOGIN_USERS" --concurrency "$LOGIN_CONC" \
    --duration "$DURATION" --warmup "$WARMUP"
}
# This box is shared: other sessions compile and run tests on both cores. Before
# each measurement, wait (at most QUIET_WAIT s) until both cores are below
# QUIET_BUSY % busy for 3 s (our idle roostd counts as nothing); the records'
# per-core figures still show any load that came later.
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
measure() {   # measure KIND ROUND
  local kind=$1 r=$2
  wait_quiet
  echo "== round $r/$RUNS: $kind ($(date +%T), loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  # shellcheck disable=SC2046
  case $kind in
    scram) M main roost login tls "$r" "$WARMUP" "$DURATION" -- $(scram_cmd main roost "$DURATION" "$WARMUP") | one_line logins_per_s errors ;;
    fast) M main roost login fast "$r" "$WARMUP" "$DURATION" -- $(fast_cmd) | one_line logins_per_s errors ;;
    scram-baseline) M baseline roost-baseline login tls "$r" "$WARMUP" "$DURATION" -- \
                      $(scram_cmd baseline roost-baseline "$DURATION" "$WARMUP") | one_line logins_per_s errors ;;
  esac
  check_alive "$([ "$kind" = scram-baseline ] && echo baseline || echo main)" "round $r $kind"
  sleep 2
}
for r in $(seq 1 "$RUNS"); do
  order=$KINDS
  [ $((r % 2)) = 0 ] && order=$(printf '%s\n' $KINDS | tac | tr '\n' ' ')
  for k in $order; do measure "$k" "$r"; done
done
for i in $INSTANCES; do save_log "$i" rounds; roost "$i" stop >/dev/null; done

# ---- 3. idle-session memory, each on a freshly started roostd ---------------------------
for r in $(seq 1 "$IDLE_RUNS"); do
  for n in $IDLE_COUNTS; do
    for i in $IDLE_INSTANCES; do
      target=roost; [ "$i" = baseline ] && target=roost-baseline
      echo "== idle $n, $i, round $r/$IDLE_RUNS ($(date +%T))"
      roost "$i" start >/dev/null; sleep "$SETTLE"; wait_quiet
      MEASURE_EXTRA="--idle-ready $RUN_ROOT/bench-idle-ready" M "$i" "$target" idle "$n" "$r" 0 5 -- "$LOADGEN" idle \
        --host 127.0.0.1 --port "$(port_of "$i")" --domain "$DOMAIN" \
        --prefix "$BENCH_PREFIX" --password "$BENCH_PASSWORD" --label "$target" --tls on --conns "$n" \
        --concurrency "$LOGIN_CONC" --hold "$IDLE_HOLD" --ready-file "$RUN_ROOT/bench-idle-ready" < /dev/null \
        | python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); x=r.get("result") or {}; print("    KiB/session", r.get("rss_per_conn_kb"), "up", x.get("up"), "errors", x.get("errors"))'
      check_alive "$i" "idle $n"
      save_log "$i" "idle$n-round$r"
      roost "$i" stop >/dev/null
    done
  done
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"

python3 "$HERE/summarize-fast.py" "$RESULTS" > "$RESULTS/summary.md"
SUMMARY_DONE=1
echo; cat "$RESULTS/summary.md"; echo; echo "results: $RESULTS"
