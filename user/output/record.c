// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agg.h"
#include "loop.h"
#include "pprof.h"
#include "record.h"
#include "source.h"
#include "util.h"

#define MAX_FRAMES 1280		/* a bucket holds at most 1026 PCs, inline trees add a few */
#define MAX_LOCS 1040
#define BUILD_ID_LEN 256
/* Frames symbolized to find a sample's allocation site for --source: the runtime frames below
 * it (a handful) and the frames the join looks at. */
#define ESCAPE_STACK (16 + SOURCE_MAX_FRAMES)

/* What runtime/pprof hides at the top of a heap profile's stacks (protomem.go: "runtime." up to
 * Go 1.23, "internal/runtime/" as well from 1.24, harmless before). */
static bool hidden_runtime(const char *func)
{
	return !strncmp(func, "runtime.", 8) || !strncmp(func, "internal/runtime/", 17);
}

/* Leading stack entries whose function is the runtime's, unless that is all of them (then
 * runtime/pprof keeps the whole stack). Each entry is one logical frame, judged by the innermost
 * function at its call. */
static int runtime_prefix(const struct target *t, const uint64_t *stk, int n)
{
	struct go_frame f[8];

	for (int i = 0; i < n; i++)
		if (pclntab__frames(t->pcln, stk[i] - 1 - t->bias, f, 8) <= 0 ||
		    !hidden_runtime(f[0].func))
			return i;
	return 0;
}

struct builder {
	struct pprof *p;
	const struct target *t;
	const struct source *src;	/* --source, or NULL */
	uint64_t mapping;
	double rate;
	struct go_frame frames[MAX_FRAMES];
	struct mprof_loc locs[MAX_LOCS];
	struct pprof_frame pf[MAX_FRAMES];
	struct pprof_pc pcs[MAX_LOCS];
};

/* runtime/pprof's scaleHeapSample: count and bytes times 1/(1-exp(-avg/rate)), truncated. */
static void scale(uint64_t count, uint64_t size, double rate, int64_t *c, int64_t *b)
{
	double w = unsample_scale((double)size, rate);

	*c = count ? (int64_t)((double)count * w) : 0;
	*b = count ? (int64_t)((double)count * (double)size * w) : 0;
}

/* --source: why this bucket's allocation site is on the heap, as string labels pprof shows
 * (-tags) and filters on (-tagfocus=escape=interface-conversion). The site and its kind are
 * found as stat finds them (user/session/retained.c attribute): the first frame above the runtime,
 * whatever runtime/pprof hides, and the runtime function it called. Each stack is judged on
 * its own, since code inlined into several callers is judged at each call. Returns the number
 * of labels written (0: no site above the runtime). */
static int escape_labels(const struct builder *bd, const struct mprof_bucket *b,
			 struct pprof_label *labels)
{
	struct go_frame frames[ESCAPE_STACK];
	struct mprof_loc locs[ESCAPE_STACK];
	struct escape_frame ef[SOURCE_MAX_FRAMES];
	struct escape_place place;
	const char *kind = NULL;
	int n, nlocs, site = 0, nf = 0;

	n = mprof__symbolize(bd->t->pcln, bd->t->bias, b->stk, (int)b->nstk, frames, ESCAPE_STACK,
			     locs, ESCAPE_STACK, &nlocs);
	while (site < n && is_runtime_frame(frames[site].func, frames[site].file))
		site++;
	if (site == n)
		return 0;
	/* Go 1.26+ keeps the runtime's frames in the bucket; older ones start above them, and
	 * then any message at the line may be about this allocation (kind NULL). */
	if (site > 0)
		kind = alloc_kind_of(frames[site - 1].func);
	for (int i = site; i < n && nf < SOURCE_MAX_FRAMES; i++)
		ef[nf++] = (struct escape_frame){ frames[i].func, frames[i].file, frames[i].line };
	if (source__place(bd->src, ef, nf, kind, &place))
		return 0;
	labels[0] = (struct pprof_label){ .key = "escape", .str = escape_place__name(&place) };
	if (!place.because)
		return 1;
	labels[1] = (struct pprof_label){ .key = "escape_msg", .str = place.because->text };
	return 2;
}

static int add_bucket(struct builder *bd, const struct mprof_bucket *b)
{
	int skip = runtime_prefix(bd->t, b->stk, (int)b->nstk), nlocs, nf, npcs = 0, nlabels = 0;
	uint64_t live = b->allocs > b->frees ? b->allocs - b->frees : 0;
	struct pprof_label labels[3];
	int64_t v[PPROF_GO_HEAP_NVALUES];

	nf = mprof__symbolize(bd->t->pcln, bd->t->bias, b->stk + skip, (int)b->nstk - skip,
			      bd->frames, MAX_FRAMES, bd->locs, MAX_LOCS, &nlocs);
	for (int i = 0; i < nf; i++)
		bd->pf[i] = (struct pprof_frame){ bd->frames[i].func, bd->frames[i].file,
						  bd->frames[i].line, 0 };
	for (int i = 0; i < nlocs; i++) {
		const struct mprof_loc *l = &bd->locs[i];

		/* runtime/pprof leaves out the goroutine's outermost frame (allFrames) */
		if (l->n == 1 && !strcmp(bd->frames[l->first].func, "runtime.goexit"))
			continue;
		bd->pcs[npcs++] = (struct pprof_pc){ bd->mapping, l->pc, &bd->pf[l->first], l->n };
	}
	scale(b->allocs, b->size, bd->rate, &v[PPROF_ALLOC_OBJECTS], &v[PPROF_ALLOC_SPACE]);
	scale(live, b->size, bd->rate, &v[PPROF_INUSE_OBJECTS], &v[PPROF_INUSE_SPACE]);
	/* the average object size, as runtime/pprof labels every sample with allocations */
	if (b->allocs)
		labels[nlabels++] = (struct pprof_label){ .key = "bytes", .num = (int64_t)b->size };
	if (bd->src)
		nlabels += escape_labels(bd, b, &labels[nlabels]);
	return pprof__add_stack(bd->p, bd->pcs, npcs, v, PPROF_GO_HEAP_NVALUES, labels, nlabels);
}

/* The executable's text, as runtime/pprof describes its own from /proc/self/maps. The GNU build
 * ID when there is one (what runtime/pprof writes and symbol servers index), else Go's. */
static int add_mapping(struct builder *bd)
{
	const struct target *t = bd->t;
	struct goelf_section text;
	char id[BUILD_ID_LEN] = "";
	struct pprof_mapping m = { .filename = t->exe, .build_id = id, .has_functions = true,
				   .has_filenames = true, .has_line_numbers = true,
				   .has_inline_frames = true };

	if (buildinfo__gnu_build_id(t->elf, id, sizeof(id)) &&
	    buildinfo__go_build_id(t->elf, id, sizeof(id)))
		id[0] = 0;
	if (!goelf__section(t->elf, ".text", &text)) {
		m.start = text.addr + t->bias;
		m.limit = text.addr + text.size + t->bias;
		m.offset = text.offset;
	}
	return pprof__add_mapping(bd->p, &m, &bd->mapping);
}

/* What --source compiled, as comments (go tool pprof -comments): which tree and toolchain the
 * labels come from, and the warning when the tree may not be the binary's source. */
static int add_source_comments(struct pprof *p, const struct source *src)
{
	struct strbuf sb = { 0 };
	char *line, *next;
	int err = 0;

	escape__text_source(&sb, source__info(src));
	if (sb.oom)
		err = -ENOMEM;
	for (line = sb.buf; !err && line && *line; line = next) {
		char *c;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (asprintf(&c, "heapscope --source: %s", line) < 0) {
			err = -ENOMEM;
			break;
		}
		err = pprof__add_comment(p, c);
		free(c);
	}
	strbuf_free(&sb);
	return err;
}

static int build(struct session *s, enum record_kind kind, const struct source *src,
		 struct pprof **out)
{
	struct retained *ret = s->ret;
	struct builder *bd = NULL;
	struct mprof_bucket *b;
	struct timespec now;
	size_t n;
	int err;

	*out = NULL;
	if (!ret)
		return -ENODATA;
	/* a fresh reading; a target that has gone keeps its last one */
	if (retained__read(ret) && !ret->readings)
		return -ENODATA;
	bd = calloc(1, sizeof(*bd));
	if (!bd)
		return -ENOMEM;
	bd->t = &s->t;
	bd->src = src;
	bd->rate = ret->rate;
	bd->p = pprof__new();
	err = bd->p ? 0 : -ENOMEM;
	if (!err)
		err = pprof__init_go_heap(bd->p, (int64_t)ret->rate,
					  kind == RECORD_ALLOCS ? "alloc_space" : NULL);
	if (!err && ret->since_attach)
		err = pprof__add_comment(bd->p, "heapscope: the sampler was off; heapscope "
						"switched it on, so this covers only what was "
						"allocated since it attached");
	if (!err && src)
		err = add_source_comments(bd->p, src);
	if (!err)
		err = add_mapping(bd);
	clock_gettime(CLOCK_REALTIME, &now);
	pprof__set_time(bd->p, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, 0);
	b = mprof__buckets(ret->reader, &n);
	for (size_t i = 0; !err && i < n; i++)
		err = add_bucket(bd, &b[i]);
	if (err)
		pprof__free(bd->p);
	else
		*out = bd->p;
	free(bd);
	return err;
}

int record__profile(struct session *s, enum record_kind kind, const struct source *src,
		    void **data, size_t *len)
{
	struct pprof *p;
	int err = build(s, kind, src, &p);

	if (!err)
		err = pprof__encode(p, true, data, len);
	pprof__free(p);
	return err;
}

int record__folded(struct session *s, const char *type, char **text, size_t *len)
{
	struct pprof *p;
	int err = build(s, RECORD_HEAP, NULL, &p);

	if (!err)
		err = pprof__folded(p, type ? type : "inuse_space", text, len);
	pprof__free(p);
	return err;
}

/* ---- heapscope record ------------------------------------------------------------------- */

struct record_run {
	struct tracer tr;
	struct session s;
	int sigfd, timerfd;
};

static int on_ring(void *ctx, int fd, uint32_t events)
{
	struct record_run *r = ctx;
	int err = tracer__poll(&r->tr);

	session_assist__tick(&r->s, now_monotonic_ns());
	return err ? err : r->s.target_execed ? LOOP_STOP : 0;
}

/* The window's timer, or a signal: either ends the window and the profile is written. */
static int on_stop(void *ctx, int fd, uint32_t events)
{
	return LOOP_STOP;
}

static int on_target_exit(void *ctx, int fd, uint32_t events)
{
	struct record_run *r = ctx;

	r->s.target_exited = true;
	return LOOP_STOP;
}

static int run_window(struct record_run *r, const struct record_opts *o)
{
	struct loop l = { .epfd = -1 };
	int err;

	r->timerfd = timerfd_after((uint64_t)(o->duration_s * 1e9), 0);
	err = r->timerfd < 0 ? r->timerfd : loop__init(&l);
	if (!err)
		err = loop__add(&l, tracer__fd(&r->tr), on_ring, r);
	if (!err)
		err = loop__add(&l, r->sigfd, on_stop, r);
	if (!err)
		err = loop__add(&l, r->timerfd, on_stop, r);
	if (!err && r->s.t.proc.pidfd >= 0)
		err = loop__add(&l, r->s.t.proc.pidfd, on_target_exit, r);
	if (err) {
		log_err("cannot set up the event loop: %s", strerror(-err));
		loop__close(&l);
		return err;
	}
	log_info("observing PID %d (%s, %s) for %.3g s, then writing %s; Ctrl-C to stop early",
		 r->s.t.pid, r->s.t.exe, r->s.t.ver.str, o->duration_s, o->output);
	err = loop__run(&l);
	if (!err)
		err = session__sync(&r->s);
	loop__close(&l);
	if (err)
		log_err("event loop failed: %s", strerror(-err));
	return err;
}

int cmd_record(const struct record_opts *o)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct tracer_opts to = { .ringbuf_bytes = o->ringbuf_bytes };
	struct record_run r = { .sigfd = -1, .timerfd = -1 };
	struct source *src = NULL;
	void *data = NULL;
	size_t len = 0;
	int err, ret = 1;

	/* Signals first: a Ctrl-C during attach must still detach and restore the target. */
	r.sigfd = signalfd_for(sigs, 4);
	err = r.sigfd < 0 ? r.sigfd : 0;
	/* Before attaching, as stat: a tree that does not build fails without touching the
	 * target, and the window is not spent waiting for the compiler. */
	if (!err && o->source)
		err = source__open(&src, o->source, o->session.pid, r.sigfd);
	if (!err)
		err = tracer__open(&r.tr, &to);
	if (!err)
		err = session__open(&r.s, &r.tr, &o->session);
	if (!err && !r.s.ret) {
		log_err("no heap profile to record for PID %d: memory profiling is off%s",
			o->session.pid,
			o->session.read_only ? " and --read-only forbids switching it on"
			: o->session.mode == MODE_EXACT ? " (--exact does not switch it on)"
							 : " or its profile could not be read");
		err = -ENODATA;
	}
	if (!err)
		err = run_window(&r, o);
	if (err)
		goto cleanup;
	/* before detaching: the sampler is still on and the target pinned */
	if (o->folded)
		err = record__folded(&r.s, o->sample_index, (char **)&data, &len);
	else
		err = record__profile(&r.s, RECORD_HEAP, src, &data, &len);
	session__detach(&r.s);
	if (err == -ENOENT) {
		log_err("unknown --sample-index '%s': alloc_objects, alloc_space, inuse_objects or "
			"inuse_space",
			o->sample_index);
		goto cleanup;
	}
	if (err) {
		log_err("cannot build the profile of PID %d: %s", o->session.pid, strerror(-err));
		goto cleanup;
	}
	err = pprof__write_file(o->output, data, len);
	if (err) {
		log_err("cannot write %s: %s", o->output, strerror(-err));
		goto cleanup;
	}
	log_info("wrote %s (%zu bytes): %s as of the last GC cycle of PID %d%s%s", o->output, len,
		 o->folded ? "folded stacks" : "heap profile", o->session.pid,
		 src ? ", samples labelled escape and escape_msg" : "",
		 r.s.target_exited ? " (it exited during the window)" : "");
	ret = r.s.target_exited || r.s.target_execed ? 1 : 0;
	if (r.s.target_execed)
		log_err("PID %d called execve during the window: the profile is the old program's",
			o->session.pid);
	else if (r.s.target_exited)
		log_err("PID %d exited during the window: the profile is its last reading",
			o->session.pid);
cleanup:
	free(data);
	session__close(&r.s);
	tracer__close(&r.tr);
	source__close(src);
	if (r.timerfd >= 0)
		close(r.timerfd);
	if (r.sigfd >= 0)
		close(r.sigfd);
	return ret;
}
