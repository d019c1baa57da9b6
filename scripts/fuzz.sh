#!/usr/bin/env bash
# Fuzz the parsers: each libFuzzer target in tests/fuzz runs for SECS seconds (default 10), one
# after the other, seeded from the fixture binaries (scripts/fuzz-seeds.py) and from the corpus
# earlier runs grew in .output/fuzz/corpus. Per target it prints executions, exec/s, coverage
# (libFuzzer's cov: edges and ft: features), crashes (an ASan or UBSan report, a failed check of
# the target, or an input running longer than FUZZ_TIMEOUT seconds) and slow inputs (new corpus
# inputs whose fastest of three runs takes over FUZZ_SLOW_MS of CPU, timed by replay_NAME).
#
#   scripts/fuzz.sh [--test] [SECS]     (make fuzz FUZZ_SECS=N)
#
# --test prints one PASS/FAIL/SKIP line per target, for scripts/run-tests.sh, and starts from
# the seeds alone (a corpus of its own, deleted after), so that its run time and verdict do not
# depend on how long earlier runs fuzzed.
# Environment: FUZZ_TARGETS (names, default all), FUZZ_TIMEOUT (s, 10), FUZZ_SLOW_MS (100),
# FUZZ_REPLAY=all (time the whole corpus, not only this run's new inputs), FUZZ_FLAGS (more
# libFuzzer flags). Crash inputs are kept in .output/fuzz/artifacts/NAME, logs in .output/fuzz/logs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
test_mode=0
if [ "${1:-}" = --test ]; then
	test_mode=1
	shift
fi
secs=${1:-10}
out=.output/fuzz
fixtures=${HEAPSCOPE_FIXTURES:-$top/.output/fixtures}
names=${FUZZ_TARGETS:-$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')}
slow_ms=${FUZZ_SLOW_MS:-100}
timeout=${FUZZ_TIMEOUT:-10}

# Every target gets a verdict line in the test suite; `make fuzz` just stops.
give_up() { # PASS|FAIL|SKIP, reason
	if [ $test_mode = 1 ]; then
		for n in $names; do echo "$1 fuzz_$n: $2"; done
		[ "$1" = SKIP ] && exit 0
		exit 1
	fi
	echo "fuzz: $2" >&2
	exit 1
}

echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"${CLANG:-clang}" -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null ||
	give_up SKIP "clang has no libFuzzer runtime (Debian: libclang-rt-14-dev; scripts/install-deps.sh)"
make --no-print-directory fuzz-build >/dev/null || give_up FAIL "make fuzz-build failed"

# Seeds are regenerated when the script or a fixture is newer than the last set.
stamp=$out/seeds/max_len
if [ ! -s "$stamp" ] || [ scripts/fuzz-seeds.py -nt "$stamp" ] ||
	[ -n "$(find -L "$fixtures" -newer "$stamp" -name 'goalloc-*' -print -quit 2>/dev/null)" ]; then
	max_len=$(scripts/fuzz-seeds.py "$fixtures" "$out/seeds") ||
		give_up SKIP "no fixture binaries to seed from (make fixtures)"
	echo "$max_len" >"$stamp"
fi
max_len=$(cat "$stamp")

status=0
printf '%-10s %10s %7s %6s %6s %7s %7s %5s\n' target execs exec/s cov ft corpus crashes slow
for n in $names; do
	bin=$out/fuzz_$n corpus=$out/corpus/$n art=$out/artifacts/$n log=$out/logs/$n.log
	[ $test_mode = 1 ] && corpus=$(mktemp -d)
	mkdir -p "$corpus" "$art" "$out/logs"
	# The ELF targets take whole binaries: libFuzzer would cut inputs at 1 MB by default.
	seeds=$out/seeds/elf len=-max_len=$max_len
	if [ "$n" = x86 ]; then
		seeds=$out/seeds/x86 len=
	fi
	start=$(mktemp)
	# shellcheck disable=SC2086 # word splitting of $len and FUZZ_FLAGS is intended
	nice -n 19 "$bin" -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=4096 $len \
		-artifact_prefix="$art/" -print_final_stats=1 ${FUZZ_FLAGS:-} \
		"$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
	eps=$(awk '/^stat::average_exec_per_sec:/ { print $2 }' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	crashes=$(find "$art" -type f -newer "$start" ! -name 'slow-unit-*' | sort)
	if [ "${FUZZ_REPLAY:-new}" = all ]; then
		replay=$(find "$corpus" "$seeds" -type f)
	else
		replay=$(find "$corpus" -type f -newer "$start")
	fi
	rm -f "$start"
	slow=$(echo "$replay" | xargs -r nice -n 19 "$out/replay_$n" -t "$slow_ms" | grep '^SLOW ')
	ncrash=$(echo -n "$crashes" | grep -c .)
	nslow=$(echo -n "$slow" | grep -c .)
	printf '%-10s %10s %7s %6s %6s %7s %7s %5s\n' "$n" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
		"${ft:-?}" "$(find "$corpus" -type f | wc -l)" "$ncrash" "$nslow"
	[ -n "$crashes" ] && echo "$crashes" | sed 's/^/    crash: /'
	if [ -n "$slow" ]; then
		echo "$slow" | sed 's/^/    /'
		echo "$slow" | awk '{ print $NF }' | xargs -r cp -t "$art/"	# kept for a test
	fi
	[ $test_mode = 1 ] && rm -rf "$corpus"
	why=
	if [ "$ncrash" -gt 0 ]; then
		why="crash $(echo "$crashes" | head -1) (log $log)"
	elif [ "$rc" -ne 0 ]; then
		why="libFuzzer exited $rc (log $log)"
	elif [ "$nslow" -gt 0 ]; then
		why="input over $slow_ms ms: $(echo "$slow" | head -1)"
	fi
	if [ -n "$why" ]; then
		status=1
		[ $test_mode = 1 ] && echo "FAIL fuzz_$n: $why"
	else
		[ $test_mode = 1 ] && echo "PASS fuzz_$n"
	fi
done
exit $status
