"""Driver for scripts/bench-serve.sh: fixture processes of two binaries in twin pairs, one of
each pair observed by `heapscope serve -p`, all at once (the per-target cost), and twenty under
`heapscope serve --all` (the agent's cost). Each target's throughput is its own
/gc/heap/allocs:bytes per second; the agent's CPU and RSS come from /proc. Writes the 'serve'
section of BENCHMARKS.md."""
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests/e2e"))
from harness import HEAPSCOPE, Fixture, LineReader, fixture, go_versions  # noqa
from benchmarks_md import cpu_ns, write_section  # noqa

SECS = float(sys.argv[1])
ROUNDS = int(sys.argv[2])
TARGETS = int(sys.argv[3])
gc_rates = []  # GC cycles per second of every target run


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def start_serve(pids=None):
    """`serve --all`, or `serve -p PID...` when pids are given."""
    sel = ["--all"] if pids is None else [a for pid in pids for a in ("-p", str(pid))]
    p = subprocess.Popen([HEAPSCOPE, "serve"] + sel + ["--listen", "127.0.0.1:0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = LineReader(p.stderr)
    while True:
        line = err.readline(time.monotonic() + 60, "serve to listen")
        m = re.search(r"\(port (\d+)\)", line)
        if m:
            return p, int(m.group(1)), err


def attached(port, pids):
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return False
    return all('pid="%d"' % pid in text and 'state="attached"' in text for pid in pids)


def wait_attached(port, pids):
    deadline = time.monotonic() + 120
    while not attached(port, pids):
        if time.monotonic() > deadline:
            raise SystemExit("serve did not attach every target in 120 s")
        time.sleep(0.5)


def run_all(fxs):
    """Starts every fixture's workload at once; per fixture, (bytes/s, bytes per CPU second),
    and every fixture's GC cycles per second into gc_rates."""
    cpu0 = [cpu_ns(f.pid) for f in fxs]
    for f in fxs:
        f.go()
    starts = [f.wait_started() for f in fxs]
    dones = [f.wait_done(timeout=SECS * 40 + 120) for f in fxs]
    cpu = [cpu_ns(f.pid) - c for f, c in zip(fxs, cpu0)]
    for f in fxs:
        f.finish()
    gc_rates.extend((d["gc_cycles"] - s["gc_cycles"]) / d["duration_s"]
                    for s, d in zip(starts, dones))
    return [(d["alloc_bytes"] / d["duration_s"], d["alloc_bytes"] / (c / 1e9))
            for d, c in zip(dones, cpu)]


def agent_round(binaries):
    """TARGETS fixtures under `serve --all`: the agent's CPU (% of a core) and max RSS (MiB)."""
    serve, port, _ = start_serve()
    fxs = []
    try:
        fxs = [Fixture(binaries[i % len(binaries)], duration=SECS) for i in range(TARGETS)]
        wait_attached(port, [f.pid for f in fxs])
        cpu0, t0 = cpu_s(serve.pid), time.monotonic()
        run_all(fxs)
        return ((cpu_s(serve.pid) - cpu0) / (time.monotonic() - t0) * 100,
                status_kib(serve.pid, "VmHWM") / 1024)
    finally:
        for f in fxs:
            f.kill()
        serve.send_signal(2)
        serve.wait(60)


def twin_round(binaries, which):
    """TARGETS pairs of identical fixtures, all running at once; serve observes one of each
    pair (the first or the second, by `which`). Returns [(observed, alone)], each as run_all
    gives it."""
    fxs, serve = [], None
    try:
        for i in range(TARGETS):
            fxs += [Fixture(binaries[i % len(binaries)], duration=SECS) for _ in range(2)]
        obs = [fxs[2 * i + which] for i in range(TARGETS)]
        serve, port, _ = start_serve([f.pid for f in obs])
        wait_attached(port, [f.pid for f in obs])
        tps = run_all(fxs)
        return [(tps[2 * i + which], tps[2 * i + 1 - which]) for i in range(TARGETS)]
    finally:
        for f in fxs:
            f.kill()
        if serve:
            serve.send_signal(2)
            serve.wait(60)


def pct(xs, q):
    xs = sorted(xs)
    return xs[int(q * (len(xs) - 1))]


def median_ci(xs):
    """The median with a 95 % interval from the binomial order statistics."""
    n, srt = len(xs), sorted(xs)
    half = 1.96 * (n ** 0.5) / 2
    return (statistics.median(xs), srt[max(0, int(n / 2 - half))],
            srt[min(n - 1, int(n / 2 + half))])


# The two kinds of target: memory profiling switched off by the linker (heapscope switches the
# runtime's sampler on, and the target then pays for the runtime's own sampling too), and
# linked in (net/http/pprof and the like: the sampler already runs at 512 KiB).
VARIANTS = (("stripped", "memory profiling off until heapscope switches it on"),
            ("pprof", "memory profiling on from the start"))


def main():
    versions = [v for v, why in go_versions() if why is None]
    rows, agents = [], []
    for variant, what in VARIANTS:
        binaries = [fixture(versions[-1], variant), fixture(versions[0], variant)]
        pairs, pooled, per_cpu = [], [], []
        for r in range(ROUNDS):
            got = twin_round(binaries, r % 2)
            pairs += [o[0] / a[0] for o, a in got]
            per_cpu += [o[1] / a[1] for o, a in got]
            pooled.append(sum(o[0] for o, _ in got) / sum(a[0] for _, a in got))
            print("%s round %d twins: pooled observed / alone %.3f, median pair %.3f, per CPU "
                  "second %.4f" % (variant, r + 1, pooled[-1],
                                   statistics.median(o[0] / a[0] for o, a in got),
                                   statistics.median(o[1] / a[1] for o, a in got)), flush=True)
            if variant == "stripped" and r % 2 == 0:
                agents.append(agent_round(binaries))
                print("round %d --all: agent %.2f %% of a core, %.1f MiB" % (
                    (r + 1,) + agents[-1]), flush=True)
        rows += [
            "| %s: target throughput, observed / twin, all pairs of a round pooled (low, high: "
            "over the rounds) | %.3f | %.3f | %.3f |" % (
                what, statistics.median(pooled), min(pooled), max(pooled)),
            "| %s: target throughput, observed / twin per pair (low, high: 5th, 95th "
            "percentile of the %d pairs) | %.3f | %.3f | %.3f |" % (
                what, len(pairs), statistics.median(pairs), pct(pairs, 0.05),
                pct(pairs, 0.95)),
            "| %s: target bytes per CPU second, observed / twin per pair (low, high: 95 %% "
            "confidence interval of the median) | %.4f | %.4f | %.4f |" % (
                (what,) + median_ci(per_cpu))]
    cmd = " ".join(["scripts/bench-serve.sh"] + [shlex.quote(a) for a in sys.argv[1:]])
    text = "\n".join([
        "## serve: twenty targets, one agent", "",
        "Produced by `%s`; numbers from the last run, not edited." % cmd, "",
        "Machine: %s, %d CPUs, kernel %s." % (platform.machine(), os.cpu_count(),
                                              platform.release()),
        "Targets: goalloc processes (%s and %s, 2 allocating goroutines each; a tiny heap, so "
        "they collect %.0f times a second each (median) while sharing the CPUs: every GC "
        "probe counts), %g s of workload; stripped builds, and builds with memory profiling "
        "linked in (the `pprof` fixture)." % (
            versions[-1], versions[0], statistics.median(gc_rates), SECS),
        "",
        "Per-target cost, side by side: %d rounds per build of %d pairs of identical "
        "processes (%d in all, on %d CPUs), all running at once, `heapscope serve -p` "
        "observing one of each pair, the first in odd rounds and the second in even ones; each "
        "pair compares the observed process's throughput (its own /gc/heap/allocs:bytes per "
        "second) with its twin's. Identical processes run one after the other differ by up to "
        "25 %% on this VM; twins share the machine's state. Throughput still swings with which "
        "process the scheduler favours; bytes per CPU second (the process's threads' CPU time "
        "from schedstat, the probes' traps and BPF programs included, as they run in its "
        "threads) swings less, and is what its throughput would be given the same CPU. Under "
        "`--all` no process would stay unobserved to compare with; the probes a target pays "
        "are the same with `-p`." % (ROUNDS, TARGETS, 2 * TARGETS, os.cpu_count()),
        "Agent cost: %d rounds of %d stripped processes under `heapscope serve --all` "
        "(attached before the workload starts)." % (len(agents), TARGETS), "",
        "| | median | low | high |", "|---|---|---|---|"] + rows + [
        "| agent CPU (%% of one core; low, high: over the rounds) | %.2f | %.2f | %.2f |" % (
            statistics.median(a[0] for a in agents), min(a[0] for a in agents),
            max(a[0] for a in agents)),
        "| agent max RSS (MiB; over the rounds) | %.1f | %.1f | %.1f |" % (
            statistics.median(a[1] for a in agents), min(a[1] for a in agents),
            max(a[1] for a in agents)), "",
        "Goals (issue 12): agent <= 2 % of a core and <= 64 MiB RSS; each target >= 0.99 of "
        "its throughput alone. A target whose profiling was off also pays for the runtime's "
        "own sampling (a stack unwind and a bucket update per sample) once heapscope "
        "switches it on: the difference between the two builds.", ""])
    write_section("serve", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
