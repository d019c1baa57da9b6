/* SPDX-License-Identifier: GPL-2.0 */
/* The Go compiler's escape analysis (`go build -gcflags=-m=2` output) as data: a parser of the
 * diagnostics, a classifier of why something escapes, and the join of those messages to a live
 * allocation site by file and line (through inlining and the binary's package paths). Pure: the
 * text comes in, nothing here runs the compiler (source.c does). */
#ifndef __ESCAPE_H
#define __ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

enum escape_msg_type {
	ESC_MSG_ESCAPES,	/* "&T{...} escapes to heap", "append escapes to heap" */
	ESC_MSG_MOVED,		/* "moved to heap: x" */
	ESC_MSG_NO_ESCAPE,	/* "make([]byte, n) does not escape" */
	ESC_MSG_LEAK,		/* "leaking param: p", "leaking param content: p", "... to result" */
	ESC_MSG_CAPTURE,	/* "f capturing by ref: x (addr=false assign=true width=8)" */
	ESC_MSG_INLINE_CALL,	/* "inlining call to pkg.F" */
	ESC_MSG_OTHER,		/* other escape-analysis lines: "zero-copy string->[]byte ..." */
};

/* Why a value went to the heap, in terms a remedy can name. Stable names: escape_cause__name. */
enum escape_cause {
	ESC_CAUSE_NONE,		/* nothing the compiler said explains a heap allocation */
	ESC_CAUSE_RETURNED,	/* a pointer to it is returned */
	ESC_CAUSE_INTERFACE,	/* boxed by a conversion to an interface */
	ESC_CAUSE_CLOSURE,	/* captured by (or is) a closure that outlives the call */
	ESC_CAUSE_NONCONST_SIZE,	/* make with a size unknown at compile time */
	ESC_CAUSE_TOO_LARGE,	/* over the stack limit for implicit allocations (64 KiB) */
	ESC_CAUSE_GLOBAL,	/* assigned to a global or into memory already on the heap */
	ESC_CAUSE_CHANNEL,	/* sent on a channel */
	ESC_CAUSE_CALL,		/* passed to a function that keeps it (its parameter leaks) */
	ESC_CAUSE_UNKNOWN,	/* escapes, but the compiler gave no reason this recognises */
	ESC_NCAUSES,
};

struct escape_msg {
	const char *file;	/* relative to the directory the compiler ran in, without "./";
				 * absolute (or "../...") when outside it */
	int line, col;		/* col 0 when the compiler printed none */
	enum escape_msg_type type;
	const char *text;	/* everything after the position: "&rec{...} escapes to heap" */
	const char *expr;	/* what it is about: "&rec{...}", "x", the callee; may be "" */
	const char *const *flow;	/* -m=2 explanation: "flow: ~r0 = &{storage for ...}:" and
					 * "  from ... (return) at ./x.go:3:9" lines */
	int nflow;
};

struct escape_db;

/* Parse the compiler's output (stderr of `go build -gcflags=-m=2`, any Go 1.18+ wording).
 * Lines that are not diagnostics ("# pkg", "go: downloading") are skipped. 0 or -ENOMEM. */
int escape_db__parse(struct escape_db **db, const char *text, size_t len);
void escape_db__free(struct escape_db *db);
/* Messages at file:line in column order (the escape ones and "inlining call to"); NULL and
 * *n = 0 when there are none. Valid while the db lives. */
const struct escape_msg *escape_db__at(const struct escape_db *db, const char *file, int line,
				       size_t *n);
/* The compiler reported on this file at all (every compiled function gets a line at -m=2). */
bool escape_db__has_file(const struct escape_db *db, const char *file);
size_t escape_db__nmsgs(const struct escape_db *db);
size_t escape_db__nfiles(const struct escape_db *db);

/* The cause of an escape message for an allocation of this kind (agg.h's kinds: "new",
 * "boxing", ...; NULL when unknown): ESC_CAUSE_NONE for messages that are not escapes. */
enum escape_cause escape__classify(const struct escape_msg *m, const char *kind);
/* Could this message be about an allocation of this kind (a runtime call the compiler emits
 * for that expression)? */
bool escape__kind_matches(const struct escape_msg *m, const char *kind);
const char *escape_cause__name(enum escape_cause c);	/* "returned-pointer"; NULL for NONE */
const char *escape_cause__text(enum escape_cause c);	/* "returned pointer" */
const char *escape_cause__remedy(enum escape_cause c);	/* what to do about it */

/* How the binary's functions map onto the source tree the compiler ran in (its module root). */
struct escape_map {
	const char *main_pkg;	/* the binary's main package import path (build info "path") */
	const char *modules[2];	/* module paths whose packages are in the tree: the binary's
				 * main module and the tree's go.mod module (NULL: none) */
};

/* The file key (relative to the tree, as escape_db files are) of a frame of function func in
 * file (the binary's path: absolute from any machine, or -trimpath's "module/dir/file.go"),
 * written to buf; NULL when func's package is not in the tree (a dependency, the standard
 * library). The package directory comes from the function's import path, so it works whatever
 * the build machine's paths were. */
const char *escape__file_key(const struct escape_map *m, const char *func, const char *file,
			     char *buf, size_t len);

enum escape_status {
	ESC_ST_ESCAPES,		/* an "escapes"/"moved to heap" message is about this allocation */
	ESC_ST_NO_ESCAPE,	/* the compiler says it does not escape (see cause) */
	ESC_ST_SILENT,		/* the file was compiled; nothing said about this allocation here */
	ESC_ST_NOT_COMPILED,	/* in the tree, but the compiler reported nothing on the file */
	ESC_ST_OUTSIDE,		/* its package is not in the tree: dependency or standard library */
};

struct escape_frame {
	const char *func, *file;
	int line;
};

/* Where the compiler speaks about one allocation site: the site's own line, or the line it was
 * inlined into (the compiler reports inlined code at the outermost call). */
struct escape_place {
	enum escape_status status;
	char file[256];		/* the file key; "" when outside */
	int line;
	const char *inlined_into;	/* function at that line when inlined there; else NULL */
	const struct escape_msg *msgs;	/* every message at file:line ... */
	size_t nmsgs;
	const struct escape_msg *because;	/* ... and the one about this allocation, or NULL */
	enum escape_cause cause;
	double bytes;		/* of the stacks that resolved here */
};

#define ESCAPE_MAX_PLACES 4

/* One allocation site (function, file, line, kind) joined with the diagnostics. */
struct escape_site {
	struct escape_place places[ESCAPE_MAX_PLACES];	/* by bytes, descending */
	int nplaces;
	int nmore;		/* further places, not kept */
};

/* Add the stack frames[0..n) (site first, callers outward; bytes it allocated) of an allocation
 * of this kind to site: resolves inlining through the "inlining call to" messages, then looks
 * the line up. Frames' strings must outlive site. */
void escape__add_stack(struct escape_site *site, const struct escape_db *db,
		       const struct escape_map *m, const struct escape_frame *frames, int n,
		       const char *kind, double bytes);

struct strbuf;
struct jsonw;
/* Text lines under a report row, each starting with indent; flow lines beyond max_flow are
 * counted, not shown (0: all). */
void escape__text(struct strbuf *sb, const struct escape_site *site, const char *indent,
		  int max_flow);
/* The "escape" object of a site in stat's JSON. */
void escape__json(struct jsonw *w, const struct escape_site *site);
/* One-line summary for narrow places (top's detail view): "returned pointer: &T{...} escapes
 * to heap" or what is known instead. */
const char *escape__summary(const struct escape_site *site, char *buf, size_t len);
const char *escape_status__name(enum escape_status st);
/* One stable name for what is known about a place, for a label to filter on: its cause's name
 * ("returned-pointer"; a does-not-escape place has one when the heap allocation is its
 * fallback), else its status's ("silent", "not-compiled", "outside", ...). Never NULL. */
const char *escape_place__name(const struct escape_place *p);

/* What --source compiled and how well it matches the binary: the report's header. */
struct escape_source {
	const char *dir;		/* the module root the compiler ran in */
	const char *module;		/* its go.mod module path; NULL in GOPATH mode */
	const char *revision;		/* its git HEAD; NULL when not a git checkout */
	const char *toolchain;		/* GOVERSION of the compiler that ran */
	bool toolchain_matches;		/* the binary's Go version */
	const char *warning;		/* why the tree may not be the binary's source; NULL */
	size_t nmsgs, nfiles;		/* what the compiler said */
};
void escape__json_source(struct jsonw *w, const struct escape_source *s);
void escape__text_source(struct strbuf *sb, const struct escape_source *s);

/* Module path of a go.mod file's text ("module example.com/x", quoted or not), into buf; NULL
 * when there is no module line. */
const char *escape__gomod_module(const char *text, size_t len, char *buf, size_t buflen);

#endif /* __ESCAPE_H */
