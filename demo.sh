#!/usr/bin/env bash
# A real demo of kvtool on a real file: several processes write to one store at
# once, others read it live, counters and a bounded cache are set up from the
# shell, then a consistent snapshot is taken and checked.
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

say "4 processes write 250 keys each, and add to one counter, at the same time"
for w in 1 2 3 4; do
  ( for i in $(seq 1 250); do
      "$kvtool" put "$db" "worker$w:$i" "value $i from $w"
      "$kvtool" incr "$db" writes > /dev/null
    done ) &
done
wait
say kvtool get "$db" worker3:250
"$kvtool" get "$db" worker3:250; echo
say kvtool get --int "$db" writes "   (1000: no increment lost)"
"$kvtool" get --int "$db" writes
say kvtool list "$db" --match "'worker[12]:1?'" --count
"$kvtool" list "$db" --match 'worker[12]:1?' --count

say "head -c 4096 /dev/urandom | kvtool put $db blob -    (binary values from stdin)"
head -c 4096 /dev/urandom | tee "$work/blob" | "$kvtool" put "$db" blob -
"$kvtool" get "$db" blob | cmp - "$work/blob" && echo "blob round-trips byte for byte"

say kvtool add "$db" lock:demo "$$" --ttl 1m "   (only if absent)"
"$kvtool" add "$db" lock:demo "$$" --ttl 1m && echo "lock taken"
"$kvtool" add "$db" lock:demo other 2>&1 || echo "(exit $?: already held)"

say kvtool snapshot "$db" "$work/copy.kv"
"$kvtool" snapshot "$db" "$work/copy.kv"
say kvtool check "$work/copy.kv"
"$kvtool" check "$work/copy.kv"
say kvtool list "$work/copy.kv" --prefix worker1: --count
"$kvtool" list "$work/copy.kv" --prefix worker1: --count

cache="$work/demo.cache"
say kvtool create "$cache" --max-size 256k --evict "   (a cache that never fills up)"
"$kvtool" create "$cache" --max-size 256k --evict
for i in $(seq 1 100); do head -c 8000 /dev/zero | "$kvtool" put "$cache" "page:$i" -; done
say kvtool stat "$cache" "   (after 800 KB of puts into 256 KiB)"
"$kvtool" stat "$cache"
say kvtool top "$db" --count 2 --interval 200ms
"$kvtool" top "$db" --count 2 --interval 200ms
