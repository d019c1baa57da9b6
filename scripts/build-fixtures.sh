#!/usr/bin/env bash
# Build the Go fixtures for every toolchain scripts/go-toolchains.sh finds, in these variants
# (and the --source fixture for two of them, see escape_fixture):
#   plain (static, with symbols), stripped (-s -w), pie (-buildmode=pie), cgo (cgo, stripped),
#   cgo-syms (cgo with symbols: the nm/addr2line oracle for the cgo layout),
#   pprof (memory profiling linked, so MemProfileRate starts at 524288).
# And tests/fixtures/goretain (known retained memory per function) and the mark-assist workload
# tests/fixtures/goassist, each as plain, stripped, pie and cgo.
# Output: $OUT/<go-version>/{goalloc,goretain,goassist}-<variant>, and $OUT/versions.txt
# ("VERSION ok|skip: why").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$top/.output/fixtures}
mkdir -p "$OUT"
: > "$OUT/versions.txt.tmp"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}
native=$(command -v go || echo /usr/local/go/bin/go)
# Go's own build cache (content-addressed, keyed by toolchain): a fresh clone on a machine that
# built the fixtures before links them in seconds instead of compiling every standard library
# again (3.5 minutes here). Under .output only when there is none (no HOME, say).
if [ -z "${GOCACHE:-}" ]; then
	GOCACHE=$("$native" env GOCACHE 2>/dev/null || true)
	case $GOCACHE in ""|off) GOCACHE=$top/.output/gocache ;; esac
	# Not someone else's cache (root under sudo -E keeps the user's HOME): entries root
	# wrote there would break that user's own builds.
	owner=$GOCACHE
	while [ ! -e "$owner" ]; do owner=$(dirname "$owner"); done
	[ -O "$owner" ] || GOCACHE=$top/.output/gocache
fi
export GOCACHE

# The --source fixture (tests/fixtures/escape, with its dependency tests/fixtures/escapedep
# outside that tree), only for the native toolchain and Debian's go1.19: how each Go version
# words its escape analysis is checked by tests/unit/test_escape.c with every toolchain at hand;
# the end-to-end tests need live programs that span the two wordings (and Go 1.25's stack buffer
# for variable-size make), and every other version would add a standard-library build and two
# more runs. Variants: plain; -trimpath (module-relative file paths); vcs: built from a copy in a
# git repository of its own with its revision stamped (a git worktree gets no vcs stamp from Go
# 1.26), for the test of a tree at another revision, which works on a copy of that repository.
escape_fixture() { # dir gobin
	local dir=$1 gobin=$2 src=$top/tests/fixtures/escape dep=$top/tests/fixtures/escapedep
	local vcs=$1/escape-vcs-src
	if [ -x "$dir/escape-plain" ] && [ -x "$dir/escape-trimpath" ] &&
	   [ -z "$(find "$src" "$dep" -newer "$dir/escape-plain" -type f)" ]; then
		return
	fi
	(cd "$src" && CGO_ENABLED=0 "$gobin" build -mod=readonly -buildvcs=false -o "$dir/escape-plain" .)
	(cd "$src" && CGO_ENABLED=0 "$gobin" build -mod=readonly -buildvcs=false -trimpath -o "$dir/escape-trimpath" .)
	rm -rf "$vcs" "$dir/escape-vcs"
	if ! command -v git >/dev/null; then
		echo "fixtures: no git: escape-vcs not built (its e2e test will skip)" >&2
		return
	fi
	mkdir -p "$vcs"
	cp -r "$src" "$dep" "$vcs/"
	(cd "$vcs" && git init -q && git add -A &&
	 GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z \
	 git -c user.name=heapscope -c user.email=heapscope@localhost commit -q -m fixture)
	(cd "$vcs/escape" && CGO_ENABLED=0 "$gobin" build -mod=readonly -buildvcs=true -o "$dir/escape-vcs" .)
}

"$top/scripts/go-toolchains.sh" | while read -r ver rest; do
	case $rest in
	skip:*) echo "$ver $rest" >> "$OUT/versions.txt.tmp"; echo "fixtures: $ver $rest" >&2; continue ;;
	esac
	gobin=$rest
	ver=$("$gobin" env GOVERSION)
	dir=$OUT/$ver
	mkdir -p "$dir"
	name=goalloc
	src=$top/tests/fixtures/$name
	build() { # variant, then go build args
		local variant=$1; shift
		if [ ! -x "$dir/$name-$variant" ] || [ -n "$(find "$src" -newer "$dir/$name-$variant" -name '*.go')" ]; then
			(cd "$src" && "$gobin" build -trimpath=false -o "$dir/$name-$variant" "$@" .)
		fi
	}
	echo "fixtures: building $ver" >&2
	CGO_ENABLED=0 build plain
	CGO_ENABLED=0 build stripped -ldflags='-s -w'
	CGO_ENABLED=1 build pie -buildmode=pie
	CGO_ENABLED=1 build cgo -tags cgofixture -ldflags='-s -w'
	CGO_ENABLED=1 build cgo-syms -tags cgofixture
	CGO_ENABLED=0 build pprof -tags pprof
	name=goretain
	src=$top/tests/fixtures/$name
	CGO_ENABLED=0 build plain
	CGO_ENABLED=0 build stripped -ldflags='-s -w'
	CGO_ENABLED=1 build pie -buildmode=pie
	CGO_ENABLED=1 build cgo -tags cgofixture -ldflags='-s -w'
	name=goassist
	src=$top/tests/fixtures/$name
	CGO_ENABLED=0 build plain
	CGO_ENABLED=0 build stripped -ldflags='-s -w'
	CGO_ENABLED=1 build pie -buildmode=pie
	CGO_ENABLED=1 build cgo -tags cgofixture -ldflags='-s -w'
	if [ "$gobin" = "$native" ] || [ "$gobin" = /usr/lib/go-1.19/bin/go ]; then
		escape_fixture "$dir" "$gobin"
	fi
	# A binary for another architecture, which heapscope must refuse to probe
	# (tests/unit/test_probes.c); outside the go* directories, which hold x86-64 only.
	if [ "$gobin" = "$native" ]; then
		mkdir -p "$OUT/arm64"
		(dir=$OUT/arm64 name=goalloc src=$top/tests/fixtures/goalloc
		 CGO_ENABLED=0 GOARCH=arm64 build plain)
	fi
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
