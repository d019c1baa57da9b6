"""The error bars (issue 9): heapscope's 95 % intervals cover the runtime's truth.

Over repeated windows on one fixture, at three sampling rates, each function with at least 1 %
of the bytes gives a (function, window) pair; the truth (calls x calibrated bytes per call)
must lie inside heapscope's interval (alloc_bytes +- alloc_bytes_ci95) for at least 90 % of
the pairs, and the intervals must not be wider than twice the theoretical ones (1.96 sigma
from the slot sizes, calls and rate: harness.sampling_sigma).

Why 36 windows: with about 9 pairs a window, a true coverage of 95 % makes the observed one
fall below 90 % with probability far under one in a thousand (4 standard deviations of a
binomial proportion over 300+ pairs).
"""
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fail, Fixture, Heapscope, Skip, check, done, fixture, go_versions,
                     run_test, sampling_sigma, wait_json_event)

RATES = (32768, 131072, 524288)
WINDOWS = 36


def newest():
    ok = [v for v, why in go_versions() if why is None]
    if not ok:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    return ok[-1]


def test_coverage():
    fx = Fixture(fixture(newest(), "stripped"), duration=0.6)
    pairs = inside = 0
    ratios = []
    try:
        for w in range(WINDOWS):
            rate = RATES[w % len(RATES)]
            hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json",
                            "--sample-bytes", str(rate)])
            if w == 0:
                fx.go()
            else:
                fx.proc.stdin.write(b"again\n")
                fx.proc.stdin.flush()
            truth = wait_json_event(fx.out, "done", time.monotonic() + 60)
            rc, out, err = hs.stop()
            check(rc == 0, "stat exited %d: %s" % (rc, err))
            rep = json.loads(out)
            funcs = {f["function"]: f for f in rep["functions"]}
            for name, t in truth["functions"].items():
                if t["bytes"] < 0.01 * truth["alloc_bytes"]:
                    continue
                f = funcs.get(name)
                check(f is not None, "window %d: %s missing" % (w, name))
                pairs += 1
                inside += abs(f["alloc_bytes"] - t["bytes"]) <= f["alloc_bytes_ci95"]
                sb, _ = sampling_sigma(fx.calib[name]["slots_per_call"], t["calls"],
                                       rep["sample_bytes"])
                if sb > 0:
                    ratios.append(f["alloc_bytes_ci95"] / (1.96 * sb))
    finally:
        fx.finish()
        fx.kill()
    coverage = inside / pairs
    ratios.sort()
    mean = sum(ratios) / len(ratios)
    p95 = ratios[int(0.95 * (len(ratios) - 1))]
    print("  %d pairs: the truth inside the 95 %% interval in %.1f %%; width / theoretical: "
          "mean %.2f, 95th percentile %.2f" % (pairs, 100 * coverage, mean, p95))
    check(coverage >= 0.90, "coverage %.1f %% over %d pairs, want >= 90 %%" % (
        100 * coverage, pairs))
    check(mean <= 2, "intervals %.2f times the theoretical width on average" % mean)


def main():
    run_test("estimates_ci95_coverage", test_coverage)
    done()


if __name__ == "__main__":
    main()
