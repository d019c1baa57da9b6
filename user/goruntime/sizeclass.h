/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __SIZECLASS_H
#define __SIZECLASS_H

#include <stdint.h>

/* Bytes the Go heap hands out for a request of `size` (its size class, or whole 8 KiB pages
 * for large objects) -- what /gc/heap/allocs:bytes counts. The table is the same in Go
 * 1.19-1.27 (runtime/sizeclasses.go, internal/runtime/gc/sizeclasses.go). Ignores the 8-byte
 * malloc header of pointerful objects over 512 B (Go 1.22+): the request alone cannot tell. */
uint64_t go_slot_size(uint64_t size);

#endif /* __SIZECLASS_H */
