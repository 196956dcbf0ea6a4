#!/usr/bin/env bash
# Rebuilds the code packages of the test worlds from src/ (committed; run after editing src/).
# Deterministic: fixed timestamps, sorted entries, no extra attributes, so the zips (and the
# CodeSha256 the fake derives from them) only change when the sources do.
set -euo pipefail
cd "$(dirname "$0")"
for dir in src/*/; do
    name=$(basename "$dir")
    rm -f "$name.zip"
    (
        cd "$dir"
        find . -type f -exec touch -d '2026-01-01 00:00:00 UTC' {} +
        find . -type f | sed 's|^\./||' | LC_ALL=C sort | TZ=UTC zip -X -q -@ "../../$name.zip"
    )
    echo "$name.zip"
done
