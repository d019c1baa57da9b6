#!/usr/bin/env bash
# Mark-assist attribution's cost (issue 8): the GC-heavy goassist workload alone, under
# `heapscope stat` (default mode, the assist probe included) and under GC probes only, side by
# side in one run, with the BPF program's own cost from kernel.bpf_stats_enabled. Writes its
# section of BENCHMARKS.md. Needs root. Usage: scripts/bench-assist.sh [SECONDS] [ROUNDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s heapscope fixtures >/dev/null
exec python3 "$top/scripts/bench_assist.py" "${1:-8}" "${2:-7}"
