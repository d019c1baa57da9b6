// SPDX-License-Identifier: GPL-2.0
/* assist: per-key mark-assist crediting against a model of the runtime's own accounting
 * (gcAssistAlloc1's per-P slack flush, startCycle's reset, credit at mark termination). */
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

static void test_flush_and_credit(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };
	struct assist_stats st;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	assist__cycle_start(a, 1);
	/* P 0x100: 3 us (waits), then 3 us more: 6 us > slack, both flushed */
	ASSERT_OK(t, assist__add(a, 1, 0x100, 3000, 3000, 1, 3000), "add");
	ASSERT_OK(t, assist__add(a, 1, 0x100, 3000, 6000, 2, 3000), "add");
	/* P 0x200: 4 us, never flushed: the runtime drops it at the next start */
	ASSERT_OK(t, assist__add(a, 1, 0x200, 4000, 4000, 3, 4000), "add");
	/* exactly the slack is not above it */
	ASSERT_OK(t, assist__add(a, 1, 0x300, 5000, 5000, 4, 5000), "add");
	assist__cycle_end(a, 2, credit, &c);
	ASSERT_EQ(t, c.calls, 0, "another cycle's end credits nothing");
	assist__cycle_end(a, 1, credit, &c);
	ASSERT_EQ(t, c.calls, 2, "two keys credited");
	ASSERT_NS(t, c.ns[1], 3000, "key 1");
	ASSERT_NS(t, c.ns[2], 3000, "key 2");
	ASSERT_NS(t, c.ns[3] + c.ns[4], 0, "waiting assists are not credited");
	assist__cycle_end(a, 1, credit, &c);
	ASSERT_EQ(t, c.calls, 2, "a cycle is credited once");
	assist__cycle_start(a, 2);
	assist__stats(a, &st);
	ASSERT_EQ(t, st.dropped_ns, 9000, "dropped at the start");
	ASSERT_EQ(t, st.credited_ns, 6000, "credited");
	ASSERT_EQ(t, st.assists, 4, "assists");
	assist_state__free(a);
}

static void test_unseen_and_lost(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };
	struct assist_stats st;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	/* attached mid-cycle (seq 0): the P already held 4 us */
	ASSERT_OK(t, assist__add(a, 0, 0x100, 2000, 6000, 1, 2000), "add");
	/* P 0x200: 2 us waits; a lost 4 us assist flushes 6 us; then 1 us arrives with the P
	 * holding only that: the 2 us were flushed with the lost one */
	ASSERT_OK(t, assist__add(a, 0, 0x200, 2000, 2000, 2, 2000), "add");
	ASSERT_OK(t, assist__add(a, 0, 0x200, 1000, 1000, 3, 1000), "add");
	/* unknown totals: a flush is inferred from what was seen */
	ASSERT_OK(t, assist__add(a, 0, 0x300, 4000, UINT64_MAX, 4, 4000), "add");
	ASSERT_OK(t, assist__add(a, 0, 0x300, 4000, UINT64_MAX, 4, 4000), "add");
	assist__cycle_end(a, 0, credit, &c);
	ASSERT_NS(t, c.ns[1], 2000, "mid-cycle attach: only what was seen");
	ASSERT_NS(t, c.ns[2], 2000, "flushed by a lost assist");
	ASSERT_NS(t, c.ns[3], 0, "still waiting");
	ASSERT_NS(t, c.ns[4], 8000, "inferred flush");
	ASSERT_NS(t, c.count[4], 2, "two assists");
	assist__stats(a, &st);
	ASSERT_EQ(t, st.unseen_ns, 4000, "gathered before attach");
	assist_state__free(a);
}

static void test_overlapping_and_stale(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };
	struct assist_stats st;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	assist__cycle_start(a, 1);
	ASSERT_OK(t, assist__add(a, 1, 0x100, 3000, 3000, 1, 3000), "add");
	ASSERT_OK(t, assist__add(a, 1, 0x100, 7000, 10000, 1, 7000), "add");
	/* cycle 2 starts before cycle 1's end is seen: the P's waiting time (none) resets */
	assist__cycle_start(a, 2);
	ASSERT_OK(t, assist__add(a, 2, 0x100, 6000, 6000, 2, 6000), "add");
	assist__cycle_end(a, 1, credit, &c);
	ASSERT_NS(t, c.ns[1], 10000, "cycle 1");
	ASSERT_NS(t, c.ns[2], 0, "cycle 2 not yet");
	assist__cycle_end(a, 2, credit, &c);
	ASSERT_NS(t, c.ns[2], 6000, "cycle 2");
	/* cycle 3 flushes but its end is lost; cycle 7 reuses its slot */
	assist__cycle_start(a, 3);
	ASSERT_OK(t, assist__add(a, 3, 0x100, 6000, 6000, 3, 6000), "add");
	assist__cycle_start(a, 7);
	ASSERT_OK(t, assist__add(a, 7, 0x100, 6000, 6000, 4, 6000), "add");
	assist__cycle_end(a, 7, credit, &c);
	ASSERT_NS(t, c.ns[3], 0, "a cycle without its end is not credited");
	ASSERT_NS(t, c.ns[4], 6000, "cycle 7");
	assist__stats(a, &st);
	ASSERT_EQ(t, st.stale_ns, 6000, "stale");
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

/* The runtime's gcAssistAlloc1 and startCycle, step by step, against what the module credits:
 * per cycle the module's sum equals gcController.assistTime at mark termination to the ns, and
 * per key it equals the durations of that key's assists the runtime flushed when every stack is
 * taken, or estimates them within their sampling error when an assist of d ns takes its stack
 * with probability min(1, d / thresh) (the BPF side's rule). */
static void model(struct test_ctx *t, uint64_t thresh, int cycles)
{
	enum { NP = 4 };
	struct assist_state *a = assist_state__new();
	uint64_t p_time[NP], truth_key[NKEYS] = { 0 }, waiting[NP][NKEYS];
	double var_key[NKEYS] = { 0 }, wvar[NP][NKEYS], ours = 0;
	struct credits c = { 0 };
	uint64_t runtime_total = 0;
	char what[64];

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	for (uint32_t seq = 1; seq <= (uint32_t)cycles; seq++) {
		uint64_t assist_time = 0;
		double before = ours;
		int n = (int)(xorshift() % 300);

		memset(p_time, 0, sizeof(p_time));	/* startCycle */
		memset(waiting, 0, sizeof(waiting));
		memset(wvar, 0, sizeof(wvar));
		assist__cycle_start(a, seq);
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
			p_time[p] += dur;
			waiting[p][key] += dur;
			/* Horvitz-Thompson variance term, (1 - p) / p * d^2 = d * (thresh - d) */
			if (thresh && dur < thresh)
				wvar[p][key] += (double)dur * (thresh - dur);
			if (!ASSERT_OK(t, assist__add(a, seq, 0x1000 + 0x100 * p, dur, p_time[p],
						      key, weight), "add"))
				goto cleanup;
			if (p_time[p] > ASSIST_TIME_SLACK_NS) {
				assist_time += p_time[p];
				for (int k = 0; k < NKEYS; k++) {
					truth_key[k] += waiting[p][k];
					var_key[k] += wvar[p][k];
				}
				memset(waiting[p], 0, sizeof(waiting[p]));
				memset(wvar[p], 0, sizeof(wvar[p]));
				p_time[p] = 0;
			}
		}
		assist__cycle_end(a, seq, credit, &c);
		ours = c.none_ns;
		for (int k = 0; k < NKEYS; k++)
			ours += c.ns[k];
		if (!ASSERT_EQ(t, llround(ours - before), assist_time,
			       "cycle total = gcController.assistTime"))
			goto cleanup;
		runtime_total += assist_time;
	}
	for (int k = 0; k < NKEYS; k++) {
		/* exact when every stack is taken; else 5 standard deviations (a ratio estimator
		 * is HT's to first order), plus the rounding of the exact case */
		double tol = 5 * sqrt(var_key[k]) + 1;

		snprintf(what, sizeof(what), "key %d: %.0f vs %llu (tolerance %.0f)", k, c.ns[k],
			 (unsigned long long)truth_key[k], tol);
		ASSERT_TRUE(t, fabs(c.ns[k] - truth_key[k]) <= tol, what);
	}
	ASSERT_EQ(t, llround(ours), runtime_total, "total");
	ASSERT_TRUE(t, runtime_total > 0, "the model flushed something");
	if (thresh)
		ASSERT_TRUE(t, c.none_ns < 0.01 * runtime_total, "few cycles without a sample");
	else
		ASSERT_NS(t, c.none_ns, 0, "every assist sampled: no unattributed credit");
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
	RUN(test_flush_and_credit);
	RUN(test_unseen_and_lost);
	RUN(test_overlapping_and_stale);
	RUN(test_model);
	RUN(test_model_sampled);
	return harness_done();
}
