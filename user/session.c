// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "heapscope.h"
#include "heapscope.skel.h"
#include "proc.h"
#include "session.h"
#include "sizeclass.h"
#include "util.h"

/* The MemProfileRate restore must also happen when heapscope dies of a fatal signal or leaves
 * through exit(), so what to write where is kept ready for an async-signal-safe pwrite(). */
static struct {
	int fd;
	uint64_t addr;
	int64_t value;
	volatile sig_atomic_t armed;
} restore = { .fd = -1 };

static void restore_rate_now(void)
{
	if (!restore.armed)
		return;
	restore.armed = 0;
	if (pwrite(restore.fd, &restore.value, sizeof(restore.value), (off_t)restore.addr) < 0) {
		/* Nothing more to do from here: the process may have exited. */
	}
}

static void fatal_signal(int sig)
{
	restore_rate_now();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void arm_restore(const struct session *s)
{
	static bool installed;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", s->t.pid);
	restore.fd = open(path, O_RDWR | O_CLOEXEC);
	restore.addr = s->t.rate_vaddr + s->t.bias;
	restore.value = s->orig_rate;
	restore.armed = restore.fd >= 0;
	if (installed)
		return;
	installed = true;
	atexit(restore_rate_now);
	signal(SIGSEGV, fatal_signal);
	signal(SIGBUS, fatal_signal);
	signal(SIGFPE, fatal_signal);
	signal(SIGILL, fatal_signal);
	signal(SIGABRT, fatal_signal);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !log_verbose())
		return 0;
	if (level != LIBBPF_WARN && !log_verbose())
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct agg_frame frames[HS_MAX_STACK * 4];
	const struct hs_alloc_event *e = data;
	struct session *s = ctx;
	double size, scale = 1, rate;
	uint32_t kind;
	int n = 0;

	if (len < sizeof(*e) || e->type != HS_EV_ALLOC) {
		s->bad_events++;
		return 0;
	}
	s->events++;
	size = (double)e->size;
	if (s->opts.mode == MODE_EXACT) {
		size = (double)go_slot_size(e->size);
	} else {
		rate = e->rate >= 0 ? (double)e->rate : (double)s->rate;
		/* Go 1.24+ records one sample per P when the rate changes, even to 0: those stand
		 * for nothing. */
		if (rate <= 0) {
			s->rate_off_events++;
			return 0;
		}
		scale = unsample_scale(size, rate);
	}
	if (e->nr_frames > 0) {
		int nr = e->nr_frames < HS_MAX_STACK ? e->nr_frames : HS_MAX_STACK;

		n = symbolizer__stack(s->sym, (const uint64_t *)e->stack, nr, frames,
				      HS_MAX_STACK * 4, &kind);
	}
	if (n > 0) {
		struct agg_sample as = { .frames = frames, .nframes = n, .kind = kind,
					 .bytes = size * scale, .objects = scale,
					 .sampled_bytes = e->size };

		agg__add(s->agg, &as, e->ts_ns);
	} else {
		agg__add_unattributed(s->agg, size * scale, scale, e->ts_ns);
	}
	return 0;
}

static int check_privileges(void)
{
	unsigned long long cap = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return 0;
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &cap) == 1)
			break;
	if (f)
		fclose(f);
	/* CAP_SYS_ADMIN(21), or CAP_BPF(39) + CAP_PERFMON(38); CAP_SYS_PTRACE(19) for /proc/PID/mem */
	if (((cap >> 21) & 1) || (((cap >> 39) & 1) && ((cap >> 38) & 1)))
		return 0;
	log_err("permission denied: heapscope needs root (or CAP_BPF, CAP_PERFMON and "
		"CAP_SYS_PTRACE); run it with sudo");
	return -EPERM;
}

/* Sampled mode needs the runtime's sampler on. It is off (0) when the linker found
 * runtime.MemProfile unreachable; turning it on is one word written through /proc/PID/mem. */
static int setup_rate(struct session *s)
{
	int64_t rate = -1;
	int err;

	s->orig_rate = -1;
	if (!s->t.rate_vaddr) {
		log_warn("cannot locate runtime.MemProfileRate in %s: assuming the default 524288",
			 s->t.exe);
		s->rate = DEFAULT_SAMPLE_BYTES;
		return 0;
	}
	err = target__read_rate(&s->t, &rate);
	if (err || rate < 0 || rate > (1ll << 40)) {
		log_err("cannot read runtime.MemProfileRate of PID %d (%s)", s->t.pid,
			err ? strerror(-err) : "implausible value");
		return err ? err : -EINVAL;
	}
	s->orig_rate = rate;
	s->rate = rate;
	if (rate != 0 || s->opts.mode != MODE_SAMPLED)
		return 0;
	if (s->opts.read_only) {
		log_warn("memory profiling is off in PID %d (MemProfileRate 0) and --read-only "
			 "forbids turning it on: no allocation samples will arrive (use --exact, "
			 "or drop --read-only)",
			 s->t.pid);
		return 0;
	}
	arm_restore(s);
	err = target__write_rate(&s->t, s->opts.sample_bytes);
	if (err) {
		restore.armed = 0;
		log_err("cannot enable memory profiling in PID %d (write /proc/%d/mem): %s",
			s->t.pid, s->t.pid, strerror(-err));
		return err;
	}
	s->rate_written = true;
	s->rate = s->opts.sample_bytes;
	log_dbg("MemProfileRate 0 -> %lld (found via %s); restored on exit",
		(long long)s->opts.sample_bytes, s->t.rate_how);
	return 0;
}

static int load_bpf(struct session *s, const struct probe_site *sites, size_t nsites)
{
	struct go_func mallocgc;
	int err;

	s->skel = heapscope_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	if (s->t.rate_vaddr)
		s->skel->rodata->targ_rate_addr = s->t.rate_vaddr + s->t.bias;
	if (!pclntab__find_name(s->t.pcln, "runtime.mallocgc", &mallocgc)) {
		s->skel->rodata->targ_mallocgc_start = mallocgc.entry + s->t.bias;
		s->skel->rodata->targ_mallocgc_end = mallocgc.end + s->t.bias;
	}
	err = heapscope_bpf__load(s->skel);
	if (err) {
		log_err("cannot load BPF programs: %s%s", strerror(-err),
			err == -EPERM ? " (run as root)" : " (run with -v for the verifier log)");
		return err;
	}
	s->links = calloc(nsites, sizeof(*s->links));
	if (!s->links)
		return -ENOMEM;
	for (size_t i = 0; i < nsites; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = sites[i].spec->kind);

		s->links[i] = bpf_program__attach_uprobe_opts(s->skel->progs.alloc_probe, s->t.pid,
							      s->t.exe_proc, sites[i].file_offset,
							      &uo);
		if (!s->links[i]) {
			err = -errno;
			log_err("cannot attach a uprobe to %s+0x%llx in %s: %s", sites[i].func,
				(unsigned long long)(sites[i].vaddr - sites[i].entry), s->t.exe,
				strerror(-err));
			return err;
		}
		s->nlinks++;
		log_dbg("probe %s+0x%llx (file offset 0x%llx)", sites[i].func,
			(unsigned long long)(sites[i].vaddr - sites[i].entry),
			(unsigned long long)sites[i].file_offset);
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_event, s, NULL);
	if (!s->rb) {
		err = -errno;
		log_err("cannot create the ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

int session__open(struct session *s, const struct session_opts *o)
{
	struct probe_site *sites = NULL;
	size_t nsites = 0;
	int err;

	memset(s, 0, sizeof(*s));
	s->opts = *o;
	libbpf_set_print(libbpf_print);
	err = target__open(&s->t, o->pid);
	if (err)
		return err;
	err = check_privileges();
	if (err)
		return err;
	err = probes__plan(&s->t, o->mode, &sites, &nsites);
	if (err)
		return err;
	s->agg = agg__new();
	s->sym = s->agg ? symbolizer__new(&s->t, s->agg) : NULL;
	if (!s->sym) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = load_bpf(s, sites, nsites);
	if (err)
		goto cleanup;
	/* Probes first, then the rate: no sample the runtime takes is missed. */
	err = setup_rate(s);
	if (err)
		goto cleanup;
	s->attach_ns = now_monotonic_ns();
	proc__cpu_ns(s->t.pid, &s->cpu_start_ns);
	if (o->mode == MODE_EXACT)
		log_warn("--exact probes every allocation: expect the target to run several times "
			 "slower while attached");
cleanup:
	free(sites);
	return err;
}

int session__fd(const struct session *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

int session__poll(struct session *s)
{
	int n = ring_buffer__consume(s->rb);

	return n < 0 ? n : 0;
}

static uint64_t stat_sum(const struct session *s, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0, *vals;

	if (!s->skel || ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (vals && !bpf_map__lookup_elem(s->skel->maps.stats, &idx, sizeof(idx), vals,
					  ncpu * sizeof(*vals), 0))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

uint64_t session__lost(const struct session *s)
{
	return stat_sum(s, HS_STAT_LOST);
}

void session__detach(struct session *s)
{
	if (s->detach_ns)
		return;
	s->detach_ns = now_monotonic_ns();
	if (proc__cpu_ns(s->t.pid, &s->cpu_end_ns))
		s->cpu_end_ns = s->cpu_start_ns;
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	if (s->rb)
		ring_buffer__consume(s->rb);
	if (s->rate_written)
		restore_rate_now();
	if (restore.fd >= 0) {
		close(restore.fd);
		restore.fd = -1;
	}
}

void session__close(struct session *s)
{
	session__detach(s);
	ring_buffer__free(s->rb);
	free(s->links);
	heapscope_bpf__destroy(s->skel);
	symbolizer__free(s->sym);
	agg__free(s->agg);
	target__close(&s->t);
	memset(s, 0, sizeof(*s));
}
