// SPDX-License-Identifier: GPL-2.0
/* GC cost aggregation. The runtime's own accounting is the reference (go-runtime-probes.md §5):
 * mark CPU is what gcController's per-cycle counters hold when gcMarkTermination restarts the
 * world (the values gctrace prints and cpuStats.accumulate adds), pauses are timed with the
 * runtime's own timestamps where the probes can see them, and everything is credited when the
 * runtime credits it (mark CPU at cycle end, pause CPU at the end of the pause), so a window of
 * ours and one of /cpu/classes step together. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "heapscope.h"
#include "gc.h"

struct gc_pause_rec {
	uint64_t end_ns;
	double dur_s;
};

/* A cycle between its start and its end. Two slots: the end is seen before the world restarts,
 * so the next cycle starts after it, but a lost end must not take the next cycle's slot. */
struct gc_open {
	uint32_t seq;			/* 0: slot free */
	bool forced;
	int pauses;
	double sweep_s, mark_s;
	int64_t mark_cpu_ns;		/* Go <= 1.22: pending mark termination pause CPU */
	double pause_cpu_s;
	int64_t mark_start_ns;		/* runtime's tSweepTerm, from startCycle */
};

struct gc_state {
	struct gc_config cfg;
	struct gc_totals tot;
	struct gc_open open[2];		/* indexed by seq & 1 */
	/* rings of the last `keep` pauses and cycles */
	size_t keep;
	struct gc_pause_rec *pauses;
	struct gc_cycle *cycles;
	uint64_t npauses, ncycles;	/* ever added; index = n % keep */
	/* A sweep termination's stop, seen as the world restarts, waits here for the runtime's
	 * own end of it, work.tMark: gcStart stores it only after startTheWorldWithSema returns,
	 * and the cycle's next stop reads it (its end is provisionally our entry time). */
	struct gc_pause sweep;
	int64_t sweep_key;		/* its work.tSweepTerm; 0: none waiting */
};

const char *const gc_prom_le[GC_PROM_BUCKETS] = {
	"5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
};
static const double prom_le[GC_PROM_BUCKETS] = {
	5e-06, 1e-05, 2.5e-05, 5e-05, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
};

static size_t hist_index(uint64_t ns)
{
	int octave;

	if (ns < GC_HIST_SUB)
		return ns;	/* the first octaves are exact */
	octave = 63 - __builtin_clzll(ns);
	if (octave >= GC_HIST_OCTAVES)
		return GC_HIST_BUCKETS - 1;
	/* the 16 steps of this octave: the 4 bits below the leading one */
	return (size_t)(octave - 3) * GC_HIST_SUB + ((ns >> (octave - 4)) & (GC_HIST_SUB - 1));
}

/* The middle of a bucket, in seconds. */
static double hist_value(size_t i)
{
	size_t octave;
	double lo, width;

	if (i < GC_HIST_SUB)
		return i * 1e-9;
	octave = i / GC_HIST_SUB + 3;
	width = (double)(1ull << (octave - 4));
	lo = (double)(1ull << octave) + (double)(i % GC_HIST_SUB) * width;
	return (lo + width / 2) * 1e-9;
}

struct gc_state *gc_state__new(size_t keep)
{
	struct gc_state *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->keep = keep;
	if (keep) {
		g->pauses = calloc(keep, sizeof(*g->pauses));
		g->cycles = calloc(keep, sizeof(*g->cycles));
		if (!g->pauses || !g->cycles) {
			gc_state__free(g);
			return NULL;
		}
	}
	g->tot.gogc = INT32_MIN;
	g->tot.gomemlimit = -1;
	return g;
}

void gc_state__free(struct gc_state *g)
{
	if (!g)
		return;
	free(g->pauses);
	free(g->cycles);
	free(g);
}

void gc_state__config(struct gc_state *g, const struct gc_config *c)
{
	g->cfg = *c;
}

void gc_state__totals(const struct gc_state *g, struct gc_totals *t)
{
	*t = g->tot;
}

static int stwprocs(const struct gc_state *g)
{
	int p = g->tot.gomaxprocs;

	/* work.stwprocs = min(GOMAXPROCS, ncpu) */
	if (g->cfg.ncpu > 0 && (p <= 0 || g->cfg.ncpu < p))
		p = g->cfg.ncpu;
	return p > 0 ? p : 1;
}

static struct gc_open *open_cycle(struct gc_state *g, uint32_t seq)
{
	struct gc_open *o = &g->open[seq & 1];

	return seq && o->seq == seq ? o : NULL;
}

void gc__cycle_start(struct gc_state *g, uint32_t seq, uint64_t ts_ns, bool forced, int procs,
		     int64_t mark_start_ns)
{
	struct gc_open *o = &g->open[seq & 1];

	*o = (struct gc_open){ .seq = seq, .forced = forced, .sweep_s = -1, .mark_s = -1,
			       .mark_start_ns = mark_start_ns };
	if (procs > 0)
		g->tot.gomaxprocs = procs;
	g->tot.last_ns = ts_ns;
}

void gc__pause(struct gc_state *g, const struct gc_pause *p)
{
	struct gc_open *o = open_cycle(g, p->seq);
	struct gc_pause_rec *r;
	double dur;
	int k;

	if (p->kind == GC_PAUSE_OTHER || p->end_ns < p->start_ns)
		return;
	dur = (p->end_ns - p->start_ns) / 1e9;
	g->tot.pauses++;
	g->tot.pause_total_s += dur;
	if (dur > g->tot.pause_max_s)
		g->tot.pause_max_s = dur;
	if (p->cpu_ns >= 0) {
		g->tot.pause_cpu_s += p->cpu_ns / 1e9;
		if (o)
			o->pause_cpu_s += p->cpu_ns / 1e9;
	} else if (p->kind == GC_PAUSE_MARK_TERM && o) {
		o->mark_cpu_ns = p->mark_cpu_ns >= 0 ? p->mark_cpu_ns :
			(int64_t)(p->end_ns - p->start_ns) * stwprocs(g);
	}
	if (p->end_ns > g->tot.last_ns)
		g->tot.last_ns = p->end_ns;
	g->tot.pause_hist[hist_index(p->end_ns - p->start_ns)]++;
	for (k = 0; k < GC_PROM_BUCKETS && dur > prom_le[k]; k++)
		;
	g->tot.pause_prom[k]++;
	if (g->keep) {
		r = &g->pauses[g->npauses % g->keep];
		r->end_ns = p->end_ns;
		r->dur_s = dur;
	}
	g->npauses++;
	if (!o)
		return;
	o->pauses++;
	if (p->kind == GC_PAUSE_SWEEP_TERM)
		o->sweep_s = dur;
	else
		o->mark_s = dur;
}

void gc__cycle_end(struct gc_state *g, uint64_t ts_ns, const struct gc_cycle_end *c)
{
	struct gc_cycle scratch, *cy = g->keep ? &g->cycles[g->ncycles % g->keep] : &scratch;
	struct gc_open *o = open_cycle(g, c->seq);

	g->ncycles++;
	memset(cy, 0, sizeof(*cy));
	cy->end_ns = ts_ns;
	cy->sweep_term_pause_s = -1;
	cy->mark_term_pause_s = -1;
	g->tot.cycles++;
	cy->pause_cpu_s = -1;
	if (o) {
		cy->forced = o->forced;
		cy->pauses = o->pauses;
		cy->sweep_term_pause_s = o->sweep_s;
		cy->mark_term_pause_s = o->mark_s;
		if (o->forced)
			g->tot.forced_cycles++;
		if (o->mark_cpu_ns > 0) {
			g->tot.pause_cpu_s += o->mark_cpu_ns / 1e9;
			o->pause_cpu_s += o->mark_cpu_ns / 1e9;
		}
		cy->pause_cpu_s = o->pause_cpu_s;
		o->seq = 0;
	}
	if (c->have_ctrl) {
		cy->assist_cpu_s = c->assist_ns / 1e9;
		cy->background_cpu_s = c->background_ns / 1e9;
		cy->idle_cpu_s = c->idle_ns / 1e9;
		cy->heap_live_bytes = c->heap_live;
		cy->heap_goal_bytes = c->heap_goal;
		g->tot.assist_cpu_s += cy->assist_cpu_s;
		g->tot.background_cpu_s += cy->background_cpu_s;
		g->tot.idle_cpu_s += cy->idle_cpu_s;
		g->tot.heap_live_bytes = c->heap_live;
		g->tot.heap_goal_bytes = c->heap_goal;
		g->tot.gogc = c->gogc < 0 ? -1 : c->gogc;
		g->tot.gomemlimit = c->gomemlimit;
	}
	if (ts_ns > g->tot.last_ns)
		g->tot.last_ns = ts_ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of a sorted array (n > 0). */
static double quantile(const double *v, size_t n, double q)
{
	/* ceil, minus the rounding error of q * n (0.99 * 200 is 198.00000000000003) */
	size_t rank = (size_t)ceil(q * n - 1e-9);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* Nearest-rank quantile from a histogram difference (n > 0 pauses). */
static double hist_quantile(const uint64_t *end, const uint64_t *start, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)ceil(q * n - 1e-9), seen = 0;

	if (rank < 1)
		rank = 1;
	for (size_t i = 0; i < GC_HIST_BUCKETS; i++) {
		seen += end[i] - start[i];
		if (seen >= rank)
			return hist_value(i);
	}
	return 0;
}

void gc_state__window(const struct gc_state *g, const struct gc_totals *start,
		      const struct gc_totals *end, uint64_t start_ns, uint64_t end_ns,
		      struct gc_window *w)
{
	uint64_t first = g->keep && g->npauses > g->keep ? g->npauses - g->keep : 0;
	double wall = end_ns > start_ns ? (end_ns - start_ns) / 1e9 : 0;
	bool exact = g->keep != 0;
	double *d = NULL;
	size_t n = 0;

	memset(w, 0, sizeof(*w));
	w->cycles = end->cycles - start->cycles;
	w->forced_cycles = end->forced_cycles - start->forced_cycles;
	w->pauses = end->pauses - start->pauses;
	w->pause_total_s = end->pause_total_s - start->pause_total_s;
	w->assist_cpu_s = end->assist_cpu_s - start->assist_cpu_s;
	w->background_cpu_s = end->background_cpu_s - start->background_cpu_s;
	w->idle_cpu_s = end->idle_cpu_s - start->idle_cpu_s;
	w->pause_cpu_s = end->pause_cpu_s - start->pause_cpu_s;
	w->cpu_s = w->assist_cpu_s + w->background_cpu_s + w->idle_cpu_s + w->pause_cpu_s;
	w->heap_live_bytes = end->heap_live_bytes;
	w->heap_goal_bytes = end->heap_goal_bytes;
	w->gomaxprocs = end->gomaxprocs;
	w->gogc = end->gogc;
	w->gomemlimit = end->gomemlimit;
	/* Both factors must be known and non-zero: a share of 0 would claim "GC is free". */
	w->cpu_share = end->gomaxprocs > 0 && wall > 0 ? w->cpu_s / (end->gomaxprocs * wall) : -1;
	if (exact && g->npauses > first)
		d = malloc((g->npauses - first) * sizeof(*d));
	for (uint64_t i = first; d && i < g->npauses; i++) {
		const struct gc_pause_rec *r = &g->pauses[i % g->keep];

		if (r->end_ns >= start_ns && r->end_ns < end_ns)
			d[n++] = r->dur_s;
	}
	/* Pauses of the window that the ring no longer holds: the histogram knows them all. */
	if (!d || n < w->pauses)
		exact = false;
	if (exact && n) {
		qsort(d, n, sizeof(*d), cmp_double);
		w->pause_max_s = d[n - 1];
		w->pause_p50_s = quantile(d, n, 0.50);
		w->pause_p99_s = quantile(d, n, 0.99);
	} else if (w->pauses) {
		w->pause_p50_s = hist_quantile(end->pause_hist, start->pause_hist, w->pauses, 0.50);
		w->pause_p99_s = hist_quantile(end->pause_hist, start->pause_hist, w->pauses, 0.99);
		w->pause_max_s = hist_quantile(end->pause_hist, start->pause_hist, w->pauses, 1.0);
		w->quantiles_approx = true;
	}
	free(d);
}

size_t gc_state__cycles(const struct gc_state *g, uint64_t start_ns, uint64_t end_ns,
			struct gc_cycle *out, size_t max)
{
	uint64_t first = g->ncycles > g->keep ? g->ncycles - g->keep : 0;
	size_t n = 0;

	for (uint64_t i = first; g->keep && i < g->ncycles && n < max; i++) {
		const struct gc_cycle *c = &g->cycles[i % g->keep];

		if (c->end_ns >= start_ns && c->end_ns < end_ns)
			out[n++] = *c;
	}
	return n;
}

static uint64_t rd64(const uint8_t *p, int off, uint32_t len)
{
	uint64_t v = 0;

	if (off >= 0 && (uint32_t)off + 8 <= len)
		memcpy(&v, p + off, 8);
	return v;
}

static int32_t rd32(const uint8_t *p, int off, uint32_t len)
{
	int32_t v = 0;

	if (off >= 0 && (uint32_t)off + 4 <= len)
		memcpy(&v, p + off, 4);
	return v;
}

/* Records the sweep termination waiting for its end: at tMark when the runtime's work times,
 * read at a later stop, are that cycle's (tSweepTerm matches), else at our provisional end. */
static void settle_sweep(struct gc_state *g, const __s64 *work_times, uint64_t ts_ns)
{
	struct gc_pause *p = &g->sweep;
	int64_t tmark = work_times ? work_times[1] : 0;

	if (!g->sweep_key)
		return;
	if (work_times && work_times[0] == g->sweep_key && tmark >= (int64_t)p->start_ns &&
	    (uint64_t)tmark <= ts_ns)
		p->end_ns = (uint64_t)tmark;
	/* Go <= 1.22: stwprocs * (tMark - tSweepTerm) */
	if (g->cfg.go_minor < 23)
		p->cpu_ns = (int64_t)(p->end_ns - p->start_ns) * stwprocs(g);
	g->sweep_key = 0;
	gc__pause(g, p);
}

static void add_stw(struct gc_state *g, const struct hs_gc_stw *e)
{
	struct gc_pause p = { .cpu_ns = -1, .mark_cpu_ns = -1, .seq = e->seq };
	int64_t entry = (int64_t)e->hdr.ts_ns, start = (int64_t)e->stop_ns, end = entry;
	const __s64 *wt = e->work_times;
	struct gc_open *o;
	int minor = g->cfg.go_minor;

	settle_sweep(g, wt, e->hdr.ts_ns);
	o = open_cycle(g, e->seq);
	/* 1.22+ mark termination passes its end (tEnd) in; a nonsensical one (clock mismatch) is
	 * not used */
	if (minor >= 22 && (int64_t)e->start_args[0] > 0 &&
	    (int64_t)e->start_args[0] <= entry + 1000000 &&
	    (int64_t)e->start_args[0] + 1000000000 >= entry)
		end = (int64_t)e->start_args[0];
	if (minor >= 21) {
		/* stwReason: 1 GC mark termination, 2 GC sweep termination; 1.22+ passes it to
		 * startTheWorldWithSema too (worldStop.reason), so its stop is not probed */
		uint8_t reason = (minor >= 22 ? e->start_args[1] : e->stop_arg1) & 0xff;

		p.kind = reason == 2 ? GC_PAUSE_SWEEP_TERM :
			 reason == 1 ? GC_PAUSE_MARK_TERM : GC_PAUSE_OTHER;
	} else if (e->stop_caller >= g->cfg.nongc_stop_lo && e->stop_caller < g->cfg.nongc_stop_hi) {
		p.kind = GC_PAUSE_OTHER;
	} else {
		/* gcStart and gcMarkDone stop the world directly; startCycle runs inside the first */
		p.kind = o && !o->pauses ? GC_PAUSE_SWEEP_TERM : GC_PAUSE_MARK_TERM;
	}
	if (p.kind == GC_PAUSE_OTHER)
		return;	/* not a GC pause: the runtime does not count it either */
	if (p.kind == GC_PAUSE_SWEEP_TERM && o && o->mark_start_ns > 0 && o->mark_start_ns <= end) {
		/* work.tSweepTerm, passed to startCycle: gctrace's clock A starts there */
		start = o->mark_start_ns;
	} else if (minor >= 22 && (int64_t)e->start_args[2] > 0 &&
		   (int64_t)e->start_args[2] <= end) {
		/* worldStop.start (1.22) / startedStopping (1.23+): the runtime's own */
		start = (int64_t)e->start_args[2];
	}
	if (start <= 0 || start > end)
		return;
	/* gctrace's mark-termination clock is work.tEnd - work.tMarkTerm; tMarkTerm is taken a
	 * little before the stop begins (before stopTheWorldWithSema's own start in 1.22+), which
	 * shows when the thread is descheduled in between. Read them when target.c found them. */
	if (p.kind == GC_PAUSE_MARK_TERM && wt[2] > 0 && wt[3] >= wt[2] && wt[3] <= end + 1000000) {
		start = wt[2];
		end = wt[3];
	}
	p.start_ns = (uint64_t)start;
	p.end_ns = (uint64_t)end;
	if (minor >= 23) {
		/* accumulateGCPauseTime(stoppingCPUTime, 1) + (t - finishedStopping) * maxprocs,
		 * t read just before startTheWorldWithSema, or passed to it (mark termination) */
		int64_t finished = (int64_t)e->start_args[3], stopping = (int64_t)e->start_args[4];
		int64_t t = e->start_args[0] ? end : entry;
		int procs = g->tot.gomaxprocs > 0 ? g->tot.gomaxprocs : 1;

		if (finished < start || finished > t)
			finished = start;
		p.cpu_ns = (stopping > 0 ? stopping : 0) + (t - finished) * procs;
	}
	if (p.kind == GC_PAUSE_SWEEP_TERM) {
		g->sweep = p;
		g->sweep_key = wt[0] > 0 ? wt[0] : start;
		/* without the work times no later stop can tell its end: ours it is */
		if (wt[0] <= 0)
			settle_sweep(g, NULL, e->hdr.ts_ns);
		return;
	}
	gc__pause(g, &p);
}

bool gc_state__knows_ctrl(const struct gc_state *g)
{
	return g && g->cfg.have_offsets;
}

int gc_state__end_assist_ns(const struct gc_state *g, const struct hs_gc_end *e, uint64_t *ns)
{
	const struct gc_ctrl_offsets *o = &g->cfg.off;
	uint32_t len = e->ctrl_len > HS_GC_CTRL_MAX ? HS_GC_CTRL_MAX : e->ctrl_len;

	if (!g->cfg.have_offsets || len < (uint32_t)o->size)
		return -ENOENT;
	*ns = rd64(e->ctrl, o->assist_time, len);
	return 0;
}

static void add_end(struct gc_state *g, const struct hs_gc_end *e)
{
	const struct gc_ctrl_offsets *o = &g->cfg.off;
	struct gc_cycle_end c = { .seq = e->seq };
	uint32_t len = e->ctrl_len > HS_GC_CTRL_MAX ? HS_GC_CTRL_MAX : e->ctrl_len;

	if (g->cfg.have_offsets && len >= (uint32_t)o->size) {
		c.have_ctrl = true;
		c.heap_live = rd64(e->ctrl, o->heap_marked, len);
		c.heap_goal = rd64(e->ctrl, o->last_heap_goal, len);
		c.gogc = rd32(e->ctrl, o->gc_percent, len);
		c.gomemlimit = (int64_t)rd64(e->ctrl, o->memory_limit, len);
		c.assist_ns = (int64_t)rd64(e->ctrl, o->assist_time, len);
		c.background_ns = (int64_t)rd64(e->ctrl, o->dedicated_mark_time, len) +
				  (int64_t)rd64(e->ctrl, o->fractional_mark_time, len);
		c.idle_ns = (int64_t)rd64(e->ctrl, o->idle_mark_time, len);
	}
	/* a sweep termination still waiting (its mark termination's stop was lost): ours */
	if (g->sweep_key && g->sweep.seq == e->seq)
		settle_sweep(g, NULL, e->hdr.ts_ns);
	gc__cycle_end(g, e->hdr.ts_ns, &c);
}

int gc_state__add_event(struct gc_state *g, const void *data, size_t len)
{
	struct hs_ev_hdr h;

	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	switch (h.type) {
	case HS_EV_GC_START: {
		const struct hs_gc_start *e = data;

		if (len < sizeof(*e))
			return -EINVAL;
		/* gcTriggerCycle (runtime.GC) is what gctrace marks "(forced)" */
		gc__cycle_start(g, e->seq, e->hdr.ts_ns, e->trigger_kind == 2, (int)e->procs,
				e->mark_start_ns);
		return 0;
	}
	case HS_EV_GC_STW:
		if (len < sizeof(struct hs_gc_stw))
			return -EINVAL;
		add_stw(g, data);
		return 0;
	case HS_EV_GC_END:
		if (len < sizeof(struct hs_gc_end))
			return -EINVAL;
		add_end(g, data);
		return 0;
	}
	return -EINVAL;
}
