// SPDX-License-Identifier: GPL-2.0
/* Go version from the build info blob the linker writes for debug/buildinfo and `go version`.
 * Layout [go1.26 debug/buildinfo/buildinfo.go readRawBuildInfo, cmd/link/internal/ld/data.go]:
 * a 32-byte header "\xff Go buildinf:" (14 B), ptrSize (1 B), flags (1 B), 16 B of pointers;
 * with flags bit 1 (Go 1.18+) the header is followed by two uvarint-length-prefixed strings,
 * the version then the module info. */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buildinfo.h"

#define BI_MAGIC	"\xff Go buildinf:"
#define BI_MAGIC_LEN	14
#define BI_HDR_LEN	32
#define BI_FLAG_INLINE	0x2
#define BI_ALIGN	16	/* the linker aligns the blob; debug/buildinfo searches at 16 */

/* Decode the version string that follows the 32-byte header. p/len cover what is readable
 * from the header onwards. */
static int decode_inline(const uint8_t *p, size_t len, struct go_version *v)
{
	uint64_t slen = 0;
	size_t i = BI_HDR_LEN;
	char buf[sizeof(v->str)];
	int shift = 0;

	if (len < BI_HDR_LEN + 1)
		return -EINVAL;
	if (!(p[BI_MAGIC_LEN + 1] & BI_FLAG_INLINE))
		return -ENOTSUP;	/* pre-1.18: pointers to Go string headers */
	for (;; i++, shift += 7) {
		if (i >= len || shift > 63)
			return -EINVAL;
		slen |= (uint64_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80))
			break;
	}
	i++;
	if (!slen || slen > len - i)
		return -EINVAL;
	/* Keep what fits: a long "-X:a,b,c" list only loses its tail. */
	if (slen >= sizeof(buf))
		slen = sizeof(buf) - 1;
	memcpy(buf, p + i, slen);
	buf[slen] = '\0';
	return buildinfo__parse_version(buf, v);
}

/* Fallback when there is no .go.buildinfo section: like debug/buildinfo, look for the magic at
 * 16-byte aligned addresses in the first PT_LOAD that is writable and not executable. The scan
 * reads that segment's bytes in place, once, so its cost is bounded by the file's size whatever
 * the headers claim. It used to read every program header back through the address mapping and
 * translate each 4 KB chunk again, each a walk over all program headers: a header table of tens
 * of thousands of entries made that quadratic, seconds for one crafted file. */
static int scan_segments(const struct goelf *g, struct go_version *v)
{
	struct goelf_segment seg;

	for (size_t i = 0; i < goelf__nsegments(g); i++) {
		if (goelf__segment(g, i, &seg) || seg.type != PT_LOAD ||
		    (seg.flags & (PF_W | PF_X)) != PF_W)
			continue;
		if (!seg.data)
			return -ENOENT;
		for (uint64_t o = -seg.vaddr & (BI_ALIGN - 1);
		     o < seg.filesz && seg.filesz - o >= BI_HDR_LEN; o += BI_ALIGN) {
			if (!memcmp(seg.data + o, BI_MAGIC, BI_MAGIC_LEN))
				return decode_inline(seg.data + o, seg.filesz - o, v);
		}
		return -ENOENT;	/* only the first such segment, as debug/buildinfo does */
	}
	return -ENOENT;
}

int buildinfo__read(const struct goelf *g, struct go_version *v)
{
	struct goelf_section sec;

	if (goelf__section(g, ".go.buildinfo", &sec) || !sec.data)
		return scan_segments(g, v);
	if (sec.size < BI_HDR_LEN || memcmp(sec.data, BI_MAGIC, BI_MAGIC_LEN))
		return -EINVAL;
	return decode_inline(sec.data, sec.size, v);
}

/* Non-negative decimal at *s; advances *s. -1 when there is no digit. */
static int parse_num(const char **s)
{
	long n = 0;

	if (**s < '0' || **s > '9')
		return -1;
	while (**s >= '0' && **s <= '9') {
		n = n * 10 + (**s - '0');
		if (n > INT_MAX)
			return -1;
		(*s)++;
	}
	return (int)n;
}

/* "go1.N[.P][rcK|betaK][-X:...| X:...]" starting at s. */
static int parse_release(const char *s, struct go_version *v)
{
	int n;

	if (strncmp(s, "go", 2))
		return -EINVAL;
	s += 2;
	if ((v->major = parse_num(&s)) < 0 || *s++ != '.' || (v->minor = parse_num(&s)) < 0)
		return -EINVAL;
	v->patch = 0;
	if (*s == '.') {
		s++;
		if ((n = parse_num(&s)) < 0)
			return -EINVAL;
		v->patch = n;
	}
	return 0;
}

int buildinfo__parse_version(const char *s, struct go_version *v)
{
	const char *rel;

	if (!s || !*s)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	strncpy(v->str, s, sizeof(v->str) - 1);
	/* Experiments: "-X:name" since go1.21, " X:name" before. */
	v->experiments = strstr(s, "X:") != NULL;
	if (strncmp(s, "devel", 5))
		return parse_release(s, v);
	/* "devel go1.22-abcdef Tue ..." names the release it leads up to; the older
	 * "devel +abcdef" does not, and is reported as 0.0 for the caller to decide. */
	rel = strstr(s, " go1.");
	if (rel && !parse_release(rel + 1, v))
		return 0;
	v->major = v->minor = v->patch = 0;
	return 0;
}

int go_version__cmp(const struct go_version *v, int major, int minor)
{
	if (v->major != major)
		return v->major < major ? -1 : 1;
	if (v->minor != minor)
		return v->minor < minor ? -1 : 1;
	return 0;
}
