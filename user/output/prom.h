/* SPDX-License-Identifier: GPL-2.0 */
/* Prometheus exposition: one set of calls, written as text format 0.0.4 or as OpenMetrics
 * 1.0.0. Pure: no clock, no sockets, no logging.
 *
 * Samples are collected first and written by prom__render, grouped by family in the order
 * each family was first used, so a caller may add them in any order (for each target, for each
 * metric) and every family still comes out once, its lines contiguous. Misuse (an invalid
 * name, a counter not ending in _total, two families with one name, the same series twice, a
 * label named le on a histogram, a negative counter...) is recorded on the writer and returned
 * by prom__render as well as by the call that made it, so a broken exposition is never served
 * by accident. */
#ifndef __PROM_H
#define __PROM_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

enum prom_format {
	PROM_FMT_TEXT,		/* text/plain; version=0.0.4 */
	PROM_FMT_OPENMETRICS,	/* application/openmetrics-text; version=1.0.0 */
};

#define PROM_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define PROM_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

enum prom_type {
	PROM_COUNTER,	/* name ends in _total; OpenMetrics family name drops it */
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_INFO,	/* name ends in _info, value 1: gauge in 0.0.4, info in OpenMetrics */
};

/* A histogram's finite upper bounds, ascending, as the exact strings that go into le="...":
 * Go's shortest %g ("1e-05", "0.0001", "0.5", "1", "2.5"), which is what prom__fmt_double
 * writes for text 0.0.4 and what the bounds are checked against on first use. OpenMetrics
 * output adds ".0" to integers ("1.0"), as its canonical numbers require. le="+Inf" is
 * implied. */
struct prom_buckets {
	unsigned n;
	const char *const *le;
};

/* A metric family, normally a static const table entry; the writer keeps the pointer, so it
 * must outlive the writer's current contents. */
struct prom_desc {
	const char *name;	/* the name PromQL sees: [a-zA-Z_][a-zA-Z0-9_]* */
	enum prom_type type;
	const char *unit;	/* NULL, "seconds", "bytes"...: the name less _total ends _<unit> */
	const char *help;	/* required */
	const struct prom_buckets *buckets;	/* histograms only */
};

struct prom_label {
	const char *name;	/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with __ */
	const char *value;	/* any bytes; escaped, invalid UTF-8 replaced by U+FFFD */
};

#define PROM_MAX_LABELS 15

/* labels, count for the prom__add* calls:
 *	prom__add_u64(w, &desc, PROM_LABELS({ "pid", pid }, { "class", "pause" }), v); */
#define PROM_LABELS(...)                                                                           \
	((const struct prom_label[]){ __VA_ARGS__ }),                                              \
		(unsigned)(sizeof((const struct prom_label[]){ __VA_ARGS__ }) /                    \
			   sizeof(struct prom_label))

struct prom_writer;

int prom__new(struct prom_writer **out);
/* Forget all families, samples and any recorded error; keep the memory for the next scrape. */
void prom__reset(struct prom_writer *w);
void prom__free(struct prom_writer *w);

/* Add one sample (one series) of family d. Labels are written sorted by name. 0 or -errno:
 * -EINVAL (bad desc, label, value or type for this call), -EEXIST (series already added, or
 * another desc uses the family's name), -E2BIG (too many labels), -ENOMEM. */
int prom__add_u64(struct prom_writer *w, const struct prom_desc *d,
		  const struct prom_label *labels, unsigned nlabels, uint64_t v);
/* Counters must be >= 0 (and not NaN); gauges take anything, NaN and infinities included. */
int prom__add_double(struct prom_writer *w, const struct prom_desc *d,
		     const struct prom_label *labels, unsigned nlabels, double v);
/* Info families: the value is always 1. */
int prom__add_info(struct prom_writer *w, const struct prom_desc *d,
		   const struct prom_label *labels, unsigned nlabels);
/* counts[0..d->buckets->n] are per-bucket (not cumulative) observation counts, the last one for
 * observations above the highest bound. The writer writes cumulative _bucket lines, le="+Inf"
 * and _count both equal to the total, so they cannot disagree. */
int prom__add_histogram(struct prom_writer *w, const struct prom_desc *d,
			const struct prom_label *labels, unsigned nlabels, const uint64_t *counts,
			double sum);

/* Append the whole exposition to out. 0, or the first error recorded by an add (then nothing
 * is appended), or -ENOMEM. */
int prom__render(const struct prom_writer *w, enum prom_format fmt, struct strbuf *out);

/* v as the shortest text that reads back as exactly v, laid out like Go's strconv 'g' (which
 * client_golang writes and OpenMetrics names canonical): "0.001", "100000", "1e+06",
 * "1.234567e+06"; "+Inf", "-Inf", "NaN". For OpenMetrics, integers get ".0" ("1.0"). Never
 * depends on the process locale. Returns buf. */
#define PROM_NUM_LEN 32
const char *prom__fmt_double(char buf[PROM_NUM_LEN], double v, enum prom_format fmt);

/* Pick the format for an Accept header (NULL if absent): OpenMetrics 1.0.0 when a media range
 * application/openmetrics-text with version 1.0.0 (or none) has q > 0 and beats every
 * text/plain range with version 0.0.4 (or none) -- higher q, or equal q and listed first --
 * otherwise text 0.0.4, which every scraper can read. *content_type gets the header to send;
 * it carries "escaping=underscores" when the chosen range asked about escaping (Prometheus 3),
 * which is true of our names since they are all in the legacy character set. */
enum prom_format prom__negotiate(const char *accept, const char **content_type);

#endif /* __PROM_H */
