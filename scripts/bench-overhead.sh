#!/usr/bin/env bash
# Overhead benchmark: the goalloc workload alone, under `heapscope stat` (default sampled mode),
# under --exact, and under the peer (a bpftrace uprobe on runtime.mallocgc), side by side in
# one run; plus heapscope's own CPU and RSS and its attach latency on a ~100 MB Go binary.
# Writes BENCHMARKS.md. Needs root. Usage: scripts/bench-overhead.sh [SECONDS] [ROUNDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s heapscope fixtures >/dev/null
if ! command -v bpftrace >/dev/null; then
	echo "bench: bpftrace missing: scripts/install-deps.sh" >&2
	exit 1
fi
# A real, large, stripped Go server for the attach-latency goal (Debian's prometheus, go1.19).
if [ ! -x /usr/bin/prometheus ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
exec python3 "$top/scripts/bench_overhead.py" "${1:-6}" "${2:-7}"
