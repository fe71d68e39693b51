#!/usr/bin/env bash
# Install the Debian packages the reference-docs checks need.
#
# Chromium comes from Debian's archive (never a browser download of a test
# framework's own), because the browser test drives /usr/bin/chromium.
# Node.js and npm are expected on the machine already; Redocly CLI itself is
# installed by `npm ci` from package-lock.json (scripts/build_docs.py runs it).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
else
    SUDO=""
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The page's fonts fall back to local ones; without any fonts Chromium renders
# boxes instead of letters in the screenshot.
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q "ok installed" \
    || missing+=(fonts-dejavu-core)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup_system: chromium and fonts already installed"
else
    echo "setup_system: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y "${missing[@]}"
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "setup_system: $tool is missing; install Node.js 20 (>= 20.19) first" >&2
        exit 1
    fi
done
/usr/bin/chromium --version
node --version
