/* SPDX-License-Identifier: GPL-2.0 */
/* The only contract between heapscope.bpf.c and user space. Fixed-width fields, widest first, no
 * implicit padding; vmlinux.h (BPF) or <linux/types.h> (user) must be included first. */
#ifndef __HEAPSCOPE_H
#define __HEAPSCOPE_H

/* Frames kept per allocation sample. Go stacks above mallocgc are rarely deeper than this in the
 * frames that matter (the allocation site is 2-4 frames up); deeper ones are truncated. */
#define HS_MAX_STACK 64

enum hs_event_type {
	HS_EV_ALLOC = 1,	/* one allocation sample (sampled mode) or allocation (exact mode) */
};

/* What a probe reads, chosen per Go version by user/probes.c and passed as the bpf_cookie. */
enum hs_probe_kind {
	HS_PROBE_PROFILEALLOC = 1,	/* profilealloc(mp, x, size): size in the 3rd int register */
	HS_PROBE_MALLOCGC = 2,		/* mallocgc(size, typ, needzero): size in the 1st register */
	HS_PROBE_MALLOCGC_SC = 3,	/* size-specialised mallocgc*SCn(size, typ, needzero): same
					 * registers; hits whose caller is mallocgc are dropped */
};

struct hs_alloc_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 size;		/* bytes: the slot size in sampled mode, the request in exact mode */
	__s64 rate;		/* runtime.MemProfileRate at the time, -1 if unreadable */
	__u32 type;		/* enum hs_event_type */
	__u32 probe;		/* enum hs_probe_kind */
	__u32 tid;
	__s32 nr_frames;	/* valid entries in stack[], or -errno from bpf_get_stack */
	__u64 stack[HS_MAX_STACK];	/* user return addresses, innermost first: stack[0] = probe pc */
};
_Static_assert(sizeof(struct hs_alloc_event) == 40 + 8 * HS_MAX_STACK, "hs_alloc_event layout");

/* Index of per-CPU counters in the "stats" map. */
enum hs_stat {
	HS_STAT_LOST = 0,	/* ring buffer full: event dropped */
	HS_STAT_HITS = 1,	/* probe hits (events or not) */
	HS_STAT_NESTED = 2,	/* size-specialised malloc entered from mallocgc: not counted twice */
	HS_STAT_MAX,
};

#endif /* __HEAPSCOPE_H */
