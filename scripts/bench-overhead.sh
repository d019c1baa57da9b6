#!/usr/bin/env bash
# Overhead benchmark: the goalloc workload beside an identical twin, unobserved (alone) or under
# `heapscope stat` (default sampled mode),
# under heapscope built from an earlier commit (BASELINE_REV, default: the last one with the
# kernel's bpf_get_stackid walk), under --exact, and under the peer (a bpftrace uprobe on
# runtime.mallocgc), side by side in one run; plus heapscope's own CPU and RSS, the BPF run time
# per sample (also on 40-frame stacks, goalloc -mode deep), and its attach latency on a ~100 MB
# Go binary. Writes the overhead section of
# BENCHMARKS.md. Needs root.
# Usage: scripts/bench-overhead.sh [SECONDS] [ROUNDS] [BASELINE_REV | ""]
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
rev=${3-69ddbf6^}
baseline=
if [ -n "$rev" ]; then
	# A throwaway worktree of that commit, built with the same toolchain and vmlinux.h.
	base_dir=$top/.output/baseline
	rm -rf "$base_dir"
	git worktree prune
	git worktree add -q --detach "$base_dir" "$rev"
	cp vmlinux/vmlinux.h "$base_dir/vmlinux/vmlinux.h"
	make -s -C "$base_dir" heapscope >/dev/null
	baseline=$base_dir/.output/heapscope
	trap 'git worktree remove --force "$base_dir"' EXIT
fi
python3 "$top/scripts/bench_overhead.py" "${1:-6}" "${2:-7}" "$baseline" "$rev"
