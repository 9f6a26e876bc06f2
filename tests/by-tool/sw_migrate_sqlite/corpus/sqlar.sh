#!/usr/bin/env bash
# An SQLite Archive made by the sqlite3 shell (`-A`): the sqlar table of
# names, modes, mtimes and compressed or stored blobs.
set -euo pipefail
db=$(realpath -m "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p docs/sub
printf 'readme text\n%.0s' {1..50} > docs/README
head -c 3000 /dev/urandom > docs/sub/random.bin
printf 'é\n' > docs/sub/ünï.txt
sqlite3 "$db" -Ac docs
