/* SPDX-License-Identifier: GPL-2.0 */
/* Where heapscope probes a Go binary: a table of probe specs per Go version range, resolved
 * against the binary's pclntab to checked file offsets, then attached as plain uprobes. */
#ifndef __PROBES_H
#define __PROBES_H

#include <stddef.h>
#include <stdint.h>
#include "target.h"

enum probe_mode {
	MODE_SAMPLED = 1,	/* the runtime's own memory-profile sampler */
	MODE_EXACT = 2,		/* every allocation: ~12 us per allocation on these machines */
};

struct probe_spec {
	const char *func;	/* pclntab name, or a prefix when `prefix` is set */
	int min_minor, max_minor;	/* Go 1.N range, inclusive; 0 = unbounded */
	uint32_t kind;		/* enum hs_probe_kind, passed as the bpf_cookie */
	unsigned modes;		/* enum probe_mode bits */
	int prefix;		/* match every function whose name starts with func */
	int optional;		/* absent in the binary: fine (e.g. experiment-only functions) */
	int at_branch;		/* probe the stack check's JBE when there is one (see x86.h) */
};

struct probe_site {
	const struct probe_spec *spec;
	const char *func;	/* resolved name (points into the pclntab) */
	uint64_t entry;		/* link-time address of the function */
	uint64_t vaddr;		/* link-time address of the probed instruction */
	uint64_t file_offset;	/* what the uprobe is attached at */
	uint32_t cookie;	/* bpf_cookie: spec->kind, | HS_COOKIE_AT_BRANCH at a branch site */
};

/* Resolve every spec that applies to the target's Go version and mode. Each site is checked:
 * the function exists in .gopclntab, the probe address is past its frame setup on an
 * instruction boundary (decoded from the function entry) and inside the function.
 * 0 or -errno (-ENOENT: a required function is missing, logged). *sites is malloc'ed. */
int probes__plan(const struct target *t, unsigned mode, struct probe_site **sites, size_t *n);

/* The GC probes (program gc_probe) for the target's Go version, same checks. GC observation is
 * optional, so this logs nothing: 0, or -errno with *what naming the function that could not be
 * probed (and *sites NULL). */
int probes__plan_gc(const struct target *t, struct probe_site **sites, size_t *n,
		    const char **what);

/* The mark-assist probe (HS_PROBE_GC_ASSIST, program gc_probe): the branch of
 * runtime.gcAssistAlloc1 right after it adds one assist's duration to its P (user/parse/x86.h), and
 * what the BPF side reads there. */
struct assist_plan {
	struct probe_site site;
	int dur_reg, p_reg;	/* x86 register numbers */
	int p_assist_off;	/* runtime.p.gcAssistTime */
};

/* Find and check that site in the target's binary. want_p_off is p.gcAssistTime's offset from
 * the version's layout (-1: unknown), which the decoded one must equal. Optional like the GC
 * probes: 0, or -errno with *why saying what is wrong with runtime.gcAssistAlloc1 (nothing
 * logged). */
int probes__plan_assist(const struct target *t, int want_p_off, struct assist_plan *a,
			const char **why);

#endif /* __PROBES_H */
