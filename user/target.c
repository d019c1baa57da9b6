// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "proc.h"
#include "target.h"
#include "util.h"
#include "x86.h"

/* Oldest Go whose pclntab layout and register ABI heapscope reads (magic 0xfffffff0). */
#define MIN_GO_MINOR 18

static bool in_data_section(const struct goelf *g, uint64_t vaddr)
{
	static const char *const names[] = { ".noptrdata", ".data", ".bss", ".noptrbss" };
	struct goelf_section sec;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!goelf__section(g, names[i], &sec) && vaddr >= sec.addr &&
		    vaddr + 8 <= sec.addr + sec.size)
			return true;
	return false;
}

/* Stripped binaries have no symbol for runtime.MemProfileRate; profilealloc's inlined
 * nextSample() reads it and compares it with 1 in every Go version, which pins it down. */
static void find_rate_global(struct target *t)
{
	struct go_func f;
	uint8_t code[4096];
	uint64_t addr;
	size_t len;

	if (!goelf__symbol(t->elf, "runtime.MemProfileRate", &addr, NULL)) {
		t->rate_vaddr = addr;
		t->rate_how = "symbol table";
		return;
	}
	if (pclntab__find_name(t->pcln, "runtime.profilealloc", &f))
		return;
	len = f.end - f.entry < sizeof(code) ? f.end - f.entry : sizeof(code);
	if (goelf__read_vaddr(t->elf, f.entry, code, len) ||
	    x86__find_rate_global(code, len, f.entry, &addr) || !in_data_section(t->elf, addr))
		return;
	t->rate_vaddr = addr;
	t->rate_how = "profilealloc code";
}

/* gctrace's mark-termination clock runs from work.tMarkTerm, taken in gcMarkDone just before
 * the world stops, to work.tEnd (8 bytes on), taken before it restarts. The runtime keeps both
 * only in `work`, which stripped binaries give no symbol for; gcMarkDone's one call to nanotime
 * stores its result into tMarkTerm, which pins it. */
static void find_work_times(struct target *t)
{
	struct go_func f, nanotime;
	uint8_t *code;
	uint64_t addr;
	size_t len;

	if (goelf__machine(t->elf) != EM_X86_64 ||
	    pclntab__find_name(t->pcln, "runtime.gcMarkDone", &f) ||
	    pclntab__find_name(t->pcln, "runtime.nanotime1", &nanotime))
		return;
	len = f.end - f.entry;
	code = len <= (64 << 10) ? malloc(len) : NULL;
	if (code && !goelf__read_vaddr(t->elf, f.entry, code, len) &&
	    !x86__find_result_store(code, len, f.entry, nanotime.entry, &addr) &&
	    in_data_section(t->elf, addr))
		t->work_tmarkterm_vaddr = addr;
	free(code);
}

static int compute_bias(struct target *t)
{
	struct goelf_section text;
	int err;

	if (!goelf__is_pie(t->elf))
		return 0;
	err = goelf__section(t->elf, ".text", &text);
	if (!err)
		err = proc__load_bias(t->pid, text.offset, text.addr, &t->bias);
	if (err)
		log_err("cannot find where %s is mapped in PID %d (/proc/%d/maps): %s", t->exe,
			t->pid, t->pid, strerror(-err));
	return err;
}

int target__open(struct target *t, pid_t pid)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	err = proc__check(pid);
	if (err) {
		log_err(err == -ESRCH ? "no process with PID %d" : "cannot inspect PID %d: %s", pid,
			strerror(-err));
		return err;
	}
	snprintf(t->exe_proc, sizeof(t->exe_proc), "/proc/%d/exe", pid);
	err = proc__exe_path(pid, t->exe, sizeof(t->exe));
	if (err) {
		log_err("cannot read %s: %s (run as root)", t->exe_proc, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	t->elf = goelf__open(t->exe_proc);
	if (!t->elf) {
		err = -errno;
		if (err == -ENOEXEC)
			log_err("PID %d (%s) is not a Go program: not a 64-bit ELF executable", pid,
				t->exe);
		else
			log_err("cannot read the binary of PID %d (%s): %s", pid, t->exe,
				strerror(-err));
		return err == -ENOEXEC ? err : -EACCES;
	}
	err = buildinfo__read(t->elf, &t->ver);
	if (err == -ENOTSUP || (!err && go_version__cmp(&t->ver, 1, MIN_GO_MINOR) < 0)) {
		log_err("PID %d (%s) is built with %s; heapscope needs Go 1.%d or newer", pid,
			t->exe, err ? "Go older than 1.18" : t->ver.str, MIN_GO_MINOR);
		return -ENOTSUP;
	}
	t->pcln = pclntab__open(t->elf);
	if (err || !t->pcln) {
		if (err || errno == ENOENT) {
			log_err("PID %d (%s) is not a Go program: no Go build info or .gopclntab", pid,
				t->exe);
			return -ENOEXEC;
		}
		log_err("PID %d (%s): unsupported Go function table (.gopclntab): %s", pid, t->exe,
			strerror(errno));
		return -ENOTSUP;
	}
	err = compute_bias(t);
	if (err)
		return err;
	find_rate_global(t);
	find_work_times(t);
	proc__start_ns(pid, &t->start_ns);
	return 0;
}

void target__close(struct target *t)
{
	pclntab__close(t->pcln);
	goelf__close(t->elf);
	t->pcln = NULL;
	t->elf = NULL;
}

bool target__alive(const struct target *t)
{
	return kill(t->pid, 0) == 0 || errno == EPERM;
}

int target__read_rate(const struct target *t, int64_t *rate)
{
	if (!t->rate_vaddr)
		return -ENOENT;
	return proc__read_mem(t->pid, t->rate_vaddr + t->bias, rate, sizeof(*rate));
}

int target__write_rate(const struct target *t, int64_t rate)
{
	if (!t->rate_vaddr)
		return -ENOENT;
	return proc__write_mem(t->pid, t->rate_vaddr + t->bias, &rate, sizeof(rate));
}
