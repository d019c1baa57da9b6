// SPDX-License-Identifier: GPL-2.0
/* Probe planning on every fixture build, through the same target fields a live session uses
 * (ELF, pclntab, Go version): the mark-assist site (probes__plan_assist) is found in every
 * version and build mode, its file offset holds the conditional jump, its registers and
 * p.gcAssistTime offset are the version's, and a wrong layout offset turns it off. */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/types.h>
#include "harness.h"
#include "heapscope.h"
#include "buildinfo.h"
#include "goruntime.h"
#include "probes.h"

static const char *const variants[] = { "goalloc-plain", "goalloc-stripped", "goalloc-pie",
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
		for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", fixtures_dir(), e->d_name,
				 variants[i]);
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
	RUN(test_assist_plan);
	return harness_done();
}
