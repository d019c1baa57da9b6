// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proc.h"

int proc__check(pid_t pid)
{
	char path[64];
	struct stat st;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st))
		return -errno == -ENOENT ? -ESRCH : -errno;
	return 0;
}

int proc__exe_path(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int proc__load_bias(pid_t pid, uint64_t file_offset, uint64_t vaddr, uint64_t *bias)
{
	char path[64], line[512], exe[4096];
	int err = -ENOENT;
	FILE *f;

	if (proc__exe_path(pid, exe, sizeof(exe)))
		exe[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end, off;
		char perms[8], file[4096] = "";

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %4095[^\n]", &start,
			   &end, perms, &off, file) < 4)
			continue;
		/* The executable's mappings carry its path (" (deleted)" if replaced on disk); a
		 * prefix match would take /app/server-plugin.so for /app/server. */
		if (exe[0] && strcmp(file, exe) &&
		    !(strncmp(file, exe, strlen(exe)) == 0 && !strcmp(file + strlen(exe), " (deleted)")))
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

static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	char path[64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

int proc__read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return mem_io(pid, addr, buf, len, false);
}

int proc__write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return mem_io(pid, addr, (void *)buf, len, true);
}

/* Fields after the command name, which may itself contain spaces and parentheses. */
static int read_stat_fields(pid_t pid, unsigned long long *utime, unsigned long long *stime,
			    unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* state(3) ... utime(14) stime(15) ... starttime(22) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
			  "%*d %llu",
		   utime, stime, start) != 3)
		return -EINVAL;
	return 0;
}

/* utime + stime, or starttime, in ns: /proc/PID/stat counts in clock ticks. */
static int stat_ns(pid_t pid, bool cpu, uint64_t *ns)
{
	unsigned long long ut, st, start;
	long hz = sysconf(_SC_CLK_TCK);
	int err = read_stat_fields(pid, &ut, &st, &start);

	if (err)
		return err;
	*ns = (cpu ? ut + st : start) * (1000000000ull / (hz > 0 ? hz : 100));
	return 0;
}

int proc__cpu_ns(pid_t pid, uint64_t *ns)
{
	return stat_ns(pid, true, ns);
}

int proc__start_ns(pid_t pid, uint64_t *ns)
{
	return stat_ns(pid, false, ns);
}
