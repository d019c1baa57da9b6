/* SPDX-License-Identifier: GPL-2.0 */
/* Mark-assist CPU per allocating stack, credited as the runtime credits
 * /cpu/classes/gc/mark/assist:cpu-seconds. Pure: typed inputs, no clock, no BPF.
 *
 * The runtime (gcAssistAlloc1, Go 1.19-1.27) adds each assist's duration to its P's
 * gcAssistTime and, when that exceeds gcAssistTimeSlack (5 us), adds the whole of it to
 * gcController.assistTime and zeroes it; startCycle zeroes both, so what is left on a P at the
 * end of a cycle is never counted; and the metric takes gcController.assistTime once per cycle,
 * at mark termination. The BPF side replays that for every assist and hands each cycle's total
 * over with the cycle's end (hs_gc_end.assist_ns). Stacks come for a duration-weighted sample of
 * the assists (hs_assist_event); their Horvitz-Thompson weights split the cycle's total between
 * the stacks (a ratio estimator: the parts add up to it), credited at the cycle's end. */
#ifndef __ASSIST_H
#define __ASSIST_H

#include <stdint.h>

/* gcAssistTimeSlack, the same in every Go version 1.19-1.27 (mgcpacer.go). */
#define ASSIST_TIME_SLACK_NS 5000

/* The caller's key for credit no sampled stack stands for: a cycle with assists but no
 * sample. */
#define ASSIST_KEY_NONE UINT32_MAX

struct assist_state;

struct assist_stats {
	uint64_t samples;		/* sampled stacks seen */
	uint64_t credited_ns;		/* credited at cycle ends, to keys or ASSIST_KEY_NONE */
	double credited_assists;	/* estimated when a cycle's count was unknown */
	uint64_t stale_samples;		/* of cycles whose end never came (an event lost) */
};

struct assist_state *assist_state__new(void);
void assist_state__free(struct assist_state *a);

/* A sampled assist of dur_ns in cycle seq, attributed to key (the caller's dense row index,
 * < 2^31), with weight_ns, its Horvitz-Thompson weight (dur_ns over the chance its stack was
 * taken). 0 or -ENOMEM. */
int assist__sample(struct assist_state *a, uint32_t seq, uint32_t key, uint64_t dur_ns,
		   uint64_t weight_ns);

/* A cycle's credit for one key: its share of the cycle's total (ns), the assists that share
 * stands for, and how many sampled stacks it rests on. */
typedef void (*assist_credit_fn)(void *ctx, uint32_t key, double ns, double count,
				 uint64_t samples);

/* total_n when only the time is known (the probe did not see every assist): each key's count
 * is estimated from its samples' mean length. */
#define ASSIST_COUNT_UNKNOWN UINT64_MAX

/* Cycle seq ended (gcMarkTermination) with total_ns of assists credited by the runtime in
 * total_n assists: fn is called once per key with its share, then the cycle is forgotten. A
 * cycle with assists but no sample is split as the latest cycles with samples were (their
 * keys are credited with 0 samples), or goes to ASSIST_KEY_NONE when there were none. */
void assist__cycle_end(struct assist_state *a, uint32_t seq, uint64_t total_ns, uint64_t total_n,
		       assist_credit_fn fn, void *ctx);

void assist__stats(const struct assist_state *a, struct assist_stats *s);

#endif /* __ASSIST_H */
