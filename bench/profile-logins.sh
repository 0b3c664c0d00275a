#!/bin/bash
# Where roostd's time goes per login: `perf record` (software cpu-clock: this VM
# has no hardware counters) on the running roostd while the shared loadgen
# drives SCRAM-SHA-1 TLS logins and bench/fast-login drives FAST logins, same
# procedure as run-fast.sh; then the samples per login, per thread and grouped
# (TLS crypto, kernel TCP, scheduler, SQLite, malloc, XML, ...) side by side.
#
#   bench/run-fast.sh ...                  # first: accounts and FAST tokens exist
#   bench/profile-logins.sh                # ~1 min; results in /tmp/roost-bench/profile-<date> or $RESULTS
#   BASELINE_BIN_DIR=/tmp/roost-bench/src-3f8707c/target/release bench/profile-logins.sh
#
# Uses the data dirs and token file run-fast.sh left (accounts kept there). The
# figures are CPU µs per login *under perf* (its sampling adds ~10-15 %); compare
# columns, not absolute values with run-fast.sh's. Samples that land where the
# kernel re-enables interrupts (finish_task_switch, _raw_spin_unlock_irqrestore)
# stand for time spent with interrupts off, not only for scheduling.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
: "${RESULTS:=/tmp/roost-bench/profile-$(date +%Y-%m-%d-%H%M%S)}"   # perf data is large: outside the repo
source "$HERE/env.sh"
: "${ROOST_FAST_DATA_DIR:=$ROOST_RUN_DIR/data-fast}"
: "${FAST_LOGIN:=$RUN_ROOT/fast-login/target/release/fast-login}"
: "${FAST_TOKENS:=$ROOST_RUN_DIR/fast-tokens}"
: "${PROFILE_SECONDS:=10}"
: "${BASELINE_BIN_DIR:=}"
: "${BASELINE_RUN_DIR:=$RUN_ROOT/bench-roost-baseline}"
: "${BASELINE_C2S_PORT:=6424}"
: "${BASELINE_HTTP_PORT:=6482}"
die() { echo "profile-logins: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (perf on another process)"
command -v perf >/dev/null || die "perf not installed (apt-get install linux-perf)"
[ -x "$LOADGEN" ] && [ -x "$FAST_LOGIN" ] && [ -x "$ROOSTD" ] || die "loadgen, fast-login or roostd missing (see run-fast.sh)"
[ -s "$FAST_TOKENS" ] && [ -d "$ROOST_FAST_DATA_DIR" ] || die "no accounts/tokens: run bench/run-fast.sh first"
mkdir -p "$RESULTS"
export XMPP_SCRAM_CACHE="$RUN_ROOT/bench-scram-roost.cache"

start() {   # start main|baseline
  if [ "$1" = main ]; then
    ROOST_DATA_DIR="$ROOST_FAST_DATA_DIR" ROOST_FRESH_DATA=0 "$HERE/start-roost.sh" >/dev/null
    cat "$ROOST_RUN_DIR/server.pid"
  else
    ROOST_RUN_DIR="$BASELINE_RUN_DIR" ROOST_BIN_DIR="$BASELINE_BIN_DIR" ROOST_C2S_PORT="$BASELINE_C2S_PORT" \
      ROOST_HTTP_PORT="$BASELINE_HTTP_PORT" ROOST_DATA_DIR="$BASELINE_RUN_DIR/data-fast" ROOST_FRESH_DATA=0 \
      "$HERE/start-roost.sh" >/dev/null
    cat "$BASELINE_RUN_DIR/server.pid"
  fi
}
stop() {
  "$HERE/stop-roost.sh" >/dev/null 2>&1 || true
  ROOST_RUN_DIR="$BASELINE_RUN_DIR" "$HERE/stop-roost.sh" >/dev/null 2>&1 || true
}
trap stop EXIT

profile() {   # profile NAME PID -- LOADCMD...
  local name=$1 pid=$2; shift 3
  # perf's writer on the load core; the load runs 1 s longer on each side.
  taskset -c "$LOADGEN_CPU" perf record -q -e cpu-clock -F 1999 -p "$pid" -o "$RESULTS/$name.data" \
    -- sleep "$PROFILE_SECONDS" 2>/dev/null &
  local perf_pid=$!
  timeout $((PROFILE_SECONDS + 60)) taskset -c "$LOADGEN_CPU" nice -n "$NICE" "$@" --duration "$PROFILE_SECONDS" --warmup 1 \
    > "$RESULTS/$name.json"
  wait "$perf_pid"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  %s: %.0f logins/s, %d errors" % (sys.argv[2], r["logins_per_s"], r["errors"]))' \
    "$RESULTS/$name.json" "$name"
}
COMMON=(--host 127.0.0.1 --domain "$DOMAIN" --prefix "$BENCH_PREFIX" --users "$LOGIN_USERS" --concurrency "$LOGIN_CONC")
echo "== profiling roostd ($ROOST_BIN_DIR), ${PROFILE_SECONDS}s per workload -> $RESULTS"
pid=$(start main)
profile scram "$pid" -- "$LOADGEN" login "${COMMON[@]}" --port "$ROOST_C2S_PORT" --password "$BENCH_PASSWORD" --tls on
profile fast "$pid" -- "$FAST_LOGIN" login "${COMMON[@]}" --port "$ROOST_C2S_PORT" --tokens "$FAST_TOKENS"
stop
if [ -n "$BASELINE_BIN_DIR" ]; then
  pid=$(start baseline)
  profile scram-baseline "$pid" -- "$LOADGEN" login "${COMMON[@]}" --port "$BASELINE_C2S_PORT" --password "$BENCH_PASSWORD" --tls on
  stop
fi

for f in "$RESULTS"/*.data; do
  perf report -i "$f" --stdio --no-children --sort comm,sym -n 2>/dev/null | grep -v '^#' | grep -v '^$' > "${f%.data}.syms" || true
done
python3 - "$RESULTS" "$PROFILE_SECONDS" > "$RESULTS/profile.md" <<'PY'
import collections, json, os, sys
rdir, secs = sys.argv[1], float(sys.argv[2])
KERNEL = [("kernel: TCP/loopback", ("tcp", "skb", "inet", "ip_", "sock", "net_", "__dev", "loopback", "napi", "sk_")),
          ("kernel: scheduling, wakeups, irq-off time", ("finish_task_switch", "_raw_spin_unlock_irq", "schedule", "futex",
                                                         "try_to_wake", "enqueue", "dequeue", "pick_next", "__switch_to", "update_")),
          ("kernel: epoll", ("ep_", "epoll", "poll")),
          ("kernel: file I/O (SQLite)", ("ext4", "filemap", "folio", "iomap", "jbd2", "mark_buffer", "block_", "copy_to_iter",
                                         "copy_from_iter", "xas_", "find_get"))]
def group(sym):
    if sym.startswith("[k] "):
        k = sym[4:]
        return next((g for g, keys in KERNEL if any(x in k for x in keys)), "kernel: other")
    s = sym[4:]
    if "ring_core" in s or s.startswith(("fe4_", "fe_", "x25519", "__ecp_nistz256", "ecp_nistz256", "sha512", "gcm", "aes", "fiat")):
        return "TLS crypto (ring)"
    if "rustls" in s:
        return "rustls, not crypto"
    if "sqlite3" in s or "rusqlite" in s or s.startswith(("vdbe", "btree", "pcache", "pager", "wal", "unixShm", "getPage")):
        return "SQLite"
    if s.startswith(("malloc", "_int_malloc", "_int_free", "cfree", "free", "realloc", "unlink_chunk", "malloc_consolidate",
                     "__libc_calloc", "_int_realloc", "calloc")):
        return "malloc/free"
    if s.startswith(("__mem", "memcpy", "memmove")):
        return "memcpy/memmove/memcmp"
    if "roost_xml" in s or "xmpp::xml" in s:
        return "XML parse/serialize"
    if "tokio" in s or "mio::" in s:
        return "tokio runtime"
    if "sha2::" in s or "sha1::" in s or "hmac" in s:
        return "SHA-1/SHA-2 outside TLS (SASL, FAST, throttle)"
    if "roost_server" in s or "roost_sasl" in s:
        return "roost_server, roost_sasl: other"
    if "pthread" in s or "Mutex" in s or "syscall" in s:
        return "locks, syscall wrappers"
    return "other"
cols = [c for c in ("scram", "fast", "scram-baseline") if os.path.exists(f"{rdir}/{c}.syms")]
names = {"scram": "SCRAM-SHA-1 (this build)", "fast": "FAST (this build)", "scram-baseline": "SCRAM-SHA-1 (baseline build)"}
groups, threads, rates = {}, {}, {}
for c in cols:
    rate = json.load(open(f"{rdir}/{c}.json"))["logins_per_s"]
    rates[c] = rate
    per = lambda n: n / 1999 / (rate * secs) * 1e6
    g, t = collections.Counter(), collections.Counter()
    for line in open(f"{rdir}/{c}.syms"):
        p = line.split(None, 3)
        if len(p) < 4 or not p[1].isdigit():
            continue
        n, comm, sym = int(p[1]), p[2], p[3].strip()
        g[group(sym)] += per(n); t[comm] += per(n)
    groups[c], threads[c] = g, t
print("# roostd CPU per login, by thread and by kind of work (µs, under perf)\n")
print("| | " + " | ".join(names[c] for c in cols) + " |")
print("|---|" + "---|" * len(cols))
print("| logins/s during the profile | " + " | ".join(f"{rates[c]:,.0f}" for c in cols) + " |")
print("| **total µs per login** | " + " | ".join(f"**{sum(groups[c].values()):.0f}**" for c in cols) + " |")
for th in sorted({t for c in cols for t in threads[c]}, key=lambda t: -max(threads[c].get(t, 0) for c in cols)):
    print(f"| thread {th} | " + " | ".join(f"{threads[c].get(th, 0):.0f}" for c in cols) + " |")
for g in sorted({g for c in cols for g in groups[c]}, key=lambda g: -max(groups[c].get(g, 0) for c in cols)):
    print(f"| {g} | " + " | ".join(f"{groups[c].get(g, 0):.1f}" for c in cols) + " |")
PY
cat "$RESULTS/profile.md"
echo "perf data and per-symbol lists: $RESULTS (perf report -i $RESULTS/fast.data --sort sym)"
