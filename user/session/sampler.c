// SPDX-License-Identifier: GPL-2.0
/* Only syscalls and fixed buffers on the leave path: it also runs from fatal-signal handlers. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "sampler.h"
#include "util.h"

#define STATE_MAGIC "HSRATE1"

struct state_obs {
	int32_t pid;
	uint32_t pad;
	uint64_t start_ticks;
};

struct state {
	char magic[8];
	uint64_t addr;		/* the rate's run-time address, a check that the file fits */
	int64_t orig;		/* found before any heapscope wrote */
	int64_t written;	/* what heapscope wrote; 0: nothing */
	uint32_t nobs;
	uint32_t pad;
	struct state_obs obs[HS_MAX_OBSERVERS];
};

/* Joined samplers, for the fatal-signal path. */
#define MAX_ACTIVE 256
static struct sampler *active[MAX_ACTIVE];
static pid_t self_pid;
static uint64_t self_start;

int64_t sampler__marked_rate(int64_t want)
{
	if (want < 64)
		return want;
	return (want & ~(int64_t)((1 << HS_RATE_MARK_BITS) - 1)) | HS_RATE_MARK;
}

bool sampler__is_marked(int64_t rate)
{
	return rate >= 64 && (rate & ((1 << HS_RATE_MARK_BITS) - 1)) == HS_RATE_MARK;
}

static void fatal_signal(int sig)
{
	sampler__emergency_leave_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track(struct sampler *s)
{
	static bool installed;

	for (int i = 0; i < MAX_ACTIVE; i++) {
		if (!active[i]) {
			active[i] = s;
			break;
		}
	}
	if (installed)
		return;
	installed = true;
	atexit(sampler__emergency_leave_all);
	signal(SIGSEGV, fatal_signal);
	signal(SIGBUS, fatal_signal);
	signal(SIGFPE, fatal_signal);
	signal(SIGILL, fatal_signal);
	signal(SIGABRT, fatal_signal);
}

static void untrack(struct sampler *s)
{
	for (int i = 0; i < MAX_ACTIVE; i++)
		if (active[i] == s)
			active[i] = NULL;
}

/* async: from a signal handler, where /proc parsing (stdio) is off limits; a PID is then taken as
 * alive while it exists, so a recycled one at worst keeps the rate for the next run to adopt. */
static bool observer_alive(const struct state_obs *o, bool async)
{
	uint64_t start;

	if (o->pid <= 0 || (kill(o->pid, 0) && errno != EPERM))
		return false;
	if (async)
		return true;
	return !proc__start_ticks(o->pid, &start) && start == o->start_ticks;
}

/* Drop dead observers (and, with self set, this process); returns how many remain. */
static uint32_t prune(struct state *st, bool drop_self, bool async)
{
	uint32_t n = 0;

	if (st->nobs > HS_MAX_OBSERVERS)
		st->nobs = HS_MAX_OBSERVERS;
	for (uint32_t i = 0; i < st->nobs; i++) {
		const struct state_obs *o = &st->obs[i];

		if (drop_self && o->pid == self_pid && o->start_ticks == self_start)
			continue;
		if (!observer_alive(o, async))
			continue;
		st->obs[n++] = *o;
	}
	st->nobs = n;
	return n;
}

static size_t state_size(const struct state *st)
{
	return offsetof(struct state, obs) + st->nobs * sizeof(st->obs[0]);
}

static int read_state(int fd, struct state *st)
{
	ssize_t n = pread(fd, st, sizeof(*st), 0);

	if (n < (ssize_t)offsetof(struct state, obs) || memcmp(st->magic, STATE_MAGIC, 8)) {
		memset(st, 0, sizeof(*st));
		return -ENOENT;
	}
	if ((size_t)n < state_size(st))
		st->nobs = (n - offsetof(struct state, obs)) / sizeof(st->obs[0]);
	return 0;
}

static int write_state(int fd, const struct state *st)
{
	size_t len = state_size(st);

	if (pwrite(fd, st, len, 0) != (ssize_t)len || ftruncate(fd, len))
		return -errno;
	return 0;
}

/* The state file, locked. A leaver may unlink it while we wait for the lock; then the file we
 * hold is not the one at the path any more, and we open it again. */
static int lock_state(const char *path)
{
	struct stat a, b;

	for (int tries = 0; tries < 16; tries++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX)) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	return -EAGAIN;
}

static void state_path(struct sampler *s)
{
	snprintf(s->state_path, sizeof(s->state_path), HS_STATE_DIR "/rate-%d-%llu-%llx-%llu",
		 s->proc->pid, (unsigned long long)s->proc->start_ticks,
		 (unsigned long long)s->proc->exe_dev, (unsigned long long)s->proc->exe_ino);
}

static int write_rate(struct sampler *s, int64_t rate)
{
	int err = proc__write(s->proc, s->addr, &rate, sizeof(rate));

	if (err)
		log_err("cannot write runtime.MemProfileRate of PID %d (/proc/%d/mem): %s",
			s->proc->pid, s->proc->pid, strerror(-err));
	return err;
}

/* Under the lock: decide from the state, the current value and what this run wants. */
static int decide(struct sampler *s, struct state *st, bool have_state, int64_t want,
		  bool read_only)
{
	int64_t cur = s->found;
	uint32_t live;

	if (have_state && st->addr != s->addr)
		have_state = false;
	live = have_state ? prune(st, false, false) : 0;
	if (have_state && st->written && cur == st->written) {
		s->orig = st->orig;
		s->written = st->written;
		s->in_force = cur;
		s->nothers = live;
		s->how = live ? SAMPLER_SHARED : SAMPLER_ADOPTED;
		return 0;
	}
	/* A file that no longer describes the target (it set its own rate since): start over,
	 * keeping whoever still observes. */
	if (!have_state) {
		memset(st, 0, sizeof(*st));
		memcpy(st->magic, STATE_MAGIC, 8);
	}
	st->addr = s->addr;
	st->orig = 0;
	st->written = 0;
	if (sampler__is_marked(cur)) {
		/* No record, but only heapscope writes such a value, and only over a 0. */
		s->how = SAMPLER_ADOPTED;
		s->orig = 0;
		s->written = cur;
		s->in_force = cur;
	} else if (cur == 0 && want > 0 && !read_only) {
		int64_t w = sampler__marked_rate(want);
		int err = write_rate(s, w);

		if (err)
			return err;
		s->how = SAMPLER_ENABLED;
		s->orig = 0;
		s->written = w;
		s->in_force = w;
	} else {
		s->how = cur == 0 ? SAMPLER_OFF : SAMPLER_TARGETS_OWN;
		s->in_force = cur;
		return 0;
	}
	st->orig = s->orig;
	st->written = s->written;
	return 0;
}

int sampler__join(struct sampler *s, struct proc *p, uint64_t addr, int64_t want, bool read_only)
{
	struct state st, prev;
	bool have_state;
	int fd = -1, err;

	memset(s, 0, sizeof(*s));
	s->proc = p;
	s->addr = addr;
	if (!self_pid) {
		self_pid = getpid();
		proc__start_ticks(self_pid, &self_start);
	}
	err = proc__read(p, addr, &s->found, sizeof(s->found));
	if (err || s->found < 0 || s->found > (1ll << 40)) {
		log_err("cannot read runtime.MemProfileRate of PID %d (%s)", p->pid,
			err ? strerror(-err) : "implausible value");
		return err ? err : -EINVAL;
	}
	s->in_force = s->found;
	state_path(s);
	if (read_only) {
		s->how = s->found ? SAMPLER_TARGETS_OWN : SAMPLER_OFF;
		if (sampler__is_marked(s->found))
			s->how = SAMPLER_LEFT_READONLY;
		return 0;
	}
	if (mkdir(HS_STATE_DIR, 0700) && errno != EEXIST)
		log_dbg("cannot create %s: %s (concurrent runs on one target cannot coordinate)",
			HS_STATE_DIR, strerror(errno));
	fd = lock_state(s->state_path);
	if (fd < 0)
		log_dbg("cannot lock %s: %s", s->state_path, strerror(-fd));
	have_state = fd >= 0 && !read_state(fd, &st);
	if (!have_state)
		memset(&st, 0, sizeof(st));
	prev = st;
	err = decide(s, &st, have_state, want, read_only);
	if (err)
		goto cleanup;
	if (s->how == SAMPLER_ADOPTED && have_state && prev.nobs)
		s->left_by = prev.obs[prev.nobs - 1].pid;
	if (!s->written) {
		/* Nothing of ours to undo: keep the file only for observers that still need it. */
		if (fd >= 0 && !prune(&st, false, false))
			unlink(s->state_path);
		else if (fd >= 0)
			write_state(fd, &st);
		goto cleanup;
	}
	if (fd >= 0 && st.nobs < HS_MAX_OBSERVERS) {
		st.obs[st.nobs++] = (struct state_obs){ .pid = self_pid, .start_ticks = self_start };
		if (!write_state(fd, &st))
			s->registered = true;
	}
	track(s);
cleanup:
	if (fd >= 0)
		close(fd);	/* releases the lock */
	return err;
}

int sampler__check(struct sampler *s, int64_t *now, bool *changed)
{
	int err = proc__read(s->proc, s->addr, now, sizeof(*now));

	*changed = !err && *now != s->in_force;
	return err;
}

/* The restore, shared by the normal and the fatal-signal paths. */
static void leave(struct sampler *s, bool async, char *msg, size_t msglen)
{
	struct state st;
	int64_t cur;
	int fd = -1;
	bool last = true;

	if (msg && msglen)
		msg[0] = 0;
	if (!s->written)
		return;
	untrack(s);
	if (s->registered) {
		fd = lock_state(s->state_path);
		if (fd >= 0 && !read_state(fd, &st) && st.addr == s->addr) {
			last = !prune(&st, true, async);
			if (!last)
				write_state(fd, &st);
		}
	}
	s->registered = false;
	if (last) {
		if (proc__read(s->proc, s->addr, &cur, sizeof(cur))) {
			/* gone (exit or exec): nothing left to restore */
		} else if (cur == s->written) {
			if (async)
				proc__write_raw(s->proc, s->addr, &s->orig, sizeof(s->orig));
			else if (proc__write(s->proc, s->addr, &s->orig, sizeof(s->orig)) && msg)
				snprintf(msg, msglen, "could not restore MemProfileRate %lld in PID %d",
					 (long long)s->orig, s->proc->pid);
		} else if (msg && !async) {
			snprintf(msg, msglen,
				 "left MemProfileRate %lld in PID %d as it is: it was changed since "
				 "heapscope set %lld, not by heapscope",
				 (long long)cur, s->proc->pid, (long long)s->written);
		}
		if (fd >= 0)
			unlink(s->state_path);
	}
	s->written = 0;
	if (fd >= 0)
		close(fd);
}

void sampler__leave(struct sampler *s, char *msg, size_t msglen)
{
	if (!s)
		return;
	leave(s, false, msg, msglen);
}

void sampler__emergency_leave_all(void)
{
	for (int i = 0; i < MAX_ACTIVE; i++) {
		struct sampler *s = active[i];

		if (s) {
			active[i] = NULL;
			leave(s, true, NULL, 0);
		}
	}
}
