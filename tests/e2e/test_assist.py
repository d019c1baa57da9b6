"""heapscope stat's mark-assist CPU per function (issue 8) against the Go runtime's own account.

Fixture: tests/fixtures/goassist, a 64 MiB live heap at GOGC 25 so the collector marks most of
the time, main.heavyAlloc and main.lightAlloc allocating the same objects at 3:1 from the same
goroutines, and main.spin, which only computes.

assist_total_<version>_<variant> (every version stripped; plain, pie and cgo on the newest):
  the sum over functions of assist_cpu_s is within 10 % of the runtime's
  /cpu/classes/gc/mark/assist:cpu-seconds between the fixture's "started" and "done" events
  (Go 1.20+), or of the sum of gctrace's assist field (E in "D+E/F/G+H ms cpu") over the cycles
  between them (go1.19, which has no such metric; gctrace truncates to two significant digits,
  about 1 % low). The runtime credits a cycle's assists when it ends and drops what each P holds
  under gcAssistTimeSlack; heapscope replays that (user/agg/assist.c), so in practice the two agree
  to the nanosecond. main.spin is charged nothing.

assist_top_<version> (newest): `top -b` shows an ASSIST/s column, with assist CPU for
  main.heavyAlloc and none for main.spin.

assist_unavailable_<version> (newest): in a copy of the fixture whose gcAssistTimeSlack compare
  is patched (5000 -> 5001: the runtime still runs, the pattern is no longer there), stat warns
  once why, every assist_cpu_s is null and the text report has no ASSIST/s column, while the
  GC figures stay.

assist_serve_<version> (newest): serve's heapscope_function_gc_assist_seconds_total series of
  the process, scraped after the workload, sum to the runtime's assist CPU over it within 10 %,
  and main.spin's (if it has one) is 0.

assist_split_<version> (stripped): main.heavyAlloc's assist CPU over main.lightAlloc's is the
  ratio of their bytes as the runtime counted them (3:1), within 25 %, and main.spin is charged
  nothing. Why the run looks the way it does:
  - The runtime charges assists per goroutine (its allocation debt, the over-assist, the
    background credit it steals), so an assist lands on whichever allocation pushes its
    goroutine into debt. Two functions on goroutines of their own do not split by their bytes
    (a 12:1 byte ratio measured 4.2:1); the fixture calls both from the same goroutines, in
    rounds of random size and order, because a fixed pattern aliases with the near-constant
    credit an assist leaves (a fixed 3-and-1 pattern measured 2.42-2.83:1 in counts).
  - Assist durations are wall-clock (nanotime around gcDrainN), so whenever the thread loses
    the CPU in an assist, that assist grows by the time it waited. On this 2-CPU machine under
    load (load average 12) 1 % of the assists carried 70-87 % of the assist time (up to 153 ms
    each) and the split over 6 s ranged 1.3:1 to 6.5:1 although the assist counts split
    2.8-3.2:1: no window of sensible length averages that out. So the fixture runs at
    real-time priority (SCHED_FIFO 1) with GOMAXPROCS=1: other processes no longer preempt it,
    it occupies one CPU at most, and its -idle 60ms pauses (a forced GC without allocators,
    then idle) keep it under the kernel's RT budget, whose 50 ms stalls otherwise landed on
    assists. The largest assist then measured 0.4-5 ms and the split 2.89-3.12:1 on every
    version (8 s).
  - What is left is which allocation triggers each assist, the spread of assist durations, and
    that only a duration-weighted sample of the assists comes with a stack (an assist of d ns
    with probability min(1, d / 200 us), and only while the probe is attached; the exact total
    is split by their weights): a
    relative standard deviation of the ratio of about sqrt(1/s_heavy + 1/s_light) * sqrt(1 + cv^2),
    s the sampled stacks of each function and cv the spread of their weights (at most about 2,
    Go 1.26's many short assists). The run must therefore give main.lightAlloc at least
    MIN_LIGHT_SAMPLES of them, which puts 25 % at more than 5 of those standard deviations; 8 s
    with the probe always attached gave 1900-3500 on every version, hence 12 s (20 s on Go
    1.26+) now that it is attached only part of the time.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (FIXTURES, Fail, Fixture, Heapscope, Skip, check, done, go_versions,
                     run_heapscope, run_parallel, run_test, skip)

TOTAL_TOL = 0.10
# user/session/session_assist.c's: the probe's hits a second beyond which it is detached part of
# the time
ASSIST_HITS_BUDGET = 3000
SPLIT_TOL = 0.25
MIN_LIGHT_SAMPLES = 1000
GCTRACE_ASSIST = re.compile(
    r"^gc (\d+) @.* ms clock, [\d.]+\+([\d.]+)/[\d.]+/[\d.]+\+[\d.]+ ms cpu")


def version_minor(version):
    """26 for go1.26.8."""
    return int(re.match(r"go1\.(\d+)", version).group(1))


def goassist(version, variant):
    return os.path.join(FIXTURES, version, "goassist-" + variant)


def observe(path, duration, extra_env=None, args=(), realtime=False, stderr_path=None):
    """Run the fixture under `heapscope stat` from before "go" to after "done"."""
    fx = Fixture(path, duration=duration, extra_env=extra_env, args=args,
                 stderr_path=stderr_path)
    try:
        if realtime:
            # Every thread there is now; threads the runtime starts later inherit it.
            r = subprocess.run(["chrt", "--all-tasks", "--fifo", "--pid", "1", str(fx.pid)],
                               capture_output=True, text=True)
            if r.returncode:
                raise Skip("cannot run the fixture at real-time priority: %s" %
                           r.stderr.strip())
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
        fx.go()
        started = fx.wait_started()
        truth = fx.wait_done(timeout=duration * 10 + 60)
        rc, out, err = hs.stop()
        fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "heapscope exited %d: %s" % (rc, err.strip()))
    try:
        rep = json.loads(out)
    except ValueError:
        raise Fail("stat output is not JSON: %r" % out[:200])
    check(rep["gc"]["cycles"] is not None, "no GC figures: %s" % err.strip())
    funcs = {f["function"]: f for f in rep["functions"]}
    for f in funcs.values():
        check(f["assist_cpu_s"] is not None, "assist_cpu_s is null: %s" % err.strip())
    spin = funcs.get("main.spin", {}).get("assist_cpu_s") or 0
    check(spin == 0, "main.spin allocates nothing but was charged %.6f s of assists" % spin)
    return started, truth, rep, funcs


def test_total(version, variant):
    path = goassist(version, variant)
    if not os.path.exists(path):
        raise Skip("fixture %s not built (make fixtures)" % path)
    with tempfile.NamedTemporaryFile(prefix="gctrace-", suffix=".txt") as tf:
        started, truth, rep, funcs = observe(path, 4, extra_env={"GODEBUG": "gctrace=1"},
                                             stderr_path=tf.name)
        trace = open(tf.name, errors="replace").read()
    ours = sum(f["assist_cpu_s"] for f in funcs.values())
    if truth.get("cpu_gc_assist_s") is not None:
        want = truth["cpu_gc_assist_s"] - started["cpu_gc_assist_s"]
        what = "/cpu/classes/gc/mark/assist"
    else:
        first, last = started["gc_cycles"] + 1, truth["gc_cycles"]
        cycles = {}
        for line in trace.splitlines():
            m = GCTRACE_ASSIST.match(line)
            if m and first <= int(m.group(1)) <= last:
                cycles[int(m.group(1))] = float(m.group(2)) / 1e3
        check(len(cycles) == last - first + 1,
              "%d gctrace lines for cycles %d-%d" % (len(cycles), first, last))
        want = sum(cycles.values())
        what = "gctrace's assist field"
    check(want > 0.05, "the fixture assisted only %.3f s: nothing to compare" % want)
    check(abs(ours - want) <= TOTAL_TOL * want,
          "assist CPU over functions %.6f s vs %s %.6f s (%+.1f %%)" % (
              ours, what, want, 100 * (ours - want) / want))
    print("  %s %s: %.6f s over %d functions vs %s %.6f s (%+.4f %%); gc.assist_cpu_s %.6f, "
          "unattributed %.6f; probe attached %.0f %% of the window" % (
              version, variant, ours, sum(1 for f in funcs.values() if f["assist_cpu_s"]),
              what, want, 100 * (ours - want) / want, rep["gc"]["assist_cpu_s"],
              rep["gc"]["assist_unattributed_cpu_s"],
              100 * rep["gc"]["assist_probe_attached_share"]))


def test_split(version):
    path = goassist(version, "stripped")
    if not os.path.exists(path):
        raise Skip("fixture %s not built (make fixtures)" % path)
    if not shutil.which("chrt"):
        raise Skip("chrt (util-linux) is not installed")
    # Over ASSIST_HITS_BUDGET hits a second the probe is attached part of the time only
    # (session_assist.c). Measured here: all the time for Go 1.19-1.25's assists on this
    # fixture, about 40 % of it for Go 1.26+'s many short ones. The windows are long enough for
    # MIN_LIGHT_SAMPLES either way.
    _, truth, rep, funcs = observe(path, 20 if version_minor(version) >= 26 else 12,
                                   extra_env={"GOMAXPROCS": "1"}, args=("-idle", "60ms"),
                                   realtime=True)
    share = rep["gc"]["assist_probe_attached_share"]
    check(share, "gc.assist_probe_attached_share is %r" % share)
    hits = rep["probe_counters"]["assist_probe_hits"] / (rep["duration_s"] * share)
    if hits > 1.2 * ASSIST_HITS_BUDGET:
        check(share < 0.9, "the mark-assist probe fired %.0f times a second, over its budget of "
              "%d, yet stayed attached %.0f %% of the window" % (
                  hits, ASSIST_HITS_BUDGET, 100 * share))
    heavy, light = funcs.get("main.heavyAlloc"), funcs.get("main.lightAlloc")
    check(heavy and light, "no row for main.heavyAlloc or main.lightAlloc: %s" % sorted(funcs))
    check(light["assist_samples"] >= MIN_LIGHT_SAMPLES,
          "only %d sampled assists in main.lightAlloc: too few to check the split to 25 %%" %
          light["assist_samples"])
    b = truth["functions"]
    want = b["main.heavyAlloc"]["bytes"] / b["main.lightAlloc"]["bytes"]
    got = heavy["assist_cpu_s"] / light["assist_cpu_s"]
    total = sum(f["assist_cpu_s"] for f in funcs.values())
    check(abs(got / want - 1) <= SPLIT_TOL,
          "assist CPU heavy:light %.3f (%.4f s : %.4f s, %d : %d sampled assists), bytes %.3f" % (
              got, heavy["assist_cpu_s"], light["assist_cpu_s"], heavy["assist_samples"],
              light["assist_samples"], want))
    print("  %s: assist CPU heavy:light %.3f (%.0f : %.0f assists, %d : %d sampled) vs bytes "
          "%.3f (%+.1f %%); the two have %.1f %% of the %.3f s; probe attached %.0f %% of the "
          "window at %.0f hits/s" % (
              version, got, heavy["assists"], light["assists"], heavy["assist_samples"],
              light["assist_samples"], want, 100 * (got / want - 1),
              100 * (heavy["assist_cpu_s"] + light["assist_cpu_s"]) / total, total,
              100 * share, hits))


# gcAssistAlloc1's "CMPQ CX, $5000; JLE": once in each fixture binary.
SLACK_CMP = bytes.fromhex("4881f9881300007e")


def test_unavailable(version):
    src = goassist(version, "stripped")
    if not os.path.exists(src):
        raise Skip("fixture %s not built (make fixtures)" % src)
    data = open(src, "rb").read()
    check(data.count(SLACK_CMP) == 1, "the slack compare is not once in %s" % src)
    fd, path = tempfile.mkstemp(prefix="goassist-patched-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.replace(SLACK_CMP, SLACK_CMP[:3] + b"\x89" + SLACK_CMP[4:]))
        os.chmod(path, 0o755)
        fx = Fixture(path, duration=6)
        try:
            fx.go()
            rc, out, err = run_heapscope(["stat", "-p", str(fx.pid), "-d", "2", "--format",
                                          "json"])
            rc2, text, err2 = run_heapscope(["stat", "-p", str(fx.pid), "-d", "1"])
            fx.wait_done()
            fx.finish()
        finally:
            fx.kill()
    finally:
        os.unlink(path)
    check(rc == 0 and rc2 == 0, "heapscope exited %d/%d: %s" % (rc, rc2, err + err2))
    warnings = [l for l in err.splitlines() if "GC assist per function unavailable" in l]
    check(len(warnings) == 1 and "gcAssistTimeSlack" in warnings[0],
          "want one warning naming the missing compare: %r" % err)
    rep = json.loads(out)
    check(rep["gc"]["cycles"], "the GC figures went too: %s" % rep["gc"])
    check(rep["gc"]["assist_unattributed_cpu_s"] is None, "gc.assist_unattributed_cpu_s not null")
    check(rep["functions"], "no functions")
    for f in rep["functions"]:
        check(f["assist_cpu_s"] is None and f["assists"] is None,
              "%s: assist_cpu_s %r, want null" % (f["function"], f["assist_cpu_s"]))
    check("ASSIST" not in text and "FLAT" in text, "text report:\n%s" % text)
    print("  %s: %s" % (version, warnings[0].strip()))


def test_top(version):
    path = goassist(version, "stripped")
    if not os.path.exists(path):
        raise Skip("fixture %s not built (make fixtures)" % path)
    fx = Fixture(path, duration=8)
    try:
        fx.go()
        rc, out, err = run_heapscope(["top", "-p", str(fx.pid), "-b", "-n", "3", "-d", "1"])
        fx.wait_done()
        fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "top exited %d: %s" % (rc, err.strip()))
    heavy, spin, end = [], [], None
    for line in out.splitlines():
        if line.startswith("FUNCTION"):
            check("ASSIST/s" in line, "no ASSIST/s column: %r" % line)
            end = line.index("ASSIST/s") + len("ASSIST/s")
        elif end and line.startswith("main.heavyAlloc"):
            heavy.append(line[end - 9:end].strip())
        elif end and line.startswith("main.spin"):
            spin.append(line[end - 9:end].strip())
    check(end is not None and heavy, "no table with main.heavyAlloc:\n%s" % out)
    check(any(v not in ("0", "") for v in heavy), "main.heavyAlloc ASSIST/s: %s" % heavy)
    check(all(v == "0" for v in spin), "main.spin ASSIST/s: %s" % spin)
    print("  %s: main.heavyAlloc ASSIST/s %s" % (version, ", ".join(heavy)))


SERIES = re.compile(r'^heapscope_function_gc_assist_seconds_total\{([^}]*)\} (\S+)$', re.M)


def test_serve(version):
    path = goassist(version, "stripped")
    if not os.path.exists(path):
        raise Skip("fixture %s not built (make fixtures)" % path)
    fx = Fixture(path, duration=4)
    try:
        hs = Heapscope(["serve", "-p", str(fx.pid), "--listen", "127.0.0.1:0"])
        line = hs.err.readline(time.monotonic() + 30, "the serving line")
        m = re.search(r"\(port (\d+)\)", line)
        check(m, "no port in %r" % line)
        fx.go()
        started = fx.wait_started()
        truth = fx.wait_done(timeout=100)
        # the cycle that ends the workload is credited when it ends: one more scrape after
        # the fixture's own reading could only add to it, so read the counters once, now
        body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % m.group(1),
                                      timeout=30).read().decode()
        rc, _, err = hs.stop()
        fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "serve exited %d: %s" % (rc, err.strip()))
    series = {}
    for labels, value in SERIES.findall(body):
        lab = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        check(lab.get("pid") == str(fx.pid), "a series of another process: %s" % labels)
        series[(lab["function"], lab["kind"])] = float(value)
    check(series, "no heapscope_function_gc_assist_seconds_total series:\n%s" % body[-1500:])
    ours = sum(series.values())
    spin = sum(v for (f, _), v in series.items() if f == "main.spin")
    check(spin == 0, "main.spin charged %.6f s" % spin)
    if truth.get("cpu_gc_assist_s") is None:
        raise Skip("%s has no /cpu/classes/gc/mark/assist to compare with" % version)
    want = truth["cpu_gc_assist_s"] - started["cpu_gc_assist_s"]
    check(want > 0.05, "the fixture assisted only %.3f s: nothing to compare" % want)
    # the scrape came after "done": assists between the two count on our side only, and
    # the window before "go" had none; allow them within the same tolerance
    check(abs(ours - want) <= TOTAL_TOL * want,
          "serve's assist series sum to %.6f s, the runtime says %.6f s (%+.1f %%)" % (
              ours, want, 100 * (ours - want) / want))
    print("  %s: %d series sum to %.6f s vs /cpu/classes/gc/mark/assist %.6f s (%+.3f %%)" % (
        version, len(series), ours, want, 100 * (ours - want) / want))


def main():
    versions = go_versions()
    if not versions:
        skip("assist_total", "no Go fixtures built (scripts/build-fixtures.sh)")
    # The totals compare one target with its own runtime's count, whatever else runs: two at a
    # time. The split below runs alone, at real-time priority.
    totals = []
    for i, (version, why) in enumerate(versions):
        variants = ["stripped"] + (["plain", "pie", "cgo"] if i == len(versions) - 1 else [])
        for variant in variants:
            name = "assist_total_%s_%s" % (version, variant)
            if why:
                skip(name, why)
                continue
            totals.append((name, test_total, version, variant))
    run_parallel(totals)
    for test, fn in (("assist_top", test_top), ("assist_unavailable", test_unavailable),
                     ("assist_serve", test_serve)):
        for version, why in versions[-1:]:
            name = "%s_%s" % (test, version)
            if why:
                skip(name, why)
                continue
            run_test(name, fn, version)
    for version, why in versions:
        name = "assist_split_%s" % version
        if why:
            skip(name, why)
            continue
        run_test(name, test_split, version)
    done()


if __name__ == "__main__":
    main()
