#!/usr/bin/env bash
# Install everything heapscope needs to build, test and demo on Debian 12, from Debian's packages.
# Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

pkgs=(
	make gcc pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libclang-rt-14-dev	# clang's libFuzzer runtime: make fuzz (clang -fsanitize=fuzzer)
	libncurses-dev
	golang-go	# Debian's go1.19: one of the versions the tests cover
	tmux binutils	# TUI end-to-end tests; objdump for probe-site checks
	python3 util-linux procps	# e2e test driver; setpriv (non-root test); sysctl
	bpftrace	# the peer heapscope is benchmarked against
	libmicrohttpd-dev	# serve: the /metrics HTTP server
	prometheus python3-prometheus-client	# serve tests: promtool, a real scraper, OM parser
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing ${missing[*]}: run scripts/install-deps.sh as root" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A current Go toolchain is needed to fetch other versions through GOTOOLCHAIN; Debian's
# go1.19 cannot (toolchain switching arrived in go1.21).
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	echo "install-deps: note: add /usr/local/go/bin to PATH for the newest Go toolchain"
fi
echo "install-deps: ok"
