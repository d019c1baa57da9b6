// SPDX-License-Identifier: GPL-2.0
/* Allocation samples from the Go runtime: one uprobe where the runtime records its own memory
 * profile sample (sampled mode), or on every allocation path (exact mode). The probe kind comes
 * in the bpf_cookie so one program serves every site and Go version. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "heapscope.h"
#include "go_abi.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Run-time address of work.tMarkTerm (0: unknown). */
const volatile __u64 targ_work_tmarkterm = 0;
/* Run-time address of runtime.MemProfileRate in the target (0: unknown). */
const volatile __u64 targ_rate_addr = 0;
/* Run-time [start, end) of runtime.mallocgc, to drop size-specialised mallocs it calls itself. */
const volatile __u64 targ_mallocgc_start = 0;
const volatile __u64 targ_mallocgc_end = 0;

#define RINGBUF_BYTES (8 << 20)
#define RINGBUF_WAKE_BYTES (RINGBUF_BYTES / 4)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, HS_MAX_STACK * sizeof(__u64));
	__uint(max_entries, HS_MAX_STACKIDS);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_EXACT_MAX_KEYS);
	__type(key, struct hs_exact_key);
	__type(value, __u64);
} exact_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* A wakeup per event costs both sides thousands of context switches a second; user space drains
 * on a short timer instead, and is woken early only when the buffer fills up. */
static __always_inline void submit_event(void *e)
{
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_WAKE_BYTES
				      ? BPF_RB_FORCE_WAKEUP
				      : BPF_RB_NO_WAKEUP);
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

/* caller: the return address read at a stack-check branch (the frame is not built there and the
 * kernel's FP walk would skip it), 0 when the probe sits past the frame setup. */
static __always_inline int on_alloc(struct pt_regs *ctx, __u64 size, __u32 probe, __u64 caller)
{
	struct hs_alloc_event *e;
	long n;

	stat_inc(HS_STAT_HITS);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(HS_STAT_LOST);
		return 0;
	}
	e->type = HS_EV_ALLOC;
	e->probe = probe;
	e->ts_ns = bpf_ktime_get_ns();
	e->size = size;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->rate = -1;
	if (targ_rate_addr && bpf_probe_read_user(&e->rate, sizeof(e->rate), (void *)targ_rate_addr))
		e->rate = -1;
	/* stack[0] is the probe pc, stack[1] the call site in the caller, then outward. */
	if (caller) {
		n = bpf_get_stack(ctx, &e->stack[1], sizeof(e->stack) - sizeof(e->stack[0]),
				  BPF_F_USER_STACK);
		e->stack[0] = e->stack[1];
		e->stack[1] = caller;
		e->nr_frames = n < 0 ? (__s32)n : (__s32)(n / sizeof(__u64)) + 1;
	} else {
		n = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
		e->nr_frames = n < 0 ? (__s32)n : (__s32)(n / sizeof(__u64));
	}
	submit_event(e);
	return 0;
}

static __always_inline int count_exact(struct pt_regs *ctx, __u64 size, __u64 caller)
{
	struct hs_exact_key key = { .caller = caller, .size = size };
	static const __u64 zero;
	__u64 *count;

	stat_inc(HS_STAT_HITS);
	/* A stack the map cannot take (a bucket collision) still counts, as unattributed. */
	key.stackid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (key.stackid < 0)
		key.stackid = -1;
	count = bpf_map_lookup_elem(&exact_counts, &key);
	if (!count) {
		bpf_map_update_elem(&exact_counts, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&exact_counts, &key);
		if (!count)
			goto lost;
	}
	__sync_fetch_and_add(count, 1);
	return 0;
lost:
	stat_inc(HS_STAT_LOST);
	return 0;
}

SEC("uprobe")
int alloc_probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), ret = 0;
	__u32 probe = cookie & HS_COOKIE_KIND_MASK;
	bool at_branch = cookie & HS_COOKIE_AT_BRANCH;

	if (at_branch) {
		if (GO_JBE_TAKEN(ctx)) {
			stat_inc(HS_STAT_MORESTACK);
			return 0;
		}
		bpf_probe_read_user(&ret, sizeof(ret), GO_ENTRY_RET_ADDR_PTR(ctx));
	} else if (probe == HS_PROBE_MALLOCGC_SC) {
		/* Past the prologue the frame record is built: [FP+8] is the return address. */
		bpf_probe_read_user(&ret, sizeof(ret), (void *)(PT_REGS_FP(ctx) + 8));
	}
	if (probe == HS_PROBE_MALLOCGC_SC && ret >= targ_mallocgc_start &&
	    ret < targ_mallocgc_end) {
		stat_inc(HS_STAT_NESTED);
		return 0;
	}
	if (probe == HS_PROBE_PROFILEALLOC)
		return on_alloc(ctx, GO_ARG3(ctx), probe, at_branch ? ret : 0);
	return count_exact(ctx, GO_ARG1(ctx), at_branch ? ret : 0);
}

/* GC cost (go-runtime-probes.md §4-5): a few probes per cycle, never per allocation. */

/* Bytes of runtime.gcController to copy at cycle end (<= HS_GC_CTRL_MAX); 0: do not read. */
const volatile __u32 targ_gc_ctrl_len = 0;

/* &runtime.gcController, learnt from startCycle's receiver: stripped binaries have no symbol. */
__u64 gc_ctrl_addr = 0;

/* Cycles started since attach; the cycle gcMarkTermination is ending (0: began before attach). */
__u32 gc_seq = 0;
__u32 gc_term_seq = 0;
/* gcController as the latest startCycle found it on entry: the previous cycle's final values. */
__u8 gc_ctrl_prev[HS_GC_CTRL_MAX] = {};
__u32 gc_ctrl_prev_len = 0;

/* The world is stopped by one thread at a time (worldsema), so one slot holds the stop in
 * progress, and one the startTheWorldWithSema call in progress. */
struct {
	__u64 stop_ns, stop_arg1, stop_caller;
	__u64 start_args[5];
	__u64 start_entry_ns;
	__u32 in_start;
} gc_stw = {};

static __always_inline int gc_start_cycle(struct pt_regs *ctx)
{
	__u32 len = targ_gc_ctrl_len;
	struct hs_gc_start *e;

	gc_ctrl_addr = GO_ARG1(ctx);
	gc_seq++;
	if (len > HS_GC_CTRL_MAX)
		len = HS_GC_CTRL_MAX;
	gc_ctrl_prev_len = 0;
	if (len && !bpf_probe_read_user(gc_ctrl_prev, len, (void *)gc_ctrl_addr))
		gc_ctrl_prev_len = len;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(HS_STAT_LOST);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->type = HS_EV_GC_START;
	e->ctrl_addr = GO_ARG1(ctx);
	e->mark_start_ns = (__s64)GO_ARG2(ctx);
	e->procs = (__s64)GO_ARG3(ctx);
	e->trigger_kind = (__u32)GO_ARG4(ctx);
	e->seq = gc_seq;
	e->pad = 0;
	submit_event(e);
	return 0;
}

static __always_inline int gc_end_cycle(void)
{
	__u32 len = targ_gc_ctrl_len;
	struct hs_gc_end *e;
	__u64 addr = gc_ctrl_addr;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(HS_STAT_LOST);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->type = HS_EV_GC_END;
	e->seq = gc_term_seq;
	e->pad2 = 0;
	e->ctrl_addr = addr;
	e->ctrl_len = 0;
	if (len > HS_GC_CTRL_MAX)
		len = HS_GC_CTRL_MAX;
	if (gc_term_seq && gc_seq != gc_term_seq) {
		/* gcMarkTermination released the world and GC semaphores before returning and
		 * another goroutine started the next cycle: its startCycle kept our values */
		if (gc_ctrl_prev_len)
			__builtin_memcpy(e->ctrl, gc_ctrl_prev, HS_GC_CTRL_MAX);
		e->ctrl_len = gc_ctrl_prev_len;
	} else if (addr && len && !bpf_probe_read_user(e->ctrl, len, (void *)addr)) {
		e->ctrl_len = len;
	}
	submit_event(e);
	return 0;
}

static __always_inline int gc_stw_done(struct pt_regs *ctx)
{
	struct hs_gc_stw *e;

	/* A return without the entry (attached mid-call) or without the stop: nothing to pair. */
	if (!gc_stw.in_start)
		return 0;
	gc_stw.in_start = 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(HS_STAT_LOST);
		gc_stw.stop_ns = 0;
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->type = HS_EV_GC_STW;
	e->seq = gc_seq;
	e->start_entry_ns = gc_stw.start_entry_ns;
	e->stop_ns = gc_stw.stop_ns;
	e->end_ns = (__s64)GO_RET1(ctx);
	e->work_times[0] = e->work_times[1] = 0;
	if (targ_work_tmarkterm &&
	    bpf_probe_read_user(e->work_times, sizeof(e->work_times), (void *)targ_work_tmarkterm))
		e->work_times[0] = e->work_times[1] = 0;
	e->stop_arg1 = gc_stw.stop_arg1;
	e->stop_caller = gc_stw.stop_caller;
	for (int i = 0; i < 5; i++)
		e->start_args[i] = gc_stw.start_args[i];
	gc_stw.stop_ns = 0;
	submit_event(e);
	return 0;
}

SEC("uprobe")
int gc_probe(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 probe = cookie & HS_COOKIE_KIND_MASK;
	bool at_branch = cookie & HS_COOKIE_AT_BRANCH;

	/* The pass that goes to morestack comes back through the entry: count the other one. */
	if (at_branch && GO_JBE_TAKEN(ctx))
		return 0;
	stat_inc(HS_STAT_GC_HITS);
	switch (probe) {
	case HS_PROBE_GC_START_CYCLE:
		return gc_start_cycle(ctx);
	case HS_PROBE_GC_MARK_TERM_RET:
		return gc_end_cycle();
	case HS_PROBE_GC_STW_STOP:
		gc_stw.stop_ns = bpf_ktime_get_ns();
		gc_stw.stop_arg1 = GO_ARG1(ctx);
		gc_stw.stop_caller = 0;
		/* The return address: on the stack top at a branch site, [FP+8] past the
		 * prologue. */
		bpf_probe_read_user(&gc_stw.stop_caller, sizeof(gc_stw.stop_caller),
				    at_branch ? GO_ENTRY_RET_ADDR_PTR(ctx)
					      : (void *)(PT_REGS_FP(ctx) + 8));
		return 0;
	case HS_PROBE_GC_MARK_TERM:
		gc_term_seq = gc_seq;
		return 0;
	case HS_PROBE_GC_STW_START:
		gc_stw.start_entry_ns = bpf_ktime_get_ns();
		gc_stw.start_args[0] = GO_ARG1(ctx);
		gc_stw.start_args[1] = GO_ARG2(ctx);
		gc_stw.start_args[2] = GO_ARG3(ctx);
		gc_stw.start_args[3] = GO_ARG4(ctx);
		gc_stw.start_args[4] = GO_ARG5(ctx);
		gc_stw.in_start = 1;
		return 0;
	case HS_PROBE_GC_STW_START_RET:
		return gc_stw_done(ctx);
	}
	return 0;
}
