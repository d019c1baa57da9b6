// SPDX-License-Identifier: GPL-2.0
/* GC aggregation (pure) and the gcController offset table against the DWARF of real binaries. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "harness.h"
#include "heapscope.h"
#include "gc.h"
#include "goruntime.h"

#define MS 1000000ull

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1);
}

#define ASSERT_NEAR(t, a, b, what)                                                                 \
	({                                                                                         \
		double __a = (a), __b = (b);                                                       \
		near(__a, __b) ? true : FAILF(t, "%s: got %.12g, want %.12g", what, __a, __b);    \
	})

static void pause_at(struct gc_state *g, uint32_t seq, uint64_t start, uint64_t end,
		     enum gc_pause_kind k, int64_t cpu)
{
	struct gc_pause p = { .seq = seq, .start_ns = start, .end_ns = end, .kind = k,
			      .cpu_ns = cpu, .mark_cpu_ns = -1 };

	gc__pause(g, &p);
}

static void test_window_basics(struct test_ctx *t)
{
	struct gc_state *g = gc_state__new(GC_KEEP);
	struct gc_cycle_end ce = { .have_ctrl = true, .heap_live = 3 << 20, .heap_goal = 8 << 20,
				   .gogc = 100, .gomemlimit = INT64_MAX, .assist_ns = 1 * MS,
				   .background_ns = 2 * MS, .idle_ns = 3 * MS };
	struct gc_totals t0, t1;
	struct gc_window w;

	if (!ASSERT_OK_PTR(t, g, "new"))
		return;
	gc_state__totals(g, &t0);
	ASSERT_EQ(t, t0.gogc, INT32_MIN, "gogc unknown before a cycle");
	/* 100 cycles at 10 ms; pauses 1..100 us (sweep) and 1 us (mark): quantiles known */
	for (int i = 1; i <= 100; i++) {
		uint64_t base = 1000 * MS + i * 10 * MS;

		gc__cycle_start(g, i, base, i % 10 == 0, 4, base);
		pause_at(g, i, base, base + i * 1000, GC_PAUSE_SWEEP_TERM, 4 * i * 1000);
		pause_at(g, i, base + 5 * MS, base + 5 * MS + 1000, GC_PAUSE_MARK_TERM, 4000);
		pause_at(g, i, base + 6 * MS, base + 6 * MS + 500000, GC_PAUSE_OTHER, 0);
		ce.seq = i;
		gc__cycle_end(g, base + 7 * MS, &ce);
	}
	gc_state__totals(g, &t1);
	gc_state__window(g, &t0, &t1, 1000 * MS, 2100 * MS, &w);
	ASSERT_EQ(t, w.cycles, 100, "cycles");
	ASSERT_EQ(t, w.forced_cycles, 10, "forced");
	ASSERT_EQ(t, w.pauses, 200, "pauses (not the non-GC stop)");
	ASSERT_NEAR(t, w.pause_total_s, (5050 + 100) * 1e-6, "pause total");
	ASSERT_NEAR(t, w.pause_max_s, 100e-6, "pause max");
	/* 200 values: 101 x 1us (all mark pauses, sweep 1), then k us at rank 100 + k */
	ASSERT_NEAR(t, w.pause_p50_s, 1e-6, "p50 (nearest rank 100)");
	ASSERT_NEAR(t, w.pause_p99_s, 98e-6, "p99 (nearest rank 198)");
	ASSERT_NEAR(t, w.assist_cpu_s, 0.1, "assist");
	ASSERT_NEAR(t, w.background_cpu_s, 0.2, "background");
	ASSERT_NEAR(t, w.idle_cpu_s, 0.3, "idle");
	ASSERT_NEAR(t, w.pause_cpu_s, (4 * 5050 + 400) * 1e-6, "pause cpu");
	ASSERT_NEAR(t, w.cpu_s, 0.6 + (4 * 5050 + 400) * 1e-6, "cpu");
	ASSERT_NEAR(t, w.cpu_share, w.cpu_s / (4 * 1.1), "cpu share");
	ASSERT_EQ(t, w.heap_live_bytes, 3 << 20, "live");
	ASSERT_EQ(t, w.heap_goal_bytes, 8 << 20, "goal");
	ASSERT_EQ(t, w.gomaxprocs, 4, "gomaxprocs");
	ASSERT_EQ(t, w.gogc, 100, "gogc");

	/* a sub-window: quantiles only from pauses ending in it, totals from snapshots */
	gc_state__window(g, &t1, &t1, 1000 * MS + 505 * MS, 1000 * MS + 510 * MS, &w);
	ASSERT_EQ(t, w.cycles, 0, "no cycles between equal snapshots");
	ASSERT_NEAR(t, w.pause_max_s, 1e-6, "max of the one mark pause (cycle 50) in range");
	/* zero guards: no wall time, or GOMAXPROCS unknown, gives no share (not 0) */
	gc_state__window(g, &t0, &t1, 5 * MS, 5 * MS, &w);
	ASSERT_TRUE(t, w.cpu_share < 0, "share with zero wall time is unknown");
	t1.gomaxprocs = 0;
	gc_state__window(g, &t0, &t1, 0, 5 * MS, &w);
	ASSERT_TRUE(t, w.cpu_share < 0, "share with GOMAXPROCS unknown is unknown");
	gc_state__window(g, &t0, &t0, 0, 0, &w);
	ASSERT_EQ(t, w.pauses, 0, "empty window");
	ASSERT_NEAR(t, w.pause_p99_s, 0, "empty window p99");
	gc_state__free(g);
}

static void test_cycle_list(struct test_ctx *t)
{
	struct gc_state *g = gc_state__new(GC_KEEP);
	struct gc_cycle_end ce = { .have_ctrl = true, .heap_live = 1, .heap_goal = 2 };
	struct gc_cycle c[4];
	size_t n;

	if (!ASSERT_OK_PTR(t, g, "new"))
		return;
	/* a cycle that began before attach: counted, pauses unknown, not forced */
	gc__cycle_end(g, 10 * MS, &ce);
	gc__cycle_start(g, 1, 20 * MS, true, 2, 20 * MS);
	pause_at(g, 1, 20 * MS, 21 * MS, GC_PAUSE_SWEEP_TERM, 2 * MS);
	pause_at(g, 1, 25 * MS, 25 * MS + 100, GC_PAUSE_MARK_TERM, -1);	/* restarted */
	pause_at(g, 1, 26 * MS, 26 * MS + 300, GC_PAUSE_MARK_TERM, -1);
	/* the next cycle starts before this one's end is seen (gcMarkTermination's return) */
	gc__cycle_start(g, 2, 26 * MS + 400, false, 2, 26 * MS + 400);
	pause_at(g, 2, 26 * MS + 400, 26 * MS + 900, GC_PAUSE_SWEEP_TERM, 1000);
	ce.seq = 1;
	gc__cycle_end(g, 27 * MS, &ce);
	n = gc_state__cycles(g, 0, 100 * MS, c, 4);
	if (!ASSERT_EQ(t, n, 2, "cycles"))
		goto cleanup;
	ASSERT_TRUE(t, c[0].sweep_term_pause_s < 0 && !c[0].forced, "pre-attach cycle");
	ASSERT_TRUE(t, c[1].forced, "forced");
	ASSERT_EQ(t, c[1].pauses, 3, "pauses incl. restart");
	ASSERT_NEAR(t, c[1].sweep_term_pause_s, 1e-3, "sweep term");
	ASSERT_NEAR(t, c[1].mark_term_pause_s, 300e-9, "the last mark termination");
	/* Go <= 1.22: stwprocs x the last mark termination only, at cycle end (gomaxprocs 2) */
	ASSERT_NEAR(t, c[1].pause_cpu_s, 2e-3 + 600e-9, "pause cpu (not the next cycle's)");
	ASSERT_EQ(t, gc_state__cycles(g, 15 * MS, 100 * MS, c, 4), 1, "window filter");
cleanup:
	gc_state__free(g);
}

static int ctrl_offsets(int minor, struct gc_ctrl_offsets *o)
{
	struct go_version v = { .major = 1, .minor = minor };
	struct go_layout l;
	int err = goruntime__layout(&v, &l);

	if (!err)
		*o = l.ctrl;
	return err;
}

/* The go1.22.0 PIE warning names that release and build mode only. */
static void test_known_crash(struct test_ctx *t)
{
	static const struct {
		const char *ver;
		bool pie, warned;
	} cases[] = {
		{ "go1.22.0", true, true },	{ "go1.22", true, true },
		{ "go1.22.0", false, false },	{ "go1.22.12", true, false },
		{ "go1.21.0", true, false },	{ "go1.23.0", true, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct go_version v;

		if (!ASSERT_OK(t, buildinfo__parse_version(cases[i].ver, &v), cases[i].ver))
			continue;
		ASSERT_EQ(t, goruntime__known_crash(&v, cases[i].pie) != NULL, cases[i].warned,
			  cases[i].ver);
	}
}

/* Without kept pauses (top, serve), quantiles come from the log-linear histogram: within half a
 * bucket (1/32) of the exact nearest-rank values, and the Prometheus buckets count exactly. */
static void test_histogram_quantiles(struct test_ctx *t)
{
	struct gc_state *g = gc_state__new(0), *ex = gc_state__new(GC_KEEP);
	struct gc_totals t0, t1, e0, e1;
	struct gc_window w, we;
	uint64_t prom = 0, under5us = 0;

	if (!ASSERT_OK_PTR(t, g, "new") || !ASSERT_OK_PTR(t, ex, "new exact"))
		goto cleanup;
	gc_state__totals(g, &t0);
	gc_state__totals(ex, &e0);
	/* 2000 pauses from 3 us to ~60 ms, spread geometrically */
	for (int i = 0; i < 2000; i++) {
		uint64_t base = 1000 * MS + i * MS, dur = (uint64_t)(3000 * pow(1.005, i));

		pause_at(g, 0, base, base + dur, GC_PAUSE_SWEEP_TERM, 0);
		pause_at(ex, 0, base, base + dur, GC_PAUSE_SWEEP_TERM, 0);
		under5us += dur <= 5000;
	}
	gc_state__totals(g, &t1);
	gc_state__totals(ex, &e1);
	gc_state__window(g, &t0, &t1, 0, UINT64_MAX, &w);
	gc_state__window(ex, &e0, &e1, 0, UINT64_MAX, &we);
	ASSERT_TRUE(t, w.quantiles_approx && !we.quantiles_approx, "approx only without a ring");
	ASSERT_TRUE(t, fabs(w.pause_p50_s / we.pause_p50_s - 1) <= 1.0 / 32, "p50 within 1/32");
	ASSERT_TRUE(t, fabs(w.pause_p99_s / we.pause_p99_s - 1) <= 1.0 / 32, "p99 within 1/32");
	ASSERT_TRUE(t, fabs(w.pause_max_s / we.pause_max_s - 1) <= 1.0 / 32, "max within 1/32");
	for (int k = 0; k <= GC_PROM_BUCKETS; k++)
		prom += t1.pause_prom[k];
	ASSERT_EQ(t, prom, 2000, "every pause in one Prometheus bucket");
	ASSERT_EQ(t, t1.pause_prom[0], under5us, "le=5e-06 holds the pauses up to 5 us");
cleanup:
	gc_state__free(g);
	gc_state__free(ex);
}

/* Cycle seq starts at t0 (tSweepTerm) and its sweep termination's stop is seen entry_ns later,
 * with work.tMark still at tmark. */
static void sweep_term(struct test_ctx *t, struct gc_state *g, struct hs_gc_start *st,
		       struct hs_gc_stw *sw, uint32_t seq, int64_t t0, int64_t entry_ns,
		       int64_t tmark)
{
	st->seq = seq;
	st->mark_start_ns = t0;
	ASSERT_OK(t, gc_state__add_event(g, st, sizeof(*st)), "start");
	sw->seq = seq;
	sw->start_args[1] = 2;	/* stwGCSweepTerm */
	sw->start_args[2] = sw->start_args[3] = (uint64_t)t0;
	sw->hdr.ts_ns = (uint64_t)(t0 + entry_ns);
	sw->work_times[0] = t0;
	sw->work_times[1] = tmark;
	ASSERT_OK(t, gc_state__add_event(g, sw, sizeof(*sw)), "sweep");
}

/* Raw events through gc_state__add_event with each version's register meaning. */
static void test_decode_versions(struct test_ctx *t)
{
	struct hs_gc_start st = { .hdr = { .ts_ns = 100 * MS, .type = HS_EV_GC_START },
				  .ctrl_addr = 0x1000, .mark_start_ns = 100 * MS, .trigger_kind = 2,
				  .procs = 4, .seq = 1 };
	struct hs_gc_stw sw = { .hdr = { .type = HS_EV_GC_STW }, .seq = 1 };
	struct hs_gc_end en = { .hdr = { .ts_ns = 200 * MS, .type = HS_EV_GC_END },
				.ctrl_addr = 0x1000, .seq = 1 };
	struct gc_config cfg = { .ncpu = 2, .nongc_stop_lo = 0x5000, .nongc_stop_hi = 0x5100 };
	struct gc_totals tot;
	struct gc_state *g;
	struct gc_cycle c;
	double pause_s;
	int64_t v;

	/* go1.19: no reason; the non-GC stopper is told by its call site */
	g = gc_state__new(GC_KEEP);
	cfg.go_minor = 19;
	cfg.have_offsets = !ctrl_offsets(19, &cfg.off);
	ASSERT_TRUE(t, cfg.have_offsets, "1.19 offsets");
	gc_state__config(g, &cfg);
	ASSERT_OK(t, gc_state__add_event(g, &st, sizeof(st)), "start");
	/* The events come at startTheWorldWithSema's entry: the sweep termination's end,
	 * work.tMark, is stored after it returns, and the next stop's work times carry it. */
	sw.stop_ns = 100 * MS + 2000;	/* later than tSweepTerm: the runtime's own start wins */
	sw.hdr.ts_ns = 100 * MS + 45000;
	sw.work_times[0] = 100 * MS;	/* tSweepTerm */
	sw.work_times[1] = 20 * MS;	/* tMark, still the previous cycle's */
	sw.stop_caller = 0x9000;
	ASSERT_OK(t, gc_state__add_event(g, &sw, sizeof(sw)), "stw1");
	gc_state__totals(g, &tot);
	ASSERT_EQ(t, tot.pauses, 0, "1.19 sweep termination waits for its tMark");
	sw.stop_ns = 150 * MS;
	sw.hdr.ts_ns = 150 * MS + 1000;
	sw.work_times[1] = 100 * MS + 50000;
	sw.stop_caller = 0x5010;	/* stopTheWorld.func1: ReadMemStats & co */
	ASSERT_OK(t, gc_state__add_event(g, &sw, sizeof(sw)), "other stw");
	gc_state__totals(g, &tot);
	ASSERT_EQ(t, tot.pauses, 1, "1.19 sweep termination settled by the next stop");
	ASSERT_NEAR(t, tot.pause_total_s, 50e-6, "1.19 sweep pause: tMark - tSweepTerm");
	sw.stop_ns = 190 * MS;
	sw.hdr.ts_ns = 190 * MS + 10000;
	sw.stop_caller = 0x9000;
	ASSERT_OK(t, gc_state__add_event(g, &sw, sizeof(sw)), "stw2");
	en.ctrl_len = cfg.off.size;
	v = 7 << 20;
	memcpy(en.ctrl + cfg.off.heap_marked, &v, 8);
	v = 9 << 20;
	memcpy(en.ctrl + cfg.off.last_heap_goal, &v, 8);
	v = 100;
	memcpy(en.ctrl + cfg.off.gc_percent, &v, 4);
	v = 5 * MS;
	memcpy(en.ctrl + cfg.off.assist_time, &v, 8);
	memcpy(en.ctrl + cfg.off.dedicated_mark_time, &v, 8);
	memcpy(en.ctrl + cfg.off.fractional_mark_time, &v, 8);
	v = 1 * MS;
	memcpy(en.ctrl + cfg.off.idle_mark_time, &v, 8);
	ASSERT_OK(t, gc_state__add_event(g, &en, sizeof(en)), "end");
	gc_state__totals(g, &tot);
	ASSERT_EQ(t, tot.cycles, 1, "1.19 cycles");
	ASSERT_EQ(t, tot.forced_cycles, 1, "1.19 forced");
	ASSERT_EQ(t, tot.pauses, 2, "1.19 GC pauses");
	ASSERT_NEAR(t, tot.pause_total_s, 60e-6, "1.19 pause total (sweep from tSweepTerm)");
	/* stwprocs = min(GOMAXPROCS 4, ncpu 2) */
	ASSERT_NEAR(t, tot.pause_cpu_s, 2 * 60e-6, "1.19 pause cpu");
	ASSERT_NEAR(t, tot.background_cpu_s, 10e-3, "dedicated + fractional");
	ASSERT_EQ(t, tot.heap_live_bytes, 7 << 20, "heap marked");
	ASSERT_EQ(t, tot.heap_goal_bytes, 9 << 20, "goal");
	ASSERT_EQ(t, tot.gogc, 100, "gogc");
	gc_state__free(g);

	/* go1.23+: reason and the runtime's stop clocks come with startTheWorldWithSema */
	g = gc_state__new(GC_KEEP);
	cfg.go_minor = 25;
	cfg.have_offsets = !ctrl_offsets(25, &cfg.off);
	gc_state__config(g, &cfg);
	st.trigger_kind = 0;
	ASSERT_OK(t, gc_state__add_event(g, &st, sizeof(st)), "start");
	memset(&sw, 0, sizeof(sw));
	sw.hdr.type = HS_EV_GC_STW;
	sw.seq = 1;
	sw.hdr.ts_ns = 100 * MS + 40000;	/* entry: the runtime's now comes a little later */
	sw.work_times[0] = 100 * MS;
	sw.start_args[1] = 2;			/* stwGCSweepTerm */
	sw.start_args[2] = 100 * MS;		/* startedStopping */
	sw.start_args[3] = 100 * MS + 10000;	/* finishedStopping */
	sw.start_args[4] = 15000;		/* stoppingCPUTime */
	ASSERT_OK(t, gc_state__add_event(g, &sw, sizeof(sw)), "stw1");
	sw.start_args[1] = 7;			/* stwReadMemStats */
	sw.hdr.ts_ns = 120 * MS;
	sw.work_times[1] = 100 * MS + 40500;	/* tMark */
	ASSERT_OK(t, gc_state__add_event(g, &sw, sizeof(sw)), "other");
	en.ctrl_len = 0;			/* unreadable gcController: heap unknown */
	ASSERT_OK(t, gc_state__add_event(g, &en, sizeof(en)), "end");
	gc_state__totals(g, &tot);
	ASSERT_EQ(t, tot.pauses, 1, "1.25 pauses");
	ASSERT_EQ(t, tot.forced_cycles, 0, "heap trigger is not forced");
	/* stopping CPU + (entry - finishedStopping) x GOMAXPROCS: the runtime reads its clock
	 * just before startTheWorldWithSema */
	ASSERT_NEAR(t, tot.pause_cpu_s, (15000 + 30000 * 4) * 1e-9, "1.23+ pause cpu");
	ASSERT_EQ(t, tot.heap_goal_bytes, 0, "no goal without gcController");
	ASSERT_EQ(t, gc_state__cycles(g, 0, UINT64_MAX, &c, 1), 1, "cycle");
	ASSERT_NEAR(t, c.sweep_term_pause_s, 40.5e-6, "1.25 sweep pause: tMark - tSweepTerm");

	/* A sweep termination whose cycle's later stops were lost ends at our entry time, when
	 * its cycle ends; one that the next cycle's stop finds (another tSweepTerm), likewise. */
	sweep_term(t, g, &st, &sw, 2, 300 * MS, 20000, 100 * MS + 40500);
	en.seq = 2;
	en.hdr.ts_ns = 310 * MS;
	ASSERT_OK(t, gc_state__add_event(g, &en, sizeof(en)), "end 2");
	ASSERT_EQ(t, gc_state__cycles(g, 300 * MS, UINT64_MAX, &c, 1), 1, "cycle 2");
	ASSERT_NEAR(t, c.sweep_term_pause_s, 20e-6, "lost tMark: our entry time");
	sweep_term(t, g, &st, &sw, 3, 400 * MS, 30000, 100 * MS + 40500);
	st.seq = 4;
	st.mark_start_ns = 500 * MS;
	ASSERT_OK(t, gc_state__add_event(g, &st, sizeof(st)), "start 4");
	sw.seq = 4;
	sw.start_args[2] = sw.start_args[3] = 500 * MS;
	sw.hdr.ts_ns = 500 * MS + 10000;
	sw.work_times[0] = 500 * MS;
	sw.work_times[1] = 400 * MS + 35000;	/* cycle 3's tMark, but a stop of cycle 4 */
	gc_state__totals(g, &tot);
	v = (int64_t)tot.pauses;
	pause_s = tot.pause_total_s;
	ASSERT_OK(t, gc_state__add_event(g, &sw, sizeof(sw)), "sweep 4");
	gc_state__totals(g, &tot);
	ASSERT_EQ(t, tot.pauses, v + 1, "cycle 3's sweep settled by cycle 4's stop");
	ASSERT_NEAR(t, tot.pause_total_s - pause_s, 30e-6,
		    "at our entry time, not another cycle's tMark");
	ASSERT_TRUE(t, gc_state__add_event(g, &en, 16) < 0, "short record rejected");
	gc_state__free(g);
}

/* Fixture directories with an unstripped goalloc: the e2e matrix plus the DWARF-only extras.
 * Every offset of user/goruntime/goruntime.c's row for that version against Go's own
 * debug/dwarf. */
static int check_dir(struct test_ctx *t, const char *tool, const char *dir, const char *ver,
		     bool seen[32])
{
	struct go_version gv = { .major = 1 };
	struct go_layout l;
	char cmd[PATH_MAX * 2 + 256], name[96];
	long off, size;
	int n = 0, want;
	FILE *p;

	if (sscanf(ver, "go1.%d", &gv.minor) != 1 || gv.minor < 19 || gv.minor > 31)
		return 0;
	snprintf(cmd, sizeof(cmd), "%s/%s/goalloc-plain", dir, ver);
	if (access(cmd, R_OK))
		return 0;
	if (!ASSERT_OK(t, goruntime__layout(&gv, &l), ver))
		return -1;
	if (!l.verified)
		return FAILF(t, "%s has a DWARF fixture but is outside the verified range", ver), -1;
	const struct {
		const char *n;
		int v;
	} f[] = {
		{ "size", l.ctrl.size }, { "gcPercent", l.ctrl.gc_percent },
		{ "memoryLimit", l.ctrl.memory_limit }, { "heapMarked", l.ctrl.heap_marked },
		{ "lastHeapGoal", l.ctrl.last_heap_goal }, { "assistTime", l.ctrl.assist_time },
		{ "dedicatedMarkTime", l.ctrl.dedicated_mark_time },
		{ "fractionalMarkTime", l.ctrl.fractional_mark_time },
		{ "idleMarkTime", l.ctrl.idle_mark_time },
		{ "runtime.m.p", l.m_p }, { "runtime.p.mcache", l.p_mcache },
		{ "runtime.mcache.nextSample", l.mcache_next_sample },
		{ "runtime.mcache.memProfRate", l.mcache_prof_rate },
		{ "runtime.p.gcAssistTime", l.p_gc_assist_time },
		/* the heap profile's buckets (user/goruntime/mprof.c) */
		{ "sizeof:runtime.bucket", l.mprof.bucket_size },
		{ "runtime.bucket.allnext", l.mprof.allnext }, { "runtime.bucket.typ", l.mprof.typ },
		{ "runtime.bucket.size", l.mprof.size }, { "runtime.bucket.nstk", l.mprof.nstk },
		{ "sizeof:runtime.memRecord", l.mprof.record_size },
		{ "runtime.memRecord.active", l.mprof.active },
		{ "runtime.memRecord.future", l.mprof.future },
		{ "sizeof:runtime.memRecordCycle", l.mprof.cycle_size },
		{ "runtime.memRecordCycle.allocs", l.mprof.allocs },
		{ "runtime.memRecordCycle.frees", l.mprof.frees },
		/* mProfCycle and mbuckets are read as a bare uint32 and pointer */
		{ "runtime.mProfCycleHolder.value", 0 },
		{ l.minor <= 22 ? "runtime/internal/atomic.UnsafePointer.value"
				: "internal/runtime/atomic.UnsafePointer.value", 0 },
		{ l.minor <= 22 ? "runtime/internal/atomic.Uint32.value"
				: "internal/runtime/atomic.Uint32.value", 0 },
	};
	char named[1024] = "";

	want = sizeof(f) / sizeof(f[0]);
	for (int i = 9; i < want; i++)
		snprintf(named + strlen(named), sizeof(named) - strlen(named), " %s", f[i].n);
	for (int pass = 0; pass < 2; pass++) {
		/* the gcControllerState fields, then the named ones */
		snprintf(cmd, sizeof(cmd), "%s %s/%s/goalloc-plain%s", tool, dir, ver,
			 pass ? named : "");
		p = popen(cmd, "r");
		if (!ASSERT_OK_PTR(t, p, cmd))
			return -1;
		while (fscanf(p, "%95s %ld", name, &off) == 2) {
			if (strcmp(name, "size") && fscanf(p, "%ld", &size) != 1)
				break;
			for (int i = 0; i < want; i++) {
				if (strcmp(f[i].n, name))
					continue;
				if (f[i].v != off)
					FAILF(t, "%s %s: table %d, DWARF %ld", ver, name, f[i].v, off);
				n++;
			}
		}
		pclose(p);
	}
	if (n != want)
		return FAILF(t, "%s: %d of %d fields read from DWARF", ver, n, want), -1;
	seen[gv.minor] = true;
	return 0;
}

static void test_ctrl_offsets_dwarf(struct test_ctx *t)
{
	const char *dirs[] = { fixtures_dir(), ".output/fixtures-extra" };
	const char *tool = ".output/gcoffsets";
	char missing[128] = "", cmd[256];
	bool seen[32] = { 0 };

	/* the oracle is Go's own debug/dwarf, built from tests/tools/gcoffsets */
	snprintf(cmd, sizeof(cmd), "cd tests/tools/gcoffsets && GOTOOLCHAIN=local GOFLAGS=-mod=mod "
		 "%s build -o ../../../%s . >/dev/null 2>&1",
		 access("/usr/local/go/bin/go", X_OK) ? "go" : "/usr/local/go/bin/go", tool);
	if (system(cmd)) {
		SKIP(t, "cannot build tests/tools/gcoffsets (no go toolchain)");
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		while (d && (e = readdir(d)))
			if (!strncmp(e->d_name, "go1.", 4))
				check_dir(t, tool, dirs[i], e->d_name, seen);
		if (d)
			closedir(d);
	}
	for (int m = 19; m <= 27; m++)
		if (!seen[m])
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 " 1.%d", m);
	/* 1.19-1.27 must each be proven unless their toolchain is unavailable here */
	if (missing[0] && !t->failed) {
		static char why[192];

		snprintf(why, sizeof(why), "no unstripped fixture for%s (scripts/build-fixtures.sh)",
			 missing);
		SKIP(t, why);
	}
}

int main(void)
{
	RUN(test_window_basics);
	RUN(test_cycle_list);
	RUN(test_histogram_quantiles);
	RUN(test_decode_versions);
	RUN(test_ctrl_offsets_dwarf);
	RUN(test_known_crash);
	return harness_done();
}
