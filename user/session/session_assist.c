// SPDX-License-Identifier: GPL-2.0
/* The session's mark-assist part (issue 8): one probe per assist in gcAssistAlloc1, whose
 * events user/agg/assist.c credits per stack at cycle ends, the way the runtime credits
 * /cpu/classes/gc/mark/assist:cpu-seconds. Kept apart from session.c, which only calls the
 * hooks below. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "heapscope.h"
#include "session.h"
#include "util.h"

/* An assist of d ns takes its stack with probability min(1, d / ASSIST_SAMPLE_NS). The walk is
 * most of a hit's cost (1.75 of 2.5 us for 10 frames here, more for deeper stacks); Go 1.19-1.25
 * assists last 100-200 us and nearly all still take it, while Go 1.26+'s thousands of short
 * ones a second (a median of 7 us) take it about one time in six, and the others cost only
 * their count in BPF. */
#define ASSIST_SAMPLE_NS 200000

/* The probe's own cost is per hit: the trap (~1 us here) and the program (~1 us), whatever is
 * sampled. Go 1.26's collector makes over 10,000 assists a second on a CPU under allocation
 * pressure: 2-3 % of it. Past ASSIST_HITS_BUDGET hits a second over an attached stretch of
 * ASSIST_ON_NS, the probe is detached for as long as keeps the average at the budget (about
 * 0.6 % of a core), up to ASSIST_MAX_OFF_NS, then attached again. The runtime's own per-cycle
 * total (gcController.assistTime) then gives what each cycle cost, and the stretches' samples
 * how it splits between functions. */
#define ASSIST_HITS_BUDGET 3000
#define ASSIST_ON_NS 500000000ull
/* so that the split follows a changing workload within seconds */
#define ASSIST_MAX_OFF_NS 10000000000ull

void session_assist__plan(struct session *s, bool gc_planned)
{
	const char *why = NULL;
	int err;

	s->assist_planned = false;
	s->assist_link_i = -1;
	if (!gc_planned)	/* credited at cycle ends: no cycles, no credit (already warned) */
		return;
	err = probes__plan_assist(&s->t, s->have_layout ? s->layout.p_gc_assist_time : -1,
				  &s->assist_plan, &why);
	if (err) {
		log_warn("GC assist per function unavailable in this %s binary: "
			 "runtime.gcAssistAlloc1: %s; assist_cpu_s will be null",
			 s->t.ver.str, why ? why : strerror(-err));
		return;
	}
	s->assist = assist_state__new();
	s->assist_planned = s->assist != NULL;
}

void session_assist__config(const struct session *s, struct hs_target *c)
{
	c->off_p_gc_assist_time = -1;
	c->assist_dur_reg = c->assist_p_reg = -1;
	if (!s->assist_planned)
		return;
	c->assist_sample_ns = ASSIST_SAMPLE_NS;
	c->assist_slack_ns = ASSIST_TIME_SLACK_NS;
	c->off_p_gc_assist_time = (__s16)s->assist_plan.p_assist_off;
	c->assist_dur_reg = (__s8)s->assist_plan.dur_reg;
	c->assist_p_reg = (__s8)s->assist_plan.p_reg;
}

static struct bpf_link *attach_site(struct session *s, pid_t pid)
{
	const struct probe_site *site = &s->assist_plan.site;

	return tracer__attach(s->tr, true, pid, s->t.proc.exe_fd_path, site->file_offset,
			      site->cookie);
}

/* Into links, for pid (-1: every process running the binary); true when attached. */
bool session_assist__attach(struct session *s, pid_t pid, struct bpf_link **links,
			    size_t *nlinks, bool gc_on)
{
	const struct probe_site *site = &s->assist_plan.site;
	struct bpf_link *l;

	/* Credited at cycle ends: without the cycle probes nothing would ever be credited. */
	if (!s->assist_planned || !gc_on)
		return false;
	l = attach_site(s, pid);
	if (!l) {
		log_warn("GC assist per function unavailable: cannot attach a uprobe to %s: %s",
			 site->func, strerror(errno));
		return false;
	}
	/* Only a probe of this process alone is this session's to detach for a while; one for
	 * every process running the binary (serve) stays. */
	if (pid > 0)
		s->assist_link_i = (long)*nlinks;
	links[(*nlinks)++] = l;
	log_dbg("gc probe %s+0x%llx (file offset 0x%llx): mark assists, duration in register %d, "
		"P in register %d, p.gcAssistTime at +%d",
		site->func, (unsigned long long)(site->vaddr - site->entry),
		(unsigned long long)site->file_offset, s->assist_plan.dur_reg,
		s->assist_plan.p_reg, s->assist_plan.p_assist_off);
	return true;
}

/* A cycle's credit, per key: 0 is "no frame above the runtime", k + 1 the agg stack row k,
 * ASSIST_KEY_NONE what no sampled stack stands for. */
struct credit_ctx {
	struct session *s;
	uint64_t ts_ns;
};

static void credit(void *ctx, uint32_t key, double ns, double count, uint64_t samples)
{
	struct credit_ctx *c = ctx;

	if (key && key != ASSIST_KEY_NONE)
		agg__add_assist(c->s->agg, key - 1, ns / 1e9, count, samples, c->ts_ns);
	else
		agg__add_assist_unattributed(c->s->agg, ns / 1e9, count, c->ts_ns);
}

/* A sampled assist's frames: the walk from the probe crosses systemstack into the goroutine,
 * so the first frame above the runtime is the allocating function. */
static void on_assist(struct session *s, const struct hs_assist_event *e, size_t len)
{
	struct agg_frame frames[HS_MAX_STACK * 4];
	uint64_t pcs[HS_MAX_STACK];
	uint32_t kind, key = 0;
	int n = 0, nf = 0;
	int64_t row;

	if (len < sizeof(*e)) {
		s->bad_events++;
		return;
	}
	s->events++;
	if (e->flags & HS_ASSIST_STACK_INLINE) {
		const struct hs_assist_stack_event *se = (const void *)e;

		if (len >= sizeof(*se) && se->nr_frames > 0) {
			n = se->nr_frames < HS_MAX_STACK ? se->nr_frames : HS_MAX_STACK;
			memcpy(pcs, se->stack, n * sizeof(pcs[0]));
		}
	} else {
		n = tracer__stack(s->tr, e->stackid, pcs, HS_MAX_STACK);
	}
	if (n > 0)
		nf = symbolizer__stack(s->sym, pcs, n, frames, HS_MAX_STACK * 4, &kind);
	if (nf > 0) {
		row = agg__stack_ref(s->agg, frames, nf, kind);
		key = row >= 0 && row < INT32_MAX ? (uint32_t)row + 1 : 0;
	}
	if (assist__sample(s->assist, e->seq, key, e->dur_ns, e->weight_ns))
		s->bad_events++;
}

bool session_assist__event(struct session *s, const void *data, size_t len)
{
	const struct hs_ev_hdr *h = data;

	if (!s->assist)
		return h->type == HS_EV_ASSIST;
	switch (h->type) {
	case HS_EV_ASSIST:
		on_assist(s, data, len);
		return true;
	case HS_EV_GC_END:
		/* the cycle's total, counted in BPF (the runtime's own once the probe has been
		 * detached for a while), split between its sampled stacks */
		if (s->assist_on && len >= sizeof(struct hs_gc_end)) {
			const struct hs_gc_end *e = data;
			struct credit_ctx c = { s, e->hdr.ts_ns };
			uint64_t total = e->assist_ns, n = e->assists;

			/* A copy that could not be read leaves the probe's count, short of what
			 * ran while it was detached: the best figure there is for that cycle. */
			if (s->assist_from_ctrl && !gc_state__end_assist_ns(s->gc, e, &total))
				n = ASSIST_COUNT_UNKNOWN;
			assist__cycle_end(s->assist, e->seq, total, n, credit, &c);
		}
		return false;
	}
	return false;
}

/* The probe's attached time up to now, the current stretch included. */
static uint64_t attached_ns(const struct session *s, uint64_t now_ns)
{
	uint64_t t = s->assist_attached_ns;

	if (!s->assist_detached && now_ns > s->assist_phase_ns)
		t += now_ns - s->assist_phase_ns;
	return t;
}

double session_assist__attached_share(const struct session *s, uint64_t now_ns)
{
	uint64_t end = s->detach_ns ? s->detach_ns : now_ns;

	/* never detached: the duty cycle has not started its bookkeeping */
	if (!s->assist_from_ctrl)
		return s->assist_on ? 1 : 0;
	if (end <= s->attach_ns)
		return s->assist_on ? 1 : 0;
	return (double)attached_ns(s, end) / (end - s->attach_ns);
}

void session_assist__tick(struct session *s, uint64_t now_ns)
{
	struct hs_target c;
	struct bpf_link *l;
	double rate, off;

	/* Without the runtime's per-cycle total the probe's own count is the total: it stays. */
	if (!s->assist_on || s->assist_link_i < 0 || s->detach_ns || !gc_state__knows_ctrl(s->gc))
		return;
	if (!s->assist_phase_ns)
		s->assist_phase_ns = s->attach_ns;
	if (s->assist_detached) {
		if (now_ns < s->assist_off_until_ns)
			return;
		l = attach_site(s, s->t.pid);
		if (!l) {
			/* Cycles keep being split as the last attached stretch saw them. A target
			 * that just exited needs no word. */
			if (errno != ESRCH && !s->target_exited)
				log_warn("GC assist per function: cannot attach the mark-assist "
					 "probe again: %s; assist_cpu_s is split as last seen",
					 strerror(errno));
			s->assist_link_i = -1;
			return;
		}
		s->links[s->assist_link_i] = l;
		s->assist_detached = false;
		s->assist_phase_ns = now_ns;
		s->assist_phase_hits = tracer__target_counters(s->tr, s->t.pid, &c) ? UINT64_MAX
										  : c.assist_hits;
		return;
	}
	if (now_ns < s->assist_phase_ns + ASSIST_ON_NS ||
	    tracer__target_counters(s->tr, s->t.pid, &c))
		return;
	/* the stretch's starting count was not read: it starts now */
	if (s->assist_phase_hits == UINT64_MAX) {
		s->assist_attached_ns += now_ns - s->assist_phase_ns;
		s->assist_phase_ns = now_ns;
		s->assist_phase_hits = c.assist_hits;
		return;
	}
	rate = (c.assist_hits - s->assist_phase_hits) / ((now_ns - s->assist_phase_ns) / 1e9);
	if (rate <= ASSIST_HITS_BUDGET) {
		s->assist_attached_ns += now_ns - s->assist_phase_ns;
		s->assist_phase_ns = now_ns;
		s->assist_phase_hits = c.assist_hits;
		return;
	}
	off = (now_ns - s->assist_phase_ns) * (rate / ASSIST_HITS_BUDGET - 1);
	bpf_link__destroy(s->links[s->assist_link_i]);
	s->links[s->assist_link_i] = NULL;
	if (!s->assist_from_ctrl)
		log_dbg("mark-assist probe: %.0f hits/s, more than %d: attached part of the time "
			"from now on, cycle totals from gcController.assistTime",
			rate, ASSIST_HITS_BUDGET);
	s->assist_from_ctrl = true;
	s->assist_detached = true;
	s->assist_attached_ns += now_ns - s->assist_phase_ns;
	s->assist_phase_ns = now_ns;
	s->assist_off_until_ns = now_ns + (off < ASSIST_MAX_OFF_NS ? (uint64_t)off
								  : ASSIST_MAX_OFF_NS);
}
