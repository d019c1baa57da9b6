// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "assist.h"

/* Sampled assists a P has gathered since its last flush, merged by key: the P's sum stays under
 * the slack, so there are a handful at most. */
struct pending {
	uint32_t key;
	double weight, count;	/* Horvitz-Thompson sums: ns and assists */
	uint64_t samples;
};

struct p_rec {
	uint64_t p;
	uint32_t seq;		/* the cycle the waiting assists belong to */
	uint64_t sum, n;	/* every waiting assist: ns, how many */
	struct pending *v;
	size_t nv, capv;
};

/* One cycle between its first flush and its end: the exact total, and per key the weights that
 * split it. Keys are dense row indices, so the sums are arrays indexed by them, and `touched`
 * lists the ones to report and reset. */
struct cycle {
	bool used;
	uint32_t seq;
	uint64_t total_ns, total_n;
	double *weight, *count;
	uint64_t *samples;
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
		free(a->cycles[i].weight);
		free(a->cycles[i].count);
		free(a->cycles[i].samples);
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

static void clear_pending(struct p_rec *r)
{
	r->sum = r->n = 0;
	r->nv = 0;
}

void assist__cycle_start(struct assist_state *a, uint32_t seq)
{
	for (size_t i = 0; i < a->nps; i++) {
		a->st.dropped_ns += a->ps[i].sum;
		clear_pending(&a->ps[i]);
		a->ps[i].seq = seq;
	}
}

static void cycle_reset(struct cycle *c)
{
	for (size_t i = 0; i < c->ntouched; i++) {
		c->weight[c->touched[i]] = 0;
		c->count[c->touched[i]] = 0;
		c->samples[c->touched[i]] = 0;
	}
	c->ntouched = 0;
	c->total_ns = c->total_n = 0;
	c->used = false;
}

static struct cycle *cycle_of(struct assist_state *a, uint32_t seq)
{
	struct cycle *c = &a->cycles[seq % NCYCLES];

	if (c->used && c->seq != seq) {
		/* An older cycle whose end never came: its end event was lost. */
		a->st.stale_ns += c->total_ns;
		cycle_reset(c);
	}
	c->used = true;
	c->seq = seq;
	return c;
}

static void *grow_array(void *p, uint32_t old, uint32_t cap, size_t elem)
{
	char *q = realloc(p, cap * elem);

	if (q)
		memset(q + old * elem, 0, (cap - old) * elem);
	return q;
}

static int grow_cycle(struct cycle *c, uint32_t key)
{
	uint32_t cap = c->cap ? c->cap : 64;
	double *w, *n;
	uint64_t *s;

	while (cap <= key)
		cap *= 2;
	w = grow_array(c->weight, c->cap, cap, sizeof(*w));
	if (w)
		c->weight = w;
	n = grow_array(c->count, c->cap, cap, sizeof(*n));
	if (n)
		c->count = n;
	s = grow_array(c->samples, c->cap, cap, sizeof(*s));
	if (s)
		c->samples = s;
	if (!w || !n || !s)
		return -ENOMEM;
	c->cap = cap;
	return 0;
}

/* The P flushed: what it gathered becomes the cycle's. */
static int commit(struct assist_state *a, uint32_t seq, struct p_rec *r)
{
	struct cycle *c = cycle_of(a, seq);

	c->total_ns += r->sum;
	c->total_n += r->n;
	for (size_t i = 0; i < r->nv; i++) {
		const struct pending *pd = &r->v[i];

		if (pd->key >= c->cap && grow_cycle(c, pd->key))
			return -ENOMEM;
		if (!c->samples[pd->key]) {
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
		c->weight[pd->key] += pd->weight;
		c->count[pd->key] += pd->count;
		c->samples[pd->key] += pd->samples;
	}
	clear_pending(r);
	return 0;
}

static int add_pending(struct p_rec *r, uint32_t key, double weight, double count)
{
	for (size_t i = 0; i < r->nv; i++) {
		if (r->v[i].key == key) {
			r->v[i].weight += weight;
			r->v[i].count += count;
			r->v[i].samples++;
			return 0;
		}
	}
	if (r->nv == r->capv) {
		size_t cap = r->capv ? r->capv * 2 : 4;
		struct pending *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->capv = cap;
	}
	r->v[r->nv++] = (struct pending){ key, weight, count, 1 };
	return 0;
}

int assist__add(struct assist_state *a, uint32_t seq, uint64_t p, uint64_t dur_ns,
		uint64_t p_total_ns, uint32_t key, uint64_t weight_ns)
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
		a->st.dropped_ns += r->sum;
		clear_pending(r);
		r->seq = seq;
	}
	/* The runtime holds less than we saw waiting: it flushed in an assist whose event was
	 * lost, and that flush took what was waiting. */
	if (known && p_total_ns >= dur_ns && p_total_ns - dur_ns < r->sum) {
		err = commit(a, seq, r);
		if (err)
			return err;
	}
	r->sum += dur_ns;
	r->n++;
	if (weight_ns) {
		/* It stands for weight/dur assists (1/p), and for weight ns of the estimate. */
		err = add_pending(r, key, (double)weight_ns,
				  dur_ns ? (double)weight_ns / dur_ns : 1);
		if (err)
			return err;
		a->st.samples++;
	}
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
	double weights = 0, counts = 0;

	if (!c->used || c->seq != seq)
		return;
	for (size_t i = 0; i < c->ntouched; i++) {
		weights += c->weight[c->touched[i]];
		counts += c->count[c->touched[i]];
	}
	a->st.credited_ns += c->total_ns;
	a->st.credited_assists += c->total_n;
	if (weights <= 0) {
		if (c->total_ns)
			fn(ctx, ASSIST_KEY_NONE, (double)c->total_ns, (double)c->total_n, 0);
		cycle_reset(c);
		return;
	}
	/* Each key's share of the exact totals, in proportion to its estimates. */
	for (size_t i = 0; i < c->ntouched; i++) {
		uint32_t k = c->touched[i];

		fn(ctx, k, c->total_ns * (c->weight[k] / weights),
		   c->total_n * (c->count[k] / counts), c->samples[k]);
	}
	cycle_reset(c);
}
