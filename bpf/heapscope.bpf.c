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

/* Scratch for a gcController snapshot: larger than the 512-byte BPF stack. Several slots, each
 * claimed with a locked exchange: uprobe programs run preemptible, and under serve another
 * target's cycle start can preempt this one on its CPU. */
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

/* A stretch of the stack, copied in one read on the program's own stack. Each
 * bpf_probe_read_user costs about as much whatever its size up to a few KiB (the usercopy
 * barriers and a cold path, not the bytes), and frames sit next to each other: a sample's first
 * ones (profilealloc's caller, mallocgc, the allocating function) usually lie in the first few
 * hundred bytes above SP, and a walk that leaves the window copies the next stretch from the
 * frame it needs. On the program's stack rather than in a map, the copy lands in cache lines
 * the kernel just used, and a preempting probe has its own. */
#define HS_WALK_WINDOW 256
struct hs_window {
	__u64 base;		/* the user address words were copied from */
	__u64 ok;		/* the copy succeeded (it fails past the end of a mapping) */
	__u64 words[HS_WALK_WINDOW / 8];
};

static __always_inline void window_read(struct hs_window *win, __u64 addr)
{
	win->base = addr;
	win->ok = !bpf_probe_read_user(win->words, sizeof(win->words), (void *)addr);
}

/* The frame record at fp (saved frame pointer, return address): from the window, copying the
 * stretch at fp when it lies beyond; a single read when that copy fails. */
static __always_inline long frame_read(struct hs_window *win, __u64 fp, __u64 fr[2])
{
	__u64 off = fp - win->base;

	if (!win->ok || off > HS_WALK_WINDOW - 16 || (off & 7)) {
		window_read(win, fp);
		if (!win->ok)
			return bpf_probe_read_user(fr, 16, (void *)fp);
		off = 0;
	}
	fr[0] = win->words[(off / 8) & (HS_WALK_WINDOW / 8 - 1)];
	fr[1] = win->words[(off / 8 + 1) & (HS_WALK_WINDOW / 8 - 1)];
	return 0;
}

/* The user stack by frame pointers (Go keeps them on amd64 since 1.7): the probed pc, then each
 * frame's return address, hashed, and stored in pcs unless it is NULL. The walk takes 16 bytes
 * a frame and stops at the outermost frame's zero frame pointer; bpf_get_stackid did the same
 * walk in the kernel but ended every Go stack by faulting on that zero, and hashed and compared
 * the frames again: it cost twice as much. Returns the number of frames. */
static __always_inline __u32 stack_walk(struct pt_regs *ctx, struct hs_window *win,
					__u64 *pcs, __u64 *hash)
{
	__u64 fp = PT_REGS_FP(ctx), pc = PT_REGS_IP(ctx), h = 14695981039346656037ull;
	__u32 n = 0;

	for (int i = 0; i < HS_MAX_STACK; i++) {
		__u64 fr[2];

		if (pcs)
			pcs[i] = pc;
		h = (h ^ pc) * 1099511628211ull;
		n = i + 1;
		if (i == HS_MAX_STACK - 1 || !fp || frame_read(win, fp, fr))
			break;
		pc = fr[1];
		fp = fr[0];
	}
	*hash = h < 2 ? h + 2 : h;
	return n;
}

/* The stack's id in "stacks", or -1 when its slots hold other stacks (the caller then sends the
 * frames inline). The common case, a stack seen before, costs the walk and one compare: the
 * frames are stored only by the first probe to see a stack, straight into the slot it claimed,
 * so no walk needs a buffer of its own. */
static __always_inline long stack_id(struct pt_regs *ctx, struct hs_window *win)
{
	struct hs_stack *slot = NULL;
	__u32 n, id, first;
	__u64 h, h2;

	stack_walk(ctx, win, NULL, &h);
	/* Open addressing over a few slots: with one, two of a program's hundred-odd stacks often
	 * share a slot, and under --exact whichever came second lost its attribution for the whole
	 * run (one of main.mapGrowth's 13 objects per call, in about one run in four). */
	first = (__u32)(h ^ (h >> 32));
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
	/* The frames below the window are this thread's own stack, stopped in this probe: the
	 * second walk sees what the first did. Should it not, the slot goes back. */
	n = stack_walk(ctx, win, slot->pcs, &h2);
	if (h2 != h) {
		__sync_val_compare_and_swap(&slot->hash, HS_STACK_BUSY, HS_STACK_FREE);
		return -1;
	}
	slot->nr = n;
	slot->pad = 0;
	/* a locked (full-barrier) exchange: the frames are visible before the hash is */
	__sync_val_compare_and_swap(&slot->hash, HS_STACK_BUSY, h);
	return id;
}

/* The word at a user address: from the window when it lies there, else read (0 if it cannot
 * be). */
static __always_inline __u64 user_word(const struct hs_window *win, __u64 addr)
{
	__u64 off = addr - win->base, v = 0;

	if (win->ok && off <= HS_WALK_WINDOW - 8 && !(off & 7))
		return win->words[(off / 8) & (HS_WALK_WINDOW / 8 - 1)];
	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

/* An event for the sample whose stack win starts: its id when the table has or takes the stack,
 * else the frames inline (a colliding stack), so nothing is lost or misattributed. NULL when
 * the ring buffer is full. */
static __always_inline struct hs_alloc_event *alloc_event(struct pt_regs *ctx,
							  struct hs_window *win,
							  struct hs_target *t)
{
	long stackid = stack_id(ctx, win);
	struct hs_alloc_stack_event *se;
	struct hs_alloc_event *e;
	__u64 h;

	if (stackid >= 0) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->stackid = (__s32)stackid;
			e->flags = 0;
		}
		return e;
	}
	se = bpf_ringbuf_reserve(&events, sizeof(*se), 0);
	if (!se)
		return NULL;
	__sync_fetch_and_add(&t->stack_fallback, 1);
	se->nr_frames = (__s32)stack_walk(ctx, win, se->stack, &h);
	se->pad = 0;
	se->ev.stackid = -1;
	se->ev.flags = HS_ALLOC_STACK_INLINE;
	return &se->ev;
}

/* caller: the return address read at a stack-check branch (the frame is not built there and the
 * FP walk would skip it), 0 when the probe sits past the frame setup. */
static __always_inline int on_alloc(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
				    struct hs_window *win, __u64 size, __u32 probe,
				    __u64 caller)
{
	struct hs_alloc_event *e;
	__s64 rate = -1;

	__sync_fetch_and_add(&t->hits, 1);
	if (t->rate_addr && bpf_probe_read_user(&rate, sizeof(rate), (void *)t->rate_addr))
		rate = -1;
	if (probe == HS_PROBE_PROFILEALLOC && rearm_sample(t, GO_ARG1(ctx))) {
		/* Counted and dropped here: user space has nothing to learn from it. */
		__sync_fetch_and_add(&t->rearm, 1);
		return 0;
	}
	e = alloc_event(ctx, win, t);
	if (!e) {
		__sync_fetch_and_add(&t->lost, 1);
		return 0;
	}
	hdr_init(&e->hdr, HS_EV_ALLOC, tgid);
	e->size = size;
	e->rate = rate;
	e->caller = caller;
	e->probe = probe;
	submit_event(e);
	return 0;
}

static __always_inline int count_exact(struct pt_regs *ctx, struct hs_target *t, __u32 tgid,
				       struct hs_window *win, __u64 size, __u64 caller)
{
	struct hs_exact_key key = { .caller = caller, .size = size, .tgid = tgid };
	static const __u64 zero;
	__u64 *count;

	__sync_fetch_and_add(&t->hits, 1);
	/* A stack the table cannot take (a slot collision) still counts, as unattributed. */
	key.stackid = (__s32)stack_id(ctx, win);
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
	struct hs_window win;

	if (!t)
		return 0;
	if (at_branch && GO_JBE_TAKEN(ctx)) {
		__sync_fetch_and_add(&t->morestack, 1);
		return 0;
	}
	window_read(&win, PT_REGS_SP(ctx));
	if (at_branch)
		ret = user_word(&win, (__u64)GO_ENTRY_RET_ADDR_PTR(ctx));
	else if (probe == HS_PROBE_MALLOCGC_SC)
		/* Past the prologue the frame record is built: [FP+8] is the return address. */
		ret = user_word(&win, PT_REGS_FP(ctx) + 8);
	if (probe == HS_PROBE_MALLOCGC_SC && ret >= t->mallocgc_start && ret < t->mallocgc_end) {
		__sync_fetch_and_add(&t->nested, 1);
		return 0;
	}
	if (probe == HS_PROBE_PROFILEALLOC)
		return on_alloc(ctx, t, tgid, &win, GO_ARG3(ctx), probe, at_branch ? ret : 0);
	return count_exact(ctx, t, tgid, &win, GO_ARG1(ctx), at_branch ? ret : 0);
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
	struct hs_window win;
	long stackid;
	__u64 h;

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
	window_read(&win, PT_REGS_SP(ctx));
	stackid = stack_id(ctx, &win);
	if (stackid >= 0) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e)
			goto lost;
	} else {
		se = bpf_ringbuf_reserve(&events, sizeof(*se), 0);
		if (!se)
			goto lost;
		__sync_fetch_and_add(&t->stack_fallback, 1);
		se->nr_frames = (__s32)stack_walk(ctx, &win, se->stack, &h);
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
