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
status=0

times=$(mktemp)
pardir=$(mktemp -d)
trap 'rm -rf "$log" "$times" "$pardir"' EXIT
# Ctrl-C (or CI cancelling) ends the tests running in the background too: a script's background
# jobs ignore SIGINT. SIGTERM to each job's processes, innermost first (heapscope detaches and
# restores its target on SIGTERM); not to the process group, which may hold whoever called us.
kill_tree() { # pid
	local child
	for child in $(pgrep -P "$1"); do
		kill_tree "$child"
	done
	kill -TERM "$1" 2>/dev/null
}
trap 'trap "" INT TERM; for j in $(jobs -p); do kill_tree "$j"; done; wait; exit 130' INT TERM
suite_start=$(date +%s)

run() { # name, command...
	local name=$1 out t0; shift
	out=$(mktemp)
	t0=$(date +%s)
	echo "=== $name"
	"$@" 2>&1 | tee "$out"
	local rc=${PIPESTATUS[0]}
	echo "$(($(date +%s) - t0)) $name" >>"$times"
	echo "=== $name: $(($(date +%s) - t0)) s"
	cat "$out" >>"$log"
	# A crash or a sanitizer report can end a binary before it prints a FAIL line of its own.
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		echo "FAIL $name: exited $rc" | tee -a "$log"
	fi
	rm -f "$out"
	[ "$rc" -eq 0 ] || status=1
}

# Like run, for independent jobs JOBS at a time: "name" "command" pairs (a command is one string,
# run by eval); each job's output is shown whole, in the order given, once all are done.
run_parallel() { # jobs, then name command pairs
	local jobs=$1 dir name names=() i=0; shift
	dir=$(mktemp -d -p "$pardir")
	while [ $# -gt 1 ]; do
		name=$1
		names+=("$name")
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
			wait -n
		done
		echo "... $name started ($jobs at a time; its output follows when all are done)"
		(
			t0=$(date +%s)
			eval "$2" >"$dir/$i.out" 2>&1
			echo $? >"$dir/$i.rc"
			echo "$(($(date +%s) - t0))" >"$dir/$i.t"
		) &
		i=$((i + 1))
		shift 2
	done
	wait
	for i in "${!names[@]}"; do
		name=${names[$i]}
		echo "=== $name"
		cat "$dir/$i.out"
		echo "$(cat "$dir/$i.t") $name" >>"$times"
		echo "=== $name: $(cat "$dir/$i.t") s"
		cat "$dir/$i.out" >>"$log"
		local rc
		rc=$(cat "$dir/$i.rc")
		if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$dir/$i.out"; then
			echo "FAIL $name: exited $rc" | tee -a "$log"
		fi
		[ "$rc" -eq 0 ] || status=1
	done
	rm -rf "$dir"
}

# A unit test binary built with ASan and UBSan (make unit-asan): its test names get an _asan
# suffix, and a sanitizer report exits non-zero, which run() turns into a FAIL.
sanitized() { # binary
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} "$1" 2>&1 |
		sed -u -E 's/^(PASS|FAIL|SKIP) ([^ :]+)/\1 \2_asan/'
	return "${PIPESTATUS[0]}"
}

# The unit tiers are pure and independent, and so is a short libFuzzer run of each parser target
# (make fuzz FUZZ_SECS=N is the long form): two at a time on this two-core class of machine.
units=(fuzz "scripts/fuzz.sh --test ${FUZZ_SMOKE_SECS:-5}")
for t in .output/tests/test_*; do
	[ -x "$t" ] && units+=("$(basename "$t")" "$t")
done
for t in .output/asan/tests/test_*; do
	[ -x "$t" ] && units+=("$(basename "$t")_asan" "sanitized $t")
done
run_parallel 2 "${units[@]}"

# End-to-end files whose every check compares a target with the runtime's own account of that
# same target (a shared CPU changes how much work is done, not whether the figures agree) run
# two at a time, longest first. The others run alone: test_gc (pause durations to 20 us),
# test_assist (its split runs the fixture at real-time priority), test_serve (serve --all
# attaches to every Go process, other tests' targets included), and any file not listed here.
shared="test_stat.py test_retained.py test_safety.py test_top.py test_estimates.py
	test_escape.py test_asan.py"
lanes=()
for f in $shared; do
	[ -f "tests/e2e/$f" ] && lanes+=("$f" "python3 tests/e2e/$f")
done
run_parallel 2 "${lanes[@]}"
for t in tests/e2e/test_*.py; do
	case " $(echo $shared) " in
	*" $(basename "$t") "*) ;;
	*) run "$(basename "$t")" python3 "$t" ;;
	esac
done

pass=$(grep -c '^PASS ' "$log")
fail=$(grep -c '^FAIL ' "$log")
skip=$(grep -c '^SKIP ' "$log")
echo
echo "slowest: $(sort -rn "$times" | head -5 | awk '{printf "%s %d s; ", $2, $1}')"
echo "total: $(($(date +%s) - suite_start)) s"
grep -E '^(FAIL|SKIP) ' "$log" | sed 's/^/  /'
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$status" -eq 0 ]
