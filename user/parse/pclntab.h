/* SPDX-License-Identifier: GPL-2.0 */
/* Go .gopclntab reader (Go 1.18+ layouts, magics 0xfffffff0/0xfffffff1). Pure parser. */
#ifndef __PCLNTAB_H
#define __PCLNTAB_H

#include <stdint.h>
#include <stddef.h>
#include "goelf.h"

struct pclntab;

struct go_func {
	uint64_t entry;		/* link-time virtual address of the first instruction */
	uint64_t end;		/* entry of the next function (exclusive) */
	const char *name;	/* "runtime.mallocgc", points into the table */
	uint32_t index;		/* position in the sorted function table */
};

/* One frame of a PC after inline expansion; innermost first. */
struct go_frame {
	const char *func;	/* function name (inlined callee for inlined frames) */
	const char *file;	/* NULL when unknown */
	int line;		/* 0 when unknown */
	int inlined;		/* 1 if this frame was inlined into the next one */
};

/* Locate .gopclntab (section .gopclntab, .data.rel.ro.gopclntab, or a magic scan of read-only
 * data), check the header, and index it. text start comes from the header, or from the .text
 * section when the header stores 0 (Go 1.26+). NULL and errno (ENOENT: no pclntab;
 * ENOTSUP: pre-1.18 layout). */
struct pclntab *pclntab__open(const struct goelf *g);
void pclntab__close(struct pclntab *t);

size_t pclntab__nfuncs(const struct pclntab *t);
uint64_t pclntab__text_start(const struct pclntab *t);
uint32_t pclntab__magic(const struct pclntab *t);
/* i-th function in address order. 0 or -ERANGE. */
int pclntab__func_at(const struct pclntab *t, size_t i, struct go_func *f);
/* Function containing vaddr. 0 or -ENOENT. */
int pclntab__find_pc(const struct pclntab *t, uint64_t vaddr, struct go_func *f);
/* Function by exact name (first match). 0 or -ENOENT. */
int pclntab__find_name(const struct pclntab *t, const char *name, struct go_func *f);
/* file:line of the outermost (physical) function at vaddr. 0 or -ENOENT. */
int pclntab__file_line(const struct pclntab *t, uint64_t vaddr, const char **file, int *line);
/* Expand vaddr into frames, innermost (deepest inlined) first, physical function last.
 * Returns the number of frames written (<= max), or -ENOENT. */
int pclntab__frames(const struct pclntab *t, uint64_t vaddr, struct go_frame *frames, int max);
/* SP delta (bytes) at vaddr from the function's pcsp table. 0 or -ENOENT. */
int pclntab__sp_delta(const struct pclntab *t, uint64_t vaddr, int *delta);

#endif /* __PCLNTAB_H */
