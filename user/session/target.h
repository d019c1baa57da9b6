/* SPDX-License-Identifier: GPL-2.0 */
/* A running Go process: the pinned process handle, its binary, Go version, function table and
 * where things are in its memory. */
#ifndef __TARGET_H
#define __TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "buildinfo.h"
#include "goelf.h"
#include "pclntab.h"
#include "proc.h"

struct target {
	pid_t pid;
	struct proc proc;	/* pinned: every read, write and attach goes through it */
	const char *exe;	/* the executable's path as the target sees it (proc.exe) */
	struct goelf *elf;
	struct pclntab *pcln;
	struct go_version ver;
	uint64_t bias;		/* run-time address = link-time address + bias (PIE) */
	uint64_t rate_vaddr;	/* link-time address of runtime.MemProfileRate, 0 if not found */
	const char *rate_how;	/* "symbol table" or "profilealloc code" */
	/* link-time address of work.tMarkTerm (between tSweepTerm, tMark and tEnd), 0 if not
	 * found */
	uint64_t work_tmarkterm_vaddr;
	uint64_t start_ns;	/* process start, ns since boot */
};

/* Open and pin the target, logging one clear line on failure. 0 or -errno:
 * -ESRCH no such process (or it exited, or is a zombie), -EINVAL a kernel thread,
 * -EACCES binary or memory unreadable, -ENOEXEC not a Go program, -ENOTSUP unsupported Go or
 * architecture, -ESTALE it exec'd while being opened. writable: open its memory for writing. */
int target__open(struct target *t, pid_t pid, bool writable);
void target__close(struct target *t);

#endif /* __TARGET_H */
