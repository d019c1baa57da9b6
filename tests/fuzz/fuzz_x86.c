// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the x86-64 decoder over any bytes, taken as a function body at a fixed
 * link-time address. Every exported entry point runs; find_result_store is given the target of
 * the first direct CALL so that its search after the call is reached. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "x86.h"

#define CODE_VADDR 0x401000ull
#define MAX_RETS   16

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off, rets[MAX_RETS];
	uint64_t target, callee = 0;
	int len, n;

	for (off = 0; off < size; off += len) {
		len = x86__insn_len(data + off, size - off);
		if (len < 0)
			break;
		if (len == 0 || len > 15 || (size_t)len > size - off)
			__builtin_trap();
		if (!callee && len == 5 && data[off] == 0xe8) {
			int32_t rel;

			memcpy(&rel, data + off + 1, sizeof(rel));
			callee = CODE_VADDR + off + 5 + (int64_t)rel;
		}
	}
	/* Mid-instruction starts, as a caller probing a wrong offset would decode. */
	for (off = 1; off < size && off < 64; off++)
		sink = x86__insn_len(data + off, size - off);
	if (!x86__post_prologue(data, size, &off) && off > size)
		__builtin_trap();
	if (!x86__stack_check_branch(data, size, &off) && off >= size)
		__builtin_trap();
	if (!x86__find_result_store(data, size, CODE_VADDR, callee, &target))
		sink = target;
	n = x86__ret_sites(data, size, rets, MAX_RETS);
	if (n > MAX_RETS)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		if (rets[i] >= size || (i && rets[i] <= rets[i - 1]))
			__builtin_trap();
	}
	n = x86__ret_sites(data, size, rets, 1);
	if (n > 1)
		__builtin_trap();
	if (!x86__find_rate_global(data, size, CODE_VADDR, &target))
		sink = target;
	return 0;
}
