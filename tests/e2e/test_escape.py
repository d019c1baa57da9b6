"""heapscope --source: the compiler's escape analysis beside each live allocation site.

The fixture (tests/fixtures/escape) has one function per escape cause; each allocating line ends
in a "want:" comment naming the cause. For the native toolchain and Debian's go1.19 (the two
wordings of the diagnostics, and both sides of Go 1.25's stack buffer for variable-size make),
heapscope stat --source observes the running fixture and every site it reports must carry the
compiler's message for that line, the flow note that names the reason, and the remedy for that
cause; a site in the dependency outside the tree (tests/fixtures/escapedep) must say it has no
diagnostics, and a line the compiler says nothing about must say so. The same with a -trimpath
build; with a tree at another git revision than the binary's (one warning, and the join still
works where lines match); with no Go toolchain at all (one error line, nothing attached); and
in top's detail view. The source tree is never written to. record --source writes the same
verdicts as labels on the profile's samples (escape=CAUSE or the status, escape_msg=the
compiler's message), which go tool pprof shows (-raw, -tags) and filters on (-tagfocus); a
profile recorded without --source has none.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (FIXTURES, HEAPSCOPE, TOP, Fail, Fixture, Heapscope, Skip, check, done,
                     go_versions, run_test, skip)

SRC = os.path.join(TOP, "tests/fixtures/escape")
DEP = os.path.join(TOP, "tests/fixtures/escapedep")
SAMPLE_BYTES = "4096"   # every site of the fixture gets thousands of samples in 3 s
ATTACH_TIMEOUT = 600    # the compiler runs before attaching; a cold build cache takes a while
GO = "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else "go"

# What the compiler says about each cause's line (Go 1.19 prints constant expressions as
# written, later versions their value), and the note in its -m=2 flow that gives the reason.
MESSAGES = {
    "returned-pointer": (r"&record\{\.\.\.\} escapes to heap", "(return)"),
    "interface-conversion": (r"v escapes to heap", "(assign)"),
    "closure-capture": (r"(moved to heap: n|func literal escapes to heap)", None),
    "non-constant-size": (r"make\(\[\]byte, n\) escapes to heap", "(non-constant size)"),
    "too-large": (r"make\(\[\]byte, (131072|128 << 10)\) escapes to heap",
                  "(too large for stack)"),
    "stored-in-heap": (r"&record\{\.\.\.\} escapes to heap", "(assign)"),
    "sent-on-channel": (r"&record\{\.\.\.\} escapes to heap", "(send)"),
    "leaks-to-callee": (r"&record\{\.\.\.\} escapes to heap", "(call parameter)"),
}


def markers(src):
    """[(line, want, function)] from the "// want:" comments of src/main.go."""
    out, func = [], None
    for no, line in enumerate(open(os.path.join(src, "main.go")), 1):
        m = re.match(r"func (\w+)\(", line)
        if m:
            func = "main." + m.group(1)
        m = re.search(r"// want: (.*)$", line)
        if m and func:
            out.append((no, m.group(1).strip(), func))
    return out


def tree_state(*dirs):
    """Every file under dirs with its size and mtime: to show nothing was written."""
    state = {}
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            for name in files + subdirs:
                p = os.path.join(root, name)
                st = os.lstat(p)
                state[p] = (st.st_size, st.st_mtime_ns)
    return state


def versions():
    """The Go versions with the escape fixture built: native and go1.19 (build-fixtures.sh)."""
    out = []
    for v, why in go_versions():
        if why is None and os.path.exists(os.path.join(FIXTURES, v, "escape-plain")):
            out.append(v)
    return out


def minor(version):
    return int(re.match(r"go1\.(\d+)", version).group(1))


def observe(binary, src, fmt="json", extra=()):
    """Run the fixture, heapscope stat --source src over its workload; (rc, out, err)."""
    fx = Fixture(binary, duration=3)
    try:
        hs = Heapscope(["stat", "-p", str(fx.pid), "-d", "600", "--format", fmt,
                        "--sample-bytes", SAMPLE_BYTES, "--source", src] + list(extra),
                       attach_timeout=ATTACH_TIMEOUT)
        fx.go()
        fx.wait_done()
        rc, out, err = hs.stop(signal.SIGINT)
        fx.finish()
    finally:
        fx.kill()
    check(rc == 0, "heapscope exited %d: %s" % (rc, err.strip()))
    return out, err


def source_warnings(err):
    """heapscope's warnings about --source (the tree, the toolchain) on stderr."""
    return [l for l in err.splitlines() if "warning:" in l and
            ("source" in l or "toolchain" in l)]


def find_site(rep, func, line):
    for f in rep["functions"]:
        if f["function"] != func:
            continue
        for s in f["sites"]:
            if s["line"] == line:
                return s
    return None


def check_site(errors, version, site, line, want, where):
    """The site carries the compiler's message for its cause, the flow note and the remedy."""
    e = site.get("escape") if site else None
    if e is None:
        errors.append("%s: no site / no escape object (%s)" % (where, site))
        return
    if want == "silent":
        if e["status"] != "silent" or e["message"] is not None or e["messages"]:
            errors.append("%s: want silent, got %s %r" % (where, e["status"], e["message"]))
        return
    if want.startswith("outside"):
        if e["status"] != "outside" or e["file"] is not None:
            errors.append("%s: want outside, got %s %s" % (where, e["status"], e["file"]))
        return
    cause = want.split()[0]
    if want == "make+copy":
        # the compiler's reason changed with Go 1.25's stack buffer for variable-size make
        cause = "returned-pointer" if minor(version) >= 25 else "non-constant-size"
    if e["cause"] != cause:
        errors.append("%s: cause %s, want %s (%s)" % (where, e["cause"], cause, e["message"]))
        return
    if not e["remedy"]:
        errors.append("%s: no remedy" % where)
    explaining = [m for m in e["messages"] if m["explains"]]
    if len(explaining) != 1 or explaining[0]["text"] != e["message"]:
        errors.append("%s: the explaining message is not marked: %s" % (where, e["messages"]))
        return
    if cause == "non-constant-size" and minor(version) >= 25 and want != "make+copy":
        # Go 1.25+: a 32-byte stack buffer, and makeslice when larger
        if e["status"] != "does-not-escape" or e["message"] != "make([]byte, n) does not escape":
            errors.append("%s: want the 1.25+ fallback, got %s %r" %
                          (where, e["status"], e["message"]))
        return
    regex, note = MESSAGES[cause]
    if want == "make+copy":
        regex = r"make\(\[\]byte, len\(b\)\) escapes to heap"
    if e["status"] != "escapes" or not re.fullmatch(regex, e["message"] or ""):
        errors.append("%s: message %r (%s), want /%s/" % (where, e["message"], e["status"], regex))
    flow = explaining[0]["flow"]
    if not flow or (note and not any(note in f for f in flow)):
        errors.append("%s: flow without %s: %s" % (where, note, flow))
    if cause == "closure-capture" and e["message"].startswith("moved") and \
            not any("(captured by a closure)" in f for f in flow):
        errors.append("%s: flow without (captured by a closure): %s" % (where, flow))
    if "(inlined)" in want:
        if e["inlined_into"] != "main.inlinedIntoGlobal" or e["line"] != line:
            errors.append("%s: judged at %s:%s inlined into %s, want line %d in "
                          "main.inlinedIntoGlobal" % (where, e["file"], e["line"],
                                                      e["inlined_into"], line))
    elif e["line"] != line or e["file"] != "main.go":
        errors.append("%s: judged at %s:%s" % (where, e["file"], e["line"]))


def check_report(version, rep, src, only_before=None):
    """Every "want:" line of src's main.go against the report; only_before: lines below it
    are not checked (the tree was edited there). Returns the list of errors."""
    errors = []
    mk = markers(src)
    inlined_line = next(line for line, want, func in mk if want == "inlined")
    for line, want, func in mk:
        if only_before and line >= only_before:
            continue
        where = "%s main.go:%d %s (%s)" % (version, line, func, want)
        if want == "inlined":
            continue  # newRecord's own line: checked through its caller's marker
        if "(inlined)" in want:
            # the site is newRecord's line, inlined into this function and judged here
            site = find_site(rep, "main.newRecord", inlined_line)
        elif want.startswith("outside"):
            site = next((f["sites"][0] for f in rep["functions"]
                         if f["function"] == "heapscope.test/escapedep.Clone"), None)
        else:
            site = find_site(rep, func, line)
        check_site(errors, version, site, line, want, where)
    return errors


def test_stat(version, variant):
    binary = os.path.join(FIXTURES, version, "escape-" + variant)
    if not os.path.exists(binary):
        raise Skip("%s not built (scripts/build-fixtures.sh)" % binary)
    before = tree_state(SRC, DEP)
    out, err = observe(binary, SRC)
    check(tree_state(SRC, DEP) == before, "--source wrote into the tree")
    rep = json.loads(out)
    source = rep.get("source")
    check(source and source["toolchain"] == version and source["toolchain_matches"],
          "toolchain: %s" % source)
    check(source["module"] == "heapscope.test/escape", "module: %s" % source)
    check(source["warning"] is None and not source_warnings(err),
          "a warning for the tree the binary was built from: %s" % err.strip())
    errors = check_report(version, rep, SRC)
    check(not errors, "; ".join(errors))


def test_text(version):
    """The text report: the message and cause under the row, the remedy, the outside site."""
    out, err = observe(os.path.join(FIXTURES, version, "escape-plain"), SRC, fmt="text")
    mk = {want: line for line, want, func in markers(SRC)}
    expect = [
        "escape analysis: %s -gcflags=-m=2 on %s (module heapscope.test/escape)" % (version, SRC),
        "escape main.go:%d: &record{...} escapes to heap  [returned pointer]"
        % mk["returned-pointer"],
        "remedy (returned pointer): return a value instead of a pointer",
        "escape main.go:%d: v escapes to heap  [interface conversion]"
        % mk["interface-conversion"],
        "escape main.go:%d: the compiler reported nothing about this allocation" % mk["silent"],
        "escape: not in the --source tree (a dependency or the standard library)",
        "from recs <- (&record{...}) (send)",
    ]
    missing = [e for e in expect if e not in out]
    check(not missing, "missing from the text report: %s\n%s" % (missing, out))


def expected_label(version, want):
    """(escape label, regex of the escape_msg label or None for no such label) that every
    sample of a "want:" line must carry: the verdicts check_site expects of stat's sites."""
    if want == "silent":
        return "silent", None
    if want.startswith("outside"):
        return "outside", None
    cause = want.split()[0]
    if want == "make+copy":
        if minor(version) >= 25:
            return "returned-pointer", r"make\(\[\]byte, len\(b\)\) escapes to heap"
        return "non-constant-size", r"make\(\[\]byte, len\(b\)\) escapes to heap"
    if cause == "non-constant-size" and minor(version) >= 25:
        # Go 1.25+: a 32-byte stack buffer, and makeslice when larger
        return cause, re.escape("make([]byte, n) does not escape")
    return cause, MESSAGES[cause][0]


def pprof_tool(args):
    p = subprocess.run([GO, "tool", "pprof"] + args, capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 0, "go tool pprof %s failed: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


RAW_LOCATION = re.compile(r"^\s*(\d+): 0x[0-9a-f]+ M=\d+ (\S+) (\S+):(\d+):\d+ s=\d+$")
RAW_INLINED = re.compile(r"^\s+(\S+) (\S+):(\d+):\d+ s=\d+$")
RAW_SAMPLE = re.compile(r"^\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+): ([\d ]*)$")


def raw_samples(path):
    """The samples of `go tool pprof -raw`: [(alloc bytes, frames, labels)], frames as
    [(function, line)] leaf first with inlined calls in order, labels {key: value}."""
    locs, samples, cur = {}, [], None
    lines = pprof_tool(["-raw", path]).splitlines()
    section = None
    for line in lines:
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section == "Locations":
            m = RAW_LOCATION.match(line)
            if m:
                cur = locs.setdefault(int(m.group(1)), [])
                cur.append((m.group(2), int(m.group(4))))
                continue
            m = RAW_INLINED.match(line)
            if m and cur is not None:
                cur.append((m.group(1), int(m.group(3))))
        elif section == "Samples:":
            m = RAW_SAMPLE.match(line)
            if m:
                samples.append([int(m.group(2)), [int(x) for x in m.group(5).split()], {}])
            elif samples and re.match(r"^\s+\w+:\[", line):
                # "escape:[too-large] escape_msg:[make([]byte, 131072) escapes to heap]":
                # one value each; messages hold brackets and spaces, never " key:["
                for part in re.split(r" (?=\w+:\[)", line.strip()):
                    key, _, value = part.partition(":[")
                    samples[-1][2][key] = value[:-1]
    out = []
    for alloc, ids, labels in samples:
        out.append((alloc, [f for i in ids for f in locs.get(i, [])], labels))
    return out


def site_of(frames):
    """The allocation site of a sample's frames: the first above the runtime, and its caller."""
    user = [f for f in frames if not f[0].startswith(("runtime.", "internal/runtime/"))]
    return (user[0] if user else None), (user[1] if len(user) > 1 else None)


def record(binary, path, extra=()):
    """Run the fixture, heapscope record -o path over its workload; stderr."""
    fx = Fixture(binary, duration=3)
    try:
        hs = Heapscope(["record", "-p", str(fx.pid), "-d", "600", "-o", path,
                        "--sample-bytes", SAMPLE_BYTES] + list(extra),
                       attach_timeout=ATTACH_TIMEOUT)
        fx.go()
        fx.wait_done()
        rc, out, err = hs.stop(signal.SIGINT)
        fx.finish()
    finally:
        fx.kill()
    check(rc == 0 and os.path.exists(path), "heapscope exited %d: %s" % (rc, err.strip()))
    return err


def test_record(version):
    """record --source: each "want:" line's samples carry its verdict as labels, which -tags
    lists and -tagfocus filters on; the profile says which tree the labels come from."""
    try:
        subprocess.run([GO, "tool", "pprof", "-h"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise Skip("no `go tool pprof` (%s) to read the profiles with" % GO)
    binary = os.path.join(FIXTURES, version, "escape-plain")
    with tempfile.TemporaryDirectory() as d:
        labelled, plain = os.path.join(d, "source.pb.gz"), os.path.join(d, "plain.pb.gz")
        err = record(binary, labelled, ["--source", SRC])
        check("samples labelled" in err, "the written line does not mention labels: %r" % err)
        samples = raw_samples(labelled)
        errors = []
        mk = markers(SRC)
        inlined_line = next(line for line, want, func in mk if want == "inlined")
        for line, want, func in mk:
            if want == "inlined":
                continue  # newRecord's own line: checked through its caller's marker
            where = "%s main.go:%d %s (%s)" % (version, line, func, want)
            if "(inlined)" in want:
                # newRecord's line, inlined into this function: judged at this call
                mine = [s for s in samples if site_of(s[1]) ==
                        (("main.newRecord", inlined_line), (func, line))]
            elif want.startswith("outside"):
                mine = [s for s in samples
                        if (site_of(s[1])[0] or ("",))[0] == "heapscope.test/escapedep.Clone"]
            else:
                mine = [s for s in samples if site_of(s[1])[0] == (func, line)]
            label, msg = expected_label(version, want)
            if not mine:
                errors.append("%s: no sample" % where)
            for alloc, frames, labels in mine:
                if labels.get("escape") != label:
                    errors.append("%s: escape=%s, want %s (%d bytes)" %
                                  (where, labels.get("escape"), label, alloc))
                elif msg is None and "escape_msg" in labels:
                    errors.append("%s: escape_msg=%r, want none" %
                                  (where, labels["escape_msg"]))
                elif msg and not re.fullmatch(msg, labels.get("escape_msg", "")):
                    errors.append("%s: escape_msg=%r, want /%s/" %
                                  (where, labels.get("escape_msg"), msg))
        check(not errors, "; ".join(sorted(set(errors))))
        # every sample with a site above the runtime is labelled; those without, not
        for alloc, frames, labels in samples:
            check(("escape" in labels) == (site_of(frames)[0] is not None),
                  "labels %s on a sample at %s" % (labels, frames[:3]))
        tags = pprof_tool(["-tags", "-sample_index=alloc_space", labelled])
        for want in ("escape:", "escape_msg:", "interface-conversion", "returned-pointer",
                     "outside", "silent", "v escapes to heap"):
            check(want in tags, "-tags lacks %r:\n%s" % (want, tags))
        # -tagfocus selects exactly the samples labelled so: main.interfaceConversion's, and
        # any other boxing the compiler blames on a conversion (main.main's JSON events)
        top = pprof_tool(["-top", "-nodefraction=0", "-unit=B", "-sample_index=alloc_space",
                          "-tagfocus=escape=interface-conversion", labelled])
        flat = {}
        for l in top.splitlines():
            m = re.match(r"^\s*(\d+)B\s.*\s(\S+)$", l)
            if m and int(m.group(1)):
                flat[m.group(2)] = int(m.group(1))
        want = {}
        for alloc, frames, labels in samples:
            if labels.get("escape") == "interface-conversion" and alloc:
                site = site_of(frames)[0][0]
                want[site] = want.get(site, 0) + alloc
        check("main.interfaceConversion" in flat and flat == want,
              "-tagfocus=escape=interface-conversion selects %s, the labels say %s:\n%s" %
              (flat, want, top))
        comments = pprof_tool(["-comments", labelled])
        check("heapscope --source: escape analysis: %s -gcflags=-m=2 on %s" % (version, SRC)
              in comments, "no comment naming the tree and toolchain: %r" % comments)
        # without --source: the profile as before, no escape labels
        record(binary, plain)
        unlabelled = raw_samples(plain)
        check(unlabelled, "no samples without --source")
        check(not any("escape" in l or "escape_msg" in l for _, _, l in unlabelled),
              "escape labels without --source")
        check("--source" not in pprof_tool(["-comments", plain]), "a --source comment")
    print("  %s: %d samples labelled" % (version, sum(1 for s in samples if s[2])))


def test_revision(version):
    """A tree at another revision than the binary's: one warning; sites above the edit still
    carry their messages; a line the edit moved gets none, never another line's."""
    binary = os.path.join(FIXTURES, version, "escape-vcs")
    repo = os.path.join(FIXTURES, version, "escape-vcs-src")
    if not os.path.exists(binary):
        raise Skip("escape-vcs not built (needs git when building the fixtures)")
    tmp = tempfile.mkdtemp(prefix="heapscope-escape-")
    try:
        copy = os.path.join(tmp, "repo")
        shutil.copytree(repo, copy, symlinks=True)
        src = os.path.join(copy, "escape")
        # the same revision: nothing to warn about
        out, err = observe(binary, src)
        rep = json.loads(out)
        check(rep["source"]["warning"] is None and not source_warnings(err),
              "warning at the binary's own revision: %s" % err.strip())
        built = rep["source"]["revision"]
        head = subprocess.run(["git", "-C", copy, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        check(built == head, "revision %s, git says %s" % (built, head))
        # one line inserted above mapGrowth, committed: another revision, lines below moved
        lines = open(os.path.join(src, "main.go")).read().split("\n")
        at = next(i for i, l in enumerate(lines) if l.startswith("func mapGrowth")) - 1
        lines.insert(at, "// a line added after the binary was built")
        open(os.path.join(src, "main.go"), "w").write("\n".join(lines))
        git = ["git", "-C", copy, "-c", "user.name=t", "-c", "user.email=t@localhost"]
        subprocess.run(git + ["commit", "-qam", "edit"], check=True, capture_output=True)
        # heapscope reads HEAD from the repository's files: the branch only in packed-refs
        subprocess.run(git + ["pack-refs", "--all"], check=True, capture_output=True)
        head = subprocess.run(["git", "-C", copy, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        out, err = observe(binary, src)
        rep = json.loads(out)
        warnings = source_warnings(err)
        check(len(warnings) == 1 and "may not be the source of this binary" in warnings[0] and
              "built from revision %s" % built[:12] in warnings[0] and
              "the tree is at %s" % head[:12] in warnings[0],
              "want one warning naming revision %s, got: %s" % (built[:12], err.strip()))
        check(rep["source"]["warning"] == warnings[0].split("warning: ", 1)[1],
              "JSON warning %r" % rep["source"]["warning"])
        errors = check_report(version, rep, SRC, only_before=at + 1)
        check(not errors, "; ".join(errors))
        # make(map) moved down one line: its old line is the inserted comment now
        make_line = next(no for no, l in enumerate(open(os.path.join(SRC, "main.go")), 1)
                         if "m := make(map[int]int)" in l)
        site = find_site(rep, "main.mapGrowth", make_line)
        check(site and site["escape"]["status"] == "silent" and not site["escape"]["messages"],
              "the moved line got messages: %s" % (site and site["escape"]))
    finally:
        shutil.rmtree(tmp)


def test_no_toolchain(version):
    """No Go toolchain on the host: --source fails with one line, before attaching."""
    if not shutil.which("unshare"):
        raise Skip("no unshare to hide the toolchains")
    hide = ["/usr/local/go"] + [os.path.join("/usr/lib", d) for d in os.listdir("/usr/lib")
                                if d.startswith("go-")]
    mounts = "; ".join("mount -t tmpfs none %s" % d for d in hide if os.path.isdir(d))
    # a go that is not a link into the hidden directories would still be found
    mounts += "; for d in /usr/bin /bin; do [ -x $d/go ] && exit 77; done"
    fx = Fixture(os.path.join(FIXTURES, version, "escape-plain"), duration=3)
    try:
        p = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             '%s; exec env PATH=/usr/bin:/bin HOME=/nonexistent "$0" "$@"' % mounts,
             HEAPSCOPE, "stat", "-p", str(fx.pid), "-d", "1", "--source", SRC],
            capture_output=True, text=True, timeout=60)
    finally:
        fx.kill()
    if "mount:" in p.stderr:
        raise Skip("cannot hide the toolchains here: %s" % p.stderr.strip())
    if p.returncode == 77:
        raise Skip("a go in /usr/bin or /bin that is not Debian's link cannot be hidden")
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 1, "exit %d, want 1: %s" % (p.returncode, p.stderr))
    check(len(lines) == 1 and "Go toolchain" in lines[0], "want one line: %r" % p.stderr)
    check(not p.stdout, "printed a report: %s" % p.stdout)


def test_usage():
    p = subprocess.run([HEAPSCOPE, "stat", "-p", "1", "--source", ""], capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 2 and "--source needs a directory" in p.stderr, p.stderr)
    p = subprocess.run([HEAPSCOPE, "stat", "-p", str(os.getpid()), "--source", "/nonexistent"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and
          "/nonexistent" in p.stderr, "exit %d: %r" % (p.returncode, p.stderr))
    p = subprocess.run([HEAPSCOPE, "--help"], capture_output=True, text=True, timeout=30)
    check("--source DIR" in p.stdout, "--help does not document --source")
    p = subprocess.run([HEAPSCOPE, "record", "-p", "1", "-o", "/nonexistent/x", "--folded",
                        "--source", SRC], capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and "--folded stacks carry no labels" in p.stderr,
          "record --folded --source: exit %d: %r" % (p.returncode, p.stderr))
    p = subprocess.run([HEAPSCOPE, "serve", "-p", "1", "--source", SRC], capture_output=True,
                       text=True, timeout=30)
    check(p.returncode == 2 and "--source" in p.stderr, "serve --source: exit %d: %r" %
          (p.returncode, p.stderr))


def test_top(version):
    """top's detail view: the compiler's verdict and the remedy naming the cause."""
    from test_top import Pane
    fx = Fixture(os.path.join(FIXTURES, version, "escape-plain"), duration=120)
    pane = None
    try:
        pane = Pane(["top", "-p", str(fx.pid), "-d", "0.5", "--sample-bytes", SAMPLE_BYTES,
                     "--source", SRC], width=160, height=45)
        fx.go()
        pane.wait_text("main.returnedPointer", timeout=ATTACH_TIMEOUT)
        pane.keys("/", *list("returnedPointer"), "Enter")
        pane.wait(lambda s: "Filter: returnedPointer" in s, "filter")
        pane.keys("Enter")
        pane.wait_text("Remedy: returned pointer: return a value instead of a pointer")
        pane.wait_text("&record{...} escapes to heap  [returned pointer]")
        pane.wait_text("from return &record{...} (return)")
        pane.keys("q")
        pane.wait_text("TOP-EXIT=0")
    finally:
        if pane:
            pane.close()
        fx.kill()


def main():
    vs = versions()
    if not vs:
        skip("escape_fixtures", "escape fixture not built (scripts/build-fixtures.sh)")
    for v in vs:
        run_test("escape_%s_plain" % v, test_stat, v, "plain")
        run_test("escape_%s_trimpath" % v, test_stat, v, "trimpath")
        run_test("escape_%s_revision" % v, test_revision, v)
    if vs:
        native = vs[-1]
        run_test("escape_%s_text" % native, test_text, native)
        run_test("escape_%s_top" % native, test_top, native)
        run_test("escape_%s_record" % native, test_record, native)
        run_test("escape_no_toolchain", test_no_toolchain, native)
    run_test("escape_usage", test_usage)
    done()


if __name__ == "__main__":
    main()
