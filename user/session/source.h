/* SPDX-License-Identifier: GPL-2.0 */
/* --source DIR: run the Go compiler's escape analysis on the observed program's source tree
 * (once per run), and join its messages to the live allocation sites. The impure half of
 * escape.c: it finds a toolchain, runs `go list -export -gcflags=-m=2`, reads go.mod and git. */
#ifndef __SOURCE_H
#define __SOURCE_H

#include <stdint.h>
#include <sys/types.h>
#include "escape.h"

struct agg;
struct report;
struct source;

/* Read the binary of pid (its build info), pick the toolchain that matches its Go version,
 * compile dir's packages with escape diagnostics and parse them; warn once when dir does not
 * look like the binary's source. Before anything is attached, so a tree that does not build
 * fails early. sigfd (or -1): a signal on it interrupts the compiler. 0 or -errno, with one
 * line already logged saying what failed. Never writes into dir. */
int source__open(struct source **out, const char *dir, pid_t pid, int sigfd);
void source__close(struct source *src);

const struct escape_source *source__info(const struct source *src);

/* The explanation of the site (function, file, line, kind: agg's interned strings) from every
 * stack agg has for it; recomputed only when agg has new stacks, and at a stable address for
 * the life of src. NULL without src. */
const struct escape_site *source__site(struct source *src, const struct agg *a, const char *func,
				       const char *file, int line, const char *kind);
/* Every site of every row of r: sites[].escape, and r->source. */
void source__annotate(struct source *src, const struct agg *a, struct report *r);

/* Frames of a stack the join looks at: the inlining chains the compiler reports at one call are
 * shorter than this. */
#define SOURCE_MAX_FRAMES 16

/* One allocation stack judged alone: frames[0..n) site first, callers outward (only the first
 * SOURCE_MAX_FRAMES are looked at), kind as agg.h names it (NULL: unknown). For a profile,
 * which labels each sample with its own stack's place, where source__site sums all the stacks
 * of a site and keeps the largest places. *place points into src (messages) and frames
 * (inlined_into). 0, or -EINVAL without src or frames. */
int source__place(const struct source *src, const struct escape_frame *frames, int n,
		  const char *kind, struct escape_place *place);

#endif /* __SOURCE_H */
