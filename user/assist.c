// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "assist.h"

/* Assists a P has gathered since its last flush, merged by key: the sum stays under the slack,
 * so there are a handful at most. */
struct pending {
	uint32_t key;
	uint64_t ns, count;
};

struct p_rec {
	uint64_t p;
	uint32_t seq;		/* the cycle the waiting assists belong to */
	uint64_t sum;		/* of their durations */
	struct pending *v;
	size_t n, cap;
};

/* One cycle between its first flush and its end, per key. Keys are dense row indices, so the
 * accumulators are arrays indexed by them, and `touched` lists the ones to report and reset. */
struct cycle {
	bool used;
	uint32_t seq;
	uint64_t *ns, *count;
	uint32_t cap;
	uint32_t *touched;
	size_t ntouched, captouched;
};

/* A cycle's end may come after the next one has started (gcMarkTermination releases the world
 * before it returns): a few slots, indexed by seq. */
#define NCYCLES 4

struct assist_state {
	struct p_rec *ps;
	size_t nps, capps;
	struct cycle cycles[NCYCLES];
	struct assist_stats st;
};

struct assist_state *assist_state__new(void)
{
	return calloc(1, sizeof(struct assist_state));
}

void assist_state__free(struct assist_state *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nps; i++)
		free(a->ps[i].v);
	free(a->ps);
	for (int i = 0; i < NCYCLES; i++) {
		free(a->cycles[i].ns);
		free(a->cycles[i].count);
		free(a->cycles[i].touched);
	}
	free(a);
}

void assist__stats(const struct assist_state *a, struct assist_stats *s)
{
	*s = a->st;
}

/* GOMAXPROCS Ps at a time: a linear search is as fast as anything here. */
static struct p_rec *p_rec_of(struct assist_state *a, uint64_t p, uint32_t seq)
{
	struct p_rec *r;

	for (size_t i = 0; i < a->nps; i++)
		if (a->ps[i].p == p)
			return &a->ps[i];
	if (a->nps == a->capps) {
		size_t cap = a->capps ? a->capps * 2 : 16;
		struct p_rec *ps = realloc(a->ps, cap * sizeof(*ps));

		if (!ps)
			return NULL;
		a->ps = ps;
		a->capps = cap;
	}
	r = &a->ps[a->nps++];
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->seq = seq;
	return r;
}

static void drop_pending(struct assist_state *a, struct p_rec *r)
{
	a->st.dropped_ns += r->sum;
	r->sum = 0;
	r->n = 0;
}

void assist__cycle_start(struct assist_state *a, uint32_t seq)
{
	for (size_t i = 0; i < a->nps; i++) {
		drop_pending(a, &a->ps[i]);
		a->ps[i].seq = seq;
	}
}

static void cycle_reset(struct cycle *c)
{
	for (size_t i = 0; i < c->ntouched; i++) {
		c->ns[c->touched[i]] = 0;
		c->count[c->touched[i]] = 0;
	}
	c->ntouched = 0;
	c->used = false;
}

static struct cycle *cycle_of(struct assist_state *a, uint32_t seq)
{
	struct cycle *c = &a->cycles[seq % NCYCLES];

	if (c->used && c->seq != seq) {
		/* An older cycle whose end never came: its end event was lost. */
		for (size_t i = 0; i < c->ntouched; i++)
			a->st.stale_ns += c->ns[c->touched[i]];
		cycle_reset(c);
	}
	c->used = true;
	c->seq = seq;
	return c;
}

static int grow_cycle(struct cycle *c, uint32_t key)
{
	uint32_t cap = c->cap ? c->cap : 64;
	uint64_t *ns, *count;

	while (cap <= key)
		cap *= 2;
	ns = realloc(c->ns, cap * sizeof(*ns));
	if (ns)
		c->ns = ns;
	count = realloc(c->count, cap * sizeof(*count));
	if (count)
		c->count = count;
	if (!ns || !count)
		return -ENOMEM;
	memset(c->ns + c->cap, 0, (cap - c->cap) * sizeof(*ns));
	memset(c->count + c->cap, 0, (cap - c->cap) * sizeof(*count));
	c->cap = cap;
	return 0;
}

/* The P flushed: what it gathered becomes the cycle's. */
static int commit(struct assist_state *a, uint32_t seq, struct p_rec *r)
{
	struct cycle *c = cycle_of(a, seq);

	for (size_t i = 0; i < r->n; i++) {
		const struct pending *pd = &r->v[i];

		if (pd->key >= c->cap && grow_cycle(c, pd->key))
			return -ENOMEM;
		if (!c->count[pd->key]) {
			if (c->ntouched == c->captouched) {
				size_t cap = c->captouched ? c->captouched * 2 : 64;
				uint32_t *t = realloc(c->touched, cap * sizeof(*t));

				if (!t)
					return -ENOMEM;
				c->touched = t;
				c->captouched = cap;
			}
			c->touched[c->ntouched++] = pd->key;
		}
		c->ns[pd->key] += pd->ns;
		c->count[pd->key] += pd->count;
	}
	r->sum = 0;
	r->n = 0;
	return 0;
}

static int add_pending(struct p_rec *r, uint32_t key, uint64_t ns)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].key == key) {
			r->v[i].ns += ns;
			r->v[i].count++;
			r->sum += ns;
			return 0;
		}
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		struct pending *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct pending){ key, ns, 1 };
	r->sum += ns;
	return 0;
}

int assist__add(struct assist_state *a, uint32_t seq, uint64_t p, uint64_t dur_ns,
		uint64_t p_total_ns, uint32_t key)
{
	struct p_rec *r = p_rec_of(a, p, seq);
	bool known = p_total_ns != UINT64_MAX;
	int err;

	if (!r)
		return -ENOMEM;
	a->st.assists++;
	/* A cycle start we did not see (or not yet: it never precedes its own assists) reset
	 * the P. */
	if (r->seq != seq) {
		drop_pending(a, r);
		r->seq = seq;
	}
	/* The runtime holds less than we saw waiting: it flushed in an assist whose event was
	 * lost, and that flush took what was waiting. */
	if (known && p_total_ns >= dur_ns && p_total_ns - dur_ns < r->sum) {
		err = commit(a, seq, r);
		if (err)
			return err;
	}
	err = add_pending(r, key, dur_ns);
	if (err)
		return err;
	if ((known ? p_total_ns : r->sum) <= ASSIST_TIME_SLACK_NS)
		return 0;
	/* More than we saw: it had gathered some before we attached (or in lost events). */
	if (known && p_total_ns > r->sum)
		a->st.unseen_ns += p_total_ns - r->sum;
	return commit(a, seq, r);
}

void assist__cycle_end(struct assist_state *a, uint32_t seq, assist_credit_fn fn, void *ctx)
{
	struct cycle *c = &a->cycles[seq % NCYCLES];

	if (!c->used || c->seq != seq)
		return;
	for (size_t i = 0; i < c->ntouched; i++) {
		uint32_t k = c->touched[i];

		a->st.credited_ns += c->ns[k];
		a->st.credited_assists += c->count[k];
		fn(ctx, k, c->ns[k], c->count[k]);
	}
	cycle_reset(c);
}
