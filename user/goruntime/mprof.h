/* SPDX-License-Identifier: GPL-2.0 */
/* The Go runtime's heap profile, read from outside: the buckets runtime.MemProfile reports
 * (runtime/mprof.go), one per (stack, object size), with sampled allocation and free counts as
 * of the last completed GC cycle. Pure: the globals are located in the binary (symbol table, or
 * by decoding the runtime functions that use them), and the buckets are read through a callback
 * the caller provides (the session passes proc__read of the pinned target).
 *
 * How the runtime keeps them (every version 1.19-1.27): buckets are carved from persistentalloc
 * memory, never moved or freed, prepended to the list at runtime.mbuckets (linked by allnext)
 * and never changed after that except for their counts. Each bucket's memRecord holds `active`
 * (published) and future[3]: mallocs go to future[(C+2)%3], frees found by the sweeper to
 * future[(C+1)%3], and at each mark termination the cycle C = mProfCycle >> 1 advances and
 * mProf_Flush moves future[C%3] into active (setting mProfCycle's low bit first).
 * runtime.MemProfile reports active + future[C%3], or, when no bucket has anything in that
 * (no GC has completed yet), the sum of all of them. mprof__read() computes exactly that. */
#ifndef __MPROF_H
#define __MPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "goelf.h"
#include "goruntime.h"
#include "pclntab.h"

/* Link-time addresses of the two globals the reader needs. */
struct mprof_globals {
	uint64_t mbuckets;	/* runtime.mbuckets: atomic pointer to the newest bucket */
	uint64_t cycle;		/* runtime.mProfCycle: uint32, cycle << 1 | flushed */
	const char *how;	/* "symbol table" or "runtime code" */
};

/* From .symtab when the binary has one, else by decoding: runtime.mProf_FlushLocked starts with
 * "MOVQ runtime.mbuckets(SB), reg" and runtime.mProf_Flush with the CAS loop on mProfCycle
 * (x86__first_rip_load, x86__find_cas_global). Both must land in .bss/.noptrbss. 0, -ENOENT
 * (a function or pattern missing), -ENOTSUP (not x86-64). */
int mprof__locate(const struct goelf *g, const struct pclntab *t, struct mprof_globals *out);
/* Decoding only, whatever the symbol table says: for tests and cross-checks. */
int mprof__decode_globals(const struct goelf *g, const struct pclntab *t,
			  struct mprof_globals *out);

/* Reads len bytes of the target at a run-time address. 0 or -errno. */
typedef int (*mprof_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct mprof_bucket {
	uint64_t addr;		/* run-time address: the bucket's identity */
	uint64_t size;		/* object slot size: bytes = objects x size */
	const uint64_t *stk;	/* return PCs (run-time), innermost first; one per logical frame
				 * (inlined calls included), leading runtime frames kept */
	uint32_t nstk;
	uint32_t user;		/* the caller's (e.g. what the stack was attributed to) */
	uint64_t allocs, frees;	/* sampled objects, as runtime.MemProfile reports them */
};

struct mprof_reading {
	uint32_t cycle;		/* mProfCycle >> 1 when read */
	bool clear;		/* no GC yet: all futures counted, as MemProfile does */
	unsigned retries;	/* walks redone because a GC cycle ended during one */
	unsigned rereads;	/* records read again because a flush was moving them */
	size_t nbuckets, new_buckets;
	uint64_t reads;		/* calls of the read callback */
};

/* Guards against a wrong address or a corrupted list: never more buckets than this (the runtime
 * has no cap; 4M buckets would be over 1.5 GB of the target's memory). */
#define MPROF_MAX_BUCKETS (4u << 20)

struct mprof_reader;

/* mbuckets and cycle are run-time addresses. NULL and errno on ENOMEM. */
struct mprof_reader *mprof__new(const struct mprof_offsets *o, uint64_t mbuckets, uint64_t cycle,
				mprof_read_fn fn, void *ctx);
void mprof__free(struct mprof_reader *r);

/* Walk the list and bring every bucket's counts up to now. Buckets already known are not read
 * again, only their records, through 128 KiB windows (buckets sit next to each other in memory,
 * so a few hundred reads cover tens of thousands of them). A walk that a GC cycle's end
 * overlaps is redone (up to 3 times), and a record a flush was moving is read until it is
 * stable. On error the previous counts are kept. 0, -EAGAIN (GC cycles kept ending during the
 * walks), -EBADMSG (the list is not what a Go runtime writes: wrong address or layout),
 * -E2BIG (over MPROF_MAX_BUCKETS), or the callback's -errno. */
int mprof__read(struct mprof_reader *r, struct mprof_reading *out);
/* Every bucket known, newest first; valid until the next mprof__read(). */
struct mprof_bucket *mprof__buckets(struct mprof_reader *r, size_t *n);

/* One physical PC of a bucket's stack with its logical frames, innermost first (the physical
 * function last), as pprof puts inlined calls into one location. */
struct mprof_loc {
	uint64_t pc;		/* run-time address of the call (return address - 1) */
	int first, n;		/* frames[first .. first + n) */
};

/* Symbolize a bucket's stack through pclntab (bias: run-time minus link-time address). Each
 * entry of stk is one logical frame; an entry whose frames at pc-1 include inlined calls is
 * followed by one entry per outer frame of that inline tree, which are folded into its location
 * (checked frame by frame; when they do not match, each entry stays a location of its own with
 * its innermost frame). Returns the number of frames written (<= max_frames), *nlocs the
 * locations (<= max_locs). A PC outside the function table gets a location with no frames. */
int mprof__symbolize(const struct pclntab *t, uint64_t bias, const uint64_t *stk, int nstk,
		     struct go_frame *frames, int max_frames, struct mprof_loc *locs, int max_locs,
		     int *nlocs);

#endif /* __MPROF_H */
