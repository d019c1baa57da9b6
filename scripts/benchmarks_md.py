"""BENCHMARKS.md is shared by several benchmark scripts: each owns one section between
<!-- NAME --> and <!-- /NAME --> and rewrites only that one."""
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
