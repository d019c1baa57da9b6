/* SPDX-License-Identifier: GPL-2.0 */
/* The loaded BPF object: one per heapscope process, whatever the number of targets. It owns the
 * ring buffer and the maps, attaches uprobes on behalf of sessions, and routes each event to the
 * session of the process it came from. */
#ifndef __TRACER_H
#define __TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "heapscope.h"

struct bpf_link;
struct heapscope_bpf;
struct ring_buffer;

#define DRAIN_INTERVAL_MS 100
#define TRACER_DEFAULT_RINGBUF (8u << 20)

struct tracer_opts {
	uint32_t ringbuf_bytes;	/* 0: TRACER_DEFAULT_RINGBUF; a power of two >= the page size */
};

/* One ring buffer record of the process a session subscribed for. */
typedef void (*tracer_event_fn)(void *ctx, const void *data, size_t len);

struct tracer_sub;

struct tracer {
	struct heapscope_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *exec_link;
	int pollfd;		/* epoll over the ring buffer and drain_timer: what tracer__fd gives */
	int drain_timer;	/* periodic: events are submitted without wakeups (see the BPF side) */
	struct tracer_sub *subs;	/* open addressing by tgid */
	size_t nsubs, capsubs;
	uint64_t unrouted;	/* events of a process nobody subscribed for (it just left) */
	/* Stack id -> frames, read once: an id's stack never changes (no BPF_F_REUSE_STACKID),
	 * and a map lookup per event would be a syscall per event. */
	struct tracer_stack *stack_cache;
	uint64_t bad_events;	/* records too short for their type */
};

/* Check privileges, load the BPF object, attach the exec tracepoint, set up the ring buffer.
 * Logs one clear line on failure. 0 or -errno; tracer__close() must be called either way. */
int tracer__open(struct tracer *t, const struct tracer_opts *o);
void tracer__close(struct tracer *t);

/* An fd for the event loop: readable when events wait (at least every DRAIN_INTERVAL_MS). */
int tracer__fd(const struct tracer *t);
/* Consume what is ready and route it. 0 or -errno. */
int tracer__poll(struct tracer *t);

/* Tell the BPF side about a process (cfg's counters are ignored) and route its events to fn.
 * 0 or -errno. */
int tracer__add_target(struct tracer *t, uint32_t tgid, const struct hs_target *cfg,
		       tracer_event_fn fn, void *ctx);
/* Forget the process in BPF (its probes' hits return at once) and stop routing its events. */
void tracer__remove_target(struct tracer *t, uint32_t tgid);
/* The process's BPF-side counters (hits, lost, ...). 0 or -errno. */
int tracer__target_counters(const struct tracer *t, uint32_t tgid, struct hs_target *out);

/* A uprobe of the allocation (gc false) or GC program at a file offset of the executable at
 * path, for one process (pid) or every process running it (-1). NULL and errno on failure. */
struct bpf_link *tracer__attach(struct tracer *t, bool gc, pid_t pid, const char *path,
				uint64_t offset, uint32_t cookie);

/* The frames of a stack id from the "stacks" table, innermost first (the probed pc, then return
 * addresses). Returns how many (<= max), or -errno. */
int tracer__stack(struct tracer *t, int32_t id, uint64_t *pcs, int max);
/* Map fds for --exact draining (user/session/session.c). */
int tracer__exact_fd(const struct tracer *t);

#endif /* __TRACER_H */
