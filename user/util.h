/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __UTIL_H
#define __UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Log lines go to stderr as "heapscope: ..." unless a sink is installed (the TUI keeps the last
 * message for its status line instead of writing under the dashboard). */
typedef void (*log_sink_fn)(int level, const char *msg);
enum { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DBG };
void log_set_sink(log_sink_fn fn);
void log_set_verbose(bool verbose);
bool log_verbose(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_dbg(...) log_msg(LOG_DBG, __VA_ARGS__)

uint64_t now_monotonic_ns(void);

/* Growable string buffer for renderers: no error paths at call sites; on ENOMEM the buffer
 * keeps what it had and sets oom. */
struct strbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_free(struct strbuf *sb);

/* Human formats: "1.5 GiB", "512 B"; "12.3k", "4.56M". Write into buf, return buf. */
const char *fmt_bytes(double bytes, char *buf, size_t len);
const char *fmt_count(double n, char *buf, size_t len);
/* fmt_bytes with a sign: "+1.20 MiB", "-512 B", "0 B" (growth rates). */
const char *fmt_bytes_signed(double b, char *buf, size_t len);
/* CPU seconds per second of wall time: "9.12 ms" (of CPU each second), "40 us", "1.20 s";
 * "0" for none. */
const char *fmt_cpu_rate(double s, char *buf, size_t len);

#endif /* __UTIL_H */
