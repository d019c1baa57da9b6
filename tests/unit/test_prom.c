// SPDX-License-Identifier: GPL-2.0
/* The exposition writer: golden text 0.0.4 and OpenMetrics output, escaping, histograms, the
 * misuse it must refuse, Accept negotiation, and the real parsers (promtool, and the
 * OpenMetrics parser of python3-prometheus-client) on a representative heapscope exposition. */
#include <float.h>
#include <math.h>
#include <sys/wait.h>
#include "harness.h"
#include "prom.h"

static const struct prom_desc d_alloc = {
	"heapscope_alloc_bytes_total", PROM_COUNTER, "bytes", "Bytes allocated on the Go heap.",
};
static const struct prom_desc d_cpu = {
	"heapscope_gc_cpu_seconds_total", PROM_COUNTER, "seconds", "GC CPU time by class.",
};
static const struct prom_desc d_live = {
	"heapscope_heap_live_bytes", PROM_GAUGE, "bytes", "Live heap after the last GC.",
};
static const struct prom_desc d_ratio = {
	"heapscope_test_ratio", PROM_GAUGE, NULL, "A gauge with odd values.",
};
static const char *const pause_le[] = { "1e-05", "0.0001", "0.001", "0.5", "1" };
static const struct prom_buckets pause_buckets = { 5, pause_le };
static const struct prom_desc d_pause = {
	"heapscope_gc_pause_seconds", PROM_HISTOGRAM, "seconds", "Stop-the-world pauses.",
	&pause_buckets,
};
static const struct prom_desc d_info = {
	"heapscope_target_info", PROM_INFO, NULL, "Target identity; value 1.",
};

/* Each line of want must appear in got exactly as written, in order, and nothing else. */
static bool expect_text(struct test_ctx *t, const struct strbuf *sb, const char *want,
			const char *what)
{
	return ASSERT_STREQ(t, sb->buf ? sb->buf : "", want, what);
}

static void test_fmt_double(struct test_ctx *t)
{
	static const struct {
		double v;
		const char *text, *om;
	} cases[] = {
		/* OpenMetrics' canonical examples */
		{ 0.0, "0", "0.0" },
		{ 0.001, "0.001", "0.001" },
		{ 0.002, "0.002", "0.002" },
		{ 0.01, "0.01", "0.01" },
		{ 0.1, "0.1", "0.1" },
		{ 0.9, "0.9", "0.9" },
		{ 0.95, "0.95", "0.95" },
		{ 0.99, "0.99", "0.99" },
		{ 0.999, "0.999", "0.999" },
		{ 1.0, "1", "1.0" },
		{ 1.7, "1.7", "1.7" },
		{ 10.0, "10", "10.0" },
		{ 1e-10, "1e-10", "1e-10" },
		{ 1e-09, "1e-09", "1e-09" },
		{ 1e-05, "1e-05", "1e-05" },
		{ 0.0001, "0.0001", "0.0001" },
		{ 100000.0, "100000", "100000.0" },
		{ 1e+06, "1e+06", "1e+06" },
		{ 1e+10, "1e+10", "1e+10" },
		/* what %g would get wrong */
		{ 1234567.0, "1.234567e+06", "1.234567e+06" },
		{ 0.1 + 0.2, "0.30000000000000004", "0.30000000000000004" },
		{ 9007199254740993.0, "9.007199254740992e+15", "9.007199254740992e+15" },
		{ 123456.789, "123456.789", "123456.789" },
		{ -2.5, "-2.5", "-2.5" },
		{ 0.00025, "0.00025", "0.00025" },
		{ DBL_MAX, "1.7976931348623157e+308", "1.7976931348623157e+308" },
		{ 5e-324, "5e-324", "5e-324" },
		{ INFINITY, "+Inf", "+Inf" },
		{ -INFINITY, "-Inf", "-Inf" },
		{ NAN, "NaN", "NaN" },
	};
	char buf[PROM_NUM_LEN], what[64];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "text %.17g", cases[i].v);
		prom__fmt_double(buf, cases[i].v, PROM_FMT_TEXT);
		ASSERT_STREQ(t, buf, cases[i].text, what);
		snprintf(what, sizeof(what), "om %.17g", cases[i].v);
		prom__fmt_double(buf, cases[i].v, PROM_FMT_OPENMETRICS);
		ASSERT_STREQ(t, buf, cases[i].om, what);
	}
	/* Any finite double reads back exactly. */
	for (int i = 0; i < 20000; i++) {
		double v;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(&v, &x, sizeof(v));
		if (!isfinite(v))
			continue;
		prom__fmt_double(buf, v, PROM_FMT_TEXT);
		if (strtod(buf, NULL) != v && !FAILF(t, "%.17g printed as %s", v, buf))
			break;
	}
}

static void build_small(struct prom_writer *w)
{
	uint64_t counts[] = { 3, 0, 2, 0, 1, 4 };

	prom__add_u64(w, &d_alloc, PROM_LABELS({ "pid", "42" }), 1234567);
	prom__add_double(w, &d_cpu, PROM_LABELS({ "pid", "42" }, { "class", "pause" }), 0.25);
	prom__add_double(w, &d_cpu, PROM_LABELS({ "pid", "42" }, { "class", "mark_assist" }), 3);
	prom__add_u64(w, &d_live, NULL, 0, 4194304);
	prom__add_double(w, &d_ratio, PROM_LABELS({ "v", "nan" }), NAN);
	prom__add_double(w, &d_ratio, PROM_LABELS({ "v", "-inf" }), -INFINITY);
	prom__add_double(w, &d_ratio, PROM_LABELS({ "v", "big" }), 1e21);
	prom__add_histogram(w, &d_pause, PROM_LABELS({ "pid", "42" }), counts, 1.5);
	prom__add_info(w, &d_info,
		       PROM_LABELS({ "pid", "42" }, { "exe", "/srv/a \"b\"\\c" },
				   { "go_version", "go1.22.3" }));
}

static void test_golden_text(struct test_ctx *t)
{
	struct prom_writer *w = NULL;
	struct strbuf sb = {};

	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	build_small(w);
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &sb), "render"))
		goto cleanup;
	expect_text(t, &sb,
		    "# HELP heapscope_alloc_bytes_total Bytes allocated on the Go heap.\n"
		    "# TYPE heapscope_alloc_bytes_total counter\n"
		    "heapscope_alloc_bytes_total{pid=\"42\"} 1234567\n"
		    "# HELP heapscope_gc_cpu_seconds_total GC CPU time by class.\n"
		    "# TYPE heapscope_gc_cpu_seconds_total counter\n"
		    "heapscope_gc_cpu_seconds_total{class=\"pause\",pid=\"42\"} 0.25\n"
		    "heapscope_gc_cpu_seconds_total{class=\"mark_assist\",pid=\"42\"} 3\n"
		    "# HELP heapscope_heap_live_bytes Live heap after the last GC.\n"
		    "# TYPE heapscope_heap_live_bytes gauge\n"
		    "heapscope_heap_live_bytes 4194304\n"
		    "# HELP heapscope_test_ratio A gauge with odd values.\n"
		    "# TYPE heapscope_test_ratio gauge\n"
		    "heapscope_test_ratio{v=\"nan\"} NaN\n"
		    "heapscope_test_ratio{v=\"-inf\"} -Inf\n"
		    "heapscope_test_ratio{v=\"big\"} 1e+21\n"
		    "# HELP heapscope_gc_pause_seconds Stop-the-world pauses.\n"
		    "# TYPE heapscope_gc_pause_seconds histogram\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"1e-05\"} 3\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"0.0001\"} 3\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"0.001\"} 5\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"0.5\"} 5\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"1\"} 6\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"+Inf\"} 10\n"
		    "heapscope_gc_pause_seconds_sum{pid=\"42\"} 1.5\n"
		    "heapscope_gc_pause_seconds_count{pid=\"42\"} 10\n"
		    "# HELP heapscope_target_info Target identity; value 1.\n"
		    "# TYPE heapscope_target_info gauge\n"
		    "heapscope_target_info{exe=\"/srv/a \\\"b\\\"\\\\c\",go_version=\"go1.22.3\","
		    "pid=\"42\"} 1\n",
		    "text 0.0.4");
cleanup:
	strbuf_free(&sb);
	prom__free(w);
}

static void test_golden_openmetrics(struct test_ctx *t)
{
	struct prom_writer *w = NULL;
	struct strbuf sb = {};

	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	build_small(w);
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_OPENMETRICS, &sb), "render"))
		goto cleanup;
	expect_text(t, &sb,
		    "# TYPE heapscope_alloc_bytes counter\n"
		    "# UNIT heapscope_alloc_bytes bytes\n"
		    "# HELP heapscope_alloc_bytes Bytes allocated on the Go heap.\n"
		    "heapscope_alloc_bytes_total{pid=\"42\"} 1234567\n"
		    "# TYPE heapscope_gc_cpu_seconds counter\n"
		    "# UNIT heapscope_gc_cpu_seconds seconds\n"
		    "# HELP heapscope_gc_cpu_seconds GC CPU time by class.\n"
		    "heapscope_gc_cpu_seconds_total{class=\"pause\",pid=\"42\"} 0.25\n"
		    "heapscope_gc_cpu_seconds_total{class=\"mark_assist\",pid=\"42\"} 3.0\n"
		    "# TYPE heapscope_heap_live_bytes gauge\n"
		    "# UNIT heapscope_heap_live_bytes bytes\n"
		    "# HELP heapscope_heap_live_bytes Live heap after the last GC.\n"
		    "heapscope_heap_live_bytes 4194304\n"
		    "# TYPE heapscope_test_ratio gauge\n"
		    "# HELP heapscope_test_ratio A gauge with odd values.\n"
		    "heapscope_test_ratio{v=\"nan\"} NaN\n"
		    "heapscope_test_ratio{v=\"-inf\"} -Inf\n"
		    "heapscope_test_ratio{v=\"big\"} 1e+21\n"
		    "# TYPE heapscope_gc_pause_seconds histogram\n"
		    "# UNIT heapscope_gc_pause_seconds seconds\n"
		    "# HELP heapscope_gc_pause_seconds Stop-the-world pauses.\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"1e-05\"} 3\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"0.0001\"} 3\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"0.001\"} 5\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"0.5\"} 5\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"1.0\"} 6\n"
		    "heapscope_gc_pause_seconds_bucket{pid=\"42\",le=\"+Inf\"} 10\n"
		    "heapscope_gc_pause_seconds_sum{pid=\"42\"} 1.5\n"
		    "heapscope_gc_pause_seconds_count{pid=\"42\"} 10\n"
		    "# TYPE heapscope_target info\n"
		    "# HELP heapscope_target Target identity; value 1.\n"
		    "heapscope_target_info{exe=\"/srv/a \\\"b\\\"\\\\c\",go_version=\"go1.22.3\","
		    "pid=\"42\"} 1\n"
		    "# EOF\n",
		    "openmetrics 1.0.0");
cleanup:
	strbuf_free(&sb);
	prom__free(w);
}

static void test_escaping(struct test_ctx *t)
{
	static const struct prom_desc d = {
		"heapscope_escape", PROM_GAUGE, NULL, "Back\\slash, \"quotes\"\nand a newline.",
	};
	struct prom_writer *w = NULL;
	struct strbuf text = {}, om = {};

	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	prom__add_u64(w, &d, PROM_LABELS({ "v", "a\\b\"c\nd" }), 1);
	/* invalid UTF-8: a stray byte, an overlong '/', a surrogate, a truncated sequence */
	prom__add_u64(w, &d, PROM_LABELS({ "v", "x\xffy\xc0\xafz\xed\xa0\x80w\xe6\x97" }), 2);
	prom__add_u64(w, &d, PROM_LABELS({ "v", "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\xb9" }), 3);
	prom__add_u64(w, &d, PROM_LABELS({ "v", "" }), 4);
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &text), "render text") ||
	    !ASSERT_OK(t, prom__render(w, PROM_FMT_OPENMETRICS, &om), "render om"))
		goto cleanup;
	expect_text(t, &text,
		    "# HELP heapscope_escape Back\\\\slash, \"quotes\"\\nand a newline.\n"
		    "# TYPE heapscope_escape gauge\n"
		    "heapscope_escape{v=\"a\\\\b\\\"c\\nd\"} 1\n"
		    "heapscope_escape{v=\"x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd"
		    "\xef\xbf\xbd\xef\xbf\xbdw\xef\xbf\xbd\xef\xbf\xbd\"} 2\n"
		    "heapscope_escape{v=\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\xb9\"} 3\n"
		    "heapscope_escape{v=\"\"} 4\n",
		    "text");
	expect_text(t, &om,
		    "# TYPE heapscope_escape gauge\n"
		    "# HELP heapscope_escape Back\\\\slash, \\\"quotes\\\"\\nand a newline.\n"
		    "heapscope_escape{v=\"a\\\\b\\\"c\\nd\"} 1\n"
		    "heapscope_escape{v=\"x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd"
		    "\xef\xbf\xbd\xef\xbf\xbdw\xef\xbf\xbd\xef\xbf\xbd\"} 2\n"
		    "heapscope_escape{v=\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\xb9\"} 3\n"
		    "heapscope_escape{v=\"\"} 4\n"
		    "# EOF\n",
		    "openmetrics");
cleanup:
	strbuf_free(&text);
	strbuf_free(&om);
	prom__free(w);
}

/* Parse "name{...,le="x"} value" lines of one histogram series and check the invariants a
 * scraper relies on: le ascending, counts cumulative, +Inf == _count. */
static void check_histogram_lines(struct test_ctx *t, const char *text, const char *series,
				  uint64_t want_count, const char *what)
{
	char prefix[256];
	const char *p = text;
	uint64_t prev = 0, inf = UINT64_MAX, count = UINT64_MAX;
	double prev_le = -INFINITY;
	int buckets = 0;

	snprintf(prefix, sizeof(prefix), "%s_bucket{%s", "heapscope_gc_pause_seconds", series);
	for (; (p = strstr(p, prefix)); p++) {
		const char *le = strstr(p, "le=\"");
		uint64_t v;
		double lev;

		if (!le) {
			FAILF(t, "%s: bucket without le", what);
			return;
		}
		lev = strncmp(le + 4, "+Inf", 4) ? strtod(le + 4, NULL) : INFINITY;
		v = strtoull(strstr(le, "} ") + 2, NULL, 10);
		if (!(lev > prev_le))
			FAILF(t, "%s: le %g after %g", what, lev, prev_le);
		if (v < prev)
			FAILF(t, "%s: bucket count %" PRIu64 " after %" PRIu64, what, v, prev);
		prev = v;
		prev_le = lev;
		if (isinf(lev))
			inf = v;
		buckets++;
	}
	snprintf(prefix, sizeof(prefix), "heapscope_gc_pause_seconds_count{%s", series);
	p = strstr(text, prefix);
	if (p)
		count = strtoull(strstr(p, "} ") + 2, NULL, 10);
	ASSERT_EQ(t, buckets, 6, what);
	ASSERT_EQ(t, inf, want_count, what);
	ASSERT_EQ(t, count, want_count, what);
}

static void test_histogram(struct test_ctx *t)
{
	static const struct prom_buckets none = { 0, NULL };
	static const struct prom_desc d_none = {
		"heapscope_test_seconds", PROM_HISTOGRAM, "seconds", "Only +Inf.", &none,
	};
	uint64_t a[] = { 3, 0, 2, 0, 1, 4 }, b[] = { 0, 0, 0, 0, 0, 7 }, c[] = { 5 };
	struct prom_writer *w = NULL;
	struct strbuf text = {}, om = {};

	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	ASSERT_OK(t, prom__add_histogram(w, &d_pause, PROM_LABELS({ "pid", "1" }), a, 0.75), "a");
	ASSERT_OK(t, prom__add_histogram(w, &d_pause, PROM_LABELS({ "pid", "2" }), b, 14), "b");
	ASSERT_OK(t, prom__add_histogram(w, &d_none, NULL, 0, c, 2.5), "no finite buckets");
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &text), "render text") ||
	    !ASSERT_OK(t, prom__render(w, PROM_FMT_OPENMETRICS, &om), "render om"))
		goto cleanup;
	check_histogram_lines(t, text.buf, "pid=\"1\"", 10, "text pid 1");
	check_histogram_lines(t, text.buf, "pid=\"2\"", 7, "text pid 2");
	check_histogram_lines(t, om.buf, "pid=\"1\"", 10, "om pid 1");
	check_histogram_lines(t, om.buf, "pid=\"2\"", 7, "om pid 2");
	ASSERT_TRUE(t, strstr(text.buf, "heapscope_test_seconds_bucket{le=\"+Inf\"} 5\n"
					"heapscope_test_seconds_sum 2.5\n"
					"heapscope_test_seconds_count 5\n"),
		    "histogram with only +Inf");
	ASSERT_TRUE(t, strstr(om.buf, "heapscope_gc_pause_seconds_sum{pid=\"2\"} 14.0\n"),
		    "openmetrics float sum has a decimal point");
cleanup:
	strbuf_free(&text);
	strbuf_free(&om);
	prom__free(w);
}

/* Samples added target by target come out family by family, each family once. */
static void test_any_order(struct test_ctx *t)
{
	static const struct prom_desc fams[3] = {
		{ "heapscope_a_total", PROM_COUNTER, NULL, "A." },
		{ "heapscope_b", PROM_GAUGE, NULL, "B." },
		{ "heapscope_c_total", PROM_COUNTER, NULL, "C." },
	};
	struct prom_writer *w = NULL;
	struct strbuf sb = {};
	uint64_t x = 12345;
	int added = 0, lines = 0, fam_seen[3] = {}, cur = -1;
	char pid[16];

	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	/* 3 families x 40 series in a scrambled order, some adds repeated (refused) */
	for (int i = 0; i < 200; i++) {
		int f, p, err;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		f = (x >> 33) % 3;
		p = (x >> 40) % 40;
		snprintf(pid, sizeof(pid), "%d", p);
		err = prom__add_u64(w, &fams[f], PROM_LABELS({ "pid", pid }), i);
		if (err == -EEXIST)
			continue;
		if (!ASSERT_OK(t, err, "add"))
			goto cleanup;
		added++;
	}
	/* the refused duplicates are recorded: render reports them */
	ASSERT_EQ(t, prom__render(w, PROM_FMT_TEXT, &sb), -EEXIST, "render after duplicates");
	ASSERT_EQ(t, sb.len, 0, "nothing written after misuse");
	prom__reset(w);
	added = 0;
	x = 12345;
	for (int i = 0; i < 200; i++) {
		int f, p, err;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		f = (x >> 33) % 3;
		p = (x >> 40) % 40;
		snprintf(pid, sizeof(pid), "%d:%d", p, i);
		err = prom__add_u64(w, &fams[f], PROM_LABELS({ "pid", pid }), i);
		if (!ASSERT_OK(t, err, "add"))
			goto cleanup;
		added++;
	}
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &sb), "render"))
		goto cleanup;
	for (char *line = strtok(sb.buf, "\n"); line; line = strtok(NULL, "\n")) {
		int f = -1;

		for (int i = 0; i < 3; i++)
			if (!strncmp(line + (line[0] == '#' ? 7 : 0), fams[i].name,
				     strlen(fams[i].name)))
				f = i;
		if (!ASSERT_TRUE(t, f >= 0, line))
			break;
		if (f != cur) {
			if (!ASSERT_EQ(t, fam_seen[f], 0, "family resumed after another"))
				break;
			fam_seen[f] = 1;
			cur = f;
		}
		if (line[0] != '#')
			lines++;
	}
	ASSERT_EQ(t, lines, added, "every sample written once");
cleanup:
	strbuf_free(&sb);
	prom__free(w);
}

static void test_misuse(struct test_ctx *t)
{
	static const char *const not_canonical[] = { "0.5", "1.0" };
	static const char *const descending[] = { "1", "0.5" };
	static const char *const with_inf[] = { "1", "+Inf" };
	static const char *const garbage[] = { "1s" };
	static const struct prom_buckets b_nc = { 2, not_canonical }, b_desc = { 2, descending },
					 b_inf = { 2, with_inf }, b_garbage = { 1, garbage };
	static const struct prom_desc bad[] = {
		{ "heapscope_no_suffix", PROM_COUNTER, NULL, "x" },
		{ "heapscope_x_total", PROM_GAUGE, NULL, "x" },
		{ "heapscope_x_count", PROM_GAUGE, NULL, "x" },
		{ "heapscope_x_bucket", PROM_HISTOGRAM, NULL, "x", &pause_buckets },
		{ "heapscope_x_created_total", PROM_COUNTER, NULL, "x" },
		{ "heapscope_x", PROM_INFO, NULL, "x" },
		{ "1heapscope", PROM_GAUGE, NULL, "x" },
		{ "heapscope-x", PROM_GAUGE, NULL, "x" },
		{ "heapscope:x", PROM_GAUGE, NULL, "x" },
		{ "heapscope_nohelp", PROM_GAUGE, NULL, NULL },
		{ "heapscope_emptyhelp", PROM_GAUGE, NULL, "" },
		{ "heapscope_x_bytes", PROM_GAUGE, "seconds", "unit not the suffix" },
		{ "bytes", PROM_GAUGE, "bytes", "unit is the whole name" },
		{ "heapscope_h_seconds", PROM_HISTOGRAM, "seconds", "no buckets" },
		{ "heapscope_h_seconds", PROM_HISTOGRAM, "seconds", "x", &b_nc },
		{ "heapscope_h_seconds", PROM_HISTOGRAM, "seconds", "x", &b_desc },
		{ "heapscope_h_seconds", PROM_HISTOGRAM, "seconds", "x", &b_inf },
		{ "heapscope_h_seconds", PROM_HISTOGRAM, "seconds", "x", &b_garbage },
		{ "heapscope_g", PROM_GAUGE, NULL, "buckets on a gauge", &pause_buckets },
	};
	static const struct prom_desc d_gauge = { "heapscope_g", PROM_GAUGE, NULL, "G." };
	static const struct prom_desc d_same = { "heapscope_g", PROM_GAUGE, NULL, "Same name." };
	static const struct prom_desc d_g_total = { "heapscope_g_total", PROM_COUNTER, NULL, "C." };
	struct prom_label many[PROM_MAX_LABELS + 1];
	char names[PROM_MAX_LABELS + 1][8];
	struct prom_writer *w = NULL;
	struct strbuf sb = {};
	uint64_t counts[6] = {};
	char what[128];
	int err;

	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "bad desc %zu %s", i, bad[i].name);
		if (bad[i].type == PROM_HISTOGRAM)
			ASSERT_EQ(t, prom__add_histogram(w, &bad[i], NULL, 0, counts, 0), -EINVAL,
				  what);
		else if (bad[i].type == PROM_INFO)
			ASSERT_EQ(t, prom__add_info(w, &bad[i], NULL, 0), -EINVAL, what);
		else
			ASSERT_EQ(t, prom__add_u64(w, &bad[i], NULL, 0, 1), -EINVAL, what);
	}
	ASSERT_EQ(t, prom__render(w, PROM_FMT_TEXT, &sb), -EINVAL, "render after bad desc");
	ASSERT_EQ(t, sb.len, 0, "nothing written");

#define REFUSED(call, want, what)                                                                  \
	do {                                                                                       \
		prom__reset(w);                                                                    \
		ASSERT_EQ(t, call, want, what);                                                    \
		ASSERT_EQ(t, prom__render(w, PROM_FMT_OPENMETRICS, &sb), want, what " (render)"); \
		ASSERT_EQ(t, sb.len, 0, what " (nothing written)");                               \
	} while (0)

	REFUSED(prom__add_u64(w, &d_gauge, PROM_LABELS({ "1x", "v" }), 1), -EINVAL, "label 1x");
	REFUSED(prom__add_u64(w, &d_gauge, PROM_LABELS({ "__x", "v" }), 1), -EINVAL, "label __x");
	REFUSED(prom__add_u64(w, &d_gauge, PROM_LABELS({ "a-b", "v" }), 1), -EINVAL, "label a-b");
	REFUSED(prom__add_u64(w, &d_gauge, PROM_LABELS({ "a", NULL }), 1), -EINVAL, "NULL value");
	REFUSED(prom__add_u64(w, &d_gauge, NULL, 2, 1), -EINVAL, "NULL labels");
	REFUSED(prom__add_u64(w, &d_gauge, PROM_LABELS({ "a", "1" }, { "b", "2" }, { "a", "3" }),
			      1),
		-EINVAL, "label twice");
	REFUSED(prom__add_histogram(w, &d_pause, PROM_LABELS({ "le", "1" }), counts, 0), -EINVAL,
		"le on a histogram");
	REFUSED(prom__add_histogram(w, &d_pause, NULL, 0, NULL, 0), -EINVAL, "no counts");
	REFUSED(prom__add_double(w, &d_alloc, NULL, 0, -1), -EINVAL, "negative counter");
	REFUSED(prom__add_double(w, &d_alloc, NULL, 0, NAN), -EINVAL, "NaN counter");
	REFUSED(prom__add_info(w, &d_gauge, NULL, 0), -EINVAL, "info call on a gauge");
	REFUSED(prom__add_u64(w, &d_info, NULL, 0, 1), -EINVAL, "u64 call on info");
	REFUSED(prom__add_u64(w, &d_pause, NULL, 0, 1), -EINVAL, "u64 call on histogram");
	REFUSED(prom__add_u64(w, NULL, NULL, 0, 1), -EINVAL, "NULL desc");
	for (int i = 0; i <= PROM_MAX_LABELS; i++) {
		snprintf(names[i], sizeof(names[i]), "l%d", i);
		many[i].name = names[i];
		many[i].value = "v";
	}
	REFUSED(prom__add_u64(w, &d_gauge, many, PROM_MAX_LABELS + 1, 1), -E2BIG, "too many");

	/* The same series twice, even with its labels in another order. */
	prom__reset(w);
	err = prom__add_u64(w, &d_gauge, PROM_LABELS({ "a", "1" }, { "b", "2" }), 1);
	ASSERT_OK(t, err, "first");
	err = prom__add_u64(w, &d_gauge, PROM_LABELS({ "b", "2" }, { "a", "1" }), 2);
	ASSERT_EQ(t, err, -EEXIST, "same series");
	ASSERT_EQ(t, prom__render(w, PROM_FMT_TEXT, &sb), -EEXIST, "render after same series");
	/* Two descs for one family name, or one OpenMetrics family. */
	prom__reset(w);
	ASSERT_OK(t, prom__add_u64(w, &d_gauge, NULL, 0, 1), "gauge");
	ASSERT_EQ(t, prom__add_u64(w, &d_same, NULL, 0, 1), -EEXIST, "same name");
	prom__reset(w);
	ASSERT_OK(t, prom__add_u64(w, &d_gauge, NULL, 0, 1), "gauge");
	ASSERT_EQ(t, prom__add_u64(w, &d_g_total, NULL, 0, 1), -EEXIST, "g and g_total");

	/* After reset the writer works again, and the same memory serves the next scrape. */
	prom__reset(w);
	ASSERT_OK(t, prom__add_u64(w, &d_gauge, PROM_LABELS({ "pid", "7" }), 5), "after reset");
	ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &sb), "render after reset");
	ASSERT_STREQ(t, sb.buf, "# HELP heapscope_g G.\n# TYPE heapscope_g gauge\n"
				"heapscope_g{pid=\"7\"} 5\n", "output after reset");
	ASSERT_EQ(t, prom__add_u64(NULL, &d_gauge, NULL, 0, 1), -EINVAL, "NULL writer");
	prom__free(NULL);
	prom__reset(NULL);
	strbuf_free(&sb);
	prom__free(w);
#undef REFUSED
}

static void test_negotiate(struct test_ctx *t)
{
	static const struct {
		const char *accept;
		enum prom_format fmt;
		const char *ct;
	} cases[] = {
		{ NULL, PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "*/*", PROM_FMT_TEXT, PROM_CT_TEXT },
		/* Prometheus 2.42 (Debian 12) */
		{ "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
		  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		  PROM_FMT_OPENMETRICS, PROM_CT_OPENMETRICS },
		/* Prometheus 2.x with native histograms: protobuf first */
		{ "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
		  "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
		  "application/openmetrics-text;version=0.0.1;q=0.75,"
		  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		  PROM_FMT_OPENMETRICS, PROM_CT_OPENMETRICS },
		/* Prometheus 3.x */
		{ "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
		  "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
		  "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
		  PROM_FMT_OPENMETRICS, PROM_CT_OPENMETRICS "; escaping=underscores" },
		/* Prometheus 3.x with scrape_protocols: [PrometheusText0.0.4] */
		{ "text/plain;version=0.0.4;q=0.2,*/*;q=0.1", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "text/plain;version=0.0.4;escaping=allow-utf-8", PROM_FMT_TEXT,
		  PROM_CT_TEXT "; escaping=underscores" },
		{ "application/openmetrics-text", PROM_FMT_OPENMETRICS, PROM_CT_OPENMETRICS },
		{ "application/openmetrics-text;version=0.0.1", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text;version=1.0.0;q=0.2,text/plain;version=0.0.4;q=0.5",
		  PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text; q=0", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text;q=0.000", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text;q=1.001", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text;q=bogus", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text;q=0.001", PROM_FMT_OPENMETRICS,
		  PROM_CT_OPENMETRICS },
		{ " Application/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=0.9 , text/plain;q=0.8",
		  PROM_FMT_OPENMETRICS, PROM_CT_OPENMETRICS },
		/* equal q: the first listed wins */
		{ "text/plain, application/openmetrics-text", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text, text/plain", PROM_FMT_OPENMETRICS,
		  PROM_CT_OPENMETRICS },
		/* a quoted comma does not split ranges */
		{ "text/plain;foo=\"a,application/openmetrics-text\";q=0.1,"
		  "application/openmetrics-text;q=0.2",
		  PROM_FMT_OPENMETRICS, PROM_CT_OPENMETRICS },
		{ ";;;,,,=;q=", PROM_FMT_TEXT, PROM_CT_TEXT },
		{ "application/openmetrics-text;version=1.0.0;q=0.5;escaping", PROM_FMT_OPENMETRICS,
		  PROM_CT_OPENMETRICS },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *ct = NULL;
		char what[64];

		snprintf(what, sizeof(what), "case %zu", i);
		ASSERT_EQ(t, prom__negotiate(cases[i].accept, &ct), cases[i].fmt, what);
		ASSERT_STREQ(t, ct, cases[i].ct, what);
	}
}

/* A representative heapscope exposition: issue 12's schema for two targets, added target by
 * target as the exporter will. Returns the number of sample lines it writes in 0.0.4. */
static int build_heapscope(struct test_ctx *t, struct prom_writer *w)
{
	static const char *const le[] = {
		"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
		"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
	};
	static const struct prom_buckets pause_le_full = { 16, le };
	static const struct prom_desc
		up = { "heapscope_up", PROM_GAUGE, NULL,
		       "1 if the target is attached and alive, 0 otherwise." },
		info = { "heapscope_target_info", PROM_INFO, NULL,
			 "Identity of a target process; value 1." },
		alloc_b = { "heapscope_alloc_bytes_total", PROM_COUNTER, "bytes",
			    "Bytes allocated on the Go heap, estimated from sampled allocations." },
		alloc_o = { "heapscope_alloc_objects_total", PROM_COUNTER, NULL,
			    "Objects allocated on the Go heap." },
		fn_b = { "heapscope_function_alloc_bytes_total", PROM_COUNTER, "bytes",
			 "Bytes allocated per function; function=\"(other)\" holds the rest." },
		fn_o = { "heapscope_function_alloc_objects_total", PROM_COUNTER, NULL,
			 "Objects allocated per function." },
		unsampled = { "heapscope_alloc_unsampled_bytes_total", PROM_COUNTER, "bytes",
			      "Bytes attributed by the sampling estimate, not seen one by one." },
		gc = { "heapscope_gc_cycles_total", PROM_COUNTER, NULL, "Completed GC cycles." },
		gc_forced = { "heapscope_gc_cycles_forced_total", PROM_COUNTER, NULL,
			      "GC cycles forced by runtime.GC or debug.FreeOSMemory." },
		pause = { "heapscope_gc_pause_seconds", PROM_HISTOGRAM, "seconds",
			  "Stop-the-world GC pauses.", &pause_le_full },
		gc_cpu = { "heapscope_gc_cpu_seconds_total", PROM_COUNTER, "seconds",
			   "CPU time spent on GC, by class." },
		live = { "heapscope_heap_live_bytes", PROM_GAUGE, "bytes",
			 "Heap marked live by the last GC." },
		goal = { "heapscope_heap_goal_bytes", PROM_GAUGE, "bytes",
			 "Heap size at which the next GC starts." },
		gogc = { "heapscope_gogc_percent", PROM_GAUGE, NULL, "GOGC, -1 if off." },
		memlimit = { "heapscope_gomemlimit_bytes", PROM_GAUGE, "bytes",
			     "GOMEMLIMIT; 9223372036854775807 if unset." },
		procs = { "heapscope_gomaxprocs", PROM_GAUGE, NULL, "GOMAXPROCS." },
		pcpu = { "heapscope_process_cpu_seconds_total", PROM_COUNTER, "seconds",
			 "User and system CPU time of the target." },
		lost = { "heapscope_lost_events_total", PROM_COUNTER, NULL,
			 "Events the kernel could not queue." },
		self_cpu = { "heapscope_agent_cpu_seconds_total", PROM_COUNTER, "seconds",
			     "CPU time of heapscope itself." },
		self_rss = { "heapscope_agent_resident_memory_bytes", PROM_GAUGE, "bytes",
			     "Resident memory of heapscope itself." },
		scrape = { "heapscope_scrape_duration_seconds", PROM_GAUGE, "seconds",
			   "Time taken to build the previous exposition." };
	static const char *const funcs[] = {
		"main.(*server).handle", "encoding/json.Marshal", "bytes.growSlice", "(other)",
	};
	static const char *const classes[] = {
		"mark_assist", "mark_dedicated", "mark_fractional", "mark_idle", "pause",
	};
	int lines = 0, err = 0;

	for (int i = 0; i < 2; i++) {
		const char *pid = i ? "2002" : "1001";
		uint64_t counts[17] = { 1, 4, 9, 30, 12, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

		err |= prom__add_u64(w, &up, PROM_LABELS({ "pid", pid }), 1);
		err |= prom__add_info(w, &info,
				      PROM_LABELS({ "pid", pid },
						  { "comm", i ? "caddy" : "goalloc" },
						  { "exe", i ? "/usr/bin/caddy" : "/srv/goalloc" },
						  { "go_version", i ? "go1.19.8" : "go1.22.3" },
						  { "build_id", "aXc3-9_zz" },
						  { "container", i ? "" : "docker-1f2e" }));
		err |= prom__add_u64(w, &alloc_b, PROM_LABELS({ "pid", pid }), 987654321012ull);
		err |= prom__add_u64(w, &alloc_o, PROM_LABELS({ "pid", pid }), 12345678);
		err |= prom__add_u64(w, &unsampled, PROM_LABELS({ "pid", pid }), 4567);
		for (int f = 0; f < 4; f++) {
			err |= prom__add_u64(w, &fn_b,
					     PROM_LABELS({ "pid", pid }, { "function", funcs[f] },
							 { "kind", "small" }),
					     1000 * (f + 1));
			err |= prom__add_u64(w, &fn_o,
					     PROM_LABELS({ "pid", pid }, { "function", funcs[f] },
							 { "kind", "small" }),
					     10 * (f + 1));
		}
		err |= prom__add_u64(w, &gc, PROM_LABELS({ "pid", pid }), 420);
		err |= prom__add_u64(w, &gc_forced, PROM_LABELS({ "pid", pid }), 3);
		err |= prom__add_histogram(w, &pause, PROM_LABELS({ "pid", pid }), counts, 0.0123);
		for (int c = 0; c < 5; c++)
			err |= prom__add_double(
				w, &gc_cpu, PROM_LABELS({ "pid", pid }, { "class", classes[c] }),
				0.001 * (c + 1) + 1e-9);
		err |= prom__add_u64(w, &live, PROM_LABELS({ "pid", pid }), 4 << 20);
		err |= prom__add_u64(w, &goal, PROM_LABELS({ "pid", pid }), 8 << 20);
		err |= prom__add_double(w, &gogc, PROM_LABELS({ "pid", pid }), i ? -1 : 100);
		err |= prom__add_u64(w, &memlimit, PROM_LABELS({ "pid", pid }), INT64_MAX);
		err |= prom__add_u64(w, &procs, PROM_LABELS({ "pid", pid }), 2);
		err |= prom__add_double(w, &pcpu, PROM_LABELS({ "pid", pid }), 12.34);
		lines += 5 + 8 + 2 + 19 + 5 + 6;
	}
	err |= prom__add_u64(w, &lost, NULL, 0, 0);
	err |= prom__add_double(w, &self_cpu, NULL, 0, 0.56);
	err |= prom__add_u64(w, &self_rss, NULL, 0, 23 << 20);
	err |= prom__add_double(w, &scrape, NULL, 0, 0.000321);
	ASSERT_OK(t, err, "building the exposition");
	return lines + 4;
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

static void test_promtool(struct test_ctx *t)
{
	static const char bad[] = "# HELP heapscope_x X.\n# TYPE heapscope_x counter\n"
				  "heapscope_x 1\n";
	struct prom_writer *w = NULL;
	struct strbuf sb = {};
	char out[8192];
	int rc;

	if (!have_promtool()) {
		SKIP(t, "promtool missing (Debian package prometheus: scripts/install-deps.sh)");
		return;
	}
	/* The check itself can fail: promtool flags a counter without _total. */
	rc = run_with_input("promtool check metrics", bad, sizeof(bad) - 1, out, sizeof(out));
	if (!ASSERT_TRUE(t, rc != 0 && strstr(out, "_total"), "promtool rejects a bad exposition"))
		return;
	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	build_heapscope(t, w);
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &sb), "render"))
		goto cleanup;
	rc = run_with_input("promtool check metrics", sb.buf, sb.len, out, sizeof(out));
	if (rc != 0)
		FAILF(t, "promtool check metrics exited %d:\n%s", rc, out);
cleanup:
	strbuf_free(&sb);
	prom__free(w);
}

/* python3-prometheus-client's parsers are strict about what Prometheus itself is lenient
 * about: OpenMetrics # EOF, counter and info suffixes, histogram buckets and +Inf == _count,
 * metadata order, interleaved families. Debian's module lives in /usr/bin/python3's path. */
static const char py_check[] =
	"/usr/bin/python3 -c '\n"
	"import sys\n"
	"try:\n"
	"    from prometheus_client.openmetrics import parser as om\n"
	"    from prometheus_client import parser as text\n"
	"except ImportError as e:\n"
	"    print(e); sys.exit(77)\n"
	"parse = (om if sys.argv[1] == \"om\" else text).text_string_to_metric_families\n"
	"n = 0\n"
	"for fam in parse(sys.stdin.read()):\n"
	"    n += len(fam.samples)\n"
	"print(n)\n"
	"' ";

static void test_python_parsers(struct test_ctx *t)
{
	struct prom_writer *w = NULL;
	struct strbuf text = {}, om = {};
	char cmd[sizeof(py_check) + 8], out[8192];
	int rc, lines;

	if (access("/usr/bin/python3", X_OK)) {
		SKIP(t, "/usr/bin/python3 missing");
		return;
	}
	if (!ASSERT_OK(t, prom__new(&w), "new"))
		return;
	lines = build_heapscope(t, w);
	if (!ASSERT_OK(t, prom__render(w, PROM_FMT_TEXT, &text), "render text") ||
	    !ASSERT_OK(t, prom__render(w, PROM_FMT_OPENMETRICS, &om), "render om"))
		goto cleanup;
	snprintf(cmd, sizeof(cmd), "%som", py_check);
	rc = run_with_input(cmd, om.buf, om.len, out, sizeof(out));
	if (rc == 77) {
		SKIP(t, "python3-prometheus-client not installed (scripts/install-deps.sh)");
		goto cleanup;
	}
	if (rc != 0 || atoi(out) != lines)
		FAILF(t, "OpenMetrics parser exited %d, want %d samples:\n%s", rc, lines, out);
	/* A truncated OpenMetrics exposition (no # EOF) must fail: the check can fail. */
	rc = run_with_input(cmd, om.buf, om.len - strlen("# EOF\n"), out, sizeof(out));
	ASSERT_TRUE(t, rc != 0, "OpenMetrics parser rejects a missing # EOF");
	snprintf(cmd, sizeof(cmd), "%stext", py_check);
	rc = run_with_input(cmd, text.buf, text.len, out, sizeof(out));
	if (rc != 0 || atoi(out) != lines)
		FAILF(t, "0.0.4 parser exited %d, want %d samples:\n%s", rc, lines, out);
cleanup:
	strbuf_free(&text);
	strbuf_free(&om);
	prom__free(w);
}

int main(void)
{
	RUN(test_fmt_double);
	RUN(test_golden_text);
	RUN(test_golden_openmetrics);
	RUN(test_escaping);
	RUN(test_histogram);
	RUN(test_any_order);
	RUN(test_misuse);
	RUN(test_negotiate);
	RUN(test_promtool);
	RUN(test_python_parsers);
	return harness_done();
}
