// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
	{ "runtime.profilealloc", 18, 0, HS_PROBE_PROFILEALLOC, MODE_SAMPLED },
	/* Exact mode: every allocation goes through mallocgc, except that Go 1.27 (and 1.26 with
	 * GOEXPERIMENT=sizespecializedmalloc) calls size-specialised functions straight from user
	 * code; hits on those from mallocgc itself are filtered in BPF. */
	{ "runtime.mallocgc", 18, 0, HS_PROBE_MALLOCGC, MODE_EXACT },
	{ "runtime.mallocgcTinySize", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT, 1, 1 },
	{ "runtime.mallocgcTinySC", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT, 1, 1 },
	{ "runtime.mallocgcSmallNoScanSC", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT, 1, 1 },
	{ "runtime.mallocgcSmallScanNoHeaderSC", 26, 0, HS_PROBE_MALLOCGC_SC, MODE_EXACT, 1, 1 },
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
	err = x86__post_prologue(code, len, &off);
	if (err)
		return err;
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

static int plan_spec(const struct target *t, const struct probe_spec *spec,
		     struct probe_site **sites, size_t *n, size_t *cap)
{
	struct probe_site site = { .spec = spec };
	struct go_func f;
	int err, found = 0;

	if (!spec->prefix) {
		if (pclntab__find_name(t->pcln, spec->func, &f))
			goto missing;
		err = resolve_site(t, &f, &site);
		if (err)
			goto bad_site;
		return add_site(sites, n, cap, &site);
	}
	for (size_t i = 0; i < pclntab__nfuncs(t->pcln); i++) {
		if (pclntab__func_at(t->pcln, i, &f) || !name_matches(spec, f.name))
			continue;
		err = resolve_site(t, &f, &site);
		if (err)
			goto bad_site;
		err = add_site(sites, n, cap, &site);
		if (err)
			return err;
		found++;
	}
	if (found)
		return 0;
missing:
	if (spec->optional)
		return 0;
	log_err("%s has no %s in its function table: cannot observe allocations of this %s binary",
		t->exe, spec->func, t->ver.str);
	return -ENOENT;
bad_site:
	log_err("refusing to probe %s in %s: no safe probe point after its prologue (%s)", f.name,
		t->exe, strerror(-err));
	return err;
}

int probes__plan(const struct target *t, unsigned mode, struct probe_site **sites, size_t *n)
{
	size_t cap = 0;
	int err = 0;

	*sites = NULL;
	*n = 0;
	for (size_t i = 0; i < sizeof(probe_specs) / sizeof(probe_specs[0]); i++) {
		if (!spec_applies(&probe_specs[i], &t->ver, mode))
			continue;
		err = plan_spec(t, &probe_specs[i], sites, n, &cap);
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
