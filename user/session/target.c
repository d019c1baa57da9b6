// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
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
		err = proc__load_bias(&t->proc, text.offset, text.addr, &t->bias);
	if (err)
		log_err("cannot find where %s is mapped in PID %d (/proc/%d/maps): %s", t->exe,
			t->pid, t->pid, strerror(-err));
	return err;
}

/* The ELF was read from the executable the process ran when pinned, and the memory handle was
 * opened a moment before it: compare the code both say is at the start of .text, so an exec in
 * between (another program behind the same PID) cannot pass unnoticed. Uprobes, heapscope's or
 * anyone's, show as int3 (0xcc) in the target's copy; those bytes are skipped. */
static int check_image(struct target *t)
{
	uint8_t file[256], mem[256];
	struct goelf_section text;
	size_t len, diff = 0;
	int err;

	if (goelf__section(t->elf, ".text", &text))
		return 0;
	len = text.size < sizeof(file) ? text.size : sizeof(file);
	err = goelf__read_vaddr(t->elf, text.addr, file, len);
	if (err)
		return 0;
	err = proc__read(&t->proc, text.addr + t->bias, mem, len);
	if (!err)
		for (size_t i = 0; i < len; i++)
			diff += mem[i] != file[i] && mem[i] != 0xcc;
	if (err || diff) {
		log_err("PID %d changed program (exec) while heapscope was attaching: run it again",
			t->pid);
		return -ESTALE;
	}
	return 0;
}

static int open_proc(struct target *t, pid_t pid, bool writable)
{
	enum proc_err why;
	int err = proc__open(&t->proc, pid, writable, &why);

	switch (why) {
	case PROC_OK:
		return 0;
	case PROC_NO_SUCH:
		log_err("no process with PID %d", pid);
		break;
	case PROC_ZOMBIE:
		log_err("PID %d is a zombie: it has exited and only waits for its parent to reap it",
			pid);
		break;
	case PROC_KTHREAD:
		log_err("PID %d is a kernel thread, not a Go program", pid);
		break;
	case PROC_EXITED:
		log_err("PID %d exited while heapscope was attaching", pid);
		break;
	case PROC_NO_ACCESS:
		log_err("cannot open /proc/%d/exe and /proc/%d/mem: %s (heapscope needs root, or "
			"CAP_SYS_PTRACE over the target)",
			pid, pid, strerror(-err));
		return -EACCES;
	default:
		log_err("cannot open PID %d: %s", pid, strerror(-err));
		break;
	}
	return err;
}

int target__open(struct target *t, pid_t pid, bool writable)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	err = open_proc(t, pid, writable);
	t->exe = t->proc.exe;
	if (err)
		return err;
	t->elf = goelf__open(t->proc.exe_fd_path);
	if (!t->elf) {
		err = -errno;
		if (err == -ENOEXEC)
			log_err("PID %d (%s) is not a Go program: not a 64-bit ELF executable", pid,
				t->exe);
		else if (err == -EBADMSG)
			log_err("the binary of PID %d (%s) is truncated or corrupt: its ELF headers "
				"cannot be read",
				pid, t->exe);
		else
			log_err("cannot read the binary of PID %d (%s): %s", pid, t->exe,
				strerror(-err));
		return err == -ENOEXEC || err == -EBADMSG ? -ENOEXEC : -EACCES;
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
	log_dbg("PID %d: %s via %s, %zu functions", pid, t->ver.str, t->proc.exe_fd_path,
		pclntab__nfuncs(t->pcln));
	err = compute_bias(t);
	if (!err)
		err = check_image(t);
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
	proc__close(&t->proc);
	t->pcln = NULL;
	t->elf = NULL;
}
