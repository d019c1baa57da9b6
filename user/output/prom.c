// SPDX-License-Identifier: GPL-2.0
/* Written by hand: Debian packages no C exposition library for plain C (prometheus-cpp is C++
 * and brings its own HTTP server), and the formats are small. */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "prom.h"

enum sample_kind { S_U64, S_DOUBLE, S_HIST };

struct family {
	const struct prom_desc *d;
	size_t base_len;	/* OpenMetrics family name: the name less _total or _info */
	unsigned head, tail;	/* first and last sample, as index + 1; 0 for none */
};

struct sample {
	unsigned next;		/* the family's next sample, as index + 1 */
	unsigned fam;
	uint64_t hash;
	size_t labels_off, labels_len;	/* in w->labels: a="x",b="y", sorted and escaped */
	enum sample_kind kind;
	union {
		uint64_t u;
		double d;
		struct {
			size_t counts_off;
			double sum;
		} h;
	};
};

struct prom_writer {
	struct family *fams;
	size_t nfams, fams_cap;
	size_t last_fam;
	struct sample *samples;
	size_t nsamples, samples_cap;
	struct strbuf labels;
	uint64_t *counts;
	size_t ncounts, counts_cap;
	unsigned *slots;	/* open addressing over samples (index + 1) by family + labels */
	size_t nslots;		/* 0 or a power of two above twice nsamples */
	int err;		/* first misuse, returned by prom__render */
};

static const char *const reserved_suffixes[] = {
	"_total", "_created", "_bucket", "_count", "_sum", "_info", "_gcount", "_gsum",
};

/* The strbuf in util.h only appends through printf; this is the raw append the escaper
 * needs, keeping the same invariants (NUL-terminated, oom sticky). */
static void sb_put(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->oom)
		return;
	if (sb->len + n + 1 > sb->cap) {
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
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void sb_puts(struct strbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

static void sb_truncate(struct strbuf *sb, size_t len)
{
	sb->len = len;
	if (sb->buf)
		sb->buf[len] = '\0';
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Numbers must not follow the process locale: the TUI calls setlocale(LC_ALL, ""), and a
 * locale with a decimal comma would make every float unparseable. */
static locale_t c_locale(void)
{
	static locale_t loc;

	if (!loc)
		loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return loc;
}

const char *prom__fmt_double(char buf[PROM_NUM_LEN], double v, enum prom_format fmt)
{
	locale_t c = c_locale(), old = c ? uselocale(c) : (locale_t)0;
	int prec = 1, exp;

	if (isnan(v)) {
		strcpy(buf, "NaN");
		goto cleanup;
	}
	if (isinf(v)) {
		strcpy(buf, v > 0 ? "+Inf" : "-Inf");
		goto cleanup;
	}
	/* The fewest significant digits that read back as v; 17 (DBL_DECIMAL_DIG) always do. */
	for (;; prec++) {
		snprintf(buf, PROM_NUM_LEN, "%.*e", prec - 1, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	exp = atoi(strchr(buf, 'e') + 1);
	/* Go's shortest 'g' switches to an exponent below 1e-4 and from 1e+06 on (its eprec is 6
	 * for the shortest form), whatever the digit count: 1234567 is "1.234567e+06". */
	if (exp >= -4 && exp < 6)
		snprintf(buf, PROM_NUM_LEN, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
	if (fmt == PROM_FMT_OPENMETRICS && !strpbrk(buf, ".e"))
		strcat(buf, ".0");
cleanup:
	if (c)
		uselocale(old);
	return buf;
}

static double parse_double(const char *s, char **end)
{
	locale_t c = c_locale();

	return c ? strtod_l(s, end, c) : strtod(s, end);
}

static bool valid_name(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && !memcmp(s + len - n, suffix, n);
}

static int check_buckets(const struct prom_buckets *b)
{
	double prev = -INFINITY;
	char buf[PROM_NUM_LEN];

	if (!b || (b->n && !b->le))
		return -EINVAL;
	for (unsigned i = 0; i < b->n; i++) {
		const char *s = b->le[i];
		char *end;
		double v;

		if (!s)
			return -EINVAL;
		v = parse_double(s, &end);
		if (end == s || *end || !isfinite(v) || v <= prev)
			return -EINVAL;
		if (strcmp(prom__fmt_double(buf, v, PROM_FMT_TEXT), s))
			return -EINVAL;	/* not canonical: "1.0" for "1", "0.00001" for "1e-05" */
		prev = v;
	}
	return 0;
}

/* The family's OpenMetrics name length, or -EINVAL. */
static long check_desc(const struct prom_desc *d)
{
	size_t len, base;

	if (!d || !valid_name(d->name) || !d->help || !*d->help)
		return -EINVAL;
	len = base = strlen(d->name);
	switch (d->type) {
	case PROM_COUNTER:
		if (!ends_with(d->name, len, "_total"))
			return -EINVAL;
		base -= strlen("_total");
		break;
	case PROM_INFO:
		if (!ends_with(d->name, len, "_info") || (d->unit && *d->unit))
			return -EINVAL;
		base -= strlen("_info");
		break;
	case PROM_GAUGE:
	case PROM_HISTOGRAM:
		break;
	default:
		return -EINVAL;
	}
	/* OpenMetrics forbids family names that read as another family's sample name. */
	for (size_t i = 0; i < sizeof(reserved_suffixes) / sizeof(reserved_suffixes[0]); i++)
		if (ends_with(d->name, base, reserved_suffixes[i]))
			return -EINVAL;
	if (d->unit && *d->unit) {
		size_t ulen = strlen(d->unit);

		if (!valid_name(d->unit) || ulen + 1 >= base || d->name[base - ulen - 1] != '_' ||
		    memcmp(d->name + base - ulen, d->unit, ulen))
			return -EINVAL;
	}
	if (d->type == PROM_HISTOGRAM ? check_buckets(d->buckets) : d->buckets != NULL)
		return -EINVAL;
	return (long)base;
}

static int family_of(struct prom_writer *w, const struct prom_desc *d, unsigned *out)
{
	struct family *f;
	long base;
	int err;

	if (w->last_fam < w->nfams && w->fams[w->last_fam].d == d) {
		*out = w->last_fam;
		return 0;
	}
	for (size_t i = 0; i < w->nfams; i++) {
		if (w->fams[i].d == d) {
			*out = w->last_fam = i;
			return 0;
		}
	}
	base = check_desc(d);
	if (base < 0)
		return base;
	for (size_t i = 0; i < w->nfams; i++) {
		f = &w->fams[i];
		/* same name, or a gauge foo beside a counter foo_total: one OpenMetrics family */
		if (f->base_len == (size_t)base && !memcmp(f->d->name, d->name, base))
			return -EEXIST;
	}
	err = grow((void **)&w->fams, &w->fams_cap, w->nfams + 1, sizeof(*w->fams));
	if (err)
		return err;
	f = &w->fams[w->nfams];
	memset(f, 0, sizeof(*f));
	f->d = d;
	f->base_len = base;
	*out = w->last_fam = w->nfams++;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), 0 if
 * invalid. Prometheus rejects label values that are not valid UTF-8, and exe paths and comm
 * come from the target, so one stray byte must not break the whole scrape. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Backslash and newline always; the double quote too in label values and OpenMetrics HELP
 * (0.0.4 defines only \\ and \n in HELP text). */
static void put_escaped(struct strbuf *sb, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	while (*p) {
		size_t n = utf8_len(p);
		const char *esc = NULL;

		if (!n)
			esc = "\xef\xbf\xbd";
		else if (*p == '\\')
			esc = "\\\\";
		else if (*p == '\n')
			esc = "\\n";
		else if (*p == '"' && quote)
			esc = "\\\"";
		if (!esc) {
			p += n;
			continue;
		}
		sb_put(sb, (const char *)run, p - run);
		sb_puts(sb, esc);
		p += n ? n : 1;
		run = p;
	}
	sb_put(sb, (const char *)run, p - run);
}

static int put_labels(struct prom_writer *w, const struct prom_desc *d,
		      const struct prom_label *labels, unsigned n, struct sample *s)
{
	const struct prom_label *sorted[PROM_MAX_LABELS];

	if (n > PROM_MAX_LABELS)
		return -E2BIG;
	if (n && !labels)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		const struct prom_label *l = &labels[i];
		unsigned j = i;

		if (!valid_name(l->name) || !strncmp(l->name, "__", 2) || !l->value)
			return -EINVAL;
		if (d->type == PROM_HISTOGRAM && !strcmp(l->name, "le"))
			return -EINVAL;
		for (; j > 0 && strcmp(sorted[j - 1]->name, l->name) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = l;
	}
	for (unsigned i = 1; i < n; i++)
		if (!strcmp(sorted[i - 1]->name, sorted[i]->name))
			return -EINVAL;

	s->labels_off = w->labels.len;
	for (unsigned i = 0; i < n; i++) {
		if (i)
			sb_put(&w->labels, ",", 1);
		sb_puts(&w->labels, sorted[i]->name);
		sb_put(&w->labels, "=\"", 2);
		put_escaped(&w->labels, sorted[i]->value, true);
		sb_put(&w->labels, "\"", 1);
	}
	if (w->labels.oom)
		return -ENOMEM;
	s->labels_len = w->labels.len - s->labels_off;
	return 0;
}

static uint64_t series_hash(unsigned fam, const char *labels, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ fam;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)labels[i]) * 0x100000001b3ull;
	return h;
}

static bool same_series(const struct prom_writer *w, const struct sample *a,
			const struct sample *b)
{
	return a->hash == b->hash && a->fam == b->fam && a->labels_len == b->labels_len &&
	       !memcmp(w->labels.buf + a->labels_off, w->labels.buf + b->labels_off,
		       a->labels_len);
}

static int rehash(struct prom_writer *w, size_t nslots)
{
	unsigned *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < w->nsamples; i++) {
		size_t k = w->samples[i].hash & (nslots - 1);

		while (slots[k])
			k = (k + 1) & (nslots - 1);
		slots[k] = i + 1;
	}
	free(w->slots);
	w->slots = slots;
	w->nslots = nslots;
	return 0;
}

static int insert_sample(struct prom_writer *w, struct sample *s)
{
	struct family *f = &w->fams[s->fam];
	size_t k;
	int err;

	if (2 * (w->nsamples + 1) > w->nslots) {
		err = rehash(w, w->nslots ? 2 * w->nslots : 64);
		if (err)
			return err;
	}
	s->hash = series_hash(s->fam, w->labels.buf + s->labels_off, s->labels_len);
	for (k = s->hash & (w->nslots - 1); w->slots[k]; k = (k + 1) & (w->nslots - 1))
		if (same_series(w, &w->samples[w->slots[k] - 1], s))
			return -EEXIST;
	err = grow((void **)&w->samples, &w->samples_cap, w->nsamples + 1, sizeof(*w->samples));
	if (err)
		return err;
	s->next = 0;
	w->samples[w->nsamples++] = *s;
	w->slots[k] = w->nsamples;
	if (f->tail)
		w->samples[f->tail - 1].next = w->nsamples;
	else
		f->head = w->nsamples;
	f->tail = w->nsamples;
	return 0;
}

static int record(struct prom_writer *w, int err)
{
	if (err && !w->err)
		w->err = err;
	return err;
}

static int add(struct prom_writer *w, const struct prom_desc *d, enum prom_type type,
	       const struct prom_label *labels, unsigned nlabels, struct sample *s)
{
	size_t mark;
	unsigned fam;
	int err;

	if (!w)
		return -EINVAL;
	if (!d || d->type != type)
		return record(w, -EINVAL);
	mark = w->labels.len;
	err = family_of(w, d, &fam);
	if (!err)
		err = put_labels(w, d, labels, nlabels, s);
	if (!err) {
		s->fam = fam;
		err = insert_sample(w, s);
	}
	if (err && !w->labels.oom)
		sb_truncate(&w->labels, mark);
	return record(w, err);
}

int prom__add_u64(struct prom_writer *w, const struct prom_desc *d,
		  const struct prom_label *labels, unsigned nlabels, uint64_t v)
{
	struct sample s = { .kind = S_U64, .u = v };

	return add(w, d, d && d->type == PROM_GAUGE ? PROM_GAUGE : PROM_COUNTER, labels, nlabels,
		   &s);
}

int prom__add_double(struct prom_writer *w, const struct prom_desc *d,
		     const struct prom_label *labels, unsigned nlabels, double v)
{
	struct sample s = { .kind = S_DOUBLE, .d = v };

	if (w && d && d->type == PROM_COUNTER && !(v >= 0))	/* also NaN */
		return record(w, -EINVAL);
	return add(w, d, d && d->type == PROM_GAUGE ? PROM_GAUGE : PROM_COUNTER, labels, nlabels,
		   &s);
}

int prom__add_info(struct prom_writer *w, const struct prom_desc *d,
		   const struct prom_label *labels, unsigned nlabels)
{
	struct sample s = { .kind = S_U64, .u = 1 };

	return add(w, d, PROM_INFO, labels, nlabels, &s);
}

int prom__add_histogram(struct prom_writer *w, const struct prom_desc *d,
			const struct prom_label *labels, unsigned nlabels, const uint64_t *counts,
			double sum)
{
	struct sample s = { .kind = S_HIST, .h = { .sum = sum } };
	size_t n;
	int err;

	if (!w)
		return -EINVAL;
	if (!d || d->type != PROM_HISTOGRAM || !d->buckets || !counts)
		return record(w, -EINVAL);
	n = d->buckets->n + 1;
	err = grow((void **)&w->counts, &w->counts_cap, w->ncounts + n, sizeof(*w->counts));
	if (err)
		return record(w, err);
	s.h.counts_off = w->ncounts;
	err = add(w, d, PROM_HISTOGRAM, labels, nlabels, &s);
	if (err)
		return err;
	memcpy(w->counts + w->ncounts, counts, n * sizeof(*counts));
	w->ncounts += n;
	return 0;
}

int prom__new(struct prom_writer **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void prom__reset(struct prom_writer *w)
{
	if (!w)
		return;
	w->nfams = w->last_fam = w->nsamples = w->ncounts = 0;
	if (w->slots)
		memset(w->slots, 0, w->nslots * sizeof(*w->slots));
	if (w->labels.oom)
		strbuf_free(&w->labels);
	sb_truncate(&w->labels, 0);
	w->err = 0;
}

void prom__free(struct prom_writer *w)
{
	if (!w)
		return;
	free(w->fams);
	free(w->samples);
	free(w->counts);
	free(w->slots);
	strbuf_free(&w->labels);
	free(w);
}

/* name{labels,le="..."} and the space before the value */
static void put_series(struct strbuf *out, const struct prom_writer *w, const char *name,
		       const char *suffix, const struct sample *s, const char *le,
		       enum prom_format fmt)
{
	sb_puts(out, name);
	sb_puts(out, suffix);
	if (s->labels_len || le) {
		sb_put(out, "{", 1);
		sb_put(out, w->labels.buf + s->labels_off, s->labels_len);
		if (le) {
			sb_puts(out, s->labels_len ? ",le=\"" : "le=\"");
			sb_puts(out, le);
			/* OpenMetrics canonical numbers: "1.0", not "1" */
			if (fmt == PROM_FMT_OPENMETRICS && !strpbrk(le, ".eI"))
				sb_put(out, ".0", 2);
			sb_put(out, "\"", 1);
		}
		sb_put(out, "}", 1);
	}
	sb_put(out, " ", 1);
}

static void put_u64(struct strbuf *out, uint64_t v)
{
	char buf[24];

	sb_put(out, buf, snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v));
}

static void put_double(struct strbuf *out, double v, enum prom_format fmt)
{
	char buf[PROM_NUM_LEN];

	sb_puts(out, prom__fmt_double(buf, v, fmt));
	sb_put(out, "\n", 1);
}

static void put_histogram(struct strbuf *out, const struct prom_writer *w,
			  const struct prom_desc *d, const struct sample *s, enum prom_format fmt)
{
	const uint64_t *counts = w->counts + s->h.counts_off;
	uint64_t total = 0;

	for (unsigned i = 0; i < d->buckets->n; i++) {
		total += counts[i];
		put_series(out, w, d->name, "_bucket", s, d->buckets->le[i], fmt);
		put_u64(out, total);
	}
	total += counts[d->buckets->n];
	put_series(out, w, d->name, "_bucket", s, "+Inf", fmt);
	put_u64(out, total);
	put_series(out, w, d->name, "_sum", s, NULL, fmt);
	put_double(out, s->h.sum, fmt);
	put_series(out, w, d->name, "_count", s, NULL, fmt);
	put_u64(out, total);
}

static void put_meta(struct strbuf *out, const char *what, const struct family *f, size_t len)
{
	sb_puts(out, what);
	sb_put(out, f->d->name, len);
	sb_put(out, " ", 1);
}

static void put_family(struct strbuf *out, const struct prom_writer *w, const struct family *f,
		       enum prom_format fmt)
{
	static const char *const om_types[] = { "counter", "gauge", "histogram", "info" };
	static const char *const text_types[] = { "counter", "gauge", "histogram", "gauge" };
	const struct prom_desc *d = f->d;

	/* Metadata names the family: in OpenMetrics without _total/_info, in 0.0.4 the samples'
	 * own name. Sample names are the desc's name in both. */
	if (fmt == PROM_FMT_OPENMETRICS) {
		put_meta(out, "# TYPE ", f, f->base_len);
		sb_puts(out, om_types[d->type]);
		if (d->unit && *d->unit) {
			put_meta(out, "\n# UNIT ", f, f->base_len);
			sb_puts(out, d->unit);
		}
		put_meta(out, "\n# HELP ", f, f->base_len);
		put_escaped(out, d->help, true);
		sb_put(out, "\n", 1);
	} else {
		put_meta(out, "# HELP ", f, strlen(d->name));
		put_escaped(out, d->help, false);
		put_meta(out, "\n# TYPE ", f, strlen(d->name));
		sb_puts(out, text_types[d->type]);
		sb_put(out, "\n", 1);
	}
	for (unsigned i = f->head; i; i = w->samples[i - 1].next) {
		const struct sample *s = &w->samples[i - 1];

		if (s->kind == S_HIST) {
			put_histogram(out, w, d, s, fmt);
			continue;
		}
		put_series(out, w, d->name, "", s, NULL, fmt);
		if (s->kind == S_U64)
			put_u64(out, s->u);
		else
			put_double(out, s->d, fmt);
	}
}

int prom__render(const struct prom_writer *w, enum prom_format fmt, struct strbuf *out)
{
	size_t start;

	if (!w || !out || (fmt != PROM_FMT_TEXT && fmt != PROM_FMT_OPENMETRICS))
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->labels.oom || out->oom)
		return -ENOMEM;
	start = out->len;
	for (size_t i = 0; i < w->nfams; i++)
		if (w->fams[i].head)	/* a family whose every add failed has no samples */
			put_family(out, w, &w->fams[i], fmt);
	if (fmt == PROM_FMT_OPENMETRICS)
		sb_puts(out, "# EOF\n");
	if (out->oom) {
		sb_truncate(out, start);
		return -ENOMEM;
	}
	return 0;
}

/* --- Accept negotiation --- */

struct media_range {
	const char *type;
	size_t type_len;
	int q;			/* thousandths */
	const char *version;	/* NULL if absent */
	size_t version_len;
	bool escaping;
};

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]; anything else counts as 0, as
 * Go's goautoneg (a failed ParseFloat) does. */
static int parse_q(const char *p, size_t n)
{
	int q, scale = 100;

	if (!n || (p[0] != '0' && p[0] != '1'))
		return 0;
	q = (p[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return 0;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		q += (p[i] - '0') * scale;
	}
	return q > 1000 ? 0 : q;
}

/* One media range in [p, end): type/subtype *( OWS ";" OWS name "=" value ). */
static void parse_range(const char *p, const char *end, struct media_range *m)
{
	memset(m, 0, sizeof(*m));
	m->q = 1000;
	p = skip_ows(p, end);
	m->type = p;
	while (p < end && *p != ';' && *p != ' ' && *p != '\t')
		p++;
	m->type_len = p - m->type;
	while (p < end) {
		const char *name, *val;
		size_t name_len, val_len;

		p = skip_ows(p, end);
		if (p < end && *p == ';')
			p = skip_ows(p + 1, end);
		name = p;
		while (p < end && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		name_len = p - name;
		p = skip_ows(p, end);
		if (p >= end || *p != '=') {
			if (name_len == 0 && p < end && *p != ';')
				p++;	/* stray byte: skip, never loop */
			continue;
		}
		p = skip_ows(p + 1, end);
		if (p < end && *p == '"') {
			val = ++p;
			while (p < end && *p != '"')
				p += (*p == '\\' && p + 1 < end) ? 2 : 1;
			val_len = p - val;
			if (p < end)
				p++;
		} else {
			val = p;
			while (p < end && *p != ';' && *p != ' ' && *p != '\t')
				p++;
			val_len = p - val;
		}
		if (name_len == 1 && (*name == 'q' || *name == 'Q')) {
			m->q = parse_q(val, val_len);
		} else if (name_len == 7 && !strncasecmp(name, "version", 7)) {
			m->version = val;
			m->version_len = val_len;
		} else if (name_len == 8 && !strncasecmp(name, "escaping", 8)) {
			m->escaping = true;
		}
	}
}

static bool range_is(const struct media_range *m, const char *type, const char *version)
{
	size_t tl = strlen(type), vl = strlen(version);

	return m->type_len == tl && !strncasecmp(m->type, type, tl) &&
	       (!m->version || (m->version_len == vl && !memcmp(m->version, version, vl)));
}

/* The end of the media range starting at p: the next comma outside a quoted string. */
static const char *range_end(const char *p)
{
	bool quoted = false;

	for (; *p && (quoted || *p != ','); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (quoted && *p == '\\' && p[1])
			p++;
	}
	return p;
}

enum prom_format prom__negotiate(const char *accept, const char **content_type)
{
	int om_q = -1, text_q = -1, pos = 0, om_pos = 0, text_pos = 0;
	bool om_escaping = false, text_escaping = false;
	const char *p = accept;

	while (p && *p) {
		const char *end = range_end(p);
		struct media_range m;

		parse_range(p, end, &m);
		/* strictly greater: among equal q the first listed stays */
		if (range_is(&m, "application/openmetrics-text", "1.0.0") && m.q > om_q) {
			om_q = m.q;
			om_pos = pos;
			om_escaping = m.escaping;
		} else if (range_is(&m, "text/plain", "0.0.4") && m.q > text_q) {
			text_q = m.q;
			text_pos = pos;
			text_escaping = m.escaping;
		}
		p = *end ? end + 1 : end;
		pos++;
	}
	if (om_q > 0 && (om_q > text_q || (om_q == text_q && om_pos < text_pos))) {
		*content_type = om_escaping ? PROM_CT_OPENMETRICS "; escaping=underscores"
					    : PROM_CT_OPENMETRICS;
		return PROM_FMT_OPENMETRICS;
	}
	*content_type = text_escaping ? PROM_CT_TEXT "; escaping=underscores" : PROM_CT_TEXT;
	return PROM_FMT_TEXT;
}
