"""Shared pieces of heapscope's end-to-end tests: result lines, requirements, fixtures.

Every test prints exactly one line, PASS/FAIL/SKIP <name>[: why], which scripts/run-tests.sh
counts. Waiting is always on an event (a line on a pipe, a process exit) with a deadline that
turns into a failure, never a sleep standing in for synchronization.
"""
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.environ.get("HEAPSCOPE_FIXTURES", os.path.join(TOP, ".output/fixtures"))
HEAPSCOPE = os.environ.get("HEAPSCOPE_BIN", os.path.join(TOP, ".output/heapscope"))

counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
_counts_lock = threading.Lock()


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def requirements():
    """Why privileged tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (BPF, uprobes, /proc/PID/mem)"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if not os.path.exists("/sys/bus/event_source/devices/uprobe"):
        return "kernel has no uprobe PMU"
    if not os.access(HEAPSCOPE, os.X_OK):
        return "heapscope not built (%s)" % HEAPSCOPE
    return None


# HEAPSCOPE_TEST_FILTER=REGEX runs only the tests whose name matches (a developer's shortcut;
# the others print nothing and are not counted).
FILTER = os.environ.get("HEAPSCOPE_TEST_FILTER")


def selected(name):
    import re
    return not FILTER or re.search(FILTER, name) is not None


def run_test(name, fn, *args):
    if not selected(name):
        return
    t0 = time.monotonic()
    try:
        why = requirements()
        if why:
            raise Skip(why)
        fn(*args)
        print("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
        with _counts_lock:
            counts["PASS"] += 1
    except Skip as e:
        print("SKIP %s: %s" % (name, e))
        with _counts_lock:
            counts["SKIP"] += 1
    except Fail as e:
        print("FAIL %s: %s" % (name, e))
        with _counts_lock:
            counts["FAIL"] += 1
    except Exception as e:
        # The exception first: a summary that keeps only FAIL lines still says what broke.
        print("FAIL %s: %s: %s\n  %s" % (name, type(e).__name__, e, traceback.format_exc().strip()
                                         .replace("\n", "\n  ")))
        with _counts_lock:
            counts["FAIL"] += 1
    sys.stdout.flush()


class _ThreadOut:
    """sys.stdout while tests run in parallel: each worker thread writes into its own buffer,
    printed whole when its test ends, so result lines never interleave."""

    def __init__(self, real):
        self.real = real
        self.local = threading.local()

    def write(self, text):
        buf = getattr(self.local, "buf", None)
        if buf is None:
            self.real.write(text)
        else:
            buf.append(text)

    def flush(self):
        if getattr(self.local, "buf", None) is None:
            self.real.flush()


def run_parallel(cases, jobs=None):
    """run_test each (name, fn, *args) with up to `jobs` at once (default: the CPUs). For
    tests whose targets and observers are independent processes: each compares a target
    with the runtime's own accounting of that same target, so sharing the CPUs changes how
    much work is done, not whether the figures agree (tolerances come from each run's own
    samples)."""
    jobs = jobs or os.cpu_count() or 2
    out = sys.stdout if isinstance(sys.stdout, _ThreadOut) else _ThreadOut(sys.stdout)
    sys.stdout = out
    lock = threading.Lock()
    todo = list(cases)

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                case = todo.pop(0)
            out.local.buf = []
            try:
                run_test(*case)
            finally:
                text = "".join(out.local.buf)
                out.local.buf = None
                with lock:
                    out.real.write(text)
                    out.real.flush()
    threads = [threading.Thread(target=worker) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.stdout = out.real


def skip(name, why):
    if not selected(name):
        return
    print("SKIP %s: %s" % (name, why))
    counts["SKIP"] += 1


def done():
    print("%d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    sys.exit(1 if counts["FAIL"] else 0)


def go_versions():
    """[(version, None)] for built fixture versions, [(version, reason)] for skipped ones."""
    path = os.path.join(FIXTURES, "versions.txt")
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        parts = line.strip().split(" ", 1)
        if len(parts) == 2:
            out.append((parts[0], None if parts[1] == "ok" else parts[1]))
    return out


# Statistical checks (issue 13): a sampled estimate is compared with the runtime's truth within
# SIGMAS standard deviations of its sampling error, computed for that very run, plus a stated
# floor for what sampling does not explain. 5 rather than 4: a full run makes about a thousand
# such comparisons, and the estimates of rarely sampled small objects are skewed (a Poisson
# count of a few samples, each standing for thousands of objects), so their upper tail is
# heavier than a normal one; at 5 sigma a false failure stays below one in a thousand runs.
SIGMAS = 5
# What sampling error does not cover: Go draws the sampler's exponential countdown through an
# approximate log2 (fastexprand/fastlog2, every version), which makes a small object's chance of
# being sampled up to about 1.5 % lower than 1 - exp(-size/rate), so estimates of small objects
# run that much low; and the observation window holds a few allocations (the fixture's JSON
# lines) that the runtime's workload window does not.
FLOOR_REL = 0.02
# The runtime caps the sampler's mean at 0x7000000 bytes (fastexprand).
MAX_SAMPLING_MEAN = 0x7000000


def sampling_sigma(slots_per_call, calls, rate):
    """Standard deviations (bytes, objects) of the unsampled estimate of `calls` calls whose heap
    slots per call by size are `slots_per_call` ({"32": 16, ...}), at sampling mean `rate`.
    Each slot of s bytes is sampled independently with p = 1 - exp(-s/rate) (the countdown is
    a Poisson process over allocated bytes) and counts 1/p objects when it is: the
    Horvitz-Thompson estimator, whose variance is n (1 - p) / p per slot size."""
    rate = min(rate, MAX_SAMPLING_MEAN)
    if rate <= 1:
        return 0.0, 0.0
    var_b = var_o = 0.0
    for size, per_call in slots_per_call.items():
        size = float(size)
        p = -math.expm1(-size / rate)
        n = per_call * calls
        var_o += n * (1 - p) / p
        var_b += n * size * size * (1 - p) / p
    return math.sqrt(var_b), math.sqrt(var_o)


def within(got, want, sigma, floor_abs=0.0, floor_rel=FLOOR_REL):
    """(ok, tolerance, z): got within SIGMAS*sigma + floors of want."""
    tol = SIGMAS * sigma + floor_abs + floor_rel * abs(want)
    z = (got - want) / sigma if sigma > 0 else 0.0
    return abs(got - want) <= tol, tol, z


def fixture(version, variant):
    return os.path.join(FIXTURES, version, "goalloc-" + variant)


class LineReader:
    """Lines from a pipe with deadlines. select() on a buffered file object misses lines it
    already buffered, so this reads the raw fd and keeps its own buffer."""

    def __init__(self, stream):
        self.fd = stream.fileno()
        self.buf = b""
        self.eof = False
        self.on_eof = None	# () -> str, more to say when the stream closes early

    def readline(self, deadline, what):
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                return line.decode(errors="replace")
            if self.eof:
                notice = self.on_eof() if self.on_eof else ""
                raise Fail("stream closed while waiting for %s%s" % (what, notice))
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out waiting for %s" % what)
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 65536)
                if chunk:
                    self.buf += chunk
                else:
                    self.eof = True

    def rest(self, timeout=30):
        """Everything until EOF."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], deadline - time.monotonic())
            if r:
                chunk = os.read(self.fd, 65536)
                self.buf += chunk
                self.eof = not chunk
        out, self.buf = self.buf, b""
        return out.decode(errors="replace")


def wait_json_event(reader, event, deadline):
    while True:
        line = reader.readline(deadline, "fixture event %r" % event)
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("event") == event:
            return obj


class Workload:
    """A fixture process speaking the JSON-lines protocol on stdout (self.proc, self.out)."""

    def wait_done(self, timeout=120):
        return wait_json_event(self.out, "done", time.monotonic() + timeout)

    def finish(self, timeout=30):
        """Close stdin; return (exit event or None, exit code)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        ev = None
        try:
            ev = wait_json_event(self.out, "exit", time.monotonic() + timeout)
        except Fail:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return ev, rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Fixture(Workload):
    """The goalloc workload, paused until go() so an observer can attach first."""

    def __init__(self, path, duration=5.0, extra_env=None, wait=True, stderr_path=None,
                 args=()):
        """stderr_path: keep the fixture's stderr (e.g. GODEBUG=gctrace=1 output) in that file.
        args: more flags for the fixture (-ticks 250ms, ...)."""
        env = dict(os.environ)
        env.update(extra_env or {})
        args = [path, "-duration", str(duration)] + (["-wait"] if wait else []) + list(args)
        # Its stderr is kept: if the target dies, what it said is the first thing to read.
        if not stderr_path:
            fd, stderr_path = tempfile.mkstemp(prefix="fixture-stderr-")
            os.close(fd)
            self.own_stderr = stderr_path
        else:
            self.own_stderr = None
        self.stderr_path = stderr_path
        err = open(stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, env=env)
        finally:
            err.close()
        self.out = LineReader(self.proc.stdout)
        self.out.on_eof = self.death_notice
        deadline = time.monotonic() + 60
        self.calib = wait_json_event(self.out, "calibrated", deadline)["functions"]
        self.ready = wait_json_event(self.out, "ready", deadline)
        self.pid = self.proc.pid

    def death_notice(self):
        """What to add to a failure when the fixture's stdout closed unexpectedly."""
        try:
            rc = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            rc = None
        try:
            tail = open(self.stderr_path, errors="replace").read()[-1500:]
        except OSError:
            tail = ""
        return " (the fixture exited %s; its stderr: %r)" % (rc, tail)

    def __del__(self):
        if getattr(self, "own_stderr", None):
            try:
                os.unlink(self.own_stderr)
            except OSError:
                pass

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def wait_started(self, timeout=30):
        """The runtime's GC figures when the workload begins (after go)."""
        return wait_json_event(self.out, "started", time.monotonic() + timeout)


class Heapscope:
    """A running `heapscope` with its "observing PID" line already seen on stderr."""

    def __init__(self, args, attach_timeout=30):
        self.proc = subprocess.Popen([HEAPSCOPE] + args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = LineReader(self.proc.stderr)
        self.stderr_lines = []
        deadline = time.monotonic() + attach_timeout
        while True:
            try:
                line = self.err.readline(deadline, "heapscope to attach")
            except Fail:
                self.proc.kill()
                self.proc.wait()
                raise Fail("heapscope did not attach: %s" %
                           ("".join(self.stderr_lines) + self.err.rest()).strip())
            self.stderr_lines.append(line)
            if "observing PID" in line:
                return

    def stop(self, sig=signal.SIGINT, timeout=60):
        """Signal it (None: let it end by itself), wait, return (rc, stdout, stderr)."""
        if sig is not None:
            self.proc.send_signal(sig)
        out = LineReader(self.proc.stdout)
        deadline = time.monotonic() + timeout
        # Drain both pipes together: a full stdout pipe would otherwise block heapscope.
        while not (out.eof and self.err.eof) and time.monotonic() < deadline:
            fds = [r.fd for r in (out, self.err) if not r.eof]
            ready, _, _ = select.select(fds, [], [], deadline - time.monotonic())
            for r in (out, self.err):
                if r.fd in ready:
                    chunk = os.read(r.fd, 65536)
                    r.buf += chunk
                    r.eof = not chunk
        try:
            rc = self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("heapscope did not exit %ds after signal %d" % (timeout, sig))
        return rc, out.rest(), "".join(self.stderr_lines) + self.err.rest()


def run_heapscope(args, timeout=120):
    p = subprocess.run([HEAPSCOPE] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr
