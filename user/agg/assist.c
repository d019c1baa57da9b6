// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "assist.h"

/* One cycle's samples between its first one and its end, per key. Keys are dense row indices,
 * so the sums are arrays indexed by them, and `touched` lists the ones to report and reset. */
struct cycle {
	bool used;
	uint32_t seq;
	double *weight, *count;	/* Horvitz-Thompson sums: ns and assists */
	uint64_t *samples;
	uint32_t cap;
	uint32_t *touched;
	size_t ntouched, captouched;
};

/* Cycles by seq, a few slots: assists of the next cycle can be read before a lost or late
 * end of the previous one. */
#define NCYCLES 4

struct assist_state {
	struct cycle cycles[NCYCLES];
	/* The split of the latest cycles that had samples, for a cycle with assists but none: the
	 * probe was detached through it (session_assist.c's duty cycle), or its few assists all
	 * went unsampled. Started afresh by the first sampled cycle after such a one. */
	struct cycle prior;
	bool prior_stale;
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
	for (int i = 0; i <= NCYCLES; i++) {
		struct cycle *c = i < NCYCLES ? &a->cycles[i] : &a->prior;

		free(c->weight);
		free(c->count);
		free(c->samples);
		free(c->touched);
	}
	free(a);
}

void assist__stats(const struct assist_state *a, struct assist_stats *s)
{
	*s = a->st;
}

static void cycle_reset(struct cycle *c)
{
	for (size_t i = 0; i < c->ntouched; i++) {
		c->weight[c->touched[i]] = 0;
		c->count[c->touched[i]] = 0;
		c->samples[c->touched[i]] = 0;
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
			a->st.stale_samples += c->samples[c->touched[i]];
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

/* Add to key's sums in c. 0 or -ENOMEM. */
static int cycle_add(struct cycle *c, uint32_t key, double weight, double count, uint64_t samples)
{
	if (key >= c->cap && grow_cycle(c, key))
		return -ENOMEM;
	if (!c->samples[key]) {
		if (c->ntouched == c->captouched) {
			size_t cap = c->captouched ? c->captouched * 2 : 64;
			uint32_t *t = realloc(c->touched, cap * sizeof(*t));

			if (!t)
				return -ENOMEM;
			c->touched = t;
			c->captouched = cap;
		}
		c->touched[c->ntouched++] = key;
	}
	c->weight[key] += weight;
	c->count[key] += count;
	c->samples[key] += samples;
	return 0;
}

int assist__sample(struct assist_state *a, uint32_t seq, uint32_t key, uint64_t dur_ns,
		   uint64_t weight_ns)
{
	struct cycle *c = cycle_of(a, seq);
	int err;

	/* It stands for weight_ns of the estimate and weight/dur (1/p) assists. */
	err = cycle_add(c, key, (double)weight_ns, dur_ns ? (double)weight_ns / dur_ns : 1, 1);
	if (!err)
		a->st.samples++;
	return err;
}

/* The finished cycle's sums into the prior, which restarts after a cycle without samples. */
static void prior_add(struct assist_state *a, const struct cycle *c)
{
	if (a->prior_stale) {
		cycle_reset(&a->prior);
		a->prior_stale = false;
	}
	for (size_t i = 0; i < c->ntouched; i++) {
		uint32_t k = c->touched[i];

		/* out of memory: the prior is a little thinner, nothing is lost from this cycle */
		cycle_add(&a->prior, k, c->weight[k], c->count[k], c->samples[k]);
	}
}

void assist__cycle_end(struct assist_state *a, uint32_t seq, uint64_t total_ns, uint64_t total_n,
		       assist_credit_fn fn, void *ctx)
{
	struct cycle *c = &a->cycles[seq % NCYCLES];
	const struct cycle *src = NULL;
	double weights = 0, counts = 0;
	bool own = c->used && c->seq == seq;

	if (own) {
		for (size_t i = 0; i < c->ntouched; i++) {
			weights += c->weight[c->touched[i]];
			counts += c->count[c->touched[i]];
		}
	}
	if (weights > 0) {
		src = c;
		prior_add(a, c);
	} else {
		/* assists nobody sampled: split as the latest sampled cycles were */
		if (total_ns)
			a->prior_stale = true;
		for (size_t i = 0; i < a->prior.ntouched; i++) {
			weights += a->prior.weight[a->prior.touched[i]];
			counts += a->prior.count[a->prior.touched[i]];
		}
		if (weights > 0)
			src = &a->prior;
	}
	a->st.credited_ns += total_ns;
	if (!src) {
		if (total_ns) {
			a->st.credited_assists += total_n == ASSIST_COUNT_UNKNOWN ? 0 : total_n;
			fn(ctx, ASSIST_KEY_NONE, (double)total_ns,
			   total_n == ASSIST_COUNT_UNKNOWN ? 0 : (double)total_n, 0);
		}
	} else if (src == c || total_ns) {
		/* Each key's share of the totals, in proportion to its estimates; without a count,
		 * as many assists as its share of the time holds at its sampled mean length. */
		for (size_t i = 0; i < src->ntouched; i++) {
			uint32_t k = src->touched[i];
			double ns = total_ns * (src->weight[k] / weights), n;

			if (total_n == ASSIST_COUNT_UNKNOWN)
				n = ns * (src->count[k] / src->weight[k]);
			else
				n = total_n * (src->count[k] / counts);

			a->st.credited_assists += n;
			fn(ctx, k, ns, n, src == c ? c->samples[k] : 0);
		}
	}
	if (own)
		cycle_reset(c);
}
