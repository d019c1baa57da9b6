/* SPDX-License-Identifier: GPL-2.0 */
/* Sampled user stacks -> allocation site, kind and logical frames, through .gopclntab. */
#ifndef __SYMBOLIZE_H
#define __SYMBOLIZE_H

#include <stdint.h>
#include "agg.h"
#include "target.h"

struct symbolizer;

struct symbolizer *symbolizer__new(const struct target *t, struct agg *a);
void symbolizer__free(struct symbolizer *s);

/* pcs[0] is the probed instruction, pcs[1..] return addresses (run-time, innermost first).
 * Writes the logical frames from the allocation site (first frame above the runtime) outward
 * into out[], returns how many (0: no frame above the runtime). *kind is the interned kind
 * named from the runtime function the site called. */
int symbolizer__stack(struct symbolizer *s, const uint64_t *pcs, int n, struct agg_frame *out,
		      int max, uint32_t *kind);

#endif /* __SYMBOLIZE_H */
