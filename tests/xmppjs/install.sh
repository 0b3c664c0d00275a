#!/usr/bin/env bash
# Makes tests/xmppjs runnable: installs Node.js and npm from Debian's
# packages when `node` is missing, then the pinned xmpp.js (package-lock.json)
# into tests/xmppjs/node_modules when it is not there yet. Called by the
# end-to-end tests (tests/src/xmppjs.rs) before they start the client; test
# binaries running at once take turns through a lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec 9>"$here/.install.lock"
flock 9
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing nodejs and npm from Debian's packages" >&2
    # We run as root (CI and developer machines); there may be no sudo.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
wanted="$(node -p "require('$here/package-lock.json').packages['node_modules/@xmpp/client'].version")"
installed="$(node -p "try { require('$here/node_modules/@xmpp/client/package.json').version } catch { '' }")"
if [ "$wanted" != "$installed" ]; then
    echo "installing @xmpp/client $wanted with npm ci" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
