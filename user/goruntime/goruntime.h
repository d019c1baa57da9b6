/* SPDX-License-Identifier: GPL-2.0 */
/* What heapscope hard-codes about the Go runtime's memory layout, per Go version: the one place
 * that knows it. Each table row is checked against the DWARF of real binaries of every version
 * it covers (tests/unit/test_gc.c with tests/tools/gcoffsets). */
#ifndef __GORUNTIME_H
#define __GORUNTIME_H

#include <stdbool.h>
#include "buildinfo.h"

/* The Go releases heapscope is tested against, end to end. */
#define GO_MIN_VERIFIED 19
#define GO_MAX_VERIFIED 27

/* The runtime caps the sampler's mean at this many bytes (fastexprand, every version): a larger
 * MemProfileRate samples as often as this one. */
#define GO_MAX_SAMPLING_MEAN 0x7000000

/* Byte offsets of the runtime.gcController fields heapscope reads at cycle end (type
 * gcControllerState); -1 when a version lacks a field. */
struct gc_ctrl_offsets {
	int size;			/* of the struct: how much to copy */
	int gc_percent;			/* int32: GOGC, < 0 = off */
	int memory_limit;		/* int64: GOMEMLIMIT bytes */
	int heap_marked;		/* uint64: live heap marked by the last cycle (gctrace heap2) */
	int last_heap_goal;		/* uint64: what gctrace prints as "goal" */
	int assist_time;		/* int64 ns of mark assists this cycle (gctrace E) */
	int dedicated_mark_time;	/* int64 ns (gctrace F = dedicated + fractional) */
	int fractional_mark_time;
	int idle_mark_time;		/* int64 ns (gctrace G) */
};

/* The heap profile's buckets (runtime/mprof.go): each is a header, nstk PCs, then a memRecord
 * {active, future[3]} of memRecordCycles. Byte offsets. */
struct mprof_offsets {
	int bucket_size;		/* sizeof(runtime.bucket): where the PCs start */
	int allnext, typ, size, nstk;	/* runtime.bucket fields (allnext links mbuckets' list) */
	int record_size;		/* sizeof(runtime.memRecord) */
	int active, future;		/* runtime.memRecord.active, .future[0] */
	int cycle_size;			/* sizeof(runtime.memRecordCycle) */
	int allocs, frees;		/* runtime.memRecordCycle counts (uintptr) */
	int max_nstk;			/* the most PCs a bucket can hold (from the source) */
};

struct go_layout {
	int minor;			/* the Go 1.N whose (verified) layout this is */
	bool verified;			/* the target's version is that one's range */
	struct gc_ctrl_offsets ctrl;
	/* From profilealloc's mp to the sampler's state: mp.p -> p.mcache -> mcache. */
	int m_p;			/* runtime.m.p (puintptr) */
	int p_mcache;			/* runtime.p.mcache */
	int mcache_next_sample;		/* runtime.mcache.nextSample */
	int mcache_prof_rate;		/* runtime.mcache.memProfRate (1.24+), else -1 */
	struct mprof_offsets mprof;
	/* runtime.p.gcAssistTime: mark assist ns not yet flushed to gcController; a check on
	 * what decoding gcAssistAlloc1 finds (probes.c) */
	int p_gc_assist_time;
};

/* The layout for a Go version: its own when verified; for a newer Go than heapscope knows, the
 * newest known one with verified false (the caller warns, see goruntime__unverified_warning).
 * 0, or -ENOENT for an older Go than any table row (nothing is decoded with another version's
 * rules). */
int goruntime__layout(const struct go_version *v, struct go_layout *l);
/* The one warning line for a target outside the verified range, into buf ("" when none). */
void goruntime__unverified_warning(const struct go_version *v, char *buf, size_t len);
/* A crash of this very release seen beside heapscope's GC probes (README: Limits), or NULL:
 * said as heapscope attaches, so whoever runs it on production knows. */
const char *goruntime__known_crash(const struct go_version *v, bool pie);

#endif /* __GORUNTIME_H */
