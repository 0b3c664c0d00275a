#!/bin/bash
# Phone profile (issue 13): empty one server's message archive, so that every
# round of the message benchmark starts from the same state on every server.
# Without it each round adds to the last (Roost ~1.7 M rows a round, Prosody
# ~30,000), and a later round measures a bigger archive than an earlier one:
# Prosody's figure halved over three runs that way.
#   bench/phone/empty-archive.sh prosody|roost   (the server stopped)
#   bench/phone/empty-archive.sh ejabberd        (the server running: its
#                                                 archive is a mnesia table)
# Needs SRV_ROOT and SRV_SCRIPTS (as run-xmpp.sh sets them) for prosody and
# ejabberd; for roost ROOST_DATA_DIR (run-xmpp.sh exports its data-xmpp-phone)
# and the sqlite3 command-line shell (apt install sqlite3).
set -euo pipefail
source "$(dirname "$0")/../env.sh"
t=${1:-}
case $t in
  prosody)
    # mod_storage_internal keeps one file per account's archive.
    rm -f "$SRV_ROOT/bench-prosody/data/${DOMAIN//./%2e}/archive/"*.list ;;
  ejabberd)
    # Messages older than 0 days: all of them (mod_mam's own command).
    timeout 120 env RUN_ROOT="$SRV_ROOT" "$SRV_SCRIPTS/ejabberd/ctl.sh" delete_old_mam_messages all 0 >/dev/null ;;
  roost)
    # roostd is stopped, so its database is ours. Emptying the archive and its
    # totals is what `roostctl archive purge` does for every account at once;
    # VACUUM then gives the file back its fresh size, as new rows would
    # otherwise fill the freed pages rather than go to the end of the file.
    # roostd holds an exclusive flock on roostd.lock while it runs: taking it
    # here waits for one still stopping and refuses one still running.
    db="$ROOST_DATA_DIR/roost.sqlite3"
    [ -f "$db" ] || { echo "empty-archive: no database at $db" >&2; exit 1; }
    flock -w 30 "$ROOST_DATA_DIR/roostd.lock" sqlite3 -cmd '.timeout 10000' "$db" \
      "BEGIN; DELETE FROM archive; DELETE FROM archive_totals; COMMIT; VACUUM;" ||
      { echo "empty-archive: roost: roostd still holds $ROOST_DATA_DIR after 30 s, or sqlite3 failed" >&2; exit 1; } ;;
  *) echo "empty-archive: unknown server '$t'" >&2; exit 2 ;;
esac
