/* SPDX-License-Identifier: GPL-2.0 */
/* The one event loop: epoll over the ring buffer, a timer, signals, the target's pidfd, stdin
 * and (for serve) sockets. Handlers are short and run on this one thread. */
#ifndef __LOOP_H
#define __LOOP_H

#include <stdint.h>

#define LOOP_MAX_FDS 16

/* A handler returns 0 to go on, LOOP_STOP to end the loop, or -errno to end it with an error. */
#define LOOP_STOP 1
typedef int (*loop_fn)(void *ctx, int fd, uint32_t events);

struct loop {
	int epfd;
	int nfds;
	struct {
		int fd;
		loop_fn fn;
		void *ctx;
	} h[LOOP_MAX_FDS];
};

int loop__init(struct loop *l);
int loop__add(struct loop *l, int fd, loop_fn fn, void *ctx);
/* Stop watching fd (one that stays readable, like an exited target's pidfd). 0 or -errno. */
int loop__del(struct loop *l, int fd);
/* Until a handler stops it. 0 or -errno. */
int loop__run(struct loop *l);
void loop__close(struct loop *l);

/* Block the given signals (so they arrive only through the fd) and return a signalfd. */
int signalfd_for(const int *sigs, int n);
/* A periodic (interval_ns) or one-shot (interval 0) CLOCK_MONOTONIC timerfd. */
int timerfd_after(uint64_t first_ns, uint64_t interval_ns);
/* A pidfd that becomes readable when the process exits; -errno if unsupported. */
int pidfd_for(int pid);

#endif /* __LOOP_H */
