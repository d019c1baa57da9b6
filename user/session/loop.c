// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "loop.h"

int loop__init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

int loop__add(struct loop *l, int fd, loop_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int k = 0;

	/* a slot loop__del freed, else a new one */
	while (k < l->nfds && l->h[k].fn)
		k++;
	if (k == LOOP_MAX_FDS)
		return -ENOSPC;
	ev.data.u32 = k;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	l->h[k].fd = fd;
	l->h[k].fn = fn;
	l->h[k].ctx = ctx;
	if (k == l->nfds)
		l->nfds++;
	return 0;
}

int loop__del(struct loop *l, int fd)
{
	for (int i = 0; i < l->nfds; i++) {
		if (l->h[i].fd != fd || !l->h[i].fn)
			continue;
		l->h[i].fn = NULL;	/* the slot stays: epoll data holds indices */
		return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
	}
	return -ENOENT;
}

int loop__run(struct loop *l)
{
	struct epoll_event evs[LOOP_MAX_FDS];

	for (;;) {
		int n = epoll_wait(l->epfd, evs, LOOP_MAX_FDS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			unsigned k = evs[i].data.u32;
			int ret;

			if (!l->h[k].fn)	/* deleted by an earlier handler in this batch */
				continue;
			ret = l->h[k].fn(l->h[k].ctx, l->h[k].fd, evs[i].events);

			if (ret)
				return ret < 0 ? ret : 0;
		}
	}
}

void loop__close(struct loop *l)
{
	if (l->epfd > 0)
		close(l->epfd);
	l->epfd = -1;
}

int signalfd_for(const int *sigs, int n)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int timerfd_after(uint64_t first_ns, uint64_t interval_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / 1000000000ull, first_ns % 1000000000ull },
		.it_interval = { interval_ns / 1000000000ull, interval_ns % 1000000000ull },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int pidfd_for(int pid)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}
