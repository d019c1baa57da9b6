/* SPDX-License-Identifier: GPL-2.0 */
/* ELF access for Go binaries: sections, PT_LOAD mapping, symbols when present. Pure: no /proc. */
#ifndef __GOELF_H
#define __GOELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct goelf;

struct goelf_section {
	uint64_t addr;		/* sh_addr (link-time virtual address) */
	uint64_t offset;	/* sh_offset in the file */
	uint64_t size;
	const uint8_t *data;	/* whole section contents, valid until goelf__close() */
};

struct goelf_segment {
	uint32_t type;		/* PT_LOAD... */
	uint32_t flags;		/* PF_R | PF_W | PF_X */
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
	const uint8_t *data;	/* the filesz bytes in the file; NULL when they run past its end */
};

/* Open a Go (or any) ELF64 little-endian binary. NULL and errno on failure
 * (ENOEXEC: not ELF64 x86-64/aarch64). */
struct goelf *goelf__open(const char *path);
/* The same over an image already in memory (no copy): the caller keeps image readable until
 * goelf__close(). Touches no file, so parsers can be fed any bytes. */
struct goelf *goelf__open_mem(const void *image, size_t size);
void goelf__close(struct goelf *g);

/* 0 or -ENOENT. */
int goelf__section(const struct goelf *g, const char *name, struct goelf_section *sec);
/* Program headers, as indexed at open. goelf__segment: 0 or -ERANGE. */
size_t goelf__nsegments(const struct goelf *g);
int goelf__segment(const struct goelf *g, size_t i, struct goelf_segment *seg);
/* Virtual address -> file offset through PT_LOAD segments (what uprobes take). 0 or -ENOENT. */
int goelf__vaddr_to_offset(const struct goelf *g, uint64_t vaddr, uint64_t *offset);
/* File offset -> virtual address. 0 or -ENOENT. */
int goelf__offset_to_vaddr(const struct goelf *g, uint64_t offset, uint64_t *vaddr);
/* Read len bytes at a virtual address from the file image. 0, -ENOENT (not in a file-backed
 * segment) or -EFAULT (crosses its end). */
int goelf__read_vaddr(const struct goelf *g, uint64_t vaddr, void *buf, size_t len);
/* Symbol from .symtab when the binary is not stripped. 0, -ENOENT (no such symbol or no .symtab). */
int goelf__symbol(const struct goelf *g, const char *name, uint64_t *addr, uint64_t *size);
bool goelf__has_symtab(const struct goelf *g);
bool goelf__is_pie(const struct goelf *g);	/* ET_DYN */
uint16_t goelf__machine(const struct goelf *g);	/* EM_X86_64 or EM_AARCH64 */
const char *goelf__path(const struct goelf *g);	/* "(memory)" after goelf__open_mem */

#endif /* __GOELF_H */
