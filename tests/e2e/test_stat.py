"""heapscope stat against the Go runtime's own accounting of the same program and window.

For every Go toolchain the fixtures were built with and every build variant (plain, stripped,
PIE, cgo, pprof linked), attach to the paused goalloc fixture, let it run its calibrated
workload, stop heapscope when the fixture reports "done", and compare:
  - total bytes with the runtime's /gc/heap/allocs:bytes delta over the workload,
  - per-function bytes and objects with calls × the calibrated figures per call,
  each within 5 standard deviations of that run's own sampling error (harness.py),
  - each function's allocation kind,
and that the target survived and got its MemProfileRate back. Stack walks are checked frame for
frame against the runtime's own unwinder on a recursion 40 frames deep (-mode deep), which
crosses many of the BPF walk's windows.
"""
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HEAPSCOPE, Fail, Fixture, Heapscope, LineReader, Skip, check, done, fixture,
                     go_versions, run_heapscope, run_parallel, run_test, sampling_sigma, skip,
                     wait_json_event, within)

VARIANTS = ["stripped", "plain", "pie", "cgo", "pprof"]
# --exact counts every allocation: what is left is the window's edges and, per function, how
# slot sizes are derived from requested sizes.
EXACT_TOL_TOTAL = 0.01
EXACT_TOL_FUNC = 0.02


def observe(path, hs_args=(), sig=signal.SIGINT):
    fx = Fixture(path)
    try:
        # 4x the default sample count where heapscope enables the sampler: tighter estimates.
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json",
                        "--sample-bytes", "131072"] + list(hs_args))
        fx.go()
        fx.started = fx.wait_started()
        truth = fx.wait_done()
        rc, out, err = hs.stop(sig)
        exit_ev, fx_rc = fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "heapscope exited %d: %s" % (rc, err.strip()))
    check(fx_rc == 0, "the target exited %d after being observed" % fx_rc)
    try:
        rep = json.loads(out)
    except ValueError:
        raise Fail("stat output is not JSON: %r" % out[:200])
    return fx, truth, rep, exit_ev


def compare(fx, truth, rep, exact=False):
    """Totals and every function's bytes and objects against the runtime's truth. Sampled
    estimates get SIGMAS standard deviations of this run's own sampling error (from the
    functions' slot sizes, their call counts and the rate in force) plus the harness's floor;
    --exact is held to EXACT_TOL. Returns the largest |z| seen, for the log."""
    rate = 0 if exact else rep["sample_bytes"]
    errors = []
    zmax = 0.0
    var_b = 0.0
    funcs = {f["function"]: f for f in rep["functions"]}
    for name, t in truth["functions"].items():
        cal = fx.calib[name]
        sb, so = sampling_sigma(cal["slots_per_call"], t["calls"], rate)
        var_b += sb * sb
        # The truth is calls x a calibrated mean: its standard error counts too.
        sb = math.hypot(sb, t["calls"] * cal["bytes_per_call_se"])
        so = math.hypot(so, t["calls"] * cal["objects_per_call_se"])
        f = funcs.get(name)
        if f is None:
            errors.append("%s (%.0f bytes) missing" % (name, t["bytes"]))
            continue
        if f["kind"] != cal["kind"]:
            errors.append("%s kind %s, want %s" % (name, f["kind"], cal["kind"]))
        if not f["file"].endswith("main.go") or f["line"] <= 0:
            errors.append("%s at %s:%d, want main.go:N" % (name, f["file"], f["line"]))
        # Its stacks split the same samples as the checked figures below: all of them when it
        # has fewer than the three the report keeps, part of them otherwise (to the JSON's
        # printed precision).
        st_bytes = sum(st["alloc_bytes"] for st in f["stacks"])
        st_samples = sum(st["samples"] for st in f["stacks"])
        whole = len(f["stacks"]) < 3
        if (st_bytes > f["alloc_bytes"] * (1 + 1e-6) or st_samples > f["samples"] or
                (whole and (abs(st_bytes - f["alloc_bytes"]) > 1e-6 * f["alloc_bytes"] or
                            st_samples != f["samples"]))):
            errors.append("%s: %d stacks with %.0f bytes in %d samples, the function %.0f in %d"
                          % (name, len(f["stacks"]), st_bytes, st_samples, f["alloc_bytes"],
                             f["samples"]))
        checks = [("bytes", f["alloc_bytes"], t["bytes"], sb)]
        # --exact counts each tiny allocation where the runtime counts their shared 16-byte
        # blocks; the sampler sees blocks, as the runtime does.
        if not (exact and cal.get("tiny_objects_per_call", 0) > 0.01):
            checks.append(("objects", f["alloc_objects"], t["objects"], so))
        for what, got, want, sigma in checks:
            if exact:
                ok, tol, z = abs(got - want) <= EXACT_TOL_FUNC * want, EXACT_TOL_FUNC * want, 0.0
            else:
                ok, tol, z = within(got, want, sigma)
            zmax = max(zmax, abs(z))
            if not ok:
                errors.append("%s %s %.0f vs %.0f (%+.1f%%, z=%+.1f, tolerance %.0f)" % (
                    name, what, got, want, 100 * (got / want - 1), z, tol))
    total = truth["alloc_bytes"]
    got = rep["alloc_bytes"]
    if exact:
        ok, tol, z = abs(got - total) <= EXACT_TOL_TOTAL * total, EXACT_TOL_TOTAL * total, 0.0
    else:
        ok, tol, z = within(got, total, math.sqrt(var_b))
    zmax = max(zmax, abs(z))
    if not ok:
        errors.append("total bytes %.0f vs runtime's %.0f (%+.1f%%, z=%+.1f, tolerance %.0f)" % (
            got, total, 100 * (got / total - 1), z, tol))
    check(not errors, "; ".join(errors))
    return zmax


def check_sites(rep):
    """A function that both makes and appends keeps both sites, each with its kind and line,
    and the sites add up to the function."""
    f = {x["function"]: x for x in rep["functions"]}.get("main.makeAndAppend")
    check(f is not None, "main.makeAndAppend missing")
    kinds = {s["kind"]: s["line"] for s in f["sites"]}
    check({"make-slice", "append-growth"} <= set(kinds) and len(set(kinds.values())) >= 2,
          "main.makeAndAppend sites %s, want make-slice and append-growth at two lines" % kinds)
    for x in rep["functions"]:
        total = sum(s["alloc_bytes"] for s in x["sites"])
        check(abs(total - x["alloc_bytes"]) <= 1e-6 * x["alloc_bytes"],
              "%s: sites sum to %.0f, the function %.0f" % (x["function"], total,
                                                          x["alloc_bytes"]))


def check_process_cpu(fx, truth, rep):
    """process_cpu_s against the kernel's count seen from inside (getrusage) over the workload;
    heapscope's window also holds the idle moments before "go" and after "done"."""
    want = truth["process_cpu_s"] - fx.started["process_cpu_s"]
    got = rep["process_cpu_s"]
    check(got is not None and abs(got - want) <= 0.05 * want + 0.1,
          "process_cpu_s %s vs the process's own %.2f s" % (got, want))


def check_probe_counters(rep):
    """The probes' own counts against what reached heapscope: after the final drain every
    counted pass of the allocation probe is an event or a dropped re-arm sample."""
    pc = rep["probe_counters"]
    check(pc["alloc_probe_hits"] == pc["alloc_events"] + rep["rate_change_samples_dropped"],
          "alloc_probe_hits %d != alloc_events %d + rate_change_samples_dropped %d" % (
              pc["alloc_probe_hits"], pc["alloc_events"], rep["rate_change_samples_dropped"]))
    check(pc["alloc_events"] >= rep["samples"] > 0,
          "alloc_events %d, samples %d" % (pc["alloc_events"], rep["samples"]))
    check(pc["inline_stacks"] <= pc["alloc_events"] + pc["assist_probe_hits"],
          "inline_stacks %d of %d allocation events and %d assists" % (
              pc["inline_stacks"], pc["alloc_events"], pc["assist_probe_hits"]))
    if rep["gc"]["cycles"]:
        check(pc["gc_probe_hits"] >= 2 * rep["gc"]["cycles"],
              "gc_probe_hits %d for %d cycles" % (pc["gc_probe_hits"], rep["gc"]["cycles"]))


def test_accuracy(version, variant):
    path = fixture(version, variant)
    if not os.path.exists(path):
        raise Skip("fixture %s not built" % path)
    fx, truth, rep, exit_ev = observe(path)
    check_process_cpu(fx, truth, rep)
    check(rep["go_version"].startswith(version.split("-")[0]),
          "go_version %s, want %s" % (rep["go_version"], version))
    check(rep["mode"] == "sampled", "mode %s" % rep["mode"])
    check(rep["lost_events"] == 0, "%d events lost" % rep["lost_events"])
    zmax = compare(fx, truth, rep)
    check_sites(rep)
    check_probe_counters(rep)
    print("  %s %s: %d samples at rate %d, largest |z| %.1f" % (
        version, variant, rep["samples"], rep["sample_bytes"], zmax))
    orig = fx.ready["mem_profile_rate"]
    check(rep["sampler_enabled_by_heapscope"] == (orig == 0),
          "sampler_enabled_by_heapscope=%s with original rate %d" % (
              rep["sampler_enabled_by_heapscope"], orig))
    check(exit_ev is not None and exit_ev["mem_profile_rate"] == orig,
          "MemProfileRate not restored: %s, was %d" % (exit_ev, orig))


def test_deep_stacks(version):
    """Every stack stat reports for the deep fixture's allocation is the chain the runtime's own
    unwinder gives, frame for frame: the walk leaves its window and copies the next stretch
    several times per stack, and a wrong offset, a skipped or repeated frame or a truncation
    shows here."""
    p = subprocess.Popen([fixture(version, "stripped"), "-mode", "deep"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready = wait_json_event(LineReader(p.stdout), "ready", time.monotonic() + 60)
        want = [f for f in ready["chain"] if f != "runtime.goexit"]
        check(want.count("main.deepStep") == 41, "the fixture's chain: %s" % ready["chain"])
        rc, out, err = run_heapscope(["stat", "-p", str(p.pid), "-d", "2", "--format", "json",
                                      "--sample-bytes", "65536"])
        check(rc == 0, "heapscope stat exited %d: %s" % (rc, err.strip()))
    finally:
        p.stdin.close()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    rows = [f for f in json.loads(out)["functions"] if f["function"] == "main.deepLeaf"]
    check(rows and rows[0]["stacks"], "no stack reported for main.deepLeaf")
    for st in rows[0]["stacks"]:
        got = [f["function"] for f in st["frames"] if f["function"] != "runtime.goexit"]
        check(got == want, "a stack of main.deepLeaf has %d frames, the runtime's %d; first "
              "difference (index, ours, runtime's): %s" % (len(got), len(want), next(
                  ((i, a, b) for i, (a, b) in enumerate(zip(got, want)) if a != b),
                  "none before the shorter one ends")))
    print("  %s: %d stacks of main.deepLeaf (%d samples), each the runtime's %d frames" % (
        version, len(rows[0]["stacks"]), sum(st["samples"] for st in rows[0]["stacks"]),
        len(want)))


def test_exact(version):
    """--exact sees every allocation: totals and per-function bytes and objects must agree
    with the runtime's own counts much more tightly than sampling can."""
    path = fixture(version, "stripped")
    fx, truth, rep, exit_ev = observe(path, ["--exact"])
    check(rep["mode"] == "exact", "mode %s" % rep["mode"])
    check(rep["lost_events"] == 0, "%d events lost" % rep["lost_events"])
    compare(fx, truth, rep, exact=True)
    pc = rep["probe_counters"]
    check(pc["alloc_events"] == 0 and pc["alloc_probe_hits"] >= truth["alloc_objects"] * 0.98,
          "--exact: %d events, %d probe hits for %d objects" % (
              pc["alloc_events"], pc["alloc_probe_hits"], truth["alloc_objects"]))
    tiny = sum(t["calls"] * fx.calib[n].get("tiny_objects_per_call", 0)
               for n, t in truth["functions"].items())
    # Each tiny object counts here, its block there: the runtime's count plus the tiny objects
    # bounds ours from above.
    lo, hi = truth["alloc_objects"] * 0.98, (truth["alloc_objects"] + tiny) * 1.02
    check(lo <= rep["alloc_objects"] <= hi,
          "objects %.0f outside the runtime's [%.0f, %.0f]" % (rep["alloc_objects"], lo, hi))
    check(exit_ev is not None and exit_ev["mem_profile_rate"] == fx.ready["mem_profile_rate"],
          "--exact changed MemProfileRate")


def newest_version():
    ok = [v for v, why in go_versions() if why is None]
    if not ok:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    return ok[-1]


def test_sigterm_restores_rate():
    fx, truth, rep, exit_ev = observe(fixture(newest_version(), "stripped"), sig=signal.SIGTERM)
    check(rep["sampler_enabled_by_heapscope"], "heapscope never enabled the sampler: nothing "
          "to restore, so this run proves nothing")
    check(exit_ev is not None and exit_ev["mem_profile_rate"] == 0,
          "MemProfileRate after SIGTERM: %s, want 0" % exit_ev)


def test_read_only():
    path = fixture(newest_version(), "stripped")
    fx = Fixture(path)
    try:
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json", "--read-only"])
        fx.go()
        fx.wait_done()
        rc, out, err = hs.stop()
        exit_ev, fx_rc = fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "exit %d: %s" % (rc, err))
    check("--read-only" in err and "no allocation samples" in err,
          "no warning saying what --read-only costs: %r" % err)
    rep = json.loads(out)
    check(rep["samples"] == 0 and not rep["sampler_enabled_by_heapscope"],
          "read-only run still sampled: %d samples" % rep["samples"])
    check(exit_ev["mem_profile_rate"] == 0, "read-only run changed MemProfileRate")


def test_target_exits_during_window():
    path = fixture(newest_version(), "stripped")
    fx = Fixture(path, duration=1)
    try:
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "120", "--format", "json"])
        fx.go()
        fx.proc.stdin.close()  # after its 1 s workload the fixture sees EOF and exits
        rc, out, err = hs.stop(sig=None, timeout=60)
    finally:
        fx.kill()
    check(rc == 1, "exit %d, want 1" % rc)
    check("exited" in err, "stderr does not say the target exited: %r" % err)
    rep = json.loads(out)
    check(rep["target_exited"] is True, "target_exited not set")
    check(rep["samples"] > 0, "nothing collected before the exit")


def test_loss_is_reported():
    """A ring buffer of 4 KiB and a sample per allocation: events must be lost, and stat's text,
    its JSON and top's header must all say so."""
    path = fixture(newest_version(), "stripped")
    outs = {}
    for fmt in ("text", "json"):
        fx = Fixture(path, duration=1)
        try:
            hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", fmt,
                            "--sample-bytes", "1", "--ring-buffer-kb", "4"])
            fx.go()
            fx.wait_done()
            rc, out, err = hs.stop()
            fx.finish()
        finally:
            fx.kill()
        check(rc == 0, "stat exited %d: %s" % (rc, err))
        check("events were lost" in err, "no warning about lost events: %r" % err)
        outs[fmt] = out
    m = re.search(r"(\d+) lost events", outs["text"])
    check(m and int(m.group(1)) > 0, "text report shows no lost events: %r" % outs["text"][:400])
    check(json.loads(outs["json"])["lost_events"] > 0, "JSON lost_events is 0")
    fx = Fixture(path, duration=2)
    try:
        fx.go()
        rc, out, err = run_heapscope(["top", "-p", str(fx.pid), "-b", "-n", "2", "-d", "0.5",
                                      "--sample-bytes", "1", "--ring-buffer-kb", "4"])
    finally:
        fx.kill()
    m = re.findall(r"lost events (\d+)", out)
    check(rc == 0 and m and int(m[-1]) > 0, "top shows no lost events: rc %d %r" % (
        rc, out[-600:]))


def test_errors():
    cases = []
    # A valid number, above any pid_max: no such process.
    rc, out, err = run_heapscope(["stat", "-p", "999999999"])
    cases.append((rc == 1 and "no process with PID" in err, "huge pid: rc %d %r" % (rc, err)))
    # Not a number at all: a usage error.
    rc, out, err = run_heapscope(["stat", "-p", "12abc"])
    cases.append((rc == 2 and "invalid PID" in err, "bad pid: rc %d %r" % (rc, err)))
    # A PID that does not exist: the highest possible one is never in use here.
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    rc, out, err = run_heapscope(["stat", "-p", str(pid_max)])
    cases.append((rc == 1 and "no process with PID" in err and err.count("\n") == 1,
                  "missing pid: rc %d %r" % (rc, err)))
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        rc, out, err = run_heapscope(["stat", "-p", str(sleeper.pid)])
    finally:
        sleeper.kill()
        sleeper.wait()
    cases.append((rc == 1 and "not a Go program" in err and err.count("\n") == 1,
                  "non-Go target: rc %d %r" % (rc, err)))
    # Not root: one line saying so, before anything else is tried.
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        HEAPSCOPE, "stat", "-p", str(os.getpid())], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    cases.append((p.returncode == 1 and "needs root" in p.stderr and p.stderr.count("\n") == 1,
                  "as nobody: rc %d %r" % (p.returncode, p.stderr)))
    for args, what in ((["stat"], "needs -p"), (["bogus", "-p", "1"], "unknown command"),
                       (["stat", "-p", "1", "-d", "x"], "invalid duration"),
                       (["stat", "-p", "1", "--format", "xml"], "invalid format"),
                       (["record", "-p", "1", "-o", "/dev/null", "--folded", "--sample-index",
                         "inuse_bytes"], "unknown --sample-index")):
        rc, out, err = run_heapscope(args)
        cases.append((rc == 2 and what in err, "%s: rc %d %r" % (args, rc, err)))
    bad = [msg for ok, msg in cases if not ok]
    check(not bad, "; ".join(bad))


def main():
    cases = []
    for version, why in go_versions():
        for variant in VARIANTS:
            name = "stat_accuracy_%s_%s" % (version, variant)
            if why:
                skip(name, why)
                continue
            cases.append((name, test_accuracy, version, variant))
    run_parallel(cases)
    if not go_versions():
        skip("stat_accuracy", "no Go fixtures built (scripts/build-fixtures.sh)")
    built = [v for v, why in go_versions() if why is None]
    for version in sorted(set(built[:1] + built[-1:])):
        run_test("stat_exact_%s" % version, test_exact, version)
        run_test("stat_deep_stacks_%s" % version, test_deep_stacks, version)
    run_test("stat_sigterm_restores_rate", test_sigterm_restores_rate)
    run_test("stat_read_only", test_read_only)
    run_test("stat_target_exits_during_window", test_target_exits_during_window)
    run_test("stat_loss_is_reported", test_loss_is_reported)
    run_test("stat_errors", test_errors)
    done()


if __name__ == "__main__":
    main()
