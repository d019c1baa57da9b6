// SPDX-License-Identifier: GPL-2.0
/* assist: per-key mark-assist crediting against a model of the runtime's own accounting
 * (gcAssistAlloc1's per-P slack flush, startCycle's reset, credit at mark termination). */
#include <stdint.h>
#include "harness.h"
#include "assist.h"

#define NKEYS 8

struct credits {
	uint64_t ns[NKEYS], count[NKEYS];
	int calls;
};

static void credit(void *ctx, uint32_t key, uint64_t ns, uint64_t count)
{
	struct credits *c = ctx;

	if (key < NKEYS) {
		c->ns[key] += ns;
		c->count[key] += count;
	}
	c->calls++;
}

static void test_flush_and_credit(struct test_ctx *t)
{
	struct assist_state *a = assist_state__new();
	struct credits c = { 0 };
	struct assist_stats st;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	assist__cycle_start(a, 1);
	/* P 0x100: 3 us (waits), then 3 us more: 6 us > slack, both flushed */
	ASSERT_OK(t, assist__add(a, 1, 0x100, 3000, 3000, 1), "add");
	ASSERT_OK(t, assist__add(a, 1, 0x100, 3000, 6000, 2), "add");
	/* P 0x200: 4 us, never flushed: the runtime drops it at the next start */
	ASSERT_OK(t, assist__add(a, 1, 0x200, 4000, 4000, 3), "add");
	/* exactly the slack is not above it */
	ASSERT_OK(t, assist__add(a, 1, 0x300, 5000, 5000, 4), "add");
	assist__cycle_end(a, 2, credit, &c);
	ASSERT_EQ(t, c.calls, 0, "another cycle's end credits nothing");
	assist__cycle_end(a, 1, credit, &c);
	ASSERT_EQ(t, c.calls, 2, "two keys credited");
	ASSERT_EQ(t, c.ns[1], 3000, "key 1");
	ASSERT_EQ(t, c.ns[2], 3000, "key 2");
	ASSERT_EQ(t, c.ns[3] + c.ns[4], 0, "waiting assists are not credited");
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
	ASSERT_OK(t, assist__add(a, 0, 0x100, 2000, 6000, 1), "add");
	/* P 0x200: 2 us waits; a lost 4 us assist flushes 6 us; then 1 us arrives with the P
	 * holding only that: the 2 us were flushed with the lost one */
	ASSERT_OK(t, assist__add(a, 0, 0x200, 2000, 2000, 2), "add");
	ASSERT_OK(t, assist__add(a, 0, 0x200, 1000, 1000, 3), "add");
	/* unknown totals: a flush is inferred from what was seen */
	ASSERT_OK(t, assist__add(a, 0, 0x300, 4000, UINT64_MAX, 4), "add");
	ASSERT_OK(t, assist__add(a, 0, 0x300, 4000, UINT64_MAX, 4), "add");
	assist__cycle_end(a, 0, credit, &c);
	ASSERT_EQ(t, c.ns[1], 2000, "mid-cycle attach: only what was seen");
	ASSERT_EQ(t, c.ns[2], 2000, "flushed by a lost assist");
	ASSERT_EQ(t, c.ns[3], 0, "still waiting");
	ASSERT_EQ(t, c.ns[4], 8000, "inferred flush");
	ASSERT_EQ(t, c.count[4], 2, "two assists");
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
	ASSERT_OK(t, assist__add(a, 1, 0x100, 3000, 3000, 1), "add");
	ASSERT_OK(t, assist__add(a, 1, 0x100, 7000, 10000, 1), "add");
	/* cycle 2 starts before cycle 1's end is seen: the P's waiting time (none) resets */
	assist__cycle_start(a, 2);
	ASSERT_OK(t, assist__add(a, 2, 0x100, 6000, 6000, 2), "add");
	assist__cycle_end(a, 1, credit, &c);
	ASSERT_EQ(t, c.ns[1], 10000, "cycle 1");
	ASSERT_EQ(t, c.ns[2], 0, "cycle 2 not yet");
	assist__cycle_end(a, 2, credit, &c);
	ASSERT_EQ(t, c.ns[2], 6000, "cycle 2");
	/* cycle 3 flushes but its end is lost; cycle 7 reuses its slot */
	assist__cycle_start(a, 3);
	ASSERT_OK(t, assist__add(a, 3, 0x100, 6000, 6000, 3), "add");
	assist__cycle_start(a, 7);
	ASSERT_OK(t, assist__add(a, 7, 0x100, 6000, 6000, 4), "add");
	assist__cycle_end(a, 7, credit, &c);
	ASSERT_EQ(t, c.ns[3], 0, "a cycle without its end is not credited");
	ASSERT_EQ(t, c.ns[4], 6000, "cycle 7");
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
 * per key it equals the durations of that key's assists the runtime flushed. */
static void test_model(struct test_ctx *t)
{
	enum { NP = 4, CYCLES = 200 };
	struct assist_state *a = assist_state__new();
	uint64_t p_time[NP], truth_key[NKEYS] = { 0 }, waiting[NP][NKEYS];
	struct credits c = { 0 };
	uint64_t runtime_total = 0, ours = 0;

	if (!ASSERT_OK_PTR(t, a, "new"))
		return;
	for (uint32_t seq = 1; seq <= CYCLES; seq++) {
		uint64_t assist_time = 0, before = 0;
		int n = (int)(xorshift() % 300);

		memset(p_time, 0, sizeof(p_time));	/* startCycle */
		memset(waiting, 0, sizeof(waiting));
		assist__cycle_start(a, seq);
		for (int i = 0; i < n; i++) {
			int p = (int)(xorshift() % NP), key = (int)(xorshift() % NKEYS);
			/* heavy-tailed: mostly under the slack, sometimes far above it */
			uint64_t dur = xorshift() % 4 ? xorshift() % 3000 : xorshift() % 2000000;

			p_time[p] += dur;
			waiting[p][key] += dur;
			if (!ASSERT_OK(t, assist__add(a, seq, 0x1000 + 0x100 * p, dur, p_time[p],
						      key), "add"))
				goto cleanup;
			if (p_time[p] > ASSIST_TIME_SLACK_NS) {
				assist_time += p_time[p];
				for (int k = 0; k < NKEYS; k++)
					truth_key[k] += waiting[p][k];
				memset(waiting[p], 0, sizeof(waiting[p]));
				p_time[p] = 0;
			}
		}
		for (int k = 0; k < NKEYS; k++)
			before += c.ns[k];
		assist__cycle_end(a, seq, credit, &c);
		ours = 0;
		for (int k = 0; k < NKEYS; k++)
			ours += c.ns[k];
		if (!ASSERT_EQ(t, ours - before, assist_time,
			       "cycle total = gcController.assistTime"))
			goto cleanup;
		runtime_total += assist_time;
	}
	for (int k = 0; k < NKEYS; k++)
		ASSERT_EQ(t, c.ns[k], truth_key[k], "per key");
	ASSERT_EQ(t, ours, runtime_total, "total");
	ASSERT_TRUE(t, runtime_total > 0, "the model flushed something");
cleanup:
	assist_state__free(a);
}

int main(void)
{
	RUN(test_flush_and_credit);
	RUN(test_unseen_and_lost);
	RUN(test_overlapping_and_stale);
	RUN(test_model);
	return harness_done();
}
