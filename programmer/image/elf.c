/* ELF reader: 32-bit little-endian ARM executables, through libelf (elfutils).
 *
 * Every PT_LOAD becomes a segment at its physical address (p_paddr), zero-filesz ones included
 * (size 0, data NULL, with a note), indexed by its program-header index. Each segment lists the
 * SHF_ALLOC sections inside it (as binutils' ELF_SECTION_IN_SEGMENT decides: a section with file
 * bytes must lie within both the segment's file range and its memory range; a NOBITS section
 * within its memory range), at their load address sh_addr - p_vaddr + p_paddr. A section inside
 * several PT_LOADs is listed in the first only. File bytes of a segment that no section covers
 * (typically the ELF and program headers in the first PT_LOAD) are counted, and noted unless they
 * are only the padding the linker puts before a section to align it (sh_addralign). A PT_LOAD
 * whose file bytes are all inside the ELF header and program-header table carries no program
 * bytes: it is marked headers_only (ld maps the headers into the lowest PT_LOAD when they fit).
 *
 * Checked before use (ELF 1.2 "Tool Interface Standard" book I; ARM IHI 0044 for EM_ARM):
 * e_ident class, data and magic, e_machine, e_type, e_phentsize/e_shentsize, the header tables
 * within the file, p_offset + p_filesz within the file, p_filesz <= p_memsz, p_paddr/p_vaddr +
 * p_memsz within 4 GiB, PT_LOAD file bytes no more than the file holds (so shared file ranges
 * cannot multiply memory), section ranges and names, and absurd counts.
 */
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "programmer/image/reader.h"

enum {
	ELF32_EHDR_SIZE = 52,
	ELF32_PHDR_SIZE = 32,
	ELF32_SHDR_SIZE = 40,
	/* Linked firmware has a handful of program headers and at most a few hundred sections;
	 * anything beyond these is not a firmware image and would only cost time. */
	ELF_MAX_PHDRS = 1024,
	NOTE_NAMES = 6, /* section names listed in a note */
};

/* An SHF_ALLOC section, as read from the section headers. */
typedef struct alloc_section {
	const char *name; /* points into the libelf copy of the file */
	uint32_t addr, size;
	uint64_t offset;
	uint64_t align; /* sh_addralign; 0 and 1 mean none */
	bool nobits;
	bool claimed; /* already listed in an earlier PT_LOAD */
	size_t index;
} alloc_section;

typedef struct elf_ctx {
	const ft_image_source *src;
	ft_image_sink *sink;
	ft_diag *diag;
	Elf *elf;
	size_t headers_end; /* end of the headers from offset 0: the ELF header, and the
	                     * program-header table when it follows the ELF header */
	alloc_section *sections;
	size_t section_count;
	bool has_section_headers;
} elf_ctx;

static ft_error fail(elf_ctx *c, const char *place, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* FT_ERR_FORMAT with origin "NAME place". */
static ft_error fail(elf_ctx *c, const char *place, const char *fmt, ...)
{
	char origin[sizeof(((ft_diag *)0)->origin)];
	snprintf(origin, sizeof(origin), "%s %s", c->src->name, place);
	va_list ap;
	va_start(ap, fmt);
	ft_error err = ft_image_failv(c->diag, FT_ERR_FORMAT, origin, fmt, ap);
	va_end(ap);
	return err;
}

static ft_error no_mem(elf_ctx *c)
{
	return ft_diag_set(c->diag, FT_ERR_NO_MEM, c->src->name, "out of memory");
}

static ft_image_probe elf_probe(const uint8_t *bytes, size_t len)
{
	return len >= SELFMAG && memcmp(bytes, ELFMAG, SELFMAG) == 0 ? FT_IMAGE_PROBE_MAGIC
	                                                             : FT_IMAGE_PROBE_NO;
}

static const char *machine_name(unsigned machine)
{
	switch (machine) {
	case EM_386: return "EM_386, x86";
	case EM_X86_64: return "EM_X86_64, x86-64";
	case EM_AARCH64: return "EM_AARCH64, 64-bit ARM";
	case EM_RISCV: return "EM_RISCV";
	case EM_XTENSA: return "EM_XTENSA";
	case EM_AVR: return "EM_AVR";
	default: return "not ARM";
	}
}

/* e_ident, read by hand so that the message names the field before libelf sees the file. */
static ft_error check_ident(elf_ctx *c)
{
	const uint8_t *b = c->src->bytes;
	size_t len = c->src->len;
	if (len < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0)
		return fail(c, "ELF header", "not an ELF file (no \\177ELF magic)");
	if (b[EI_CLASS] != ELFCLASS32)
		return fail(c, "ELF header",
		            "e_ident[EI_CLASS] is %s: only 32-bit (ELFCLASS32) ARM files are "
		            "supported",
		            b[EI_CLASS] == ELFCLASS64 ? "ELFCLASS64" : "invalid");
	if (b[EI_DATA] != ELFDATA2LSB)
		return fail(c, "ELF header",
		            "e_ident[EI_DATA] is %s: only little-endian (ELFDATA2LSB) ARM files "
		            "are supported",
		            b[EI_DATA] == ELFDATA2MSB ? "ELFDATA2MSB (big-endian)" : "invalid");
	if (len < ELF32_EHDR_SIZE)
		return fail(c, "ELF header", "truncated: %zu bytes, the ELF header needs 52", len);
	return FT_OK;
}

static ft_error check_header(elf_ctx *c, const GElf_Ehdr *eh, size_t *phnum)
{
	size_t len = c->src->len;
	if (eh->e_machine != EM_ARM)
		return fail(c, "ELF header", "e_machine is %u (%s), expected EM_ARM (40)",
		            (unsigned)eh->e_machine, machine_name(eh->e_machine));
	if (eh->e_type == ET_REL)
		return fail(c, "ELF header",
		            "e_type is ET_REL: a relocatable object, not a linked program");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return fail(c, "ELF header", "e_type is %u, expected ET_EXEC (2)",
		            (unsigned)eh->e_type);
	/* The raw e_phnum: libelf quietly shortens tables that do not fit the file. PN_XNUM
	 * (extended numbering) is far above the limit too. */
	*phnum = eh->e_phnum;
	if (*phnum == 0)
		return fail(c, "ELF header", "e_phnum is 0: no program headers, nothing to load");
	if (*phnum > ELF_MAX_PHDRS)
		return fail(c, "ELF header", "e_phnum is %zu; more than %d is not firmware", *phnum,
		            ELF_MAX_PHDRS);
	if (eh->e_phentsize != ELF32_PHDR_SIZE)
		return fail(c, "ELF header", "e_phentsize is %u, expected 32",
		            (unsigned)eh->e_phentsize);
	uint64_t ph_end = eh->e_phoff + (uint64_t)*phnum * ELF32_PHDR_SIZE;
	if (eh->e_phoff > len || ph_end > len)
		return fail(c, "ELF header",
		            "e_phoff 0x%llx + %zu program headers end past the file (0x%zx bytes)",
		            (unsigned long long)eh->e_phoff, *phnum, len);
	/* One block from offset 0 only when the program headers follow the ELF header, as linkers
	 * write them; otherwise the bytes between the two are not headers. */
	c->headers_end = eh->e_phoff <= ELF32_EHDR_SIZE && ph_end > ELF32_EHDR_SIZE
	                     ? (size_t)ph_end
	                     : ELF32_EHDR_SIZE;
	return FT_OK;
}

static int cmp_sections(const void *a, const void *b)
{
	const alloc_section *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Collects the SHF_ALLOC sections, sorted by address. */
static ft_error read_sections(elf_ctx *c, const GElf_Ehdr *eh)
{
	size_t len = c->src->len, shnum = eh->e_shnum, strndx, libelf_shnum;
	char place[48];
	/* The raw e_shnum, as for e_phnum. 0 with a table offset means extended numbering
	 * (0xff00 sections or more): not firmware. */
	if (shnum == 0 && eh->e_shoff != 0)
		return fail(c, "ELF header",
		            "e_shnum is 0 with e_shoff 0x%llx: extended section numbering is not "
		            "firmware",
		            (unsigned long long)eh->e_shoff);
	if (shnum == 0)
		return FT_OK;
	c->has_section_headers = true;
	if (eh->e_shentsize != ELF32_SHDR_SIZE)
		return fail(c, "ELF header", "e_shentsize is %u, expected 40",
		            (unsigned)eh->e_shentsize);
	if (eh->e_shoff > len || eh->e_shoff + (uint64_t)shnum * ELF32_SHDR_SIZE > len)
		return fail(c, "ELF header",
		            "e_shoff 0x%llx + %zu section headers end past the file (0x%zx bytes)",
		            (unsigned long long)eh->e_shoff, shnum, len);
	if (elf_getshdrnum(c->elf, &libelf_shnum) != 0 || libelf_shnum != shnum)
		return fail(c, "ELF header", "section headers unreadable: %s", elf_errmsg(-1));
	if (elf_getshdrstrndx(c->elf, &strndx) != 0 || strndx == SHN_UNDEF || strndx >= shnum)
		return fail(c, "ELF header", "e_shstrndx names no section-name table");
	c->sections = calloc(shnum, sizeof(alloc_section));
	if (!c->sections)
		return no_mem(c);
	for (size_t i = 1; i < shnum; i++) {
		snprintf(place, sizeof(place), "section %zu", i);
		GElf_Shdr sh;
		Elf_Scn *scn = elf_getscn(c->elf, i);
		if (!scn || !gelf_getshdr(scn, &sh))
			return fail(c, place, "section header unreadable: %s", elf_errmsg(-1));
		bool nobits = sh.sh_type == SHT_NOBITS;
		if (!(sh.sh_flags & SHF_ALLOC) || sh.sh_size == 0 ||
		    (nobits && (sh.sh_flags & SHF_TLS)))
			continue; /* .tbss takes no room in its segment */
		const char *name = elf_strptr(c->elf, strndx, sh.sh_name);
		if (!name)
			return fail(c, place, "sh_name 0x%x is outside the section-name table",
			            (unsigned)sh.sh_name);
		if (!nobits && (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset))
			return fail(
			    c, place,
			    "%s: sh_offset 0x%llx + sh_size 0x%llx end past the file (0x%zx "
			    "bytes)",
			    name, (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size,
			    len);
		if (sh.sh_addr + sh.sh_size > (1ull << 32))
			return fail(c, place, "%s: sh_addr 0x%llx + sh_size 0x%llx run past 4 GiB",
			            name, (unsigned long long)sh.sh_addr,
			            (unsigned long long)sh.sh_size);
		c->sections[c->section_count++] = (alloc_section){
		    .name = name,
		    .addr = (uint32_t)sh.sh_addr,
		    .size = (uint32_t)sh.sh_size,
		    .offset = sh.sh_offset,
		    .align = sh.sh_addralign,
		    .nobits = nobits,
		    .index = i,
		};
	}
	qsort(c->sections, c->section_count, sizeof(alloc_section), cmp_sections);
	return FT_OK;
}

static bool section_inside(const alloc_section *s, const GElf_Phdr *ph)
{
	bool in_memory =
	    s->addr >= ph->p_vaddr && s->addr + (uint64_t)s->size <= ph->p_vaddr + ph->p_memsz;
	if (s->nobits)
		return in_memory;
	return in_memory && s->offset >= ph->p_offset &&
	       s->offset + s->size <= ph->p_offset + ph->p_filesz;
}

typedef struct interval {
	uint64_t start, end; /* file offsets relative to the segment */
	uint64_t align;      /* the section's sh_addralign */
} interval;

static int cmp_intervals(const void *a, const void *b)
{
	const interval *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* A gap that ends where a section starts is alignment padding when the section's address is the
 * first one at its alignment after the gap's start. Offsets and addresses move together inside a
 * PT_LOAD, so base (p_vaddr) turns offsets into addresses. */
static bool is_padding(uint64_t base, uint64_t gap_start, const interval *next)
{
	if (next->align < 2)
		return false;
	uint64_t from = base + gap_start;
	uint64_t aligned = (from + next->align - 1) / next->align * next->align;
	return aligned == base + next->start;
}

/* Bytes of [0, filesz) outside every interval (offsets relative to the segment), and of them the
 * bytes that are not alignment padding before a section (*unexplained), the first such range in
 * *gap. Sorts iv. */
static uint64_t uncovered(interval *iv, size_t n, uint64_t filesz, uint64_t base,
                          uint64_t *unexplained, interval *gap)
{
	qsort(iv, n, sizeof(interval), cmp_intervals);
	uint64_t pos = 0, missing = 0;
	*unexplained = 0;
	*gap = (interval){0, 0, 0};
	for (size_t i = 0; i <= n; i++) {
		uint64_t start = i < n ? iv[i].start : filesz;
		if (start > pos) {
			missing += start - pos;
			if (i == n || !is_padding(base, pos, &iv[i])) {
				if (!*unexplained)
					*gap = (interval){pos, start, 0};
				*unexplained += start - pos;
			}
		}
		if (i < n && iv[i].end > pos)
			pos = iv[i].end;
	}
	return missing;
}

/* " (.bss ._user_heap_stack)" for a note, or "" without sections. */
static void names_text(char *buf, size_t len, const ft_section *sec, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && i < NOTE_NAMES && used < len; i++)
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : " (", sec[i].name);
	if (n > NOTE_NAMES && used < len)
		used += (size_t)snprintf(buf + used, len - used, " ...");
	if (n && used < len)
		snprintf(buf + used, len - used, ")");
}

static ft_error check_load(elf_ctx *c, const GElf_Phdr *ph, const char *place, uint64_t *file_bytes)
{
	size_t len = c->src->len;
	if (ph->p_filesz > ph->p_memsz)
		return fail(c, place, "p_filesz 0x%llx is larger than p_memsz 0x%llx",
		            (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_filesz && (ph->p_offset > len || ph->p_filesz > len - ph->p_offset))
		return fail(
		    c, place, "p_offset 0x%llx + p_filesz 0x%llx end past the file (0x%zx bytes)",
		    (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz, len);
	if (ph->p_paddr + ph->p_memsz > (1ull << 32))
		return fail(c, place, "p_paddr 0x%llx + p_memsz 0x%llx wrap past 4 GiB",
		            (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	if (ph->p_vaddr + ph->p_memsz > (1ull << 32))
		return fail(c, place, "p_vaddr 0x%llx + p_memsz 0x%llx wrap past 4 GiB",
		            (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_memsz);
	*file_bytes += ph->p_filesz;
	if (*file_bytes > len)
		return fail(c, place,
		            "PT_LOAD segments so far take 0x%llx file bytes, more than the file's "
		            "0x%zx: program headers share file bytes",
		            (unsigned long long)*file_bytes, len);
	return FT_OK;
}

static ft_error load_segment(elf_ctx *c, const GElf_Phdr *ph, size_t index, ft_section *sec,
                             interval *iv)
{
	size_t n = 0, ni = 0;
	for (size_t k = 0; k < c->section_count; k++) {
		alloc_section *s = &c->sections[k];
		if (s->claimed || !section_inside(s, ph))
			continue;
		s->claimed = true;
		sec[n++] = (ft_section){
		    .name = s->name,
		    .addr = (uint32_t)(s->addr - ph->p_vaddr + ph->p_paddr),
		    .size = s->size,
		    .nobits = s->nobits,
		};
		if (!s->nobits)
			iv[ni++] = (interval){s->offset - ph->p_offset,
			                      s->offset - ph->p_offset + s->size, s->align};
	}
	interval gap;
	uint64_t unexplained = 0;
	uint64_t missing = c->has_section_headers
	                       ? uncovered(iv, ni, ph->p_filesz, ph->p_vaddr, &unexplained, &gap)
	                       : ph->p_filesz;
	/* No section can share file bytes with the headers, so this holds without section headers.
	 */
	bool headers_only = ph->p_filesz && ph->p_offset + ph->p_filesz <= c->headers_end;
	uint8_t *data = NULL;
	if (ph->p_filesz) {
		data = malloc((size_t)ph->p_filesz);
		if (!data)
			return no_mem(c);
		memcpy(data, c->src->bytes + ph->p_offset, (size_t)ph->p_filesz);
	}
	ft_segment proto = {
	    .addr = (uint32_t)ph->p_paddr,
	    .size = (uint32_t)ph->p_filesz,
	    .mem_size = (uint32_t)ph->p_memsz,
	    .run_addr = (uint32_t)ph->p_vaddr,
	    .index = (int)index,
	    .elf_flags = ph->p_flags,
	    .section_count = n,
	    .sections = sec,
	    .uncovered_bytes = (uint32_t)missing,
	    .headers_only = headers_only,
	    .dfu_target = -1,
	};
	ft_error err = ft_image_sink_segment(c->sink, &proto, data, c->diag);
	if (err != FT_OK)
		return err;
	char names[160];
	names_text(names, sizeof(names), sec, n);
	const char *file = c->src->name;
	if (ph->p_filesz == 0)
		return ft_image_sink_note(c->sink, c->diag,
		                          "%s PT_LOAD[%zu]: no file bytes (p_memsz 0x%llx at "
		                          "0x%08llx%s); nothing to program",
		                          file, index, (unsigned long long)ph->p_memsz,
		                          (unsigned long long)ph->p_paddr, names);
	if (headers_only)
		return ft_image_sink_note(
		    c->sink, c->diag,
		    "%s PT_LOAD[%zu]: its 0x%llx file bytes are only the ELF header "
		    "and program headers, mapped at 0x%08llx by the linker; "
		    "nothing to program",
		    file, index, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_paddr);
	if (unexplained && c->has_section_headers) {
		bool headers = ph->p_offset + gap.start < c->headers_end;
		return ft_image_sink_note(
		    c->sink, c->diag,
		    "%s PT_LOAD[%zu]: 0x%llx of its 0x%llx bytes belong to no section, first "
		    "0x%08llx-0x%08llx%s; they are programmed too",
		    file, index, (unsigned long long)unexplained, (unsigned long long)ph->p_filesz,
		    (unsigned long long)(ph->p_paddr + gap.start),
		    (unsigned long long)(ph->p_paddr + gap.end - 1),
		    headers ? " (the ELF header and program headers)" : "");
	}
	return FT_OK;
}

static ft_error read_loads(elf_ctx *c, size_t phnum)
{
	ft_section *sec = malloc((c->section_count + 1) * sizeof(ft_section));
	interval *iv = malloc((c->section_count + 1) * sizeof(interval));
	ft_error err = sec && iv ? FT_OK : no_mem(c);
	uint64_t file_bytes = 0;
	size_t loads = 0;
	char place[48];
	for (size_t i = 0; err == FT_OK && i < phnum; i++) {
		snprintf(place, sizeof(place), "program header %zu", i);
		GElf_Phdr ph;
		if (!gelf_getphdr(c->elf, (int)i, &ph)) {
			err = fail(c, place, "unreadable: %s", elf_errmsg(-1));
			break;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		loads++;
		err = check_load(c, &ph, place, &file_bytes);
		if (err == FT_OK)
			err = load_segment(c, &ph, i, sec, iv);
	}
	if (err == FT_OK && loads == 0)
		err = fail(c, "ELF header", "no PT_LOAD program header: nothing to load");
	free(sec);
	free(iv);
	return err;
}

static ft_error elf_read(const ft_image_source *src, ft_image_sink *sink, ft_diag *diag)
{
	elf_ctx c = {.src = src, .sink = sink, .diag = diag};
	ft_error err = check_ident(&c);
	if (err != FT_OK)
		return err;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, src->name, "libelf: %s",
		                   elf_errmsg(-1));
	/* libelf may write to the memory it reads: give it a copy. */
	char *copy = malloc(src->len);
	if (!copy)
		return no_mem(&c);
	memcpy(copy, src->bytes, src->len);
	c.elf = elf_memory(copy, src->len);
	GElf_Ehdr eh;
	size_t phnum = 0;
	if (!c.elf || !gelf_getehdr(c.elf, &eh))
		err = fail(&c, "ELF header", "unreadable: %s", elf_errmsg(-1));
	if (err == FT_OK)
		err = check_header(&c, &eh, &phnum);
	if (err == FT_OK)
		err = read_sections(&c, &eh);
	if (err == FT_OK)
		err = read_loads(&c, phnum);
	if (err == FT_OK && !c.has_section_headers)
		err = ft_image_sink_note(sink, diag,
		                         "%s has no section headers: its segments carry no section "
		                         "names",
		                         src->name);
	if (err == FT_OK)
		ft_image_sink_entry(sink, (uint32_t)eh.e_entry);
	free(c.sections);
	elf_end(c.elf);
	free(copy);
	return err;
}

static const char *const elf_extensions[] = {".elf", ".axf", ".out", NULL};

const ft_image_reader ft_image_reader_elf = {
    .format = FT_IMAGE_ELF,
    .extensions = elf_extensions,
    .probe = elf_probe,
    .read = elf_read,
};
