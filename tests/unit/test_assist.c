// SPDX-License-Identifier: GPL-2.0
/* assist: each cycle's total split between sampled stacks, against a model of the runtime's own
 * accounting (gcAssistAlloc1's per-P slack flush, startCycle's reset, credit at mark
 * termination) and of the BPF side's duration-weighted sampling. */
#include <math.h>
#include <stdint.h>
#include "harness.h"
#include "assist.h"

#define NKEYS 8

struct credits {
	double ns[NKEYS], count[NKEYS];
	uint64_t samples[NKEYS];
	double none_ns;		/* ASSIST_KEY_NONE */
	int calls;
};

static void credit(void *ctx, uint32_t key, double ns, double count, uint64_t samples)
{
	struct credits *c = ctx;

	if (key < NKEYS) {
		c->ns[key] += ns;
		c->count[key] += count;
		c->samples[key] += samples;
	} else if (key == ASSIST_KEY_NONE) {
		c->none_ns += ns;
	}
	c->calls++;
}

/* Credits are shares computed in floating point: equal to the ns. */
#define ASSERT_NS(t, got, want, what) ASSERT_EQ(t, llround(got), want, what)

static void test_split(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };
	struct assist_stats st;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	/* key 1: two assists of 3 us, sampled for sure; key 2: a 1 us one taken with
	 * probability 1/6, so it stands for 6 us and 6 assists */
	ASSERT_OK(t, assist__sample(a, 1, 1, 3000, 3000), "sample");
	ASSERT_OK(t, assist__sample(a, 1, 1, 3000, 3000), "sample");
	ASSERT_OK(t, assist__sample(a, 1, 2, 1000, 6000), "sample");
	assist__cycle_end(a, 2, 0, 0, credit, &c);
	ASSERT_EQ(t, c.calls, 0, "another cycle, nothing counted: no credit");
	assist__cycle_end(a, 1, 10000, 16, credit, &c);
	ASSERT_EQ(t, c.calls, 2, "two keys credited");
	ASSERT_NS(t, c.ns[1], 5000, "key 1: half the weight, half the total");
	ASSERT_NS(t, c.ns[2], 5000, "key 2");
	ASSERT_NS(t, c.count[1], 4, "key 1: 2 of the 8 estimated assists");
	ASSERT_NS(t, c.count[2], 12, "key 2: 6 of 8");
	ASSERT_EQ(t, c.samples[1], 2, "samples");
	assist__cycle_end(a, 1, 10000, 16, credit, &c);
	ASSERT_EQ(t, c.calls, 4, "a cycle ends once: a repeated end has no sample left...");
	ASSERT_NS(t, c.ns[1], 10000, "... and is split as the last sampled cycle was");
	ASSERT_NS(t, c.ns[2], 10000, "key 2");
	ASSERT_EQ(t, c.samples[1], 2, "on no sample of its own");
	ASSERT_NS(t, c.none_ns, 0, "nothing to no key");
	assist__stats(a, &st);
	ASSERT_EQ(t, st.samples, 3, "samples seen");
	ASSERT_EQ(t, st.credited_ns, 20000, "credited");
	assist_state__free(a);
}

/* Cycles the probe was detached for (session_assist.c's duty cycle): their runtime totals are
 * split as the latest sampled cycles were, with counts estimated from the samples' mean
 * length; the prior restarts with the first sampled cycle after such a gap. */
static void test_unsampled_cycles(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	assist__cycle_end(a, 1, 9000, ASSIST_COUNT_UNKNOWN, credit, &c);
	ASSERT_NS(t, c.none_ns, 9000, "nothing sampled yet: no key");
	/* cycles 2 and 3 sampled: key 1 one assist of 4 us each time, key 2 one of 2 us (taken
	 * with probability 1/2, so 4 us and 2 assists) */
	for (uint32_t seq = 2; seq <= 3; seq++) {
		ASSERT_OK(t, assist__sample(a, seq, 1, 4000, 4000), "sample");
		ASSERT_OK(t, assist__sample(a, seq, 2, 2000, 4000), "sample");
		assist__cycle_end(a, seq, 8000, 3, credit, &c);
	}
	ASSERT_NS(t, c.ns[1], 8000, "sampled cycles: half each");
	ASSERT_NS(t, c.count[2], 4, "key 2: 2 of each cycle's 3 assists");
	/* cycle 4: detached throughout */
	assist__cycle_end(a, 4, 32000, ASSIST_COUNT_UNKNOWN, credit, &c);
	ASSERT_NS(t, c.ns[1], 24000, "unsampled cycle split as cycles 2-3 were");
	ASSERT_NS(t, c.ns[2], 24000, "key 2");
	ASSERT_NS(t, c.count[1], 6, "key 1: 16 us more at 4 us an assist");
	ASSERT_NS(t, c.count[2], 12, "key 2: 16 us more at 2 us an assist");
	ASSERT_EQ(t, c.samples[1], 2, "no samples of its own");
	/* cycle 5 sampled again, only key 3: it alone is the prior now */
	ASSERT_OK(t, assist__sample(a, 5, 3, 5000, 5000), "sample");
	assist__cycle_end(a, 5, 5000, 1, credit, &c);
	assist__cycle_end(a, 6, 7000, ASSIST_COUNT_UNKNOWN, credit, &c);
	ASSERT_NS(t, c.ns[3], 12000, "the prior restarted after the gap");
	ASSERT_NS(t, c.ns[1], 24000, "older keys no more");
	assist_state__free(a);
}

static void test_overlapping_and_stale(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };
	struct assist_stats st;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	/* cycle 2 starts (and assists) before cycle 1's end is seen */
	ASSERT_OK(t, assist__sample(a, 1, 1, 7000, 7000), "sample");
	ASSERT_OK(t, assist__sample(a, 2, 2, 6000, 6000), "sample");
	assist__cycle_end(a, 1, 10000, 2, credit, &c);
	ASSERT_NS(t, c.ns[1], 10000, "cycle 1: all of its total to its one key");
	ASSERT_NS(t, c.ns[2], 0, "cycle 2 not yet");
	assist__cycle_end(a, 2, 6000, 1, credit, &c);
	ASSERT_NS(t, c.ns[2], 6000, "cycle 2");
	/* cycle 3's end is lost; cycle 7 reuses its slot */
	ASSERT_OK(t, assist__sample(a, 3, 3, 6000, 6000), "sample");
	ASSERT_OK(t, assist__sample(a, 7, 4, 6000, 6000), "sample");
	assist__cycle_end(a, 7, 6000, 1, credit, &c);
	ASSERT_NS(t, c.ns[3], 0, "a cycle without its end is not credited");
	ASSERT_NS(t, c.ns[4], 6000, "cycle 7");
	assist__stats(a, &st);
	ASSERT_EQ(t, st.stale_samples, 1, "stale");
	assist_state__free(a);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The runtime's gcAssistAlloc1 and startCycle, step by step, give each cycle's total (what the
 * BPF side counts); the BPF side's sampling rule gives the samples. The credit per key must be
 * the durations of that key's assists the runtime flushed, within the sampling error and the
 * remainders the runtime drops (which the samples cannot tell from the rest). */
static void model(struct test_ctx *t, uint64_t thresh, int cycles)
{
	enum { NP = 4 };
	struct assist_state *a = assist_state__new();
	uint64_t p_time[NP], truth_key[NKEYS] = { 0 }, waiting[NP][NKEYS], dropped = 0;
	double var_key[NKEYS] = { 0 }, ours = 0;
	struct credits c = { 0 };
	uint64_t runtime_total = 0;
	char what[96];

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	for (uint32_t seq = 1; seq <= (uint32_t)cycles; seq++) {
		uint64_t assist_time = 0, n_assists = 0;
		double before = ours;
		int n = (int)(xorshift() % 300);

		memset(p_time, 0, sizeof(p_time));	/* startCycle */
		memset(waiting, 0, sizeof(waiting));
		for (int i = 0; i < n; i++) {
			int p = (int)(xorshift() % NP), key = (int)(xorshift() % NKEYS);
			/* odd keys heavy-tailed: mostly under the slack, sometimes far above it;
			 * even keys spread around the sampling threshold, so that a wrong weight
			 * moves credit between them */
			uint64_t dur = key & 1 ? (xorshift() % 4 ? xorshift() % 3000
							   : xorshift() % 2000000)
					       : xorshift() % 400000;
			uint64_t weight = 0;

			if (!thresh || dur >= thresh)
				weight = dur;
			else if ((xorshift() & 0xffffffff) * thresh < dur << 32)
				weight = thresh;
			/* Horvitz-Thompson variance term, (1 - p) / p * d^2 = d * (thresh - d) */
			if (thresh && dur < thresh)
				var_key[key] += (double)dur * (thresh - dur);
			if (weight &&
			    !ASSERT_OK(t, assist__sample(a, seq, key, dur, weight), "sample"))
				goto cleanup;
			n_assists++;
			p_time[p] += dur;
			waiting[p][key] += dur;
			if (p_time[p] > ASSIST_TIME_SLACK_NS) {
				assist_time += p_time[p];
				for (int k = 0; k < NKEYS; k++)
					truth_key[k] += waiting[p][k];
				memset(waiting[p], 0, sizeof(waiting[p]));
				p_time[p] = 0;
			}
		}
		for (int p = 0; p < NP; p++)
			dropped += p_time[p];
		assist__cycle_end(a, seq, assist_time, n_assists, credit, &c);
		ours = c.none_ns;
		for (int k = 0; k < NKEYS; k++)
			ours += c.ns[k];
		if (!ASSERT_EQ(t, llround(ours - before), assist_time, "cycle total credited"))
			goto cleanup;
		runtime_total += assist_time;
	}
	for (int k = 0; k < NKEYS; k++) {
		/* 5 standard deviations (a ratio estimator is Horvitz-Thompson's to first order),
		 * plus what the runtime dropped, plus rounding */
		double tol = 5 * sqrt(var_key[k]) + dropped + 1;

		snprintf(what, sizeof(what), "key %d: %.0f vs %llu (tolerance %.0f)", k, c.ns[k],
			 (unsigned long long)truth_key[k], tol);
		ASSERT_TRUE(t, fabs(c.ns[k] - truth_key[k]) <= tol, what);
	}
	ASSERT_EQ(t, llround(ours), runtime_total, "total");
	ASSERT_TRUE(t, runtime_total > 0, "the model flushed something");
	ASSERT_TRUE(t, dropped < runtime_total / 100, "remainders are small");
	ASSERT_TRUE(t, c.none_ns < 0.01 * runtime_total, "few cycles without a sample");
cleanup:
	assist_state__free(a);
}

static void test_model(struct test_ctx *t)
{
	model(t, 0, 200);
}

static void test_model_sampled(struct test_ctx *t)
{
	model(t, 200000, 2000);
}

int main(void)
{
	RUN(test_split);
	RUN(test_overlapping_and_stale);
	RUN(test_unsampled_cycles);
	RUN(test_model);
	RUN(test_model_sampled);
	return harness_done();
}
