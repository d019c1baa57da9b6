#!/usr/bin/env bash
# serve benchmark: 20 fixture processes of two Go versions, alone and under `heapscope serve
# --all`, alternating; each target's throughput attached / alone, and the agent's CPU and RSS.
# Writes the serve section of BENCHMARKS.md. Needs root.
# Usage: scripts/bench-serve.sh [SECONDS] [ROUNDS] [TARGETS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s heapscope fixtures >/dev/null
exec python3 "$top/scripts/bench_serve.py" "${1:-20}" "${2:-4}" "${3:-20}"
