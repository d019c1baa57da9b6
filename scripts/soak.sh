#!/usr/bin/env bash
# Soak: `heapscope serve --all` next to a loaded real Go server (Debian's caddy, go1.19,
# stripped, under wrk on loopback) while a real Prometheus scrapes both every 5 s. Samples the
# agent's RSS and CPU; at the end asks Prometheus how many scrapes failed and compares
# heapscope's allocation rate for caddy with caddy's own counter. Writes the soak section of
# BENCHMARKS.md. Needs root.
# Usage: scripts/soak.sh [MINUTES]   (default 60)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s heapscope >/dev/null
need=()
for cmd in caddy wrk prometheus; do
	command -v "$cmd" >/dev/null || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "soak: installing ${need[*]} (Debian packages)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
		>/dev/null
	# the packages start their own services; the soak runs its own instances on other ports
	systemctl stop caddy prometheus 2>/dev/null || true
fi
exec python3 "$top/scripts/soak.py" "${1:-60}"
