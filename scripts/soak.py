"""Driver for scripts/soak.sh: heapscope serve --all beside caddy under wrk, scraped by a real
Prometheus, for MINUTES. Writes the 'soak' section of BENCHMARKS.md."""
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests/e2e"))
from harness import HEAPSCOPE, LineReader  # noqa
from benchmarks_md import write_section  # noqa

MINUTES = float(sys.argv[1])
SCRAPE_S = 5
SAMPLE_S = 10
WARMUP_S = 300 if MINUTES >= 20 else MINUTES * 60 / 4
CADDY_PORT, CADDY_ADMIN, PROM_PORT = 18080, 12019, 19090


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mem_mib(pid):
    """VmRSS and its parts: RssAnon (heapscope's own heap), RssFile (files it maps: its
    libraries and the targets' executables it reads through libelf), RssShmem."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1]) / 1024
    return out


def rss_by_mapping(pid):
    """Resident KiB per mapped object (file path, [heap], anon_inode:bpf-map, ...)."""
    out, name = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split()
            if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):
                name = first[5] if len(first) > 5 else "[anon]"
            elif first[0] == "Rss:":
                out[name] = out.get(name, 0) + int(first[1])
    return out


def wait_http(url, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("soak: %s did not answer at %s" % (what, url))


def prom_query(q, at=None):
    args = {"query": q}
    if at:
        args["time"] = "%.3f" % at
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (PROM_PORT, urllib.parse.urlencode(args))
    r = json.load(urllib.request.urlopen(url, timeout=30))
    res = r["data"]["result"]
    return [(x["metric"], float(x["value"][1])) for x in res]


def main():
    work = tempfile.mkdtemp(prefix="heapscope-soak-")
    procs = []
    try:
        www = os.path.join(work, "www")
        os.mkdir(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<html><body>%s</body></html>\n" % ("heapscope soak " * 200))
        caddyfile = os.path.join(work, "Caddyfile")
        with open(caddyfile, "w") as f:
            f.write("{\n\tadmin 127.0.0.1:%d\n}\n"
                    "http://127.0.0.1:%d {\n\troot * %s\n\tfile_server\n}\n" % (
                        CADDY_ADMIN, CADDY_PORT, www))
        caddy = subprocess.Popen(["caddy", "run", "--config", caddyfile, "--adapter",
                                  "caddyfile"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, cwd=work,
                                 env=dict(os.environ, HOME=work, XDG_DATA_HOME=work,
                                          XDG_CONFIG_HOME=work))
        procs.append(caddy)
        wait_http("http://127.0.0.1:%d/" % CADDY_PORT, "caddy")
        serve = subprocess.Popen([HEAPSCOPE, "serve", "--all", "--listen", "127.0.0.1:0"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        procs.append(serve)
        err = LineReader(serve.stderr)
        while True:
            line = err.readline(time.monotonic() + 60, "serve to listen")
            m = re.search(r"\(port (\d+)\)", line)
            if m:
                port = int(m.group(1))
                break
        promcfg = os.path.join(work, "prometheus.yml")
        with open(promcfg, "w") as f:
            f.write("global:\n  scrape_interval: %ds\n  scrape_timeout: %ds\n"
                    "scrape_configs:\n"
                    "  - job_name: heapscope\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n"
                    "  - job_name: caddy\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (SCRAPE_S, SCRAPE_S - 1, port,
                                                          CADDY_ADMIN))
        prom = subprocess.Popen(["prometheus", "--config.file", promcfg, "--storage.tsdb.path",
                                 os.path.join(work, "tsdb"), "--web.listen-address",
                                 "127.0.0.1:%d" % PROM_PORT], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(prom)
        wait_http("http://127.0.0.1:%d/-/ready" % PROM_PORT, "prometheus")
        secs = int(MINUTES * 60)
        wrk = subprocess.Popen(["wrk", "-t1", "-c8", "-d%ds" % (secs + 30),
                                "http://127.0.0.1:%d/" % CADDY_PORT],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(wrk)
        t0 = time.monotonic()
        wall0 = time.time()
        cpu0 = cpu_s(serve.pid)
        samples = []  # (seconds since start, mem_mib(), cpu s)
        maps_warm = None
        while time.monotonic() - t0 < secs:
            time.sleep(SAMPLE_S)
            if serve.poll() is not None:
                raise SystemExit("soak: heapscope serve exited %d: %s" % (
                    serve.returncode, err.rest()))
            samples.append((time.monotonic() - t0, mem_mib(serve.pid),
                            cpu_s(serve.pid) - cpu0))
            if maps_warm is None and samples[-1][0] >= WARMUP_S:
                maps_warm = rss_by_mapping(serve.pid)
            if len(samples) % 30 == 0:
                m = samples[-1][1]
                print("soak: %4.0f s  RSS %.1f MiB (anon %.1f, file %.1f)  CPU %.2f %% of a "
                      "core" % (samples[-1][0], m["VmRSS"], m["RssAnon"], m["RssFile"],
                                100 * samples[-1][2] / samples[-1][0]), flush=True)
        maps_end = rss_by_mapping(serve.pid)
        wall1 = time.time()
        caddy_pid = caddy.pid
        rng = "%ds" % (secs - 30)
        up = prom_query('count_over_time(up{job="heapscope"}[%s])' % rng, wall1)
        ok = prom_query('sum_over_time(up{job="heapscope"}[%s])' % rng, wall1)
        dur = prom_query('max_over_time(scrape_duration_seconds{job="heapscope"}[%s])' % rng,
                         wall1)
        ours = prom_query('rate(heapscope_alloc_bytes_total{pid="%d"}[%s])' % (caddy_pid, rng),
                          wall1)
        truth = prom_query('rate(go_memstats_alloc_bytes_total{job="caddy"}[%s])' % rng, wall1)
        series = prom_query('count({job="heapscope"})', wall1)
        wrk.send_signal(signal.SIGINT)
        wrk_out = wrk.communicate(timeout=60)[0]
        reqs = re.search(r"Requests/sec:\s+([\d.]+)", wrk_out or "")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(work, ignore_errors=True)
    warm = [s for s in samples if s[0] >= WARMUP_S] or samples
    cpu_pct = 100 * samples[-1][2] / samples[-1][0]
    scrapes = int(up[0][1]) if up else 0
    failed = scrapes - int(ok[0][1]) if ok else scrapes
    ratio = ours[0][1] / truth[0][1] if ours and truth and truth[0][1] else float("nan")
    minutes = max((samples[-1][0] - warm[0][0]) / 60, 1e-9)

    half = [s for s in samples if s[0] >= samples[-1][0] / 2]

    def mem_row(key, what):
        w, e = warm[0][1][key], samples[-1][1][key]
        h = half[0][1][key]
        half_min = max((samples[-1][0] - half[0][0]) / 60, 1e-9)
        return "| %s | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
            what, w, e, max(s[1][key] for s in samples), (e - w) * 1024 / minutes,
            (e - h) * 1024 / half_min)
    grew = sorted(((maps_end.get(k, 0) - (maps_warm or {}).get(k, 0), k) for k in maps_end),
                  reverse=True)
    grew = ", ".join("%s %+d KiB" % (k, d) for d, k in grew[:4] if d > 0) or "none"
    cmd = "scripts/soak.sh %s" % sys.argv[1]
    text = "\n".join([
        "## serve soak: a loaded caddy, scraped by Prometheus", "",
        "Produced by `%s`; numbers from the last run, not edited." % cmd, "",
        "Machine: %s, %d CPUs, kernel %s. %s to %s UTC." % (
            platform.machine(), os.cpu_count(), platform.release(),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(wall0)),
            time.strftime("%H:%M", time.gmtime(wall1))),
        "`heapscope serve --all` on every Go process of the host, beside Debian's caddy "
        "(go1.19, stripped) serving a file to `wrk -t1 -c8` on loopback (%s requests/s) and "
        "Debian's Prometheus scraping heapscope and caddy every %d s, for %g minutes; the "
        "agent's RSS and CPU sampled every %d s." % (
            reqs.group(1) if reqs else "?", SCRAPE_S, MINUTES, SAMPLE_S), "",
        "| agent memory (MiB) | after %d s warm-up | at the end | max | growth after warm-up "
        "(KiB/min) | growth over the second half (KiB/min) |" % WARMUP_S,
        "|---|---|---|---|---|---|",
        mem_row("VmRSS", "RSS"),
        mem_row("RssAnon", "of which anonymous (heapscope's heap)"),
        mem_row("RssFile", "of which file-backed (libraries, BPF maps, and the targets' "
                "executables, read through mmap as new code is symbolized)"), "",
        "| | value |", "|---|---|",
        "| agent CPU (%% of one core, whole run) | %.2f |" % cpu_pct,
        "| scrapes of heapscope by Prometheus / failed | %d / %d |" % (scrapes, failed),
        "| slowest scrape (s) | %.4f |" % (dur[0][1] if dur else float("nan")),
        "| series exposed at the end | %d |" % (int(series[0][1]) if series else 0),
        "| caddy's allocation rate: heapscope / caddy's own go_memstats_alloc_bytes_total "
        "| %.3f |" % ratio, "",
        "Resident growth after warm-up by mapping: %s." % grew, "",
        "Goals (issue 12): RSS flat after warm-up, no scrape failing.", ""])
    write_section("soak", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
