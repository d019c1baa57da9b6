#!/usr/bin/env bash
# Build the Go fixtures for every toolchain scripts/go-toolchains.sh finds, in these variants:
#   plain (static, with symbols), stripped (-s -w), pie (-buildmode=pie), cgo (cgo, stripped),
#   cgo-syms (cgo with symbols: the nm/addr2line oracle for the cgo layout),
#   pprof (memory profiling linked, so MemProfileRate starts at 524288);
# and the mark-assist workload tests/fixtures/goassist as plain, stripped, pie and cgo.
# Output: $OUT/<go-version>/goalloc-<variant>, $OUT/<go-version>/goassist-<variant>, and
# $OUT/versions.txt ("VERSION ok|skip: why").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$top/.output/fixtures}
mkdir -p "$OUT"
: > "$OUT/versions.txt.tmp"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
export GOCACHE=${GOCACHE:-$top/.output/gocache}

"$top/scripts/go-toolchains.sh" | while read -r ver rest; do
	case $rest in
	skip:*) echo "$ver $rest" >> "$OUT/versions.txt.tmp"; echo "fixtures: $ver $rest" >&2; continue ;;
	esac
	gobin=$rest
	ver=$("$gobin" env GOVERSION)
	dir=$OUT/$ver
	mkdir -p "$dir"
	prog=goalloc
	build() { # variant, then go build args; builds $prog from tests/fixtures/$prog
		local variant=$1 src=$top/tests/fixtures/$prog; shift
		if [ ! -x "$dir/$prog-$variant" ] || [ -n "$(find "$src" -newer "$dir/$prog-$variant" -name '*.go')" ]; then
			(cd "$src" && "$gobin" build -trimpath=false -o "$dir/$prog-$variant" "$@" .)
		fi
	}
	echo "fixtures: building $ver" >&2
	CGO_ENABLED=0 build plain
	CGO_ENABLED=0 build stripped -ldflags='-s -w'
	CGO_ENABLED=1 build pie -buildmode=pie
	CGO_ENABLED=1 build cgo -tags cgofixture -ldflags='-s -w'
	CGO_ENABLED=1 build cgo-syms -tags cgofixture
	CGO_ENABLED=0 build pprof -tags pprof
	prog=goassist
	CGO_ENABLED=0 build plain
	CGO_ENABLED=0 build stripped -ldflags='-s -w'
	CGO_ENABLED=1 build pie -buildmode=pie
	CGO_ENABLED=1 build cgo -tags cgofixture -ldflags='-s -w'
	echo "$ver ok" >> "$OUT/versions.txt.tmp"
done
mv "$OUT/versions.txt.tmp" "$OUT/versions.txt"

# Go versions outside the e2e matrix (none by default: it spans 1.19-1.27) whose runtime struct
# layouts heapscope still hard-codes:
# only an unstripped build, for tests/unit/test_gc.c to check the offsets against DWARF.
extra=${HEAPSCOPE_DWARF_VERSIONS:-}
for v in $extra; do
	if ! goroot=$(cd / && GOTOOLCHAIN=$v timeout 600 go env GOROOT) || [ ! -x "$goroot/bin/go" ]; then
		echo "fixtures: $v not available (DWARF offset check will skip it)" >&2
		continue
	fi
	ver=$("$goroot/bin/go" env GOVERSION)
	dir=$OUT/../fixtures-extra/$ver
	mkdir -p "$dir"
	src=$top/tests/fixtures/goalloc
	if [ ! -x "$dir/goalloc-plain" ] || [ -n "$(find "$src" -newer "$dir/goalloc-plain" -name '*.go')" ]; then
		(cd "$src" && CGO_ENABLED=0 "$goroot/bin/go" build -o "$dir/goalloc-plain" .)
	fi
done
cat "$OUT/versions.txt"
