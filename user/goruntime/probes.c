// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <linux/types.h>
#include "heapscope.h"
#include "probes.h"
#include "util.h"
#include "x86.h"

/* go-runtime-probes.md §1-2. profilealloc(mp, x, size) has had the same signature in every Go
 * version 1.19-1.27 and is called once per sampled allocation on every allocation path,
 * including the size-specialised ones, so one probe serves all versions. mProf_Malloc would do
 * too but its arguments moved in 1.23. */
static const struct probe_spec probe_specs[] = {
	{ "runtime.profilealloc", 18, 0, HS_PROBE_PROFILEALLOC, MODE_SAMPLED, .at_branch = 1 },
	/* Exact mode: every allocation goes through mallocgc, except that Go 1.27 (and 1.26 with
	 * GOEXPERIMENT=sizespecializedmalloc) calls size-specialised functions straight from user
	 * code; hits on those from mallocgc itself are filtered in BPF. */
	{ "runtime.mallocgc", 18, 0, HS_PROBE_MALLOCGC, MODE_EXACT, .at_branch = 1 },
	{ "runtime.mallocgcTinySize", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT,
	  .prefix = 1, .optional = 1, .at_branch = 1 },
	{ "runtime.mallocgcTinySC", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT,
	  .prefix = 1, .optional = 1, .at_branch = 1 },
	{ "runtime.mallocgcSmallNoScanSC", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT,
	  .prefix = 1, .optional = 1, .at_branch = 1 },
	{ "runtime.mallocgcSmallScanNoHeaderSC", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT,
	  .prefix = 1, .optional = 1, .at_branch = 1 },
};

/* go-runtime-probes.md §4-5: per cycle, startCycle (inside the first stop, receiver
 * &gcController) and gcMarkTermination's entry (which cycle ends); per stop-the-world,
 * stopTheWorldWithSema's entry (<= 1.21) and startTheWorldWithSema's, where the stop ends and,
 * inside gcMarkTermination, the cycle too. Every one on an emulated branch: the RETs these once
 * used cost a single-step each, 3 per cycle, over 1 % of a target running hundreds of cycles a
 * second. The names and the registers used are the same in 1.19-1.27; what the registers mean
 * per version is decoded in user space. */
static const struct probe_spec gc_specs[] = {
	{ "runtime.(*gcControllerState).startCycle", 19, 0, HS_PROBE_GC_START_CYCLE,
	  MODE_SAMPLED | MODE_EXACT, .at_branch = 1 },
	{ "runtime.gcMarkTermination", 19, 0, HS_PROBE_GC_MARK_TERM, MODE_SAMPLED | MODE_EXACT,
	  .at_branch = 1 },
	/* 1.22+ hands the runtime's own stop timestamp and reason to startTheWorldWithSema: a
	 * probe less, and none between the runtime's "pause start" clock reads. */
	{ "runtime.stopTheWorldWithSema", 19, 21, HS_PROBE_GC_STW_STOP, MODE_SAMPLED | MODE_EXACT,
	  .at_branch = 1 },
	{ "runtime.startTheWorldWithSema", 19, 0, HS_PROBE_GC_STW_START, MODE_SAMPLED | MODE_EXACT,
	  .at_branch = 1 },
};

static bool spec_applies(const struct probe_spec *s, const struct go_version *v, unsigned mode)
{
	if (!(s->modes & mode) || v->major != 1)
		return false;
	if (s->min_minor && v->minor < s->min_minor)
		return false;
	return !s->max_minor || v->minor <= s->max_minor;
}

static bool name_matches(const struct probe_spec *s, const char *name)
{
	size_t n = strlen(s->func);

	if (!s->prefix)
		return !strcmp(name, s->func);
	/* A prefix names a family of generated functions: mallocgcSmallNoScanSC2..SC26, and
	 * nothing else (not ...SlowPath). */
	return !strncmp(name, s->func, n) && name[n] >= '0' && name[n] <= '9';
}

/* A wrong offset corrupts the target, so every site is proven: the function is a pclntab entry,
 * and the offset comes from decoding its instructions from that entry. */
static int resolve_site(const struct target *t, const struct go_func *f, struct probe_site *site)
{
	struct go_func check;
	uint8_t code[512];
	size_t len = f->end - f->entry, off;
	int err;

	if (len > sizeof(code))
		len = sizeof(code);
	if (pclntab__find_pc(t->pcln, f->entry, &check) || check.entry != f->entry)
		return -EINVAL;
	err = goelf__read_vaddr(t->elf, f->entry, code, len);
	if (err)
		return err;
	site->cookie = site->spec->kind;
	if (site->spec->at_branch && goelf__machine(t->elf) == EM_X86_64 &&
	    !x86__stack_check_branch(code, len, &off)) {
		site->cookie |= HS_COOKIE_AT_BRANCH;
	} else {
		err = x86__post_prologue(code, len, &off);
		if (err)
			return err;
	}
	if (f->entry + off >= f->end)
		return -ERANGE;
	site->func = f->name;
	site->entry = f->entry;
	site->vaddr = f->entry + off;
	return goelf__vaddr_to_offset(t->elf, site->vaddr, &site->file_offset);
}

static int add_site(struct probe_site **sites, size_t *n, size_t *cap, const struct probe_site *s)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct probe_site *p = realloc(*sites, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*sites = p;
		*cap = ncap;
	}
	(*sites)[(*n)++] = *s;
	return 0;
}

/* Resolve one spec: a named function's post-prologue (or branch) site, or every function of a
 * prefix family. *missing is set to the spec's name when a required
 * function is absent; a function that has no safe site is an error (-errno) in both cases. */
static int plan_spec(const struct target *t, const struct probe_spec *spec,
		     struct probe_site **sites, size_t *n, size_t *cap, const char **missing)
{
	struct probe_site site = { .spec = spec };
	struct go_func f;
	int err, found = 0;

	for (size_t i = 0; i < pclntab__nfuncs(t->pcln); i++) {
		if (spec->prefix) {
			if (pclntab__func_at(t->pcln, i, &f) || !name_matches(spec, f.name))
				continue;
		} else if (pclntab__find_name(t->pcln, spec->func, &f)) {
			break;
		}
		err = resolve_site(t, &f, &site);
		if (!err)
			err = add_site(sites, n, cap, &site);
		if (err) {
			*missing = f.name;
			return err;
		}
		found++;
		if (!spec->prefix)
			break;
	}
	if (!found && !spec->optional) {
		*missing = spec->func;
		return -ENOENT;
	}
	return 0;
}

static int plan_table(const struct target *t, const struct probe_spec *specs, size_t nspecs,
		      unsigned mode, struct probe_site **sites, size_t *n, const char **what)
{
	size_t cap = 0;
	int err = 0;

	*sites = NULL;
	*n = 0;
	*what = NULL;
	for (size_t i = 0; i < nspecs; i++) {
		if (!spec_applies(&specs[i], &t->ver, mode))
			continue;
		err = plan_spec(t, &specs[i], sites, n, &cap, what);
		if (err)
			goto cleanup;
	}
	return 0;
cleanup:
	free(*sites);
	*sites = NULL;
	*n = 0;
	return err;
}

int probes__plan_gc(const struct target *t, struct probe_site **sites, size_t *n,
		    const char **what)
{
	if (goelf__machine(t->elf) != EM_X86_64) {
		*sites = NULL;
		*n = 0;
		*what = "GC probes on this architecture";
		return -ENOTSUP;
	}
	return plan_table(t, gc_specs, sizeof(gc_specs) / sizeof(gc_specs[0]), MODE_SAMPLED, sites,
			  n, what);
}

int probes__plan(const struct target *t, unsigned mode, struct probe_site **sites, size_t *n)
{
	const char *what = NULL;
	int err;

	/* Probe sites come from decoding x86-64; anything else would be a guess, and a wrong
	 * offset corrupts the target. */
	if (goelf__machine(t->elf) != EM_X86_64) {
		*sites = NULL;
		*n = 0;
		log_err("%s is not an x86-64 binary: heapscope places probes on x86-64 only", t->exe);
		return -ENOTSUP;
	}
	err = plan_table(t, probe_specs, sizeof(probe_specs) / sizeof(probe_specs[0]), mode,
			     sites, n, &what);

	if (err == -ENOENT)
		log_err("%s has no %s in its function table: cannot observe allocations of this "
			"%s binary", t->exe, what, t->ver.str);
	else if (err)
		log_err("refusing to probe %s in %s: no safe probe point (%s)", what ? what : "?",
			t->exe, strerror(-err));
	return err;
}

static const struct probe_spec assist_spec = {
	"runtime.gcAssistAlloc1", 19, 0, HS_PROBE_GC_ASSIST, MODE_SAMPLED | MODE_EXACT,
};

/* gcAssistTimeSlack: 5000 ns in every Go version 1.19-1.27 (mgcpacer.go). */
#define GC_ASSIST_TIME_SLACK 5000
/* gcAssistAlloc1 is 608-928 bytes in Go 1.19-1.27. */
#define MAX_ASSIST_FUNC 8192

int probes__plan_assist(const struct target *t, int want_p_off, struct assist_plan *a,
			const char **why)
{
	struct x86_assist_site xs;
	struct go_func f, check;
	uint8_t *code = NULL;
	size_t len;
	int err;

	memset(a, 0, sizeof(*a));
	*why = NULL;
	if (goelf__machine(t->elf) != EM_X86_64) {
		*why = "its probe site is decoded on x86-64 only";
		return -ENOTSUP;
	}
	if (!spec_applies(&assist_spec, &t->ver, MODE_SAMPLED)) {
		*why = "Go older than 1.19 keeps no per-P assist time";
		return -ENOTSUP;
	}
	if (pclntab__find_name(t->pcln, assist_spec.func, &f) ||
	    pclntab__find_pc(t->pcln, f.entry, &check) || check.entry != f.entry) {
		*why = "not in the function table";
		return -ENOENT;
	}
	len = f.end - f.entry;
	if (!len || len > MAX_ASSIST_FUNC) {
		*why = "larger than any known version's";
		return -E2BIG;
	}
	code = malloc(len);
	if (!code)
		return -ENOMEM;
	err = goelf__read_vaddr(t->elf, f.entry, code, len);
	if (err) {
		*why = "its code is not in the file";
		goto cleanup;
	}
	err = x86__find_assist_site(code, len, GC_ASSIST_TIME_SLACK, &xs);
	if (err) {
		*why = xs.why ? xs.why : "the function does not decode";
		goto cleanup;
	}
	/* The decode is strict; the layout is an independent check that it read the right
	 * field (a different struct field at the same place would attribute garbage). */
	if (want_p_off >= 0 && xs.disp != want_p_off) {
		*why = "the p.gcAssistTime offset it uses is not this Go version's";
		err = -EINVAL;
		goto cleanup;
	}
	a->site = (struct probe_site){ .spec = &assist_spec, .func = f.name, .entry = f.entry,
				       .vaddr = f.entry + xs.branch, .cookie = assist_spec.kind };
	a->dur_reg = xs.dur_reg;
	a->p_reg = xs.p_reg;
	a->p_assist_off = xs.disp;
	err = goelf__vaddr_to_offset(t->elf, a->site.vaddr, &a->site.file_offset);
	if (err)
		*why = "the probe address is not file-backed";
cleanup:
	free(code);
	return err;
}
