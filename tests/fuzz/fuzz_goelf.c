// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: goelf over any bytes. Opens the input as an ELF image and calls every
 * accessor on what the parsers ask for; the section and segment bytes handed out are touched at
 * both ends so that ASan sees any pointer past the input. */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "goelf.h"

static const char *const sections[] = {
	".text",      ".rodata", ".gopclntab",   ".data.rel.ro.gopclntab", ".go.buildinfo",
	".go.module", ".data",   ".data.rel.ro", ".noptrdata",		   ".bss",
	".symtab",    ".strtab", ".shstrtab",    "",
};
static const char *const symbols[] = { "runtime.mallocgc", "runtime.text", "main.main", "" };

#define MAX_LOAD_LOOKUPS 16 /* each lookup walks every program header: a few suffice */

static volatile uint8_t sink;

/* Section or segment bytes handed out: in place, inside the input, never past its end. */
static void touch_bytes(const uint8_t *data, size_t size, const uint8_t *p, uint64_t n)
{
	if (!p || !n)
		return;
	if (p < data || n > size || p - data > (ptrdiff_t)(size - n))
		__builtin_trap();
	sink = p[0];
	sink = p[n - 1];
}

static void touch_vaddr(const struct goelf *g, uint64_t vaddr, uint64_t len)
{
	uint8_t buf[64];
	uint64_t off, back;

	if (!goelf__vaddr_to_offset(g, vaddr, &off) && !goelf__offset_to_vaddr(g, off, &back))
		sink = (uint8_t)back;
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (!goelf__read_vaddr(g, vaddr, buf, len) && len)
		sink = buf[len - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct goelf *g = goelf__open_mem(data, size);
	uint64_t addr, symsize;

	if (!g)
		return 0;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		struct goelf_section s;

		if (goelf__section(g, sections[i], &s))
			continue;
		touch_bytes(data, size, s.data, s.size);
		touch_vaddr(g, s.addr, s.size);
		if (s.size)
			touch_vaddr(g, s.addr + s.size - 1, 1);
	}
	for (size_t i = 0, loads = 0; i < goelf__nsegments(g); i++) {
		struct goelf_segment seg;

		if (goelf__segment(g, i, &seg))
			__builtin_trap();
		touch_bytes(data, size, seg.data, seg.filesz);
		if (seg.type == PT_LOAD && loads++ < MAX_LOAD_LOOKUPS)
			touch_vaddr(g, seg.vaddr, seg.filesz);
	}
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (!goelf__symbol(g, symbols[i], &addr, &symsize))
			touch_vaddr(g, addr, symsize);
	}
	if (goelf__segment(g, goelf__nsegments(g), &(struct goelf_segment){ 0 }) != -ERANGE)
		__builtin_trap();
	sink = goelf__has_symtab(g) + goelf__is_pie(g) + goelf__machine(g) + *goelf__path(g);
	goelf__close(g);
	return 0;
}
