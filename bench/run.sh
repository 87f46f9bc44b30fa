#!/usr/bin/env bash
# run.sh runs the comparative benchmark suite: mapkv against bbolt, LMDB,
# pogreb and Redis. Usage:
#
#   ./run.sh            full run: 1M keys, under ~20 minutes on 2 cores
#   ./run.sh -quick     100k keys, about 2-3 minutes
#   ./run.sh -quick -stores mapkv,lmdb      any other flags go to the driver
#   ./run.sh -quick -durable                durable writes only: the floor, mapkv-sync, bbolt, lmdb-sync
#
# Results go to results/MODE/{results.md,results.json,workloads.svg,
# scaling.svg} and the progress log to results/MODE.log.
set -euo pipefail
cd "$(dirname "$0")"

args=()
mode=full
suffix=
for a in "$@"; do
	case "$a" in
	quick | -quick | --quick) args+=(-quick); mode=quick ;;
	-durable | --durable) args+=(-durable); suffix=-durable ;;
	*) args+=("$a") ;;
	esac
done
mode="$mode$suffix"

# Redis: install by package name when missing and we are root; otherwise the
# driver reports Redis as not run and goes on.
if ! command -v redis-server >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing redis-server" >&2
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >&2; then
			echo "run.sh: could not install redis-server; Redis will be skipped" >&2
		fi
	else
		echo "run.sh: redis-server is not installed and this is not root: Redis will be skipped" \
			"(install it with: sudo apt-get install redis-server)" >&2
	fi
fi

# LMDB is cgo: without a C compiler, build without it and the driver
# reports LMDB as not run.
if ! command -v "${CC:-cc}" >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
	echo "run.sh: no C compiler: building without cgo, LMDB will be skipped" >&2
	export CGO_ENABLED=0
fi

# Build in a private TMPDIR, so that no stray header in /tmp shadows lmdb.h
# while cgo compiles LMDB's C source.
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
TMPDIR="$build" go build -o "$build/mapkv-bench" .

mkdir -p results
limit=45m
case "$mode" in quick*) limit=10m ;; esac
# The driver bounds every workload; timeout is the backstop. SIGTERM lets
# it stop Redis and remove its temporary directories.
status=0
timeout --signal=TERM --kill-after=30s "$limit" "$build/mapkv-bench" -out results "${args[@]}" \
	2> >(tee "results/$mode.log" >&2) || status=$?
wait
if [ "$status" -ne 0 ]; then
	echo "run.sh: the driver exited with status $status" >&2
fi
exit "$status"
