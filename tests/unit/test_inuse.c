// SPDX-License-Identifier: GPL-2.0
/* In-use aggregation and the leak signal (user/agg/inuse.c), on simulated heaps sampled the way the
 * Go runtime samples them: each allocation of s bytes is recorded with p = 1 - exp(-s/R), and a
 * recorded object's free is recorded at the GC that finds it dead. Over many seeds: a leak is
 * always flagged with its growth rate within its sampling error; a cache filled once, a steady
 * ring buffer (replaced faster or slower than the window) and pure churn never are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "agg.h"
#include "inuse.h"

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static double unif(struct rng *r)
{
	return ((rnd(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Binomial(n, p) for the small p of sampling: Poisson(np) by inversion, a normal beyond. */
static uint64_t binom(struct rng *r, uint64_t n, double p)
{
	double mean = n * p;

	if (p >= 1)
		return n;
	if (mean > 50) {
		double z = sqrt(-2 * log(unif(r))) * cos(2 * M_PI * unif(r));
		double v = mean + z * sqrt(mean * (1 - p));

		return v < 0 ? 0 : v > n ? n : (uint64_t)(v + 0.5);
	}
	{
		double l = exp(-mean), prod = unif(r);
		uint64_t k = 0;

		while (prod > l) {
			prod *= unif(r);
			k++;
		}
		return k > n ? n : k;
	}
}

enum { RETAIN, RING, CHURN, LEAK, SLOW_RING, NSITES };
static const char *const names[NSITES] = { "retain", "ring", "churn", "leak", "slow_ring" };
static const uint64_t sizes[NSITES] = { 1024, 2048, 256, 128, 512 };

#define RING_SLOTS 2048
#define SLOW_SLOTS 4096

struct sim {
	struct rng rng;
	double rate;
	uint64_t allocs[NSITES], frees[NSITES];
	uint64_t pending_churn;		/* sampled churn allocated since the last GC */
	bool ring[RING_SLOTS], slow[SLOW_SLOTS];	/* which live slot objects were sampled */
	uint32_t ring_pos, slow_pos;
	uint64_t leaked;		/* true objects */
};

static double p_of(const struct sim *s, int site)
{
	return s->rate <= 1 ? 1 : -expm1(-(double)sizes[site] / s->rate);
}

static void replace(struct sim *s, bool *slots, uint32_t n, uint32_t *pos, int site,
		    uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		bool sampled = unif(&s->rng) < p_of(s, site);

		/* the old object dies now; its free is recorded by this GC step's sweep */
		if (slots[*pos])
			s->frees[site]++;
		slots[*pos] = sampled;
		s->allocs[site] += sampled;
		*pos = (*pos + 1) % n;
	}
}

/* One GC interval of dt seconds of workload, then the cycle's sweep. */
static void step(struct sim *s, double dt, double leak_per_s)
{
	uint64_t churn = binom(&s->rng, (uint64_t)(100000 * dt), p_of(s, CHURN));
	uint64_t leak = (uint64_t)(leak_per_s * dt);

	/* churn allocated in the previous interval is found dead now */
	s->frees[CHURN] += s->pending_churn;
	s->pending_churn = churn;
	s->allocs[CHURN] += churn;
	replace(s, s->ring, RING_SLOTS, &s->ring_pos, RING, (uint64_t)(4000 * dt));
	replace(s, s->slow, SLOW_SLOTS, &s->slow_pos, SLOW_RING, (uint64_t)(130 * dt));
	s->allocs[LEAK] += binom(&s->rng, leak, p_of(s, LEAK));
	s->leaked += leak;
}

static void sim_init(struct sim *s, uint64_t seed, double rate)
{
	memset(s, 0, sizeof(*s));
	s->rng.s = seed * 0x9e3779b97f4a7c15ull + 1;
	s->rate = rate;
	/* a cache filled once, and both rings filled at the start */
	s->allocs[RETAIN] = binom(&s->rng, 8192, p_of(s, RETAIN));
	replace(s, s->ring, RING_SLOTS, &s->ring_pos, RING, RING_SLOTS);
	replace(s, s->slow, SLOW_SLOTS, &s->slow_pos, SLOW_RING, SLOW_SLOTS);
}

static void reading(struct inuse *u, const struct sim *s, double t)
{
	inuse__begin(u, (uint64_t)(t * 1e9), s->rate);
	for (int k = 0; k < NSITES; k++) {
		struct inuse_sample smp = { .func = k + 1, .file = 100, .line = k + 10,
					    .size = sizes[k], .allocs = s->allocs[k],
					    .frees = s->frees[k] };

		inuse__add(u, &smp);
	}
	inuse__end(u);
}

struct outcome {
	int flagged[NSITES];
	double max_growth_z;		/* of the leak's rate against its truth */
	int runs;
};

/* seconds of workload, a reading every `every` seconds, GCs every 0.1 s */
static void run(struct outcome *o, uint64_t seed, double rate, double secs, double every,
		double leak_per_s)
{
	struct inuse *u = inuse__new();
	struct sim s;
	double t = 0, next = 0;

	sim_init(&s, seed, rate);
	while (t < secs + 1e-9) {
		if (t + 1e-9 >= next) {
			reading(u, &s, t);
			next += every;
		}
		step(&s, 0.1, leak_per_s);
		t += 0.1;
	}
	for (int k = 0; k < NSITES; k++) {
		const struct inuse_stats *st = inuse__func(u, k + 1);

		if (!st)
			continue;
		o->flagged[k] += st->leak;
		if (k == LEAK && leak_per_s > 0) {
			/* the rate's sampling error: the leaked objects of the trend, each a
			 * Bernoulli(p) of weight s/p */
			double p = p_of(&s, LEAK), n = leak_per_s * st->trend_s;
			double sd = sqrt(n * (1 - p) / p) * sizes[LEAK] / st->trend_s;
			double truth = leak_per_s * sizes[LEAK];
			/* exact counts: no sampling error, only rounding */
			double z = fabs(st->growth_bytes_s - truth) / fmax(sd, 1e-6 * truth);

			if (z > o->max_growth_z)
				o->max_growth_z = z;
		}
	}
	o->runs++;
	inuse__free(u);
}

static void report(const char *what, const struct outcome *o)
{
	printf("  %s: %d runs, flagged:", what, o->runs);
	for (int k = 0; k < NSITES; k++)
		printf(" %s %d", names[k], o->flagged[k]);
	printf(", leak rate max |z| %.2f\n", o->max_growth_z);
}

static bool only_leak(struct test_ctx *t, const struct outcome *o, bool leak_expected,
		      const char *what)
{
	for (int k = 0; k < NSITES; k++) {
		int want = k == LEAK && leak_expected ? o->runs : 0;

		if (o->flagged[k] != want)
			return FAILF(t, "%s: %s flagged in %d of %d runs, want %d", what, names[k],
				     o->flagged[k], o->runs, want);
	}
	return true;
}

/* 10 s windows with a reading a second (what `stat -d 10` sees), at the rates heapscope uses. */
static void test_stat_windows(struct test_ctx *t)
{
	static const double rates[] = { 32768, 131072, 524288 };

	for (size_t i = 0; i < 3; i++) {
		struct outcome o = { 0 };
		char what[64];

		/* 2.56 MB/s of 128-byte objects: ~25 samples per half-window at 512 KiB */
		for (int seed = 1; seed <= 300; seed++)
			run(&o, seed + 1000 * i, rates[i], 10, 1, 20000);
		snprintf(what, sizeof(what), "rate %.0f", rates[i]);
		report(what, &o);
		only_leak(t, &o, true, what);
		ASSERT_TRUE(t, o.max_growth_z < 5, "leak rate within 5 sigma of the truth");
	}
}

/* Long sessions (`top`): the trend slides over the last readings; nothing steady is ever
 * flagged, however long it runs, and without a leak nothing is. */
static void test_long_sessions(struct test_ctx *t)
{
	struct outcome o = { 0 }, none = { 0 };

	for (int seed = 1; seed <= 40; seed++)
		run(&o, seed, 131072, 300, 1, 20000);
	report("300 s", &o);
	only_leak(t, &o, true, "300 s");
	for (int seed = 1; seed <= 2000; seed++)
		run(&none, seed, 131072, 10, 1, 0);
	report("no leak, 2000 x 10 s", &none);
	only_leak(t, &none, false, "no leak");
}

/* Exact counts (rate 1: every allocation recorded): the churn's own noise still guards. */
static void test_exact_counts(struct test_ctx *t)
{
	struct outcome o = { 0 };

	for (int seed = 1; seed <= 20; seed++)
		run(&o, seed, 1, 10, 1, 20000);
	report("rate 1", &o);
	only_leak(t, &o, true, "rate 1");
	ASSERT_TRUE(t, o.max_growth_z < 1, "exact growth, to a millionth");
}

/* Too few readings: no rate, no flag. */
static void test_too_few(struct test_ctx *t)
{
	struct outcome o = { 0 };

	run(&o, 7, 131072, 4, 1, 20000);
	ASSERT_EQ(t, o.flagged[LEAK], 0, "5 readings are too few");
}

static void test_trend_shapes(struct test_ctx *t)
{
	struct inuse_point p[12];
	struct inuse_stats st;

	/* exact line: 1000 B/s, every object s^2 = 1 */
	for (int i = 0; i < 12; i++)
		p[i] = (struct inuse_point){ i, 1000.0 * i, 1000.0 * i, 0 };
	inuse__trend(p, 12, &st);
	ASSERT_TRUE(t, fabs(st.growth_bytes_s - 1000) < 1e-9, "slope");
	ASSERT_TRUE(t, st.leak, "line is a leak");
	ASSERT_EQ(t, st.readings, 12, "readings");
	/* a step: all the growth in the first half */
	for (int i = 0; i < 12; i++)
		p[i] = (struct inuse_point){ i, i < 3 ? 0 : 1e6, i < 3 ? 0 : 1e6, 0 };
	inuse__trend(p, 12, &st);
	ASSERT_TRUE(t, !st.leak, "a step is not a leak");
	ASSERT_TRUE(t, st.growth_bytes_s > 0, "but it did grow");
	/* growth lost in churn: +1000 per reading against 1e8 of allocations and frees */
	for (int i = 0; i < 12; i++)
		p[i] = (struct inuse_point){ i, 1000.0 * i, 1e8 * i, 1e8 * i };
	inuse__trend(p, 12, &st);
	ASSERT_TRUE(t, !st.leak, "within the churn's noise");
	/* shrinking */
	for (int i = 0; i < 12; i++)
		p[i] = (struct inuse_point){ i, 1e6 - 1000.0 * i, 0, 1000.0 * i };
	inuse__trend(p, 12, &st);
	ASSERT_TRUE(t, !st.leak && st.growth_bytes_s < 0, "shrinking");
}

/* Unsampling and aggregation into sites and functions. */
static void test_aggregate(struct test_ctx *t)
{
	struct inuse *u = inuse__new();
	struct inuse_totals tot;
	const struct inuse_stats *f, *s1, *s2;
	struct inuse_sample a = { .func = 1, .file = 9, .line = 10, .kind = 5, .size = 4096,
				  .allocs = 10, .frees = 4 };
	struct inuse_sample b = { .func = 1, .file = 9, .line = 20, .kind = 6, .size = 64,
				  .allocs = 3, .frees = 0 };
	double w1 = unsample_scale(4096, 524288), w2 = unsample_scale(64, 524288);
	size_t n;

	if (!ASSERT_OK_PTR(t, u, "new"))
		return;
	inuse__begin(u, 5000000000ull, 524288);
	ASSERT_OK(t, inuse__add(u, &a), "add");
	ASSERT_OK(t, inuse__add(u, &b), "add");
	b.size = 80;	/* the same site with another slot size: another bucket */
	ASSERT_OK(t, inuse__add(u, &b), "add");
	inuse__end(u);
	f = inuse__func(u, 1);
	s1 = inuse__site(u, 1, 9, 10);
	s2 = inuse__site(u, 1, 9, 20);
	if (!ASSERT_OK_PTR(t, f, "func") || !ASSERT_OK_PTR(t, s1, "site 1") ||
	    !ASSERT_OK_PTR(t, s2, "site 2"))
		goto cleanup;
	ASSERT_TRUE(t, fabs(s1->bytes - 6 * w1 * 4096) < 1e-6, "site bytes");
	ASSERT_TRUE(t, fabs(s1->objects - 6 * w1) < 1e-9, "site objects");
	ASSERT_TRUE(t, fabs(s1->alloc_bytes - 10 * w1 * 4096) < 1e-6, "site alloc bytes");
	ASSERT_TRUE(t, fabs(s2->bytes - 3 * w2 * 64 - 3 * unsample_scale(80, 524288) * 80) < 1e-6,
		    "two buckets, one site");
	ASSERT_TRUE(t, fabs(f->bytes - s1->bytes - s2->bytes) < 1e-6, "function = its sites");
	ASSERT_EQ(t, f->kind, 5, "function kind: its largest site's");
	ASSERT_EQ(t, s2->kind, 6, "site kind");
	inuse__funcs(u, &n);
	ASSERT_EQ(t, n, 1, "one function");
	inuse__sites(u, &n);
	ASSERT_EQ(t, n, 2, "two sites");
	inuse__totals(u, &tot);
	ASSERT_TRUE(t, fabs(tot.bytes - f->bytes) < 1e-6, "totals");
	ASSERT_EQ(t, tot.readings, 1, "one reading");
	/* frees beyond allocs (a torn read) never make in-use negative */
	a.frees = 12;
	inuse__begin(u, 6000000000ull, 524288);
	inuse__add(u, &a);
	inuse__end(u);
	s1 = inuse__site(u, 1, 9, 10);
	ASSERT_TRUE(t, s1 && s1->bytes == 0, "clamped at 0");
	ASSERT_TRUE(t, inuse__site(u, 1, 9, 20) && inuse__site(u, 1, 9, 20)->bytes == 0,
		    "a site absent from a reading holds nothing in it");
cleanup:
	inuse__free(u);
}

int main(void)
{
	RUN(test_aggregate);
	RUN(test_trend_shapes);
	RUN(test_too_few);
	RUN(test_exact_counts);
	RUN(test_stat_windows);
	RUN(test_long_sessions);
	return harness_done();
}
