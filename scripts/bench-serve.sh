#!/usr/bin/env bash
# serve benchmark: pairs of identical fixture processes (two Go versions), all at once, one of
# each pair under `heapscope serve -p`: each target's throughput observed / its twin's; then 20
# under `heapscope serve --all`: the agent's CPU and RSS.
# Writes the serve section of BENCHMARKS.md. Needs root.
# Usage: scripts/bench-serve.sh [SECONDS] [ROUNDS] [TARGETS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s heapscope fixtures >/dev/null
exec python3 "$top/scripts/bench_serve.py" "${1:-20}" "${2:-4}" "${3:-20}"
