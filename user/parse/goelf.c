// SPDX-License-Identifier: GPL-2.0
/* ELF access through libelf: the file is mapped once, sections are handed out as pointers into
 * that mapping so parsers never copy the (often 10+ MB) .gopclntab. goelf__open_mem indexes a
 * caller's buffer the same way, which is what the fuzz targets feed. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "goelf.h"

struct goelf {
	char *path;
	int fd;
	Elf *elf;
	const uint8_t *image;
	size_t image_size;
	bool mapped;		/* image is our mapping of path, not the caller's buffer */
	GElf_Ehdr ehdr;
	size_t shstrndx;
	GElf_Phdr *phdrs;
	size_t nphdrs;
};

/* Index the ELF image at g->image: headers checked, program headers copied out. 0 or -errno. */
static int goelf_index(struct goelf *g)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	if (g->image_size < sizeof(Elf64_Ehdr))
		return -ENOEXEC;
	g->elf = elf_memory((char *)g->image, g->image_size);
	if (!g->elf || elf_kind(g->elf) != ELF_K_ELF || !gelf_getehdr(g->elf, &g->ehdr) ||
	    g->ehdr.e_ident[EI_CLASS] != ELFCLASS64 || g->ehdr.e_ident[EI_DATA] != ELFDATA2LSB ||
	    (g->ehdr.e_machine != EM_X86_64 && g->ehdr.e_machine != EM_AARCH64))
		return -ENOEXEC;
	/* An ELF of the right kind whose tables cannot be read: truncated or corrupt, which
	 * deserves another message than "not an executable". */
	if (elf_getshdrstrndx(g->elf, &g->shstrndx) || elf_getphdrnum(g->elf, &g->nphdrs) ||
	    g->ehdr.e_shoff > g->image_size ||
	    (uint64_t)g->ehdr.e_shnum * sizeof(Elf64_Shdr) > g->image_size - g->ehdr.e_shoff)
		return -EBADMSG;
	g->phdrs = calloc(g->nphdrs ? g->nphdrs : 1, sizeof(*g->phdrs));
	if (!g->phdrs)
		return -ENOMEM;
	for (size_t i = 0; i < g->nphdrs; i++) {
		if (!gelf_getphdr(g->elf, i, &g->phdrs[i]))
			return -EBADMSG;
	}
	return 0;
}

struct goelf *goelf__open_mem(const void *image, size_t size)
{
	struct goelf *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return NULL;
	g->fd = -1;
	g->image = image;
	g->image_size = size;
	err = goelf_index(g);
	if (err) {
		goelf__close(g);
		errno = -err;
		return NULL;
	}
	return g;
}

struct goelf *goelf__open(const char *path)
{
	struct goelf *g;
	struct stat st;
	int err = 0;

	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->fd = -1;
	g->path = strdup(path);
	if (!g->path) {
		err = -ENOMEM;
		goto cleanup;
	}
	g->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (g->fd < 0 || fstat(g->fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	g->image_size = st.st_size;
	g->image = mmap(NULL, g->image_size, PROT_READ, MAP_PRIVATE, g->fd, 0);
	if (g->image == MAP_FAILED) {
		g->image = NULL;
		err = -errno;
		goto cleanup;
	}
	g->mapped = true;
	err = goelf_index(g);
	if (err)
		goto cleanup;
	return g;
cleanup:
	goelf__close(g);
	errno = -err;
	return NULL;
}

void goelf__close(struct goelf *g)
{
	if (!g)
		return;
	if (g->elf)
		elf_end(g->elf);
	if (g->mapped)
		munmap((void *)g->image, g->image_size);
	if (g->fd >= 0)
		close(g->fd);
	free(g->phdrs);
	free(g->path);
	free(g);
}

static Elf_Scn *find_scn(const struct goelf *g, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(g->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(g->elf, g->shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

int goelf__section(const struct goelf *g, const char *name, struct goelf_section *sec)
{
	GElf_Shdr shdr;

	if (!find_scn(g, name, &shdr))
		return -ENOENT;
	sec->addr = shdr.sh_addr;
	sec->offset = shdr.sh_offset;
	sec->size = shdr.sh_size;
	if (shdr.sh_type == SHT_NOBITS || shdr.sh_offset > g->image_size ||
	    shdr.sh_size > g->image_size - shdr.sh_offset) {
		sec->data = NULL;	/* .bss and friends have no bytes in the file */
		sec->size = shdr.sh_type == SHT_NOBITS ? shdr.sh_size : 0;
	} else {
		sec->data = g->image + shdr.sh_offset;
	}
	return 0;
}

size_t goelf__nsegments(const struct goelf *g)
{
	return g->nphdrs;
}

int goelf__segment(const struct goelf *g, size_t i, struct goelf_segment *seg)
{
	const GElf_Phdr *p;

	if (i >= g->nphdrs)
		return -ERANGE;
	p = &g->phdrs[i];
	seg->type = p->p_type;
	seg->flags = p->p_flags;
	seg->vaddr = p->p_vaddr;
	seg->offset = p->p_offset;
	seg->filesz = p->p_filesz;
	seg->memsz = p->p_memsz;
	seg->data = p->p_offset <= g->image_size && p->p_filesz <= g->image_size - p->p_offset
			    ? g->image + p->p_offset
			    : NULL;
	return 0;
}

int goelf__vaddr_to_offset(const struct goelf *g, uint64_t vaddr, uint64_t *offset)
{
	for (size_t i = 0; i < g->nphdrs; i++) {
		const GElf_Phdr *p = &g->phdrs[i];

		if (p->p_type != PT_LOAD || vaddr < p->p_vaddr || vaddr - p->p_vaddr >= p->p_filesz)
			continue;
		*offset = vaddr - p->p_vaddr + p->p_offset;
		return 0;
	}
	return -ENOENT;
}

int goelf__offset_to_vaddr(const struct goelf *g, uint64_t offset, uint64_t *vaddr)
{
	for (size_t i = 0; i < g->nphdrs; i++) {
		const GElf_Phdr *p = &g->phdrs[i];

		if (p->p_type != PT_LOAD || offset < p->p_offset ||
		    offset - p->p_offset >= p->p_filesz)
			continue;
		*vaddr = offset - p->p_offset + p->p_vaddr;
		return 0;
	}
	return -ENOENT;
}

int goelf__read_vaddr(const struct goelf *g, uint64_t vaddr, void *buf, size_t len)
{
	uint64_t off;

	if (goelf__vaddr_to_offset(g, vaddr, &off))
		return -ENOENT;
	/* Offsets come from the (untrusted) file: compare without sums that can wrap. */
	if (off > g->image_size || len > g->image_size - off)
		return -EFAULT;
	/* Code is read from the file, not from the mapping: the kernel puts the breakpoints of
	 * uprobes attached for every process (serve's, anyone's) into every executable-capable
	 * mapping of the file, ours included, and decoding an int3 would misplace a probe. */
	if (g->fd >= 0) {
		ssize_t n = pread(g->fd, buf, len, (off_t)off);

		return n == (ssize_t)len ? 0 : -EIO;
	}
	memcpy(buf, g->image + off, len);
	return 0;
}

int goelf__symbol(const struct goelf *g, const char *name, uint64_t *addr, uint64_t *size)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_scn(g, ".symtab", &shdr);
	Elf_Data *data;

	if (!scn || !(data = elf_getdata(scn, NULL)) || !shdr.sh_entsize)
		return -ENOENT;
	for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
		GElf_Sym sym;
		const char *n;

		if (!gelf_getsym(data, i, &sym))
			continue;
		n = elf_strptr(g->elf, shdr.sh_link, sym.st_name);
		if (n && !strcmp(n, name)) {
			*addr = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

bool goelf__has_symtab(const struct goelf *g)
{
	GElf_Shdr shdr;

	return find_scn(g, ".symtab", &shdr) != NULL;
}

bool goelf__is_pie(const struct goelf *g)
{
	return g->ehdr.e_type == ET_DYN;
}

uint16_t goelf__machine(const struct goelf *g)
{
	return g->ehdr.e_machine;
}

const char *goelf__path(const struct goelf *g)
{
	return g->path ? g->path : "(memory)";
}
