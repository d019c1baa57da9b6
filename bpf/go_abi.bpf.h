/* SPDX-License-Identifier: GPL-2.0 */
/* Go ABIInternal argument registers (src/cmd/compile/abi-internal.md). Valid at a function's
 * entry and through its prologue (stack check and frame setup do not touch them), which is
 * where heapscope's probes sit. */
#ifndef __GO_ABI_BPF_H
#define __GO_ABI_BPF_H

#if defined(__TARGET_ARCH_x86)
/* amd64: RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11 */
#define GO_ARG1(ctx) ((ctx)->ax)
#define GO_ARG2(ctx) ((ctx)->bx)
#define GO_ARG3(ctx) ((ctx)->cx)
#define GO_ARG4(ctx) ((ctx)->di)
#define GO_ARG5(ctx) ((ctx)->si)
/* At a function's first instructions the return address is still on top of the stack. */
#define GO_ENTRY_RET_ADDR_PTR(ctx) ((void *)(ctx)->sp)
/* JBE is taken when CF or ZF is set (EFLAGS bits 0 and 6). */
#define GO_JBE_TAKEN(ctx) (((ctx)->flags & 0x41) != 0)

/* A general register by its x86 encoding number (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP,
 * 6 RSI, 7 RDI, 8-15 R8-R15), as user/parse/x86.c decodes them; 0 for anything else. The barrier
 * in each case keeps clang from merging the loads into one at a computed offset, which the
 * verifier refuses on the context ("dereference of modified ctx ptr"). */
#define GO_REG_CASE(n, field)                                                                      \
	case n:                                                                                    \
		v = ctx->field;                                                                    \
		asm volatile("" : "+r"(v));                                                        \
		break
static __always_inline __u64 go_reg(const struct pt_regs *ctx, int r)
{
	__u64 v = 0;

	switch (r) {
	GO_REG_CASE(0, ax);
	GO_REG_CASE(1, cx);
	GO_REG_CASE(2, dx);
	GO_REG_CASE(3, bx);
	GO_REG_CASE(4, sp);
	GO_REG_CASE(5, bp);
	GO_REG_CASE(6, si);
	GO_REG_CASE(7, di);
	GO_REG_CASE(8, r8);
	GO_REG_CASE(9, r9);
	GO_REG_CASE(10, r10);
	GO_REG_CASE(11, r11);
	GO_REG_CASE(12, r12);
	GO_REG_CASE(13, r13);
	GO_REG_CASE(14, r14);
	GO_REG_CASE(15, r15);
	}
	return v;
}
#undef GO_REG_CASE
#elif defined(__TARGET_ARCH_arm64)
#define GO_ARG1(ctx) ((ctx)->regs[0])
#define GO_ARG2(ctx) ((ctx)->regs[1])
#define GO_ARG3(ctx) ((ctx)->regs[2])
#define GO_ARG4(ctx) ((ctx)->regs[3])
#define GO_ARG5(ctx) ((ctx)->regs[4])
/* arm64 stack checks branch with BLS and the return address is in LR; the planner does not
 * use branch sites there yet. */
#define GO_ENTRY_RET_ADDR_PTR(ctx) ((void *)0)
#define GO_JBE_TAKEN(ctx) 0
/* The planner places no register-decoded probe here (x86-64 only). */
static __always_inline __u64 go_reg(const struct pt_regs *ctx, int r)
{
	return 0;
}
#else
#error "heapscope: unsupported architecture"
#endif

#endif /* __GO_ABI_BPF_H */
