#!/usr/bin/env bash
# Generate vmlinux.h from the running kernel's BTF (CO-RE relocations make it portable).
set -euo pipefail
out=${1:-vmlinux/vmlinux.h}
if [ ! -r /sys/kernel/btf/vmlinux ]; then
	echo "gen-vmlinux: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF)" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$out.tmp"
mv "$out.tmp" "$out"
