// SPDX-License-Identifier: GPL-2.0
/* Aggregation, allocation kinds, unsampling, size classes and the stat report renderers. */
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include "harness.h"
#include "agg.h"
#include "report.h"
#include "sizeclass.h"

static const struct agg_func_stats *find_func(struct agg *a, const char *name)
{
	size_t n;
	const struct agg_func_stats *f = agg__funcs(a, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(agg__str(a, f[i].func), name))
			return &f[i];
	return NULL;
}

static void test_agg_flat_cum(struct test_ctx *t)
{
	struct agg *a = agg__new();
	uint32_t site, caller, mainf, file, kind_new, kind_app;
	const struct agg_func_stats *f;
	struct agg_totals tot;
	size_t nstacks;

	if (!ASSERT_OK_PTR(t, a, "agg__new"))
		return;
	site = agg__intern(a, "main.alloc");
	caller = agg__intern(a, "main.worker");
	mainf = agg__intern(a, "main.main");
	file = agg__intern(a, "/src/main.go");
	kind_new = agg__intern(a, "new");
	kind_app = agg__intern(a, "append-growth");
	ASSERT_EQ(t, agg__intern(a, "main.alloc"), site, "interning is idempotent");

	struct agg_frame s1[] = { { site, file, 10 }, { caller, file, 20 }, { mainf, file, 30 } };
	struct agg_frame s2[] = { { site, file, 12 }, { caller, file, 21 }, { mainf, file, 30 } };
	/* Recursion: worker appears twice in one stack but counts once in its cum. */
	struct agg_frame s3[] = { { caller, file, 22 }, { caller, file, 23 }, { mainf, file, 30 } };
	struct agg_sample a1 = { s1, 3, kind_new, 100, 1, 100 };
	struct agg_sample a2 = { s2, 3, kind_app, 300, 2, 300 };
	struct agg_sample a3 = { s3, 3, kind_new, 50, 1, 50 };

	ASSERT_OK(t, agg__add(a, &a1, 1000), "add 1");
	ASSERT_OK(t, agg__add(a, &a1, 2000), "add 1 again");
	ASSERT_OK(t, agg__add(a, &a2, 3000), "add 2");
	ASSERT_OK(t, agg__add(a, &a3, 4000), "add 3");
	agg__add_unattributed(a, &(struct agg_sample){ .bytes = 7, .objects = 1 }, 500);

	f = find_func(a, "main.alloc");
	if (!ASSERT_OK_PTR(t, f, "main.alloc row"))
		goto cleanup;
	ASSERT_DBL_EQ(t, f->flat_bytes, 500, "alloc flat bytes");
	ASSERT_DBL_EQ(t, f->cum_bytes, 500, "alloc cum bytes");
	ASSERT_EQ(t, f->samples, 3, "alloc samples");
	ASSERT_EQ(t, f->line, 12, "dominant line is the one with most bytes");
	ASSERT_EQ(t, f->kind, kind_app, "dominant kind is the one with most bytes");
	f = find_func(a, "main.worker");
	if (!ASSERT_OK_PTR(t, f, "main.worker row"))
		goto cleanup;
	ASSERT_DBL_EQ(t, f->flat_bytes, 50, "worker flat bytes");
	ASSERT_DBL_EQ(t, f->cum_bytes, 550, "worker cum counts a recursive stack once");
	f = find_func(a, "main.main");
	if (!ASSERT_OK_PTR(t, f, "main.main row"))
		goto cleanup;
	ASSERT_DBL_EQ(t, f->flat_bytes, 0, "main flat");
	ASSERT_DBL_EQ(t, f->cum_bytes, 550, "main cum");
	agg__stacks(a, &nstacks);
	ASSERT_EQ(t, nstacks, 3, "distinct stacks (same frames + same kind merge)");
	agg__totals(a, &tot);
	ASSERT_DBL_EQ(t, tot.bytes, 557, "total bytes include unattributed");
	ASSERT_EQ(t, tot.unattributed, 1, "unattributed samples");
	ASSERT_EQ(t, tot.first_ns, 500, "first timestamp");
	ASSERT_EQ(t, tot.last_ns, 4000, "last timestamp");
	ASSERT_EQ(t, agg__add(a, &(struct agg_sample){ s1, 0 }, 1), -EINVAL, "empty stack refused");
cleanup:
	agg__free(a);
}

static void test_agg_many(struct test_ctx *t)
{
	struct agg *a = agg__new();
	uint32_t caller = agg__intern(a, "main.caller");
	char name[32];
	size_t n;

	/* Enough distinct functions and stacks to force every table to grow several times. */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "main.f%d", i % 5000);
		struct agg_frame fr[2] = { { agg__intern(a, name), 0, (uint32_t)i }, { caller, 0, 1 } };
		struct agg_sample s = { fr, 2, agg__intern(a, "new"), 1, 1, 1 };

		if (!ASSERT_OK(t, agg__add(a, &s, i), "add"))
			break;
	}
	agg__funcs(a, &n);
	ASSERT_EQ(t, n, 5001, "functions (5000 sites + the shared caller)");
	agg__stacks(a, &n);
	ASSERT_EQ(t, n, 20000, "stacks");
	if (ASSERT_OK_PTR(t, find_func(a, "main.f42"), "main.f42 row"))
		ASSERT_DBL_EQ(t, find_func(a, "main.f42")->flat_bytes, 4, "rows survive rehashing");
	agg__free(a);
	agg__free(NULL);
}

static void test_kinds(struct test_ctx *t)
{
	static const struct {
		const char *fn, *kind;
	} cases[] = {
		{ "runtime.newobject", "new" },
		{ "runtime.mallocgcSmallScanNoHeaderSC4", "new" },
		{ "runtime.makeslice", "make-slice" },
		{ "runtime.makeslice64", "make-slice" },
		{ "runtime.growslice", "append-growth" },
		{ "runtime.concatstring3", "string-concat" },
		{ "runtime.concatstrings", "string-concat" },
		{ "runtime.concatbyte2", "string-concat" },
		{ "runtime.convTstring", "boxing" },
		{ "runtime.convT64", "boxing" },
		{ "runtime.mapassign_fast64", "map-growth" },
		{ "runtime.makemap_small", "map-growth" },
		{ "internal/runtime/maps.(*Map).growToTable", "map-growth" },
		{ "runtime.slicebytetostring", "conversion" },
		{ "runtime.stringtoslicebyte", "conversion" },
		{ "internal/bytealg.MakeNoZero", "make-slice" },
		{ "runtime.newproc1", "newproc1" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_STREQ(t, alloc_kind_of(cases[i].fn), cases[i].kind, cases[i].fn);
}

static void test_runtime_frames(struct test_ctx *t)
{
	ASSERT_TRUE(t, is_runtime_frame("runtime.mallocgc", NULL), "runtime.");
	ASSERT_TRUE(t, is_runtime_frame("internal/runtime/maps.newarray", NULL), "internal/runtime");
	ASSERT_TRUE(t, is_runtime_frame("internal/bytealg.MakeNoZero", "/usr/local/go/src/runtime/slice.go"),
		    "linknamed runtime code");
	ASSERT_TRUE(t, is_runtime_frame("reflect.unsafe_New", "runtime/malloc.go"), "-trimpath");
	ASSERT_TRUE(t, !is_runtime_frame("runtime/pprof.writeHeap", "/go/src/runtime/pprof/pprof.go"),
		    "runtime/pprof is not the runtime");
	ASSERT_TRUE(t, !is_runtime_frame("main.f", "/home/me/runtime/x.go"), "a user dir named runtime");
	ASSERT_TRUE(t, !is_runtime_frame("strings.Repeat", "/usr/lib/go/src/strings/strings.go"), "strings");
}

static void test_unsample(struct test_ctx *t)
{
	/* pprof: scale = 1/(1-exp(-size/rate)) */
	ASSERT_TRUE(t, fabs(unsample_scale(524288, 524288) - 1 / (1 - exp(-1))) < 1e-12, "size == rate");
	ASSERT_TRUE(t, fabs(unsample_scale(16, 524288) * 16 - 524288) < 10, "small object ~ rate bytes");
	ASSERT_TRUE(t, unsample_scale(10 << 20, 524288) - 1 < 1e-8, "huge object counts once");
	ASSERT_TRUE(t, unsample_scale(100, 1) == 1, "rate 1: every allocation recorded");
	ASSERT_TRUE(t, unsample_scale(100, 0) == 1, "rate 0 guarded");
}

static void test_sizeclass(struct test_ctx *t)
{
	ASSERT_EQ(t, go_slot_size(0), 0, "0");
	ASSERT_EQ(t, go_slot_size(1), 8, "1");
	ASSERT_EQ(t, go_slot_size(8), 8, "8");
	ASSERT_EQ(t, go_slot_size(9), 16, "9");
	ASSERT_EQ(t, go_slot_size(33), 48, "33");
	ASSERT_EQ(t, go_slot_size(4001), 4096, "4001");
	ASSERT_EQ(t, go_slot_size(32768), 32768, "largest class");
	ASSERT_EQ(t, go_slot_size(32769), 40960, "large: whole pages");
	ASSERT_EQ(t, go_slot_size(96 << 10), 96 << 10, "page multiple");
}

static struct report synthetic_report(struct report_row *rows)
{
	struct report r = {
		.pid = 4242, .exe = "/usr/bin/caddy", .go_version = "go1.19.8", .mode = "sampled",
		.sample_bytes = 524288, .rate_written = true, .duration_s = 5,
		.alloc_bytes = 1.5 * (1 << 30), .alloc_objects = 12.5e6, .samples = 3072,
		.process_cpu_s = 4.25, .lost_events = 2, .rows = rows, .nrows = 3,
	};

	rows[0] = (struct report_row){ "main.largeBuffer", "/src/app/main.go", "make-slice", 95,
				       1 << 30, 4096, 1 << 30, 2048 };
	rows[1] = (struct report_row){ "main.concat\"q\"", "/src/app/util.go", "string-concat", 7,
				       0.375 * (1 << 30), 12e6, 0.4 * (1 << 30), 768 };
	static struct report_frame frames[] = {
		{ "main.largeBuffer", "/src/app/main.go", 95 },
		{ "main.handle", "/src/app/main.go", 40 },
		{ "net/http.HandlerFunc.ServeHTTP", "/usr/lib/go/src/net/http/server.go", 2136 },
	};

	rows[2] = (struct report_row){ "encoding/json.(*decodeState).object", "", "map-growth", 0,
				       0.125 * (1 << 30), 0.5e6, 0.125 * (1 << 30), 256 };
	rows[0].stacks[0] = (struct report_stack){ frames, 3, 0.75 * (1 << 30), 3072, 1536 };
	rows[0].stacks[1] = (struct report_stack){ frames, 1, 0.25 * (1 << 30), 1024, 512 };
	rows[0].nstacks = 2;
	return r;
}

/* Compare with tests/golden/NAME, or write it when HEAPSCOPE_UPDATE_GOLDEN is set. */
static void check_golden(struct test_ctx *t, const char *name, const struct strbuf *sb)
{
	char path[256], buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "tests/golden/%s", name);
	if (getenv("HEAPSCOPE_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		if (ASSERT_OK_PTR(t, f, path)) {
			fwrite(sb->buf, 1, sb->len, f);
			fclose(f);
		}
		return;
	}
	f = fopen(path, "r");
	if (!ASSERT_OK_PTR(t, f, path))
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (n != sb->len || memcmp(buf, sb->buf, n))
		FAILF(t, "%s differs from the golden file; got:\n%.*s", name, (int)sb->len, sb->buf);
}

static void test_report_text(struct test_ctx *t)
{
	struct report_row rows[3];
	struct report r = synthetic_report(rows);
	struct strbuf sb = { 0 };

	report__text(&r, &sb, 0);
	check_golden(t, "stat.txt", &sb);
	strbuf_free(&sb);
	r.nrows = 0;
	r.target_exited = true;
	report__text(&r, &sb, 0);
	ASSERT_TRUE(t, strstr(sb.buf, "no allocation samples") != NULL, "empty report says so");
	ASSERT_TRUE(t, strstr(sb.buf, "target exited") != NULL, "exit noted");
	strbuf_free(&sb);
}

static void test_report_json(struct test_ctx *t)
{
	struct report_row rows[3];
	struct report r = synthetic_report(rows);
	struct strbuf sb = { 0 };

	report__json(&r, &sb);
	check_golden(t, "stat.json", &sb);
	strbuf_free(&sb);
}

/* A report with in-use figures: the extra columns, a site only the heap profile knows, a row
 * that allocated nothing in the window, and the sorts on in-use and growth. */
static void test_report_inuse(struct test_ctx *t)
{
	struct report_row rows[4];
	struct report_site s0[2] = {
		{ "/src/app/main.go", "make-slice", 95, 768 << 20, 3072, 0, 0, 1500,
		  { true, 48 << 20, 192, 1 << 20, true } },
		{ "/src/app/main.go", "", 97, 0, 0, 0, 0, 0, { true, 2 << 20, 8, 0, false } },
	};
	struct report r = synthetic_report(rows);
	struct strbuf sb = { 0 };

	r.inuse_on = true;
	r.inuse_since_attach = true;
	r.inuse_bytes = 180 << 20;
	r.inuse_objects = 1.2e6;
	r.inuse_readings = 5;
	r.inuse_trend_s = 4;
	rows[0].inuse = (struct report_inuse){ true, 50 << 20, 200, 1 << 20, true };
	rows[0].sites = s0;
	rows[0].nsites = 2;
	rows[1].inuse = (struct report_inuse){ true, 2 << 20, 65536, -4096, false };
	rows[2].inuse = (struct report_inuse){ true, 0, 0, 0, false };
	rows[3] = (struct report_row){ .function = "main.loadCache", .file = "/src/app/cache.go",
				       .kind = "", .line = 12,
				       .inuse = { true, 128 << 20, 1e6, 0, false } };
	r.nrows = 4;
	report__text(&r, &sb, 0);
	check_golden(t, "stat_inuse.txt", &sb);
	strbuf_free(&sb);
	r.sort = REPORT_SORT_INUSE;
	report__text(&r, &sb, 2);
	ASSERT_TRUE(t, strstr(sb.buf, "main.loadCache") && !strstr(sb.buf, "encoding/json"),
		    "sorted by in-use: the cache first, the JSON decoder past the first two");
	ASSERT_TRUE(t, strstr(sb.buf, "main.loadCache") < strstr(sb.buf, "main.largeBuffer"),
		    "in-use order");
	strbuf_free(&sb);
	r.sort = REPORT_SORT_GROWTH;
	report__text(&r, &sb, 1);
	ASSERT_TRUE(t, strstr(sb.buf, "LEAK") && strstr(sb.buf, "main.largeBuffer"),
		    "the leak suspect first");
	strbuf_free(&sb);
	report__json(&r, &sb);
	check_golden(t, "stat_inuse.json", &sb);
	strbuf_free(&sb);
}

/* Mark-assist CPU: flat on the site and its (line, kind), cum once per function of the stack,
 * on the stack row; a stack that only assists gets rows without samples. */
static void test_agg_assist(struct test_ctx *t)
{
	struct agg *a = agg__new();
	uint32_t site, caller, mainf, idle, file, kind_new;
	const struct agg_func_stats *f;
	const struct agg_stack_stats *st;
	struct agg_totals tot;
	int64_t k1, k2, k3;
	size_t n;

	if (!ASSERT_OK_PTR(t, a, "agg__new"))
		return;
	site = agg__intern(a, "main.alloc");
	caller = agg__intern(a, "main.worker");
	mainf = agg__intern(a, "main.main");
	idle = agg__intern(a, "main.idle");
	file = agg__intern(a, "/src/main.go");
	kind_new = agg__intern(a, "new");

	struct agg_frame s1[] = { { site, file, 10 }, { caller, file, 20 }, { mainf, file, 30 } };
	struct agg_frame s2[] = { { caller, file, 22 }, { caller, file, 23 }, { mainf, file, 30 } };
	struct agg_frame s3[] = { { idle, file, 40 }, { mainf, file, 31 } };
	struct agg_sample a1 = { s1, 3, kind_new, 100, 1, 100 };

	ASSERT_OK(t, agg__add(a, &a1, 1000), "sample");
	k1 = agg__stack_ref(a, s1, 3, kind_new);
	k2 = agg__stack_ref(a, s2, 3, kind_new);
	k3 = agg__stack_ref(a, s3, 2, kind_new);
	if (!ASSERT_EQ(t, k1, 0, "the sample's stack row") || !ASSERT_EQ(t, k2, 1, "new row") ||
	    !ASSERT_EQ(t, k3, 2, "new row"))
		goto cleanup;
	ASSERT_EQ(t, agg__stack_ref(a, s2, 3, kind_new), k2, "stable");
	ASSERT_EQ(t, agg__stack_ref(a, s1, 0, kind_new), -EINVAL, "no frames");
	ASSERT_OK(t, agg__add_assist(a, k1, 0.5, 3, 2, 2000), "assist 1");
	ASSERT_OK(t, agg__add_assist(a, k2, 0.25, 1, 1, 2000), "assist 2");
	ASSERT_OK(t, agg__add_assist(a, k3, 0.125, 2, 1, 2000), "assist 3");
	ASSERT_EQ(t, agg__add_assist(a, 3, 1, 1, 1, 2000), -EINVAL, "no such row");
	agg__add_assist_unattributed(a, 0.0625, 1, 2000);

	f = find_func(a, "main.alloc");
	if (ASSERT_OK_PTR(t, f, "main.alloc")) {
		ASSERT_TRUE(t, f->assist_s == 0.5 && f->cum_assist_s == 0.5, "alloc flat and cum");
		ASSERT_DBL_EQ(t, f->assists, 3, "alloc assists");
		ASSERT_EQ(t, f->assist_samples, 2, "alloc assist samples");
		ASSERT_EQ(t, f->nsites, 1, "the assist shares the sample's site");
		ASSERT_TRUE(t, f->sites[0].assist_s == 0.5 && f->sites[0].bytes == 100, "site");
	}
	f = find_func(a, "main.worker");
	if (ASSERT_OK_PTR(t, f, "main.worker"))
		ASSERT_TRUE(t, f->assist_s == 0.25 && f->cum_assist_s == 0.75,
			    "worker: flat in s2, cum in s1 and once in the recursive s2");
	f = find_func(a, "main.main");
	if (ASSERT_OK_PTR(t, f, "main.main"))
		ASSERT_TRUE(t, f->assist_s == 0 && f->cum_assist_s == 0.875, "main: cum only");
	f = find_func(a, "main.idle");
	if (ASSERT_OK_PTR(t, f, "main.idle")) {
		ASSERT_EQ(t, f->samples, 0, "assist-only row has no samples");
		ASSERT_EQ(t, f->line, 40, "it still names its line");
		ASSERT_TRUE(t, f->assist_s == 0.125, "idle flat");
	}
	st = agg__stacks(a, &n);
	ASSERT_EQ(t, n, 3, "stacks");
	ASSERT_TRUE(t, st[0].assist_s == 0.5 && st[0].samples == 1, "stack row 0");
	ASSERT_TRUE(t, st[2].assist_s == 0.125 && st[2].samples == 0, "stack row 2");
	agg__totals(a, &tot);
	ASSERT_TRUE(t, tot.assist_s == 0.9375 && tot.assist_unattributed_s == 0.0625, "totals");
	ASSERT_DBL_EQ(t, tot.assists, 7, "total assists");
	ASSERT_EQ(t, tot.samples, 1, "assists are not samples");
cleanup:
	agg__free(a);
}

/* With GC figures and mark assists: the ASSIST/s column and the assist fields, per function
 * and per site; a function that only assists has a row without bytes. */
static void test_report_assist(struct test_ctx *t)
{
	struct report_row rows[4];
	struct report_site sites[2] = {
		{ "/src/app/util.go", "string-concat", 7, 0.25 * (1 << 30), 8e6, 0, 0, 512,
		  .assist_s = 0.03 },
		{ "/src/app/util.go", "boxing", 9, 0.125 * (1 << 30), 4e6, 0, 0, 256,
		  .assist_s = 0.01 },
	};
	struct report r = synthetic_report(rows);
	struct strbuf sb = { 0 };

	r.gc_on = r.assist_on = true;
	r.gc = (struct gc_window){ .cycles = 120, .pauses = 240, .pause_total_s = 0.012,
				   .pause_max_s = 0.0004, .pause_p50_s = 0.00005,
				   .pause_p99_s = 0.0003, .cpu_s = 0.9, .assist_cpu_s = 0.125,
				   .background_cpu_s = 0.5, .idle_cpu_s = 0.2, .pause_cpu_s = 0.075,
				   .cpu_share = 0.09, .heap_live_bytes = 64 << 20,
				   .heap_goal_bytes = 80 << 20, .gomaxprocs = 2, .gogc = 25,
				   .gomemlimit = INT64_MAX };
	r.assist_unattributed_s = 0.005;
	r.assist_attached_share = 0.25;
	rows[0].assist_s = 0.08;
	rows[0].assists = 400;
	rows[0].assist_samples = 310;
	rows[1].assist_s = 0.04;
	rows[1].assists = 200.5;
	rows[1].assist_samples = 150;
	rows[1].sites = sites;
	rows[1].nsites = 2;
	rows[3] = (struct report_row){ "main.idle", "/src/app/main.go", "new", 40 };
	rows[3].assist_s = 0.0002;
	rows[3].assists = 1;
	rows[3].assist_samples = 1;
	r.nrows = 4;
	report__text(&r, &sb, 0);
	check_golden(t, "stat_assist.txt", &sb);
	strbuf_free(&sb);
	report__json(&r, &sb);
	check_golden(t, "stat_assist.json", &sb);
	strbuf_free(&sb);
}

int main(void)
{
	RUN(test_agg_flat_cum);
	RUN(test_agg_assist);
	RUN(test_agg_many);
	RUN(test_kinds);
	RUN(test_runtime_frames);
	RUN(test_unsample);
	RUN(test_sizeclass);
	RUN(test_report_text);
	RUN(test_report_json);
	RUN(test_report_inuse);
	RUN(test_report_assist);
	return harness_done();
}
