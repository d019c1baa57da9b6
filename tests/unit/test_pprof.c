// SPDX-License-Identifier: GPL-2.0
/* pprof encoder: decoded back with an independent decoder written from profile.proto, read by
 * `go tool pprof` (new and Debian's go1.19), compared with a real Go heap profile, and the
 * folded writer's exact text. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>
#include "harness.h"
#include "pprof.h"
#include "util.h"

/* ---- a protobuf decoder that knows nothing of the encoder ---- */

struct field {
	int num, wire;
	uint64_t v;		/* varint */
	const uint8_t *p;	/* length-delimited */
	size_t len;
};

static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift <= 63; shift += 7) {
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80))
			return true;
	}
	return false;
}

/* Next field of a message; false at the end or on malformed input (*bad set). */
static bool pb_next(const uint8_t **p, const uint8_t *end, struct field *f, bool *bad)
{
	uint64_t key, v;

	if (*p >= end)
		return false;
	if (!pb_varint(p, end, &key) || !pb_varint(p, end, &v))
		return !(*bad = true);
	f->num = key >> 3;
	f->wire = key & 7;
	if (f->wire == 0) {
		f->v = v;
		return true;
	}
	/* profile.proto has no fixed32/64 or groups */
	if (f->wire != 2 || v > (uint64_t)(end - *p))
		return !(*bad = true);
	f->p = *p;
	f->len = v;
	*p += v;
	return true;
}

/* Packed or single varints into out[]; returns count, -1 on malformed. */
static int pb_varints(const struct field *f, uint64_t *out, int max)
{
	const uint8_t *p = f->p, *end = f->p + f->len;
	int n = 0;

	if (f->wire == 0) {
		out[0] = f->v;
		return 1;
	}
	while (p < end && n < max) {
		uint64_t v = 0;
		int shift = 0;

		do {
			if (p >= end)
				return -1;
			v |= (uint64_t)(*p & 0x7f) << shift;
			shift += 7;
		} while (*p++ & 0x80);
		out[n++] = v;
	}
	return p == end ? n : -1;
}

#define MAXV 64

struct d_label {
	int64_t key, str, num, num_unit;
};

struct d_sample {
	uint64_t locs[MAXV];
	int nlocs;
	int64_t values[MAXV];
	int nvalues;
	struct d_label labels[8];
	int nlabels;
	bool locs_packed, values_packed;
};

struct d_line {
	uint64_t function_id;
	int64_t line;
};

struct d_location {
	uint64_t id, mapping_id, address;
	struct d_line lines[8];
	int nlines;
};

struct d_function {
	uint64_t id;
	int64_t name, system_name, filename, start_line;
};

struct d_mapping {
	uint64_t id, start, limit, offset;
	int64_t filename, build_id;
	bool flags[4];
};

struct dprof {
	int64_t sample_types[8][2];
	int ntypes;
	struct d_sample *samples;
	int nsamples;
	struct d_mapping mappings[4];
	int nmappings;
	struct d_location *locations;
	int nlocations;
	struct d_function *functions;
	int nfunctions;
	char **strings;
	int nstrings;
	int64_t time_nanos, duration_nanos, period, default_sample_type;
	int64_t period_type[2];
	bool has_period_type;
	int64_t comments[8];
	int ncomments;
	bool count_only;	/* count samples and locations, keep none (big profiles) */
	char why[200];	/* first decode problem */
};

static void dprof_free(struct dprof *d)
{
	for (int i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
	free(d->strings);
	free(d->samples);
	free(d->locations);
	free(d->functions);
}

#define BAD(d, ...) (snprintf((d)->why, sizeof((d)->why), __VA_ARGS__), false)

/* Each message's fields: number and the wire type profile.proto implies (packed repeated
 * scalars may also come unpacked). Any other field is an encoder bug. */
static bool want_wire(struct dprof *d, const char *msg, const struct field *f, int wire,
		      bool packable)
{
	if (f->wire == wire || (packable && f->wire == 2))
		return true;
	return BAD(d, "%s field %d: wire type %d, want %d", msg, f->num, f->wire, wire);
}

static bool decode_value_type(struct dprof *d, const struct field *m, int64_t out[2])
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct field f;
	bool bad = false;

	out[0] = out[1] = 0;
	while (pb_next(&p, end, &f, &bad)) {
		if (f.num < 1 || f.num > 2)
			return BAD(d, "ValueType: unknown field %d", f.num);
		if (!want_wire(d, "ValueType", &f, 0, false))
			return false;
		out[f.num - 1] = f.v;
	}
	return !bad || BAD(d, "ValueType: malformed");
}

static bool decode_label(struct dprof *d, const struct field *m, struct d_label *l)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct field f;
	bool bad = false;
	int64_t *slot[] = { NULL, &l->key, &l->str, &l->num, &l->num_unit };

	memset(l, 0, sizeof(*l));
	while (pb_next(&p, end, &f, &bad)) {
		if (f.num < 1 || f.num > 4)
			return BAD(d, "Label: unknown field %d", f.num);
		if (!want_wire(d, "Label", &f, 0, false))
			return false;
		*slot[f.num] = f.v;
	}
	return !bad || BAD(d, "Label: malformed");
}

static bool decode_sample(struct dprof *d, const struct field *m, struct d_sample *s)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct field f;
	bool bad = false;
	uint64_t v[MAXV];
	int n;

	memset(s, 0, sizeof(*s));
	while (pb_next(&p, end, &f, &bad)) {
		switch (f.num) {
		case 1: /* repeated uint64 location_id */
		case 2: /* repeated int64 value */
			if (!want_wire(d, "Sample", &f, 0, true))
				return false;
			n = pb_varints(&f, v, MAXV);
			if (n < 0)
				return BAD(d, "Sample: bad packed field %d", f.num);
			for (int i = 0; i < n; i++) {
				if (f.num == 1 && s->nlocs < MAXV)
					s->locs[s->nlocs++] = v[i];
				else if (f.num == 2 && s->nvalues < MAXV)
					s->values[s->nvalues++] = (int64_t)v[i];
			}
			if (f.num == 1)
				s->locs_packed = f.wire == 2;
			else
				s->values_packed = f.wire == 2;
			break;
		case 3: /* repeated Label label */
			if (!want_wire(d, "Sample", &f, 2, false))
				return false;
			if (s->nlabels < 8 && !decode_label(d, &f, &s->labels[s->nlabels++]))
				return false;
			break;
		default:
			return BAD(d, "Sample: unknown field %d", f.num);
		}
	}
	return !bad || BAD(d, "Sample: malformed");
}

static bool decode_mapping(struct dprof *d, const struct field *m, struct d_mapping *mp)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct field f;
	bool bad = false;

	memset(mp, 0, sizeof(*mp));
	while (pb_next(&p, end, &f, &bad)) {
		if (f.num < 1 || f.num > 10)
			return BAD(d, "Mapping: unknown field %d", f.num);
		if (!want_wire(d, "Mapping", &f, 0, false))
			return false;
		switch (f.num) {
		case 1: mp->id = f.v; break;
		case 2: mp->start = f.v; break;
		case 3: mp->limit = f.v; break;
		case 4: mp->offset = f.v; break;
		case 5: mp->filename = f.v; break;
		case 6: mp->build_id = f.v; break;
		default: mp->flags[f.num - 7] = f.v; break; /* 7..10 has_* */
		}
	}
	return !bad || BAD(d, "Mapping: malformed");
}

static bool decode_location(struct dprof *d, const struct field *m, struct d_location *l)
{
	const uint8_t *p = m->p, *end = m->p + m->len, *lp, *lend;
	struct field f, g;
	bool bad = false;

	memset(l, 0, sizeof(*l));
	while (pb_next(&p, end, &f, &bad)) {
		if (f.num >= 1 && f.num <= 3) {
			if (!want_wire(d, "Location", &f, 0, false))
				return false;
			*(f.num == 1 ? &l->id : f.num == 2 ? &l->mapping_id : &l->address) = f.v;
			continue;
		}
		if (f.num != 4)
			return BAD(d, "Location: unknown field %d", f.num);
		if (!want_wire(d, "Location", &f, 2, false) || l->nlines >= 8)
			return false;
		lp = f.p;
		lend = f.p + f.len;
		while (pb_next(&lp, lend, &g, &bad)) {
			if (g.num < 1 || g.num > 2)
				return BAD(d, "Line: unknown field %d", g.num);
			if (!want_wire(d, "Line", &g, 0, false))
				return false;
			if (g.num == 1)
				l->lines[l->nlines].function_id = g.v;
			else
				l->lines[l->nlines].line = g.v;
		}
		l->nlines++;
	}
	return !bad || BAD(d, "Location: malformed");
}

static bool decode_function(struct dprof *d, const struct field *m, struct d_function *fn)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct field f;
	bool bad = false;

	memset(fn, 0, sizeof(*fn));
	while (pb_next(&p, end, &f, &bad)) {
		if (f.num < 1 || f.num > 5)
			return BAD(d, "Function: unknown field %d", f.num);
		if (!want_wire(d, "Function", &f, 0, false))
			return false;
		switch (f.num) {
		case 1: fn->id = f.v; break;
		case 2: fn->name = f.v; break;
		case 3: fn->system_name = f.v; break;
		case 4: fn->filename = f.v; break;
		case 5: fn->start_line = f.v; break;
		}
	}
	return !bad || BAD(d, "Function: malformed");
}

/* &arr[n++], growing arr 1024 entries at a time (test code: realloc failure just crashes) */
#define APPEND(arr, n)                                                                             \
	(((n) % 1024 == 0 ? (arr) = realloc((arr), ((n) + 1024) * sizeof(*(arr))) : (arr)),        \
	 &(arr)[(n)++])

static bool decode_profile(const uint8_t *data, size_t len, struct dprof *d)
{
	const uint8_t *p = data, *end = data + len;
	struct field f;
	bool bad = false, count_only = d->count_only;
	union {
		struct d_sample s;
		struct d_location l;
	} tmp;
	uint64_t v[8];
	int n;

	memset(d, 0, sizeof(*d));
	d->count_only = count_only;
	while (pb_next(&p, end, &f, &bad)) {
		switch (f.num) {
		case 1: /* repeated ValueType sample_type */
			if (!want_wire(d, "Profile", &f, 2, false) || d->ntypes >= 8 ||
			    !decode_value_type(d, &f, d->sample_types[d->ntypes++]))
				return false;
			break;
		case 2: /* repeated Sample sample */
			if (!want_wire(d, "Profile", &f, 2, false) ||
			    !decode_sample(d, &f,
					   d->count_only ? &tmp.s
							 : APPEND(d->samples, d->nsamples)))
				return false;
			d->nsamples += d->count_only;
			break;
		case 3: /* repeated Mapping mapping */
			if (!want_wire(d, "Profile", &f, 2, false) || d->nmappings >= 4 ||
			    !decode_mapping(d, &f, &d->mappings[d->nmappings++]))
				return false;
			break;
		case 4: /* repeated Location location */
			if (!want_wire(d, "Profile", &f, 2, false) ||
			    !decode_location(d, &f,
					     d->count_only ? &tmp.l
							   : APPEND(d->locations, d->nlocations)))
				return false;
			d->nlocations += d->count_only;
			break;
		case 5: /* repeated Function function */
			if (!want_wire(d, "Profile", &f, 2, false) ||
			    !decode_function(d, &f, APPEND(d->functions, d->nfunctions)))
				return false;
			break;
		case 6: /* repeated string string_table */
			if (!want_wire(d, "Profile", &f, 2, false))
				return false;
			*APPEND(d->strings, d->nstrings) = strndup((const char *)f.p, f.len);
			break;
		case 9: /* int64 time_nanos */
		case 10: /* int64 duration_nanos */
		case 12: /* int64 period */
		case 14: /* int64 default_sample_type */
			if (!want_wire(d, "Profile", &f, 0, false))
				return false;
			*(f.num == 9 ? &d->time_nanos : f.num == 10 ? &d->duration_nanos
				       : f.num == 12 ? &d->period : &d->default_sample_type) = f.v;
			break;
		case 11: /* ValueType period_type */
			if (!want_wire(d, "Profile", &f, 2, false) ||
			    !decode_value_type(d, &f, d->period_type))
				return false;
			d->has_period_type = true;
			break;
		case 13: /* repeated int64 comment */
			if (!want_wire(d, "Profile", &f, 0, true))
				return false;
			n = pb_varints(&f, v, 8);
			for (int i = 0; i < n && d->ncomments < 8; i++)
				d->comments[d->ncomments++] = v[i];
			break;
		default:
			return BAD(d, "Profile: unknown field %d", f.num);
		}
	}
	return !bad || BAD(d, "Profile: malformed");
}

static const char *dstr(const struct dprof *d, int64_t i)
{
	return i >= 0 && i < d->nstrings ? d->strings[i] : "(out of range)";
}

static bool gunzip(const void *in, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream z = {};
	size_t cap = 1 << 16;
	int ret;

	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return false;
	*out = malloc(cap);
	*outlen = 0;
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	do {
		if (*outlen == cap)
			*out = realloc(*out, cap *= 2);
		z.next_out = *out + *outlen;
		z.avail_out = cap - *outlen;
		ret = inflate(&z, Z_NO_FLUSH);
		*outlen = cap - z.avail_out;
	} while (ret == Z_OK);
	inflateEnd(&z);
	return ret == Z_STREAM_END && z.avail_in == 0;
}

/* ---- the profile most tests use ---- */

/* Source the profile points at, so `pprof -list` has lines to show. Line numbers matter. */
static const char go_source[] = "package main\n"		/* 1 */
				"\n"				/* 2 */
				"func leak() []byte {\n"	/* 3 */
				"\treturn make([]byte, 1<<20)\n" /* 4 */
				"}\n"				/* 5 */
				"\n"				/* 6 */
				"func fill() {\n"		/* 7 */
				"\tkeep = append(keep, leak())\n" /* 8 */
				"}\n"				/* 9 */
				"\n"				/* 10 */
				"func churn() []byte {\n"	/* 11 */
				"\treturn make([]byte, 64)\n"	/* 12 */
				"}\n"				/* 13 */
				"\n"				/* 14 */
				"func main() {\n"		/* 15 */
				"\tfill()\n"			/* 16 */
				"\tchurn()\n"			/* 17 */
				"}\n"				/* 18 */
				"\n"				/* 19 */
				"var keep [][]byte\n";		/* 20 */

#define BUILD_ID "5ec12ce3a3f295913d364e8c575a728ffc52d243"
#define RATE 524288

/* Two stacks: main.main -> main.fill -> main.leak (inlined into fill, one PC), and
 * main.main -> main.churn. */
static struct pprof *sample_profile_rate(struct test_ctx *t, const char *src,
					 const char *default_type, int64_t rate)
{
	struct pprof_frame leak_pc[] = {
		{ "main.leak", src, 4, 3 },
		{ "main.fill", src, 8, 7 },
	};
	struct pprof_frame main_pc1[] = { { "main.main", src, 16, 15 } };
	struct pprof_frame main_pc2[] = { { "main.main", src, 17, 15 } };
	struct pprof_frame churn_pc[] = { { "main.churn", src, 12, 11 } };
	struct pprof_pc s1[] = {
		{ 1, 0x401010, leak_pc, 2 },
		{ 1, 0x401100, main_pc1, 1 },
	};
	struct pprof_pc s2[] = {
		{ 1, 0x401200, churn_pc, 1 },
		{ 1, 0x401110, main_pc2, 1 },
	};
	int64_t v1[] = { 10, 10 << 20, 8, 8 << 20 };
	int64_t v2[] = { 5000, 320000, 10, 640 };
	struct pprof_label l1[] = { { .key = "bytes", .num = 1 << 20 } };
	struct pprof_label l2[] = { { .key = "bytes", .num = 64 } };
	struct pprof_mapping m = {
		.start = 0x400000,
		.limit = 0x500000,
		.filename = "/usr/bin/goalloc",
		.build_id = BUILD_ID,
		.has_functions = true,
		.has_filenames = true,
		.has_line_numbers = true,
		.has_inline_frames = true,
	};
	struct pprof *p = pprof__new();
	uint64_t id;

	if (!ASSERT_OK_PTR(t, p, "pprof__new"))
		return NULL;
	if (!ASSERT_OK(t, pprof__init_go_heap(p, rate, default_type), "init_go_heap") ||
	    !ASSERT_OK(t, pprof__add_mapping(p, &m, &id), "add_mapping") ||
	    !ASSERT_EQ(t, id, 1, "mapping id") ||
	    !ASSERT_OK(t, pprof__add_stack(p, s1, 2, v1, 4, l1, 1), "add_stack 1") ||
	    !ASSERT_OK(t, pprof__add_stack(p, s2, 2, v2, 4, l2, 1), "add_stack 2") ||
	    !ASSERT_OK(t, pprof__add_comment(p, "heapscope: in-use since attach"), "comment")) {
		pprof__free(p);
		return NULL;
	}
	pprof__set_time(p, 1700000000123456789LL, 10000000000LL);
	return p;
}

static struct pprof *sample_profile(struct test_ctx *t, const char *src, const char *default_type)
{
	return sample_profile_rate(t, src, default_type, RATE);
}

static bool encode_decode(struct test_ctx *t, struct pprof *p, struct dprof *d)
{
	void *raw = NULL, *gz = NULL;
	uint8_t *unz = NULL;
	size_t rawlen, gzlen, unzlen;
	bool ok = false;

	if (!ASSERT_OK(t, pprof__encode(p, false, &raw, &rawlen), "encode raw") ||
	    !ASSERT_OK(t, pprof__encode(p, true, &gz, &gzlen), "encode gzip"))
		goto cleanup;
	if (!ASSERT_TRUE(t, gzlen >= 2 && ((uint8_t *)gz)[0] == 0x1f && ((uint8_t *)gz)[1] == 0x8b,
			 "gzip magic") ||
	    !ASSERT_TRUE(t, gunzip(gz, gzlen, &unz, &unzlen), "gunzip") ||
	    !ASSERT_EQ(t, unzlen, rawlen, "gunzipped length") ||
	    !ASSERT_TRUE(t, !memcmp(unz, raw, rawlen), "gunzipped bytes equal raw"))
		goto cleanup;
	if (!decode_profile(raw, rawlen, d)) {
		FAILF(t, "decode: %s", d->why);
		goto cleanup;
	}
	ok = true;
cleanup:
	free(raw);
	free(gz);
	free(unz);
	return ok;
}

/* ---- decode-back tests ---- */

static void test_decode_fields(struct test_ctx *t)
{
	static const char *const types[][2] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	struct pprof *p = sample_profile(t, "/src/main.go", "alloc_space");
	struct dprof d = {};
	const struct d_location *l;
	const struct d_function *fn;

	if (!p || !encode_decode(t, p, &d))
		goto cleanup;
	ASSERT_TRUE(t, d.nstrings > 0 && !strcmp(d.strings[0], ""), "string_table[0] is \"\"");
	for (int i = 0; i < d.nstrings; i++)
		for (int j = i + 1; j < d.nstrings; j++)
			if (!strcmp(d.strings[i], d.strings[j]))
				FAILF(t, "string \"%s\" at %d and %d", d.strings[i], i, j);
	if (!ASSERT_EQ(t, d.ntypes, 4, "sample types"))
		goto cleanup;
	for (int i = 0; i < 4; i++) {
		ASSERT_STREQ(t, dstr(&d, d.sample_types[i][0]), types[i][0], "sample type");
		ASSERT_STREQ(t, dstr(&d, d.sample_types[i][1]), types[i][1], "sample unit");
	}
	ASSERT_TRUE(t, d.has_period_type, "period_type present");
	ASSERT_STREQ(t, dstr(&d, d.period_type[0]), "space", "period type");
	ASSERT_STREQ(t, dstr(&d, d.period_type[1]), "bytes", "period unit");
	ASSERT_EQ(t, d.period, RATE, "period");
	ASSERT_EQ(t, d.time_nanos, 1700000000123456789LL, "time_nanos");
	ASSERT_EQ(t, d.duration_nanos, 10000000000LL, "duration_nanos");
	ASSERT_STREQ(t, dstr(&d, d.default_sample_type), "alloc_space", "default_sample_type");
	ASSERT_EQ(t, d.ncomments, 1, "comments");
	ASSERT_STREQ(t, dstr(&d, d.comments[0]), "heapscope: in-use since attach", "comment");

	if (!ASSERT_EQ(t, d.nmappings, 1, "mappings"))
		goto cleanup;
	ASSERT_EQ(t, d.mappings[0].id, 1, "mapping id");
	ASSERT_EQ(t, d.mappings[0].start, 0x400000, "mapping start");
	ASSERT_EQ(t, d.mappings[0].limit, 0x500000, "mapping limit");
	ASSERT_EQ(t, d.mappings[0].offset, 0, "mapping offset");
	ASSERT_STREQ(t, dstr(&d, d.mappings[0].filename), "/usr/bin/goalloc", "mapping file");
	ASSERT_STREQ(t, dstr(&d, d.mappings[0].build_id), BUILD_ID, "build id");
	for (int i = 0; i < 4; i++)
		ASSERT_TRUE(t, d.mappings[0].flags[i], "mapping has_* flag");

	/* 4 functions (leak, fill, main, churn), 4 locations (two main.main PCs) */
	if (!ASSERT_EQ(t, d.nfunctions, 4, "functions") ||
	    !ASSERT_EQ(t, d.nlocations, 4, "locations"))
		goto cleanup;
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(t, d.functions[i].id, i + 1, "function id");
		ASSERT_EQ(t, d.locations[i].id, i + 1, "location id");
		ASSERT_EQ(t, d.locations[i].mapping_id, 1, "location mapping");
	}
	l = &d.locations[0];
	ASSERT_EQ(t, l->address, 0x401010, "address");
	if (ASSERT_EQ(t, l->nlines, 2, "inlined lines")) {
		/* innermost first */
		fn = &d.functions[l->lines[0].function_id - 1];
		ASSERT_STREQ(t, dstr(&d, fn->name), "main.leak", "line 0 function");
		ASSERT_STREQ(t, dstr(&d, fn->system_name), "main.leak", "system_name");
		ASSERT_STREQ(t, dstr(&d, fn->filename), "/src/main.go", "filename");
		ASSERT_EQ(t, fn->start_line, 3, "start_line");
		ASSERT_EQ(t, l->lines[0].line, 4, "line 0");
		fn = &d.functions[l->lines[1].function_id - 1];
		ASSERT_STREQ(t, dstr(&d, fn->name), "main.fill", "line 1 function");
		ASSERT_EQ(t, l->lines[1].line, 8, "line 1");
	}

	if (!ASSERT_EQ(t, d.nsamples, 2, "samples"))
		goto cleanup;
	ASSERT_EQ(t, d.samples[0].nlocs, 2, "sample 0 locations");
	ASSERT_EQ(t, d.samples[0].locs[0], 1, "sample 0 leaf location");
	ASSERT_EQ(t, d.samples[0].locs[1], 2, "sample 0 root location");
	ASSERT_TRUE(t, d.samples[0].locs_packed && d.samples[0].values_packed, "packed");
	if (ASSERT_EQ(t, d.samples[1].nvalues, 4, "values")) {
		ASSERT_EQ(t, d.samples[1].values[0], 5000, "alloc_objects");
		ASSERT_EQ(t, d.samples[1].values[1], 320000, "alloc_space");
		ASSERT_EQ(t, d.samples[1].values[2], 10, "inuse_objects");
		ASSERT_EQ(t, d.samples[1].values[3], 640, "inuse_space");
	}
	if (ASSERT_EQ(t, d.samples[1].nlabels, 1, "labels")) {
		ASSERT_STREQ(t, dstr(&d, d.samples[1].labels[0].key), "bytes", "label key");
		ASSERT_EQ(t, d.samples[1].labels[0].num, 64, "label num");
		ASSERT_EQ(t, d.samples[1].labels[0].str, 0, "label str");
		ASSERT_EQ(t, d.samples[1].labels[0].num_unit, 0, "label unit");
	}
cleanup:
	dprof_free(&d);
	pprof__free(p);
}

/* Negative values (10-byte varints), string labels with units, unknown frames, address 0. */
static void test_decode_edge_values(struct test_ctx *t)
{
	struct pprof_frame known = { "main.f", "f.go", 1, 0 };
	struct pprof_frame unknown[] = { { NULL, NULL, 0, 0 }, { "", "x.go", 3, 0 } };
	struct pprof_pc pcs[] = {
		{ 0, 0, &known, 1 },
		{ 0, 0x1234, unknown, 2 },	/* no known frame: a location without lines */
	};
	struct pprof_label labels[] = {
		{ .key = "kind", .str = "append-growth" },
		{ .key = "size", .num = -3, .num_unit = "bytes" },
	};
	int64_t values[] = { -1, INT64_MIN };
	struct pprof *p = pprof__new();
	struct dprof d = {};

	if (!ASSERT_OK_PTR(t, p, "new") ||
	    !ASSERT_OK(t, pprof__add_sample_type(p, "delta", "count"), "type") ||
	    !ASSERT_OK(t, pprof__add_sample_type(p, "delta_space", "bytes"), "type 2") ||
	    !ASSERT_OK(t, pprof__add_stack(p, pcs, 2, values, 2, labels, 2), "add_stack") ||
	    !encode_decode(t, p, &d))
		goto cleanup;
	ASSERT_EQ(t, d.has_period_type, false, "no period_type");
	ASSERT_EQ(t, d.default_sample_type, 0, "no default type");
	if (ASSERT_EQ(t, d.nlocations, 2, "locations")) {
		ASSERT_EQ(t, d.locations[0].address, 0, "address 0 left out");
		ASSERT_EQ(t, d.locations[0].mapping_id, 0, "no mapping");
		ASSERT_EQ(t, d.locations[0].nlines, 1, "known frame");
		ASSERT_EQ(t, d.locations[1].nlines, 0, "unknown frames dropped");
		ASSERT_EQ(t, d.locations[1].address, 0x1234, "address");
	}
	ASSERT_EQ(t, d.nfunctions, 1, "functions");
	if (ASSERT_EQ(t, d.nsamples, 1, "samples") &&
	    ASSERT_EQ(t, d.samples[0].nvalues, 2, "values")) {
		ASSERT_EQ(t, d.samples[0].values[0], -1, "negative value");
		ASSERT_TRUE(t, d.samples[0].values[1] == INT64_MIN, "INT64_MIN");
	}
	if (ASSERT_EQ(t, d.samples[0].nlabels, 2, "labels")) {
		ASSERT_STREQ(t, dstr(&d, d.samples[0].labels[0].str), "append-growth", "str");
		ASSERT_EQ(t, d.samples[0].labels[0].num, 0, "str label has no num");
		ASSERT_EQ(t, d.samples[0].labels[1].num, -3, "num");
		ASSERT_STREQ(t, dstr(&d, d.samples[0].labels[1].num_unit), "bytes", "num_unit");
	}
cleanup:
	dprof_free(&d);
	pprof__free(p);
}

static void test_empty_profile(struct test_ctx *t)
{
	struct pprof *p = pprof__new();
	struct dprof d = {};
	char *text = NULL;
	size_t len;
	int64_t total = -1;

	if (!ASSERT_OK_PTR(t, p, "new") || !encode_decode(t, p, &d))
		goto cleanup;
	ASSERT_EQ(t, d.nstrings, 1, "only the empty string");
	ASSERT_EQ(t, d.ntypes + d.nsamples + d.nlocations + d.nfunctions + d.nmappings, 0,
		  "nothing else");
	ASSERT_EQ(t, pprof__folded(p, "alloc_space", &text, &len), -ENOENT, "folded: no type");
	dprof_free(&d);
	memset(&d, 0, sizeof(d));

	if (!ASSERT_OK(t, pprof__init_go_heap(p, RATE, NULL), "init") ||
	    !encode_decode(t, p, &d))
		goto cleanup;
	ASSERT_EQ(t, d.ntypes, 4, "types");
	ASSERT_EQ(t, d.nsamples, 0, "samples");
	ASSERT_EQ(t, d.default_sample_type, 0, "heap profile: no default type");
	ASSERT_OK(t, pprof__total(p, PPROF_INUSE_SPACE, &total), "total");
	ASSERT_EQ(t, total, 0, "total");
	if (ASSERT_OK(t, pprof__folded(p, "inuse_space", &text, &len), "folded")) {
		ASSERT_EQ(t, len, 0, "folded length");
		ASSERT_STREQ(t, text, "", "folded text");
	}
cleanup:
	free(text);
	dprof_free(&d);
	pprof__free(p);
}

static void test_dedup(struct test_ctx *t)
{
	struct pprof_line lines_a[] = { { 1, 10 } }, lines_b[] = { { 2, 20 } };
	struct pprof_mapping m = { .filename = "a.out" };
	struct pprof *p = pprof__new();
	struct pprof_stats st;
	uint64_t f1, f2, f3, f4, l1, l2, l3, l4, l5, m1, m2;

	if (!ASSERT_OK_PTR(t, p, "new"))
		return;
	ASSERT_OK(t, pprof__add_mapping(p, &m, &m1), "mapping 1");
	ASSERT_OK(t, pprof__add_mapping(p, &m, &m2), "mapping 2");
	ASSERT_EQ(t, m2, 2, "mappings are not deduplicated");
	ASSERT_OK(t, pprof__add_function(p, "f", NULL, "f.go", 5, &f1), "f");
	ASSERT_OK(t, pprof__add_function(p, "f", "f", "f.go", 5, &f2), "f again");
	ASSERT_OK(t, pprof__add_function(p, "f", NULL, "f.go", 6, &f3), "f, other start line");
	ASSERT_OK(t, pprof__add_function(p, "f", "f.abi0", "f.go", 5, &f4), "f, other system name");
	ASSERT_EQ(t, f1, 1, "first function id");
	ASSERT_EQ(t, f2, f1, "same function, same id");
	ASSERT_EQ(t, f3, 2, "start line makes a new function");
	ASSERT_EQ(t, f4, 3, "system name makes a new function");

	ASSERT_OK(t, pprof__add_location(p, m1, 0x10, lines_a, 1, &l1), "loc");
	ASSERT_OK(t, pprof__add_location(p, m1, 0x10, lines_b, 1, &l2), "same address");
	ASSERT_OK(t, pprof__add_location(p, m2, 0x10, lines_a, 1, &l3), "other mapping");
	ASSERT_OK(t, pprof__add_location(p, 0, 0, lines_a, 1, &l4), "address 0");
	ASSERT_OK(t, pprof__add_location(p, 0, 0, lines_a, 1, &l5), "address 0 again");
	ASSERT_EQ(t, l1, 1, "first location id");
	ASSERT_EQ(t, l2, l1, "same address, same location (first lines kept)");
	ASSERT_EQ(t, l3, 2, "other mapping, other location");
	ASSERT_EQ(t, l4, 3, "address 0: new location");
	ASSERT_EQ(t, l5, l4, "address 0, same lines: same location");
	ASSERT_OK(t, pprof__add_location(p, 0, 0, lines_b, 1, &l5), "address 0, other lines");
	ASSERT_EQ(t, l5, 4, "address 0, other lines: new location");
	pprof__stats(p, &st);
	ASSERT_EQ(t, st.functions, 3, "functions");
	ASSERT_EQ(t, st.locations, 4, "locations");
	ASSERT_EQ(t, st.mappings, 2, "mappings");
	ASSERT_EQ(t, st.strings, 5, "strings: \"\" a.out f f.go f.abi0");
	pprof__free(p);
}

static void test_errors(struct test_ctx *t)
{
	struct pprof_line bad_fn[] = { { 7, 1 } }, no_fn[] = { { 0, 1 } };
	struct pprof *p = pprof__new();
	int64_t v[4] = {};
	uint64_t loc = 99, id;

	if (!ASSERT_OK_PTR(t, p, "new"))
		return;
	pprof__free(NULL);
	ASSERT_EQ(t, pprof__set_default_sample_type(p, "inuse_space"), -ENOENT, "default unknown");
	ASSERT_OK(t, pprof__init_go_heap(p, RATE, "inuse_space"), "init");
	ASSERT_EQ(t, pprof__init_go_heap(p, RATE, NULL), -EBUSY, "init twice");
	ASSERT_EQ(t, pprof__sample_type_index(p, "inuse_space"), PPROF_INUSE_SPACE, "index");
	ASSERT_EQ(t, pprof__sample_type_index(p, "cpu"), -ENOENT, "unknown index");
	ASSERT_EQ(t, pprof__add_location(p, 1, 0x10, NULL, 0, &id), -ENOENT, "unknown mapping");
	ASSERT_EQ(t, pprof__add_location(p, 0, 0x10, bad_fn, 1, &id), -ENOENT, "unknown function");
	ASSERT_EQ(t, pprof__add_location(p, 0, 0x10, no_fn, 1, &id), -ENOENT, "function 0");
	ASSERT_EQ(t, pprof__add_sample(p, NULL, 0, v, 3, NULL, 0), -EINVAL, "3 values for 4 types");
	ASSERT_EQ(t, pprof__add_stack(p, NULL, 0, v, 5, NULL, 0), -EINVAL, "5 values for 4 types");
	ASSERT_EQ(t, pprof__add_sample(p, &loc, 1, v, 4, NULL, 0), -ENOENT, "unknown location");
	loc = 0;
	ASSERT_EQ(t, pprof__add_sample(p, &loc, 1, v, 4, NULL, 0), -ENOENT, "location 0");
	ASSERT_OK(t, pprof__add_sample(p, NULL, 0, v, 4, NULL, 0), "sample without locations");
	ASSERT_EQ(t, pprof__add_sample_type(p, "x", "y"), -EBUSY, "type after samples");
	ASSERT_EQ(t, pprof__total(p, 4, &v[0]), -ERANGE, "total of value 4");
	ASSERT_OK(t, pprof__set_default_sample_type(p, NULL), "unset default");
	pprof__free(p);
}

/* ---- folded stacks ---- */

static void test_folded_exact(struct test_ctx *t)
{
	struct pprof *p = sample_profile(t, "/src/main.go", NULL);
	/* a third stack through the same functions as the first, at other PCs: merged by name */
	struct pprof_frame leak_pc[] = { { "main.leak", "/src/main.go", 4, 3 },
					 { "main.fill", "/src/main.go", 8, 7 } };
	struct pprof_frame main_pc[] = { { "main.main", "/src/main.go", 16, 15 } };
	struct pprof_pc s3[] = { { 1, 0x401020, leak_pc, 2 }, { 1, 0x401104, main_pc, 1 } };
	int64_t v3[] = { 1, 1000, 0, 0 };
	char *text = NULL;
	size_t len;
	int64_t total;

	if (!p || !ASSERT_OK(t, pprof__add_stack(p, s3, 2, v3, 4, NULL, 0), "add_stack 3"))
		goto cleanup;
	if (!ASSERT_OK(t, pprof__folded(p, "alloc_space", &text, &len), "folded alloc_space"))
		goto cleanup;
	ASSERT_STREQ(t, text,
		     "main.main;main.churn 320000\n"
		     "main.main;main.fill;main.leak 10486760\n",
		     "alloc_space");
	ASSERT_EQ(t, len, strlen(text), "length");
	ASSERT_OK(t, pprof__total(p, PPROF_ALLOC_SPACE, &total), "total");
	ASSERT_EQ(t, total, 320000 + 10486760, "total = sum of lines");
	free(text);
	text = NULL;
	if (!ASSERT_OK(t, pprof__folded(p, "inuse_objects", &text, &len), "folded inuse_objects"))
		goto cleanup;
	ASSERT_STREQ(t, text,
		     "main.main;main.churn 10\n"
		     "main.main;main.fill;main.leak 8\n",
		     "inuse_objects");
	free(text);
	ASSERT_EQ(t, pprof__folded(p, "cpu", &text, &len), -ENOENT, "unknown type");
	ASSERT_TRUE(t, !text, "no text on error");
cleanup:
	free(text);
	pprof__free(p);
}

static void test_folded_names(struct test_ctx *t)
{
	struct pprof_frame weird[] = {
		{ "main.G[go.shape.struct { X int; Y int }]", NULL, 1, 0 },
		{ "a\nb\tc\rd;e", NULL, 2, 0 },
	};
	struct pprof_frame unknown = { NULL, NULL, 0, 0 };
	struct pprof_pc pcs[] = { { 0, 0x10, weird, 2 }, { 0, 0xabc, &unknown, 1 } };
	struct pprof_pc zero = { 0, 0, &unknown, 1 }, zero_pc = { 0, 0xdef, &unknown, 1 };
	int64_t v = 7, zero_v = 0, neg = -5, minus_v = -7;
	struct pprof *p = pprof__new();
	char *text = NULL, *huge = NULL;
	size_t len, huge_len = 1 << 20;
	int64_t total;

	if (!ASSERT_OK_PTR(t, p, "new") || !ASSERT_OK(t, pprof__add_sample_type(p, "n", "count"),
						    "type"))
		goto cleanup;
	ASSERT_OK(t, pprof__add_stack(p, pcs, 2, &v, 1, NULL, 0), "weird names");
	ASSERT_OK(t, pprof__add_stack(p, NULL, 0, &v, 1, NULL, 0), "no locations");
	ASSERT_OK(t, pprof__add_stack(p, &zero, 1, &v, 1, NULL, 0), "unknown frame, address 0");
	ASSERT_OK(t, pprof__add_stack(p, pcs, 1, &zero_v, 1, NULL, 0), "zero weight");
	ASSERT_OK(t, pprof__add_stack(p, &pcs[1], 1, &neg, 1, NULL, 0), "negative weight");
	ASSERT_OK(t, pprof__add_stack(p, &pcs[1], 1, &v, 1, NULL, 0), "more than cancels it");
	ASSERT_OK(t, pprof__add_stack(p, &zero_pc, 1, &v, 1, NULL, 0), "+7");
	ASSERT_OK(t, pprof__add_stack(p, &zero_pc, 1, &minus_v, 1, NULL, 0), "-7: sums to 0");
	if (!ASSERT_OK(t, pprof__folded(p, "n", &text, &len), "folded"))
		goto cleanup;
	/* inlined frame (innermost first in the location) comes after its caller */
	ASSERT_STREQ(t, text,
		     "0xabc 2\n"
		     "0xabc;a_b_c_d,e;main.G[go.shape.struct_{_X_int,_Y_int_}] 7\n"
		     "[unknown] 14\n",
		     "folded");
	ASSERT_OK(t, pprof__total(p, 0, &total), "total");
	ASSERT_EQ(t, total, 7 + 7 + 7 - 5 + 7 + 7 - 7, "sum");
	free(text);
	text = NULL;

	/* a 1 MiB name goes through the string table and the folded text whole */
	huge = malloc(huge_len + 1);
	if (!ASSERT_OK_PTR(t, huge, "malloc"))
		goto cleanup;
	memset(huge, 'x', huge_len);
	huge[huge_len] = 0;
	weird[0].function = huge;
	pprof__free(p);
	p = pprof__new();
	if (!ASSERT_OK_PTR(t, p, "new") || !ASSERT_OK(t, pprof__add_sample_type(p, "n", "count"),
						    "type") ||
	    !ASSERT_OK(t, pprof__add_stack(p, pcs, 1, &v, 1, NULL, 0), "huge name"))
		goto cleanup;
	if (ASSERT_OK(t, pprof__folded(p, "n", &text, &len), "folded huge")) {
		ASSERT_EQ(t, len, strlen("a_b_c_d,e;") + huge_len + strlen(" 7\n"), "length");
		ASSERT_TRUE(t, !strncmp(text + len - huge_len - 3, huge, huge_len),
			    "name kept whole");
	}
	{
		struct dprof d = {};

		if (encode_decode(t, p, &d) && ASSERT_EQ(t, d.nfunctions, 2, "functions"))
			ASSERT_EQ(t, strlen(dstr(&d, d.functions[0].name)), huge_len, "huge name");
		dprof_free(&d);
	}
cleanup:
	free(huge);
	free(text);
	pprof__free(p);
}

/* ---- scale ---- */

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* 100k distinct stacks of depth 24 over 3000 functions: every table is hashed, so this takes a
 * fraction of a second; anything quadratic in samples or locations would take minutes. */
static void test_100k_samples(struct test_ctx *t)
{
	enum { NSAMPLES = 100000, DEPTH = 24, NFUNCS = 3000 };
	struct pprof_frame frames[DEPTH][2];
	struct pprof_pc pcs[DEPTH];
	char names[NFUNCS][32];
	struct pprof *p = pprof__new();
	struct pprof_stats st;
	struct dprof d = {};
	void *gz = NULL;
	char *text = NULL;
	size_t gzlen, len;
	int64_t want = 0, sum = 0, total;
	uint64_t rng = 1;
	double t0, t_add, t_enc, t_fold;

	if (!ASSERT_OK_PTR(t, p, "new") ||
	    !ASSERT_OK(t, pprof__init_go_heap(p, RATE, NULL), "init"))
		goto cleanup;
	for (int i = 0; i < NFUNCS; i++)
		snprintf(names[i], sizeof(names[i]), "pkg%d.(*T).Method%d", i % 50, i);
	t0 = cpu_seconds();
	for (int s = 0; s < NSAMPLES; s++) {
		int64_t v[4] = { s % 7 + 1, (s % 7 + 1) * 4096, s % 3, (s % 3) * 4096 };

		for (int i = 0; i < DEPTH; i++) {
			/* root part shared among many stacks, leaf part mostly unique */
			uint64_t pc = i >= 4 ? 0x400000 + (uint64_t)i * 0x100 + (s % 50)
					     : 0x500000 + (uint64_t)(s * 4 + i) * 0x10;
			int fi;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			fi = (int)(pc / 0x10 % NFUNCS);
			frames[i][0] = (struct pprof_frame){ names[fi], "x.go", (rng >> 60) + 1 };
			frames[i][1] = (struct pprof_frame){ names[(fi + 1) % NFUNCS], "x.go", 9 };
			pcs[i] = (struct pprof_pc){ 0, pc, frames[i], 1 + (pc & 1) };
		}
		want += v[1];
		if (pprof__add_stack(p, pcs, DEPTH, v, 4, NULL, 0)) {
			FAILF(t, "add_stack %d failed", s);
			goto cleanup;
		}
	}
	t_add = cpu_seconds() - t0;
	t0 = cpu_seconds();
	if (!ASSERT_OK(t, pprof__encode(p, true, &gz, &gzlen), "encode"))
		goto cleanup;
	t_enc = cpu_seconds() - t0;
	t0 = cpu_seconds();
	if (!ASSERT_OK(t, pprof__folded(p, "alloc_space", &text, &len), "folded"))
		goto cleanup;
	t_fold = cpu_seconds() - t0;
	printf("  100k samples: add %.2fs, encode+gzip %.2fs (%zu bytes), "
	       "folded %.2fs (%zu bytes)\n", t_add, t_enc, gzlen, t_fold, len);
	ASSERT_TRUE(t, t_add + t_enc + t_fold < 20, "100k samples in under 20 s of CPU");

	pprof__stats(p, &st);
	ASSERT_EQ(t, st.samples, NSAMPLES, "samples");
	ASSERT_OK(t, pprof__total(p, PPROF_ALLOC_SPACE, &total), "total");
	ASSERT_EQ(t, total, want, "total");
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n'), *sp;

		if (!ASSERT_OK_PTR(t, nl, "line ends with newline"))
			break;
		*nl = 0;
		sp = strrchr(line, ' ');
		if (!ASSERT_OK_PTR(t, sp, "weight"))
			break;
		sum += strtoll(sp + 1, NULL, 10);
		line = nl + 1;
	}
	ASSERT_EQ(t, sum, want, "folded lines sum to the total");
	{
		uint8_t *raw = NULL;
		size_t rawlen;

		d.count_only = true;
		if (ASSERT_TRUE(t, gunzip(gz, gzlen, &raw, &rawlen), "gunzip") &&
		    (decode_profile(raw, rawlen, &d) || FAILF(t, "decode: %s", d.why))) {
			ASSERT_EQ(t, d.nsamples, NSAMPLES, "decoded samples");
			ASSERT_EQ(t, d.nlocations, st.locations, "decoded locations");
			ASSERT_EQ(t, d.nfunctions, st.functions, "decoded functions");
		}
		free(raw);
	}
cleanup:
	dprof_free(&d);
	free(gz);
	free(text);
	pprof__free(p);
}

/* ---- files ---- */

static bool make_temp_dir(struct test_ctx *t, char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/test_pprof.XXXXXX", tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? true : FAILF(t, "mkdtemp: %s", strerror(errno));
}

static void remove_dir(const char *dir)
{
	char cmd[1100];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

static bool read_file(const char *path, struct strbuf *sb)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_printf(sb, "%.*s", (int)n, chunk);
	fclose(f);
	return !sb->oom;
}

/* The names record --sample-index accepts are the ones pprof__init_go_heap writes, in order. */
static void test_go_heap_type_index(struct test_ctx *t)
{
	struct pprof *p = pprof__new();
	static const char *const names[] = { "alloc_objects", "alloc_space", "inuse_objects",
					     "inuse_space" };

	if (!ASSERT_OK_PTR(t, p, "pprof__new") ||
	    !ASSERT_OK(t, pprof__init_go_heap(p, 524288, "inuse_space"), "init_go_heap"))
		goto cleanup;
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(t, pprof__go_heap_type_index(names[i]), i, names[i]);
		ASSERT_EQ(t, pprof__sample_type_index(p, names[i]), i, names[i]);
	}
	ASSERT_EQ(t, pprof__go_heap_type_index("inuse_bytes"), -ENOENT, "unknown type");
cleanup:
	pprof__free(p);
}

static void test_write_file(struct test_ctx *t)
{
	char dir[1024], path[1100], missing[1100];
	struct strbuf sb = {};
	struct stat st;
	mode_t old_umask;
	DIR *dh;
	struct dirent *de;
	int entries = 0;

	if (!make_temp_dir(t, dir, sizeof(dir)))
		return;
	snprintf(path, sizeof(path), "%s/heap.pb.gz", dir);
	ASSERT_OK(t, pprof__write_file(path, "first", 5), "write");
	old_umask = umask(027);
	ASSERT_OK(t, pprof__write_file(path, "second version", 14), "replace");
	umask(old_umask);
	if (ASSERT_TRUE(t, read_file(path, &sb), "read back"))
		ASSERT_STREQ(t, sb.buf, "second version", "contents replaced whole");
	if (ASSERT_TRUE(t, !stat(path, &st), "stat"))
		ASSERT_EQ(t, st.st_mode & 0777, 0640, "mode 0666 less umask 027");
	dh = opendir(dir);
	while (dh && (de = readdir(dh)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			entries++;
	if (dh)
		closedir(dh);
	ASSERT_EQ(t, entries, 1, "no temporary file left behind");
	snprintf(missing, sizeof(missing), "%s/no/such/dir/x", dir);
	ASSERT_EQ(t, pprof__write_file(missing, "x", 1), -ENOENT, "missing directory");
	ASSERT_EQ(t, pprof__write_fd(-1, "x", 1), -EBADF, "bad fd");
	strbuf_free(&sb);
	remove_dir(dir);
}

/* ---- go tool pprof ---- */

/* Runs cmd through sh, output (stdout and stderr) into out; returns the exit status. */
static int run(const char *cmd, struct strbuf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = popen(cmd, "r");

	out->len = 0;
	if (out->buf)
		out->buf[0] = 0;
	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_printf(out, "%.*s", (int)n, chunk);
	return pclose(f);
}

/* Some line of text holds all needles, in order. */
#define ASSERT_LINE(t, text, ...) assert_line(t, text, (const char *[]){ __VA_ARGS__, NULL })

static bool assert_line(struct test_ctx *t, const char *text, const char **needles)
{
	const char *line = text, *end, *at;
	int i;

	for (; line && *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		for (i = 0, at = line; needles[i]; i++) {
			at = memmem(at, end - at, needles[i], strlen(needles[i]));
			if (!at)
				break;
			at += strlen(needles[i]);
		}
		if (!needles[i])
			return true;
	}
	FAILF(t, "no line with \"%s\"%s in:\n%s", needles[0], needles[1] ? " and the rest" : "",
	      text);
	for (i = 1; needles[i]; i++)
		printf("  ...then \"%s\"\n", needles[i]);
	return false;
}

/* The line of text containing needle (copied into line), or false. */
static bool line_with(const char *text, const char *needle, char *line, size_t size)
{
	const char *hit = text ? strstr(text, needle) : NULL, *start, *end;

	if (!hit)
		return false;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	if (!end)
		end = hit + strlen(hit);
	snprintf(line, size, "%.*s", (int)(end - start), start);
	return true;
}

/* needle a appears before needle b in text. */
static bool assert_before(struct test_ctx *t, const char *text, const char *a, const char *b)
{
	const char *x = strstr(text, a), *y = strstr(text, b);

	if (x && y && x < y)
		return true;
	return FAILF(t, "want \"%s\" before \"%s\" in:\n%s", a, b, text);
}

/* pprof warns on stderr, and still exits 0, about a profile it had to repair or a binary it
 * tried to symbolize (has_functions unset). */
static bool no_complaints(struct test_ctx *t, const char *cmd, const char *out)
{
	static const char *const words[] = { "rror", "arning", "ailed", "ymboliz", "nknown" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(out, words[i]))
			return FAILF(t, "%s: \"%s\" in:\n%s", cmd, words[i], out);
	return true;
}

static int go_toolchains(char go[][1024], int max)
{
	const char *candidates[] = { NULL, "/usr/local/go/bin/go", "/usr/lib/go-1.19/bin/go" };
	char path_go[1024] = "", real[3][PATH_MAX];
	const char *path = getenv("PATH");
	int n = 0;

	/* `go` on PATH first */
	while (path && *path) {
		const char *colon = strchr(path, ':');
		int len = colon ? colon - path : (int)strlen(path);

		snprintf(path_go, sizeof(path_go), "%.*s/go", len, path);
		if (len && !access(path_go, X_OK)) {
			candidates[0] = path_go;
			break;
		}
		path = colon ? colon + 1 : NULL;
	}
	for (int i = 0; i < 3 && n < max; i++) {
		bool dup = false;

		if (!candidates[i] || !realpath(candidates[i], real[n]))
			continue;
		for (int j = 0; j < n; j++)
			dup |= !strcmp(real[j], real[n]);
		if (!dup)
			snprintf(go[n++], 1024, "%s", candidates[i]);
	}
	return n;
}

static bool write_profile(struct test_ctx *t, struct pprof *p, const char *path)
{
	void *gz = NULL;
	size_t len;
	int err = pprof__encode(p, true, &gz, &len);

	if (!err)
		err = pprof__write_file(path, gz, len);
	free(gz);
	return ASSERT_OK(t, err, "write profile");
}

/* pprof's output for the sample profile, one toolchain. */
static void check_go_pprof(struct test_ctx *t, const char *go, const char *dir)
{
	char heap[1100], allocs[1100], src[1100], cmd[8192];
	struct pprof *p = NULL, *pa = NULL;
	struct strbuf out = {};
	FILE *f;

	snprintf(src, sizeof(src), "%s/main.go", dir);
	snprintf(heap, sizeof(heap), "%s/heap.pb.gz", dir);
	snprintf(allocs, sizeof(allocs), "%s/allocs.pb.gz", dir);
	f = fopen(src, "w");
	if (!ASSERT_OK_PTR(t, f, "create main.go"))
		return;
	fputs(go_source, f);
	fclose(f);
	p = sample_profile(t, src, NULL);
	pa = sample_profile(t, src, "alloc_space");
	if (!p || !pa || !write_profile(t, p, heap) || !write_profile(t, pa, allocs))
		goto cleanup;

#define PPROF(args, file)                                                                          \
	(snprintf(cmd, sizeof(cmd), "cd '%s' && GOTOOLCHAIN=local '%s' tool pprof %s '%s' 2>&1",  \
		  dir, go, args, file),                                                            \
	 run(cmd, &out) ? FAILF(t, "%s failed:\n%s", cmd, out.buf) : no_complaints(t, cmd, out.buf))

	/* -raw: the header, sample types, values and labels, inlined lines, the mapping */
	if (PPROF("-raw", heap)) {
		ASSERT_LINE(t, out.buf, "PeriodType: space bytes");
		ASSERT_LINE(t, out.buf, "Period: 524288");
		ASSERT_LINE(t, out.buf, "Duration: 10s");
		ASSERT_LINE(t, out.buf, "alloc_objects/count alloc_space/bytes inuse_objects/count "
					"inuse_space/bytes");
		ASSERT_LINE(t, out.buf, " 10485760 ", "8 ", "8388608: 1 2 ");
		ASSERT_LINE(t, out.buf, " 5000 ", " 320000 ", " 10 ", " 640: 3 4 ");
		ASSERT_LINE(t, out.buf, "bytes:[1048576]");
		ASSERT_LINE(t, out.buf, "bytes:[64]");
		/* location 1: address, mapping, then both lines, innermost first */
		ASSERT_LINE(t, out.buf, "1: 0x401010 M=1 main.leak ", "main.go:4");
		ASSERT_LINE(t, out.buf, "main.fill ", "main.go:8");
		assert_before(t, out.buf, "main.leak ", "main.fill ");
		ASSERT_LINE(t, out.buf, "4: 0x401110 M=1 main.main ", "main.go:17");
		ASSERT_LINE(t, out.buf, "1: 0x400000/0x500000/0x0 /usr/bin/goalloc " BUILD_ID);
	}
	/* -top: the default type of a heap profile is inuse_space; inlined frames marked */
	if (PPROF("-top -nodefraction=0 -unit=B", heap)) {
		ASSERT_LINE(t, out.buf, "Type: inuse_space");
		ASSERT_LINE(t, out.buf, " 8388608B ", "main.leak (inline)");
		ASSERT_LINE(t, out.buf, " 640B ", "main.churn");
		assert_before(t, out.buf, "main.leak", "main.churn");
	}
	if (PPROF("-top -sample_index=inuse_space", heap)) {
		ASSERT_LINE(t, out.buf, "Type: inuse_space");
		ASSERT_LINE(t, out.buf, "Showing nodes accounting for", "8MB", "100%");
		ASSERT_LINE(t, out.buf, "main.fill");
		ASSERT_LINE(t, out.buf, "main.main");
	}
	if (PPROF("-top -sample_index=alloc_space", heap)) {
		ASSERT_LINE(t, out.buf, "Type: alloc_space");
		ASSERT_LINE(t, out.buf, "10240kB", "main.leak (inline)");
		ASSERT_LINE(t, out.buf, "312.50kB", "main.churn");
		assert_before(t, out.buf, "main.leak", "main.churn");
	}
	if (PPROF("-top -nodefraction=0 -sample_index=alloc_objects", heap)) {
		ASSERT_LINE(t, out.buf, "Type: alloc_objects");
		ASSERT_LINE(t, out.buf, "5000", "main.churn");
		ASSERT_LINE(t, out.buf, "10 ", "main.leak (inline)");
		assert_before(t, out.buf, "main.churn", "main.leak");
	}
	/* an allocs profile defaults to alloc_space */
	if (PPROF("-top", allocs))
		ASSERT_LINE(t, out.buf, "Type: alloc_space");
	/* -traces: whole stacks leaf first, with the bytes label */
	if (PPROF("-traces", heap)) {
		ASSERT_LINE(t, out.buf, "Type: inuse_space");
		ASSERT_LINE(t, out.buf, "bytes:", "1MB");
		ASSERT_LINE(t, out.buf, "8MB", "main.leak");
		assert_before(t, out.buf, "main.leak", "main.fill");
		assert_before(t, out.buf, "main.fill", "main.main");
		ASSERT_LINE(t, out.buf, "640B", "main.churn");
	}
	/* -list: source lines with their values, from Function.filename */
	if (PPROF("-list 'main\\.leak'", heap)) {
		ASSERT_LINE(t, out.buf, "ROUTINE", "main.leak", src);
		ASSERT_LINE(t, out.buf, "8MB", "4:", "return make([]byte, 1<<20)");
	}
	if (PPROF("-list 'main\\.main'", heap)) {
		ASSERT_LINE(t, out.buf, "8MB", "16:", "fill()");
		ASSERT_LINE(t, out.buf, "640B", "17:", "churn()");
	}
	if (PPROF("-comments", heap))
		ASSERT_LINE(t, out.buf, "heapscope: in-use since attach");

	/* an empty heap profile, then one sample with no stack: counted in the total */
	pprof__free(p);
	p = pprof__new();
	if (!ASSERT_OK_PTR(t, p, "new") ||
	    !ASSERT_OK(t, pprof__init_go_heap(p, RATE, NULL), "init") || !write_profile(t, p, heap))
		goto cleanup;
	if (PPROF("-top", heap)) {
		ASSERT_LINE(t, out.buf, "Type: inuse_space");
		ASSERT_LINE(t, out.buf, "Showing nodes accounting for 0, 0% of 0 total");
	}
	if (!ASSERT_OK(t, pprof__add_sample(p, NULL, 0, (int64_t[]){ 1, 2, 3, 4 }, 4, NULL, 0),
		       "sample without stack") ||
	    !write_profile(t, p, heap))
		goto cleanup;
	if (PPROF("-top -unit=B", heap))
		ASSERT_LINE(t, out.buf, "Showing nodes accounting for 0, 0% of 4B total");
#undef PPROF
cleanup:
	strbuf_free(&out);
	pprof__free(p);
	pprof__free(pa);
}

static void test_go_tool_pprof(struct test_ctx *t)
{
	char go[3][1024], dir[1024];
	int n = go_toolchains(go, 3);

	if (!n) {
		SKIP(t, "no Go toolchain (go on PATH, /usr/local/go, /usr/lib/go-1.19)");
		return;
	}
	for (int i = 0; i < n && !t->failed; i++) {
		if (!make_temp_dir(t, dir, sizeof(dir)))
			return;
		printf("  %s tool pprof\n", go[i]);
		check_go_pprof(t, go[i], dir);
		if (t->failed)
			printf("  (failed with %s; files kept in %s)\n", go[i], dir);
		else
			remove_dir(dir);
	}
}

/* A Go program that writes its own heap and allocs profiles: a loop keeps 1000 objects of
 * 4 KiB from leak(), which the compiler inlines into main. */
static const char go_heap_program[] =
	"package main\n"
	"\n"
	"import (\n"
	"\t\"os\"\n"
	"\t\"runtime\"\n"
	"\t\"runtime/pprof\"\n"
	")\n"
	"\n"
	"var keep [][]byte\n"
	"\n"
	"func leak() []byte {\n"
	"\treturn make([]byte, 4096)\n"
	"}\n"
	"\n"
	"func main() {\n"
	"\truntime.MemProfileRate = 4096\n"
	"\tfor i := 0; i < 1000; i++ {\n"
	"\t\tkeep = append(keep, leak())\n"
	"\t}\n"
	"\truntime.GC()\n"
	"\tfor _, name := range []string{\"heap\", \"allocs\"} {\n"
	"\t\tf, err := os.Create(\"go-\" + name + \".pb.gz\")\n"
	"\t\tif err != nil {\n"
	"\t\t\tpanic(err)\n"
	"\t\t}\n"
	"\t\tif err := pprof.Lookup(name).WriteTo(f, 0); err != nil {\n"
	"\t\t\tpanic(err)\n"
	"\t\t}\n"
	"\t\tf.Close()\n"
	"\t}\n"
	"}\n";

/* The line after the first line containing needle, or false. */
static bool line_after(const char *text, const char *needle, char *line, size_t size)
{
	const char *hit = text ? strstr(text, needle) : NULL, *next;

	next = hit ? strchr(hit, '\n') : NULL;
	if (!next)
		return false;
	next++;
	snprintf(line, size, "%.*s", (int)strcspn(next, "\n"), next);
	return true;
}

/* Same line (by its first word) in Go's and our pprof output. */
static void same_line(struct test_ctx *t, const char *theirs, const char *ours, const char *key)
{
	char a[1024], b[1024];

	if (!line_with(theirs, key, a, sizeof(a)))
		FAILF(t, "Go's profile has no \"%s\" line:\n%s", key, theirs);
	else if (!line_with(ours, key, b, sizeof(b)))
		FAILF(t, "our profile has no \"%s\" line:\n%s", key, ours);
	else
		ASSERT_STREQ(t, b, a, key);
}

/* `pprof args` on go-NAME.pb.gz and ours-NAME.pb.gz in dir. */
static bool both(struct test_ctx *t, const char *go, const char *dir, const char *args,
		 const char *name, struct strbuf *theirs, struct strbuf *ours)
{
	char cmd[8192];

	for (int i = 0; i < 2; i++) {
		struct strbuf *out = i ? ours : theirs;

		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && GOTOOLCHAIN=local '%s' tool pprof %s %s-%s.pb.gz 2>&1", dir,
			 go, args, i ? "ours" : "go", name);
		if (run(cmd, out))
			return FAILF(t, "%s:\n%s", cmd, out->buf);
	}
	return true;
}

static void compare_with_go(struct test_ctx *t, const char *go, const char *dir)
{
	char src[1100], cmd[8192], a[1024], b[1024];
	struct strbuf theirs = {}, ours = {};
	struct pprof *p = NULL;
	FILE *f;

	snprintf(src, sizeof(src), "%s/main.go", dir);
	f = fopen(src, "w");
	if (!ASSERT_OK_PTR(t, f, "create main.go"))
		return;
	fputs(go_heap_program, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && GOTOOLCHAIN=local '%s' run main.go 2>&1", dir, go);
	if (run(cmd, &theirs)) {
		FAILF(t, "%s:\n%s", cmd, theirs.buf);
		goto cleanup;
	}
	for (int allocs = 0; allocs < 2; allocs++) {
		const char *name = allocs ? "allocs" : "heap";

		pprof__free(p);
		p = sample_profile_rate(t, src, allocs ? "alloc_space" : NULL, 4096);
		snprintf(cmd, sizeof(cmd), "%s/ours-%s.pb.gz", dir, name);
		if (!p || !write_profile(t, p, cmd))
			goto cleanup;
		/* the default sample index and the header pprof prints */
		if (both(t, go, dir, "-top", name, &theirs, &ours))
			same_line(t, theirs.buf, ours.buf, "Type:");
		if (allocs || !both(t, go, dir, "-raw", name, &theirs, &ours))
			continue;
		same_line(t, theirs.buf, ours.buf, "PeriodType:");
		same_line(t, theirs.buf, ours.buf, "Period:");
		same_line(t, theirs.buf, ours.buf, "alloc_objects/count");
		/* the average object size label, 4096 for leak()'s objects */
		ASSERT_LINE(t, theirs.buf, "bytes:[4096]");
		ASSERT_LINE(t, ours.buf, "bytes:[1048576]");
		/* an inlined call: one location, the caller on the next line without an address */
		if (ASSERT_TRUE(t, line_after(theirs.buf, "M=1 main.leak ", a, sizeof(a)),
				"Go: main.leak location") &&
		    ASSERT_TRUE(t, line_after(ours.buf, "M=1 main.leak ", b, sizeof(b)),
				"ours: main.leak location")) {
			ASSERT_TRUE(t, strstr(a, " main.main ") && !strstr(a, "0x"),
				    "Go: main.main inlined line");
			ASSERT_TRUE(t, strstr(b, " main.fill ") && !strstr(b, "0x"),
				    "ours: main.fill inlined line");
			ASSERT_EQ(t, strspn(b, " "), strspn(a, " "), "same indentation");
		}
	}
cleanup:
	pprof__free(p);
	strbuf_free(&theirs);
	strbuf_free(&ours);
}

/* What makes pprof treat a file as a Go heap profile -- default type, period, sample types, the
 * bytes label, inlined frames -- shows the same for ours as for runtime/pprof's own. */
static void test_matches_go_heap_profile(struct test_ctx *t)
{
	char go[3][1024], dir[1024];
	int n = go_toolchains(go, 3);

	if (!n) {
		SKIP(t, "no Go toolchain (go on PATH, /usr/local/go, /usr/lib/go-1.19)");
		return;
	}
	for (int i = 0; i < n && !t->failed; i++) {
		if (!make_temp_dir(t, dir, sizeof(dir)))
			return;
		printf("  %s run + tool pprof\n", go[i]);
		compare_with_go(t, go[i], dir);
		if (t->failed)
			printf("  (failed with %s; files kept in %s)\n", go[i], dir);
		else
			remove_dir(dir);
	}
}

int main(void)
{
	RUN(test_decode_fields);
	RUN(test_decode_edge_values);
	RUN(test_empty_profile);
	RUN(test_dedup);
	RUN(test_errors);
	RUN(test_folded_exact);
	RUN(test_folded_names);
	RUN(test_100k_samples);
	RUN(test_go_heap_type_index);
	RUN(test_write_file);
	RUN(test_go_tool_pprof);
	RUN(test_matches_go_heap_profile);
	return harness_done();
}
