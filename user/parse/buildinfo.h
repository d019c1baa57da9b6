/* SPDX-License-Identifier: GPL-2.0 */
/* Go version and module info (what `go version -m` prints) from .go.buildinfo. Pure parser. */
#ifndef __BUILDINFO_H
#define __BUILDINFO_H

#include <stdbool.h>
#include <stddef.h>
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
/* The Go build ID (.note.go.buildid, in every Go binary, stripped or not: what `go tool buildid`
 * prints) into buf. 0, -ENOENT, -EINVAL (malformed or longer than len). */
int buildinfo__go_build_id(const struct goelf *g, char *buf, size_t len);
/* The GNU build ID (.note.gnu.build-id) as lower-case hex: what runtime/pprof puts in a profile's
 * mapping and symbol servers index binaries by. Go's own linker writes one from Go 1.26 (and an
 * external linker, as in cgo builds, always). 0, -ENOENT, -EINVAL. */
int buildinfo__gnu_build_id(const struct goelf *g, char *hex, size_t len);
/* <0, 0, >0 comparing v with major.minor. */
int go_version__cmp(const struct go_version *v, int major, int minor);

/* A module line of the build info: "mod" (the main module) or "dep", with its "=>" replacement. */
struct go_module {
	char *path;
	char *version;		/* "(devel)" for a main module built from a checkout; "" when absent */
	char *sum;		/* "h1:..." or "" */
	struct go_module *replace;	/* NULL unless replaced */
};

/* One "build" line: -trimpath=true, -ldflags=..., CGO_ENABLED=1, GOOS, vcs.revision, ... */
struct go_setting {
	char *key, *value;
};

/* runtime/debug.BuildInfo, as the go command embeds it (Go 1.18+). */
struct go_modinfo {
	char *path;		/* main package import path; "command-line-arguments" for files */
	struct go_module main;	/* path "" when built outside module mode (GOPATH) */
	struct go_module *deps;
	size_t ndeps;
	struct go_setting *settings;
	size_t nsettings;
};

/* The module info of a binary: 0, -ENOENT (no buildinfo, or a binary built without module
 * info: mi is then empty), -EINVAL (malformed), -ENOTSUP (pre-1.18), -ENOMEM. */
int buildinfo__read_modinfo(const struct goelf *g, struct go_modinfo *mi);
/* Parse the text form (runtime/debug.ParseBuildInfo's input: "path\t...\nmod\t...\n"), with or
 * without the 16-byte sentinels the linker frames it with. 0, -EINVAL or -ENOMEM; mi is
 * emptied first and left empty on error. */
int buildinfo__parse_modinfo(const char *s, size_t len, struct go_modinfo *mi);
void go_modinfo__free(struct go_modinfo *mi);
/* Value of a build setting, or NULL when absent. */
const char *go_modinfo__setting(const struct go_modinfo *mi, const char *key);

#endif /* __BUILDINFO_H */
