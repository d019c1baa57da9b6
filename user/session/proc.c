// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "proc.h"

#ifndef PF_KTHREAD
#define PF_KTHREAD 0x00200000
#endif

/* The fields after the command name, which may itself contain spaces and parentheses. */
struct stat_fields {
	char state;
	unsigned long flags;
	unsigned long long utime, stime, start;
};

static int read_stat(pid_t pid, struct stat_fields *f)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* state(3) ppid pgrp session tty tpgid flags(9) ... utime(14) stime(15) ... starttime(22) */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
			  "%*d %llu",
		   &f->state, &f->flags, &f->utime, &f->stime, &f->start) != 5)
		return -EINVAL;
	return 0;
}

static int pidfd_open(pid_t pid)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

/* 0 while the pidfd's process exists (zombies included: callers look at the state). */
static int pidfd_alive(int pidfd)
{
	if (pidfd < 0)
		return 0;
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0)
		return 0;
	return errno == EPERM ? 0 : -ESRCH;
}

static void zero(struct proc *p)
{
	memset(p, 0, sizeof(*p));
	p->pidfd = p->exefd = p->memfd = -1;
}

int proc__open(struct proc *p, pid_t pid, bool writable, enum proc_err *why)
{
	struct stat_fields sf, again;
	char path[64];
	struct stat st;
	ssize_t n;
	int err;

	zero(p);
	p->pid = pid;
	p->writable = writable;
	*why = PROC_NO_SUCH;
	if (pid <= 0)
		return -ESRCH;
	/* The pidfd first: whatever is opened after it is checked against it, so a PID that
	 * dies and is reused in between is noticed instead of observed. */
	p->pidfd = pidfd_open(pid);
	if (p->pidfd == -ESRCH)
		return -ESRCH;
	if (p->pidfd < 0 && p->pidfd != -ENOSYS) {
		*why = PROC_OTHER;
		return p->pidfd;
	}
	err = read_stat(pid, &sf);
	if (err) {
		*why = err == -ENOENT ? PROC_NO_SUCH : PROC_OTHER;
		return err == -ENOENT ? -ESRCH : err;
	}
	if (sf.flags & PF_KTHREAD) {
		*why = PROC_KTHREAD;
		return -EINVAL;
	}
	if (sf.state == 'Z' || sf.state == 'X') {
		*why = PROC_ZOMBIE;
		return -ESRCH;
	}
	p->start_ticks = sf.start;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, p->exe, sizeof(p->exe) - 1);
	if (n > 0)
		p->exe[n] = 0;
	/* The memory first, then the executable: an exec in between leaves memfd bound to the
	 * old address space, where reads fail (and target.c compares the two). */
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p->memfd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (p->memfd < 0)
		goto open_failed;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	p->exefd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->exefd < 0)
		goto open_failed;
	if (fstat(p->exefd, &st)) {
		err = -errno;
		*why = PROC_OTHER;
		goto cleanup;
	}
	p->exe_dev = st.st_dev;
	p->exe_ino = st.st_ino;
	snprintf(p->exe_fd_path, sizeof(p->exe_fd_path), "/proc/self/fd/%d", p->exefd);
	/* Still the same process (pidfd), and had been all along (start time)? */
	if (pidfd_alive(p->pidfd) || read_stat(pid, &again) || again.start != sf.start) {
		*why = PROC_EXITED;
		err = -ESRCH;
		goto cleanup;
	}
	*why = PROC_OK;
	return 0;
open_failed:
	err = -errno;
	if (err == -ENOENT || err == -ESRCH) {
		/* Gone meanwhile, or became a zombie (its exe and mm are released first). */
		*why = read_stat(pid, &again) || again.state == 'Z' ? PROC_EXITED : PROC_OTHER;
		err = -ESRCH;
	} else {
		*why = err == -EACCES || err == -EPERM ? PROC_NO_ACCESS : PROC_OTHER;
	}
cleanup:
	proc__close(p);
	p->pid = pid;
	return err;
}

void proc__close(struct proc *p)
{
	if (!p)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->exefd >= 0)
		close(p->exefd);
	if (p->memfd >= 0)
		close(p->memfd);
	zero(p);
}

int proc__same(const struct proc *p)
{
	struct stat_fields sf;
	char path[64];
	struct stat st;

	if (pidfd_alive(p->pidfd) || read_stat(p->pid, &sf) || sf.start != p->start_ticks ||
	    sf.state == 'Z')
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/exe", p->pid);
	if (stat(path, &st))
		return -ESRCH;
	if (st.st_dev != p->exe_dev || st.st_ino != p->exe_ino)
		return -ESTALE;
	return 0;
}

static int mem_io(const struct proc *p, uint64_t addr, void *buf, size_t len, bool write)
{
	ssize_t n;

	if (p->memfd < 0 || (write && !p->writable))
		return -EBADF;
	n = write ? pwrite(p->memfd, buf, len, (off_t)addr) : pread(p->memfd, buf, len, (off_t)addr);
	if (n < 0)
		return -errno;
	/* 0 bytes: the address space this fd was opened on is gone (exit or exec). */
	if (n == 0)
		return -ESRCH;
	return (size_t)n == len ? 0 : -EIO;
}

int proc__read(const struct proc *p, uint64_t addr, void *buf, size_t len)
{
	return mem_io(p, addr, buf, len, false);
}

int proc__write(const struct proc *p, uint64_t addr, const void *buf, size_t len)
{
	int err = proc__same(p);

	return err ? err : mem_io(p, addr, (void *)buf, len, true);
}

int proc__write_raw(const struct proc *p, uint64_t addr, const void *buf, size_t len)
{
	return mem_io(p, addr, (void *)buf, len, true);
}

int proc__load_bias(const struct proc *p, uint64_t file_offset, uint64_t vaddr, uint64_t *bias)
{
	char path[64], line[4608];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end, off, ino;
		unsigned int maj, min;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64, &start, &end,
			   perms, &off, &maj, &min, &ino) != 7)
			continue;
		/* The pinned file, whatever its path is now (deleted, replaced, another mount
		 * namespace). */
		if (ino != (uint64_t)p->exe_ino || makedev(maj, min) != p->exe_dev)
			continue;
		if (file_offset < off || file_offset >= off + (end - start))
			continue;
		*bias = start + (file_offset - off) - vaddr;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int proc__cpu_ns(pid_t pid, uint64_t *ns)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct stat_fields sf;
	int err = read_stat(pid, &sf);

	if (err)
		return err;
	*ns = (sf.utime + sf.stime) * (1000000000ull / (hz > 0 ? hz : 100));
	return 0;
}

int proc__start_ticks(pid_t pid, uint64_t *ticks)
{
	struct stat_fields sf;
	int err = read_stat(pid, &sf);

	if (!err)
		*ticks = sf.start;
	return err;
}

int proc__start_ns(pid_t pid, uint64_t *ns)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ticks;
	int err = proc__start_ticks(pid, &ticks);

	if (!err)
		*ns = ticks * (1000000000ull / (hz > 0 ? hz : 100));
	return err;
}

int proc__pidns(pid_t pid, uint64_t *dev, uint64_t *ino)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/pid");
	if (stat(path, &st))
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}
