/* SPDX-License-Identifier: GPL-2.0 */
/* Just enough x86-64 decoding to place uprobes safely in Go code. Pure. */
#ifndef __X86_H
#define __X86_H

#include <stddef.h>
#include <stdint.h>

/* Length of the instruction at code[0..avail), or -EINVAL if it cannot be decoded. Covers what
 * the Go toolchain emits: legacy/REX prefixes, one/two/three-byte opcodes, VEX and EVEX. */
int x86__insn_len(const uint8_t *code, size_t avail);

/* Offset (from the function entry) of the first instruction after the frame-pointer setup of a
 * Go function: after "PUSHQ BP; MOVQ SP, BP" (Go 1.21+) or after "LEAQ off(SP), BP" (Go <= 1.20),
 * decoding linearly from the entry and only crossing the stack-check prologue. Probing there fires
 * once per call (morestack re-enters at the entry) and the frame pointer already links the caller.
 * 0 or -ENOENT (no frame setup found in the first instructions: frameless function). */
int x86__post_prologue(const uint8_t *code, size_t len, size_t *offset);

/* Offset of the conditional jump of a Go function's stack-bound check: "CMPQ SP, 0x10(R14)"
 * (or "CMPQ R12, 0x10(R14)" after "LEAQ -n(SP), R12" for larger frames; 0x18 for the
 * stackguard1 that system-stack runtime functions check) followed by
 * "JBE morestack", within the first instructions from the entry. The kernel emulates a
 * conditional jump under a uprobe instead of single-stepping it out of line, which makes a
 * probe there an order of magnitude cheaper than one on the frame setup (measured: 0.8 us vs
 * 13-17 us per hit); the probe sees the branch's flags, so it can tell the pass that will go
 * to morestack (CF or ZF set: JBE taken) from the one that runs the body. 0 or -ENOENT. */
int x86__stack_check_branch(const uint8_t *code, size_t len, size_t *offset);

/* The target of the first "MOVQ AX, disp32(RIP)" within the few instructions after the first
 * "CALL callee" (link-time addresses; code_vaddr is code[0]'s). gcMarkDone calls nanotime once
 * and stores the result into work.tMarkTerm this way in every Go version 1.19-1.27, which
 * locates the runtime's `work` timestamps in stripped binaries. 0 or -ENOENT. */
int x86__find_result_store(const uint8_t *code, size_t len, uint64_t code_vaddr, uint64_t callee,
			   uint64_t *target);

/* Offsets of every RET (C3, C2 iw) instruction, decoding linearly over the whole function.
 * Returns the number found (<= max), -EINVAL if decoding fails, or -E2BIG if there are more than
 * max (a silently missed RET would leave entry probes unmatched). */
int x86__ret_sites(const uint8_t *code, size_t len, size_t *offsets, int max);

/* In a function that inlines Go's nextSample(), find the global it compares with 1
 * ("if MemProfileRate == 1"): the RIP-relative 8-byte load into the register of the first
 * "CMPQ reg, $1". code_vaddr is the link-time address of code[0]. 0 with *target set, or -ENOENT. */
int x86__find_rate_global(const uint8_t *code, size_t len, uint64_t code_vaddr, uint64_t *target);

/* The first instruction with a RIP-relative operand, within the first few dozen from the entry,
 * if it is a plain load "MOV disp32(RIP), reg" of width bytes (8: MOVQ, 4: MOVL): its target
 * (link-time address; code_vaddr is code[0]'s) and, if offset is not NULL, its offset. Every
 * Go version 1.19-1.27 starts runtime.mProf_FlushLocked with "head := mbuckets.Load()" this way,
 * which locates the heap profile's bucket list in stripped binaries. 0 or -ENOENT (the first
 * RIP-relative instruction is something else, or there is none). */
int x86__first_rip_load(const uint8_t *code, size_t len, uint64_t code_vaddr, int width,
			uint64_t *target, size_t *offset);

/* A CAS loop on a 4-byte global: the first RIP-relative instruction is "MOVL g(RIP), reg", then,
 * within a dozen instructions, "LEAQ g(RIP), reg" (the same g) and "LOCK CMPXCHGL". That is how
 * runtime.mProf_Flush begins (mProfCycle.setFlushed) in every Go version 1.19-1.27; requiring
 * all three makes a wrong hit implausible. 0 with *target = g, or -ENOENT. */
int x86__find_cas_global(const uint8_t *code, size_t len, uint64_t code_vaddr, uint64_t *target);

/* runtime.gcAssistAlloc1 (every Go version 1.19-1.27) ends a mark assist with
 *	pp.gcAssistTime += duration
 *	if trackLimiterEvent { pp.limiterEvent.stop(...) }
 *	if pp.gcAssistTime > gcAssistTimeSlack { flush to gcController.assistTime }
 * compiled to "ADDQ dur, disp(p)", a few loads and a TEST, a conditional jump over the limiter
 * call, then "MOVQ disp(p), r; CMPQ r, $slack; JLE". At that first jump the added register
 * still holds this assist's own duration and p the P (the limiter call clobbers them before the
 * slack compare), and the kernel emulates a jump instead of single-stepping it. */
struct x86_assist_site {
	size_t branch;		/* offset of the conditional jump to probe */
	size_t add;		/* offset of "ADDQ dur, disp(p)" */
	size_t cmp;		/* offset of "CMPQ r, $slack" */
	int dur_reg;		/* register (0 RAX, 1 RCX, 2 RDX, 3 RBX, ... 15 R15) holding the
				 * assist's duration at the branch */
	int p_reg;		/* register holding the P there */
	int32_t disp;		/* offset of p.gcAssistTime in runtime.p */
	const char *why;	/* on failure: which part of the pattern was not found */
};

/* Find that site by decoding the whole function: exactly one "CMP r64, $slack" followed by
 * JLE/JG and preceded by a load of disp(p) into r, exactly one "ADD r64, disp(p)" before it,
 * and a conditional jump after the ADD with only NOPs, TEST/CMP and MOVs that write neither the
 * duration nor p in between. 0, or -ENOENT (pattern absent or ambiguous; s->why says which),
 * -EINVAL (the function does not decode), -ENOMEM. */
int x86__find_assist_site(const uint8_t *code, size_t len, int64_t slack,
			  struct x86_assist_site *s);

#endif /* __X86_H */
