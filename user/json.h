/* SPDX-License-Identifier: GPL-2.0 */
/* Streaming JSON writer in bpftool's jsonw_* style, into a strbuf. */
#ifndef __JSON_H
#define __JSON_H

#include <stdbool.h>
#include <stdint.h>
#include "util.h"

struct jsonw {
	struct strbuf *sb;
	int depth;
	uint8_t need_comma[32];	/* 0 first, 1 after a value, 2 after a name */
	bool pretty;
};

void jsonw_init(struct jsonw *w, struct strbuf *sb, bool pretty);
void jsonw_start_object(struct jsonw *w);
void jsonw_end_object(struct jsonw *w);
void jsonw_start_array(struct jsonw *w);
void jsonw_end_array(struct jsonw *w);
void jsonw_name(struct jsonw *w, const char *name);
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_float(struct jsonw *w, double v);	/* non-finite -> null */
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* name + value shorthands */
void jsonw_string_field(struct jsonw *w, const char *name, const char *s);
void jsonw_uint_field(struct jsonw *w, const char *name, uint64_t v);
void jsonw_int_field(struct jsonw *w, const char *name, int64_t v);
void jsonw_float_field(struct jsonw *w, const char *name, double v);
void jsonw_bool_field(struct jsonw *w, const char *name, bool v);
void jsonw_null_field(struct jsonw *w, const char *name);

#endif /* __JSON_H */
