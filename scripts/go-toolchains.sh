#!/usr/bin/env bash
# Print one line per Go toolchain the tests cover: "VERSION PATH-TO-GO" when it can be had, or
# "VERSION skip: REASON" when not. Toolchains other than the preinstalled one and Debian's go1.19
# come through GOTOOLCHAIN from the module proxy and are cached in the Go module cache.
set -u
versions=${HEAPSCOPE_GO_VERSIONS:-"go1.19 go1.20 go1.21.0 go1.22.0 go1.23.0 go1.24.0 go1.25.0 native go1.27.0"}
native=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$native" ] || native=""

for v in $versions; do
	case $v in
	native)
		if [ -n "$native" ]; then echo "$("$native" env GOVERSION) $native"
		else echo "native skip: no go on PATH"; fi ;;
	go1.19)
		if [ -x /usr/lib/go-1.19/bin/go ]; then echo "go1.19 /usr/lib/go-1.19/bin/go"
		else echo "go1.19 skip: Debian golang-1.19-go not installed (scripts/install-deps.sh)"; fi ;;
	*)
		if [ -z "$native" ]; then echo "$v skip: no go toolchain to fetch it with"; continue; fi
		# stdout is the GOROOT; stderr carries "go: downloading ..." on first use (progress
		# for a fresh machine) and the reason when the proxy does not serve the version.
		errf=$(mktemp)
		echo "toolchains: $v through GOTOOLCHAIN (downloaded once, then cached)" >&2
		if ! out=$(cd / && GOTOOLCHAIN=$v timeout 600 "$native" env GOROOT 2>"$errf") ||
		   [ ! -x "$out/bin/go" ]; then
			echo "$v skip: module proxy did not serve it ($(tail -n1 "$errf" | tr -d '\t'))"
			rm -f "$errf"
			continue
		fi
		rm -f "$errf"
		echo "$v $out/bin/go" ;;
	esac
done
