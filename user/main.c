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
#include "http.h"
#include "loop.h"
#include "pprof.h"
#include "record.h"
#include "report.h"
#include "serve.h"
#include "session.h"
#include "source.h"
#include "top.h"
#include "util.h"

#define HEAPSCOPE_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };
enum { FORMAT_TEXT, FORMAT_JSON };

#define MAX_PIDS 256

static struct env {
	const char *cmd;
	pid_t pid;		/* -p --pid (the first) */
	pid_t pids[MAX_PIDS];	/* serve: every -p */
	size_t npids;
	bool all;		/* --all (serve) */
	const char *listen;	/* --listen (serve) */
	long max_functions;	/* --max-functions (serve) */
	double duration;	/* -d --duration: stat window / top refresh, seconds */
	bool duration_set;
	double window;		/* -w --window: top's sliding window, seconds */
	bool window_set;
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
	const char *source;	/* --source DIR: escape analysis of the program's source tree */
} env = {
	.pid = -1,
	.duration = 5,
	.format = FORMAT_TEXT,
	.mode = MODE_SAMPLED,
	.sample_bytes = DEFAULT_SAMPLE_BYTES,
	.max_functions = SERVE_DEFAULT_MAX_FUNCTIONS,
	.window = 10,
};

static const char usage_text[] =
	"Usage: heapscope COMMAND -p PID [OPTIONS]\n"
	"       heapscope serve [-p PID ...] [--all] [--listen ADDR:PORT]\n"
	"\n"
	"Who is allocating in a running Go process, measured from outside with BPF uprobes on\n"
	"the Go runtime's own allocation sampler. No restart, no code change.\n"
	"\n"
	"Commands:\n"
	"  stat -p PID [-d SECS] [--format text|json] [--sort KEY] [--source DIR]\n"
	"                         observe for SECS (default 5; Ctrl-C ends early), then report\n"
	"                         allocations per function\n"
	"  top -p PID [-d SECS] [-w SECS] [-b] [-n N] [-C] [--source DIR]\n"
	"                         live dashboard: allocation rate per function over a sliding\n"
	"                         window (-w, default 10 s; 0: each refresh), heap and GC\n"
	"                         meters, refreshed every SECS (default 1); h inside for keys\n"
	"  serve [-p PID ...] [--all] [--listen ADDR:PORT] [--max-functions N]\n"
	"                         Prometheus metrics of the given processes, or of every Go\n"
	"                         process on the host (--all, followed as they start and exit),\n"
	"                         at http://ADDR:PORT/metrics (default 127.0.0.1:9464)\n"
	"  record -p PID [-d SECS] -o FILE [--source DIR | --folded [--sample-index TYPE]]\n"
	"                         observe for SECS (default 5; Ctrl-C ends early), then write\n"
	"                         the target's heap profile (gzip profile.proto for go tool\n"
	"                         pprof: alloc_objects/space, inuse_objects/space as of the last\n"
	"                         GC cycle) or folded stacks, atomically\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID          the Go process to observe (serve: repeatable)\n"
	"      --all              serve: every Go process on the host, in containers too\n"
	"      --listen ADDR:PORT serve: where to answer (IPv4 or [IPv6]; default\n"
	"                         127.0.0.1:9464)\n"
	"      --max-functions N  serve: per-function series per process (default 100); the\n"
	"                         rest are summed in function=\"(other)\"\n"
	"  -d, --duration SECS    observation window (stat, record); refresh interval (top),\n"
	"                         fractions ok\n"
	"  -w, --window SECS      top: rates over this sliding window (default 10; 0 = one\n"
	"                         refresh)\n"
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
	"      --source DIR       the observed program's source tree (its module): show the Go\n"
	"                         compiler's escape analysis (go build -gcflags=-m=2) for each\n"
	"                         allocation site, and the remedy for its cause (stat, top);\n"
	"                         record: label each sample escape=CAUSE (or silent,\n"
	"                         not-compiled, outside) and escape_msg=the compiler's message\n"
	"                         (go tool pprof -tags, -tagfocus=escape=...; not with\n"
	"                         --folded); needs a Go toolchain, ideally the binary's version\n"
	"      --ring-buffer-kb N size of the kernel-to-heapscope event buffer (default 8192;\n"
	"                         a power of two >= 4): small values are for testing event loss\n"
	"  -v, --verbose          debug output, including libbpf's\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"top keys: q quit, h/? help, s/F6/</> sort column, r reverse, / filter, p/space pause,\n"
	"  u/g sort by in-use/growth, c flat/cumulative, +/- slower/faster refresh, w next\n"
	"  window (10s 30s 60s refresh), arrows PgUp/PgDn Home/End move, Enter stacks and\n"
	"  remedy, Esc back.\n"
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
	"  sudo heapscope serve --all                         every Go process, for Prometheus\n"
	"  sudo heapscope stat -p 1234 --source ~/src/app      why each site escapes\n"
	"  sudo heapscope stat -p 1234 -d 60 --sort growth    what keeps growing\n"
	"  sudo heapscope record -p 1234 -d 30 -o heap.pb.gz  then: go tool pprof heap.pb.gz\n"
	"  sudo heapscope record -p 1234 -o heap.pb.gz --source ~/src/app\n"
	"                         then go tool pprof -tags heap.pb.gz: bytes by escape cause\n";

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
	enum { OPT_FORMAT = 256, OPT_EXACT, OPT_SAMPLE_BYTES, OPT_READ_ONLY, OPT_RINGBUF, OPT_ALL,
	       OPT_LISTEN, OPT_MAX_FUNCTIONS, OPT_SOURCE, OPT_FOLDED, OPT_SAMPLE_INDEX, OPT_SORT };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "exact", no_argument, NULL, OPT_EXACT },
		{ "sample-bytes", required_argument, NULL, OPT_SAMPLE_BYTES },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "ring-buffer-kb", required_argument, NULL, OPT_RINGBUF },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "max-functions", required_argument, NULL, OPT_MAX_FUNCTIONS },
		{ "source", required_argument, NULL, OPT_SOURCE },
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
	while ((c = getopt_long(argc, argv, "p:d:w:bn:CvhVo:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_i64(optarg, 1, INT_MAX, &v))
				return usage_error("invalid PID '%s'", optarg);
			if (env.npids == MAX_PIDS)
				return usage_error("more than %d -p options", MAX_PIDS);
			if (env.pid < 0)
				env.pid = (pid_t)v;
			env.pids[env.npids++] = (pid_t)v;
			break;
		case OPT_ALL:
			env.all = true;
			break;
		case OPT_LISTEN: {
			struct sockaddr_storage ss;
			socklen_t len;

			if (http__parse_listen(optarg, &ss, &len))
				return usage_error("invalid --listen '%s': ADDR:PORT, e.g. "
						   "127.0.0.1:9464 or [::1]:9464",
						   optarg);
			env.listen = optarg;
			break;
		}
		case OPT_MAX_FUNCTIONS:
			if (!parse_i64(optarg, 0, 100000, &v))
				return usage_error("invalid --max-functions '%s': 0 to 100000", optarg);
			env.max_functions = (long)v;
			break;
		case 'd':
			errno = 0;
			env.duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(env.duration > 0) ||
			    env.duration > 86400 * 365)
				return usage_error("invalid duration '%s': seconds, > 0", optarg);
			env.duration_set = true;
			break;
		case 'w':
			errno = 0;
			env.window = strtod(optarg, &end);
			if (errno || end == optarg || *end || env.window < 0 || env.window > 3600)
				return usage_error("invalid window '%s': seconds, 0 (one refresh) to "
						   "3600",
						   optarg);
			env.window_set = true;
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
		case OPT_SOURCE:
			if (!*optarg)
				return usage_error("--source needs a directory");
			env.source = optarg;
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
	if (strcmp(env.cmd, "stat") && strcmp(env.cmd, "top") && strcmp(env.cmd, "serve") &&
	    strcmp(env.cmd, "record"))
		return usage_error("unknown command '%s'", env.cmd);
	if (strcmp(env.cmd, "serve") && (env.all || env.listen))
		return usage_error("--all and --listen are options of serve");
	if (strcmp(env.cmd, "serve") && env.npids > 1)
		return usage_error("%s takes one -p PID", env.cmd);
	if (strcmp(env.cmd, "record") && (env.output || env.folded || env.sample_index))
		return usage_error("-o, --folded and --sample-index are options of record");
	if (strcmp(env.cmd, "stat") && env.sort != REPORT_SORT_ALLOC)
		return usage_error("--sort is an option of stat (top sorts with s, < and >)");
	if (env.sample_index && !env.folded)
		return usage_error("--sample-index chooses what --folded writes");
	/* checked here, not after the window: a typo should not cost the observation */
	if (env.sample_index && pprof__go_heap_type_index(env.sample_index) < 0)
		return usage_error("unknown --sample-index '%s': alloc_objects, alloc_space, "
				   "inuse_objects or inuse_space",
				   env.sample_index);
	if (!strcmp(env.cmd, "record")) {
		if (!env.output)
			return usage_error("record needs -o FILE");
		if (env.batch || env.iterations || env.no_color || env.window_set ||
		    env.format != FORMAT_TEXT)
			return usage_error("-b, -n, -C, -w and --format are not options of record");
		/* Folded stacks have nowhere to put a label; running the compiler for nothing
		 * would only cost time. */
		if (env.folded && env.source)
			return usage_error("--source labels the samples of the profile; --folded "
					   "stacks carry no labels");
	}
	if (!strcmp(env.cmd, "serve")) {
		if (!env.npids && !env.all)
			return usage_error("serve needs -p PID or --all");
		if (env.mode == MODE_EXACT)
			return usage_error("--exact is not for serve: it slows targets down several "
					   "times");
		if (env.batch || env.iterations || env.no_color || env.duration_set ||
		    env.window_set || env.format != FORMAT_TEXT || env.source)
			return usage_error("-b, -n, -C, -d, -w, --format and --source are not options "
					   "of serve");
		return 0;
	}
	if (!strcmp(env.cmd, "stat") && (env.batch || env.iterations || env.no_color ||
					 env.window_set))
		return usage_error("-b, -n, -C and -w are options of top");
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

	session_assist__tick(&r->s, now_monotonic_ns());
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
	/* Every cycle of the window is kept: stat reports each (cycle_list) and exact quantiles. */
	struct session_opts so = { .pid = env.pid, .mode = env.mode,
				   .sample_bytes = env.sample_bytes, .read_only = env.read_only,
				   .gc_keep = GC_KEEP };
	struct tracer_opts to = { .ringbuf_bytes = env.ringbuf_bytes };
	struct stat_run r = { .sigfd = -1, .timerfd = -1 };
	struct source *src = NULL;
	struct report rep = { 0 };
	struct strbuf out = { 0 };
	struct loop l = { .epfd = -1 };
	int err, ret = EXIT_RUNTIME;

	/* Signals first: a Ctrl-C during attach must still detach and restore the target. */
	r.sigfd = signalfd_for(sigs, 4);
	err = r.sigfd < 0 ? r.sigfd : 0;
	/* Before attaching: a tree that does not build fails without touching the target. */
	if (!err && env.source)
		err = source__open(&src, env.source, env.pid, r.sigfd);
	if (!err)
		err = tracer__open(&r.tr, &to);
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
	source__annotate(src, r.s.agg, &rep);
	if (env.format == FORMAT_JSON)
		report__json(&rep, &out);
	else
		report__text(&rep, &out, 30);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	ret = EXIT_OK;
	/* Loss is never silent: the figures above undercount by what was dropped. */
	if (rep.lost_events)
		log_warn("%llu events were lost (heapscope's ring buffer was full): the figures "
			 "undercount; a larger --ring-buffer-kb or --sample-bytes avoids it",
			 (unsigned long long)rep.lost_events);
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
	source__close(src);
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
	if (!strcmp(env.cmd, "serve")) {
		struct serve_opts o = {
			.pids = env.pids, .npids = env.npids, .all = env.all, .listen = env.listen,
			.max_functions = (size_t)env.max_functions,
			.sample_bytes = env.sample_bytes, .read_only = env.read_only,
			.ringbuf_bytes = env.ringbuf_bytes,
		};

		return cmd_serve(&o);
	}
	if (!strcmp(env.cmd, "top")) {
		struct top_opts o = {
			.session = { .pid = env.pid, .mode = env.mode,
				     .sample_bytes = env.sample_bytes, .read_only = env.read_only },
			.ringbuf_bytes = env.ringbuf_bytes,
			.interval_s = env.duration_set ? env.duration : 1,
			.window_s = env.window,
			.batch = env.batch,
			.iterations = env.iterations,
			.no_color = env.no_color,
			.source = env.source,
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
			.source = env.source,
		};

		return cmd_record(&o);
	}
	return cmd_stat();
}
