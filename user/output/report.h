/* SPDX-License-Identifier: GPL-2.0 */
/* The one-shot `stat` report: a plain struct built from a session, rendered as text (in the
 * spirit of `go tool pprof -top`) or as the JSON contract of design.md. Rendering is pure. */
#ifndef __REPORT_H
#define __REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gc.h"
#include "util.h"

struct session;
struct escape_site;
struct escape_source;

/* Retained memory of a row, from the runtime's heap profile (user/session/retained.c). */
struct report_inuse {
	bool known;			/* false: not read (the JSON says null) */
	double bytes, objects;		/* in use as of the last completed GC cycle */
	double growth_bytes_s;		/* trend of bytes over the last GC-cycle readings */
	bool leak;			/* steady growth (user/agg/inuse.h) */
};

/* Order of the text report's rows (the JSON's is fixed: alloc_bytes, descending). */
enum report_sort { REPORT_SORT_ALLOC, REPORT_SORT_INUSE, REPORT_SORT_GROWTH };

struct report_site {
	const char *file, *kind;
	int line;
	double bytes, objects;
	double bytes_ci95, objects_ci95;	/* half-widths of the 95 % intervals */
	uint64_t samples;
	struct report_inuse inuse;
	const struct escape_site *escape;	/* --source: the compiler's word on it; or NULL */
	double assist_s;		/* mark-assist CPU charged to this site */
};

struct report_frame {
	const char *function, *file;
	int line;
};

/* One of a function's largest stacks: frames[0] is its allocation site, then the callers outward
 * as the BPF walk found them. */
#define REPORT_STACKS 3
struct report_stack {
	struct report_frame *frames;	/* owned by the report */
	int nframes;
	double bytes, objects;
	uint64_t samples;
};

struct report_row {
	const char *function, *file, *kind;
	int line;
	double bytes, objects, cum_bytes;
	double bytes_ci95, objects_ci95;
	uint64_t samples;
	struct report_site *sites;	/* by bytes, descending */
	size_t nsites;
	struct report_inuse inuse;
	double assist_s;		/* mark-assist CPU, flat (valid when assist_on) */
	double assists;			/* how many assists (estimated) */
	uint64_t assist_samples;	/* sampled assist stacks behind assist_s */
	struct report_stack stacks[REPORT_STACKS];	/* by bytes, descending */
	size_t nstacks;
};

struct report {
	int pid;
	const char *exe, *go_version, *mode;
	int64_t sample_bytes;		/* sampling rate in effect; 0 in exact mode */
	bool rate_written;		/* heapscope turned the target's sampler on */
	double duration_s;
	double alloc_bytes, alloc_objects;
	double alloc_bytes_ci95, alloc_objects_ci95;
	uint64_t samples, unattributed;
	double process_cpu_s;		/* < 0: unknown */
	uint64_t lost_events;
	uint64_t rearm_dropped;		/* samples taken only because the rate changed: dropped */
	/* What the probes saw, to tell a quiet target from a probe that never fires and to say
	 * how much went through the slow paths (the "probe_counters" JSON object). */
	struct report_probes {
		uint64_t alloc_hits;	/* allocation probe passes that counted */
		uint64_t alloc_events;	/* sample events received (alloc_hits less dropped, lost) */
		uint64_t morestack;	/* passes headed to morestack: the re-entry counted */
		uint64_t nested;	/* size-specialised mallocs entered from mallocgc */
		uint64_t inline_stacks;	/* stacks sent whole: their table slots were taken */
		uint64_t gc_hits;
		uint64_t assist_hits;
		uint64_t assist_unread;	/* assists whose time could not be read: not counted */
	} probes;
	bool rate_changed;		/* someone else changed MemProfileRate during the window */
	bool target_exited;
	bool target_execed;		/* it called execve: the window ends there */
	bool gc_on;			/* GC probes attached; otherwise gc figures are null */
	bool assist_on;			/* mark assists attributed; otherwise per-function
					 * assist figures are null */
	double assist_unattributed_s;	/* credited to stacks with no frame above the runtime */
	double assist_attached_share;	/* of the window, the mark-assist probe was attached */
	struct gc_window gc;
	struct gc_cycle *gc_cycles;	/* cycles that ended in the window, oldest first */
	size_t gc_ncycles;
	struct report_row *rows;	/* sorted by bytes, descending */
	size_t nrows;
	/* In-use memory: rows with none allocated in the window may be listed for it alone. */
	bool inuse_on;			/* read at least once; else every inuse figure is null */
	bool inuse_since_attach;	/* heapscope switched the sampler on: covers only objects
					 * allocated since it attached */
	double inuse_bytes, inuse_objects;
	uint64_t inuse_readings;	/* readings of the heap profile in the window */
	double inuse_trend_s;		/* time the latest trend spans */
	double inuse_read_cost_s;	/* time heapscope spent reading it */
	enum report_sort sort;		/* text only; set before report__text */
	const struct escape_source *source;	/* --source: what was compiled; or NULL */
};

/* 0 or -ENOMEM. Strings point into the session, which must outlive the report. */
int report__build(struct report *r, const struct session *s);
void report__free(struct report *r);
/* The half-width of the 95 % interval of an estimate with this variance. */
double ci95(double variance);
/* max_rows 0 = all. */
void report__text(const struct report *r, struct strbuf *sb, size_t max_rows);
void report__json(const struct report *r, struct strbuf *sb);

#endif /* __REPORT_H */
