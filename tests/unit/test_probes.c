// SPDX-License-Identifier: GPL-2.0
/* probes: every planned site in every fixture is an instruction start of the kind its spec asks
 * for, checked against objdump and the file's own bytes; other architectures are refused. A
 * breakpoint one byte off corrupts the target, so this is checked on every binary we build.
 * The mark-assist site (probes__plan_assist) is found in every version and build mode through
 * the same target fields a live session uses, its registers and p.gcAssistTime offset are the
 * version's, and a wrong layout offset turns it off. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/types.h>
#include "harness.h"
#include "heapscope.h"
#include "buildinfo.h"
#include "goelf.h"
#include "goruntime.h"
#include "pclntab.h"
#include "probes.h"

static const char *const variants[] = { "plain", "stripped", "pie", "cgo", "pprof", "cgo-syms" };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool open_image(struct test_ctx *t, const char *path, struct target *tg)
{
	memset(tg, 0, sizeof(*tg));
	tg->exe = path;
	tg->elf = goelf__open(path);
	if (!ASSERT_OK_PTR(t, tg->elf, path))
		return false;
	tg->pcln = pclntab__open(tg->elf);
	if (!ASSERT_OK_PTR(t, tg->pcln, path))
		return false;
	return ASSERT_OK(t, buildinfo__read(tg->elf, &tg->ver), path);
}

static void close_image(struct target *tg)
{
	pclntab__close(tg->pcln);
	goelf__close(tg->elf);
}

/* objdump's instruction starts in [entry, end): an oracle independent of user/parse/x86.c. */
static bool objdump_has_insn(struct test_ctx *t, const char *path, uint64_t entry, uint64_t end,
			     uint64_t vaddr)
{
	char cmd[1200], line[512];
	bool found = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "objdump -d --no-show-raw-insn --start-address=0x%llx --stop-address=0x%llx '%s'",
		 (unsigned long long)entry, (unsigned long long)end, path);
	p = popen(cmd, "r");
	if (!ASSERT_OK_PTR(t, p, "popen objdump"))
		return false;
	while (fgets(line, sizeof(line), p)) {
		char *colon = strchr(line, ':');
		char *endp;
		unsigned long long a;

		if (!colon || line[0] != ' ')
			continue;
		a = strtoull(line, &endp, 16);
		if (endp == colon && a == vaddr)
			found = true;
	}
	pclose(p);
	return found;
}

static void check_sites(struct test_ctx *t, const char *path, const struct probe_site *s,
			size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char what[700];

	if (!ASSERT_TRUE(t, fd >= 0, path))
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t op[2] = {};

		snprintf(what, sizeof(what), "%s %s+0x%llx", path, s[i].func,
			 (unsigned long long)(s[i].vaddr - s[i].entry));
		if (!ASSERT_EQ(t, pread(fd, op, sizeof(op), (off_t)s[i].file_offset),
			       (ssize_t)sizeof(op), what))
			break;
		if (s[i].cookie & HS_COOKIE_AT_BRANCH)
			ASSERT_TRUE(t, op[0] == 0x76 || (op[0] == 0x0f && op[1] == 0x86), what);
		/* decoded from the function's entry, the site must be one objdump stops at */
		ASSERT_TRUE(t, objdump_has_insn(t, path, s[i].entry, s[i].vaddr + 16, s[i].vaddr),
			    what);
	}
	close(fd);
}

static void test_sites_on_instruction_starts(struct test_ctx *t)
{
	DIR *d = opendir(fixtures_dir());
	struct dirent *e;
	int checked = 0;

	if (!d) {
		SKIP(t, "no fixtures (make fixtures)");
		return;
	}
	while ((e = readdir(d)) && !t->failed) {
		if (strncmp(e->d_name, "go", 2))
			continue;
		for (size_t k = 0; k < NELEM(variants) && !t->failed; k++) {
			struct probe_site *sites = NULL;
			const char *what = NULL;
			struct target tg;
			char path[600];
			size_t n = 0;

			snprintf(path, sizeof(path), "%s/%s/goalloc-%s", fixtures_dir(), e->d_name,
				 variants[k]);
			if (access(path, R_OK))
				continue;
			if (open_image(t, path, &tg)) {
				if (ASSERT_OK(t, probes__plan(&tg, MODE_SAMPLED, &sites, &n), path))
					check_sites(t, path, sites, n);
				free(sites);
				sites = NULL;
				if (ASSERT_OK(t, probes__plan(&tg, MODE_EXACT, &sites, &n), path))
					check_sites(t, path, sites, n);
				free(sites);
				sites = NULL;
				/* startCycle, gcMarkTermination, startTheWorldWithSema and
				 * (<= 1.21) stopTheWorldWithSema: once a cycle or a stop, on an
				 * emulated branch, never a single-stepped instruction */
				if (ASSERT_OK(t, probes__plan_gc(&tg, &sites, &n, &what), path) &&
				    ASSERT_EQ(t, n, tg.ver.minor <= 21 ? 4u : 3u, "GC sites"))
					check_sites(t, path, sites, n);
				for (size_t i = 0; i < n; i++)
					ASSERT_TRUE(t, sites[i].cookie & HS_COOKIE_AT_BRANCH, sites[i].func);
				free(sites);
				checked++;
			}
			close_image(&tg);
		}
	}
	closedir(d);
	if (!t->failed && !checked)
		SKIP(t, "no fixture binaries (make fixtures)");
}

/* Sites come from decoding x86-64 code: a binary for another architecture parses (the tables
 * are the same) but gets no probe at all. */
static void test_other_arch_refused(struct test_ctx *t)
{
	struct probe_site *sites = (void *)1;
	const char *what = NULL;
	struct go_func f;
	struct target tg;
	char path[600];
	size_t n = 1;

	snprintf(path, sizeof(path), "%s/arm64/goalloc-plain", fixtures_dir());
	if (access(path, R_OK)) {
		SKIP(t, "no arm64 fixture (make fixtures)");
		return;
	}
	if (open_image(t, path, &tg)) {
		ASSERT_EQ(t, goelf__machine(tg.elf), EM_AARCH64, "machine");
		ASSERT_OK(t, pclntab__find_name(tg.pcln, "runtime.profilealloc", &f), "pclntab");
		ASSERT_EQ(t, probes__plan(&tg, MODE_SAMPLED, &sites, &n), -ENOTSUP, "plan");
		ASSERT_TRUE(t, !sites && !n, "no sites");
		sites = (void *)1;
		ASSERT_EQ(t, probes__plan_gc(&tg, &sites, &n, &what), -ENOTSUP, "plan_gc");
		ASSERT_TRUE(t, !sites && !n && what, "no GC sites");
	}
	close_image(&tg);
}

/* Every build of both fixtures the mark-assist site must be found in. */
static const char *const assist_variants[] = { "goalloc-plain", "goalloc-stripped", "goalloc-pie",
					"goalloc-cgo", "goalloc-cgo-syms", "goalloc-pprof",
					"goassist-stripped", "goassist-pie", "goassist-cgo" };

/* The two bytes at a file offset. */
static int file_bytes(const char *path, uint64_t off, uint8_t b[2])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, b, 2, (off_t)off);
	close(fd);
	return n == 2 ? 0 : -EIO;
}

static void check_binary(struct test_ctx *t, const char *path, int *nchecked)
{
	struct target tg = { .exe = path };
	struct assist_plan a;
	struct go_layout l;
	const char *why = NULL;
	char what[1400];
	uint8_t b[2];
	int err;

	tg.elf = goelf__open(path);
	if (!tg.elf)
		return;	/* not built: the caller counts what it checked */
	tg.pcln = pclntab__open(tg.elf);
	snprintf(what, sizeof(what), "%s", path);
	if (!ASSERT_OK_PTR(t, tg.pcln, what) ||
	    !ASSERT_OK(t, buildinfo__read(tg.elf, &tg.ver), what) ||
	    !ASSERT_OK(t, goruntime__layout(&tg.ver, &l), what))
		goto cleanup;
	err = probes__plan_assist(&tg, l.p_gc_assist_time, &a, &why);
	snprintf(what, sizeof(what), "%s: %s", path, why ? why : "");
	if (!ASSERT_OK(t, err, what))
		goto cleanup;
	ASSERT_EQ(t, a.dur_reg, tg.ver.minor <= 20 ? 3 : 2, what);	/* RBX, then RDX */
	ASSERT_EQ(t, a.p_reg, 0, what);					/* RAX */
	ASSERT_EQ(t, a.p_assist_off, l.p_gc_assist_time, what);
	ASSERT_EQ(t, a.site.cookie, HS_PROBE_GC_ASSIST, what);
	ASSERT_STREQ(t, a.site.func, "runtime.gcAssistAlloc1", what);
	ASSERT_TRUE(t, a.site.vaddr > a.site.entry, what);
	/* what the uprobe is attached at: JNE rel8 or rel32 */
	if (ASSERT_OK(t, file_bytes(path, a.site.file_offset, b), what))
		ASSERT_TRUE(t, b[0] == 0x75 || (b[0] == 0x0f && b[1] == 0x85), what);
	/* the layout disagrees: off, with the reason */
	why = NULL;
	ASSERT_EQ(t, probes__plan_assist(&tg, l.p_gc_assist_time + 8, &a, &why), -EINVAL, what);
	ASSERT_TRUE(t, why && strstr(why, "p.gcAssistTime"), "why names the field");
	(*nchecked)++;
cleanup:
	pclntab__close(tg.pcln);
	goelf__close(tg.elf);
}

static void test_assist_plan(struct test_ctx *t)
{
	DIR *d = opendir(fixtures_dir());
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[1024];

		if (strncmp(e->d_name, "go1.", 4))
			continue;
		for (size_t i = 0; i < sizeof(assist_variants) / sizeof(assist_variants[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", fixtures_dir(), e->d_name,
				 assist_variants[i]);
			check_binary(t, path, &n);
		}
	}
	if (d)
		closedir(d);
	if (!n && !t->failed)
		SKIP(t, "no fixtures built (make fixtures)");
	else
		printf("  mark-assist site planned in %d fixture binaries\n", n);
}

int main(void)
{
	RUN(test_sites_on_instruction_starts);
	RUN(test_other_arch_refused);
	RUN(test_assist_plan);
	return harness_done();
}
