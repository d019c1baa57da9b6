/* SPDX-License-Identifier: GPL-2.0 */
/* GC cost observed from outside: cycles, stop-the-world pauses, GC CPU by class, heap live and
 * goal. Events come from uprobes that fire per cycle or per worker run (never per allocation);
 * this module turns them into cumulative totals and per-window figures. The aggregation half
 * (gc__add_*, gc__window) is pure and takes time as a parameter. */
#ifndef __GC_H
#define __GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "goruntime.h"

struct gc_state;

/* Pause durations as a log-linear histogram: GC_HIST_SUB buckets per power of two of
 * nanoseconds, so any window's quantiles come from the difference of two totals with a relative
 * error under 1/(2*GC_HIST_SUB), in fixed memory however many pauses there were. */
#define GC_HIST_SUB 16		/* hist_index() assumes 16: 4 bits under the leading one */
#define GC_HIST_OCTAVES 40		/* up to 2^40 ns, 18 minutes */
#define GC_HIST_BUCKETS (GC_HIST_SUB * GC_HIST_OCTAVES)
/* The Prometheus histogram of heapscope_gc_pause_seconds: upper bounds in seconds, as the
 * strings that go into le="..." (Go's %g); counts[GC_PROM_BUCKETS] is above the last. */
#define GC_PROM_BUCKETS 17
extern const char *const gc_prom_le[GC_PROM_BUCKETS];

/* Cumulative since attach; only grows, except the "last cycle" values. */
struct gc_totals {
	uint64_t cycles;		/* completed cycles (mark termination reached) */
	uint64_t forced_cycles;		/* runtime.GC() / debug.FreeOSMemory */
	uint64_t pauses;		/* stop-the-world pauses, both of every cycle */
	double pause_total_s, pause_max_s;
	double assist_cpu_s;		/* mark assists (what allocating goroutines pay) */
	double background_cpu_s;	/* dedicated + fractional mark workers */
	double idle_cpu_s;		/* idle-priority mark workers */
	double pause_cpu_s;		/* STW time x procs, as the runtime accounts it */
	uint64_t heap_live_bytes;	/* marked live heap after the last cycle; 0 = none yet */
	uint64_t heap_goal_bytes;	/* heap goal for the next cycle; 0 = unknown */
	int gomaxprocs;			/* 0 = unknown */
	int gogc;			/* -1 = off; INT32_MIN = unknown */
	int64_t gomemlimit;		/* bytes; -1 = unknown */
	uint64_t last_ns;		/* CLOCK_MONOTONIC of the last event */
	uint64_t pause_hist[GC_HIST_BUCKETS];	/* GC pauses by duration (log-linear) */
	uint64_t pause_prom[GC_PROM_BUCKETS + 1];	/* GC pauses per gc_prom_le bucket */
};

/* One observation window [start_ns, end_ns): differences of totals plus pause quantiles. */
struct gc_window {
	uint64_t cycles, forced_cycles, pauses;
	double pause_total_s, pause_max_s, pause_p50_s, pause_p99_s;
	bool quantiles_approx;		/* from the histogram (within 1/(2*GC_HIST_SUB)) */
	double cpu_s;			/* assist + background + idle + pause */
	double assist_cpu_s, background_cpu_s, idle_cpu_s, pause_cpu_s;
	double cpu_share;		/* cpu_s / (gomaxprocs x wall seconds); < 0 unknown */
	uint64_t heap_live_bytes, heap_goal_bytes;
	int gomaxprocs, gogc;
	int64_t gomemlimit;
};

/* What decoding the raw BPF events needs to know about the target. */
struct gc_config {
	int go_minor;			/* Go 1.N */
	int ncpu;			/* CPUs the target may run on (the runtime's ncpu); 0 unknown */
	uint64_t nongc_stop_lo, nongc_stop_hi;	/* run-time range of runtime.stopTheWorld.func1
						 * (Go <= 1.20: the only non-GC stopper) */
	bool have_offsets;
	struct gc_ctrl_offsets off;
};

/* Typed inputs: what one probe hit means once decoded. Times are CLOCK_MONOTONIC ns, which is
 * also the clock of the runtime's nanotime(). */
enum gc_pause_kind {
	GC_PAUSE_SWEEP_TERM = 1,	/* first stop of a cycle (gctrace clock A) */
	GC_PAUSE_MARK_TERM = 2,		/* mark termination (gctrace clock C), or a restarted one */
	GC_PAUSE_OTHER = 3,		/* not the GC's (ReadMemStats, GOMAXPROCS, ...): ignored */
};

struct gc_pause {
	uint32_t seq;			/* the cycle it belongs to (gc__cycle_start), 0: none */
	uint64_t start_ns, end_ns;
	enum gc_pause_kind kind;
	/* CPU the runtime accounts for the pause: >= 0 is added now; < 0 (Go <= 1.22 mark
	 * termination) means stwprocs x wall of the cycle's last such pause, added at cycle end
	 * as the runtime does (restarted mark terminations cost it nothing there). */
	int64_t cpu_ns;
	int64_t mark_cpu_ns;		/* with cpu_ns < 0: that pending CPU if >= 0 (instead of
					 * stwprocs x wall) */
};

struct gc_cycle_end {
	uint32_t seq;			/* the cycle that ended; 0: began before attach */
	bool have_ctrl;			/* the fields below were read */
	uint64_t heap_live, heap_goal;
	int gogc;
	int64_t gomemlimit;
	int64_t assist_ns, background_ns, idle_ns;
};

/* One completed cycle, for per-cycle checks (stat's cycle_list). */
struct gc_cycle {
	uint64_t end_ns;
	bool forced;
	int pauses;			/* GC stops in the cycle (2, more when mark termination restarts) */
	double sweep_term_pause_s;	/* < 0: not seen (cycle began before attach) */
	double mark_term_pause_s;	/* last mark termination stop; < 0: not seen */
	double assist_cpu_s, background_cpu_s, idle_cpu_s, pause_cpu_s;
	uint64_t heap_live_bytes, heap_goal_bytes;	/* 0: unknown */
};

/* keep: how many of the latest cycles and pauses to remember individually (stat's cycle_list,
 * exact quantiles); 0 keeps none, and quantiles then come from the histogram. */
struct gc_state *gc_state__new(size_t keep);
void gc_state__free(struct gc_state *g);
void gc_state__totals(const struct gc_state *g, struct gc_totals *t);
/* Figures between two totals snapshots. Quantiles are exact (from the kept pauses whose end lies
 * in [start_ns, end_ns)) when every pause of the window is still kept, else from the
 * histograms' difference. */
void gc_state__window(const struct gc_state *g, const struct gc_totals *start,
		      const struct gc_totals *end, uint64_t start_ns, uint64_t end_ns,
		      struct gc_window *w);

void gc_state__config(struct gc_state *g, const struct gc_config *c);

/* seq numbers cycles started since attach, from 1; mark_start_ns is the runtime's tSweepTerm. */
void gc__cycle_start(struct gc_state *g, uint32_t seq, uint64_t ts_ns, bool forced, int procs,
		     int64_t mark_start_ns);
void gc__pause(struct gc_state *g, const struct gc_pause *p);
void gc__cycle_end(struct gc_state *g, uint64_t ts_ns, const struct gc_cycle_end *c);

struct hs_gc_end;

/* Whether cycle ends' gcController copies can be decoded (the version's layout is known). */
bool gc_state__knows_ctrl(const struct gc_state *g);

/* gcController.assistTime as a cycle end's copy holds it: the cycle's mark-assist time as the
 * runtime credits it. 0, or -ENOENT without the layout or the bytes. */
int gc_state__end_assist_ns(const struct gc_state *g, const struct hs_gc_end *e, uint64_t *ns);

/* Decode one ring buffer record (struct hs_gc_*) with the configured version rules and feed the
 * typed functions above. 0, or -EINVAL for a record that is not a well-formed GC event. */
int gc_state__add_event(struct gc_state *g, const void *data, size_t len);

/* Cycles that ended in [start_ns, end_ns), oldest first, from the most recent ones kept (the
 * last `keep`); returns how many were written (<= max). */
#define GC_KEEP 65536
size_t gc_state__cycles(const struct gc_state *g, uint64_t start_ns, uint64_t end_ns,
			struct gc_cycle *out, size_t max);

#endif /* __GC_H */
