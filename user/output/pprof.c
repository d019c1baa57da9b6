// SPDX-License-Identifier: GPL-2.0
/* pprof profile.proto builder. The protobuf encoder is written by hand rather than generated
 * with protoc-c (ecosystem.md 2.5): a profile needs only varints, length-delimited submessages
 * and packed repeated integers, about 80 lines here, while protoc-c would add a build-time code
 * generator, generated sources and libprotobuf-c at run time, and would still need the whole
 * profile copied into its structs before packing. runtime/pprof (protobuf.go) does the same. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "pprof.h"

/* ---- growable byte buffer with a sticky error, so encoders need no checks per write ---- */

struct buf {
	uint8_t *data;
	size_t len, cap;
	int err;
};

static bool buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	uint8_t *d;

	if (b->err)
		return false;
	if (extra <= b->cap - b->len)
		return true;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->err = -ENOMEM;
		return false;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d) {
		b->err = -ENOMEM;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (!n || !buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

/* ---- arrays, hashing ---- */

static int grow(void *arrp, size_t *cap, size_t need, size_t size)
{
	void **arr = arrp;
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *s = p;

	/* FNV-1a */
	while (n--)
		h = (h ^ *s++) * 0x100000001b3ull;
	return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	/* murmur3's finalizer over the running hash: every input bit reaches every output bit */
	h ^= v + 0x9e3779b97f4a7c15ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ull

/* Open addressing, linear probing, load <= 1/2. Slots hold an entry index + 1 (0 = empty) and
 * the entry's hash, so growing needs no rehash and most mismatches skip the compare. */
struct hslot {
	uint32_t hash, idx;
};

struct htab {
	struct hslot *slots;
	size_t mask, n;
};

typedef bool (*htab_eq_fn)(const void *ctx, uint32_t idx, const void *key);

/* Call before htab_slot() when an insert may follow. */
static int htab_reserve(struct htab *h)
{
	size_t cap = h->slots ? h->mask + 1 : 0, ncap, i, j;
	struct hslot *s;

	if ((h->n + 1) * 2 <= cap)
		return 0;
	if (h->n >= UINT32_MAX - 1)
		return -E2BIG;
	ncap = cap ? cap * 2 : 64;
	s = calloc(ncap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < cap; i++) {
		if (!h->slots[i].idx)
			continue;
		for (j = h->slots[i].hash & (ncap - 1); s[j].idx; j = (j + 1) & (ncap - 1))
			;
		s[j] = h->slots[i];
	}
	free(h->slots);
	h->slots = s;
	h->mask = ncap - 1;
	return 0;
}

/* The slot of the entry equal to key, or the empty slot where it would go; NULL if the table
 * was never reserved. */
static struct hslot *htab_slot(const struct htab *h, uint64_t hash, htab_eq_fn eq,
			       const void *ctx, const void *key)
{
	uint32_t h32 = (uint32_t)(hash ^ (hash >> 32));
	size_t i;

	if (!h->slots)
		return NULL;
	for (i = h32 & h->mask;; i = (i + 1) & h->mask) {
		struct hslot *s = &h->slots[i];

		if (!s->idx || (s->hash == h32 && eq(ctx, s->idx - 1, key)))
			return s;
	}
}

static void htab_set(struct htab *h, struct hslot *s, uint64_t hash, size_t idx)
{
	s->hash = (uint32_t)(hash ^ (hash >> 32));
	s->idx = (uint32_t)idx + 1;
	h->n++;
}

/* ---- the profile ---- */

struct pstr {
	char *s;
	size_t len;
};

struct pfunc {
	int64_t name, system_name, filename, start_line;
};

struct ploc {
	uint64_t mapping_id, address;
	size_t line_off, nlines;
};

struct pmap {
	uint64_t start, limit, offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct plabel {
	int64_t key, str, num, num_unit;
};

struct psample {
	size_t loc_off, nlocs, label_off, nlabels;
};

struct pprof {
	struct pstr *strs;
	size_t nstrs, strs_cap;
	struct htab str_index;

	int64_t (*types)[2];		/* (type, unit) string indices */
	size_t ntypes, types_cap;
	int64_t default_type;
	int64_t period_type[2], period;
	int64_t time_nanos, duration_nanos;
	int64_t *comments;
	size_t ncomments, comments_cap;

	struct pmap *maps;
	size_t nmaps, maps_cap;
	struct pfunc *funcs;
	size_t nfuncs, funcs_cap;
	struct htab func_index;
	struct ploc *locs;
	size_t nlocs, locs_cap;
	struct htab loc_index;
	struct pprof_line *lines;	/* all locations' lines, back to back */
	size_t nlines, lines_cap;

	struct psample *samples;
	size_t nsamples, samples_cap;
	uint64_t *sample_locs;		/* all samples' location ids, back to back */
	size_t nsample_locs, sample_locs_cap;
	int64_t *values;		/* ntypes per sample */
	size_t nvalues, values_cap;
	struct plabel *labels;
	size_t nlabels, labels_cap;

	/* scratch for pprof__add_pc / pprof__add_stack */
	struct pprof_line *tmp_lines;
	size_t tmp_lines_cap;
	uint64_t *tmp_locs;
	size_t tmp_locs_cap;
};

struct str_key {
	const char *s;
	size_t len;
};

static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct str_key *k = key;

	return p->strs[idx].len == k->len && !memcmp(p->strs[idx].s, k->s, k->len);
}

/* Index of s in the string table, added if new; -ENOMEM. */
static int64_t str_intern(struct pprof *p, const char *s)
{
	struct str_key k = { s ? s : "", 0 };
	uint64_t hash;
	struct hslot *slot;
	char *copy;
	int err;

	k.len = strlen(k.s);
	hash = hash_bytes(HASH_SEED, k.s, k.len);
	err = htab_reserve(&p->str_index);
	if (err)
		return err;
	slot = htab_slot(&p->str_index, hash, str_eq, p, &k);
	if (slot->idx)
		return slot->idx - 1;
	if (grow(&p->strs, &p->strs_cap, p->nstrs + 1, sizeof(*p->strs)))
		return -ENOMEM;
	copy = malloc(k.len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, k.s, k.len + 1);
	p->strs[p->nstrs] = (struct pstr){ copy, k.len };
	htab_set(&p->str_index, slot, hash, p->nstrs);
	return p->nstrs++;
}

/* Index of s if it is in the string table, else -ENOENT. */
static int64_t str_find(const struct pprof *p, const char *s)
{
	struct str_key k = { s ? s : "", 0 };
	struct hslot *slot;

	k.len = strlen(k.s);
	slot = htab_slot(&p->str_index, hash_bytes(HASH_SEED, k.s, k.len), str_eq, p, &k);
	return slot && slot->idx ? (int64_t)slot->idx - 1 : -ENOENT;
}

struct pprof *pprof__new(void)
{
	struct pprof *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	/* string_table[0] must be "" */
	if (str_intern(p, "") != 0) {
		pprof__free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void pprof__free(struct pprof *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nstrs; i++)
		free(p->strs[i].s);
	free(p->strs);
	free(p->str_index.slots);
	free(p->types);
	free(p->comments);
	free(p->maps);
	free(p->funcs);
	free(p->func_index.slots);
	free(p->locs);
	free(p->loc_index.slots);
	free(p->lines);
	free(p->samples);
	free(p->sample_locs);
	free(p->values);
	free(p->labels);
	free(p->tmp_lines);
	free(p->tmp_locs);
	free(p);
}

int pprof__add_sample_type(struct pprof *p, const char *type, const char *unit)
{
	int64_t t, u;

	if (p->nsamples)
		return -EBUSY;
	t = str_intern(p, type);
	u = str_intern(p, unit);
	if (t < 0 || u < 0)
		return -ENOMEM;
	if (grow(&p->types, &p->types_cap, p->ntypes + 1, sizeof(*p->types)))
		return -ENOMEM;
	p->types[p->ntypes][0] = t;
	p->types[p->ntypes][1] = u;
	p->ntypes++;
	return 0;
}

int pprof__sample_type_index(const struct pprof *p, const char *type)
{
	int64_t t = str_find(p, type);
	size_t i;

	for (i = 0; t >= 0 && i < p->ntypes; i++)
		if (p->types[i][0] == t)
			return i;
	return -ENOENT;
}

int pprof__set_default_sample_type(struct pprof *p, const char *type)
{
	int idx;

	if (!type) {
		p->default_type = 0;
		return 0;
	}
	idx = pprof__sample_type_index(p, type);
	if (idx < 0)
		return idx;
	p->default_type = p->types[idx][0];
	return 0;
}

int pprof__set_period(struct pprof *p, const char *type, const char *unit, int64_t period)
{
	int64_t t = str_intern(p, type), u = str_intern(p, unit);

	if (t < 0 || u < 0)
		return -ENOMEM;
	p->period_type[0] = t;
	p->period_type[1] = u;
	p->period = period;
	return 0;
}

void pprof__set_time(struct pprof *p, int64_t time_nanos, int64_t duration_nanos)
{
	p->time_nanos = time_nanos;
	p->duration_nanos = duration_nanos;
}

int pprof__add_comment(struct pprof *p, const char *comment)
{
	int64_t c = str_intern(p, comment);

	if (c < 0 || grow(&p->comments, &p->comments_cap, p->ncomments + 1, sizeof(*p->comments)))
		return -ENOMEM;
	p->comments[p->ncomments++] = c;
	return 0;
}

static const char *const go_heap_types[PPROF_GO_HEAP_NVALUES][2] = {
	[PPROF_ALLOC_OBJECTS] = { "alloc_objects", "count" },
	[PPROF_ALLOC_SPACE] = { "alloc_space", "bytes" },
	[PPROF_INUSE_OBJECTS] = { "inuse_objects", "count" },
	[PPROF_INUSE_SPACE] = { "inuse_space", "bytes" },
};

int pprof__go_heap_type_index(const char *type)
{
	for (int i = 0; i < PPROF_GO_HEAP_NVALUES; i++)
		if (!strcmp(go_heap_types[i][0], type))
			return i;
	return -ENOENT;
}

int pprof__init_go_heap(struct pprof *p, int64_t rate, const char *default_sample_type)
{
	int i, err;

	if (p->ntypes)
		return -EBUSY;
	for (i = 0; i < PPROF_GO_HEAP_NVALUES; i++) {
		err = pprof__add_sample_type(p, go_heap_types[i][0], go_heap_types[i][1]);
		if (err)
			goto cleanup;
	}
	err = pprof__set_period(p, "space", "bytes", rate);
	if (!err)
		err = pprof__set_default_sample_type(p, default_sample_type);
cleanup:
	if (err)
		p->ntypes = 0;
	return err;
}

int pprof__add_mapping(struct pprof *p, const struct pprof_mapping *m, uint64_t *id)
{
	int64_t file = str_intern(p, m->filename), build_id = str_intern(p, m->build_id);

	if (file < 0 || build_id < 0 ||
	    grow(&p->maps, &p->maps_cap, p->nmaps + 1, sizeof(*p->maps)))
		return -ENOMEM;
	p->maps[p->nmaps++] = (struct pmap){
		.start = m->start,
		.limit = m->limit,
		.offset = m->offset,
		.filename = file,
		.build_id = build_id,
		.has_functions = m->has_functions,
		.has_filenames = m->has_filenames,
		.has_line_numbers = m->has_line_numbers,
		.has_inline_frames = m->has_inline_frames,
	};
	if (id)
		*id = p->nmaps;
	return 0;
}

static uint64_t func_hash(const struct pfunc *f)
{
	uint64_t h = hash_u64(HASH_SEED, f->name);

	h = hash_u64(h, f->system_name);
	h = hash_u64(h, f->filename);
	return hash_u64(h, f->start_line);
}

static bool func_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;

	return !memcmp(&p->funcs[idx], key, sizeof(struct pfunc));
}

int pprof__add_function(struct pprof *p, const char *name, const char *system_name,
			const char *filename, int64_t start_line, uint64_t *id)
{
	struct pfunc f = {
		.name = str_intern(p, name),
		.system_name = str_intern(p, system_name ? system_name : name),
		.filename = str_intern(p, filename),
		.start_line = start_line,
	};
	uint64_t hash;
	struct hslot *slot;
	int err;

	if (f.name < 0 || f.system_name < 0 || f.filename < 0)
		return -ENOMEM;
	hash = func_hash(&f);
	err = htab_reserve(&p->func_index);
	if (err)
		return err;
	slot = htab_slot(&p->func_index, hash, func_eq, p, &f);
	if (!slot->idx) {
		if (grow(&p->funcs, &p->funcs_cap, p->nfuncs + 1, sizeof(*p->funcs)))
			return -ENOMEM;
		p->funcs[p->nfuncs] = f;
		htab_set(&p->func_index, slot, hash, p->nfuncs++);
	}
	if (id)
		*id = slot->idx;
	return 0;
}

struct loc_key {
	uint64_t mapping_id, address;
	const struct pprof_line *lines;
	size_t nlines;
};

static uint64_t loc_hash(const struct loc_key *k)
{
	uint64_t h = hash_u64(hash_u64(HASH_SEED, k->mapping_id), k->address);
	size_t i;

	for (i = 0; !k->address && i < k->nlines; i++)
		h = hash_u64(hash_u64(h, k->lines[i].function_id), k->lines[i].line);
	return h;
}

static bool loc_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct ploc *l = &p->locs[idx];
	const struct loc_key *k = key;

	if (l->mapping_id != k->mapping_id || l->address != k->address)
		return false;
	if (k->address)
		return true;
	if (l->nlines != k->nlines)
		return false;
	return !k->nlines ||
	       !memcmp(&p->lines[l->line_off], k->lines, k->nlines * sizeof(*k->lines));
}

/* Location id for a known (mapping, nonzero address), or 0. */
static uint64_t loc_find_address(const struct pprof *p, uint64_t mapping_id, uint64_t address)
{
	struct loc_key k = { mapping_id, address, NULL, 0 };
	struct hslot *slot = htab_slot(&p->loc_index, loc_hash(&k), loc_eq, p, &k);

	return slot ? slot->idx : 0;
}

int pprof__add_location(struct pprof *p, uint64_t mapping_id, uint64_t address,
			const struct pprof_line *lines, size_t nlines, uint64_t *id)
{
	struct loc_key k = { mapping_id, address, lines, nlines };
	uint64_t hash = loc_hash(&k);
	struct hslot *slot;
	size_t i;
	int err;

	if (mapping_id > p->nmaps)
		return -ENOENT;
	for (i = 0; i < nlines; i++)
		if (!lines[i].function_id || lines[i].function_id > p->nfuncs)
			return -ENOENT;
	err = htab_reserve(&p->loc_index);
	if (err)
		return err;
	slot = htab_slot(&p->loc_index, hash, loc_eq, p, &k);
	if (!slot->idx) {
		if (grow(&p->locs, &p->locs_cap, p->nlocs + 1, sizeof(*p->locs)) ||
		    grow(&p->lines, &p->lines_cap, p->nlines + nlines, sizeof(*p->lines)))
			return -ENOMEM;
		if (nlines)
			memcpy(&p->lines[p->nlines], lines, nlines * sizeof(*lines));
		p->locs[p->nlocs] = (struct ploc){ mapping_id, address, p->nlines, nlines };
		p->nlines += nlines;
		htab_set(&p->loc_index, slot, hash, p->nlocs++);
	}
	if (id)
		*id = slot->idx;
	return 0;
}

int pprof__add_pc(struct pprof *p, const struct pprof_pc *pc, uint64_t *location_id)
{
	uint64_t id = pc->address ? loc_find_address(p, pc->mapping_id, pc->address) : 0;
	size_t i, n = 0;
	int err;

	if (id) {
		if (location_id)
			*location_id = id;
		return 0;
	}
	/* checked here too so a bad id adds no functions */
	if (pc->mapping_id > p->nmaps)
		return -ENOENT;
	if (grow(&p->tmp_lines, &p->tmp_lines_cap, pc->nframes, sizeof(*p->tmp_lines)))
		return -ENOMEM;
	for (i = 0; i < pc->nframes; i++) {
		const struct pprof_frame *f = &pc->frames[i];

		if (!f->function || !f->function[0])
			continue;
		err = pprof__add_function(p, f->function, NULL, f->file, f->start_line,
					  &p->tmp_lines[n].function_id);
		if (err)
			return err;
		p->tmp_lines[n++].line = f->line;
	}
	return pprof__add_location(p, pc->mapping_id, pc->address, p->tmp_lines, n, location_id);
}

int pprof__add_sample(struct pprof *p, const uint64_t *location_ids, size_t nlocations,
		      const int64_t *values, size_t nvalues, const struct pprof_label *labels,
		      size_t nlabels)
{
	struct plabel *l;
	size_t i;

	if (nvalues != p->ntypes)
		return -EINVAL;
	for (i = 0; i < nlocations; i++)
		if (!location_ids[i] || location_ids[i] > p->nlocs)
			return -ENOENT;
	if (grow(&p->samples, &p->samples_cap, p->nsamples + 1, sizeof(*p->samples)) ||
	    grow(&p->sample_locs, &p->sample_locs_cap, p->nsample_locs + nlocations,
		 sizeof(*p->sample_locs)) ||
	    grow(&p->values, &p->values_cap, p->nvalues + nvalues, sizeof(*p->values)) ||
	    grow(&p->labels, &p->labels_cap, p->nlabels + nlabels, sizeof(*p->labels)))
		return -ENOMEM;
	/* Strings first: a failure here leaves only unused strings behind. */
	for (i = 0; i < nlabels; i++) {
		l = &p->labels[p->nlabels + i];
		l->key = str_intern(p, labels[i].key);
		l->str = labels[i].str ? str_intern(p, labels[i].str) : 0;
		l->num = labels[i].str ? 0 : labels[i].num;
		l->num_unit = labels[i].num_unit ? str_intern(p, labels[i].num_unit) : 0;
		if (l->key < 0 || l->str < 0 || l->num_unit < 0)
			return -ENOMEM;
	}
	if (nlocations)
		memcpy(&p->sample_locs[p->nsample_locs], location_ids,
		       nlocations * sizeof(*location_ids));
	if (nvalues)
		memcpy(&p->values[p->nvalues], values, nvalues * sizeof(*values));
	p->samples[p->nsamples++] = (struct psample){
		.loc_off = p->nsample_locs,
		.nlocs = nlocations,
		.label_off = p->nlabels,
		.nlabels = nlabels,
	};
	p->nsample_locs += nlocations;
	p->nvalues += nvalues;
	p->nlabels += nlabels;
	return 0;
}

int pprof__add_stack(struct pprof *p, const struct pprof_pc *pcs, size_t npcs,
		     const int64_t *values, size_t nvalues, const struct pprof_label *labels,
		     size_t nlabels)
{
	size_t i;
	int err;

	if (nvalues != p->ntypes)
		return -EINVAL;
	if (grow(&p->tmp_locs, &p->tmp_locs_cap, npcs, sizeof(*p->tmp_locs)))
		return -ENOMEM;
	for (i = 0; i < npcs; i++) {
		err = pprof__add_pc(p, &pcs[i], &p->tmp_locs[i]);
		if (err)
			return err;
	}
	return pprof__add_sample(p, p->tmp_locs, npcs, values, nvalues, labels, nlabels);
}

int pprof__total(const struct pprof *p, size_t index, int64_t *total)
{
	int64_t sum = 0;
	size_t i;

	if (index >= p->ntypes)
		return -ERANGE;
	for (i = 0; i < p->nsamples; i++)
		sum += p->values[i * p->ntypes + index];
	*total = sum;
	return 0;
}

void pprof__stats(const struct pprof *p, struct pprof_stats *st)
{
	*st = (struct pprof_stats){
		.sample_types = p->ntypes,
		.samples = p->nsamples,
		.mappings = p->nmaps,
		.locations = p->nlocs,
		.functions = p->nfuncs,
		.strings = p->nstrs,
	};
}

/* ---- protobuf encoding ---- */

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUETYPE_TYPE = 1,
	VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	LABEL_NUM_UNIT = 4,
	MAPPING_ID = 1,
	MAPPING_START = 2,
	MAPPING_LIMIT = 3,
	MAPPING_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
};

static size_t varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static void pb_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];

	buf_put(b, tmp, varint_put(tmp, v));
}

/* int64 fields are varints of the two's complement (10 bytes when negative), as proto3 says;
 * default (zero) values are left out, which proto3 readers treat the same. */
static void pb_uint(struct buf *b, int field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(b, (uint64_t)field << 3 | WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bool(struct buf *b, int field, bool v)
{
	pb_uint(b, field, v);
}

static void pb_string(struct buf *b, int field, const struct pstr *s)
{
	pb_varint(b, (uint64_t)field << 3 | WIRE_LEN);
	pb_varint(b, s->len);
	buf_put(b, s->s, s->len);
}

/* A submessage is written in place and its key and length inserted in front of it afterwards,
 * as runtime/pprof does: no size pass, and each byte moves once per nesting level (<= 2). */
static size_t pb_begin(struct buf *b)
{
	return b->len;
}

static void pb_end(struct buf *b, int field, size_t start)
{
	uint8_t hdr[20];
	size_t body = b->len - start, n;

	n = varint_put(hdr, (uint64_t)field << 3 | WIRE_LEN);
	n += varint_put(hdr + n, body);
	if (!buf_reserve(b, n))
		return;
	memmove(b->data + start + n, b->data + start, body);
	memcpy(b->data + start, hdr, n);
	b->len += n;
}

static void pb_packed(struct buf *b, int field, const uint64_t *u, const int64_t *s, size_t n)
{
	size_t start, i;

	if (!n)
		return;
	start = pb_begin(b);
	for (i = 0; i < n; i++)
		pb_varint(b, u ? u[i] : (uint64_t)s[i]);
	pb_end(b, field, start);
}

static void pb_value_type(struct buf *b, int field, const int64_t vt[2])
{
	size_t start = pb_begin(b);

	pb_uint(b, VALUETYPE_TYPE, vt[0]);
	pb_uint(b, VALUETYPE_UNIT, vt[1]);
	pb_end(b, field, start);
}

/* Protobuf bytes go to pb; with gzip they are compressed into gz every FLUSH_AT bytes, so the
 * uncompressed profile is never in memory whole. */
struct encoder {
	struct buf pb;
	struct buf *gz;
	z_stream z;
};

#define FLUSH_AT (64 * 1024)

static int enc_flush(struct encoder *e, bool finish)
{
	int flush = finish ? Z_FINISH : Z_NO_FLUSH, ret;

	if (e->pb.err)
		return e->pb.err;
	if (!e->gz || (!finish && e->pb.len < FLUSH_AT))
		return 0;
	e->z.next_in = e->pb.data;
	e->z.avail_in = e->pb.len;
	for (;;) {
		if (!buf_reserve(e->gz, FLUSH_AT))
			return e->gz->err;
		e->z.next_out = e->gz->data + e->gz->len;
		e->z.avail_out = e->gz->cap - e->gz->len;
		ret = deflate(&e->z, flush);
		e->gz->len = e->z.next_out - e->gz->data;
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		if (finish ? ret == Z_STREAM_END : !e->z.avail_in && e->z.avail_out)
			break;
	}
	e->pb.len = 0;
	return 0;
}

static int encode_samples(const struct pprof *p, struct encoder *e)
{
	struct buf *b = &e->pb;
	size_t i, j, start, lstart;
	int err;

	for (i = 0; i < p->nsamples; i++) {
		const struct psample *s = &p->samples[i];

		start = pb_begin(b);
		pb_packed(b, SAMPLE_LOCATION_ID, &p->sample_locs[s->loc_off], NULL, s->nlocs);
		pb_packed(b, SAMPLE_VALUE, NULL, &p->values[i * p->ntypes], p->ntypes);
		for (j = 0; j < s->nlabels; j++) {
			const struct plabel *l = &p->labels[s->label_off + j];

			lstart = pb_begin(b);
			pb_uint(b, LABEL_KEY, l->key);
			pb_uint(b, LABEL_STR, l->str);
			pb_uint(b, LABEL_NUM, l->num);
			pb_uint(b, LABEL_NUM_UNIT, l->num_unit);
			pb_end(b, SAMPLE_LABEL, lstart);
		}
		pb_end(b, PROFILE_SAMPLE, start);
		err = enc_flush(e, false);
		if (err)
			return err;
	}
	return 0;
}

static int encode_tables(const struct pprof *p, struct encoder *e)
{
	struct buf *b = &e->pb;
	size_t i, j, start, lstart;
	int err;

	for (i = 0; i < p->nmaps; i++) {
		const struct pmap *m = &p->maps[i];

		start = pb_begin(b);
		pb_uint(b, MAPPING_ID, i + 1);
		pb_uint(b, MAPPING_START, m->start);
		pb_uint(b, MAPPING_LIMIT, m->limit);
		pb_uint(b, MAPPING_OFFSET, m->offset);
		pb_uint(b, MAPPING_FILENAME, m->filename);
		pb_uint(b, MAPPING_BUILD_ID, m->build_id);
		pb_bool(b, MAPPING_HAS_FUNCTIONS, m->has_functions);
		pb_bool(b, MAPPING_HAS_FILENAMES, m->has_filenames);
		pb_bool(b, MAPPING_HAS_LINE_NUMBERS, m->has_line_numbers);
		pb_bool(b, MAPPING_HAS_INLINE_FRAMES, m->has_inline_frames);
		pb_end(b, PROFILE_MAPPING, start);
	}
	for (i = 0; i < p->nlocs; i++) {
		const struct ploc *l = &p->locs[i];

		start = pb_begin(b);
		pb_uint(b, LOCATION_ID, i + 1);
		pb_uint(b, LOCATION_MAPPING_ID, l->mapping_id);
		pb_uint(b, LOCATION_ADDRESS, l->address);
		for (j = 0; j < l->nlines; j++) {
			lstart = pb_begin(b);
			pb_uint(b, LINE_FUNCTION_ID, p->lines[l->line_off + j].function_id);
			pb_uint(b, LINE_LINE, p->lines[l->line_off + j].line);
			pb_end(b, LOCATION_LINE, lstart);
		}
		pb_end(b, PROFILE_LOCATION, start);
		err = enc_flush(e, false);
		if (err)
			return err;
	}
	for (i = 0; i < p->nfuncs; i++) {
		const struct pfunc *f = &p->funcs[i];

		start = pb_begin(b);
		pb_uint(b, FUNCTION_ID, i + 1);
		pb_uint(b, FUNCTION_NAME, f->name);
		pb_uint(b, FUNCTION_SYSTEM_NAME, f->system_name);
		pb_uint(b, FUNCTION_FILENAME, f->filename);
		pb_uint(b, FUNCTION_START_LINE, f->start_line);
		pb_end(b, PROFILE_FUNCTION, start);
		err = enc_flush(e, false);
		if (err)
			return err;
	}
	for (i = 0; i < p->nstrs; i++) {
		pb_string(b, PROFILE_STRING_TABLE, &p->strs[i]);
		err = enc_flush(e, false);
		if (err)
			return err;
	}
	return 0;
}

int pprof__encode(const struct pprof *p, bool gzip, void **data, size_t *len)
{
	struct encoder e = {};
	struct buf gz = {};
	struct buf *b = &e.pb;
	size_t i;
	int err;

	*data = NULL;
	*len = 0;
	if (gzip) {
		/* windowBits 15+16: a gzip header and trailer (mtime 0, so output is reproducible).
		 * Level 1 as runtime/pprof uses: on a 2.3 MB profile level 6 saved 4 % for twice the
		 * CPU, and scrapers fetch /debug/pprof/heap from a tool meant to be cheap. */
		if (deflateInit2(&e.z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK)
			return -ENOMEM;
		e.gz = &gz;
	}
	for (i = 0; i < p->ntypes; i++)
		pb_value_type(b, PROFILE_SAMPLE_TYPE, p->types[i]);
	err = encode_samples(p, &e);
	if (err)
		goto cleanup;
	err = encode_tables(p, &e);
	if (err)
		goto cleanup;
	pb_uint(b, PROFILE_TIME_NANOS, p->time_nanos);
	pb_uint(b, PROFILE_DURATION_NANOS, p->duration_nanos);
	if (p->period_type[0] || p->period_type[1])
		pb_value_type(b, PROFILE_PERIOD_TYPE, p->period_type);
	pb_uint(b, PROFILE_PERIOD, p->period);
	pb_packed(b, PROFILE_COMMENT, NULL, p->comments, p->ncomments);
	pb_uint(b, PROFILE_DEFAULT_SAMPLE_TYPE, p->default_type);
	err = enc_flush(&e, true);
	if (err)
		goto cleanup;
	if (gzip) {
		*data = gz.data;
		*len = gz.len;
		gz.data = NULL;
	} else {
		/* an empty profile is zero bytes; still hand back a buffer to free */
		*data = b->data ? b->data : malloc(1);
		*len = b->len;
		b->data = NULL;
		if (!*data)
			err = -ENOMEM;
	}
cleanup:
	if (gzip)
		deflateEnd(&e.z);
	free(e.pb.data);
	free(gz.data);
	return err;
}

/* ---- folded stacks ---- */

static void folded_name(struct buf *b, const char *s)
{
	if (!s || !*s) {
		buf_put(b, "[unknown]", 9);
		return;
	}
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == ';')
			c = ',';
		else if (c <= ' ' || c == 0x7f)
			c = '_';
		buf_putc(b, c);
	}
}

struct folded {
	struct buf text;	/* location fragments and stacks, back to back */
	struct frag {
		size_t off, len;
	} *frag;		/* per location: its frames in text, root first */
	struct fstack {
		size_t off, len;
		int64_t weight;
	} *stacks;
	size_t nstacks, stacks_cap;
	struct htab index;
};

struct fkey {
	const char *s;
	size_t len;
};

static bool fstack_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct folded *f = ctx;
	const struct fkey *k = key;

	const struct fstack *st = &f->stacks[idx];

	return st->len == k->len && !memcmp(f->text.data + st->off, k->s, k->len);
}

/* Each location's frames once, root (physical function) first, so a stack is a join of these. */
static int folded_fragments(const struct pprof *p, struct folded *f)
{
	size_t i, j;

	f->frag = calloc(p->nlocs ? p->nlocs : 1, sizeof(*f->frag));
	if (!f->frag)
		return -ENOMEM;
	for (i = 0; i < p->nlocs; i++) {
		const struct ploc *l = &p->locs[i];

		f->frag[i].off = f->text.len;
		for (j = l->nlines; j-- > 0;) {
			uint64_t fn = p->lines[l->line_off + j].function_id;

			folded_name(&f->text, p->strs[p->funcs[fn - 1].name].s);
			if (j)
				buf_putc(&f->text, ';');
		}
		if (!l->nlines && l->address) {
			char addr[24];

			buf_put(&f->text, addr, snprintf(addr, sizeof(addr), "0x%llx",
							 (unsigned long long)l->address));
		} else if (!l->nlines) {
			folded_name(&f->text, NULL);
		}
		f->frag[i].len = f->text.len - f->frag[i].off;
	}
	return f->text.err;
}

/* Add weight to the stack of sample s. Its text is built at the end of f->text and kept there,
 * NUL-terminated, only if the stack is new. */
static int folded_add(const struct pprof *p, struct folded *f, const struct psample *s,
		      int64_t weight)
{
	size_t off = f->text.len, i;
	struct fkey k;
	uint64_t hash;
	struct hslot *slot;
	int err;

	for (i = s->nlocs; i-- > 0;) {
		const struct frag *fr = &f->frag[p->sample_locs[s->loc_off + i] - 1];

		/* the fragment lives in the buffer being appended to: reserve before copying */
		if (!buf_reserve(&f->text, fr->len + 1))
			return f->text.err;
		memcpy(f->text.data + f->text.len, f->text.data + fr->off, fr->len);
		f->text.len += fr->len;
		if (i)
			buf_putc(&f->text, ';');
	}
	if (!s->nlocs)
		folded_name(&f->text, NULL);
	buf_putc(&f->text, 0);
	if (f->text.err)
		return f->text.err;
	k = (struct fkey){ (char *)f->text.data + off, f->text.len - off - 1 };
	hash = hash_bytes(HASH_SEED, k.s, k.len);
	err = htab_reserve(&f->index);
	if (err)
		return err;
	slot = htab_slot(&f->index, hash, fstack_eq, f, &k);
	if (slot->idx) {
		f->stacks[slot->idx - 1].weight += weight;
		f->text.len = off;
		return 0;
	}
	if (grow(&f->stacks, &f->stacks_cap, f->nstacks + 1, sizeof(*f->stacks)))
		return -ENOMEM;
	f->stacks[f->nstacks] = (struct fstack){ off, k.len, weight };
	htab_set(&f->index, slot, hash, f->nstacks++);
	return 0;
}

static int fstack_cmp(const void *a, const void *b, void *text)
{
	const struct fstack *x = a, *y = b;

	return strcmp((char *)text + x->off, (char *)text + y->off);
}

int pprof__folded(const struct pprof *p, const char *type, char **text, size_t *len)
{
	int idx = pprof__sample_type_index(p, type);
	struct folded f = {};
	struct buf out = {};
	char num[24];
	size_t i;
	int err;

	*text = NULL;
	*len = 0;
	if (idx < 0)
		return idx;
	err = folded_fragments(p, &f);
	for (i = 0; !err && i < p->nsamples; i++) {
		int64_t w = p->values[i * p->ntypes + idx];

		if (w)
			err = folded_add(p, &f, &p->samples[i], w);
	}
	if (err)
		goto cleanup;
	if (f.nstacks)
		qsort_r(f.stacks, f.nstacks, sizeof(*f.stacks), fstack_cmp, f.text.data);
	for (i = 0; i < f.nstacks; i++) {
		if (f.stacks[i].weight <= 0)
			continue;
		buf_put(&out, f.text.data + f.stacks[i].off, f.stacks[i].len);
		buf_put(&out, num, snprintf(num, sizeof(num), " %lld\n",
					    (long long)f.stacks[i].weight));
	}
	buf_putc(&out, 0);
	err = out.err;
	if (!err) {
		*text = (char *)out.data;
		*len = out.len - 1;
		out.data = NULL;
	}
cleanup:
	free(out.data);
	free(f.text.data);
	free(f.frag);
	free(f.stacks);
	free(f.index.slots);
	return err;
}

/* ---- files ---- */

int pprof__write_fd(int fd, const void *data, size_t len)
{
	const char *d = data;
	ssize_t n;

	while (len) {
		n = write(fd, d, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		d += n;
		len -= n;
	}
	return 0;
}

int pprof__write_file(const char *path, const void *data, size_t len)
{
	static unsigned int seq;
	size_t tmp_size = strlen(path) + 64;
	char *tmp = malloc(tmp_size);
	int fd = -1, err = 0, tries;

	if (!tmp)
		return -ENOMEM;
	/* Our own unique name with O_EXCL instead of mkstemp, so the file gets 0666 less the
	 * umask like any file the user creates, not mkstemp's 0600. */
	for (tries = 0; tries < 100; tries++) {
		snprintf(tmp, tmp_size, "%s.tmp.%d.%u", path, (int)getpid(), seq++);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = pprof__write_fd(fd, data, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
cleanup:
	free(tmp);
	return err;
}
