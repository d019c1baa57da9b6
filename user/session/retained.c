// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proc.h"
#include "report.h"
#include "retained.h"
#include "tui.h"
#include "util.h"

#define MAX_FRAMES 256
#define MAX_LOCS 128

static int read_target(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct target *t = ctx;

	return proc__read(&t->proc, addr, buf, len);
}

struct retained *retained__open(const struct target *t, const struct go_layout *l,
				bool have_layout, struct agg *agg, int64_t rate, bool since_attach)
{
	struct retained *r;
	int err;

	/* nothing is sampled, so nothing is in the profile to read */
	if (rate <= 0)
		return NULL;
	if (!have_layout) {
		log_warn("in-use memory unavailable: no heap profile layout is known for %s",
			 t->ver.str);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->t = t;
	r->agg = agg;
	r->rate = rate > GO_MAX_SAMPLING_MEAN ? GO_MAX_SAMPLING_MEAN : (double)rate;
	r->since_attach = since_attach;
	r->interval_ns = RETAINED_INTERVAL_NS;
	err = mprof__locate(t->elf, t->pcln, &r->g);
	if (err) {
		log_warn("in-use memory unavailable: cannot locate the runtime's heap profile "
			 "in %s (%s)",
			 t->exe,
			 err == -ENOTSUP ? "only x86-64 is decoded" : "unexpected runtime code");
		goto fail;
	}
	r->reader = mprof__new(&l->mprof, r->g.mbuckets + t->bias, r->g.cycle + t->bias,
			       read_target, (void *)t);
	r->u = inuse__new();
	if (!r->reader || !r->u)
		goto fail;
	log_dbg("heap profile: runtime.mbuckets at 0x%llx, mProfCycle at 0x%llx (%s)",
		(unsigned long long)r->g.mbuckets, (unsigned long long)r->g.cycle, r->g.how);
	err = retained__read(r);
	if (err && err != -EAGAIN) {
		log_warn("in-use memory unavailable: cannot read the runtime's heap profile of PID "
			 "%d: %s",
			 t->pid, strerror(-err));
		goto fail;
	}
	return r;
fail:
	retained__free(r);
	return NULL;
}

void retained__free(struct retained *r)
{
	if (!r)
		return;
	mprof__free(r->reader);
	inuse__free(r->u);
	free(r->attr);
	free(r);
}

/* The allocation site of a bucket's stack: the first logical frame above the runtime, as for
 * allocation samples (user/goruntime/symbolize.c), and the kind named from the runtime frame below
 * it when the profile kept one (Go 1.26+ keeps mallocgc and its caller; older ones skip them). */
static int attribute(struct retained *r, const struct mprof_bucket *b, struct retained_attr *a)
{
	struct go_frame frames[MAX_FRAMES];
	struct mprof_loc locs[MAX_LOCS];
	int n, nlocs;

	memset(a, 0, sizeof(*a));
	n = mprof__symbolize(r->t->pcln, r->t->bias, b->stk, (int)b->nstk, frames, MAX_FRAMES, locs,
			     MAX_LOCS, &nlocs);
	for (int i = 0; i < n; i++) {
		if (is_runtime_frame(frames[i].func, frames[i].file))
			continue;
		a->func = agg__intern(r->agg, frames[i].func);
		a->file = frames[i].file ? agg__intern(r->agg, frames[i].file) : 0;
		a->line = frames[i].line > 0 ? (uint32_t)frames[i].line : 0;
		if (i > 0)
			a->kind = agg__intern(r->agg, alloc_kind_of(frames[i - 1].func));
		return a->func ? 0 : -ENOMEM;
	}
	return 0;
}

static int attribute_new(struct retained *r, struct mprof_bucket *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i].user)
			continue;
		if (r->nattr == r->capattr) {
			size_t cap = r->capattr ? r->capattr * 2 : 256;
			struct retained_attr *p = realloc(r->attr, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			r->attr = p;
			r->capattr = cap;
		}
		if (attribute(r, &b[i], &r->attr[r->nattr]))
			return -ENOMEM;
		b[i].user = (uint32_t)++r->nattr;
	}
	return 0;
}

/* The runtime publishes a cycle's profile at the end of the next one: the data describe the
 * heap at the cycle end before the latest (or now, when no GC end has been seen). */
static uint64_t data_time(const struct retained *r, uint64_t now)
{
	if (r->ngc_ends >= 2)
		return r->gc_end_ns[0];
	return r->ngc_ends ? r->gc_end_ns[1] : now;
}

int retained__read(struct retained *r)
{
	uint64_t start = now_monotonic_ns(), end;
	struct mprof_reading rd;
	struct mprof_bucket *b;
	size_t n;
	int err;

	r->last_read_ns = start;
	err = mprof__read(r->reader, &rd);
	b = mprof__buckets(r->reader, &n);
	if (!err)
		err = attribute_new(r, b, n);
	if (err) {
		r->failures++;
		r->last_err = err;
		if (err != -ESRCH && err != -EAGAIN && !r->warned && r->readings) {
			r->warned = true;
			log_warn("cannot read the heap profile of PID %d: %s; in-use figures are "
				 "those of the last reading",
				 r->t->pid, strerror(-err));
		}
		return err;
	}
	inuse__begin(r->u, data_time(r, start), r->rate);
	r->unattributed_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct retained_attr *a = &r->attr[b[i].user - 1];
		struct inuse_sample s = { a->func, a->file, a->line, a->kind, b[i].size,
					  b[i].allocs, b[i].frees };

		if (!a->func) {
			if (b[i].allocs > b[i].frees)
				r->unattributed_bytes +=
					(b[i].allocs - b[i].frees) * (double)b[i].size *
					unsample_scale((double)b[i].size, r->rate);
			continue;
		}
		if (inuse__add(r->u, &s))
			break;
	}
	inuse__end(r->u);
	r->last = rd;
	r->readings++;
	end = now_monotonic_ns();
	r->cost_s += (end - start) / 1e9;
	if ((end - start) / 1e9 > r->cost_max_s)
		r->cost_max_s = (end - start) / 1e9;
	log_dbg("heap profile read: %zu buckets (%zu new), cycle %u, %llu reads, %.2f ms%s",
		rd.nbuckets, rd.new_buckets, rd.cycle, (unsigned long long)rd.reads,
		(end - start) / 1e6, rd.clear ? ", no GC completed yet" : "");
	return 0;
}

void retained__gc_end(struct retained *r, uint64_t ts_ns)
{
	r->gc_end_ns[0] = r->gc_end_ns[1];
	r->gc_end_ns[1] = ts_ns;
	if (r->ngc_ends < 2)
		r->ngc_ends++;
	if (now_monotonic_ns() - r->last_read_ns >= r->interval_ns)
		retained__read(r);
}

const struct inuse *retained__inuse(const struct retained *r)
{
	return r ? r->u : NULL;
}

/* ---- the stat report ---------------------------------------------------------------------- */

static void set_inuse(struct report_inuse *ri, const struct inuse_stats *st)
{
	memset(ri, 0, sizeof(*ri));
	ri->known = true;
	if (!st)
		return;		/* nothing of it in the profile: none in use */
	ri->bytes = st->bytes;
	ri->objects = st->objects;
	ri->growth_bytes_s = st->growth_bytes_s;
	ri->leak = st->leak;
}

static int grow_sites(struct report_row *row, size_t extra)
{
	struct report_site *p = realloc(row->sites, (row->nsites + extra) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	row->sites = p;
	return 0;
}

/* A site of the profile that no allocation sample of the window named: it allocated before. */
static int add_site(struct report_row *row, struct agg *agg, const struct inuse_stats *st)
{
	struct report_site *rs;

	if (grow_sites(row, 1))
		return -ENOMEM;
	rs = &row->sites[row->nsites++];
	memset(rs, 0, sizeof(*rs));
	rs->file = st->file ? agg__str(agg, st->file) : "";
	rs->line = (int)st->line;
	rs->kind = st->kind ? agg__str(agg, st->kind) : "";
	set_inuse(&rs->inuse, st);
	return 0;
}

/* Each alloc site gets the in-use of its (file, line); the profile's sites left over are added. */
static int fill_sites(struct report_row *row, struct agg *agg, const struct inuse *u,
		      uint32_t func, const struct inuse_stats *sites, size_t nsites)
{
	size_t nalloc = row->nsites;

	for (size_t k = 0; k < nalloc; k++) {
		struct report_site *rs = &row->sites[k];
		uint32_t file = agg__intern(agg, rs->file);
		const struct inuse_stats *st = inuse__site(u, func, file, (uint32_t)rs->line);
		bool first = true;

		/* one line may allocate with two kinds: its in-use goes to the first listed */
		for (size_t j = 0; j < k; j++)
			if (row->sites[j].line == rs->line && !strcmp(row->sites[j].file, rs->file))
				first = false;
		set_inuse(&rs->inuse, first ? st : NULL);
	}
	for (size_t i = 0; i < nsites; i++) {
		bool listed = false;

		if (sites[i].func != func)
			continue;
		for (size_t k = 0; k < nalloc && !listed; k++)
			listed = row->sites[k].line == (int)sites[i].line &&
				 agg__intern(agg, row->sites[k].file) == sites[i].file;
		if (!listed && add_site(row, agg, &sites[i]))
			return -ENOMEM;
	}
	return 0;
}

int retained__fill_report(const struct retained *ret, struct agg *agg, struct report *r)
{
	const struct inuse_stats *funcs, *sites;
	struct inuse_totals tot;
	size_t nfuncs, nsites, extra = 0;
	struct report_row *rows;

	if (!ret || !ret->readings)
		return 0;
	inuse__totals(ret->u, &tot);
	r->inuse_on = true;
	r->inuse_since_attach = ret->since_attach;
	r->inuse_bytes = tot.bytes;
	r->inuse_objects = tot.objects;
	r->inuse_readings = ret->readings;
	r->inuse_read_cost_s = ret->cost_s;
	funcs = inuse__funcs(ret->u, &nfuncs);
	sites = inuse__sites(ret->u, &nsites);
	for (size_t i = 0; i < nfuncs; i++)
		if (funcs[i].trend_s > r->inuse_trend_s)
			r->inuse_trend_s = funcs[i].trend_s;
	for (size_t i = 0; i < r->nrows; i++) {
		struct report_row *row = &r->rows[i];
		uint32_t func = agg__intern(agg, row->function);

		set_inuse(&row->inuse, inuse__func(ret->u, func));
		if (fill_sites(row, agg, ret->u, func, sites, nsites))
			return -ENOMEM;
	}
	/* functions holding memory that allocated nothing sampled in the window */
	for (size_t i = 0; i < nfuncs; i++)
		extra += funcs[i].bytes > 0;
	rows = realloc(r->rows, (r->nrows + extra + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	r->rows = rows;
	for (size_t i = 0; i < nfuncs; i++) {
		const struct inuse_stats *f = &funcs[i], *top = NULL;
		const char *name = agg__str(agg, f->func);
		struct report_row *row;
		bool listed = false;

		for (size_t k = 0; k < r->nrows && !listed; k++)
			listed = !strcmp(r->rows[k].function, name);
		if (listed || f->bytes <= 0)
			continue;
		row = &r->rows[r->nrows++];
		memset(row, 0, sizeof(*row));
		row->function = name;
		for (size_t k = 0; k < nsites; k++)
			if (sites[k].func == f->func && (!top || sites[k].bytes > top->bytes))
				top = &sites[k];
		row->file = top && top->file ? agg__str(agg, top->file) : "";
		row->line = top ? (int)top->line : 0;
		row->kind = f->kind ? agg__str(agg, f->kind) : "";
		set_inuse(&row->inuse, f);
		if (fill_sites(row, agg, ret->u, f->func, sites, nsites))
			return -ENOMEM;
	}
	return 0;
}

/* ---- the top dashboard ---------------------------------------------------------------------- */

int retained__fill_tui(const struct retained *ret, struct agg *agg, struct tui_snapshot *s,
		       struct tui_row **rows, size_t *cap)
{
	const struct inuse_stats *funcs;
	struct inuse_totals tot;
	size_t nfuncs, n = s->nrows;

	s->has_inuse = ret && ret->readings;
	if (!s->has_inuse)
		return 0;
	inuse__totals(ret->u, &tot);
	s->inuse_bytes = tot.bytes;
	s->inuse_since_attach = ret->since_attach;
	for (size_t i = 0; i < n; i++) {
		struct tui_row *r = &(*rows)[i];
		const struct inuse_stats *st = inuse__func(ret->u, agg__intern(agg, r->func));

		r->inuse_bytes = st ? st->bytes : 0;
		r->growth_bytes_s = st ? st->growth_bytes_s : 0;
		r->leak = st && st->leak;
	}
	funcs = inuse__funcs(ret->u, &nfuncs);
	for (size_t i = 0; i < nfuncs; i++) {
		const struct inuse_stats *f = &funcs[i];
		const char *name = agg__str(agg, f->func);
		bool listed = false;
		struct tui_row *r;

		for (size_t k = 0; k < n && !listed; k++)
			listed = !strcmp((*rows)[k].func, name);
		if (listed || f->bytes <= 0)
			continue;
		if (s->nrows == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct tui_row *p = realloc(*rows, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			*rows = p;
			*cap = ncap;
		}
		/* holds memory, allocated nothing sampled since attach: a site all the same */
		r = &(*rows)[s->nrows++];
		memset(r, 0, sizeof(*r));
		r->func = name;
		r->file = "";
		r->kind = f->kind ? agg__str(agg, f->kind) : "";
		r->is_site = true;
		r->inuse_bytes = f->bytes;
		r->growth_bytes_s = f->growth_bytes_s;
		r->leak = f->leak;
	}
	s->rows = *rows;
	return 0;
}
