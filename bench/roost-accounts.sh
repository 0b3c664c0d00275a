#!/bin/bash
# Create the bench accounts on the running roostd (started by start-roost.sh):
# ${BENCH_PREFIX}0 .. ${BENCH_PREFIX}$((ACCOUNTS-1)) @ $DOMAIN, password $BENCH_PASSWORD.
# Idempotent: an account that exists is refused at once ("... already exists",
# before any key derivation) and counted as existing, so a rerun takes seconds.
#
# Fast path of issue 3: piped admin-shell sessions, `roostctl --socket S shell`
# reading `user create JID --password-stdin` lines, each followed by a line with
# the password (in a piped script --password-stdin takes the script's next line).
# ROOST_ACCOUNT_PARALLEL [2] sessions run at once, each over its share of the
# accounts, so roostd's key derivation (PBKDF2-SHA-1 and -SHA-256, scram_iterations
# each, on a blocking thread) never waits for a CLI round trip. The sessions run on
# the load core ($LOADGEN_CPU).
#
# (Counting with `roostctl user list` first would be nicer, but its answer does not
# fit the admin protocol's 64 KiB frame beyond ~1,000 accounts; see README.)
#
# Prints one JSON line (also written to $OUT, default $RESULTS/setup/accounts-roost.json):
# wanted, existed, created, failed, elapsed_s, per_s (created per second),
# server_cpu_s (roostd CPU time meanwhile), first_errors (other than "already exists").
# Exit status 1 if not all accounts exist afterwards.
#   bench/roost-accounts.sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
: "${ROOST_ACCOUNT_PARALLEL:=2}"
: "${OUT:=$RESULTS/setup/accounts-roost.json}"
PID=$(cat "$ROOST_RUN_DIR/server.pid" 2>/dev/null || true)
[ -n "$PID" ] && kill -0 "$PID" 2>/dev/null || { echo "roost-accounts: roostd is not running (bench/start-roost.sh first)" >&2; exit 1; }
WORK=$(mktemp -d "$RUN_ROOT/accounts.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
# One shell script per session (accounts dealt round robin).
python3 - "$WORK" "$ACCOUNTS" "$BENCH_PREFIX" "$DOMAIN" "$BENCH_PASSWORD" "$ROOST_ACCOUNT_PARALLEL" <<'PY'
import sys
work, n, prefix, domain, pw, par = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
files = [open(f"{work}/script.{k}", "w") for k in range(par)]
for i in range(n):
    files[i % par].write(f"user create {prefix}{i}@{domain} --password-stdin\n{pw}\n")
PY
cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }   # utime + stime, clock ticks
C0=$(cpu); T0=$(date +%s.%N)
pids=()
for k in $(seq 0 $((ROOST_ACCOUNT_PARALLEL - 1))); do
  [ -s "$WORK/script.$k" ] || continue
  # bounded: 10,000 new accounts take well under a minute; 30 min means something hangs
  timeout 1800 taskset -c "$LOADGEN_CPU" "$ROOSTCTL" --socket "$ROOST_SOCKET" shell \
    < "$WORK/script.$k" > "$WORK/out.$k" 2> "$WORK/err.$k" &
  pids+=($!)
done
RCS=""
for p in "${pids[@]}"; do rc=0; wait "$p" || rc=$?; RCS="$RCS $rc"; done
T1=$(date +%s.%N); C1=$(cpu)
mkdir -p "$(dirname "$OUT")"
python3 - "$WORK" "$ACCOUNTS" "$T0" "$T1" "$C0" "$C1" "$(getconf CLK_TCK)" "$ROOST_ACCOUNT_PARALLEL" "$RCS" <<'PY' | tee "$OUT"
import glob, json, sys
work, n = sys.argv[1], int(sys.argv[2])
t0, t1, c0, c1, hz, par = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
rcs = [int(x) for x in sys.argv[9].split()]
errs = []
for p in sorted(glob.glob(f"{work}/err.*")):
    errs += [l.rstrip() for l in open(p) if l.strip()]
existed = sum(1 for e in errs if e.endswith("already exists"))
other = [e for e in errs if not e.endswith("already exists")]
# a session killed by timeout (124) or dying early leaves accounts unattempted
complete = all(rc in (0, 1) for rc in rcs)
created = n - existed - len(other) if complete else None
el, cpu_s = t1 - t0, (c1 - c0) / hz
print(json.dumps({"target": "roost", "wanted": n, "existed": existed, "created": created,
                  "failed": len(other), "sessions_exit": rcs, "elapsed_s": round(el, 2),
                  "per_s": round(created / el, 1) if created else None, "parallel": par,
                  "server_cpu_s": round(cpu_s, 2),
                  "server_cpu_ms_per_account": round(1000 * cpu_s / created, 2) if created else None,
                  "first_errors": " | ".join(other[:3])}))
sys.exit(0 if complete and existed + (created or 0) == n else 1)
PY
