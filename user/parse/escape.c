// SPDX-License-Identifier: GPL-2.0
/* Escape-analysis diagnostics. The wording, from cmd/compile/internal/escape (solve.go
 * explainPath/explainFlow, escape.go finish, utils.go HeapAllocReason), across Go 1.18-1.27:
 *
 *   ./x.go:19:9: &rec{...} escapes to heap:             -m=2 explanation header
 *   ./x.go:19:9: &rec{...} escapes to heap in newRec:   the same, Go 1.25+
 *   ./x.go:19:9:   flow: ~r0 = &{storage for &rec{...}}:     ("←" instead of "=" from 1.25)
 *   ./x.go:19:9:     from &rec{...} (spill) at ./x.go:19:9
 *   ./x.go:19:9:     from return &rec{...} (return) at ./x.go:19:2
 *   ./x.go:19:9: &rec{...} escapes to heap              the verdict, printed after all
 *   ./x.go:30:2: moved to heap: n                       a variable (its header: "n escapes ...")
 *   ./x.go:39:11: make([]byte, n) does not escape
 *   ./x.go:65:11: parameter r leaks to {heap} with derefs=0:   ("for F" before "with", 1.25+)
 *   ./x.go:65:11: leaking param: r
 *   ./x.go:10:13: append escapes to heap                Go 1.25+ (header "append(s, i) ...")
 *   ./x.go:13:15: inlining call to newRec               inlined code is reported at the call
 *
 * The reasons in parentheses are the compiler's notes: spill, assign, assign-pair, return,
 * call parameter, captured by a closure, interface-converted, send, too large for stack,
 * non-constant size (before 1.25: since then a variable-size make that does not escape gets a
 * 32-byte stack buffer and the heap only when larger), ... */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "json.h"
#include "util.h"

#define ARENA_CHUNK (64u << 10)
#define MAX_INLINE_DEPTH 8	/* inlined frames followed outward to find the reporting line */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

/* A -m=2 explanation, waiting for the verdict line it belongs to. */
struct block {
	const char *file;
	int line, col;
	const char *expr;	/* "&rec{...}"; "param:r" for a parameter's leak */
	const char **flow;
	int nflow, cap;
	bool used;
};

struct escape_db {
	struct arena_chunk *arena;
	struct escape_msg *msgs;
	size_t nmsgs, cap;
	struct block *blocks;
	size_t nblocks, bcap;
	const char **files;	/* sorted after parsing */
	size_t nfiles, fcap;
	const char **fset;	/* open-addressing set for interning, while parsing */
	size_t fset_cap;
	bool oom;
};

static void *arena_alloc(struct escape_db *db, size_t n)
{
	struct arena_chunk *c = db->arena;

	n = (n + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c) {
			db->oom = true;
			return NULL;
		}
		c->next = db->arena;
		c->used = 0;
		c->cap = cap;
		db->arena = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static const char *arena_strndup(struct escape_db *db, const char *s, size_t n)
{
	char *p = arena_alloc(db, n + 1);

	if (!p)
		return "";
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* One copy of each file name, so messages compare files by pointer while parsing. */
static const char *intern_file(struct escape_db *db, const char *s, size_t n)
{
	size_t i;

	if (db->nfiles * 2 >= db->fset_cap) {
		size_t cap = db->fset_cap ? db->fset_cap * 2 : 256;
		const char **set = calloc(cap, sizeof(*set));

		if (!set) {
			db->oom = true;
			return "";
		}
		for (size_t k = 0; k < db->fset_cap; k++) {
			if (!db->fset[k])
				continue;
			for (i = hash_str(db->fset[k], strlen(db->fset[k])) & (cap - 1); set[i];
			     i = (i + 1) & (cap - 1))
				;
			set[i] = db->fset[k];
		}
		free(db->fset);
		db->fset = set;
		db->fset_cap = cap;
	}
	for (i = hash_str(s, n) & (db->fset_cap - 1); db->fset[i]; i = (i + 1) & (db->fset_cap - 1))
		if (!strncmp(db->fset[i], s, n) && !db->fset[i][n])
			return db->fset[i];
	if (db->nfiles == db->fcap) {
		size_t cap = db->fcap ? db->fcap * 2 : 64;
		const char **f = realloc(db->files, cap * sizeof(*f));

		if (!f) {
			db->oom = true;
			return "";
		}
		db->files = f;
		db->fcap = cap;
	}
	db->fset[i] = arena_strndup(db, s, n);
	db->files[db->nfiles++] = db->fset[i];
	return db->fset[i];
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* "path:line:col: " or "path:line: " at the start of s. Returns the length of the position
 * including ": ", 0 when the line has none. */
static size_t parse_pos(const char *s, size_t n, size_t *path_len, int *line, int *col)
{
	for (size_t i = 1; i < n; i++) {
		size_t j = i + 1;
		long v[2] = { 0, 0 };
		int k = 0;

		if (s[i] != ':' || j >= n || s[j] < '0' || s[j] > '9')
			continue;
		for (;;) {
			if (j >= n || s[j] < '0' || s[j] > '9')
				break;
			while (j < n && s[j] >= '0' && s[j] <= '9' && v[k] < 100000000)
				v[k] = v[k] * 10 + (s[j++] - '0');
			k++;
			if (j < n && s[j] == ':' && k < 2 && j + 1 < n && s[j + 1] >= '0' &&
			    s[j + 1] <= '9') {
				j++;
				continue;
			}
			break;
		}
		if (j + 1 < n && s[j] == ':' && s[j + 1] == ' ') {
			*path_len = i;
			*line = (int)v[0];
			*col = k > 1 ? (int)v[1] : 0;
			return j + 2;
		}
	}
	return 0;
}

static struct escape_msg *new_msg(struct escape_db *db)
{
	if (db->nmsgs == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 256;
		struct escape_msg *m = realloc(db->msgs, cap * sizeof(*m));

		if (!m) {
			db->oom = true;
			return NULL;
		}
		db->msgs = m;
		db->cap = cap;
	}
	memset(&db->msgs[db->nmsgs], 0, sizeof(db->msgs[0]));
	return &db->msgs[db->nmsgs++];
}

static struct block *new_block(struct escape_db *db)
{
	if (db->nblocks == db->bcap) {
		size_t cap = db->bcap ? db->bcap * 2 : 64;
		struct block *b = realloc(db->blocks, cap * sizeof(*b));

		if (!b) {
			db->oom = true;
			return NULL;
		}
		db->blocks = b;
		db->bcap = cap;
	}
	memset(&db->blocks[db->nblocks], 0, sizeof(db->blocks[0]));
	return &db->blocks[db->nblocks++];
}

static void block_add(struct escape_db *db, struct block *b, const char *s, size_t n)
{
	if (b->nflow == b->cap) {
		int cap = b->cap ? b->cap * 2 : 8;
		const char **f = realloc(b->flow, cap * sizeof(*f));

		if (!f) {
			db->oom = true;
			return;
		}
		b->flow = f;
		b->cap = cap;
	}
	b->flow[b->nflow++] = arena_strndup(db, s, n);
}

/* A verdict line: its type, and where in r the thing it is about is (expr_at, expr_len). */
static bool classify_line(const char *r, size_t n, enum escape_msg_type *type, size_t *expr_at,
			  size_t *expr_len)
{
	static const struct {
		const char *prefix;
		enum escape_msg_type type;
	} prefixed[] = {
		{ "moved to heap: ", ESC_MSG_MOVED },
		{ "leaking param content: ", ESC_MSG_LEAK },
		{ "leaking param: ", ESC_MSG_LEAK },
		{ "inlining call to ", ESC_MSG_INLINE_CALL },
	};
	const char *p;

	for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]); i++) {
		size_t k = strlen(prefixed[i].prefix);

		if (n > k && !memcmp(r, prefixed[i].prefix, k)) {
			*type = prefixed[i].type;
			*expr_at = k;
			*expr_len = n - k;
			/* "leaking param: p to result ~r0 level=0": the parameter is p */
			if (*type == ESC_MSG_LEAK && (p = memchr(r + k, ' ', n - k)))
				*expr_len = p - (r + k);
			return true;
		}
	}
	*expr_at = 0;
	if (ends_with(r, n, " escapes to heap")) {
		*type = ESC_MSG_ESCAPES;
		*expr_len = n - strlen(" escapes to heap");
		return true;
	}
	if (ends_with(r, n, " does not escape") || ends_with(r, n, " does not escape, mutate, or call")) {
		*type = ESC_MSG_NO_ESCAPE;
		*expr_len = (const char *)memmem(r, n, " does not escape", 16) - r;
		return true;
	}
	if ((p = memmem(r, n, " capturing by ", 14))) {
		const char *name = memchr(p + 14, ' ', n - (p + 14 - r));

		*type = ESC_MSG_CAPTURE;
		*expr_at = name ? (size_t)(name + 1 - r) : n;
		*expr_len = 0;
		while (*expr_at + *expr_len < n && r[*expr_at + *expr_len] != ' ')
			(*expr_len)++;
		return true;
	}
	if (has_prefix(r, "zero-copy string->[]byte conversion")) {
		*type = ESC_MSG_OTHER;
		*expr_len = 0;
		return true;
	}
	return false;
}

static void parse_line(struct escape_db *db, const char *s, size_t n, struct block **cur)
{
	size_t plen, at, expr_at, expr_len, hdr;
	int line, col;
	const char *file, *r;
	enum escape_msg_type type;
	struct escape_msg *m;

	at = parse_pos(s, n, &plen, &line, &col);
	if (!at || line <= 0)
		return;	/* "# pkg", "go: downloading ...", error text */
	if (plen > 2 && s[0] == '.' && s[1] == '/') {
		s += 2;
		n -= 2;
		plen -= 2;
		at -= 2;
	}
	file = intern_file(db, s, plen);
	r = s + at;
	n -= at;
	/* Explanation lines are indented under their header's position. */
	if (n > 2 && r[0] == ' ' && r[1] == ' ') {
		if (*cur && (*cur)->file == file && (*cur)->line == line && (*cur)->col == col) {
			while (n && *r == ' ')
				r++, n--;
			/* "flow:" lines at one level, their "from" notes under them */
			if (has_prefix(r, "from ")) {
				char buf[4096];
				size_t k = n < sizeof(buf) - 3 ? n : sizeof(buf) - 3;

				buf[0] = buf[1] = ' ';
				memcpy(buf + 2, r, k);
				block_add(db, *cur, buf, k + 2);
			} else {
				block_add(db, *cur, r, n);
			}
		}
		return;
	}
	*cur = NULL;
	/* Headers end in ':' and say "escapes to heap" or "parameter p leaks to ...". */
	if (n && r[n - 1] == ':') {
		const char *e = memmem(r, n, " escapes to heap", 16);
		struct block *b;

		if (e && (e + 17 == r + n || has_prefix(e + 16, " in "))) {
			hdr = e - r;
			b = new_block(db);
			if (b)
				b->expr = arena_strndup(db, r, hdr);
		} else if (has_prefix(r, "parameter ") && memmem(r, n, " leaks to ", 10)) {
			const char *name = r + 10, *sp = memchr(name, ' ', n - 10);
			char buf[512];

			snprintf(buf, sizeof(buf), "param:%.*s", (int)(sp - name), name);
			b = new_block(db);
			if (b)
				b->expr = arena_strndup(db, buf, strlen(buf));
		} else {
			return;
		}
		if (b) {
			b->file = file;
			b->line = line;
			b->col = col;
			*cur = b;
		}
		return;
	}
	if (!classify_line(r, n, &type, &expr_at, &expr_len))
		return;	/* "can inline", "cannot inline", ...: only the file is recorded */
	m = new_msg(db);
	if (!m)
		return;
	m->file = file;
	m->line = line;
	m->col = col;
	m->type = type;
	m->text = arena_strndup(db, r, n);
	m->expr = arena_strndup(db, r + expr_at, expr_len);
}

/* Is explanation b the one of verdict m (same position, same expression)? */
static bool block_matches(const struct block *b, const struct escape_msg *m)
{
	if (b->file != m->file || b->line != m->line || b->col != m->col)
		return false;
	switch (m->type) {
	case ESC_MSG_ESCAPES:
		/* Go 1.25+ prints "append escapes to heap" under "append(s, i) escapes ..." */
		return !strcmp(b->expr, m->expr) ||
		       (!strcmp(m->expr, "append") && has_prefix(b->expr, "append("));
	case ESC_MSG_MOVED:
		return !strcmp(b->expr, m->expr);
	case ESC_MSG_LEAK:
		return has_prefix(b->expr, "param:") && !strcmp(b->expr + 6, m->expr);
	default:
		return false;
	}
}

static void attach_flows(struct escape_db *db)
{
	for (size_t i = 0; i < db->nmsgs; i++) {
		struct escape_msg *m = &db->msgs[i];
		int total = 0, k = 0;
		const char **flow;

		if (m->type != ESC_MSG_ESCAPES && m->type != ESC_MSG_MOVED && m->type != ESC_MSG_LEAK)
			continue;
		for (size_t b = 0; b < db->nblocks; b++)
			if (!db->blocks[b].used && block_matches(&db->blocks[b], m))
				total += db->blocks[b].nflow;
		if (!total)
			continue;
		flow = arena_alloc(db, total * sizeof(*flow));
		if (!flow)
			return;
		for (size_t b = 0; b < db->nblocks; b++) {
			struct block *bl = &db->blocks[b];

			if (bl->used || !block_matches(bl, m))
				continue;
			memcpy(flow + k, bl->flow, bl->nflow * sizeof(*flow));
			k += bl->nflow;
			bl->used = true;
		}
		m->flow = flow;
		m->nflow = total;
	}
}

static int msg_cmp(const void *a, const void *b)
{
	const struct escape_msg *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	/* keep the compiler's order within a position (qsort is not stable) */
	return x->text < y->text ? -1 : x->text > y->text;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int escape_db__parse(struct escape_db **out, const char *text, size_t len)
{
	struct escape_db *db = calloc(1, sizeof(*db));
	const char *s = text, *end = text + len;
	struct block *cur = NULL;

	*out = NULL;
	if (!db)
		return -ENOMEM;
	while (s < end && !db->oom) {
		const char *nl = memchr(s, '\n', end - s);
		size_t n = (nl ? nl : end) - s;

		parse_line(db, s, n, &cur);
		s += n + 1;
	}
	if (!db->oom)
		attach_flows(db);
	for (size_t b = 0; b < db->nblocks; b++)
		free(db->blocks[b].flow);
	free(db->blocks);
	db->blocks = NULL;
	db->nblocks = 0;
	free(db->fset);
	db->fset = NULL;
	if (db->oom) {
		escape_db__free(db);
		return -ENOMEM;
	}
	/* Arena strings are allocated in order, so text pointers order a position's lines. */
	if (db->nmsgs)
		qsort(db->msgs, db->nmsgs, sizeof(*db->msgs), msg_cmp);
	if (db->nfiles)
		qsort(db->files, db->nfiles, sizeof(*db->files), str_cmp);
	*out = db;
	return 0;
}

void escape_db__free(struct escape_db *db)
{
	struct arena_chunk *c, *next;

	if (!db)
		return;
	for (c = db->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	free(db->msgs);
	free(db->files);
	free(db->fset);
	free(db);
}

const struct escape_msg *escape_db__at(const struct escape_db *db, const char *file, int line,
				       size_t *n)
{
	size_t lo = 0, hi = db ? db->nmsgs : 0, end;

	*n = 0;
	if (!file)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(db->msgs[mid].file, file);

		if (c < 0 || (!c && db->msgs[mid].line < line))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < db->nmsgs && db->msgs[end].line == line &&
		       !strcmp(db->msgs[end].file, file);
	     end++)
		;
	*n = end - lo;
	return *n ? &db->msgs[lo] : NULL;
}

bool escape_db__has_file(const struct escape_db *db, const char *file)
{
	return db && file && db->nfiles &&
	       bsearch(&file, db->files, db->nfiles, sizeof(*db->files), str_cmp);
}

size_t escape_db__nmsgs(const struct escape_db *db)
{
	return db ? db->nmsgs : 0;
}

size_t escape_db__nfiles(const struct escape_db *db)
{
	return db ? db->nfiles : 0;
}

/* --- classification ------------------------------------------------------------------------ */

static const struct {
	const char *name, *text, *remedy;
} causes[ESC_NCAUSES] = {
	[ESC_CAUSE_NONE] = { NULL, "no escape reported", NULL },
	[ESC_CAUSE_RETURNED] = { "returned-pointer", "returned pointer",
				 "return a value instead of a pointer, or have the caller pass the "
				 "destination (a *T, or a buffer to fill)" },
	[ESC_CAUSE_INTERFACE] = { "interface-conversion", "interface conversion",
				  "keep interface{}/any off this path: concrete types or generics; "
				  "box once, outside the loop" },
	[ESC_CAUSE_CLOSURE] = { "closure-capture", "closure capture",
				"pass the values as arguments, or create the closure once instead "
				"of on every call" },
	[ESC_CAUSE_NONCONST_SIZE] = { "non-constant-size", "non-constant size",
				      "size it with a constant (an upper bound) so it can live on "
				      "the stack, or reuse a buffer (sync.Pool)" },
	[ESC_CAUSE_TOO_LARGE] = { "too-large", "too large for the stack",
				  "new/make/&T{} over 64 KiB never go on the stack: reuse one "
				  "buffer, or pool it (sync.Pool)" },
	[ESC_CAUSE_GLOBAL] = { "stored-in-heap", "stored in a global or on the heap",
			       "keep it local, or reuse the object already stored instead of "
			       "allocating a new one" },
	[ESC_CAUSE_CHANNEL] = { "sent-on-channel", "sent on a channel",
				"send values rather than pointers, or recycle what is sent "
				"(sync.Pool)" },
	[ESC_CAUSE_CALL] = { "leaks-to-callee", "passed to a function that keeps it",
			     "the callee keeps its argument (see its \"leaking param\" line): "
			     "change it not to, or pass a copy" },
	[ESC_CAUSE_UNKNOWN] = { "unknown", "escapes (reason not given)",
				"run go build -gcflags=-m=2 on the package to see the flow" },
};

const char *escape_cause__name(enum escape_cause c)
{
	return c < ESC_NCAUSES ? causes[c].name : NULL;
}

const char *escape_cause__text(enum escape_cause c)
{
	return c < ESC_NCAUSES ? causes[c].text : "?";
}

const char *escape_cause__remedy(enum escape_cause c)
{
	return c < ESC_NCAUSES ? causes[c].remedy : NULL;
}

enum expr_shape { SH_PTRLIT, SH_NEW, SH_MAKESLICE, SH_MAP, SH_CHAN, SH_CLOSURE, SH_SLICELIT,
		  SH_CONV, SH_CONCAT, SH_APPEND, SH_DDD, SH_VAR, SH_BARE };

/* What kind of expression the compiler printed (ir's formatting of each allocating op). */
static enum expr_shape shape_of(const struct escape_msg *m)
{
	const char *e = m->expr;

	if (m->type == ESC_MSG_MOVED)
		return SH_VAR;
	if (e[0] == '&')
		return SH_PTRLIT;
	if (has_prefix(e, "new("))
		return SH_NEW;
	if (has_prefix(e, "make([]"))
		return SH_MAKESLICE;
	if (has_prefix(e, "make(map[") || has_prefix(e, "map["))
		return SH_MAP;
	if (has_prefix(e, "make(chan"))
		return SH_CHAN;
	if (!strcmp(e, "func literal"))
		return SH_CLOSURE;
	if (!strcmp(e, "append") || has_prefix(e, "append("))
		return SH_APPEND;
	if (!strcmp(e, "... argument"))
		return SH_DDD;
	if (has_prefix(e, "string(") || has_prefix(e, "([]byte)(") || has_prefix(e, "([]rune)(") ||
	    has_prefix(e, "[]byte(") || has_prefix(e, "[]rune("))
		return SH_CONV;
	if (has_prefix(e, "[]"))
		return SH_SLICELIT;
	if (strstr(e, " + "))
		return SH_CONCAT;
	return SH_BARE;	/* an operand: implicit interface conversion, or a method value */
}

bool escape__kind_matches(const struct escape_msg *m, const char *kind)
{
	enum expr_shape sh = shape_of(m);

	if (!kind)
		return true;
	if (!strcmp(kind, "new"))
		/* newobject, and the direct mallocgc calls of Go 1.25+ (walk.walkMakeSliceCopy
		 * turns make+copy into mallocgc+memmove; ssagen turns newobject into it) */
		return sh == SH_PTRLIT || sh == SH_NEW || sh == SH_CLOSURE || sh == SH_SLICELIT ||
		       sh == SH_VAR || sh == SH_BARE || sh == SH_DDD || sh == SH_MAKESLICE;
	if (!strcmp(kind, "makeslicecopy"))	/* make+copy before Go 1.25 */
		return sh == SH_MAKESLICE;
	if (!strcmp(kind, "boxing"))
		return sh == SH_BARE;
	if (!strcmp(kind, "make-slice"))
		return sh == SH_MAKESLICE;
	if (!strcmp(kind, "append-growth"))
		return sh == SH_APPEND;
	if (!strcmp(kind, "string-concat"))
		return sh == SH_CONCAT;
	if (!strcmp(kind, "conversion"))
		return sh == SH_CONV;
	if (!strcmp(kind, "map-growth"))
		return sh == SH_MAP;
	return true;	/* a runtime entry agg.c does not name: any message may be it */
}

/* The note of a "  from WHERE (WHY) at POS" line, into buf; NULL for other lines. */
static const char *note_of(const char *line, char *buf, size_t len)
{
	const char *at, *close, *open;
	int depth = 0;

	if (!has_prefix(line, "  from "))
		return NULL;
	at = strstr(line, ") at ");
	for (const char *p = at; p; p = strstr(p + 1, ") at "))
		at = p;	/* the last one: WHERE may contain ") at " */
	if (!at)
		return NULL;
	close = at;
	for (open = close; open > line; open--) {
		if (*open == ')')
			depth++;
		else if (*open == '(' && !--depth)
			break;
	}
	if (open <= line)
		return NULL;
	snprintf(buf, len, "%.*s", (int)(close - open - 1), open + 1);
	return buf;
}

/* The destination of a "flow: DST = SRC:" / "flow: DST ← SRC:" line, into buf. */
static const char *flow_dst(const char *line, char *buf, size_t len)
{
	const char *p = line + 6, *e;
	int depth = 0;

	if (!has_prefix(line, "flow: "))
		return NULL;
	if (*p == '{') {
		for (e = p; *e; e++) {
			if (*e == '{')
				depth++;
			else if (*e == '}' && !--depth)
				break;
		}
		if (*e)
			e++;
	} else {
		e = strchr(p, ' ');
		if (!e)
			e = p + strlen(p);
	}
	snprintf(buf, len, "%.*s", (int)(e - p), p);
	return buf;
}

enum escape_cause escape__classify(const struct escape_msg *m, const char *kind)
{
	bool returned = false, sent = false, any_assign = false, last_call = false,
	     last_assign = false, to_heap = false;
	enum expr_shape sh = shape_of(m);
	char buf[256], dst[256] = "";

	if (m->type != ESC_MSG_ESCAPES && m->type != ESC_MSG_MOVED)
		return ESC_CAUSE_NONE;
	/* Reasons the compiler names outright come first: they hold wherever it flows. */
	for (int i = 0; i < m->nflow; i++) {
		const char *note = note_of(m->flow[i], buf, sizeof(buf));

		if (!note)
			continue;
		if (!strcmp(note, "too large for stack"))
			return ESC_CAUSE_TOO_LARGE;
		if (!strcmp(note, "non-constant size"))
			return ESC_CAUSE_NONCONST_SIZE;
	}
	if (sh == SH_CLOSURE)
		return ESC_CAUSE_CLOSURE;
	for (int i = 0; i < m->nflow; i++) {
		const char *note = note_of(m->flow[i], buf, sizeof(buf));

		if (note && !strcmp(note, "captured by a closure"))
			return ESC_CAUSE_CLOSURE;
	}
	for (int i = 0; i < m->nflow; i++) {
		const char *note = note_of(m->flow[i], buf, sizeof(buf));

		if (note && !strcmp(note, "interface-converted"))
			return ESC_CAUSE_INTERFACE;
	}
	/* A bare operand that escapes is the converted value (OCONVIFACE prints as its operand);
	 * for a "new" allocation it is a method value (s.M), whose flow says the rest. */
	if (sh == SH_BARE && (!kind || strcmp(kind, "new")))
		return ESC_CAUSE_INTERFACE;
	if (!m->nflow)
		return ESC_CAUSE_UNKNOWN;
	/* Then where it flows: the last hop is the one into the location that outlives it. */
	for (int i = 0; i < m->nflow; i++) {
		const char *note;

		if (flow_dst(m->flow[i], buf, sizeof(buf))) {
			snprintf(dst, sizeof(dst), "%s", buf);
			last_call = last_assign = false;
			continue;
		}
		note = note_of(m->flow[i], buf, sizeof(buf));
		if (!note)
			continue;
		if (!strcmp(note, "return"))
			returned = true;
		else if (!strcmp(note, "send"))
			sent = true;
		else if (!strcmp(note, "call parameter"))
			last_call = true;
		else if (!strcmp(note, "assign") || !strcmp(note, "assign-pair"))
			any_assign = last_assign = true;
	}
	to_heap = !strcmp(dst, "{heap}");
	if (!to_heap && (returned || has_prefix(dst, "~r") || has_prefix(dst, "~R")))
		return ESC_CAUSE_RETURNED;
	if (sent)
		return ESC_CAUSE_CHANNEL;
	if (last_call)
		return ESC_CAUSE_CALL;
	if (to_heap && (last_assign || any_assign))
		return ESC_CAUSE_GLOBAL;
	if (returned)
		return ESC_CAUSE_RETURNED;
	return ESC_CAUSE_UNKNOWN;
}

/* --- the join ------------------------------------------------------------------------------ */

static int hexval_c(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Go symbol -> its package's import path ("main" for package main), %xx-unescaped: the linker
 * escapes '.' in the last path element as %2e (cmd/internal/objabi.PathToPrefix). */
static const char *func_package(const char *func, char *buf, size_t len)
{
	const char *end = strchr(func, '[');
	const char *slash = NULL, *dot;
	size_t o = 0;

	if (!end)
		end = func + strlen(func);
	for (const char *p = func; p < end; p++)
		if (*p == '/')
			slash = p;
	dot = memchr(slash ? slash : func, '.', end - (slash ? slash : func));
	if (!dot)
		return NULL;
	for (const char *p = func; p < dot && o + 1 < len; p++) {
		int hi, lo;

		if (*p == '%' && p + 2 < dot && (hi = hexval_c(p[1])) >= 0 &&
		    (lo = hexval_c(p[2])) >= 0) {
			buf[o++] = (char)(hi << 4 | lo);
			p += 2;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
	return buf;
}

const char *escape__file_key(const struct escape_map *m, const char *func, const char *file,
			     char *buf, size_t len)
{
	const char *path, *base, *rel = NULL;
	char pkg[512];

	if (!func || !file || !*file || !func_package(func, pkg, sizeof(pkg)))
		return NULL;
	path = strcmp(pkg, "main") ? pkg : m->main_pkg;
	if (!path)
		return NULL;
	for (int i = 0; i < 2 && !rel; i++) {
		const char *mod = m->modules[i];
		size_t k = mod ? strlen(mod) : 0;

		if (!k)
			continue;
		if (!strcmp(path, mod))
			rel = "";
		else if (!strncmp(path, mod, k) && path[k] == '/')
			rel = path + k + 1;
	}
	/* `go build file.go ...`: the files of the tree's root directory */
	if (!rel && !strcmp(pkg, "main") && !strcmp(path, "command-line-arguments"))
		rel = "";
	if (!rel)
		return NULL;
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	if ((size_t)snprintf(buf, len, "%s%s%s", rel, *rel ? "/" : "", base) >= len)
		return NULL;
	return buf;
}

/* s without its [type arguments] and, for func, without the package path: "sub.(*T).M". */
static void strip_generic(const char *s, char *out, size_t len)
{
	size_t o = 0;
	int depth = 0;

	for (; *s && o + 1 < len; s++) {
		if (*s == '[')
			depth++;
		else if (*s == ']' && depth)
			depth--;
		else if (!depth)
			out[o++] = *s;
	}
	out[o] = '\0';
}

/* Is "inlining call to <callee>" about function func? The compiler names the callee relative to
 * the package being compiled ("newRec", "f.func1") or by package name ("sub.(*T).Clone",
 * "bytes.Clone", "yaml.Marshal" for gopkg.in/yaml%2ev3.Marshal). */
static bool callee_is(const char *callee, const char *func)
{
	char c[512], f[512];
	const char *slash, *local, *dot;

	strip_generic(callee, c, sizeof(c));
	strip_generic(func, f, sizeof(f));
	slash = strrchr(f, '/');
	local = strchr(slash ? slash : f, '.');
	if (!local)
		return false;
	local++;
	if (!strcmp(c, local))
		return true;
	dot = strchr(c, '.');
	return dot && !strcmp(dot + 1, local);
}

static bool inlined_at(const struct escape_db *db, const char *file, int line, const char *func)
{
	size_t n;
	const struct escape_msg *m = escape_db__at(db, file, line, &n);

	for (size_t i = 0; i < n; i++)
		if (m[i].type == ESC_MSG_INLINE_CALL && callee_is(m[i].expr, func))
			return true;
	return false;
}

/* make([]T, n) whose size is not a literal: letters in its last argument. */
static bool variable_size_make(const struct escape_msg *m)
{
	const char *comma, *e = m->expr;

	if (shape_of(m) != SH_MAKESLICE)
		return false;
	comma = strrchr(e, ',');
	for (const char *p = comma ? comma : e; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_')
			return true;
	return false;
}

/* The message about this allocation among those at the line: a verdict whose expression is of
 * the kind the runtime call says. */
static void judge(struct escape_place *p, const char *kind)
{
	p->because = NULL;
	p->cause = ESC_CAUSE_NONE;
	for (size_t i = 0; i < p->nmsgs && !p->because; i++) {
		const struct escape_msg *m = &p->msgs[i];

		if ((m->type == ESC_MSG_ESCAPES || m->type == ESC_MSG_MOVED) &&
		    escape__kind_matches(m, kind)) {
			p->because = m;
			p->status = ESC_ST_ESCAPES;
			p->cause = escape__classify(m, kind);
		}
	}
	for (size_t i = 0; i < p->nmsgs && !p->because; i++) {
		const struct escape_msg *m = &p->msgs[i];

		if (m->type != ESC_MSG_NO_ESCAPE || !escape__kind_matches(m, kind))
			continue;
		p->because = m;
		p->status = ESC_ST_NO_ESCAPE;
		/* Go 1.25+: a variable-size make that does not escape gets a 32-byte stack buffer
		 * (walk.walkMakeSlice) and calls makeslice only for larger sizes, so a make-slice
		 * allocation seen at its line is that fallback. */
		if (kind && !strcmp(kind, "make-slice") && variable_size_make(m))
			p->cause = ESC_CAUSE_NONCONST_SIZE;
	}
	if (!p->because)
		p->status = ESC_ST_SILENT;
}

static bool same_place(const struct escape_place *a, const struct escape_place *b)
{
	if (a->status != b->status || a->line != b->line || !a->inlined_into != !b->inlined_into ||
	    strcmp(a->file, b->file))
		return false;
	return !a->inlined_into || !strcmp(a->inlined_into, b->inlined_into);
}

void escape__add_stack(struct escape_site *site, const struct escape_db *db,
		       const struct escape_map *m, const struct escape_frame *frames, int n,
		       const char *kind, double bytes)
{
	struct escape_place p = { .bytes = bytes };
	const char *key = NULL, *const *found;
	char k0[512], kk[512];
	int at = 0, i;

	if (n <= 0)
		return;
	/* Inlined into a caller: the compiler reports the code at the outermost call, where it
	 * also says "inlining call to" each function of the chain. */
	for (int k = 1; k < n && k <= MAX_INLINE_DEPTH; k++) {
		const char *kf = escape__file_key(m, frames[k].func, frames[k].file, kk, sizeof(kk));

		if (kf && inlined_at(db, kf, frames[k].line, frames[k - 1].func) &&
		    (k == 1 || inlined_at(db, kf, frames[k].line, frames[0].func))) {
			at = k;
			key = kf;
			break;
		}
	}
	if (!at)
		key = escape__file_key(m, frames[0].func, frames[0].file, k0, sizeof(k0));
	p.line = frames[at].line;
	p.inlined_into = at ? frames[at].func : NULL;
	found = key && db && db->nfiles
			? bsearch(&key, db->files, db->nfiles, sizeof(*db->files), str_cmp)
			: NULL;
	if (key)
		snprintf(p.file, sizeof(p.file), "%s", key);
	if (!key) {
		p.status = ESC_ST_OUTSIDE;
	} else if (!found) {
		p.status = ESC_ST_NOT_COMPILED;
	} else {
		p.msgs = escape_db__at(db, *found, p.line, &p.nmsgs);
		judge(&p, kind);
	}
	for (i = 0; i < site->nplaces; i++)
		if (same_place(&site->places[i], &p))
			break;
	if (i < site->nplaces) {
		site->places[i].bytes += bytes;
	} else if (site->nplaces < ESCAPE_MAX_PLACES) {
		site->places[site->nplaces++] = p;
	} else {
		site->nmore++;
		return;
	}
	/* keep places by bytes, descending */
	for (; i > 0 && site->places[i - 1].bytes < site->places[i].bytes; i--) {
		struct escape_place t = site->places[i];

		site->places[i] = site->places[i - 1];
		site->places[i - 1] = t;
	}
}

const char *escape_status__name(enum escape_status st)
{
	switch (st) {
	case ESC_ST_ESCAPES:
		return "escapes";
	case ESC_ST_NO_ESCAPE:
		return "does-not-escape";
	case ESC_ST_SILENT:
		return "silent";
	case ESC_ST_NOT_COMPILED:
		return "not-compiled";
	case ESC_ST_OUTSIDE:
		return "outside";
	}
	return "?";
}

const char *escape_place__name(const struct escape_place *p)
{
	const char *cause = escape_cause__name(p->cause);

	return cause ? cause : escape_status__name(p->status);
}

/* --- rendering ----------------------------------------------------------------------------- */

#define NO_ESCAPE_FALLBACK                                                                         \
	"on the stack only up to 32 bytes (Go 1.25+); larger sizes are heap-allocated at run time"

static void place_where(struct strbuf *sb, const struct escape_place *p)
{
	if (p->file[0])
		strbuf_printf(sb, "%s:%d", p->file, p->line);
	if (p->inlined_into)
		strbuf_printf(sb, " (inlined into %s)", p->inlined_into);
}

static void place_line(struct strbuf *sb, const struct escape_place *p)
{
	switch (p->status) {
	case ESC_ST_ESCAPES:
	case ESC_ST_NO_ESCAPE:
		strbuf_printf(sb, "%s", p->because->text);
		if (p->cause != ESC_CAUSE_NONE)
			strbuf_printf(sb, "  [%s%s%s]", escape_cause__text(p->cause),
				      p->status == ESC_ST_NO_ESCAPE ? ": " : "",
				      p->status == ESC_ST_NO_ESCAPE ? NO_ESCAPE_FALLBACK : "");
		break;
	case ESC_ST_SILENT:
		strbuf_printf(sb, "the compiler reported nothing about this allocation");
		break;
	case ESC_ST_NOT_COMPILED:
		strbuf_printf(sb, "no diagnostics for this file (not compiled with the binary's "
				  "build settings?)");
		break;
	case ESC_ST_OUTSIDE:
		strbuf_printf(sb, "not in the --source tree (a dependency or the standard library): "
				  "no diagnostics");
		break;
	}
}

void escape__text(struct strbuf *sb, const struct escape_site *site, const char *indent,
		  int max_flow)
{
	const struct escape_place *p = &site->places[0];
	int shown = 0;

	if (!site->nplaces)
		return;
	strbuf_printf(sb, "%sescape%s", indent, p->file[0] ? " " : "");
	place_where(sb, p);
	strbuf_printf(sb, ": ");
	place_line(sb, p);
	strbuf_putc(sb, '\n');
	if (p->because) {
		for (int i = 0; i < p->because->nflow; i++) {
			if (max_flow && shown >= max_flow)
				continue;
			strbuf_printf(sb, "%s  %s\n", indent, p->because->flow[i]);
			shown++;
		}
		if (p->because->nflow > shown)
			strbuf_printf(sb, "%s  ... %d more flow lines (--format json has them all)\n",
				      indent, p->because->nflow - shown);
	}
	for (size_t i = 0; i < p->nmsgs; i++) {
		const struct escape_msg *m = &p->msgs[i];

		if (m == p->because || m->type == ESC_MSG_INLINE_CALL)
			continue;
		strbuf_printf(sb, "%s  also at this line: %s\n", indent, m->text);
	}
	if (escape_cause__remedy(p->cause))
		strbuf_printf(sb, "%sremedy (%s): %s\n", indent, escape_cause__text(p->cause),
			      escape_cause__remedy(p->cause));
	for (int k = 1; k < site->nplaces; k++) {
		const struct escape_place *q = &site->places[k];

		strbuf_printf(sb, "%salso%s", indent, q->file[0] ? " " : "");
		place_where(sb, q);
		strbuf_printf(sb, ": ");
		place_line(sb, q);
		strbuf_putc(sb, '\n');
	}
	if (site->nmore)
		strbuf_printf(sb, "%s... and %d more stacks resolved elsewhere\n", indent, site->nmore);
}

static void msg_json(struct jsonw *w, const struct escape_msg *m, bool explains)
{
	jsonw_start_object(w);
	jsonw_int_field(w, "line", m->line);
	jsonw_int_field(w, "column", m->col);
	jsonw_string_field(w, "text", m->text);
	jsonw_bool_field(w, "explains", explains);
	jsonw_name(w, "flow");
	jsonw_start_array(w);
	for (int i = 0; i < m->nflow; i++)
		jsonw_string(w, m->flow[i]);
	jsonw_end_array(w);
	jsonw_end_object(w);
}

static void place_json(struct jsonw *w, const struct escape_place *p)
{
	jsonw_string_field(w, "status", escape_status__name(p->status));
	if (p->file[0])
		jsonw_string_field(w, "file", p->file);
	else
		jsonw_null_field(w, "file");
	jsonw_int_field(w, "line", p->line);
	if (p->inlined_into)
		jsonw_string_field(w, "inlined_into", p->inlined_into);
	else
		jsonw_null_field(w, "inlined_into");
	if (escape_cause__name(p->cause)) {
		jsonw_string_field(w, "cause", escape_cause__name(p->cause));
		jsonw_string_field(w, "cause_text", escape_cause__text(p->cause));
		jsonw_string_field(w, "remedy", escape_cause__remedy(p->cause));
	} else {
		jsonw_null_field(w, "cause");
		jsonw_null_field(w, "cause_text");
		jsonw_null_field(w, "remedy");
	}
	if (p->because)
		jsonw_string_field(w, "message", p->because->text);
	else
		jsonw_null_field(w, "message");
	jsonw_name(w, "messages");
	jsonw_start_array(w);
	for (size_t i = 0; i < p->nmsgs; i++)
		msg_json(w, &p->msgs[i], &p->msgs[i] == p->because);
	jsonw_end_array(w);
	jsonw_float_field(w, "alloc_bytes", p->bytes);
}

void escape__json(struct jsonw *w, const struct escape_site *site)
{
	jsonw_start_object(w);
	if (site->nplaces)
		place_json(w, &site->places[0]);
	else
		jsonw_string_field(w, "status", "unknown");
	/* Inlined into several callers: each call line is a place of its own. */
	if (site->nplaces > 1) {
		jsonw_name(w, "other_places");
		jsonw_start_array(w);
		for (int k = 1; k < site->nplaces; k++) {
			jsonw_start_object(w);
			place_json(w, &site->places[k]);
			jsonw_end_object(w);
		}
		jsonw_end_array(w);
	}
	jsonw_end_object(w);
}

const char *escape__summary(const struct escape_site *site, char *buf, size_t len)
{
	struct strbuf sb = { 0 };

	buf[0] = '\0';
	if (!site->nplaces)
		return buf;
	place_line(&sb, &site->places[0]);
	snprintf(buf, len, "%s", sb.buf ? sb.buf : "");
	strbuf_free(&sb);
	return buf;
}

static void string_or_null(struct jsonw *w, const char *name, const char *s)
{
	if (s)
		jsonw_string_field(w, name, s);
	else
		jsonw_null_field(w, name);
}

void escape__json_source(struct jsonw *w, const struct escape_source *s)
{
	jsonw_name(w, "source");
	jsonw_start_object(w);
	jsonw_string_field(w, "dir", s->dir);
	string_or_null(w, "module", s->module);
	string_or_null(w, "revision", s->revision);
	jsonw_string_field(w, "toolchain", s->toolchain);
	jsonw_bool_field(w, "toolchain_matches", s->toolchain_matches);
	string_or_null(w, "warning", s->warning);
	jsonw_uint_field(w, "messages", s->nmsgs);
	jsonw_uint_field(w, "files", s->nfiles);
	jsonw_end_object(w);
}

void escape__text_source(struct strbuf *sb, const struct escape_source *s)
{
	strbuf_printf(sb, "escape analysis: %s -gcflags=-m=2 on %s%s%s%s: %zu messages in %zu files\n",
		      s->toolchain, s->dir, s->module ? " (module " : "",
		      s->module ? s->module : "", s->module ? ")" : "", s->nmsgs, s->nfiles);
	if (!s->toolchain_matches)
		strbuf_printf(sb, "note: not the Go version that built the binary; its escape "
				  "analysis may differ\n");
	if (s->warning)
		strbuf_printf(sb, "warning: %s\n", s->warning);
}

const char *escape__gomod_module(const char *text, size_t len, char *buf, size_t buflen)
{
	const char *s = text, *end = text + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', end - s), *le = nl ? nl : end, *p = s, *q;

		s = le + 1;
		while (p < le && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (le - p < 7 || memcmp(p, "module", 6) || (p[6] != ' ' && p[6] != '\t'))
			continue;
		for (p += 7; p < le && (*p == ' ' || *p == '\t'); p++)
			;
		if (p < le && (*p == '"' || *p == '`')) {
			q = memchr(p + 1, *p, le - p - 1);
			if (!q)
				return NULL;
			p++;
		} else {
			for (q = p; q < le && *q != ' ' && *q != '\t' && *q != '\r' &&
				    !(*q == '/' && q + 1 < le && q[1] == '/');
			     q++)
				;
		}
		if (q == p || (size_t)(q - p) >= buflen)
			return NULL;
		memcpy(buf, p, q - p);
		buf[q - p] = '\0';
		return buf;
	}
	return NULL;
}
