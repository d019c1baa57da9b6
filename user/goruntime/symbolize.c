// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "symbolize.h"

/* Logical frames kept per pc; a deeper inline chain keeps both ends (pclntab__frames). */
#define MAX_INLINE 16

/* One resolved pc: its logical frames, innermost first. A program has few distinct allocation
 * pcs, so resolving each once keeps the per-event cost at a hash lookup per frame. */
struct pc_entry {
	uint64_t pc;		/* 0 = empty slot */
	uint8_t n;
	uint32_t runtime_mask;	/* bit i: frame i belongs to the runtime */
	struct agg_frame frames[MAX_INLINE];
};

struct symbolizer {
	const struct target *t;
	struct agg *agg;
	struct pc_entry *slots;
	size_t nslots, used;
	uint32_t unknown;
};

struct symbolizer *symbolizer__new(const struct target *t, struct agg *a)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->t = t;
	s->agg = a;
	s->nslots = 4096;
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	s->unknown = agg__intern(a, "[unknown]");
	if (!s->slots || !s->unknown) {
		symbolizer__free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s);
}

static size_t slot_of(const struct symbolizer *s, uint64_t pc)
{
	return (pc * 0x9e3779b97f4a7c15ull >> 20) & (s->nslots - 1);
}

static int rehash(struct symbolizer *s)
{
	struct pc_entry *old = s->slots;
	size_t nold = s->nslots;

	s->slots = calloc(nold * 2, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -ENOMEM;
	}
	s->nslots = nold * 2;
	for (size_t i = 0; i < nold; i++) {
		size_t j;

		if (!old[i].pc)
			continue;
		for (j = slot_of(s, old[i].pc); s->slots[j].pc; j = (j + 1) & (s->nslots - 1))
			;
		s->slots[j] = old[i];
	}
	free(old);
	return 0;
}

static void resolve(struct symbolizer *s, struct pc_entry *e, uint64_t lookup_vaddr)
{
	struct go_frame gf[MAX_INLINE];
	int n = pclntab__frames(s->t->pcln, lookup_vaddr, gf, MAX_INLINE);

	if (n <= 0) {
		e->n = 0;
		return;
	}
	for (int i = 0; i < n; i++) {
		e->frames[i].func = agg__intern(s->agg, gf[i].func ? gf[i].func : "[unknown]");
		e->frames[i].file = gf[i].file ? agg__intern(s->agg, gf[i].file) : 0;
		e->frames[i].line = gf[i].line > 0 ? gf[i].line : 0;
		if (gf[i].func && is_runtime_frame(gf[i].func, gf[i].file))
			e->runtime_mask |= 1u << i;
	}
	e->n = n;
}

static const struct pc_entry *lookup(struct symbolizer *s, uint64_t pc, bool is_return)
{
	size_t i;

	if (s->used * 2 >= s->nslots && rehash(s))
		return NULL;
	for (i = slot_of(s, pc); s->slots[i].pc; i = (i + 1) & (s->nslots - 1))
		if (s->slots[i].pc == pc)
			return &s->slots[i];
	s->slots[i].pc = pc;
	s->used++;
	/* A return address points after the CALL, possibly at the next line or even the next
	 * function; the call itself is one byte earlier (as pprof and addr2line do). */
	resolve(s, &s->slots[i], pc - s->t->bias - (is_return ? 1 : 0));
	return &s->slots[i];
}

int symbolizer__stack(struct symbolizer *s, const uint64_t *pcs, int n, struct agg_frame *out,
		      int max, uint32_t *kind)
{
	/* The runtime frame the site called, by value: a later lookup may rehash the cache. */
	struct agg_frame below = { 0 };
	bool in_site = false;
	int nout = 0;

	*kind = 0;
	for (int i = 0; i < n && nout < max; i++) {
		const struct pc_entry *e = lookup(s, pcs[i], i > 0);

		/* A pc outside Go's text (C code, a broken frame chain) ends what can be trusted. */
		if (!e || !e->n)
			break;
		for (int k = 0; k < e->n && nout < max; k++) {
			if (!in_site && (e->runtime_mask & (1u << k))) {
				below = e->frames[k];
				continue;
			}
			if (!in_site) {
				const char *callee = agg__str(s->agg, below.func);

				in_site = true;
				*kind = agg__intern(s->agg, below.func ? alloc_kind_of(callee) : "new");
			}
			out[nout++] = e->frames[k];
		}
	}
	return nout;
}
