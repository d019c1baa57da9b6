"""Target safety (issue 10): the observed process never pays for a mistake.

- exec mid-window (into the same binary, the hard case: uprobes are per file) and a PID
  reused while heapscope is frozen: nothing is written into the new program, and its work is
  never counted;
- MemProfileRate left by a SIGKILLed heapscope is recognised and restored by the next run,
  with the state file and, without it, by the marker in the value;
- two heapscopes on one target, in both orders of overlapping windows: each is right, the
  rate stays on until the last leaves, then goes back to 0; a rate the target sets itself is
  noticed and left alone;
- the samples the runtime takes when the rate is switched on (one per P) do not bias a burst
  observed from before it starts, with 2 and with 16 Ps;
- a --sample-bytes above the runtime's cap is unsampled at the cap;
- Go versions outside the verified range get one warning naming what is unverified;
- bad input: a kernel thread, a zombie, a binary it cannot read, an unsupported Go function
  table, Go older than 1.18, missing capabilities, PID namespaces, a deleted binary;
- targets as real servers are: 10k goroutines growing their stacks, panics, GC loops,
  GOMAXPROCS changes, inlined allocation sites, 8 and 16 Ps.
"""
import glob
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HEAPSCOPE, SIGMAS, Fail, Fixture, Heapscope, LineReader, Skip, check, done,
                     fixture, go_versions, run_heapscope, run_test, sampling_sigma,
                     wait_json_event, within)
import test_stat

STATE_DIR = "/run/heapscope"


def newest():
    ok = [v for v, why in go_versions() if why is None]
    if not ok:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    return ok[-1]


def oldest():
    ok = [v for v, why in go_versions() if why is None]
    if not ok:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    return ok[0]


def stat_json(out):
    try:
        return json.loads(out)
    except ValueError:
        raise Fail("stat output is not JSON: %r" % out[:300])


def read_event(fx, name, timeout=60):
    return wait_json_event(fx.out, name, time.monotonic() + timeout)


def test_exec_same_binary():
    """The target execs its own binary mid-observation: the uprobes (per file and offset) still
    match, so only the exec tracepoint and the pinned memory handle stand between the new
    program and heapscope."""
    path = fixture(newest(), "stripped")
    fx = Fixture(path, duration=1, args=["-exec", path])
    try:
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
        fx.go()
        fx.wait_started()
        truth = fx.wait_done()
        fx.proc.stdin.write(b"exec\n")
        fx.proc.stdin.flush()
        ready = read_event(fx, "ready")
        rc, out, err = hs.stop(sig=None, timeout=60)
        check(ready["pid"] == fx.pid, "the exec changed the PID?")
        check(ready["mem_profile_rate"] == 0,
              "the new program starts with MemProfileRate %d, not its own 0" %
              ready["mem_profile_rate"])
        check(rc == 1 and "execve" in err and err.count("\n") <= 3,
              "heapscope did not end the window on the exec: rc %d %r" % (rc, err))
        rep = stat_json(out)
        check(rep["target_execed"] is True, "target_execed not set")
        test_stat.compare(fx, truth, rep)
        # The new program was never written to: its rate at its own exit is still 0.
        fx.go()
        fx.wait_started()
        fx.wait_done()
        exit_ev, fx_rc = fx.finish()
        check(exit_ev and exit_ev["mem_profile_rate"] == 0,
              "MemProfileRate of the exec'd program: %s" % exit_ev)
    finally:
        fx.kill()


def spawn_with_pid(pid, args):
    """Start args with exactly this PID through ns_last_pid (retried: another fork may take
    the number first). None if it cannot be had."""
    for _ in range(50):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    return None


def test_pid_reuse():
    """heapscope is frozen while its target dies and a new process takes the same PID; when it
    resumes it must see the exit, write nothing into the newcomer, and leave."""
    path = fixture(newest(), "stripped")
    fx = Fixture(path, duration=1)
    new = None
    try:
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
        pid = fx.pid
        hs.proc.send_signal(signal.SIGSTOP)
        fx.kill()
        new = spawn_with_pid(pid, [path, "-duration", "1", "-wait"])
        if not new:
            hs.proc.send_signal(signal.SIGCONT)
            hs.stop()
            raise Skip("could not recreate PID %d through ns_last_pid" % pid)
        out = LineReader(new.stdout)
        ready = wait_json_event(out, "ready", time.monotonic() + 60)
        hs.proc.send_signal(signal.SIGCONT)
        rc, rep_out, err = hs.stop(sig=None, timeout=60)
        check(rc == 1 and "exited" in err, "heapscope: rc %d %r" % (rc, err))
        new.stdin.write(b"go\n")
        new.stdin.flush()
        wait_json_event(out, "done", time.monotonic() + 60)
        new.stdin.close()
        ev = wait_json_event(out, "exit", time.monotonic() + 60)
        check(ready["mem_profile_rate"] == 0 and ev["mem_profile_rate"] == 0,
              "the process that reused PID %d had its MemProfileRate changed: %s -> %s" % (
                  pid, ready["mem_profile_rate"], ev["mem_profile_rate"]))
    finally:
        fx.kill()
        if new:
            new.kill()
            new.wait()


def state_files(pid):
    return glob.glob(os.path.join(STATE_DIR, "rate-%d-*" % pid))


def test_sigkill_left_state():
    for keep_file in (True, False):
        path = fixture(newest(), "stripped")
        fx = Fixture(path, duration=1)
        try:
            a = Heapscope(["stat", "-p", str(fx.pid), "-d", "600"])
            a.proc.kill()
            a.proc.wait()
            check(state_files(fx.pid), "no state file under %s" % STATE_DIR)
            if not keep_file:
                for f in state_files(fx.pid):
                    os.unlink(f)
            b = Heapscope(["stat", "-p", str(fx.pid), "-d", "600"])
            fx.go()
            fx.wait_done()
            rc, out, err = b.stop()
            exit_ev, fx_rc = fx.finish()
        finally:
            fx.kill()
        check(rc == 0, "second run exited %d: %s" % (rc, err))
        want = "earlier heapscope (PID %d)" % a.proc.pid if keep_file else "earlier heapscope"
        check(want in err and "killed" in err and "sets it back to 0" in err,
              "the second run did not say what the killed one left (%s): %r" % (
                  "state file" if keep_file else "marker only", err))
        check(exit_ev and exit_ev["mem_profile_rate"] == 0,
              "MemProfileRate after the second run: %s, want 0" % exit_ev)
        check(not state_files(fx.pid), "state file left behind")


def overlapping(first_leaves_first):
    """A and B observe one target; B's window covers the whole workload, A's only its start."""
    path = fixture(newest(), "stripped")
    fx = Fixture(path, duration=3)
    try:
        if first_leaves_first:
            a = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
            b = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
        else:
            b = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
            a = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
        fx.go()
        fx.wait_started()
        rc_a, out_a, err_a = a.stop()
        truth = fx.wait_done()
        rc_b, out_b, err_b = b.stop()
        exit_ev, fx_rc = fx.finish()
    finally:
        fx.kill()
    check(rc_a == 0 and rc_b == 0, "exits %d %d: %s %s" % (rc_a, rc_b, err_a, err_b))
    rep = stat_json(out_b)
    test_stat.compare(fx, truth, rep)
    check(rep["sampler_enabled_by_heapscope"], "B does not know the sampler is heapscope's")
    check(exit_ev and exit_ev["mem_profile_rate"] == 0,
          "MemProfileRate after both left: %s, want 0" % exit_ev)


def test_overlap_first_leaves_first():
    overlapping(True)


def test_overlap_last_started_leaves_first():
    overlapping(False)


def test_rate_changed_by_target():
    path = fixture(newest(), "stripped")
    fx = Fixture(path, duration=1)
    try:
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json"])
        fx.go()
        fx.wait_done()
        fx.proc.stdin.write(b"rate 4096\n")
        fx.proc.stdin.flush()
        read_event(fx, "rate_set")
        rc, out, err = hs.stop()
        exit_ev, fx_rc = fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "exit %d: %s" % (rc, err))
    check("changed from" in err and "4096" in err, "the change was not noticed: %r" % err)
    check("as it is" in err, "no word on leaving the target's own value: %r" % err)
    check(stat_json(out)["rate_changed"] is True, "rate_changed not set")
    check(exit_ev["mem_profile_rate"] == 4096,
          "heapscope overwrote the target's own rate: %s" % exit_ev)


def burst_bias(procs):
    """20 windows, each opened before a 10 MB burst on every P: the mean error of the total
    must be within 4 standard errors of zero."""
    path = fixture(newest(), "stripped")
    env = dict(os.environ, GOMAXPROCS=str(procs))
    p = subprocess.Popen([path, "-mode", "burst"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    out = LineReader(p.stdout)
    errs, sigmas = [], []
    try:
        wait_json_event(out, "ready", time.monotonic() + 60)
        for _ in range(20):
            hs = Heapscope(["stat", "-p", str(p.pid), "-d", "600", "--format", "json",
                            "--sample-bytes", "131072"])
            p.stdin.write(b"burst\n")
            p.stdin.flush()
            truth = wait_json_event(out, "burst", time.monotonic() + 60)
            rc, rep_out, err = hs.stop()
            check(rc == 0, "stat exited %d: %s" % (rc, err))
            rep = stat_json(rep_out)
            sb, _ = sampling_sigma({"32": truth["alloc_bytes"] / 32}, 1, rep["sample_bytes"])
            errs.append(rep["alloc_bytes"] - truth["alloc_bytes"])
            sigmas.append(sb)
        p.stdin.write(b"quit\n")
        p.stdin.flush()
    finally:
        p.kill()
        p.wait()
    mean = sum(errs) / len(errs)
    se = math.sqrt(sum(s * s for s in sigmas)) / len(sigmas)
    print("  %d Ps: mean error %+.0f bytes (%+.1f%% of 10 MB), standard error %.0f" % (
        procs, mean, 100 * mean / (10 << 20), se))
    check(abs(mean) <= 4 * se, "%d Ps: mean error %+.0f bytes is %.1f standard errors" % (
        procs, mean, mean / se))


def test_rate_cap():
    """A --sample-bytes above the runtime's cap (0x7000000) samples at the cap, and the
    estimate must be unsampled at the cap, not at the rate written."""
    fx, truth, rep, exit_ev = test_stat.observe(fixture(newest(), "stripped"),
                                                ["--sample-bytes", str(512 << 20)])
    check(rep["sample_bytes"] > 0x7000000, "sample_bytes %s" % rep["sample_bytes"])
    funcs = truth["functions"]
    var = sum(sampling_sigma(fx.calib[n]["slots_per_call"], t["calls"], 0x7000000)[0] ** 2
              for n, t in funcs.items())
    ok, tol, z = within(rep["alloc_bytes"], truth["alloc_bytes"], math.sqrt(var))
    check(ok, "total %.3g vs %.3g (z=%+.1f): unsampled at the wrong rate?" % (
        rep["alloc_bytes"], truth["alloc_bytes"], z))


def patched_version(src, new):
    """A copy of src whose build info names another Go version of the same length."""
    data = bytearray(open(src, "rb").read())
    i = data.find(b"\xff Go buildinf:")
    vlen = data[i + 32]
    old = bytes(data[i + 33:i + 33 + vlen])
    check(len(new) == vlen, "cannot patch %r into %r" % (new, old))
    data[i + 33:i + 33 + vlen] = new.encode()
    fd, path = tempfile.mkstemp(prefix="goalloc-%s-" % new)
    os.write(fd, data)
    os.close(fd)
    os.chmod(path, 0o755)
    return path


def test_unverified_versions():
    src = fixture(newest(), "stripped")
    # same length as the fixture's own version string: go1.N.P -> go1.99.P, go1.18.P
    rest = newest()[len("go1.27"):]
    cases = [("go1.99" + rest, "newer than heapscope is verified", False),
             ("go1.18" + rest, "older than heapscope is verified", True)]
    for version, what, gc_null in cases:
        path = patched_version(src, version)
        try:
            fx, truth, rep, exit_ev = test_stat.observe(path)
        finally:
            os.unlink(path)
        check(rep["go_version"] == version, "go_version %s" % rep["go_version"])
        # stat's stderr is not returned by observe: run once more, briefly, for the warning
        path = patched_version(src, version)
        try:
            fx2 = Fixture(path, duration=1)
            try:
                hs = Heapscope(["stat", "-p", str(fx2.pid), "-d", "600"])
                rc, out, err = hs.stop()
            finally:
                fx2.kill()
        finally:
            os.unlink(path)
        lines = [l for l in err.splitlines() if what in l]
        check(len(lines) == 1 and "offsets" in lines[0],
              "%s: want one warning naming the unverified offsets: %r" % (version, err))
        check((rep["gc"]["cycles"] is None) == gc_null,
              "%s: GC figures %s" % (version, "present" if rep["gc"]["cycles"] else "null"))


def test_bad_input():
    cases = []

    def expect(args, rc_want, text, what, **kw):
        rc, out, err = run_heapscope(args, **kw)
        cases.append((rc == rc_want and text in err and err.count("\n") == 1,
                      "%s: rc %d, stderr %r" % (what, rc, err)))
    expect(["stat", "-p", "2"], 1, "kernel thread", "kthreadd")
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while open("/proc/%d/stat" % zombie.pid).read().rsplit(")", 1)[1].split()[0] != "Z":
        check(time.monotonic() < deadline, "child did not become a zombie")
        time.sleep(0.01)
    expect(["stat", "-p", str(zombie.pid)], 1, "zombie", "zombie")
    zombie.wait()
    # Capabilities, each missing one named (root without CAP_SYS_ADMIN either).
    for cap, name in (("bpf", "CAP_BPF"), ("perfmon", "CAP_PERFMON"),
                      ("sys_ptrace", "CAP_SYS_PTRACE")):
        drop = "-sys_admin,-%s" % cap if cap != "sys_ptrace" else "-sys_ptrace"
        p = subprocess.run(["setpriv", "--bounding-set=" + drop, "--inh-caps=" + drop,
                            HEAPSCOPE, "stat", "-p", str(os.getpid())], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60)
        cases.append((p.returncode == 1 and name in p.stderr and p.stderr.count("\n") == 1,
                      "without %s: rc %d %r" % (name, p.returncode, p.stderr)))
    # A running Go program whose build info says pre-1.18 (the runtime never reads it).
    src = fixture(newest(), "stripped")
    data = bytearray(open(src, "rb").read())
    i = data.find(b"\xff Go buildinf:")
    data[i + 15] &= ~2
    tmp = tempfile.mkdtemp(prefix="heapscope-bad-")
    old = os.path.join(tmp, "old")
    open(old, "wb").write(data)
    os.chmod(old, 0o755)
    # A running Go program whose section header table lies past the end of the file, as in a
    # truncated copy (the kernel runs it: it needs only the program headers): heapscope
    # cannot read the binary and says so.
    data = bytearray(open(src, "rb").read())
    data[0x28:0x30] = (len(data) + 4096).to_bytes(8, "little")
    cut = os.path.join(tmp, "cut")
    open(cut, "wb").write(data)
    os.chmod(cut, 0o755)
    procs = []
    try:
        for path, text, what in ((old, "Go older than 1.18", "pre-1.18 build info"),
                                 (cut, "truncated or corrupt", "truncated binary")):
            fx = Fixture(path, duration=1)
            procs.append(fx)
            expect(["stat", "-p", str(fx.pid)], 1, text, what)
    finally:
        for fx in procs:
            fx.kill()
        shutil.rmtree(tmp)
    bad = [msg for ok, msg in cases if not ok]
    check(not bad, "; ".join(bad))


def test_deleted_binary():
    """A binary deleted (or replaced) after the process started is still observed, through the
    executable the process runs."""
    tmp = tempfile.mkdtemp(prefix="heapscope-del-")
    path = os.path.join(tmp, "goalloc")
    shutil.copy(fixture(newest(), "pie"), path)
    try:
        fx = Fixture(path)
        os.unlink(path)
        shutil.copy(fixture(oldest(), "stripped"), path)	# another program at the path
        try:
            hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", "json",
                            "--sample-bytes", "131072"])
            fx.go()
            fx.wait_started()
            truth = fx.wait_done()
            rc, out, err = hs.stop()
            fx.finish()
        finally:
            fx.kill()
    finally:
        shutil.rmtree(tmp)
    check(rc == 0, "exit %d: %s" % (rc, err))
    test_stat.compare(fx, truth, stat_json(out))


NS_HELPER = r"""
import json, sys, os
sys.path.insert(0, %r)
from harness import Fixture, Heapscope, fixture
import test_stat
fx, truth, rep, ev = test_stat.observe(fixture(%r, "stripped"))
test_stat.compare(fx, truth, rep)
print("NS-OK pid %%d" %% fx.pid)
"""


def test_pid_namespaces():
    """heapscope and its target in a new PID namespace (a container without hostPID): PIDs are
    numbered there, and the probes must see them so. And a target in a child namespace
    observed from the host."""
    if not shutil.which("unshare"):
        raise Skip("unshare missing (util-linux)")
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                        NS_HELPER % (here, newest())], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and "NS-OK" in p.stdout,
          "inside a PID namespace: rc %d %s %s" % (p.returncode, p.stdout[-500:],
                                                   p.stderr[-1500:]))
    # Target inside a child namespace, heapscope outside.
    path = fixture(newest(), "stripped")
    outer = subprocess.Popen(["unshare", "--pid", "--fork", path, "-duration", "2", "-wait"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    try:
        out = LineReader(outer.stdout)
        calib = wait_json_event(out, "calibrated", time.monotonic() + 60)["functions"]
        wait_json_event(out, "ready", time.monotonic() + 60)
        # the fixture is unshare's child: find its host PID
        kids = open("/proc/%d/task/%d/children" % (outer.pid, outer.pid)).read().split()
        check(len(kids) == 1, "unshare's children: %s" % kids)
        hs = Heapscope(["stat", "-p", kids[0], "-d", "600", "--format", "json",
                        "--sample-bytes", "131072"])
        outer.stdin.write(b"go\n")
        outer.stdin.flush()
        truth = wait_json_event(out, "done", time.monotonic() + 60)
        rc, rep_out, err = hs.stop()
        check(rc == 0, "exit %d: %s" % (rc, err))

        class F:
            pass
        f = F()
        f.calib = calib
        test_stat.compare(f, truth, stat_json(rep_out))
    finally:
        outer.kill()
        outer.wait()


def stress(procs):
    path = fixture(newest(), "stripped")
    env = {"GOMAXPROCS": str(procs)}

    def run(observe):
        p = subprocess.Popen([path, "-mode", "stress", "-wait"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, **env))
        out = LineReader(p.stdout)
        hs = None
        try:
            wait_json_event(out, "ready", time.monotonic() + 60)
            if observe:
                # a high sampling rate: more probe hits to survive, and samples of the
                # inlined site, which allocates only a few MB
                hs = Heapscope(["stat", "-p", str(p.pid), "-d", "600", "--format", "json",
                                "--sample-bytes", "4096"])
            p.stdin.write(b"go\n")
            p.stdin.flush()
            result = wait_json_event(out, "done", time.monotonic() + 300)
            rep = None
            if hs:
                rc, rep_out, err = hs.stop()
                check(rc == 0, "heapscope exited %d: %s" % (rc, err))
                rep = stat_json(rep_out)
            p.stdin.close()
            ev = wait_json_event(out, "exit", time.monotonic() + 60)
            rc = p.wait(60)
            check(rc == 0, "the stress fixture exited %d under observation: %s" % (
                rc, p.stderr.read().decode(errors="replace")[-2000:]))
            check(ev["mem_profile_rate"] == 0, "MemProfileRate not restored: %s" % ev)
            return result["checksum"], rep
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    alone, _ = run(False)
    observed, rep = run(True)
    check(alone == observed, "checksum %s observed, %s alone" % (observed, alone))
    # The inlined allocation site is named by the inlined function and its own line.
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "fixtures", "goalloc", "modes.go")
    want_line = next(i + 1 for i, l in enumerate(open(src))
                     if "return &node{a: int64(i), b: 2}" in l)
    f = {x["function"]: x for x in rep["functions"]}.get("main.inlinedNode")
    check(f is not None, "main.inlinedNode missing: %s" % [x["function"] for x in
                                                           rep["functions"]][:12])
    check(f["file"].endswith("modes.go") and f["line"] == want_line,
          "main.inlinedNode at %s:%d, want modes.go:%d" % (f["file"], f["line"], want_line))


def main():
    run_test("safety_exec_same_binary", test_exec_same_binary)
    run_test("safety_pid_reuse", test_pid_reuse)
    run_test("safety_sigkill_left_state", test_sigkill_left_state)
    run_test("safety_overlap_first_leaves_first", test_overlap_first_leaves_first)
    run_test("safety_overlap_last_started_leaves_first", test_overlap_last_started_leaves_first)
    run_test("safety_rate_changed_by_target", test_rate_changed_by_target)
    run_test("safety_burst_bias_2p", burst_bias, 2)
    run_test("safety_burst_bias_16p", burst_bias, 16)
    run_test("safety_rate_cap", test_rate_cap)
    run_test("safety_unverified_versions", test_unverified_versions)
    run_test("safety_bad_input", test_bad_input)
    run_test("safety_deleted_binary", test_deleted_binary)
    run_test("safety_pid_namespaces", test_pid_namespaces)
    run_test("safety_stress_8p", stress, 8)
    run_test("safety_stress_16p", stress, 16)
    done()


if __name__ == "__main__":
    main()
