/* SPDX-License-Identifier: GPL-2.0 */
/* A running Go process: its binary, Go version, function table and where things are in memory. */
#ifndef __TARGET_H
#define __TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "buildinfo.h"
#include "goelf.h"
#include "pclntab.h"

struct target {
	pid_t pid;
	char exe[4096];		/* the executable's path as the target sees it */
	char exe_proc[64];	/* "/proc/PID/exe": opens the right file even inside containers */
	struct goelf *elf;
	struct pclntab *pcln;
	struct go_version ver;
	uint64_t bias;		/* run-time address = link-time address + bias (PIE) */
	uint64_t rate_vaddr;	/* link-time address of runtime.MemProfileRate, 0 if not found */
	const char *rate_how;	/* "symbol table" or "profilealloc code" */
	/* link-time address of work.tMarkTerm (work.tEnd follows), 0 if not found */
	uint64_t work_tmarkterm_vaddr;
	uint64_t start_ns;	/* process start, ns since boot */
};

/* Open the target, logging one clear line on failure. 0 or -errno:
 * -ESRCH no such process, -EACCES binary unreadable, -ENOEXEC not a Go program,
 * -ENOTSUP Go too old. */
int target__open(struct target *t, pid_t pid);
void target__close(struct target *t);
bool target__alive(const struct target *t);

/* runtime.MemProfileRate in the live process. 0 or -errno (-ENOENT: address unknown). */
int target__read_rate(const struct target *t, int64_t *rate);
int target__write_rate(const struct target *t, int64_t rate);

#endif /* __TARGET_H */
