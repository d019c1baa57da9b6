"""heapscope top: the real dashboard in a tmux pane against the goalloc fixture, and batch mode.

The pane is read with capture-pane and polled until the expected text appears, with a deadline
that turns into a failure; keys go in with send-keys. After q the pane's shell prints the exit
status and the terminal modes, which shows the terminal was given back.
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HEAPSCOPE, Fail, Fixture, Skip, check, done, fixture, go_versions,
                     run_heapscope, run_test, wait_json_event)

DEADLINE = 30  # seconds for any one screen change


def newest_fixture():
    ok = [v for v, why in go_versions() if why is None]
    if not ok:
        raise Skip("no Go fixtures built (scripts/build-fixtures.sh)")
    path = fixture(ok[-1], "stripped")
    if not os.path.exists(path):
        raise Skip("fixture %s not built" % path)
    return ok[-1], path


class Pane:
    """heapscope top in a detached tmux session on a private server socket."""

    def __init__(self, args, width=120, height=40):
        if subprocess.run(["sh", "-c", "command -v tmux"], capture_output=True).returncode:
            raise Skip("tmux not installed")
        self.sock = "heapscope-test-%d" % os.getpid()
        cmd = "%s %s; echo TOP-EXIT=$?; stty -a; sleep 600" % (
            shlex.quote(HEAPSCOPE), " ".join(shlex.quote(a) for a in args))
        self.tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", str(height), cmd)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True,
                              text=True, timeout=10)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top").stdout

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "top", *keys)

    def wait(self, pred, what, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.monotonic() > deadline:
                raise Fail("timed out waiting for %s; screen:\n%s" % (what, s))
            time.sleep(0.1)

    def wait_text(self, text, timeout=DEADLINE):
        return self.wait(lambda s: text in s, repr(text), timeout)

    def heapscope_pid(self):
        shell = int(self.tmux("list-panes", "-t", "top", "-F", "#{pane_pid}").stdout.split()[0])
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and os.readlink("/proc/%s/exe" % pid) == \
                        os.path.realpath(HEAPSCOPE) and \
                        int(open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1]) \
                        == shell:
                    return int(pid)
            except OSError:
                pass
        raise Fail("heapscope process not found under the pane's shell %d" % shell)

    def close(self):
        self.tmux("kill-server")


def table_rows(screen):
    """Lines of the function table (after the FUNCTION header, before the key bar)."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("FUNCTION"):
            return [l for l in lines[i + 1:] if l.strip() and not l.startswith("h Help")]
    return []


def check_restored(pane):
    """After heapscope exits: status 0 and a cooked, echoing terminal."""
    s = pane.wait_text("TOP-EXIT=")
    m = re.search(r"TOP-EXIT=(\d+)", s)
    check(m and m.group(1) == "0", "exit status %s, want 0" % (m and m.group(1)))
    s = pane.wait(lambda s: re.search(r"(^|\s)-?icanon\b", s), "stty output")
    check(re.search(r"(^|\s)icanon\b", s) and re.search(r"(^|\s)echo\b", s),
          "terminal left without icanon/echo:\n%s" % s)


def test_keys():
    version, path = newest_fixture()
    # Long enough for every key below; the fixture then reports and exits on its own.
    fx = Fixture(path, duration=20)
    pane = None
    try:
        pane = Pane(["top", "-p", str(fx.pid), "-d", "0.5"])
        s = pane.wait_text("FUNCTION")
        want_ver = version.split("-")[0]
        check(want_ver in s.splitlines()[0], "header lacks %s:\n%s" % (want_ver, s))
        fx.go()
        pane.wait(lambda s: any(r.startswith("main.largeBuffer") for r in table_rows(s)),
                  "main.largeBuffer in the table")

        # Sort: s s moves past +/- to OBJS/s; the boxing function makes by far the most
        # objects.
        pane.keys("s")
        pane.wait(lambda s: re.search(r"[v\u25bc]\+/-", s), "sort marker on +/-")
        pane.keys("s")
        s = pane.wait(lambda s: re.search(r"[v\u25bc]OBJS/s", s), "sort marker on OBJS/s")
        pane.wait(lambda s: table_rows(s)[:1] and table_rows(s)[0].startswith("main.boxStrings"),
                  "main.boxStrings first by OBJS/s")
        pane.keys("<", "<")
        pane.wait(lambda s: re.search(r"[v\u25bc]ALLOC/s", s), "sort back on ALLOC/s")

        # + and - change the refresh interval, w the window.
        pane.keys("+")
        pane.wait(lambda s: "every 1.0s" in s.splitlines()[0], "refresh 1.0 s after +")
        pane.keys("-", "-")
        pane.wait(lambda s: "every 0.2s" in s.splitlines()[0], "refresh 0.25 s after - -")
        pane.keys("w")
        pane.wait(lambda s: re.search(r"over (\d+/)?30s", s), "a 30 s window after w")

        # Filter: only the matching function is left.
        pane.keys("/", "c", "o", "n", "c", "a", "t", "Enter")
        s = pane.wait(lambda s: "Filter: concat" in s and table_rows(s) and
                      all("concat" in r.lower() for r in table_rows(s)), "filtered table")
        check(not any(r.startswith("main.largeBuffer") for r in table_rows(s)),
              "filter left main.largeBuffer in")
        pane.keys("Escape")
        pane.wait(lambda s: "Filter:" not in s and
                  any(r.startswith("main.largeBuffer") for r in table_rows(s)), "filter cleared")

        # Help, then any key back.
        pane.keys("h")
        pane.wait_text("this help")
        pane.keys("x")
        pane.wait(lambda s: "this help" not in s and "FUNCTION" in s, "table after help")

        # Detail of main.largeBuffer: its stacks and the make-slice remedy.
        pane.keys("/", *list("largeBuffer"), "Enter")
        pane.wait(lambda s: table_rows(s)[:1] and table_rows(s)[0].startswith("main.largeBuffer")
                  and len(table_rows(s)) == 1, "only main.largeBuffer")
        pane.keys("Enter")
        s = pane.wait(lambda s: "Top stacks since attach" in s and "sync.Pool" in s,
                      "detail view")
        check("main.go:" in s, "detail view without file:line:\n%s" % s)
        pane.keys("Escape")
        pane.wait_text("FUNCTION")

        pane.keys("p")
        pane.wait_text("[PAUSED]")
        pane.keys("q")
        check_restored(pane)
        fx.wait_done()
    finally:
        if pane:
            pane.close()
        exit_ev, fx_rc = fx.finish()
        fx.kill()
    check(exit_ev is not None and exit_ev["mem_profile_rate"] == fx.ready["mem_profile_rate"],
          "MemProfileRate not restored: %s, was %d" % (exit_ev, fx.ready["mem_profile_rate"]))


def test_target_exit():
    version, path = newest_fixture()
    fx = Fixture(path, duration=2)
    pane = None
    try:
        pane = Pane(["top", "-p", str(fx.pid), "-d", "0.5"])
        pane.wait_text("FUNCTION")
        fx.go()
        pane.wait(lambda s: any(r.startswith("main.largeBuffer") for r in table_rows(s)),
                  "main.largeBuffer in the table")
        fx.wait_done()
        fx.finish()
        s = pane.wait_text("exited")
        check(any(r.startswith("main.largeBuffer") for r in table_rows(s)),
              "last data not kept after the exit:\n%s" % s)
        pane.keys("q")
        check_restored(pane)
    finally:
        if pane:
            pane.close()
        fx.kill()


def test_sigterm_restores_terminal():
    version, path = newest_fixture()
    fx = Fixture(path, duration=120)
    pane = None
    try:
        pane = Pane(["top", "-p", str(fx.pid), "-d", "0.5"])
        pane.wait_text("FUNCTION")
        os.kill(pane.heapscope_pid(), signal.SIGTERM)
        check_restored(pane)
    finally:
        if pane:
            pane.close()
        fx.finish()
        fx.kill()


def test_batch():
    version, path = newest_fixture()
    fx = Fixture(path, duration=120)
    try:
        fx.go()
        # stdout is a pipe: batch mode without -b.
        rc, out, err = run_heapscope(["top", "-p", str(fx.pid), "-n", "3", "-d", "0.5"])
    finally:
        fx.finish()
        fx.kill()
    check(rc == 0, "exit %d: %s" % (rc, err))
    frames = [l for l in out.splitlines() if l.startswith("PID %d " % fx.pid)]
    check(len(frames) == 3, "%d frames, want 3:\n%s" % (len(frames), out))
    check(version.split("-")[0] in frames[0], "no Go version in %r" % frames[0])
    check("main.largeBuffer" in out, "main.largeBuffer missing:\n%s" % out)
    check("\x1b" not in out, "escape sequences in batch output")


def test_pipe_closed_restores_rate():
    """top -b | head: the reader goes away mid-stream. heapscope must end cleanly (exit 0, no
    death by SIGPIPE) and give the target its MemProfileRate back."""
    version, path = newest_fixture()
    fx = Fixture(path, duration=3)  # long enough for a frame; then it reports and waits
    try:
        fx.go()
        p = subprocess.Popen([HEAPSCOPE, "top", "-b", "-d", "0.2", "-p", str(fx.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        p.stdout.readline()  # the first frame line is out: sampling is on
        p.stdout.close()     # the reader goes away; the next frame hits a closed pipe
        try:
            rc = p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail("heapscope kept running after its reader went away")
        err = p.stderr.read().decode(errors="replace")
        fx.wait_done()
        exit_ev, fx_rc = fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "exit %d (a signal death is negative): %s" % (rc, err))
    check(fx.ready["mem_profile_rate"] == 0, "fixture already had profiling on")
    check(exit_ev is not None and exit_ev["mem_profile_rate"] == 0,
          "MemProfileRate not restored: %s" % exit_ev)


def test_usage():
    errors = []
    for args, what in ((["top"], "needs -p"), (["top", "-p", "1", "-d", "0.01"], "interval"),
                       (["top", "-p", "1", "-n", "0"], "iterations"),
                       (["stat", "-p", "1", "-b"], "options of top")):
        rc, out, err = run_heapscope(args)
        if rc != 2 or what not in err:
            errors.append("%s: rc %d %r" % (args, rc, err))
    rc, out, err = run_heapscope(["--help"])
    if rc != 0 or "top -p PID" not in out:
        errors.append("--help does not document top")
    check(not errors, "; ".join(errors))


def main():
    run_test("top_keys", test_keys)
    run_test("top_target_exit", test_target_exit)
    run_test("top_sigterm_restores_terminal", test_sigterm_restores_terminal)
    run_test("top_batch", test_batch)
    run_test("top_pipe_closed_restores_rate", test_pipe_closed_restores_rate)
    run_test("top_usage", test_usage)
    done()


if __name__ == "__main__":
    main()
