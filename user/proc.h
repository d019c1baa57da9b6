/* SPDX-License-Identifier: GPL-2.0 */
/* The few things heapscope needs from /proc about its target. */
#ifndef __PROC_H
#define __PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* 0, -ESRCH (no such process), -EPERM. */
int proc__check(pid_t pid);
/* Path of the executable as the target sees it (may not exist in our mount namespace). */
int proc__exe_path(pid_t pid, char *buf, size_t len);
/* Load bias of the main executable: run-time address = link-time address + bias. The mapping
 * with file offset `file_offset` and link-time address `vaddr` tells it. 0 or -ENOENT. */
int proc__load_bias(pid_t pid, uint64_t file_offset, uint64_t vaddr, uint64_t *bias);
/* Read/write target memory through /proc/PID/mem. 0 or -errno. */
int proc__read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);
int proc__write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len);
/* utime+stime of the whole process in nanoseconds. 0 or -errno. */
int proc__cpu_ns(pid_t pid, uint64_t *ns);
/* Process start time since boot, in ns (field 22 of /proc/PID/stat). 0 or -errno. */
int proc__start_ns(pid_t pid, uint64_t *ns);

#endif /* __PROC_H */
