// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

/* Families (ecosystem.md §1). Per-target series carry pid; identity lives on target_info. */
static const struct prom_desc d_up = {
	"heapscope_up", PROM_GAUGE, NULL,
	"1 while heapscope serves metrics (targets that cannot be observed are in "
	"heapscope_target_info).",
};
static const struct prom_desc d_targets = {
	"heapscope_targets", PROM_GAUGE, NULL, "Processes heapscope knows, by state.",
};
static const struct prom_desc d_self_cpu = {
	"heapscope_self_cpu_seconds_total", PROM_COUNTER, "seconds",
	"CPU time heapscope itself used (user + system).",
};
static const struct prom_desc d_self_rss = {
	"heapscope_self_resident_memory_bytes", PROM_GAUGE, "bytes",
	"heapscope's own resident memory.",
};
static const struct prom_desc d_scrape = {
	"heapscope_scrape_duration_seconds", PROM_GAUGE, "seconds",
	"Time heapscope took to build the previous exposition.",
};
static const struct prom_desc d_scrapes = {
	"heapscope_scrapes_total", PROM_COUNTER, NULL, "Expositions served.",
};
static const struct prom_desc d_overflow = {
	"heapscope_function_series_overflow", PROM_GAUGE, NULL,
	"(function, kind) pairs counted in function=\"(other)\" for want of a series of their "
	"own (--max-functions).",
};
static const struct prom_desc d_info = {
	"heapscope_target_info", PROM_INFO, NULL,
	"A process heapscope observes (state=\"attached\") or cannot (state=\"unsupported\", with "
	"the reason); value 1.",
};
static const struct prom_desc d_alloc_bytes = {
	"heapscope_alloc_bytes_total", PROM_COUNTER, "bytes",
	"Bytes allocated on the Go heap since heapscope attached (estimated from the runtime's "
	"sampler, unsampled as pprof does).",
};
static const struct prom_desc d_alloc_objects = {
	"heapscope_alloc_objects_total", PROM_COUNTER, NULL,
	"Heap objects allocated since heapscope attached (estimated).",
};
static const struct prom_desc d_func_bytes = {
	"heapscope_function_alloc_bytes_total", PROM_COUNTER, "bytes",
	"Bytes allocated per allocation site function and kind (estimated; capped by "
	"--max-functions, the rest in function=\"(other)\").",
};
static const struct prom_desc d_func_objects = {
	"heapscope_function_alloc_objects_total", PROM_COUNTER, NULL,
	"Objects allocated per allocation site function and kind (estimated).",
};
static const struct prom_desc d_func_assist = {
	"heapscope_function_gc_assist_seconds_total", PROM_COUNTER, "seconds",
	"GC mark-assist CPU time charged to each allocation site function and kind: what its "
	"allocations cost in helping the GC mark (the runtime's /cpu/classes/gc/mark/assist, split "
	"by a duration-weighted sample of assist stacks).",
};
static const struct prom_desc d_rate = {
	"heapscope_sample_rate_bytes", PROM_GAUGE, "bytes",
	"The runtime's MemProfileRate in force: one sample per this many bytes on average.",
};
static const struct prom_desc d_cycles = {
	"heapscope_gc_cycles_total", PROM_COUNTER, NULL, "GC cycles completed since attach.",
};
static const struct prom_desc d_forced = {
	"heapscope_gc_cycles_forced_total", PROM_COUNTER, NULL,
	"GC cycles forced by runtime.GC() or debug.FreeOSMemory() since attach.",
};
static const struct prom_buckets pause_buckets = { GC_PROM_BUCKETS, gc_prom_le };
static const struct prom_desc d_pause = {
	"heapscope_gc_pause_seconds", PROM_HISTOGRAM, "seconds",
	"GC stop-the-world pauses (sweep and mark termination), timed with the runtime's own "
	"clocks.",
	&pause_buckets,
};
static const struct prom_desc d_gc_cpu = {
	"heapscope_gc_cpu_seconds_total", PROM_COUNTER, "seconds",
	"GC CPU time by class, as the runtime accounts it (/cpu/classes/gc/...).",
};
static const struct prom_desc d_live = {
	"heapscope_heap_live_bytes", PROM_GAUGE, "bytes",
	"Heap marked live by the last GC cycle.",
};
static const struct prom_desc d_goal = {
	"heapscope_heap_goal_bytes", PROM_GAUGE, "bytes", "Heap goal for the next GC cycle.",
};
static const struct prom_desc d_gogc = {
	"heapscope_gogc_percent", PROM_GAUGE, NULL, "GOGC in force; -1 when the GC is off.",
};
static const struct prom_desc d_memlimit = {
	"heapscope_gomemlimit_bytes", PROM_GAUGE, "bytes", "GOMEMLIMIT in force.",
};
static const struct prom_desc d_procs = {
	"heapscope_gomaxprocs", PROM_GAUGE, NULL, "GOMAXPROCS in force.",
};
static const struct prom_desc d_proc_cpu = {
	"heapscope_process_cpu_seconds_total", PROM_COUNTER, "seconds",
	"The target's CPU time (user + system) since attach.",
};
static const struct prom_desc d_lost = {
	"heapscope_lost_events_total", PROM_COUNTER, NULL,
	"Events the kernel dropped because heapscope's ring buffer was full.",
};

#define LABEL_PID(buf, pid) (snprintf(buf, sizeof(buf), "%d", pid), buf)

static int render_gc(struct prom_writer *w, const char *pid, const struct gc_totals *g)
{
	static const char *const classes[] = { "assist", "background", "idle", "pause" };
	const double cpu[] = { g->assist_cpu_s, g->background_cpu_s, g->idle_cpu_s,
			       g->pause_cpu_s };
	int err = 0;

	err = err ?: prom__add_u64(w, &d_cycles, PROM_LABELS({ "pid", pid }), g->cycles);
	err = err ?: prom__add_u64(w, &d_forced, PROM_LABELS({ "pid", pid }), g->forced_cycles);
	err = err ?: prom__add_histogram(w, &d_pause, PROM_LABELS({ "pid", pid }), g->pause_prom,
					 g->pause_total_s);
	for (size_t i = 0; i < 4 && !err; i++)
		err = prom__add_double(w, &d_gc_cpu,
				       PROM_LABELS({ "pid", pid }, { "class", classes[i] }), cpu[i]);
	/* gauges of the last cycle: absent until one was seen, never a made-up 0 */
	if (g->heap_goal_bytes) {
		err = err ?: prom__add_u64(w, &d_live, PROM_LABELS({ "pid", pid }),
					   g->heap_live_bytes);
		err = err ?: prom__add_u64(w, &d_goal, PROM_LABELS({ "pid", pid }),
					   g->heap_goal_bytes);
	}
	if (g->gogc != INT32_MIN)
		err = err ?: prom__add_double(w, &d_gogc, PROM_LABELS({ "pid", pid }), g->gogc);
	if (g->gomemlimit >= 0)
		err = err ?: prom__add_double(w, &d_memlimit, PROM_LABELS({ "pid", pid }),
					      (double)g->gomemlimit);
	if (g->gomaxprocs > 0)
		err = err ?: prom__add_u64(w, &d_procs, PROM_LABELS({ "pid", pid }),
					   (uint64_t)g->gomaxprocs);
	return err;
}

static int render_target(struct prom_writer *w, const struct metrics_target *t)
{
	char pid[16];
	int err = 0;

	LABEL_PID(pid, t->pid);
	err = prom__add_info(w, &d_info,
			     PROM_LABELS({ "pid", pid }, { "comm", t->comm ?: "" },
					 { "exe", t->exe ?: "" }, { "go_version", t->go_version ?: "" },
					 { "cgroup", t->cgroup ?: "" }, { "state", t->state },
					 { "reason", t->reason ?: "" }));
	if (err || !t->attached)
		return err;
	err = err ?: prom__add_double(w, &d_alloc_bytes, PROM_LABELS({ "pid", pid }),
				      t->alloc_bytes);
	err = err ?: prom__add_double(w, &d_alloc_objects, PROM_LABELS({ "pid", pid }),
				      t->alloc_objects);
	for (size_t i = 0; i < t->nfuncs && !err; i++) {
		const struct metrics_func *f = &t->funcs[i];

		err = prom__add_double(w, &d_func_bytes,
				       PROM_LABELS({ "pid", pid }, { "function", f->function },
						   { "kind", f->kind }),
				       f->bytes);
		err = err ?: prom__add_double(w, &d_func_objects,
					      PROM_LABELS({ "pid", pid }, { "function", f->function },
							  { "kind", f->kind }),
					      f->objects);
		if (t->assist_on)
			err = err ?: prom__add_double(w, &d_func_assist,
						      PROM_LABELS({ "pid", pid },
								  { "function", f->function },
								  { "kind", f->kind }),
						      f->assist_s);
	}
	if (t->sample_rate > 0)
		err = err ?: prom__add_u64(w, &d_rate, PROM_LABELS({ "pid", pid }),
					   (uint64_t)t->sample_rate);
	if (t->gc_on && t->gc)
		err = err ?: render_gc(w, pid, t->gc);
	if (t->cpu_known)
		err = err ?: prom__add_double(w, &d_proc_cpu, PROM_LABELS({ "pid", pid }),
					      t->process_cpu_s);
	err = err ?: prom__add_u64(w, &d_lost, PROM_LABELS({ "pid", pid }), t->lost_events);
	return err;
}

int metrics__render(struct prom_writer *w, const struct metrics_target *t, size_t n,
		    const struct metrics_self *self)
{
	uint64_t attached = 0, unsupported = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		if (t[i].attached)
			attached++;
		else
			unsupported++;
	}
	err = prom__add_u64(w, &d_up, NULL, 0, 1);
	err = err ?: prom__add_u64(w, &d_targets, PROM_LABELS({ "state", "attached" }), attached);
	err = err ?: prom__add_u64(w, &d_targets, PROM_LABELS({ "state", "unsupported" }),
				   unsupported);
	err = err ?: prom__add_double(w, &d_self_cpu, NULL, 0, self->cpu_s);
	err = err ?: prom__add_u64(w, &d_self_rss, NULL, 0, self->rss_bytes);
	err = err ?: prom__add_double(w, &d_scrape, NULL, 0, self->scrape_duration_s);
	err = err ?: prom__add_u64(w, &d_scrapes, NULL, 0, self->scrapes);
	err = err ?: prom__add_u64(w, &d_overflow, NULL, 0, self->series_overflow);
	for (size_t i = 0; i < n && !err; i++)
		err = render_target(w, &t[i]);
	return err;
}

/* FNV-1a: a short, stable tag for a cut name. */
static uint32_t hash32(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

const char *metrics__label_value(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name), keep = METRICS_MAX_LABEL - 9;

	if (n <= METRICS_MAX_LABEL || len < METRICS_MAX_LABEL + 1)
		return name;
	/* do not cut a UTF-8 sequence in two */
	while (keep && ((uint8_t)name[keep] & 0xc0) == 0x80)
		keep--;
	snprintf(buf, len, "%.*s~%08x", (int)keep, name, hash32(name));
	return buf;
}

struct cap_pair {
	uint32_t func, kind;	/* agg string ids: stable for the aggregator's life */
	bool admitted;
	double base_bytes, base_objects, base_assist;	/* admitted: what (other) kept of it */
	double last_bytes, last_objects, last_assist;	/* cumulative at the previous update */
	double out_bytes, out_objects, out_assist;	/* exported last time (monotonic guard) */
	char label[METRICS_MAX_LABEL + 1];	/* the function name when it had to be cut */
};

struct series_cap {
	size_t max, nadmitted;
	struct cap_pair *pairs;
	size_t npairs, cappairs;
	uint32_t *slots;	/* open addressing: pairs index + 1 */
	size_t nslots;
	struct metrics_func *out;
	size_t capout;
	double other_bytes, other_objects, other_assist;	/* exported last time */
};

struct series_cap *series_cap__new(size_t max_series)
{
	struct series_cap *c = calloc(1, sizeof(*c));

	if (c)
		c->max = max_series;
	return c;
}

void series_cap__free(struct series_cap *c)
{
	if (!c)
		return;
	free(c->pairs);
	free(c->slots);
	free(c->out);
	free(c);
}

size_t series_cap__overflow(const struct series_cap *c)
{
	return c->npairs - c->nadmitted;
}

static size_t slot_of(uint32_t func, uint32_t kind, size_t nslots)
{
	return (((uint64_t)func << 32 | kind) * 0x9e3779b97f4a7c15ull >> 17) & (nslots - 1);
}

static int rehash(struct series_cap *c)
{
	size_t n = c->nslots ? c->nslots * 2 : 256;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->npairs; i++) {
		size_t k = slot_of(c->pairs[i].func, c->pairs[i].kind, n);

		while (slots[k])
			k = (k + 1) & (n - 1);
		slots[k] = i + 1;
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = n;
	return 0;
}

static struct cap_pair *pair_of(struct series_cap *c, uint32_t func, uint32_t kind)
{
	size_t k;

	if ((c->npairs + 1) * 2 > c->nslots && rehash(c))
		return NULL;
	for (k = slot_of(func, kind, c->nslots); c->slots[k]; k = (k + 1) & (c->nslots - 1)) {
		struct cap_pair *p = &c->pairs[c->slots[k] - 1];

		if (p->func == func && p->kind == kind)
			return p;
	}
	if (c->npairs == c->cappairs) {
		size_t ncap = c->cappairs ? c->cappairs * 2 : 64;
		struct cap_pair *p = realloc(c->pairs, ncap * sizeof(*p));

		if (!p)
			return NULL;
		c->pairs = p;
		c->cappairs = ncap;
	}
	memset(&c->pairs[c->npairs], 0, sizeof(c->pairs[0]));
	c->pairs[c->npairs].func = func;
	c->pairs[c->npairs].kind = kind;
	c->slots[k] = ++c->npairs;
	return &c->pairs[c->npairs - 1];
}

struct sum {
	double b, o, a;
};

static int by_now_desc(const void *a, const void *b, void *ctx)
{
	const struct sum *now = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (now[x].b != now[y].b)
		return now[x].b < now[y].b ? 1 : -1;
	return x < y ? -1 : x > y;
}

/* A counter never goes down: floating sums regrouped from one scrape to the next could, by a
 * rounding error, and Prometheus would take that for a reset. */
static double monotonic(double *prev, double v)
{
	if (v < *prev)
		v = *prev;
	*prev = v;
	return v;
}

int series_cap__update(struct series_cap *c, const struct agg *a, const struct metrics_func **out,
		       size_t *n)
{
	const struct agg_func_stats *f;
	struct agg_totals tot;
	struct sum *now = NULL;
	size_t nf, *cand = NULL, ncand = 0, nout = 0;
	double other_b, other_o, other_a;
	int err = -ENOMEM;

	/* Every (function, kind) pair: a function's sites of one kind together. */
	f = agg__funcs(a, &nf);
	for (size_t i = 0; i < nf; i++) {
		for (uint32_t k = 0; k < f[i].nsites; k++) {
			if (!pair_of(c, f[i].func, f[i].sites[k].kind))
				return -ENOMEM;
		}
	}
	now = calloc(c->npairs + 1, sizeof(*now));
	cand = calloc(c->npairs + 1, sizeof(*cand));
	if (!now || !cand)
		goto cleanup;
	for (size_t i = 0; i < nf; i++) {
		for (uint32_t k = 0; k < f[i].nsites; k++) {
			struct cap_pair *p = pair_of(c, f[i].func, f[i].sites[k].kind);

			now[p - c->pairs].b += f[i].sites[k].bytes;
			now[p - c->pairs].o += f[i].sites[k].objects;
			now[p - c->pairs].a += f[i].sites[k].assist_s;
		}
	}
	/* Admit the largest newcomers while slots remain, from what they had at the previous
	 * update: (other) has exported that much of them already and keeps it. */
	for (size_t i = 0; i < c->npairs; i++)
		if (!c->pairs[i].admitted)
			cand[ncand++] = i;
	qsort_r(cand, ncand, sizeof(*cand), by_now_desc, now);
	for (size_t i = 0; i < ncand && c->nadmitted < c->max; i++) {
		struct cap_pair *p = &c->pairs[cand[i]];

		p->admitted = true;
		p->base_bytes = p->last_bytes;
		p->base_objects = p->last_objects;
		p->base_assist = p->last_assist;
		c->nadmitted++;
	}
	if (c->capout < c->npairs + 1) {
		struct metrics_func *o = realloc(c->out, (c->npairs + 1) * sizeof(*o));

		if (!o)
			goto cleanup;
		c->out = o;
		c->capout = c->npairs + 1;
	}
	/* (other): what no series shows, as a sum of parts that each only grow */
	agg__totals(a, &tot);
	other_b = tot.unattributed_bytes;
	other_o = tot.unattributed_objects;
	other_a = tot.assist_unattributed_s;
	for (size_t i = 0; i < c->npairs; i++) {
		struct cap_pair *p = &c->pairs[i];

		if (p->admitted) {
			struct metrics_func *m = &c->out[nout++];

			/* into the pair's own buffer: valid until the next update, like out */
			m->function = metrics__label_value(agg__str(a, p->func), p->label,
							   sizeof(p->label));
			m->kind = agg__str(a, p->kind);
			m->bytes = monotonic(&p->out_bytes, now[i].b - p->base_bytes);
			m->objects = monotonic(&p->out_objects, now[i].o - p->base_objects);
			m->assist_s = monotonic(&p->out_assist, now[i].a - p->base_assist);
			other_b += p->base_bytes;
			other_o += p->base_objects;
			other_a += p->base_assist;
		} else {
			other_b += now[i].b;
			other_o += now[i].o;
			other_a += now[i].a;
		}
		p->last_bytes = now[i].b;
		p->last_objects = now[i].o;
		p->last_assist = now[i].a;
	}
	c->out[nout].function = METRICS_OTHER;
	c->out[nout].kind = METRICS_OTHER;
	c->out[nout].bytes = monotonic(&c->other_bytes, other_b);
	c->out[nout].objects = monotonic(&c->other_objects, other_o);
	c->out[nout].assist_s = monotonic(&c->other_assist, other_a);
	nout++;
	*out = c->out;
	*n = nout;
	err = 0;
cleanup:
	free(now);
	free(cand);
	return err;
}
