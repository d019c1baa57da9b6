#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Seed corpora for the fuzz targets (tests/fuzz), built from the Go fixture binaries.

  elf/  representative fixtures (one per Go version, the variants rotated: old and new pclntab
        magics, PIE, cgo, stripped, with and without .go.module), plus copies of two of them with
        one header field set to what a corrupt or hostile file would hold: a section or segment
        that runs past the end of the file, a size that wraps, a renamed section (which sends
        the parsers to their scan fallbacks), a moved address; or with one field of the
        .gopclntab or buildinfo header corrupted. libFuzzer mutates bytes at random; in a 2 MB
        binary it seldom lands on the few header bytes that matter, so these start it there.
  x86/  the bodies of the functions heapscope decodes (mallocgc, profilealloc, gcMarkDone...)
        and a few hand-written assembly ones (AVX memmove) from every Go version's plain build.

Usage: fuzz-seeds.py FIXTURES_DIR OUT_DIR. Rewrites OUT_DIR/elf and OUT_DIR/x86; prints the size
of the largest ELF seed (the fuzzers' -max_len)."""
import os
import shutil
import struct
import sys

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
SHDR = struct.Struct("<IIQQQQIIQQ")
PHDR = struct.Struct("<IIQQQQQQ")
SHT_SYMTAB, SHT_NOBITS = 2, 8
PT_LOAD, PF_W = 1, 2
U64_MAX = (1 << 64) - 1

# (version prefix, variant): every Go release of the fixture matrix once.
REPRESENTATIVE = [
    ("go1.19", "stripped"), ("go1.20", "pie"), ("go1.21", "cgo"), ("go1.22", "plain"),
    ("go1.23", "cgo-syms"), ("go1.24", "pprof"), ("go1.25", "stripped"), ("go1.26", "pie"),
    ("go1.27", "cgo"),
]
# Bases for the header mutations: go1.26 without symbols (text start 0 in the pclntab header,
# .go.module), go1.19 with symbols (old magic, moduledata in .noptrdata, .symtab).
MUTATION_BASES = [("go1.26", "stripped"), ("go1.19", "plain")]
SECTIONS = [".text", ".rodata", ".gopclntab", ".go.buildinfo", ".go.module", ".noptrdata",
            ".data", ".symtab", ".strtab", ".shstrtab"]
X86_FUNCS = ["runtime.mallocgc", "runtime.mallocgcSmallNoscan", "runtime.mallocgcTiny",
             "runtime.profilealloc", "runtime.mProf_Malloc", "runtime.nextSample",
             "runtime.gcMarkDone", "runtime.gcMarkTermination", "runtime.gcStart",
             "runtime.newobject", "runtime.growslice", "runtime.mapassign_faststr",
             "runtime.memmove", "runtime.memclrNoHeapPointers", "runtime.morestack",
             "main.allocSmall", "main.mapGrowth"]


def fixture(fixtures, prefix, variant):
    versions = sorted(d for d in os.listdir(fixtures) if d.startswith(prefix))
    for v in versions:
        path = os.path.join(fixtures, v, "goalloc-" + variant)
        if os.access(path, os.R_OK):
            return v, path
    return None, None


class Elf:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        self.eh = list(EHDR.unpack_from(self.data, 0))
        self.phoff, self.shoff = self.eh[5], self.eh[6]
        self.phnum, self.shnum, self.shstrndx = self.eh[10], self.eh[12], self.eh[13]
        self.sh = [list(SHDR.unpack_from(self.data, self.shoff + i * SHDR.size))
                   for i in range(self.shnum)]
        self.ph = [list(PHDR.unpack_from(self.data, self.phoff + i * PHDR.size))
                   for i in range(self.phnum)]
        strtab = self.sh[self.shstrndx]
        self.names = [self.cstr(strtab[4] + s[0]) for s in self.sh]

    def cstr(self, off):
        end = self.data.index(b"\0", off)
        return self.data[off:end].decode("latin-1")

    def section(self, name):
        return self.names.index(name) if name in self.names else None

    def patched(self, what, index, field, value):
        """A copy with one header field replaced."""
        out = bytearray(self.data)
        if what == "eh":
            rec = list(self.eh)
            rec[field] = value
            EHDR.pack_into(out, 0, *rec)
        elif what == "sh":
            rec = list(self.sh[index])
            rec[field] = value
            SHDR.pack_into(out, self.shoff + index * SHDR.size, *rec)
        else:
            rec = list(self.ph[index])
            rec[field] = value
            PHDR.pack_into(out, self.phoff + index * PHDR.size, *rec)
        return out

    def renamed(self, index):
        """A copy whose section name ends in X instead (".gopclntab" -> ".gopclntaX")."""
        out = bytearray(self.data)
        off = self.sh[self.shstrndx][4] + self.sh[index][0] + len(self.names[index]) - 1
        out[off] = ord("X")
        return out

    def func_bodies(self, names):
        """{name: bytes} of the named functions, from .symtab."""
        sym, text = self.section(".symtab"), self.section(".text")
        if sym is None or text is None:
            return {}
        sh = self.sh[sym]
        strtab = self.sh[sh[6]][4]
        t_addr, t_off = self.sh[text][3], self.sh[text][4]
        want, out = set(names), {}
        for o in range(sh[4], sh[4] + sh[5], 24):
            st_name, _, _, _, value, size = struct.unpack_from("<IBBHQQ", self.data, o)
            name = self.cstr(strtab + st_name)
            if name in want and size and value >= t_addr:
                start = value - t_addr + t_off
                out[name] = bytes(self.data[start:start + size])
        return out


def mutations(elf):
    """(label, image) for each one-field corruption of the headers."""
    size = len(elf.data)
    for name in SECTIONS:
        i = elf.section(name)
        if i is None:
            continue
        tag = name.strip(".").replace(".", "_")
        # fields: 1 type, 3 addr, 4 offset, 5 size, 9 entsize
        yield tag + "-past-end", elf.patched("sh", i, 4, size - 1)
        yield tag + "-size-wraps", elf.patched("sh", i, 5, U64_MAX)
        yield tag + "-offset-wraps", elf.patched("sh", i, 4, U64_MAX - 15)
        yield tag + "-nobits", elf.patched("sh", i, 1, SHT_NOBITS)
        yield tag + "-addr-moved", elf.patched("sh", i, 3, elf.sh[i][3] + 8)
        yield tag + "-renamed", elf.renamed(i)
        if elf.sh[i][1] == SHT_SYMTAB:
            yield tag + "-entsize-1", elf.patched("sh", i, 9, 1)
            yield tag + "-link-bad", elf.patched("sh", i, 6, 0xffff)
    for i, ph in enumerate(elf.ph):
        if ph[0] != PT_LOAD:
            continue
        tag = "load%d" % i
        # fields: 0 type, 1 flags, 2 offset, 3 vaddr, 5 filesz
        yield tag + "-filesz-huge", elf.patched("ph", i, 5, 1 << 62)
        yield tag + "-filesz-wraps", elf.patched("ph", i, 5, U64_MAX - ph[3] + 1)
        yield tag + "-offset-past-end", elf.patched("ph", i, 2, size + 4096)
        yield tag + "-vaddr-zero", elf.patched("ph", i, 3, 0)
        yield tag + "-flags-w", elf.patched("ph", i, 1, ph[1] ^ PF_W)
        yield tag + "-not-load", elf.patched("ph", i, 0, 0)
    # ehdr fields: 5 phoff, 6 shoff, 10 phnum, 12 shnum, 13 shstrndx
    yield "phnum-max", elf.patched("eh", 0, 10, 0xffff)
    yield "shnum-zero", elf.patched("eh", 0, 12, 0)
    yield "shstrndx-bad", elf.patched("eh", 0, 13, elf.shnum + 5)
    yield "shoff-past-end", elf.patched("eh", 0, 6, size - 8)


def table_mutations(elf):
    """(label, image) for each one-field corruption of the .gopclntab and buildinfo headers: the
    few bytes every later read depends on, which random mutation of a whole binary seldom hits."""
    size = len(elf.data)
    i = elf.section(".gopclntab")
    if i is not None:
        hdr = elf.sh[i][4]
        # pcHeader: magic u32, pad u16, minLC u8, ptrSize u8, then nfunc, nfiles, textStart,
        # funcname, cu, filetab, pctab and pcln (functab) offsets as u64 words.
        for label, off, fmt, value in [
                ("magic-go116", 0, "<I", 0xfffffffa), ("minlc-3", 6, "<B", 3),
                ("ptrsize-4", 7, "<B", 4), ("nfunc-max", 8, "<Q", 0xffffffff),
                ("nfunc-zero", 8, "<Q", 0), ("nfunc-huge", 8, "<Q", 1 << 40),
                ("textstart-zero", 24, "<Q", 0), ("funcname-past-end", 32, "<Q", size),
                ("cu-before-funcname", 40, "<Q", 8), ("pctab-zero", 56, "<Q", 0),
                ("pcln-last-byte", 64, "<Q", elf.sh[i][5] - 1)]:
            out = bytearray(elf.data)
            struct.pack_into(fmt, out, hdr + off, value)
            yield "gopclntab-" + label, out
        pcln = hdr + struct.unpack_from("<Q", elf.data, hdr + 64)[0]
        for label, off, value in [("functab-func0-past-end", 4, 0xfffffff0),
                                  ("functab-entry1-back", 8, 0)]:
            out = bytearray(elf.data)
            struct.pack_into("<I", out, pcln + off, value)
            yield "gopclntab-" + label, out
    i = elf.section(".go.buildinfo")
    if i is not None:
        blob = elf.sh[i][4]
        # 14-byte magic, ptrSize, flags, 16 bytes, then the uvarint length of the version.
        for label, off, data in [("flags-pointers", 15, b"\0"),
                                 ("vers-len-huge", 32, b"\xff" * 9 + b"\x01"),
                                 ("vers-len-zero", 32, b"\0")]:
            out = bytearray(elf.data)
            out[blob + off:blob + off + len(data)] = data
            yield "buildinfo-" + label, out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    fixtures, out = sys.argv[1], sys.argv[2]
    elf_dir, x86_dir = os.path.join(out, "elf"), os.path.join(out, "x86")
    for d in (elf_dir, x86_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    max_len = 0
    for prefix, variant in REPRESENTATIVE:
        ver, path = fixture(fixtures, prefix, variant)
        if path:
            shutil.copyfile(path, os.path.join(elf_dir, "%s-%s" % (ver, variant)))
            max_len = max(max_len, os.path.getsize(path))
    for prefix, variant in MUTATION_BASES:
        ver, path = fixture(fixtures, prefix, variant)
        if not path:
            continue
        elf = Elf(path)
        for label, image in list(mutations(elf)) + list(table_mutations(elf)):
            with open(os.path.join(elf_dir, "%s-%s-%s" % (ver, variant, label)), "wb") as f:
                f.write(image)
    for ver in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, ver, "goalloc-plain")
        if not ver.startswith("go") or not os.access(path, os.R_OK):
            continue
        for name, body in Elf(path).func_bodies(X86_FUNCS).items():
            with open(os.path.join(x86_dir, "%s-%s" % (ver, name)), "wb") as f:
                f.write(body)
    if not os.listdir(elf_dir) or not os.listdir(x86_dir):
        sys.exit("fuzz-seeds: no fixtures under %s (make fixtures)" % fixtures)
    print(max_len)


if __name__ == "__main__":
    main()
