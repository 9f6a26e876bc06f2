#!/usr/bin/env bash
# A Fossil SCM repository (an SQLite file of its own schema: WITHOUT ROWID
# config with a CHECK, julian-day DATETIMEs, blobs of zlib-compressed
# artifacts, sqlite_stat1): init, two check-ins, a ticket and a wiki page.
set -euo pipefail
repo=$(realpath -m "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export USER=tester HOME=$work
fossil init "$repo" >/dev/null
cd "$work"
fossil open "$repo" >/dev/null
printf 'hello\n' > a.txt
fossil add a.txt >/dev/null
fossil commit -m 'first check-in' --no-warnings >/dev/null
printf 'hello again\n' >> a.txt
printf '\x00\x01binary' > b.bin
fossil add b.bin >/dev/null
fossil commit -m 'second, with a binary file' --no-warnings >/dev/null
fossil ticket add title 'a bug' status Open type Code_Defect >/dev/null
printf 'Welcome\n' | fossil wiki create Home >/dev/null
fossil close --force >/dev/null
