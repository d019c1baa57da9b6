/* SPDX-License-Identifier: GPL-2.0 */
/* The only contract between heapscope.bpf.c and user space. Fixed-width fields, widest first, no
 * implicit padding; vmlinux.h (BPF) or <linux/types.h> (user) must be included first.
 *
 * One loaded object serves every observed process: what differs per process (addresses, struct
 * offsets, GC progress, counters) lives in hash maps keyed by its tgid, and every event names
 * the tgid it came from. */
#ifndef __HEAPSCOPE_H
#define __HEAPSCOPE_H

/* Frames kept per allocation stack. Go stacks above mallocgc are rarely deeper than this in the
 * frames that matter (the allocation site is 2-4 frames up); deeper ones are truncated. */
#define HS_MAX_STACK 64

enum hs_event_type {
	HS_EV_ALLOC = 1,	/* struct hs_alloc_event: one allocation sample */
	HS_EV_GC_START = 2,	/* struct hs_gc_start: a GC cycle's sweep termination */
	HS_EV_GC_STW = 3,	/* struct hs_gc_stw: the world restarted after a stop */
	HS_EV_GC_END = 4,	/* struct hs_gc_end: a GC cycle's mark termination finished */
	HS_EV_EXEC = 5,		/* struct hs_ev_hdr: the process called execve: stop observing */
	HS_EV_ASSIST = 6,	/* struct hs_assist_event: a sampled mark assist's stack */
};

/* Every event starts with this. */
struct hs_ev_hdr {
	__u64 ts_ns;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 type;		/* enum hs_event_type */
	__u32 tgid;		/* the process, in heapscope's PID namespace */
};
_Static_assert(sizeof(struct hs_ev_hdr) == 16, "hs_ev_hdr layout");

/* What a probe reads, chosen per Go version by user/goruntime/probes.c and passed as the
 * bpf_cookie. */
enum hs_probe_kind {
	HS_PROBE_PROFILEALLOC = 1,	/* profilealloc(mp, x, size): size in the 3rd int register */
	HS_PROBE_MALLOCGC = 2,		/* mallocgc(size, typ, needzero): size in the 1st register */
	HS_PROBE_MALLOCGC_SC = 3,	/* size-specialised mallocgc*SCn(size, typ, needzero): same
					 * registers; hits whose caller is mallocgc are dropped */
	/* GC probes (go-runtime-probes.md §4), program gc_probe, each on its function's stack-check
	 * branch (emulated: a RET is single-stepped at ten times the cost, never a uretprobe). 17
	 * and 20 were probes on RET instructions, retired. */
	HS_PROBE_GC_START_CYCLE = 16,	/* (*gcControllerState).startCycle(markStartTime, procs,
					 * trigger): RAX = &gcController */
	HS_PROBE_GC_STW_STOP = 18,	/* stopTheWorldWithSema entry (1.21+: reason in AL) */
	HS_PROBE_GC_STW_START = 19,	/* startTheWorldWithSema entry (1.22+: worldStop in regs):
					 * the stop ends; inside gcMarkTermination, the cycle too */
	HS_PROBE_GC_MARK_TERM = 21,	/* gcMarkTermination entry: which cycle is ending */
	HS_PROBE_GC_ASSIST = 22,	/* gcAssistAlloc1, the branch right after it adds one
					 * assist's duration to its P (user/parse/x86.h): registers as
					 * hs_target.assist_* say */
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

/* Per observed process, written by user space before its probes are attached (map "targets").
 * Offsets are -1 when unknown. */
struct hs_target {
	__u64 rate_addr;	/* run-time &runtime.MemProfileRate, 0 if unknown */
	__u64 work_times_addr;	/* run-time &work.tSweepTerm (tMark, tMarkTerm, tEnd follow), 0 if
				 * unknown */
	__u64 mallocgc_start;	/* run-time [start, end) of runtime.mallocgc: size-specialised */
	__u64 mallocgc_end;	/* mallocs it calls itself are not counted twice */
	__u64 start_ticks;	/* the process's start time in clock ticks (/proc/PID/stat): a
				 * PID reused by another process is not the target; 0 unchecked */
	__u32 ctrl_len;		/* bytes of gcController to copy; 0: do not read */
	__u32 flags;		/* HS_TARGET_* */
	__s16 off_m_p;		/* runtime.m.p (a puintptr) */
	__s16 off_p_mcache;	/* runtime.p.mcache */
	__s16 off_mcache_next_sample;	/* runtime.mcache.nextSample */
	__s16 off_mcache_prof_rate;	/* runtime.mcache.memProfRate (Go 1.24+), else -1; unused
					 * by the probes, kept for diagnostics */
	/* At the mark-assist probe, decoded from the binary (user/parse/x86.h): the x86 register
	 * numbers (0 RAX, 1 RCX, 2 RDX, 3 RBX, ... 15 R15) holding the assist's duration and its
	 * P, and p.gcAssistTime's offset; -1 when the probe is not placed. */
	__s16 off_p_gc_assist_time;
	__s8 assist_dur_reg;
	__s8 assist_p_reg;
	/* An assist of d ns takes its stack with probability min(1, d / assist_sample_ns) (0:
	 * always); every assist is counted either way (see hs_assist_event). */
	__u32 assist_sample_ns;
	__u32 assist_slack_ns;	/* gcAssistTimeSlack: a P's total above it is flushed */
	__u32 pad;
	/* Counters, updated by the probes with atomic adds. */
	__u64 hits;		/* allocation probe hits (events or not) */
	__u64 lost;		/* ring buffer full: event dropped */
	__u64 morestack;	/* stack-check pass headed to morestack: its re-entry counts */
	__u64 nested;		/* size-specialised malloc entered from mallocgc: not counted twice */
	__u64 rearm;		/* samples the runtime took only because the rate changed */
	__u64 gc_hits;		/* GC probe hits */
	__u64 stack_fallback;	/* stacks sent inline: the stack table had a colliding entry */
	__u64 assist_hits;	/* mark-assist probe hits */
	__u64 assist_unread;	/* of which p.gcAssistTime could not be read: not counted */
};
_Static_assert(sizeof(struct hs_target) == 144, "hs_target layout");

/* The process exec'd: nothing of the old program's layout applies any more. */
#define HS_TARGET_EXECED (1u << 0)
/* Go 1.24+ decrements mcache.nextSample before it decides to sample (see rearm_sample). */
#define HS_TARGET_NEXT_SAMPLE_PRE_DECREMENTED (1u << 1)

/* Per observed process: where its GC is (map "gc_procs"). Created zeroed by user space. */
struct hs_gc_proc {
	__u64 ctrl_addr;	/* &runtime.gcController, learnt from startCycle's receiver */
	__u32 seq;		/* cycles started since attach (startCycle entries) */
	__u32 pad;
	/* The world is stopped by one thread at a time (worldsema): the stop in progress. */
	__u64 stw_stop_ns, stw_stop_arg1, stw_stop_caller;
	/* Mark assists of the cycles with seq & 1 == i, as the runtime credits them: each P's
	 * gcAssistTime when an assist takes it over gcAssistTimeSlack (the runtime then flushes it
	 * into gcController.assistTime; what stays under it is dropped at the next cycle start),
	 * and how many assists. Two: a cycle may start before the previous one's end is seen;
	 * startCycle's probe zeroes its cycle's pair. */
	__u64 assist_ns[2];
	__u64 assists[2];
};
_Static_assert(sizeof(struct hs_gc_proc) == 72, "hs_gc_proc layout");

/* gcController as startCycle found it on entry: the previous cycle's final values, kept in an
 * LRU map under (tgid, seq of the starting cycle) for a cycle end that loses the race with it. */
struct hs_gc_snap_key {
	__u32 tgid;
	__u32 seq;
};
struct hs_gc_snap {
	__u32 len;
	__u32 busy;		/* BPF only: a cycle start holds this scratch slot */
	__u8 ctrl[HS_GC_CTRL_MAX];
};

struct hs_gc_start {
	struct hs_ev_hdr hdr;	/* HS_EV_GC_START */
	__u64 ctrl_addr;	/* &runtime.gcController (the method receiver) */
	__s64 mark_start_ns;	/* the runtime's nanotime() of sweep termination (work.tSweepTerm) */
	__s64 procs;		/* GOMAXPROCS for the cycle */
	__u32 trigger_kind;	/* gcTriggerHeap 0, Time 1, Cycle 2 (runtime.GC: forced) */
	__u32 seq;		/* cycles started since attach, this one included */
};
_Static_assert(sizeof(struct hs_gc_start) == 48, "hs_gc_start layout");

/* One stop-the-world, emitted when startTheWorldWithSema is entered, the world still stopped.
 * Raw registers: what they mean depends on the Go version and is decoded in user/agg/gc.c. The
 * runtime's own end of the pause is known here only when it is passed in (1.22+ mark
 * termination); gcStart's (sweep termination) is the work.tMark that the next stop's work_times
 * carry. */
struct hs_gc_stw {
	struct hs_ev_hdr hdr;	/* HS_EV_GC_STW; ts_ns at startTheWorldWithSema's entry */
	__u64 stop_ns;		/* bpf_ktime_get_ns() at stopTheWorldWithSema, 0 if not seen */
	__u64 stop_arg1;	/* stopTheWorldWithSema's RAX (1.21+: stwReason in the low byte) */
	__u64 stop_caller;	/* its return address (<= 1.20: tells GC stops from others) */
	__u64 start_args[5];	/* startTheWorldWithSema's RAX, RBX, RCX, RDI, RSI at entry */
	/* work.tSweepTerm, tMark, tMarkTerm, tEnd (the runtime's phase clocks, gctrace's) at the
	 * entry; all 0 when unknown */
	__s64 work_times[4];
	__u32 seq;		/* hs_gc_start.seq of the latest cycle start */
	__u32 pad;
};
_Static_assert(sizeof(struct hs_gc_stw) == 120, "hs_gc_stw layout");

struct hs_gc_end {
	struct hs_ev_hdr hdr;	/* HS_EV_GC_END */
	__u64 ctrl_addr;	/* where ctrl[] was read from, 0 if unknown (no cycle start seen) */
	__u32 ctrl_len;		/* valid bytes in ctrl[]; 0 if unreadable */
	__u32 seq;		/* hs_gc_start.seq of the cycle that ended (0: started before attach) */
	__u32 from_snap;	/* ctrl[] is the next startCycle's snapshot (it won the race) */
	__u32 pad;
	/* The cycle's mark assists as the assist probe counted them (hs_gc_proc.assist_ns);
	 * 0 when it is not placed */
	__u64 assist_ns;
	__u64 assists;
	/* runtime.gcController as gcMarkTermination restarts the world (its figures final), or,
	 * when the next cycle had already started (its startCycle resets the per-cycle counters),
	 * as the next startCycle found it on entry: the same values, untouched between cycles */
	__u8 ctrl[HS_GC_CTRL_MAX];
};
_Static_assert(sizeof(struct hs_gc_end) == 56 + HS_GC_CTRL_MAX, "hs_gc_end layout");

/* hs_alloc_event.flags */
#define HS_ALLOC_REARM (1u << 0)	/* the runtime sampled this allocation only because the rate
					 * changed (first allocation on each P): not a random sample */
#define HS_ALLOC_STACK_INLINE (1u << 1)	/* the frames follow the event (hs_alloc_stack_event) */

struct hs_alloc_event {
	struct hs_ev_hdr hdr;	/* HS_EV_ALLOC */
	__u64 size;		/* bytes: the slot size the runtime recorded */
	__s64 rate;		/* runtime.MemProfileRate at the time, -1 if unreadable */
	__u64 caller;		/* return address read at a branch site, 0 if the stack has it */
	__s32 stackid;		/* id in the "stacks" map, or -errno (frames inline or none) */
	__u16 probe;		/* enum hs_probe_kind */
	__u16 flags;		/* HS_ALLOC_* */
};
_Static_assert(sizeof(struct hs_alloc_event) == 48, "hs_alloc_event layout");

/* The rare event whose stack the table could not take (a hash collision in "stacks"). */
struct hs_alloc_stack_event {
	struct hs_alloc_event ev;	/* flags has HS_ALLOC_STACK_INLINE */
	__s32 nr_frames;		/* valid entries in stack[] */
	__u32 pad;
	__u64 stack[HS_MAX_STACK];	/* the probed pc, then return addresses outward */
};
_Static_assert(sizeof(struct hs_alloc_stack_event) == 56 + 8 * HS_MAX_STACK,
	       "hs_alloc_stack_event layout");

/* A sampled mark assist: the allocating goroutine's stack (the walk crosses from the system
 * stack into the goroutine's through systemstack's frame) for an assist of d ns, taken with
 * probability p = min(1, d / hs_target.assist_sample_ns): the walk is most of a hit's cost and Go
 * 1.26+ makes thousands of short assists a second. weight_ns = d / p is its Horvitz-Thompson
 * weight; user space splits the cycle's exact total (hs_gc_end.assist_ns: every assist is
 * counted in BPF) between the sampled stacks in proportion to their weights. */
#define HS_ASSIST_STACK_INLINE (1u << 0)	/* the frames follow (hs_assist_stack_event) */

struct hs_assist_event {
	struct hs_ev_hdr hdr;	/* HS_EV_ASSIST */
	__u64 dur_ns;		/* this assist's duration (the runtime's nanotime difference) */
	__u64 weight_ns;	/* d / p */
	__u32 seq;		/* hs_gc_proc.seq at the assist: the cycle it belongs to */
	__s32 stackid;		/* id in the "stacks" map, or -errno (frames inline) */
	__u32 flags;		/* HS_ASSIST_* */
	__u32 pad;
};
_Static_assert(sizeof(struct hs_assist_event) == 48, "hs_assist_event layout");

struct hs_assist_stack_event {
	struct hs_assist_event ev;	/* flags has HS_ASSIST_STACK_INLINE */
	__s32 nr_frames;		/* valid entries in stack[] */
	__u32 pad;
	__u64 stack[HS_MAX_STACK];	/* the probed pc, then return addresses outward */
};
_Static_assert(sizeof(struct hs_assist_stack_event) == 56 + 8 * HS_MAX_STACK,
	       "hs_assist_stack_event layout");

/* Exact mode counts allocations in the kernel (one event per allocation would be millions per
 * second): key of the "exact_counts" hash, value a __u64 count. */
struct hs_exact_key {
	__u64 caller;		/* return address read at a branch site, 0 if the stack has it */
	__u64 size;		/* requested bytes */
	__s32 stackid;		/* id in the "stacks" table, -1 none */
	__u32 tgid;
};
_Static_assert(sizeof(struct hs_exact_key) == 24, "hs_exact_key layout");
#define HS_EXACT_MAX_KEYS 65536
#define HS_MAX_STACKIDS 16384

/* An entry of the "stacks" table (an array of HS_MAX_STACKIDS): a stack whose hash picked this
 * slot or one of the HS_STACK_PROBES - 1 after it, written once by the first probe that walked
 * it and never changed after its hash is set, so user space reads each id once. hash is 0
 * while the slot is free and 1 while it is being written (a write whose second walk disagrees
 * with the first gives the slot back); an event names an id only after its frames are
 * complete. A probe that meets a slot being written moves on, so a new stack seen by several
 * probes at once may take two slots (the same frames under two ids). A stack that finds all
 * its slots taken by others is sent inline instead (--exact: counted as unattributed). */
#define HS_STACK_PROBES 4
#define HS_STACK_FREE 0
#define HS_STACK_BUSY 1
struct hs_stack {
	__u64 hash;		/* of pcs[0..nr), >= 2 once written */
	__u32 nr;		/* valid entries in pcs */
	__u32 pad;
	__u64 pcs[HS_MAX_STACK];	/* the probed pc, then return addresses outward */
};
_Static_assert(sizeof(struct hs_stack) == 16 + 8 * HS_MAX_STACK, "hs_stack layout");
#define HS_MAX_TARGETS 4096

_Static_assert(__builtin_offsetof(struct hs_alloc_event, hdr) == 0 &&
		       __builtin_offsetof(struct hs_gc_start, hdr) == 0 &&
		       __builtin_offsetof(struct hs_gc_stw, hdr) == 0 &&
		       __builtin_offsetof(struct hs_gc_end, hdr) == 0 &&
		       __builtin_offsetof(struct hs_assist_event, hdr) == 0,
	       "event header first");

#endif /* __HEAPSCOPE_H */
