// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util.h"

static log_sink_fn log_sink;
static bool verbose;

void log_set_sink(log_sink_fn fn)
{
	log_sink = fn;
}

void log_set_verbose(bool v)
{
	verbose = v;
}

bool log_verbose(void)
{
	return verbose;
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level == LOG_DBG && !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_sink) {
		log_sink(level, msg);
		return;
	}
	fprintf(stderr, "heapscope: %s%s\n", level == LOG_WARN ? "warning: " : "", msg);
}

uint64_t now_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (sb->oom)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? sb->cap - sb->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if (!sb->buf || sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 256;
		char *p;

		while (cap < sb->len + n + 1)
			cap *= 2;
		p = realloc(sb->buf, cap);
		if (!p) {
			sb->oom = true;
			return;
		}
		sb->buf = p;
		sb->cap = cap;
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += n;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_printf(sb, "%c", c);
}

void strbuf_free(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

const char *fmt_bytes(double b, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f %s", b, units[u]);
	else
		snprintf(buf, len, "%.*f %s", b < 10 ? 2 : b < 100 ? 1 : 0, b, units[u]);
	return buf;
}

const char *fmt_count(double n, char *buf, size_t len)
{
	static const char *units[] = { "", "k", "M", "G", "T" };
	int u = 0;

	while (n >= 1000 && u < 4) {
		n /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f", n);
	else
		snprintf(buf, len, "%.*f%s", n < 10 ? 2 : n < 100 ? 1 : 0, n, units[u]);
	return buf;
}

const char *fmt_bytes_signed(double b, char *buf, size_t len)
{
	char abs[32];

	fmt_bytes(b < 0 ? -b : b, abs, sizeof(abs));
	snprintf(buf, len, "%s%s", b > 0 ? "+" : b < 0 ? "-" : "", abs);
	return buf;
}

const char *fmt_cpu_rate(double s, char *buf, size_t len)
{
	if (s <= 0)
		snprintf(buf, len, "0");
	else if (s < 1e-3)
		snprintf(buf, len, "%.0f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f s", s);
	return buf;
}
