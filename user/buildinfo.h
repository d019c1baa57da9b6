/* SPDX-License-Identifier: GPL-2.0 */
/* Go version from .go.buildinfo. Pure parser. */
#ifndef __BUILDINFO_H
#define __BUILDINFO_H

#include <stdbool.h>
#include "goelf.h"

struct go_version {
	int major;		/* 1 */
	int minor;		/* 26 */
	int patch;		/* 8; 0 when the string has none (go1.21rc2 -> 0) */
	bool experiments;	/* "-X:..." suffix present */
	char str[64];		/* the raw string, "go1.26.10-X:sizespecializedmalloc" */
};

/* 0, -ENOENT (no buildinfo: not a Go binary), -EINVAL (malformed),
 * -ENOTSUP (pre-1.18 pointer format: Go too old for heapscope). */
int buildinfo__read(const struct goelf *g, struct go_version *v);
/* Parse "go1.21.13", "go1.26.10-X:foo", "go1.21rc2", "devel ...". 0 or -EINVAL. */
int buildinfo__parse_version(const char *s, struct go_version *v);
/* <0, 0, >0 comparing v with major.minor. */
int go_version__cmp(const struct go_version *v, int major, int minor);

#endif /* __BUILDINFO_H */
