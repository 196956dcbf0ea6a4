#!/bin/sh
# Checks every C file for the functions STYLE.md bans (unbounded or unsafe string handling).
# Exits non-zero, listing each use, when one is found.
set -eu
cd "$(dirname "$0")/.."
hits=$(git ls-files '*.c' '*.h' 2>/dev/null | xargs grep -nE \
    '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strncat|strtok|gets|atoi)[[:space:]]*\(' \
    2>/dev/null || true)
if [ -n "$hits" ]; then
    echo "lint: banned functions (see STYLE.md):" >&2
    echo "$hits" >&2
    exit 1
fi
echo "lint: no banned functions"
