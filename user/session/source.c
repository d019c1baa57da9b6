// SPDX-License-Identifier: GPL-2.0
/* --source DIR. The compiler runs as `go list -export -gcflags=./...=-m=2 PKG` in the module
 * root: -export compiles every package (that is what prints the diagnostics) without linking,
 * which for a large program saves the slowest step of `go build`. The Go build cache keys each
 * package's compilation by the content of every input file, the flags and the toolchain, and
 * replays the compiler's output on a hit, so it is the cache "per source tree and toolchain":
 * a second run on an unchanged tree takes a fraction of a second, and any edit recompiles just
 * what changed. A cache of heapscope's own would have to recompute that key (file contents,
 * build tags, replaced modules, cgo) and could only get it wrong. The cache used is the one the
 * toolchain would use, unless that directory belongs to another user (sudo -E, a shared
 * GOCACHE): files written there as root would break that user's builds, so heapscope keeps its
 * own under /var/cache/heapscope (root) or $XDG_CACHE_HOME/heapscope. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agg.h"
#include "buildinfo.h"
#include "goelf.h"
#include "report.h"
#include "source.h"
#include "util.h"

#define GO_TIMEOUT_S 900	/* a cold build cache compiles the standard library first */
#define FETCH_TIMEOUT_S 300	/* GOTOOLCHAIN downloading a toolchain */
#define QUICK_TIMEOUT_S 60	/* go env, git */
#define MAX_OUTPUT (512u << 20)
#define MAX_GOMOD (4u << 20)
#define MAX_CANDIDATES 16
#define FULL_REJOIN_NS (10ull * 1000000000)

extern char **environ;

struct site_entry {
	const char *func, *file, *kind;	/* agg's interned strings: compared by address */
	int line;
	struct escape_site es;
};

struct source {
	char root[PATH_MAX];		/* the module root (GOPATH mode: the directory given) */
	char module[512];		/* go.mod's module path; "" in GOPATH mode */
	char revision[64];		/* git HEAD, "" when unknown */
	char toolchain[64];		/* GOVERSION of the compiler used */
	char *warning;
	struct go_modinfo mi;
	struct escape_map map;
	struct escape_db *db;
	struct escape_source info;
	struct site_entry **sites;	/* individually allocated: addresses stay valid */
	size_t nsites, cap;
	uint32_t *slots;		/* open addressing: index + 1 into sites */
	size_t nslots;
	size_t stacks_seen;
	uint64_t last_full_ns;
};

/* --- running commands ---------------------------------------------------------------------- */

struct cmd {
	const char *const *argv;	/* argv[0]: a path */
	const char *cwd;
	const char *const *env;		/* "K=V", replacing any inherited K */
	int timeout_s;
	int sigfd;			/* readable: interrupt (-EINTR); -1: none */
	struct strbuf out, err;
	int status;			/* waitpid status */
};

static bool env_has_key(const char *const *list, const char *kv)
{
	size_t k = strcspn(kv, "=");

	for (; list && *list; list++)
		if (!strncmp(*list, kv, k) && ((*list)[k] == '=' || !(*list)[k]))
			return true;
	return false;
}

static char **build_env(const struct cmd *c)
{
	size_t n = 0, k = 0;
	char **env;

	for (char **e = environ; *e; e++)
		n++;
	for (const char *const *e = c->env; e && *e; e++)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (char **e = environ; *e; e++)
		if (!env_has_key(c->env, *e))
			env[k++] = *e;
	for (const char *const *e = c->env; e && *e; e++)
		env[k++] = (char *)*e;
	return env;
}

static void child_exec(const struct cmd *c, char **env, int out, int err)
{
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY);

	/* Own process group, so a timeout can stop go and the compilers it started; signals
	 * heapscope blocks (to read them from its signalfd) and ignores must not stay so. */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
	    (c->cwd && chdir(c->cwd)))
		_exit(126);
	/* nothing of heapscope's (BPF objects, the target's pidfd) goes to the compiler */
	close_range(3, ~0u, 0);
	execve(c->argv[0], (char *const *)c->argv, env);
	_exit(127);
}

static int drain(int fd, struct strbuf *sb)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (!n)
		return 0;
	if (sb->len + n > MAX_OUTPUT)
		return -E2BIG;
	strbuf_printf(sb, "%.*s", (int)n, buf);
	return sb->oom ? -ENOMEM : 1;
}

/* Run c to completion: 0 (c->status says how it ended), -ETIMEDOUT, -EINTR, -E2BIG, -errno. */
static int run_cmd(struct cmd *c)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ret = 0;
	uint64_t deadline = now_monotonic_ns() + (uint64_t)c->timeout_s * 1000000000ull;
	bool out_open = true, err_open = true;
	char **env = build_env(c);
	pid_t pid;

	if (!env)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		ret = -errno;
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto cleanup;
	}
	if (!pid)
		child_exec(c, env, out[1], err[1]);
	setpgid(pid, pid);	/* also here: a kill right after fork must reach the group */
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	while ((out_open || err_open) && !ret) {
		struct pollfd p[3] = { { out_open ? out[0] : -1, POLLIN, 0 },
				       { err_open ? err[0] : -1, POLLIN, 0 },
				       { c->sigfd, POLLIN, 0 } };
		uint64_t now = now_monotonic_ns();
		int r, ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000) + 1;

		r = poll(p, 3, ms);
		if (r < 0 && errno != EINTR)
			ret = -errno;
		else if (!r)
			ret = -ETIMEDOUT;
		else if (r > 0 && c->sigfd >= 0 && (p[2].revents & POLLIN))
			ret = -EINTR;	/* left unread: the caller's loop sees it too */
		if (ret || r <= 0)
			continue;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = drain(out[0], &c->out);
			out_open = r > 0;
			ret = r < 0 ? r : 0;
		}
		if (!ret && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			r = drain(err[0], &c->err);
			err_open = r > 0;
			ret = r < 0 ? r : 0;
		}
	}
	if (ret)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
		;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(env);
	return ret;
}

static bool cmd_ok(const struct cmd *c)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

static void cmd_free(struct cmd *c)
{
	strbuf_free(&c->out);
	strbuf_free(&c->err);
}

/* First line of s (trimmed) into buf. */
static const char *first_line(const char *s, char *buf, size_t len)
{
	size_t n;

	if (!s)
		s = "";
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	n = strcspn(s, "\r\n");
	snprintf(buf, len, "%.*s", (int)n, s);
	return buf;
}

static bool find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", name);
		if (n && !access(out, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* --- toolchains ---------------------------------------------------------------------------- */

struct go_env {
	char version[64], cache[PATH_MAX], modcache[PATH_MAX];
};

/* `go env GOVERSION GOCACHE GOMODCACHE` of go, with GOTOOLCHAIN=toolchain ("local": exactly
 * this go). Run from / so that no go.mod nearby asks for another toolchain. */
static int go_env(const char *go, const char *toolchain, int timeout_s, int sigfd,
		  struct go_env *ge)
{
	const char *argv[] = { go, "env", "GOVERSION", "GOCACHE", "GOMODCACHE", NULL };
	char tc[96];
	const char *env[] = { tc, "GOFLAGS=", NULL };
	struct cmd c = { .argv = argv, .cwd = "/", .env = env, .timeout_s = timeout_s,
			 .sigfd = sigfd };
	char *lines[3] = { 0 }, *s;
	int err;

	snprintf(tc, sizeof(tc), "GOTOOLCHAIN=%s", toolchain);
	err = run_cmd(&c);
	if (!err && (!cmd_ok(&c) || !c.out.buf))
		err = -ENOEXEC;
	s = c.out.buf;
	for (int i = 0; !err && i < 3; i++) {
		lines[i] = s;
		s = s ? strchr(s, '\n') : NULL;
		if (s)
			*s++ = '\0';
	}
	if (!err && (!lines[0] || (strncmp(lines[0], "go", 2) && strncmp(lines[0], "devel", 5))))
		err = -ENOEXEC;
	if (!err) {
		snprintf(ge->version, sizeof(ge->version), "%s", lines[0]);
		snprintf(ge->cache, sizeof(ge->cache), "%s", lines[1] ? lines[1] : "");
		snprintf(ge->modcache, sizeof(ge->modcache), "%s", lines[2] ? lines[2] : "");
	}
	cmd_free(&c);
	return err;
}

static void add_candidate(char (*out)[PATH_MAX], int *n, int max, const char *path)
{
	char real[PATH_MAX];

	if (*n >= max || access(path, X_OK) || !realpath(path, real))
		return;
	for (int k = 0; k < *n; k++)
		if (!strcmp(out[k], real))
			return;
	snprintf(out[(*n)++], PATH_MAX, "%s", real);
}

/* The go commands on this host: PATH's, the official tarball's place, Debian's versioned
 * packages (/usr/lib/go-1.NN), each once. */
static int go_candidates(char (*out)[PATH_MAX], int max)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	int n = 0;
	glob_t g;

	while (path && *path) {
		size_t k = strcspn(path, ":");

		if (k) {
			snprintf(buf, sizeof(buf), "%.*s/go", (int)k, path);
			add_candidate(out, &n, max, buf);
		}
		path += k + (path[k] == ':');
	}
	add_candidate(out, &n, max, "/usr/local/go/bin/go");
	if (!glob("/usr/lib/go-*/bin/go", 0, NULL, &g)) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			add_candidate(out, &n, max, g.gl_pathv[i]);
		globfree(&g);
	}
	return n;
}

/* strlcpy: these paths were checked to fit where they came from. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int parse_minor(const char *v)
{
	struct go_version gv;

	return buildinfo__parse_version(v, &gv) || gv.major != 1 ? -1 : gv.minor;
}

struct toolchain {
	char go[PATH_MAX];
	char gotoolchain[96];	/* GOTOOLCHAIN value for the build */
	struct go_env env;
	bool matches;
};

/* The toolchain of the binary's Go version when the host has it or can fetch it, else the
 * host's go with a warning. -ENOENT when there is no go at all. */
static int pick_toolchain(const char *want, int sigfd, struct toolchain *tc)
{
	char cands[MAX_CANDIDATES][PATH_MAX], path[PATH_MAX * 2];
	struct go_env ge, host_env;
	int n = go_candidates(cands, MAX_CANDIDATES), host = -1;
	struct utsname u;

	memset(tc, 0, sizeof(*tc));
	for (int i = 0; i < n; i++) {
		int err = go_env(cands[i], "local", QUICK_TIMEOUT_S, sigfd, &ge);

		if (err == -EINTR) {
			log_err("--source: interrupted while looking for a Go toolchain");
			return err;
		}
		if (err)
			continue;
		if (host < 0) {
			host = i;
			host_env = ge;
		}
		if (!strcmp(ge.version, want)) {
			copy_str(tc->go, sizeof(tc->go), cands[i]);
			snprintf(tc->gotoolchain, sizeof(tc->gotoolchain), "local");
			tc->env = ge;
			tc->matches = true;
			return 0;
		}
	}
	if (host < 0) {
		log_err("--source needs a Go toolchain and there is none here (no go on PATH, in "
			"/usr/local/go/bin or /usr/lib/go-*/bin): install one, e.g. apt-get install "
			"golang-go");
		return -ENOENT;
	}
	/* A toolchain GOTOOLCHAIN fetched before: golang.org/toolchain in the module cache. */
	uname(&u);
	snprintf(path, sizeof(path), "%s/golang.org/toolchain@v0.0.1-%s.linux-%s/bin/go",
		 host_env.modcache, want,
		 !strcmp(u.machine, "aarch64") ? "arm64" : "amd64");
	if (!access(path, X_OK) && !go_env(path, "local", QUICK_TIMEOUT_S, sigfd, &ge) &&
	    !strcmp(ge.version, want)) {
		copy_str(tc->go, sizeof(tc->go), path);
		snprintf(tc->gotoolchain, sizeof(tc->gotoolchain), "local");
		tc->env = ge;
		tc->matches = true;
		return 0;
	}
	/* The go command itself fetches toolchains since go1.21. */
	if (parse_minor(host_env.version) >= 21 && parse_minor(want) >= 0) {
		log_info("--source: fetching %s through GOTOOLCHAIN (once; the module cache keeps "
			 "it)", want);
		if (!go_env(cands[host], want, FETCH_TIMEOUT_S, sigfd, &ge) &&
		    !strcmp(ge.version, want)) {
			copy_str(tc->go, sizeof(tc->go), cands[host]);
			snprintf(tc->gotoolchain, sizeof(tc->gotoolchain), "%s", want);
			tc->env = ge;
			tc->matches = true;
			return 0;
		}
	}
	log_warn("--source: no %s toolchain here or through GOTOOLCHAIN; using %s (%s), whose "
		 "escape analysis can differ from the one that built the binary",
		 want, host_env.version, cands[host]);
	copy_str(tc->go, sizeof(tc->go), cands[host]);
	snprintf(tc->gotoolchain, sizeof(tc->gotoolchain), "local");
	tc->env = host_env;
	return 0;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, mode) && errno != EEXIST ? -errno : 0;
}

/* GOCACHE for the build: the toolchain's own unless another user owns it (see the top). */
static const char *pick_gocache(const struct go_env *ge, char *buf, size_t len)
{
	struct stat st;
	char parent[PATH_MAX];
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (ge->cache[0] == '/') {
		snprintf(parent, sizeof(parent), "%s", ge->cache);
		if (!stat(ge->cache, &st) && st.st_uid == geteuid())
			return NULL;
		if (stat(ge->cache, &st) && strrchr(parent, '/')) {
			*strrchr(parent, '/') = '\0';
			if (!stat(parent[0] ? parent : "/", &st) && st.st_uid == geteuid())
				return NULL;	/* go creates it, as ours */
		}
	}
	if (!geteuid())
		snprintf(buf, len, "/var/cache/heapscope/go-build");
	else if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/heapscope/go-build", xdg);
	else
		snprintf(buf, len, "%s/.cache/heapscope/go-build", home ? home : "/tmp");
	if (mkdir_p(buf, 0700))
		return NULL;
	log_dbg("--source: GOCACHE %s (%s belongs to another user)", buf, ge->cache);
	return buf;
}

/* --- the tree ------------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	*len = buf ? fread(buf, 1, max, f) : 0;
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* The directory holding go.mod at or above dir; "" (GOPATH mode) when there is none. */
static void module_root(const char *dir, char *root, size_t len, char *module, size_t mlen)
{
	char buf[PATH_MAX + 8];
	size_t n;

	snprintf(root, len, "%s", dir);
	module[0] = '\0';
	for (;;) {
		char *text, *slash;

		snprintf(buf, sizeof(buf), "%s/go.mod", root);
		text = read_file(buf, MAX_GOMOD, &n);
		if (text) {
			if (!escape__gomod_module(text, n, module, mlen))
				module[0] = '\0';
			free(text);
			return;
		}
		slash = strrchr(root, '/');
		if (!slash || slash == root)
			break;
		*slash = '\0';
	}
	snprintf(root, len, "%s", dir);
}

/* git's answer for the tree, or "" (not a checkout, no git, or git refuses: a repository owned
 * by another user is not read as root, on purpose). GIT_OPTIONAL_LOCKS=0: no index refresh,
 * so nothing is written into the tree. */
static bool git(const char *root, const char *const *args, char *out, size_t len, int sigfd)
{
	const char *argv[16] = { NULL, "-C", root };
	const char *env[] = { "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C", NULL };
	struct cmd c = { .argv = argv, .cwd = root, .env = env, .timeout_s = QUICK_TIMEOUT_S,
			 .sigfd = sigfd };
	char gitbin[PATH_MAX];
	int k = 3;
	bool ok;

	out[0] = '\0';
	if (!find_in_path("git", gitbin, sizeof(gitbin)))
		return false;
	argv[0] = gitbin;
	for (; *args && k < 15; args++)
		argv[k++] = *args;
	ok = !run_cmd(&c) && cmd_ok(&c);
	if (ok)
		first_line(c.out.buf, out, len);
	else
		log_dbg("--source: git %s: %s", argv[3], first_line(c.err.buf, out, len));
	if (!ok)
		out[0] = '\0';
	cmd_free(&c);
	return ok;
}

static bool is_hash(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return (n == 40 || n == 64) && (!s[n] || s[n] == '\n' || s[n] == ' ');
}

/* The commit of a ref: its loose file in the common directory, or its line in packed-refs. */
static bool resolve_ref(const char *common, const char *ref, char *out, size_t len)
{
	char path[PATH_MAX * 2], *text, *line;
	size_t n;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/%s", common, ref);
	text = read_file(path, 256, &n);
	if (text && is_hash(text)) {
		snprintf(out, len, "%.*s", (int)strspn(text, "0123456789abcdef"), text);
		free(text);
		return true;
	}
	free(text);
	snprintf(path, sizeof(path), "%s/packed-refs", common);
	text = read_file(path, 64u << 20, &n);
	for (line = text; line && *line && !ok; line = strchr(line, '\n')) {
		const char *sp = strchr(line += *line == '\n', ' ');
		size_t k = strlen(ref);

		ok = is_hash(line) && sp && !strncmp(sp + 1, ref, k) &&
		     (sp[1 + k] == '\n' || !sp[1 + k]);
		if (ok)
			snprintf(out, len, "%.*s", (int)(sp - line), line);
	}
	free(text);
	return ok;
}

/* git HEAD of the checkout holding dir, read from the repository's files rather than by
 * running git: as root, git (rightly) refuses a repository another user owns (its config could
 * run commands), and reading HEAD needs none of it. Handles worktrees (.git file, commondir),
 * symbolic and detached HEAD, loose and packed refs. false when dir is not in a checkout. */
static bool git_head(const char *dir, char *out, size_t len)
{
	char d[PATH_MAX], gitdir[PATH_MAX * 2], common[PATH_MAX * 3], path[PATH_MAX * 4];
	char *text = NULL, *slash;
	struct stat st;
	bool ok = false;
	size_t n;

	snprintf(d, sizeof(d), "%s", dir);
	for (;;) {
		snprintf(gitdir, sizeof(gitdir), "%s/.git", d);
		if (!stat(gitdir, &st))
			break;
		slash = strrchr(d, '/');
		if (!slash || slash == d)
			return false;
		*slash = '\0';
	}
	if (S_ISREG(st.st_mode)) {
		/* a worktree: "gitdir: PATH", relative to the checkout */
		text = read_file(gitdir, PATH_MAX, &n);
		if (!text || strncmp(text, "gitdir: ", 8))
			goto out;
		text[strcspn(text, "\n")] = '\0';
		if (text[8] == '/')
			snprintf(gitdir, sizeof(gitdir), "%s", text + 8);
		else
			snprintf(gitdir, sizeof(gitdir), "%s/%s", d, text + 8);
		free(text);
		text = NULL;
	}
	snprintf(common, sizeof(common), "%s", gitdir);
	snprintf(path, sizeof(path), "%s/commondir", gitdir);
	text = read_file(path, PATH_MAX, &n);
	if (text) {
		text[strcspn(text, "\n")] = '\0';
		if (text[0] == '/')
			snprintf(common, sizeof(common), "%s", text);
		else
			snprintf(common, sizeof(common), "%s/%s", gitdir, text);
		free(text);
	}
	snprintf(path, sizeof(path), "%s/HEAD", gitdir);
	text = read_file(path, 4096, &n);
	if (!text)
		goto out;
	text[strcspn(text, "\n")] = '\0';
	if (is_hash(text)) {
		snprintf(out, len, "%s", text);	/* detached */
		ok = true;
	} else if (!strncmp(text, "ref: ", 5)) {
		/* HEAD itself lives in the worktree's gitdir, branches in the common one */
		ok = resolve_ref(common, text + 5, out, len) || resolve_ref(gitdir, text + 5, out, len);
	}
out:
	free(text);
	return ok;
}

/* A pseudo-version's revision prefix: "v0.0.0-20240101120000-0123456789ab[+dirty]". */
static bool pseudo_revision(const char *v, char *out, size_t len)
{
	const char *dash = strrchr(v, '-');
	size_t n = 0;

	if (!dash)
		return false;
	for (dash++; dash[n] && dash[n] != '+'; n++)
		if (!((dash[n] >= '0' && dash[n] <= '9') || (dash[n] >= 'a' && dash[n] <= 'f')))
			return false;
	if (n != 12 || len <= n)
		return false;
	memcpy(out, dash, n);
	out[n] = '\0';
	return true;
}

/* One warning when the tree may not be the binary's source, NULL when nothing contradicts. */
static char *match_warning(struct source *src, const char *dir, int sigfd)
{
	const struct go_modinfo *mi = &src->mi;
	const char *rev = go_modinfo__setting(mi, "vcs.revision");
	const char *modified = go_modinfo__setting(mi, "vcs.modified");
	const char *ver = mi->main.version ? mi->main.version : "";
	static const char *const dirty_args[] = { "status", "--porcelain", "--untracked-files=no",
						  "--", ".", NULL };
	struct strbuf sb = { 0 };
	char dirty[64], pseudo[16], tagrev[64];
	bool tree_dirty;
	char *w = NULL;

	if (mi->main.path && mi->main.path[0] && src->module[0] && strcmp(mi->main.path, src->module))
		strbuf_printf(&sb, "the binary's module is %s, the tree's is %s; ", mi->main.path,
			      src->module);
	if (!git_head(src->root, src->revision, sizeof(src->revision)))
		src->revision[0] = '\0';
	/* Uncommitted changes need git itself (the index); as root it only reads repositories
	 * root owns, and otherwise the tree's state is not claimed either way. */
	tree_dirty = src->revision[0] &&
		     git(src->root, dirty_args, dirty, sizeof(dirty), sigfd) && dirty[0];
	if (rev && src->revision[0] && strcmp(rev, src->revision)) {
		strbuf_printf(&sb, "the binary was built from revision %.12s%s, the tree is at %.12s%s; ",
			      rev, modified && !strcmp(modified, "true") ? " with uncommitted changes" : "",
			      src->revision, tree_dirty ? " with uncommitted changes" : "");
	} else if (!rev && src->revision[0] && pseudo_revision(ver, pseudo, sizeof(pseudo)) &&
		   strncmp(pseudo, src->revision, 12)) {
		strbuf_printf(&sb, "the binary is version %s (revision %s), the tree is at %.12s; ", ver,
			      pseudo, src->revision);
	} else if (!rev && src->revision[0] && ver[0] == 'v' && !strchr(ver, '-')) {
		char ref[192];
		const char *tag_args[] = { "rev-parse", "-q", "--verify", ref, NULL };

		/* a release: its tag (vX.Y.Z+incompatible is tagged vX.Y.Z) should be HEAD */
		snprintf(ref, sizeof(ref), "refs/tags/%.*s^{commit}", (int)strcspn(ver, "+"), ver);
		if (git(src->root, tag_args, tagrev, sizeof(tagrev), sigfd) &&
		    strcmp(tagrev, src->revision))
			strbuf_printf(&sb, "the binary is version %s, tagged at %.12s, the tree is at "
					   "%.12s; ",
				      ver, tagrev, src->revision);
	} else if (rev && src->revision[0] && modified && !strcmp(modified, "true")) {
		log_info("--source: the binary was built from uncommitted changes to %.12s (the "
			 "tree's revision); lines edited since can be joined to the wrong messages",
			 rev);
	}
	if (!sb.len) {
		log_dbg("--source: nothing contradicts %s being the binary's source", dir);
	} else if (!sb.oom) {
		sb.buf[sb.len - 2] = '\0';	/* the last "; " */
		if (asprintf(&w, "%s may not be the source of this binary: %s; messages are joined "
				 "by file and line, so lines that differ get the wrong ones or none",
			     dir, sb.buf) < 0)
			w = NULL;
	}
	strbuf_free(&sb);
	return w;
}

/* Flags of the binary's build that change what is compiled: tags, race/msan/asan, its own
 * -gcflags (inlining and escape analysis depend on -l, -N). Environment settings (GOOS,
 * GOARCH, GOAMD64, CGO_ENABLED, GOEXPERIMENT) go into env. */
static int build_args(const struct source *src, const struct toolchain *tc, const char *pkg,
		      char *gcflags, size_t gclen, char *their_gc, size_t tlen, char *tags,
		      size_t taglen, const char **argv, char **env, int *nenv)
{
	const struct go_modinfo *mi = &src->mi;
	const char *v;
	int n = 0;

	argv[n++] = tc->go;
	argv[n++] = "list";
	argv[n++] = "-export";
	argv[n++] = "-f";
	argv[n++] = "{{.ImportPath}}";
	v = go_modinfo__setting(mi, "-gcflags");
	if (v && *v) {
		/* "[pattern=]flags": theirs stay for what they matched, and apply to the tree's
		 * packages too, with -m=2 added (one -gcflags per package: the last match wins). */
		const char *eq = v[0] != '-' ? strchr(v, '=') : NULL;

		snprintf(their_gc, tlen, "-gcflags=%s", v);
		argv[n++] = their_gc;
		snprintf(gcflags, gclen, "-gcflags=./...=%s -m=2", eq ? eq + 1 : v);
	} else {
		snprintf(gcflags, gclen, "-gcflags=./...=-m=2");
	}
	argv[n++] = gcflags;
	v = go_modinfo__setting(mi, "-tags");
	if (v && *v) {
		snprintf(tags, taglen, "-tags=%s", v);
		argv[n++] = tags;
	}
	if ((v = go_modinfo__setting(mi, "-race")) && !strcmp(v, "true"))
		argv[n++] = "-race";
	if ((v = go_modinfo__setting(mi, "-msan")) && !strcmp(v, "true"))
		argv[n++] = "-msan";
	if ((v = go_modinfo__setting(mi, "-asan")) && !strcmp(v, "true"))
		argv[n++] = "-asan";
	argv[n++] = pkg;
	argv[n] = NULL;
	for (size_t i = 0; i < mi->nsettings; i++) {
		const char *k = mi->settings[i].key;
		bool envlike = !strncmp(k, "CGO_", 4) || !strncmp(k, "GO", 2);

		for (const char *p = k; envlike && *p; p++)
			envlike = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
		/* an experiment another toolchain may not know would fail the build */
		if (!envlike || (!strcmp(k, "GOEXPERIMENT") && !tc->matches))
			continue;
		if (asprintf(&env[(*nenv)++], "%s=%s", k, mi->settings[i].value) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The line of go's output that says why it failed: go's own ("go: ...") or a compile error. */
static const char *build_error(const char *err, char *buf, size_t len)
{
	static const char *const diag[] = { "escape", "inlin", "leak", "moved to heap",
					    "capturing", "flow:", " from ", "does not",
					    "devirtualiz", "param" };
	const char *s = err ? err : "";

	while (*s) {
		size_t n = strcspn(s, "\n");
		bool is_diag = s[0] == '#';

		for (size_t i = 0; !is_diag && i < sizeof(diag) / sizeof(diag[0]); i++)
			is_diag = memmem(s, n, diag[i], strlen(diag[i])) != NULL;
		if (n && !is_diag) {
			snprintf(buf, len, "%.*s", (int)n, s);
			return buf;
		}
		s += n + !!s[n];
	}
	snprintf(buf, len, "no error message");
	return buf;
}

static int compile(struct source *src, const struct toolchain *tc, const char *pkg,
		   bool gopath, int sigfd)
{
	char gcflags[1024], their_gc[1024], tags[1024], cache[PATH_MAX], msg[512];
	char goflags[64], tcenv[128], cacheenv[PATH_MAX + 16], pwd[PATH_MAX + 8];
	const char *argv[16], *gocache;
	char *extra[64] = { 0 };
	const char *env[80];
	int nextra = 0, nenv = 0, err;
	struct stat st;
	struct cmd c = { .argv = argv, .cwd = src->root, .timeout_s = GO_TIMEOUT_S,
			 .sigfd = sigfd };
	uint64_t t0 = now_monotonic_ns();
	char vendor[PATH_MAX + 32];

	err = build_args(src, tc, pkg, gcflags, sizeof(gcflags), their_gc, sizeof(their_gc), tags,
			 sizeof(tags), argv, extra, &nextra);
	if (err)
		goto cleanup;
	/* Never write into the tree: -mod=readonly (or the vendor directory as it is). */
	snprintf(vendor, sizeof(vendor), "%s/vendor/modules.txt", src->root);
	snprintf(goflags, sizeof(goflags), "GOFLAGS=%s",
		 gopath ? "" : !stat(vendor, &st) ? "-mod=vendor" : "-mod=readonly");
	snprintf(tcenv, sizeof(tcenv), "GOTOOLCHAIN=%s", tc->gotoolchain);
	snprintf(pwd, sizeof(pwd), "PWD=%s", src->root);
	env[nenv++] = goflags;
	env[nenv++] = tcenv;
	env[nenv++] = pwd;
	env[nenv++] = gopath ? "GO111MODULE=off" : "GO111MODULE=on";
	gocache = pick_gocache(&tc->env, cache, sizeof(cache));
	if (gocache) {
		snprintf(cacheenv, sizeof(cacheenv), "GOCACHE=%s", gocache);
		env[nenv++] = cacheenv;
	}
	for (int i = 0; i < nextra; i++)
		env[nenv++] = extra[i];
	env[nenv] = NULL;
	c.env = env;
	log_dbg("--source: in %s: %s %s %s %s", src->root, tc->go, gcflags, tags[0] ? tags : "",
		pkg);
	err = run_cmd(&c);
	if (err == -EINTR) {
		log_err("--source: interrupted while the compiler ran");
		goto cleanup;
	}
	if (err == -ETIMEDOUT) {
		log_err("--source: the compiler took more than %d s on %s; try again (a first run "
			"fills the build cache)", GO_TIMEOUT_S, src->root);
		goto cleanup;
	}
	if (err) {
		log_err("--source: cannot run %s: %s", tc->go, strerror(-err));
		goto cleanup;
	}
	if (!cmd_ok(&c)) {
		log_err("--source: %s does not build with %s: %s", src->root, tc->env.version,
			build_error(c.err.buf, msg, sizeof(msg)));
		err = -EINVAL;
		goto cleanup;
	}
	err = escape_db__parse(&src->db, c.err.buf ? c.err.buf : "", c.err.len);
	if (err) {
		log_err("--source: out of memory parsing the compiler's output");
		goto cleanup;
	}
	log_info("--source: escape analysis of %s by %s: %zu messages in %zu files (%.1f s)",
		 src->root, tc->env.version, escape_db__nmsgs(src->db), escape_db__nfiles(src->db),
		 (now_monotonic_ns() - t0) / 1e9);
cleanup:
	for (int i = 0; i < nextra; i++)
		free(extra[i]);
	cmd_free(&c);
	return err;
}

/* The binary's Go version without experiments: "go1.26.10-X:foo" -> "go1.26.10". */
static void base_version(const char *v, char *out, size_t len)
{
	size_t n = strcspn(v, " ");
	const char *x = strstr(v, "-X:");

	if (x && (size_t)(x - v) < n)
		n = x - v;
	snprintf(out, len, "%.*s", (int)n, v);
}

int source__open(struct source **out, const char *dir, pid_t pid, int sigfd)
{
	char exe[64], real[PATH_MAX], want[64], pkg[PATH_MAX + 4], pkgdir[PATH_MAX * 2];
	const char *mains[2], *rel = NULL;
	struct go_version ver;
	struct toolchain tc;
	struct source *src;
	struct goelf *g;
	struct stat st;
	bool gopath;
	int err;

	*out = NULL;
	if (!realpath(dir, real) || stat(real, &st)) {
		err = -errno;
		log_err("--source %s: %s", dir, strerror(-err));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("--source %s: not a directory", dir);
		return -ENOTDIR;
	}
	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	g = goelf__open(exe);
	err = g ? buildinfo__read(g, &ver) : -errno;
	if (err) {
		log_err("--source: cannot read the Go build info of PID %d (%s): %s", (int)pid, exe,
			strerror(-err));
		goto fail;
	}
	err = buildinfo__read_modinfo(g, &src->mi);
	goelf__close(g);
	g = NULL;
	if (err && err != -ENOENT) {
		log_err("--source: PID %d's module info is unreadable: %s", (int)pid, strerror(-err));
		goto fail;
	}
	module_root(real, src->root, sizeof(src->root), src->module, sizeof(src->module));
	gopath = !src->module[0];
	/* The main package's directory: its import path under the tree's module (or under the
	 * binary's, when the module was renamed). */
	mains[0] = src->module[0] ? src->module : NULL;
	mains[1] = src->mi.main.path && src->mi.main.path[0] ? src->mi.main.path : NULL;
	for (int i = 0; i < 2 && !rel && src->mi.path; i++) {
		size_t k = mains[i] ? strlen(mains[i]) : 0;

		if (!k)
			continue;
		if (!strcmp(src->mi.path, mains[i]))
			rel = "";
		else if (!strncmp(src->mi.path, mains[i], k) && src->mi.path[k] == '/')
			rel = src->mi.path + k + 1;
	}
	if (!rel && (gopath || !src->mi.path || !strcmp(src->mi.path, "command-line-arguments")))
		rel = real + strlen(src->root) + (real[strlen(src->root)] == '/');
	if (!rel) {
		log_err("--source %s: the binary's main package %s is not in module %s (%s); give "
			"the directory of its module",
			dir, src->mi.path, src->module, src->root);
		err = -ENOENT;
		goto fail;
	}
	snprintf(pkgdir, sizeof(pkgdir), "%s/%s", src->root, rel);
	if (stat(pkgdir, &st) || !S_ISDIR(st.st_mode)) {
		log_err("--source %s: no directory %s for the binary's main package %s", dir, pkgdir,
			src->mi.path ? src->mi.path : "?");
		err = -ENOENT;
		goto fail;
	}
	snprintf(pkg, sizeof(pkg), "%s%s", rel[0] ? "./" : ".", rel);
	src->map.main_pkg = src->mi.path ? src->mi.path : "command-line-arguments";
	src->map.modules[0] = mains[1];
	src->map.modules[1] = mains[0];
	if (gopath)
		src->map.modules[1] = src->mi.path;	/* GOPATH: packages below the main one */

	base_version(ver.str, want, sizeof(want));
	err = pick_toolchain(want, sigfd, &tc);
	if (!err)
		err = compile(src, &tc, pkg, gopath, sigfd);
	if (err)
		goto fail;
	snprintf(src->toolchain, sizeof(src->toolchain), "%s", tc.env.version);
	src->warning = match_warning(src, real, sigfd);
	if (src->warning)
		log_warn("%s", src->warning);
	src->info = (struct escape_source){
		.dir = src->root,
		.module = src->module[0] ? src->module : NULL,
		.revision = src->revision[0] ? src->revision : NULL,
		.toolchain = src->toolchain,
		.toolchain_matches = tc.matches,
		.warning = src->warning,
		.nmsgs = escape_db__nmsgs(src->db),
		.nfiles = escape_db__nfiles(src->db),
	};
	*out = src;
	return 0;
fail:
	goelf__close(g);
	source__close(src);
	return err;
}

void source__close(struct source *src)
{
	if (!src)
		return;
	for (size_t i = 0; i < src->nsites; i++)
		free(src->sites[i]);
	free(src->sites);
	free(src->slots);
	escape_db__free(src->db);
	go_modinfo__free(&src->mi);
	free(src->warning);
	free(src);
}

const struct escape_source *source__info(const struct source *src)
{
	return src ? &src->info : NULL;
}

/* --- the join, cached ---------------------------------------------------------------------- */

static size_t slot_of(const struct source *src, const char *func, const char *file, int line,
		      const char *kind)
{
	uint64_t h = (uintptr_t)func * 0x9e3779b97f4a7c15ull;

	h ^= (uintptr_t)file * 0xc2b2ae3d27d4eb4full;
	h ^= (uint64_t)line * 0x165667b19e3779f9ull;
	h ^= (uintptr_t)kind * 0x27d4eb2f165667c5ull;
	return (h ^ h >> 29) & (src->nslots - 1);
}

static int rehash(struct source *src)
{
	size_t n = src->nslots ? src->nslots * 2 : 1024;
	uint32_t *slots = calloc(n, sizeof(*slots)), *old = src->slots;

	if (!slots)
		return -ENOMEM;
	src->slots = slots;
	src->nslots = n;
	for (size_t i = 0; i < src->nsites; i++) {
		const struct site_entry *e = src->sites[i];
		size_t k = slot_of(src, e->func, e->file, e->line, e->kind);

		while (slots[k])
			k = (k + 1) & (n - 1);
		slots[k] = i + 1;
	}
	free(old);
	return 0;
}

static struct site_entry *entry_get(struct source *src, const char *func, const char *file,
				    int line, const char *kind)
{
	struct site_entry *e;
	size_t k;

	if ((src->nsites + 1) * 2 > src->nslots && rehash(src))
		return NULL;
	for (k = slot_of(src, func, file, line, kind); src->slots[k];
	     k = (k + 1) & (src->nslots - 1)) {
		e = src->sites[src->slots[k] - 1];
		if (e->func == func && e->file == file && e->line == line && e->kind == kind)
			return e;
	}
	if (src->nsites == src->cap) {
		size_t cap = src->cap ? src->cap * 2 : 256;
		struct site_entry **s = realloc(src->sites, cap * sizeof(*s));

		if (!s)
			return NULL;
		src->sites = s;
		src->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	*e = (struct site_entry){ .func = func, .file = file, .line = line, .kind = kind };
	src->sites[src->nsites++] = e;
	src->slots[k] = src->nsites;
	return e;
}

/* One stack into the site of its first frame and kind, keyed exactly as agg keys sites. */
static void join_stack(struct source *src, const struct agg *a, const struct agg_stack_stats *st)
{
	struct escape_frame fr[SOURCE_MAX_FRAMES];
	int nf = st->nframes < SOURCE_MAX_FRAMES ? st->nframes : SOURCE_MAX_FRAMES;
	struct site_entry *e;

	if (nf <= 0)
		return;
	for (int k = 0; k < nf; k++)
		fr[k] = (struct escape_frame){ agg__str(a, st->frames[k].func),
					       agg__str(a, st->frames[k].file),
					       (int)st->frames[k].line };
	e = entry_get(src, fr[0].func, fr[0].file, fr[0].line, agg__str(a, st->kind));
	if (e)
		escape__add_stack(&e->es, src->db, &src->map, fr, nf, e->kind, st->bytes);
}

/* Join the stacks agg has: only new ones at a dashboard refresh (agg appends stacks, never
 * reorders them), all of them every FULL_REJOIN_NS, because the bytes of the stacks seen
 * before keep growing and decide which place of an inlined site comes first. */
static void refresh(struct source *src, const struct agg *a)
{
	const struct agg_stack_stats *st;
	uint64_t now = now_monotonic_ns();
	size_t n, from = src->stacks_seen;

	st = agg__stacks(a, &n);
	if (n == src->stacks_seen)
		return;
	if (n < src->stacks_seen || now - src->last_full_ns >= FULL_REJOIN_NS) {
		for (size_t i = 0; i < src->nsites; i++)
			memset(&src->sites[i]->es, 0, sizeof(src->sites[i]->es));
		from = 0;
		src->last_full_ns = now;
	}
	for (size_t i = from; i < n; i++)
		join_stack(src, a, &st[i]);
	src->stacks_seen = n;
}

const struct escape_site *source__site(struct source *src, const struct agg *a, const char *func,
				       const char *file, int line, const char *kind)
{
	struct site_entry *e;

	if (!src)
		return NULL;
	refresh(src, a);
	e = entry_get(src, func, file, line, kind);
	if (!e)
		return NULL;
	/* No stack for it (none recorded yet): the site's own line is all there is. */
	if (!e->es.nplaces) {
		struct escape_frame fr = { func, file, line };

		escape__add_stack(&e->es, src->db, &src->map, &fr, 1, kind, 0);
	}
	return &e->es;
}

void source__annotate(struct source *src, const struct agg *a, struct report *r)
{
	if (!src)
		return;
	r->source = &src->info;
	for (size_t i = 0; i < r->nrows; i++) {
		struct report_row *row = &r->rows[i];

		for (size_t k = 0; k < row->nsites; k++) {
			struct report_site *st = &row->sites[k];

			st->escape = source__site(src, a, row->function, st->file, st->line,
						  st->kind);
		}
	}
}

int source__place(const struct source *src, const struct escape_frame *frames, int n,
		  const char *kind, struct escape_place *place)
{
	struct escape_site site = { 0 };

	if (!src || !frames || n <= 0)
		return -EINVAL;
	escape__add_stack(&site, src->db, &src->map, frames,
			  n < SOURCE_MAX_FRAMES ? n : SOURCE_MAX_FRAMES, kind, 0);
	/* a first stack always makes a place */
	*place = site.places[0];
	return 0;
}
