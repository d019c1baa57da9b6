/* SPDX-License-Identifier: GPL-2.0 */
/* The terminal: the only module that calls curses. It puts tui frames on the screen, turns
 * curses key codes into TUI_KEY_*, and restores the terminal on every way out (the normal path,
 * atexit, fatal signals), as htop's CRT_done does. */
#ifndef __TERM_H
#define __TERM_H

#include <stdbool.h>
#include "tui.h"

/* Take over the terminal on stdin/stdout. color false: monochrome (-C, NO_COLOR). 0 or -errno. */
int term__init(bool color);
/* True when the locale can show UTF-8 (sparkline blocks, arrows). Valid after term__init. */
bool term__utf8(void);
void term__size(int *w, int *h);
/* After SIGWINCH (which arrives through the signalfd, not curses): re-read the size. */
void term__resize(void);
void term__draw(const struct tui_frame *f);
/* The next key as ASCII or TUI_KEY_*, or -1 when none is waiting. */
int term__key(void);
/* Give the terminal back. Idempotent; safe before term__init. */
void term__restore(void);

#endif /* __TERM_H */
