// SPDX-License-Identifier: GPL-2.0
/* The heap profile reader (user/goruntime/mprof.c): locating runtime.mbuckets and
 * runtime.mProfCycle in every fixture version and variant against `go tool nm`, and reading bucket
 * lists laid out in a fake address space with each version's layout, including the races a live
 * target can show (a GC cycle ending during a walk, a flush moving a record between two reads). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "goelf.h"
#include "goruntime.h"
#include "mprof.h"
#include "pclntab.h"
#include "x86.h"

/* ---- the x86 patterns, on real code bytes (go1.26.8) ---- */

/* runtime.mProf_FlushLocked: stack check, frame, bounds check, then MOVQ runtime.mbuckets */
static const uint8_t flush_locked[] = {
	0x49, 0x3b, 0x66, 0x10,				/* CMPQ 0x10(R14), SP */
	0x0f, 0x86, 0x92, 0x00, 0x00, 0x00,		/* JBE */
	0x55,						/* PUSHQ BP */
	0x48, 0x89, 0xe5,				/* MOVQ SP, BP */
	0x48, 0x83, 0xec, 0x18,				/* SUBQ $0x18, SP */
	0x89, 0xc1,					/* MOVL AX, CX */
	0x48, 0x83, 0xf9, 0x03,				/* CMPQ CX, $3 */
	0x73, 0x7c,					/* JAE */
	0x48, 0x89, 0x4c, 0x24, 0x10,			/* MOVQ CX, 0x10(SP) */
	0x90,						/* NOP */
	0x48, 0x8b, 0x15, 0xa1, 0x7f, 0x1a, 0x00,	/* MOVQ 0x1a7fa1(RIP), DX */
	0xeb, 0x62,					/* JMP */
};
#define FLUSH_LOCKED_VADDR 0x4434a0ull
#define MBUCKETS 0x5eb468ull

/* runtime.mProf_Flush: mProfCycle.setFlushed's CAS loop */
static const uint8_t flush[] = {
	0x49, 0x3b, 0x66, 0x10,				/* CMPQ 0x10(R14), SP */
	0x0f, 0x86, 0xa5, 0x00, 0x00, 0x00,		/* JBE */
	0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x18,	/* PUSHQ BP; MOVQ SP, BP; SUBQ */
	0x90, 0x90,					/* NOP; NOP */
	0x8b, 0x05, 0x42, 0x87, 0x1c, 0x00,		/* MOVL 0x1c8742(RIP), AX */
	0x89, 0x44, 0x24, 0x08,				/* MOVL AX, 8(SP) */
	0x89, 0xc1,					/* MOVL AX, CX */
	0x83, 0xc9, 0x01,				/* ORL $1, CX */
	0x48, 0x8d, 0x15, 0x32, 0x87, 0x1c, 0x00,	/* LEAQ 0x1c8732(RIP), DX */
	0xf0, 0x0f, 0xb1, 0x0a,				/* LOCK CMPXCHGL CX, (DX) */
	0x0f, 0x94, 0xc1,				/* SETEQ CL */
};
#define FLUSH_VADDR 0x4433e0ull
#define MPROFCYCLE 0x60bb3cull

static void test_x86_patterns(struct test_ctx *t)
{
	uint8_t code[sizeof(flush)];
	uint64_t target = 0;
	size_t off = 0;

	if (ASSERT_OK(t, x86__first_rip_load(flush_locked, sizeof(flush_locked),
					     FLUSH_LOCKED_VADDR, 8, &target, &off),
		      "mbuckets load")) {
		ASSERT_EQ(t, target, MBUCKETS, "mbuckets");
		ASSERT_EQ(t, off, 0x20, "offset of the load");
	}
	ASSERT_EQ(t, x86__first_rip_load(flush_locked, sizeof(flush_locked), FLUSH_LOCKED_VADDR, 4,
					 &target, NULL),
		  -ENOENT, "a MOVQ is not a 4-byte load");
	ASSERT_EQ(t, x86__first_rip_load(flush_locked, 32, FLUSH_LOCKED_VADDR, 8, &target, NULL),
		  -ENOENT, "not within the code given");
	target = 0;
	if (ASSERT_OK(t, x86__find_cas_global(flush, sizeof(flush), FLUSH_VADDR, &target), "cas"))
		ASSERT_EQ(t, target, MPROFCYCLE, "mProfCycle");

	/* the LEAQ must name the same global */
	memcpy(code, flush, sizeof(code));
	code[38]++;
	ASSERT_EQ(t, x86__find_cas_global(code, sizeof(code), FLUSH_VADDR, &target), -ENOENT,
		  "LEAQ of another global");
	/* no LOCK prefix: not a CAS */
	memcpy(code, flush, sizeof(code));
	code[42] = 0x90;
	ASSERT_EQ(t, x86__find_cas_global(code, sizeof(code), FLUSH_VADDR, &target), -ENOENT,
		  "CMPXCHG without LOCK");
	/* the first RIP-relative instruction is a store, not a load */
	memcpy(code, flush, sizeof(code));
	code[20] = 0x89;
	ASSERT_EQ(t, x86__find_cas_global(code, sizeof(code), FLUSH_VADDR, &target), -ENOENT,
		  "MOVL to the global");
	ASSERT_EQ(t, x86__first_rip_load(code, sizeof(code), FLUSH_VADDR, 4, &target, NULL), -ENOENT,
		  "store is not a load");
}

/* ---- locating the globals in every fixture ---- */

static const char *go_cmd(void)
{
	return access("/usr/local/go/bin/go", X_OK) ? "go" : "/usr/local/go/bin/go";
}

/* `go tool nm` of path: the addresses of runtime.mbuckets and runtime.mProfCycle. */
static int nm_globals(const char *path, uint64_t *head, uint64_t *cycle)
{
	char cmd[PATH_MAX + 64], line[512], name[256], type[8];
	unsigned long long addr;
	int found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s tool nm '%s' 2>/dev/null", go_cmd(), path);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %7s %255s", &addr, type, name) != 3)
			continue;
		if (!strcmp(name, "runtime.mbuckets"))
			*head = addr, found |= 1;
		else if (!strcmp(name, "runtime.mProfCycle"))
			*cycle = addr, found |= 2;
	}
	pclose(p);
	return found == 3 ? 0 : -ENOENT;
}

/* Offset of vaddr from the start of the .bss or .noptrbss section holding it, and which. */
static int64_t section_offset(const struct goelf *g, uint64_t vaddr, const char **which)
{
	static const char *const names[] = { ".bss", ".noptrbss" };
	struct goelf_section s;

	for (int i = 0; i < 2; i++)
		if (!goelf__section(g, names[i], &s) && vaddr >= s.addr && vaddr < s.addr + s.size) {
			*which = names[i];
			return (int64_t)(vaddr - s.addr);
		}
	*which = "none";
	return -1;
}

static char fixture_version[64];

/* A variant without symbols is checked against its sibling with them (plain for stripped,
 * cgo-syms for cgo): the same packages linked the same way give each global the same offset
 * into its section, only the sections move (build info and IDs differ in length). */
static void check_variant(struct test_ctx *t, const char *variant, const char *oracle)
{
	char path[PATH_MAX], opath[PATH_MAX], what[160];
	struct goelf *g = NULL, *og = NULL;
	struct pclntab *pt = NULL;
	struct mprof_globals dec, loc;
	uint64_t nm_head = 0, nm_cycle = 0;
	const char *s1, *s2, *s3, *s4;

	snprintf(path, sizeof(path), "%s/%s/goalloc-%s", fixtures_dir(), fixture_version, variant);
	snprintf(opath, sizeof(opath), "%s/%s/goalloc-%s", fixtures_dir(), fixture_version, oracle);
	snprintf(what, sizeof(what), "%s %s", fixture_version, variant);
	if (access(path, R_OK) || access(opath, R_OK)) {
		printf("  %s: not built\n", what);
		return;
	}
	g = goelf__open(path);
	pt = g ? pclntab__open(g) : NULL;
	og = goelf__open(opath);
	if (!ASSERT_OK_PTR(t, g, path) || !ASSERT_OK_PTR(t, pt, "pclntab") ||
	    !ASSERT_OK_PTR(t, og, opath))
		goto cleanup;
	if (!ASSERT_OK(t, nm_globals(opath, &nm_head, &nm_cycle), "go tool nm of the oracle"))
		goto cleanup;
	if (!ASSERT_OK(t, mprof__decode_globals(g, pt, &dec), what))
		goto cleanup;
	if (!strcmp(variant, oracle)) {
		if (!ASSERT_EQ(t, dec.mbuckets, nm_head, what) ||
		    !ASSERT_EQ(t, dec.cycle, nm_cycle, what))
			goto cleanup;
	}
	if (section_offset(g, dec.mbuckets, &s1) != section_offset(og, nm_head, &s2) ||
	    strcmp(s1, s2) || section_offset(g, dec.cycle, &s3) != section_offset(og, nm_cycle, &s4) ||
	    strcmp(s3, s4)) {
		FAILF(t, "%s: decoded mbuckets 0x%" PRIx64 " (%s) / mProfCycle 0x%" PRIx64
			 " (%s), nm of %s says 0x%" PRIx64 " (%s) / 0x%" PRIx64 " (%s)",
		      what, dec.mbuckets, s1, dec.cycle, s3, oracle, nm_head, s2, nm_cycle, s4);
		goto cleanup;
	}
	/* the entry point: symbols when there are any, the same answer either way */
	if (ASSERT_OK(t, mprof__locate(g, pt, &loc), "locate")) {
		ASSERT_EQ(t, loc.mbuckets, dec.mbuckets, "locate agrees with decoding");
		ASSERT_EQ(t, loc.cycle, dec.cycle, "locate agrees with decoding (cycle)");
		ASSERT_STREQ(t, loc.how, goelf__has_symtab(g) ? "symbol table" : "runtime code",
			     "how");
	}
	printf("  %s: mbuckets 0x%" PRIx64 " (%s+0x%" PRIx64 "), mProfCycle 0x%" PRIx64
	       " (%s+0x%" PRIx64 ")\n",
	       what, dec.mbuckets, s1, (uint64_t)section_offset(g, dec.mbuckets, &s1), dec.cycle, s3,
	       (uint64_t)section_offset(g, dec.cycle, &s3));
cleanup:
	pclntab__close(pt);
	goelf__close(g);
	goelf__close(og);
}

static void test_locate(struct test_ctx *t)
{
	static const char *const variants[][2] = {
		{ "plain", "plain" }, { "stripped", "plain" }, { "pie", "pie" },
		{ "cgo", "cgo-syms" }, { "cgo-syms", "cgo-syms" }, { "pprof", "pprof" },
	};
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "%s version >/dev/null 2>&1", go_cmd());
	if (system(cmd)) {
		SKIP(t, "no go toolchain for `go tool nm`");
		return;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		check_variant(t, variants[i][0], variants[i][1]);
}

/* ---- reading, in a fake address space ---- */

#define FAKE_BASE 0xc000010000ull
#define FAKE_SIZE (8u << 20)
#define HEAD_AT (FAKE_BASE)		/* runtime.mbuckets */
#define CYCLE_AT (FAKE_BASE + 8)	/* runtime.mProfCycle */

struct fake {
	uint8_t *mem;
	size_t limit;		/* readable bytes from FAKE_BASE (a mapping's end) */
	size_t top;		/* next free byte for a bucket */
	struct mprof_offsets o;
	uint64_t reads;
	/* called before each read: mutations a live target makes between two reads */
	void (*hook)(struct fake *f, uint64_t addr, size_t len);
	int hook_state;
	uint64_t watch;		/* a record the hook cares about */
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;

	f->reads++;
	if (f->hook)
		f->hook(f, addr, len);
	if (addr < FAKE_BASE || addr + len > FAKE_BASE + f->limit)
		return -EIO;
	memcpy(buf, f->mem + (addr - FAKE_BASE), len);
	return 0;
}

static uint64_t *at(struct fake *f, uint64_t addr)
{
	return (uint64_t *)(f->mem + (addr - FAKE_BASE));
}

static void set_cycle(struct fake *f, uint32_t cycle, bool flushed)
{
	*(uint32_t *)(f->mem + (CYCLE_AT - FAKE_BASE)) = cycle << 1 | flushed;
}

/* Prepend a bucket (persistentalloc carves them one after another). Returns its address. */
static uint64_t add_bucket(struct fake *f, uint64_t size, uint32_t nstk, uint64_t pc0)
{
	const struct mprof_offsets *o = &f->o;
	uint64_t b = FAKE_BASE + f->top;

	f->top += o->bucket_size + 8 * nstk + o->record_size;
	memset(at(f, b), 0, f->top - (b - FAKE_BASE));
	*at(f, b + o->allnext) = *at(f, HEAD_AT);
	*at(f, b + o->typ) = 1;
	*at(f, b + o->size) = size;
	*at(f, b + o->nstk) = nstk;
	for (uint32_t i = 0; i < nstk; i++)
		*at(f, b + o->bucket_size + 8 * i) = pc0 + i;
	*at(f, HEAD_AT) = b;
	return b;
}

static uint64_t rec_of(struct fake *f, uint64_t b)
{
	return b + f->o.bucket_size + 8 * *at(f, b + f->o.nstk);
}

/* which: -1 active, 0..2 future[which] */
static void set_counts(struct fake *f, uint64_t b, int which, uint64_t allocs, uint64_t frees)
{
	uint64_t c = rec_of(f, b) + (which < 0 ? f->o.active : f->o.future + which * f->o.cycle_size);

	*at(f, c + f->o.allocs) = allocs;
	*at(f, c + f->o.frees) = frees;
}

static bool fake_init(struct test_ctx *t, struct fake *f, int minor)
{
	struct go_version v = { .major = 1, .minor = minor };
	struct go_layout l;

	memset(f, 0, sizeof(*f));
	if (!ASSERT_OK(t, goruntime__layout(&v, &l), "layout"))
		return false;
	f->o = l.mprof;
	f->mem = calloc(1, FAKE_SIZE);
	f->limit = FAKE_SIZE;
	f->top = 4096;
	return ASSERT_OK_PTR(t, f->mem, "fake memory");
}

static const struct mprof_bucket *bucket_at(struct mprof_reader *r, uint64_t addr)
{
	size_t n;
	struct mprof_bucket *b = mprof__buckets(r, &n);

	for (size_t i = 0; i < n; i++)
		if (b[i].addr == addr)
			return &b[i];
	return NULL;
}

static bool check_bucket(struct test_ctx *t, struct mprof_reader *r, uint64_t addr,
			 uint64_t allocs, uint64_t frees, const char *what)
{
	const struct mprof_bucket *b = bucket_at(r, addr);

	if (!b)
		return FAILF(t, "%s: bucket 0x%" PRIx64 " not found", what, addr);
	if (b->allocs != allocs || b->frees != frees)
		return FAILF(t, "%s: allocs/frees %" PRIu64 "/%" PRIu64 ", want %" PRIu64 "/%" PRIu64,
			     what, b->allocs, b->frees, allocs, frees);
	return true;
}

/* What MemProfile reports: active + future[C%3]; the other futures are later cycles'. */
static void read_versions(struct test_ctx *t, int minor)
{
	struct mprof_reading rd;
	struct mprof_reader *r = NULL;
	struct fake f;
	uint64_t b1, b2, b3, b4;
	char what[64];

	if (!fake_init(t, &f, minor))
		return;
	snprintf(what, sizeof(what), "go1.%d", minor);
	b1 = add_bucket(&f, 16, 3, 0x401000);
	b2 = add_bucket(&f, 4096, 5, 0x402000);
	b3 = add_bucket(&f, 98304, 1, 0x403000);
	/* cycle 4, flushed: c = 1 */
	set_cycle(&f, 4, true);
	set_counts(&f, b1, -1, 10, 3);
	set_counts(&f, b1, 1, 2, 1);
	set_counts(&f, b1, 0, 5, 0);	/* this cycle's mallocs: not yet published */
	set_counts(&f, b1, 2, 0, 4);	/* this cycle's frees: not yet */
	set_counts(&f, b2, -1, 7, 7);
	set_counts(&f, b3, 1, 1, 0);
	r = mprof__new(&f.o, HEAD_AT, CYCLE_AT, fake_read, &f);
	if (!ASSERT_OK_PTR(t, r, "new") || !ASSERT_OK(t, mprof__read(r, &rd), what))
		goto cleanup;
	ASSERT_EQ(t, rd.nbuckets, 3, "buckets");
	ASSERT_EQ(t, rd.cycle, 4, "cycle");
	ASSERT_TRUE(t, !rd.clear && !rd.retries, "normal path");
	check_bucket(t, r, b1, 12, 4, "active + future[1]");
	check_bucket(t, r, b2, 7, 7, "all freed");
	check_bucket(t, r, b3, 1, 0, "only in future[1]");
	{
		const struct mprof_bucket *b = bucket_at(r, b2);

		if (ASSERT_OK_PTR(t, b, "b2") && ASSERT_EQ(t, b->nstk, 5, "nstk")) {
			ASSERT_EQ(t, b->stk[4], 0x402004, "stack");
			ASSERT_EQ(t, b->size, 4096, "size");
		}
	}

	/* new buckets at the head: only they are walked */
	b4 = add_bucket(&f, 32, 2, 0x404000);
	set_counts(&f, b4, -1, 1, 0);
	set_counts(&f, b1, -1, 11, 3);
	if (ASSERT_OK(t, mprof__read(r, &rd), "second read")) {
		ASSERT_EQ(t, rd.nbuckets, 4, "4 buckets");
		ASSERT_EQ(t, rd.new_buckets, 1, "1 new");
		check_bucket(t, r, b4, 1, 0, "new bucket");
		check_bucket(t, r, b1, 13, 4, "updated counts");
	}

	/* no GC completed yet: MemProfile counts every future */
	memset(f.mem + 4096, 0, f.top - 4096);
	*at(&f, HEAD_AT) = 0;
	f.top = 4096;
	mprof__free(r);
	b1 = add_bucket(&f, 16, 3, 0x401000);
	b2 = add_bucket(&f, 64, 3, 0x401000);
	set_cycle(&f, 0, false);
	set_counts(&f, b1, 2, 6, 0);
	set_counts(&f, b2, 1, 0, 0);
	set_counts(&f, b2, 2, 3, 1);
	r = mprof__new(&f.o, HEAD_AT, CYCLE_AT, fake_read, &f);
	if (ASSERT_OK_PTR(t, r, "new") && ASSERT_OK(t, mprof__read(r, &rd), "clear path")) {
		ASSERT_TRUE(t, rd.clear, "clear");
		check_bucket(t, r, b1, 6, 0, "clear: sum of futures");
		check_bucket(t, r, b2, 3, 1, "clear: sum of futures (2)");
	}
cleanup:
	mprof__free(r);
	free(f.mem);
}

static void test_read_layouts(struct test_ctx *t)
{
	for (int minor = 19; minor <= 27 && !t->failed; minor++)
		read_versions(t, minor);
}

/* Hooks act only once the reader has read mProfCycle (the walk of new buckets comes before). */
static bool watched_read(struct fake *f, uint64_t addr, size_t len)
{
	if (addr == CYCLE_AT && !f->hook_state)
		f->hook_state = 1;
	return f->hook_state && addr <= f->watch && f->watch < addr + len;
}

/* A GC cycle ends while the records are read: the walk is redone under the new cycle. */
static void cycle_ends(struct fake *f, uint64_t addr, size_t len)
{
	uint64_t fa = f->watch + f->o.future + 2 * f->o.cycle_size + f->o.allocs;

	if (!watched_read(f, addr, len) || f->hook_state != 1)
		return;
	f->hook_state = 2;
	/* mProf_NextCycle, then mProf_Flush of future[2] into active */
	set_cycle(f, 5, true);
	*at(f, f->watch + f->o.active + f->o.allocs) += *at(f, fa);
	*at(f, fa) = 0;
}

/* mProf_FlushLocked caught between "active += future[c]" and "future[c] = 0": the first pass
 * reads before the flush, the second in its middle, a third after it. */
static void mid_flush(struct fake *f, uint64_t addr, size_t len)
{
	uint64_t fa = f->watch + f->o.future + 1 * f->o.cycle_size + f->o.allocs;

	if (!watched_read(f, addr, len))
		return;
	if (f->hook_state == 2)
		*at(f, f->watch + f->o.active + f->o.allocs) += *at(f, fa);
	else if (f->hook_state == 3)
		*at(f, fa) = 0;
	f->hook_state++;
}

static void test_races(struct test_ctx *t)
{
	struct mprof_reading rd;
	struct mprof_reader *r = NULL;
	struct fake f;
	uint64_t b1;

	if (!fake_init(t, &f, 26))
		return;
	b1 = add_bucket(&f, 16, 3, 0x401000);
	add_bucket(&f, 32, 3, 0x401000);
	set_cycle(&f, 4, true);
	set_counts(&f, b1, -1, 10, 0);
	set_counts(&f, b1, 2, 4, 0);	/* what cycle 5's flush publishes */
	f.hook = cycle_ends;
	f.watch = rec_of(&f, b1);
	r = mprof__new(&f.o, HEAD_AT, CYCLE_AT, fake_read, &f);
	if (!ASSERT_OK_PTR(t, r, "new") || !ASSERT_OK(t, mprof__read(r, &rd), "read"))
		goto cleanup;
	ASSERT_EQ(t, rd.retries, 1, "one walk redone");
	ASSERT_EQ(t, rd.cycle, 5, "under the new cycle");
	check_bucket(t, r, b1, 14, 0, "after the cycle's end");

	/* a record read in the middle of its flush is read until it is stable */
	mprof__free(r);
	set_cycle(&f, 4, true);
	set_counts(&f, b1, -1, 10, 0);
	set_counts(&f, b1, 1, 5, 0);
	set_counts(&f, b1, 2, 0, 0);
	f.hook = mid_flush;
	f.hook_state = 0;
	r = mprof__new(&f.o, HEAD_AT, CYCLE_AT, fake_read, &f);
	if (!ASSERT_OK_PTR(t, r, "new") || !ASSERT_OK(t, mprof__read(r, &rd), "read mid-flush"))
		goto cleanup;
	check_bucket(t, r, b1, 15, 0, "counted once");
	ASSERT_TRUE(t, rd.rereads >= 1, "re-read");
	ASSERT_EQ(t, rd.retries, 0, "no cycle change");
cleanup:
	mprof__free(r);
	free(f.mem);
}

static void test_bad_lists(struct test_ctx *t)
{
	struct mprof_reading rd;
	struct mprof_reader *r = NULL;
	struct fake f;
	uint64_t b1, b2;

	if (!fake_init(t, &f, 23))
		return;
	b1 = add_bucket(&f, 16, 3, 0x401000);
	b2 = add_bucket(&f, 16, 3, 0x401000);
	set_cycle(&f, 2, true);
	r = mprof__new(&f.o, HEAD_AT, CYCLE_AT, fake_read, &f);
	if (!ASSERT_OK_PTR(t, r, "new"))
		goto cleanup;
	*at(&f, b2 + f.o.typ) = 2;
	ASSERT_EQ(t, mprof__read(r, &rd), -EBADMSG, "a block-profile bucket");
	*at(&f, b2 + f.o.typ) = 1;
	*at(&f, b1 + f.o.nstk) = 1025;
	ASSERT_EQ(t, mprof__read(r, &rd), -EBADMSG, "more PCs than the runtime keeps");
	*at(&f, b1 + f.o.nstk) = 3;
	*at(&f, b1 + f.o.allnext) = b2;
	ASSERT_EQ(t, mprof__read(r, &rd), -EBADMSG, "a cycle");
	*at(&f, b1 + f.o.allnext) = 0;
	*at(&f, HEAD_AT) = b2 + 4;
	ASSERT_EQ(t, mprof__read(r, &rd), -EBADMSG, "misaligned head");
	*at(&f, HEAD_AT) = FAKE_BASE + FAKE_SIZE + 4096;
	ASSERT_EQ(t, mprof__read(r, &rd), -EIO, "unreadable head");
	*at(&f, HEAD_AT) = b2;
	if (!ASSERT_OK(t, mprof__read(r, &rd), "repaired") || !ASSERT_EQ(t, rd.nbuckets, 2, "2"))
		goto cleanup;
	/* a new head whose chain does not reach the known one */
	add_bucket(&f, 16, 3, 0x401000);
	*at(&f, *at(&f, HEAD_AT) + f.o.allnext) = 0;
	ASSERT_EQ(t, mprof__read(r, &rd), -EBADMSG, "chain misses the known head");
	*at(&f, *at(&f, HEAD_AT) + f.o.allnext) = b2;
	if (ASSERT_OK(t, mprof__read(r, &rd), "repaired again"))
		ASSERT_EQ(t, rd.nbuckets, 3, "3 after the failed walk was forgotten");
cleanup:
	mprof__free(r);
	free(f.mem);
}

/* Tens of thousands of buckets in a few hundred reads, and a mapping that ends mid-window. */
static void test_windows(struct test_ctx *t)
{
	struct mprof_reading rd;
	struct mprof_reader *r = NULL;
	struct fake f;
	uint64_t b = 0;
	int n = 20000;

	if (!fake_init(t, &f, 27))
		return;
	for (int i = 0; i < n; i++) {
		b = add_bucket(&f, 16 * (1 + i % 7), 12, 0x401000 + i);
		set_counts(&f, b, -1, i, i / 2);
	}
	set_cycle(&f, 9, true);
	f.limit = (f.top + 4095) & ~4095ul;	/* the mapping ends after the last bucket's page */
	r = mprof__new(&f.o, HEAD_AT, CYCLE_AT, fake_read, &f);
	if (!ASSERT_OK_PTR(t, r, "new") || !ASSERT_OK(t, mprof__read(r, &rd), "first read"))
		goto cleanup;
	ASSERT_EQ(t, rd.nbuckets, (uint64_t)n, "all buckets");
	check_bucket(t, r, b, n - 1, (n - 1) / 2, "newest");
	printf("  %d buckets (%zu KiB): first read %" PRIu64 " reads, ", n, f.top >> 10, rd.reads);
	ASSERT_TRUE(t, rd.reads < 200, "windowed first read");
	if (ASSERT_OK(t, mprof__read(r, &rd), "second read")) {
		printf("then %" PRIu64 "\n", rd.reads);
		ASSERT_TRUE(t, rd.reads < 100, "windowed second read");
		ASSERT_EQ(t, rd.new_buckets, 0, "nothing new");
	}
cleanup:
	mprof__free(r);
	free(f.mem);
}

/* Inlined calls: the entry for the inlined callee is followed by one for each outer frame. */
static void test_symbolize(struct test_ctx *t)
{
	char path[PATH_MAX];
	struct goelf *g;
	struct pclntab *pt = NULL;
	struct go_frame gf[8], frames[16];
	struct mprof_loc locs[8];
	uint64_t inl = 0, outer = 0, other = 0;
	int nlocs, n;

	snprintf(path, sizeof(path), "%s/go1.26.8/goalloc-plain", fixtures_dir());
	g = goelf__open(path);
	pt = g ? pclntab__open(g) : NULL;
	if (!pt) {
		SKIP(t, "no go1.26.8 goalloc-plain fixture");
		goto cleanup;
	}
	/* a PC inside a call inlined (one level) into main.main, one of main.main itself, and one
	 * of another function */
	for (size_t i = 0; i < pclntab__nfuncs(pt) && !(inl && outer && other); i++) {
		struct go_func f;

		if (pclntab__func_at(pt, i, &f))
			break;
		if (strcmp(f.name, "main.main")) {
			if (!other && !strcmp(f.name, "main.allocSmall"))
				other = f.entry + 8;
			continue;
		}
		for (uint64_t pc = f.entry; pc < f.end && !(inl && outer); pc++) {
			n = pclntab__frames(pt, pc, gf, 8);
			if (n == 2 && !inl)
				inl = pc;
			if (n == 1 && !outer && pc > f.entry + 16)
				outer = pc;
		}
	}
	if (!ASSERT_TRUE(t, inl && outer && other, "PCs found"))
		goto cleanup;
	pclntab__frames(pt, inl, gf, 8);
	{
		uint64_t stk[] = { inl + 1, outer + 1, other + 1 };

		n = mprof__symbolize(pt, 0, stk, 3, frames, 16, locs, 8, &nlocs);
		ASSERT_EQ(t, n, 3, "frames");
		if (ASSERT_EQ(t, nlocs, 2, "inline tree folded into one location")) {
			ASSERT_EQ(t, locs[0].n, 2, "two lines");
			ASSERT_EQ(t, locs[0].pc, inl, "call address");
			ASSERT_STREQ(t, frames[0].func, gf[0].func, "innermost first");
			ASSERT_STREQ(t, frames[1].func, "main.main", "then the physical function");
			ASSERT_STREQ(t, frames[2].func, "main.allocSmall", "next location");
		}
	}
	{
		/* the next entry is not the outer frame: each entry on its own */
		uint64_t stk[] = { inl + 1, other + 1, 0 };

		n = mprof__symbolize(pt, 0, stk, 3, frames, 16, locs, 8, &nlocs);
		ASSERT_EQ(t, nlocs, 3, "unfolded");
		ASSERT_EQ(t, n, 2, "innermost frame of each");
		ASSERT_EQ(t, locs[2].n, 0, "a PC outside the table: no frames");
	}
cleanup:
	pclntab__close(pt);
	goelf__close(g);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char path[PATH_MAX], line[256], ver[64], status[64], *versions[32];
	int nver = 0;
	FILE *f;

	RUN(test_x86_patterns);
	RUN(test_read_layouts);
	RUN(test_races);
	RUN(test_bad_lists);
	RUN(test_windows);
	RUN(test_symbolize);
	snprintf(path, sizeof(path), "%s/versions.txt", fixtures_dir());
	f = fopen(path, "r");
	while (f && nver < 32 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %63s", ver, status) == 2 && !strcmp(status, "ok"))
			versions[nver++] = strdup(ver);
	if (f)
		fclose(f);
	qsort(versions, nver, sizeof(*versions), cmp_str);
	if (!nver) {
		struct test_ctx tc = { .name = "test_mprof_locate" };

		printf("SKIP %s: no fixture versions (make fixtures)\n", tc.name);
		harness_skip++;
	}
	for (int i = 0; i < nver; i++) {
		char name[128];

		snprintf(fixture_version, sizeof(fixture_version), "%s", versions[i]);
		snprintf(name, sizeof(name), "test_mprof_locate/%s", versions[i]);
		harness_run(name, test_locate, getenv("TEST_FILTER"));
		free(versions[i]);
	}
	return harness_done();
}
