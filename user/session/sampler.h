/* SPDX-License-Identifier: GPL-2.0 */
/* The one change heapscope makes to a target: runtime.MemProfileRate, written when the linker
 * switched memory profiling off (rate 0) so that the runtime's own sampler feeds the probes.
 *
 * What heapscope leaves must be recognisable and undone exactly once, by the last heapscope that
 * needs it, whoever that is:
 * - a state file per target process under HS_STATE_DIR, locked with flock(2), lists the
 *   heapscope processes observing it, the value found before any of them wrote and the value
 *   written; the last observer to leave restores, and only if the value is still the one
 *   written (the target may have set its own since);
 * - the value written carries a marker (low bits HS_RATE_MARK), so a later run recognises a rate
 *   left by a heapscope that was SIGKILLed even without the state file;
 * - a fatal signal restores through the pinned /proc/PID/mem before anything else. */
#ifndef __SAMPLER_H
#define __SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include "proc.h"

#define HS_STATE_DIR "/run/heapscope"
#define HS_RATE_MARK_BITS 6
#define HS_RATE_MARK 43		/* rate & 63 == 43 (and rate >= 64): written by heapscope */
#define HS_MAX_OBSERVERS 64

/* The rate heapscope writes for a requested one: a multiple of 64 plus the marker, a change of
 * the sampling mean below 0.01 % at the default rate. Rates under 64 are written as they are. */
int64_t sampler__marked_rate(int64_t want);
bool sampler__is_marked(int64_t rate);

enum sampler_how {
	SAMPLER_TARGETS_OWN,	/* the target's own rate (> 0): nothing written, nothing to undo */
	SAMPLER_ENABLED,	/* this run switched the sampler on */
	SAMPLER_SHARED,		/* another live heapscope switched it on; shared until the last */
	SAMPLER_ADOPTED,	/* left on by an earlier heapscope that was killed: undone by this run */
	SAMPLER_OFF,		/* off (0) and --read-only: nothing written, no samples */
	SAMPLER_LEFT_READONLY,	/* left on by a killed heapscope, but --read-only may not undo it */
};

struct sampler {
	struct proc *proc;	/* borrowed: the pinned target */
	uint64_t addr;		/* run-time address of runtime.MemProfileRate */
	enum sampler_how how;
	int64_t found;		/* the value read at join */
	int64_t in_force;	/* the rate samples are taken at, as far as heapscope knows */
	int64_t orig;		/* restored by the last observer (when anything was written) */
	int64_t written;	/* the value heapscope wrote, 0 if none */
	pid_t left_by;		/* SAMPLER_ADOPTED: the killed heapscope, 0 if unknown */
	int nothers;		/* SAMPLER_SHARED: other live observers at join */
	bool registered;	/* listed in the state file */
	char state_path[160];
};

/* Read the rate and decide, with every other heapscope on this target, what to do; write it when
 * it is 0 and want > 0 (unless read_only). 0 or -errno (logs one line on failure). */
int sampler__join(struct sampler *s, struct proc *p, uint64_t addr, int64_t want, bool read_only);
/* The rate now. 0 or -errno. *changed: it differs from in_force (someone else changed it). */
int sampler__check(struct sampler *s, int64_t *now, bool *changed);
/* Leave: the last observer restores. *msg (may be NULL) gets a line worth telling the user, or
 * "" (e.g. "left MemProfileRate 4096 as is: changed since by someone else"). Idempotent. */
void sampler__leave(struct sampler *s, char *msg, size_t msglen);
/* From a fatal-signal handler: leave every joined sampler (async-signal-safe). */
void sampler__emergency_leave_all(void);

#endif /* __SAMPLER_H */
