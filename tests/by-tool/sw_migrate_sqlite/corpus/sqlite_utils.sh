#!/usr/bin/env bash
# sqlite-utils as a data journalist uses it: insert JSON (nested values
# become JSON text) and CSV, extract a column into a lookup table with a
# foreign key, full-text search with its sync triggers (FTS5), transform
# a column's type, a unique index, a view.
set -euo pipefail
db=$1
su=sqlite-utils
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import csv, json, sys
d = sys.argv[1]
rows = [{"id": i, "title": f"Item {i} – café", "tags": ["a", "b"][: i % 3], "meta": {"n": i, "ok": i % 2 == 0},
         "price": i * 1.5, "city": ["Berlin", "Zürich", "Oslo"][i % 3], "seen": f"2023-0{1 + i % 9}-1{i % 10}T10:00:00"}
        for i in range(1, 301)]
json.dump(rows, open(f"{d}/items.json", "w"))
with open(f"{d}/people.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["person_id", "name", "born", "height"])
    for i in range(1, 101):
        w.writerow([i, f"Person {i}", f"19{50 + i % 50}-0{1 + i % 9}-01", f"{150 + i % 40}.5"])
PY
$su insert "$db" items "$tmp/items.json" --pk id
$su insert "$db" people "$tmp/people.csv" --csv --detect-types --pk person_id
$su extract "$db" items city --table cities --fk-column city_id
$su enable-fts "$db" items title --fts5 --create-triggers
$su transform "$db" people --type height float --not-null name
$su create-index "$db" people name --unique
$su create-view "$db" tall "select name, height from people where height > 180"
$su insert "$db" items - --pk id <<<'{"id": 301, "title": "late arrival", "price": 1}'
