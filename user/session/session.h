/* SPDX-License-Identifier: GPL-2.0 */
/* An attached observation of one Go process: its pinned handle, its probes (through the shared
 * tracer), its aggregation, and the one change heapscope may make to it (runtime.MemProfileRate,
 * through user/session/sampler.c), undone on every exit. */
#ifndef __SESSION_H
#define __SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "agg.h"
#include "assist.h"
#include "gc.h"
#include "goruntime.h"
#include "probes.h"
#include "retained.h"
#include "sampler.h"
#include "symbolize.h"
#include "target.h"
#include "tracer.h"

#define DEFAULT_SAMPLE_BYTES 524288

struct session_opts {
	pid_t pid;
	unsigned mode;		/* MODE_SAMPLED or MODE_EXACT */
	int64_t sample_bytes;	/* rate written when the target's is 0 */
	bool read_only;		/* never write target memory */
	size_t gc_keep;		/* GC cycles and pauses kept one by one (gc_state__new) */
	/* The caller attaches the probes (serve shares one set per binary among all processes
	 * running it: session__attach_links with pid -1), then calls session__start. */
	bool caller_attaches;
};

struct session {
	struct session_opts opts;
	struct tracer *tr;	/* borrowed: the loaded BPF object */
	struct target t;
	struct go_layout layout;
	bool have_layout;
	struct bpf_link **links;	/* probes this session attached (not with caller_attaches) */
	size_t nlinks;
	struct probe_site *sites, *gc_sites;	/* the plan for this binary */
	size_t nsites, ngc_sites;
	bool in_tracer;		/* registered with the tracer (BPF maps and event routing) */
	struct sampler sampler;
	bool sampler_joined;
	struct exact_prev *exact_prev;	/* --exact: kernel counts already taken, by key */
	size_t exact_cap;
	struct agg *agg;
	struct symbolizer *sym;
	int64_t rate;		/* rate in force (for unsampling when an event could not read it) */
	bool rate_written;	/* a heapscope (this one or another) switched the sampler on */
	bool rate_changed;	/* someone else changed the rate while we observed (warned once) */
	uint64_t attach_ns, detach_ns;	/* CLOCK_MONOTONIC */
	uint64_t cpu_start_ns, cpu_end_ns;	/* target's utime+stime */
	bool cpu_known;		/* both readings made (an exited target's end one is not) */
	bool target_exited;
	bool target_execed;	/* it called execve: observation stopped there */
	uint64_t events, bad_events, rate_off_events;
	uint64_t alloc_events;	/* of events: allocation samples (report's probe_counters) */
	struct gc_state *gc;	/* GC cost; events only when gc_on */
	bool gc_on;		/* GC probes attached (otherwise the report's gc figures are null) */
	struct gc_totals gc_start;	/* totals at attach: the window's baseline */
	struct hs_target counters;	/* BPF-side counters, read at detach */
	struct retained *ret;	/* in-use memory from the heap profile; NULL: unavailable */
	/* Mark assists per function (session_assist.c): credited into agg at cycle ends; agg's
	 * per-function assist_s is then the cumulative counter serve exports. */
	struct assist_plan assist_plan;
	bool assist_planned;	/* the probe site was found (and assist is allocated) */
	bool assist_on;		/* attached: otherwise per-function assist figures are null */
	struct assist_state *assist;
	/* The probe's duty cycle (session_assist__tick): its index in links (-1: not ours to
	 * detach), whether it is detached now and until when, and since when it is in its phase
	 * with what hit count. Once it has been detached, cycle totals come from the runtime's
	 * gcController.assistTime instead of the probe's count (assist_from_ctrl). */
	long assist_link_i;
	bool assist_detached, assist_from_ctrl;
	uint64_t assist_phase_ns, assist_phase_hits, assist_off_until_ns;
	uint64_t assist_attached_ns;	/* of the window so far, attached */
};

/* Open the target, plan and attach probes, enable sampling. Logs one clear line on failure.
 * 0 or -errno. session__close() must be called either way. With opts.caller_attaches, stops
 * after planning and registering with the tracer: see session__start. */
int session__open(struct session *s, struct tracer *tr, const struct session_opts *o);
/* Attach this session's planned probes for pid (-1: every process running the binary), into
 * a new array of links the caller owns. *gc_on: the GC probes are among them (without them,
 * only allocations are observed; a warning said why); *assist_on: so is the mark-assist probe.
 * 0 or -errno (logged). */
int session__attach_links(struct session *s, pid_t pid, struct bpf_link ***links, size_t *n,
			  bool *gc_on, bool *assist_on);
/* With opts.caller_attaches, once the probes are in place: switch sampling on and start the
 * window. gc_on, assist_on: whether the GC and mark-assist probes reach this process. 0 or
 * -errno (logged). */
int session__start(struct session *s, bool gc_on, bool assist_on);
/* Bring the aggregates up to date now (a dashboard refresh, the end of a window): the ring
 * buffer, --exact counts, and a check that nobody changed the rate. 0 or -errno. */
int session__sync(struct session *s);
/* The probes' own counters for this target (hits, stacks sent inline, ...), see hs_target. */
void session__probe_counters(const struct session *s, struct hs_target *c);
/* Events the kernel dropped because the ring buffer was full. */
uint64_t session__lost(const struct session *s);
/* Samples the runtime took only because the rate changed, dropped (biased, not random). */
uint64_t session__rearm_dropped(const struct session *s);
/* Stop observing: drain events, detach, restore MemProfileRate. Idempotent. */
void session__detach(struct session *s);
void session__close(struct session *s);

/* Mark assists (session_assist.c), hooks for session.c: find the probe site (gc_planned: the
 * GC probes were found, they are needed) and warn once when it cannot be placed; fill the
 * hs_target fields the probe reads; attach it once the GC probes are on; take an event
 * (true: it was the assist part's alone, false: gc.c must see it too). */
void session_assist__plan(struct session *s, bool gc_planned);
void session_assist__config(const struct session *s, struct hs_target *c);
bool session_assist__attach(struct session *s, pid_t pid, struct bpf_link **links,
			    size_t *nlinks, bool gc_on);
bool session_assist__event(struct session *s, const void *data, size_t len);
/* Keep the probe's cost bounded: detach it for a while when it fires too often, attach it
 * again afterwards. Called on every sync. */
void session_assist__tick(struct session *s, uint64_t now_ns);
/* The share of the window so far the probe was attached (1 when never detached). */
double session_assist__attached_share(const struct session *s, uint64_t now_ns);

#endif /* __SESSION_H */
