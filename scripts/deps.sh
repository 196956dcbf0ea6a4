#!/bin/sh
# Installs the Debian 12 packages Parapet needs to build, run and test; a no-op when all are
# present. Runs apt-get as root, or through sudo when not root.
set -eu
PKGS="build-essential pkg-config libmicrohttpd-dev libpq-dev libjansson-dev libjwt-dev
libssl-dev libcurl4-openssl-dev libargon2-dev zlib1g-dev libcmocka-dev libhyperscan-dev libpcre2-dev
postgresql-15 postgresql-client-15 postgresql-contrib curl ca-certificates"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing packages:$missing; install them as root (apt-get install$missing)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
