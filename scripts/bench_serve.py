"""Driver for scripts/bench-serve.sh: twenty fixture processes of two binaries, alone and
under `heapscope serve --all`, in alternating rounds; each target's throughput is its own
/gc/heap/allocs:bytes per second, the agent's CPU and RSS come from /proc. Writes the 'serve'
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
from benchmarks_md import write_section  # noqa

SECS = float(sys.argv[1])
ROUNDS = int(sys.argv[2])
TARGETS = int(sys.argv[3])


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


def start_serve():
    p = subprocess.Popen([HEAPSCOPE, "serve", "--all", "--listen", "127.0.0.1:0"],
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


def one_round(binaries, observed):
    serve = port = None
    if observed:
        serve, port, err = start_serve()
    fxs = [Fixture(binaries[i % len(binaries)], duration=SECS) for i in range(TARGETS)]
    try:
        if observed:
            deadline = time.monotonic() + 120
            while not attached(port, [f.pid for f in fxs]):
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not attach every target in 120 s")
                time.sleep(0.5)
            cpu0, t0 = cpu_s(serve.pid), time.monotonic()
        for f in fxs:
            f.go()
        dones = [f.wait_done(timeout=SECS * 20 + 120) for f in fxs]
        agent = None
        if observed:
            agent = ((cpu_s(serve.pid) - cpu0) / (time.monotonic() - t0) * 100,
                     status_kib(serve.pid, "VmHWM") / 1024)
        for f in fxs:
            f.finish()
    finally:
        for f in fxs:
            f.kill()
        if serve:
            serve.send_signal(2)
            serve.wait(60)
    return [d["alloc_bytes"] / d["duration_s"] for d in dones], agent


def main():
    versions = [v for v, why in go_versions() if why is None]
    binaries = [fixture(versions[-1], "stripped"), fixture(versions[0], "stripped")]
    alone, observed, agents = [], [], []
    for r in range(ROUNDS):
        for mode in ((False, True) if r % 2 == 0 else (True, False)):
            tps, agent = one_round(binaries, mode)
            (observed if mode else alone).append(tps)
            if agent:
                agents.append(agent)
            print("round %d %-9s median %.1f MB/s%s" % (
                r + 1, "serve" if mode else "alone", statistics.median(tps) / 1e6,
                "  agent %.2f %% of a core, %.1f MiB" % agent if agent else ""), flush=True)
    # Per target slot, the ratio of its observed to its alone throughput in the same round pair.
    ratios = sorted(o / a for oa, aa in zip(observed, alone) for o, a in zip(oa, aa))
    cmd = " ".join(["scripts/bench-serve.sh"] + [shlex.quote(a) for a in sys.argv[1:]])
    text = "\n".join([
        "## serve: twenty targets, one agent", "",
        "Produced by `%s`; numbers from the last run, not edited." % cmd, "",
        "Machine: %s, %d CPUs, kernel %s." % (platform.machine(), os.cpu_count(),
                                              platform.release()),
        "Targets: %d goalloc processes (%s and %s, stripped, 2 allocating goroutines each), "
        "%g s of workload, all at once; %d rounds alternating alone and under `heapscope serve "
        "--all` (attached before the workload starts). Throughput is each target's own "
        "/gc/heap/allocs:bytes per second; 'attached / alone' pairs each target slot with "
        "itself in the neighbouring round." % (
            TARGETS, versions[-1], versions[0], SECS, ROUNDS), "",
        "| | median | low | high |", "|---|---|---|---|",
        "| target throughput, attached / alone (low, high: 5th, 95th percentile of the "
        "target slots) | %.3f | %.3f | %.3f |" % (
            statistics.median(ratios), ratios[int(0.05 * (len(ratios) - 1))],
            ratios[int(0.95 * (len(ratios) - 1))]),
        "| agent CPU (%% of one core; low, high: over the rounds) | %.2f | %.2f | %.2f |" % (
            statistics.median(a[0] for a in agents), min(a[0] for a in agents),
            max(a[0] for a in agents)),
        "| agent max RSS (MiB; over the rounds) | %.1f | %.1f | %.1f |" % (
            statistics.median(a[1] for a in agents), min(a[1] for a in agents),
            max(a[1] for a in agents)), "",
        "Goals (issue 12): agent <= 2 % of a core and <= 64 MiB RSS; each target >= 0.99 of "
        "its throughput alone.", ""])
    write_section("serve", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
