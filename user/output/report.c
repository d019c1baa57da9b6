// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "json.h"
#include "report.h"
#include "retained.h"
#include "session.h"

double ci95(double variance)
{
	/* the normal approximation: 1.96 standard deviations either side */
	return variance > 0 ? 1.959963984540054 * sqrt(variance) : 0;
}

static int site_by_bytes_desc(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->line - y->line;
}

static int by_bytes_desc(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->function, y->function);
}

static void probes_of(const struct session *s, struct report_probes *p)
{
	struct hs_target c;

	session__probe_counters(s, &c);
	*p = (struct report_probes){
		.alloc_hits = c.hits,
		.alloc_events = s->alloc_events,
		.morestack = c.morestack,
		.nested = c.nested,
		.inline_stacks = c.stack_fallback,
		.gc_hits = c.gc_hits,
		.assist_hits = c.assist_hits,
		.assist_unread = c.assist_unread,
	};
}

static int row_by_function(const void *a, const void *b)
{
	const struct report_row *const *x = a, *const *y = b;

	return strcmp((*x)->function, (*y)->function);
}

/* Each row's REPORT_STACKS largest stacks by bytes, matched to it by their site's function. */
static int top_stacks(struct report *r, const struct agg *agg)
{
	const struct agg_stack_stats *st;
	struct report_row **index, key, *keyp = &key, **hit;
	int err = 0;
	size_t n;

	st = agg__stacks(agg, &n);
	index = malloc((r->nrows ? r->nrows : 1) * sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < r->nrows; i++)
		index[i] = &r->rows[i];
	qsort(index, r->nrows, sizeof(*index), row_by_function);
	for (size_t i = 0; i < n; i++) {
		struct report_row *row;
		size_t k;

		/* stacks that only assisted have no bytes to rank */
		if (!st[i].nframes || !st[i].samples)
			continue;
		key.function = agg__str(agg, st[i].frames[0].func);
		hit = bsearch(&keyp, index, r->nrows, sizeof(*index), row_by_function);
		if (!hit)
			continue;
		row = *hit;
		/* Insertion into a short sorted list. */
		for (k = row->nstacks; k > 0 && row->stacks[k - 1].bytes < st[i].bytes; k--)
			;
		if (k >= REPORT_STACKS)
			continue;
		/* the one pushed off the end, if any, gives its frames back */
		if (row->nstacks == REPORT_STACKS)
			free(row->stacks[REPORT_STACKS - 1].frames);
		for (size_t j = row->nstacks < REPORT_STACKS ? row->nstacks : REPORT_STACKS - 1;
		     j > k; j--)
			row->stacks[j] = row->stacks[j - 1];
		row->stacks[k] = (struct report_stack){ .bytes = st[i].bytes,
							.objects = st[i].objects,
							.samples = st[i].samples };
		row->nstacks += row->nstacks < REPORT_STACKS;
		row->stacks[k].frames = calloc(st[i].nframes, sizeof(*row->stacks[k].frames));
		if (!row->stacks[k].frames) {
			err = -ENOMEM;
			break;
		}
		row->stacks[k].nframes = st[i].nframes;
		for (int f = 0; f < st[i].nframes; f++)
			row->stacks[k].frames[f] = (struct report_frame){
				agg__str(agg, st[i].frames[f].func),
				agg__str(agg, st[i].frames[f].file), (int)st[i].frames[f].line
			};
	}
	free(index);
	return err;
}

int report__build(struct report *r, const struct session *s)
{
	const struct agg_func_stats *f;
	struct agg_totals tot;
	size_t n;
	uint64_t end = s->detach_ns ? s->detach_ns : now_monotonic_ns();

	memset(r, 0, sizeof(*r));
	r->pid = s->t.pid;
	r->exe = s->t.exe;
	r->go_version = s->t.ver.str;
	r->mode = s->opts.mode == MODE_EXACT ? "exact" : "sampled";
	r->sample_bytes = s->opts.mode == MODE_EXACT ? 0 : s->rate;
	r->rate_written = s->rate_written;
	r->duration_s = (end - s->attach_ns) / 1e9;
	agg__totals(s->agg, &tot);
	r->alloc_bytes = tot.bytes;
	r->alloc_objects = tot.objects;
	r->alloc_bytes_ci95 = ci95(tot.var_bytes);
	r->alloc_objects_ci95 = ci95(tot.var_objects);
	r->samples = tot.samples;
	r->unattributed = tot.unattributed;
	r->process_cpu_s = s->cpu_known && s->cpu_end_ns >= s->cpu_start_ns
				   ? (s->cpu_end_ns - s->cpu_start_ns) / 1e9
				   : -1;
	r->lost_events = session__lost(s);
	r->rearm_dropped = session__rearm_dropped(s);
	probes_of(s, &r->probes);
	r->rate_changed = s->rate_changed;
	r->target_exited = s->target_exited;
	r->target_execed = s->target_execed;

	r->gc_on = s->gc_on;
	r->assist_on = s->assist_on;
	r->assist_unattributed_s = tot.assist_unattributed_s;
	r->assist_attached_share = session_assist__attached_share(s, end);
	if (s->gc_on) {
		struct gc_totals now;

		gc_state__totals(s->gc, &now);
		gc_state__window(s->gc, &s->gc_start, &now, s->attach_ns, end, &r->gc);
		r->gc_cycles = calloc(s->opts.gc_keep ? s->opts.gc_keep : 1, sizeof(*r->gc_cycles));
		if (!r->gc_cycles)
			return -ENOMEM;
		/* + 1: the last cycle's end event is stamped before detach_ns is taken */
		r->gc_ncycles = gc_state__cycles(s->gc, s->attach_ns, end + 1, r->gc_cycles,
						 s->opts.gc_keep);
	}
	f = agg__funcs(s->agg, &n);
	r->rows = calloc(n ? n : 1, sizeof(*r->rows));
	if (!r->rows)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct report_row *row;

		/* only a caller: shown through cum of its sites */
		if (!f[i].samples && !f[i].assists)
			continue;
		row = &r->rows[r->nrows++];
		row->function = agg__str(s->agg, f[i].func);
		row->file = agg__str(s->agg, f[i].file);
		row->line = f[i].line;
		row->kind = agg__str(s->agg, f[i].kind);
		row->bytes = f[i].flat_bytes;
		row->objects = f[i].flat_objects;
		row->cum_bytes = f[i].cum_bytes;
		row->samples = f[i].samples;
		row->bytes_ci95 = ci95(f[i].flat_var_bytes);
		row->objects_ci95 = ci95(f[i].flat_var_objects);
		row->assist_s = f[i].assist_s;
		row->assists = f[i].assists;
		row->assist_samples = f[i].assist_samples;
		row->sites = calloc(f[i].nsites ? f[i].nsites : 1, sizeof(*row->sites));
		if (!row->sites)
			return -ENOMEM;
		for (uint32_t k = 0; k < f[i].nsites; k++) {
			const struct agg_site_stats *st = &f[i].sites[k];
			struct report_site *rs = &row->sites[row->nsites++];

			rs->file = agg__str(s->agg, st->file);
			rs->line = st->line;
			rs->kind = agg__str(s->agg, st->kind);
			rs->bytes = st->bytes;
			rs->objects = st->objects;
			rs->bytes_ci95 = ci95(st->var_bytes);
			rs->objects_ci95 = ci95(st->var_objects);
			rs->samples = st->samples;
			rs->assist_s = st->assist_s;
		}
		qsort(row->sites, row->nsites, sizeof(*row->sites), site_by_bytes_desc);
	}
	if (retained__fill_report(s->ret, s->agg, r))
		return -ENOMEM;
	qsort(r->rows, r->nrows, sizeof(*r->rows), by_bytes_desc);
	return top_stacks(r, s->agg);
}

void report__free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->rows && i < r->nrows; i++) {
		free(r->rows[i].sites);
		for (size_t k = 0; k < r->rows[i].nstacks; k++)
			free(r->rows[i].stacks[k].frames);
	}
	free(r->rows);
	free(r->gc_cycles);
	r->gc_cycles = NULL;
	r->rows = NULL;
	r->nrows = 0;
}

/* The 95 % half-width relative to the value: "±3%", "<1%" when finer; "~0" marks an interval
 * that reaches zero (the value is indistinguishable from nothing); "" for exact figures. */
static const char *fmt_ci(double value, double half, char *buf, size_t len)
{
	if (half <= 0)
		snprintf(buf, len, "%s", "");
	else if (half >= value)
		snprintf(buf, len, "~0");
	else if (half < 0.01 * value)
		snprintf(buf, len, "<1%%");
	else
		snprintf(buf, len, "%.0f%%", 100 * half / value);
	return buf;
}

/* --source: the compiler's messages under each row or site, indented past the numbers. */
#define ESCAPE_INDENT "             "
#define ESCAPE_FLOW_LINES 6

static const char *basename_of(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

/* GC share of the process's own CPU (/proc/PID/stat), < 0 when unknown. */
static double gc_process_share(const struct report *r)
{
	return r->gc_on && r->process_cpu_s > 0 ? r->gc.cpu_s / r->process_cpu_s : -1;
}

static void gc_text(const struct report *r, struct strbuf *sb)
{
	const struct gc_window *g = &r->gc;
	/* from the histogram: the window had more pauses than stat keeps one by one */
	const char *approx = g->quantiles_approx ? "~" : "";
	char b1[32], b2[32];

	/* not observed: stderr already said why, and the JSON says null */
	if (!r->gc_on)
		return;
	strbuf_printf(sb, "GC: %llu cycles (%llu forced), %llu pauses: total %.3f ms, max %s%.3f ms, "
			  "p50 %s%.3f ms, p99 %s%.3f ms\n",
		      (unsigned long long)g->cycles, (unsigned long long)g->forced_cycles,
		      (unsigned long long)g->pauses, g->pause_total_s * 1e3, approx,
		      g->pause_max_s * 1e3, approx, g->pause_p50_s * 1e3, approx, g->pause_p99_s * 1e3);
	strbuf_printf(sb, "GC CPU: %.3f s = assist %.3f + background %.3f + idle %.3f + pause %.3f",
		      g->cpu_s, g->assist_cpu_s, g->background_cpu_s, g->idle_cpu_s, g->pause_cpu_s);
	if (g->cpu_share >= 0)
		strbuf_printf(sb, "; %.1f%% of GOMAXPROCS=%d", 100 * g->cpu_share, g->gomaxprocs);
	if (gc_process_share(r) >= 0)
		strbuf_printf(sb, ", %.1f%% of the process's CPU", 100 * gc_process_share(r));
	strbuf_putc(sb, '\n');
	if (g->heap_goal_bytes) {
		strbuf_printf(sb, "GC heap: live %s after the last cycle, goal %s, GOGC=",
			      fmt_bytes(g->heap_live_bytes, b1, sizeof(b1)),
			      fmt_bytes(g->heap_goal_bytes, b2, sizeof(b2)));
		if (g->gogc == INT32_MIN)
			strbuf_printf(sb, "?");
		else if (g->gogc < 0)
			strbuf_printf(sb, "off");
		else
			strbuf_printf(sb, "%d", g->gogc);
		if (g->gomemlimit >= 0 && g->gomemlimit != INT64_MAX)
			strbuf_printf(sb, " GOMEMLIMIT=%s", fmt_bytes(g->gomemlimit, b1, sizeof(b1)));
		strbuf_putc(sb, '\n');
	}
}

static void inuse_text(const struct report *r, struct strbuf *sb)
{
	char b1[32], b2[32];

	if (!r->inuse_on)
		return;
	strbuf_printf(sb, "in use: %s in %s objects as of the last GC cycle (heap profile, %llu "
			  "readings%s)\n",
		      fmt_bytes(r->inuse_bytes, b1, sizeof(b1)),
		      fmt_count(r->inuse_objects, b2, sizeof(b2)),
		      (unsigned long long)r->inuse_readings,
		      r->inuse_since_attach
			      ? "; only objects allocated since heapscope switched the sampler on"
			      : "");
}

/* The in-use columns of a row or site line, when there are in-use figures at all. */
static void inuse_cols(const struct report *r, const struct report_inuse *ri, struct strbuf *sb)
{
	char b1[32], b2[32];

	if (!r->inuse_on)
		return;
	if (!ri->known) {
		strbuf_printf(sb, " %11s %12s %4s", "", "", "");
		return;
	}
	strbuf_printf(sb, " %11s %10s/s %4s", fmt_bytes(ri->bytes, b1, sizeof(b1)),
		      fmt_bytes_signed(ri->growth_bytes_s, b2, sizeof(b2)), ri->leak ? "LEAK" : "");
}

static int rows_by_inuse(const void *a, const void *b)
{
	const struct report_row *x = *(const struct report_row *const *)a;
	const struct report_row *y = *(const struct report_row *const *)b;

	if (x->inuse.bytes != y->inuse.bytes)
		return x->inuse.bytes < y->inuse.bytes ? 1 : -1;
	return strcmp(x->function, y->function);
}

static int rows_by_growth(const void *a, const void *b)
{
	const struct report_row *x = *(const struct report_row *const *)a;
	const struct report_row *y = *(const struct report_row *const *)b;

	if (x->inuse.leak != y->inuse.leak)
		return x->inuse.leak ? -1 : 1;
	if (x->inuse.growth_bytes_s != y->inuse.growth_bytes_s)
		return x->inuse.growth_bytes_s < y->inuse.growth_bytes_s ? 1 : -1;
	return strcmp(x->function, y->function);
}

/* The rows in the text's order; NULL on ENOMEM (then the JSON order). */
static const struct report_row **text_order(const struct report *r)
{
	const struct report_row **order = malloc((r->nrows ? r->nrows : 1) * sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < r->nrows; i++)
		order[i] = &r->rows[i];
	if (r->inuse_on && r->sort == REPORT_SORT_INUSE)
		qsort(order, r->nrows, sizeof(*order), rows_by_inuse);
	else if (r->inuse_on && r->sort == REPORT_SORT_GROWTH)
		qsort(order, r->nrows, sizeof(*order), rows_by_growth);
	return order;
}

void report__text(const struct report *r, struct strbuf *sb, size_t max_rows)
{
	double secs = r->duration_s > 0 ? r->duration_s : 1;
	char b1[32], b2[32], b3[32], b4[32], ci[16];
	const struct report_row **order;
	double sum = 0;
	size_t n = max_rows && max_rows < r->nrows ? max_rows : r->nrows;

	strbuf_printf(sb, "PID %d  %s  %s\n", r->pid, r->exe, r->go_version);
	if (r->sample_bytes > 0)
		strbuf_printf(sb, "mode: sampled, 1 sample per %s allocated%s; window %.2f s\n",
			      fmt_bytes(r->sample_bytes, b1, sizeof(b1)),
			      r->rate_written ? " (sampler enabled by heapscope)" : "", r->duration_s);
	else
		strbuf_printf(sb, "mode: %s; window %.2f s\n", r->mode, r->duration_s);
	strbuf_printf(sb, "allocated: %s%s%s (%s/s), %s objects (%s/s), %llu samples, %llu lost "
			  "events\n",
		      fmt_bytes(r->alloc_bytes, b1, sizeof(b1)), r->alloc_bytes_ci95 > 0 ? " ±" : "",
		      r->alloc_bytes_ci95 > 0 ? fmt_ci(r->alloc_bytes, r->alloc_bytes_ci95, ci,
						       sizeof(ci))
					      : "",
		      fmt_bytes(r->alloc_bytes / secs, b2, sizeof(b2)),
		      fmt_count(r->alloc_objects, b3, sizeof(b3)),
		      fmt_count(r->alloc_objects / secs, b4, sizeof(b4)),
		      (unsigned long long)r->samples, (unsigned long long)r->lost_events);
	if (r->process_cpu_s >= 0)
		strbuf_printf(sb, "process CPU: %.2f s (%.2f cores)\n", r->process_cpu_s,
			      r->process_cpu_s / secs);
	gc_text(r, sb);
	inuse_text(r, sb);
	if (r->target_execed)
		strbuf_printf(sb, "note: the target called execve during the window; this is what "
				  "was collected from the program before it\n");
	else if (r->target_exited)
		strbuf_printf(sb, "note: the target exited during the window; this is what was "
				  "collected until then\n");
	if (r->rate_changed)
		strbuf_printf(sb, "note: MemProfileRate was changed during the window by someone "
				  "other than heapscope\n");
	if (r->source)
		escape__text_source(sb, r->source);
	if (!r->nrows) {
		strbuf_printf(sb, "\nno allocation samples in the window\n");
		return;
	}
	strbuf_printf(sb, "\n%11s %5s %6s %6s %11s %11s %9s", "FLAT", "+/-", "FLAT%", "SUM%", "CUM",
		      "ALLOC/s", "OBJS/s");
	if (r->inuse_on)
		strbuf_printf(sb, " %11s %12s %4s", "IN-USE", "GROWTH/s", "");
	/* mark-assist CPU per second of the window; absent (not zero) when not measured */
	if (r->assist_on)
		strbuf_printf(sb, " %9s", "ASSIST/s");
	strbuf_printf(sb, "  %-14s %s\n", "KIND", "FUNCTION (FILE:LINE)");
	order = text_order(r);
	for (size_t i = 0; i < n; i++) {
		const struct report_row *row = order ? order[i] : &r->rows[i];
		double pct = r->alloc_bytes > 0 ? 100 * row->bytes / r->alloc_bytes : 0;

		sum += pct;
		strbuf_printf(sb, "%11s %5s %5.1f%% %5.1f%% %11s %9s/s %7s/s",
			      fmt_bytes(row->bytes, b1, sizeof(b1)),
			      fmt_ci(row->bytes, row->bytes_ci95, ci, sizeof(ci)), pct, sum,
			      fmt_bytes(row->cum_bytes, b2, sizeof(b2)),
			      fmt_bytes(row->bytes / secs, b3, sizeof(b3)),
			      fmt_count(row->objects / secs, b4, sizeof(b4)));
		inuse_cols(r, &row->inuse, sb);
		if (r->assist_on)
			strbuf_printf(sb, " %9s",
				      fmt_cpu_rate(row->assist_s / secs, b1, sizeof(b1)));
		strbuf_printf(sb, "  %-14s %s", row->kind, row->function);
		if (row->file[0])
			strbuf_printf(sb, " (%s:%d)", basename_of(row->file), row->line);
		strbuf_putc(sb, '\n');
		if (row->nsites == 1 && row->sites[0].escape)
			escape__text(sb, row->sites[0].escape, ESCAPE_INDENT, ESCAPE_FLOW_LINES);
		/* A function that allocates in more than one place: each place, with its kind. */
		for (size_t k = 0; row->nsites > 1 && k < row->nsites; k++) {
			const struct report_site *st = &row->sites[k];

			strbuf_printf(sb, "%11s %5s %47s", fmt_bytes(st->bytes, b1, sizeof(b1)),
				      fmt_ci(st->bytes, st->bytes_ci95, ci, sizeof(ci)), "");
			inuse_cols(r, &st->inuse, sb);
			if (r->assist_on)
				strbuf_printf(sb, " %9s",
					      fmt_cpu_rate(st->assist_s / secs, b1, sizeof(b1)));
			strbuf_printf(sb, "  %-14s   %s:%d\n", st->kind, basename_of(st->file),
				      st->line);
			if (st->escape)
				escape__text(sb, st->escape, ESCAPE_INDENT, ESCAPE_FLOW_LINES);
		}
	}
	free(order);
	if (n < r->nrows)
		strbuf_printf(sb, "... %zu more functions (--format json lists all)\n", r->nrows - n);
}

/* Per function and per site; null where the heap profile was not read. */
static void inuse_json(struct jsonw *w, const struct report_inuse *ri)
{
	if (!ri->known) {
		jsonw_null_field(w, "inuse_bytes");
		jsonw_null_field(w, "inuse_objects");
		jsonw_null_field(w, "inuse_growth_bytes_per_s");
		jsonw_null_field(w, "leak_suspect");
		return;
	}
	jsonw_float_field(w, "inuse_bytes", ri->bytes);
	jsonw_float_field(w, "inuse_objects", ri->objects);
	jsonw_float_field(w, "inuse_growth_bytes_per_s", ri->growth_bytes_s);
	jsonw_bool_field(w, "leak_suspect", ri->leak);
}

static void gc_json(const struct report *r, struct jsonw *w)
{
	static const char *const fields[] = {
		"cycles",	  "forced_cycles",   "pause_total_s",	 "pause_max_s",
		"pause_p99_s",	  "cpu_s",	     "cpu_share",	 "assist_cpu_s",
		"background_cpu_s", "pause_cpu_s",   "heap_live_bytes", "heap_goal_bytes",
		"gomaxprocs",
	};
	const struct gc_window *g = &r->gc;

	jsonw_name(w, "gc");
	jsonw_start_object(w);
	if (!r->gc_on) {
		/* the GC probes could not be placed (warned on stderr): unknown, not zero */
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			jsonw_null_field(w, fields[i]);
		jsonw_end_object(w);
		return;
	}
	jsonw_uint_field(w, "cycles", g->cycles);
	jsonw_uint_field(w, "forced_cycles", g->forced_cycles);
	jsonw_uint_field(w, "pauses", g->pauses);
	jsonw_float_field(w, "pause_total_s", g->pause_total_s);
	jsonw_float_field(w, "pause_max_s", g->pause_max_s);
	jsonw_float_field(w, "pause_p50_s", g->pause_p50_s);
	jsonw_float_field(w, "pause_p99_s", g->pause_p99_s);
	jsonw_bool_field(w, "pause_quantiles_approx", g->quantiles_approx);
	jsonw_float_field(w, "cpu_s", g->cpu_s);
	if (g->cpu_share >= 0)
		jsonw_float_field(w, "cpu_share", g->cpu_share);
	else
		jsonw_null_field(w, "cpu_share");
	if (gc_process_share(r) >= 0)
		jsonw_float_field(w, "process_cpu_share", gc_process_share(r));
	else
		jsonw_null_field(w, "process_cpu_share");
	jsonw_float_field(w, "assist_cpu_s", g->assist_cpu_s);
	jsonw_float_field(w, "background_cpu_s", g->background_cpu_s);
	jsonw_float_field(w, "idle_cpu_s", g->idle_cpu_s);
	jsonw_float_field(w, "pause_cpu_s", g->pause_cpu_s);
	/* assist_cpu_s not attributed to any function: stacks with no frame above the runtime */
	if (r->assist_on) {
		jsonw_float_field(w, "assist_unattributed_cpu_s", r->assist_unattributed_s);
		/* the mark-assist probe's duty cycle (session_assist.c): 1 when always attached */
		jsonw_float_field(w, "assist_probe_attached_share", r->assist_attached_share);
	} else {
		jsonw_null_field(w, "assist_unattributed_cpu_s");
		jsonw_null_field(w, "assist_probe_attached_share");
	}
	if (g->heap_goal_bytes) {
		jsonw_uint_field(w, "heap_live_bytes", g->heap_live_bytes);
		jsonw_uint_field(w, "heap_goal_bytes", g->heap_goal_bytes);
	} else {
		jsonw_null_field(w, "heap_live_bytes");
		jsonw_null_field(w, "heap_goal_bytes");
	}
	if (g->gomaxprocs > 0)
		jsonw_int_field(w, "gomaxprocs", g->gomaxprocs);
	else
		jsonw_null_field(w, "gomaxprocs");
	if (g->gogc != INT32_MIN)
		jsonw_int_field(w, "gogc", g->gogc);	/* -1: off */
	else
		jsonw_null_field(w, "gogc");
	if (g->gomemlimit >= 0)
		jsonw_int_field(w, "gomemlimit_bytes", g->gomemlimit);
	else
		jsonw_null_field(w, "gomemlimit_bytes");
	/* Per cycle, for checks against gctrace; null pauses: the cycle began before attach. */
	jsonw_name(w, "cycle_list");
	jsonw_start_array(w);
	for (size_t i = 0; i < r->gc_ncycles; i++) {
		const struct gc_cycle *c = &r->gc_cycles[i];

		jsonw_start_object(w);
		jsonw_bool_field(w, "forced", c->forced);
		jsonw_int_field(w, "pauses", c->pauses);
		if (c->sweep_term_pause_s >= 0)
			jsonw_float_field(w, "sweep_term_pause_s", c->sweep_term_pause_s);
		else
			jsonw_null_field(w, "sweep_term_pause_s");
		if (c->mark_term_pause_s >= 0)
			jsonw_float_field(w, "mark_term_pause_s", c->mark_term_pause_s);
		else
			jsonw_null_field(w, "mark_term_pause_s");
		jsonw_float_field(w, "assist_cpu_s", c->assist_cpu_s);
		jsonw_float_field(w, "background_cpu_s", c->background_cpu_s);
		jsonw_float_field(w, "idle_cpu_s", c->idle_cpu_s);
		jsonw_float_field(w, "pause_cpu_s", c->pause_cpu_s);
		jsonw_uint_field(w, "heap_live_bytes", c->heap_live_bytes);
		jsonw_uint_field(w, "heap_goal_bytes", c->heap_goal_bytes);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
}

static void stacks_json(struct jsonw *w, const struct report_row *row)
{
	jsonw_name(w, "stacks");
	jsonw_start_array(w);
	for (size_t k = 0; k < row->nstacks; k++) {
		const struct report_stack *st = &row->stacks[k];

		jsonw_start_object(w);
		jsonw_float_field(w, "alloc_bytes", st->bytes);
		jsonw_float_field(w, "alloc_objects", st->objects);
		jsonw_uint_field(w, "samples", st->samples);
		jsonw_name(w, "frames");
		jsonw_start_array(w);
		for (int i = 0; i < st->nframes; i++) {
			jsonw_start_object(w);
			jsonw_string_field(w, "function", st->frames[i].function);
			jsonw_string_field(w, "file", st->frames[i].file);
			jsonw_int_field(w, "line", st->frames[i].line);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
}

void report__json(const struct report *r, struct strbuf *sb)
{
	struct jsonw w;

	jsonw_init(&w, sb, true);
	jsonw_start_object(&w);
	jsonw_int_field(&w, "pid", r->pid);
	jsonw_string_field(&w, "exe", r->exe);
	jsonw_string_field(&w, "go_version", r->go_version);
	jsonw_string_field(&w, "mode", r->mode);
	jsonw_int_field(&w, "sample_bytes", r->sample_bytes);
	jsonw_float_field(&w, "duration_s", r->duration_s);
	jsonw_float_field(&w, "alloc_bytes", r->alloc_bytes);
	jsonw_float_field(&w, "alloc_objects", r->alloc_objects);
	jsonw_float_field(&w, "alloc_bytes_ci95", r->alloc_bytes_ci95);
	jsonw_float_field(&w, "alloc_objects_ci95", r->alloc_objects_ci95);
	gc_json(r, &w);
	if (r->process_cpu_s >= 0)
		jsonw_float_field(&w, "process_cpu_s", r->process_cpu_s);
	else
		jsonw_null_field(&w, "process_cpu_s");
	jsonw_uint_field(&w, "lost_events", r->lost_events);
	jsonw_uint_field(&w, "samples", r->samples);
	jsonw_uint_field(&w, "unattributed_samples", r->unattributed);
	jsonw_bool_field(&w, "sampler_enabled_by_heapscope", r->rate_written);
	jsonw_uint_field(&w, "rate_change_samples_dropped", r->rearm_dropped);
	jsonw_name(&w, "probe_counters");
	jsonw_start_object(&w);
	jsonw_uint_field(&w, "alloc_probe_hits", r->probes.alloc_hits);
	jsonw_uint_field(&w, "alloc_events", r->probes.alloc_events);
	jsonw_uint_field(&w, "morestack_passes", r->probes.morestack);
	jsonw_uint_field(&w, "nested_mallocs", r->probes.nested);
	jsonw_uint_field(&w, "inline_stacks", r->probes.inline_stacks);
	jsonw_uint_field(&w, "gc_probe_hits", r->probes.gc_hits);
	jsonw_uint_field(&w, "assist_probe_hits", r->probes.assist_hits);
	jsonw_uint_field(&w, "assist_unread", r->probes.assist_unread);
	jsonw_end_object(&w);
	jsonw_bool_field(&w, "rate_changed", r->rate_changed);
	jsonw_bool_field(&w, "target_exited", r->target_exited);
	jsonw_bool_field(&w, "target_execed", r->target_execed);
	if (r->inuse_on) {
		jsonw_float_field(&w, "inuse_bytes", r->inuse_bytes);
		jsonw_float_field(&w, "inuse_objects", r->inuse_objects);
	} else {
		jsonw_null_field(&w, "inuse_bytes");
		jsonw_null_field(&w, "inuse_objects");
	}
	jsonw_uint_field(&w, "inuse_readings", r->inuse_readings);
	jsonw_bool_field(&w, "inuse_since_attach", r->inuse_since_attach);
	jsonw_float_field(&w, "inuse_trend_s", r->inuse_trend_s);
	jsonw_float_field(&w, "inuse_read_cost_s", r->inuse_read_cost_s);
	if (r->source)
		escape__json_source(&w, r->source);
	jsonw_name(&w, "functions");
	jsonw_start_array(&w);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct report_row *row = &r->rows[i];

		jsonw_start_object(&w);
		jsonw_string_field(&w, "function", row->function);
		jsonw_string_field(&w, "file", row->file);
		jsonw_int_field(&w, "line", row->line);
		jsonw_string_field(&w, "kind", row->kind);
		jsonw_float_field(&w, "alloc_bytes", row->bytes);
		jsonw_float_field(&w, "alloc_objects", row->objects);
		jsonw_float_field(&w, "cum_bytes", row->cum_bytes);
		jsonw_float_field(&w, "alloc_bytes_ci95", row->bytes_ci95);
		jsonw_float_field(&w, "alloc_objects_ci95", row->objects_ci95);
		jsonw_uint_field(&w, "samples", row->samples);
		inuse_json(&w, &row->inuse);
		/* mark-assist CPU in the window (design.md); null when not measured */
		if (r->assist_on) {
			jsonw_float_field(&w, "assist_cpu_s", row->assist_s);
			jsonw_float_field(&w, "assists", row->assists);
			jsonw_uint_field(&w, "assist_samples", row->assist_samples);
		} else {
			jsonw_null_field(&w, "assist_cpu_s");
			jsonw_null_field(&w, "assists");
			jsonw_null_field(&w, "assist_samples");
		}
		jsonw_name(&w, "sites");
		jsonw_start_array(&w);
		for (size_t k = 0; k < row->nsites; k++) {
			const struct report_site *st = &row->sites[k];

			jsonw_start_object(&w);
			jsonw_string_field(&w, "file", st->file);
			jsonw_int_field(&w, "line", st->line);
			jsonw_string_field(&w, "kind", st->kind);
			jsonw_float_field(&w, "alloc_bytes", st->bytes);
			jsonw_float_field(&w, "alloc_objects", st->objects);
			jsonw_float_field(&w, "alloc_bytes_ci95", st->bytes_ci95);
			jsonw_float_field(&w, "alloc_objects_ci95", st->objects_ci95);
			jsonw_uint_field(&w, "samples", st->samples);
			inuse_json(&w, &st->inuse);
			if (r->assist_on)
				jsonw_float_field(&w, "assist_cpu_s", st->assist_s);
			else
				jsonw_null_field(&w, "assist_cpu_s");
			if (st->escape) {
				jsonw_name(&w, "escape");
				escape__json(&w, st->escape);
			}
			jsonw_end_object(&w);
		}
		jsonw_end_array(&w);
		stacks_json(&w, row);
		jsonw_end_object(&w);
	}
	jsonw_end_array(&w);
	jsonw_end_object(&w);
	strbuf_putc(sb, '\n');
}
