/* SPDX-License-Identifier: GPL-2.0 */
/* pprof profile.proto builder and encoder, and a folded-stacks writer. Pure: no clock, no /proc,
 * no libbpf; callers pass every value in.
 *
 * A Go heap profile as runtime/pprof writes it (protomem.go), which `go tool pprof`, Parca and
 * Pyroscope read as one:
 *   - sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 *     inuse_space/bytes, in that order; period_type space/bytes; period = MemProfileRate;
 *   - the heap profile leaves default_sample_type unset (pprof then shows the last type,
 *     inuse_space); the allocs profile is the same data with default "alloc_space";
 *   - values are already unsampled (scaleHeapSample); each sample with allocations carries a
 *     numeric label "bytes" = alloc bytes / alloc objects (no unit), left out when 0;
 *   - leading runtime frames (mallocgc...) are dropped unless nothing else is left;
 *   - inlined calls are extra lines of one location, innermost first; a location's address is
 *     the call instruction (return address - 1) as runtime.Frame.PC reports it;
 *   - Function name == system_name, with filename and start_line (Go 1.20+);
 *   - time_nanos is set, duration_nanos is not (net/http/pprof sets it on ?seconds= deltas).
 * pprof__init_go_heap() sets up the first three; the rest is the caller's data.
 *
 * Ids (mapping, function, location) are 1, 2, 3... in the order first added. Strings are copied;
 * NULL means "". Every function returns 0 or -errno; after an error the profile is still valid
 * (a failed pprof__add_stack may have added functions and locations no sample uses). */
#ifndef __PPROF_H
#define __PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pprof;

/* Indices of the values of a profile set up by pprof__init_go_heap(). */
enum {
	PPROF_ALLOC_OBJECTS,
	PPROF_ALLOC_SPACE,
	PPROF_INUSE_OBJECTS,
	PPROF_INUSE_SPACE,
	PPROF_GO_HEAP_NVALUES,
};

struct pprof_mapping {
	uint64_t start, limit, offset;	/* run-time range and the file offset of start */
	const char *filename;
	const char *build_id;		/* GNU build ID (hex) or Go build ID */
	/* What heapscope symbolized itself; has_functions stops pprof looking for the binary. */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

/* One logical frame of a PC (after inline expansion). */
struct pprof_frame {
	const char *function;	/* NULL or "": unknown, the frame is left out */
	const char *file;
	int64_t line;
	int64_t start_line;	/* line of the func keyword; 0 when unknown */
};

/* One PC of a stack with its logical frames, innermost (deepest inlined) first, the physical
 * function last: the order pclntab__frames() gives. A PC with no known frame becomes a location
 * without lines, which pprof shows as its address. */
struct pprof_pc {
	uint64_t mapping_id;	/* 0: none */
	uint64_t address;	/* 0: unknown; such locations are deduplicated by their frames */
	const struct pprof_frame *frames;
	size_t nframes;
};

/* A Line of a Location. */
struct pprof_line {
	uint64_t function_id;
	int64_t line;
};

/* A sample label: a string label when str is non-NULL, else numeric. pprof drops numeric labels
 * whose num is 0 and string labels whose str is "". */
struct pprof_label {
	const char *key;
	const char *str;
	int64_t num;
	const char *num_unit;	/* NULL: none (pprof guesses from the key, e.g. "bytes") */
};

struct pprof_stats {
	size_t sample_types, samples, mappings, locations, functions, strings;
};

struct pprof *pprof__new(void);
void pprof__free(struct pprof *p);

/* Sample types are fixed once the first sample is added (-EBUSY after that). */
int pprof__add_sample_type(struct pprof *p, const char *type, const char *unit);
/* type must already be a sample type (-ENOENT); NULL unsets it. */
int pprof__set_default_sample_type(struct pprof *p, const char *type);
int pprof__set_period(struct pprof *p, const char *type, const char *unit, int64_t period);
void pprof__set_time(struct pprof *p, int64_t time_nanos, int64_t duration_nanos);
/* Free text that `go tool pprof -comments` prints, e.g. what in-use covers. */
int pprof__add_comment(struct pprof *p, const char *comment);
/* The four Go heap sample types, period space/bytes = rate, and default_sample_type (NULL for a
 * heap profile, "alloc_space" for an allocs profile). -EBUSY if sample types exist. */
int pprof__init_go_heap(struct pprof *p, int64_t rate, const char *default_sample_type);
/* Index of a Go heap profile sample type (alloc_objects, ...), or -ENOENT. */
int pprof__go_heap_type_index(const char *type);

int pprof__add_mapping(struct pprof *p, const struct pprof_mapping *m, uint64_t *id);
/* Deduplicated by (name, system_name, filename, start_line); system_name NULL means name. */
int pprof__add_function(struct pprof *p, const char *name, const char *system_name,
			const char *filename, int64_t start_line, uint64_t *id);
/* Deduplicated by (mapping_id, address): a known address returns its id and keeps its first
 * lines. Address 0 is deduplicated by (mapping_id, lines). lines innermost first. -ENOENT for
 * an unknown mapping or function id. */
int pprof__add_location(struct pprof *p, uint64_t mapping_id, uint64_t address,
			const struct pprof_line *lines, size_t nlines, uint64_t *id);
/* Functions and location for one PC; a known address is found without touching its frames. */
int pprof__add_pc(struct pprof *p, const struct pprof_pc *pc, uint64_t *location_id);
/* location_ids leaf first; nvalues must equal the number of sample types (-EINVAL). Samples are
 * kept as added, not merged: Go's own heap profile has one per (stack, object size). */
int pprof__add_sample(struct pprof *p, const uint64_t *location_ids, size_t nlocations,
		      const int64_t *values, size_t nvalues, const struct pprof_label *labels,
		      size_t nlabels);
/* pprof__add_pc for each PC (leaf first), then pprof__add_sample. */
int pprof__add_stack(struct pprof *p, const struct pprof_pc *pcs, size_t npcs,
		     const int64_t *values, size_t nvalues, const struct pprof_label *labels,
		     size_t nlabels);

/* Index of a sample type by name, or -ENOENT. */
int pprof__sample_type_index(const struct pprof *p, const char *type);
/* Sum of value `index` over all samples, or -ERANGE. */
int pprof__total(const struct pprof *p, size_t index, int64_t *total);
void pprof__stats(const struct pprof *p, struct pprof_stats *st);

/* The profile as protobuf, gzip-compressed (what pprof files and /debug/pprof serve) or raw.
 * *data is malloc'd; the caller frees it. */
int pprof__encode(const struct pprof *p, bool gzip, void **data, size_t *len);

/* Folded stacks for flamegraph.pl and speedscope: one line per unique stack, frames root to leaf
 * (inlined calls as their own frames) joined by ';', a space, the summed value of sample type
 * `type`; lines sorted, stacks summing to <= 0 left out. In frame names ';' becomes ',' and
 * spaces and control characters '_'; an unsymbolized PC is "0x<address>", an unknown frame or
 * an empty stack "[unknown]", so the lines sum to pprof__total() when no value is negative.
 * -ENOENT for an unknown type. *text is malloc'd and NUL-terminated; the caller frees it. */
int pprof__folded(const struct pprof *p, const char *type, char **text, size_t *len);

/* Write all of data to fd, retrying short writes and EINTR. */
int pprof__write_fd(int fd, const void *data, size_t len);
/* Replace path atomically: write a temporary file next to it (mode 0666 less umask), fsync,
 * rename. Readers see the old file or the whole new one, never a partial one. */
int pprof__write_file(const char *path, const void *data, size_t len);

#endif /* __PPROF_H */
