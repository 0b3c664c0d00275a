#!/usr/bin/env bash
# Makes slixmpp, an independent XMPP client library with XEP-0280 and
# XEP-0352 plugins, available to tests/tests/slixmpp_phone.rs: a Python venv
# at $1 (under target/) with the pinned slixmpp from PyPI. Installs
# python3-venv from Debian's packages when python3 cannot make a venv. Test
# binaries running at once take turns through a lock.
set -euo pipefail
venv="$1"
version="1.17.0"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ -x "$venv/bin/python" ] &&
    [ "$("$venv/bin/python" -c 'import slixmpp; print(slixmpp.__version__)' 2>/dev/null)" = "$version" ]; then
    exit 0
fi
if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "installing python3-venv from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
rm -rf "$venv"
python3 -m venv "$venv"
echo "installing slixmpp $version into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "slixmpp==$version" >&2
