// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "heapscope.h"
#include "heapscope.skel.h"
#include "loop.h"
#include "proc.h"
#include "session.h"
#include "sizeclass.h"
#include "util.h"

/* The MemProfileRate restore must also happen when heapscope dies of a fatal signal or leaves
 * through exit(), so what to write where is kept ready for an async-signal-safe pwrite(). */
static struct {
	int fd;
	uint64_t addr;
	int64_t value;
	volatile sig_atomic_t armed;
} restore = { .fd = -1 };

static void restore_rate_now(void)
{
	if (!restore.armed)
		return;
	restore.armed = 0;
	if (pwrite(restore.fd, &restore.value, sizeof(restore.value), (off_t)restore.addr) < 0) {
		/* Nothing more to do from here: the process may have exited. */
	}
}

static void fatal_signal(int sig)
{
	restore_rate_now();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm_restore(const struct session *s)
{
	static bool installed;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", s->t.pid);
	restore.fd = open(path, O_RDWR | O_CLOEXEC);
	restore.addr = s->t.rate_vaddr + s->t.bias;
	restore.value = s->orig_rate;
	restore.armed = restore.fd >= 0;
	if (installed)
		return;
	installed = true;
	atexit(restore_rate_now);
	signal(SIGSEGV, fatal_signal);
	signal(SIGBUS, fatal_signal);
	signal(SIGFPE, fatal_signal);
	signal(SIGILL, fatal_signal);
	signal(SIGABRT, fatal_signal);
}

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

/* pcs[0] is the probed pc, then return addresses outward. */
static void ingest_stack(struct session *s, const uint64_t *pcs, int npcs, double bytes,
			 double objects, uint64_t sampled_bytes, uint64_t ts_ns)
{
	struct agg_frame frames[HS_MAX_STACK * 4];
	uint32_t kind;
	int n = 0;

	if (npcs > 0)
		n = symbolizer__stack(s->sym, pcs, npcs < HS_MAX_STACK ? npcs : HS_MAX_STACK, frames,
				      HS_MAX_STACK * 4, &kind);
	if (n > 0) {
		struct agg_sample as = { .frames = frames, .nframes = n, .kind = kind,
					 .bytes = bytes, .objects = objects,
					 .sampled_bytes = sampled_bytes };

		agg__add(s->agg, &as, ts_ns);
	} else {
		agg__add_unattributed(s->agg, bytes, objects, ts_ns);
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct hs_alloc_event *e = data;
	struct session *s = ctx;
	double size, scale, rate;
	uint32_t type;

	if (len >= HS_EV_TYPE_OFFSET + sizeof(type)) {
		memcpy(&type, (const char *)data + HS_EV_TYPE_OFFSET, sizeof(type));
		if (type != HS_EV_ALLOC) {
			if (gc_state__add_event(s->gc, data, len))
				s->bad_events++;
			return 0;
		}
	}
	if (len < sizeof(*e) || e->type != HS_EV_ALLOC) {
		s->bad_events++;
		return 0;
	}
	s->events++;
	size = (double)e->size;
	rate = e->rate >= 0 ? (double)e->rate : (double)s->rate;
	/* Go 1.24+ records one sample per P when the rate changes, even to 0: those stand for
	 * nothing. */
	if (rate <= 0) {
		s->rate_off_events++;
		return 0;
	}
	scale = unsample_scale(size, rate);
	ingest_stack(s, (const uint64_t *)e->stack, e->nr_frames, size * scale, scale, e->size,
		     e->ts_ns);
	return 0;
}

/* Exact mode: the kernel keeps a count per (stack, caller, size); the deltas since the last
 * drain become samples of exact weight. The previous counts live in a small open-addressing
 * table, so a drain is exact even while the target keeps allocating. */
struct exact_prev {
	struct hs_exact_key key;
	uint64_t count;
	bool used;
};

static struct exact_prev *exact_prev_slot(struct session *s, const struct hs_exact_key *k)
{
	uint64_t h = (k->caller * 31 + k->size) * 0x9e3779b97f4a7c15ull ^ (uint64_t)k->stackid;
	size_t i;

	if (!s->exact_prev) {
		/* Twice the kernel map's capacity: never more than half full. */
		s->exact_cap = 2 * HS_EXACT_MAX_KEYS;
		s->exact_prev = calloc(s->exact_cap, sizeof(*s->exact_prev));
		if (!s->exact_prev)
			return NULL;
	}
	for (i = h & (s->exact_cap - 1); s->exact_prev[i].used; i = (i + 1) & (s->exact_cap - 1))
		if (!memcmp(&s->exact_prev[i].key, k, sizeof(*k)))
			return &s->exact_prev[i];
	s->exact_prev[i].used = true;
	s->exact_prev[i].key = *k;
	return &s->exact_prev[i];
}

static void drain_exact(struct session *s)
{
	int counts_fd = bpf_map__fd(s->skel->maps.exact_counts);
	int stacks_fd = bpf_map__fd(s->skel->maps.stacks);
	uint64_t stack[HS_MAX_STACK + 1], count, now = now_monotonic_ns();
	struct hs_exact_key key, next;
	struct exact_prev *prev;
	bool first = true;

	while (!bpf_map_get_next_key(counts_fd, first ? NULL : &key, &next)) {
		uint64_t delta;
		int n = 0;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(counts_fd, &key, &count) || !(prev = exact_prev_slot(s, &key)))
			continue;
		delta = count - prev->count;
		prev->count = count;
		if (!delta)
			continue;
		memset(stack, 0, sizeof(stack));
		if (key.stackid >= 0 && !bpf_map_lookup_elem(stacks_fd, &key.stackid, &stack[1]))
			while (n < HS_MAX_STACK && stack[n + 1])
				n++;
		/* As for events: the probed pc, then the caller read at a branch site. */
		if (key.caller && n) {
			stack[0] = stack[1];
			stack[1] = key.caller;
			n++;
		}
		ingest_stack(s, key.caller && n ? stack : stack + 1, n,
			     (double)go_slot_size(key.size) * delta, (double)delta, key.size, now);
	}
}

static int check_privileges(void)
{
	unsigned long long cap = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return 0;
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	if (f)
		fclose(f);
	/* CAP_SYS_ADMIN(21), or CAP_BPF(39) + CAP_PERFMON(38); CAP_SYS_PTRACE(19) for /proc/PID/mem */
	if (((cap >> 21) & 1) || (((cap >> 39) & 1) && ((cap >> 38) & 1)))
		return 0;
	log_err("permission denied: heapscope needs root (or CAP_BPF, CAP_PERFMON and "
		"CAP_SYS_PTRACE); run it with sudo");
	return -EPERM;
}

/* Sampled mode needs the runtime's sampler on. It is off (0) when the linker found
 * runtime.MemProfile unreachable; turning it on is one word written through /proc/PID/mem. */
static int setup_rate(struct session *s)
{
	int64_t rate = -1;
	int err;

	s->orig_rate = -1;
	if (!s->t.rate_vaddr) {
		log_warn("cannot locate runtime.MemProfileRate in %s: assuming the default 524288",
			 s->t.exe);
		s->rate = DEFAULT_SAMPLE_BYTES;
		return 0;
	}
	err = target__read_rate(&s->t, &rate);
	if (err || rate < 0 || rate > (1ll << 40)) {
		log_err("cannot read runtime.MemProfileRate of PID %d (%s)", s->t.pid,
			err ? strerror(-err) : "implausible value");
		return err ? err : -EINVAL;
	}
	s->orig_rate = rate;
	s->rate = rate;
	if (rate != 0 || s->opts.mode != MODE_SAMPLED)
		return 0;
	if (s->opts.read_only) {
		log_warn("memory profiling is off in PID %d (MemProfileRate 0) and --read-only "
			 "forbids turning it on: no allocation samples will arrive (use --exact, "
			 "or drop --read-only)",
			 s->t.pid);
		return 0;
	}
	/* Never write what could not be undone: the restore path must hold its fd first. */
	arm_restore(s);
	if (!restore.armed) {
		log_err("cannot open /proc/%d/mem to enable memory profiling: %s (or use --read-only)",
			s->t.pid, strerror(errno));
		return -EPERM;
	}
	err = target__write_rate(&s->t, s->opts.sample_bytes);
	if (err) {
		restore.armed = 0;
		log_err("cannot enable memory profiling in PID %d (write /proc/%d/mem): %s",
			s->t.pid, s->t.pid, strerror(-err));
		return err;
	}
	s->rate_written = true;
	s->rate = s->opts.sample_bytes;
	log_dbg("MemProfileRate 0 -> %lld (found via %s); restored on exit",
		(long long)s->opts.sample_bytes, s->t.rate_how);
	return 0;
}

/* What user/gc.c needs to decode this target's GC events. */
static void gc_configure(struct session *s)
{
	struct gc_config c = { .go_minor = s->t.ver.minor };
	struct go_func f;
	cpu_set_t set;

	if (!sched_getaffinity(s->t.pid, sizeof(set), &set))
		c.ncpu = CPU_COUNT(&set);
	if (s->t.ver.minor <= 20 &&
	    !pclntab__find_name(s->t.pcln, "runtime.stopTheWorld.func1", &f)) {
		c.nongc_stop_lo = f.entry + s->t.bias;
		c.nongc_stop_hi = f.end + s->t.bias;
	}
	c.have_offsets = !gc__ctrl_offsets(s->t.ver.minor, &c.off);
	gc_state__config(s->gc, &c);
	if (c.have_offsets && c.off.size <= HS_GC_CTRL_MAX)
		s->skel->rodata->targ_gc_ctrl_len = c.off.size;
	else
		log_warn("no gcController layout known for %s: GC heap and CPU figures will be null",
			 s->t.ver.str);
}

/* GC probes are optional: without them stat still reports allocations. */
static void attach_gc(struct session *s, const struct probe_site *sites, size_t nsites,
		      size_t first)
{
	for (size_t i = 0; i < nsites; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = sites[i].cookie);
		struct bpf_link *l;

		l = bpf_program__attach_uprobe_opts(s->skel->progs.gc_probe, s->t.pid,
						    s->t.exe_proc, sites[i].file_offset, &uo);
		if (!l) {
			log_warn("GC figures unavailable: cannot attach a uprobe to %s+0x%llx: %s",
				 sites[i].func,
				 (unsigned long long)(sites[i].vaddr - sites[i].entry),
				 strerror(errno));
			while (s->nlinks > first)
				bpf_link__destroy(s->links[--s->nlinks]);
			return;
		}
		s->links[s->nlinks++] = l;
		log_dbg("gc probe %s+0x%llx (file offset 0x%llx)", sites[i].func,
			(unsigned long long)(sites[i].vaddr - sites[i].entry),
			(unsigned long long)sites[i].file_offset);
	}
	s->gc_on = nsites > 0;
}

static int load_bpf(struct session *s, const struct probe_site *sites, size_t nsites,
		    const struct probe_site *gc_sites, size_t ngc)
{
	struct go_func mallocgc;
	int err;

	s->skel = heapscope_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	if (s->t.rate_vaddr)
		s->skel->rodata->targ_rate_addr = s->t.rate_vaddr + s->t.bias;
	if (s->t.work_tmarkterm_vaddr)
		s->skel->rodata->targ_work_tmarkterm = s->t.work_tmarkterm_vaddr + s->t.bias;
	if (!pclntab__find_name(s->t.pcln, "runtime.mallocgc", &mallocgc)) {
		s->skel->rodata->targ_mallocgc_start = mallocgc.entry + s->t.bias;
		s->skel->rodata->targ_mallocgc_end = mallocgc.end + s->t.bias;
	}
	if (ngc)
		gc_configure(s);
	err = heapscope_bpf__load(s->skel);
	if (err) {
		log_err("cannot load BPF programs: %s%s", strerror(-err),
			err == -EPERM ? " (run as root)" : " (run with -v for the verifier log)");
		return err;
	}
	s->links = calloc(nsites + ngc, sizeof(*s->links));
	if (!s->links)
		return -ENOMEM;
	for (size_t i = 0; i < nsites; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = sites[i].cookie);

		s->links[i] = bpf_program__attach_uprobe_opts(s->skel->progs.alloc_probe, s->t.pid,
							      s->t.exe_proc, sites[i].file_offset,
							      &uo);
		if (!s->links[i]) {
			err = -errno;
			log_err("cannot attach a uprobe to %s+0x%llx in %s: %s", sites[i].func,
				(unsigned long long)(sites[i].vaddr - sites[i].entry), s->t.exe,
				strerror(-err));
			return err;
		}
		s->nlinks++;
		log_dbg("probe %s+0x%llx (file offset 0x%llx)", sites[i].func,
			(unsigned long long)(sites[i].vaddr - sites[i].entry),
			(unsigned long long)sites[i].file_offset);
	}
	if (ngc)
		attach_gc(s, gc_sites, ngc, s->nlinks);
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event, s, NULL);
	if (!s->rb) {
		err = -errno;
		log_err("cannot create the ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int setup_pollfd(struct session *s);

int session__open(struct session *s, const struct session_opts *o)
{
	struct probe_site *sites = NULL, *gc_sites = NULL;
	size_t nsites = 0, ngc = 0;
	const char *what;
	int err;

	memset(s, 0, sizeof(*s));
	s->pollfd = s->drain_timer = -1;
	s->opts = *o;
	libbpf_set_print(libbpf_print);
	err = check_privileges();
	if (err)
		return err;
	err = target__open(&s->t, o->pid);
	if (err)
		return err;
	err = probes__plan(&s->t, o->mode, &sites, &nsites);
	if (err)
		return err;
	err = probes__plan_gc(&s->t, &gc_sites, &ngc, &what);
	if (err)
		log_warn("GC figures unavailable: cannot probe %s in this %s binary (%s)", what,
			 s->t.ver.str, strerror(-err));
	s->gc = gc_state__new();
	if (!s->gc) {
		err = -ENOMEM;
		goto cleanup;
	}
	s->agg = agg__new();
	s->sym = s->agg ? symbolizer__new(&s->t, s->agg) : NULL;
	if (!s->sym) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = load_bpf(s, sites, nsites, gc_sites, ngc);
	if (!err)
		err = setup_pollfd(s);
	if (err)
		goto cleanup;
	/* Probes first, then the rate: no sample the runtime takes is missed. */
	err = setup_rate(s);
	if (err)
		goto cleanup;
	s->attach_ns = now_monotonic_ns();
	gc_state__totals(s->gc, &s->gc_start);
	s->cpu_known = !proc__cpu_ns(s->t.pid, &s->cpu_start_ns);
	if (o->mode == MODE_EXACT)
		log_warn("--exact probes every allocation: expect the target to run several times "
			 "slower while attached");
cleanup:
	free(sites);
	free(gc_sites);
	return err;
}

/* One fd for the caller's loop, so the drain timer stays an implementation detail. */
static int setup_pollfd(struct session *s)
{
	struct epoll_event ev = { .events = EPOLLIN };

	s->drain_timer = timerfd_after(DRAIN_INTERVAL_MS * 1000000ull,
				       DRAIN_INTERVAL_MS * 1000000ull);
	s->pollfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->drain_timer < 0 || s->pollfd < 0 ||
	    epoll_ctl(s->pollfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(s->rb), &ev) ||
	    epoll_ctl(s->pollfd, EPOLL_CTL_ADD, s->drain_timer, &ev)) {
		int err = s->drain_timer < 0 ? s->drain_timer : -errno;

		log_err("cannot set up event polling: %s", strerror(-err));
		return err ? err : -EINVAL;
	}
	return 0;
}

int session__fd(const struct session *s)
{
	return s->pollfd;
}

int session__poll(struct session *s)
{
	uint64_t expirations;
	int n;

	if (read(s->drain_timer, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return -errno;
	/* --exact counts are pulled when someone reads them (session__sync, detach), not here:
	 * walking the kernel map every tick would be work nobody uses. */
	n = ring_buffer__consume(s->rb);
	return n < 0 ? n : 0;
}

int session__sync(struct session *s)
{
	int n;

	if (s->detach_ns)
		return 0;
	n = ring_buffer__consume(s->rb);
	if (s->opts.mode == MODE_EXACT)
		drain_exact(s);
	return n < 0 ? n : 0;
}

static uint64_t stat_sum(const struct session *s, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0, *vals;

	if (!s->skel || ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (vals && !bpf_map__lookup_elem(s->skel->maps.stats, &idx, sizeof(idx), vals,
					  ncpu * sizeof(*vals), 0))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

uint64_t session__lost(const struct session *s)
{
	return stat_sum(s, HS_STAT_LOST);
}

void session__detach(struct session *s)
{
	if (s->detach_ns)
		return;
	s->detach_ns = now_monotonic_ns();
	s->cpu_known = !proc__cpu_ns(s->t.pid, &s->cpu_end_ns) && s->cpu_known;
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	if (s->rb)
		ring_buffer__consume(s->rb);
	if (s->skel && s->opts.mode == MODE_EXACT)
		drain_exact(s);
	if (s->rate_written)
		restore_rate_now();
	if (restore.fd >= 0) {
		close(restore.fd);
		restore.fd = -1;
	}
}

void session__close(struct session *s)
{
	session__detach(s);
	ring_buffer__free(s->rb);
	free(s->links);
	heapscope_bpf__destroy(s->skel);
	symbolizer__free(s->sym);
	agg__free(s->agg);
	free(s->exact_prev);
	gc_state__free(s->gc);
	target__close(&s->t);
	/* > 0: a session that never got to session__open is all zeros, and fd 0 is not ours. */
	if (s->pollfd > 0)
		close(s->pollfd);
	if (s->drain_timer > 0)
		close(s->drain_timer);
	memset(s, 0, sizeof(*s));
}
