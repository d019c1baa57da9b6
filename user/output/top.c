// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "gc.h"
#include "report.h"
#include "loop.h"
#include "session.h"
#include "source.h"
#include "term.h"
#include "top.h"
#include "tui.h"
#include "util.h"

#define DETAIL_STACKS 10
#define DETAIL_FRAMES 16
#define DETAIL_SITES 16
#define BATCH_WIDTH 160

/* Cumulative counters of one function at some moment, indexed by its name id. */
struct prev_func {
	double flat_bytes, flat_objs, cum_bytes, cum_objs, flat_var_bytes;
	double flat_assist, cum_assist;
};

/* The cumulative figures at one moment: rates over a window are differences of two. */
struct hist_entry {
	uint64_t ns;
	double bytes, objs;
	struct prev_func *f;	/* by function id */
	size_t nf;
};

/* Moments kept for sliding windows: spaced at least HIST_STEP_NS apart, as far back as the
 * longest window, so memory does not grow with the refresh rate. */
#define HIST_STEP_NS 500000000ull
#define HIST_MAX 256
/* What w cycles through; 0 is "one refresh interval". */
static const double windows[] = { 10, 30, 60, 0 };
#define MIN_INTERVAL_S 0.1
#define MAX_INTERVAL_S 60

struct snap_buf {
	struct tui_snapshot s;
	struct tui_row *rows;
	size_t cap;
};

struct top {
	const struct top_opts *o;
	struct tracer tr;
	struct session s;
	struct loop l;
	int sigfd, timerfd;
	bool interactive, exited;
	int ret;
	long frames;
	double interval_s;	/* refresh, changed by +/- */
	double window_s;	/* sliding window, changed by w; 0: one refresh */
	/* The previous refresh (window 0 and the sparkline) and older moments (windows). */
	struct hist_entry prev;
	struct hist_entry hist[HIST_MAX];
	int hist_first, nhist;
	uint64_t prev_ns;
	bool have_prev_gc;
	struct gc_totals prev_gc;
	double spark[TUI_SPARK_LEN];
	uint64_t spark_from[TUI_SPARK_LEN];	/* start of each sparkline interval */
	int nspark;
	/* Two snapshots: while paused, `shown` stays frozen and `latest` keeps moving. */
	struct snap_buf snaps[2];
	int shown, latest;
	struct tui_view v;
	struct tui_frame f;
	int fw, fh;	/* size the frame was made for */
	char notice[256];
	/* Detail view of detail_func: its largest stacks since attach. */
	char detail_func[256];
	struct tui_stack stacks[DETAIL_STACKS];
	struct tui_frame_ref stack_frames[DETAIL_STACKS][DETAIL_FRAMES];
	size_t nstacks;
	double detail_total;
	/* --source: the compiler's diagnostics, computed once; the detail function's sites. */
	struct source *src;
	struct tui_site sites[DETAIL_SITES];
	size_t nsites;
};

/* The last log line, shown on the message line while the dashboard owns the terminal. */
static char status_line[256];

static void status_sink(int level, const char *msg)
{
	if (level == LOG_DBG)
		return;
	snprintf(status_line, sizeof(status_line), "%s%s",
		 level == LOG_ERR ? "error: " : level == LOG_WARN ? "warning: " : "", msg);
}

/* GC figures over the interval from two totals snapshots; false while the GC probes are off
 * (the meters then say n/a) or before the first interval. */
static bool gc_window_now(struct top *t, uint64_t now, struct tui_snapshot *snap)
{
	struct gc_totals cur;
	bool ok = t->have_prev_gc;

	if (!t->s.gc_on || !t->s.gc)
		return false;
	gc_state__totals(t->s.gc, &cur);
	if (ok)
		gc_state__window(t->s.gc, &t->prev_gc, &cur, t->prev_ns, now, &snap->gc);
	t->prev_gc = cur;
	t->have_prev_gc = true;
	return ok;
}

static double uptime_s(const struct target *tg)
{
	struct timespec ts;
	uint64_t now;

	/* start_ns counts from boot, suspend included: compare with CLOCK_BOOTTIME. */
	if (!tg->start_ns || clock_gettime(CLOCK_BOOTTIME, &ts))
		return -1;
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	return now > tg->start_ns ? (now - tg->start_ns) / 1e9 : 0;
}

/* The cumulative figures now, into e (its arrays reused). 0 or -ENOMEM. */
static int capture(struct top *t, struct hist_entry *e, uint64_t now)
{
	const struct agg_func_stats *f;
	struct agg_totals tot;
	uint32_t max_id = 0;
	size_t n;

	f = agg__funcs(t->s.agg, &n);
	for (size_t i = 0; i < n; i++)
		max_id = f[i].func > max_id ? f[i].func : max_id;
	if ((size_t)max_id + 1 > e->nf) {
		size_t cap = e->nf ? e->nf : 256;
		struct prev_func *p;

		while (cap < (size_t)max_id + 1)
			cap *= 2;
		p = realloc(e->f, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + e->nf, 0, (cap - e->nf) * sizeof(*p));
		e->f = p;
		e->nf = cap;
	}
	for (size_t i = 0; i < n; i++)
		e->f[f[i].func] = (struct prev_func){ f[i].flat_bytes, f[i].flat_objects,
						      f[i].cum_bytes, f[i].cum_objects,
						      f[i].flat_var_bytes, f[i].assist_s,
						      f[i].cum_assist_s };
	agg__totals(t->s.agg, &tot);
	e->bytes = tot.bytes;
	e->objs = tot.objects;
	e->ns = now;
	return 0;
}

static void copy_entry(struct hist_entry *dst, const struct hist_entry *src)
{
	struct prev_func *f = dst->f;
	size_t nf = dst->nf;

	if (nf < src->nf) {
		f = realloc(f, src->nf * sizeof(*f));
		if (!f)
			return;
		nf = src->nf;
	}
	/* an empty moment has no array at all: memcpy and memset must not see NULL */
	if (src->nf)
		memcpy(f, src->f, src->nf * sizeof(*f));
	if (nf > src->nf)
		memset(f + src->nf, 0, (nf - src->nf) * sizeof(*f));
	*dst = *src;
	dst->f = f;
	dst->nf = nf;
}

static struct hist_entry *hist_at(struct top *t, int i)
{
	return &t->hist[(t->hist_first + i) % HIST_MAX];
}

/* Keep this moment if the newest kept one is old enough; forget what no window reaches. */
static void remember(struct top *t, const struct hist_entry *e)
{
	double longest = t->window_s > windows[2] ? t->window_s : windows[2];

	if (t->nhist && e->ns < hist_at(t, t->nhist - 1)->ns + HIST_STEP_NS)
		return;
	while (t->nhist > 1 && e->ns - hist_at(t, 1)->ns > (uint64_t)((longest + 1) * 1e9)) {
		t->hist_first = (t->hist_first + 1) % HIST_MAX;
		t->nhist--;
	}
	if (t->nhist == HIST_MAX) {
		t->hist_first = (t->hist_first + 1) % HIST_MAX;
		t->nhist--;
	}
	copy_entry(hist_at(t, t->nhist), e);
	t->nhist++;
}

/* The moment rates are measured from: the newest kept one at least a window old, or the oldest
 * there is (the window is not full yet); the previous refresh for window 0. */
static const struct hist_entry *window_base(struct top *t, uint64_t now)
{
	const struct hist_entry *base = NULL;

	if (t->window_s <= 0 || !t->nhist)
		return &t->prev;
	for (int i = 0; i < t->nhist; i++) {
		const struct hist_entry *e = hist_at(t, i);

		if (!base || e->ns + (uint64_t)(t->window_s * 1e9) <= now)
			base = e;
	}
	return base;
}

/* Rows over the window: per function, (cumulative now - cumulative at the base) / span. Rows
 * with nothing in the window are not sites now, so the table drops them. */
static int build_rows(struct top *t, struct snap_buf *sb, const struct hist_entry *cur,
		      const struct hist_entry *base, double dt)
{
	const struct agg_func_stats *f;
	size_t n, k = 0;

	f = agg__funcs(t->s.agg, &n);
	if (n > sb->cap) {
		struct tui_row *rows = realloc(sb->rows, n * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		sb->rows = rows;
		sb->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		static const struct prev_func zero;
		const struct prev_func *c = &cur->f[f[i].func];
		const struct prev_func *b = f[i].func < base->nf ? &base->f[f[i].func] : &zero;
		struct tui_row *r = &sb->rows[k];
		double var = c->flat_var_bytes - b->flat_var_bytes;

		r->func = agg__str(t->s.agg, f[i].func);
		r->file = agg__str(t->s.agg, f[i].file);
		r->kind = agg__str(t->s.agg, f[i].kind);
		r->line = (int)f[i].line;
		r->bytes_s = (c->flat_bytes - b->flat_bytes) / dt;
		r->objs_s = (c->flat_objs - b->flat_objs) / dt;
		r->cum_bytes_s = (c->cum_bytes - b->cum_bytes) / dt;
		r->cum_objs_s = (c->cum_objs - b->cum_objs) / dt;
		r->bytes_ci95_s = t->s.opts.mode == MODE_EXACT ? -1 : ci95(var > 0 ? var : 0) / dt;
		r->assist_s = (c->flat_assist - b->flat_assist) / dt;
		r->cum_assist_s = (c->cum_assist - b->cum_assist) / dt;
		/* a function that only assisted in the window (no sample) is a site too */
		r->is_site = r->bytes_s > 0 || r->objs_s > 0 || r->assist_s > 0;
		if (r->is_site || r->cum_bytes_s > 0 || r->cum_assist_s > 0)
			k++;
	}
	sb->s.rows = sb->rows;
	sb->s.nrows = k;
	return 0;
}

static void fill_header(struct top *t, struct tui_snapshot *s)
{
	s->pid = t->s.t.pid;
	s->exe = t->s.t.exe;
	s->go_version = t->s.t.ver.str;
	s->mode = t->s.opts.mode == MODE_EXACT ? "exact" : "sampled";
	s->sample_bytes = t->s.opts.mode == MODE_EXACT ? 0 : t->s.rate;
	s->uptime_s = uptime_s(&t->s.t);
	s->has_assist = t->s.assist_on;
}

/* One refresh: a new snapshot in the slot not on screen; shown unless paused. */
static int take_snapshot(struct top *t)
{
	int slot = !t->shown;
	struct snap_buf *sb = &t->snaps[slot];
	struct tui_snapshot *s = &sb->s;
	uint64_t now = now_monotonic_ns();
	double dt = (now - t->prev_ns) / 1e9, span;
	struct hist_entry cur = { 0 };
	const struct hist_entry *base;
	int err;

	if (dt <= 0)
		return 0;
	/* Everything up to now, including --exact counts, belongs to this interval. */
	err = session__sync(&t->s);
	if (!err)
		err = capture(t, &cur, now);
	base = window_base(t, now);
	span = (now - base->ns) / 1e9;
	if (!err)
		err = build_rows(t, sb, &cur, base, span > 0 ? span : dt);
	if (!err)
		err = retained__fill_tui(t->s.ret, t->s.agg, s, &sb->rows, &sb->cap);
	if (err) {
		free(cur.f);
		return err;
	}
	fill_header(t, s);
	s->interval_s = dt;
	s->window_s = span;
	s->window_target_s = t->window_s > 0 ? t->window_s : dt;
	s->alloc_bytes_s = (cur.bytes - base->bytes) / (span > 0 ? span : dt);
	s->alloc_objs_s = (cur.objs - base->objs) / (span > 0 ? span : dt);
	/* The sparkline: one bar per refresh, its real span labelled. */
	if (t->nspark == TUI_SPARK_LEN) {
		memmove(t->spark, t->spark + 1, (TUI_SPARK_LEN - 1) * sizeof(t->spark[0]));
		memmove(t->spark_from, t->spark_from + 1,
			(TUI_SPARK_LEN - 1) * sizeof(t->spark_from[0]));
	} else {
		t->nspark++;
	}
	t->spark[t->nspark - 1] = (cur.bytes - t->prev.bytes) / dt;
	t->spark_from[t->nspark - 1] = t->prev_ns;
	memcpy(s->spark, t->spark, sizeof(s->spark));
	s->nspark = t->nspark;
	s->spark_span_s = (now - t->spark_from[0]) / 1e9;
	s->lost_events = session__lost(&t->s);
	s->has_gc = gc_window_now(t, now, s);
	s->gc_interval_s = dt;
	remember(t, &cur);
	free(t->prev.f);
	t->prev = cur;
	t->prev_ns = now;
	t->latest = slot;
	if (!t->v.paused)
		t->shown = slot;
	return 0;
}

/* +/- and w: a new refresh interval (the timer is re-armed) or window. */
static int set_interval(struct top *t, double interval_s)
{
	uint64_t ns;

	if (interval_s < MIN_INTERVAL_S)
		interval_s = MIN_INTERVAL_S;
	if (interval_s > MAX_INTERVAL_S)
		interval_s = MAX_INTERVAL_S;
	ns = (uint64_t)(interval_s * 1e9);
	struct itimerspec its = {
		.it_value = { ns / 1000000000ull, ns % 1000000000ull },
		.it_interval = { ns / 1000000000ull, ns % 1000000000ull },
	};

	if (timerfd_settime(t->timerfd, 0, &its, NULL))
		return -errno;
	t->interval_s = interval_s;
	snprintf(status_line, sizeof(status_line), "refresh every %.1f s", interval_s);
	return 0;
}

static void next_window(struct top *t)
{
	size_t i = 0, n = sizeof(windows) / sizeof(windows[0]);

	while (i < n && windows[i] != t->window_s)
		i++;
	t->window_s = windows[(i + 1) % n];
	if (t->window_s > 0)
		snprintf(status_line, sizeof(status_line), "rates over the last %.0f s",
			 t->window_s);
	else
		snprintf(status_line, sizeof(status_line), "rates over each refresh interval");
}

static int site_bytes_desc(const void *a, const void *b)
{
	const struct tui_site *x = a, *y = b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : x->line - y->line;
}

/* detail_func's allocation sites, largest first, each with the compiler's word on it. */
static void build_detail_sites(struct top *t)
{
	size_t n;
	const struct agg_func_stats *f = agg__funcs(t->s.agg, &n);

	t->nsites = 0;
	for (size_t i = 0; i < n; i++) {
		const char *func = agg__str(t->s.agg, f[i].func);

		if (strcmp(func, t->detail_func))
			continue;
		for (uint32_t k = 0; k < f[i].nsites; k++) {
			const struct agg_site_stats *st = &f[i].sites[k];
			struct tui_site *out;

			/* full: replace the smallest kept, so the largest DETAIL_SITES remain */
			if (t->nsites == DETAIL_SITES) {
				qsort(t->sites, t->nsites, sizeof(t->sites[0]), site_bytes_desc);
				if (t->sites[DETAIL_SITES - 1].bytes >= st->bytes)
					continue;
				t->nsites--;
			}
			out = &t->sites[t->nsites++];
			out->file = agg__str(t->s.agg, st->file);
			out->kind = agg__str(t->s.agg, st->kind);
			out->line = (int)st->line;
			out->bytes = st->bytes;
			out->escape = source__site(t->src, t->s.agg, func, out->file, out->line,
						   out->kind);
		}
		break;
	}
	qsort(t->sites, t->nsites, sizeof(t->sites[0]), site_bytes_desc);
}

/* The largest stacks whose site is detail_func, cumulative since attach. */
static void build_detail(struct top *t)
{
	const struct agg_stack_stats *st, *top[DETAIL_STACKS];
	size_t n, ntop = 0;

	st = agg__stacks(t->s.agg, &n);
	t->detail_total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k;

		/* stacks that only assisted have no bytes to rank */
		if (!st[i].nframes || !st[i].samples ||
		    strcmp(agg__str(t->s.agg, st[i].frames[0].func), t->detail_func))
			continue;
		t->detail_total += st[i].bytes;
		/* Insertion into a short sorted list: DETAIL_STACKS is small. */
		for (k = ntop; k > 0 && top[k - 1]->bytes < st[i].bytes; k--)
			if (k < DETAIL_STACKS)
				top[k] = top[k - 1];
		if (k < DETAIL_STACKS) {
			top[k] = &st[i];
			ntop += ntop < DETAIL_STACKS;
		}
	}
	for (size_t i = 0; i < ntop; i++) {
		struct tui_stack *out = &t->stacks[i];

		out->bytes = top[i]->bytes;
		out->objects = top[i]->objects;
		out->nframes = top[i]->nframes < DETAIL_FRAMES ? top[i]->nframes : DETAIL_FRAMES;
		out->frames = t->stack_frames[i];
		for (int k = 0; k < out->nframes; k++)
			t->stack_frames[i][k] = (struct tui_frame_ref){
				agg__str(t->s.agg, top[i]->frames[k].func),
				agg__str(t->s.agg, top[i]->frames[k].file), (int)top[i]->frames[k].line
			};
	}
	t->nstacks = ntop;
	build_detail_sites(t);
}

/* Per-view parts of the snapshot on screen: messages and the detail stacks. */
static struct tui_snapshot *shown_snapshot(struct top *t)
{
	struct tui_snapshot *s = &t->snaps[t->shown].s;

	s->notice = t->notice[0] ? t->notice : NULL;
	s->status = status_line[0] ? status_line : NULL;
	s->detail_func = t->detail_func;
	s->stacks = t->stacks;
	s->nstacks = t->nstacks;
	s->detail_total_bytes = t->detail_total;
	s->sites = t->sites;
	s->nsites = t->nsites;
	return s;
}

static int redraw(struct top *t)
{
	int w, h, err;

	term__size(&w, &h);
	if (w != t->fw || h != t->fh) {
		tui_frame__free(&t->f);
		err = tui_frame__init(&t->f, w, h);
		if (err)
			return err;
		t->fw = w;
		t->fh = h;
	}
	tui__render(&t->f, shown_snapshot(t), &t->v);
	term__draw(&t->f);
	return 0;
}

static int batch_width(const struct top_opts *o)
{
	const char *cols = getenv("COLUMNS");
	int w = cols ? atoi(cols) : 0;

	if (o->batch_width > 0)
		return o->batch_width;
	return w > 0 ? w : BATCH_WIDTH;
}

static int emit_batch(struct top *t)
{
	struct tui_snapshot *s = shown_snapshot(t);
	struct tui_frame f;
	struct strbuf sb = { 0 };
	int err;

	err = tui_frame__init(&f, batch_width(t->o), tui__batch_height(s));
	if (err)
		return err;
	tui__render(&f, s, &t->v);
	tui_frame__text(&f, &sb);
	strbuf_putc(&sb, '\n');
	err = sb.oom ? -ENOMEM : 0;
	if (!err && fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		err = -EIO;
	if (!err && fflush(stdout))
		err = -errno;
	strbuf_free(&sb);
	tui_frame__free(&f);
	return err;
}

static int on_target_exit(void *ctx, int fd, uint32_t events);

static int on_ring(void *ctx, int fd, uint32_t events)
{
	struct top *t = ctx;
	int err = tracer__poll(&t->tr);

	/* An exec ends the observation like an exit: the new program is not the one observed. */
	if (!err && t->s.target_execed && !t->exited)
		return on_target_exit(t, -1, 0);
	return err;
}

static int on_timer(void *ctx, int fd, uint32_t events)
{
	struct top *t = ctx;
	uint64_t ticks;
	int err;

	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return 0;
	if (t->exited)	/* keep the last data on screen */
		return 0;
	/* Without a pidfd (the kernel has none), notice the exit here. */
	if (t->s.t.proc.pidfd < 0 && proc__same(&t->s.t.proc) == -ESRCH)
		return on_target_exit(t, -1, 0);
	err = take_snapshot(t);
	if (!err && t->v.mode == TUI_MODE_DETAIL && !t->v.paused)
		build_detail(t);
	if (!err)
		err = t->interactive ? redraw(t) : emit_batch(t);
	if (err)
		return err;
	if (t->o->iterations && ++t->frames >= t->o->iterations)
		return LOOP_STOP;
	return 0;
}

static int on_signal(void *ctx, int fd, uint32_t events)
{
	struct top *t = ctx;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGWINCH) {
		term__resize();
		return redraw(t);
	}
	return LOOP_STOP;
}

static int on_key(void *ctx, int fd, uint32_t events)
{
	struct top *t = ctx;
	unsigned react = 0;
	int key;

	/* The terminal went away (SIGHUP usually says so too). */
	if (events & (EPOLLHUP | EPOLLERR))
		return LOOP_STOP;
	while ((key = term__key()) >= 0) {
		unsigned r = tui__key(&t->v, key);

		if (r & TUI_QUIT)
			return LOOP_STOP;
		if ((r & TUI_PAUSE) && !t->v.paused)
			t->shown = t->latest;
		if (r & TUI_DETAIL) {
			snprintf(t->detail_func, sizeof(t->detail_func), "%s", t->v.sel_func);
			build_detail(t);
		}
		if (r & (TUI_FASTER | TUI_SLOWER)) {
			int err = set_interval(t, r & TUI_FASTER ? t->interval_s / 2
								  : t->interval_s * 2);

			if (err)
				return err;
			r |= TUI_REDRAW;
		}
		if (r & TUI_WINDOW) {
			next_window(t);
			r |= TUI_REDRAW;
		}
		react |= r;
	}
	return react & TUI_REDRAW ? redraw(t) : 0;
}

static int on_target_exit(void *ctx, int fd, uint32_t events)
{
	struct top *t = ctx;

	int err;

	t->exited = true;
	if (!t->s.target_execed)
		t->s.target_exited = true;
	if (t->s.t.proc.pidfd >= 0)
		loop__del(&t->l, t->s.t.proc.pidfd);
	/* The last partial interval is data too: drain it, then show it. */
	session__sync(&t->s);
	session__detach(&t->s);
	err = take_snapshot(t);
	snprintf(t->notice, sizeof(t->notice), "PID %d %s: showing the last data collected; q quits",
		 t->s.t.pid, t->s.target_execed ? "called execve (another program now)" : "exited");
	if (!t->interactive) {
		if (!err)
			emit_batch(t);
		log_err("PID %d %s", t->s.t.pid,
			t->s.target_execed ? "called execve: observation stopped" : "exited");
		t->ret = 1;
		return LOOP_STOP;
	}
	return redraw(t);
}

static bool want_batch(const struct top_opts *o)
{
	const char *term = getenv("TERM");

	return o->batch || !isatty(STDOUT_FILENO) || !term || !*term || !strcmp(term, "dumb");
}

static int setup_loop(struct top *t)
{
	int err = loop__init(&t->l);

	if (!err)
		err = loop__add(&t->l, tracer__fd(&t->tr), on_ring, t);
	if (!err)
		err = loop__add(&t->l, t->sigfd, on_signal, t);
	if (!err)
		err = loop__add(&t->l, t->timerfd, on_timer, t);
	/* The pinned pidfd: readable when that very process exits. */
	if (!err && t->s.t.proc.pidfd >= 0)
		err = loop__add(&t->l, t->s.t.proc.pidfd, on_target_exit, t);
	/* Keys only from a terminal: epoll refuses /dev/null and a pipe's EOF would spin. */
	if (!err && t->interactive && isatty(STDIN_FILENO))
		err = loop__add(&t->l, STDIN_FILENO, on_key, t);
	return err;
}

static void top_free(struct top *t)
{
	tui_frame__free(&t->f);
	for (int i = 0; i < 2; i++)
		free(t->snaps[i].rows);
	free(t->prev.f);
	for (int i = 0; i < HIST_MAX; i++)
		free(t->hist[i].f);
	loop__close(&t->l);
	session__close(&t->s);
	tracer__close(&t->tr);
	source__close(t->src);
	if (t->timerfd >= 0)
		close(t->timerfd);
	if (t->sigfd >= 0)
		close(t->sigfd);
}

int cmd_top(const struct top_opts *o)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH };
	uint64_t interval_ns = (uint64_t)(o->interval_s * 1e9);
	struct tracer_opts to = { .ringbuf_bytes = o->ringbuf_bytes };
	struct top *t = calloc(1, sizeof(*t));
	const char *cs;
	int err;

	if (!t) {
		log_err("out of memory");
		return 1;
	}
	t->o = o;
	t->sigfd = t->timerfd = -1;
	t->l.epfd = -1;
	t->ret = 1;
	t->interactive = !want_batch(o);
	tui_view__init(&t->v);
	t->v.batch = !t->interactive;
	/* Signals first: a Ctrl-C during attach must still detach and restore the target. */
	t->sigfd = signalfd_for(sigs, t->interactive ? 5 : 4);
	err = t->sigfd < 0 ? t->sigfd : 0;
	/* Before attaching, and once per run: the dashboard joins these at each refresh. */
	if (!err && o->source)
		err = source__open(&t->src, o->source, o->session.pid, t->sigfd);
	if (!err)
		err = tracer__open(&t->tr, &to);
	if (!err)
		err = session__open(&t->s, &t->tr, &o->session);
	if (err)
		goto cleanup;
	log_info("observing PID %d (%s, %s) every %.3g s%s", t->s.t.pid, t->s.t.exe,
		 t->s.t.ver.str, o->interval_s, t->interactive ? "" : "; Ctrl-C to stop");
	t->prev_ns = t->s.attach_ns;
	t->prev.ns = t->s.attach_ns;
	t->interval_s = o->interval_s;
	t->window_s = o->window_s;
	remember(t, &t->prev);	/* the attach moment: all zeros */
	if (t->s.gc_on && t->s.gc) {
		t->prev_gc = t->s.gc_start;
		t->have_prev_gc = true;
	}
	fill_header(t, &t->snaps[0].s);
	t->timerfd = timerfd_after(interval_ns, interval_ns);
	if (t->timerfd < 0) {
		err = t->timerfd;
		log_err("cannot create the refresh timer: %s", strerror(-err));
		goto cleanup;
	}
	if (t->interactive) {
		err = term__init(!o->no_color);
		if (err) {
			log_err("cannot initialise the terminal (TERM=%s); try -b",
				getenv("TERM") ? getenv("TERM") : "");
			goto cleanup;
		}
		t->v.ascii = !term__utf8();
		log_set_sink(status_sink);
	} else {
		setlocale(LC_CTYPE, "");
		cs = nl_langinfo(CODESET);
		t->v.ascii = !cs || strcmp(cs, "UTF-8");
	}
	err = setup_loop(t);
	if (err) {
		log_err("cannot set up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	if (t->interactive)
		redraw(t);
	err = loop__run(&t->l);
	if (err == -EPIPE && !t->interactive) {
		/* the reader went away (top -b | head): a normal end, the cleanup restores all */
		t->ret = 0;
		goto cleanup;
	}
	if (err) {
		/* After the terminal is back, so the line is readable. */
		term__restore();
		log_set_sink(NULL);
		log_err("event loop failed: %s", strerror(-err));
		goto cleanup;
	}
	if (!t->exited)
		t->ret = 0;
	else if (t->interactive)
		t->ret = 0;	/* the user saw the notice and pressed q */
cleanup:
	term__restore();
	log_set_sink(NULL);
	err = t->ret;
	top_free(t);
	free(t);
	return err;
}
