// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "buildinfo.h"
#include "goelf.h"
#include "http.h"
#include "loop.h"
#include "metrics.h"
#include "proc.h"
#include "prom.h"
#include "record.h"
#include "serve.h"
#include "session.h"
#include "util.h"

/* Processes younger than this are looked at on a later scan: the runtime sets MemProfileRate
 * during its start-up (schedinit), and a value written before that would be overwritten. */
#define MIN_AGE_MS 1000
/* Executables classified as Go or not, remembered by device and inode. */
#define MAX_CLASSES 4096

/* One set of probes per executable file, shared by every process running it: the kernel
 * filters nothing by process then, the BPF programs do by their targets map, so the cost
 * grows with distinct binaries, not with targets x probes. */
struct serve_binary {
	dev_t dev;
	ino_t ino;
	struct bpf_link **links;
	size_t nlinks;
	bool gc_on, assist_on;	/* the GC and mark-assist probes are among the links */
	int refs;
};

struct serve_target {
	pid_t pid;
	uint64_t start_ticks;
	bool attached;
	bool explicit;		/* named with -p */
	struct session s;	/* attached only */
	struct series_cap *cap;
	struct serve_binary *bin;
	char comm[32], go_version[64], cgroup[256], exe[512], reason[256];
};

struct exe_class {
	dev_t dev;
	ino_t ino;
	bool is_go;
};

struct serve {
	const struct serve_opts *o;
	struct tracer tr;
	struct loop l;
	struct http_server *http;
	struct prom_writer *prom;
	int sigfd, scanfd, pidfd_ep;
	struct serve_target **t;
	size_t nt, capt;
	struct serve_binary **bins;
	size_t nbins;
	struct exe_class *classes;
	size_t nclasses;
	uint64_t scrapes;
	double last_scrape_s;
	/* the last error logged while attaching: the reason a target is unsupported */
	char captured[256];
};

static struct serve *capturing;

static void capture_sink(int level, const char *msg)
{
	if (level == LOG_ERR && capturing) {
		snprintf(capturing->captured, sizeof(capturing->captured), "%s", msg);
		return;
	}
	if (level == LOG_DBG && !log_verbose())
		return;
	fprintf(stderr, "heapscope: %s%s\n", level == LOG_WARN ? "warning: " : "", msg);
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* The cgroup a process runs in (v2's single line, or the first hierarchy): it names the
 * container or the systemd unit. */
static void read_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64], line[512], *p;
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		p = strchr(line, ':');
		p = p ? strchr(p + 1, ':') : NULL;
		if (!p)
			continue;
		snprintf(buf, len, "%s", p + 1);
		if (!strncmp(line, "0::", 3))
			break;
	}
	fclose(f);
}

static struct serve_target *find_target(struct serve *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->nt; i++)
		if (sv->t[i]->pid == pid)
			return sv->t[i];
	return NULL;
}

static void binary_put(struct serve *sv, struct serve_binary *b)
{
	if (!b || --b->refs)
		return;
	for (size_t i = 0; i < b->nlinks; i++)
		bpf_link__destroy(b->links[i]);
	free(b->links);
	for (size_t i = 0; i < sv->nbins; i++) {
		if (sv->bins[i] == b) {
			sv->bins[i] = sv->bins[--sv->nbins];
			break;
		}
	}
	free(b);
}

static void target_free(struct serve *sv, struct serve_target *t)
{
	if (t->attached) {
		if (t->s.t.proc.pidfd >= 0)
			epoll_ctl(sv->pidfd_ep, EPOLL_CTL_DEL, t->s.t.proc.pidfd, NULL);
		session__detach(&t->s);
	}
	session__close(&t->s);
	binary_put(sv, t->bin);
	series_cap__free(t->cap);
	free(t);
}

static void drop_target(struct serve *sv, size_t i, const char *why)
{
	struct serve_target *t = sv->t[i];

	if (t->attached)
		log_info("PID %d (%s) %s: detached", t->pid, t->comm, why);
	target_free(sv, t);
	sv->t[i] = sv->t[--sv->nt];
}

static int add_record(struct serve *sv, struct serve_target *t)
{
	if (sv->nt == sv->capt) {
		size_t ncap = sv->capt ? sv->capt * 2 : 16;
		struct serve_target **p = realloc(sv->t, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		sv->t = p;
		sv->capt = ncap;
	}
	sv->t[sv->nt++] = t;
	return 0;
}

static struct serve_binary *binary_get(struct serve *sv, struct serve_target *t)
{
	struct serve_binary *b, **p;
	int err;

	for (size_t i = 0; i < sv->nbins; i++) {
		b = sv->bins[i];
		if (b->dev == t->s.t.proc.exe_dev && b->ino == t->s.t.proc.exe_ino) {
			b->refs++;
			return b;
		}
	}
	b = calloc(1, sizeof(*b));
	p = realloc(sv->bins, (sv->nbins + 1) * sizeof(*p));
	if (!b || !p) {
		free(b);
		if (p)
			sv->bins = p;
		return NULL;
	}
	sv->bins = p;
	b->dev = t->s.t.proc.exe_dev;
	b->ino = t->s.t.proc.exe_ino;
	err = session__attach_links(&t->s, -1, &b->links, &b->nlinks, &b->gc_on,
					    &b->assist_on);
	if (err) {
		free(b);
		return NULL;
	}
	b->refs = 1;
	sv->bins[sv->nbins++] = b;
	return b;
}

/* Attach to pid, or remember why not. 0, or -ESRCH/-ESTALE for a process worth another look
 * later (gone, or caught in an exec), or another -errno (recorded as unsupported). */
static int attach(struct serve *sv, pid_t pid, uint64_t start_ticks, bool explicit)
{
	struct session_opts so = { .pid = pid, .mode = MODE_SAMPLED,
				   .sample_bytes = sv->o->sample_bytes,
				   .read_only = sv->o->read_only, .caller_attaches = true };
	struct serve_target *t = calloc(1, sizeof(*t));
	struct epoll_event ev = { .events = EPOLLIN };
	char path[64];
	int err;

	if (!t)
		return -ENOMEM;
	t->pid = pid;
	t->start_ticks = start_ticks;
	t->explicit = explicit;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	read_line(path, t->comm, sizeof(t->comm));
	read_cgroup(pid, t->cgroup, sizeof(t->cgroup));
	sv->captured[0] = 0;
	capturing = sv;
	err = session__open(&t->s, &sv->tr, &so);
	if (!err) {
		t->bin = binary_get(sv, t);
		err = t->bin ? session__start(&t->s, t->bin->gc_on, t->bin->assist_on) : -EINVAL;
	}
	capturing = NULL;
	snprintf(t->exe, sizeof(t->exe), "%s", t->s.t.exe ? t->s.t.exe : "");
	snprintf(t->go_version, sizeof(t->go_version), "%s", t->s.t.ver.str);
	if (!err) {
		t->cap = series_cap__new(sv->o->max_functions);
		ev.data.ptr = t;
		if (!t->cap || (t->s.t.proc.pidfd >= 0 &&
				epoll_ctl(sv->pidfd_ep, EPOLL_CTL_ADD, t->s.t.proc.pidfd, &ev)))
			err = -ENOMEM;
	}
	if (!err && !(err = add_record(sv, t))) {
		t->attached = true;
		log_info("observing PID %d (%s, %s)", pid, t->exe, t->go_version);
		return 0;
	}
	/* What to say about it, if anything: a race is not the process's fault. */
	snprintf(t->reason, sizeof(t->reason), "%s",
		 sv->captured[0] ? sv->captured : strerror(-err));
	session__close(&t->s);
	binary_put(sv, t->bin);
	t->bin = NULL;
	series_cap__free(t->cap);
	t->cap = NULL;
	if (err == -ESRCH || err == -ESTALE) {
		if (explicit)
			log_err("%s", t->reason);
		free(t);
		return err;
	}
	log_msg(explicit ? LOG_ERR : LOG_INFO, "not observing PID %d: %s", pid, t->reason);
	if (add_record(sv, t)) {
		free(t);
		return -ENOMEM;
	}
	return err;
}

/* Go or not, by its build info; remembered per file, so each binary is read once. */
static bool is_go(struct serve *sv, pid_t pid)
{
	char path[64];
	struct stat st;
	struct go_version v;
	struct goelf *g;
	bool go;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return false;	/* kernel thread, zombie, or gone */
	for (size_t i = 0; i < sv->nclasses; i++)
		if (sv->classes[i].dev == st.st_dev && sv->classes[i].ino == st.st_ino)
			return sv->classes[i].is_go;
	g = goelf__open(path);
	err = g ? buildinfo__read(g, &v) : -ENOEXEC;
	goelf__close(g);
	/* too old to observe is still Go: it is listed with the reason */
	go = !err || err == -ENOTSUP;
	if (!sv->classes)
		sv->classes = calloc(MAX_CLASSES, sizeof(*sv->classes));
	if (sv->classes) {
		size_t k = sv->nclasses < MAX_CLASSES ? sv->nclasses++ : (size_t)rand() % MAX_CLASSES;

		sv->classes[k] = (struct exe_class){ st.st_dev, st.st_ino, go };
	}
	return go;
}

static double boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --all: every Go process, new ones within a scan interval (plus MIN_AGE_MS); records of
 * processes that are gone are dropped. */
static void scan(struct serve *sv)
{
	long hz = sysconf(_SC_CLK_TCK);
	double now = boot_ms();
	struct dirent *e;
	DIR *d;

	/* Unsupported processes that exited (or whose PID now names another): forget them. */
	for (size_t i = 0; i < sv->nt;) {
		struct serve_target *t = sv->t[i];
		uint64_t start;

		if (!t->attached && (proc__start_ticks(t->pid, &start) || start != t->start_ticks)) {
			drop_target(sv, i, "exited");
			continue;
		}
		i++;
	}
	if (!sv->o->all)
		return;
	d = opendir("/proc");
	while (d && (e = readdir(d))) {
		uint64_t start;
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid() || find_target(sv, (pid_t)pid))
			continue;
		if (proc__start_ticks((pid_t)pid, &start) ||
		    now - start * 1e3 / (hz > 0 ? hz : 100) < MIN_AGE_MS)
			continue;
		if (is_go(sv, (pid_t)pid))
			attach(sv, (pid_t)pid, start, false);
	}
	if (d)
		closedir(d);
}

static int on_scan(void *ctx, int fd, uint32_t events)
{
	struct serve *sv = ctx;
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	scan(sv);
	return 0;
}

static void drop_execed(struct serve *sv)
{
	for (size_t i = 0; i < sv->nt;) {
		if (sv->t[i]->attached && sv->t[i]->s.target_execed) {
			drop_target(sv, i, "called execve");
			continue;
		}
		i++;
	}
}

static int on_ring(void *ctx, int fd, uint32_t events)
{
	struct serve *sv = ctx;
	int err = tracer__poll(&sv->tr);

	drop_execed(sv);
	return err;
}

static int on_exit_fd(void *ctx, int fd, uint32_t events)
{
	struct serve *sv = ctx;
	struct epoll_event evs[32];
	int n = epoll_wait(sv->pidfd_ep, evs, 32, 0);

	for (int k = 0; k < n; k++) {
		for (size_t i = 0; i < sv->nt; i++) {
			if (sv->t[i] == evs[k].data.ptr) {
				sv->t[i]->s.target_exited = true;
				drop_target(sv, i, "exited");
				break;
			}
		}
	}
	return 0;
}

static int on_signal(void *ctx, int fd, uint32_t events)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return LOOP_STOP;
}

static void self_usage(struct metrics_self *m)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long size, resident;
	struct rusage ru;
	FILE *f;

	if (!getrusage(RUSAGE_SELF, &ru))
		m->cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
			   ru.ru_stime.tv_usec / 1e6;
	f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%lu %lu", &size, &resident) == 2)
		m->rss_bytes = (uint64_t)resident * (page > 0 ? page : 4096);
	if (f)
		fclose(f);
}

/* Bring every target up to date and build the exposition, from this one moment. */
static int build_exposition(struct serve *sv, struct metrics_target **out, size_t *n)
{
	struct metrics_target *mt = calloc(sv->nt ? sv->nt : 1, sizeof(*mt));
	struct metrics_self self = { .scrape_duration_s = sv->last_scrape_s,
				     .scrapes = sv->scrapes };
	size_t k = 0;
	int err = 0;

	if (!mt)
		return -ENOMEM;
	tracer__poll(&sv->tr);
	drop_execed(sv);
	for (size_t i = 0; i < sv->nt && !err; i++) {
		struct serve_target *t = sv->t[i];
		struct metrics_target *m = &mt[k++];

		m->pid = t->pid;
		m->comm = t->comm;
		m->exe = t->exe;
		m->go_version = t->go_version;
		m->cgroup = t->cgroup;
		m->attached = t->attached;
		m->state = t->attached ? "attached" : "unsupported";
		m->reason = t->attached ? NULL : t->reason;
		if (!t->attached)
			continue;
		struct agg_totals tot;
		uint64_t cpu;

		session__sync(&t->s);
		agg__totals(t->s.agg, &tot);
		m->sample_rate = t->s.rate;
		m->sampler_by_heapscope = t->s.rate_written;
		m->alloc_bytes = tot.bytes;
		m->alloc_objects = tot.objects;
		err = series_cap__update(t->cap, t->s.agg, &m->funcs, &m->nfuncs);
		self.series_overflow += series_cap__overflow(t->cap);
		m->gc_on = t->s.gc_on;
		m->assist_on = t->s.assist_on;
		if (m->gc_on) {
			struct gc_totals *g = malloc(sizeof(*g));

			if (g)
				gc_state__totals(t->s.gc, g);
			m->gc = g;
		}
		m->cpu_known = t->s.cpu_known && !proc__cpu_ns(t->pid, &cpu) &&
			       cpu >= t->s.cpu_start_ns;
		if (m->cpu_known)
			m->process_cpu_s = (cpu - t->s.cpu_start_ns) / 1e9;
		m->lost_events = session__lost(&t->s);
	}
	self_usage(&self);
	prom__reset(sv->prom);
	err = err ?: metrics__render(sv->prom, mt, k, &self);
	*out = mt;
	*n = k;
	return err;
}

static void free_exposition(struct metrics_target *mt, size_t n)
{
	for (size_t i = 0; mt && i < n; i++)
		free((void *)mt[i].gc);
	free(mt);
}

static int on_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct serve *sv = ctx;
	const char *ct;
	enum prom_format fmt = prom__negotiate(http_request__header(req, "Accept"), &ct);
	uint64_t t0 = now_monotonic_ns();
	struct metrics_target *mt = NULL;
	size_t n = 0;
	int err;

	err = build_exposition(sv, &mt, &n);
	err = err ?: prom__render(sv->prom, fmt, &resp->body);
	free_exposition(mt, n);
	if (err) {
		log_warn("cannot build /metrics: %s", strerror(-err));
		return err;
	}
	resp->content_type = ct;
	sv->scrapes++;
	sv->last_scrape_s = (now_monotonic_ns() - t0) / 1e9;
	return 0;
}

static void html_escaped(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': strbuf_printf(sb, "&lt;"); break;
		case '>': strbuf_printf(sb, "&gt;"); break;
		case '&': strbuf_printf(sb, "&amp;"); break;
		case '"': strbuf_printf(sb, "&quot;"); break;
		default: strbuf_putc(sb, *s);
		}
	}
}

static int on_index(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct serve *sv = ctx;
	struct strbuf *sb = &resp->body;

	resp->content_type = "text/html; charset=utf-8";
	strbuf_printf(sb, "<!DOCTYPE html>\n<html><head><title>heapscope</title></head><body>\n"
			  "<h1>heapscope</h1>\n<p><a href=\"/metrics\">Metrics</a>; heap profiles "
			  "for go tool pprof: /debug/pprof/heap?pid=N, /debug/pprof/allocs?pid=N</p>\n"
			  "<table border=\"1\">\n<tr><th>PID</th><th>command</th><th>Go</th>"
			  "<th>state</th><th>executable</th><th>cgroup</th></tr>\n");
	for (size_t i = 0; i < sv->nt; i++) {
		const struct serve_target *t = sv->t[i];

		strbuf_printf(sb, "<tr><td>%d</td><td>", t->pid);
		html_escaped(sb, t->comm);
		strbuf_printf(sb, "</td><td>");
		html_escaped(sb, t->go_version);
		strbuf_printf(sb, "</td><td>");
		html_escaped(sb, t->attached ? "attached" : t->reason);
		strbuf_printf(sb, "</td><td>");
		html_escaped(sb, t->exe);
		strbuf_printf(sb, "</td><td>");
		html_escaped(sb, t->cgroup);
		strbuf_printf(sb, "</td></tr>\n");
	}
	strbuf_printf(sb, "</table>\n</body></html>\n");
	return 0;
}

static int pprof_error(struct http_response *resp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pprof_error(struct http_response *resp, unsigned status, const char *fmt, ...)
{
	va_list ap;

	resp->status = status;
	va_start(ap, fmt);
	strbuf_vprintf(&resp->body, fmt, ap);
	va_end(ap);
	strbuf_putc(&resp->body, '\n');
	return 0;
}

/* /debug/pprof/heap and /debug/pprof/allocs of one target (?pid=N; optional when exactly one
 * is attached), what pprof.WriteHeapProfile would write inside it: go tool pprof, Grafana
 * Alloy and Parca pull these as they would from net/http/pprof. Errors are plain text with a
 * status saying whose fault it is. */
static int on_pprof(struct serve *sv, enum record_kind kind, const struct http_request *req,
		    struct http_response *resp)
{
	const char *arg = http_request__query(req, "pid");
	struct serve_target *t = NULL;
	size_t attached = 0, len = 0;
	void *data = NULL;
	char *end;
	long pid = 0;
	int err;

	/* A delta (or text) profile is not what this answers: say so rather than hand back the
	 * cumulative one under that name. */
	if (http_request__query(req, "seconds") || http_request__query(req, "debug"))
		return pprof_error(resp, 400, "only the binary cumulative profile is served: drop "
				   "seconds= and debug=");
	if (arg) {
		errno = 0;
		pid = strtol(arg, &end, 10);
		if (errno || end == arg || *end || pid <= 0 || pid > INT32_MAX)
			return pprof_error(resp, 400, "pid=%s is not a process ID", arg);
	}
	for (size_t i = 0; i < sv->nt; i++) {
		if (!sv->t[i]->attached)
			continue;
		attached++;
		if (!arg || sv->t[i]->pid == pid)
			t = sv->t[i];
	}
	if (!arg && attached != 1)
		return pprof_error(resp, 400, "%zu processes are observed: name one with ?pid=N "
				   "(see /)", attached);
	if (!t)
		return pprof_error(resp, 404, "PID %ld is not observed by this heapscope (see /)",
				   pid);
	err = record__profile(&t->s, kind, NULL, &data, &len);
	if (err == -ENODATA)
		return pprof_error(resp, 404, "PID %d has no heap profile: its memory profiling is "
				   "off and heapscope runs --read-only, or the profile could not be "
				   "located in this binary", t->pid);
	if (err)
		return err;
	resp->body.buf = data;
	resp->body.len = resp->body.cap = len;
	resp->content_type = "application/octet-stream";
	resp->compressed = true;
	return 0;
}

static int on_pprof_heap(void *ctx, const struct http_request *req, struct http_response *resp)
{
	return on_pprof(ctx, RECORD_HEAP, req, resp);
}

static int on_pprof_allocs(void *ctx, const struct http_request *req, struct http_response *resp)
{
	return on_pprof(ctx, RECORD_ALLOCS, req, resp);
}

static void serve_free(struct serve *sv)
{
	http__stop(sv->http);
	for (size_t i = 0; i < sv->nt; i++)
		target_free(sv, sv->t[i]);
	free(sv->t);
	free(sv->bins);
	free(sv->classes);
	prom__free(sv->prom);
	loop__close(&sv->l);
	tracer__close(&sv->tr);
	if (sv->scanfd >= 0)
		close(sv->scanfd);
	if (sv->pidfd_ep >= 0)
		close(sv->pidfd_ep);
	if (sv->sigfd >= 0)
		close(sv->sigfd);
}

int cmd_serve(const struct serve_opts *o)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct tracer_opts to = { .ringbuf_bytes = o->ringbuf_bytes };
	struct http_opts ho = { .listen = o->listen, .gzip = true };
	struct serve sv = { .o = o, .sigfd = -1, .scanfd = -1, .pidfd_ep = -1 };
	size_t attached = 0;
	int err;

	sv.l.epfd = -1;
	log_set_sink(capture_sink);
	/* Signals first: a Ctrl-C while attaching must still detach and restore the targets. */
	sv.sigfd = signalfd_for(sigs, 4);
	err = sv.sigfd < 0 ? sv.sigfd : tracer__open(&sv.tr, &to);
	if (err)
		goto cleanup;
	err = prom__new(&sv.prom);
	if (!err)
		err = loop__init(&sv.l);
	if (!err) {
		sv.pidfd_ep = epoll_create1(EPOLL_CLOEXEC);
		sv.scanfd = timerfd_after(SERVE_SCAN_INTERVAL_MS * 1000000ull,
					  SERVE_SCAN_INTERVAL_MS * 1000000ull);
		if (sv.pidfd_ep < 0)
			err = -errno;
		else if (sv.scanfd < 0)
			err = sv.scanfd;
	}
	if (err) {
		log_err("cannot set up: %s", strerror(-err));
		goto cleanup;
	}
	for (size_t i = 0; i < o->npids; i++) {
		uint64_t start = 0;

		proc__start_ticks(o->pids[i], &start);
		if (!attach(&sv, o->pids[i], start, true))
			attached++;
	}
	if (o->npids && !attached && !o->all) {
		err = -ESRCH;
		goto cleanup;
	}
	err = http__start(&sv.http, &sv.l, &ho);
	if (err)
		goto cleanup;
	err = http__route(sv.http, "/metrics", on_metrics, &sv);
	err = err ?: http__route(sv.http, "/", on_index, &sv);
	err = err ?: http__route(sv.http, "/debug/pprof/heap", on_pprof_heap, &sv);
	err = err ?: http__route(sv.http, "/debug/pprof/allocs", on_pprof_allocs, &sv);
	err = err ?: loop__add(&sv.l, tracer__fd(&sv.tr), on_ring, &sv);
	err = err ?: loop__add(&sv.l, sv.sigfd, on_signal, &sv);
	err = err ?: loop__add(&sv.l, sv.scanfd, on_scan, &sv);
	err = err ?: loop__add(&sv.l, sv.pidfd_ep, on_exit_fd, &sv);
	if (err) {
		log_err("cannot set up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	scan(&sv);
	log_info("serving http://%s/metrics (port %d)%s; Ctrl-C to stop",
		 o->listen ? o->listen : HTTP_DEFAULT_LISTEN, http__port(sv.http),
		 o->all ? ", watching every Go process" : "");
	err = loop__run(&sv.l);
	if (err)
		log_err("event loop failed: %s", strerror(-err));
cleanup:
	serve_free(&sv);
	log_set_sink(NULL);
	return err ? 1 : 0;
}
