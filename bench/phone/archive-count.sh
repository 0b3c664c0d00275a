#!/bin/bash
# Phone profile (issue 13): how many messages the running server under test has
# archived, as evidence that MAM is on. One line on stdout:
#   prosody: total items in every account's archive file, and bench5000's
#   ejabberd: rows of its mnesia table archive_msg (all accounts)
#   roost:   `roostctl archive size` summed over the message accounts
#            bench5000..bench5099 (MSG_START, MSG_PAIRS), and bench5000's
#   bench/phone/archive-count.sh prosody|ejabberd|roost
# Needs SRV_ROOT and SRV_SCRIPTS (as run-xmpp.sh sets them) for prosody/ejabberd.
set -uo pipefail
source "$(dirname "$0")/../env.sh"
t=$1
first=$BENCH_PREFIX${MSG_START:-5000}
case $t in
  prosody)
    dir="$SRV_ROOT/bench-prosody/data/${DOMAIN//./%2e}/archive"
    total=$(cat "$dir"/*.list 2>/dev/null | grep -c '^item(')
    one=$(grep -c '^item(' "$dir/$first.list" 2>/dev/null || echo 0)
    echo "prosody archive: $total messages in $(ls "$dir" 2>/dev/null | grep -c '\.list$') account files ($dir); $first: $one" ;;
  ejabberd)
    size=$(timeout 60 env RUN_ROOT="$SRV_ROOT" "$SRV_SCRIPTS/ejabberd/ctl.sh" mnesia_table_info archive_msg 2>&1 \
           | sed -n 's/^ *{size,\([0-9]*\)}.*/\1/p')
    echo "ejabberd archive: ${size:-?} rows in mnesia table archive_msg (all accounts)" ;;
  roost)
    total=0; one=
    for i in $(seq "${MSG_START:-5000}" $(( ${MSG_START:-5000} + 2 * ${MSG_PAIRS:-50} - 1 ))); do
      n=$(timeout 10 "$ROOSTCTL" --socket "$ROOST_SOCKET" archive size "$BENCH_PREFIX$i@$DOMAIN" 2>&1 \
          | awk -F'\t' '$1 == "messages" { print $2 }')
      [ -n "$n" ] || { echo "roost archive: roostctl archive size $BENCH_PREFIX$i@$DOMAIN gave no count: $(timeout 10 "$ROOSTCTL" --socket "$ROOST_SOCKET" archive size "$BENCH_PREFIX$i@$DOMAIN" 2>&1 | head -2 | tr '\n' ' ')"; exit 1; }
      total=$((total + n)); [ -n "$one" ] || one=$n
    done
    echo "roost archive: $total messages over $BENCH_PREFIX${MSG_START:-5000}..$BENCH_PREFIX$(( ${MSG_START:-5000} + 2 * ${MSG_PAIRS:-50} - 1 )) (roostctl archive size); $first: $one" ;;
  *) echo "archive-count: unknown server '$t'" >&2; exit 2 ;;
esac
