// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "tui.h"
#include "util.h"

#define MIN_W 20
#define MIN_H 5
#define MIN_FUNC_W 22
#define MAX_FUNC_W 64
#define HEADER_LINES 6	/* target, alloc, heap, GC CPU, GC, message */

/* Columns are data, as in htop's Process_fields: each title is as wide as its values. */
static const struct col_def {
	const char *title;
	int width;	/* 0: FUNCTION, takes what is left */
	bool right;	/* right-aligned (numbers) */
	bool desc;	/* default sort direction */
	int drop;	/* narrow terminals drop the highest first; 0 never */
} cols[TUI_NCOLS] = {
	[TUI_COL_FUNC] = { "FUNCTION", 0, false, false, 0 },
	[TUI_COL_ALLOC] = { "ALLOC/s", 9, true, true, 0 },
	[TUI_COL_CI] = { "+/-", 4, true, true, 7 },
	[TUI_COL_OBJS] = { "OBJS/s", 7, true, true, 3 },
	[TUI_COL_AVG] = { "AVG SIZE", 9, true, true, 8 },
	[TUI_COL_PCT] = { "%ALLOC", 7, true, true, 2 },
	/* retained memory, when the heap profile could be read */
	[TUI_COL_INUSE] = { "IN-USE", 9, true, true, 1 },
	[TUI_COL_GROWTH] = { "GROWTH/s", 10, true, true, 2 },
	/* mark-assist CPU per second; only when measured (tui_snapshot.has_assist) */
	[TUI_COL_ASSIST] = { "ASSIST/s", 9, true, true, 4 },
	[TUI_COL_KIND] = { "KIND", 13, false, false, 6 },
	[TUI_COL_FILE] = { "FILE:LINE", 17, false, false, 5 },
};

/* What to do about each allocation kind (design.md); the detail view's advice line. */
static const struct {
	const char *kind, *remedy;
} remedies[] = {
	{ "append-growth", "preallocate capacity: make([]T, 0, n) when n is known or guessable" },
	{ "string-concat", "build strings with strings.Builder (Grow it first) instead of +" },
	{ "boxing", "keep interface{} / any out of hot paths: concrete types, generics" },
	{ "map-growth", "give make(map[K]V, n) a size hint; reuse maps with clear()" },
	{ "new", "return values instead of pointers so they stay on the stack; "
		 "check escapes with `go build -gcflags=-m`" },
	{ "make-slice", "reuse buffers across calls, or pool them with sync.Pool" },
	{ "conversion", "avoid []byte <-> string round trips; keep one representation" },
};

const char *tui__col_title(enum tui_col c)
{
	return c < TUI_NCOLS ? cols[c].title : "";
}

const char *tui__remedy(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof(remedies) / sizeof(remedies[0]); i++)
		if (!strcmp(kind, remedies[i].kind))
			return remedies[i].remedy;
	return NULL;
}

int tui_frame__init(struct tui_frame *f, int w, int h)
{
	memset(f, 0, sizeof(*f));
	f->w = w < MIN_W ? MIN_W : w;
	f->h = h < MIN_H ? MIN_H : h;
	f->lines = calloc(f->h, sizeof(*f->lines));
	if (!f->lines)
		return -ENOMEM;
	for (int i = 0; i < f->h; i++) {
		/* 4 bytes per column: the widest UTF-8 sequence. */
		f->lines[i].text = malloc(f->w * 4 + 1);
		if (!f->lines[i].text) {
			tui_frame__free(f);
			return -ENOMEM;
		}
	}
	return 0;
}

void tui_frame__free(struct tui_frame *f)
{
	if (!f || !f->lines)
		return;
	for (int i = 0; i < f->h; i++)
		free(f->lines[i].text);
	free(f->lines);
	memset(f, 0, sizeof(*f));
}

void tui_view__init(struct tui_view *v)
{
	memset(v, 0, sizeof(*v));
	v->sort_col = TUI_COL_ALLOC;
	v->sort_asc = !cols[TUI_COL_ALLOC].desc;
}

/* --- line writer: columns, not bytes, so UTF-8 never gets cut in half ------------------- */

struct lw {
	struct tui_line *l;	/* NULL: the line is off-screen, writes vanish */
	int w, col;
	size_t len;
};

static struct lw line_at(struct tui_frame *f, int y, uint8_t attr)
{
	struct lw lw = { .w = f->w };

	if (y >= 0 && y < f->h) {
		lw.l = &f->lines[y];
		lw.l->attr = attr;
		lw.l->nspans = 0;
		lw.l->text[0] = 0;
	}
	return lw;
}

static int u8_cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Append at most max columns of s (max < 0: as many as fit). */
static void lw_putn(struct lw *lw, const char *s, int max)
{
	if (!lw->l)
		return;
	if (max < 0 || max > lw->w - lw->col)
		max = lw->w - lw->col;
	for (; *s; s++) {
		bool start = ((unsigned char)*s & 0xC0) != 0x80;

		if (start && max-- <= 0)
			break;
		lw->col += start;
		lw->l->text[lw->len++] = *s;
	}
	lw->l->text[lw->len] = 0;
}

static void lw_puts(struct lw *lw, const char *s)
{
	lw_putn(lw, s, -1);
}

static void lw_printf(struct lw *lw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lw_printf(struct lw *lw, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lw_puts(lw, buf);
}

static void lw_pad(struct lw *lw, int col)
{
	while (lw->l && lw->col < col && lw->col < lw->w)
		lw_puts(lw, " ");
}

static void lw_span(struct lw *lw, int start, int len, uint8_t attr)
{
	if (!lw->l || lw->l->nspans == TUI_MAX_SPANS || len <= 0)
		return;
	lw->l->spans[lw->l->nspans++] = (struct tui_span){ start, len, attr };
}

/* Text in a field of width cols: right- or left-aligned; too long keeps the tail (the method
 * name, the file name), marked with a leading '~'. */
static void lw_field(struct lw *lw, const char *s, int width, bool right)
{
	int n = u8_cols(s), start = lw->col;

	if (n > width) {
		for (int skip = n - (width - 1); skip > 0 && *s; skip--) {
			s++;
			while (((unsigned char)*s & 0xC0) == 0x80)
				s++;
		}
		lw_puts(lw, "~");
		lw_putn(lw, s, width - 1);
		return;
	}
	if (right)
		lw_pad(lw, start + width - n);
	lw_puts(lw, s);
	lw_pad(lw, start + width);
}

/* Cut the line back to col columns. */
static void lw_truncate(struct lw *lw, int col)
{
	int c = 0;
	size_t i;

	if (!lw->l || lw->col <= col)
		return;
	for (i = 0; lw->l->text[i]; i++)
		if (((unsigned char)lw->l->text[i] & 0xC0) != 0x80 && c++ == col)
			break;
	lw->len = i;
	lw->l->text[i] = 0;
	lw->col = col;
}

static void lw_finish(struct lw *lw)
{
	lw_pad(lw, lw->w);
}

/* --- formatting ----------------------------------------------------------------------------- */

static const char *basename_of(const char *path)
{
	const char *p = path ? strrchr(path, '/') : NULL;

	return p ? p + 1 : path ? path : "";
}

static const char *fmt_dur(double s, char *buf, size_t len)
{
	if (s < 0.001)
		snprintf(buf, len, "%.0f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f s", s);
	return buf;
}

static const char *fmt_uptime(double s, char *buf, size_t len)
{
	long t = (long)s;

	if (s < 0)
		snprintf(buf, len, "?");
	else if (t >= 86400)
		snprintf(buf, len, "%ldd %02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60,
			 t % 60);
	else
		snprintf(buf, len, "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	return buf;
}

/* --- header --------------------------------------------------------------------------------- */

static void render_target(struct tui_frame *f, const struct tui_snapshot *s,
			  const struct tui_view *v)
{
	struct lw lw = line_at(f, 0, TUI_A_TITLE);
	char b1[32], b2[32];

	lw_printf(&lw, "PID %d  %s  %s  up %s  ", s->pid, basename_of(s->exe),
		  s->go_version ? s->go_version : "go?", fmt_uptime(s->uptime_s, b1, sizeof(b1)));
	if (s->sample_bytes > 0)
		lw_printf(&lw, "%s 1/%s", s->mode ? s->mode : "sampled",
			  fmt_bytes(s->sample_bytes, b2, sizeof(b2)));
	else
		lw_puts(&lw, s->mode ? s->mode : "");
	if (s->interval_s > 0)
		lw_printf(&lw, "  every %.1fs", s->interval_s);
	if (v->paused) {
		/* Right-aligned, over whatever did not fit: it must never be cut off. */
		lw_truncate(&lw, lw.w - 8);
		lw_pad(&lw, lw.w - 8);
		lw_span(&lw, lw.col, 8, TUI_A_WARN);
		lw_puts(&lw, "[PAUSED]");
	}
	lw_finish(&lw);
}

static void render_spark(struct lw *lw, const struct tui_snapshot *s, bool ascii, int width)
{
	static const char *const blocks[] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char levels[] = " .:-=+*#@";
	int n = s->nspark < width ? s->nspark : width;
	double max = 0;

	for (int i = s->nspark - n; i < s->nspark; i++)
		if (s->spark[i] > max)
			max = s->spark[i];
	for (int i = s->nspark - n; i < s->nspark; i++) {
		int k = max > 0 && s->spark[i] > 0 ? 1 + (int)(s->spark[i] / max * 7.999) : 0;
		char c[2] = { levels[k], 0 };

		lw_puts(lw, ascii ? c : blocks[k]);
	}
}

static void render_alloc(struct tui_frame *f, const struct tui_snapshot *s,
			 const struct tui_view *v)
{
	struct lw lw = line_at(f, 1, TUI_A_NORMAL);
	char b1[32], b2[32];
	int room;

	lw_puts(&lw, "Alloc   ");
	lw_span(&lw, 0, 5, TUI_A_KEY);
	if (s->interval_s > 0) {
		lw_printf(&lw, "%10s/s %8s obj/s", fmt_bytes(s->alloc_bytes_s, b1, sizeof(b1)),
			  fmt_count(s->alloc_objs_s, b2, sizeof(b2)));
		/* the window the rates cover, "3/10s" until it has filled */
		if (s->window_s + 0.5 < s->window_target_s)
			lw_printf(&lw, " over %.0f/%.0fs  ", s->window_s, s->window_target_s);
		else
			lw_printf(&lw, " over %.0fs  ", s->window_target_s > 0 ? s->window_target_s
								    : s->window_s);
	} else {
		lw_printf(&lw, "%10s   %8s        ", "-", "-");
	}
	room = lw.w - lw.col - 6;	/* the span's label: " 120s" */
	if (room >= 8 && s->nspark) {
		int at = lw.col;

		render_spark(&lw, s, v->ascii, room < TUI_SPARK_LEN ? room : TUI_SPARK_LEN);
		lw_span(&lw, at, lw.col - at, TUI_A_BAR2);
		/* the sparkline's real span, whatever the refresh interval was */
		if (s->spark_span_s > 0)
			lw_printf(&lw, " %.0fs", s->spark_span_s);
	}
	lw_finish(&lw);
}

struct seg {
	double frac;
	char ch;
	uint8_t attr;
};

/* An htop meter: [|||||    text], segments coloured, text overlaid on the right. */
static void render_bar(struct lw *lw, int width, const struct seg *segs, int nsegs,
		       const char *text)
{
	int inner = width - 2, tl = u8_cols(text), pos = 0, start;
	char *cells = malloc(inner + 1);

	if (inner < 1 || !cells) {
		free(cells);
		return;
	}
	memset(cells, ' ', inner);
	cells[inner] = 0;
	lw_puts(lw, "[");
	start = lw->col;
	for (int i = 0; i < nsegs; i++) {
		double fr = segs[i].frac < 0 ? 0 : segs[i].frac > 1 ? 1 : segs[i].frac;
		int n = (int)lround(fr * inner);

		if (pos + n > inner)
			n = inner - pos;
		memset(cells + pos, segs[i].ch, n);
		lw_span(lw, start + pos, n, segs[i].attr);
		pos += n;
	}
	if (tl <= inner)
		memcpy(cells + inner - tl, text, tl);
	lw_puts(lw, cells);
	lw_puts(lw, "]");
	free(cells);
}

static int bar_width(int w)
{
	int bw = w / 3;

	return bw < 12 ? 12 : bw > 42 ? 42 : bw;
}

static void render_heap(struct tui_frame *f, const struct tui_snapshot *s)
{
	struct lw lw = line_at(f, 2, TUI_A_NORMAL);
	const struct gc_window *g = &s->gc;
	char b1[32], b2[32], text[80];

	lw_puts(&lw, "Heap    ");
	lw_span(&lw, 0, 4, TUI_A_KEY);
	if (!s->has_gc || !g->heap_live_bytes) {
		lw_puts(&lw, s->has_gc ? "live/goal: no GC cycle seen yet" : "live/goal: n/a");
	} else {
		struct seg seg = { g->heap_goal_bytes ? (double)g->heap_live_bytes / g->heap_goal_bytes
						      : 0, '|', TUI_A_BAR2 };

		fmt_bytes(g->heap_live_bytes, b1, sizeof(b1));
		if (g->heap_goal_bytes)
			snprintf(text, sizeof(text), "%s/%s", b1,
				 fmt_bytes(g->heap_goal_bytes, b2, sizeof(b2)));
		else
			snprintf(text, sizeof(text), "%s/?", b1);
		render_bar(&lw, bar_width(lw.w), &seg, 1, text);
		lw_puts(&lw, " live/goal");
		if (g->gogc == -1)
			lw_puts(&lw, "  GOGC off");
		else if (g->gogc != INT32_MIN && g->gogc)
			lw_printf(&lw, "  GOGC %d", g->gogc);
		if (g->gomemlimit > 0 && g->gomemlimit < INT64_MAX)
			lw_printf(&lw, "  limit %s", fmt_bytes(g->gomemlimit, b1, sizeof(b1)));
	}
	if (s->has_inuse)
		lw_printf(&lw, "  in use %s%s", fmt_bytes(s->inuse_bytes, b1, sizeof(b1)),
			  s->inuse_since_attach ? " (since attach)" : "");
	lw_finish(&lw);
}

static void render_gc_cpu(struct tui_frame *f, const struct tui_snapshot *s)
{
	struct lw lw = line_at(f, 3, TUI_A_NORMAL);
	const struct gc_window *g = &s->gc;
	double cap = g->gomaxprocs * s->gc_interval_s;
	char text[32];

	lw_puts(&lw, "GC CPU  ");
	lw_span(&lw, 0, 6, TUI_A_KEY);
	if (!s->has_gc || g->cpu_share < 0 || cap <= 0) {
		lw_puts(&lw, "n/a");
	} else {
		/* Shares of all the target's Ps over the window, as the runtime's own
		 * /cpu/classes/gc metrics count them. */
		struct seg segs[] = {
			{ g->assist_cpu_s / cap, '#', TUI_A_BAR1 },
			{ g->background_cpu_s / cap, '|', TUI_A_BAR2 },
			{ g->idle_cpu_s / cap, ':', TUI_A_BAR4 },
			{ g->pause_cpu_s / cap, '!', TUI_A_BAR3 },
		};

		snprintf(text, sizeof(text), "%.1f%%", 100 * g->cpu_share);
		render_bar(&lw, bar_width(lw.w), segs, 4, text);
		lw_printf(&lw, " assist %.1f%%  bg %.1f%%  idle %.1f%%  pause %.1f%%",
			  100 * segs[0].frac, 100 * segs[1].frac, 100 * segs[2].frac,
			  100 * segs[3].frac);
	}
	lw_finish(&lw);
}

static void render_gc_line(struct tui_frame *f, const struct tui_snapshot *s)
{
	struct lw lw = line_at(f, 4, TUI_A_NORMAL);
	const struct gc_window *g = &s->gc;
	char b1[32], b2[32];
	int at;

	lw_puts(&lw, "GC      ");
	lw_span(&lw, 0, 2, TUI_A_KEY);
	if (s->has_gc && s->gc_interval_s > 0) {
		lw_printf(&lw, "%.2f cycles/s  pause p99 %s  max %s", g->cycles / s->gc_interval_s,
			  g->pauses ? fmt_dur(g->pause_p99_s, b1, sizeof(b1)) : "-",
			  g->pauses ? fmt_dur(g->pause_max_s, b2, sizeof(b2)) : "-");
		if (g->gomaxprocs > 0)
			lw_printf(&lw, "  procs %d", g->gomaxprocs);
	} else {
		lw_puts(&lw, "n/a");
	}
	lw_puts(&lw, "  ");
	at = lw.col;
	lw_printf(&lw, "lost events %llu", (unsigned long long)s->lost_events);
	if (s->lost_events)
		lw_span(&lw, at, lw.col - at, TUI_A_WARN);
	lw_finish(&lw);
}

/* The message line: a notice (target exited) beats the filter prompt beats the log line. */
static void render_message(struct tui_frame *f, const struct tui_snapshot *s,
			   const struct tui_view *v, int y)
{
	struct lw lw = line_at(f, y, TUI_A_NORMAL);

	if (s->notice) {
		lw_puts(&lw, s->notice);
		lw_span(&lw, 0, lw.col, TUI_A_WARN);
	} else if (v->editing_filter) {
		lw_printf(&lw, "Filter: %s_", v->filter);
		lw_span(&lw, 0, 7, TUI_A_KEY);
	} else if (v->filter[0]) {
		lw_printf(&lw, "Filter: %s  (/ edits, Esc clears)", v->filter);
		lw_span(&lw, 0, 7, TUI_A_KEY);
	} else if (s->status) {
		lw_puts(&lw, s->status);
		lw_span(&lw, 0, lw.col, TUI_A_DIM);
	}
	lw_finish(&lw);
}

/* --- table ---------------------------------------------------------------------------------- */

struct sort_ctx {
	const struct tui_row *rows;
	enum tui_col col;
	bool asc, cum;
};

static double row_bytes(const struct tui_row *r, bool cum)
{
	return cum ? r->cum_bytes_s : r->bytes_s;
}

static double row_objs(const struct tui_row *r, bool cum)
{
	return cum ? r->cum_objs_s : r->objs_s;
}

static double row_assist(const struct tui_row *r, bool cum)
{
	return cum ? r->cum_assist_s : r->assist_s;
}

static double row_avg(const struct tui_row *r, bool cum)
{
	return row_objs(r, cum) > 0 ? row_bytes(r, cum) / row_objs(r, cum) : 0;
}

/* The 95 % half-width relative to the flat rate; exact rows sort as 0. */
static double row_rel_ci(const struct tui_row *r)
{
	if (r->bytes_ci95_s <= 0)
		return 0;
	return r->bytes_s > 0 ? r->bytes_ci95_s / r->bytes_s : 1e9;
}

static int cmp_num(double a, double b)
{
	return a < b ? -1 : a > b;
}

static int cmp_rows(const void *pa, const void *pb, void *pctx)
{
	const struct sort_ctx *c = pctx;
	const struct tui_row *a = &c->rows[*(const size_t *)pa], *b = &c->rows[*(const size_t *)pb];
	int d = 0;

	switch (c->col) {
	case TUI_COL_FUNC:
		break;
	case TUI_COL_ALLOC:
	case TUI_COL_PCT:
		d = cmp_num(row_bytes(a, c->cum), row_bytes(b, c->cum));
		break;
	case TUI_COL_OBJS:
		d = cmp_num(row_objs(a, c->cum), row_objs(b, c->cum));
		break;
	case TUI_COL_AVG:
		d = cmp_num(row_avg(a, c->cum), row_avg(b, c->cum));
		break;
	case TUI_COL_INUSE:
		d = cmp_num(a->inuse_bytes, b->inuse_bytes);
		break;
	case TUI_COL_GROWTH:
		/* leak suspects beyond any growth that is not one */
		d = a->leak != b->leak ? (a->leak ? 1 : -1)
				       : cmp_num(a->growth_bytes_s, b->growth_bytes_s);
		break;
	case TUI_COL_CI:
		d = cmp_num(row_rel_ci(a), row_rel_ci(b));
		break;
	case TUI_COL_ASSIST:
		d = cmp_num(row_assist(a, c->cum), row_assist(b, c->cum));
		break;
	case TUI_COL_KIND:
		d = strcmp(a->kind ? a->kind : "", b->kind ? b->kind : "");
		break;
	case TUI_COL_FILE:
		d = strcmp(basename_of(a->file), basename_of(b->file));
		if (!d)
			d = a->line - b->line;
		break;
	default:
		break;
	}
	if (!c->asc)
		d = -d;
	/* Ties by name, always ascending, so equal rows never swap between frames. */
	return d ? d : strcmp(a->func, b->func);
}

/* Rows to show, sorted and filtered; *n set. NULL with *n = 0 when there are none or on ENOMEM. */
static size_t *table_order(const struct tui_snapshot *s, const struct tui_view *v, size_t *n)
{
	struct sort_ctx ctx = { s->rows, v->sort_col, v->sort_asc, v->cum };
	size_t *order = malloc((s->nrows ? s->nrows : 1) * sizeof(*order));

	*n = 0;
	if (!order)
		return NULL;
	for (size_t i = 0; i < s->nrows; i++) {
		const struct tui_row *r = &s->rows[i];

		if (!v->cum && !r->is_site)
			continue;
		if (v->filter[0] && !strcasestr(r->func, v->filter))
			continue;
		order[(*n)++] = i;
	}
	qsort_r(order, *n, sizeof(*order), cmp_rows, &ctx);
	return order;
}

/* Which optional columns fit: drop the highest `drop` ranks until FUNCTION has room. */
static void table_layout(int w, bool inuse, bool assist, bool shown[TUI_NCOLS], int *func_w,
			 int *file_w)
{
	*file_w = cols[TUI_COL_FILE].width;
	for (int c = 0; c < TUI_NCOLS; c++)
		shown[c] = inuse || (c != TUI_COL_INUSE && c != TUI_COL_GROWTH);
	shown[TUI_COL_ASSIST] = assist;
	for (int rank = 8; rank >= 0; rank--) {
		int used = 0;

		for (int c = 1; c < TUI_NCOLS; c++)
			if (shown[c])
				used += cols[c].width + 1;
		*func_w = w - used;
		if (*func_w >= MIN_FUNC_W || !rank) {
			if (*func_w < 8)
				*func_w = 8;
			/* Wide screens: past MAX_FUNC_W the file path is worth more. */
			if (*func_w > MAX_FUNC_W && shown[TUI_COL_FILE]) {
				*file_w += *func_w - MAX_FUNC_W;
				*func_w = MAX_FUNC_W;
			}
			return;
		}
		for (int c = 1; c < TUI_NCOLS; c++)
			if (cols[c].drop == rank)
				shown[c] = false;
	}
}

static int col_width(int c, int func_w, int file_w)
{
	return c == TUI_COL_FUNC ? func_w : c == TUI_COL_FILE ? file_w : cols[c].width;
}

static void render_table_head(struct tui_frame *f, const struct tui_view *v, int y,
			      const bool shown[TUI_NCOLS], int func_w, int file_w)
{
	struct lw lw = line_at(f, y, TUI_A_HEAD);
	const char *arrow = v->ascii ? (v->sort_asc ? "^" : "v") : (v->sort_asc ? "▲" : "▼");

	for (int c = 0; c < TUI_NCOLS; c++) {
		int width = col_width(c, func_w, file_w), at = lw.col;
		char title[32];

		if (!shown[c])
			continue;
		snprintf(title, sizeof(title), "%s%s", cols[c].title,
			 c == TUI_COL_FUNC ? (v->cum ? " (cumulative)" : " (flat)") : "");
		if (c == (int)v->sort_col && cols[c].right)
			snprintf(title, sizeof(title), "%s%s", arrow, cols[c].title);
		else if (c == (int)v->sort_col)
			snprintf(title + strlen(title), sizeof(title) - strlen(title), "%s", arrow);
		lw_field(&lw, title, width, cols[c].right);
		if (c == (int)v->sort_col)
			lw_span(&lw, at, width, TUI_A_SORTED);
		if (c < TUI_NCOLS - 1)
			lw_puts(&lw, " ");
	}
	lw_finish(&lw);
}

static void render_row(struct tui_frame *f, const struct tui_snapshot *s,
		       const struct tui_view *v, int y, const struct tui_row *r,
		       const bool shown[TUI_NCOLS], int func_w, int file_w, bool selected)
{
	struct lw lw = line_at(f, y, selected ? TUI_A_SEL : TUI_A_NORMAL);
	double bytes = row_bytes(r, v->cum), objs = row_objs(r, v->cum);
	char buf[300];

	for (int c = 0; c < TUI_NCOLS; c++) {
		const char *text = buf;

		if (!shown[c])
			continue;
		switch (c) {
		case TUI_COL_FUNC:
			text = r->func;
			break;
		case TUI_COL_ALLOC:
			fmt_bytes(bytes, buf, sizeof(buf));
			break;
		case TUI_COL_CI:
			/* the flat estimate's 95 % half-width, relative; "~0": the interval
			 * reaches zero, the rate is indistinguishable from nothing */
			if (v->cum || r->bytes_ci95_s < 0)
				buf[0] = 0;
			else if (r->bytes_ci95_s >= r->bytes_s)
				snprintf(buf, sizeof(buf), "~0");
			else if (r->bytes_ci95_s < 0.01 * r->bytes_s)
				snprintf(buf, sizeof(buf), "<1%%");
			else
				snprintf(buf, sizeof(buf), "%.0f%%",
					 100 * r->bytes_ci95_s / r->bytes_s);
			break;
		case TUI_COL_OBJS:
			fmt_count(objs, buf, sizeof(buf));
			break;
		case TUI_COL_AVG:
			if (objs > 0)
				fmt_bytes(bytes / objs, buf, sizeof(buf));
			else
				snprintf(buf, sizeof(buf), "-");
			break;
		case TUI_COL_PCT:
			snprintf(buf, sizeof(buf), "%.1f",
				 s->alloc_bytes_s > 0 ? 100 * bytes / s->alloc_bytes_s : 0.0);
			break;
		case TUI_COL_INUSE:
			fmt_bytes(r->inuse_bytes, buf, sizeof(buf));
			break;
		case TUI_COL_GROWTH:
			fmt_bytes_signed(r->growth_bytes_s, buf, sizeof(buf));
			if (r->leak)
				strcat(buf, "!");
			break;
		case TUI_COL_ASSIST:
			fmt_cpu_rate(row_assist(r, v->cum), buf, sizeof(buf));
			break;
		case TUI_COL_KIND:
			text = r->kind ? r->kind : "";
			break;
		case TUI_COL_FILE:
			if (r->file && r->file[0])
				snprintf(buf, sizeof(buf), "%s:%d", basename_of(r->file), r->line);
			else
				snprintf(buf, sizeof(buf), "?");
			break;
		}
		int at = lw.col;

		lw_field(&lw, text, col_width(c, func_w, file_w), cols[c].right);
		/* Noise: a rate whose 95 % interval is over a fifth of it is dimmed. */
		if (c == TUI_COL_ALLOC && !v->cum && r->bytes_ci95_s > 0.2 * r->bytes_s &&
		    !selected)
			lw_span(&lw, at, col_width(c, func_w, file_w), TUI_A_DIM);
		if (c == TUI_COL_GROWTH && r->leak)
			lw_span(&lw, at, col_width(c, func_w, file_w), TUI_A_WARN);
		if (c < TUI_NCOLS - 1)
			lw_puts(&lw, " ");
	}
	lw_finish(&lw);
}

/* Selection and scroll for n rows and a page of `page` lines; sel_func follows the row. */
static void place_selection(struct tui_view *v, const struct tui_snapshot *s, const size_t *order,
			    size_t n, int page)
{
	if (!v->sel_moved && v->follow && v->sel_func[0]) {
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(s->rows[order[i]].func, v->sel_func)) {
				v->sel = (int)i;
				break;
			}
		}
	}
	v->sel_moved = false;
	if (v->sel >= (int)n)
		v->sel = (int)n - 1;
	if (v->sel < 0)
		v->sel = 0;
	if (n)
		snprintf(v->sel_func, sizeof(v->sel_func), "%s", s->rows[order[v->sel]].func);
	else
		v->sel_func[0] = 0;
	if (page < 1)
		page = 1;
	if (v->sel < v->scroll)
		v->scroll = v->sel;
	if (v->sel >= v->scroll + page)
		v->scroll = v->sel - page + 1;
	if (v->scroll > (int)n - page)
		v->scroll = (int)n - page;
	if (v->scroll < 0)
		v->scroll = 0;
}

static void render_table(struct tui_frame *f, const struct tui_snapshot *s, struct tui_view *v,
			 int y0, int y1)
{
	bool shown[TUI_NCOLS];
	size_t n, *order;
	int func_w, file_w;

	v->has_assist = s->has_assist;
	if (!v->has_assist && v->sort_col == TUI_COL_ASSIST)
		v->sort_col = TUI_COL_ALLOC;	/* the target went away with the column */
	table_layout(f->w, s->has_inuse, s->has_assist, shown, &func_w, &file_w);
	render_table_head(f, v, y0, shown, func_w, file_w);
	order = table_order(s, v, &n);
	v->nshown = (int)n;
	v->page = y1 - y0 - 1;
	place_selection(v, s, order, n, v->page);
	for (int y = y0 + 1, i = v->scroll; y < y1 && i < (int)n; y++, i++)
		render_row(f, s, v, y, &s->rows[order[i]], shown, func_w, file_w,
			   !v->batch && i == v->sel);
	if (!n) {
		struct lw lw = line_at(f, y0 + 1, TUI_A_DIM);

		if (!order && s->nrows)
			lw_puts(&lw, "  (out of memory)");
		else if (v->filter[0])
			lw_printf(&lw, "  no function matches \"%s\"", v->filter);
		else if (s->interval_s <= 0)
			lw_puts(&lw, "  waiting for the first interval...");
		else
			lw_puts(&lw, "  no allocation samples yet");
		lw_finish(&lw);
	}
	free(order);
}

/* --- help and detail ------------------------------------------------------------------------ */

static const char *const help_lines[] = {
	"heapscope top: allocation rates per Go function over a sliding window",
	"",
	"  q F10        quit",
	"  h ? F1       this help (Up/Down scroll it, any other key returns)",
	"  s F6 > <     next / previous sort column   u g  by IN-USE / by GROWTH/s",
	"  r I          reverse the sort order",
	"  /            filter functions by substring (Enter keeps, Esc clears)",
	"  p space      pause: freeze the display (data is still collected)",
	"  c            flat (allocated in the function) / cumulative (in it or below)",
	"  + -          refresh less / more often      w  next window: 10s 30s 60s refresh",
	"  Up Down j k  select        PgUp PgDn Home End  scroll",
	"  Enter        detail: top stacks of the selected function and a remedy;",
	"               --source adds why each of its sites escapes (go's -m=2 output)",
	"  Esc Left     leave the detail view",
	"",
	"Columns: FUNCTION  ALLOC/s bytes/s  +/- its 95% interval (~0: spans zero)",
	"  OBJS/s objects/s  AVG SIZE bytes/object",
	"  %ALLOC share of all bytes  KIND how it allocates  FILE:LINE the top site line",
	"  IN-USE bytes still held at the last GC cycle  GROWTH/s their trend (! a leak)",
	"  ASSIST/s CPU spent assisting the GC's marking, per second (when measurable)",
	"Header: Heap live vs goal [|]; GC CPU share of all Ps: # assist, | background,",
	"  : idle workers, ! stop-the-world pauses.",
	"",
	"Rates are over the window in the header, estimated from the Go runtime's own",
	"allocation sampler (1 sample per MemProfileRate bytes), unsampled as pprof does;",
	"rows with nothing in the window drop out.",
};

/* The help scrolls (Up/Down, PgUp/PgDn) where the terminal is shorter than it. */
static void render_help(struct tui_frame *f, struct tui_view *v, int y0, int y1)
{
	int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));
	int rows = y1 - y0, max = n > rows ? n - rows : 0;

	if (v->help_scroll > max)
		v->help_scroll = max;
	if (v->help_scroll < 0)
		v->help_scroll = 0;
	for (int y = y0, i = v->help_scroll; y < y1; y++, i++) {
		struct lw lw = line_at(f, y, i == 0 ? TUI_A_TITLE : TUI_A_NORMAL);

		if (i < n)
			lw_puts(&lw, help_lines[i]);
		lw_finish(&lw);
	}
}

static const struct tui_row *find_row(const struct tui_snapshot *s, const char *func)
{
	for (size_t i = 0; func && i < s->nrows; i++)
		if (!strcmp(s->rows[i].func, func))
			return &s->rows[i];
	return NULL;
}

/* Next line of a scrolled view: off-screen lines get a writer that drops everything. */
static struct lw dline(struct tui_frame *f, int *y, int y0, int y1, uint8_t attr)
{
	int at = (*y)++;

	return line_at(f, at >= y0 && at < y1 ? at : -1, attr);
}

/* Put text on lw, continuing on indented lines below at spaces when it does not fit. */
static void lw_wrap(struct tui_frame *f, struct lw *lw, int *y, int y0, int y1, const char *text)
{
	const int indent = 8;

	while (*text) {
		int room = f->w - lw->col, n = (int)strlen(text), cut = n;

		if (n > room) {
			for (cut = room; cut > 0 && text[cut] != ' '; cut--)
				;
			if (cut <= 0)
				cut = room;	/* one long word: the line cuts it */
		}
		lw_putn(lw, text, cut);
		text += cut;
		while (*text == ' ')
			text++;
		if (!*text)
			break;
		lw_finish(lw);
		*lw = dline(f, y, y0, y1, TUI_A_NORMAL);
		lw_printf(lw, "%*s", indent, "");
	}
}

/* The compiler's reason for the function's largest site, when --source gave one. */
static const struct escape_place *main_escape(const struct tui_snapshot *s)
{
	const struct escape_site *e = s->nsites ? s->sites[0].escape : NULL;

	return e && e->nplaces && e->places[0].cause != ESC_CAUSE_NONE ? &e->places[0] : NULL;
}

/* --source: each site with what the compiler said about its line, and the flow that explains
 * it, from line *y on. */
static void render_escapes(struct tui_frame *f, const struct tui_snapshot *s, int *y, int y0,
			   int y1)
{
	char b1[32], why[512];
	struct lw lw;

	if (!s->nsites || !s->sites[0].escape)
		return;
	lw = dline(f, y, y0, y1, TUI_A_NORMAL);
	lw_finish(&lw);
	lw = dline(f, y, y0, y1, TUI_A_HEAD);
	lw_puts(&lw, "Why it escapes (go build -gcflags=-m=2)");
	lw_finish(&lw);
	for (size_t i = 0; i < s->nsites; i++) {
		const struct tui_site *st = &s->sites[i];
		const struct escape_place *p;

		if (!st->escape || !st->escape->nplaces)
			continue;
		p = &st->escape->places[0];
		lw = dline(f, y, y0, y1, TUI_A_NORMAL);
		lw_printf(&lw, "  %s:%d  %s  %s  ", basename_of(st->file), st->line, st->kind,
			  fmt_bytes(st->bytes, b1, sizeof(b1)));
		if (p->inlined_into)
			lw_printf(&lw, "inlined into %s at %s:%d: ", p->inlined_into,
				  basename_of(p->file), p->line);
		lw_puts(&lw, escape__summary(st->escape, why, sizeof(why)));
		lw_finish(&lw);
		for (int k = 0; p->because && k < p->because->nflow; k++) {
			lw = dline(f, y, y0, y1, TUI_A_DIM);
			lw_printf(&lw, "      %s", p->because->flow[k]);
			lw_finish(&lw);
		}
	}
}

/* The detail view, drawn v->detail_scroll lines down its content. Returns its line count. */
static int render_detail(struct tui_frame *f, const struct tui_snapshot *s,
			 const struct tui_view *v, int y0, int y1)
{
	const char *func = s->detail_func ? s->detail_func : v->sel_func;
	const struct tui_row *r = find_row(s, func);
	const char *remedy = tui__remedy(r ? r->kind : NULL);
	const struct escape_place *esc = main_escape(s);
	int start = y0 - v->detail_scroll, y = start;
	char b1[32], b2[32], b3[32];
	struct lw lw;

	lw = dline(f, &y, y0, y1, TUI_A_TITLE);
	lw_puts(&lw, func);
	lw_finish(&lw);
	lw = dline(f, &y, y0, y1, TUI_A_NORMAL);
	if (r) {
		lw_printf(&lw, "kind %s  at %s:%d  %s/s  %s obj/s  avg %s",
			  r->kind ? r->kind : "?", basename_of(r->file), r->line,
			  fmt_bytes(r->bytes_s, b1, sizeof(b1)), fmt_count(r->objs_s, b2, sizeof(b2)),
			  r->objs_s > 0 ? fmt_bytes(r->bytes_s / r->objs_s, b3, sizeof(b3)) : "-");
		if (s->has_assist)
			lw_printf(&lw, "  assist %s/s", fmt_cpu_rate(r->assist_s, b1, sizeof(b1)));
		lw_puts(&lw, "  (flat, last interval)");
	} else
		lw_puts(&lw, "no longer in the table");
	lw_finish(&lw);
	if (r && s->has_inuse) {
		lw = dline(f, &y, y0, y1, r->leak ? TUI_A_WARN : TUI_A_NORMAL);
		lw_printf(&lw, "in use %s  growth %s/s%s  (its sites, as of the last GC cycle)",
			  fmt_bytes(r->inuse_bytes, b1, sizeof(b1)),
			  fmt_bytes_signed(r->growth_bytes_s, b2, sizeof(b2)),
			  r->leak ? "  LEAK SUSPECT: steady growth" : "");
		lw_finish(&lw);
	}
	if (r && r->file && r->file[0]) {
		lw = dline(f, &y, y0, y1, TUI_A_DIM);
		lw_printf(&lw, "file %s", r->file);
		lw_finish(&lw);
	}
	lw = dline(f, &y, y0, y1, TUI_A_NORMAL);
	lw_puts(&lw, "Remedy: ");
	lw_span(&lw, 0, 7, TUI_A_KEY);
	/* The compiler's reason, when --source has one, names the cause: more than the kind. */
	if (esc) {
		char text[512];

		snprintf(text, sizeof(text), "%s: %s", escape_cause__text(esc->cause),
			 escape_cause__remedy(esc->cause));
		lw_wrap(f, &lw, &y, y0, y1, text);
	} else {
		lw_puts(&lw, remedy ? remedy : "no standard remedy for this kind; see the stacks below");
	}
	lw_finish(&lw);
	render_escapes(f, s, &y, y0, y1);
	lw = dline(f, &y, y0, y1, TUI_A_NORMAL);
	lw_finish(&lw);
	lw = dline(f, &y, y0, y1, TUI_A_HEAD);
	lw_printf(&lw, "Top stacks since attach (%zu)", s->nstacks);
	lw_finish(&lw);
	if (!s->nstacks) {
		lw = dline(f, &y, y0, y1, TUI_A_DIM);
		lw_puts(&lw, "  no stacks recorded for this function yet");
		lw_finish(&lw);
	}
	for (size_t i = 0; i < s->nstacks; i++) {
		const struct tui_stack *st = &s->stacks[i];

		lw = dline(f, &y, y0, y1, TUI_A_TITLE);
		lw_printf(&lw, "%5.1f%%  %s  %s objects",
			  s->detail_total_bytes > 0 ? 100 * st->bytes / s->detail_total_bytes : 0,
			  fmt_bytes(st->bytes, b1, sizeof(b1)),
			  fmt_count(st->objects, b2, sizeof(b2)));
		lw_finish(&lw);
		for (int k = 0; k < st->nframes; k++) {
			const struct tui_frame_ref *fr = &st->frames[k];

			lw = dline(f, &y, y0, y1, TUI_A_NORMAL);
			lw_printf(&lw, "    %s", fr->func);
			if (fr->file && fr->file[0])
				lw_printf(&lw, "  %s:%d", basename_of(fr->file), fr->line);
			lw_finish(&lw);
		}
	}
	return y - start;
}

/* --- frame ---------------------------------------------------------------------------------- */

static void render_keybar(struct tui_frame *f, const struct tui_view *v, int y)
{
	static const struct {
		const char *key, *what;
	} table_keys[] = { { "h", "Help" },  { "s", "Sort" },	{ "/", "Filter" },
			   { "c", "Cum" },   { "p", "Pause" },	{ "Enter", "Detail" },
			   { "q", "Quit" } },
	  other_keys[] = { { "Esc", "Back" }, { "Up/Dn", "Scroll" }, { "q", "Quit" } };
	bool table = v->mode == TUI_MODE_TABLE;
	size_t n = table ? sizeof(table_keys) / sizeof(table_keys[0])
			 : sizeof(other_keys) / sizeof(other_keys[0]);
	struct lw lw = line_at(f, y, TUI_A_NORMAL);

	for (size_t i = 0; i < n; i++) {
		const char *key = table ? table_keys[i].key : other_keys[i].key;
		const char *what = table ? table_keys[i].what : other_keys[i].what;
		int at = lw.col;

		lw_puts(&lw, key);
		lw_span(&lw, at, lw.col - at, TUI_A_KEY);
		lw_printf(&lw, " %s%s", what, i + 1 < n ? "  " : "");
	}
	lw_finish(&lw);
}

int tui__batch_height(const struct tui_snapshot *s)
{
	return HEADER_LINES + 1 + (int)(s->nrows ? s->nrows : 1);
}

void tui__render(struct tui_frame *f, const struct tui_snapshot *s, struct tui_view *v)
{
	int body_end = v->batch ? f->h : f->h - 1;

	v->has_inuse = s->has_inuse;
	for (int y = 0; y < f->h; y++) {
		struct lw lw = line_at(f, y, TUI_A_NORMAL);

		lw_finish(&lw);
	}
	render_target(f, s, v);
	render_alloc(f, s, v);
	render_heap(f, s);
	render_gc_cpu(f, s);
	render_gc_line(f, s);
	render_message(f, s, v, HEADER_LINES - 1);
	if (v->mode == TUI_MODE_HELP && !v->batch) {
		render_help(f, v, HEADER_LINES, body_end);
	} else if (v->mode == TUI_MODE_DETAIL && !v->batch) {
		int total = render_detail(f, s, v, HEADER_LINES, body_end);

		/* Clamp the scroll to the content, then draw again if that moved it. */
		if (v->detail_scroll > total - (body_end - HEADER_LINES)) {
			v->detail_scroll = total - (body_end - HEADER_LINES);
			if (v->detail_scroll < 0)
				v->detail_scroll = 0;
			for (int y = HEADER_LINES; y < body_end; y++) {
				struct lw lw = line_at(f, y, TUI_A_NORMAL);

				lw_finish(&lw);
			}
			render_detail(f, s, v, HEADER_LINES, body_end);
		}
	} else {
		render_table(f, s, v, HEADER_LINES, body_end);
	}
	if (!v->batch)
		render_keybar(f, v, f->h - 1);
}

void tui_frame__text(const struct tui_frame *f, struct strbuf *sb)
{
	int h = f->h;

	/* Batch frames are sized for every row; flat mode or a filter leaves some empty. */
	while (h > 1 && !f->lines[h - 1].text[strspn(f->lines[h - 1].text, " ")])
		h--;
	for (int y = 0; y < h; y++) {
		const char *t = f->lines[y].text;
		size_t n = strlen(t);

		while (n && t[n - 1] == ' ')
			n--;
		strbuf_printf(sb, "%.*s\n", (int)n, t);
	}
}

/* --- keys ----------------------------------------------------------------------------------- */

static unsigned key_filter(struct tui_view *v, int key)
{
	size_t n = strlen(v->filter);

	switch (key) {
	case TUI_KEY_ENTER:
		v->editing_filter = false;
		break;
	case TUI_KEY_ESC:
		v->editing_filter = false;
		v->filter[0] = 0;
		break;
	case TUI_KEY_BACKSPACE:
		if (n)
			v->filter[n - 1] = 0;
		break;
	default:
		if (key < 0x20 || key > 0x7e || n + 1 >= sizeof(v->filter))
			return 0;
		v->filter[n] = (char)key;
		v->filter[n + 1] = 0;
	}
	v->scroll = 0;
	return TUI_REDRAW | TUI_RESORT;
}

static void move_sel(struct tui_view *v, int to)
{
	v->sel = to;
	v->sel_moved = true;
	v->follow = true;
}

static unsigned key_table(struct tui_view *v, int key)
{
	int page = v->page > 1 ? v->page : 1;

	switch (key) {
	case 's':
	case '>':
	case TUI_KEY_F6:
	case '<':
		do
			v->sort_col = (v->sort_col + (key == '<' ? TUI_NCOLS - 1 : 1)) % TUI_NCOLS;
		while ((!v->has_inuse &&
			(v->sort_col == TUI_COL_INUSE || v->sort_col == TUI_COL_GROWTH)) ||
		       (!v->has_assist && v->sort_col == TUI_COL_ASSIST));
		v->sort_asc = !cols[v->sort_col].desc;
		return TUI_REDRAW | TUI_RESORT;
	case 'u':
	case 'g':
		if (!v->has_inuse)
			return 0;
		v->sort_col = key == 'u' ? TUI_COL_INUSE : TUI_COL_GROWTH;
		v->sort_asc = !cols[v->sort_col].desc;
		return TUI_REDRAW | TUI_RESORT;
	case 'r':
	case 'I':
		v->sort_asc = !v->sort_asc;
		return TUI_REDRAW | TUI_RESORT;
	case '/':
		v->editing_filter = true;
		return TUI_REDRAW;
	case TUI_KEY_ESC:
		if (!v->filter[0])
			return 0;
		v->filter[0] = 0;
		return TUI_REDRAW | TUI_RESORT;
	case 'c':
		v->cum = !v->cum;
		return TUI_REDRAW | TUI_RESORT;
	case '+':
		return TUI_SLOWER;
	case '-':
		return TUI_FASTER;
	case 'w':
		return TUI_WINDOW;
	case TUI_KEY_UP:
	case 'k':
		move_sel(v, v->sel - 1);
		return TUI_REDRAW;
	case TUI_KEY_DOWN:
	case 'j':
		move_sel(v, v->sel + 1);
		return TUI_REDRAW;
	case TUI_KEY_PGUP:
		move_sel(v, v->sel - page);
		return TUI_REDRAW;
	case TUI_KEY_PGDN:
		move_sel(v, v->sel + page);
		return TUI_REDRAW;
	case TUI_KEY_HOME:
		move_sel(v, 0);
		v->follow = false;	/* back at the top: stay there as rows reorder */
		return TUI_REDRAW;
	case TUI_KEY_END:
		move_sel(v, v->nshown - 1);
		return TUI_REDRAW;
	case TUI_KEY_ENTER:
		if (!v->nshown || !v->sel_func[0])
			return 0;
		v->mode = TUI_MODE_DETAIL;
		v->detail_scroll = 0;
		return TUI_REDRAW | TUI_DETAIL;
	}
	return 0;
}

static unsigned key_detail(struct tui_view *v, int key)
{
	switch (key) {
	case TUI_KEY_ESC:
	case TUI_KEY_ENTER:
	case TUI_KEY_LEFT:
	case TUI_KEY_BACKSPACE:
		v->mode = TUI_MODE_TABLE;
		return TUI_REDRAW;
	case TUI_KEY_UP:
	case 'k':
		v->detail_scroll -= v->detail_scroll > 0;
		return TUI_REDRAW;
	case TUI_KEY_DOWN:
	case 'j':
		v->detail_scroll++;	/* clamped by the renderer */
		return TUI_REDRAW;
	case TUI_KEY_PGUP:
		v->detail_scroll = v->detail_scroll > v->page ? v->detail_scroll - v->page : 0;
		return TUI_REDRAW;
	case TUI_KEY_PGDN:
		v->detail_scroll += v->page > 1 ? v->page : 1;
		return TUI_REDRAW;
	case TUI_KEY_HOME:
		v->detail_scroll = 0;
		return TUI_REDRAW;
	case TUI_KEY_END:
		v->detail_scroll = 1 << 20;
		return TUI_REDRAW;
	}
	return 0;
}

unsigned tui__key(struct tui_view *v, int key)
{
	if (key == TUI_KEY_RESIZE)
		return TUI_REDRAW;
	if (v->editing_filter)
		return key_filter(v, key);
	if (key == 'q' || key == TUI_KEY_F10)
		return TUI_QUIT;
	if (key == 'p' || key == ' ') {
		v->paused = !v->paused;
		return TUI_REDRAW | TUI_PAUSE;
	}
	if (v->mode == TUI_MODE_HELP) {
		/* scrolling keys scroll (clamped by the renderer); htop: any other key leaves */
		if (key == TUI_KEY_UP || key == 'k' || key == TUI_KEY_PGUP)
			v->help_scroll -= key == TUI_KEY_PGUP ? (v->page > 1 ? v->page : 1) : 1;
		else if (key == TUI_KEY_DOWN || key == 'j' || key == TUI_KEY_PGDN)
			v->help_scroll += key == TUI_KEY_PGDN ? (v->page > 1 ? v->page : 1) : 1;
		else
			v->mode = TUI_MODE_TABLE;
		return TUI_REDRAW;
	}
	if (key == 'h' || key == '?' || key == TUI_KEY_F1) {
		v->mode = TUI_MODE_HELP;
		v->help_scroll = 0;
		return TUI_REDRAW;
	}
	if (v->mode == TUI_MODE_DETAIL)
		return key_detail(v, key);
	return key_table(v, key);
}
