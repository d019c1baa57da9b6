// SPDX-License-Identifier: GPL-2.0
/* tui: frames of synthetic snapshots against golden files (tests/golden/tui_*.txt), and key
 * handling. Nothing here depends on the machine: no clock, no pid, no terminal.
 * UPDATE_GOLDEN=1 rewrites the golden files instead of comparing. */
#include <errno.h>
#include <stdio.h>
#include "harness.h"
#include "escape.h"
#include "tui.h"
#include "util.h"

#define MiB (1024.0 * 1024)

/* The last field is the flat rate's 95 % half-width: a tight one, a loose one, one that
 * reaches zero, and exact (< 0). */
static const struct tui_row rows[] = {
	{ "main.handleRequest", "/src/app/server.go", "append-growth", 42, 12.5 * MiB, 3000,
	  14 * MiB, 3500, true, 0.3 * MiB },
	{ "encoding/json.(*decodeState).object", "/usr/local/go/src/encoding/json/decode.go",
	  "map-growth", 771, 3.25 * MiB, 41000, 3.25 * MiB, 41000, true, 0.4 * MiB },
	{ "github.com/example/service/internal/cache.(*LRUCache[go.shape.string]).Put",
	  "/src/app/internal/cache/lru.go", "new", 118, 900 * 1024, 28800, 900 * 1024, 28800,
	  true, 250 * 1024 },
	{ "strings.(*Builder).grow", "/usr/local/go/src/strings/builder.go", "make-slice", 68,
	  512 * 1024, 2000, 512 * 1024, 2000, true, 600 * 1024 },
	{ "fmt.Sprintf", "/usr/local/go/src/fmt/print.go", "string-concat", 239, 2048, 64, 2048, 64,
	  true, -1 },
	{ "main.idle", "/src/app/main.go", "boxing", 12, 0, 0, 0, 0, true, 0 },
	{ "main.main", "/src/app/main.go", "", 30, 0, 0, 17.6 * MiB, 74564, false, 0 },
};

static const struct tui_frame_ref stack0[] = {
	{ "main.handleRequest", "/src/app/server.go", 42 },
	{ "net/http.HandlerFunc.ServeHTTP", "/usr/local/go/src/net/http/server.go", 2136 },
	{ "main.main", "/src/app/main.go", 30 },
};
static const struct tui_frame_ref stack1[] = {
	{ "main.handleRequest", "/src/app/server.go", 47 },
	{ "main.main", "/src/app/main.go", 31 },
};
static const struct tui_stack stacks[] = {
	{ stack0, 3, 96 * MiB, 24000 },
	{ stack1, 2, 32 * MiB, 8000 },
};

static void make_snapshot(struct tui_snapshot *s, bool gc)
{
	memset(s, 0, sizeof(*s));
	s->pid = 4242;
	s->exe = "/usr/local/bin/app-server";
	s->go_version = "go1.22.0";
	s->mode = "sampled";
	s->sample_bytes = 524288;
	s->uptime_s = 3 * 3600 + 25 * 60 + 7;
	s->interval_s = 1;
	s->window_s = 10;
	s->window_target_s = 10;
	s->spark_span_s = 40;
	s->alloc_bytes_s = 17.6 * MiB + 100 * 1024;	/* some unattributed */
	s->alloc_objs_s = 74964;
	for (int i = 0; i < 40; i++)
		s->spark[i] = (i % 10) * MiB;
	s->nspark = 40;
	s->lost_events = 3;
	s->rows = rows;
	s->nrows = sizeof(rows) / sizeof(rows[0]);
	if (!gc)
		return;
	s->has_gc = true;
	s->gc_interval_s = 1;
	s->gc = (struct gc_window){
		.cycles = 3, .pauses = 6, .pause_max_s = 0.0021, .pause_p99_s = 0.0019,
		.assist_cpu_s = 0.16, .background_cpu_s = 0.4, .idle_cpu_s = 0.04,
		.pause_cpu_s = 0.02, .cpu_share = 0.62 / 8, .heap_live_bytes = 48 * MiB,
		.heap_goal_bytes = 96 * MiB, .gomaxprocs = 8, .gogc = 100, .gomemlimit = -1,
	};
	s->gc.cpu_s = s->gc.assist_cpu_s + s->gc.background_cpu_s + s->gc.idle_cpu_s +
		      s->gc.pause_cpu_s;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = calloc(1, n + 1);
		if (buf && fread(buf, 1, n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* Render and compare with tests/golden/<name>.txt; on mismatch print both. */
static bool check_golden(struct test_ctx *t, const char *name, const struct tui_snapshot *s,
			 struct tui_view *v, int w, int h)
{
	const char *dir = getenv("HEAPSCOPE_GOLDEN") ? getenv("HEAPSCOPE_GOLDEN") : "tests/golden";
	struct strbuf sb = { 0 };
	struct tui_frame f;
	char path[512], *want = NULL;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	if (!ASSERT_OK(t, tui_frame__init(&f, w, h), "frame"))
		return false;
	tui__render(&f, s, v);
	tui_frame__text(&f, &sb);
	if (!ASSERT_TRUE(t, !sb.oom, "render oom"))
		goto cleanup;
	if (getenv("UPDATE_GOLDEN")) {
		FILE *out = fopen(path, "we");

		ok = out && fwrite(sb.buf, 1, sb.len, out) == sb.len;
		if (out)
			fclose(out);
		ASSERT_TRUE(t, ok, path);
		goto cleanup;
	}
	want = read_file(path);
	if (!want) {
		FAILF(t, "%s: %s (UPDATE_GOLDEN=1 creates it)", path, strerror(errno));
		goto cleanup;
	}
	ok = !strcmp(want, sb.buf);
	if (!ok)
		FAILF(t, "%s differs; got:\n%s--- want:\n%s", path, sb.buf, want);
cleanup:
	free(want);
	strbuf_free(&sb);
	tui_frame__free(&f);
	return ok;
}

/* The frame's table rows, function names only, in order (for sort and filter checks). */
static void table_funcs(const struct tui_snapshot *s, struct tui_view *v, char *out, size_t len)
{
	struct tui_frame f;
	size_t used = 0;
	int head = -1;

	out[0] = 0;
	if (tui_frame__init(&f, 200, 40))
		return;
	tui__render(&f, s, v);
	for (int y = 0; y < f.h; y++) {
		char name[128];

		if (!strncmp(f.lines[y].text, "FUNCTION", 8) || strstr(f.lines[y].text, "FUNCTION "))
			head = y;
		else if (head >= 0 && y > head && sscanf(f.lines[y].text, "%127s", name) == 1 &&
			 strchr(name, '.'))
			used += snprintf(out + used, len - used, "%s%s", used ? "," : "", name);
	}
	tui_frame__free(&f);
}

static void test_batch_frame(struct test_ctx *t)
{
	struct tui_snapshot s;
	struct tui_view v;

	make_snapshot(&s, true);
	tui_view__init(&v);
	v.batch = true;
	v.ascii = true;
	check_golden(t, "tui_batch_120", &s, &v, 120, tui__batch_height(&s));
	v.ascii = false;
	check_golden(t, "tui_batch_utf8_100", &s, &v, 100, tui__batch_height(&s));
}

static void test_interactive_sizes(struct test_ctx *t)
{
	struct tui_snapshot s;
	struct tui_view v;

	make_snapshot(&s, true);
	tui_view__init(&v);
	v.ascii = true;
	check_golden(t, "tui_80x24", &s, &v, 80, 24);
	/* Narrow: optional columns go, FUNCTION keeps the tail of long names. */
	check_golden(t, "tui_60x16", &s, &v, 60, 16);
	check_golden(t, "tui_40x12", &s, &v, 40, 12);
	/* Tiny: clipped, never overflowed. */
	check_golden(t, "tui_20x5", &s, &v, 10, 3);
}

static void test_no_data(struct test_ctx *t)
{
	struct tui_snapshot s = { .pid = 1, .exe = "/x/goapp", .go_version = "go1.21.0",
				  .mode = "exact", .uptime_s = -1 };
	struct tui_view v;

	tui_view__init(&v);
	v.ascii = true;
	check_golden(t, "tui_waiting", &s, &v, 80, 12);
	make_snapshot(&s, false);
	s.notice = "PID 4242 exited: showing the last data collected; q quits";
	v.paused = true;
	check_golden(t, "tui_exited_nogc", &s, &v, 80, 14);
}

static void test_sorting(struct test_ctx *t)
{
	struct tui_snapshot s;
	struct tui_view v;
	char got[1024];

	make_snapshot(&s, true);
	tui_view__init(&v);
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_STREQ(t, got,
		     "main.handleRequest,encoding/json.(*decodeState).object,"
		     "~example/service/internal/cache.(*LRUCache[go.shape.string]).Put,"
		     "strings.(*Builder).grow,fmt.Sprintf,main.idle",
		     "default: ALLOC/s descending, callers hidden, long names keep their tail");
	ASSERT_EQ(t, tui__key(&v, 's'), TUI_REDRAW | TUI_RESORT, "s");
	ASSERT_EQ(t, v.sort_col, TUI_COL_CI, "s -> +/-");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "strings.(*Builder).grow,~example", 32),
		    "+/- descending: the noisiest first (its interval reaches zero)");
	tui__key(&v, 's');
	ASSERT_EQ(t, v.sort_col, TUI_COL_OBJS, "s -> OBJS/s");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "encoding/json.(*decodeState).object,~example", 44),
		    "OBJS/s descending");
	tui__key(&v, 'r');
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "main.idle,fmt.Sprintf,", 22), "r reverses");
	tui__key(&v, TUI_KEY_F6);
	ASSERT_EQ(t, v.sort_col, TUI_COL_AVG, "F6 -> AVG SIZE");
	ASSERT_EQ(t, v.sort_asc, false, "new column: its default direction");
	tui__key(&v, '<');
	tui__key(&v, '<');
	tui__key(&v, '<');
	tui__key(&v, '<');
	ASSERT_EQ(t, v.sort_col, TUI_COL_FUNC, "< < < < -> FUNCTION");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "encoding/json.(*decodeState).object,fmt.Sprintf,", 48),
		    "FUNCTION ascending");
	tui__key(&v, '<');
	ASSERT_EQ(t, v.sort_col, TUI_COL_FILE, "< wraps to FILE:LINE");
	check_golden(t, "tui_sort_file", &s, &v, 100, 16);
	/* Cumulative: callers appear and rank by what happens below them. */
	tui_view__init(&v);
	tui__key(&v, 'c');
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "main.main,main.handleRequest,", 29), "cum: main.main first");
}

static void test_filter(struct test_ctx *t)
{
	struct tui_snapshot s;
	struct tui_view v;
	char got[1024];

	make_snapshot(&s, true);
	tui_view__init(&v);
	v.ascii = true;
	ASSERT_EQ(t, tui__key(&v, '/'), TUI_REDRAW, "/");
	ASSERT_TRUE(t, v.editing_filter, "editing");
	tui__key(&v, 'M');
	tui__key(&v, 'A');
	tui__key(&v, 'I');
	tui__key(&v, 'x');
	ASSERT_EQ(t, tui__key(&v, 'q'), TUI_REDRAW | TUI_RESORT, "q types while editing");
	tui__key(&v, TUI_KEY_BACKSPACE);
	tui__key(&v, TUI_KEY_BACKSPACE);
	ASSERT_STREQ(t, v.filter, "MAI", "backspace");
	check_golden(t, "tui_filter_editing", &s, &v, 80, 14);
	tui__key(&v, TUI_KEY_ENTER);
	ASSERT_TRUE(t, !v.editing_filter, "enter ends editing");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_STREQ(t, got, "main.handleRequest,main.idle", "case-insensitive substring");
	tui__key(&v, '/');
	tui__key(&v, 'z');
	tui__key(&v, TUI_KEY_ENTER);
	check_golden(t, "tui_filter_nomatch", &s, &v, 80, 10);
	tui__key(&v, TUI_KEY_ESC);
	ASSERT_STREQ(t, v.filter, "", "esc clears");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "main.handleRequest,encoding", 27), "all rows back");
}

static void test_selection_and_detail(struct test_ctx *t)
{
	struct tui_snapshot s;
	struct tui_frame f;
	struct tui_view v;

	make_snapshot(&s, true);
	tui_view__init(&v);
	v.ascii = true;
	if (!ASSERT_OK(t, tui_frame__init(&f, 80, 24), "frame"))
		return;
	tui__render(&f, &s, &v);
	ASSERT_STREQ(t, v.sel_func, "main.handleRequest", "first row selected");
	ASSERT_EQ(t, v.nshown, 6, "nshown");
	tui__key(&v, TUI_KEY_DOWN);
	tui__key(&v, TUI_KEY_DOWN);
	tui__render(&f, &s, &v);
	ASSERT_STREQ(t, v.sel_func, "github.com/example/service/internal/cache.(*LRUCache[go.shape."
				    "string]).Put", "down down");
	/* The selection follows its function when the order changes. */
	tui__key(&v, 's');
	tui__render(&f, &s, &v);
	ASSERT_EQ(t, v.sel, 1, "followed to its OBJS/s position");
	tui__key(&v, TUI_KEY_END);
	tui__render(&f, &s, &v);
	ASSERT_STREQ(t, v.sel_func, "main.idle", "end");
	tui__key(&v, TUI_KEY_PGDN);
	tui__render(&f, &s, &v);
	ASSERT_EQ(t, v.sel, 5, "clamped at the last row");
	tui__key(&v, TUI_KEY_HOME);
	tui__render(&f, &s, &v);
	ASSERT_EQ(t, v.sel, 0, "home");
	tui__key(&v, 'I');	/* back to OBJS/s... */
	tui_view__init(&v);
	v.ascii = true;
	tui__render(&f, &s, &v);
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_ENTER), TUI_REDRAW | TUI_DETAIL, "enter");
	ASSERT_EQ(t, v.mode, TUI_MODE_DETAIL, "detail mode");
	s.detail_func = "main.handleRequest";
	s.stacks = stacks;
	s.nstacks = 2;
	s.detail_total_bytes = 128 * MiB;
	check_golden(t, "tui_detail", &s, &v, 80, 24);
	tui__key(&v, TUI_KEY_DOWN);
	tui__key(&v, TUI_KEY_DOWN);
	check_golden(t, "tui_detail_scrolled_small", &s, &v, 60, 12);
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_ESC), TUI_REDRAW, "esc");
	ASSERT_EQ(t, v.mode, TUI_MODE_TABLE, "back to the table");
	tui_frame__free(&f);
}

/* --source: the detail view shows each site with the compiler's verdict and flow, and the remedy
 * names the cause of the largest site instead of the kind's generic advice. */
static void test_detail_escape(struct test_ctx *t)
{
	static const char diag[] =
		"# example.com/app\n"
		"./server.go:42:14: append(out, line...) escapes to heap in handleRequest:\n"
		"./server.go:42:14:   flow: out ← &{storage for append(out, line...)}:\n"
		"./server.go:42:14:     from append(out, line...) (spill) at ./server.go:42:14\n"
		"./server.go:42:14:   flow: ~r0 ← out:\n"
		"./server.go:42:14:     from return out (return) at ./server.go:50:2\n"
		"./server.go:42:14: append escapes to heap\n"
		"./server.go:40:6: cannot inline handleRequest: function too complex\n";
	static const struct escape_map map = { .main_pkg = "example.com/app",
					       .modules = { "example.com/app" } };
	static const struct escape_frame at42[] = { { "main.handleRequest", "/src/app/server.go",
						      42 } },
					 at47[] = { { "main.handleRequest", "/src/app/server.go",
						      47 } };
	struct escape_site e42 = { 0 }, e47 = { 0 };
	struct escape_db *db = NULL;
	struct tui_site sites[2];
	struct tui_snapshot s;
	struct tui_view v;

	if (!ASSERT_OK(t, escape_db__parse(&db, diag, strlen(diag)), "parse"))
		return;
	escape__add_stack(&e42, db, &map, at42, 1, "append-growth", 96 * MiB);
	escape__add_stack(&e47, db, &map, at47, 1, "append-growth", 32 * MiB);
	sites[0] = (struct tui_site){ "/src/app/server.go", "append-growth", 42, 96 * MiB, &e42 };
	sites[1] = (struct tui_site){ "/src/app/server.go", "append-growth", 47, 32 * MiB, &e47 };
	make_snapshot(&s, true);
	tui_view__init(&v);
	v.ascii = true;
	v.mode = TUI_MODE_DETAIL;
	s.detail_func = "main.handleRequest";
	s.stacks = stacks;
	s.nstacks = 2;
	s.detail_total_bytes = 128 * MiB;
	s.sites = sites;
	s.nsites = 2;
	check_golden(t, "tui_detail_escape", &s, &v, 100, 30);
	/* A function outside the tree: said so; the remedy stays the kind's. */
	static const struct escape_frame dep[] = { { "encoding/json.(*decodeState).object",
						     "/usr/local/go/src/encoding/json/decode.go",
						     771 } };
	struct escape_site edep = { 0 };

	escape__add_stack(&edep, db, &map, dep, 1, "map-growth", 3 * MiB);
	sites[0] = (struct tui_site){ dep[0].file, "map-growth", 771, 3 * MiB, &edep };
	s.detail_func = dep[0].func;
	s.nsites = 1;
	s.nstacks = 0;
	check_golden(t, "tui_detail_escape_outside", &s, &v, 100, 16);
	escape_db__free(db);
}

static void test_keys(struct test_ctx *t)
{
	struct tui_snapshot s;
	struct tui_view v;

	make_snapshot(&s, true);
	tui_view__init(&v);
	v.ascii = true;
	ASSERT_EQ(t, tui__key(&v, 'q'), TUI_QUIT, "q");
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_F10), TUI_QUIT, "F10");
	ASSERT_EQ(t, tui__key(&v, 'h'), TUI_REDRAW, "h");
	ASSERT_EQ(t, v.mode, TUI_MODE_HELP, "help");
	check_golden(t, "tui_help", &s, &v, 80, 30);
	/* longer than the screen: it scrolls to its last line, and no further */
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_PGDN), TUI_REDRAW, "PgDn scrolls help");
	for (int i = 0; i < 40; i++)
		tui__key(&v, TUI_KEY_DOWN);
	ASSERT_EQ(t, v.mode, TUI_MODE_HELP, "scrolling stays in help");
	check_golden(t, "tui_help_end", &s, &v, 80, 30);
	ASSERT_EQ(t, tui__key(&v, 'x'), TUI_REDRAW, "any key leaves help");
	ASSERT_EQ(t, v.mode, TUI_MODE_TABLE, "table");
	tui__key(&v, '?');
	ASSERT_EQ(t, v.mode, TUI_MODE_HELP, "?");
	ASSERT_EQ(t, tui__key(&v, 'q'), TUI_QUIT, "q quits from help");
	tui_view__init(&v);
	ASSERT_EQ(t, tui__key(&v, 'p'), TUI_REDRAW | TUI_PAUSE, "p");
	ASSERT_TRUE(t, v.paused, "paused");
	tui__key(&v, ' ');
	ASSERT_TRUE(t, !v.paused, "space resumes");
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_ENTER), 0, "enter before any render: nothing selected");
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_RESIZE), TUI_REDRAW, "resize");
	ASSERT_EQ(t, tui__key(&v, TUI_KEY_ESC), 0, "esc with no filter");
}

/* In-use columns: shown only with in-use figures, a leak suspect marked, sorts u and g. */
static void test_inuse_columns(struct test_ctx *t)
{
	struct tui_row r[sizeof(rows) / sizeof(rows[0])];
	struct tui_snapshot s;
	struct tui_view v;
	char got[1024];

	make_snapshot(&s, true);
	tui_view__init(&v);
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_EQ(t, tui__key(&v, 'u'), 0, "u without in-use figures");
	ASSERT_EQ(t, tui__key(&v, 'g'), 0, "g without in-use figures");
	memcpy(r, rows, sizeof(r));
	r[0].inuse_bytes = 40 * MiB;
	r[0].growth_bytes_s = 1.5 * MiB;
	r[0].leak = true;
	r[1].inuse_bytes = 2 * MiB;
	r[1].growth_bytes_s = 3 * MiB;	/* faster, but not steady: no suspect */
	r[2].inuse_bytes = 96 * MiB;
	r[3].growth_bytes_s = -64 * 1024;
	s.rows = r;
	s.has_inuse = true;
	s.inuse_bytes = 138 * MiB;
	s.inuse_since_attach = true;
	v.ascii = true;
	check_golden(t, "tui_inuse_80x24", &s, &v, 80, 24);
	v.batch = true;
	check_golden(t, "tui_inuse_batch_140", &s, &v, 140, tui__batch_height(&s));
	v.batch = false;
	ASSERT_EQ(t, tui__key(&v, 'u'), TUI_REDRAW | TUI_RESORT, "u");
	ASSERT_EQ(t, v.sort_col, TUI_COL_INUSE, "u -> IN-USE");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "~example/service/internal/cache.(*LRUCache[go.shape.string]).Put,"
				"main.handleRequest,encoding/json", 96),
		    "IN-USE descending");
	tui__key(&v, 'g');
	ASSERT_EQ(t, v.sort_col, TUI_COL_GROWTH, "g -> GROWTH/s");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "main.handleRequest,encoding/json", 32),
		    "the leak suspect first, then the fastest growth");
	/* with in-use figures the sort keys visit the new columns */
	tui__key(&v, '>');
	tui__key(&v, '<');
	tui__key(&v, '<');
	ASSERT_EQ(t, v.sort_col, TUI_COL_INUSE, "< from GROWTH/s -> IN-USE");
	/* the detail view says what the function holds and whether it is a suspect */
	s.detail_func = "main.handleRequest";
	s.stacks = stacks;
	s.nstacks = 2;
	s.detail_total_bytes = 128 * MiB;
	v.mode = TUI_MODE_DETAIL;
	check_golden(t, "tui_inuse_detail", &s, &v, 80, 16);
}

static void test_remedies(struct test_ctx *t)
{
	static const char *const kinds[] = { "append-growth", "string-concat", "boxing",
					     "map-growth", "new", "make-slice", "conversion" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ASSERT_TRUE(t, tui__remedy(kinds[i]) != NULL, kinds[i]);
	ASSERT_TRUE(t, strstr(tui__remedy("string-concat"), "strings.Builder") != NULL, "concat");
	ASSERT_TRUE(t, strstr(tui__remedy("new"), "-gcflags=-m") != NULL, "new");
	ASSERT_TRUE(t, tui__remedy("gcStart") == NULL, "unknown kind");
	ASSERT_TRUE(t, tui__remedy(NULL) == NULL, "NULL");
	ASSERT_STREQ(t, tui__col_title(TUI_COL_AVG), "AVG SIZE", "title");
}

/* Mark assists measured: the ASSIST/s column (flat and cumulative), its sort key, its place in
 * the narrow-terminal drop order, the detail line; not measured, it is not a sort key. */
static void test_assist_column(struct test_ctx *t)
{
	/* ms of assist per second per row of rows[] (cum adds main.main's callees) */
	static const double assist[] = { 9.5e-3, 0.8e-3, 2.25e-3, 40e-6, 0, 0.125e-3, 0 };
	struct tui_row arows[sizeof(rows) / sizeof(rows[0])];
	struct tui_snapshot s;
	struct tui_view v;
	char got[1024];

	memcpy(arows, rows, sizeof(rows));
	for (size_t i = 0; i < sizeof(arows) / sizeof(arows[0]); i++)
		arows[i].assist_s = arows[i].cum_assist_s = assist[i];
	arows[6].cum_assist_s = 12.7e-3;
	make_snapshot(&s, true);
	s.rows = arows;
	s.has_assist = true;
	tui_view__init(&v);
	v.batch = true;
	v.ascii = true;
	check_golden(t, "tui_assist_batch_140", &s, &v, 140, tui__batch_height(&s));
	v.batch = false;
	check_golden(t, "tui_assist_80x16", &s, &v, 80, 16);
	/* narrower: ASSIST/s outlives FILE:LINE, KIND and AVG SIZE */
	check_golden(t, "tui_assist_60x12", &s, &v, 60, 12);
	for (int i = 0; i < TUI_NCOLS && v.sort_col != TUI_COL_ASSIST; i++)
		tui__key(&v, 's');
	ASSERT_EQ(t, v.sort_col, TUI_COL_ASSIST, "s reaches ASSIST/s when shown");
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "main.handleRequest,~example/", 28), "ASSIST/s descending");
	tui__key(&v, 'c');
	table_funcs(&s, &v, got, sizeof(got));
	ASSERT_TRUE(t, !strncmp(got, "main.main,main.handleRequest,", 29), "cum: main.main first");
	tui_view__init(&v);
	v.ascii = true;
	v.mode = TUI_MODE_DETAIL;
	s.detail_func = "main.handleRequest";
	check_golden(t, "tui_assist_detail", &s, &v, 100, 12);
	/* not measured: the column and its sort key are gone */
	s.has_assist = false;
	tui_view__init(&v);
	table_funcs(&s, &v, got, sizeof(got));
	for (int i = 0; i < TUI_NCOLS; i++) {
		tui__key(&v, 's');
		if (!ASSERT_TRUE(t, v.sort_col != TUI_COL_ASSIST, "s skips ASSIST/s when absent"))
			break;
	}
}

int main(void)
{
	RUN(test_batch_frame);
	RUN(test_interactive_sizes);
	RUN(test_no_data);
	RUN(test_sorting);
	RUN(test_filter);
	RUN(test_selection_and_detail);
	RUN(test_detail_escape);
	RUN(test_keys);
	RUN(test_inuse_columns);
	RUN(test_remedies);
	RUN(test_assist_column);
	return harness_done();
}
