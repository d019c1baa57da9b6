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

/* Run-time address of runtime.MemProfileRate in the target (0: unknown). */
const volatile __u64 targ_rate_addr = 0;
/* Run-time [start, end) of runtime.mallocgc, to drop size-specialised mallocs it calls itself. */
const volatile __u64 targ_mallocgc_start = 0;
const volatile __u64 targ_mallocgc_end = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

static __always_inline int on_alloc(struct pt_regs *ctx, __u64 size, __u32 probe)
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
	/* The probe sits after the frame-pointer setup, so the kernel's FP walk already links the
	 * immediate caller: stack[0] is the probe pc, stack[1] the call site in the caller. */
	n = bpf_get_stack(ctx, e->stack, sizeof(e->stack), BPF_F_USER_STACK);
	e->nr_frames = n < 0 ? (__s32)n : (__s32)(n / sizeof(__u64));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe")
int alloc_probe(struct pt_regs *ctx)
{
	__u64 probe = bpf_get_attach_cookie(ctx);

	if (probe == HS_PROBE_PROFILEALLOC)
		return on_alloc(ctx, GO_ARG3(ctx), HS_PROBE_PROFILEALLOC);
	if (probe == HS_PROBE_MALLOCGC_SC) {
		__u64 ret = 0;

		/* Past the prologue the frame record is built: [FP+8] is the return address. */
		bpf_probe_read_user(&ret, sizeof(ret), (void *)(PT_REGS_FP(ctx) + 8));
		if (ret >= targ_mallocgc_start && ret < targ_mallocgc_end) {
			stat_inc(HS_STAT_NESTED);
			return 0;
		}
	}
	return on_alloc(ctx, GO_ARG1(ctx), HS_PROBE_MALLOCGC);
}
