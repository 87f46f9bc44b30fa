#!/usr/bin/env bash
# A real demo of kvtool on a real file: several processes write to one store at
# once, others read it live, then a consistent snapshot is taken and checked.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kvtool" ./cmd/kvtool
kvtool="$work/kvtool"
db="$work/demo.kv"
say() { printf '\n$ %s\n' "$*"; }

say kvtool put "$db" greeting "hello, world"
"$kvtool" put "$db" greeting "hello, world"
say kvtool get "$db" greeting
"$kvtool" get "$db" greeting; echo

say "4 processes write 250 keys each, at the same time"
for w in 1 2 3 4; do
  ( for i in $(seq 1 250); do "$kvtool" put "$db" "worker$w:$i" "value $i from $w"; done ) &
done
wait
say kvtool get "$db" worker3:250
"$kvtool" get "$db" worker3:250; echo

say "head -c 4096 /dev/urandom | kvtool put $db blob -    (binary values from stdin)"
head -c 4096 /dev/urandom | tee "$work/blob" | "$kvtool" put "$db" blob -
"$kvtool" get "$db" blob | cmp - "$work/blob" && echo "blob round-trips byte for byte"

say kvtool snapshot "$db" "$work/copy.kv"
"$kvtool" snapshot "$db" "$work/copy.kv"
say kvtool check "$work/copy.kv"
"$kvtool" check "$work/copy.kv"
say kvtool list "$work/copy.kv" --prefix worker1: "| wc -l"
"$kvtool" list "$work/copy.kv" --prefix worker1: | wc -l
say kvtool stat "$db"
"$kvtool" stat "$db"
