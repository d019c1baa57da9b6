// SPDX-License-Identifier: GPL-2.0
/* Go version and module info from the build info blob the linker writes for debug/buildinfo and
 * `go version -m`. Layout [go1.26 debug/buildinfo/buildinfo.go readRawBuildInfo,
 * cmd/link/internal/ld/data.go]: a 32-byte header "\xff Go buildinf:" (14 B), ptrSize (1 B),
 * flags (1 B), 16 B of pointers; with flags bit 1 (Go 1.18+) the header is followed by two
 * uvarint-length-prefixed strings, the version then the module info, whose text form is
 * runtime/debug.BuildInfo.String() framed by 16-byte sentinels. */
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
#define BI_MAX_BLOB	(16u << 20)	/* module info of the largest programs is ~100 KiB */
#define BI_SENTINEL_LEN	16	/* cmd/go modload infoStart / infoEnd around the module info */

/* A uvarint-length-prefixed string at p[*i], inside len. 0 or -EINVAL. */
static int blob_string(const uint8_t *p, size_t len, size_t *i, const uint8_t **s, size_t *slen)
{
	uint64_t n = 0;
	int shift = 0;

	for (;; (*i)++, shift += 7) {
		if (*i >= len || shift > 63)
			return -EINVAL;
		n |= (uint64_t)(p[*i] & 0x7f) << shift;
		if (!(p[*i] & 0x80))
			break;
	}
	(*i)++;
	if (n > len - *i)
		return -EINVAL;
	*s = p + *i;
	*slen = n;
	*i += n;
	return 0;
}

/* The two strings that follow the 32-byte header: the Go version, then the module info. p/len
 * cover what is readable from the header onwards. */
static int blob_strings(const uint8_t *p, size_t len, const uint8_t **ver, size_t *vlen,
			const uint8_t **mod, size_t *mlen)
{
	size_t i = BI_HDR_LEN;
	int err;

	if (len < BI_HDR_LEN + 1)
		return -EINVAL;
	if (!(p[BI_MAGIC_LEN + 1] & BI_FLAG_INLINE))
		return -ENOTSUP;	/* pre-1.18: pointers to Go string headers */
	err = blob_string(p, len, &i, ver, vlen);
	if (err || !*vlen)
		return -EINVAL;
	/* A truncated module info leaves the version usable. */
	if (blob_string(p, len, &i, mod, mlen)) {
		*mod = NULL;
		*mlen = 0;
	}
	return 0;
}

static int decode_version(const uint8_t *p, size_t len, struct go_version *v)
{
	const uint8_t *ver, *mod;
	size_t vlen, mlen;
	char buf[sizeof(v->str)];
	int err = blob_strings(p, len, &ver, &vlen, &mod, &mlen);

	if (err)
		return err;
	/* Keep what fits: a long "-X:a,b,c" list only loses its tail. */
	if (vlen >= sizeof(buf))
		vlen = sizeof(buf) - 1;
	memcpy(buf, ver, vlen);
	buf[vlen] = '\0';
	return buildinfo__parse_version(buf, v);
}

/* Fallback when there is no .go.buildinfo section: like debug/buildinfo, look for the magic at
 * 16-byte aligned addresses in the first PT_LOAD that is writable and not executable. The scan
 * reads that segment's bytes in place, once, so its cost is bounded by the file's size whatever
 * the headers claim. It used to read every program header back through the address mapping and
 * translate each 4 KB chunk again, each a walk over all program headers: a header table of tens
 * of thousands of entries made that quadratic, seconds for one crafted file. On success *p
 * points into the segment at the header, *len bytes (at most BI_MAX_BLOB) from there. */
static int scan_segments(const struct goelf *g, const uint8_t **p, size_t *len)
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
			if (memcmp(seg.data + o, BI_MAGIC, BI_MAGIC_LEN))
				continue;
			*p = seg.data + o;
			*len = seg.filesz - o < BI_MAX_BLOB ? seg.filesz - o : BI_MAX_BLOB;
			return 0;
		}
		return -ENOENT;	/* only the first such segment, as debug/buildinfo does */
	}
	return -ENOENT;
}

/* The blob from its header on, in place: the section's bytes or the scanned segment's. */
static int find_blob(const struct goelf *g, const uint8_t **p, size_t *len)
{
	struct goelf_section sec;

	if (goelf__section(g, ".go.buildinfo", &sec) || !sec.data)
		return scan_segments(g, p, len);
	if (sec.size < BI_HDR_LEN || memcmp(sec.data, BI_MAGIC, BI_MAGIC_LEN))
		return -EINVAL;
	*p = sec.data;
	*len = sec.size;
	return 0;
}

int buildinfo__read(const struct goelf *g, struct go_version *v)
{
	const uint8_t *p;
	size_t len;
	int err = find_blob(g, &p, &len);

	return err ? err : decode_version(p, len, v);
}

int buildinfo__read_modinfo(const struct goelf *g, struct go_modinfo *mi)
{
	const uint8_t *p, *ver, *mod;
	size_t len, vlen, mlen;
	int err;

	memset(mi, 0, sizeof(*mi));
	err = find_blob(g, &p, &len);
	if (!err)
		err = blob_strings(p, len, &ver, &vlen, &mod, &mlen);
	/* No module info: GO111MODULE=off builds, or a truncated blob. */
	if (!err && !mlen)
		err = -ENOENT;
	if (!err)
		err = buildinfo__parse_modinfo((const char *)mod, mlen, mi);
	return err;
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

/* --- module info ---------------------------------------------------------------------------- */

static void module_free(struct go_module *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->version);
	free(m->sum);
	if (m->replace) {
		module_free(m->replace);
		free(m->replace);
	}
	memset(m, 0, sizeof(*m));
}

void go_modinfo__free(struct go_modinfo *mi)
{
	if (!mi)
		return;
	free(mi->path);
	module_free(&mi->main);
	for (size_t i = 0; i < mi->ndeps; i++)
		module_free(&mi->deps[i]);
	free(mi->deps);
	for (size_t i = 0; i < mi->nsettings; i++) {
		free(mi->settings[i].key);
		free(mi->settings[i].value);
	}
	free(mi->settings);
	memset(mi, 0, sizeof(*mi));
}

const char *go_modinfo__setting(const struct go_modinfo *mi, const char *key)
{
	/* The go command writes each key once; the last one wins if not. */
	for (size_t i = mi->nsettings; i-- > 0;)
		if (!strcmp(mi->settings[i].key, key))
			return mi->settings[i].value;
	return NULL;
}

static void put_utf8(char **o, uint32_t r)
{
	unsigned char *p = (unsigned char *)*o;

	if (r < 0x80) {
		*p++ = r;
	} else if (r < 0x800) {
		*p++ = 0xc0 | r >> 6;
		*p++ = 0x80 | (r & 0x3f);
	} else if (r < 0x10000) {
		*p++ = 0xe0 | r >> 12;
		*p++ = 0x80 | (r >> 6 & 0x3f);
		*p++ = 0x80 | (r & 0x3f);
	} else {
		*p++ = 0xf0 | r >> 18;
		*p++ = 0x80 | (r >> 12 & 0x3f);
		*p++ = 0x80 | (r >> 6 & 0x3f);
		*p++ = 0x80 | (r & 0x3f);
	}
	*o = (char *)p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* strconv.Unquote of the Go-quoted string at s (up to end): "..." with Go's escapes, or `...`.
 * Writes the value into out (at least end - s bytes) and returns the length of the quoted
 * form consumed, or -EINVAL. Written here: the escapes are Go's, no C library has them. */
static int go_unquote(const char *s, const char *end, char *out)
{
	static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''";
	const char *p = s + 1;
	char *o = out;

	if (s >= end || (*s != '"' && *s != '`'))
		return -EINVAL;
	if (*s == '`') {
		const char *q = memchr(p, '`', end - p);

		if (!q)
			return -EINVAL;
		memcpy(out, p, q - p);
		out[q - p] = '\0';
		return (int)(q + 1 - s);
	}
	while (p < end && *p != '"') {
		const char *e;
		int digits = 0, base = 16;
		uint32_t r = 0;

		if (*p == '\n')
			return -EINVAL;
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		if (++p >= end)
			return -EINVAL;
		for (e = simple; *e && *e != *p; e += 2)
			;
		if (*e) {
			*o++ = e[1];
			p++;
			continue;
		}
		switch (*p) {
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		case '0' ... '7':
			digits = 3;
			base = 8;
			p--;	/* the first digit is part of the value */
			break;
		default:
			return -EINVAL;
		}
		p++;
		for (int i = 0; i < digits; i++, p++) {
			int d = p < end ? hexval(*p) : -1;

			if (d < 0 || d >= base)
				return -EINVAL;
			r = r * base + d;
		}
		if (digits == 2 || base == 8) {
			if (r > 0xff)
				return -EINVAL;
			*o++ = (char)r;	/* a byte, not a rune */
		} else {
			if (r > 0x10ffff || (r >= 0xd800 && r < 0xe000))
				return -EINVAL;
			put_utf8(&o, r);
		}
	}
	if (p >= end)
		return -EINVAL;
	*o = '\0';
	return (int)(p + 1 - s);
}

/* Split a tab-separated line into up to max fields (copied). Returns the count, -ENOMEM. */
static int split_tabs(const char *s, const char *end, char **f, int max)
{
	int n = 0;

	while (n < max) {
		const char *t = memchr(s, '\t', end - s);
		const char *e = t ? t : end;

		f[n] = strndup(s, e - s);
		if (!f[n])
			return -ENOMEM;
		n++;
		if (!t)
			break;
		s = t + 1;
	}
	return n;
}

static int module_line(const char *s, const char *end, struct go_module *m, bool replacement)
{
	char *f[4] = { 0 };
	int n = split_tabs(s, end, f, 4);

	if (n < 0)
		goto fail;
	/* "path version [sum]"; a replacement always has the sum column, maybe empty. */
	if (n < 2 || n > 3 || (replacement && n != 3) || !f[0][0]) {
		n = -EINVAL;
		goto fail;
	}
	m->path = f[0];
	m->version = f[1];
	m->sum = n == 3 ? f[2] : strdup("");
	if (!m->sum) {
		m->path = m->version = NULL;
		n = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	for (int i = 0; i < 4; i++)
		free(f[i]);
	return n < 0 ? n : -EINVAL;
}

/* "key=value" with either side possibly Go-quoted (runtime/debug quoteKey, quoteValue). */
static int setting_line(const char *s, const char *end, struct go_setting *st)
{
	size_t n = end - s;
	char *key = malloc(n + 1), *val = malloc(n + 1);
	const char *v;
	int used, err = -EINVAL;

	if (!key || !val) {
		err = -ENOMEM;
		goto fail;
	}
	if (s < end && (*s == '"' || *s == '`')) {
		used = go_unquote(s, end, key);
		if (used < 0 || s + used >= end || s[used] != '=')
			goto fail;
		v = s + used + 1;
	} else {
		const char *eq = memchr(s, '=', n);

		if (!eq || eq == s)
			goto fail;
		memcpy(key, s, eq - s);
		key[eq - s] = '\0';
		v = eq + 1;
	}
	if (v < end && (*v == '"' || *v == '`')) {
		used = go_unquote(v, end, val);
		if (used < 0 || v + used != end)
			goto fail;
	} else {
		memcpy(val, v, end - v);
		val[end - v] = '\0';
	}
	st->key = key;
	st->value = val;
	return 0;
fail:
	free(key);
	free(val);
	return err;
}

static bool starts(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - s) >= n && !memcmp(s, word, n);
}

int buildinfo__parse_modinfo(const char *s, size_t len, struct go_modinfo *mi)
{
	struct go_module *last = NULL;
	const char *end;
	int err = 0;

	memset(mi, 0, sizeof(*mi));
	/* The linker's framing: 16 bytes of sentinel either side (debug/buildinfo strips them
	 * when the byte before the closing one is the last line's newline). */
	if (len >= 2 * BI_SENTINEL_LEN + 1 && s[len - BI_SENTINEL_LEN - 1] == '\n') {
		s += BI_SENTINEL_LEN;
		len -= 2 * BI_SENTINEL_LEN;
	}
	end = s + len;
	while (s < end && !err) {
		const char *nl = memchr(s, '\n', end - s);
		const char *le;

		if (!nl)
			break;	/* ParseBuildInfo also ignores an unterminated last line */
		le = nl;
		if (starts(s, le, "path\t")) {
			free(mi->path);
			mi->path = strndup(s + 5, le - s - 5);
			err = mi->path ? 0 : -ENOMEM;
		} else if (starts(s, le, "mod\t")) {
			module_free(&mi->main);
			err = module_line(s + 4, le, &mi->main, false);
			last = err ? NULL : &mi->main;
		} else if (starts(s, le, "dep\t")) {
			struct go_module *d = realloc(mi->deps, (mi->ndeps + 1) * sizeof(*d));

			if (!d) {
				err = -ENOMEM;
				break;
			}
			mi->deps = d;
			memset(&d[mi->ndeps], 0, sizeof(*d));
			err = module_line(s + 4, le, &d[mi->ndeps], false);
			if (!err)
				last = &d[mi->ndeps++];
		} else if (starts(s, le, "=>\t")) {
			if (!last) {
				err = -EINVAL;
				break;
			}
			last->replace = calloc(1, sizeof(*last->replace));
			err = last->replace ? module_line(s + 3, le, last->replace, true) : -ENOMEM;
			if (err) {
				free(last->replace);
				last->replace = NULL;
			}
			last = NULL;
		} else if (starts(s, le, "build\t")) {
			struct go_setting *st =
				realloc(mi->settings, (mi->nsettings + 1) * sizeof(*st));

			if (!st) {
				err = -ENOMEM;
				break;
			}
			mi->settings = st;
			err = setting_line(s + 6, le, &st[mi->nsettings]);
			if (!err)
				mi->nsettings++;
		}
		/* "go\t..." and lines of later formats: not needed, skipped like Go does. */
		s = nl + 1;
	}
	if (err)
		go_modinfo__free(mi);
	return err;
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
