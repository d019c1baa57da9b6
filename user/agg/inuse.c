// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agg.h"
#include "inuse.h"

/* A site or a function, with what the current reading has added so far and its history. */
struct row {
	double bytes, objects, alloc_bytes, alloc_objects;
	double var_alloc, var_free;	/* cumulative variance terms (see var_term) */
	double kind_bytes;		/* functions: in-use of the site whose kind is shown */
	struct inuse_point hist[INUSE_TREND];	/* ring, oldest at head when full */
	unsigned nhist, head;
};

struct table {
	struct inuse_stats *st;		/* what callers see: updated only by inuse__end */
	struct row *rows;		/* parallel to st */
	size_t n, cap;
	uint32_t *slots;		/* index + 1, open addressing */
	size_t nslots;
};

struct inuse {
	struct table sites, funcs;
	uint64_t t_ns;
	double rate;
	bool failed;			/* an add failed: the reading is dropped */
	struct inuse_totals tot;
};

struct inuse *inuse__new(void)
{
	return calloc(1, sizeof(struct inuse));
}

static void table_free(struct table *t)
{
	free(t->st);
	free(t->rows);
	free(t->slots);
}

void inuse__free(struct inuse *u)
{
	if (!u)
		return;
	table_free(&u->sites);
	table_free(&u->funcs);
	free(u);
}

static uint64_t key_hash(uint32_t func, uint32_t file, uint32_t line)
{
	uint64_t h = ((uint64_t)func << 32 | file) * 0x9e3779b97f4a7c15ull;

	return (h ^ line) * 0xbf58476d1ce4e5b9ull;
}

static int table_rehash(struct table *t, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < t->n; k++) {
		size_t i = key_hash(t->st[k].func, t->st[k].file, t->st[k].line) & (nslots - 1);

		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = (uint32_t)k + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

/* The row of a key, created (zeroed) when new. NULL on ENOMEM. */
static struct row *table_get(struct table *t, uint32_t func, uint32_t file, uint32_t line,
			     struct inuse_stats **st)
{
	size_t i;

	if ((t->n + 1) * 2 > t->nslots && table_rehash(t, t->nslots ? t->nslots * 2 : 256))
		return NULL;
	for (i = key_hash(func, file, line) & (t->nslots - 1); t->slots[i];
	     i = (i + 1) & (t->nslots - 1)) {
		struct inuse_stats *s = &t->st[t->slots[i] - 1];

		if (s->func == func && s->file == file && s->line == line) {
			*st = s;
			return &t->rows[t->slots[i] - 1];
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct inuse_stats *nst = realloc(t->st, cap * sizeof(*nst));
		struct row *nrows;

		if (!nst)
			return NULL;
		t->st = nst;
		nrows = realloc(t->rows, cap * sizeof(*nrows));
		if (!nrows)
			return NULL;
		t->rows = nrows;
		t->cap = cap;
	}
	memset(&t->st[t->n], 0, sizeof(t->st[0]));
	memset(&t->rows[t->n], 0, sizeof(t->rows[0]));
	t->st[t->n].func = func;
	t->st[t->n].file = file;
	t->st[t->n].line = line;
	t->slots[i] = (uint32_t)++t->n;
	*st = &t->st[t->n - 1];
	return &t->rows[t->n - 1];
}

static const struct inuse_stats *table_find(const struct table *t, uint32_t func, uint32_t file,
					    uint32_t line)
{
	if (!t->nslots)
		return NULL;
	for (size_t i = key_hash(func, file, line) & (t->nslots - 1); t->slots[i];
	     i = (i + 1) & (t->nslots - 1)) {
		const struct inuse_stats *s = &t->st[t->slots[i] - 1];

		if (s->func == func && s->file == file && s->line == line)
			return s;
	}
	return NULL;
}

static void table_begin(struct table *t)
{
	for (size_t k = 0; k < t->n; k++) {
		struct row *r = &t->rows[k];

		r->bytes = r->objects = r->alloc_bytes = r->alloc_objects = 0;
		r->var_alloc = r->var_free = r->kind_bytes = 0;
	}
}

void inuse__begin(struct inuse *u, uint64_t t_ns, double rate)
{
	u->t_ns = t_ns;
	u->rate = rate;
	u->failed = false;
	table_begin(&u->sites);
	table_begin(&u->funcs);
}

/* A sampled object's term in the variance of a byte estimate: s^2 / p^2, the second moment of
 * its weight. It exceeds the sampling variance (1 - p) / p^2 * s^2 by s^2 / p, as if allocations
 * themselves came as a Poisson stream: so that even exact counts (rate 1, p = 1) need growth
 * beyond the noise of a site's own churn before it is called a leak. */
static double var_term(double size, double rate)
{
	double w = unsample_scale(size, rate);

	return w * w * size * size;
}

static void accumulate(struct row *r, const struct inuse_sample *s, double w, double var)
{
	double live = s->allocs > s->frees ? (double)(s->allocs - s->frees) : 0;

	r->objects += live * w;
	r->bytes += live * w * (double)s->size;
	r->alloc_objects += (double)s->allocs * w;
	r->alloc_bytes += (double)s->allocs * w * (double)s->size;
	r->var_alloc += (double)s->allocs * var;
	r->var_free += (double)s->frees * var;
}

int inuse__add(struct inuse *u, const struct inuse_sample *s)
{
	double w = unsample_scale((double)s->size, u->rate);
	double var = var_term((double)s->size, u->rate);
	struct inuse_stats *sst, *fst;
	struct row *site, *fn;

	site = table_get(&u->sites, s->func, s->file, s->line, &sst);
	fn = site ? table_get(&u->funcs, s->func, 0, 0, &fst) : NULL;
	if (!fn) {
		u->failed = true;
		return -ENOMEM;
	}
	if (s->kind && !sst->kind)
		sst->kind = s->kind;
	accumulate(site, s, w, var);
	accumulate(fn, s, w, var);
	return 0;
}

static void push(struct row *r, double t)
{
	struct inuse_point p = { t, r->bytes, r->var_alloc, r->var_free };

	if (r->nhist < INUSE_TREND) {
		r->hist[r->nhist++] = p;
		return;
	}
	r->hist[r->head] = p;
	r->head = (r->head + 1) % INUSE_TREND;
}

/* z-score of the growth between points i and j: the change against the variance terms of the
 * objects allocated and freed in between. */
static double growth_z(const struct inuse_point *a, const struct inuse_point *b)
{
	double d = b->bytes - a->bytes;
	double v = (b->var_alloc - a->var_alloc) + (b->var_free - a->var_free);

	if (v > 0)
		return d / sqrt(v);
	return d > 0 ? INFINITY : d < 0 ? -INFINITY : 0;
}

void inuse__trend(const struct inuse_point *p, unsigned n, struct inuse_stats *out)
{
	double tm = 0, bm = 0, num = 0, den = 0, z1, z2;
	unsigned m = n / 2;

	out->readings = n;
	out->trend_s = n ? p[n - 1].t - p[0].t : 0;
	out->growth_bytes_s = out->growth_z = 0;
	out->leak = false;
	if (n < INUSE_MIN_READINGS || out->trend_s <= 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		tm += p[i].t;
		bm += p[i].bytes;
	}
	tm /= n;
	bm /= n;
	for (unsigned i = 0; i < n; i++) {
		num += (p[i].t - tm) * (p[i].bytes - bm);
		den += (p[i].t - tm) * (p[i].t - tm);
	}
	out->growth_bytes_s = den > 0 ? num / den : 0;
	/* the halves share the middle reading */
	z1 = growth_z(&p[0], &p[m]);
	z2 = growth_z(&p[m], &p[n - 1]);
	out->growth_z = z1 < z2 ? z1 : z2;
	out->leak = z1 > INUSE_LEAK_Z && z2 > INUSE_LEAK_Z;
}

static void table_end(struct table *t, double tsec)
{
	struct inuse_point pts[INUSE_TREND];

	for (size_t k = 0; k < t->n; k++) {
		struct row *r = &t->rows[k];
		struct inuse_stats *st = &t->st[k];

		st->bytes = r->bytes;
		st->objects = r->objects;
		st->alloc_bytes = r->alloc_bytes;
		st->alloc_objects = r->alloc_objects;
		push(r, tsec);
		for (unsigned i = 0; i < r->nhist; i++)
			pts[i] = r->hist[(r->head + i) % INUSE_TREND];
		inuse__trend(pts, r->nhist, st);
	}
}

void inuse__end(struct inuse *u)
{
	double tsec;

	if (u->failed)
		return;
	if (!u->tot.readings)
		u->tot.first_ns = u->t_ns;
	/* times go backwards only if the caller's do; keep the history ordered */
	if (u->tot.readings && u->t_ns < u->tot.last_ns)
		u->t_ns = u->tot.last_ns;
	tsec = (double)(u->t_ns - u->tot.first_ns) / 1e9;
	/* a function shows the kind of its site with the most in use */
	for (size_t k = 0; k < u->sites.n; k++) {
		const struct inuse_stats *s = &u->sites.st[k];
		const struct row *sr = &u->sites.rows[k];
		struct inuse_stats *fst =
			(struct inuse_stats *)table_find(&u->funcs, s->func, 0, 0);
		struct row *fr = fst ? &u->funcs.rows[fst - u->funcs.st] : NULL;

		if (fr && s->kind && (sr->bytes > fr->kind_bytes || !fst->kind)) {
			fr->kind_bytes = sr->bytes;
			fst->kind = s->kind;
		}
	}
	table_end(&u->sites, tsec);
	table_end(&u->funcs, tsec);
	u->tot.bytes = u->tot.objects = 0;
	for (size_t k = 0; k < u->funcs.n; k++) {
		u->tot.bytes += u->funcs.st[k].bytes;
		u->tot.objects += u->funcs.st[k].objects;
	}
	u->tot.readings++;
	u->tot.last_ns = u->t_ns;
	u->tot.rate = u->rate;
}

void inuse__totals(const struct inuse *u, struct inuse_totals *t)
{
	*t = u->tot;
}

const struct inuse_stats *inuse__sites(const struct inuse *u, size_t *n)
{
	*n = u->sites.n;
	return u->sites.st;
}

const struct inuse_stats *inuse__funcs(const struct inuse *u, size_t *n)
{
	*n = u->funcs.n;
	return u->funcs.st;
}

const struct inuse_stats *inuse__func(const struct inuse *u, uint32_t func)
{
	return table_find(&u->funcs, func, 0, 0);
}

const struct inuse_stats *inuse__site(const struct inuse *u, uint32_t func, uint32_t file,
				      uint32_t line)
{
	return table_find(&u->sites, func, file, line);
}
