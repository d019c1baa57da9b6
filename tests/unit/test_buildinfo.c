// SPDX-License-Identifier: GPL-2.0
/* buildinfo: version string parsing, and every fixture's version against `go version`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "harness.h"
#include "buildinfo.h"
#include "goelf.h"

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
	struct goelf_section sec;
	struct go_version v;
	struct goelf *g = NULL;
	uint8_t flags = 0;
	DIR *d;
	struct dirent *e;
	int fd;

	g = goelf__open("/bin/true");
	if (g)
		ASSERT_EQ(t, buildinfo__read(g, &v), -ENOENT, "/bin/true");
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
	} else {
		FAILF(t, "could not rename .go.buildinfo in %s", dst);
	}
	fd = open(dst, O_WRONLY);
	ASSERT_TRUE(t, fd >= 0 && pwrite(fd, &flags, 1, sec.offset + 15) == 1, "patch flags");
	close(fd);
	goelf__close(g);
	g = goelf__open(dst);
	if (ASSERT_OK_PTR(t, g, dst))
		ASSERT_EQ(t, buildinfo__read(g, &v), -ENOTSUP, "pointer format");
cleanup:
	goelf__close(g);
	unlink(dst);
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
	RUN(test_cmp);
	RUN(test_fixtures);
	RUN(test_errors);
	RUN(test_build_ids);
	return harness_done();
}
