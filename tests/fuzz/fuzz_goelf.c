// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: goelf over any bytes. Opens the input as an ELF image and calls every
 * accessor on what the parsers ask for; the section bytes handed out are touched at both ends so
 * that ASan sees any pointer past the input. */
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

static volatile uint8_t sink;

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
		if (s.data && s.size) {
			/* in place, inside the input: never a copy, never past its end */
			if (s.data < data || s.data + s.size > data + size)
				__builtin_trap();
			sink = s.data[0];
			sink = s.data[s.size - 1];
		}
		touch_vaddr(g, s.addr, s.size);
		if (s.size)
			touch_vaddr(g, s.addr + s.size - 1, 1);
	}
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (!goelf__symbol(g, symbols[i], &addr, &symsize))
			touch_vaddr(g, addr, symsize);
	}
	sink = goelf__has_symtab(g) + goelf__is_pie(g) + goelf__machine(g) + *goelf__path(g);
	goelf__close(g);
	return 0;
}
