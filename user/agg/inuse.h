/* SPDX-License-Identifier: GPL-2.0 */
/* In-use (retained) memory per allocation site and per function, from successive readings of
 * the runtime's heap profile, and the leak signal: the trend of each one's in-use bytes over the
 * readings. Pure: no clock, no /proc; callers pass each reading's buckets and time in.
 *
 * Estimates are unsampled as pprof does: a bucket of slot size s holding n sampled objects at
 * sampling rate R stands for n / (1 - exp(-s/R)) objects. Each sampled object adds
 * (1 - p) / p^2 * s^2 (p = 1 - exp(-s/R)) to the variance of a byte estimate (Horvitz-Thompson),
 * which is what the leak test measures changes against.
 *
 * The leak test, at every reading, over the last INUSE_TREND readings of a site (at least
 * INUSE_MIN_READINGS): split them at the middle; in each half the change of in-use bytes D has,
 * under "no growth", mean 0 and a variance no larger than the sum of the variance terms of the
 * objects allocated and freed in that half (objects allocated and freed within the half count
 * too, which only makes the test more conservative: churn never looks like growth). The site is
 * a leak suspect when both halves grow by more than INUSE_LEAK_Z standard deviations: a steady
 * growth, not a step (a cache filled once, a ring buffer that reached its size) and not the
 * random walk of a site whose objects come and go. The growth rate is the least-squares slope
 * over the same readings. */
#ifndef __INUSE_H
#define __INUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INUSE_TREND 64		/* readings the trend and the leak test look at */
#define INUSE_MIN_READINGS 6	/* fewer: no growth rate, never a suspect */
#define INUSE_LEAK_Z 3.0	/* standard deviations of growth required in each half */

/* One bucket of the heap profile, attributed to its allocation site (agg string ids). */
struct inuse_sample {
	uint32_t func, file, line;	/* the site: first frame above the runtime */
	uint32_t kind;			/* 0: unknown */
	uint64_t size;			/* object slot size */
	uint64_t allocs, frees;		/* sampled objects, cumulative */
};

struct inuse_stats {
	uint32_t func, file, line;	/* file and line are 0 for a function's row */
	uint32_t kind;			/* 0 unknown; a function: its largest site's */
	double bytes, objects;		/* in use at the latest reading (unsampled) */
	double alloc_bytes, alloc_objects;	/* allocated, cumulative (unsampled) */
	double growth_bytes_s;		/* least-squares slope of the trend; 0 when too few */
	double growth_z;		/* the smaller of the two halves' z-scores (0: too few) */
	bool leak;			/* steady growth: both halves beyond INUSE_LEAK_Z */
	unsigned readings;		/* in the trend (<= INUSE_TREND) */
	double trend_s;			/* time the trend spans */
};

struct inuse_totals {
	double bytes, objects;
	uint64_t readings;
	uint64_t first_ns, last_ns;	/* times of the first and latest readings */
	double rate;			/* the sampling rate of the latest reading */
};

struct inuse;

struct inuse *inuse__new(void);
void inuse__free(struct inuse *u);

/* A reading of the whole heap profile: begin, add every bucket, end. t_ns is the time the data
 * describes (the runtime publishes it a GC cycle late); rate the sampling rate to unsample at. */
void inuse__begin(struct inuse *u, uint64_t t_ns, double rate);
/* 0 or -ENOMEM (the reading is then incomplete: inuse__end() drops it). */
int inuse__add(struct inuse *u, const struct inuse_sample *s);
void inuse__end(struct inuse *u);

void inuse__totals(const struct inuse *u, struct inuse_totals *t);
/* Every site / function seen, unsorted; valid until the next inuse__end(). */
const struct inuse_stats *inuse__sites(const struct inuse *u, size_t *n);
const struct inuse_stats *inuse__funcs(const struct inuse *u, size_t *n);
/* One function's row (by agg name id), or NULL. */
const struct inuse_stats *inuse__func(const struct inuse *u, uint32_t func);
/* One site's row, or NULL. */
const struct inuse_stats *inuse__site(const struct inuse *u, uint32_t func, uint32_t file,
				      uint32_t line);

/* The leak test and growth rate over arbitrary readings (t seconds, in-use bytes, cumulative
 * variance terms of allocated and of freed objects), oldest first; exposed for tests. */
struct inuse_point {
	double t, bytes, var_alloc, var_free;
};
void inuse__trend(const struct inuse_point *p, unsigned n, struct inuse_stats *out);

#endif /* __INUSE_H */
