// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "heapscope.skel.h"
#include "loop.h"
#include "proc.h"
#include "tracer.h"
#include "util.h"

struct tracer_stack {
	uint64_t *pcs;		/* NULL: not read yet */
	int n;
};

struct tracer_sub {
	uint32_t tgid;		/* 0: free slot */
	tracer_event_fn fn;
	void *ctx;
};

/* Through the log sink, so a libbpf warning lands on top's status line, not under it. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	if (level != LIBBPF_WARN && !log_verbose())
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	log_msg(level == LIBBPF_WARN ? LOG_WARN : LOG_DBG, "libbpf: %s", msg);
	return 0;
}

/* Root is not enough on its own (a container may drop capabilities), and not needed either:
 * what counts is the effective set. Each missing capability is named. */
static int check_privileges(void)
{
	static const struct {
		int cap;
		const char *name;
		bool admin_covers;	/* CAP_SYS_ADMIN implies it for this purpose */
	} need[] = {
		{ 39, "CAP_BPF", true },		/* load programs, create maps */
		{ 38, "CAP_PERFMON", true },		/* uprobe perf events */
		{ 19, "CAP_SYS_PTRACE", false },	/* /proc/PID/mem, /proc/PID/exe */
	};
	unsigned long long cap = 0;
	char line[256], missing[128] = "";
	bool admin;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	if (f)
		fclose(f);
	admin = (cap >> 21) & 1;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if ((cap >> need[i].cap) & 1 || (admin && need[i].admin_covers))
			continue;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 missing[0] ? ", " : "", need[i].name);
	}
	if (!missing[0])
		return 0;
	if (geteuid())
		log_err("permission denied: heapscope needs root (missing %s); run it with sudo",
			missing);
	else
		log_err("permission denied: heapscope needs CAP_BPF, CAP_PERFMON and "
			"CAP_SYS_PTRACE; this process lacks %s",
			missing);
	return -EPERM;
}

static struct tracer_sub *find_sub(const struct tracer *t, uint32_t tgid, bool for_insert)
{
	size_t i;

	if (!t->capsubs)
		return NULL;
	for (i = (tgid * 2654435761u) & (t->capsubs - 1);; i = (i + 1) & (t->capsubs - 1)) {
		struct tracer_sub *s = &t->subs[i];

		if (s->tgid == tgid)
			return s;
		if (!s->tgid)
			return for_insert ? s : NULL;
	}
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct tracer *t = ctx;
	struct hs_ev_hdr h;
	struct tracer_sub *s;

	if (len < sizeof(h)) {
		t->bad_events++;
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	s = find_sub(t, h.tgid, false);
	if (!s || !s->fn) {
		t->unrouted++;
		return 0;
	}
	s->fn(s->ctx, data, len);
	return 0;
}

static int setup_pollfd(struct tracer *t)
{
	struct epoll_event ev = { .events = EPOLLIN };

	t->drain_timer = timerfd_after(DRAIN_INTERVAL_MS * 1000000ull,
				       DRAIN_INTERVAL_MS * 1000000ull);
	t->pollfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->drain_timer < 0 || t->pollfd < 0 ||
	    epoll_ctl(t->pollfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(t->rb), &ev) ||
	    epoll_ctl(t->pollfd, EPOLL_CTL_ADD, t->drain_timer, &ev)) {
		int err = t->drain_timer < 0 ? t->drain_timer : -errno;

		log_err("cannot set up event polling: %s", strerror(-err));
		return err ? err : -EINVAL;
	}
	return 0;
}

/* heapscope keys targets by their PID as it sees them; in a PID namespace of its own (a
 * container without hostPID) that is not the kernel's global number the BPF helper gives. */
static void setup_pidns(struct tracer *t)
{
	uint64_t dev, ino;

	if (proc__pidns(0, &dev, &ino) || ino == PROC_PID_INIT_INO)
		return;
	t->skel->rodata->use_pidns = 1;
	t->skel->rodata->pidns_dev = dev;
	t->skel->rodata->pidns_ino = ino;
	log_dbg("in PID namespace %llu: probes see PIDs as numbered there",
		(unsigned long long)ino);
}

int tracer__open(struct tracer *t, const struct tracer_opts *o)
{
	uint32_t rb_bytes = o->ringbuf_bytes ? o->ringbuf_bytes : TRACER_DEFAULT_RINGBUF;
	int err;

	memset(t, 0, sizeof(*t));
	t->pollfd = t->drain_timer = -1;
	libbpf_set_print(libbpf_print);
	err = check_privileges();
	if (err)
		return err;
	t->skel = heapscope_bpf__open();
	if (!t->skel) {
		err = -errno;
		log_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	setup_pidns(t);
	err = bpf_map__set_max_entries(t->skel->maps.events, rb_bytes);
	if (err) {
		log_err("invalid ring buffer size %u: %s", rb_bytes, strerror(-err));
		return err;
	}
	err = heapscope_bpf__load(t->skel);
	if (err) {
		log_err("cannot load BPF programs: %s%s", strerror(-err),
			err == -EPERM ? " (run as root)" : " (run with -v for the verifier log)");
		return err;
	}
	t->exec_link = bpf_program__attach(t->skel->progs.on_exec);
	if (!t->exec_link) {
		err = -errno;
		log_err("cannot attach to sched_process_exec: %s", strerror(-err));
		return err;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_record, t, NULL);
	if (!t->rb) {
		err = -errno;
		log_err("cannot create the ring buffer: %s", strerror(-err));
		return err;
	}
	return setup_pollfd(t);
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	bpf_link__destroy(t->exec_link);
	ring_buffer__free(t->rb);
	heapscope_bpf__destroy(t->skel);
	free(t->subs);
	for (size_t i = 0; t->stack_cache && i < HS_MAX_STACKIDS; i++)
		free(t->stack_cache[i].pcs);
	free(t->stack_cache);
	/* > 0: a tracer that never got to tracer__open is all zeros, and fd 0 is not ours. */
	if (t->pollfd > 0)
		close(t->pollfd);
	if (t->drain_timer > 0)
		close(t->drain_timer);
	memset(t, 0, sizeof(*t));
	t->pollfd = t->drain_timer = -1;
}

int tracer__fd(const struct tracer *t)
{
	return t->pollfd;
}

int tracer__poll(struct tracer *t)
{
	uint64_t expirations;
	int n;

	if (read(t->drain_timer, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return -errno;
	n = ring_buffer__consume(t->rb);
	return n < 0 ? n : 0;
}

static int grow_subs(struct tracer *t)
{
	struct tracer_sub *old = t->subs;
	size_t oldcap = t->capsubs, cap = 16, live = 0;

	for (size_t i = 0; i < oldcap; i++)
		live += old[i].tgid && old[i].fn;
	/* Sized by the live entries: PID churn (serve --all) must not grow it forever. */
	while (cap < 4 * (live + 1))
		cap *= 2;

	t->subs = calloc(cap, sizeof(*t->subs));
	if (!t->subs) {
		t->subs = old;
		return -ENOMEM;
	}
	t->capsubs = cap;
	t->nsubs = 0;
	/* Tombstones of removed processes are dropped here. */
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].tgid && old[i].fn) {
			*find_sub(t, old[i].tgid, true) = old[i];
			t->nsubs++;
		}
	}
	free(old);
	return 0;
}

int tracer__add_target(struct tracer *t, uint32_t tgid, const struct hs_target *cfg,
		       tracer_event_fn fn, void *ctx)
{
	struct hs_target v = *cfg;
	struct hs_gc_proc g = { 0 };
	struct tracer_sub *s;
	int err;

	/* Half full at most: probing stays short; removals leave tombstones (fn NULL). */
	if ((t->nsubs + 1) * 2 > t->capsubs && (err = grow_subs(t)))
		return err;
	memset(&v.hits, 0, sizeof(v) - offsetof(struct hs_target, hits));
	v.flags = cfg->flags & ~HS_TARGET_EXECED;
	if (bpf_map__update_elem(t->skel->maps.gc_procs, &tgid, sizeof(tgid), &g, sizeof(g),
				 BPF_ANY) ||
	    bpf_map__update_elem(t->skel->maps.targets, &tgid, sizeof(tgid), &v, sizeof(v),
				 BPF_ANY)) {
		err = -errno;
		bpf_map__delete_elem(t->skel->maps.gc_procs, &tgid, sizeof(tgid), 0);
		return err;
	}
	s = find_sub(t, tgid, true);
	if (!s->tgid)
		t->nsubs++;
	s->tgid = tgid;
	s->fn = fn;
	s->ctx = ctx;
	return 0;
}

void tracer__remove_target(struct tracer *t, uint32_t tgid)
{
	struct tracer_sub *s = find_sub(t, tgid, false);

	if (!t->skel)
		return;
	bpf_map__delete_elem(t->skel->maps.targets, &tgid, sizeof(tgid), 0);
	bpf_map__delete_elem(t->skel->maps.gc_procs, &tgid, sizeof(tgid), 0);
	if (s) {
		/* A tombstone keeps later entries of the probe chain reachable. */
		s->fn = NULL;
		s->ctx = NULL;
	}
}

int tracer__target_counters(const struct tracer *t, uint32_t tgid, struct hs_target *out)
{
	if (!t->skel)
		return -ENOENT;
	if (bpf_map__lookup_elem(t->skel->maps.targets, &tgid, sizeof(tgid), out, sizeof(*out), 0))
		return -errno;
	return 0;
}

struct bpf_link *tracer__attach(struct tracer *t, bool gc, pid_t pid, const char *path,
				uint64_t offset, uint32_t cookie)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = cookie);

	return bpf_program__attach_uprobe_opts(gc ? t->skel->progs.gc_probe
						  : t->skel->progs.alloc_probe,
					       pid, path, offset, &uo);
}

int tracer__stack(struct tracer *t, int32_t id, uint64_t *pcs, int max)
{
	struct tracer_stack *c;
	struct hs_stack st;
	int n;

	if (id < 0 || id >= HS_MAX_STACKIDS)
		return -EINVAL;
	if (!t->stack_cache) {
		t->stack_cache = calloc(HS_MAX_STACKIDS, sizeof(*t->stack_cache));
		if (!t->stack_cache)
			return -ENOMEM;
	}
	c = &t->stack_cache[id];
	if (!c->pcs) {
		/* An event names a slot only once its frames are written, and a written slot
		 * never changes: read once, keep. */
		if (bpf_map__lookup_elem(t->skel->maps.stacks, &id, sizeof(id), &st, sizeof(st), 0))
			return -errno;
		if (st.hash <= HS_STACK_BUSY || st.nr > HS_MAX_STACK)
			return -EIO;
		c->pcs = malloc((st.nr ? st.nr : 1) * sizeof(*c->pcs));
		if (!c->pcs)
			return -ENOMEM;
		memcpy(c->pcs, st.pcs, st.nr * sizeof(*c->pcs));
		c->n = (int)st.nr;
	}
	n = c->n < max ? c->n : max;
	memcpy(pcs, c->pcs, n * sizeof(*pcs));
	return n;
}

int tracer__exact_fd(const struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.exact_counts);
}
