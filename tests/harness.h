/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal test harness in the selftests test_progs style: ASSERT_* evaluate to bool so a test
 * can bail out with "if (!ASSERT_...) goto cleanup;". Every test prints one line:
 *   PASS <name> | FAIL <name>: <why> | SKIP <name>: <why>
 * and main() ends with "N passed, N failed, N skipped". scripts/run-tests.sh counts the lines. */
#ifndef __HARNESS_H
#define __HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>

struct test_ctx {
	const char *name;
	int failed;
	const char *skip;
};

static int harness_pass, harness_fail, harness_skip;

#define FAILF(t, fmt, ...)                                                                         \
	({                                                                                         \
		if (!(t)->failed++)                                                                \
			printf("FAIL %s: %s:%d: " fmt "\n", (t)->name, __FILE__, __LINE__,         \
			       ##__VA_ARGS__);                                                     \
		else                                                                               \
			printf("  also %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);      \
		false;                                                                             \
	})

#define ASSERT_TRUE(t, cond, what) ((cond) ? true : FAILF(t, "%s: expected true", what))
/* Integers only: a double would be truncated (500.7 == 500), so the compiler refuses one;
 * doubles go through ASSERT_DBL_EQ. */
#define ASSERT_EQ(t, a, b, what)                                                                   \
	({                                                                                         \
		_Static_assert(__builtin_classify_type(a) != 8 && __builtin_classify_type(b) != 8,  \
			       "ASSERT_EQ on a floating value: use ASSERT_DBL_EQ");                \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		__a == __b ? true : FAILF(t, "%s: got %lld, want %lld", what, __a, __b);           \
	})
/* Doubles equal to 1e-12 relative (the sums tests build are exact in binary). */
#define ASSERT_DBL_EQ(t, a, b, what)                                                               \
	({                                                                                         \
		double __a = (a), __b = (b);                                                       \
		(__a == __b || __builtin_fabs(__a - __b) <= 1e-12 * __builtin_fabs(__b))           \
			? true                                                                     \
			: FAILF(t, "%s: got %.17g, want %.17g", what, __a, __b);                  \
	})
#define ASSERT_OK(t, err, what)                                                                    \
	({                                                                                         \
		long long __e = (long long)(err);                                                  \
		__e == 0 ? true : FAILF(t, "%s: error %lld (%s)", what, __e, strerror((int)-__e)); \
	})
#define ASSERT_OK_PTR(t, p, what) ((p) ? true : FAILF(t, "%s: NULL (%s)", what, strerror(errno)))
#define ASSERT_STREQ(t, a, b, what)                                                                \
	({                                                                                         \
		const char *__a = (a), *__b = (b);                                                 \
		(__a && __b && !strcmp(__a, __b))                                                  \
			? true                                                                     \
			: FAILF(t, "%s: got \"%s\", want \"%s\"", what, __a ? __a : "(null)",      \
				__b ? __b : "(null)");                                             \
	})

#define SKIP(t, why) ((t)->skip = (why))

typedef void (*test_fn)(struct test_ctx *t);

static inline void harness_run(const char *name, test_fn fn, const char *filter)
{
	struct test_ctx t = { .name = name };

	if (filter && !strstr(name, filter))
		return;
	fn(&t);
	if (t.failed) {
		harness_fail++;
	} else if (t.skip) {
		printf("SKIP %s: %s\n", name, t.skip);
		harness_skip++;
	} else {
		printf("PASS %s\n", name);
		harness_pass++;
	}
	fflush(stdout);
}

#define RUN(fn) harness_run(#fn, fn, getenv("TEST_FILTER"))

static inline int harness_done(void)
{
	printf("%d passed, %d failed, %d skipped\n", harness_pass, harness_fail, harness_skip);
	return harness_fail ? 1 : 0;
}

/* Copy src to a new temporary file named from dst (a mkstemp template, rewritten in place), for
 * tests that patch a binary. false (and a failure recorded) if that cannot be done. */
static inline bool copy_to_temp(struct test_ctx *t, const char *src, char *dst)
{
	char cmd[8192];
	int fd = mkstemp(dst);

	if (fd < 0)
		return FAILF(t, "mkstemp %s: %s", dst, strerror(errno));
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	if (system(cmd))
		return FAILF(t, "%s failed", cmd);
	return true;
}

/* Run cmd with input on stdin; its output (stdout and stderr) into out. Exit status or -1. */
static inline int run_with_input(const char *cmd, const char *input, size_t len, char *out,
				 size_t outlen)
{
	char in_path[] = "/tmp/heapscope_test_in.XXXXXX", out_path[] = "/tmp/heapscope_test_out.XXXXXX";
	char line[1024];
	int in_fd = mkstemp(in_path), out_fd = mkstemp(out_path), status = -1;
	ssize_t n;

	if (in_fd < 0 || out_fd < 0)
		goto cleanup;
	if (write(in_fd, input, len) != (ssize_t)len)
		goto cleanup;
	snprintf(line, sizeof(line), "%s <%s >%s 2>&1", cmd, in_path, out_path);
	status = system(line);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	n = pread(out_fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = '\0';
cleanup:
	if (in_fd >= 0)
		close(in_fd), unlink(in_path);
	if (out_fd >= 0)
		close(out_fd), unlink(out_path);
	return status;
}

/* Directory of the Go fixture binaries built by scripts/build-fixtures.sh. */
static inline const char *fixtures_dir(void)
{
	const char *d = getenv("HEAPSCOPE_FIXTURES");

	return d ? d : ".output/fixtures";
}

#endif /* __HARNESS_H */
