// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: .gopclntab of any ELF image. After pclntab__open, every query heapscope makes
 * runs on a bounded sample of the functions the table names (the first, the last, and evenly
 * spaced ones between): a full walk would make one input of a large binary take seconds and
 * starve the mutator. Each answer is checked against what the API promises. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "goelf.h"
#include "pclntab.h"

#define NSAMPLE	   48	/* functions queried per input */
#define NFIND_NAME 4	/* find_name is a linear scan: only a few */
#define MAX_FRAMES 8

static volatile size_t sink;

static void check_pc(const struct pclntab *t, uint64_t pc)
{
	struct go_frame frames[MAX_FRAMES];
	struct go_func f;
	const char *file;
	int n, line, delta;

	if (!pclntab__find_pc(t, pc, &f)) {
		if (pc < f.entry || (f.end > f.entry && pc >= f.end))
			__builtin_trap();
		if (f.name)
			sink = strlen(f.name);
	}
	n = pclntab__frames(t, pc, frames, MAX_FRAMES);
	if (n > MAX_FRAMES)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		if (frames[i].func)
			sink = strlen(frames[i].func);
		if (frames[i].file)
			sink = strlen(frames[i].file);
	}
	/* A one-frame buffer still gets a frame, never a write past it. */
	n = pclntab__frames(t, pc, frames, 1);
	if (n > 1)
		__builtin_trap();
	if (!pclntab__file_line(t, pc, &file, &line) && file)
		sink = strlen(file) + line;
	if (!pclntab__sp_delta(t, pc, &delta))
		sink = delta;
}

static void check_func(const struct pclntab *t, size_t i, int *find_names)
{
	struct go_func f, by_name;

	if (pclntab__func_at(t, i, &f))
		return;
	if (f.index != i)
		__builtin_trap();
	if (f.name) {
		sink = strlen(f.name);
		if ((*find_names)++ < NFIND_NAME && !pclntab__find_name(t, f.name, &by_name) &&
		    strcmp(by_name.name, f.name))
			__builtin_trap();
	}
	check_pc(t, f.entry);
	if (f.end > f.entry) {
		check_pc(t, f.entry + (f.end - f.entry) / 2);
		check_pc(t, f.end - 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct goelf *g = goelf__open_mem(data, size);
	struct pclntab *t;
	struct go_func f;
	size_t n;
	int find_names = 0;

	if (!g)
		return 0;
	t = pclntab__open(g);
	if (!t)
		goto cleanup;
	n = pclntab__nfuncs(t);
	sink = pclntab__magic(t) + pclntab__text_start(t);
	if (n <= NSAMPLE) {
		for (size_t i = 0; i < n; i++)
			check_func(t, i, &find_names);
	} else {
		for (size_t k = 0; k < NSAMPLE; k++)
			check_func(t, k * (n - 1) / (NSAMPLE - 1), &find_names);
	}
	if (!pclntab__func_at(t, n, &f))
		__builtin_trap();	/* past the end is -ERANGE */
	check_pc(t, 0);
	check_pc(t, UINT64_MAX);
	if (pclntab__find_name(t, "runtime.mallocgc", &f) == 0 && strcmp(f.name, "runtime.mallocgc"))
		__builtin_trap();
	pclntab__close(t);
cleanup:
	goelf__close(g);
	return 0;
}
