// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "heapscope.h"
#include "proc.h"
#include "session.h"
#include "sizeclass.h"
#include "util.h"

/* pcs[0] is the probed pc, then return addresses outward. The sample's estimate and variance
 * terms are filled in by the caller; the frames come from here. */
static void ingest_stack(struct session *s, const uint64_t *pcs, int npcs, struct agg_sample *as,
			 uint64_t ts_ns)
{
	struct agg_frame frames[HS_MAX_STACK * 4];
	int n = 0;

	if (npcs > 0)
		n = symbolizer__stack(s->sym, pcs, npcs < HS_MAX_STACK ? npcs : HS_MAX_STACK, frames,
				      HS_MAX_STACK * 4, &as->kind);
	as->frames = frames;
	as->nframes = n;
	if (n > 0)
		agg__add(s->agg, as, ts_ns);
	else
		agg__add_unattributed(s->agg, as, ts_ns);
}

/* The frames of an allocation event: the probed pc, the caller read at a branch site (the frame
 * was not built there, so the kernel's walk skipped it), then the walked return addresses. */
static int event_stack(struct session *s, const struct hs_alloc_event *e, size_t len,
		       uint64_t *pcs, int max)
{
	uint64_t walked[HS_MAX_STACK];
	int n;

	if (e->flags & HS_ALLOC_STACK_INLINE) {
		const struct hs_alloc_stack_event *se = (const void *)e;

		if (len < sizeof(*se) || se->nr_frames <= 0)
			return 0;
		n = se->nr_frames < HS_MAX_STACK ? se->nr_frames : HS_MAX_STACK;
		memcpy(walked, se->stack, n * sizeof(walked[0]));
	} else {
		n = tracer__stack(s->tr, e->stackid, walked, HS_MAX_STACK);
		if (n <= 0)
			return 0;
	}
	if (!e->caller || n + 1 > max) {
		n = n < max ? n : max;
		memcpy(pcs, walked, n * sizeof(pcs[0]));
		return n;
	}
	pcs[0] = walked[0];
	pcs[1] = e->caller;
	memcpy(pcs + 2, walked + 1, (n - 1) * sizeof(pcs[0]));
	return n + 1;
}

static void on_alloc(struct session *s, const struct hs_alloc_event *e, size_t len)
{
	uint64_t pcs[HS_MAX_STACK + 1];
	struct agg_sample as = { 0 };
	double size, scale, rate;
	int n;

	if (len < sizeof(*e)) {
		s->bad_events++;
		return;
	}
	s->events++;
	s->alloc_events++;
	size = (double)e->size;
	rate = e->rate >= 0 ? (double)e->rate : (double)s->rate;
	/* Nothing is sampled at rate 0; an event then is one the runtime took when the rate
	 * changed, which the BPF side filters where it can. */
	if (rate <= 0) {
		s->rate_off_events++;
		return;
	}
	if (rate > GO_MAX_SAMPLING_MEAN)
		rate = GO_MAX_SAMPLING_MEAN;
	scale = unsample_scale(size, rate);
	as.bytes = size * scale;
	as.objects = scale;
	as.sampled_bytes = e->size;
	as.var_objects = unsample_var(size, rate);
	as.var_bytes = as.var_objects * size * size;
	n = event_stack(s, e, len, pcs, HS_MAX_STACK + 1);
	ingest_stack(s, pcs, n, &as, e->hdr.ts_ns);
}

static void on_event(void *ctx, const void *data, size_t len)
{
	const struct hs_ev_hdr *h = data;
	struct session *s = ctx;

	switch (h->type) {
	case HS_EV_ALLOC:
		on_alloc(s, data, len);
		return;
	case HS_EV_EXEC:
		s->target_execed = true;
		return;
	default:
		if (session_assist__event(s, data, len))
			return;
		if (gc_state__add_event(s->gc, data, len))
			s->bad_events++;
		else if (h->type == HS_EV_GC_END && s->ret)
			retained__gc_end(s->ret, h->ts_ns);
	}
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
	int counts_fd = tracer__exact_fd(s->tr);
	uint64_t stack[HS_MAX_STACK + 1], count, now = now_monotonic_ns();
	struct hs_exact_key key, next;
	struct exact_prev *prev;
	bool first = true;

	while (!bpf_map_get_next_key(counts_fd, first ? NULL : &key, &next)) {
		uint64_t delta;
		int n = 0;

		first = false;
		key = next;
		if (key.tgid != (uint32_t)s->t.pid)
			continue;
		if (bpf_map_lookup_elem(counts_fd, &key, &count) || !(prev = exact_prev_slot(s, &key)))
			continue;
		delta = count - prev->count;
		prev->count = count;
		if (!delta)
			continue;
		if (key.stackid >= 0)
			n = tracer__stack(s->tr, key.stackid, stack + 1, HS_MAX_STACK);
		if (n < 0)
			n = 0;
		/* As for events: the probed pc, then the caller read at a branch site. */
		if (key.caller && n) {
			stack[0] = stack[1];
			stack[1] = key.caller;
			n++;
		}
		struct agg_sample as = { .bytes = (double)go_slot_size(key.size) * delta,
					 .objects = (double)delta, .sampled_bytes = key.size };

		ingest_stack(s, key.caller && n ? stack : stack + 1, n, &as, now);
	}
}

/* What the BPF side needs to know about this process. */
static void target_config(struct session *s, struct hs_target *c)
{
	struct go_func mallocgc;

	memset(c, 0, sizeof(*c));
	c->start_ticks = s->t.proc.start_ticks;
	c->off_m_p = c->off_p_mcache = c->off_mcache_next_sample = c->off_mcache_prof_rate = -1;
	if (s->t.rate_vaddr)
		c->rate_addr = s->t.rate_vaddr + s->t.bias;
	/* work's phase clocks are declared together in every Go version 1.19-1.27:
	 * tSweepTerm, tMark, tMarkTerm, tEnd int64 */
	if (s->t.work_tmarkterm_vaddr)
		c->work_times_addr = s->t.work_tmarkterm_vaddr - 16 + s->t.bias;
	if (!pclntab__find_name(s->t.pcln, "runtime.mallocgc", &mallocgc)) {
		c->mallocgc_start = mallocgc.entry + s->t.bias;
		c->mallocgc_end = mallocgc.end + s->t.bias;
	}
	if (s->have_layout) {
		c->off_m_p = s->layout.m_p;
		c->off_p_mcache = s->layout.p_mcache;
		c->off_mcache_next_sample = s->layout.mcache_next_sample;
		c->off_mcache_prof_rate = s->layout.mcache_prof_rate;
		if (s->layout.mcache_prof_rate >= 0)
			c->flags |= HS_TARGET_NEXT_SAMPLE_PRE_DECREMENTED;
		if (s->layout.ctrl.size <= HS_GC_CTRL_MAX)
			c->ctrl_len = s->layout.ctrl.size;
	}
	session_assist__config(s, c);
}

/* What user/agg/gc.c needs to decode this target's GC events. */
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
	c.have_offsets = s->have_layout;
	if (s->have_layout)
		c.off = s->layout.ctrl;
	gc_state__config(s->gc, &c);
	if (!c.have_offsets)
		log_warn("no gcController layout known for %s: GC heap and CPU figures will be null",
			 s->t.ver.str);
}

static int attach_sites(struct session *s, bool gc, pid_t pid, const struct probe_site *sites,
			size_t n, struct bpf_link **links, size_t *nlinks)
{
	for (size_t i = 0; i < n; i++) {
		struct bpf_link *l = tracer__attach(s->tr, gc, pid, s->t.proc.exe_fd_path,
						    sites[i].file_offset, sites[i].cookie);

		if (!l)
			return -errno;
		links[(*nlinks)++] = l;
		log_dbg("%s probe %s+0x%llx (file offset 0x%llx)", gc ? "gc" : "alloc",
			sites[i].func, (unsigned long long)(sites[i].vaddr - sites[i].entry),
			(unsigned long long)sites[i].file_offset);
	}
	return 0;
}

int session__attach_links(struct session *s, pid_t pid, struct bpf_link ***out, size_t *n,
			  bool *gc_on, bool *assist_on)
{
	/* + 1: the mark-assist probe (session_assist__attach) */
	struct bpf_link **links = calloc(s->nsites + s->ngc_sites + 1, sizeof(*links));
	size_t nlinks = 0, first_gc;
	int err;

	*gc_on = *assist_on = false;
	if (!links)
		return -ENOMEM;
	err = attach_sites(s, false, pid, s->sites, s->nsites, links, &nlinks);
	if (err) {
		log_err("cannot attach a uprobe to %s in %s: %s", s->sites[nlinks].func, s->t.exe,
			strerror(-err));
		goto cleanup;
	}
	/* GC probes are optional: without them stat still reports allocations. */
	first_gc = nlinks;
	err = attach_sites(s, true, pid, s->gc_sites, s->ngc_sites, links, &nlinks);
	if (err) {
		log_warn("GC figures unavailable: cannot attach a uprobe to %s: %s",
			 s->gc_sites[nlinks - first_gc].func, strerror(-err));
		while (nlinks > first_gc)
			bpf_link__destroy(links[--nlinks]);
		err = 0;
	} else {
		*gc_on = s->ngc_sites > 0;
	}
	*assist_on = session_assist__attach(s, pid, links, &nlinks, *gc_on);
	*out = links;
	*n = nlinks;
	return 0;
cleanup:
	while (nlinks)
		bpf_link__destroy(links[--nlinks]);
	free(links);
	return err;
}

/* Sampled mode needs the runtime's sampler on. It is off (0) when the linker found
 * runtime.MemProfile unreachable; turning it on is one word written through the pinned
 * /proc/PID/mem, coordinated with any other heapscope on the same target
 * (user/session/sampler.c). */
static int setup_rate(struct session *s)
{
	struct sampler *sm = &s->sampler;
	int64_t want = s->opts.mode == MODE_SAMPLED ? s->opts.sample_bytes : 0;
	int err;

	if (!s->t.rate_vaddr) {
		log_warn("cannot locate runtime.MemProfileRate in %s: assuming the default 524288",
			 s->t.exe);
		s->rate = DEFAULT_SAMPLE_BYTES;
		return 0;
	}
	err = sampler__join(sm, &s->t.proc, s->t.rate_vaddr + s->t.bias, want,
			    s->opts.read_only);
	if (err)
		return err;
	s->sampler_joined = true;
	s->rate = sm->in_force;
	s->rate_written = sm->written != 0;
	switch (sm->how) {
	case SAMPLER_ENABLED:
		log_dbg("MemProfileRate 0 -> %lld (found via %s); restored on exit",
			(long long)sm->written, s->t.rate_how);
		break;
	case SAMPLER_SHARED:
		if (want && sm->in_force != sampler__marked_rate(want))
			log_warn("PID %d is already sampled at 1 per %lld bytes by %d other heapscope "
				 "run(s): using that rate, not %lld",
				 s->t.pid, (long long)sm->in_force, sm->nothers, (long long)want);
		break;
	case SAMPLER_ADOPTED:
		if (sm->left_by)
			log_warn("MemProfileRate of PID %d was left at %lld by an earlier heapscope "
				 "(PID %d) that was killed; this run sets it back to %lld when it ends",
				 s->t.pid, (long long)sm->in_force, sm->left_by, (long long)sm->orig);
		else
			log_warn("MemProfileRate of PID %d was left at %lld by an earlier heapscope "
				 "that was killed; this run sets it back to %lld when it ends",
				 s->t.pid, (long long)sm->in_force, (long long)sm->orig);
		break;
	case SAMPLER_LEFT_READONLY:
		log_warn("MemProfileRate of PID %d was left at %lld by an earlier heapscope that was "
			 "killed; --read-only leaves it (run without it once to restore 0)",
			 s->t.pid, (long long)sm->in_force);
		break;
	case SAMPLER_OFF:
		if (s->opts.mode == MODE_SAMPLED)
			log_warn("memory profiling is off in PID %d (MemProfileRate 0) and --read-only "
				 "forbids turning it on: no allocation samples will arrive (use "
				 "--exact, or drop --read-only)",
				 s->t.pid);
		break;
	case SAMPLER_TARGETS_OWN:
		break;
	}
	if (s->opts.mode == MODE_SAMPLED && sm->in_force > GO_MAX_SAMPLING_MEAN)
		log_warn("PID %d samples at MemProfileRate %lld, above the runtime's cap of %d: "
			 "estimates use the rate in force, %d",
			 s->t.pid, (long long)sm->in_force, GO_MAX_SAMPLING_MEAN, GO_MAX_SAMPLING_MEAN);
	return 0;
}

int session__open(struct session *s, struct tracer *tr, const struct session_opts *o)
{
	struct hs_target cfg;
	char warn[320];
	const char *what;
	bool gc_on, assist_on;
	int err;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	s->tr = tr;
	err = target__open(&s->t, o->pid, !o->read_only);
	if (err)
		return err;
	goruntime__unverified_warning(&s->t.ver, warn, sizeof(warn));
	if (warn[0])
		log_warn("%s", warn);
	s->have_layout = !goruntime__layout(&s->t.ver, &s->layout);
	err = probes__plan(&s->t, o->mode, &s->sites, &s->nsites);
	if (err)
		return err;
	err = probes__plan_gc(&s->t, &s->gc_sites, &s->ngc_sites, &what);
	if (err)
		log_warn("GC figures unavailable: cannot probe %s in this %s binary (%s)", what,
			 s->t.ver.str, strerror(-err));
	if (s->ngc_sites && goruntime__known_crash(&s->t.ver, goelf__is_pie(s->t.elf)))
		log_warn("%s", goruntime__known_crash(&s->t.ver, goelf__is_pie(s->t.elf)));
	s->gc = gc_state__new(o->gc_keep);
	s->agg = s->gc ? agg__new() : NULL;
	s->sym = s->agg ? symbolizer__new(&s->t, s->agg) : NULL;
	if (!s->sym)
		return -ENOMEM;
	if (s->ngc_sites)
		gc_configure(s);
	session_assist__plan(s, s->ngc_sites > 0);
	target_config(s, &cfg);
	err = tracer__add_target(tr, (uint32_t)s->t.pid, &cfg, on_event, s);
	if (err) {
		log_err("cannot register PID %d with the BPF programs: %s", s->t.pid, strerror(-err));
		return err;
	}
	s->in_tracer = true;
	if (o->caller_attaches)
		return 0;
	err = session__attach_links(s, s->t.pid, &s->links, &s->nlinks, &gc_on, &assist_on);
	return err ? err : session__start(s, gc_on, assist_on);
}

int session__start(struct session *s, bool gc_on, bool assist_on)
{
	int err;

	s->gc_on = gc_on;
	s->assist_on = assist_on;
	/* Probes first, then the rate: no sample the runtime takes is missed. */
	err = setup_rate(s);
	if (err)
		return err;
	/* an assumed rate (MemProfileRate not found) would read an empty profile as "nothing" */
	s->ret = retained__open(&s->t, &s->layout, s->have_layout, s->agg,
				s->t.rate_vaddr ? s->rate : 0, s->rate_written);
	s->attach_ns = now_monotonic_ns();
	gc_state__totals(s->gc, &s->gc_start);
	s->cpu_known = !proc__cpu_ns(s->t.pid, &s->cpu_start_ns);
	if (s->opts.mode == MODE_EXACT)
		log_warn("--exact probes every allocation: expect the target to run several times "
			 "slower while attached");
	return 0;
}

/* Someone else (the target itself, a debugger, an older heapscope) changed the rate under our
 * feet: say so once. Samples still unsample with the rate each carries. */
static void check_rate(struct session *s)
{
	int64_t now;
	bool changed;

	if (!s->sampler_joined || s->rate_changed || s->target_execed ||
	    sampler__check(&s->sampler, &now, &changed) || !changed)
		return;
	s->rate_changed = true;
	if (now == 0)
		log_warn("MemProfileRate of PID %d was set to 0 by someone else while heapscope "
			 "observed it: no samples arrive after that, so allocation figures "
			 "undercount",
			 s->t.pid);
	else
		log_warn("MemProfileRate of PID %d changed from %lld to %lld, not by this heapscope: "
			 "samples are unsampled with the rate each was taken at",
			 s->t.pid, (long long)s->sampler.in_force, (long long)now);
	s->rate = now;
}

int session__sync(struct session *s)
{
	int err;

	if (s->detach_ns)
		return 0;
	err = tracer__poll(s->tr);
	if (s->opts.mode == MODE_EXACT && !s->target_execed)
		drain_exact(s);
	check_rate(s);
	session_assist__tick(s, now_monotonic_ns());
	return err;
}

void session__probe_counters(const struct session *s, struct hs_target *c)
{
	/* live while attached, the final reading (taken after the last drain) once detached */
	if (s->detach_ns || !s->in_tracer || tracer__target_counters(s->tr, s->t.pid, c))
		*c = s->counters;
}

uint64_t session__lost(const struct session *s)
{
	struct hs_target c;

	session__probe_counters(s, &c);
	return c.lost;
}

uint64_t session__rearm_dropped(const struct session *s)
{
	struct hs_target c;

	session__probe_counters(s, &c);
	return c.rearm;
}

void session__detach(struct session *s)
{
	char msg[256];

	if (s->detach_ns || !s->tr)
		return;
	s->detach_ns = now_monotonic_ns();
	s->cpu_known = !proc__cpu_ns(s->t.pid, &s->cpu_end_ns) && s->cpu_known;
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	if (s->in_tracer) {
		tracer__poll(s->tr);
		if (s->opts.mode == MODE_EXACT && !s->target_execed)
			drain_exact(s);
		tracer__target_counters(s->tr, s->t.pid, &s->counters);
		tracer__remove_target(s->tr, s->t.pid);
		s->in_tracer = false;
	}
	/* the window's last reading, after the last GC ends were drained */
	if (s->ret && !s->target_execed)
		retained__read(s->ret);
	if (s->sampler_joined) {
		sampler__leave(&s->sampler, msg, sizeof(msg));
		if (msg[0])
			log_warn("%s", msg);
		s->sampler_joined = false;
	}
}

void session__close(struct session *s)
{
	if (!s->tr)	/* never opened: all zeros, and fd 0 is not ours */
		return;
	session__detach(s);
	free(s->links);
	free(s->sites);
	free(s->gc_sites);
	symbolizer__free(s->sym);
	agg__free(s->agg);
	assist_state__free(s->assist);
	free(s->exact_prev);
	gc_state__free(s->gc);
	retained__free(s->ret);
	target__close(&s->t);
	memset(s, 0, sizeof(*s));
}
