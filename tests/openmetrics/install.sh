#!/usr/bin/env bash
# Makes the OpenMetrics parser of tests/tests/metrics.rs available: a Python
# venv at $1 (under target/) with the pinned prometheus_client from PyPI, the
# Prometheus project's own parser. Installs python3-venv from Debian's
# packages when python3 cannot make a venv. Test binaries running at once
# take turns through a lock.
set -euo pipefail
venv="$1"
version="0.26.0"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [ -x "$venv/bin/python" ] &&
    [ "$("$venv/bin/python" -c 'import prometheus_client.openmetrics.parser, importlib.metadata as m; print(m.version("prometheus_client"))' 2>/dev/null)" = "$version" ]; then
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
echo "installing prometheus_client $version into $venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "prometheus_client==$version" >&2
