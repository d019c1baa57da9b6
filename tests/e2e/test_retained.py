"""heapscope's retained memory against the Go runtime's own heap profile of the same program.

The goretain fixture holds a known number of bytes through main.retainCache (a cache filled
once), a steady ring through main.ringStep, next to nothing through main.churnTemp (pure churn)
and a growing list through main.leakNode (a leak at a known rate). After its workload it runs a
GC, reports what it holds, and on request reads its own runtime.MemProfile and writes its own
pprof.WriteHeapProfile: the same samples heapscope read from outside a moment before.

  - stat: in-use bytes per function within 10 % of the fixture's runtime.MemProfile and within
    the sampling error of the bytes it knows it holds (harness.within: 5 sigma of that run's own
    error plus the stated floors, and one sample per P for the samples the runtime forces when
    heapscope switches its sampler on); only main.leakNode is a leak suspect, as a function and
    as a site, with its growth rate within the sampling error of the true rate;
  - record: `go tool pprof -top` of the recorded file lists the fixture's functions in the order
    of the fixture's own profile for inuse_space and alloc_space, each within 10 % of it;
    -list and -raw work; --folded sums to the same totals.

Every Go version on a stripped build, every variant on the newest, and a target whose own
memory profiling is on (nothing switched on by heapscope, the profile covers its whole life).
"""
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (FIXTURES, Fail, Heapscope, LineReader, Skip, check, done, go_versions,
                     Workload, run_test, sampling_sigma, skip, wait_json_event, within)

FUNCS = ["main.retainCache", "main.ringStep", "main.churnTemp", "main.leakNode"]
HELD = ["main.retainCache", "main.ringStep", "main.leakNode"]
# Samples every 8 KiB: tighter estimates than the default (about 3 % for the cache), at a few
# thousand samples a second for this workload.
SAMPLE_BYTES = 8192
GO = "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else "go"
# The same samples on both sides: only rounding and a flush caught mid-read can differ.
SAME_SAMPLES_REL = 0.10


def fixture_path(version, variant):
    return os.path.join(FIXTURES, version, "goretain-" + variant)


class GoRetain(Workload):
    """The goretain workload, paused until go()."""

    def __init__(self, path, duration, args=()):
        if not os.path.exists(path):
            raise Skip("fixture %s not built (make fixtures)" % path)
        self.proc = subprocess.Popen([path, "-duration", str(duration)] + list(args),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.out = LineReader(self.proc.stdout)
        self.ready = wait_json_event(self.out, "ready", time.monotonic() + 60)
        self.pid = self.proc.pid

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def profile(self, rate, path="-"):
        """The fixture's runtime.MemProfile (and pprof.WriteHeapProfile into path) now."""
        self.send("profile %d %s" % (rate, path))
        return wait_json_event(self.out, "profile", time.monotonic() + 60)


def observe(path, hs_args, duration, fx_args=(), profile_path="-"):
    """Run the workload under heapscope, stop heapscope once the fixture is done, then read
    the fixture's own profile. Returns (fixture, done event, heapscope output, profile event)."""
    fx = GoRetain(path, duration, fx_args)
    try:
        hs = Heapscope(hs_args(fx.pid))
        fx.send("go")
        truth = fx.wait_done()
        rc, out, err = hs.stop(signal.SIGINT)
        check(rc == 0, "heapscope exited %d: %s" % (rc, err.strip()))
        prof = fx.profile(truth["mem_profile_rate"], profile_path)
        exit_ev, fx_rc = fx.finish()
    finally:
        fx.kill()
    check(fx_rc == 0, "the target exited %d after being observed" % fx_rc)
    check(exit_ev is not None and exit_ev["mem_profile_rate"] == fx.ready["mem_profile_rate"],
          "MemProfileRate not restored: %s, was %d" % (exit_ev, fx.ready["mem_profile_rate"]))
    return fx, truth, out, err, prof


def weight(size, rate):
    return 1 / -math.expm1(-size / rate) if rate > 1 else 1.0


def memprofile_inuse(prof, rate):
    """In-use bytes per site function from the fixture's runtime.MemProfile records,
    unsampled at rate as pprof does."""
    out = {}
    for r in prof["records"]:
        if r["size"] > 0:
            live = r["alloc_objects"] - r["free_objects"]
            out[r["function"]] = out.get(r["function"], 0) + live * r["size"] * weight(
                r["size"], rate)
    return out


def check_stat(fx, truth, rep, prof, leak_sigma_floor=0.0):
    rate = rep["sample_bytes"]
    funcs = {f["function"]: f for f in rep["functions"]}
    mp = memprofile_inuse(prof, rate)
    errors, lines = [], []
    check(rep["inuse_bytes"] is not None and rep["inuse_readings"] >= 2,
          "no in-use figures: %s readings" % rep["inuse_readings"])
    check(rep["inuse_since_attach"] == (fx.ready["mem_profile_rate"] == 0),
          "inuse_since_attach %s with the target's rate %d" % (
              rep["inuse_since_attach"], fx.ready["mem_profile_rate"]))
    # the runtime samples the first allocation on each P whatever its size when heapscope
    # switches the rate on: each such object, if it is still live, adds about rate bytes
    forced = rep["rate_change_samples_dropped"]
    for name in FUNCS:
        f = funcs.get(name)
        t = truth["functions"][name]
        if f is None:
            errors.append("%s missing" % name)
            continue
        got, want = f["inuse_bytes"], mp.get(name, 0.0)
        one = t["size"] * weight(t["size"], rate)
        if abs(got - want) > SAME_SAMPLES_REL * want + one:
            errors.append("%s in-use %.0f vs runtime.MemProfile %.0f" % (name, got, want))
        line = "%s %.0f (MemProfile %.0f" % (name, got, want)
        if name in HELD:
            sigma = sampling_sigma({str(t["size"]): t["inuse_objects"]}, 1, rate)[0]
            ok, tol, z = within(got, t["inuse_bytes"], sigma,
                                floor_abs=forced * (rate + t["size"]))
            line += ", holds %d, z=%+.1f" % (t["inuse_bytes"], z)
            if not ok:
                errors.append("%s in-use %.0f vs %d held (%+.1f%%, z=%+.1f, tolerance %.0f)" % (
                    name, got, t["inuse_bytes"], 100 * (got / t["inuse_bytes"] - 1), z, tol))
        lines.append(line + ")")
    # only the leak is a suspect: as a function, as a site, and nothing else in the process
    for f in rep["functions"]:
        want = f["function"] == "main.leakNode"
        if f["leak_suspect"] != want:
            errors.append("%s leak_suspect %s (growth %.0f B/s)" % (
                f["function"], f["leak_suspect"], f["inuse_growth_bytes_per_s"] or 0))
        for s in f["sites"]:
            if s["leak_suspect"] and not want:
                errors.append("site %s:%d of %s is a leak suspect" % (
                    s["file"], s["line"], f["function"]))
    leak = funcs.get("main.leakNode")
    if leak:
        if not any(s["leak_suspect"] for s in leak["sites"]):
            errors.append("no site of main.leakNode is a leak suspect")
        # the rate's error: the leaked objects over the trend, each sampled with p; least
        # squares over a counting process has sqrt(6/5) the error of its end points
        span = rep["inuse_trend_s"]
        n = truth["leak_bytes_per_s"] / 128 * span
        sd = sampling_sigma({"128": n}, 1, rate)[0] / span * math.sqrt(1.2) if span > 0 else 0
        ok, tol, z = within(leak["inuse_growth_bytes_per_s"], truth["leak_bytes_per_s"], sd,
                            floor_abs=leak_sigma_floor)
        lines.append("leak %.0f B/s vs %.0f (z=%+.1f) over %.1f s, %d readings" % (
            leak["inuse_growth_bytes_per_s"], truth["leak_bytes_per_s"], z, span,
            rep["inuse_readings"]))
        if not ok:
            errors.append("leak growth %.0f B/s vs %.0f (z=%+.1f, tolerance %.0f)" % (
                leak["inuse_growth_bytes_per_s"], truth["leak_bytes_per_s"], z, tol))
    check(not errors, "; ".join(errors))
    return lines


def test_inuse(version, variant, own_rate=False):
    path = fixture_path(version, variant)
    fx_args = ["-own-rate", "-leak-bytes-per-s", str(8 << 20)] if own_rate else []

    def args(pid):
        return ["stat", "-p", str(pid), "-d", "600", "--format", "json", "--sample-bytes",
                str(SAMPLE_BYTES)]

    fx, truth, out, err, prof = observe(path, args, 10, fx_args)
    try:
        rep = json.loads(out)
    except ValueError:
        raise Fail("stat output is not JSON: %r" % out[:200])
    lines = check_stat(fx, truth, rep, prof)
    print("  %s %s%s at rate %d: %s" % (version, variant, " (own rate)" if own_rate else "",
                                        rep["sample_bytes"], "; ".join(lines)))


PPROF_ROW = re.compile(r"^\s*(-?\d+)B\s+\S+\s+\S+\s+(-?\d+)B\s+\S+\s+(\S.*)$")


def pprof_top(path, index):
    """{function: flat bytes} and the order of `go tool pprof -top` for one sample type."""
    p = subprocess.run([GO, "tool", "pprof", "-top", "-nodefraction=0", "-unit=B",
                        "-sample_index=" + index, path], capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 0, "go tool pprof -top %s failed: %s" % (path, p.stderr.strip()))
    flat, order = {}, []
    for line in p.stdout.splitlines():
        m = PPROF_ROW.match(line)
        if m and int(m.group(1)) > 0:
            flat[m.group(3).strip()] = int(m.group(1))
            order.append(m.group(3).strip())
    return flat, order


def compare_top(ours, theirs, index):
    (f1, o1), (f2, o2) = pprof_top(ours, index), pprof_top(theirs, index)
    mine = [n for n in o1 if n in FUNCS]
    want = [n for n in o2 if n in FUNCS]
    check(mine == want, "%s order %s, the fixture's own profile %s" % (index, mine, want))
    for n in want:
        check(abs(f1[n] - f2[n]) <= SAME_SAMPLES_REL * f2[n],
              "%s %s %d vs the fixture's %d" % (index, n, f1[n], f2[n]))
    return ", ".join("%s %d/%d" % (n.split(".")[1], f1[n], f2[n]) for n in want)


def tool(args):
    p = subprocess.run([GO, "tool", "pprof"] + args, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "go tool pprof %s failed: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def need_pprof():
    try:
        ok = subprocess.run([GO, "tool", "pprof", "-h"], capture_output=True).returncode == 0
    except OSError:
        ok = False
    if not ok:
        raise Skip("no `go tool pprof` (%s) to read the profiles with" % GO)


def test_record(version, variant):
    need_pprof()
    path = fixture_path(version, variant)
    with tempfile.TemporaryDirectory() as d:
        ours, theirs = os.path.join(d, "heapscope.pb.gz"), os.path.join(d, "go.pb.gz")

        def args(pid):
            return ["record", "-p", str(pid), "-d", "600", "-o", ours, "--sample-bytes",
                    str(SAMPLE_BYTES)]

        fx, truth, out, err, prof = observe(path, args, 5, profile_path=theirs)
        check(os.path.exists(ours), "no profile written: %s" % err.strip())
        check("wrote " + ours in err, "no progress line about the file: %r" % err)
        check(not [f for f in os.listdir(d) if f not in ("heapscope.pb.gz", "go.pb.gz")],
              "temporary files left: %s" % os.listdir(d))
        inuse = compare_top(ours, theirs, "inuse_space")
        alloc = compare_top(ours, theirs, "alloc_space")
        # -list: the leak's allocation line, with its source, from the file alone
        out = tool(["-list", "^main.leakNode$", "-sample_index=inuse_space", ours])
        check("ROUTINE" in out and re.search(r"\d.*leakHead = &leak\{next: leakHead\}", out),
              "-list main.leakNode shows no allocation line:\n%s" % out)
        raw = tool(["-raw", ours])
        rate = truth["mem_profile_rate"]
        for want in ("PeriodType: space bytes", "Period: %d" % rate,
                     "alloc_objects/count alloc_space/bytes inuse_objects/count "
                     "inuse_space/bytes", path):
            check(want in raw, "-raw lacks %r:\n%s" % (want, raw[:2000]))
        # the mapping names the binary and its build ID
        m = re.search(r"^1: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (\S+) (\S+)", raw, re.M)
        check(m and m.group(1) == path and len(m.group(2)) >= 20,
              "mapping without the binary and its build ID: %s" % (m and m.group(0)))
        # inlined frames are lines of one location (main.main's inlined calls, if any,
        # would show as "name file:line" repeated on one location); the leak's stack is
        # leakNode <- paced <- main.main.funcN, symbolized with files and lines
        check(re.search(r"main\.leakNode \S*goretain/main\.go:\d+", raw),
              "no file:line for main.leakNode in -raw")
    print("  %s %s: inuse_space %s; alloc_space %s" % (version, variant, inuse, alloc))


def test_folded(version, variant):
    need_pprof()
    path = fixture_path(version, variant)
    with tempfile.TemporaryDirectory() as d:
        ours, theirs = os.path.join(d, "folded.txt"), os.path.join(d, "go.pb.gz")
        sums = {}

        for index in ("inuse_space", "alloc_space"):
            def args(pid):
                return ["record", "-p", str(pid), "-d", "600", "-o", ours, "--folded",
                        "--sample-index", index, "--sample-bytes", str(SAMPLE_BYTES)]

            observe(path, args, 3, profile_path=theirs)
            total, per = 0, {}
            for line in open(ours):
                stack, _, value = line.rstrip("\n").rpartition(" ")
                check(stack and value.isdigit(), "not a folded line: %r" % line)
                total += int(value)
                leaf = stack.split(";")[-1]
                per[leaf] = per.get(leaf, 0) + int(value)
            flat, _ = pprof_top(theirs, index)
            go_total = int(re.search(r"of (\d+)B total", tool(
                ["-top", "-unit=B", "-sample_index=" + index, theirs])).group(1))
            check(abs(total - go_total) <= SAME_SAMPLES_REL * go_total,
                  "%s: folded stacks sum to %d, the fixture's own profile %d" % (
                      index, total, go_total))
            for n in FUNCS:
                if flat.get(n):
                    check(abs(per.get(n, 0) - flat[n]) <= SAME_SAMPLES_REL * flat[n],
                          "%s: %s %d in folded stacks, %d in the fixture's profile" % (
                              index, n, per.get(n, 0), flat[n]))
            sums[index] = "%d/%d" % (total, go_total)
    print("  %s %s: folded totals %s" % (version, variant, sums))


def http_get(url):
    """(status, body bytes) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_serve_pprof(version, variant):
    """serve's /debug/pprof/heap and /allocs against the fixture's own WriteHeapProfile of the
    same moment, fetched by go tool pprof itself over HTTP, and its refusals."""
    need_pprof()
    path = fixture_path(version, variant)
    with tempfile.TemporaryDirectory() as d:
        ours = {k: os.path.join(d, k + ".pb.gz") for k in ("heap", "allocs")}
        theirs = os.path.join(d, "go.pb.gz")
        fx = GoRetain(path, 5)
        try:
            hs = Heapscope(["serve", "-p", str(fx.pid), "--listen", "127.0.0.1:0",
                            "--sample-bytes", str(SAMPLE_BYTES)])
            line = hs.err.readline(time.monotonic() + 30, "the serving line")
            m = re.search(r"\(port (\d+)\)", line)
            check(m, "no port in %r" % line)
            base = "http://127.0.0.1:%s/debug/pprof/" % m.group(1)
            fx.send("go")
            truth = fx.wait_done()
            for k in ours:
                # go tool pprof fetches and saves the profile as it would from net/http/pprof
                env = dict(os.environ, PPROF_TMPDIR=d)
                p = subprocess.run([GO, "tool", "pprof", "-proto", "-output", ours[k],
                                    base + "%s?pid=%d" % (k, fx.pid)], capture_output=True,
                                   text=True, timeout=120, env=env)
                check(p.returncode == 0 and os.path.exists(ours[k]),
                      "go tool pprof %s failed: %s" % (k, p.stderr.strip()))
            refusals = [(base + "heap?pid=1", 404), (base + "heap?pid=x", 400),
                        (base + "allocs?seconds=5", 400), (base + "heap?debug=1", 400)]
            got = [(u, http_get(u)[0]) for u, _ in refusals]
            status, body = http_get(base + "heap")  # one target: the pid may be left out
            rc, _, err = hs.stop(signal.SIGINT)
            fx.profile(truth["mem_profile_rate"], theirs)
            _, fx_rc = fx.finish()
        finally:
            fx.kill()
        check(rc == 0, "serve exited %d: %s" % (rc, err.strip()))
        check(fx_rc == 0, "the target exited %d after being observed" % fx_rc)
        bad = ["%s: %d, want %d" % (u, g[1], w) for (u, w), g in zip(refusals, got) if g[1] != w]
        check(not bad, "; ".join(bad))
        check(status == 200 and body[:2] == b"\x1f\x8b", "heap without ?pid: %d %r" % (
            status, body[:80]))
        inuse = compare_top(ours["heap"], theirs, "inuse_space")
        alloc = compare_top(ours["allocs"], theirs, "alloc_space")
    print("  %s %s: inuse_space %s; alloc_space %s" % (version, variant, inuse, alloc))


def main():
    versions = go_versions()
    ok = [v for v, why in versions if why is None]
    for v, why in versions:
        if why:
            skip("test_inuse/%s" % v, why)
            skip("test_record/%s" % v, why)
    newest = ok[-1] if ok else None
    for v in ok:
        variants = ["stripped", "plain", "pie", "cgo"] if v == newest else ["stripped"]
        for var in variants:
            run_test("test_inuse/%s_%s" % (v, var), test_inuse, v, var)
            run_test("test_record/%s_%s" % (v, var), test_record, v, var)
    if newest:
        run_test("test_inuse_own_rate/%s_stripped" % newest, test_inuse, newest, "stripped",
                 True)
        run_test("test_folded/%s_stripped" % newest, test_folded, newest, "stripped")
        run_test("test_serve_pprof/%s_stripped" % newest, test_serve_pprof, newest, "stripped")
    else:
        skip("test_inuse", "no Go fixtures built (scripts/build-fixtures.sh)")
    done()


if __name__ == "__main__":
    main()
