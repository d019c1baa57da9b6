// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the Go version of any bytes. An ELF image goes through buildinfo__read (the
 * .go.buildinfo section, or the scan of the first writable segment when it has no such section);
 * anything else is a version string for buildinfo__parse_version. */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "buildinfo.h"
#include "goelf.h"

static volatile int sink;

static void check_version(const struct go_version *v)
{
	/* str is always a terminated string */
	if (!memchr(v->str, '\0', sizeof(v->str)))
		__builtin_trap();
	sink = go_version__cmp(v, 1, 21) + (int)strlen(v->str) + v->patch + v->experiments;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_version v;
	struct goelf *g;
	char s[256];

	if (size < SELFMAG || memcmp(data, ELFMAG, SELFMAG)) {
		size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

		memcpy(s, data, n);
		s[n] = '\0';
		if (!buildinfo__parse_version(s, &v))
			check_version(&v);
		return 0;
	}
	g = goelf__open_mem(data, size);
	if (!g)
		return 0;
	if (!buildinfo__read(g, &v))
		check_version(&v);
	goelf__close(g);
	return 0;
}
