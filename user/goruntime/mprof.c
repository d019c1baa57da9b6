// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "mprof.h"
#include "x86.h"

/* runtime.bucketType memProfile: the only type on the mbuckets list. */
#define MEM_PROFILE_TYPE 1
/* Target memory is read in windows of this size (see wread). */
#define WINDOW (128u << 10)
#define PAGE 4096u
#define MAX_WALKS 3
#define MAX_REREADS 8
/* What the decoders may scan of a runtime function. */
#define MAX_CODE (16u << 10)

static bool in_bss(const struct goelf *g, uint64_t vaddr, size_t len)
{
	static const char *const names[] = { ".bss", ".noptrbss" };
	struct goelf_section sec;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!goelf__section(g, names[i], &sec) && vaddr >= sec.addr &&
		    vaddr + len <= sec.addr + sec.size)
			return true;
	return false;
}

static int func_code(const struct goelf *g, const struct pclntab *t, const char *name,
		     uint8_t **code, size_t *len, uint64_t *entry)
{
	struct go_func f;

	if (pclntab__find_name(t, name, &f))
		return -ENOENT;
	*len = f.end - f.entry < MAX_CODE ? f.end - f.entry : MAX_CODE;
	*entry = f.entry;
	*code = malloc(*len);
	if (!*code)
		return -ENOMEM;
	if (goelf__read_vaddr(g, f.entry, *code, *len)) {
		free(*code);
		*code = NULL;
		return -ENOENT;
	}
	return 0;
}

int mprof__decode_globals(const struct goelf *g, const struct pclntab *t,
			  struct mprof_globals *out)
{
	uint8_t *code = NULL;
	uint64_t entry, head = 0, cycle = 0;
	size_t len;
	int err;

	if (goelf__machine(g) != EM_X86_64)
		return -ENOTSUP;
	/* mProf_FlushLocked is a real function in every build (mProf_Flush calls it); its first
	 * global access is "head := mbuckets.Load()". */
	err = func_code(g, t, "runtime.mProf_FlushLocked", &code, &len, &entry);
	if (!err)
		err = x86__first_rip_load(code, len, entry, 8, &head, NULL);
	free(code);
	code = NULL;
	if (!err)
		err = func_code(g, t, "runtime.mProf_Flush", &code, &len, &entry);
	if (!err)
		err = x86__find_cas_global(code, len, entry, &cycle);
	free(code);
	if (err)
		return err == -ENOMEM ? err : -ENOENT;
	if (!in_bss(g, head, 8) || !in_bss(g, cycle, 4))
		return -ENOENT;
	out->mbuckets = head;
	out->cycle = cycle;
	out->how = "runtime code";
	return 0;
}

int mprof__locate(const struct goelf *g, const struct pclntab *t, struct mprof_globals *out)
{
	uint64_t head, cycle;

	if (!goelf__symbol(g, "runtime.mbuckets", &head, NULL) &&
	    !goelf__symbol(g, "runtime.mProfCycle", &cycle, NULL)) {
		out->mbuckets = head;
		out->cycle = cycle;
		out->how = "symbol table";
		return 0;
	}
	return mprof__decode_globals(g, t, out);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* The counts of a record that matter: what MemProfile adds (active + future[C%3]) and, for the
 * no-GC-yet case, every future. */
struct counts {
	uint64_t a_allocs, a_frees;
	uint64_t f_allocs[3], f_frees[3];
};

struct entry {
	uint64_t next;		/* allnext */
	uint64_t rec;		/* run-time address of the memRecord */
};

struct mprof_reader {
	struct mprof_offsets o;
	uint64_t mbuckets, cycle_addr;
	mprof_read_fn fn;
	void *ctx;
	struct mprof_bucket *b;	/* known buckets, in discovery order */
	struct entry *e;	/* parallel to b */
	size_t n, cap;
	uint64_t head;		/* newest bucket known (0: none) */
	uint32_t *hash;		/* open addressing: index + 1, 0 empty */
	size_t hcap;
	uint32_t *order;	/* indices by record address, for windowed reads */
	struct counts *cur, *prev;	/* two passes' worth */
	uint8_t *win;
	uint64_t win_base;
	size_t win_len;
	uint64_t reads;
};

struct mprof_reader *mprof__new(const struct mprof_offsets *o, uint64_t mbuckets, uint64_t cycle,
				mprof_read_fn fn, void *ctx)
{
	struct mprof_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = *o;
	r->mbuckets = mbuckets;
	r->cycle_addr = cycle;
	r->fn = fn;
	r->ctx = ctx;
	r->win = malloc(WINDOW);
	if (!r->win) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void mprof__free(struct mprof_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free((void *)r->b[i].stk);
	free(r->b);
	free(r->e);
	free(r->hash);
	free(r->order);
	free(r->cur);
	free(r->prev);
	free(r->win);
	free(r);
}

struct mprof_bucket *mprof__buckets(struct mprof_reader *r, size_t *n)
{
	*n = r->n;
	return r->b;
}

static int raw_read(struct mprof_reader *r, uint64_t addr, void *buf, size_t len)
{
	r->reads++;
	return r->fn(r->ctx, addr, buf, len);
}

static void window_drop(struct mprof_reader *r)
{
	r->win_len = 0;
}

static bool window_load(struct mprof_reader *r, uint64_t base, size_t len)
{
	if (raw_read(r, base, r->win, len))
		return false;
	r->win_base = base;
	r->win_len = len;
	return true;
}

/* A read through the window. The next window starts at the page of addr when reading upwards
 * (records, in address order) and ends with the page holding the end of the read when reading
 * downwards (the list runs from the newest bucket down, roughly). Where it would cross the end
 * (or start) of a mapping, it is halved until it fits, down to the pages of the read itself. */
static int wread(struct mprof_reader *r, uint64_t addr, void *buf, size_t len, bool down)
{
	uint64_t lo = addr & ~(uint64_t)(PAGE - 1);
	uint64_t hi = (addr + len + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	if (len > WINDOW / 2)
		return raw_read(r, addr, buf, len);
	if (!(r->win_len && addr >= r->win_base && addr + len <= r->win_base + r->win_len)) {
		size_t w = WINDOW;

		r->win_len = 0;
		for (; w >= hi - lo; w /= 2)
			if (window_load(r, down ? hi - w : lo, w))
				break;
		if (!r->win_len)
			return raw_read(r, addr, buf, len);
	}
	memcpy(buf, r->win + (addr - r->win_base), len);
	return 0;
}

static size_t hash_slot(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ull >> 17) & (cap - 1);
}

static long find(const struct mprof_reader *r, uint64_t addr)
{
	if (!r->hcap)
		return -1;
	for (size_t i = hash_slot(addr, r->hcap); r->hash[i]; i = (i + 1) & (r->hcap - 1))
		if (r->b[r->hash[i] - 1].addr == addr)
			return r->hash[i] - 1;
	return -1;
}

static int rehash(struct mprof_reader *r, size_t need)
{
	size_t cap = r->hcap ? r->hcap : 1024;
	uint32_t *h;

	if (need * 2 <= r->hcap)
		return 0;
	while (need * 2 > cap)
		cap *= 2;
	h = calloc(cap, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (size_t k = 0; k < r->n; k++) {
		size_t i = hash_slot(r->b[k].addr, cap);

		while (h[i])
			i = (i + 1) & (cap - 1);
		h[i] = (uint32_t)k + 1;
	}
	free(r->hash);
	r->hash = h;
	r->hcap = cap;
	return 0;
}

/* Make bucket k (read into r->b[k], not yet counted in r->n) findable. */
static int insert(struct mprof_reader *r, size_t k)
{
	size_t i;

	if (rehash(r, k + 1))
		return -ENOMEM;
	for (i = hash_slot(r->b[k].addr, r->hcap); r->hash[i]; i = (i + 1) & (r->hcap - 1))
		;
	r->hash[i] = (uint32_t)k + 1;
	return 0;
}

static int grow(struct mprof_reader *r, size_t need)
{
	struct mprof_bucket *b;
	struct entry *e;
	uint32_t *order;
	struct counts *c1, *c2;
	size_t cap = r->cap ? r->cap : 256;

	if (need <= r->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	b = realloc(r->b, cap * sizeof(*b));
	if (b)
		r->b = b;
	e = realloc(r->e, cap * sizeof(*e));
	if (e)
		r->e = e;
	order = realloc(r->order, cap * sizeof(*order));
	if (order)
		r->order = order;
	c1 = realloc(r->cur, cap * sizeof(*c1));
	if (c1)
		r->cur = c1;
	c2 = realloc(r->prev, cap * sizeof(*c2));
	if (c2)
		r->prev = c2;
	if (!b || !e || !order || !c1 || !c2)
		return -ENOMEM;
	r->cap = cap;
	return 0;
}

static uint64_t u64_at(const uint8_t *p, int off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

/* Read one bucket's header and stack into slot r->n (not yet counted as known). */
static int read_bucket(struct mprof_reader *r, uint64_t addr)
{
	const struct mprof_offsets *o = &r->o;
	uint8_t hdr[64];
	struct mprof_bucket *b;
	uint64_t typ, nstk;
	uint64_t *stk;
	int err;

	if (!addr || (addr & 7) || o->bucket_size > (int)sizeof(hdr))
		return -EBADMSG;
	err = grow(r, r->n + 1);
	if (!err)
		err = wread(r, addr, hdr, o->bucket_size, true);
	if (err)
		return err;
	typ = u64_at(hdr, o->typ);
	nstk = u64_at(hdr, o->nstk);
	b = &r->b[r->n];
	memset(b, 0, sizeof(*b));
	b->addr = addr;
	b->size = u64_at(hdr, o->size);
	if (typ != MEM_PROFILE_TYPE || nstk > (uint64_t)o->max_nstk || !b->size)
		return -EBADMSG;
	b->nstk = (uint32_t)nstk;
	stk = malloc((nstk ? nstk : 1) * sizeof(*stk));
	if (!stk)
		return -ENOMEM;
	err = nstk ? wread(r, addr + o->bucket_size, stk, nstk * 8, true) : 0;
	if (err) {
		free(stk);
		return err;
	}
	b->stk = stk;
	r->e[r->n].next = u64_at(hdr, o->allnext);
	r->e[r->n].rec = addr + o->bucket_size + 8 * nstk;
	return 0;
}

static int cmp_rec(const void *a, const void *b, void *ctx)
{
	const struct entry *e = ctx;
	uint64_t x = e[*(const uint32_t *)a].rec, y = e[*(const uint32_t *)b].rec;

	return x < y ? -1 : x > y;
}

/* Buckets prepended since the last walk: from the head to the newest one known. The list only
 * ever grows at its head, so the chain must run into exactly that one (or end, the first time);
 * anything else means the address or the layout is wrong. */
static int walk_new(struct mprof_reader *r, size_t *added)
{
	size_t first = r->n;
	uint64_t head, p;
	int err = 0;

	*added = 0;
	err = raw_read(r, r->mbuckets, &head, sizeof(head));
	if (err)
		return err;
	window_drop(r);
	for (p = head; p && p != r->head; p = r->e[r->n - 1].next) {
		if (r->n >= MPROF_MAX_BUCKETS) {
			err = -E2BIG;
			break;
		}
		if (find(r, p) >= 0) {
			err = -EBADMSG;
			break;
		}
		err = read_bucket(r, p);
		if (!err)
			err = insert(r, r->n);
		if (err)
			break;
		r->n++;
	}
	if (!err && !p && r->head)
		err = -EBADMSG;	/* ended without meeting the known head */
	if (err) {
		/* forget this walk's buckets: the next one starts from the known head again */
		for (size_t k = first; k < r->n; k++)
			free((void *)r->b[k].stk);
		r->n = first;
		free(r->hash);
		r->hash = NULL;
		r->hcap = 0;
		return rehash(r, r->n) ? -ENOMEM : err;
	}
	*added = r->n - first;
	if (*added) {
		r->head = head;
		for (size_t k = 0; k < r->n; k++)
			r->order[k] = (uint32_t)k;
		qsort_r(r->order, r->n, sizeof(*r->order), cmp_rec, r->e);
	}
	return 0;
}

static int read_counts(struct mprof_reader *r, size_t k, uint8_t *buf, struct counts *c,
		       bool windowed)
{
	const struct mprof_offsets *o = &r->o;
	int err = windowed ? wread(r, r->e[k].rec, buf, o->record_size, false)
			   : raw_read(r, r->e[k].rec, buf, o->record_size);

	if (err)
		return err;
	c->a_allocs = u64_at(buf, o->active + o->allocs);
	c->a_frees = u64_at(buf, o->active + o->frees);
	for (int i = 0; i < 3; i++) {
		c->f_allocs[i] = u64_at(buf, o->future + i * o->cycle_size + o->allocs);
		c->f_frees[i] = u64_at(buf, o->future + i * o->cycle_size + o->frees);
	}
	return 0;
}

/* All records in address order, through the window. */
static int read_all(struct mprof_reader *r, struct counts *out, uint8_t *buf)
{
	window_drop(r);
	for (size_t i = 0; i < r->n; i++) {
		uint32_t k = r->order[i];
		int err = read_counts(r, k, buf, &out[k], true);

		if (err)
			return err;
	}
	return 0;
}

/* What MemProfile adds for cycle index c: equal in two reads means that record was not being
 * flushed in between (only flushes change active and future[C%3]). */
static bool same_view(const struct counts *x, const struct counts *y, int c)
{
	return x->a_allocs == y->a_allocs && x->a_frees == y->a_frees &&
	       x->f_allocs[c] == y->f_allocs[c] && x->f_frees[c] == y->f_frees[c];
}

/* Records a flush was moving while they were read (mProf_FlushLocked adds future[c] into active,
 * then zeroes it: a read in between counts it twice, one that straddles it not at all): read
 * each again until two reads agree. A flush that has not reached a record yet leaves it stable
 * at (active, future[c]), whose sum is right. */
static int settle(struct mprof_reader *r, uint8_t *buf, int c, unsigned *rereads)
{
	for (size_t k = 0; k < r->n; k++) {
		struct counts *now = &r->cur[k], *before = &r->prev[k];

		for (int i = 0; i < MAX_REREADS; i++) {
			int err;

			if (same_view(now, before, c))
				break;
			*before = *now;
			err = read_counts(r, k, buf, now, false);
			if (err)
				return err;
			(*rereads)++;
		}
	}
	return 0;
}

int mprof__read(struct mprof_reader *r, struct mprof_reading *out)
{
	uint8_t buf[256];
	uint32_t v1, v2;
	size_t added;
	bool clear = true;
	int err, c = 0;

	memset(out, 0, sizeof(*out));
	r->reads = 0;
	if (r->o.record_size > (int)sizeof(buf))
		return -EINVAL;
	err = walk_new(r, &added);
	if (err)
		return err;
	for (int walk = 0;; walk++) {
		if (walk == MAX_WALKS)
			return -EAGAIN;
		err = raw_read(r, r->cycle_addr, &v1, sizeof(v1));
		if (!err)
			err = read_all(r, r->prev, buf);
		if (!err)
			err = read_all(r, r->cur, buf);
		c = (int)((v1 >> 1) % 3);
		if (!err)
			err = settle(r, buf, c, &out->rereads);
		if (!err)
			err = raw_read(r, r->cycle_addr, &v2, sizeof(v2));
		if (err)
			return err;
		/* a cycle ended, or its flush began, while we read: records may mix two cycles */
		if (v1 == v2)
			break;
		out->retries++;
	}
	for (size_t k = 0; k < r->n; k++) {
		const struct counts *x = &r->cur[k];

		if (x->a_allocs + x->f_allocs[c] || x->a_frees + x->f_frees[c])
			clear = false;
	}
	for (size_t k = 0; k < r->n; k++) {
		const struct counts *x = &r->cur[k];
		struct mprof_bucket *b = &r->b[k];

		b->allocs = x->a_allocs + x->f_allocs[c];
		b->frees = x->a_frees + x->f_frees[c];
		if (clear) {
			b->allocs = x->a_allocs + x->f_allocs[0] + x->f_allocs[1] + x->f_allocs[2];
			b->frees = x->a_frees + x->f_frees[0] + x->f_frees[1] + x->f_frees[2];
		}
	}
	out->cycle = v1 >> 1;
	out->clear = clear && r->n;
	out->nbuckets = r->n;
	out->new_buckets = added;
	out->reads = r->reads;
	return 0;
}

/* ---- symbolization ---------------------------------------------------------------------- */

#define MAX_INLINE 16

int mprof__symbolize(const struct pclntab *t, uint64_t bias, const uint64_t *stk, int nstk,
		     struct go_frame *frames, int max_frames, struct mprof_loc *locs, int max_locs,
		     int *nlocs)
{
	struct go_frame f[MAX_INLINE], outer[MAX_INLINE];
	int nf = 0, i = 0;

	*nlocs = 0;
	while (i < nstk && *nlocs < max_locs) {
		uint64_t pc = stk[i] - 1;
		int k = pclntab__frames(t, pc - bias, f, MAX_INLINE), used = 1;
		struct mprof_loc *l = &locs[(*nlocs)++];

		l->pc = pc;
		l->first = nf;
		l->n = 0;
		if (k <= 0) {
			i++;
			continue;
		}
		/* the outer frames of the inline tree come next, one entry each */
		for (int j = 1; j < k && i + j < nstk; j++, used++) {
			int m = pclntab__frames(t, stk[i + j] - 1 - bias, outer, MAX_INLINE);

			if (m <= 0 || strcmp(outer[0].func, f[j].func)) {
				used = 0;
				break;
			}
		}
		if (!used)
			k = 1, used = 1;	/* not the expected shape: this entry alone */
		for (int j = 0; j < k && nf < max_frames; j++) {
			frames[nf++] = f[j];
			l->n++;
		}
		i += used;
	}
	return nf;
}
