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
#define BI_SCAN_CHUNK	4096

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

/* Fallback when there is no .go.buildinfo section: debug/buildinfo looks for the magic in the
 * first writable PT_LOAD. goelf hands out no program headers, so read them through the mapping
 * of file offset 0 (the ELF header is inside the first PT_LOAD of every Go binary). */
static int scan_segments(const struct goelf *g, struct go_version *v)
{
	uint8_t buf[BI_SCAN_CHUNK + BI_HDR_LEN + 64];
	Elf64_Ehdr eh;
	uint64_t base, va;

	if (goelf__offset_to_vaddr(g, 0, &base) || goelf__read_vaddr(g, base, &eh, sizeof(eh)))
		return -ENOENT;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (goelf__offset_to_vaddr(g, eh.e_phoff + (uint64_t)i * sizeof(ph), &va) ||
		    goelf__read_vaddr(g, va, &ph, sizeof(ph)))
			return -ENOENT;
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
			continue;
		for (uint64_t a = ph.p_vaddr; a < ph.p_vaddr + ph.p_filesz; a += BI_SCAN_CHUNK) {
			size_t n = ph.p_vaddr + ph.p_filesz - a;

			n = n < sizeof(buf) ? n : sizeof(buf);
			if (goelf__read_vaddr(g, a, buf, n))
				break;
			for (size_t o = 0; o < BI_SCAN_CHUNK && o + BI_HDR_LEN <= n;
			     o += BI_ALIGN) {
				if (!memcmp(buf + o, BI_MAGIC, BI_MAGIC_LEN))
					return decode_inline(buf + o, n - o, v);
			}
		}
		break;	/* only the first writable segment, as debug/buildinfo does */
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

/* The descriptor of the first note named `owner` of type `type` in an SHT_NOTE section:
 * {namesz, descsz, type} (4 bytes each), the name and the descriptor, each padded to 4. */
static int find_note(const struct goelf *g, const char *section, const char *owner,
		     uint32_t type, const uint8_t **desc, uint32_t *desclen)
{
	struct goelf_section sec;
	size_t off = 0, olen = strlen(owner) + 1;

	if (goelf__section(g, section, &sec) || !sec.data)
		return -ENOENT;
	while (off + 12 <= sec.size) {
		uint32_t namesz, descsz, t;
		size_t name_at = off + 12, desc_at;

		memcpy(&namesz, sec.data + off, 4);
		memcpy(&descsz, sec.data + off + 4, 4);
		memcpy(&t, sec.data + off + 8, 4);
		desc_at = name_at + ((namesz + 3) & ~3u);
		if (desc_at > sec.size || descsz > sec.size - desc_at)
			return -EINVAL;
		/* the Go linker pads its "Go" to namesz 4 with NULs */
		if (t == type && namesz >= olen && namesz <= 8 &&
		    !memcmp(sec.data + name_at, owner, olen) &&
		    !memcmp(sec.data + name_at + olen - 1, "\0\0\0\0\0\0\0\0", namesz - olen + 1)) {
			*desc = sec.data + desc_at;
			*desclen = descsz;
			return 0;
		}
		off = desc_at + ((descsz + 3) & ~3u);
	}
	return -ENOENT;
}

int buildinfo__go_build_id(const struct goelf *g, char *buf, size_t len)
{
	const uint8_t *d;
	uint32_t n;
	/* cmd/link: ELF_NOTE_GOBUILDID_TAG */
	int err = find_note(g, ".note.go.buildid", "Go", 4, &d, &n);

	if (err)
		return err;
	if (n >= len || memchr(d, 0, n))
		return -EINVAL;
	memcpy(buf, d, n);
	buf[n] = 0;
	return 0;
}

int buildinfo__gnu_build_id(const struct goelf *g, char *hex, size_t len)
{
	const uint8_t *d;
	uint32_t n;
	int err = find_note(g, ".note.gnu.build-id", "GNU", NT_GNU_BUILD_ID, &d, &n);

	if (err)
		return err;
	if (!n || 2 * (size_t)n >= len)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	hex[2 * n] = 0;
	return 0;
}
