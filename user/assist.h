/* SPDX-License-Identifier: GPL-2.0 */
/* Mark-assist CPU per allocating stack, credited exactly as the runtime credits
 * /cpu/classes/gc/mark/assist:cpu-seconds. Pure: typed inputs, no clock, no BPF.
 *
 * The runtime (gcAssistAlloc1, Go 1.19-1.27) adds each assist's duration to its P's
 * gcAssistTime and, when that exceeds gcAssistTimeSlack (5 us), adds the whole of it to
 * gcController.assistTime and zeroes it; startCycle zeroes both, so what is left on a P at the
 * end of a cycle is never counted; and the metric takes gcController.assistTime once per cycle,
 * at mark termination. So: assists wait per P until the P flushes (then they are the cycle's),
 * a cycle start drops what is still waiting, and a cycle's assists are credited at its end.
 *
 * Every assist's duration is seen, so each cycle's total is exact; stacks come for a
 * duration-weighted sample (bpf/heapscope.h, hs_assist_event), whose Horvitz-Thompson weights
 * split that exact total between the stacks (a ratio estimator: the parts add up to it). */
#ifndef __ASSIST_H
#define __ASSIST_H

#include <stdint.h>

/* gcAssistTimeSlack, the same in every Go version 1.19-1.27 (mgcpacer.go). */
#define ASSIST_TIME_SLACK_NS 5000

struct assist_state;

/* The caller's key for credit no sampled stack stands for: a cycle whose flushed assists
 * include no sample. */
#define ASSIST_KEY_NONE UINT32_MAX

struct assist_stats {
	uint64_t assists;		/* assists seen */
	uint64_t samples;		/* of which with a stack */
	uint64_t credited_ns;		/* credited at cycle ends, to keys or ASSIST_KEY_NONE */
	uint64_t credited_assists;
	/* What the runtime flushed that no seen assist accounts for: time a P had gathered before
	 * heapscope attached, or assists whose events were lost. Credited to no one. */
	uint64_t unseen_ns;
	uint64_t dropped_ns;		/* left on a P at a cycle start: the runtime drops it too */
	uint64_t stale_ns;		/* of cycles whose end never came (an event lost) */
};

struct assist_state *assist_state__new(void);
void assist_state__free(struct assist_state *a);

/* Cycle seq starts (startCycle): every P's waiting assists are dropped. */
void assist__cycle_start(struct assist_state *a, uint32_t seq);

/* One assist of dur_ns in cycle seq on P p. p_total_ns is the P's gcAssistTime right after the
 * runtime added dur_ns, UINT64_MAX when unknown (then the flush is inferred from what was seen on
 * that P). weight_ns > 0: its stack was taken, key (the caller's dense row index, < 2^31)
 * attributes it, and weight_ns is its Horvitz-Thompson weight (dur_ns / the chance its stack
 * was taken); 0: it counts in the totals only. 0 or -ENOMEM. */
int assist__add(struct assist_state *a, uint32_t seq, uint64_t p, uint64_t dur_ns,
		uint64_t p_total_ns, uint32_t key, uint64_t weight_ns);

/* A cycle's credit for one key: its share of the cycle's exact total (ns), the assists that
 * share stands for (estimated), and how many sampled stacks it rests on. */
typedef void (*assist_credit_fn)(void *ctx, uint32_t key, double ns, double count,
				 uint64_t samples);

/* Cycle seq ended (gcMarkTermination): fn is called once per key with what the runtime
 * credited for it in that cycle, then the cycle is forgotten. */
void assist__cycle_end(struct assist_state *a, uint32_t seq, assist_credit_fn fn, void *ctx);

void assist__stats(const struct assist_state *a, struct assist_stats *s);

#endif /* __ASSIST_H */
