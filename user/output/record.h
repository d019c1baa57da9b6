/* SPDX-License-Identifier: GPL-2.0 */
/* Go heap profiles of an observed process, built from outside: `heapscope record`, and the bytes
 * serve answers /debug/pprof/heap and /debug/pprof/allocs with.
 *
 * The profile is what pprof.WriteHeapProfile would write inside the process at the same moment:
 * both the allocation and the in-use values come from the runtime's heap profile
 * (user/goruntime/mprof.c), one sample per bucket (stack and object size), unsampled at the rate in
 * force, leading runtime frames dropped as runtime/pprof drops them, inlined calls as extra lines
 * of one location, the executable's mapping with its build ID. Taking both halves from the same
 * snapshot keeps each sample's in-use within its allocations, as pprof expects, and matches Go's
 * own profile sample for sample; heapscope's own allocation samples are not used here. The values
 * are therefore cumulative since sampling began (since attach when heapscope switched the sampler
 * on) and as of the last completed GC cycle, like the runtime's. */
#ifndef __RECORD_H
#define __RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include "session.h"

enum record_kind {
	RECORD_HEAP,	/* /debug/pprof/heap: no default sample type (pprof: inuse_space) */
	RECORD_ALLOCS,	/* /debug/pprof/allocs: the same data, default alloc_space */
};

struct source;

/* The gzip-compressed profile.proto of the session's target now (its heap profile is read
 * again first; if the target has gone, its last reading is used). With src (--source; NULL:
 * none), each sample carries string labels saying why its allocation site is on the heap:
 * "escape" (escape_place__name: the cause, or silent/not-compiled/outside...) and "escape_msg"
 * (the compiler's message about that allocation, when it gave one). *data is malloc'd. 0,
 * -ENODATA (no heap profile for this session: memory profiling off and not switched on, or the
 * profile could not be located), -ENOMEM. */
int record__profile(struct session *s, enum record_kind kind, const struct source *src,
		    void **data, size_t *len);
/* Folded stacks of one sample type (alloc_objects, alloc_space, inuse_objects, inuse_space) of
 * the same profile. *text is malloc'd and NUL-terminated. 0, -ENODATA, -ENOENT (type), -ENOMEM. */
int record__folded(struct session *s, const char *type, char **text, size_t *len);

struct record_opts {
	struct session_opts session;	/* -p, --sample-bytes, --read-only, --exact */
	uint32_t ringbuf_bytes;		/* --ring-buffer-kb, 0 = default */
	double duration_s;		/* -d: the window; Ctrl-C ends it early */
	const char *output;		/* -o FILE */
	bool folded;			/* --folded: folded stacks instead of the profile */
	const char *sample_index;	/* --sample-index: the folded stacks' type (inuse_space) */
	const char *source;		/* --source DIR: label samples with the escape analysis */
};

/* `heapscope record`: observe for the window, then write the profile (or folded stacks) to the
 * output file atomically. Returns the exit status (0, or 1 with one line on stderr). */
int cmd_record(const struct record_opts *o);

#endif /* __RECORD_H */
