// SPDX-License-Identifier: GPL-2.0
/* serve's schema: the sticky per-function cap (monotonic series that always sum to the total)
 * and the whole exposition of an attached and an unsupported target, golden and through
 * promtool. */
#include <math.h>
#include "harness.h"
#include "agg.h"
#include "gc.h"
#include "metrics.h"
#include "prom.h"

static void add(struct agg *a, const char *func, int line, const char *kind, double bytes)
{
	struct agg_frame fr[2] = { { agg__intern(a, func), agg__intern(a, "/src/main.go"),
				     (uint32_t)line },
				   { agg__intern(a, "main.main"), agg__intern(a, "/src/main.go"), 1 } };
	struct agg_sample s = { fr, 2, agg__intern(a, kind), bytes, bytes / 16, (uint64_t)bytes };

	agg__add(a, &s, 1);
}

/* Mark-assist seconds charged to func's site at line (the stack add() gave it). */
static void add_assist(struct agg *a, const char *func, int line, const char *kind, double s)
{
	struct agg_frame fr[2] = { { agg__intern(a, func), agg__intern(a, "/src/main.go"),
				     (uint32_t)line },
				   { agg__intern(a, "main.main"), agg__intern(a, "/src/main.go"), 1 } };
	int64_t k = agg__stack_ref(a, fr, 2, agg__intern(a, kind));

	if (k >= 0)
		agg__add_assist(a, (uint32_t)k, s, 1, 1, 1);
}

/* The assist seconds of all series against the total credited: nothing lost or counted
 * twice, in (other) included. */
static bool assist_sums(struct test_ctx *t, const struct agg *a, const struct metrics_func *m,
			size_t n, const char *when)
{
	struct agg_totals tot;
	double sum = 0;

	agg__totals(a, &tot);
	for (size_t i = 0; i < n; i++)
		sum += m[i].assist_s;
	return fabs(sum - tot.assist_s) <= 1e-9 * tot.assist_s ? true
							  : FAILF(t, "%s: assist sum %.6f, total %.6f",
								  when, sum, tot.assist_s);
}

static const struct metrics_func *series(const struct metrics_func *m, size_t n, const char *func,
					 const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].function, func) && !strcmp(m[i].kind, kind))
			return &m[i];
	return NULL;
}

/* A series' bytes; a missing one fails the test (NaN then fails every comparison too). */
static double bytes_of(struct test_ctx *t, const struct metrics_func *m, size_t n, const char *func,
		       const char *kind)
{
	const struct metrics_func *f = series(m, n, func, kind);

	if (!f) {
		FAILF(t, "no series for %s/%s", func, kind);
		return __builtin_nan("");
	}
	return f->bytes;
}

static bool sums_to_total(struct test_ctx *t, const struct agg *a, const struct metrics_func *m,
			  size_t n, const char *when)
{
	struct agg_totals tot;
	double sum = 0;

	agg__totals(a, &tot);
	for (size_t i = 0; i < n; i++)
		sum += m[i].bytes;
	return fabs(sum - tot.bytes) <= 1e-9 * tot.bytes ? true
							  : FAILF(t, "%s: series sum %.3f, total %.3f",
								  when, sum, tot.bytes);
}

static void test_cap_sticky(struct test_ctx *t)
{
	struct agg *a = agg__new();
	struct series_cap *c = series_cap__new(2);
	const struct metrics_func *m;
	double prev_other, prev_a;
	size_t n;

	if (!ASSERT_OK_PTR(t, a, "agg") || !ASSERT_OK_PTR(t, c, "cap"))
		goto cleanup;
	add(a, "main.a", 10, "new", 1000);
	add(a, "main.a", 11, "make-slice", 500);	/* a second kind of main.a: its own pair */
	add(a, "main.b", 20, "new", 300);
	agg__add_unattributed(a, &(struct agg_sample){ .bytes = 7, .objects = 1 }, 1);
	add_assist(a, "main.a", 10, "new", 0.25);
	add_assist(a, "main.b", 20, "new", 0.125);
	agg__add_assist_unattributed(a, 0.0625, 1, 1);
	if (!ASSERT_OK(t, series_cap__update(c, a, &m, &n), "first update"))
		goto cleanup;
	ASSERT_EQ(t, n, 3, "two admitted pairs and (other)");
	ASSERT_TRUE(t, series(m, n, "main.a", "new") && series(m, n, "main.a", "make-slice"),
		    "the two largest pairs get series");
	ASSERT_TRUE(t, !series(m, n, "main.b", "new"), "the third goes to (other)");
	/* admitted at their first scrape: from 0, nothing was exported before */
	ASSERT_DBL_EQ(t, bytes_of(t, m, n, "main.a", "new"), 1000, "main.a new from zero");
	ASSERT_DBL_EQ(t, bytes_of(t, m, n, METRICS_OTHER, METRICS_OTHER), 307,
		  "(other) holds main.b and the unattributed sample");
	ASSERT_EQ(t, series_cap__overflow(c), 1, "one pair without a series");
	sums_to_total(t, a, m, n, "first");
	if (series(m, n, "main.a", "new"))
		ASSERT_DBL_EQ(t, series(m, n, "main.a", "new")->assist_s, 0.25, "main.a assist");
	ASSERT_DBL_EQ(t, series(m, n, METRICS_OTHER, METRICS_OTHER)->assist_s, 0.1875,
		      "(other) holds main.b's assist and the unattributed one");
	assist_sums(t, a, m, n, "first");
	prev_other = bytes_of(t, m, n, METRICS_OTHER, METRICS_OTHER);
	prev_a = bytes_of(t, m, n, "main.a", "new");

	/* main.b overtakes everyone: membership is sticky, it stays in (other) */
	add(a, "main.b", 20, "new", 5000);
	add(a, "main.a", 10, "new", 10);
	add_assist(a, "main.b", 20, "new", 1);
	if (!ASSERT_OK(t, series_cap__update(c, a, &m, &n), "second update"))
		goto cleanup;
	ASSERT_TRUE(t, !series(m, n, "main.b", "new"), "no churn: main.b still has no series");
	ASSERT_DBL_EQ(t, bytes_of(t, m, n, METRICS_OTHER, METRICS_OTHER), prev_other + 5000,
		  "(other) grew by main.b's increment");
	ASSERT_DBL_EQ(t, bytes_of(t, m, n, "main.a", "new"), prev_a + 10, "main.a grew by 10");
	sums_to_total(t, a, m, n, "second");
	assist_sums(t, a, m, n, "second");
	series_cap__free(c);

	/* A wider cap admits main.b late: its series starts from what it had at the previous
	 * update, which (other) keeps, so nothing jumps and nothing goes down. */
	c = series_cap__new(3);
	if (!ASSERT_OK_PTR(t, c, "cap 3"))
		goto cleanup;
	series_cap__free(c);
	c = series_cap__new(1);
	ASSERT_OK(t, series_cap__update(c, a, &m, &n), "cap 1");
	ASSERT_TRUE(t, series(m, n, "main.b", "new") != NULL, "cap 1 admits the largest now");
	prev_other = bytes_of(t, m, n, METRICS_OTHER, METRICS_OTHER);
	add(a, "main.c", 30, "boxing", 50);
	ASSERT_OK(t, series_cap__update(c, a, &m, &n), "cap 1 again");
	ASSERT_TRUE(t, bytes_of(t, m, n, METRICS_OTHER, METRICS_OTHER) >= prev_other,
		    "(other) never goes down");
	sums_to_total(t, a, m, n, "cap 1");
	assist_sums(t, a, m, n, "cap 1");
cleanup:
	series_cap__free(c);
	agg__free(a);
}

static void test_label_cut(struct test_ctx *t)
{
	char buf[METRICS_MAX_LABEL + 1], other[METRICS_MAX_LABEL + 1], name[400];
	const char *v;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	ASSERT_STREQ(t, metrics__label_value("main.f", buf, sizeof(buf)), "main.f", "short kept");
	v = metrics__label_value(name, buf, sizeof(buf));
	ASSERT_EQ(t, strlen(v), METRICS_MAX_LABEL, "cut to the limit");
	name[0] = 'y';
	ASSERT_TRUE(t, strcmp(v, metrics__label_value(name, other, sizeof(other))),
		    "names that differ only after the cut stay distinct");
}

static const struct gc_totals gc_example = {
	.cycles = 40, .forced_cycles = 2, .pauses = 80, .pause_total_s = 0.012,
	.assist_cpu_s = 0.5, .background_cpu_s = 1.25, .idle_cpu_s = 0.125, .pause_cpu_s = 0.0625,
	.heap_live_bytes = 4 << 20, .heap_goal_bytes = 8 << 20, .gomaxprocs = 4, .gogc = 100,
	.gomemlimit = INT64_MAX,
	.pause_prom = { [3] = 50, [5] = 28, [9] = 2 },
};

static int build(struct prom_writer *w)
{
	static const struct metrics_func funcs[] = {
		{ "main.handle", "new", 1048576, 65536, 0.375 },
		{ "encoding/json.(*decodeState).object", "map-growth", 524288, 4096, 0.125 },
		{ METRICS_OTHER, METRICS_OTHER, 4096, 12, 0 },
	};
	const struct metrics_target tg[] = {
		{ .pid = 4242, .comm = "caddy", .exe = "/usr/bin/caddy", .go_version = "go1.19.8",
		  .cgroup = "/system.slice/caddy.service", .state = "attached", .attached = true,
		  .sample_rate = 524288, .alloc_bytes = 1576960, .alloc_objects = 69644,
		  .funcs = funcs, .nfuncs = 3, .gc_on = true, .assist_on = true, .gc = &gc_example,
		  .cpu_known = true,
		  .process_cpu_s = 3.5, .lost_events = 0 },
		{ .pid = 99, .comm = "old", .exe = "/opt/old \"tool\"", .go_version = "go1.16.15",
		  .state = "unsupported",
		  .reason = "built with go1.16.15; heapscope needs Go 1.18 or newer" },
	};
	const struct metrics_self self = { .cpu_s = 0.25, .rss_bytes = 21 << 20,
					   .scrape_duration_s = 0.0005, .scrapes = 7 };

	return metrics__render(w, tg, 2, &self);
}

static void check_golden(struct test_ctx *t, const char *name, const struct strbuf *sb)
{
	char path[256], want[65536];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "tests/golden/%s", name);
	if (getenv("HEAPSCOPE_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		if (f) {
			fwrite(sb->buf, 1, sb->len, f);
			fclose(f);
		}
	}
	f = fopen(path, "r");
	if (!ASSERT_OK_PTR(t, f, path))
		return;
	n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = 0;
	if (n != sb->len || memcmp(want, sb->buf, n))
		FAILF(t, "%s differs from the golden file; got:\n%.*s", name, (int)sb->len, sb->buf);
}

static void test_exposition(struct test_ctx *t)
{
	struct prom_writer *w = NULL;
	struct strbuf text = {}, om = {};
	char out[8192];
	int rc;

	if (!ASSERT_OK(t, prom__new(&w), "new") || !ASSERT_OK(t, build(w), "render targets"))
		goto cleanup;
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &text), "text") ||
	    !ASSERT_OK(t, prom__render(w, PROM_FMT_OPENMETRICS, &om), "openmetrics"))
		goto cleanup;
	check_golden(t, "metrics.txt", &text);
	check_golden(t, "metrics.om.txt", &om);
	if (system("command -v promtool >/dev/null 2>&1")) {
		SKIP(t, "promtool missing (Debian package prometheus: scripts/install-deps.sh)");
		goto cleanup;
	}
	rc = run_with_input("promtool check metrics", text.buf, text.len, out, sizeof(out));
	if (rc != 0)
		FAILF(t, "promtool check metrics exited %d:\n%s", rc, out);
cleanup:
	strbuf_free(&text);
	strbuf_free(&om);
	prom__free(w);
}

int main(void)
{
	RUN(test_cap_sticky);
	RUN(test_label_cut);
	RUN(test_exposition);
	return harness_done();
}
