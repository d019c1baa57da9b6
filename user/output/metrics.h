/* SPDX-License-Identifier: GPL-2.0 */
/* heapscope's Prometheus schema: what `serve` exports, from plain snapshots of its targets.
 * Pure: no sessions, no clock, no sockets; user/output/serve.c fills the snapshots.
 *
 * Per-function series are capped per target (--max-functions) with sticky membership: once a
 * (function, kind) pair has its own series it keeps it for the target's life, and every
 * increment of the pairs without one goes to function="(other)". A pair admitted late starts
 * its series from what it had at the previous scrape, which (other) had already counted, so
 * every series is monotonic and the per-target sum always equals the total. */
#ifndef __METRICS_H
#define __METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agg.h"
#include "gc.h"
#include "prom.h"

#define METRICS_OTHER "(other)"
/* Label values longer than this are cut and made unique with a hash of the whole name. */
#define METRICS_MAX_LABEL 120

/* One exported per-function series. */
struct metrics_func {
	const char *function;	/* possibly cut (metrics__label_value) */
	const char *kind;
	double bytes, objects;	/* cumulative, since the series exists */
	double assist_s;	/* mark-assist CPU seconds charged to it, likewise */
};

struct metrics_target {
	int pid;
	const char *comm, *exe, *go_version, *cgroup;
	const char *state;	/* "attached" or "unsupported" */
	const char *reason;	/* why unsupported; NULL when attached */
	bool attached;
	/* the rest only when attached */
	int64_t sample_rate;	/* MemProfileRate in force (0: exact or off) */
	bool sampler_by_heapscope;
	double alloc_bytes, alloc_objects;	/* cumulative estimates since attach */
	const struct metrics_func *funcs;
	size_t nfuncs;
	bool gc_on;
	bool assist_on;		/* funcs[].assist_s measured (the mark-assist probe is placed) */
	const struct gc_totals *gc;	/* cumulative since attach */
	bool cpu_known;
	double process_cpu_s;	/* since attach */
	uint64_t lost_events;
};

struct metrics_self {
	double cpu_s;			/* heapscope's own user + system */
	uint64_t rss_bytes;
	double scrape_duration_s;	/* building the previous exposition */
	uint64_t scrapes;
	uint64_t series_overflow;	/* pairs folded into (other) for want of a slot, now */
};

/* Add every family for these targets and heapscope itself. 0 or -errno from the writer. */
int metrics__render(struct prom_writer *w, const struct metrics_target *t, size_t n,
		    const struct metrics_self *self);

/* The sticky cap of one target. */
struct series_cap;
struct series_cap *series_cap__new(size_t max_series);
void series_cap__free(struct series_cap *c);
/* Update from the target's aggregation (cumulative per function and site) and return the
 * series to export now: admitted pairs, then (other) last. Valid until the next update. */
int series_cap__update(struct series_cap *c, const struct agg *a, const struct metrics_func **out,
		       size_t *n);
/* Pairs with no series of their own (their increments are in (other)). */
size_t series_cap__overflow(const struct series_cap *c);

/* name itself when short enough, else its first bytes + "~" + 8 hex digits of its hash, into
 * buf (at least METRICS_MAX_LABEL + 1 bytes). */
const char *metrics__label_value(const char *name, char *buf, size_t len);

#endif /* __METRICS_H */
