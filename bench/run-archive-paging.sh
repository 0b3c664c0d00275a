#!/bin/bash
# Issue 13's benchmark: paging through a large message archive (XEP-0313).
# A fresh roostd (bench/roost.toml.in, archive on by default) pinned to core
# $SERVER_CPU at nice $NICE; accounts bench0 and bench1; then
# bench/archive-paging on core $LOADGEN_CPU at nice $NICE: bench1 sends
# MESSAGES (100,000) chats to an available session of bench0 through the
# server (so each is archived twice: once per account), then CLIENTS (4)
# sessions of bench0 page through its archive, PAGE (50) a query, forwards
# from the start and backwards from the end, for DURATION (15) s: queries/s,
# results/s, query latency p50/p99/max (the iq sent to its answer read, the
# page's results included). roostd stopped on exit.
#
#   export $(bench/build-archive-paging.sh)                 # the tool
#   roost-cargo build --release --bin roostd --bin roostctl
#   bench/run-archive-paging.sh                             # RUNS=1 round
#
# Builds nothing. Run as root. Results: bench/results/<date-time>-archive-paging/
# or $RESULTS: raw.jsonl (one tool JSON object per round), meta.txt, run.log,
# sizes.jsonl (the archive's size and roostd's RSS and database after each round).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${RESULTS:=$HERE/results/$(date +%Y-%m-%d-%H%M%S)-archive-paging}"
: "${ROOST_RUN_DIR:=${RUN_ROOT:-/tmp/roost-bench}/bench-archive}"
# Ports of their own, so that this bench can run beside roostd of another.
: "${ROOST_C2S_PORT:=6432}"
: "${ROOST_HTTP_PORT:=6482}"
export RESULTS ROOST_RUN_DIR ROOST_C2S_PORT ROOST_HTTP_PORT
source "$HERE/env.sh"
: "${ARCHIVE_PAGING:=$RUN_ROOT/archive-paging/target/release/archive-paging}"
: "${MESSAGES:=100000}"
: "${CLIENTS:=4}"
: "${PAGE:=50}"
: "${RUNS:=1}"
die() { echo "run-archive-paging: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (nice -10, like the other benches)"
[ -x "$ARCHIVE_PAGING" ] || die "$ARCHIVE_PAGING missing: run bench/build-archive-paging.sh"
for b in "$ROOSTD" "$ROOSTCTL"; do [ -x "$b" ] || die "$b missing: set ROOST_BIN_DIR to a release build"; done
mkdir -p "$RESULTS/logs"
exec > >(tee -a "$RESULTS/run.log") 2>&1
trap '"$HERE/stop-roost.sh" >/dev/null 2>&1 || true' EXIT
{
  echo "date: $(date -u +%FT%TZ)"
  echo "roostd: $("$ROOSTD" --version | head -1), commit $(git -C "$HERE/.." rev-parse --short HEAD)"
  echo "binary: $ROOSTD ($(stat -c %y "$ROOSTD"))"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "messages=$MESSAGES clients=$CLIENTS page=$PAGE duration=$DURATION runs=$RUNS"
  echo "server cpu $SERVER_CPU, tool cpu $LOADGEN_CPU, nice $NICE"
} > "$RESULTS/meta.txt"
for round in $(seq 1 "$RUNS"); do
  "$HERE/start-roost.sh"
  for user in bench0 bench1; do
    printf 'benchpass\n' | "$ROOSTCTL" --socket "$ROOST_SOCKET" user create "$user@$DOMAIN" --password-stdin >/dev/null
  done
  timeout $((DURATION + 600)) taskset -c "$LOADGEN_CPU" nice -n "$NICE" "$ARCHIVE_PAGING" \
    --port "$ROOST_C2S_PORT" --domain "$DOMAIN" --owner bench0 --sender bench1 \
    --password benchpass --messages "$MESSAGES" --clients "$CLIENTS" --page "$PAGE" \
    --duration "$DURATION" | tee -a "$RESULTS/raw.jsonl"
  pid=$(cat "$ROOST_RUN_DIR/server.pid")
  {
    printf '{"round": %s, "rss_kib": %s, "archive": %s, "status": %s}\n' "$round" \
      "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" \
      "$("$ROOSTCTL" --socket "$ROOST_SOCKET" archive size "bench0@$DOMAIN" --json | tr -d '\n')" \
      "$("$ROOSTCTL" --socket "$ROOST_SOCKET" status --json | tr -d '\n')"
  } >> "$RESULTS/sizes.jsonl"
  cp "$ROOST_RUN_DIR/stdout.log" "$RESULTS/logs/roostd-round$round.log" 2>/dev/null || true
  "$HERE/stop-roost.sh"
done
echo "results: $RESULTS"
