"""heapscope itself under AddressSanitizer and UBSan (leak checking on): stat held to the same
accuracy checks as test_stat, --exact, and top's batch mode, on real targets. Any sanitizer
report ends heapscope with exit 99 and the report on stderr, which fails the test.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness
from harness import Fail, Fixture, Skip, check, done, fixture, go_versions, run_test
import test_stat

ASAN_BIN = os.path.join(harness.TOP, ".output/asan/heapscope")
SANITIZER_EXIT = 99
os.environ["ASAN_OPTIONS"] = "detect_leaks=1:halt_on_error=1:exitcode=%d" % SANITIZER_EXIT
os.environ["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:exitcode=%d" % SANITIZER_EXIT


def clean(rc, err):
    for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(mark not in err, "sanitizer report: %s" % err[-3000:])
    check(rc == 0, "heapscope exited %d: %s" % (rc, err[-1500:]))


def versions():
    built = [v for v, why in go_versions() if why is None]
    if not built:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    return sorted(set(built[:1] + built[-1:]))


def stat_case(version, variant, exact):
    path = fixture(version, variant)
    if not os.path.exists(path):
        raise Skip("fixture %s not built" % path)
    try:
        fx, truth, rep, _ = test_stat.observe(path, ["--exact"] if exact else [])
    except Fail as e:
        # observe() checks rc == 0 first: say when the cause was a sanitizer
        msg = str(e)
        if "exited %d" % SANITIZER_EXIT in msg:
            raise Fail("sanitizer report: " + msg[-3000:])
        raise
    test_stat.compare(fx, truth, rep, exact=exact)


def test_top(version):
    fx = Fixture(fixture(version, "stripped"), duration=3)
    try:
        fx.go()
        rc, out, err = harness.run_heapscope(["top", "-p", str(fx.pid), "-b", "-n", "3",
                                              "-d", "0.5"])
    finally:
        fx.kill()
    clean(rc, err)
    check(out.count("PID %d" % fx.pid) >= 3 or "main." in out,
          "top printed no frames: %r" % out[-600:])


def main():
    why = harness.requirements()
    if not os.access(ASAN_BIN, os.X_OK):
        why = why or "%s not built (make unit-asan)" % ASAN_BIN
    if why:
        for name in ("asan_stat", "asan_stat_exact", "asan_top"):
            harness.skip(name, why)
        done()
        return
    harness.HEAPSCOPE = ASAN_BIN
    try:
        vs = versions()
    except Skip as e:
        harness.skip("asan_stat", str(e))
        done()
        return
    for v in vs:
        run_test("asan_stat_%s_cgo" % v, stat_case, v, "cgo", False)
    run_test("asan_stat_exact_%s" % vs[-1], stat_case, vs[-1], "pie", True)
    run_test("asan_top_%s" % vs[-1], test_top, vs[-1])
    done()


if __name__ == "__main__":
    main()
