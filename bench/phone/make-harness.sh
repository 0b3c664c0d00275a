#!/bin/bash
# Phone profile of bench/run-xmpp.sh (issue 13) for Prosody and ejabberd: lays out
# $PHONE_RUN_ROOT (default $RUN_ROOT/phone) as a copy of the shared harness in
# which only the two server config templates differ, so that the shared
# servers/*/start.sh, stop.sh and ctl.sh run UNCHANGED (they are symlinks) and put
# the servers' config, data, logs and pid files in $PHONE_RUN_ROOT/bench-prosody and
# bench-ejabberd, apart from the plain profile's $RUN_ROOT/bench-*:
#
#   $PHONE_RUN_ROOT/env.sh, tools/          -> the shared ones
#   $PHONE_RUN_ROOT/bench-certs             -> $RUN_ROOT/bench-certs (the same certificate)
#   $PHONE_RUN_ROOT/servers/prosody/        start.sh stop.sh ctl.sh -> shared;
#                                           prosody.cfg.lua.in = the shared template plus
#                                           modules "mam" and "smacks" ("carbons" is in it
#                                           already), default_archive_policy = true
#                                           (archive every message), archive_expires_after
#                                           = "1y", smacks_hibernation_time = 300
#   $PHONE_RUN_ROOT/servers/ejabberd/       start.sh stop.sh ctl.sh ejabberdctl.cfg.in -> shared;
#                                           ejabberd.yml.in = the shared template plus
#                                           mod_mam (default: always, its default mnesia
#                                           storage) and mod_stream_mgmt (resume_timeout:
#                                           300 s); mod_carboncopy is in it already
#
# Everything else (ports, certificate, pinning, rate limits off, start and stop) is
# the shared harness's. Run the servers with RUN_ROOT=$PHONE_RUN_ROOT, e.g.
#   RUN_ROOT=/tmp/roost-bench/phone /tmp/roost-bench/phone/servers/prosody/start.sh
# (bench/run-xmpp.sh does this when PHONE=1). Idempotent; the templates are rendered
# again on every call. Prints PHONE_RUN_ROOT=... on success.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
: "${PHONE_RUN_ROOT:=$RUN_ROOT/phone}"
P="$PHONE_RUN_ROOT"
die() { echo "make-harness: $*" >&2; exit 1; }
[ "$P" != "$RUN_ROOT" ] || die "PHONE_RUN_ROOT must differ from RUN_ROOT"
"$SHARED_BENCH/tools/make-certs.sh" >/dev/null          # $RUN_ROOT/bench-certs
mkdir -p "$P/servers/prosody" "$P/servers/ejabberd"
ln -sfn "$SHARED_BENCH/env.sh" "$P/env.sh"
ln -sfn "$SHARED_BENCH/tools" "$P/tools"
ln -sfn "$RUN_ROOT/bench-certs" "$P/bench-certs"
for f in start.sh stop.sh ctl.sh; do
  ln -sfn "$SHARED_BENCH/servers/prosody/$f" "$P/servers/prosody/$f"
  ln -sfn "$SHARED_BENCH/servers/ejabberd/$f" "$P/servers/ejabberd/$f"
done
ln -sfn "$SHARED_BENCH/servers/ejabberd/ejabberdctl.cfg.in" "$P/servers/ejabberd/ejabberdctl.cfg.in"

# Prosody 0.12: mod_mam, mod_smacks and mod_carbons are core modules.
src="$SHARED_BENCH/servers/prosody/prosody.cfg.lua.in"
grep -q '"carbons";' "$src" || die "$src: no \"carbons\" in modules_enabled any more; update this script"
sed -e 's/"carbons";/"carbons"; "mam"; "smacks";/' \
    -e '/^VirtualHost /i\
-- Phone profile (issue 13, bench/phone/make-harness.sh): message archive for every\
-- account (every message, both directions), stream management, carbons (above).\
default_archive_policy = true\
archive_expires_after = "1y"\
smacks_hibernation_time = 300\
' "$src" > "$P/servers/prosody/prosody.cfg.lua.in.new"
for want in '"mam"; "smacks";' 'default_archive_policy = true' 'archive_expires_after = "1y"' 'smacks_hibernation_time = 300'; do
  grep -qF "$want" "$P/servers/prosody/prosody.cfg.lua.in.new" || die "prosody template: '$want' not added"
done
mv "$P/servers/prosody/prosody.cfg.lua.in.new" "$P/servers/prosody/prosody.cfg.lua.in"

# ejabberd 23.01: carbons are mod_carboncopy (already loaded by the shared config).
src="$SHARED_BENCH/servers/ejabberd/ejabberd.yml.in"
[ "$(grep -c '^modules:$' "$src")" = 1 ] || die "$src: no single 'modules:' section; update this script"
grep -q '^  mod_carboncopy:' "$src" || die "$src: mod_carboncopy not loaded any more; update this script"
sed -e '/^modules:$/a\
  ## Phone profile (issue 13, bench/phone/make-harness.sh): message archive for every\
  ## account (default storage: mnesia), stream management; carbons: mod_carboncopy below.\
  mod_mam:\
    default: always\
  mod_stream_mgmt:\
    resume_timeout: 300' "$src" > "$P/servers/ejabberd/ejabberd.yml.in.new"
for want in '  mod_mam:' '    default: always' '  mod_stream_mgmt:' '    resume_timeout: 300'; do
  grep -qxF "$want" "$P/servers/ejabberd/ejabberd.yml.in.new" || die "ejabberd template: '$want' not added"
done
mv "$P/servers/ejabberd/ejabberd.yml.in.new" "$P/servers/ejabberd/ejabberd.yml.in"
echo "PHONE_RUN_ROOT=$P"
