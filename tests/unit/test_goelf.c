// SPDX-License-Identifier: GPL-2.0
/* goelf: a file and the same bytes in memory index alike; malformed images are refused. */
#include <elf.h>
#include "harness.h"
#include "goelf.h"

static void test_open_mem_matches_file(struct test_ctx *t)
{
	static const char *const secs[] = { ".text", ".gopclntab", ".go.buildinfo", ".noptrdata",
					    ".bss" };
	char path[1024];
	size_t size = 0;
	uint8_t *buf = NULL;
	struct goelf *gf = NULL, *gm = NULL;
	uint64_t off_f, off_m;

	if (!newest_fixture("pie", path, sizeof(path), NULL, 0)) {
		SKIP(t, "no goalloc-pie fixture (make fixtures)");
		return;
	}
	buf = read_whole_file(t, path, &size);
	if (!buf)
		return;
	gf = goelf__open(path);
	gm = goelf__open_mem(buf, size);
	if (!ASSERT_OK_PTR(t, gf, path) || !ASSERT_OK_PTR(t, gm, "open_mem"))
		goto cleanup;
	ASSERT_STREQ(t, goelf__path(gm), "(memory)", "path");
	ASSERT_STREQ(t, goelf__path(gf), path, "path");
	ASSERT_EQ(t, goelf__machine(gm), goelf__machine(gf), "machine");
	ASSERT_TRUE(t, goelf__is_pie(gm) && goelf__is_pie(gf), "pie");
	ASSERT_EQ(t, goelf__has_symtab(gm), goelf__has_symtab(gf), "symtab");
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		struct goelf_section sf, sm;

		if (!ASSERT_OK(t, goelf__section(gf, secs[i], &sf), secs[i]) ||
		    !ASSERT_OK(t, goelf__section(gm, secs[i], &sm), secs[i]))
			continue;
		ASSERT_EQ(t, sm.addr, sf.addr, secs[i]);
		ASSERT_EQ(t, sm.size, sf.size, secs[i]);
		ASSERT_EQ(t, sm.offset, sf.offset, secs[i]);
		/* the memory image is handed out in place, never copied */
		ASSERT_TRUE(t, sm.data ? sm.data == buf + sm.offset : !sf.data, secs[i]);
		if (sm.data && sf.data)
			ASSERT_TRUE(t, !memcmp(sm.data, sf.data, sm.size), secs[i]);
		if (!sm.data)
			continue;
		ASSERT_OK(t, goelf__vaddr_to_offset(gm, sm.addr, &off_m), secs[i]);
		ASSERT_OK(t, goelf__vaddr_to_offset(gf, sf.addr, &off_f), secs[i]);
		ASSERT_EQ(t, off_m, off_f, secs[i]);
	}
cleanup:
	goelf__close(gm);
	goelf__close(gf);
	free(buf);
}

static void test_open_mem_rejects(struct test_ctx *t)
{
	uint8_t img[sizeof(Elf64_Ehdr)] = { 0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, 1 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	errno = 0;
	ASSERT_TRUE(t, !goelf__open_mem(img, sizeof(img) - 1) && errno == ENOEXEC, "short");
	errno = 0;
	ASSERT_TRUE(t, !goelf__open_mem("not an elf file at all, not even close....", 40) &&
			       errno == ENOEXEC,
		    "text");
	/* A bare header of the wrong machine */
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	errno = 0;
	ASSERT_TRUE(t, !goelf__open_mem(img, sizeof(img)) && errno == ENOEXEC, "EM_386");
	goelf__close(NULL);
}

int main(void)
{
	RUN(test_open_mem_matches_file);
	RUN(test_open_mem_rejects);
	return harness_done();
}
