/* SPDX-License-Identifier: GPL-2.0 */
/* Allocation aggregation: per function (flat and cumulative) and per stack. Pure: no libbpf, no
 * clock, no /proc; callers pass time in. Counters only grow, so any two snapshots give rates. */
#ifndef __AGG_H
#define __AGG_H

#include <stddef.h>
#include <stdint.h>

struct agg;

/* A logical frame (after inline expansion), as ids into the aggregator's string table. */
struct agg_frame {
	uint32_t func;	/* interned function name */
	uint32_t file;	/* interned file name (0 = unknown) */
	uint32_t line;
};

/* One allocation sample. frames[0] is the allocation site (first frame above the runtime),
 * then its callers outward. Estimated bytes/objects are already unsampled. */
struct agg_sample {
	const struct agg_frame *frames;
	int nframes;
	uint32_t kind;		/* interned allocation kind ("new", "append-growth", ...) */
	double bytes;		/* estimated bytes this sample stands for */
	double objects;		/* estimated objects this sample stands for */
	uint64_t sampled_bytes;	/* bytes actually seen by the probe */
	/* This sample's term in the variance estimate of the sums it is added to (0 in exact
	 * mode): the unsampling is a Horvitz-Thompson estimator, whose variance is estimated by
	 * (1 - p) / p^2 per sample, times size^2 for bytes (see unsample_var). */
	double var_bytes, var_objects;
};

/* One allocation site of a function: a source line and the allocation kind there. */
struct agg_site_stats {
	uint32_t file, line;
	uint32_t kind;
	double bytes, objects;
	double var_bytes, var_objects;
	uint64_t samples;
	double assist_s;	/* mark-assist CPU charged here (agg__add_assist) */
	double assists;		/* how many assists that stands for (estimated) */
};

/* Sites kept per function; more distinct (line, kind) pairs than this share the last one. */
#define AGG_MAX_SITES 64

struct agg_func_stats {
	uint32_t func;		/* interned name; also the stable id of this row */
	uint32_t file, line;	/* the site line with the most bytes */
	uint32_t kind;		/* the kind with the most bytes */
	double flat_bytes, flat_objects;	/* allocated here (this function is the site) */
	double flat_var_bytes, flat_var_objects;	/* variance estimates of the two above */
	double cum_bytes, cum_objects;		/* allocated here or below */
	uint64_t samples;	/* samples where this function is the site */
	const struct agg_site_stats *sites;	/* by first appearance; valid like the row */
	uint32_t nsites;
	/* Mark-assist CPU seconds (agg__add_assist) where this function is the allocation site
	 * (flat) or anywhere in the stack (cum), since the aggregator started: what an exporter
	 * publishes as heapscope_function_gc_assist_seconds_total{function}. */
	double assist_s, cum_assist_s;
	double assists;		/* how many assists make up assist_s (estimated) */
	uint64_t assist_samples;	/* sampled assist stacks behind assist_s */
};

/* A stack row may have no samples: one that only assisted the GC (agg__stack_ref). */
struct agg_stack_stats {
	const struct agg_frame *frames;	/* site first; valid while the aggregator lives */
	int nframes;
	uint32_t kind;
	double bytes, objects;
	uint64_t samples;
	double assist_s;
	double assists;
	uint64_t assist_samples;
};

struct agg_totals {
	double bytes, objects;
	double var_bytes, var_objects;
	uint64_t samples;
	uint64_t unattributed;	/* samples with no frame above the runtime (empty stacks) */
	double unattributed_bytes, unattributed_objects;
	uint64_t first_ns, last_ns;
	double assist_s;	/* mark-assist CPU credited, attributed or not */
	double assists;
	double assist_unattributed_s;	/* of assist_s: stacks with no frame above the runtime */
};

struct agg *agg__new(void);
void agg__free(struct agg *a);

/* Intern a string; returns its id (>= 1), or 0 on ENOMEM. The same string gets the same id. */
uint32_t agg__intern(struct agg *a, const char *s);
const char *agg__str(const struct agg *a, uint32_t id);

int agg__add(struct agg *a, const struct agg_sample *s, uint64_t now_ns);
/* A sample with no frame above the runtime (its frames are ignored): counted in totals only. */
void agg__add_unattributed(struct agg *a, const struct agg_sample *s, uint64_t now_ns);

/* The stack row of these frames and kind, created empty if new: a stable index (rows are never
 * removed) for agg__add_assist. >= 0, or -EINVAL (no frames) or -ENOMEM. */
int64_t agg__stack_ref(struct agg *a, const struct agg_frame *frames, int nframes, uint32_t kind);
/* Mark-assist CPU credited to a stack row, with the assists it stands for (count, estimated)
 * and the sampled stacks it rests on: to its site (flat: the function and its (line, kind)
 * site), to every function in it once (cum), and to the totals. 0 or -EINVAL. */
int agg__add_assist(struct agg *a, uint32_t stack, double seconds, double count,
		    uint64_t samples, uint64_t now_ns);
/* Mark-assist CPU no stack above the runtime stands for: totals only. */
void agg__add_assist_unattributed(struct agg *a, double seconds, double count, uint64_t now_ns);

void agg__totals(const struct agg *a, struct agg_totals *t);
/* Every function seen (as site or caller), unsorted; *n set. Valid until the next agg__add. */
const struct agg_func_stats *agg__funcs(const struct agg *a, size_t *n);
const struct agg_stack_stats *agg__stacks(const struct agg *a, size_t *n);

/* Allocation kind named from the runtime function the site called (design.md). Returns a static
 * string; never NULL. */
const char *alloc_kind_of(const char *runtime_func);
/* True for frames that belong to the Go runtime: package runtime, internal/runtime/..., and
 * functions the runtime implements for other packages through linkname (reflect.unsafe_New,
 * internal/bytealg.MakeNoZero), recognisable by their source file in the runtime's directory.
 * file may be NULL. */
int is_runtime_frame(const char *func, const char *file);

/* pprof's unsampling (runtime/pprof protomem.go scaleHeapSample): an allocation of `size`
 * bytes at sampling rate `rate` stands for 1/(1-exp(-size/rate)) allocations. */
double unsample_scale(double size, double rate);
/* The variance term of one sample of that size, in objects^2: (1 - p) / p^2 with
 * p = 1 - exp(-size/rate) the chance it was sampled (times size^2 for bytes^2). */
double unsample_var(double size, double rate);

#endif /* __AGG_H */
