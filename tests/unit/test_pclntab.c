// SPDX-License-Identifier: GPL-2.0
/* pclntab parser against every fixture build: function entries against `go tool nm`, file:line
 * and names against `go tool addr2line`, inline chains against DWARF (binutils addr2line -i),
 * and stripped builds against their unstripped twins. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/stat.h>
#include "harness.h"
#include "goelf.h"
#include "pclntab.h"

#define GO_NATIVE	"/usr/local/go/bin/go"
#define MAX_VERSIONS	32
#define NSAMPLE		200

/* Variants with .symtab (nm/addr2line oracles work) and without. */
static const char *const sym_variants[] = { "plain", "pie", "pprof", "cgo-syms" };
static const char *const all_variants[] = { "plain", "stripped", "pie",
					     "cgo",   "pprof",    "cgo-syms" };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char versions[MAX_VERSIONS][256];
static int nversions;

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void load_versions(void)
{
	DIR *d = opendir(fixtures_dir());
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && nversions < MAX_VERSIONS) {
		if (!strncmp(e->d_name, "go", 2))
			snprintf(versions[nversions++], sizeof(versions[0]), "%s", e->d_name);
	}
	closedir(d);
	qsort(versions, nversions, sizeof(versions[0]), cmp_str);
}

static void fixture_path(char *buf, size_t n, const char *ver, const char *variant)
{
	/* a truncated path names no fixture: have() then skips it */
	if (snprintf(buf, n, "%s/%s/goalloc-%s", fixtures_dir(), ver, variant) >= (int)n)
		buf[0] = 0;
}

static bool have(const char *path)
{
	return access(path, R_OK) == 0;
}

static bool need_fixtures(struct test_ctx *t)
{
	if (!nversions) {
		SKIP(t, "no fixtures under HEAPSCOPE_FIXTURES/.output/fixtures (make fixtures)");
		return false;
	}
	return true;
}

static bool need_go(struct test_ctx *t)
{
	if (!have(GO_NATIVE)) {
		SKIP(t, "no " GO_NATIVE " for the nm/addr2line oracles");
		return false;
	}
	return true;
}

/* ---- tests ---- */

static const char *const probe_funcs[] = { "runtime.mallocgc", "runtime.profilealloc",
					    "runtime.mProf_Malloc", "main.allocSmall" };

static void check_open(struct test_ctx *t, const char *ver, const char *path)
{
	bool old = !strncmp(ver, "go1.18", 6) || !strncmp(ver, "go1.19", 6);
	struct goelf *g = goelf__open(path);
	struct goelf_section text;
	struct pclntab *p = NULL;
	struct go_func f, last;
	size_t n;

	if (!ASSERT_OK_PTR(t, g, path))
		return;
	p = pclntab__open(g);
	if (!ASSERT_OK_PTR(t, p, path) || !ASSERT_OK(t, goelf__section(g, ".text", &text), ".text"))
		goto cleanup;
	n = pclntab__nfuncs(p);
	ASSERT_EQ(t, pclntab__magic(p), old ? 0xfffffff0 : 0xfffffff1, path);
	ASSERT_TRUE(t, n > 1000, path);
	ASSERT_OK(t, pclntab__func_at(p, 0, &f), "func_at 0");
	ASSERT_OK(t, pclntab__func_at(p, n - 1, &last), "func_at last");
	ASSERT_TRUE(t, pclntab__text_start(p) >= text.addr && f.entry >= text.addr, path);
	ASSERT_TRUE(t, last.end <= text.addr + text.size, path);
	ASSERT_EQ(t, pclntab__func_at(p, n, &f), -ERANGE, "func_at n");
	for (size_t i = 0; i < NELEM(probe_funcs); i++) {
		if (ASSERT_OK(t, pclntab__find_name(p, probe_funcs[i], &f), probe_funcs[i]))
			ASSERT_STREQ(t, f.name, probe_funcs[i], path);
	}
	ASSERT_EQ(t, pclntab__find_name(p, "main.noSuchFunction", &f), -ENOENT, "missing name");
	ASSERT_EQ(t, pclntab__find_pc(p, text.addr - 1, &f), -ENOENT, "pc below text");
	ASSERT_EQ(t, pclntab__find_pc(p, last.end, &f), -ENOENT, "pc at etext");
cleanup:
	pclntab__close(p);
	goelf__close(g);
}

typedef void (*pcln_check_fn)(struct test_ctx *t, const struct pclntab *p, const char *path);

/* Run check on the pclntab of every fixture version built in the given variants. */
static void for_each_fixture(struct test_ctx *t, const char *const *variants, size_t nvariants,
			     pcln_check_fn check)
{
	for (int v = 0; v < nversions; v++) {
		for (size_t k = 0; k < nvariants; k++) {
			struct goelf *g;
			struct pclntab *p;
			char path[512];

			fixture_path(path, sizeof(path), versions[v], variants[k]);
			if (!have(path) || !(g = goelf__open(path)))
				continue;
			p = pclntab__open(g);
			if (ASSERT_OK_PTR(t, p, path))
				check(t, p, path);
			pclntab__close(p);
			goelf__close(g);
		}
	}
}

static void test_open_all(struct test_ctx *t)
{
	if (!need_fixtures(t))
		return;
	for (int v = 0; v < nversions; v++) {
		for (size_t k = 0; k < NELEM(all_variants); k++) {
			char path[512];

			fixture_path(path, sizeof(path), versions[v], all_variants[k]);
			if (have(path))
				check_open(t, versions[v], path);
		}
	}
}

/* Entries are sorted, contiguous, and find_pc agrees with func_at at both ends of each. */
static void check_table(struct test_ctx *t, const struct pclntab *p, const char *path)
{
	struct go_func f, g;
	size_t n = pclntab__nfuncs(p);

	for (size_t i = 0; i < n; i++) {
		if (!ASSERT_OK(t, pclntab__func_at(p, i, &f), path))
			return;
		if (!ASSERT_TRUE(t, f.name && f.end > f.entry, path))
			return;
		if (i + 1 < n && !ASSERT_OK(t, pclntab__func_at(p, i + 1, &g), path))
			return;
		if (i + 1 < n && !ASSERT_EQ(t, g.entry, f.end, "contiguous"))
			return;
		if (!ASSERT_OK(t, pclntab__find_pc(p, f.entry, &g), "find_pc entry") ||
		    !ASSERT_EQ(t, g.index, i, "find_pc entry index") ||
		    !ASSERT_OK(t, pclntab__find_pc(p, f.end - 1, &g), "find_pc end-1") ||
		    !ASSERT_EQ(t, g.index, i, "find_pc end-1 index"))
			return;
	}
}

static void test_table_shape(struct test_ctx *t)
{
	if (!need_fixtures(t))
		return;
	for_each_fixture(t, all_variants, NELEM(all_variants), check_table);
}

struct name_ent {
	const char *name;
	uint64_t entry;
};

static int cmp_name_ent(const void *a, const void *b)
{
	return strcmp(((const struct name_ent *)a)->name, ((const struct name_ent *)b)->name);
}

static struct name_ent *sorted_names(const struct pclntab *p)
{
	size_t n = pclntab__nfuncs(p);
	struct name_ent *v = calloc(n, sizeof(*v));
	struct go_func f;

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!pclntab__func_at(p, i, &f))
			v[i] = (struct name_ent){ f.name ? f.name : "", f.entry };
	}
	qsort(v, n, sizeof(*v), cmp_name_ent);
	return v;
}

/* Every text symbol `go tool nm` lists that pclntab also names must have the same address;
 * at least 95% of them must be in pclntab (assembly stubs without funcdata are the rest). */
static void nm_compare(struct test_ctx *t, const struct pclntab *p, const char *path)
{
	struct name_ent *names = sorted_names(p);
	char cmd[640], line[1024];
	size_t total = 0, matched = 0;
	FILE *f;

	if (!ASSERT_OK_PTR(t, names, "names"))
		return;
	snprintf(cmd, sizeof(cmd), GO_NATIVE " tool nm -size '%s'", path);
	f = popen(cmd, "r");
	if (!ASSERT_OK_PTR(t, f, cmd))
		goto cleanup;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr, size;
		char type, name[768];
		struct name_ent key = { name, 0 }, *hit;
		struct go_func fn;

		if (sscanf(line, "%llx %llu %c %767[^\n]", &addr, &size, &type, name) != 4)
			continue;
		if (type != 'T' && type != 't')
			continue;
		/* Linker markers and C symbols of cgo builds are not Go functions. */
		if (!strcmp(name, "runtime.text") || !strcmp(name, "runtime.etext") ||
		    !strncmp(name, "runtime.text.", 13) || !strchr(name, '.') || !size)
			continue;
		/* ELF names ABI0 (assembly) functions "x.abi0"; pclntab calls them "x". */
		if (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".abi0"))
			name[strlen(name) - 5] = '\0';
		total++;
		hit = bsearch(&key, names, pclntab__nfuncs(p), sizeof(*names), cmp_name_ent);
		if (!hit)
			continue;
		if (!pclntab__find_pc(p, addr, &fn) && fn.entry == addr && !strcmp(fn.name, name)) {
			matched++;
			continue;
		}
		FAILF(t, "%s: nm %s at %llx, pclntab has it at %" PRIx64, path, name, addr,
		      hit->entry);
	}
	pclose(f);
	if (ASSERT_TRUE(t, total > 1000, "nm listed text symbols"))
		ASSERT_TRUE(t, matched * 100 >= total * 95, path);
	if (getenv("VERBOSE"))
		printf("  %s: %zu/%zu nm text symbols matched\n", path, matched, total);
cleanup:
	free(names);
}

static void test_nm_entries(struct test_ctx *t)
{
	if (!need_fixtures(t) || !need_go(t))
		return;
	for_each_fixture(t, sym_variants, NELEM(sym_variants), nm_compare);
}

/* -s -w drops symbols and DWARF but leaves code where it was: the stripped twin must have the
 * same functions at the same addresses, which checks the symbol-free text start (cgo 1.26+). */
static void twin_compare(struct test_ctx *t, const char *ver, const char *stripped,
			 const char *full)
{
	struct goelf *gs = NULL, *gf = NULL;
	struct pclntab *ps = NULL, *pf = NULL;
	char a[512], b[512];
	struct go_func x, y;

	fixture_path(a, sizeof(a), ver, stripped);
	fixture_path(b, sizeof(b), ver, full);
	if (!have(a) || !have(b))
		return;
	gs = goelf__open(a);
	gf = goelf__open(b);
	if (!ASSERT_OK_PTR(t, gs, a) || !ASSERT_OK_PTR(t, gf, b))
		goto cleanup;
	ASSERT_TRUE(t, !goelf__has_symtab(gs), "stripped twin has no .symtab");
	ps = pclntab__open(gs);
	pf = pclntab__open(gf);
	if (!ASSERT_OK_PTR(t, ps, a) || !ASSERT_OK_PTR(t, pf, b))
		goto cleanup;
	ASSERT_EQ(t, pclntab__text_start(ps), pclntab__text_start(pf), a);
	if (!ASSERT_EQ(t, pclntab__nfuncs(ps), pclntab__nfuncs(pf), a))
		goto cleanup;
	for (size_t i = 0; i < pclntab__nfuncs(ps); i++) {
		if (pclntab__func_at(ps, i, &x) || pclntab__func_at(pf, i, &y) ||
		    strcmp(x.name, y.name) || x.entry != y.entry) {
			FAILF(t, "%s: function %zu differs from %s", a, i, b);
			break;
		}
	}
cleanup:
	pclntab__close(ps);
	pclntab__close(pf);
	goelf__close(gs);
	goelf__close(gf);
}

static void test_stripped_twins(struct test_ctx *t)
{
	if (!need_fixtures(t))
		return;
	for (int v = 0; v < nversions; v++) {
		twin_compare(t, versions[v], "stripped", "plain");
		twin_compare(t, versions[v], "cgo", "cgo-syms");
	}
}

/* Deterministic sample of pcs spread over the table. */
static void sample_pcs(const struct pclntab *p, uint64_t *pcs, int n)
{
	size_t nf = pclntab__nfuncs(p);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct go_func f;

	for (int i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pclntab__func_at(p, (size_t)i * nf / n, &f);
		pcs[i] = f.entry + x % (f.end - f.entry);
	}
}

/* `go tool addr2line` prints the physical function (debug/gosym knows no inlining) and the
 * file:line of the innermost inlined frame. It takes the text start from the runtime.text
 * symbol, so only binaries with symbols are a valid oracle: on stripped cgo builds it falls
 * back to .text's address and is off by the C code in front of Go's text. */
static void addr2line_compare(struct test_ctx *t, const struct pclntab *p, const char *path)
{
	char in[] = "/tmp/heapscope-a2l-XXXXXX", cmd[700], name[1024], fl[1024];
	uint64_t pcs[NSAMPLE];
	int fd, checked = 0, inlined = 0;
	FILE *f, *o;

	sample_pcs(p, pcs, NSAMPLE);
	fd = mkstemp(in);
	if (!ASSERT_TRUE(t, fd >= 0, "mkstemp"))
		return;
	o = fdopen(fd, "w");
	for (int i = 0; i < NSAMPLE; i++)
		fprintf(o, "%" PRIx64 "\n", pcs[i]);
	fclose(o);
	snprintf(cmd, sizeof(cmd), GO_NATIVE " tool addr2line '%s' < %s", path, in);
	f = popen(cmd, "r");
	if (!ASSERT_OK_PTR(t, f, cmd))
		goto cleanup;
	for (int i = 0; i < NSAMPLE && fgets(name, sizeof(name), f) && fgets(fl, sizeof(fl), f);
	     i++) {
		struct go_frame fr[32];
		char want[1100];
		const char *file;
		int n, line;

		name[strcspn(name, "\n")] = fl[strcspn(fl, "\n")] = '\0';
		n = pclntab__frames(p, pcs[i], fr, 32);
		if (!ASSERT_TRUE(t, n >= 1, "frames"))
			break;
		/* Padding after a function's last instruction has no line; gosym says "?:0". */
		if (!fr[0].file) {
			ASSERT_TRUE(t, !strcmp(fl, "?:0") || !strcmp(fl, ":-1"), "no-line pc");
			continue;
		}
		snprintf(want, sizeof(want), "%s:%d", fr[0].file, fr[0].line);
		if (!ASSERT_STREQ(t, fr[n - 1].func, name, path) ||
		    !ASSERT_STREQ(t, want, fl, path) ||
		    !ASSERT_EQ(t, fr[n - 1].inlined, 0, "outer"))
			break;
		if (ASSERT_OK(t, pclntab__file_line(p, pcs[i], &file, &line), "file_line")) {
			ASSERT_TRUE(t, file == fr[n - 1].file && line == fr[n - 1].line,
				    "file_line is the physical frame");
		}
		inlined += n > 1;
		checked++;
	}
	pclose(f);
	ASSERT_TRUE(t, checked > NSAMPLE * 3 / 4, "addr2line answered most pcs");
	if (getenv("VERBOSE"))
		printf("  %s: %d pcs checked, %d inside inlined code\n", path, checked, inlined);
cleanup:
	unlink(in);
}

static void test_addr2line(struct test_ctx *t)
{
	if (!need_fixtures(t) || !need_go(t))
		return;
	for_each_fixture(t, sym_variants, NELEM(sym_variants), addr2line_compare);
}

/* Up to n pcs that pclntab says are inside inlined code, one per function, spread over the
 * table. Inline trees are what DWARF is compared for; plain pcs are addr2line_compare's. */
static int inlined_pcs(const struct pclntab *p, uint64_t *pcs, int n)
{
	size_t nf = pclntab__nfuncs(p);
	struct go_frame fr[32];
	struct go_func f;
	int k = 0;

	for (size_t i = 0; i < nf && k < n; i++) {
		if (pclntab__func_at(p, (i * 7919) % nf, &f))
			continue;
		for (uint64_t pc = f.entry; pc < f.end; pc += 3) {
			if (pclntab__frames(p, pc, fr, 32) > 1) {
				pcs[k++] = pc;
				break;
			}
		}
	}
	return k;
}

/* Go 1.20's pclntab abbreviates a generic instantiation's type arguments to "[...]" where its
 * DWARF spells out the shape ("Pointer[go.shape.interface {}]"); later versions agree. Compare
 * with every bracketed argument list folded to "[...]". */
static void fold_type_args(const char *in, char *out, size_t len)
{
	size_t o = 0;
	int depth = 0;

	for (; *in && o + 5 < len; in++) {
		if (*in == '[' && depth++ == 0) {
			memcpy(out + o, "[...]", 5);
			o += 5;
		} else if (*in == ']' && depth > 0) {
			depth--;
		} else if (!depth) {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

static bool same_func_name(const char *pclntab_name, const char *dwarf_name)
{
	char a[1024], b[1024];

	if (!strcmp(pclntab_name, dwarf_name))
		return true;
	fold_type_args(pclntab_name, a, sizeof(a));
	fold_type_args(dwarf_name, b, sizeof(b));
	return !strcmp(a, b);
}

/* llvm-addr2line -f -i walks DWARF's inlined-subroutine tree: a (function, file:line) pair per
 * frame, innermost first, i.e. what pclntab__frames must build from the inline tree. This is
 * what checks the funcdata base (gofunc) and both inlinedCall layouts. (GNU addr2line would do,
 * but cannot read the DWARF 5 line tables Go 1.25+ writes.) */
static void dwarf_compare(struct test_ctx *t, const struct pclntab *p, const char *tool,
			  const char *path)
{
	char in[] = "/tmp/heapscope-dw-XXXXXX", cmd[700], line[1024], rows[64][1024];
	int fd, cur = -1, nrows = 0, compared = 0, npcs;
	uint64_t pcs[NSAMPLE];
	FILE *f, *o;

	npcs = inlined_pcs(p, pcs, NSAMPLE);
	if (!ASSERT_TRUE(t, npcs > 20, "pcs inside inlined code"))
		return;
	fd = mkstemp(in);
	if (!ASSERT_TRUE(t, fd >= 0, "mkstemp"))
		return;
	o = fdopen(fd, "w");
	for (int i = 0; i < npcs; i++)
		fprintf(o, "0x%" PRIx64 "\n", pcs[i]);
	fprintf(o, "0x0\n");	/* flushes the last group through the same path */
	fclose(o);
	/* stderr: llvm-addr2line complains when we stop reading at the first mismatch */
	snprintf(cmd, sizeof(cmd), "%s -f -a -i -e '%s' < %s 2>/dev/null", tool, path, in);
	f = popen(cmd, "r");
	if (!ASSERT_OK_PTR(t, f, cmd))
		goto cleanup;
	while (fgets(line, sizeof(line), f)) {
		struct go_frame fr[32];
		bool ok;
		int n;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0x", 2) || nrows % 2) {
			/* " (discriminator N)" suffixes; Go's DWARF says "./<autogenerated>". */
			if (nrows % 2)
				line[strcspn(line, " ")] = '\0';
			if (nrows < 64)
				snprintf(rows[nrows++], sizeof(rows[0]), "%s",
					 strncmp(line, "./<", 3) ? line : line + 2);
			continue;
		}
		if (cur < 0 || cur >= npcs)
			goto next;
		n = pclntab__frames(p, pcs[cur], fr, 32);
		/* Go 1.19 emits no inline DWARF for autogenerated wrappers (runtime.(*T).Error
		 * inlining T.Error): pclntab has the frame, DWARF does not. Not comparable. */
		if (n > 0 && fr[n - 1].file && !strcmp(fr[n - 1].file, "<autogenerated>"))
			goto next;
		ok = n == nrows / 2;
		for (int k = 0; ok && k < n; k++) {
			char want[1100];

			snprintf(want, sizeof(want), "%s:%d", fr[k].file ? fr[k].file : "??",
				 fr[k].line);
			ok = same_func_name(fr[k].func, rows[2 * k]) && !strcmp(want, rows[2 * k + 1]);
		}
		if (!ok) {
			FAILF(t, "%s: pc %" PRIx64 ": %d frames, DWARF %d; %s %s:%d vs %s %s", path,
			      pcs[cur], n, nrows / 2, fr[0].func, fr[0].file, fr[0].line,
			      rows[0], rows[1]);
			break;
		}
		compared++;
next:
		cur++;
		nrows = 0;
	}
	pclose(f);
	ASSERT_TRUE(t, compared > npcs * 3 / 4, "compared most inlined pcs with DWARF");
	if (getenv("VERBOSE"))
		printf("  %s: %d of %d inlined pcs match DWARF\n", path, compared, npcs);
cleanup:
	unlink(in);
}

static void dwarf_check(struct test_ctx *t, const struct pclntab *p, const char *path)
{
	dwarf_compare(t, p, "llvm-addr2line", path);
}

static void test_inline_dwarf(struct test_ctx *t)
{
	if (!need_fixtures(t))
		return;
	if (system("llvm-addr2line --version >/dev/null 2>&1")) {
		SKIP(t, "llvm-addr2line not installed (the DWARF oracle for inline chains)");
		return;
	}
	for_each_fixture(t, sym_variants, NELEM(sym_variants), dwarf_check);
}

/* pcsp: 0 at every entry (nothing pushed yet), and a real frame inside main.allocSmall. */
static void check_sp(struct test_ctx *t, const struct pclntab *p, const char *path)
{
	struct go_func f;
	int d, max = 0;

	for (size_t i = 0; i < pclntab__nfuncs(p); i++) {
		if (pclntab__func_at(p, i, &f) || pclntab__sp_delta(p, f.entry, &d))
			continue;
		if (!ASSERT_EQ(t, d, 0, f.name))
			break;
	}
	if (!ASSERT_OK(t, pclntab__find_name(p, "main.allocSmall", &f), path))
		return;
	for (uint64_t pc = f.entry; pc < f.end; pc++) {
		if (pclntab__sp_delta(p, pc, &d))
			continue;
		ASSERT_TRUE(t, d >= 0 && d % 8 == 0, "sp delta word multiple");
		max = d > max ? d : max;
	}
	ASSERT_TRUE(t, max >= 16, "main.allocSmall has a frame");
	ASSERT_EQ(t, pclntab__sp_delta(p, pclntab__text_start(p) - 1, &d), -ENOENT, "no func");
}

static void test_sp_delta(struct test_ctx *t)
{
	if (!need_fixtures(t))
		return;
	for_each_fixture(t, all_variants, NELEM(all_variants), check_sp);
}

/* Copy a fixture and patch its pclntab magic to an older layout's: must be ENOTSUP. */
static void test_reject_old_magic(struct test_ctx *t)
{
	char src[512], dst[] = "/tmp/heapscope-old-XXXXXX";
	struct goelf_section sec;
	struct goelf *g = NULL;
	struct pclntab *p;
	uint32_t old = 0xfffffffa;
	int fd;

	if (!need_fixtures(t))
		return;
	fixture_path(src, sizeof(src), versions[nversions - 1], "plain");
	if (!copy_to_temp(t, src, dst))
		goto cleanup;
	g = goelf__open(dst);
	if (!ASSERT_OK_PTR(t, g, dst) ||
	    !ASSERT_OK(t, goelf__section(g, ".gopclntab", &sec), ".gopclntab"))
		goto cleanup;
	fd = open(dst, O_WRONLY);
	ASSERT_TRUE(t, fd >= 0 && pwrite(fd, &old, 4, sec.offset) == 4, "patch magic");
	close(fd);
	goelf__close(g);
	g = goelf__open(dst);
	errno = 0;
	p = pclntab__open(g);
	ASSERT_TRUE(t, !p && errno == ENOTSUP, "old magic rejected with ENOTSUP");
	pclntab__close(p);
	goelf__close(g);
	/* A C binary has no pclntab at all. */
	g = goelf__open("/bin/true");
	if (g) {
		errno = 0;
		p = pclntab__open(g);
		ASSERT_TRUE(t, !p && errno == ENOENT, "/bin/true: ENOENT");
		pclntab__close(p);
	}
cleanup:
	goelf__close(g);
	unlink(dst);
}

/* 100k random pcs across the text: every answer is a frame list whose physical (last) frame is
 * the function find_pc names, or -ENOENT; nothing reads out of bounds (speed is measured by
 * scripts/bench-overhead.sh's attach latency, not here). */
static void test_random_pcs(struct test_ctx *t)
{
	struct go_func f, l, want;
	struct go_frame fr[16];
	struct pclntab *p = NULL;
	struct goelf *g;
	char path[512];
	uint64_t x = 88172645463325252ull;
	int answered = 0;

	if (!need_fixtures(t))
		return;
	fixture_path(path, sizeof(path), versions[nversions - 1], "plain");
	g = goelf__open(path);
	if (!ASSERT_OK_PTR(t, g, path))
		return;
	p = pclntab__open(g);
	if (!ASSERT_OK_PTR(t, p, path))
		goto cleanup;
	pclntab__func_at(p, 0, &f);
	pclntab__func_at(p, pclntab__nfuncs(p) - 1, &l);
	for (int i = 0; i < 100000; i++) {
		uint64_t pc;
		int n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pc = f.entry + x % (l.end - f.entry);
		n = pclntab__frames(p, pc, fr, 16);
		if (n == -ENOENT)
			continue;
		if (!ASSERT_TRUE(t, n >= 1 && n <= 16, "frame count") ||
		    !ASSERT_OK(t, pclntab__find_pc(p, pc, &want), "find_pc") ||
		    !ASSERT_STREQ(t, fr[n - 1].func, want.name, "physical frame"))
			break;
		answered++;
	}
	ASSERT_TRUE(t, answered > 90000, "most pcs inside text resolve");
cleanup:
	pclntab__close(p);
	goelf__close(g);
}

/* A buffer smaller than a pc's inline chain keeps both ends: the innermost frames (the site)
 * and the outer ones, the physical function last (issue 10: outer frames were dropped). */
static void test_deep_inline_keeps_outer(struct test_ctx *t)
{
	struct go_frame all[64], cut[3];
	struct go_func f, l;
	struct pclntab *p = NULL;
	struct goelf *g;
	char path[512];
	int deepest = 0, checked = 0;

	if (!need_fixtures(t))
		return;
	fixture_path(path, sizeof(path), versions[nversions - 1], "plain");
	g = goelf__open(path);
	if (!ASSERT_OK_PTR(t, g, path))
		return;
	p = pclntab__open(g);
	if (!ASSERT_OK_PTR(t, p, path))
		goto cleanup;
	pclntab__func_at(p, 0, &f);
	pclntab__func_at(p, pclntab__nfuncs(p) - 1, &l);
	for (uint64_t pc = f.entry; pc < l.end && checked < 200; pc += 3) {
		int n = pclntab__frames(p, pc, all, 64), m;

		if (n < 4)
			continue;
		if (n > deepest)
			deepest = n;
		m = pclntab__frames(p, pc, cut, 3);
		if (!ASSERT_EQ(t, m, 3, "truncated count") ||
		    !ASSERT_STREQ(t, cut[0].func, all[0].func, "innermost kept") ||
		    !ASSERT_STREQ(t, cut[1].func, all[n - 2].func, "outer inlined kept") ||
		    !ASSERT_STREQ(t, cut[2].func, all[n - 1].func, "physical function kept") ||
		    !ASSERT_TRUE(t, !cut[2].inlined && cut[1].inlined, "inlined flags"))
			break;
		checked++;
	}
	ASSERT_TRUE(t, checked > 0, "pcs with an inline chain of 4 or more frames exist");
cleanup:
	pclntab__close(p);
	goelf__close(g);
}

int main(void)
{
	load_versions();
	RUN(test_open_all);
	RUN(test_table_shape);
	RUN(test_nm_entries);
	RUN(test_stripped_twins);
	RUN(test_addr2line);
	RUN(test_inline_dwarf);
	RUN(test_sp_delta);
	RUN(test_reject_old_magic);
	RUN(test_random_pcs);
	RUN(test_deep_inline_keeps_outer);
	return harness_done();
}
