// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include "goruntime.h"

/* runtime.bucket is {next, allnext, typ, hash, size, nstk} (48 bytes) in every version; the
 * memRecordCycle of its memRecord {active, future[3]} lost its byte counts in 1.27, which
 * derives bytes from counts x bucket size (so does heapscope, for every version). How many PCs a
 * bucket holds comes from the source: a 32-entry array up to 1.22, debug.profstackdepth (1024
 * at most) from 1.23, plus 2 leading runtime frames kept from 1.26. */
#define MPROF(cycle, max) { 48, 8, 16, 32, 40, (cycle) * 4, 0, (cycle), (cycle), 0, 8, (max) }
#define MPROF_4(max) MPROF(32, max)	/* {allocs, frees, alloc_bytes, free_bytes} */
#define MPROF_2(max) MPROF(16, max)	/* {allocs, frees} */

/* DWARF of go1.19.8, go1.20, go1.21.0 ... go1.27.0 (amd64). gcControllerState lost 32 bytes in
 * 1.20 (lastConsMark [4]float64 -> float64 among others) and regained 24 in 1.21; p.mcache moved
 * 8 bytes down in 1.23, m.p 8 down in 1.25 only; mcache.memProfRate appeared in 1.24;
 * p.gcAssistTime moves with p's other fields in almost every release. */
static const struct {
	int min_minor, max_minor;
	struct mprof_offsets mprof;
	struct gc_ctrl_offsets ctrl;
	int m_p, p_mcache, mcache_next_sample, mcache_prof_rate, p_gc_assist_time;
} table[] = {
	{ 19, 19, MPROF_4(32), { 424, 0, 8, 184, 128, 224, 232, 240, 248 }, 208, 64, 0, -1, 4632 },
	{ 20, 20, MPROF_4(32), { 368, 0, 8, 128, 72, 168, 176, 184, 192 }, 208, 64, 0, -1, 4624 },
	{ 21, 21, MPROF_4(32), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 208, 64, 0, -1, 4632 },
	{ 22, 22, MPROF_4(32), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 208, 64, 0, -1, 4664 },
	{ 23, 23, MPROF_4(1024), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 208, 56, 0, -1, 4640 },
	{ 24, 24, MPROF_4(1024), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 208, 56, 0, 8, 4640 },
	{ 25, 25, MPROF_4(1024), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 200, 56, 0, 8, 4640 },
	{ 26, 26, MPROF_4(1026), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 208, 56, 0, 8, 4648 },
	{ 27, 27, MPROF_2(1026), { 392, 0, 8, 152, 96, 192, 200, 208, 216 }, 208, 56, 0, 8, 4648 },
};

#define NROWS (sizeof(table) / sizeof(table[0]))

int goruntime__layout(const struct go_version *v, struct go_layout *l)
{
	int minor = v->major == 1 ? v->minor : 0;
	size_t row = NROWS;

	for (size_t i = 0; i < NROWS; i++)
		if (minor >= table[i].min_minor && minor <= table[i].max_minor)
			row = i;
	if (row == NROWS && minor > table[NROWS - 1].max_minor)
		row = NROWS - 1;
	if (row == NROWS)
		return -ENOENT;
	l->minor = minor > table[row].max_minor ? table[row].max_minor : minor;
	l->verified = minor >= GO_MIN_VERIFIED && minor <= GO_MAX_VERIFIED;
	l->ctrl = table[row].ctrl;
	l->m_p = table[row].m_p;
	l->p_mcache = table[row].p_mcache;
	l->mcache_next_sample = table[row].mcache_next_sample;
	l->mcache_prof_rate = table[row].mcache_prof_rate;
	l->mprof = table[row].mprof;
	l->p_gc_assist_time = table[row].p_gc_assist_time;
	return 0;
}

void goruntime__unverified_warning(const struct go_version *v, char *buf, size_t len)
{
	buf[0] = 0;
	if (v->major == 1 && v->minor >= GO_MIN_VERIFIED && v->minor <= GO_MAX_VERIFIED)
		return;
	if (v->major == 1 && v->minor > GO_MAX_VERIFIED)
		snprintf(buf, len,
			 "%s is newer than heapscope is verified against (go1.%d-go1.%d): the "
			 "go1.%d offsets of gcController, m.p, p.mcache and mcache are used "
			 "unverified, so GC heap/CPU figures and the filter of rate-change samples "
			 "may be wrong",
			 v->str, GO_MIN_VERIFIED, GO_MAX_VERIFIED, GO_MAX_VERIFIED);
	else
		snprintf(buf, len,
			 "%s is older than heapscope is verified against (go1.%d-go1.%d): no struct "
			 "offsets are known for it, so GC heap/CPU figures are not read and samples "
			 "the runtime takes when the rate changes are not filtered",
			 v->str, GO_MIN_VERIFIED, GO_MAX_VERIFIED);
}

const char *goruntime__known_crash(const struct go_version *v, bool pie)
{
	/* go1.22.0 PIE only: 0 of 280 stress runs crashed on go1.22.12 and 0 of 320 on go1.22.0
	 * builds that are not PIE, against about 1 in 100-150 here (see README: Limits). */
	if (v->major == 1 && v->minor == 22 && v->patch == 0 && pie)
		return "go1.22.0 PIE targets crashed in the runtime's object scan in about 1 of "
		       "100 stress runs here with the GC probes attached, none without (README: "
		       "Limits): on a production process, prefer a later go1.22 patch";
	return NULL;
}
