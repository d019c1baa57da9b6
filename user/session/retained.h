/* SPDX-License-Identifier: GPL-2.0 */
/* Retained memory of one observed process: its heap profile (user/goruntime/mprof.c) read through
 * the pinned /proc/PID/mem when a GC cycle ends (the only time it changes), at most once per
 * interval so that a GC-heavy target costs a bounded number of reads, attributed to allocation
 * sites through .gopclntab and turned into in-use bytes and a leak signal (user/agg/inuse.c).
 *
 * What it covers: the objects the runtime's sampler recorded that were still live at the GC
 * cycle before the latest (the runtime publishes its profile one cycle late), as
 * runtime.MemProfile reports them. When heapscope switched the sampler on itself, that is only
 * objects allocated since it attached (and during any earlier heapscope run). The samples the
 * runtime forces when the rate changes (the first allocation on each P, which heapscope's own
 * allocation figures drop) are in the profile too: at most one object per P per rate change. */
#ifndef __RETAINED_H
#define __RETAINED_H

#include <stdbool.h>
#include <stdint.h>
#include "agg.h"
#include "goruntime.h"
#include "inuse.h"
#include "mprof.h"
#include "target.h"

#define RETAINED_INTERVAL_NS 1000000000ull	/* at most one reading a second */

struct retained {
	const struct target *t;		/* borrowed */
	struct agg *agg;		/* borrowed: the session's string table */
	struct mprof_globals g;
	struct mprof_reader *reader;
	struct inuse *u;
	struct retained_attr *attr;	/* per bucket (bucket.user - 1): its site */
	size_t nattr, capattr;
	double rate;			/* unsampling rate */
	bool since_attach;		/* heapscope switched the sampler on */
	uint64_t interval_ns;
	uint64_t last_read_ns;		/* CLOCK_MONOTONIC of the last attempt */
	uint64_t gc_end_ns[2];		/* the two latest GC cycle ends seen ([1] newest) */
	unsigned ngc_ends;
	struct mprof_reading last;	/* of the latest successful reading */
	uint64_t readings, failures;
	int last_err;
	bool warned;
	double unattributed_bytes;	/* in-use with no frame above the runtime */
	double cost_s, cost_max_s;	/* time spent reading, total and worst */
};

/* Locate the heap profile of the target and take a first reading. NULL (after a warning saying
 * why, unless there is nothing to read: rate 0) when in-use memory cannot be had. rate: the
 * sampling rate in force; since_attach: heapscope switched the sampler on. */
struct retained *retained__open(const struct target *t, const struct go_layout *l,
				bool have_layout, struct agg *agg, int64_t rate, bool since_attach);
void retained__free(struct retained *r);

/* A GC cycle ended (the event's timestamp): read when the interval has passed since the last
 * reading. */
void retained__gc_end(struct retained *r, uint64_t ts_ns);
/* Read now (the end of a window). 0 or -errno; the previous figures stay on error. */
int retained__read(struct retained *r);

const struct inuse *retained__inuse(const struct retained *r);

struct report;
/* In-use figures into a stat report built from the same session's aggregates: every row and
 * site, plus rows and sites for what holds memory but allocated nothing sampled in the window.
 * Nothing when ret is NULL or never read (r->inuse_on stays false). 0 or -ENOMEM. */
int retained__fill_report(const struct retained *ret, struct agg *agg, struct report *r);

struct tui_snapshot;
struct tui_row;
/* In-use figures into a top snapshot whose rows (s->nrows of *rows, capacity *cap) were built
 * from the same session's aggregates, plus rows for what holds memory but allocated nothing
 * sampled since attach (*rows may move; s->rows follows). s->has_inuse false when ret is NULL
 * or never read. 0 or -ENOMEM. */
int retained__fill_tui(const struct retained *ret, struct agg *agg, struct tui_snapshot *s,
		       struct tui_row **rows, size_t *cap);

/* The site a bucket was attributed to (agg string ids; func 0: no frame above the runtime). */
struct retained_attr {
	uint32_t func, file, line, kind;
};

#endif /* __RETAINED_H */
