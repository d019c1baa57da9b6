"""What the benchmark scripts share. BENCHMARKS.md: each script owns one section between
<!-- NAME --> and <!-- /NAME --> and rewrites only that one. And a process's CPU time."""
import os

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")


def write_section(name, text):
    """Replace section NAME with text (which ends with a newline), keeping the others."""
    old = open(PATH).read() if os.path.exists(PATH) else "# Benchmarks\n"
    begin, end = "<!-- %s -->" % name, "<!-- /%s -->" % name
    block = "%s\n%s%s" % (begin, text, end)
    if begin in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(PATH, "w") as f:
        f.write(new)


def cpu_ns(pid):
    """CPU time of all of a process's threads, in ns (schedstat: /proc/PID/stat counts in
    10 ms ticks, too coarse for a process that gets a twentieth of a CPU for 20 s)."""
    total = 0
    d = "/proc/%d/task" % pid
    for tid in os.listdir(d):
        try:
            with open("%s/%s/schedstat" % (d, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total
