/* SPDX-License-Identifier: GPL-2.0 */
/* `heapscope top`: the live dashboard (curses) or, in batch mode, the same frames as plain text
 * on stdout, refreshed every interval from one attached session. */
#ifndef __TOP_H
#define __TOP_H

#include <stdbool.h>
#include "session.h"

struct top_opts {
	struct session_opts session;	/* -p, --exact, --sample-bytes, --read-only */
	uint32_t ringbuf_bytes;		/* --ring-buffer-kb, 0 = default */
	double interval_s;		/* -d: refresh interval, seconds (default 1) */
	double window_s;		/* -w: rates over this sliding window (default 10 s) */
	bool batch;			/* -b: plain text frames (also when stdout is no tty or
					 * TERM is dumb/unset) */
	long iterations;		/* -n: frames before exiting 0; 0 = until q or a signal */
	bool no_color;			/* -C / --no-color (NO_COLOR is honoured as well) */
	int batch_width;		/* batch frame width; 0 = $COLUMNS, else 160 */
	const char *source;		/* --source DIR: escape analysis in the detail view */
};

/* Runs until q, a signal or -n frames. Returns the exit status: 0, or 1 on a runtime error or
 * when the target exits in batch mode (the interactive screen says so and waits for q). */
int cmd_top(const struct top_opts *o);

#endif /* __TOP_H */
