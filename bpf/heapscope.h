/* SPDX-License-Identifier: GPL-2.0 */
/* The only contract between heapscope.bpf.c and user space. Fixed-width fields, widest first, no
 * implicit padding; vmlinux.h (BPF) or <linux/types.h> (user) must be included first. */
#ifndef __HEAPSCOPE_H
#define __HEAPSCOPE_H

/* Frames kept per allocation sample. Go stacks above mallocgc are rarely deeper than this in the
 * frames that matter (the allocation site is 2-4 frames up); deeper ones are truncated. */
#define HS_MAX_STACK 64

enum hs_event_type {
	HS_EV_ALLOC = 1,	/* one allocation sample (sampled mode) or allocation (exact mode) */
	HS_EV_GC_START = 2,	/* struct hs_gc_start: a GC cycle's sweep termination */
	HS_EV_GC_STW = 3,	/* struct hs_gc_stw: the world restarted after a stop */
	HS_EV_GC_END = 4,	/* struct hs_gc_end: a GC cycle's mark termination finished */
};

/* Every event has its type at this offset (hs_alloc_event predates the GC events), so a consumer
 * reads it before knowing the struct. */
#define HS_EV_TYPE_OFFSET 24

/* What a probe reads, chosen per Go version by user/probes.c and passed as the bpf_cookie. */
enum hs_probe_kind {
	HS_PROBE_PROFILEALLOC = 1,	/* profilealloc(mp, x, size): size in the 3rd int register */
	HS_PROBE_MALLOCGC = 2,		/* mallocgc(size, typ, needzero): size in the 1st register */
	HS_PROBE_MALLOCGC_SC = 3,	/* size-specialised mallocgc*SCn(size, typ, needzero): same
					 * registers; hits whose caller is mallocgc are dropped */
	/* GC probes (go-runtime-probes.md §4), program gc_probe. Entry probes sit after the
	 * prologue; _RET probes on every RET instruction (never a uretprobe). */
	HS_PROBE_GC_START_CYCLE = 16,	/* (*gcControllerState).startCycle(markStartTime, procs,
					 * trigger): RAX = &gcController */
	HS_PROBE_GC_MARK_TERM_RET = 17,	/* gcMarkTermination returns: cycle end */
	HS_PROBE_GC_STW_STOP = 18,	/* stopTheWorldWithSema entry (1.21+: reason in AL) */
	HS_PROBE_GC_STW_START = 19,	/* startTheWorldWithSema entry (1.22+: worldStop in regs) */
	HS_PROBE_GC_STW_START_RET = 20,	/* startTheWorldWithSema returns the runtime's now in RAX */
	HS_PROBE_GC_MARK_TERM = 21,	/* gcMarkTermination entry: which cycle is ending */
};

/* Or'ed into an allocation probe's cookie: the probe sits on the JBE of the function's stack
 * check (the kernel emulates branches, so this is an order of magnitude cheaper than a probe on
 * the frame setup). The frame is not built there: the caller comes from the return address on
 * the stack, and a pass that is about to take the branch to morestack is skipped, because the
 * function re-enters from its start afterwards. */
#define HS_COOKIE_AT_BRANCH (1u << 8)
#define HS_COOKIE_KIND_MASK 0xffu

/* Bytes of runtime.gcController copied at each cycle end (it is 368-424 bytes in Go 1.19-1.27,
 * 456 on arm64); user space decodes the fields with per-version offsets. */
#define HS_GC_CTRL_MAX 512

struct hs_gc_start {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 ctrl_addr;	/* &runtime.gcController (the method receiver) */
	__s64 mark_start_ns;	/* the runtime's nanotime() of sweep termination (work.tSweepTerm) */
	__u32 type;		/* HS_EV_GC_START */
	__u32 trigger_kind;	/* gcTriggerHeap 0, Time 1, Cycle 2 (runtime.GC: forced) */
	__s64 procs;		/* GOMAXPROCS for the cycle */
	__u32 seq;		/* cycles started since attach, this one included */
	__u32 pad;
};
_Static_assert(sizeof(struct hs_gc_start) == 48, "hs_gc_start layout");

/* One stop-the-world, emitted when startTheWorldWithSema returns. Raw registers: what they mean
 * depends on the Go version and is decoded in user/gc.c. */
struct hs_gc_stw {
	__u64 ts_ns;		/* bpf_ktime_get_ns() at the return */
	__u64 stop_ns;		/* bpf_ktime_get_ns() at stopTheWorldWithSema, 0 if not seen */
	__s64 end_ns;		/* startTheWorldWithSema's result: the runtime's nanotime() */
	__u32 type;		/* HS_EV_GC_STW */
	__u32 seq;		/* hs_gc_start.seq of the latest cycle start */
	__u64 stop_arg1;	/* stopTheWorldWithSema's RAX (1.21+: stwReason in the low byte) */
	__u64 stop_caller;	/* its return address (<= 1.20: tells GC stops from others) */
	__u64 start_args[5];	/* startTheWorldWithSema's RAX, RBX, RCX, RDI, RSI at entry */
	__u64 start_entry_ns;	/* bpf_ktime_get_ns() at startTheWorldWithSema's entry */
	__s64 work_times[2];	/* work.tMarkTerm, work.tEnd at the return; 0 unknown */
};
_Static_assert(sizeof(struct hs_gc_stw) == 112, "hs_gc_stw layout");

struct hs_gc_end {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 ctrl_addr;	/* where ctrl[] was read from, 0 if unknown (no cycle start seen) */
	__u32 ctrl_len;		/* valid bytes in ctrl[]; 0 if unreadable */
	__u32 seq;		/* hs_gc_start.seq of the cycle that ended (0: started before attach) */
	__u32 type;		/* HS_EV_GC_END */
	__u32 pad2;
	/* runtime.gcController at the end of gcMarkTermination, or, when the next cycle started
	 * before that return (its startCycle resets the per-cycle counters), as the next
	 * startCycle found it on entry: the same values, untouched between cycles */
	__u8 ctrl[HS_GC_CTRL_MAX];
};
_Static_assert(sizeof(struct hs_gc_end) == 32 + HS_GC_CTRL_MAX, "hs_gc_end layout");

struct hs_alloc_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 size;		/* bytes: the slot size in sampled mode, the request in exact mode */
	__s64 rate;		/* runtime.MemProfileRate at the time, -1 if unreadable */
	__u32 type;		/* enum hs_event_type */
	__u32 probe;		/* enum hs_probe_kind */
	__u32 tid;
	__s32 nr_frames;	/* valid entries in stack[], or -errno from bpf_get_stack */
	__u64 stack[HS_MAX_STACK];	/* user return addresses, innermost first: stack[0] = probe pc */
};
_Static_assert(sizeof(struct hs_alloc_event) == 40 + 8 * HS_MAX_STACK, "hs_alloc_event layout");

/* Exact mode counts allocations in the kernel (one event per allocation would be millions per
 * second): key of the "exact_counts" hash, value a __u64 count. */
struct hs_exact_key {
	__u64 caller;		/* return address read at a branch site, 0 if the stack has it */
	__u64 size;		/* requested bytes */
	__s32 stackid;		/* id in the "stacks" map (bpf_get_stackid, user stack) */
	__u32 pad;
};
_Static_assert(sizeof(struct hs_exact_key) == 24, "hs_exact_key layout");
#define HS_EXACT_MAX_KEYS 65536
#define HS_MAX_STACKIDS 16384

/* Index of per-CPU counters in the "stats" map. */
enum hs_stat {
	HS_STAT_LOST = 0,	/* ring buffer full: event dropped */
	HS_STAT_HITS = 1,	/* probe hits (events or not) */
	HS_STAT_NESTED = 2,	/* size-specialised malloc entered from mallocgc: not counted twice */
	HS_STAT_GC_HITS = 3,	/* GC probe hits */
	HS_STAT_MORESTACK,	/* stack-check pass headed to morestack: the re-entry counts */
	HS_STAT_MAX,
};

_Static_assert(__builtin_offsetof(struct hs_alloc_event, type) == HS_EV_TYPE_OFFSET &&
		       __builtin_offsetof(struct hs_gc_start, type) == HS_EV_TYPE_OFFSET &&
		       __builtin_offsetof(struct hs_gc_stw, type) == HS_EV_TYPE_OFFSET &&
		       __builtin_offsetof(struct hs_gc_end, type) == HS_EV_TYPE_OFFSET,
	       "event type offset");

#endif /* __HEAPSCOPE_H */
