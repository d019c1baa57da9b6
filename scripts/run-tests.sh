#!/usr/bin/env bash
# Run every test tier and print one closing line "N passed, N failed, N skipped".
# Unit tests need nothing; BPF/e2e tests need root, BTF and the Go fixtures, and print SKIP
# with the reason when something is missing -- never a silent pass.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export HEAPSCOPE_FIXTURES=${HEAPSCOPE_FIXTURES:-$top/.output/fixtures}
export HEAPSCOPE_BIN=${HEAPSCOPE_BIN:-$top/.output/heapscope}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

run() { # name, command...
	local name=$1 out; shift
	out=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$out"
	local rc=${PIPESTATUS[0]}
	cat "$out" >>"$log"
	# A crash or a sanitizer report can end a binary before it prints a FAIL line of its own.
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		echo "FAIL $name: exited $rc" | tee -a "$log"
	fi
	rm -f "$out"
	[ "$rc" -eq 0 ] || status=1
}

# A unit test binary built with ASan and UBSan (make unit-asan): its test names get an _asan
# suffix, and a sanitizer report exits non-zero, which run() turns into a FAIL.
sanitized() { # binary
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} "$1" 2>&1 |
		sed -u -E 's/^(PASS|FAIL|SKIP) ([^ :]+)/\1 \2_asan/'
	return "${PIPESTATUS[0]}"
}

for t in .output/tests/test_*; do
	[ -x "$t" ] && run "$(basename "$t")" "$t"
done
for t in .output/asan/tests/test_*; do
	[ -x "$t" ] && run "$(basename "$t")_asan" sanitized "$t"
done
# A short libFuzzer run of each parser target (make fuzz FUZZ_SECS=N is the long form).
run fuzz scripts/fuzz.sh --test "${FUZZ_SMOKE_SECS:-5}"
for t in tests/e2e/test_*.py; do
	run "$(basename "$t")" python3 "$t"
done

pass=$(grep -c '^PASS ' "$log")
fail=$(grep -c '^FAIL ' "$log")
skip=$(grep -c '^SKIP ' "$log")
echo
grep -E '^(FAIL|SKIP) ' "$log" | sed 's/^/  /'
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
