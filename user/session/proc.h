/* SPDX-License-Identifier: GPL-2.0 */
/* A pinned handle on a target process. heapscope puts breakpoints into it and may write one word
 * of its memory, so everything it does goes through handles opened once and checked together:
 * a pidfd first (a PID that is reused later cannot be mistaken for it), the executable that was
 * running (probes attach through this open file, not through a path someone could replace), and
 * /proc/PID/mem (bound to the address space of that moment: after an exec it reads and writes
 * nothing). */
#ifndef __PROC_H
#define __PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int pidfd;		/* -1 when the kernel has no pidfd_open */
	int exefd;		/* the executable the process ran when opened */
	int memfd;		/* its /proc/PID/mem */
	bool writable;		/* memfd is O_RDWR */
	uint64_t start_ticks;	/* /proc/PID/stat starttime: with the pidfd, the process's identity */
	dev_t exe_dev;
	ino_t exe_ino;
	char exe[4096];		/* the executable's path as the target sees it (for messages) */
	char exe_fd_path[32];	/* "/proc/self/fd/N": what parsers and uprobes open */
};

/* Why proc__open failed, for one clear message. */
enum proc_err {
	PROC_OK,
	PROC_NO_SUCH,		/* no process with that PID */
	PROC_ZOMBIE,		/* exited, not reaped by its parent */
	PROC_KTHREAD,		/* a kernel thread: no executable, no user memory */
	PROC_EXITED,		/* exited while being opened */
	PROC_NO_ACCESS,		/* /proc/PID/exe or mem refused (ptrace access mode) */
	PROC_EXEC_RACE,		/* it exec'd while being opened */
	PROC_OTHER,
};

/* 0 or -errno, *why says which case. The handle is zeroed (fds -1) on failure too, so
 * proc__close() is always safe. */
int proc__open(struct proc *p, pid_t pid, bool writable, enum proc_err *why);
void proc__close(struct proc *p);

/* Is it still the process and program that proc__open pinned? 0, -ESRCH (it exited), or -ESTALE
 * (it exec'd: same PID, another program). */
int proc__same(const struct proc *p);

/* Target memory through the pinned /proc/PID/mem. 0 or -errno (-EIO: short; -ESRCH: gone). */
int proc__read(const struct proc *p, uint64_t addr, void *buf, size_t len);
/* Writes only after proc__same() says the process is the one that was opened. */
int proc__write(const struct proc *p, uint64_t addr, const void *buf, size_t len);
/* Async-signal-safe write: no identity check beyond what the pinned memfd gives (an address
 * space that has gone, by exit or exec, takes no write). */
int proc__write_raw(const struct proc *p, uint64_t addr, const void *buf, size_t len);

/* Load bias of the main executable: run-time address = link-time address + bias. The mapping of
 * the pinned executable (matched by device and inode, so a deleted or replaced file and a path
 * seen through another mount namespace still match) with file offset `file_offset` and link-time
 * address `vaddr` tells it. 0 or -ENOENT. */
int proc__load_bias(const struct proc *p, uint64_t file_offset, uint64_t vaddr, uint64_t *bias);

/* utime+stime of the whole process in nanoseconds. 0 or -errno. */
int proc__cpu_ns(pid_t pid, uint64_t *ns);
/* Process start time since boot, in ns. 0 or -errno. */
int proc__start_ns(pid_t pid, uint64_t *ns);
/* Raw starttime field (clock ticks since boot). 0 or -errno. */
int proc__start_ticks(pid_t pid, uint64_t *ticks);

/* The PID namespace a process lives in (device and inode of /proc/PID/ns/pid; pid 0 = self).
 * 0 or -errno. */
int proc__pidns(pid_t pid, uint64_t *dev, uint64_t *ino);
/* The initial PID namespace has this fixed inode number (PROC_PID_INIT_INO). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

#endif /* __PROC_H */
