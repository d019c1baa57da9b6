// SPDX-License-Identifier: GPL-2.0
/* x86 decoder tests: hand-written encodings, then every instruction of every fixture Go binary
 * checked against objdump (GNU binutils) as ground truth. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "buildinfo.h"
#include "goelf.h"
#include "goruntime.h"
#include "pclntab.h"
#include "x86.h"

#define MAX_VERSIONS 32
#define MAX_RETS 256

/* ---- hand-written encodings ---- */

struct vec {
	const char *what;
	uint8_t len;
	uint8_t bytes[15];
};

static const struct vec vecs[] = {
	{ "nop", 1, { 0x90 } },
	{ "int3", 1, { 0xcc } },
	{ "ret", 1, { 0xc3 } },
	{ "ret imm16", 3, { 0xc2, 0x08, 0x00 } },
	{ "push rbp", 1, { 0x55 } },
	{ "mov rsp,rbp", 3, { 0x48, 0x89, 0xe5 } },
	{ "cmp 0x10(r14),rsp", 4, { 0x49, 0x3b, 0x66, 0x10 } },
	{ "jbe rel32", 6, { 0x0f, 0x86, 0x10, 0x00, 0x00, 0x00 } },
	{ "jne rel8", 2, { 0x75, 0x05 } },
	{ "sub $0x30,rsp", 4, { 0x48, 0x83, 0xec, 0x30 } },
	{ "sub $0x1000,rsp", 7, { 0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00 } },
	{ "lea 0x28(rsp),rbp", 5, { 0x48, 0x8d, 0x6c, 0x24, 0x28 } },
	{ "lea 0x128(rsp),rbp", 8, { 0x48, 0x8d, 0xac, 0x24, 0x28, 0x01, 0x00, 0x00 } },
	{ "mov rip,rax", 7, { 0x48, 0x8b, 0x05, 0x01, 0x02, 0x03, 0x04 } },
	{ "sib no base disp32", 7, { 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00 } },
	{ "sib base rbp disp8", 4, { 0x8b, 0x44, 0x25, 0x08 } },
	{ "movabs imm64", 10, { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ "mov imm32", 5, { 0xb8, 1, 2, 3, 4 } },
	{ "mov imm16", 4, { 0x66, 0xb8, 1, 2 } },
	{ "66 add ax,imm16", 4, { 0x66, 0x05, 1, 2 } },
	{ "66 REX.W add rax,imm32", 7, { 0x66, 0x48, 0x05, 1, 2, 3, 4 } },
	{ "movw $imm16,(rax)", 5, { 0x66, 0xc7, 0x00, 1, 2 } },
	{ "movabs A1 moffs64", 10, { 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ "67 A0 moffs32", 6, { 0x67, 0xa0, 1, 2, 3, 4 } },
	{ "test imm8 (F6 /0)", 3, { 0xf6, 0xc0, 0x01 } },
	{ "not (F6 /2)", 2, { 0xf6, 0xd0 } },
	{ "test imm32 (F7 /0)", 6, { 0xf7, 0xc0, 1, 2, 3, 4 } },
	{ "test imm16 (66 F7 /0)", 5, { 0x66, 0xf7, 0xc0, 1, 2 } },
	{ "neg (F7 /3)", 3, { 0x48, 0xf7, 0xd8 } },
	{ "enter", 4, { 0xc8, 0x10, 0x00, 0x01 } },
	{ "call rel32", 5, { 0xe8, 1, 2, 3, 4 } },
	{ "lock cmpxchg", 5, { 0xf0, 0x48, 0x0f, 0xb1, 0x0a } },
	{ "fs mov", 9, { 0x64, 0x48, 0x8b, 0x04, 0x25, 0xf8, 0xff, 0xff, 0xff } },
	{ "endbr64", 4, { 0xf3, 0x0f, 0x1e, 0xfa } },
	{ "nopw", 10, { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 } },
	{ "pshufd", 5, { 0x66, 0x0f, 0x70, 0xc0, 0x1b } },
	{ "shld imm8", 4, { 0x0f, 0xa4, 0xc0, 0x03 } },
	{ "bt imm8", 5, { 0x48, 0x0f, 0xba, 0xe0, 0x05 } },
	{ "pshufb (0F38)", 5, { 0x66, 0x0f, 0x38, 0x00, 0xc1 } },
	{ "palignr (0F3A)", 6, { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 } },
	{ "mov cr0 ignores mod", 3, { 0x0f, 0x20, 0x00 } },
	{ "extrq (66 0F 78 /0 ib ib)", 6, { 0x66, 0x0f, 0x78, 0xc0, 0x04, 0x08 } },
	{ "insertq (F2 0F 78 ib ib)", 6, { 0xf2, 0x0f, 0x78, 0xc1, 0x04, 0x08 } },
	{ "vmread (0F 78)", 3, { 0x0f, 0x78, 0xc1 } },
	{ "vzeroupper", 3, { 0xc5, 0xf8, 0x77 } },
	{ "vmovdqu ymm (VEX2)", 4, { 0xc5, 0xfe, 0x6f, 0x06 } },
	{ "vmovdqu ymm disp8 (VEX2)", 5, { 0xc5, 0xfe, 0x6f, 0x46, 0x20 } },
	{ "vpcmpeqb (VEX3 0F)", 5, { 0xc4, 0xc1, 0x7d, 0x74, 0x00 } },
	{ "vpshufb (VEX3 0F38)", 5, { 0xc4, 0xe2, 0x7d, 0x00, 0xc1 } },
	{ "vperm2i128 (VEX3 0F3A)", 6, { 0xc4, 0xe3, 0x7d, 0x46, 0xc1, 0x01 } },
	{ "vpshufd (VEX imm)", 5, { 0xc5, 0xfd, 0x70, 0xc1, 0x1b } },
	{ "vmovdqu64 zmm (EVEX)", 6, { 0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x06 } },
	{ "vmovdqu64 zmm disp8*N (EVEX)", 7, { 0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x46, 0x01 } },
	{ "vpternlogd (EVEX 0F3A)", 7, { 0x62, 0xf3, 0x7d, 0x48, 0x25, 0xc1, 0x0f } },
	{ "vaddph (EVEX map5)", 6, { 0x62, 0xf5, 0x7c, 0x48, 0x58, 0xc1 } },
};

static void test_insn_len_vectors(struct test_ctx *t)
{
	char what[96];

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];

		ASSERT_EQ(t, x86__insn_len(v->bytes, sizeof(v->bytes)), v->len, v->what);
		/* every shorter buffer is a truncated instruction */
		for (size_t n = 0; n < v->len; n++) {
			snprintf(what, sizeof(what), "%s truncated to %zu", v->what, n);
			ASSERT_EQ(t, x86__insn_len(v->bytes, n), -EINVAL, what);
		}
	}
}

static void test_insn_len_invalid(struct test_ctx *t)
{
	static const uint8_t bad[][4] = {
		{ 0x06 },			/* push es: gone in 64-bit mode */
		{ 0x82, 0xc0, 0x01 },		/* 82 alias of 80 */
		{ 0xd4, 0x0a },			/* aam */
		{ 0x0f, 0x04 },			/* undefined */
		{ 0xc4, 0xe4, 0x7d, 0x00 },	/* VEX map 4 */
		{ 0x66, 0xe8, 0x00, 0x00 },	/* call rel16 vs rel32: vendor dependent */
		{ 0xf3, 0xc5, 0xf8, 0x77 },	/* F3 before VEX */
	};
	uint8_t prefixes[16];
	char what[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "bad[%zu]", i);
		ASSERT_EQ(t, x86__insn_len(bad[i], sizeof(bad[i])), -EINVAL, what);
	}
	/* more than 15 bytes of prefixes */
	memset(prefixes, 0x66, sizeof(prefixes));
	ASSERT_EQ(t, x86__insn_len(prefixes, sizeof(prefixes)), -EINVAL, "16 prefixes");
	ASSERT_EQ(t, x86__insn_len(prefixes, 0), -EINVAL, "empty");
}

static void test_prologue_synthetic(struct test_ctx *t)
{
	/* go1.21+ */
	static const uint8_t p121[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x55, 0x48, 0x89,
					0xe5, 0x48, 0x83, 0xec, 0x10, 0xc3 };
	/* go1.19: sub; mov %rbp,0x28(%rsp); lea 0x28(%rsp),%rbp */
	static const uint8_t p119[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x48, 0x83, 0xec,
					0x30, 0x48, 0x89, 0x6c, 0x24, 0x28, 0x48, 0x8d, 0x6c,
					0x24, 0x28, 0xc3 };
	/* frameless leaf: mov (%rax),%rax; ret; then a stray frame setup that must not count */
	static const uint8_t leaf[] = { 0x48, 0x8b, 0x00, 0xc3, 0x55, 0x48, 0x89, 0xe5 };
	/* mov %rsp,%rbp without the push is not a frame setup */
	static const uint8_t nopush[] = { 0x48, 0x89, 0xe5, 0xc3 };
	size_t off = 0;

	if (ASSERT_OK(t, x86__post_prologue(p121, sizeof(p121), &off), "go1.21 prologue"))
		ASSERT_EQ(t, off, 10, "go1.21 offset");
	if (ASSERT_OK(t, x86__post_prologue(p119, sizeof(p119), &off), "go1.19 prologue"))
		ASSERT_EQ(t, off, 20, "go1.19 offset");
	ASSERT_EQ(t, x86__post_prologue(leaf, sizeof(leaf), &off), -ENOENT, "frameless");
	ASSERT_EQ(t, x86__post_prologue(nopush, sizeof(nopush), &off), -ENOENT, "no push");
	ASSERT_EQ(t, x86__post_prologue(p121, 3, &off), -ENOENT, "truncated");
}

static void test_rets_synthetic(struct test_ctx *t)
{
	static const uint8_t code[] = { 0x75, 0x01, 0xc3, 0xc2, 0x08, 0x00, 0xb8, 0xc3, 0xc3,
					0xc3, 0xc3, 0xf3, 0xc3 };
	size_t offs[8];

	/* b8 c3 c3 c3 c3 is one MOV: its imm32 bytes are not RETs */
	if (ASSERT_EQ(t, x86__ret_sites(code, sizeof(code), offs, 8), 3, "count")) {
		ASSERT_EQ(t, offs[0], 2, "ret");
		ASSERT_EQ(t, offs[1], 3, "ret imm16");
		ASSERT_EQ(t, offs[2], 11, "rep ret starts at its prefix");
	}
	ASSERT_EQ(t, x86__ret_sites(code, sizeof(code), offs, 2), -E2BIG, "too many");
	ASSERT_EQ(t, x86__ret_sites(code, sizeof(code) - 1, offs, 8), -EINVAL, "truncated");
}

static void test_rate_synthetic(struct test_ctx *t)
{
	/* go1.19 shape: mcache0 load into RDX, MemProfileRate load into RAX, NOPW, CMPQ AX, $1 */
	static const uint8_t ok[] = { 0x48, 0x8b, 0x15, 0x00, 0x01, 0x00, 0x00, /* 0x107 */
				      0x48, 0x8b, 0x05, 0x00, 0x02, 0x00, 0x00, /* 0x20e */
				      0x66, 0x90, 0x48, 0x83, 0xf8, 0x01 };
	/* the compared register was overwritten after the load */
	static const uint8_t clobbered[] = { 0x48, 0x8b, 0x05, 0x00, 0x02, 0x00, 0x00,
					     0x48, 0x89, 0xd0, 0x48, 0x83, 0xf8, 0x01 };
	/* a call between load and compare (no callee-saved registers in Go) */
	static const uint8_t called[] = { 0x48, 0x8b, 0x05, 0x00, 0x02, 0x00, 0x00, 0xe8, 0,
					  0,    0,    0,    0x48, 0x83, 0xf8, 0x01 };
	/* CMPQ $1, global(RIP) directly */
	static const uint8_t direct[] = { 0x48, 0x83, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x01 };
	/* go1.24+: load, TESTQ, JNE to the compare; the fall-through path overwrites the register
	 * (MOVQ $MaxInt64, SI; JMP) before the compare in linear order */
	static const uint8_t branchy[] = { 0x48, 0x8b, 0x35, 0x00, 0x02, 0x00, 0x00, /* 0x207 */
					   0x48, 0x85, 0xf6, 0x75, 0x0c, /* jne +12 */
					   0x48, 0xbe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0x7f, 0xeb, 0x06, /* jmp past the cmp */
					   0x48, 0x83, 0xfe, 0x01, 0x75, 0x00 };
	/* the same with the JNE removed: the compare is only reached with SI clobbered */
	static const uint8_t clobbered2[] = { 0x48, 0x8b, 0x35, 0x00, 0x02, 0x00, 0x00,
					      0x48, 0x85, 0xf6, 0x90, 0x90,
					      0x48, 0xbe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0x7f, 0x90, 0x90,
					      0x48, 0x83, 0xfe, 0x01, 0x75, 0x00 };
	/* R9: REX.R on the load, REX.B on the compare */
	static const uint8_t r9[] = { 0x4c, 0x8b, 0x0d, 0x00, 0x02, 0x00, 0x00,
				      0x49, 0x83, 0xf9, 0x01 };
	uint64_t target = 0;

	if (ASSERT_OK(t, x86__find_rate_global(ok, sizeof(ok), 0x1000, &target), "ok"))
		ASSERT_EQ(t, target, 0x1000 + 14 + 0x200, "ok target");
	ASSERT_EQ(t, x86__find_rate_global(clobbered, sizeof(clobbered), 0x1000, &target), -ENOENT,
		  "clobbered");
	ASSERT_EQ(t, x86__find_rate_global(called, sizeof(called), 0x1000, &target), -ENOENT,
		  "call");
	if (ASSERT_OK(t, x86__find_rate_global(direct, sizeof(direct), 0x1000, &target), "direct"))
		ASSERT_EQ(t, target, 0x1000 + 8 + 0x10, "direct target");
	if (ASSERT_OK(t, x86__find_rate_global(branchy, sizeof(branchy), 0x1000, &target),
		      "branchy"))
		ASSERT_EQ(t, target, 0x1000 + 7 + 0x200, "branchy target");
	ASSERT_EQ(t, x86__find_rate_global(clobbered2, sizeof(clobbered2), 0x1000, &target),
		  -ENOENT, "clobbered on the only path");
	if (ASSERT_OK(t, x86__find_rate_global(r9, sizeof(r9), 0x1000, &target), "r9"))
		ASSERT_EQ(t, target, 0x1000 + 7 + 0x200, "r9 target");
}


/* gcAssistAlloc1's tail in go1.22 (user/parse/x86.h), the limiter call left out. */
#define ASSIST_ADD 0x48, 0x01, 0x90, 0x38, 0x12, 0x00, 0x00	/* ADDQ DX, 0x1238(AX) */
#define ASSIST_LOADCL 0x48, 0x8b, 0x4c, 0x24, 0x40		/* MOVQ 0x40(SP), CX */
#define ASSIST_TEST 0x84, 0xc9					/* TESTL CL, CL */
#define ASSIST_JNE 0x75, 0x07					/* JNE over the next MOV */
#define ASSIST_RELOAD 0x48, 0x8b, 0x44, 0x24, 0x48		/* MOVQ 0x48(SP), AX */
#define ASSIST_TAIL 0x48, 0x8b, 0x88, 0x38, 0x12, 0x00, 0x00,	/* MOVQ 0x1238(AX), CX */ \
		    0x48, 0x81, 0xf9, 0x88, 0x13, 0x00, 0x00,	/* CMPQ CX, $5000 */ \
		    0x7e, 0x00						/* JLE */

static void test_assist_synthetic(struct test_ctx *t)
{
	static const uint8_t ok[] = { ASSIST_ADD, ASSIST_LOADCL, ASSIST_TEST, ASSIST_JNE,
				      ASSIST_RELOAD, ASSIST_TAIL };
	/* go1.19: duration in BX, a NOPL between the load and the test, rel32 branches */
	static const uint8_t bx[] = { 0x48, 0x01, 0x98, 0x18, 0x12, 0x00, 0x00, ASSIST_LOADCL,
				      0x0f, 0x1f, 0x00, ASSIST_TEST, 0x0f, 0x85, 0, 0, 0, 0,
				      0x48, 0x8b, 0x88, 0x18, 0x12, 0x00, 0x00,
				      0x48, 0x81, 0xf9, 0x88, 0x13, 0x00, 0x00,
				      0x0f, 0x8e, 0, 0, 0, 0 };
	/* the load in between writes the duration's register */
	static const uint8_t clobber[] = { ASSIST_ADD, 0x48, 0x8b, 0x54, 0x24, 0x40, ASSIST_TEST,
					   ASSIST_JNE, ASSIST_RELOAD, ASSIST_TAIL };
	/* ... or its high byte (DH: byte register 6 without REX) */
	static const uint8_t clobber_dh[] = { ASSIST_ADD, 0x8a, 0x74, 0x24, 0x40, ASSIST_TEST,
					      ASSIST_JNE, ASSIST_RELOAD, ASSIST_TAIL };
	/* ... or is not on the whitelist at all (ADDQ $1, SI) */
	static const uint8_t unknown[] = { ASSIST_ADD, 0x48, 0x83, 0xc6, 0x01, ASSIST_TEST,
					   ASSIST_JNE, ASSIST_RELOAD, ASSIST_TAIL };
	static const uint8_t no_add[] = { ASSIST_LOADCL, ASSIST_TEST, ASSIST_JNE, ASSIST_RELOAD,
					  ASSIST_TAIL };
	static const uint8_t two_adds[] = { ASSIST_ADD, ASSIST_ADD, ASSIST_LOADCL, ASSIST_TEST,
					    ASSIST_JNE, ASSIST_RELOAD, ASSIST_TAIL };
	static const uint8_t two_cmps[] = { ASSIST_ADD, ASSIST_LOADCL, ASSIST_TEST, ASSIST_JNE,
					    ASSIST_RELOAD, ASSIST_TAIL, ASSIST_TAIL };
	/* no branch before the compare */
	static const uint8_t no_branch[] = { ASSIST_ADD, ASSIST_LOADCL, ASSIST_TEST, ASSIST_RELOAD,
					     ASSIST_TAIL };
	static const uint8_t truncated[] = { ASSIST_ADD, ASSIST_LOADCL, ASSIST_TEST, ASSIST_JNE,
					     ASSIST_RELOAD, ASSIST_TAIL, 0x48 };
	struct x86_assist_site s;

	if (ASSERT_OK(t, x86__find_assist_site(ok, sizeof(ok), 5000, &s), "go1.22 shape")) {
		ASSERT_EQ(t, s.branch, 14, "branch");
		ASSERT_EQ(t, s.add, 0, "add");
		ASSERT_EQ(t, s.cmp, 28, "cmp");
		ASSERT_EQ(t, s.dur_reg, 2, "duration in RDX");
		ASSERT_EQ(t, s.p_reg, 0, "P in RAX");
		ASSERT_EQ(t, s.disp, 0x1238, "p.gcAssistTime");
	}
	ASSERT_EQ(t, x86__find_assist_site(ok, sizeof(ok), 5001, &s), -ENOENT, "other slack");
	if (ASSERT_OK(t, x86__find_assist_site(bx, sizeof(bx), 5000, &s), "go1.19 shape")) {
		ASSERT_EQ(t, s.branch, 17, "branch after the NOPL");
		ASSERT_EQ(t, s.dur_reg, 3, "duration in RBX");
		ASSERT_EQ(t, s.disp, 0x1218, "p.gcAssistTime");
	}
	ASSERT_EQ(t, x86__find_assist_site(clobber, sizeof(clobber), 5000, &s), -ENOENT, "clobber");
	ASSERT_TRUE(t, s.why && strstr(s.why, "overwrite"), "clobber: why");
	ASSERT_EQ(t, x86__find_assist_site(clobber_dh, sizeof(clobber_dh), 5000, &s), -ENOENT,
		  "DH");
	ASSERT_EQ(t, x86__find_assist_site(unknown, sizeof(unknown), 5000, &s), -ENOENT,
		  "not whitelisted");
	ASSERT_EQ(t, x86__find_assist_site(no_add, sizeof(no_add), 5000, &s), -ENOENT, "no add");
	ASSERT_EQ(t, x86__find_assist_site(two_adds, sizeof(two_adds), 5000, &s), -ENOENT,
		  "two adds");
	ASSERT_EQ(t, x86__find_assist_site(two_cmps, sizeof(two_cmps), 5000, &s), -ENOENT,
		  "two compares");
	ASSERT_TRUE(t, s.why && strstr(s.why, "more than once"), "two compares: why");
	ASSERT_EQ(t, x86__find_assist_site(no_branch, sizeof(no_branch), 5000, &s), -ENOENT,
		  "no branch");
	ASSERT_EQ(t, x86__find_assist_site(truncated, sizeof(truncated), 5000, &s), -EINVAL,
		  "undecodable");
}

/* ---- objdump ground truth ---- */

struct dinsn {
	uint64_t addr;
	const char *text;	/* mnemonic and operands, NUL-terminated inside dis.buf */
};

struct dfunc {
	const char *name;
	uint64_t start, end;
	size_t first, count;
	bool bad;
};

static struct dis {
	const char *version;
	char dir[512];
	struct goelf *g;
	struct goelf_section text;
	char *buf;
	struct dinsn *insns;
	size_t ninsns, cap_insns;
	struct dfunc *funcs;
	size_t nfuncs, cap_funcs;
	const char *skip;	/* no objdump ground truth */
	const char *elf_skip;	/* no fixture at all */
} D;

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 4096;
	p = realloc(p, *cap * elem);
	if (!p) {
		perror("realloc");
		exit(2);
	}
	return p;
}

static char *slurp_cmd(const char *cmd)
{
	size_t len = 0, cap = 1 << 20, n;
	char *buf = malloc(cap);
	FILE *f = popen(cmd, "r");

	if (!buf || !f) {
		free(buf);
		if (f)
			pclose(f);
		return NULL;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			buf = grow(buf, &cap, cap, 1);
		}
	}
	buf[len] = 0;
	if (pclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* "0000000000401000 <sym>:" or "  401000:\tmnemonic operands" */
static void parse_line(char *line)
{
	char *end, *lt;
	uint64_t addr;

	addr = strtoull(line, &end, 16);
	if (end == line)
		return;
	if (*end == ' ' && end[1] == '<' && (lt = strrchr(end, '>')) && lt[1] == ':') {
		if (D.nfuncs)
			D.funcs[D.nfuncs - 1].count = D.ninsns - D.funcs[D.nfuncs - 1].first;
		D.funcs = grow(D.funcs, &D.cap_funcs, D.nfuncs, sizeof(*D.funcs));
		*lt = 0;
		D.funcs[D.nfuncs++] = (struct dfunc){ .name = end + 2, .start = addr,
						      .first = D.ninsns };
		return;
	}
	if (*end != ':' || end[1] != '\t' || !D.nfuncs)
		return;
	D.insns = grow(D.insns, &D.cap_insns, D.ninsns, sizeof(*D.insns));
	D.insns[D.ninsns++] = (struct dinsn){ .addr = addr, .text = end + 2 };
	if (strstr(end + 2, "(bad)"))
		D.funcs[D.nfuncs - 1].bad = true;
}

static void dis_free(void)
{
	goelf__close(D.g);
	free(D.buf);
	free(D.insns);
	free(D.funcs);
	memset(&D, 0, sizeof(D));
}

static void dis_load(const char *version)
{
	char cmd[1200], path[700];
	char *line, *nl;

	dis_free();
	D.version = version;
	snprintf(D.dir, sizeof(D.dir), "%s/%s", fixtures_dir(), version);
	snprintf(path, sizeof(path), "%s/goalloc-plain", D.dir);
	D.g = goelf__open(path);
	if (!D.g || goelf__section(D.g, ".text", &D.text)) {
		D.skip = D.elf_skip = "fixture goalloc-plain missing or unreadable (make fixtures)";
		return;
	}
	/* -z: do not collapse runs of zero bytes into "...", every boundary must be listed */
	snprintf(cmd, sizeof(cmd), "objdump -d -w -z --no-show-raw-insn -j .text '%s' 2>/dev/null",
		 path);
	D.buf = slurp_cmd(cmd);
	if (!D.buf) {
		D.skip = "objdump (binutils) not available";
		return;
	}
	for (line = D.buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		parse_line(line);
	}
	if (!D.nfuncs) {
		D.skip = "objdump printed no functions";
		return;
	}
	D.funcs[D.nfuncs - 1].count = D.ninsns - D.funcs[D.nfuncs - 1].first;
	for (size_t i = 0; i + 1 < D.nfuncs; i++)
		D.funcs[i].end = D.funcs[i + 1].start;
	D.funcs[D.nfuncs - 1].end = D.text.addr + D.text.size;
}

static const struct dfunc *dis_func(const char *name)
{
	for (size_t i = 0; i < D.nfuncs; i++)
		if (!strcmp(D.funcs[i].name, name))
			return &D.funcs[i];
	return NULL;
}

static const uint8_t *func_code(const struct dfunc *f)
{
	return D.text.data + (f->start - D.text.addr);
}

/* Compare two instruction texts ignoring objdump's column padding. */
static bool text_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++, b++;
	}
}

static bool starts_with_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(text, word, n) && (text[n] == ' ' || text[n] == 0);
}

static bool text_is_ret(const char *text)
{
	/* "ret", "ret $0x8", "repz ret", "bnd ret"; not "lret"/"iret" (far returns) */
	for (int i = 0; i < 2; i++) {
		if (starts_with_word(text, "ret") || starts_with_word(text, "retq") ||
		    starts_with_word(text, "retw"))
			return true;
		text = strchr(text, ' ');
		if (!text)
			return false;
		while (*text == ' ')
			text++;
	}
	return false;
}

static const char *const probed_funcs[] = {
	"runtime.profilealloc", "runtime.mProf_Malloc",	     "runtime.mallocgc",
	"runtime.newobject",	"runtime.gcMarkTermination", "runtime.gcStart",
};

static void test_boundaries(struct test_ctx *t)
{
	size_t nbad = 0, nok = 0, ninsn = 0;

	if (D.skip)
		return (void)SKIP(t, D.skip);
	for (size_t i = 0; i < D.nfuncs; i++) {
		const struct dfunc *f = &D.funcs[i];
		const uint8_t *code = func_code(f);
		uint64_t size = f->end - f->start, off = 0;
		size_t k = 0;
		int len;

		if (f->bad) {
			nbad++;
			continue;
		}
		while (off < size) {
			len = x86__insn_len(code + off, size - off);
			if (len < 0 || k >= f->count)
				break;
			if (D.insns[f->first + k].addr != f->start + off)
				break;
			off += len;
			k++;
		}
		if (off != size || k != f->count) {
			const struct dinsn *in = k < f->count ? &D.insns[f->first + k] : NULL;

			FAILF(t, "%s: %s+0x%" PRIx64 ": objdump has \"%s\" at 0x%" PRIx64
				 ", decoder says len %d",
			      D.version, f->name, off, in ? in->text : "-", in ? in->addr : 0,
			      off < size ? x86__insn_len(code + off, size - off) : 0);
			continue;
		}
		nok++;
		ninsn += k;
	}
	printf("  %s: %zu functions, %zu instructions agree with objdump; %zu skipped for (bad)\n",
	       D.version, nok, ninsn, nbad);
	/* a handful at most: objdump's (bad) only shows up in odd assembly data */
	ASSERT_TRUE(t, nbad <= 5, "few functions with (bad)");
}

/* Expected post-prologue offset from objdump's text alone, same rule as the decoder. */
static int expected_prologue(const struct dfunc *f, uint64_t *off)
{
	for (size_t k = 0; k < f->count && k < 12; k++) {
		const struct dinsn *in = &D.insns[f->first + k];
		const char *txt = in->text, *c;
		uint64_t next = k + 1 < f->count ? D.insns[f->first + k + 1].addr : f->end;

		if ((k > 0 && text_eq(txt, "mov %rsp,%rbp") &&
		     text_eq(D.insns[f->first + k - 1].text, "push %rbp")) ||
		    (starts_with_word(txt, "lea") && (c = strstr(txt, "(%rsp),%rbp")) && !c[11])) {
			*off = next - f->start;
			return 0;
		}
		if (starts_with_word(txt, "call") || starts_with_word(txt, "jmp") ||
		    text_is_ret(txt) || starts_with_word(txt, "int3") ||
		    starts_with_word(txt, "hlt") || starts_with_word(txt, "lret"))
			return -ENOENT;
	}
	return -ENOENT;
}

static void test_post_prologue(struct test_ctx *t)
{
	size_t nframe = 0, nnone = 0;
	uint64_t addr, size;

	if (D.skip)
		return (void)SKIP(t, D.skip);
	for (size_t i = 0; i < sizeof(probed_funcs) / sizeof(probed_funcs[0]); i++) {
		const char *name = probed_funcs[i];
		const struct dfunc *f = dis_func(name);
		const struct dinsn *prev = NULL;
		uint8_t code[65536];
		size_t off = 0;

		if (!f || goelf__symbol(D.g, name, &addr, &size) || size > sizeof(code) ||
		    goelf__read_vaddr(D.g, addr, code, size)) {
			FAILF(t, "%s: %s not found", D.version, name);
			continue;
		}
		if (!ASSERT_OK(t, x86__post_prologue(code, size, &off), name))
			continue;
		for (size_t k = 0; k < f->count; k++) {
			if (D.insns[f->first + k].addr == addr + off)
				break;
			prev = &D.insns[f->first + k];
		}
		if (!prev || prev == &D.insns[f->first + f->count - 1]) {
			FAILF(t, "%s: %s+0x%zx is not an insn boundary", D.version, name, off);
			continue;
		}
		if (!text_eq(prev->text, "mov %rsp,%rbp") &&
		    !(starts_with_word(prev->text, "lea") && strstr(prev->text, "(%rsp),%rbp")))
			FAILF(t, "%s: %s+0x%zx follows \"%s\"", D.version, name, off, prev->text);
	}
	/* every function: decoder and objdump text must agree on where (and whether) a frame is */
	for (size_t i = 0; i < D.nfuncs; i++) {
		const struct dfunc *f = &D.funcs[i];
		uint64_t want = 0;
		size_t got = 0;
		int err = x86__post_prologue(func_code(f), f->end - f->start, &got);
		int werr = f->bad ? err : expected_prologue(f, &want);

		if (f->bad)
			continue;
		if (err != werr || (!err && got != want))
			FAILF(t, "%s: %s: decoder %d/+0x%zx, objdump %d/+0x%" PRIx64, D.version,
			      f->name, err, got, werr, want);
		err ? nnone++ : nframe++;
	}
	printf("  %s: post-prologue found in %zu functions, none (frameless/asm) in %zu\n",
	       D.version, nframe, nnone);
}

/* The stack-check branch, where heapscope's entry probes sit: on an objdump boundary, a JBE
 * ("jbe"), right after the compare with g.stackguard0 or 1, at 0x10(%r14) or 0x18(%r14). */
static void test_stack_check_branch(struct test_ctx *t)
{
	static const char *const funcs[] = {
		"runtime.profilealloc",		 "runtime.mallocgc",
		"runtime.gcMarkTermination",	 "runtime.startTheWorldWithSema",
		"runtime.stopTheWorldWithSema", "runtime.(*gcControllerState).startCycle",
	};
	uint64_t addr, size;

	if (D.skip)
		return (void)SKIP(t, D.skip);
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		const struct dfunc *f = dis_func(funcs[i]);
		const struct dinsn *prev = NULL, *at = NULL;
		uint8_t code[256];
		size_t off = 0;

		if (!f || goelf__symbol(D.g, funcs[i], &addr, &size) ||
		    goelf__read_vaddr(D.g, addr, code, size < sizeof(code) ? size : sizeof(code))) {
			FAILF(t, "%s: %s not found", D.version, funcs[i]);
			continue;
		}
		if (!ASSERT_OK(t, x86__stack_check_branch(code, size < sizeof(code) ? size : sizeof(code),
							  &off), funcs[i]))
			continue;
		for (size_t k = 0; k < f->count && !at; k++) {
			if (D.insns[f->first + k].addr == addr + off)
				at = &D.insns[f->first + k];
			else
				prev = &D.insns[f->first + k];
		}
		if (!at || !prev) {
			FAILF(t, "%s: %s+0x%zx is not an insn boundary", D.version, funcs[i], off);
			continue;
		}
		if (!starts_with_word(at->text, "jbe") ||
		    (!strstr(prev->text, "0x10(%r14)") && !strstr(prev->text, "0x18(%r14)")))
			FAILF(t, "%s: %s+0x%zx is \"%s\" after \"%s\"", D.version, funcs[i], off,
			      at->text, prev->text);
	}
	/* A frameless leaf has no stack check: no branch site. */
	ASSERT_EQ(t, x86__stack_check_branch((const uint8_t *)"\x48\x89\xc3\xc3", 4, &(size_t){ 0 }),
		  -ENOENT, "no stack check");
}

/* gcMarkDone's nanotime() result lands in work.tMarkTerm: runtime.workType.tMarkTerm's offset
 * read from each fixture's DWARF with debug/dwarf (tEnd follows at +8 in every version). */
static void test_result_store(struct test_ctx *t)
{
	static const struct {
		const char *prefix;
		uint64_t off;
	} tmarkterm[] = {
		{ "go1.19.", 376 }, { "go1.20", 368 },	 { "go1.21.", 432 }, { "go1.22.", 432 },
		{ "go1.23.", 424 }, { "go1.24.", 456 }, { "go1.25.", 544 }, { "go1.26.", 680 },
		{ "go1.27.", 680 },
	};
	uint64_t fn, fsize, work, nanotime, got;
	uint8_t code[65536];
	size_t i, n = sizeof(tmarkterm) / sizeof(tmarkterm[0]);

	if (D.skip)
		return (void)SKIP(t, D.skip);
	for (i = 0; i < n && strncmp(D.version, tmarkterm[i].prefix, strlen(tmarkterm[i].prefix));
	     i++)
		;
	if (i == n)
		return (void)SKIP(t, "no work.tMarkTerm offset on record for this Go version");
	if (!ASSERT_OK(t, goelf__symbol(D.g, "runtime.gcMarkDone", &fn, &fsize), "gcMarkDone") ||
	    !ASSERT_OK(t, goelf__symbol(D.g, "runtime.work", &work, NULL), "runtime.work") ||
	    !ASSERT_OK(t, goelf__symbol(D.g, "runtime.nanotime1.abi0", &nanotime, NULL), "nanotime1") ||
	    !ASSERT_TRUE(t, fsize <= sizeof(code), "gcMarkDone size") ||
	    !ASSERT_OK(t, goelf__read_vaddr(D.g, fn, code, fsize), "read gcMarkDone"))
		return;
	if (ASSERT_OK(t, x86__find_result_store(code, fsize, fn, nanotime, &got), "result store"))
		ASSERT_EQ(t, got, work + tmarkterm[i].off, "work.tMarkTerm");
}

static void test_ret_sites(struct test_ctx *t)
{
	size_t offs[MAX_RETS], nrets = 0;

	if (D.skip)
		return (void)SKIP(t, D.skip);
	for (size_t i = 0; i < D.nfuncs; i++) {
		const struct dfunc *f = &D.funcs[i];
		int n = 0, want = 0;

		if (f->bad)
			continue;
		n = x86__ret_sites(func_code(f), f->end - f->start, offs, MAX_RETS);
		if (n < 0) {
			FAILF(t, "%s: %s: ret_sites %d", D.version, f->name, n);
			continue;
		}
		for (size_t k = 0; k < f->count; k++) {
			const struct dinsn *in = &D.insns[f->first + k];

			if (!text_is_ret(in->text))
				continue;
			if (want >= n || offs[want] != in->addr - f->start)
				break;
			want++;
		}
		if (want != n) {
			FAILF(t, "%s: %s: decoder found %d RETs, objdump agrees on the first %d",
			      D.version, f->name, n, want);
			continue;
		}
		nrets += n;
	}
	/* the probed functions must have RETs (an exit probe with none would never fire) */
	for (size_t i = 0; i < sizeof(probed_funcs) / sizeof(probed_funcs[0]); i++) {
		const struct dfunc *f = dis_func(probed_funcs[i]);

		if (f && x86__ret_sites(func_code(f), f->end - f->start, offs, MAX_RETS) < 1)
			FAILF(t, "%s: %s has no RET", D.version, probed_funcs[i]);
	}
	printf("  %s: %zu RETs agree with objdump\n", D.version, nrets);
}

/* Just enough of the Go 1.18+ pclntab (header, functab, _func.nameOff) to find a function in
 * a stripped binary without depending on user/parse/pclntab.c. */
static int pcln_find(struct goelf *g, const char *name, uint64_t *addr, uint64_t *size)
{
	struct goelf_section s, ts;
	const uint8_t *p, *ft;
	uint64_t nfunc, text, names, pcln;

	if (goelf__section(g, ".gopclntab", &s) || s.size < 72)
		return -ENOENT;
	p = s.data;
	if ((*(const uint32_t *)p & ~1u) != 0xfffffff0 || p[7] != 8)
		return -ENOTSUP;
	nfunc = *(const uint64_t *)(p + 8);
	text = *(const uint64_t *)(p + 24);
	/* go1.26+ leaves textStart 0 in the file; entries are then relative to runtime.text, the
	 * start of .text for these internally linked fixtures */
	if (!text) {
		if (goelf__section(g, ".text", &ts))
			return -ENOENT;
		text = ts.addr;
	}
	names = *(const uint64_t *)(p + 32);
	pcln = *(const uint64_t *)(p + 64);
	ft = p + pcln;
	for (uint64_t i = 0; i < nfunc; i++) {
		uint32_t funcoff = *(const uint32_t *)(ft + i * 8 + 4);
		int32_t nameoff = *(const int32_t *)(ft + funcoff + 4);

		if (strcmp((const char *)p + names + nameoff, name))
			continue;
		*addr = text + *(const uint32_t *)(ft + i * 8);
		*size = text + *(const uint32_t *)(ft + (i + 1) * 8) - *addr;
		return 0;
	}
	return -ENOENT;
}

static bool in_data_section(struct goelf *g, uint64_t addr, const char **which)
{
	static const char *const secs[] = { ".noptrdata", ".data", ".bss", ".noptrbss" };
	struct goelf_section s;

	for (size_t i = 0; i < 4; i++) {
		if (!goelf__section(g, secs[i], &s) && addr >= s.addr && addr < s.addr + s.size) {
			*which = secs[i];
			return true;
		}
	}
	return false;
}

/* runtime.MemProfileRate starts as 512 KiB; a target in initialised data must hold exactly that
 * (go1.19 initialises it at run time, so it sits in .noptrbss there). */
static bool check_rate_value(struct test_ctx *t, struct goelf *g, uint64_t addr, const char *what)
{
	const char *sec = NULL;
	uint64_t v = 0;

	if (!ASSERT_TRUE(t, in_data_section(g, addr, &sec), what))
		return false;
	if (strcmp(sec, ".noptrdata") && strcmp(sec, ".data"))
		return true;
	return ASSERT_OK(t, goelf__read_vaddr(g, addr, &v, sizeof(v)), what) &&
	       ASSERT_EQ(t, v, 512 * 1024, what);
}

static void test_rate_global(struct test_ctx *t)
{
	uint64_t addr, size, rate, rate_sz, found = 0;
	const char *sec = NULL;
	char path[700];
	uint8_t code[4096];
	struct goelf *g;

	if (D.elf_skip)
		return (void)SKIP(t, D.elf_skip);
	if (!ASSERT_OK(t, goelf__symbol(D.g, "runtime.profilealloc", &addr, &size), "symbol") ||
	    !ASSERT_OK(t, goelf__symbol(D.g, "runtime.MemProfileRate", &rate, &rate_sz), "rate") ||
	    !ASSERT_TRUE(t, size <= sizeof(code), "profilealloc size") ||
	    !ASSERT_OK(t, goelf__read_vaddr(D.g, addr, code, size), "read"))
		return;
	if (ASSERT_OK(t, x86__find_rate_global(code, size, addr, &found), "plain"))
		ASSERT_EQ(t, found, rate, "runtime.MemProfileRate address");
	check_rate_value(t, D.g, found, "plain: initial MemProfileRate");
	printf("  %s: plain: MemProfileRate at 0x%" PRIx64 "\n", D.version, found);

	snprintf(path, sizeof(path), "%s/goalloc-stripped", D.dir);
	g = goelf__open(path);
	if (!g) {
		/* the stripped case is the one that matters: say it did not run */
		SKIP(t, "no goalloc-stripped fixture: the stripped-binary lookup was not checked");
		return;
	}
	if (!ASSERT_TRUE(t, !goelf__has_symtab(g), "stripped has no .symtab") ||
	    !ASSERT_OK(t, pcln_find(g, "runtime.profilealloc", &addr, &size), "pclntab lookup") ||
	    !ASSERT_TRUE(t, size <= sizeof(code), "profilealloc size") ||
	    !ASSERT_OK(t, goelf__read_vaddr(g, addr, code, size), "read stripped"))
		goto cleanup;
	found = 0;
	if (ASSERT_OK(t, x86__find_rate_global(code, size, addr, &found), "stripped") &&
	    check_rate_value(t, g, found, "stripped: target holds the initial MemProfileRate") &&
	    in_data_section(g, found, &sec))
		printf("  %s: stripped: MemProfileRate at 0x%" PRIx64 " in %s\n", D.version, found,
		       sec);
cleanup:
	goelf__close(g);
}


static const char *const reg64[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				     "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

/* The mark-assist branch in gcAssistAlloc1 (user/parse/x86.h): objdump agrees that the ADD, the
 * branch and the compare are what the decoder says, the duration is in RBX up to go1.20 and RDX
 * after (research: notes/gc-assist.md), and the displacement is p.gcAssistTime's offset as
 * DWARF gives it (the goruntime table, itself checked by test_gc). */
static void test_assist_site(struct test_ctx *t)
{
	const struct dinsn *add = NULL, *br = NULL, *cmp = NULL;
	struct x86_assist_site s;
	struct go_version v;
	struct go_layout l;
	const struct dfunc *f;
	uint64_t addr, size;
	char want[64];

	if (D.skip)
		return (void)SKIP(t, D.skip);
	if (!ASSERT_OK(t, buildinfo__parse_version(D.version, &v), D.version) ||
	    !ASSERT_OK(t, goruntime__layout(&v, &l), "layout") ||
	    !ASSERT_OK(t, goelf__symbol(D.g, "runtime.gcAssistAlloc1", &addr, &size), "symbol") ||
	    !ASSERT_TRUE(t, (f = dis_func("runtime.gcAssistAlloc1")) != NULL, "objdump"))
		return;
	if (!ASSERT_OK(t, x86__find_assist_site(func_code(f), size, 5000, &s), s.why ? s.why : "?"))
		return;
	for (size_t k = 0; k < f->count; k++) {
		const struct dinsn *in = &D.insns[f->first + k];

		add = in->addr == addr + s.add ? in : add;
		br = in->addr == addr + s.branch ? in : br;
		cmp = in->addr == addr + s.cmp ? in : cmp;
	}
	if (!ASSERT_TRUE(t, add && br && cmp, "sites on objdump boundaries"))
		return;
	ASSERT_EQ(t, s.dur_reg, v.minor <= 20 ? 3 : 2, "duration register");
	ASSERT_EQ(t, s.p_reg, 0, "P register");
	ASSERT_EQ(t, s.disp, l.p_gc_assist_time, "p.gcAssistTime (DWARF)");
	snprintf(want, sizeof(want), "add %%%s,0x%x(%%rax)", reg64[s.dur_reg & 15], s.disp);
	if (!text_eq(add->text, want))
		FAILF(t, "%s: add is \"%s\", want \"%s\"", D.version, add->text, want);
	if (!starts_with_word(br->text, "jne"))
		FAILF(t, "%s: branch is \"%s\"", D.version, br->text);
	if (!text_eq(cmp->text, "cmp $0x1388,%rcx"))
		FAILF(t, "%s: compare is \"%s\"", D.version, cmp->text);
	printf("  %s: gcAssistAlloc1+0x%zx %s, duration in %s, p.gcAssistTime at 0x%x\n",
	       D.version, s.branch, br->text, reg64[s.dur_reg & 15], s.disp);
}

/* Every build mode moves the site (NOP padding differs in PIE and cgo builds): each variant,
 * stripped ones through their pclntab, must decode to the same pattern. */
static void test_assist_variants(struct test_ctx *t)
{
	static const char *const variants[] = { "plain", "stripped", "pie", "cgo", "cgo-syms",
						"pprof" };
	struct x86_assist_site s, first = { 0 };
	char path[700], offs[256] = "";
	int seen = 0;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct pclntab *p = NULL;
		struct go_func f;
		uint8_t code[4096];
		struct goelf *g;

		snprintf(path, sizeof(path), "%s/goalloc-%s", D.dir, variants[i]);
		g = goelf__open(path);
		if (!g)
			continue;
		p = pclntab__open(g);
		if (ASSERT_OK_PTR(t, p, path) &&
		    ASSERT_OK(t, pclntab__find_name(p, "runtime.gcAssistAlloc1", &f), path) &&
		    ASSERT_TRUE(t, f.end - f.entry <= sizeof(code), "size") &&
		    ASSERT_OK(t, goelf__read_vaddr(g, f.entry, code, f.end - f.entry), path)) {
			if (!x86__find_assist_site(code, f.end - f.entry, 5000, &s)) {
				if (!seen)
					first = s;
				if (s.dur_reg != first.dur_reg || s.disp != first.disp ||
				    (code[s.branch] != 0x75 &&
				     !(code[s.branch] == 0x0f && code[s.branch + 1] == 0x85)))
					FAILF(t, "%s: %s differs", D.version, variants[i]);
				snprintf(offs + strlen(offs), sizeof(offs) - strlen(offs),
					 " %s+0x%zx", variants[i], s.branch);
				seen++;
			} else {
				FAILF(t, "%s: %s: %s", D.version, variants[i], s.why);
			}
		}
		pclntab__close(p);
		goelf__close(g);
	}
	if (!seen)
		return (void)SKIP(t, "no fixture variants built");
	printf("  %s:%s\n", D.version, offs);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Version directories listed as "ok" in versions.txt, else none (tests SKIP). */
static int list_versions(char **out, int max)
{
	char path[600], line[256], ver[128], status[64];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/versions.txt", fixtures_dir());
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %63s", ver, status) == 2 && !strcmp(status, "ok"))
			out[n++] = strdup(ver);
	fclose(f);
	qsort(out, n, sizeof(*out), cmp_str);
	return n;
}

static void run_versioned(const char *base, test_fn fn)
{
	char name[160];

	snprintf(name, sizeof(name), "%s/%s", base, D.version);
	harness_run(name, fn, getenv("TEST_FILTER"));
}

static void test_no_fixtures(struct test_ctx *t)
{
	SKIP(t, "no fixture versions (run make fixtures)");
}

int main(void)
{
	char *versions[MAX_VERSIONS];
	int nver = list_versions(versions, MAX_VERSIONS);

	RUN(test_insn_len_vectors);
	RUN(test_insn_len_invalid);
	RUN(test_prologue_synthetic);
	RUN(test_rets_synthetic);
	RUN(test_rate_synthetic);
	RUN(test_assist_synthetic);
	if (!nver)
		RUN(test_no_fixtures);
	for (int i = 0; i < nver; i++) {
		dis_load(versions[i]);
		run_versioned("test_x86_boundaries", test_boundaries);
		run_versioned("test_x86_post_prologue", test_post_prologue);
		run_versioned("test_x86_stack_check_branch", test_stack_check_branch);
		run_versioned("test_x86_result_store", test_result_store);
		run_versioned("test_x86_ret_sites", test_ret_sites);
		run_versioned("test_x86_rate_global", test_rate_global);
		run_versioned("test_x86_assist_site", test_assist_site);
		run_versioned("test_x86_assist_variants", test_assist_variants);
		free(versions[i]);
	}
	dis_free();
	return harness_done();
}
