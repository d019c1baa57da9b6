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
#define GO_RET1(ctx) ((ctx)->ax)
/* At a function's first instructions the return address is still on top of the stack. */
#define GO_ENTRY_RET_ADDR_PTR(ctx) ((void *)(ctx)->sp)
/* JBE is taken when CF or ZF is set (EFLAGS bits 0 and 6). */
#define GO_JBE_TAKEN(ctx) (((ctx)->flags & 0x41) != 0)
#elif defined(__TARGET_ARCH_arm64)
#define GO_ARG1(ctx) ((ctx)->regs[0])
#define GO_ARG2(ctx) ((ctx)->regs[1])
#define GO_ARG3(ctx) ((ctx)->regs[2])
#define GO_ARG4(ctx) ((ctx)->regs[3])
#define GO_ARG5(ctx) ((ctx)->regs[4])
#define GO_RET1(ctx) ((ctx)->regs[0])
/* arm64 stack checks branch with BLS and the return address is in LR; the planner does not
 * use branch sites there yet. */
#define GO_ENTRY_RET_ADDR_PTR(ctx) ((void *)0)
#define GO_JBE_TAKEN(ctx) 0
#else
#error "heapscope: unsupported architecture"
#endif

#endif /* __GO_ABI_BPF_H */
