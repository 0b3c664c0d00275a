#!/bin/bash
# Stop the roostd started by start-roost.sh (by its recorded PID only; SIGTERM,
# then SIGKILL after 10 s).
source "$(dirname "$0")/env.sh"
PID=$(cat "$ROOST_RUN_DIR/server.pid" 2>/dev/null || true)
if [ -n "$PID" ] && [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = roostd ]; then
  kill "$PID" 2>/dev/null
  for i in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$PID" 2>/dev/null && { echo "roostd $PID ignored SIGTERM for 10 s; SIGKILL" >&2; kill -9 "$PID" 2>/dev/null; }
fi
rm -f "$ROOST_RUN_DIR/server.pid"
echo "roostd stopped"
