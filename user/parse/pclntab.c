// SPDX-License-Identifier: GPL-2.0
/* Go 1.18+ .gopclntab reader. Everything points into goelf's read-only mapping: opening a table
 * allocates one struct and never walks the functions, so a 100 MB binary opens in microseconds.
 * Layout references: runtime/symtab.go (pcHeader, moduledata, pcvalue, step, funcdata),
 * runtime/runtime2.go (_func), runtime/symtabinl.go (inlinedCall), cmd/link/internal/ld/pcln.go. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buildinfo.h"
#include "pclntab.h"

#define MAGIC_GO118	0xfffffff0u	/* 1.18, 1.19 */
#define MAGIC_GO120	0xfffffff1u	/* 1.20 .. 1.27 */
#define MAGIC_GO116	0xfffffffau
#define MAGIC_GO12	0xfffffffbu
#define HDR_SIZE	(8 + 8 * 8)	/* magic, pads, minLC, ptrSize, then 8 words */

#define PCDATA_INLTREEINDEX	2
#define FUNCDATA_INLTREE	3
#define MAX_INLINE_DEPTH	64	/* guards a corrupt parentPc chain against looping */

/* moduledata word indexes [runtime/symtab.go]. Words 0..22 (pcHeader, six slices, findfunctab,
 * minpc, maxpc, text) never moved; gofunc moved as fields were added in front of it. */
#define MD_PCHEADER	0
#define MD_FUNCNAMETAB	1
#define MD_FTAB		16
#define MD_TEXT		22
#define MD_GOFUNC_119	38	/* no covctrs */
#define MD_GOFUNC_120	40	/* covctrs, ecovctrs added in 1.20 */
#define MD_GOFUNC_127	43	/* typedesclen, itaboffset, itabsize added in 1.27 */
#define MD_WORDS	44

struct region {
	const uint8_t *p;
	size_t n;
};

struct pclntab {
	const struct goelf *g;
	const uint8_t *hdr;	/* the pcHeader, inside goelf's mapping */
	uint64_t vaddr;		/* its link-time address */
	uint32_t magic;
	uint8_t minlc;		/* pc quantum: 1 on amd64, 4 on arm64 */
	uint32_t nfunc;
	uint64_t text_start;
	uint64_t gofunc;	/* base of funcdata offsets, 0 when unknown */
	size_t func_size;	/* sizeof(_func) before its pcdata/funcdata arrays */
	struct region funcname, cutab, filetab, pctab, pcln;
};

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* NUL-terminated string at off in r, or NULL if it runs off the end. */
static const char *str_at(const struct region *r, uint64_t off)
{
	if (off >= r->n || !memchr(r->p + off, '\0', r->n - off))
		return NULL;
	return (const char *)r->p + off;
}

/* Header checks shared by the section lookup and the magic scan. data/size: from the header to
 * the end of the containing section. */
static int check_header(const uint8_t *d, size_t size)
{
	uint32_t magic;
	uint64_t prev = HDR_SIZE;

	if (size < HDR_SIZE)
		return -EINVAL;
	magic = rd32(d);
	if (magic == MAGIC_GO116 || magic == MAGIC_GO12)
		return -ENOTSUP;
	if (magic != MAGIC_GO118 && magic != MAGIC_GO120)
		return -EINVAL;
	if (d[4] || d[5] || (d[6] != 1 && d[6] != 2 && d[6] != 4) || d[7] != 8)
		return -EINVAL;
	if (!rd64(d + 8) || rd64(d + 8) > UINT32_MAX)
		return -EINVAL;
	/* funcname, cu, filetab, pctab, pcln offsets: laid out in this order by the linker. */
	for (int i = 3; i < 8; i++) {
		uint64_t off = rd64(d + 8 + 8 * i);

		if (off < prev || off >= size)
			return -EINVAL;
		prev = off;
	}
	return 0;
}

static int init_from(struct pclntab *t, const uint8_t *d, size_t size, uint64_t vaddr)
{
	uint64_t off[5];
	struct region *r[5] = { &t->funcname, &t->cutab, &t->filetab, &t->pctab, &t->pcln };
	int err = check_header(d, size);

	if (err)
		return err;
	t->hdr = d;
	t->vaddr = vaddr;
	t->magic = rd32(d);
	t->minlc = d[6];
	t->nfunc = (uint32_t)rd64(d + 8);
	t->text_start = rd64(d + 8 + 16);
	t->func_size = t->magic == MAGIC_GO118 ? 40 : 44;	/* 1.20 added startLine */
	for (int i = 0; i < 5; i++)
		off[i] = rd64(d + 8 + 24 + 8 * i);
	for (int i = 0; i < 5; i++) {
		r[i]->p = d + off[i];
		r[i]->n = (i < 4 ? off[i + 1] : size) - off[i];
	}
	/* functab: nfunc+1 {entryoff, funcoff} pairs; the last one only carries the end. */
	if (((uint64_t)t->nfunc + 1) * 8 > t->pcln.n)
		return -EINVAL;
	/* The first function's _func must repeat its functab entryoff: rejects stray magics. */
	off[0] = rd32(t->pcln.p + 4);
	if (off[0] + t->func_size > t->pcln.n || rd32(t->pcln.p + off[0]) != rd32(t->pcln.p))
		return -EINVAL;
	return 0;
}

/* No section by name (an external linker may fold .data.rel.ro.gopclntab into its parent):
 * scan read-only data for the magic. The header is pointer aligned. */
static int scan_for_table(struct pclntab *t)
{
	static const char *const secs[] = { ".rodata", ".data.rel.ro", ".rel.ro", ".noptrdata" };
	struct goelf_section s;
	int err = -ENOENT;

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		if (goelf__section(t->g, secs[i], &s) || !s.data)
			continue;
		for (uint64_t o = (8 - (s.addr & 7)) & 7; o + HDR_SIZE <= s.size; o += 8) {
			uint32_t m = rd32(s.data + o);
			int e;

			if (m != MAGIC_GO118 && m != MAGIC_GO120 && m != MAGIC_GO116 &&
			    m != MAGIC_GO12)
				continue;
			e = init_from(t, s.data + o, s.size - o, s.addr + o);
			if (!e)
				return 0;
			if (e == -ENOTSUP)
				err = e;
		}
	}
	return err;
}

static int find_table(struct pclntab *t)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	struct goelf_section s;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!goelf__section(t->g, names[i], &s) && s.data)
			return init_from(t, s.data, s.size, s.addr);
	}
	return scan_for_table(t);
}

/* runtime.firstmoduledata starts with the pcHeader pointer and the funcnametab slice, and its
 * ftab slice points at the functab. Go 1.26+ gives it a .go.module section; before, it sits in
 * .noptrdata. The linker writes these pointers into the file even for PIE (dynamic relocations
 * only add the load bias), so they can be read statically; an external linker (cgo) does the
 * same on amd64. find_moduledata() returns NULL when it is not found. */
static bool is_moduledata(const struct pclntab *t, const uint8_t *p)
{
	return rd64(p + 8 * MD_PCHEADER) == t->vaddr &&
	       rd64(p + 8 * MD_FUNCNAMETAB) == t->vaddr + (uint64_t)(t->funcname.p - t->hdr) &&
	       rd64(p + 8 * MD_FTAB) == t->vaddr + (uint64_t)(t->pcln.p - t->hdr);
}

static const uint8_t *find_moduledata(const struct pclntab *t)
{
	static const char *const secs[] = { ".go.module", ".noptrdata", ".data", ".data.rel.ro" };
	struct goelf_section s;

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		if (goelf__section(t->g, secs[i], &s) || !s.data)
			continue;
		for (uint64_t o = (8 - (s.addr & 7)) & 7; o + 8 * MD_WORDS <= s.size; o += 8) {
			if (is_moduledata(t, s.data + o))
				return s.data + o;
		}
	}
	return NULL;
}

static bool mapped(const struct goelf *g, uint64_t vaddr)
{
	uint64_t off;

	return vaddr && !goelf__vaddr_to_offset(g, vaddr, &off);
}

/* Funcdata offsets are relative to moduledata.gofunc, the go:func.* symbol, in every 1.18+
 * layout [runtime/symtab.go funcdata()]. Stripped binaries have no symbol, so read it from
 * moduledata, where its slot moved between releases; which layout applies comes from the Go
 * version. (1.27's .go.func section is go:funcdesc, not go:func.*: no shortcut there.) */
static uint64_t find_gofunc(const struct pclntab *t, const uint8_t *md)
{
	struct go_version v;
	int idx = MD_GOFUNC_120;

	if (!md)
		return 0;
	if (t->magic == MAGIC_GO118)
		idx = MD_GOFUNC_119;
	else if (!buildinfo__read(t->g, &v) && v.major == 1 && v.minor >= 27)
		idx = MD_GOFUNC_127;
	return mapped(t->g, rd64(md + 8 * idx)) ? rd64(md + 8 * idx) : 0;
}

/* Up to 1.25 the header holds the text start. 1.26 writes 0 there [cmd/link pcln.go] and the
 * runtime uses moduledata.text (the runtime.text symbol) instead. That is not .text's address
 * in cgo binaries: the external linker puts C code (crt, cgo stubs) in front of Go's text, e.g.
 * .text 0x402300 but runtime.text 0x402400 with go1.26. .text is only the last resort. */
static uint64_t find_text_start(const struct pclntab *t, const uint8_t *md)
{
	struct goelf_section s;

	if (t->text_start)
		return t->text_start;
	if (md && mapped(t->g, rd64(md + 8 * MD_TEXT)))
		return rd64(md + 8 * MD_TEXT);
	if (!goelf__section(t->g, ".text", &s))
		return s.addr;
	return 0;
}

struct pclntab *pclntab__open(const struct goelf *g)
{
	struct pclntab *t = calloc(1, sizeof(*t));
	const uint8_t *md;
	int err;

	if (!t)
		return NULL;
	t->g = g;
	err = find_table(t);
	if (err) {
		free(t);
		errno = err == -ENOTSUP ? ENOTSUP : ENOENT;
		return NULL;
	}
	md = find_moduledata(t);
	t->text_start = find_text_start(t, md);
	t->gofunc = find_gofunc(t, md);
	if (!t->text_start) {
		free(t);
		errno = ENOENT;
		return NULL;
	}
	return t;
}

void pclntab__close(struct pclntab *t)
{
	free(t);
}

size_t pclntab__nfuncs(const struct pclntab *t)
{
	return t->nfunc;
}

uint64_t pclntab__text_start(const struct pclntab *t)
{
	return t->text_start;
}

uint32_t pclntab__magic(const struct pclntab *t)
{
	return t->magic;
}

static inline uint32_t ftab_entry(const struct pclntab *t, size_t i)
{
	return rd32(t->pcln.p + 8 * i);
}

/* The _func of function i, or NULL if its offset is out of bounds. */
static const uint8_t *func_ptr(const struct pclntab *t, size_t i)
{
	uint32_t off = rd32(t->pcln.p + 8 * i + 4);

	if ((uint64_t)off + t->func_size > t->pcln.n)
		return NULL;
	return t->pcln.p + off;
}

int pclntab__func_at(const struct pclntab *t, size_t i, struct go_func *f)
{
	const uint8_t *fp;

	if (i >= t->nfunc || !(fp = func_ptr(t, i)))
		return -ERANGE;
	/* Multiple text sections (runtime.text.N, huge arm64/ppc64 binaries) would need the
	 * textsectmap translation of moduledata.textAddr; amd64 links one. */
	f->entry = t->text_start + ftab_entry(t, i);
	f->end = t->text_start + ftab_entry(t, i + 1);
	f->name = str_at(&t->funcname, (uint32_t)rd32(fp + 4));
	f->index = (uint32_t)i;
	return 0;
}

int pclntab__find_pc(const struct pclntab *t, uint64_t vaddr, struct go_func *f)
{
	uint64_t off;
	size_t lo = 0, hi = t->nfunc;

	if (vaddr < t->text_start)
		return -ENOENT;
	off = vaddr - t->text_start;
	if (off < ftab_entry(t, 0) || off >= ftab_entry(t, t->nfunc))
		return -ENOENT;
	/* Last function whose entry is <= off. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ftab_entry(t, mid) <= off)
			lo = mid;
		else
			hi = mid;
	}
	return pclntab__func_at(t, lo, f) ? -ENOENT : 0;
}

int pclntab__find_name(const struct pclntab *t, const char *name, struct go_func *f)
{
	size_t len = strlen(name) + 1;

	for (size_t i = 0; i < t->nfunc; i++) {
		const uint8_t *fp = func_ptr(t, i);
		uint32_t off;

		if (!fp)
			continue;
		off = rd32(fp + 4);
		if (off < t->funcname.n && t->funcname.n - off >= len &&
		    !memcmp(t->funcname.p + off, name, len))
			return pclntab__func_at(t, i, f);
	}
	return -ENOENT;
}

static bool read_uvarint(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	uint32_t r = 0;

	for (int shift = 0; *p < end && shift < 35; shift += 7) {
		uint8_t b = *(*p)++;

		r |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* Value of the pc-value table at pctab offset `off` for a function starting at `entry`
 * [runtime/symtab.go pcvalue, step]: (zig-zag value delta, pc delta * minLC) pairs, starting
 * from value -1 at the entry; a zero value delta after the first pair ends the table.
 * Returns false when the table has no row for pc. */
static bool pcvalue(const struct pclntab *t, uint32_t off, uint64_t entry, uint64_t pc,
		    int32_t *val)
{
	const uint8_t *p, *end = t->pctab.p + t->pctab.n;
	uint64_t cur = entry;
	int32_t v = -1;
	bool first = true;

	if (!off || off >= t->pctab.n)
		return false;
	for (p = t->pctab.p + off; p < end; first = false) {
		uint32_t uvdelta, pcdelta;

		if (!*p && !first)
			return false;
		if (!read_uvarint(&p, end, &uvdelta) || !read_uvarint(&p, end, &pcdelta))
			return false;
		/* int32 arithmetic that wraps, as the runtime's does: a corrupt table's deltas
		 * can sum past INT32_MAX, and a signed overflow would be undefined. */
		v = (int32_t)((uint32_t)v + (-(uvdelta & 1) ^ (uvdelta >> 1)));
		cur += (uint64_t)pcdelta * t->minlc;
		if (pc < cur) {
			*val = v;
			return true;
		}
	}
	return false;
}

/* Fields of _func [runtime/runtime2.go], same offsets in the 40 and 44-byte layouts except the
 * trailing bytes. */
#define F_NAMEOFF	4
#define F_PCSP		16
#define F_PCFILE	20
#define F_PCLN		24
#define F_NPCDATA	28
#define F_CUOFF		32

/* The idx-th u32 of the arrays after a _func (pcdata offsets, then funcdata offsets), false when
 * it lies past the functab region. Offsets rather than pointers: a corrupt npcdata puts the
 * index gigabytes away, and a pointer that far outside its object is undefined even to compare. */
static bool func_u32(const struct pclntab *t, const uint8_t *fp, uint64_t idx, uint32_t *v)
{
	uint64_t off = (uint64_t)(fp - t->pcln.p) + t->func_size + 4 * idx;

	if (off > t->pcln.n || t->pcln.n - off < 4)
		return false;
	*v = rd32(t->pcln.p + off);
	return true;
}

static uint32_t pcdata_off(const struct pclntab *t, const uint8_t *fp, uint32_t table)
{
	uint32_t off;

	if (table >= rd32(fp + F_NPCDATA) || !func_u32(t, fp, table, &off))
		return 0;
	return off;
}

/* Link-time address of funcdata i, 0 when absent or when gofunc is unknown. */
static uint64_t funcdata_addr(const struct pclntab *t, const uint8_t *fp, uint8_t i)
{
	uint8_t nfuncdata = fp[t->func_size - 1];
	uint32_t off;

	if (!t->gofunc || i >= nfuncdata ||
	    !func_u32(t, fp, (uint64_t)rd32(fp + F_NPCDATA) + i, &off))
		return 0;
	return off == UINT32_MAX ? 0 : t->gofunc + off;
}

static void file_line_at(const struct pclntab *t, const uint8_t *fp, uint64_t entry, uint64_t pc,
			 const char **file, int *line)
{
	int32_t fileno, ln;

	*file = NULL;
	*line = 0;
	if (pcvalue(t, rd32(fp + F_PCLN), entry, pc, &ln) && ln > 0)
		*line = ln;
	if (pcvalue(t, rd32(fp + F_PCFILE), entry, pc, &fileno) && fileno >= 0) {
		uint64_t cu = (uint64_t)rd32(fp + F_CUOFF) + (uint32_t)fileno;
		uint32_t foff;

		if (4 * cu + 4 > t->cutab.n)
			return;
		foff = rd32(t->cutab.p + 4 * cu);
		if (foff != UINT32_MAX)
			*file = str_at(&t->filetab, foff);
	}
}

/* One step out of the inline tree at pc: the inlined callee's name and the pc of its call site
 * in the parent. Layout [1.19 runtime/symtab.go, 1.20+ runtime/symtabinl.go]:
 * 1.18/1.19 {parent i16, funcID u8, _, file i32, line i32, func_ i32, parentPc i32} (20 B);
 * 1.20+ {funcID u8, _[3], nameOff i32, parentPc i32, startLine i32} (16 B). */
static bool inline_step(const struct pclntab *t, const uint8_t *fp, uint64_t inltree,
			uint64_t entry, uint64_t pc, const char **name, uint64_t *parent_pc)
{
	bool old = t->magic == MAGIC_GO118;
	size_t sz = old ? 20 : 16;
	uint8_t ic[20];
	int32_t ix;

	if (!inltree || !pcvalue(t, pcdata_off(t, fp, PCDATA_INLTREEINDEX), entry, pc, &ix) ||
	    ix < 0)
		return false;
	if (goelf__read_vaddr(t->g, inltree + (uint64_t)ix * sz, ic, sz))
		return false;
	*name = str_at(&t->funcname, rd32(ic + (old ? 12 : 4)));
	*parent_pc = entry + (uint32_t)rd32(ic + (old ? 16 : 8));
	return true;
}

int pclntab__frames(const struct pclntab *t, uint64_t vaddr, struct go_frame *frames, int max)
{
	struct go_frame all[MAX_INLINE_DEPTH + 1];
	struct go_func fn;
	const uint8_t *fp;
	uint64_t inltree, pc = vaddr, parent;
	const char *name;
	int n = 0, inner;

	if (max <= 0)
		return 0;
	if (pclntab__find_pc(t, vaddr, &fn) || !(fp = func_ptr(t, fn.index)))
		return -ENOENT;
	/* Without gofunc (not found) inltree is 0 and only the physical frame is reported, with
	 * the innermost file:line the pc tables give. */
	inltree = funcdata_addr(t, fp, FUNCDATA_INLTREE);
	for (int depth = 0; depth < MAX_INLINE_DEPTH; depth++) {
		if (!inline_step(t, fp, inltree, fn.entry, pc, &name, &parent))
			break;
		all[n].func = name;
		all[n].inlined = 1;
		file_line_at(t, fp, fn.entry, pc, &all[n].file, &all[n].line);
		n++;
		pc = parent;
	}
	all[n].func = fn.name;
	all[n].inlined = 0;
	file_line_at(t, fp, fn.entry, pc, &all[n].file, &all[n].line);
	n++;
	if (n <= max) {
		memcpy(frames, all, n * sizeof(*frames));
		return n;
	}
	/* A chain deeper than the caller's buffer: keep both ends. The innermost frames name the
	 * allocation site; the outer ones, the physical function last, say where it runs, which
	 * the caller's stack and every cumulative figure hang on. The middle goes. */
	inner = max / 2;
	memcpy(frames, all, inner * sizeof(*frames));
	memcpy(frames + inner, all + n - (max - inner), (max - inner) * sizeof(*frames));
	return max;
}

int pclntab__file_line(const struct pclntab *t, uint64_t vaddr, const char **file, int *line)
{
	struct go_func fn;
	const uint8_t *fp;
	uint64_t inltree, pc = vaddr, parent;
	const char *name;

	if (pclntab__find_pc(t, vaddr, &fn) || !(fp = func_ptr(t, fn.index)))
		return -ENOENT;
	/* Walk out to the physical function's call site: that is the line a profile of the
	 * physical function wants. */
	inltree = funcdata_addr(t, fp, FUNCDATA_INLTREE);
	for (int depth = 0; depth < MAX_INLINE_DEPTH; depth++) {
		if (!inline_step(t, fp, inltree, fn.entry, pc, &name, &parent))
			break;
		pc = parent;
	}
	file_line_at(t, fp, fn.entry, pc, file, line);
	return *file || *line ? 0 : -ENOENT;
}

int pclntab__sp_delta(const struct pclntab *t, uint64_t vaddr, int *delta)
{
	struct go_func fn;
	const uint8_t *fp;
	int32_t v;

	if (pclntab__find_pc(t, vaddr, &fn) || !(fp = func_ptr(t, fn.index)))
		return -ENOENT;
	if (!pcvalue(t, rd32(fp + F_PCSP), fn.entry, vaddr, &v))
		return -ENOENT;
	*delta = v;
	return 0;
}
