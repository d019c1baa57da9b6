/* SPDX-License-Identifier: GPL-2.0 */
/* The `top` dashboard as a pure function: (snapshot, view state, width, height) -> lines of text
 * with attributes. No curses, no clock, no /proc here, so frames can be golden-tested; term.c
 * puts the lines on a terminal and top.c feeds snapshots and keys. Layout follows htop: a
 * column table (name, title, width, sort key), key handlers that return reaction flags. */
#ifndef __TUI_H
#define __TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gc.h"

#define TUI_SPARK_LEN 60	/* sparkline history: the last 60 refreshes (its span is shown) */
#define TUI_MAX_SPANS 8

/* One function over the window: rates from two cumulative agg snapshots. */
struct tui_row {
	const char *func, *file, *kind;	/* file may be "" */
	int line;
	double bytes_s, objs_s;		/* flat: allocated at this site */
	double cum_bytes_s, cum_objs_s;	/* allocated here or in callees */
	bool is_site;			/* allocated at this site in the window (else a caller) */
	double bytes_ci95_s;		/* half-width of bytes_s's 95 % interval; < 0 exact */
	/* Retained memory of its own sites (snapshot has_inuse), as of the last GC cycle. */
	double inuse_bytes, growth_bytes_s;
	bool leak;			/* steady growth (user/agg/inuse.h) */
	/* Mark-assist CPU seconds per second: as the allocation site / here or below (valid
	 * when the snapshot's has_assist) */
	double assist_s, cum_assist_s;
};

struct tui_frame_ref {
	const char *func, *file;
	int line;
};

struct escape_site;

/* An allocation site of the function shown in the detail view, cumulative since attach. */
struct tui_site {
	const char *file, *kind;
	int line;
	double bytes;
	const struct escape_site *escape;	/* --source: the compiler's word on it; else NULL */
};

/* A stack of the function shown in the detail view, cumulative since attach. */
struct tui_stack {
	const struct tui_frame_ref *frames;	/* site first */
	int nframes;
	double bytes, objects;
};

struct tui_snapshot {
	int pid;
	const char *exe, *go_version, *mode;	/* mode: "sampled" or "exact" */
	int64_t sample_bytes;			/* sampling rate; 0 in exact mode */
	double uptime_s;			/* target's; < 0 unknown */
	double interval_s;			/* refresh interval; 0 = no rates yet */
	double window_s;			/* the span the rates cover (<= the target) */
	double window_target_s;			/* the sliding window asked for (-w, w key) */
	double spark_span_s;			/* real time the sparkline covers */
	double alloc_bytes_s, alloc_objs_s;	/* all functions, incl. unattributed */
	double spark[TUI_SPARK_LEN];		/* bytes/s, oldest first */
	int nspark;
	uint64_t lost_events;
	bool has_gc;				/* gc below is valid */
	bool has_assist;			/* rows' assist figures are measured */
	struct gc_window gc;
	double gc_interval_s;			/* wall time the GC window covers */
	const struct tui_row *rows;
	size_t nrows;
	/* Detail view: stacks of detail_func, largest first (top.c fills them on demand). */
	const char *detail_func;
	const struct tui_stack *stacks;
	size_t nstacks;
	double detail_total_bytes;		/* the function's flat bytes since attach */
	bool has_inuse;				/* the heap profile was read: IN-USE, GROWTH */
	double inuse_bytes;			/* all functions */
	bool inuse_since_attach;		/* covers only what was allocated since attach */
	const struct tui_site *sites;		/* detail_func's sites, by bytes (top.c) */
	size_t nsites;
	const char *notice;			/* e.g. the target exited; NULL = none */
	const char *status;			/* last log line; NULL = none */
};

enum tui_col { TUI_COL_FUNC, TUI_COL_ALLOC, TUI_COL_CI, TUI_COL_OBJS, TUI_COL_AVG, TUI_COL_PCT,
	       TUI_COL_INUSE, TUI_COL_GROWTH, TUI_COL_ASSIST, TUI_COL_KIND, TUI_COL_FILE,
	       TUI_NCOLS };

enum tui_mode { TUI_MODE_TABLE, TUI_MODE_HELP, TUI_MODE_DETAIL };

struct tui_view {
	enum tui_col sort_col;
	bool sort_asc;
	bool cum;			/* c: cumulative (here or below) instead of flat */
	bool paused;			/* p/space: top.c keeps showing the frozen snapshot */
	enum tui_mode mode;
	bool editing_filter;		/* '/' typed: keys go to the filter */
	char filter[64];
	bool batch;			/* no selection bar, no key bar, all rows */
	bool ascii;			/* no UTF-8 (sparkline and arrows in ASCII) */
	int sel, scroll;		/* selected row and first shown row, in filtered order */
	bool sel_moved;			/* a key moved sel: keep the index, not the name */
	bool follow;			/* the user picked a row: follow it by name */
	char sel_func[256];		/* selected function, followed across refreshes */
	int page;			/* table rows on screen (set by tui__render) */
	int nshown;			/* rows after filtering (set by tui__render) */
	int detail_scroll;
	int help_scroll;			/* first help line shown (help longer than the screen) */
	bool has_inuse;			/* the last frame had in-use columns (set by tui__render):
					 * the sort keys skip them otherwise */
	bool has_assist;		/* ASSIST/s shown (set by tui__render): sortable */
};

/* Attributes: one per line plus spans; term.c maps them to colours or to bold/reverse. */
enum tui_attr { TUI_A_NORMAL, TUI_A_TITLE, TUI_A_HEAD, TUI_A_SORTED, TUI_A_SEL, TUI_A_WARN,
		TUI_A_DIM, TUI_A_KEY, TUI_A_BAR1, TUI_A_BAR2, TUI_A_BAR3, TUI_A_BAR4, TUI_NATTRS };

struct tui_span {
	int start, len;		/* in columns */
	uint8_t attr;
};

struct tui_line {
	char *text;		/* UTF-8, exactly the frame's width in columns, NUL-terminated */
	uint8_t attr;
	int nspans;
	struct tui_span spans[TUI_MAX_SPANS];
};

struct tui_frame {
	int w, h;
	struct tui_line *lines;	/* h of them */
};

/* 0 or -ENOMEM. Sizes below 20x5 are raised to that. */
int tui_frame__init(struct tui_frame *f, int w, int h);
void tui_frame__free(struct tui_frame *f);

void tui_view__init(struct tui_view *v);
/* Render s into f (whose size decides the layout) and update v's derived fields (page, nshown,
 * sel, scroll, sel_func). */
void tui__render(struct tui_frame *f, const struct tui_snapshot *s, struct tui_view *v);
/* Lines needed to show every row of s in batch mode. */
int tui__batch_height(const struct tui_snapshot *s);
/* Append f to sb as plain text, trailing blanks trimmed. */
struct strbuf;
void tui_frame__text(const struct tui_frame *f, struct strbuf *sb);

/* Keys: printable ASCII as is, the rest as these (term.c translates curses codes). */
enum { TUI_KEY_UP = 0x100, TUI_KEY_DOWN, TUI_KEY_LEFT, TUI_KEY_RIGHT, TUI_KEY_PGUP,
       TUI_KEY_PGDN, TUI_KEY_HOME, TUI_KEY_END, TUI_KEY_ENTER, TUI_KEY_ESC, TUI_KEY_BACKSPACE,
       TUI_KEY_F1, TUI_KEY_F6, TUI_KEY_F10, TUI_KEY_RESIZE };

/* Reactions, htop's Htop_Reaction: what the caller must do after a key. */
#define TUI_REDRAW (1u << 0)	/* render again */
#define TUI_RESORT (1u << 1)	/* sort order or filter changed */
#define TUI_QUIT (1u << 2)
#define TUI_DETAIL (1u << 3)	/* the detail view needs stacks of v->sel_func */
#define TUI_PAUSE (1u << 4)	/* v->paused changed */
#define TUI_FASTER (1u << 5)	/* - : refresh more often */
#define TUI_SLOWER (1u << 6)	/* + : refresh less often */
#define TUI_WINDOW (1u << 7)	/* w : next sliding window */

unsigned tui__key(struct tui_view *v, int key);

/* Column metadata, for --help text and tests. */
const char *tui__col_title(enum tui_col c);
/* What to do about an allocation kind; NULL when there is no standard remedy. */
const char *tui__remedy(const char *kind);

#endif /* __TUI_H */
