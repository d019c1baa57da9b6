// SPDX-License-Identifier: GPL-2.0
/* heapscope: who is allocating in a running Go process, and what the GC costs. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "loop.h"
#include "record.h"
#include "report.h"
#include "session.h"
#include "top.h"
#include "util.h"

#define HEAPSCOPE_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };
enum { FORMAT_TEXT, FORMAT_JSON };

static struct env {
	const char *cmd;
	pid_t pid;		/* -p --pid */
	double duration;	/* -d --duration: stat window / top refresh, seconds */
	bool duration_set;
	bool batch;		/* -b --batch (top) */
	long iterations;	/* -n --iterations (top) */
	bool no_color;		/* -C --no-color (top) */
	int format;		/* --format text|json */
	unsigned mode;		/* --exact */
	int64_t sample_bytes;	/* --sample-bytes */
	bool read_only;		/* --read-only */
	uint32_t ringbuf_bytes;	/* --ring-buffer-kb (debugging loss handling) */
	bool verbose;		/* -v */
	const char *output;	/* -o --output (record) */
	bool folded;		/* --folded (record) */
	const char *sample_index;	/* --sample-index (record --folded) */
	enum report_sort sort;	/* --sort alloc|inuse|growth (stat text) */
} env = {
	.pid = -1,
	.duration = 5,
	.format = FORMAT_TEXT,
	.mode = MODE_SAMPLED,
	.sample_bytes = DEFAULT_SAMPLE_BYTES,
};

static const char usage_text[] =
	"Usage: heapscope COMMAND -p PID [OPTIONS]\n"
	"\n"
	"Who is allocating in a running Go process, measured from outside with BPF uprobes on\n"
	"the Go runtime's own allocation sampler. No restart, no code change.\n"
	"\n"
	"Commands:\n"
	"  stat -p PID [-d SECS] [--format text|json]\n"
	"                         observe for SECS (default 5; Ctrl-C ends early), then report\n"
	"                         allocations per function\n"
	"  top -p PID [-d SECS] [-b] [-n N] [-C]\n"
	"                         live dashboard: allocation rate per function, heap and GC\n"
	"                         meters, refreshed every SECS (default 1); h inside for keys\n"
	"  record -p PID [-d SECS] -o FILE [--folded [--sample-index TYPE]]\n"
	"                         observe for SECS (default 5; Ctrl-C ends early), then write\n"
	"                         the target's heap profile (gzip profile.proto for go tool\n"
	"                         pprof: alloc_objects/space, inuse_objects/space as of the last\n"
	"                         GC cycle) or folded stacks, atomically\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID          the Go process to observe\n"
	"  -d, --duration SECS    observation window (stat); refresh interval (top), fractions ok\n"
	"      --format FMT       text (default) or json (stat)\n"
	"      --sort KEY         stat text order: alloc (default), inuse (retained bytes) or\n"
	"                         growth (in-use trend; leak suspects first)\n"
	"  -o, --output FILE      record: where to write (replaced atomically)\n"
	"      --folded           record: folded stacks (flamegraph.pl, speedscope) instead\n"
	"      --sample-index T   record --folded: alloc_objects, alloc_space, inuse_objects or\n"
	"                         inuse_space (default)\n"
	"  -b, --batch            top: plain-text frames on stdout instead of the screen (also\n"
	"                         when stdout is not a terminal or TERM is dumb)\n"
	"  -n, --iterations N     top: exit 0 after N refreshes\n"
	"  -C, --no-color         top: monochrome (NO_COLOR is honoured too)\n"
	"      --exact            probe every allocation instead of sampling (slow: several\n"
	"                         times slower target; for small programs and tests)\n"
	"      --sample-bytes N   sampling rate to switch on when the target has memory\n"
	"                         profiling off (default 524288, Go's default)\n"
	"      --read-only        never write target memory; a target with profiling off then\n"
	"                         yields no allocation samples\n"
	"      --ring-buffer-kb N size of the kernel-to-heapscope event buffer (default 8192;\n"
	"                         a power of two >= 4): small values are for testing event loss\n"
	"  -v, --verbose          debug output, including libbpf's\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"top keys: q quit, h/? help, s/F6/</> sort column, r reverse, / filter, p/space pause,\n"
	"  c flat/cumulative, arrows PgUp/PgDn Home/End move, Enter stacks and remedy, Esc back.\n"
	"\n"
	"In use: stat and top read the runtime's own heap profile (what runtime.MemProfile\n"
	"reports) from the target's memory when GC cycles end, at most once a second: IN-USE is\n"
	"what each function's sampled objects still hold as of the last GC cycle, GROWTH/s its\n"
	"trend over those readings, and LEAK marks steady growth. When heapscope switched the\n"
	"sampler on, only objects allocated since it attached are covered.\n"
	"\n"
	"Exit status: 0 ok, 1 runtime error (one line on stderr), 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  sudo heapscope stat -p $(pidof caddy)              5 s report, top functions\n"
	"  sudo heapscope stat -p 1234 -d 30 --format json    30 s, machine-readable\n"
	"  sudo heapscope top -p $(pidof caddy)               live dashboard, q quits\n"
	"  sudo heapscope top -p 1234 -b -n 5 -d 2            five 2 s frames as text\n"
	"  sudo heapscope stat -p 1234 -d 60 --sort growth    what keeps growing\n"
	"  sudo heapscope record -p 1234 -d 30 -o heap.pb.gz  then: go tool pprof heap.pb.gz\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "heapscope: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see heapscope --help)\n");
	return EXIT_USAGE;
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_EXACT, OPT_SAMPLE_BYTES, OPT_READ_ONLY, OPT_RINGBUF,
	       OPT_FOLDED, OPT_SAMPLE_INDEX, OPT_SORT };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "exact", no_argument, NULL, OPT_EXACT },
		{ "sample-bytes", required_argument, NULL, OPT_SAMPLE_BYTES },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "ring-buffer-kb", required_argument, NULL, OPT_RINGBUF },
		{ "output", required_argument, NULL, 'o' },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "sample-index", required_argument, NULL, OPT_SAMPLE_INDEX },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int64_t v;
	char *end;
	int c;

	if (argc >= 2 && argv[1][0] != '-') {
		env.cmd = argv[1];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "p:d:bn:CvhVo:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_i64(optarg, 1, INT_MAX, &v))
				return usage_error("invalid PID '%s'", optarg);
			env.pid = (pid_t)v;
			break;
		case 'd':
			errno = 0;
			env.duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(env.duration > 0) ||
			    env.duration > 86400 * 365)
				return usage_error("invalid duration '%s': seconds, > 0", optarg);
			env.duration_set = true;
			break;
		case 'b':
			env.batch = true;
			break;
		case 'n':
			if (!parse_i64(optarg, 1, INT_MAX, &v))
				return usage_error("invalid iterations '%s': 1 or more", optarg);
			env.iterations = (long)v;
			break;
		case 'C':
			env.no_color = true;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				env.format = FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				env.format = FORMAT_JSON;
			else
				return usage_error("invalid format '%s': text or json", optarg);
			break;
		case OPT_EXACT:
			env.mode = MODE_EXACT;
			break;
		case OPT_SAMPLE_BYTES:
			if (!parse_i64(optarg, 1, 1ll << 30, &env.sample_bytes))
				return usage_error("invalid --sample-bytes '%s': 1 to 1073741824",
						   optarg);
			break;
		case OPT_READ_ONLY:
			env.read_only = true;
			break;
		case OPT_RINGBUF:
			if (!parse_i64(optarg, 4, 1 << 20, &v) || (v & (v - 1)))
				return usage_error("invalid --ring-buffer-kb '%s': a power of two, 4 to "
						   "1048576",
						   optarg);
			env.ringbuf_bytes = (uint32_t)v << 10;
			break;
		case 'v':
			env.verbose = true;
			break;
		case 'o':
			env.output = optarg;
			break;
		case OPT_FOLDED:
			env.folded = true;
			break;
		case OPT_SAMPLE_INDEX:
			env.sample_index = optarg;
			break;
		case OPT_SORT:
			if (!strcmp(optarg, "alloc"))
				env.sort = REPORT_SORT_ALLOC;
			else if (!strcmp(optarg, "inuse"))
				env.sort = REPORT_SORT_INUSE;
			else if (!strcmp(optarg, "growth"))
				env.sort = REPORT_SORT_GROWTH;
			else
				return usage_error("invalid --sort '%s': alloc, inuse or growth",
						   optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		case 'V':
			printf("heapscope %s\n", HEAPSCOPE_VERSION);
			exit(EXIT_OK);
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!env.cmd)
		return usage_error("no command given");
	if (strcmp(env.cmd, "stat") && strcmp(env.cmd, "top") && strcmp(env.cmd, "record"))
		return usage_error("unknown command '%s'", env.cmd);
	if (strcmp(env.cmd, "record") && (env.output || env.folded || env.sample_index))
		return usage_error("-o, --folded and --sample-index are options of record");
	if (!strcmp(env.cmd, "record") && !env.output)
		return usage_error("record needs -o FILE");
	if (strcmp(env.cmd, "stat") && env.sort != REPORT_SORT_ALLOC)
		return usage_error("--sort is an option of stat (top sorts with s, < and >)");
	if (env.sample_index && !env.folded)
		return usage_error("--sample-index chooses what --folded writes");
	if (!strcmp(env.cmd, "record") && (env.batch || env.iterations || env.no_color ||
					   env.format != FORMAT_TEXT))
		return usage_error("-b, -n, -C and --format are not options of record");
	if (!strcmp(env.cmd, "stat") && (env.batch || env.iterations || env.no_color))
		return usage_error("-b, -n and -C are options of top");
	if (!strcmp(env.cmd, "top") && env.duration_set && env.duration < 0.1)
		return usage_error("invalid refresh interval '%g': at least 0.1 s", env.duration);
	if (!strcmp(env.cmd, "top") && env.format != FORMAT_TEXT)
		return usage_error("--format is an option of stat");
	if (env.pid < 0)
		return usage_error("%s needs -p PID", env.cmd);
	return 0;
}

struct stat_run {
	struct tracer tr;
	struct session s;
	int sigfd, timerfd;
	bool interrupted;
};

static int on_ring(void *ctx, int fd, uint32_t events)
{
	struct stat_run *r = ctx;
	int err = tracer__poll(&r->tr);

	/* An exec ends the window: the new program's work is not the old one's. */
	return err ? err : r->s.target_execed ? LOOP_STOP : 0;
}

static int on_signal(void *ctx, int fd, uint32_t events)
{
	struct stat_run *r = ctx;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	r->interrupted = true;
	return LOOP_STOP;
}

static int on_timer(void *ctx, int fd, uint32_t events)
{
	return LOOP_STOP;
}

static int on_target_exit(void *ctx, int fd, uint32_t events)
{
	struct stat_run *r = ctx;

	r->s.target_exited = true;
	return LOOP_STOP;
}

static int cmd_stat(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct session_opts so = { .pid = env.pid, .mode = env.mode,
				   .sample_bytes = env.sample_bytes, .read_only = env.read_only };
	struct tracer_opts to = { .ringbuf_bytes = env.ringbuf_bytes };
	struct stat_run r = { .sigfd = -1, .timerfd = -1 };
	struct report rep = { 0 };
	struct strbuf out = { 0 };
	struct loop l = { .epfd = -1 };
	int err, ret = EXIT_RUNTIME;

	/* Signals first: a Ctrl-C during attach must still detach and restore the target. */
	r.sigfd = signalfd_for(sigs, 4);
	err = r.sigfd < 0 ? r.sigfd : tracer__open(&r.tr, &to);
	if (!err)
		err = session__open(&r.s, &r.tr, &so);
	if (err)
		goto cleanup;
	r.timerfd = timerfd_after((uint64_t)(env.duration * 1e9), 0);
	err = r.timerfd < 0 ? r.timerfd : 0;
	if (!err)
		err = loop__init(&l);
	if (!err)
		err = loop__add(&l, tracer__fd(&r.tr), on_ring, &r);
	if (!err)
		err = loop__add(&l, r.sigfd, on_signal, &r);
	if (!err)
		err = loop__add(&l, r.timerfd, on_timer, &r);
	/* The pinned pidfd: readable when that very process exits. */
	if (!err && r.s.t.proc.pidfd >= 0)
		err = loop__add(&l, r.s.t.proc.pidfd, on_target_exit, &r);
	if (err) {
		log_err("cannot set up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	log_info("observing PID %d (%s, %s) for %.3g s; Ctrl-C to stop early", env.pid, r.s.t.exe,
		 r.s.t.ver.str, env.duration);
	err = loop__run(&l);
	if (!err)
		err = session__sync(&r.s);
	session__detach(&r.s);
	if (err) {
		log_err("event loop failed: %s", strerror(-err));
		goto cleanup;
	}
	if (report__build(&rep, &r.s)) {
		log_err("out of memory building the report");
		goto cleanup;
	}
	rep.sort = env.sort;
	if (env.format == FORMAT_JSON)
		report__json(&rep, &out);
	else
		report__text(&rep, &out, 30);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	ret = EXIT_OK;
	if (r.s.target_execed) {
		log_err("PID %d called execve %.2f s into the window: observation stopped there; "
			"the report covers the program before it",
			env.pid, rep.duration_s);
		ret = EXIT_RUNTIME;
	} else if (r.s.target_exited) {
		log_err("PID %d exited %.2f s into the window; the report covers that part",
			env.pid, rep.duration_s);
		ret = EXIT_RUNTIME;
	}
cleanup:
	report__free(&rep);
	strbuf_free(&out);
	loop__close(&l);
	session__close(&r.s);
	tracer__close(&r.tr);
	if (r.timerfd >= 0)
		close(r.timerfd);
	if (r.sigfd >= 0)
		close(r.sigfd);
	return ret;
}

int main(int argc, char **argv)
{
	int err = parse_args(argc, argv);

	if (err)
		return err;
	log_set_verbose(env.verbose);
	/* A closed pipe (heapscope top -b | head) must end in a write error and the normal
	 * cleanup that restores the target, not in a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(env.cmd, "top")) {
		struct top_opts o = {
			.session = { .pid = env.pid, .mode = env.mode,
				     .sample_bytes = env.sample_bytes, .read_only = env.read_only },
			.ringbuf_bytes = env.ringbuf_bytes,
			.interval_s = env.duration_set ? env.duration : 1,
			.batch = env.batch,
			.iterations = env.iterations,
			.no_color = env.no_color,
		};

		return cmd_top(&o);
	}
	if (!strcmp(env.cmd, "record")) {
		struct record_opts o = {
			.session = { .pid = env.pid, .mode = env.mode,
				     .sample_bytes = env.sample_bytes, .read_only = env.read_only },
			.ringbuf_bytes = env.ringbuf_bytes,
			.duration_s = env.duration,
			.output = env.output,
			.folded = env.folded,
			.sample_index = env.sample_index,
		};

		return cmd_record(&o);
	}
	return cmd_stat();
}
