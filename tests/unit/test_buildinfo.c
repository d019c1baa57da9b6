// SPDX-License-Identifier: GPL-2.0
/* buildinfo: version string parsing, and every fixture's version against `go version`. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "buildinfo.h"
#include "goelf.h"
#include "util.h"

#define GO_NATIVE "/usr/local/go/bin/go"

static const char *const variants[] = { "plain", "stripped", "pie", "cgo", "pprof", "cgo-syms" };

static void test_parse_version(struct test_ctx *t)
{
	static const struct {
		const char *s;
		int major, minor, patch;
		bool exp;
	} cases[] = {
		{ "go1.21.13", 1, 21, 13, false },
		{ "go1.21rc2", 1, 21, 0, false },
		{ "go1.22beta1", 1, 22, 0, false },
		{ "go1.20", 1, 20, 0, false },
		{ "go1.26.10-X:sizespecializedmalloc", 1, 26, 10, true },
		{ "go1.19.8 X:boringcrypto", 1, 19, 8, true },
		{ "devel go1.27-1a2b3c4d Tue Jan 6 10:00:00 2026 +0000", 1, 27, 0, false },
		{ "devel +abcdef Thu Jan 1 00:00:00 2021 +0000", 0, 0, 0, false },
	};
	static const char long_version[] = "go1.26.1-X:aaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbbbb,"
					   "cccccccccccccccccccccccccccccc";
	static const char *const bad[] = { "", "1.21", "go", "gox.1", "go1", "go1.", "go1.21.x" };
	struct go_version v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_OK(t, buildinfo__parse_version(cases[i].s, &v), cases[i].s))
			continue;
		ASSERT_EQ(t, v.major, cases[i].major, cases[i].s);
		ASSERT_EQ(t, v.minor, cases[i].minor, cases[i].s);
		ASSERT_EQ(t, v.patch, cases[i].patch, cases[i].s);
		ASSERT_EQ(t, v.experiments, cases[i].exp, cases[i].s);
		ASSERT_TRUE(t, !strncmp(v.str, cases[i].s, sizeof(v.str) - 1), cases[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(t, buildinfo__parse_version(bad[i], &v), -EINVAL, bad[i]);
	/* Long experiment lists are truncated, never overflowed. */
	ASSERT_OK(t, buildinfo__parse_version(long_version, &v), "long");
	ASSERT_EQ(t, strlen(v.str), sizeof(v.str) - 1, "truncated");
}

static void test_cmp(struct test_ctx *t)
{
	struct go_version v;

	ASSERT_OK(t, buildinfo__parse_version("go1.21.13", &v), "parse");
	ASSERT_EQ(t, go_version__cmp(&v, 1, 21), 0, "== 1.21");
	ASSERT_EQ(t, go_version__cmp(&v, 1, 20), 1, "> 1.20");
	ASSERT_EQ(t, go_version__cmp(&v, 1, 26), -1, "< 1.26");
	ASSERT_EQ(t, go_version__cmp(&v, 2, 0), -1, "< 2.0");
}

/* `go version FILE` prints "FILE: goX.Y.Z"; any toolchain reads any 1.18+ binary. */
static bool go_version_of(const char *path, char *out, size_t n)
{
	char cmd[1024], line[1024], *p;
	FILE *f;
	bool ok = false;

	snprintf(cmd, sizeof(cmd), GO_NATIVE " version '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && (p = strstr(line, ": "))) {
		p += 2;
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, n, "%s", p);
		ok = true;
	}
	pclose(f);
	return ok;
}

static void test_fixtures(struct test_ctx *t)
{
	DIR *d = opendir(fixtures_dir());
	struct dirent *e;
	int seen = 0;

	if (!d) {
		SKIP(t, "no fixtures under HEAPSCOPE_FIXTURES/.output/fixtures (make fixtures)");
		return;
	}
	if (access(GO_NATIVE, X_OK)) {
		closedir(d);
		SKIP(t, "no " GO_NATIVE " for the `go version` oracle");
		return;
	}
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "go", 2))
			continue;
		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			char path[768], want[256];
			struct go_version v;
			struct goelf *g;

			snprintf(path, sizeof(path), "%s/%s/goalloc-%s", fixtures_dir(), e->d_name,
				 variants[k]);
			if (access(path, R_OK))
				continue;
			if (!ASSERT_TRUE(t, go_version_of(path, want, sizeof(want)), path))
				continue;
			g = goelf__open(path);
			if (!ASSERT_OK_PTR(t, g, path))
				continue;
			if (ASSERT_OK(t, buildinfo__read(g, &v), path)) {
				ASSERT_STREQ(t, v.str, want, path);
				/* The directory is named after the toolchain's GOVERSION. */
				ASSERT_STREQ(t, v.str, e->d_name, path);
				ASSERT_EQ(t, v.major, 1, path);
				ASSERT_TRUE(t, v.minor >= 18, path);
			}
			goelf__close(g);
			seen++;
		}
	}
	closedir(d);
	if (!seen)
		SKIP(t, "fixture directory has no binaries (make fixtures)");
}

static bool rename_section(const char *path, const char *from, const char *to)
{
	size_t len = strlen(from) + 1;
	bool ok = false;
	char *buf = NULL;
	off_t size, at = -1;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return false;
	size = lseek(fd, 0, SEEK_END);
	buf = malloc(size);
	if (!buf || pread(fd, buf, size, 0) != size)
		goto cleanup;
	for (off_t o = 0; o + (off_t)len <= size; o++) {
		if (!memcmp(buf + o, from, len))
			at = o;
	}
	ok = at >= 0 && pwrite(fd, to, len, at) == (ssize_t)len;
cleanup:
	free(buf);
	close(fd);
	return ok;
}

/* Patch a copy: clear the inline-strings flag (pre-1.18 format) -> -ENOTSUP; and a C binary
 * has no buildinfo -> -ENOENT. */
static void test_errors(struct test_ctx *t)
{
	char src[512], dst[] = "/tmp/heapscope-bi-XXXXXX";
	struct go_modinfo mi = { 0 };
	struct goelf_section sec;
	struct go_version v;
	struct goelf *g = NULL;
	uint8_t flags = 0;
	DIR *d;
	struct dirent *e;
	int fd;

	g = goelf__open("/bin/true");
	if (g) {
		ASSERT_EQ(t, buildinfo__read(g, &v), -ENOENT, "/bin/true");
		ASSERT_EQ(t, buildinfo__read_modinfo(g, &mi), -ENOENT, "/bin/true modinfo");
	}
	goelf__close(g);
	g = NULL;
	src[0] = '\0';
	if ((d = opendir(fixtures_dir()))) {
		while ((e = readdir(d))) {
			if (!strncmp(e->d_name, "go", 2))
				snprintf(src, sizeof(src), "%s/%s/goalloc-plain", fixtures_dir(),
					 e->d_name);
		}
		closedir(d);
	}
	if (!src[0] || access(src, R_OK)) {
		SKIP(t, "no fixture to patch");
		return;
	}
	if (!copy_to_temp(t, src, dst))
		goto cleanup;
	g = goelf__open(dst);
	if (!ASSERT_OK_PTR(t, g, dst) ||
	    !ASSERT_OK(t, goelf__section(g, ".go.buildinfo", &sec), ".go.buildinfo"))
		goto cleanup;
	/* Rename the section (last occurrence of the name: .shstrtab ends the file) so that the
	 * scan of the first writable PT_LOAD has to find the blob. */
	if (rename_section(dst, ".go.buildinfo", ".go.xuildinfo")) {
		goelf__close(g);
		g = goelf__open(dst);
		if (ASSERT_OK_PTR(t, g, dst) &&
		    ASSERT_OK(t, buildinfo__read(g, &v), "segment scan"))
			ASSERT_EQ(t, v.major, 1, "segment scan version");
		if (g && ASSERT_OK(t, buildinfo__read_modinfo(g, &mi), "segment scan modinfo"))
			ASSERT_STREQ(t, mi.path, "heapscope.test/goalloc", "segment scan path");
		go_modinfo__free(&mi);
	} else {
		FAILF(t, "could not rename .go.buildinfo in %s", dst);
	}
	fd = open(dst, O_WRONLY);
	ASSERT_TRUE(t, fd >= 0 && pwrite(fd, &flags, 1, sec.offset + 15) == 1, "patch flags");
	close(fd);
	goelf__close(g);
	g = goelf__open(dst);
	if (ASSERT_OK_PTR(t, g, dst)) {
		ASSERT_EQ(t, buildinfo__read(g, &v), -ENOTSUP, "pointer format");
		ASSERT_EQ(t, buildinfo__read_modinfo(g, &mi), -ENOTSUP, "pointer format modinfo");
	}
cleanup:
	goelf__close(g);
	unlink(dst);
}

/* Hand-written module info in runtime/debug.BuildInfo.String()'s format, framed as the linker
 * frames it: every line form, quoting and a replacement. */
static void test_parse_modinfo(struct test_ctx *t)
{
	static const char text[] =
		"go\tgo1.26.8\n"
		"path\texample.com/app/cmd/server\n"
		"mod\texample.com/app\tv1.2.3\th1:abc=\n"
		"dep\tgolang.org/x/sys\tv0.20.0\th1:sys=\n"
		"dep\texample.com/lib\tv0.1.0\n"
		"=>\t../lib\t\t\n"
		"build\t-buildmode=exe\n"
		"build\t-ldflags=\"-s -w -X main.v=\\\"q\\\"\"\n"
		"build\t-tags=netgo,osusergo\n"
		"build\t-trimpath=true\n"
		"build\tCGO_ENABLED=0\n"
		"build\tGOOS=linux\n"
		"build\t\"we=ird\"=`raw value`\n"
		"build\tDefaultGODEBUG=\n"
		"build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n"
		"build\tvcs.modified=true\n"
		"build\tunicode=\"\\u00e9\\x41\\101\\t\"\n";
	char framed[sizeof(text) + 32];
	struct go_modinfo mi;
	const char *v;

	memset(framed, 0x5a, 16);
	memcpy(framed + 16, text, sizeof(text) - 1);
	memset(framed + 16 + sizeof(text) - 1, 0xa5, 16);
	for (int pass = 0; pass < 2; pass++) {
		const char *what = pass ? "framed" : "plain";
		int err = pass ? buildinfo__parse_modinfo(framed, sizeof(text) - 1 + 32, &mi)
			       : buildinfo__parse_modinfo(text, sizeof(text) - 1, &mi);

		if (!ASSERT_OK(t, err, what))
			continue;
		ASSERT_STREQ(t, mi.path, "example.com/app/cmd/server", what);
		ASSERT_STREQ(t, mi.main.path, "example.com/app", what);
		ASSERT_STREQ(t, mi.main.version, "v1.2.3", what);
		ASSERT_STREQ(t, mi.main.sum, "h1:abc=", what);
		if (ASSERT_EQ(t, mi.ndeps, 2, what)) {
			ASSERT_STREQ(t, mi.deps[0].path, "golang.org/x/sys", what);
			ASSERT_TRUE(t, !mi.deps[0].replace, what);
			ASSERT_STREQ(t, mi.deps[1].sum, "", what);
			if (ASSERT_TRUE(t, mi.deps[1].replace != NULL, what)) {
				ASSERT_STREQ(t, mi.deps[1].replace->path, "../lib", what);
				ASSERT_STREQ(t, mi.deps[1].replace->version, "", what);
			}
		}
		ASSERT_EQ(t, mi.nsettings, 11, what);
		v = go_modinfo__setting(&mi, "-ldflags");
		ASSERT_STREQ(t, v, "-s -w -X main.v=\"q\"", what);
		ASSERT_STREQ(t, go_modinfo__setting(&mi, "-trimpath"), "true", what);
		ASSERT_STREQ(t, go_modinfo__setting(&mi, "we=ird"), "raw value", what);
		ASSERT_STREQ(t, go_modinfo__setting(&mi, "DefaultGODEBUG"), "", what);
		ASSERT_STREQ(t, go_modinfo__setting(&mi, "unicode"), "\xc3\xa9" "AA\t", what);
		ASSERT_STREQ(t, go_modinfo__setting(&mi, "vcs.modified"), "true", what);
		ASSERT_TRUE(t, !go_modinfo__setting(&mi, "vcs.time"), what);
		go_modinfo__free(&mi);
	}
	/* Malformed: each must fail, and leave nothing allocated behind. */
	static const char *const bad[] = {
		"=>\tx\tv1\t\n",			/* replacement of nothing */
		"mod\texample.com/app\n",		/* one column */
		"dep\ta\tv1\th1:x\textra\n",	/* four columns */
		"dep\ta\tv1\n=>\tb\tv2\n",		/* replacement without its sum column */
		"build\tnoequals\n",
		"build\t=value\n",
		"build\tk=\"unterminated\n",
		"build\tk=\"bad\\q\"\n",
		"build\t\"k\"value\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(t, buildinfo__parse_modinfo(bad[i], strlen(bad[i]), &mi), -EINVAL, bad[i]);
		ASSERT_TRUE(t, !mi.path && !mi.ndeps && !mi.nsettings && !mi.main.path, bad[i]);
	}
	/* An unterminated last line is ignored, as runtime/debug.ParseBuildInfo does. */
	if (ASSERT_OK(t, buildinfo__parse_modinfo("path\ta\nmod\tb", 13, &mi), "unterminated")) {
		ASSERT_STREQ(t, mi.path, "a", "unterminated path");
		ASSERT_TRUE(t, !mi.main.path, "unterminated mod line dropped");
	}
	go_modinfo__free(&mi);
	go_modinfo__free(NULL);
}

/* `go version -m FILE` prints BuildInfo.String() with each line indented by a tab, after a first
 * line "FILE: goX.Y.Z". Returns that text without the indentation, or NULL. */
static char *go_version_m(const char *path, size_t *len)
{
	char cmd[1024], line[8192];
	struct strbuf sb = { 0 };
	bool first = true;
	FILE *f;

	snprintf(cmd, sizeof(cmd), GO_NATIVE " version -m '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (first) {
			first = false;
			continue;
		}
		strbuf_printf(&sb, "%s", line[0] == '\t' ? line + 1 : line);
	}
	if (pclose(f) || !sb.len || sb.oom) {
		strbuf_free(&sb);
		return NULL;
	}
	*len = sb.len;
	return sb.buf;
}

static bool same_module(const struct go_module *a, const struct go_module *b)
{
	if (!a->path || !b->path)
		return !a->path == !b->path;
	if (strcmp(a->path, b->path) || strcmp(a->version, b->version) || strcmp(a->sum, b->sum))
		return false;
	if (!a->replace || !b->replace)
		return !a->replace == !b->replace;
	return same_module(a->replace, b->replace);
}

/* Every fixture's module info read from the binary equals what `go version -m` prints (parsed
 * by the parser checked above), and names the fixture's module. */
static void test_modinfo_fixtures(struct test_ctx *t)
{
	DIR *d = opendir(fixtures_dir());
	struct dirent *e;
	int seen = 0;

	if (!d) {
		SKIP(t, "no fixtures under HEAPSCOPE_FIXTURES/.output/fixtures (make fixtures)");
		return;
	}
	if (access(GO_NATIVE, X_OK)) {
		closedir(d);
		SKIP(t, "no " GO_NATIVE " for the `go version -m` oracle");
		return;
	}
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "go", 2))
			continue;
		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			struct go_modinfo got = { 0 }, want = { 0 };
			char path[768], *text;
			struct goelf *g;
			size_t len;

			snprintf(path, sizeof(path), "%s/%s/goalloc-%s", fixtures_dir(), e->d_name,
				 variants[k]);
			if (access(path, R_OK))
				continue;
			text = go_version_m(path, &len);
			if (!ASSERT_TRUE(t, text != NULL, path))
				continue;
			g = goelf__open(path);
			if (ASSERT_OK_PTR(t, g, path) &&
			    ASSERT_OK(t, buildinfo__read_modinfo(g, &got), path) &&
			    ASSERT_OK(t, buildinfo__parse_modinfo(text, len, &want), "go version -m")) {
				ASSERT_STREQ(t, got.path, "heapscope.test/goalloc", path);
				ASSERT_STREQ(t, got.path, want.path, path);
				ASSERT_TRUE(t, same_module(&got.main, &want.main), path);
				ASSERT_EQ(t, got.ndeps, want.ndeps, path);
				for (size_t i = 0; i < got.ndeps && i < want.ndeps; i++)
					ASSERT_TRUE(t, same_module(&got.deps[i], &want.deps[i]), path);
				if (ASSERT_EQ(t, got.nsettings, want.nsettings, path))
					for (size_t i = 0; i < got.nsettings; i++) {
						ASSERT_STREQ(t, got.settings[i].key,
							     want.settings[i].key, path);
						ASSERT_STREQ(t, got.settings[i].value,
							     want.settings[i].value, path);
					}
				ASSERT_STREQ(t, go_modinfo__setting(&got, "GOOS"), "linux", path);
				if (strstr(variants[k], "cgo") || !strcmp(variants[k], "pie"))
					ASSERT_STREQ(t, go_modinfo__setting(&got, "CGO_ENABLED"), "1",
						     path);
				if (!strcmp(variants[k], "stripped"))
					ASSERT_STREQ(t, go_modinfo__setting(&got, "-ldflags"),
						     "-s -w", path);
			}
			go_modinfo__free(&got);
			go_modinfo__free(&want);
			goelf__close(g);
			free(text);
			seen++;
		}
	}
	closedir(d);
	if (!seen)
		SKIP(t, "fixture directory has no binaries (make fixtures)");
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Section header by name in an image with a valid section table. NULL if absent. */
static Elf64_Shdr *find_shdr(uint8_t *img, const char *name)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
	const char *names = (const char *)img + sh[eh->e_shstrndx].sh_offset;

	for (int i = 0; i < eh->e_shnum; i++) {
		if (!strcmp(names + sh[i].sh_name, name))
			return &sh[i];
	}
	return NULL;
}

/* Found by fuzzing: program headers that kept the segment scan busy for seconds. The scan read
 * each header back through the address mapping and translated every 4 KB chunk again, each time
 * walking all program headers; tens of thousands of them with the PT_LOADs last made that
 * quadratic. Rebuilt from a fixture: its program headers moved to the end of a table of PT_NULL
 * entries that fills the space from .text to .go.buildinfo, and the section renamed so that the
 * scan has to run. The version must still be found, in CPU time far under the 1 s bound (the
 * fix takes about a millisecond; the quadratic walk took 1.7 s, 5 s under ASan). */
static void test_scan_many_phdrs(struct test_ctx *t)
{
	char path[1024], want[256];
	struct goelf *g = NULL;
	struct go_version v;
	uint8_t *img = NULL;
	Elf64_Shdr *text, *bi;
	Elf64_Ehdr *eh;
	size_t size, nreal, n;
	double cpu;

	if (!newest_fixture("plain", path, sizeof(path), want, sizeof(want))) {
		SKIP(t, "no goalloc-plain fixture (make fixtures)");
		return;
	}
	img = read_whole_file(t, path, &size);
	if (!img)
		return;
	eh = (Elf64_Ehdr *)img;
	text = find_shdr(img, ".text");
	bi = find_shdr(img, ".go.buildinfo");
	if (!ASSERT_TRUE(t, text && bi && bi->sh_offset > text->sh_offset, "sections"))
		goto cleanup;
	nreal = eh->e_phnum;
	n = (bi->sh_offset - text->sh_offset) / sizeof(Elf64_Phdr);
	n = n < PN_XNUM ? n : PN_XNUM - 1;
	if (!ASSERT_TRUE(t, n > 10000, "room for a large table"))
		goto cleanup;
	memset(img + text->sh_offset, 0, n * sizeof(Elf64_Phdr));
	memcpy(img + text->sh_offset + (n - nreal) * sizeof(Elf64_Phdr), img + eh->e_phoff,
	       nreal * sizeof(Elf64_Phdr));
	eh->e_phoff = text->sh_offset;
	eh->e_phnum = n;
	img[find_shdr(img, ".shstrtab")->sh_offset + bi->sh_name + 4] = 'x'; /* .go.xuildinfo */
	g = goelf__open_mem(img, size);
	if (!ASSERT_OK_PTR(t, g, "open patched image"))
		goto cleanup;
	cpu = cpu_seconds();
	if (ASSERT_OK(t, buildinfo__read(g, &v), "segment scan"))
		ASSERT_STREQ(t, v.str, want, "version");
	cpu = cpu_seconds() - cpu;
	ASSERT_TRUE(t, cpu < 1.0, "scan in linear time");
	if (getenv("VERBOSE"))
		printf("  %zu program headers: %.3f s CPU\n", n, cpu);
cleanup:
	goelf__close(g);
	free(img);
}

/* Build IDs of every fixture against `go tool buildid` (the Go one) and readelf -n (GNU). */
static bool cmd_line(const char *cmd, char *out, size_t n)
{
	FILE *f = popen(cmd, "r");
	bool ok = false;

	if (!f)
		return false;
	if (fgets(out, (int)n, f)) {
		out[strcspn(out, "\n")] = 0;
		ok = true;
	}
	pclose(f);
	return ok;
}

static void test_build_ids(struct test_ctx *t)
{
	DIR *d = opendir(fixtures_dir());
	struct dirent *e;
	int seen = 0, gnu = 0;

	if (!d || access(GO_NATIVE, X_OK)) {
		if (d)
			closedir(d);
		SKIP(t, "no fixtures or no " GO_NATIVE " for the `go tool buildid` oracle");
		return;
	}
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "go", 2))
			continue;
		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			char path[768], cmd[1024], want[512], got[512];
			struct goelf *g;
			int err;

			snprintf(path, sizeof(path), "%s/%s/goalloc-%s", fixtures_dir(), e->d_name,
				 variants[k]);
			if (access(path, R_OK) || !(g = goelf__open(path)))
				continue;
			snprintf(cmd, sizeof(cmd), GO_NATIVE " tool buildid '%s' 2>/dev/null", path);
			if (ASSERT_TRUE(t, cmd_line(cmd, want, sizeof(want)), cmd) &&
			    ASSERT_OK(t, buildinfo__go_build_id(g, got, sizeof(got)), path))
				ASSERT_STREQ(t, got, want, path);
			snprintf(cmd, sizeof(cmd),
				 "readelf -n '%s' 2>/dev/null | sed -n 's/.*Build ID: //p'", path);
			want[0] = 0;
			cmd_line(cmd, want, sizeof(want));
			err = buildinfo__gnu_build_id(g, got, sizeof(got));
			if (want[0]) {
				if (ASSERT_OK(t, err, path))
					ASSERT_STREQ(t, got, want, path);
				gnu++;
			} else {
				ASSERT_EQ(t, err, -ENOENT, "no GNU build ID");
			}
			goelf__close(g);
			seen++;
		}
	}
	closedir(d);
	if (!seen)
		SKIP(t, "fixture directory has no binaries (make fixtures)");
	else
		printf("  %d binaries, %d with a GNU build ID\n", seen, gnu);
}

int main(void)
{
	RUN(test_parse_version);
	RUN(test_parse_modinfo);
	RUN(test_modinfo_fixtures);
	RUN(test_cmp);
	RUN(test_fixtures);
	RUN(test_errors);
	RUN(test_scan_many_phdrs);
	RUN(test_build_ids);
	return harness_done();
}
