/* Generated ELF and Intel HEX inputs. Offsets are the ELF 1.2 specification's, as literals. */
#include "conformance/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EHDR_SIZE    52 /* Elf32_Ehdr */
#define PHDR_SIZE    32 /* Elf32_Phdr */
#define SHDR_SIZE    40 /* Elf32_Shdr */
#define PT_LOAD      1
#define SHT_PROGBITS 1
#define SHT_STRTAB   3
#define SHT_NOBITS   8
#define SHF_WRITE    0x1
#define SHF_ALLOC    0x2
#define SHF_EXEC     0x4
#define EM_ARM       40
#define MAX_NAME     63

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static uint32_t align4(size_t v)
{
	return (uint32_t)((v + 3u) & ~(size_t)3u);
}

ft_error ft_gen_elf(const ft_gen_segment *segments, size_t count, uint8_t **out, size_t *len,
                    ft_diag *diag)
{
	if (!segments || count == 0 || count > FT_GEN_MAX_SEGMENTS || !out || !len)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "gen elf", "1 to %d segments",
		                   FT_GEN_MAX_SEGMENTS);
	/* .shstrtab: "\0" + each name + ".shstrtab" */
	char strtab[FT_GEN_MAX_SEGMENTS * (MAX_NAME + 1) + 16];
	uint32_t name_off[FT_GEN_MAX_SEGMENTS];
	size_t strtab_len = 1;
	strtab[0] = '\0';
	size_t data_len = 0;
	for (size_t i = 0; i < count; i++) {
		const ft_gen_segment *s = &segments[i];
		size_t nlen = s->section ? strlen(s->section) : 0;
		if (s->filesz > s->memsz || (s->filesz && !s->data) || nlen == 0 || nlen > MAX_NAME)
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, "gen elf",
			                   "segment %zu: filesz above memsz, no data or a bad name",
			                   i);
		name_off[i] = (uint32_t)strtab_len;
		memcpy(strtab + strtab_len, s->section, nlen + 1);
		strtab_len += nlen + 1;
		data_len += align4(s->filesz);
	}
	uint32_t shstrtab_name = (uint32_t)strtab_len;
	memcpy(strtab + strtab_len, ".shstrtab", 10);
	strtab_len += 10;

	size_t nsh = count + 2; /* SHN_UNDEF, one per segment, .shstrtab */
	size_t data_start = EHDR_SIZE + count * PHDR_SIZE;
	size_t strtab_off = data_start + data_len;
	size_t shoff = align4(strtab_off + strtab_len);
	size_t total = shoff + nsh * SHDR_SIZE;
	uint8_t *buf = calloc(1, total);
	if (!buf)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "gen elf", "out of memory");

	/* e_ident: magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT */
	memcpy(buf,
	       "\x7f"
	       "ELF\x01\x01\x01",
	       7);
	put16(buf + 16, 2);                   /* e_type ET_EXEC */
	put16(buf + 18, EM_ARM);              /* e_machine */
	put32(buf + 20, 1);                   /* e_version */
	put32(buf + 24, segments[0].vaddr);   /* e_entry */
	put32(buf + 28, EHDR_SIZE);           /* e_phoff */
	put32(buf + 32, (uint32_t)shoff);     /* e_shoff */
	put32(buf + 36, 0x05000000);          /* e_flags: EABI version 5 */
	put16(buf + 40, EHDR_SIZE);           /* e_ehsize */
	put16(buf + 42, PHDR_SIZE);           /* e_phentsize */
	put16(buf + 44, (uint32_t)count);     /* e_phnum */
	put16(buf + 46, SHDR_SIZE);           /* e_shentsize */
	put16(buf + 48, (uint32_t)nsh);       /* e_shnum */
	put16(buf + 50, (uint32_t)(nsh - 1)); /* e_shstrndx */

	size_t off = data_start;
	for (size_t i = 0; i < count; i++) {
		const ft_gen_segment *s = &segments[i];
		uint8_t *ph = buf + EHDR_SIZE + i * PHDR_SIZE;
		put32(ph + 0, PT_LOAD);
		put32(ph + 4, (uint32_t)off); /* p_offset */
		put32(ph + 8, s->vaddr);
		put32(ph + 12, s->paddr);
		put32(ph + 16, s->filesz);
		put32(ph + 20, s->memsz);
		put32(ph + 24, s->flags);
		put32(ph + 28, 4); /* p_align */
		if (s->filesz)
			memcpy(buf + off, s->data, s->filesz);

		uint8_t *sh = buf + shoff + (i + 1) * SHDR_SIZE;
		uint32_t flags = SHF_ALLOC | (s->flags & FT_GEN_PF_W ? SHF_WRITE : 0) |
		                 (s->flags & FT_GEN_PF_X ? SHF_EXEC : 0);
		put32(sh + 0, name_off[i]);
		put32(sh + 4, s->filesz ? SHT_PROGBITS : SHT_NOBITS);
		put32(sh + 8, flags);
		put32(sh + 12, s->vaddr);      /* sh_addr */
		put32(sh + 16, (uint32_t)off); /* sh_offset */
		put32(sh + 20, s->filesz ? s->filesz : s->memsz);
		put32(sh + 32, 4); /* sh_addralign */
		off += align4(s->filesz);
	}
	memcpy(buf + strtab_off, strtab, strtab_len);
	uint8_t *sh = buf + shoff + (nsh - 1) * SHDR_SIZE;
	put32(sh + 0, shstrtab_name);
	put32(sh + 4, SHT_STRTAB);
	put32(sh + 16, (uint32_t)strtab_off);
	put32(sh + 20, (uint32_t)strtab_len);
	put32(sh + 32, 1);
	*out = buf;
	*len = total;
	return FT_OK;
}

/* Appends one record ":LLAAAATT<data>CC\n"; the checksum is the two's complement of the byte
 * sum. */
static size_t hex_line(char *dst, uint8_t type, uint16_t addr, const uint8_t *data, uint8_t len)
{
	uint8_t sum = (uint8_t)(len + (addr >> 8) + addr + type);
	size_t n = (size_t)sprintf(dst, ":%02X%04X%02X", len, addr, type);
	for (uint8_t i = 0; i < len; i++) {
		n += (size_t)sprintf(dst + n, "%02X", data[i]);
		sum = (uint8_t)(sum + data[i]);
	}
	n += (size_t)sprintf(dst + n, "%02X\n", (uint8_t)(0x100 - sum));
	return n;
}

ft_error ft_gen_hex(const ft_gen_hex_record *records, size_t count, char **out, size_t *len,
                    ft_diag *diag)
{
	if (!records || !out || !len)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "gen hex", "NULL argument");
	/* Each record: at most an 04 line (15 chars + NL) and a data line (11 + 2*255 + 1). */
	size_t cap = count * (16 + 11 + 510 + 2) + 16;
	char *text = malloc(cap);
	if (!text)
		return ft_diag_set(diag, FT_ERR_NO_MEM, "gen hex", "out of memory");
	size_t used = 0;
	uint32_t upper = 0;
	for (size_t i = 0; i < count; i++) {
		const ft_gen_hex_record *r = &records[i];
		if (r->len == 0 || !r->data) {
			free(text);
			return ft_diag_set(diag, FT_ERR_INVALID_ARG, "gen hex", "record %zu: empty",
			                   i);
		}
		if (i == 0 || (r->addr >> 16) != upper) {
			upper = r->addr >> 16;
			uint8_t ext[2] = {(uint8_t)(upper >> 8), (uint8_t)upper};
			used += hex_line(text + used, 0x04, 0, ext, 2);
		}
		used += hex_line(text + used, 0x00, (uint16_t)r->addr, r->data, r->len);
	}
	used += hex_line(text + used, 0x01, 0, NULL, 0);
	*out = text;
	*len = used;
	return FT_OK;
}

void ft_gen_self_addressed(uint8_t *buf, size_t len, uint32_t base)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t word = base + (uint32_t)(i & ~(size_t)3u);
		buf[i] = (uint8_t)(word >> (8 * (i & 3u)));
	}
}
