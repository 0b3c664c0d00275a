#!/usr/bin/env bash
# Makes a Python package that a test drives available in a venv of its own
# under target/: install-venv.sh VENV PACKAGE VERSION. The tests use the
# Prometheus project's OpenMetrics parser (prometheus_client) and slixmpp,
# an independent XMPP client library, pinned from PyPI. Installs
# python3-venv from Debian's packages when python3 cannot make a venv. Test
# binaries running at once take turns through a lock.
set -euo pipefail
venv="$1" package="$2" version="$3"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ -x "$venv/bin/python" ] &&
    [ "$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$package'))" 2>/dev/null)" = "$version" ]; then
    exit 0
fi
if ! python3 -m venv --help >/dev/null 2>&1; then
    echo "installing python3-venv from Debian's packages" >&2
    # We run as root (CI and developer machines); there may be no sudo.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
rm -rf "$venv"
python3 -m venv "$venv"
echo "installing $package $version into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" >&2
