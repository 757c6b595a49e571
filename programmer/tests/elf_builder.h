/* Builds small ELF32 little-endian ARM files in memory, for the image tests and benchmark.
 *
 * Layout: the ELF header at 0, the program headers right after it (offset 52), the caller's bytes
 * wherever the caller puts them below data_end, then .shstrtab at data_end and the section
 * headers after it. Section 0 (SHN_UNDEF) and .shstrtab (the last) are added here. Field offsets
 * are the ELF 1.2 specification's (book I: figure 1-3 ELF header, 1-8 section header, 2-1
 * program header), written as literals on purpose: the reader under test uses libelf's. */
#ifndef FT_TESTS_ELF_BUILDER_H
#define FT_TESTS_ELF_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EB_EHDR_SIZE     52
#define EB_PHDR_SIZE     32
#define EB_SHDR_SIZE     40
#define EB_PT_LOAD       1
#define EB_PT_ARM_EXIDX  0x70000001
#define EB_SHT_PROGBITS  1
#define EB_SHT_NOBITS    8
#define EB_SHF_WRITE     0x1
#define EB_SHF_ALLOC     0x2
#define EB_SHF_EXECINSTR 0x4
#define EB_PF_X          1
#define EB_PF_W          2
#define EB_PF_R          4

typedef struct eb_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags;
} eb_phdr;

typedef struct eb_shdr {
	const char *name;
	uint32_t type, flags, addr, offset, size;
	uint32_t align; /* sh_addralign; 0 writes 4 */
} eb_shdr;

static inline void eb_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void eb_put32(uint8_t *p, uint32_t v)
{
	eb_put16(p, (uint16_t)v);
	eb_put16(p + 2, (uint16_t)(v >> 16));
}

/* Where the caller's bytes may start: after the header and nph program headers. */
static inline size_t eb_data_start(size_t nph)
{
	return EB_EHDR_SIZE + nph * EB_PHDR_SIZE;
}

#define EB_MAX_SECTIONS 64

/* Writes headers, program headers, .shstrtab and section headers into buf (cap bytes) around the
 * caller's bytes below data_end. Returns the file length, or 0 when cap is too small or nsh is
 * above EB_MAX_SECTIONS. */
static inline size_t eb_build(uint8_t *buf, size_t cap, uint32_t entry, const eb_phdr *ph,
                              size_t nph, const eb_shdr *sh, size_t nsh, size_t data_end)
{
	size_t strtab_size = 1 + sizeof(".shstrtab");
	for (size_t i = 0; i < nsh; i++)
		strtab_size += strlen(sh[i].name) + 1;
	size_t shoff = (data_end + strtab_size + 3) & ~(size_t)3;
	if (nsh > EB_MAX_SECTIONS || shoff + (nsh + 2) * EB_SHDR_SIZE > cap ||
	    eb_data_start(nph) > data_end)
		return 0;
	memset(buf, 0, EB_EHDR_SIZE + nph * EB_PHDR_SIZE);
	memcpy(buf, "\177ELF", 4);
	buf[4] = 1;             /* EI_CLASS: ELFCLASS32 */
	buf[5] = 1;             /* EI_DATA: ELFDATA2LSB */
	buf[6] = 1;             /* EI_VERSION: EV_CURRENT */
	eb_put16(buf + 16, 2);  /* e_type: ET_EXEC */
	eb_put16(buf + 18, 40); /* e_machine: EM_ARM */
	eb_put32(buf + 20, 1);  /* e_version */
	eb_put32(buf + 24, entry);
	eb_put32(buf + 28, nph ? EB_EHDR_SIZE : 0); /* e_phoff */
	eb_put32(buf + 36, 0x05000200);             /* e_flags: EABI5, hard float */
	eb_put16(buf + 40, EB_EHDR_SIZE);
	eb_put16(buf + 42, EB_PHDR_SIZE);
	eb_put16(buf + 44, (uint16_t)nph);
	for (size_t i = 0; i < nph; i++) {
		uint8_t *p = buf + EB_EHDR_SIZE + i * EB_PHDR_SIZE;
		eb_put32(p + 0, ph[i].type);
		eb_put32(p + 4, ph[i].offset);
		eb_put32(p + 8, ph[i].vaddr);
		eb_put32(p + 12, ph[i].paddr);
		eb_put32(p + 16, ph[i].filesz);
		eb_put32(p + 20, ph[i].memsz);
		eb_put32(p + 24, ph[i].flags);
		eb_put32(p + 28, 4); /* p_align */
	}
	/* .shstrtab: "\0" then each name, then ".shstrtab". */
	size_t pos = data_end, name_off[EB_MAX_SECTIONS + 1];
	buf[pos++] = 0;
	for (size_t i = 0; i <= nsh; i++) {
		const char *name = i < nsh ? sh[i].name : ".shstrtab";
		name_off[i] = pos - data_end;
		memcpy(buf + pos, name, strlen(name) + 1);
		pos += strlen(name) + 1;
	}
	memset(buf + shoff, 0, (nsh + 2) * EB_SHDR_SIZE);
	for (size_t i = 0; i <= nsh; i++) {
		uint8_t *p = buf + shoff + (i + 1) * EB_SHDR_SIZE;
		eb_put32(p + 0, (uint32_t)name_off[i]);
		if (i < nsh) {
			eb_put32(p + 4, sh[i].type);
			eb_put32(p + 8, sh[i].flags);
			eb_put32(p + 12, sh[i].addr);
			eb_put32(p + 16, sh[i].offset);
			eb_put32(p + 20, sh[i].size);
			eb_put32(p + 32, sh[i].align ? sh[i].align : 4); /* sh_addralign */
		} else {
			eb_put32(p + 4, 3); /* SHT_STRTAB */
			eb_put32(p + 16, (uint32_t)data_end);
			eb_put32(p + 20, (uint32_t)strtab_size);
			eb_put32(p + 32, 1);
		}
	}
	eb_put32(buf + 32, (uint32_t)shoff);     /* e_shoff */
	eb_put16(buf + 46, EB_SHDR_SIZE);        /* e_shentsize */
	eb_put16(buf + 48, (uint16_t)(nsh + 2)); /* e_shnum */
	eb_put16(buf + 50, (uint16_t)(nsh + 1)); /* e_shstrndx */
	return shoff + (nsh + 2) * EB_SHDR_SIZE;
}

#endif
