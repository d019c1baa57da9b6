// SPDX-License-Identifier: GPL-2.0
/* x86-64 length decoding for uprobe placement. A uprobe at an offset that is not an instruction
 * boundary corrupts the target, so anything this decoder is unsure about is -EINVAL, never a
 * guess. Opcode tables follow the Intel SDM vol. 2 appendix A (64-bit mode only). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "x86.h"

#define X86_MAX_INSN_LEN 15

/* Table entry: immediate kind in the low bits, then flags. */
enum {
	IMM_NONE,
	IMM_8,
	IMM_16,
	IMM_32,	   /* rel32 branches: size depends on the CPU vendor under 66, see imm_size() */
	IMM_Z,	   /* 16 with 66, else 32 (REX.W keeps 32: sign-extended) */
	IMM_V,	   /* MOV r, imm: 16/32/64 */
	IMM_MOFFS, /* A0-A3: address-sized absolute offset */
	IMM_ENTER, /* C8: iw, ib */
	IMM_GRP3,  /* F6/F7: only TEST (/0, /1) carries an immediate */
	IMM_MASK = 0x0f,
	M = 0x10,	/* ModRM follows */
	BAD = 0x20,	/* undefined (or removed) in 64-bit mode */
	PFX = 0x40,	/* legacy prefix */
	ESC = 0x80,	/* escape to another map / VEX / EVEX */
};

#define I8 IMM_8
#define IZ IMM_Z

static const uint8_t map1[256] = {
	/* ALU ops: x0-x3 r/m forms, x4 AL,ib, x5 eAX,iz; x6/x7 (push/pop seg, BCD) are gone */
	[0x00 ... 0x03] = M, [0x04] = I8, [0x05] = IZ, [0x06 ... 0x07] = BAD,
	[0x08 ... 0x0b] = M, [0x0c] = I8, [0x0d] = IZ, [0x0e] = BAD, [0x0f] = ESC,
	[0x10 ... 0x13] = M, [0x14] = I8, [0x15] = IZ, [0x16 ... 0x17] = BAD,
	[0x18 ... 0x1b] = M, [0x1c] = I8, [0x1d] = IZ, [0x1e ... 0x1f] = BAD,
	[0x20 ... 0x23] = M, [0x24] = I8, [0x25] = IZ, [0x26] = PFX, [0x27] = BAD,
	[0x28 ... 0x2b] = M, [0x2c] = I8, [0x2d] = IZ, [0x2e] = PFX, [0x2f] = BAD,
	[0x30 ... 0x33] = M, [0x34] = I8, [0x35] = IZ, [0x36] = PFX, [0x37] = BAD,
	[0x38 ... 0x3b] = M, [0x3c] = I8, [0x3d] = IZ, [0x3e] = PFX, [0x3f] = BAD,
	/* 0x40-0x4f REX is handled before the table; 0x50-0x5f push/pop have no operands */
	[0x60 ... 0x61] = BAD, [0x62] = ESC, [0x63] = M, [0x64 ... 0x67] = PFX,
	[0x68] = IZ, [0x69] = M | IZ, [0x6a] = I8, [0x6b] = M | I8,
	[0x70 ... 0x7f] = I8,
	[0x80] = M | I8, [0x81] = M | IZ, [0x82] = BAD, [0x83] = M | I8, [0x84 ... 0x8f] = M,
	[0x9a] = BAD,
	[0xa0 ... 0xa3] = IMM_MOFFS, [0xa8] = I8, [0xa9] = IZ,
	[0xb0 ... 0xb7] = I8, [0xb8 ... 0xbf] = IMM_V,
	[0xc0 ... 0xc1] = M | I8, [0xc2] = IMM_16, [0xc4 ... 0xc5] = ESC, [0xc6] = M | I8,
	[0xc7] = M | IZ, [0xc8] = IMM_ENTER, [0xca] = IMM_16, [0xcd] = I8, [0xce] = BAD,
	[0xd0 ... 0xd3] = M, [0xd4 ... 0xd6] = BAD, [0xd8 ... 0xdf] = M,
	[0xe0 ... 0xe7] = I8, [0xe8 ... 0xe9] = IMM_32, [0xea] = BAD, [0xeb] = I8,
	[0xf0] = PFX, [0xf2 ... 0xf3] = PFX, [0xf6 ... 0xf7] = M | IMM_GRP3, [0xfe ... 0xff] = M,
};

static const uint8_t map0f[256] = {
	[0x00 ... 0x03] = M, [0x04] = BAD, [0x0a] = BAD, [0x0c] = BAD, [0x0d] = M,
	[0x0f] = M | I8, /* 3DNow!: the opcode is an imm8 suffix */
	[0x10 ... 0x23] = M, [0x24 ... 0x27] = BAD, [0x28 ... 0x2f] = M,
	[0x36] = BAD, [0x38] = ESC, [0x39] = BAD, [0x3a] = ESC, [0x3b ... 0x3f] = BAD,
	[0x40 ... 0x6f] = M, [0x70 ... 0x73] = M | I8, [0x74 ... 0x76] = M,
	[0x78 ... 0x79] = M, [0x7a ... 0x7b] = BAD, [0x7c ... 0x7f] = M,
	[0x80 ... 0x8f] = IMM_32, [0x90 ... 0x9f] = M,
	[0xa3] = M, [0xa4] = M | I8, [0xa5] = M, [0xa6 ... 0xa7] = BAD, [0xab] = M,
	[0xac] = M | I8, [0xad ... 0xb9] = M, [0xba] = M | I8, [0xbb ... 0xc1] = M,
	[0xc2] = M | I8, [0xc3] = M, [0xc4 ... 0xc6] = M | I8, [0xc7] = M,
	[0xd0 ... 0xff] = M,
};

#undef I8
#undef IZ

enum { MAP_1 = 0, MAP_0F = 1, MAP_0F38 = 2, MAP_0F3A = 3, MAP_EVEX5 = 5, MAP_EVEX6 = 6 };

struct insn {
	int len;
	bool opsize;	/* 66 */
	bool addrsize;	/* 67 */
	uint8_t rep;	/* last F2/F3, 0 when absent */
	bool lock;	/* F0 */
	bool vex;	/* VEX or EVEX encoded */
	uint8_t rex;	/* 0 when absent */
	int map;
	uint8_t op;
	int modrm_off;	/* -1: no ModRM */
	uint8_t modrm;
	int disp_off, disp_size;
	int imm_off, imm_size;
};

#define REX_W(rex) (((rex) >> 3) & 1)
#define REX_R(rex) (((rex) >> 2) & 1)
#define REX_X(rex) (((rex) >> 1) & 1)
#define REX_B(rex) ((rex) & 1)
#define MODRM_MOD(m) ((m) >> 6)
#define MODRM_REG(m) (((m) >> 3) & 7)
#define MODRM_RM(m) ((m) & 7)

/* ModRM, SIB and displacement at code[pos]. 64-bit mode has no 16-bit addressing, so the 67
 * prefix does not change the layout. nomem: MOV CR/DR ignore mod, never a memory operand. */
static int decode_modrm(const uint8_t *code, size_t avail, int pos, bool nomem, struct insn *in)
{
	uint8_t m;

	if ((size_t)pos >= avail)
		return -EINVAL;
	m = code[pos];
	in->modrm_off = pos;
	in->modrm = m;
	pos++;
	if (nomem || MODRM_MOD(m) == 3)
		return pos;
	if (MODRM_RM(m) == 4) {
		if ((size_t)pos >= avail)
			return -EINVAL;
		/* SIB base 101 with mod 00: disp32, no base register */
		if (MODRM_MOD(m) == 0 && (code[pos] & 7) == 5)
			in->disp_size = 4;
		pos++;
	}
	if (MODRM_MOD(m) == 0 && MODRM_RM(m) == 5)
		in->disp_size = 4; /* RIP-relative */
	else if (MODRM_MOD(m) == 1)
		in->disp_size = 1;
	else if (MODRM_MOD(m) == 2)
		in->disp_size = 4;
	in->disp_off = pos;
	return pos + in->disp_size;
}

/* Immediate size for a legacy-encoded instruction, or -EINVAL. */
static int imm_size(int kind, const struct insn *in)
{
	switch (kind) {
	case IMM_NONE:
		return 0;
	case IMM_8:
		return 1;
	case IMM_16:
		return 2;
	case IMM_32:
		/* 66 on a near CALL/JMP/Jcc: Intel ignores it, AMD truncates to rel16. The length
		 * depends on the CPU we would run on, so refuse rather than guess. */
		return in->opsize && !REX_W(in->rex) ? -EINVAL : 4;
	case IMM_Z:
		return in->opsize && !REX_W(in->rex) ? 2 : 4;
	case IMM_V:
		return REX_W(in->rex) ? 8 : in->opsize ? 2 : 4;
	case IMM_MOFFS:
		return in->addrsize ? 4 : 8;
	case IMM_ENTER:
		return 3;
	case IMM_GRP3:
		if (MODRM_REG(in->modrm) > 1)
			return 0;
		return in->op == 0xf6 ? 1 : imm_size(IMM_Z, in);
	}
	return -EINVAL;
}

/* Opcode maps 0F38/0F3A never take an immediate/always take an imm8; VEX/EVEX map 1 only for
 * the shuffles, shifts-by-immediate and compares that also take one in legacy form. */
static int vex_layout(int map, uint8_t op, bool *modrm)
{
	*modrm = true;
	switch (map) {
	case MAP_0F:
		if (op == 0x77) { /* VZEROUPPER/VZEROALL */
			*modrm = false;
			return 0;
		}
		return (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
	case MAP_0F38:
	case MAP_EVEX5:
	case MAP_EVEX6:
		return 0;
	case MAP_0F3A:
		return 1;
	}
	return -EINVAL;
}

/* C5 (2-byte VEX), C4 (3-byte VEX) or 62 (EVEX) at code[pos]; in 64-bit mode these are always
 * VEX/EVEX since LES/LDS/BOUND do not exist. Returns the position of the opcode or -EINVAL. */
static int decode_vex_prefix(const uint8_t *code, size_t avail, int pos, struct insn *in)
{
	uint8_t esc = code[pos];
	int plen = esc == 0xc5 ? 2 : esc == 0xc4 ? 3 : 4;

	/* 66/F2/F3/F0/REX before VEX or EVEX is #UD */
	if (in->opsize || in->rep || in->lock || in->rex || (size_t)(pos + plen) >= avail)
		return -EINVAL;
	if (esc == 0xc5) {
		in->map = MAP_0F;
	} else if (esc == 0xc4) {
		in->map = code[pos + 1] & 0x1f;
		in->rex = 0x40 | (~code[pos + 1] >> 5 & 7) | (code[pos + 2] >> 7) << 3;
	} else {
		/* P1 bit 2 is fixed to 1 in EVEX */
		if (!(code[pos + 2] & 0x04))
			return -EINVAL;
		in->map = code[pos + 1] & 0x07;
		in->rex = 0x40 | (~code[pos + 1] >> 5 & 7) | (code[pos + 2] >> 7) << 3;
	}
	if (in->map != MAP_0F && in->map != MAP_0F38 && in->map != MAP_0F3A &&
	    !(esc == 0x62 && (in->map == MAP_EVEX5 || in->map == MAP_EVEX6)))
		return -EINVAL;
	in->vex = true;
	return pos + plen;
}

static int decode(const uint8_t *code, size_t avail, struct insn *in)
{
	int pos = 0, flags = 0, imm;
	bool modrm, nomem = false;
	uint8_t b;

	memset(in, 0, sizeof(*in));
	in->modrm_off = -1;
	if (avail > X86_MAX_INSN_LEN)
		avail = X86_MAX_INSN_LEN;
	for (;; pos++) {
		if ((size_t)pos >= avail)
			return -EINVAL;
		b = code[pos];
		if (b >= 0x40 && b <= 0x4f) {
			in->rex = b;
			continue;
		}
		if (!(map1[b] & PFX))
			break;
		/* a legacy prefix after REX makes the CPU ignore the REX */
		in->rex = 0;
		if (b == 0x66)
			in->opsize = true;
		else if (b == 0x67)
			in->addrsize = true;
		else if (b == 0xf2 || b == 0xf3)
			in->rep = b;
		else if (b == 0xf0)
			in->lock = true;
	}
	if (b == 0xc4 || b == 0xc5 || b == 0x62) {
		pos = decode_vex_prefix(code, avail, pos, in);
		if (pos < 0)
			return pos;
		in->op = code[pos++];
		imm = vex_layout(in->map, in->op, &modrm);
		if (imm < 0)
			return imm;
		flags = (modrm ? M : 0) | (imm ? IMM_8 : IMM_NONE);
	} else if (b == 0x0f) {
		if ((size_t)++pos >= avail)
			return -EINVAL;
		in->op = code[pos++];
		in->map = MAP_0F;
		if (in->op == 0x38 || in->op == 0x3a) {
			if ((size_t)pos >= avail)
				return -EINVAL;
			in->map = in->op == 0x38 ? MAP_0F38 : MAP_0F3A;
			in->op = code[pos++];
			flags = M | (in->map == MAP_0F3A ? IMM_8 : IMM_NONE);
		} else {
			flags = map0f[in->op];
			nomem = in->op >= 0x20 && in->op <= 0x23;
		}
	} else {
		in->op = code[pos++];
		flags = map1[in->op];
	}
	if (flags & (BAD | ESC))
		return -EINVAL;
	if (flags & M) {
		pos = decode_modrm(code, avail, pos, nomem, in);
		if (pos < 0)
			return pos;
	}
	imm = imm_size(flags & IMM_MASK, in);
	if (imm < 0)
		return imm;
	/* AMD EXTRQ/INSERTQ (66/F2 0F 78 /r ib ib) replace VMREAD, which has no immediate */
	if (!in->vex && in->map == MAP_0F && in->op == 0x78 && (in->opsize || in->rep == 0xf2))
		imm = 2;
	in->imm_off = pos;
	in->imm_size = imm;
	pos += imm;
	if ((size_t)pos > avail)
		return -EINVAL;
	in->len = pos;
	return pos;
}

int x86__insn_len(const uint8_t *code, size_t avail)
{
	struct insn in;

	return decode(code, avail, &in);
}

static bool is_legacy(const struct insn *in, int map, uint8_t op)
{
	return !in->vex && in->map == map && in->op == op;
}

/* Register operand numbers including REX extension bits. */
static int reg_of(const struct insn *in)
{
	return MODRM_REG(in->modrm) | REX_R(in->rex) << 3;
}

static int rm_of(const struct insn *in)
{
	return MODRM_RM(in->modrm) | REX_B(in->rex) << 3;
}

static bool is_rip_relative(const struct insn *in)
{
	return in->modrm_off >= 0 && MODRM_MOD(in->modrm) == 0 && MODRM_RM(in->modrm) == 5;
}

static int64_t read_le(const uint8_t *p, int size)
{
	switch (size) {
	case 1:
		return (int8_t)p[0];
	case 2:
		return (int16_t)(p[0] | p[1] << 8);
	case 4:
		return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				 (uint32_t)p[3] << 24);
	}
	return 0;
}

/* MOVQ SP, BP: 48 89 E5 (what Go emits) or its 48 8B EC twin. */
static bool is_mov_sp_bp(const struct insn *in)
{
	if (in->rex != 0x48 || in->modrm_off < 0 || MODRM_MOD(in->modrm) != 3)
		return false;
	if (is_legacy(in, MAP_1, 0x89))
		return MODRM_REG(in->modrm) == 4 && MODRM_RM(in->modrm) == 5;
	if (is_legacy(in, MAP_1, 0x8b))
		return MODRM_REG(in->modrm) == 5 && MODRM_RM(in->modrm) == 4;
	return false;
}

/* LEAQ off(SP), BP: 48 8D 6C 24 ib, 48 8D AC 24 id, or 48 8D 2C 24 for an 8-byte frame
 * ("LEAQ (SP), BP": go1.19 leaf-ish functions). SIB 0x24 = base SP, no index. */
static bool is_lea_sp_bp(const uint8_t *code, const struct insn *in)
{
	uint8_t m = in->modrm;

	if (in->rex != 0x48 || !is_legacy(in, MAP_1, 0x8d) || in->modrm_off < 0)
		return false;
	return MODRM_MOD(m) != 3 && MODRM_REG(m) == 5 && MODRM_RM(m) == 4 &&
	       code[in->modrm_off + 1] == 0x24;
}

/* Control transfer that does not fall through: stop looking for a prologue. */
static bool ends_straight_line(const struct insn *in)
{
	if (in->vex || in->map != MAP_1)
		return false;
	switch (in->op) {
	case 0xc2: case 0xc3: case 0xca: case 0xcb: case 0xcc: case 0xcf:
	case 0xe8: case 0xe9: case 0xeb: case 0xf4:
		return true;
	case 0xff: /* CALL/JMP indirect */
		return MODRM_REG(in->modrm) >= 2 && MODRM_REG(in->modrm) <= 5;
	}
	return false;
}

/* Longest Go prologue before the frame setup is the big-frame stack check (MOVQ SP, R12; SUBQ;
 * JCS; CMPQ; JLS) followed by SUBQ and MOVQ BP for go1.19/1.20: well under 12 instructions. */
#define MAX_PROLOGUE_INSNS 12

int x86__post_prologue(const uint8_t *code, size_t len, size_t *offset)
{
	bool after_push = false;
	struct insn in;
	size_t off = 0;
	int n, err;

	for (n = 0; n < MAX_PROLOGUE_INSNS && off < len; n++, off += in.len) {
		err = decode(code + off, len - off, &in);
		if (err < 0)
			return -ENOENT;
		if ((after_push && is_mov_sp_bp(&in)) || is_lea_sp_bp(code + off, &in)) {
			*offset = off + in.len;
			return 0;
		}
		if (ends_straight_line(&in))
			return -ENOENT;
		after_push = in.len == 1 && is_legacy(&in, MAP_1, 0x55);
	}
	return -ENOENT;
}

/* CMPQ reg, 0x10(R14) or 0x18(R14): R14 holds g in ABIInternal; g.stackguard0 sits at 16 and
 * g.stackguard1 (checked by runtime functions that may run on the system stack) at 24. */
static bool is_stack_guard_cmp(const uint8_t *code, const struct insn *in)
{
	return !in->vex && in->map == MAP_1 && in->op == 0x3b && REX_W(in->rex) &&
	       REX_B(in->rex) && MODRM_MOD(in->modrm) == 1 && MODRM_RM(in->modrm) == 6 &&
	       in->disp_size == 1 && (code[in->disp_off] == 0x10 || code[in->disp_off] == 0x18);
}

static bool is_jbe(const struct insn *in)
{
	return !in->vex && ((in->map == MAP_1 && in->op == 0x76) ||
			    (in->map == MAP_0F && in->op == 0x86));
}

int x86__stack_check_branch(const uint8_t *code, size_t len, size_t *offset)
{
	bool after_cmp = false;
	struct insn in;
	size_t off = 0;

	/* At most LEAQ, CMPQ, JBE: anything else first means no (recognisable) stack check. */
	for (int n = 0; n < 3 && off < len; n++, off += in.len) {
		if (decode(code + off, len - off, &in) < 0)
			return -ENOENT;
		if (after_cmp) {
			if (!is_jbe(&in))
				return -ENOENT;
			*offset = off;
			return 0;
		}
		after_cmp = is_stack_guard_cmp(code + off, &in);
		if (!after_cmp && !(in.map == MAP_1 && in.op == 0x8d))	/* LEAQ -n(SP), R12 */
			return -ENOENT;
	}
	return -ENOENT;
}

/* MOVQ AX, disp32(RIP): REX.W 89 /r with reg = AX and a RIP-relative operand; its target. */
static bool rip_store_of_ax(const uint8_t *code, const struct insn *in, uint64_t vaddr,
			    uint64_t *target)
{
	if (in->vex || in->map != MAP_1 || in->op != 0x89 || !REX_W(in->rex) || REX_R(in->rex) ||
	    MODRM_REG(in->modrm) != 0 || !is_rip_relative(in))
		return false;
	*target = vaddr + in->len + read_le(code + in->disp_off, 4);
	return true;
}

int x86__find_result_store(const uint8_t *code, size_t len, uint64_t code_vaddr, uint64_t callee,
			   uint64_t *target)
{
	int after_call = -1;	/* instructions since the call, -1 before it */
	struct insn in;

	for (size_t off = 0; off < len && after_call < 8; off += in.len) {
		if (decode(code + off, len - off, &in) < 0)
			return -ENOENT;
		if (after_call >= 0) {
			if (rip_store_of_ax(code + off, &in, code_vaddr + off, target))
				return 0;
			after_call++;
		} else if (!in.vex && in.map == MAP_1 && in.op == 0xe8 &&
			   code_vaddr + off + in.len + read_le(code + off + in.imm_off, 4) == callee) {
			after_call = 0;
		}
	}
	return -ENOENT;
}

int x86__ret_sites(const uint8_t *code, size_t len, size_t *offsets, int max)
{
	struct insn in;
	size_t off;
	int n = 0, err;

	for (off = 0; off < len; off += in.len) {
		err = decode(code + off, len - off, &in);
		if (err < 0)
			return err;
		if (!is_legacy(&in, MAP_1, 0xc3) && !is_legacy(&in, MAP_1, 0xc2))
			continue;
		/* a missing RET probe would leave an entry unmatched forever: never truncate */
		if (n >= max)
			return -E2BIG;
		offsets[n++] = off;
	}
	return n;
}

/* Register written by common integer instructions, or -1. Used only to forget a stale
 * "register holds global X" fact; missing a rare form errs towards -ENOENT, not a wrong hit,
 * because the caller also needs the CMPQ $1 right after. */
static int written_reg(const struct insn *in)
{
	if (in->vex || in->modrm_off < 0) {
		if (!in->vex && in->map == MAP_1 && in->op >= 0xb8 && in->op <= 0xbf)
			return (in->op & 7) | REX_B(in->rex) << 3;
		return -1;
	}
	if (in->map == MAP_1) {
		switch (in->op) {
		case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33:
		case 0x63: case 0x69: case 0x6b: case 0x87: case 0x8b: case 0x8d:
			return reg_of(in);
		case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31:
		case 0x81: case 0x83: case 0x89: case 0xc1: case 0xc7: case 0xd1: case 0xd3:
		case 0xf7: case 0xff:
			return MODRM_MOD(in->modrm) == 3 ? rm_of(in) : -1;
		}
	} else if (in->map == MAP_0F) {
		if ((in->op >= 0x40 && in->op <= 0x4f) || in->op == 0xaf ||
		    (in->op >= 0xb6 && in->op <= 0xbf))
			return reg_of(in);
	}
	return -1;
}

/* CMPQ r/m64, $1 (83 /7 ib or 81 /7 id; 3D id for RAX). */
static bool is_cmpq_one(const uint8_t *code, const struct insn *in)
{
	if (!REX_W(in->rex) || in->vex || in->map != MAP_1)
		return false;
	if (in->op == 0x3d)
		return read_le(code + in->imm_off, 4) == 1;
	if ((in->op != 0x83 && in->op != 0x81) || MODRM_REG(in->modrm) != 7)
		return false;
	return read_le(code + in->imm_off, in->imm_size) == 1;
}

/* Relative branch target (as an offset into the function) of JMP/Jcc/LOOP/JRCXZ, or -1. */
static int64_t branch_target(const uint8_t *code, size_t off, const struct insn *in)
{
	bool rel = false;

	if (in->vex)
		return -1;
	if (in->map == MAP_1)
		rel = (in->op >= 0x70 && in->op <= 0x7f) || (in->op >= 0xe0 && in->op <= 0xe3) ||
		      in->op == 0xe9 || in->op == 0xeb;
	else if (in->map == MAP_0F)
		rel = in->op >= 0x80 && in->op <= 0x8f;
	if (!rel)
		return -1;
	return (int64_t)(off + in->len) + read_le(code + off + in->imm_off, in->imm_size);
}

static bool is_uncond_jump(const struct insn *in)
{
	return ends_straight_line(in) && !is_legacy(in, MAP_1, 0xe8) &&
	       !(is_legacy(in, MAP_1, 0xff) && (MODRM_REG(in->modrm) == 2 ||
						 MODRM_REG(in->modrm) == 3));
}

/* Which registers hold a value loaded RIP-relative from a known global. */
struct regs {
	uint16_t valid;
	uint64_t global[16];
};

static void regs_merge(struct regs *a, const struct regs *b)
{
	for (int r = 0; r < 16; r++)
		if (!(b->valid & 1u << r) || a->global[r] != b->global[r])
			a->valid &= ~(1u << r);
}

/* State carried by forward branches to their target. */
struct pending {
	size_t target;
	struct regs regs;
};

#define MAX_PENDING 64

/* Register state at off: the fall-through state (unless the previous instruction never falls
 * through) merged with that of every forward branch landing here. Backward branches are loops;
 * Go emits none between nextSample's load and compare. */
static void regs_at(size_t off, bool fallthrough, struct regs *cur, struct pending *pend,
		    int *npend)
{
	bool have = fallthrough;

	for (int i = 0; i < *npend;) {
		if (pend[i].target != off) {
			i++;
			continue;
		}
		if (have)
			regs_merge(cur, &pend[i].regs);
		else
			*cur = pend[i].regs;
		have = true;
		pend[i] = pend[--*npend];
	}
	if (!have)
		cur->valid = 0;
}

/* Update the register state for one instruction; returns the compared global when this is the
 * "CMPQ global-holding register, $1" we are looking for (1), 0 to go on, -ENOENT to give up. */
static int rate_step(const uint8_t *code, size_t off, uint64_t code_vaddr, const struct insn *in,
		     struct regs *cur, uint64_t *target)
{
	const uint8_t *p = code + off;
	int r;

	if (is_cmpq_one(p, in)) {
		if (is_rip_relative(in)) {
			*target = code_vaddr + off + in->len + read_le(p + in->disp_off, 4);
			return 1;
		}
		if (in->op == 0x3d)
			r = 0;
		else if (MODRM_MOD(in->modrm) == 3)
			r = rm_of(in);
		else
			return -ENOENT;
		if (!(cur->valid & 1u << r))
			return -ENOENT;
		*target = cur->global[r];
		return 1;
	}
	if (REX_W(in->rex) && is_legacy(in, MAP_1, 0x8b) && is_rip_relative(in)) {
		r = reg_of(in);
		cur->global[r] = code_vaddr + off + in->len + read_le(p + in->disp_off, 4);
		cur->valid |= 1u << r;
		return 0;
	}
	/* Go's ABIInternal has no callee-saved registers */
	if (is_legacy(in, MAP_1, 0xe8) ||
	    (is_legacy(in, MAP_1, 0xff) && MODRM_REG(in->modrm) == 2)) {
		cur->valid = 0;
		return 0;
	}
	r = written_reg(in);
	if (r >= 0)
		cur->valid &= ~(1u << r);
	return 0;
}

/* nextSample() inlined into profilealloc: "MOVQ runtime.MemProfileRate(SB), R; ...;
 * CMPQ R, $1". The function also loads runtime.mcache0 RIP-relative beforehand, which is why
 * we follow the register into the compare instead of taking the first global load, and from
 * go1.24 R is reloaded on the other side of a "MemProfileRate == 0" branch, which is why the
 * state follows forward branches instead of the linear order. */
int x86__find_rate_global(const uint8_t *code, size_t len, uint64_t code_vaddr, uint64_t *target)
{
	struct pending pend[MAX_PENDING];
	struct regs cur = { 0 };
	bool fallthrough = true;
	int npend = 0, ret;
	struct insn in;
	int64_t dest;
	size_t off;

	for (off = 0; off < len; off += in.len) {
		if (decode(code + off, len - off, &in) < 0)
			return -ENOENT;
		regs_at(off, fallthrough, &cur, pend, &npend);
		ret = rate_step(code, off, code_vaddr, &in, &cur, target);
		if (ret)
			return ret < 0 ? ret : 0;
		dest = branch_target(code, off, &in);
		if (dest > (int64_t)off && (size_t)dest < len) {
			if (npend == MAX_PENDING)
				return -ENOENT;
			pend[npend++] = (struct pending){ .target = dest, .regs = cur };
		}
		fallthrough = !is_uncond_jump(&in);
	}
	return -ENOENT;
}

/* The first RIP-relative instruction of the runtime functions that anchor the heap profile's
 * globals comes within the first dozen instructions (prologue, bounds check, spill); a cap keeps
 * a wrong function from being scanned to its end. */
#define MAX_RIP_SCAN_INSNS 48

/* MOV disp32(RIP), reg of width bytes: 8B /r with REX.W (8) or without it and without 66 (4). */
static bool is_rip_load(const struct insn *in, int width)
{
	if (!is_legacy(in, MAP_1, 0x8b) || !is_rip_relative(in) || in->opsize || in->addrsize)
		return false;
	return width == 8 ? REX_W(in->rex) : width == 4 ? !REX_W(in->rex) : false;
}

int x86__first_rip_load(const uint8_t *code, size_t len, uint64_t code_vaddr, int width,
			uint64_t *target, size_t *offset)
{
	struct insn in;
	size_t off = 0;

	for (int n = 0; n < MAX_RIP_SCAN_INSNS && off < len; n++, off += in.len) {
		if (decode(code + off, len - off, &in) < 0)
			return -ENOENT;
		if (!is_rip_relative(&in))
			continue;
		if (!is_rip_load(&in, width))
			return -ENOENT;
		*target = code_vaddr + off + in.len + read_le(code + off + in.disp_off, 4);
		if (offset)
			*offset = off;
		return 0;
	}
	return -ENOENT;
}

/* Instructions between the load of a CAS loop's old value and its LOCK CMPXCHG. */
#define MAX_CAS_GAP 12

int x86__find_cas_global(const uint8_t *code, size_t len, uint64_t code_vaddr, uint64_t *target)
{
	bool lea_seen = false;
	uint64_t load, lea;
	struct insn in;
	size_t off;

	if (x86__first_rip_load(code, len, code_vaddr, 4, &load, &off))
		return -ENOENT;
	for (int n = 0; n <= MAX_CAS_GAP && off < len; n++, off += in.len) {
		if (decode(code + off, len - off, &in) < 0)
			return -ENOENT;
		if (REX_W(in.rex) && is_legacy(&in, MAP_1, 0x8d) && is_rip_relative(&in)) {
			lea = code_vaddr + off + in.len + read_le(code + off + in.disp_off, 4);
			if (lea != load)
				return -ENOENT;
			lea_seen = true;
		} else if (in.lock && is_legacy(&in, MAP_0F, 0xb1) && !REX_W(in.rex)) {
			if (!lea_seen)
				return -ENOENT;
			*target = load;
			return 0;
		} else if (ends_straight_line(&in)) {
			return -ENOENT;
		}
	}
	return -ENOENT;
}

/* NOP forms the Go assembler pads with: 90, 66 90, and 0F 1F /0 (NOPL/NOPW, any prefixes). */
static bool is_nop(const struct insn *in)
{
	if (in->vex || in->lock || in->rep)
		return false;
	if (in->map == MAP_1 && in->op == 0x90)
		return !REX_B(in->rex);	/* 41 90 is XCHG R8, RAX */
	return in->map == MAP_0F && in->op == 0x1f && MODRM_REG(in->modrm) == 0;
}

static bool is_jcc(const struct insn *in)
{
	return !in->vex && ((in->map == MAP_1 && in->op >= 0x70 && in->op <= 0x7f) ||
			    (in->map == MAP_0F && in->op >= 0x80 && in->op <= 0x8f));
}

/* JLE or JG (the two ways of branching on "x > slack"), rel8 or rel32. */
static bool is_jle_jg(const struct insn *in)
{
	return is_jcc(in) && ((in->op & 0x0f) == 0x0e || (in->op & 0x0f) == 0x0f);
}

/* A [base + disp] memory operand without SIB or RIP: its base register and displacement. */
static bool simple_mem(const uint8_t *code, const struct insn *in, int *base, int32_t *disp)
{
	if (in->modrm_off < 0 || MODRM_MOD(in->modrm) == 3 || MODRM_RM(in->modrm) == 4 ||
	    is_rip_relative(in))
		return false;
	*base = rm_of(in);
	*disp = (int32_t)read_le(code + in->disp_off, in->disp_size);
	return true;
}

/* CMP r64, $imm (REX.W 81 /7 id, 83 /7 ib, or 3D id for RAX): the register compared. */
static int cmp_reg_imm(const uint8_t *code, const struct insn *in, int64_t imm)
{
	if (in->vex || in->map != MAP_1 || !REX_W(in->rex))
		return -1;
	if (in->op == 0x3d)
		return read_le(code + in->imm_off, 4) == imm ? 0 : -1;
	if ((in->op != 0x81 && in->op != 0x83) || MODRM_REG(in->modrm) != 7 ||
	    MODRM_MOD(in->modrm) != 3)
		return -1;
	return read_le(code + in->imm_off, in->imm_size) == imm ? rm_of(in) : -1;
}

/* Instructions allowed between the ADD and the branch: they must leave the duration and the P
 * in their registers. A whitelist, so that anything unexpected fails closed. */
static bool keeps_regs(const struct insn *in, int r1, int r2)
{
	int dst = -1;

	if (is_nop(in))
		return true;
	if (in->vex)
		return false;
	if (in->map == MAP_1) {
		switch (in->op) {
		case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c: case 0x3d:	/* CMP */
		case 0x84: case 0x85: case 0xa8: case 0xa9:				/* TEST */
			return true;
		case 0x88: case 0x89: case 0xc6: case 0xc7:	/* MOV to r/m */
			if (MODRM_MOD(in->modrm) != 3)
				return true;	/* a store */
			dst = rm_of(in);
			break;
		case 0x8a: case 0x8b:				/* MOV r, r/m */
			dst = reg_of(in);
			break;
		default:
			if (in->op >= 0xb8 && in->op <= 0xbf) {	/* MOV r, imm */
				dst = (in->op & 7) | REX_B(in->rex) << 3;
				break;
			}
			return false;
		}
	} else if (in->map == MAP_0F && (in->op == 0xb6 || in->op == 0xb7 || in->op == 0xbe ||
					 in->op == 0xbf)) {		/* MOVZX, MOVSX */
		dst = reg_of(in);
	} else {
		return false;
	}
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH: parts of registers 0-3. */
	if ((in->op == 0x88 || in->op == 0x8a || in->op == 0xc6) && !in->rex && dst >= 4 &&
	    dst <= 7)
		dst -= 4;
	return dst != r1 && dst != r2;
}

int x86__find_assist_site(const uint8_t *code, size_t len, int64_t slack,
			  struct x86_assist_site *s)
{
	/* Non-NOP instructions: the pattern is about neighbours with padding dropped. */
	size_t *offs = malloc((len ? len : 1) * sizeof(*offs)), n = 0, cmp = 0, add = 0;
	int ncmp = 0, nadd = 0, base = -1, reg, err = -ENOENT;
	struct insn in, prev;
	int32_t disp = 0;

	memset(s, 0, sizeof(*s));
	if (!offs)
		return -ENOMEM;
	for (size_t off = 0; off < len; off += in.len) {
		if (decode(code + off, len - off, &in) < 0) {
			s->why = "the function does not decode";
			err = -EINVAL;
			goto cleanup;
		}
		if (!is_nop(&in))
			offs[n++] = off;
	}
	/* The anchor: "MOVQ disp(p), r; CMPQ r, $slack; JLE/JG", exactly once. */
	for (size_t i = 1; i + 1 < n; i++) {
		struct insn next;

		decode(code + offs[i], len - offs[i], &in);
		reg = cmp_reg_imm(code + offs[i], &in, slack);
		if (reg < 0)
			continue;
		decode(code + offs[i + 1], len - offs[i + 1], &next);
		decode(code + offs[i - 1], len - offs[i - 1], &prev);
		if (!is_jle_jg(&next) || !is_legacy(&prev, MAP_1, 0x8b) || !REX_W(prev.rex) ||
		    reg_of(&prev) != reg || !simple_mem(code + offs[i - 1], &prev, &base, &disp))
			continue;
		cmp = i;
		ncmp++;
	}
	if (ncmp != 1) {
		s->why = ncmp ? "the gcAssistTimeSlack compare appears more than once"
			      : "no load and compare of p.gcAssistTime with gcAssistTimeSlack";
		goto cleanup;
	}
	/* "ADDQ dur, disp(p)": REX.W 01 /r on the same [base + disp], once in the function. */
	for (size_t i = 0; i < n; i++) {
		int b;
		int32_t d;

		decode(code + offs[i], len - offs[i], &in);
		if (!is_legacy(&in, MAP_1, 0x01) || !REX_W(in.rex) ||
		    !simple_mem(code + offs[i], &in, &b, &d) || b != base || d != disp)
			continue;
		add = i;
		nadd++;
	}
	if (nadd != 1 || add > cmp) {
		s->why = nadd ? "the add to p.gcAssistTime is not once, before the compare"
			      : "no add to p.gcAssistTime";
		goto cleanup;
	}
	decode(code + offs[add], len - offs[add], &in);
	s->dur_reg = reg_of(&in);
	s->p_reg = base;
	s->disp = disp;
	s->add = offs[add];
	s->cmp = offs[cmp];
	if (s->dur_reg == base) {
		s->why = "the duration register is the P's";
		goto cleanup;
	}
	for (size_t i = add + 1; i < cmp; i++) {
		decode(code + offs[i], len - offs[i], &in);
		if (is_jcc(&in)) {
			s->branch = offs[i];
			err = 0;
			goto cleanup;
		}
		if (!keeps_regs(&in, s->dur_reg, base)) {
			s->why = "an instruction between the add and the branch may overwrite the "
				 "duration or the P";
			goto cleanup;
		}
	}
	s->why = "no conditional jump between the add and the compare";
cleanup:
	free(offs);
	return err;
}
