"""heapscope serve: the exposition against promtool and a strict OpenMetrics parser, a real
Prometheus scraping it every second (rates queried back against the fixture's own counts over
the same window), targets found and dropped as they start and exit, several targets at once
(two of one binary, one of another Go version, a non-Go process and an unsupported Go one),
and an HTTP server that stays up under 200 connections, malformed requests and a slow client.
"""
import errno
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HEAPSCOPE, Fail, Fixture, LineReader, Skip, check, done, fixture,
                     go_versions, run_heapscope, run_test, sampling_sigma, wait_json_event,
                     within)

DEADLINE = 30


def built_versions():
    ok = [v for v, why in go_versions() if why is None]
    if not ok:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    return ok


class Serve:
    """A running `heapscope serve` on a port the kernel picked."""

    def __init__(self, args):
        self.proc = subprocess.Popen([HEAPSCOPE, "serve", "--listen", "127.0.0.1:0"] + args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.err = LineReader(self.proc.stderr)
        self.lines = []
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                line = self.err.readline(deadline, "serve to listen")
            except Fail:
                self.stop()
                raise Fail("serve did not start: %s" % "".join(self.lines).strip())
            self.lines.append(line)
            m = re.search(r"\(port (\d+)\)", line)
            if m:
                self.port = int(m.group(1))
                return

    def get(self, path="/metrics", accept=None, timeout=10):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path))
        if accept:
            req.add_header("Accept", accept)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()

    def metrics(self):
        return parse_text(self.get()[2])

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.lines.append(self.err.rest(5))
        return rc


def parse_text(body):
    """{(name, frozenset(labels.items())): value} from exposition text 0.0.4."""
    out = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            raise Fail("unparsable exposition line %r" % line)
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def series(m, name, **labels):
    """Values of `name` whose labels include `labels`, as {frozenset: value}."""
    want = set((k, str(v)) for k, v in labels.items())
    return {ls: v for (n, ls), v in m.items() if n == name and want <= set(ls)}


def value(m, name, **labels):
    vals = series(m, name, **labels)
    check(len(vals) == 1, "%s%s: %d series, want 1" % (name, labels, len(vals)))
    return next(iter(vals.values()))


def poll(pred, what, timeout=DEADLINE, every=0.2):
    """pred() until true (its value) or the deadline (a failure)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(every)


def check_functions(fx, truth, m0, m1, pid, rate):
    """Each fixture function's serve counter over the workload (m1 - m0: serve may have
    attached during the fixture's calibration, which allocates too) against calls x
    calibration, within 5 sigma of this run's sampling error (harness.py)."""
    errors = []
    for name, t in truth["functions"].items():
        cal = fx.calib[name]
        got = sum(series(m1, "heapscope_function_alloc_bytes_total", pid=pid,
                         function=name).values()) - \
            sum(series(m0, "heapscope_function_alloc_bytes_total", pid=pid,
                       function=name).values())
        sb, _ = sampling_sigma(cal["slots_per_call"], t["calls"], rate)
        sb = math.hypot(sb, t["calls"] * cal["bytes_per_call_se"])
        ok, tol, z = within(got, t["bytes"], sb)
        if not ok:
            errors.append("%s %.0f vs %.0f (z=%+.1f)" % (name, got, t["bytes"], z))
    check(not errors, "PID %d (%s, rate %d): %s" % (pid, fx.ready.get("go_version"), rate,
                                                  "; ".join(errors)))


def test_exposition_lints():
    version = built_versions()[-1]
    fx = Fixture(fixture(version, "stripped"), duration=2)
    sv = None
    try:
        sv = Serve(["-p", str(fx.pid)])
        fx.go()
        fx.wait_done()
        status, ctype, text = sv.get()
        check(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
              "text: %s %s" % (status, ctype))
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 0, "promtool check metrics: %s" % (p.stdout + p.stderr))
        status, ctype, om = sv.get(accept="application/openmetrics-text;version=1.0.0,"
                                   "text/plain;version=0.0.4;q=0.5")
        check(ctype.startswith("application/openmetrics-text; version=1.0.0"),
              "OpenMetrics not negotiated: %s" % ctype)
        check(om.endswith("# EOF\n"), "OpenMetrics body lacks # EOF")
        py = ("import sys\nfrom prometheus_client.openmetrics import parser\n"
              "print(sum(len(f.samples) for f in "
              "parser.text_string_to_metric_families(sys.stdin.read())))\n")
        p = subprocess.run(["/usr/bin/python3", "-c", py], input=om, capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 0 and int(p.stdout) > 20,
              "OpenMetrics parser: %s" % (p.stdout + p.stderr))
        status, _, _ = sv.get("/")
        check(status == 200, "index page %d" % status)
        try:
            sv.get("/nope")
            raise Fail("/nope answered")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "/nope: %d, want 404" % e.code)
    finally:
        rc = sv.stop() if sv else 0
        fx.finish()
        fx.kill()
    check(rc == 0, "serve exited %d: %s" % (rc, "".join(sv.lines)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Prometheus:
    """Debian's Prometheus on loopback, scraping one target every second."""

    def __init__(self, target_port):
        if not shutil.which("prometheus"):
            raise Skip("prometheus not installed (scripts/install-deps.sh)")
        self.dir = tempfile.mkdtemp(prefix="heapscope-prom-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: heapscope\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" +
             os.path.join(self.dir, "data"), "--web.listen-address=127.0.0.1:%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "log"), "wb"))
        poll(lambda: self.query_ok("up") == 1.0, "Prometheus to scrape heapscope")

    def query(self, q, at=None):
        args = {"query": q}
        if at is not None:
            args["time"] = "%.3f" % at
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port, urllib.parse.urlencode(args))
        with urllib.request.urlopen(url, timeout=10) as r:
            data = json.loads(r.read())
        check(data["status"] == "success", "query %s: %s" % (q, data))
        return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]

    def query_ok(self, q):
        try:
            res = self.query(q)
            return res[0][1] if res else None
        except (OSError, Fail):
            return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def truth_rate(ticks, name, t_end, window):
    """Bytes/s of function name over [t_end - window, t_end] from the fixture's ticks, and the
    calls in it, interpolating between ticks."""
    def calls_at(t):
        for a, b in zip(ticks, ticks[1:]):
            if a["unix_ns"] <= t <= b["unix_ns"]:
                f = (t - a["unix_ns"]) / (b["unix_ns"] - a["unix_ns"])
                return a["calls"][name] + f * (b["calls"][name] - a["calls"][name])
        raise Fail("no ticks around %.3f" % (t / 1e9))
    n = calls_at(t_end * 1e9) - calls_at((t_end - window) * 1e9)
    return n / window, n


def test_prometheus_rates():
    version = built_versions()[-1]
    fx = Fixture(fixture(version, "stripped"), duration=34, args=["-ticks", "250ms"])
    sv = prom = None
    try:
        sv = Serve(["-p", str(fx.pid)])
        prom = Prometheus(sv.port)
        fx.go()
        started = fx.wait_started()
        ticks = []
        while True:
            ev = json.loads(fx.out.readline(time.monotonic() + 60, "fixture ticks"))
            if ev["event"] == "tick":
                ticks.append(ev)
            elif ev["event"] == "done":
                truth = ev
                break
        # A 20 s window well inside the workload, with every scrape in it done: long enough
        # that heapscope's own scheduling delays at its two ends (a loaded machine) are a
        # small part of it.
        t_end = ticks[-1]["unix_ns"] / 1e9 - 2
        # Prometheus stamps scrapes with this machine's clock: wait for the window's last.
        poll(lambda: time.time() > t_end + 2.5, "the window's last scrapes")
        rate = value(sv.metrics(), "heapscope_sample_rate_bytes", pid=fx.pid)
        errors = []
        # Functions whose 10 s estimate is tight enough for the +-15 % the check promises
        # (their samples are many; allocSmall's 32-byte objects would need a longer window).
        for name in ("main.makeSlice", "main.largeBuffer"):
            res = prom.query('sum(rate(heapscope_function_alloc_bytes_total{function="%s",'
                             'pid="%d"}[20s]))' % (name, fx.pid), at=t_end)
            check(res, "no rate for %s" % name)
            got = res[0][1]
            want, calls = truth_rate(ticks, name, t_end, 20)
            cal = fx.calib[name]
            # Prometheus's rate() uses the samples inside the window and extrapolates to its
            # edges: with 1 s scrapes, about 20 of them: the floor covers that alignment.
            sb, _ = sampling_sigma(cal["slots_per_call"], calls, rate)
            ok, tol, z = within(got * 20, want * cal["bytes_per_call"] * 20, sb,
                                floor_rel=0.05)
            if not ok or tol > 0.15 * want * cal["bytes_per_call"] * 20:
                errors.append("%s %.3g B/s vs %.3g (z=%+.1f, tolerance %.1f%%)" % (
                    name, got, want * cal["bytes_per_call"], z,
                    100 * tol / (want * cal["bytes_per_call"] * 20)))
        cyc = prom.query('rate(heapscope_gc_cycles_total{pid="%d"}[20s])' % fx.pid, at=t_end)
        check(cyc, "no GC cycle rate")

        def gc_at(t):
            prev = None
            for tk in ticks:
                if tk["unix_ns"] >= t * 1e9:
                    if prev is None:
                        return tk["gc_cycles"]
                    f = (t * 1e9 - prev["unix_ns"]) / (tk["unix_ns"] - prev["unix_ns"])
                    return prev["gc_cycles"] + f * (tk["gc_cycles"] - prev["gc_cycles"])
                prev = tk
            raise Fail("no ticks at %.3f" % t)
        want = (gc_at(t_end) - gc_at(t_end - 20)) / 20
        if abs(cyc[0][1] - want) > 0.05 * want:
            errors.append("GC cycles %.1f/s vs the runtime's %.1f/s" % (cyc[0][1], want))
        check(not errors, "; ".join(errors))
        print("  rates over [20s] match the fixture; GC %.1f cycles/s" % want)
    finally:
        if prom:
            prom.stop()
        rc = sv.stop() if sv else 0
        fx.finish()
        fx.kill()
    check(rc == 0, "serve exited %d" % rc)


def patched_unsupported(src):
    """A copy of a Go binary whose build info is in the pre-1.18 pointer format (flags bit 1
    cleared): it runs, since the runtime never reads its build info, and heapscope must list
    it as unsupported (Go older than 1.18) with the reason."""
    data = bytearray(open(src, "rb").read())
    i = data.find(b"\xff Go buildinf:")
    check(i >= 0 and data[i + 15] & 2, "no inline-format build info in %s" % src)
    data[i + 15] &= ~2
    fd, path = tempfile.mkstemp(prefix="goalloc-old-")
    os.write(fd, data)
    os.close(fd)
    os.chmod(path, 0o755)
    return path


def test_all_lifecycle_and_mixed():
    versions = built_versions()
    a, b = versions[-1], versions[0]
    sv = sleeper = old = None
    fxs = []
    old_path = None
    try:
        sv = Serve(["--all"])
        sleeper = subprocess.Popen(["sleep", "600"])
        old_path = patched_unsupported(fixture(a, "stripped"))
        old = Fixture(old_path, duration=1)
        t0 = time.monotonic()
        fxs = [Fixture(fixture(a, "stripped"), duration=4),
               Fixture(fixture(a, "stripped"), duration=4),
               Fixture(fixture(b, "pie"), duration=4)]
        started = {fx.pid: time.monotonic() for fx in fxs}
        for fx in fxs:
            poll(lambda: series(sv.metrics(), "heapscope_target_info", pid=fx.pid,
                                state="attached"), "PID %d to be attached" % fx.pid, timeout=15)
        slowest = time.monotonic() - t0
        m = sv.metrics()
        info = series(m, "heapscope_target_info", pid=old.pid)
        check(info and dict(next(iter(info))).get("state") == "unsupported" and
              "1.18" in dict(next(iter(info))).get("reason", ""),
              "patched go1.16 binary not listed as unsupported with its reason: %s" % info)
        check(not series(m, "heapscope_target_info", pid=sleeper.pid),
              "the non-Go process is listed")
        # Counters from each workload's start to its end: serve may have attached during the
        # fixture's calibration, which allocates too.
        before, truths, after = {}, {}, {}
        for fx in fxs:
            fx.go()
            fx.wait_started()
            before[fx.pid] = sv.metrics()
        for fx in fxs:
            truths[fx.pid] = fx.wait_done()
            after[fx.pid] = sv.metrics()
        for fx in fxs:
            rate = value(after[fx.pid], "heapscope_sample_rate_bytes", pid=fx.pid)
            check_functions(fx, truths[fx.pid], before[fx.pid], after[fx.pid], fx.pid, rate)
        # Exits: each dropped within 5 s.
        for fx in fxs:
            fx.finish()
            gone = time.monotonic()
            poll(lambda: not series(sv.metrics(), "heapscope_target_info", pid=fx.pid),
                 "PID %d to be dropped after its exit" % fx.pid, timeout=5)
            check(time.monotonic() - gone <= 5, "dropped %.1f s after exit" %
                  (time.monotonic() - gone))
        # A new process after serve started: within 5 s of its start.
        late = Fixture(fixture(a, "stripped"), duration=1)
        fxs.append(late)
        born = time.monotonic()
        poll(lambda: series(sv.metrics(), "heapscope_target_info", pid=late.pid,
                            state="attached"), "the late PID to be attached", timeout=10)
        took = time.monotonic() - born
        check(took <= 5, "attached %.1f s after it started, want <= 5" % took)
        print("  3 targets + 1 unsupported + 1 non-Go; late target attached after %.1f s" % took)
    finally:
        for fx in fxs + ([old] if old else []):
            fx.kill()
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        if old_path:
            os.unlink(old_path)
        rc = sv.stop() if sv else 0
    check(rc == 0, "serve exited %d: %s" % (rc, "".join(sv.lines)))


def test_http_robustness():
    version = built_versions()[-1]
    fx = Fixture(fixture(version, "stripped"), duration=1)
    sv = None
    socks = []
    try:
        sv = Serve(["-p", str(fx.pid)])
        # A slow client that sends half a request and stalls.
        slow = socket.create_connection(("127.0.0.1", sv.port), timeout=5)
        slow.sendall(b"GET /metr")
        # Malformed requests: each answered with an error or closed, never hanging us.
        for junk in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"\x00\x01\x02\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", sv.port), timeout=15)
            try:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                s.recv(4096)
            except socket.timeout:
                raise Fail("no answer to %r within 15 s" % junk[:20])
            except OSError as e:
                # Closing on a request it will not read can reset the connection while the
                # rest of the junk is still in flight: "closed", which is an accepted answer.
                if e.errno not in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                    raise
            s.close()
        # 200 concurrent scrapes: each answered 200 or refused, all within the deadline.
        results = []

        def scrape():
            try:
                results.append(sv.get(timeout=30)[0])
            except Exception as e:
                results.append(repr(e))
        threads = [threading.Thread(target=scrape) for _ in range(200)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.monotonic() - t0
        ok = results.count(200)
        check(len(results) == 200 and ok >= 150,
              "200 concurrent scrapes: %d answered 200 in %.1f s; others: %s" % (
                  ok, took, set(r for r in results if r != 200)))
        # And it still works afterwards, slow client or not.
        status, _, text = sv.get()
        check(status == 200 and "heapscope_up 1" in text, "scrape after the storm failed")
        slow.close()
        print("  200 concurrent scrapes: %d OK in %.1f s" % (ok, took))
    finally:
        for s in socks:
            s.close()
        rc = sv.stop() if sv else 0
        fx.finish()
        fx.kill()
    check(rc == 0, "serve exited %d" % rc)


def test_usage():
    cases = []
    for args, rc_want, what in ((["serve"], 2, "needs -p PID or --all"),
                                (["serve", "--all", "--listen", "nope"], 2, "invalid --listen"),
                                (["serve", "--all", "--exact"], 2, "not for serve"),
                                (["stat", "-p", "1", "--all"], 2, "options of serve")):
        rc, out, err = run_heapscope(args)
        cases.append((rc == rc_want and what in err and err.count("\n") == 1,
                      "%s: rc %d %r" % (args, rc, err)))
    # An address in use: one line, exit 1.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    rc, out, err = run_heapscope(["serve", "--all", "--listen",
                                  "127.0.0.1:%d" % s.getsockname()[1]], timeout=60)
    s.close()
    cases.append((rc == 1 and "in use" in err, "port in use: rc %d %r" % (rc, err)))
    bad = [msg for ok, msg in cases if not ok]
    check(not bad, "; ".join(bad))


def main():
    run_test("serve_exposition_lints", test_exposition_lints)
    run_test("serve_prometheus_rates", test_prometheus_rates)
    run_test("serve_all_lifecycle_and_mixed", test_all_lifecycle_and_mixed)
    run_test("serve_http_robustness", test_http_robustness)
    run_test("serve_usage", test_usage)
    done()


if __name__ == "__main__":
    main()
