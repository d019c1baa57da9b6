// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agg.h"

/* Open-addressing tables keyed by id or hash; sizes are powers of two, grown at 1/2 load. Rows
 * live in plain arrays so snapshots are a pointer and a count. */

struct str_table {
	char **strs;		/* id -> string; id 0 unused */
	uint32_t n, cap;
	uint32_t *slots;	/* hash -> id */
	uint32_t nslots;
};

struct func_aux {
	struct agg_site_stats *sites;	/* what agg_func_stats.sites points to */
	uint32_t capsites;
	uint64_t cum_epoch;	/* last sample that added cum, to count a function once per stack */
};


struct agg {
	struct str_table strs;
	struct agg_func_stats *funcs;	/* dense, returned as is by agg__funcs */
	struct func_aux *faux;		/* parallel to funcs */
	size_t nfuncs, capfuncs, capfaux;
	uint32_t *func_index;	/* func name id -> funcs[] index + 1 */
	uint32_t func_index_cap;
	struct agg_stack_stats *stacks;	/* dense, returned as is by agg__stacks */
	uint64_t *stack_hash;		/* parallel to stacks */
	size_t nstacks, capstacks, capshash;
	uint32_t *stack_slots;	/* hash -> stacks[] index + 1 */
	uint32_t nstack_slots;
	struct agg_totals totals;
	uint64_t epoch;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	/* FNV-1a: short keys, no need for anything stronger. */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

static int str_rehash(struct str_table *t, uint32_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t id = 1; id < t->n; id++) {
		uint64_t h = hash_bytes(t->strs[id], strlen(t->strs[id]), 0xcbf29ce484222325ull);
		uint32_t i = h & (nslots - 1);

		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = id;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

uint32_t agg__intern(struct agg *a, const char *s)
{
	struct str_table *t = &a->strs;
	uint64_t h = hash_bytes(s, strlen(s), 0xcbf29ce484222325ull);
	uint32_t i;
	size_t cap = t->cap;

	if ((t->n + 1) * 2 > t->nslots && str_rehash(t, t->nslots ? t->nslots * 2 : 1024))
		return 0;
	for (i = h & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
		if (!strcmp(t->strs[t->slots[i]], s))
			return t->slots[i];
	}
	if (grow((void **)&t->strs, &cap, t->n + 1, sizeof(char *)))
		return 0;
	t->cap = cap;
	t->strs[t->n] = strdup(s);
	if (!t->strs[t->n])
		return 0;
	t->slots[i] = t->n;
	return t->n++;
}

const char *agg__str(const struct agg *a, uint32_t id)
{
	return id && id < a->strs.n ? a->strs.strs[id] : "";
}

struct agg *agg__new(void)
{
	struct agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->strs.n = 1;	/* id 0 means "none" */
	if (str_rehash(&a->strs, 1024)) {
		free(a);
		return NULL;
	}
	return a;
}

void agg__free(struct agg *a)
{
	if (!a)
		return;
	for (uint32_t i = 1; i < a->strs.n; i++)
		free(a->strs.strs[i]);
	free(a->strs.strs);
	free(a->strs.slots);
	for (size_t i = 0; i < a->nstacks; i++)
		free((void *)a->stacks[i].frames);
	free(a->stacks);
	free(a->stack_hash);
	for (size_t i = 0; i < a->nfuncs; i++)
		free(a->faux[i].sites);
	free(a->faux);
	free(a->stack_slots);
	free(a->funcs);
	free(a->func_index);
	free(a);
}

static size_t func_row(struct agg *a, uint32_t func)
{
	size_t icap = a->func_index_cap;

	if (func >= a->func_index_cap) {
		if (grow((void **)&a->func_index, &icap, func + 1, sizeof(uint32_t)))
			return SIZE_MAX;
		a->func_index_cap = icap;
	}
	if (!a->func_index[func]) {
		if (grow((void **)&a->funcs, &a->capfuncs, a->nfuncs + 1, sizeof(*a->funcs)) ||
		    grow((void **)&a->faux, &a->capfaux, a->nfuncs + 1, sizeof(*a->faux)))
			return SIZE_MAX;
		a->funcs[a->nfuncs].func = func;
		a->func_index[func] = ++a->nfuncs;
	}
	return a->func_index[func] - 1;
}

/* The site (line, kind) with the most bytes names the row; kinds of one line are summed for
 * that, so a line that both makes and appends is one place to look at. */
static void pick_dominant(struct agg_func_stats *st)
{
	const struct agg_site_stats *best = NULL;

	for (uint32_t i = 0; i < st->nsites; i++)
		if (!best || st->sites[i].bytes > best->bytes)
			best = &st->sites[i];
	if (best) {
		st->file = best->file;
		st->line = best->line;
		st->kind = best->kind;
	}
}

/* The row of site (file, line, kind) in a function, created if new; more than AGG_MAX_SITES
 * distinct ones share the last. NULL on ENOMEM. */
static struct agg_site_stats *site_row(struct agg_func_stats *st, struct func_aux *r,
				       const struct agg_frame *f, uint32_t kind)
{
	struct agg_site_stats *site;

	for (uint32_t i = 0; i < st->nsites; i++)
		if (r->sites[i].line == f->line && r->sites[i].file == f->file &&
		    r->sites[i].kind == kind)
			return &r->sites[i];
	if (st->nsites == AGG_MAX_SITES)
		return &r->sites[AGG_MAX_SITES - 1];
	if (st->nsites == r->capsites) {
		uint32_t ncap = r->capsites ? r->capsites * 2 : 2;
		struct agg_site_stats *p = realloc(r->sites, ncap * sizeof(*p));

		if (!p)
			return NULL;
		r->sites = p;
		r->capsites = ncap;
	}
	site = &r->sites[st->nsites++];
	memset(site, 0, sizeof(*site));
	site->file = f->file;
	site->line = f->line;
	site->kind = kind;
	st->sites = r->sites;
	return site;
}

static int add_site(struct agg_func_stats *st, struct func_aux *r, const struct agg_sample *s)
{
	struct agg_site_stats *site = site_row(st, r, &s->frames[0], s->kind);

	if (!site)
		return -ENOMEM;
	site->bytes += s->bytes;
	site->objects += s->objects;
	site->var_bytes += s->var_bytes;
	site->var_objects += s->var_objects;
	site->samples++;
	st->flat_bytes += s->bytes;
	st->flat_objects += s->objects;
	st->flat_var_bytes += s->var_bytes;
	st->flat_var_objects += s->var_objects;
	st->samples++;
	pick_dominant(st);
	return 0;
}

static int stack_rehash(struct agg *a, uint32_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < a->nstacks; k++) {
		uint32_t i = a->stack_hash[k] & (nslots - 1);

		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = k + 1;
	}
	free(a->stack_slots);
	a->stack_slots = slots;
	a->nstack_slots = nslots;
	return 0;
}

/* Index of the stack row (frames, kind), created empty if new; -ENOMEM. */
static int64_t stack_row(struct agg *a, const struct agg_frame *frames, int nframes,
			 uint32_t kind)
{
	size_t fbytes = nframes * sizeof(struct agg_frame);
	uint64_t h = hash_bytes(frames, fbytes, 0xcbf29ce484222325ull ^ kind);
	struct agg_stack_stats *r;
	uint32_t i;

	if ((a->nstacks + 1) * 2 > a->nstack_slots &&
	    stack_rehash(a, a->nstack_slots ? a->nstack_slots * 2 : 1024))
		return -ENOMEM;
	for (i = h & (a->nstack_slots - 1); a->stack_slots[i]; i = (i + 1) & (a->nstack_slots - 1)) {
		r = &a->stacks[a->stack_slots[i] - 1];
		if (a->stack_hash[a->stack_slots[i] - 1] == h && r->nframes == nframes &&
		    r->kind == kind && !memcmp(r->frames, frames, fbytes))
			return a->stack_slots[i] - 1;
	}
	if (grow((void **)&a->stacks, &a->capstacks, a->nstacks + 1, sizeof(*a->stacks)) ||
	    grow((void **)&a->stack_hash, &a->capshash, a->nstacks + 1, sizeof(*a->stack_hash)))
		return -ENOMEM;
	r = &a->stacks[a->nstacks];
	r->frames = malloc(fbytes ? fbytes : 1);
	if (!r->frames)
		return -ENOMEM;
	memcpy((void *)r->frames, frames, fbytes);
	r->nframes = nframes;
	r->kind = kind;
	a->stack_hash[a->nstacks] = h;
	a->stack_slots[i] = ++a->nstacks;
	return a->nstacks - 1;
}

static int add_stack(struct agg *a, const struct agg_sample *s)
{
	int64_t k = stack_row(a, s->frames, s->nframes, s->kind);
	struct agg_stack_stats *r;

	if (k < 0)
		return (int)k;
	r = &a->stacks[k];
	r->bytes += s->bytes;
	r->objects += s->objects;
	r->samples++;
	return 0;
}

static void touch_time(struct agg *a, uint64_t now_ns)
{
	if (!a->totals.first_ns || now_ns < a->totals.first_ns)
		a->totals.first_ns = now_ns;
	if (now_ns > a->totals.last_ns)
		a->totals.last_ns = now_ns;
}

int agg__add(struct agg *a, const struct agg_sample *s, uint64_t now_ns)
{
	size_t k;

	if (s->nframes <= 0)
		return -EINVAL;
	a->epoch++;
	k = func_row(a, s->frames[0].func);
	if (k == SIZE_MAX || add_site(&a->funcs[k], &a->faux[k], s))
		return -ENOMEM;
	for (int i = 0; i < s->nframes; i++) {
		/* Recursion would count a function twice in one stack: pprof's cum counts it once. */
		k = func_row(a, s->frames[i].func);
		if (k == SIZE_MAX)
			return -ENOMEM;
		if (a->faux[k].cum_epoch == a->epoch)
			continue;
		a->faux[k].cum_epoch = a->epoch;
		a->funcs[k].cum_bytes += s->bytes;
		a->funcs[k].cum_objects += s->objects;
	}
	a->totals.bytes += s->bytes;
	a->totals.objects += s->objects;
	a->totals.var_bytes += s->var_bytes;
	a->totals.var_objects += s->var_objects;
	a->totals.samples++;
	touch_time(a, now_ns);
	return add_stack(a, s);
}

void agg__add_unattributed(struct agg *a, const struct agg_sample *s, uint64_t now_ns)
{
	a->totals.bytes += s->bytes;
	a->totals.objects += s->objects;
	a->totals.var_bytes += s->var_bytes;
	a->totals.var_objects += s->var_objects;
	a->totals.samples++;
	a->totals.unattributed++;
	a->totals.unattributed_bytes += s->bytes;
	a->totals.unattributed_objects += s->objects;
	touch_time(a, now_ns);
}

int64_t agg__stack_ref(struct agg *a, const struct agg_frame *frames, int nframes, uint32_t kind)
{
	if (nframes <= 0)
		return -EINVAL;
	return stack_row(a, frames, nframes, kind);
}

int agg__add_assist(struct agg *a, uint32_t stack, double seconds, double count,
		    uint64_t samples, uint64_t now_ns)
{
	struct agg_stack_stats *r;
	struct agg_site_stats *site;
	size_t k;

	if (stack >= a->nstacks)
		return -EINVAL;
	r = &a->stacks[stack];
	r->assist_s += seconds;
	r->assists += count;
	r->assist_samples += samples;
	a->epoch++;
	k = func_row(a, r->frames[0].func);
	if (k == SIZE_MAX)
		return -ENOMEM;
	site = site_row(&a->funcs[k], &a->faux[k], &r->frames[0], r->kind);
	if (!site)
		return -ENOMEM;
	site->assist_s += seconds;
	site->assists += count;
	a->funcs[k].assist_s += seconds;
	a->funcs[k].assists += count;
	a->funcs[k].assist_samples += samples;
	pick_dominant(&a->funcs[k]);	/* a row that only assists still names its line */
	for (int i = 0; i < r->nframes; i++) {
		k = func_row(a, r->frames[i].func);
		if (k == SIZE_MAX)
			return -ENOMEM;
		if (a->faux[k].cum_epoch == a->epoch)
			continue;
		a->faux[k].cum_epoch = a->epoch;
		a->funcs[k].cum_assist_s += seconds;
	}
	a->totals.assist_s += seconds;
	a->totals.assists += count;
	touch_time(a, now_ns);
	return 0;
}

void agg__add_assist_unattributed(struct agg *a, double seconds, double count, uint64_t now_ns)
{
	a->totals.assist_s += seconds;
	a->totals.assists += count;
	a->totals.assist_unattributed_s += seconds;
	touch_time(a, now_ns);
}

void agg__totals(const struct agg *a, struct agg_totals *t)
{
	*t = a->totals;
}

const struct agg_func_stats *agg__funcs(const struct agg *a, size_t *n)
{
	*n = a->nfuncs;
	return a->funcs;
}

const struct agg_stack_stats *agg__stacks(const struct agg *a, size_t *n)
{
	*n = a->nstacks;
	return a->stacks;
}

int is_runtime_frame(const char *f, const char *file)
{
	const char *slash, *dir;

	if (!strncmp(f, "runtime.", 8) || !strncmp(f, "internal/runtime/", 17))
		return 1;
	if (!file || !(slash = strrchr(file, '/')))
		return 0;
	/* ".../src/runtime/slice.go", or "runtime/slice.go" in -trimpath builds */
	for (dir = slash; dir > file && dir[-1] != '/'; dir--)
		;
	return slash - dir == 7 && !strncmp(dir, "runtime", 7) &&
	       (dir == file || (dir - file >= 4 && !strncmp(dir - 4, "src/", 4)));
}

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

const char *alloc_kind_of(const char *fn)
{
	static const struct {
		const char *prefix;
		const char *kind;
	} kinds[] = {
		{ "runtime.newobject", "new" },
		{ "runtime.newarray", "new" },
		{ "runtime.mallocgc", "new" },	/* 1.25+ direct calls, 1.27 size-specialised */
		{ "runtime.makeslice", "make-slice" },
		{ "runtime.growslice", "append-growth" },
		{ "runtime.concatstring", "string-concat" },
		{ "runtime.rawstring", "string-concat" },
		{ "runtime.concatbyte", "string-concat" },	/* []byte(a + b), Go 1.22+ */
		{ "internal/bytealg.MakeNoZero", "make-slice" },	/* strings.Builder, Repeat */
		{ "runtime.convT", "boxing" },
		{ "runtime.mapassign", "map-growth" },
		{ "runtime.makemap", "map-growth" },
		{ "runtime.hashGrow", "map-growth" },
		{ "runtime.growWork", "map-growth" },
		{ "runtime.mapinit", "map-growth" },
		{ "internal/runtime/maps.", "map-growth" },
		{ "runtime.slicebytetostring", "conversion" },
		{ "runtime.stringtoslice", "conversion" },
		{ "runtime.slicerunetostring", "conversion" },
		{ "runtime.intstring", "conversion" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (has_prefix(fn, kinds[i].prefix))
			return kinds[i].kind;
	/* design.md: anything else is named after the runtime function. */
	return has_prefix(fn, "runtime.") ? fn + 8 : fn;
}

double unsample_scale(double size, double rate)
{
	if (rate <= 1 || size <= 0)
		return 1;
	return 1 / (1 - exp(-size / rate));
}

double unsample_var(double size, double rate)
{
	double w = unsample_scale(size, rate);

	/* (1 - p) / p^2 = w^2 - w with w = 1/p */
	return w * w - w;
}
