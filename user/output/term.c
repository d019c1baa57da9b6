// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <ncurses.h>
#include "term.h"

static SCREEN *screen;
static volatile sig_atomic_t active;
static bool utf8;
static bool colors;
static attr_t attrs[TUI_NATTRS];
static short pairs[TUI_NATTRS];
static struct sigaction prev_fatal[NSIG];

void term__restore(void)
{
	if (!active)
		return;
	active = 0;
	curs_set(1);
	endwin();
}

/* A crash must not leave the terminal in raw mode; the handler session.c installed (restore the
 * target's MemProfileRate) still runs afterwards. */
static void fatal_signal(int sig)
{
	struct sigaction *p = &prev_fatal[sig];

	term__restore();
	if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN && !(p->sa_flags & SA_SIGINFO)) {
		p->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_fatal(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa = { .sa_handler = fatal_signal };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &prev_fatal[sigs[i]]);
}

static void setup_attrs(void)
{
	static const struct {
		short fg, bg;
		attr_t extra, mono;
	} map[TUI_NATTRS] = {
		[TUI_A_NORMAL] = { -1, -1, 0, 0 },
		[TUI_A_TITLE] = { -1, -1, A_BOLD, A_BOLD },
		[TUI_A_HEAD] = { COLOR_BLACK, COLOR_GREEN, 0, A_REVERSE },
		[TUI_A_SORTED] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
		[TUI_A_SEL] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
		[TUI_A_WARN] = { COLOR_RED, -1, A_BOLD, A_BOLD },
		[TUI_A_DIM] = { -1, -1, A_DIM, A_DIM },
		[TUI_A_KEY] = { COLOR_CYAN, -1, A_BOLD, A_BOLD },
		[TUI_A_BAR1] = { COLOR_RED, -1, 0, 0 },
		[TUI_A_BAR2] = { COLOR_GREEN, -1, 0, 0 },
		[TUI_A_BAR3] = { COLOR_YELLOW, -1, 0, 0 },
		[TUI_A_BAR4] = { COLOR_BLUE, -1, A_BOLD, 0 },
	};

	for (int i = 0; i < TUI_NATTRS; i++) {
		attrs[i] = colors ? map[i].extra : map[i].mono;
		pairs[i] = 0;
		if (colors && (map[i].fg != -1 || map[i].bg != -1)) {
			init_pair(i + 1, map[i].fg, map[i].bg);
			pairs[i] = i + 1;
		}
	}
}

int term__init(bool color)
{
	const char *cs;

	/* Before newterm, so ncursesw decodes and draws UTF-8. */
	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	utf8 = cs && !strcmp(cs, "UTF-8");
	screen = newterm(NULL, stdout, stdin);
	if (!screen)
		return -ENOTTY;
	active = 1;
	atexit(term__restore);
	catch_fatal();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);	/* Esc alone should not feel sluggish */
	curs_set(0);
	colors = color && has_colors() && !getenv("NO_COLOR");
	if (colors) {
		start_color();
		use_default_colors();
	}
	setup_attrs();
	return 0;
}

bool term__utf8(void)
{
	return utf8;
}

void term__size(int *w, int *h)
{
	*w = COLS;
	*h = LINES;
}

void term__resize(void)
{
	struct winsize ws;

	if (!active || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		return;
	resizeterm(ws.ws_row, ws.ws_col);
	clear();
}

void term__draw(const struct tui_frame *f)
{
	if (!active)
		return;
	for (int y = 0; y < f->h && y < LINES; y++) {
		const struct tui_line *l = &f->lines[y];

		attrset(attrs[l->attr] | COLOR_PAIR(pairs[l->attr]));
		/* Writing the bottom-right cell returns ERR after drawing it: not a failure. */
		mvaddstr(y, 0, l->text);
		for (int i = 0; i < l->nspans; i++)
			mvchgat(y, l->spans[i].start, l->spans[i].len, attrs[l->spans[i].attr],
				pairs[l->spans[i].attr], NULL);
	}
	attrset(A_NORMAL);
	refresh();
}

int term__key(void)
{
	int c = active ? getch() : ERR;

	switch (c) {
	case ERR:
		return -1;
	case KEY_UP:
		return TUI_KEY_UP;
	case KEY_DOWN:
		return TUI_KEY_DOWN;
	case KEY_LEFT:
		return TUI_KEY_LEFT;
	case KEY_RIGHT:
		return TUI_KEY_RIGHT;
	case KEY_PPAGE:
		return TUI_KEY_PGUP;
	case KEY_NPAGE:
		return TUI_KEY_PGDN;
	case KEY_HOME:
		return TUI_KEY_HOME;
	case KEY_END:
		return TUI_KEY_END;
	case KEY_ENTER:
	case '\n':
	case '\r':
		return TUI_KEY_ENTER;
	case 27:
		return TUI_KEY_ESC;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		return TUI_KEY_BACKSPACE;
	case KEY_F(1):
		return TUI_KEY_F1;
	case KEY_F(6):
		return TUI_KEY_F6;
	case KEY_F(10):
		return TUI_KEY_F10;
	case KEY_RESIZE:
		return TUI_KEY_RESIZE;
	}
	return c < 0x100 ? c : 0;
}
