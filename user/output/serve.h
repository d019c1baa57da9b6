/* SPDX-License-Identifier: GPL-2.0 */
/* `heapscope serve`: a node agent for Prometheus. One tracer (one BPF object) for every target;
 * targets given with -p, or every Go process on the host (--all), found again as they come and
 * go; /metrics in text 0.0.4 or OpenMetrics 1.0.0 over libmicrohttpd in the one event loop. */
#ifndef __SERVE_H
#define __SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVE_DEFAULT_MAX_FUNCTIONS 100
#define SERVE_SCAN_INTERVAL_MS 2000

struct serve_opts {
	const pid_t *pids;		/* -p PID, repeatable */
	size_t npids;
	bool all;			/* --all */
	const char *listen;		/* --listen ADDR:PORT; NULL: 127.0.0.1:9464 */
	size_t max_functions;		/* --max-functions: per-function series per target */
	int64_t sample_bytes;		/* --sample-bytes */
	bool read_only;			/* --read-only */
	uint32_t ringbuf_bytes;		/* --ring-buffer-kb */
};

/* Runs until SIGINT/SIGTERM. Returns the exit status: 0, or 1 when it cannot start (one line on
 * stderr says why). */
int cmd_serve(const struct serve_opts *o);

#endif /* __SERVE_H */
