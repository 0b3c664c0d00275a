#!/usr/bin/env bash
# The invite landing page and web registration in headless Chromium (issue 4):
# installs Debian's chromium when it is missing, builds roostd and roostctl,
# and runs invite_pages.py, which drives the browser through the pages at
# phone width and takes a screenshot of each. They go to a temporary
# directory, so CI leaves the checkout untouched; to refresh the committed
# ones, run:  SCREENSHOT_DIR=docs/screenshots bash tests/browser/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null; then
    echo "installing chromium from Debian's packages"
    # We run as root (CI and developer machines); there may be no sudo.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
cargo build --quiet -p roost-server -p roostctl --bins
target="${CARGO_TARGET_DIR:-target}"
exec python3 tests/browser/invite_pages.py \
    --roostd "$target/debug/roostd" \
    --roostctl "$target/debug/roostctl" \
    --out "${SCREENSHOT_DIR:-$(mktemp -d)}" "$@"
