// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>
#include "sizeclass.h"

static const uint16_t class_to_size[] = {
	0,     8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,
	160,   176,   192,   208,   224,   240,   256,   288,   320,   352,   384,   416,
	448,   480,   512,   576,   640,   704,   768,   896,   1024,  1152,  1280,  1408,
	1536,  1792,  2048,  2304,  2688,  3072,  3200,  3456,  4096,  4864,  5376,  6144,
	6528,  6784,  6912,  8192,  9472,  9728,  10240, 10880, 12288, 13568, 14336, 16384,
	18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
};

uint64_t go_slot_size(uint64_t size)
{
	size_t lo = 1, hi = sizeof(class_to_size) / sizeof(class_to_size[0]) - 1;

	if (size == 0)
		return 0;
	if (size > class_to_size[hi])
		return (size + 8191) & ~8191ull;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (class_to_size[mid] >= size)
			hi = mid;
		else
			lo = mid + 1;
	}
	return class_to_size[lo];
}
