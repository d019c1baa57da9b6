/* SPDX-License-Identifier: GPL-2.0 */
/* An attached observation of one Go process: probes, ring buffer, aggregation, and the one
 * change heapscope may make to the target (runtime.MemProfileRate), undone on every exit. */
#ifndef __SESSION_H
#define __SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "agg.h"
#include "gc.h"
#include "probes.h"
#include "symbolize.h"
#include "target.h"

#define DEFAULT_SAMPLE_BYTES 524288
#define DRAIN_INTERVAL_MS 100

struct session_opts {
	pid_t pid;
	unsigned mode;		/* MODE_SAMPLED or MODE_EXACT */
	int64_t sample_bytes;	/* rate written when the target's is 0 */
	bool read_only;		/* never write target memory */
};

struct session {
	struct session_opts opts;
	struct target t;
	struct heapscope_bpf *skel;
	struct bpf_link **links;
	size_t nlinks;
	struct ring_buffer *rb;
	int pollfd;		/* epoll over the ring buffer and drain_timer: what session__fd gives */
	int drain_timer;	/* periodic: events are submitted without wakeups (see the BPF side) */
	struct exact_prev *exact_prev;	/* --exact: kernel counts already taken, by key */
	size_t exact_cap;
	struct agg *agg;
	struct symbolizer *sym;
	int64_t orig_rate;	/* MemProfileRate found at attach, -1 if unreadable */
	int64_t rate;		/* rate in effect (for unsampling when an event could not read it) */
	bool rate_written;
	uint64_t attach_ns, detach_ns;	/* CLOCK_MONOTONIC */
	uint64_t cpu_start_ns, cpu_end_ns;	/* target's utime+stime */
	bool cpu_known;		/* both readings made (an exited target's end one is not) */
	bool target_exited;
	uint64_t events, bad_events, rate_off_events;
	struct gc_state *gc;	/* GC cost; events only when gc_on */
	bool gc_on;		/* GC probes attached (otherwise the report's gc figures are null) */
	struct gc_totals gc_start;	/* totals at attach: the window's baseline */
};

/* Open the target, plan and attach probes, enable sampling. Logs one clear line on failure.
 * 0 or -errno. session__close() must be called either way. */
int session__open(struct session *s, const struct session_opts *o);
/* An fd for the event loop: readable when events wait (at least every DRAIN_INTERVAL_MS). */
int session__fd(const struct session *s);
/* Bring the aggregates up to date now (a dashboard refresh): ring buffer and --exact counts.
 * 0 or -errno. */
int session__sync(struct session *s);
/* Consume whatever is ready. 0 or -errno. */
int session__poll(struct session *s);
/* Events the kernel dropped because the ring buffer was full. */
uint64_t session__lost(const struct session *s);
/* Stop observing: drain events, detach, restore MemProfileRate. Idempotent. */
void session__detach(struct session *s);
void session__close(struct session *s);

#endif /* __SESSION_H */
