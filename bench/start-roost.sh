#!/bin/bash
# Start roostd for the bench: pinned to $SERVER_CPU at nice $NICE, config from
# roost.toml.in, in $RUN_ROOT/bench-roost. The data dir ($ROOST_DATA_DIR) is wiped
# first unless ROOST_FRESH_DATA=0 (run-xmpp.sh keeps its accounts). Waits (bounded,
# 15 s) until the admin socket answers and the HTTP and c2s ports accept, then
# writes $RUN_ROOT/bench-roost/target.env (TARGET_NAME, XMPP_*, SERVER_PID, ...)
# like the shared servers/prosody/start.sh does.
#   ROOST_BIN_DIR=/work/main/target/release bench/start-roost.sh
# ROOST_METRICS_BIND (e.g. 127.0.0.1:6481): the metrics listener there instead of
# roostd's default 127.0.0.1:5290, which another roostd on the box may hold.
set -euo pipefail
source "$(dirname "$0")/env.sh"
for b in "$ROOSTD" "$ROOSTCTL"; do
  [ -x "$b" ] || { echo "start-roost: $b not found; build first: (cd $ROOST_BENCH_DIR/.. && cargo build --release -p roost-server -p roostctl)" >&2; exit 2; }
done
[ ${#ROOST_SOCKET} -lt 100 ] || { echo "start-roost: socket path too long for a Unix socket: $ROOST_SOCKET" >&2; exit 2; }
if [ -s "$ROOST_RUN_DIR/server.pid" ] && kill -0 "$(cat "$ROOST_RUN_DIR/server.pid")" 2>/dev/null; then
  echo "start-roost: roostd already running (pid $(cat "$ROOST_RUN_DIR/server.pid")); run stop-roost.sh first" >&2; exit 1
fi
for p in "$ROOST_HTTP_PORT" "$ROOST_C2S_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "start-roost: 127.0.0.1:$p is already in use by another process" >&2; exit 1
  fi
done
"$SHARED_BENCH/tools/make-certs.sh" >/dev/null   # the shared certificate, used for c2s TLS
mkdir -p "$ROOST_RUN_DIR"
rm -f -- "$ROOST_SOCKET"
case "$ROOST_DATA_DIR" in "$ROOST_RUN_DIR"/?*) ;; *)
  echo "start-roost: ROOST_DATA_DIR must be inside $ROOST_RUN_DIR (it may be wiped): $ROOST_DATA_DIR" >&2; exit 2;; esac
if [ "$ROOST_FRESH_DATA" = 1 ]; then
  # Fresh data directory on every start (empty invite store, like Prosody's per-run wipe).
  rm -rf -- "$ROOST_DATA_DIR"
fi
mkdir -p "$ROOST_DATA_DIR"
sed -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@DATA_DIR@|$ROOST_DATA_DIR|g" \
    -e "s|@HTTP_BIND@|127.0.0.1:$ROOST_HTTP_PORT|g" -e "s|@C2S_BIND@|127.0.0.1:$ROOST_C2S_PORT|g" \
    -e "s|@ADMIN_SOCKET@|$ROOST_SOCKET|g" -e "s|@CERT_DIR@|$CERT_DIR|g" \
    -e "s|@SYNCHRONOUS@|$ROOST_SYNCHRONOUS|g" -e "s|@LOG_LEVEL@|$ROOST_LOG_LEVEL|g" \
    "$ROOST_BENCH_DIR/roost.toml.in" > "$ROOST_RUN_DIR/roost.toml"
if [ -n "${ROOST_METRICS_BIND:-}" ]; then
  if (exec 3<>"/dev/tcp/${ROOST_METRICS_BIND%:*}/${ROOST_METRICS_BIND##*:}") 2>/dev/null; then
    echo "start-roost: $ROOST_METRICS_BIND (ROOST_METRICS_BIND) is already in use by another process" >&2; exit 1
  fi
  printf '\n[metrics]\n# ROOST_METRICS_BIND (start-roost.sh)\nbind = ["%s"]\n' "$ROOST_METRICS_BIND" >> "$ROOST_RUN_DIR/roost.toml"
fi
# ROOST_EXTRA_TOML: TOML appended to the config (whole tables), for a variant
# run, e.g. ROOST_EXTRA_TOML=$'[archive]\nenabled = false'.
if [ -n "${ROOST_EXTRA_TOML:-}" ]; then
  printf '\n# ROOST_EXTRA_TOML (start-roost.sh)\n%s\n' "$ROOST_EXTRA_TOML" >> "$ROOST_RUN_DIR/roost.toml"
fi
"$ROOSTD" --config "$ROOST_RUN_DIR/roost.toml" --check-config >/dev/null 2>"$ROOST_RUN_DIR/check-config.log" || {
  echo "start-roost: roostd --check-config rejected $ROOST_RUN_DIR/roost.toml:" >&2; cat "$ROOST_RUN_DIR/check-config.log" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
# taskset and nice exec the next program, so $! is roostd's own PID.
taskset -c "$SERVER_CPU" nice -n "$NICE" "$ROOSTD" --config "$ROOST_RUN_DIR/roost.toml" \
  > "$ROOST_RUN_DIR/stdout.log" 2>&1 &
PID=$!
echo "$PID" > "$ROOST_RUN_DIR/server.pid"
admin_ok=; http_ok=; c2s_ok=
for i in $(seq 1 75); do   # 75 x 0.2 s = 15 s
  kill -0 "$PID" 2>/dev/null || break
  [ -n "$admin_ok" ] || { timeout 5 "$ROOSTCTL" --socket "$ROOST_SOCKET" invites-api list "$DOMAIN" >/dev/null 2>&1 && admin_ok=1; } || true
  [ -n "$http_ok" ] || { (exec 3<>"/dev/tcp/127.0.0.1/$ROOST_HTTP_PORT") 2>/dev/null && http_ok=1; } || true
  [ -n "$c2s_ok" ] || { (exec 3<>"/dev/tcp/127.0.0.1/$ROOST_C2S_PORT") 2>/dev/null && c2s_ok=1; } || true
  [ -n "$admin_ok" ] && [ -n "$http_ok" ] && [ -n "$c2s_ok" ] && break
  sleep 0.2
done
if ! kill -0 "$PID" 2>/dev/null || [ -z "$admin_ok" ] || [ -z "$http_ok" ] || [ -z "$c2s_ok" ]; then
  echo "start-roost: roostd not ready after 15 s (running: $(kill -0 "$PID" 2>/dev/null && echo yes || echo no), admin socket answers: ${admin_ok:-no}, http accepts: ${http_ok:-no}, c2s accepts: ${c2s_ok:-no})" >&2
  tail -20 "$ROOST_RUN_DIR/stdout.log" >&2 || true
  "$ROOST_BENCH_DIR/stop-roost.sh" >/dev/null 2>&1 || true
  exit 1
fi
cat > "$ROOST_RUN_DIR/target.env" <<EOT
TARGET_NAME=roost
TARGET_VERSION="$("$ROOSTD" --version 2>/dev/null | head -1) (git $(git -C "$ROOST_BENCH_DIR/.." rev-parse --short HEAD 2>/dev/null || echo unknown))"
XMPP_HOST=127.0.0.1
XMPP_PORT=$ROOST_C2S_PORT
XMPP_DOMAIN=$DOMAIN
SERVER_PID=$PID
ACCOUNT_MODE=cmd
ACCOUNT_CMD='printf %s {password} | $ROOSTCTL --socket $ROOST_SOCKET user create {user}@{domain} --password-stdin'
ACCOUNT_CMD_PARALLEL=2
HTTP_URL=$ROOST_URL
ADMIN_SOCKET=$ROOST_SOCKET
ROOSTCTL_CMD="$ROOSTCTL --socket $ROOST_SOCKET"
EOT
echo "roostd started: pid $PID, c2s 127.0.0.1:$ROOST_C2S_PORT, http 127.0.0.1:$ROOST_HTTP_PORT, socket $ROOST_SOCKET, cpu $SERVER_CPU, nice $NICE, data $ROOST_DATA_DIR$([ "$ROOST_FRESH_DATA" = 1 ] && echo " (fresh)" || echo " (kept)")"
