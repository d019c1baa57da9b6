// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include "json.h"

void jsonw_init(struct jsonw *w, struct strbuf *sb, bool pretty)
{
	*w = (struct jsonw){ .sb = sb, .pretty = pretty };
}

static void indent(struct jsonw *w)
{
	if (!w->pretty)
		return;
	strbuf_putc(w->sb, '\n');
	for (int i = 0; i < w->depth; i++)
		strbuf_printf(w->sb, "  ");
}

/* Before a value: a comma unless first in its container; names already placed theirs. */
static void value_prefix(struct jsonw *w)
{
	if (w->need_comma[w->depth] == 2)	/* right after a name */
		goto done;
	if (w->need_comma[w->depth])
		strbuf_putc(w->sb, ',');
	if (w->depth)
		indent(w);
done:
	w->need_comma[w->depth] = 1;
}

static void start(struct jsonw *w, char c)
{
	value_prefix(w);
	strbuf_putc(w->sb, c);
	if (w->depth < 31)
		w->depth++;
	w->need_comma[w->depth] = 0;
}

static void end(struct jsonw *w, char c)
{
	bool had = w->need_comma[w->depth] != 0;

	if (w->depth)
		w->depth--;
	if (had)
		indent(w);
	strbuf_putc(w->sb, c);
}

void jsonw_start_object(struct jsonw *w)
{
	start(w, '{');
}

void jsonw_end_object(struct jsonw *w)
{
	end(w, '}');
}

void jsonw_start_array(struct jsonw *w)
{
	start(w, '[');
}

void jsonw_end_array(struct jsonw *w)
{
	end(w, ']');
}

/* Length of the valid UTF-8 sequence at s, or 0: names come from untrusted binaries and JSON
 * must stay valid. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf5 ? 0 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void put_string(struct strbuf *sb, const char *s)
{
	strbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c >= 0x80) {
			int n = utf8_len((const unsigned char *)s);

			if (!n) {
				strbuf_printf(sb, "\\ufffd");
				continue;
			}
			strbuf_printf(sb, "%.*s", n, s);
			s += n - 1;
			continue;
		}
		if (c == '"' || c == '\\')
			strbuf_printf(sb, "\\%c", c);
		else if (c == '\n')
			strbuf_printf(sb, "\\n");
		else if (c < 0x20)
			strbuf_printf(sb, "\\u%04x", c);
		else
			strbuf_putc(sb, c);
	}
	strbuf_putc(sb, '"');
}

void jsonw_name(struct jsonw *w, const char *name)
{
	value_prefix(w);
	put_string(w->sb, name);
	strbuf_printf(w->sb, w->pretty ? ": " : ":");
	w->need_comma[w->depth] = 2;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	value_prefix(w);
	put_string(w->sb, s ? s : "");
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	value_prefix(w);
	strbuf_printf(w->sb, "%llu", (unsigned long long)v);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	value_prefix(w);
	strbuf_printf(w->sb, "%lld", (long long)v);
}

void jsonw_float(struct jsonw *w, double v)
{
	value_prefix(w);
	if (!isfinite(v))
		strbuf_printf(w->sb, "null");
	else if (fabs(v) < 1e15 && v == (double)(long long)v)
		strbuf_printf(w->sb, "%lld", (long long)v);
	else
		strbuf_printf(w->sb, "%.9g", v);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	value_prefix(w);
	strbuf_printf(w->sb, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w)
{
	value_prefix(w);
	strbuf_printf(w->sb, "null");
}

void jsonw_string_field(struct jsonw *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

void jsonw_uint_field(struct jsonw *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_uint(w, v);
}

void jsonw_int_field(struct jsonw *w, const char *name, int64_t v)
{
	jsonw_name(w, name);
	jsonw_int(w, v);
}

void jsonw_float_field(struct jsonw *w, const char *name, double v)
{
	jsonw_name(w, name);
	jsonw_float(w, v);
}

void jsonw_bool_field(struct jsonw *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}

void jsonw_null_field(struct jsonw *w, const char *name)
{
	jsonw_name(w, name);
	jsonw_null(w);
}
