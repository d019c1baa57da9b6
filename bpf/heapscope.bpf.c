// SPDX-License-Identifier: GPL-2.0
/* Allocation samples and GC cost from the Go runtime. One uprobe where the runtime records its
 * own memory-profile sample (sampled mode), or on every allocation path (exact mode), and a few
 * probes per GC cycle. The probe kind comes in the bpf_cookie and everything that differs per
 * process in the "targets" map, so one loaded object serves every site, Go version and process. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "heapscope.h"
#include "go_abi.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* heapscope's own PID namespace when it is not the initial one (use_pidns): PIDs are then
 * numbered as heapscope sees them, which is what user space keys the targets by. */
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;
const volatile __u8 use_pidns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* user space may resize before load (--ring-buffer-kb) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct hs_target);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct hs_gc_proc);
} gc_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hs_gc_snap_key);
	__type(value, struct hs_gc_snap);
} gc_snaps SEC(".maps");

/* The cycle a thread's gcMarkTermination is ending, from its entry to its call of
 * startTheWorldWithSema (keyed by pid_tgid: both run on the same thread, on the system stack). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} gc_term SEC(".maps");

/* Scratch for a gcController snapshot: larger than the 512-byte BPF stack. Slots of their own,
 * as for walks (walk_get): under serve another target's cycle start can preempt this one on
 * its CPU. */
#define HS_GC_SCRATCH_SLOTS 4
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_GC_SCRATCH_SLOTS);
	__type(key, __u32);
	__type(value, struct hs_gc_snap);
} gc_scratch SEC(".maps");

/* Each distinct stack once (struct hs_stack): events carry its id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HS_MAX_STACKIDS);
	__type(key, __u32);
	__type(value, struct hs_stack);
} stacks SEC(".maps");

/* A walk's frames before they go to the table or inline. Uprobe programs run preemptible on
 * their CPU: a probe preempted mid-walk keeps its slot (busy), and the probe that preempted it
 * takes another, so no walk ever writes into frames another is still using. A ticket checked
 * after the walk caught one preemption but not two interleaved ones (A, B, A, B: B's frames
 * mixed with A's and passed B's check). */
#define HS_WALK_SLOTS 4
struct hs_walk {
	__u32 busy;
	__u32 nr;
	__u64 pcs[HS_MAX_STACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_WALK_SLOTS);
	__type(key, __u32);
	__type(value, struct hs_walk);
} walk_scratch SEC(".maps");

/* A free walk slot of this CPU, now ours; NULL when every one is held by a preempted probe
 * (the caller's sample then goes unattributed). Every walk_get is paired with a walk_put. */
static __always_inline struct hs_walk *walk_get(void)
{
	for (__u32 i = 0; i < HS_WALK_SLOTS; i++) {
		struct hs_walk *w = bpf_map_lookup_elem(&walk_scratch, &i);

		/* a locked exchange: preemption cannot split it, and only this CPU's probes
		 * see this CPU's slots */
		if (w && __sync_val_compare_and_swap(&w->busy, 0, 1) == 0)
			return w;
	}
	return NULL;
}

static __always_inline void walk_put(struct hs_walk *w)
{
	/* the frames are read before the slot is given back */
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&w->busy = 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_EXACT_MAX_KEYS);
	__type(key, struct hs_exact_key);
	__type(value, __u64);
} exact_counts SEC(".maps");

/* Ring buffer wakeups: a wakeup per event costs both sides thousands of context switches a
 * second; user space drains on a short timer instead, and is woken early only when the buffer
 * fills up. */
static __always_inline void submit_event(void *e)
{
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > size / 4
				      ? BPF_RB_FORCE_WAKEUP
				      : BPF_RB_NO_WAKEUP);
}

static __always_inline __u32 current_tgid(void)
{
	struct bpf_pidns_info ns;

	if (!use_pidns)
		return bpf_get_current_pid_tgid() >> 32;
	/* A process in another (nested) namespace than heapscope's cannot be a target. */
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return 0;
	return ns.tgid;
}

/* USER_HZ: /proc/PID/stat counts start times in these (x86 and arm64). */
#define USER_HZ 100

static __always_inline struct hs_target *lookup_target(__u32 *tgid)
{
	struct task_struct *task;
	struct hs_target *t;
	__u64 start;

	*tgid = current_tgid();
	if (!*tgid)
		return NULL;
	t = bpf_map_lookup_elem(&targets, tgid);
	/* After an exec the binary may be the same (uprobes are per inode) but nothing else is. */
	if (!t || (t->flags & HS_TARGET_EXECED))
		return NULL;
	/* The PID may name another process already: the target died, user space has not seen
	 * it yet, and the number was reused. The start time tells them apart. */
	if (t->start_ticks) {
		task = (struct task_struct *)bpf_get_current_task();
		start = BPF_CORE_READ(task, group_leader, start_boottime);
		if (start / (1000000000 / USER_HZ) != t->start_ticks)
			return NULL;
	}
	return t;
}

static __always_inline void hdr_init(struct hs_ev_hdr *h, __u32 type, __u32 tgid)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->type = type;
	h->tgid = tgid;
}

/* go-runtime-probes.md §2: switching the sampler on (or changing its rate) makes the runtime
 * sample the next allocation of every P whatever its size. That sample is not a random one and
 * must not be weighted as one. profilealloc's caller tells which it is by the P's countdown,
 * mcache.nextSample, as it stands at profilealloc's entry:
 * - Go 1.19-1.23 compare the size with the countdown without touching it: a genuine sample has
 *   1 <= nextSample <= size, while an mcache armed when the rate was 0 holds exactly 0;
 * - Go 1.24+ subtract the size first and sample when the result is negative or when
 *   memProfRate differs from MemProfileRate: a rate-change sample leaves it >= 0 (a rate of 0
 *   armed it with maxInt64). */
static __always_inline bool rearm_sample(const struct hs_target *t, __u64 mp)
{
	__u64 p = 0, mcache = 0;
	__s64 next = 1;

	if (t->off_m_p < 0 || t->off_p_mcache < 0 || t->off_mcache_next_sample < 0 || !mp)
		return false;
	if (bpf_probe_read_user(&p, sizeof(p), (void *)(mp + t->off_m_p)) || !p ||
	    bpf_probe_read_user(&mcache, sizeof(mcache), (void *)(p + t->off_p_mcache)) || !mcache ||
	    bpf_probe_read_user(&next, sizeof(next), (void *)(mcache + t->off_mcache_next_sample)))
		return false;
	if (t->flags & HS_TARGET_NEXT_SAMPLE_PRE_DECREMENTED)
		return next >= 0;
	return next == 0;
}

/* The user stack by frame pointers (Go keeps them on amd64 since 1.7), into w: the probed pc,
 * then each frame's return address. The walk reads 16 bytes a frame and stops at the outermost
 * frame's zero frame pointer; bpf_get_stackid did the same walk in the kernel but ended every
 * Go stack by faulting on that zero, and hashed and compared the frames again: it cost twice as
 * much. (Reading 1 KiB at a time and taking several records from the copy measured no faster
 * on shallow stacks and skewed the GC CPU share by about half a point: not kept.) w is the
 * caller's own (walk_get). Returns the stack's id in "stacks", writing the slot when it was
 * free, or -1 when the frames must go inline (its slots hold other stacks). */
static __always_inline long stack_id(struct pt_regs *ctx, struct hs_walk *w)
{
	__u64 fp = PT_REGS_FP(ctx), h = 14695981039346656037ull;
	struct hs_stack *slot;
	__u32 n = 1, id, first;

	w->pcs[0] = PT_REGS_IP(ctx);
	for (int i = 1; i < HS_MAX_STACK; i++) {
		__u64 fr[2];

		if (!fp || bpf_probe_read_user(fr, sizeof(fr), (void *)fp))
			break;
		w->pcs[i] = fr[1];
		n = i + 1;
		fp = fr[0];
	}
	w->nr = n;
	for (int i = 0; i < HS_MAX_STACK && i < n; i++)
		h = (h ^ w->pcs[i]) * 1099511628211ull;
	if (h < 2)
		h += 2;
	/* Open addressing over a few slots: with one, two of a program's hundred-odd stacks often
	 * share a slot, and under --exact whichever came second lost its attribution for the whole
	 * run (one of main.mapGrowth's 13 objects per call, in about one run in four). */
	first = (__u32)(h ^ (h >> 32));
	slot = NULL;
	for (int i = 0; i < HS_STACK_PROBES; i++) {
		struct hs_stack *cand;

		id = (first + i) & (HS_MAX_STACKIDS - 1);
		cand = bpf_map_lookup_elem(&stacks, &id);
		if (!cand)
			return -1;
		if (cand->hash == h)
			return id;
		if (cand->hash == HS_STACK_FREE &&
		    __sync_val_compare_and_swap(&cand->hash, HS_STACK_FREE, HS_STACK_BUSY) ==
			    HS_STACK_FREE) {
			slot = cand;
			break;
		}
	}
	if (!slot)
		return -1;
	slot->nr = n;
	slot->pad = 0;
	__builtin_memcpy(slot->pcs, w->pcs, sizeof(slot->pcs));
	/* a locked (full-barrier) exchange: the frames are visible before the hash is */
	__sync_val_compare_and_swap(&slot->hash, HS_STACK_BUSY, h);
	return id;
}

/* An inline event's frames: the walk's (then its slot is given back), or none when there was
 * no slot to walk into (the sample is then unattributed). */
static __always_inline __s32 copy_inline(__u64 *dst, struct hs_walk *w)
{
	__s32 nr;

	if (!w)
		return 0;
	__builtin_memcpy(dst, w->pcs, sizeof(w->pcs));
	nr = (__s32)w->nr;
	walk_put(w);
	return nr;
}

/* caller: the return address read at a stack-check branch (the frame is not built there and the
 * FP walk would skip it), 0 when the probe sits past the frame setup. */
static __always_inline int on_alloc(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
				    __u64 size, __u32 probe, __u64 caller)
{
	struct hs_alloc_stack_event *se;
	struct hs_alloc_event *e;
	struct hs_walk *w;
	__s64 rate = -1;
	__u16 flags = 0;
	long stackid;

	__sync_fetch_and_add(&t->hits, 1);
	if (t->rate_addr && bpf_probe_read_user(&rate, sizeof(rate), (void *)t->rate_addr))
		rate = -1;
	if (probe == HS_PROBE_PROFILEALLOC && rearm_sample(t, GO_ARG1(ctx))) {
		/* Counted and dropped here: user space has nothing to learn from it. */
		__sync_fetch_and_add(&t->rearm, 1);
		return 0;
	}
	/* The table keeps each distinct stack once; the event carries its id. A colliding stack
	 * (slot taken by another) goes inline instead, so nothing is lost or misattributed. */
	w = walk_get();
	stackid = w ? stack_id(ctx, w) : -1;
	if (w && stackid >= 0) {
		walk_put(w);
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e)
			goto lost;
	} else {
		se = bpf_ringbuf_reserve(&events, sizeof(*se), 0);
		if (!se) {
			if (w)
				walk_put(w);
			goto lost;
		}
		if (w)
			__sync_fetch_and_add(&t->stack_fallback, 1);
		se->nr_frames = copy_inline(se->stack, w);
		se->pad = 0;
		flags |= HS_ALLOC_STACK_INLINE;
		e = &se->ev;
	}
	hdr_init(&e->hdr, HS_EV_ALLOC, tgid);
	e->size = size;
	e->rate = rate;
	e->caller = caller;
	e->stackid = (__s32)stackid;
	e->probe = probe;
	e->flags = flags;
	submit_event(e);
	return 0;
lost:
	__sync_fetch_and_add(&t->lost, 1);
	return 0;
}

static __always_inline int count_exact(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
				       __u64 size, __u64 caller)
{
	struct hs_exact_key key = { .caller = caller, .size = size, .tgid = tgid };
	static const __u64 zero;
	struct hs_walk *w;
	__u64 *count;

	__sync_fetch_and_add(&t->hits, 1);
	/* A stack the table cannot take (a slot collision) still counts, as unattributed. */
	w = walk_get();
	key.stackid = w ? (__s32)stack_id(ctx, w) : -1;
	if (w)
		walk_put(w);
	if (key.stackid < 0)
		key.stackid = -1;
	count = bpf_map_lookup_elem(&exact_counts, &key);
	if (!count) {
		bpf_map_update_elem(&exact_counts, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&exact_counts, &key);
		if (!count) {
			__sync_fetch_and_add(&t->lost, 1);
			return 0;
		}
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}

SEC("uprobe")
int alloc_probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), ret = 0;
	__u32 probe = cookie & HS_COOKIE_KIND_MASK, tgid;
	bool at_branch = cookie & HS_COOKIE_AT_BRANCH;
	struct hs_target *t = lookup_target(&tgid);

	if (!t)
		return 0;
	if (at_branch) {
		if (GO_JBE_TAKEN(ctx)) {
			__sync_fetch_and_add(&t->morestack, 1);
			return 0;
		}
		bpf_probe_read_user(&ret, sizeof(ret), GO_ENTRY_RET_ADDR_PTR(ctx));
	} else if (probe == HS_PROBE_MALLOCGC_SC) {
		/* Past the prologue the frame record is built: [FP+8] is the return address. */
		bpf_probe_read_user(&ret, sizeof(ret), (void *)(PT_REGS_FP(ctx) + 8));
	}
	if (probe == HS_PROBE_MALLOCGC_SC && ret >= t->mallocgc_start && ret < t->mallocgc_end) {
		__sync_fetch_and_add(&t->nested, 1);
		return 0;
	}
	if (probe == HS_PROBE_PROFILEALLOC)
		return on_alloc(ctx, t, tgid, GO_ARG3(ctx), probe, at_branch ? ret : 0);
	return count_exact(ctx, t, tgid, GO_ARG1(ctx), at_branch ? ret : 0);
}

/* GC cost (go-runtime-probes.md §4-5): a few probes per cycle, never per allocation. */

static __always_inline int gc_start_cycle(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
					  struct hs_gc_proc *g)
{
	struct hs_gc_snap_key key = { .tgid = tgid };
	__u32 len = t->ctrl_len, seq;
	struct hs_gc_snap *snap = NULL;
	struct hs_gc_start *e;

	g->ctrl_addr = GO_ARG1(ctx);
	/* The previous cycle's final values, published under this cycle's number before the
	 * number is: a cycle end that sees the number changed finds them complete (the hash
	 * map links a new element only once it is fully written). */
	seq = g->seq + 1;
	/* startCycle zeroes every P's gcAssistTime: this cycle's assists start from nothing
	 * (the world is stopped: no assist runs) */
	g->assist_ns[seq & 1] = 0;
	g->assists[seq & 1] = 0;
	for (__u32 i = 0; i < HS_GC_SCRATCH_SLOTS; i++) {
		struct hs_gc_snap *cand = bpf_map_lookup_elem(&gc_scratch, &i);

		if (cand && __sync_val_compare_and_swap(&cand->busy, 0, 1) == 0) {
			snap = cand;
			break;
		}
	}
	key.seq = seq;
	if (snap) {
		if (len > HS_GC_CTRL_MAX)
			len = HS_GC_CTRL_MAX;
		snap->len = 0;
		if (len && !bpf_probe_read_user(snap->ctrl, len, (void *)g->ctrl_addr))
			snap->len = len;
		bpf_map_update_elem(&gc_snaps, &key, snap, BPF_ANY);
		asm volatile("" ::: "memory");
		*(volatile __u32 *)&snap->busy = 0;
	} else {
		/* Every slot held by a preempted start: no snapshot, and the cycle's figures stay
		 * unknown, never those of an earlier process that had this tgid and cycle number
		 * (the snapshot map is an LRU that outlives targets). */
		bpf_map_delete_elem(&gc_snaps, &key);
	}
	/* startCycle runs with the world stopped: no other start races this one. */
	__sync_fetch_and_add(&g->seq, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&t->lost, 1);
		return 0;
	}
	hdr_init(&e->hdr, HS_EV_GC_START, tgid);
	e->ctrl_addr = g->ctrl_addr;
	e->mark_start_ns = (__s64)GO_ARG2(ctx);
	e->procs = (__s64)GO_ARG3(ctx);
	e->trigger_kind = (__u32)GO_ARG4(ctx);
	e->seq = seq;
	submit_event(e);
	return 0;
}

/* Copy the snapshot the cycle after `seq` took at its start. */
static __always_inline __u32 read_snap(struct hs_gc_end *e, __u32 tgid, __u32 seq)
{
	struct hs_gc_snap_key key = { .tgid = tgid, .seq = seq + 1 };
	struct hs_gc_snap *snap = bpf_map_lookup_elem(&gc_snaps, &key);

	if (!snap || snap->len > HS_GC_CTRL_MAX)
		return 0;
	__builtin_memcpy(e->ctrl, snap->ctrl, HS_GC_CTRL_MAX);
	e->from_snap = 1;
	return snap->len;
}

static __always_inline int gc_end_cycle(struct hs_target *t, __u32 tgid, struct hs_gc_proc *g,
					__u32 term)
{
	__u32 len = t->ctrl_len, started;
	struct hs_gc_end *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&t->lost, 1);
		return 0;
	}
	hdr_init(&e->hdr, HS_EV_GC_END, tgid);
	e->seq = term;
	e->ctrl_addr = g->ctrl_addr;
	e->ctrl_len = 0;
	e->from_snap = 0;
	e->pad = 0;
	/* All of this cycle's assists ran before its mark termination stopped the world. */
	e->assist_ns = g->assist_ns[term & 1];
	e->assists = g->assists[term & 1];
	if (len > HS_GC_CTRL_MAX)
		len = HS_GC_CTRL_MAX;
	/* The world is still stopped and worldsema held, so no cycle can start during this read;
	 * the check stays as a seqlock (its writer is the start probe, which fires before
	 * startCycle touches anything) against a start seen before this probe: then its snapshot
	 * holds this cycle's final values. */
	started = __sync_fetch_and_add(&g->seq, 0);
	if (term && started != term) {
		e->ctrl_len = read_snap(e, tgid, term);
	} else if (e->ctrl_addr && len &&
		   !bpf_probe_read_user(e->ctrl, len, (void *)e->ctrl_addr)) {
		e->ctrl_len = len;
		if (term && __sync_fetch_and_add(&g->seq, 0) != started)
			e->ctrl_len = read_snap(e, tgid, term);
	}
	submit_event(e);
	return 0;
}

/* startTheWorldWithSema's entry: the stop ends. Inside gcMarkTermination (gc_term names the
 * thread) the cycle ends too: by then the runtime has committed the cycle's pacing, CPU and
 * memory figures, and the world is still stopped, so nothing changes them during the read. The
 * stop's event goes first, as the world restarts before the cycle is over. */
static __always_inline int gc_stw_start(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
					struct hs_gc_proc *g)
{
	__u64 thread = bpf_get_current_pid_tgid();
	__u32 *termp = bpf_map_lookup_elem(&gc_term, &thread), term = 0;
	struct hs_gc_stw *e;

	if (termp) {
		term = *termp;
		bpf_map_delete_elem(&gc_term, &thread);
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&t->lost, 1);
	} else {
		hdr_init(&e->hdr, HS_EV_GC_STW, tgid);
		e->seq = g->seq;
		e->pad = 0;
		e->stop_ns = g->stw_stop_ns;
		e->stop_arg1 = g->stw_stop_arg1;
		e->stop_caller = g->stw_stop_caller;
		e->start_args[0] = GO_ARG1(ctx);
		e->start_args[1] = GO_ARG2(ctx);
		e->start_args[2] = GO_ARG3(ctx);
		e->start_args[3] = GO_ARG4(ctx);
		e->start_args[4] = GO_ARG5(ctx);
		if (!t->work_times_addr ||
		    bpf_probe_read_user(e->work_times, sizeof(e->work_times),
					(void *)t->work_times_addr))
			__builtin_memset(e->work_times, 0, sizeof(e->work_times));
		submit_event(e);
	}
	g->stw_stop_ns = 0;
	return termp ? gc_end_cycle(t, tgid, g, term) : 0;
}

/* One mark assist (HS_PROBE_GC_ASSIST), from the registers the planner decoded: its duration and
 * its P. Every assist is counted here as the runtime credits it (the P's total once it exceeds
 * the slack), per cycle; a duration-weighted sample of them sends the allocating goroutine's
 * stack. Stack ids as for allocations: a colliding stack goes inline. */
static __always_inline int gc_assist(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
				     struct hs_gc_proc *g)
{
	__u64 p = go_reg(ctx, t->assist_p_reg), d = go_reg(ctx, t->assist_dur_reg);
	__u64 total, thresh = t->assist_sample_ns, weight = 0;
	struct hs_assist_stack_event *se;
	struct hs_assist_event *e;
	__u32 seq = g->seq, flags = 0;
	struct hs_walk *w;
	long stackid;

	__sync_fetch_and_add(&t->assist_hits, 1);
	if (t->off_p_gc_assist_time < 0)
		return 0;
	if (bpf_probe_read_user(&total, sizeof(total), (void *)(p + t->off_p_gc_assist_time))) {
		__sync_fetch_and_add(&t->assist_unread, 1);
		return 0;
	}
	__sync_fetch_and_add(&g->assists[seq & 1], 1);
	if (total > t->assist_slack_ns)
		__sync_fetch_and_add(&g->assist_ns[seq & 1], total);
	/* The stack with probability min(1, d / thresh): rand / 2^32 < d / thresh. */
	if (!thresh || d >= thresh)
		weight = d;
	else if ((__u64)bpf_get_prandom_u32() * thresh < d << 32)
		weight = thresh;
	if (!weight)
		return 0;
	w = walk_get();
	stackid = w ? stack_id(ctx, w) : -1;
	if (w && stackid >= 0) {
		walk_put(w);
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e)
			goto lost;
	} else {
		se = bpf_ringbuf_reserve(&events, sizeof(*se), 0);
		if (!se) {
			if (w)
				walk_put(w);
			goto lost;
		}
		if (w)
			__sync_fetch_and_add(&t->stack_fallback, 1);
		se->nr_frames = copy_inline(se->stack, w);
		se->pad = 0;
		flags |= HS_ASSIST_STACK_INLINE;
		e = &se->ev;
	}
	hdr_init(&e->hdr, HS_EV_ASSIST, tgid);
	e->dur_ns = d;
	e->weight_ns = weight;
	e->seq = seq;
	e->stackid = (__s32)stackid;
	e->flags = flags;
	e->pad = 0;
	submit_event(e);
	return 0;
lost:
	__sync_fetch_and_add(&t->lost, 1);
	return 0;
}

SEC("uprobe")
int gc_probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), thread;
	__u32 probe = cookie & HS_COOKIE_KIND_MASK, tgid, seq;
	bool at_branch = cookie & HS_COOKIE_AT_BRANCH;
	struct hs_target *t = lookup_target(&tgid);
	struct hs_gc_proc *g;

	/* The pass that goes to morestack comes back through the entry: count the other one. */
	if (!t || (at_branch && GO_JBE_TAKEN(ctx)))
		return 0;
	g = bpf_map_lookup_elem(&gc_procs, &tgid);
	if (!g)
		return 0;
	/* Up to thousands a second (Go 1.26's collector): counted on their own. */
	if (probe == HS_PROBE_GC_ASSIST)
		return gc_assist(ctx, t, tgid, g);
	__sync_fetch_and_add(&t->gc_hits, 1);
	switch (probe) {
	case HS_PROBE_GC_START_CYCLE:
		return gc_start_cycle(ctx, t, tgid, g);
	case HS_PROBE_GC_STW_STOP:
		g->stw_stop_ns = bpf_ktime_get_ns();
		g->stw_stop_arg1 = GO_ARG1(ctx);
		g->stw_stop_caller = 0;
		/* The return address: on the stack top at a branch site, [FP+8] past the
		 * prologue. */
		bpf_probe_read_user(&g->stw_stop_caller, sizeof(g->stw_stop_caller),
				    at_branch ? GO_ENTRY_RET_ADDR_PTR(ctx)
					      : (void *)(PT_REGS_FP(ctx) + 8));
		return 0;
	case HS_PROBE_GC_MARK_TERM:
		thread = bpf_get_current_pid_tgid();
		seq = g->seq;
		bpf_map_update_elem(&gc_term, &thread, &seq, BPF_ANY);
		return 0;
	case HS_PROBE_GC_STW_START:
		return gc_stw_start(ctx, t, tgid, g);
	}
	return 0;
}

/* An observed process that calls execve keeps its PID but not its program: the probes' addresses
 * and the rate's address belong to the old one. Mark it so no probe reads it any more, and tell
 * user space. A BTF tracepoint: no tracefs needed (containers often lack it). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct hs_ev_hdr *e;
	struct hs_target *t;
	__u32 tgid;

	t = lookup_target(&tgid);
	if (!t)
		return 0;
	__sync_fetch_and_or(&t->flags, HS_TARGET_EXECED);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&t->lost, 1);
		return 0;
	}
	hdr_init(e, HS_EV_EXEC, tgid);
	submit_event(e);
	return 0;
}
