#!/usr/bin/env bash
# make demo: build the bundled Go workload, run it, and open `heapscope top` on it. The workload
# is killed however the dashboard ends (q, Ctrl-C, an error).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
out=.output/demo
mkdir -p "$out"
[ -x "$GO" ] || { echo "demo: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
echo "building the goalloc workload with $("$GO" version)"
(cd tests/fixtures/goalloc && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
	GOCACHE=${GOCACHE:-$top/.output/gocache} "$GO" build -o "$top/$out/goalloc" .)

"$out/goalloc" -forever >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
status=0
$sudo .output/heapscope top -p "$pid" || status=$?
exit "$status"
