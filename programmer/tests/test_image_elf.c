/* The ELF reader: PT_LOADs by physical address, sections with their load addresses, bytes no
 * section covers, zero-filesz segments, and refusal of everything that is not a sound 32-bit
 * little-endian ARM executable. The files are built here, byte by byte (elf_builder.h). */
#include <stdlib.h>
#include <string.h>

#include "models/tests/ft_test.h"
#include "programmer/image/image.h"
#include "programmer/tests/elf_builder.h"

/* ELF 1.2 book I figure 2-1: a program header's fields, relative to its start. */
#define PH(i)       (EB_EHDR_SIZE + (i)*EB_PHDR_SIZE)
#define P_TYPE      0
#define P_OFFSET    4
#define P_VADDR     8
#define P_PADDR     12
#define P_FILESZ    16
#define P_MEMSZ     20
#define E_MACHINE   18
#define E_TYPE      16
#define E_PHNUM     44
#define E_SHNUM     48
#define E_PHOFF     28
#define EI_CLASS    4
#define EI_DATA     5
#define FIXTURE_CAP 4096

static ft_image *image;
static ft_diag diag;
static uint8_t elf[FIXTURE_CAP];
static size_t elf_len;

/* A firmware-shaped file:
 *   [0] PT_ARM_EXIDX (not loaded)
 *   [1] PT_LOAD offset 0 at 0x08000000, filesz 0x200: ELF and program headers (0x100 bytes no
 *       section covers), .isr_vector 0x08000100+0x40, .text 0x08000140+0xc0
 *   [2] PT_LOAD .data: paddr 0x08000200, vaddr 0x24000000, filesz 0x1c, memsz 0x11c (.bss after)
 *   [3] PT_LOAD ._user_heap_stack: 0x24000200, filesz 0, memsz 0x600 */
static const eb_phdr fixture_ph[] = {
    {EB_PT_ARM_EXIDX, 0x1f8, 0x080001f8, 0x080001f8, 8, 8, EB_PF_R},
    {EB_PT_LOAD, 0, 0x08000000, 0x08000000, 0x200, 0x200, EB_PF_R | EB_PF_X},
    {EB_PT_LOAD, 0x200, 0x24000000, 0x08000200, 0x1c, 0x11c, EB_PF_R | EB_PF_W},
    {EB_PT_LOAD, 0x21c, 0x24000200, 0x24000200, 0, 0x600, EB_PF_R | EB_PF_W},
};

static const eb_shdr fixture_sh[] = {
    {".isr_vector", EB_SHT_PROGBITS, EB_SHF_ALLOC, 0x08000100, 0x100, 0x40, 0},
    {".text", EB_SHT_PROGBITS, EB_SHF_ALLOC | EB_SHF_EXECINSTR, 0x08000140, 0x140, 0xc0, 0},
    {".data", EB_SHT_PROGBITS, EB_SHF_ALLOC | EB_SHF_WRITE, 0x24000000, 0x200, 0x1c, 0},
    {".bss", EB_SHT_NOBITS, EB_SHF_ALLOC | EB_SHF_WRITE, 0x2400001c, 0x21c, 0x100, 0},
    {"._user_heap_stack", EB_SHT_NOBITS, EB_SHF_ALLOC | EB_SHF_WRITE, 0x24000200, 0x21c, 0x600, 0},
    {".comment", EB_SHT_PROGBITS, 0, 0, 0x21c, 4, 0},
};

static uint8_t pattern(size_t offset)
{
	return (uint8_t)(offset * 7 + 3);
}

static void setup(void)
{
	image = ft_image_new();
	ft_diag_clear(&diag);
	memset(elf, 0, sizeof(elf));
	for (size_t i = 0x100; i < 0x220; i++)
		elf[i] = pattern(i);
	elf_len = eb_build(elf, sizeof(elf), 0x08000141, fixture_ph, 4, fixture_sh, 6, 0x220);
}

static void teardown(void)
{
	ft_image_free(image);
}

static ft_error add(void)
{
	return ft_image_add_buffer(image, "app.elf", FT_IMAGE_ELF, elf, elf_len, false, 0, &diag);
}

static bool has_note(const char *a, const char *b)
{
	for (size_t i = 0; i < ft_image_note_count(image); i++) {
		const char *n = ft_image_note_at(image, i);
		if (strstr(n, a) && (!b || strstr(n, b)))
			return true;
	}
	return false;
}

/* Expects FT_ERR_FORMAT whose origin and message contain the given texts. */
static void expect_format_error(const char *origin, const char *text)
{
	FT_ASSERT_HEX(add(), FT_ERR_FORMAT);
	FT_ASSERT_HEX(diag.code, FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, origin);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, text));
	FT_ASSERT_HEX(ft_image_segment_count(image), 0);
	FT_ASSERT_HEX(ft_image_file_count(image), 0);
}

static void test_loads_every_ptload_by_physical_address(void)
{
	CU_ASSERT_FATAL(elf_len > 0);
	FT_ASSERT_HEX(add(), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 3);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0x08000000);
	FT_ASSERT_HEX(s->size, 0x200);
	FT_ASSERT_HEX(s->index, 1);
	FT_ASSERT_HEX(s->elf_flags, EB_PF_R | EB_PF_X);
	FT_ASSERT_HEX(s->format, FT_IMAGE_ELF);
	CU_ASSERT_STRING_EQUAL(s->file, "app.elf");
	FT_ASSERT_BYTES(s->data + 0x100, elf + 0x100, 0x100);
	const ft_image_file *f = ft_image_file_at(image, 0);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(f->has_entry);
	FT_ASSERT_HEX(f->entry, 0x08000141);
}

static void test_headers_in_first_ptload_are_uncovered_bytes(void)
{
	FT_ASSERT_HEX(add(), FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->uncovered_bytes, 0x100);
	FT_ASSERT_HEX(s->section_count, 2);
	CU_ASSERT_STRING_EQUAL(s->sections[0].name, ".isr_vector");
	FT_ASSERT_HEX(s->sections[0].addr, 0x08000100);
	FT_ASSERT_HEX(s->sections[0].size, 0x40);
	CU_ASSERT_STRING_EQUAL(s->sections[1].name, ".text");
	FT_ASSERT_HEX(s->sections[1].addr, 0x08000140);
	CU_ASSERT(has_note("app.elf PT_LOAD[1]", "ELF header and program headers"));
	CU_ASSERT(has_note("0x08000000-0x080000ff", NULL));
}

/* A CubeIDE-shaped first PT_LOAD: .isr_vector of 0x2cc bytes (byte-aligned), then .text aligned
 * to text_align at text_addr. Returns the segment, or NULL when the reader failed. */
static const ft_segment *read_vectors_and_text(uint32_t text_addr, uint32_t text_align)
{
	const eb_phdr ph[] = {
	    {EB_PT_LOAD, 0x100, 0x08000000, 0x08000000, text_addr + 0x40 - 0x08000000,
	     text_addr + 0x40 - 0x08000000, EB_PF_R | EB_PF_X},
	};
	const eb_shdr sh[] = {
	    {".isr_vector", EB_SHT_PROGBITS, EB_SHF_ALLOC, 0x08000000, 0x100, 0x2cc, 1},
	    {".text", EB_SHT_PROGBITS, EB_SHF_ALLOC | EB_SHF_EXECINSTR, text_addr,
	     0x100 + text_addr - 0x08000000, 0x40, text_align},
	};
	memset(elf, 0, sizeof(elf));
	elf_len = eb_build(elf, sizeof(elf), 0x08000001, ph, 1, sh, 2, 0x500);
	CU_ASSERT_FATAL(elf_len > 0);
	if (add() != FT_OK)
		return NULL;
	return ft_image_segment_at(image, 0);
}

static void test_alignment_padding_before_a_section_is_not_noted(void)
{
	/* 0x080002cc rounded up to .text's 16-byte alignment is 0x080002d0: 4 bytes of padding */
	const ft_segment *s = read_vectors_and_text(0x080002d0, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	FT_ASSERT_HEX(s->uncovered_bytes, 4);
	CU_ASSERT(!has_note("app.elf PT_LOAD[0]", "belong to no section"));
}

static void test_gap_wider_than_the_alignment_is_noted(void)
{
	/* .text 16-byte aligned could start at 0x080002d0; at 0x080002e0 16 bytes are not padding
	 */
	const ft_segment *s = read_vectors_and_text(0x080002e0, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	FT_ASSERT_HEX(s->uncovered_bytes, 0x14);
	CU_ASSERT(has_note("app.elf PT_LOAD[0]: 0x14 of its 0x320 bytes belong to no section",
	                   "first 0x080002cc-0x080002df"));
}

/* ld maps the ELF header and program headers into the lowest PT_LOAD when they fit, even when
 * that PT_LOAD holds only NOBITS sections (seen in an STM32N6 FSBL): its file bytes are then
 * the headers alone. */
static void test_ptload_of_only_the_headers_is_marked_headers_only(void)
{
	const eb_phdr ph[] = {
	    {EB_PT_LOAD, 0, 0x340c0000, 0x340c0000, EB_EHDR_SIZE + 2 * EB_PHDR_SIZE, 0x1000,
	     EB_PF_R | EB_PF_W},
	    {EB_PT_LOAD, 0x400, 0x34180400, 0x34180400, 0x40, 0x40, EB_PF_R | EB_PF_X},
	};
	const eb_shdr sh[] = {
	    {".bss", EB_SHT_NOBITS, EB_SHF_ALLOC | EB_SHF_WRITE, 0x340c0000, 0x400, 0x1000, 0},
	    {".text", EB_SHT_PROGBITS, EB_SHF_ALLOC | EB_SHF_EXECINSTR, 0x34180400, 0x400, 0x40, 0},
	};
	memset(elf, 0, sizeof(elf));
	elf_len = eb_build(elf, sizeof(elf), 0x34180401, ph, 2, sh, 2, 0x440);
	CU_ASSERT_FATAL(elf_len > 0);
	FT_ASSERT_HEX(add(), FT_OK);
	const ft_segment *headers = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(headers->size, 0x74);
	CU_ASSERT(headers->headers_only);
	FT_ASSERT_BYTES(headers->data, elf, 0x74);
	CU_ASSERT(has_note("app.elf PT_LOAD[0]: its 0x74 file bytes are only the ELF header and "
	                   "program headers",
	                   "nothing to program"));
	CU_ASSERT(!ft_image_segment_at(image, 1)->headers_only);
}

static void test_headers_before_sections_are_not_headers_only(void)
{
	FT_ASSERT_HEX(add(), FT_OK);
	CU_ASSERT(!ft_image_segment_at(image, 0)->headers_only);
}

static void test_data_section_gets_its_load_address(void)
{
	FT_ASSERT_HEX(add(), FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 1);
	FT_ASSERT_HEX(s->addr, 0x08000200);
	FT_ASSERT_HEX(s->run_addr, 0x24000000);
	FT_ASSERT_HEX(s->size, 0x1c);
	FT_ASSERT_HEX(s->mem_size, 0x11c);
	FT_ASSERT_HEX(s->uncovered_bytes, 0);
	FT_ASSERT_HEX(s->section_count, 2);
	CU_ASSERT_STRING_EQUAL(s->sections[0].name, ".data");
	FT_ASSERT_HEX(s->sections[0].addr, 0x08000200);
	CU_ASSERT(!s->sections[0].nobits);
	CU_ASSERT_STRING_EQUAL(s->sections[1].name, ".bss");
	FT_ASSERT_HEX(s->sections[1].addr, 0x0800021c);
	FT_ASSERT_HEX(s->sections[1].size, 0x100);
	CU_ASSERT(s->sections[1].nobits);
	FT_ASSERT_BYTES(s->data, elf + 0x200, 0x1c);
}

static void test_zero_filesz_ptload_is_kept_without_data(void)
{
	FT_ASSERT_HEX(add(), FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 2);
	FT_ASSERT_HEX(s->index, 3);
	FT_ASSERT_HEX(s->addr, 0x24000200);
	FT_ASSERT_HEX(s->size, 0);
	FT_ASSERT_HEX(s->mem_size, 0x600);
	CU_ASSERT_PTR_NULL(s->data);
	FT_ASSERT_HEX(s->section_count, 1);
	CU_ASSERT_STRING_EQUAL(s->sections[0].name, "._user_heap_stack");
	CU_ASSERT(has_note("app.elf PT_LOAD[3]", "no file bytes"));
	CU_ASSERT(has_note("app.elf PT_LOAD[3]", "._user_heap_stack"));
}

static void test_origin_names_program_header_index(void)
{
	FT_ASSERT_HEX(add(), FT_OK);
	char buf[64];
	ft_segment_origin(ft_image_segment_at(image, 1), buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "app.elf PT_LOAD[2]");
}

static void test_refuses_64_bit_class_naming_the_field(void)
{
	elf[EI_CLASS] = 2; /* ELFCLASS64 */
	expect_format_error("app.elf ELF header", "e_ident[EI_CLASS] is ELFCLASS64");
}

static void test_refuses_big_endian_naming_the_field(void)
{
	elf[EI_DATA] = 2; /* ELFDATA2MSB */
	expect_format_error("app.elf ELF header", "e_ident[EI_DATA] is ELFDATA2MSB");
}

static void test_refuses_other_machines_naming_the_field(void)
{
	eb_put16(elf + E_MACHINE, 62); /* EM_X86_64 */
	expect_format_error("app.elf ELF header", "e_machine is 62 (EM_X86_64");
}

static void test_refuses_relocatable_objects(void)
{
	eb_put16(elf + E_TYPE, 1); /* ET_REL */
	expect_format_error("app.elf ELF header", "ET_REL");
}

static void test_refuses_segment_past_end_of_file(void)
{
	eb_put32(elf + PH(2) + P_FILESZ, 0x10000);
	eb_put32(elf + PH(2) + P_MEMSZ, 0x10000);
	expect_format_error("app.elf program header 2", "p_filesz 0x10000 end past the file");
}

static void test_refuses_offset_plus_size_that_overflows(void)
{
	eb_put32(elf + PH(1) + P_OFFSET, 0xfffffff0);
	expect_format_error("app.elf program header 1", "p_offset 0xfffffff0");
}

static void test_refuses_filesz_above_memsz(void)
{
	eb_put32(elf + PH(2) + P_MEMSZ, 0x10);
	expect_format_error("app.elf program header 2",
	                    "p_filesz 0x1c is larger than p_memsz 0x10");
}

static void test_refuses_physical_address_wrapping_past_4gib(void)
{
	eb_put32(elf + PH(2) + P_PADDR, 0xffffff00);
	expect_format_error("app.elf program header 2", "p_paddr 0xffffff00 + p_memsz 0x11c wrap");
}

static void test_refuses_virtual_address_wrapping_past_4gib(void)
{
	eb_put32(elf + PH(3) + P_VADDR, 0xfffffe00);
	expect_format_error("app.elf program header 3", "p_vaddr 0xfffffe00");
}

static void test_refuses_program_headers_past_end_of_file(void)
{
	eb_put32(elf + E_PHOFF, (uint32_t)elf_len - 8);
	FT_ASSERT_HEX(add(), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "app.elf ELF header");
	FT_ASSERT_HEX(ft_image_segment_count(image), 0);
}

static void test_refuses_absurd_program_header_count(void)
{
	eb_put16(elf + E_PHNUM, 2000);
	expect_format_error("app.elf ELF header", "e_phnum is 2000");
}

static void test_refuses_section_headers_past_end_of_file(void)
{
	elf_len--; /* the last section header loses its last byte */
	expect_format_error("app.elf ELF header", "section headers end past the file");
}

static void test_refuses_ptloads_sharing_file_bytes(void)
{
	/* Program header 0 turned into a second PT_LOAD over the same 0x200 bytes as header 1:
	 * together more than the file holds. */
	eb_put32(elf + PH(0) + P_TYPE, EB_PT_LOAD);
	eb_put32(elf + PH(0) + P_OFFSET, 0);
	eb_put32(elf + PH(0) + P_FILESZ, 0x200);
	eb_put32(elf + PH(0) + P_MEMSZ, 0x200);
	expect_format_error("app.elf program header 1", "share file bytes");
}

static void test_refuses_section_past_end_of_file(void)
{
	/* Section 1 (.isr_vector): ELF 1.2 figure 1-8, sh_offset at +16. */
	size_t shoff = (size_t)elf[32] | (size_t)elf[33] << 8;
	eb_put32(elf + shoff + EB_SHDR_SIZE + 16, 0x7ffffff0);
	expect_format_error("app.elf section 1", ".isr_vector: sh_offset 0x7ffffff0");
}

static void test_refuses_section_name_outside_string_table(void)
{
	size_t shoff = (size_t)elf[32] | (size_t)elf[33] << 8;
	eb_put32(elf + shoff + 2 * EB_SHDR_SIZE, 0x10000); /* section 2's sh_name */
	expect_format_error("app.elf section 2", "sh_name 0x10000");
}

static void test_refuses_file_without_ptload(void)
{
	for (int i = 1; i <= 3; i++)
		eb_put32(elf + PH(i) + P_TYPE, 4); /* PT_NOTE */
	expect_format_error("app.elf ELF header", "no PT_LOAD");
}

static void test_refuses_non_elf_bytes(void)
{
	elf[1] = 'X';
	expect_format_error("app.elf ELF header", "not an ELF file");
}

static void test_file_without_section_headers_has_no_section_names(void)
{
	eb_put16(elf + E_SHNUM, 0);
	eb_put32(elf + 32, 0); /* e_shoff */
	eb_put16(elf + 50, 0); /* e_shstrndx */
	FT_ASSERT_HEX(add(), FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->section_count, 0);
	FT_ASSERT_HEX(s->uncovered_bytes, 0x200);
	CU_ASSERT(has_note("app.elf has no section headers", NULL));
}

static void test_every_truncation_is_refused_or_read(void)
{
	/* Each prefix either fails cleanly, leaving the image empty, or reads. */
	for (size_t len = 0; len <= elf_len; len++) {
		ft_image *img = ft_image_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(img);
		ft_diag d;
		ft_error err =
		    ft_image_add_buffer(img, "cut.elf", FT_IMAGE_ELF, elf, len, false, 0, &d);
		if (err != FT_OK) {
			CU_ASSERT(err == FT_ERR_FORMAT);
			CU_ASSERT(ft_image_segment_count(img) == 0);
		}
		ft_image_free(img);
	}
}

static void test_failed_file_leaves_earlier_file_intact(void)
{
	FT_ASSERT_HEX(add(), FT_OK);
	size_t notes = ft_image_note_count(image);
	eb_put16(elf + E_MACHINE, 3);
	FT_ASSERT_HEX(
	    ft_image_add_buffer(image, "bad.elf", FT_IMAGE_ELF, elf, elf_len, false, 0, &diag),
	    FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_image_segment_count(image), 3);
	FT_ASSERT_HEX(ft_image_note_count(image), notes);
	FT_ASSERT_HEX(ft_image_file_count(image), 1);
	CU_ASSERT_STRING_EQUAL(ft_image_segment_at(image, 0)->sections[1].name, ".text");
}

static CU_TestInfo tests[] = {
    {"loads_every_ptload_by_physical_address", test_loads_every_ptload_by_physical_address},
    {"headers_in_first_ptload_are_uncovered_bytes",
     test_headers_in_first_ptload_are_uncovered_bytes},
    {"alignment_padding_before_a_section_is_not_noted",
     test_alignment_padding_before_a_section_is_not_noted},
    {"gap_wider_than_the_alignment_is_noted", test_gap_wider_than_the_alignment_is_noted},
    {"ptload_of_only_the_headers_is_marked_headers_only",
     test_ptload_of_only_the_headers_is_marked_headers_only},
    {"headers_before_sections_are_not_headers_only",
     test_headers_before_sections_are_not_headers_only},
    {"data_section_gets_its_load_address", test_data_section_gets_its_load_address},
    {"zero_filesz_ptload_is_kept_without_data", test_zero_filesz_ptload_is_kept_without_data},
    {"origin_names_program_header_index", test_origin_names_program_header_index},
    {"refuses_64_bit_class_naming_the_field", test_refuses_64_bit_class_naming_the_field},
    {"refuses_big_endian_naming_the_field", test_refuses_big_endian_naming_the_field},
    {"refuses_other_machines_naming_the_field", test_refuses_other_machines_naming_the_field},
    {"refuses_relocatable_objects", test_refuses_relocatable_objects},
    {"refuses_segment_past_end_of_file", test_refuses_segment_past_end_of_file},
    {"refuses_offset_plus_size_that_overflows", test_refuses_offset_plus_size_that_overflows},
    {"refuses_filesz_above_memsz", test_refuses_filesz_above_memsz},
    {"refuses_physical_address_wrapping_past_4gib",
     test_refuses_physical_address_wrapping_past_4gib},
    {"refuses_virtual_address_wrapping_past_4gib", test_refuses_virtual_address_wrapping_past_4gib},
    {"refuses_program_headers_past_end_of_file", test_refuses_program_headers_past_end_of_file},
    {"refuses_absurd_program_header_count", test_refuses_absurd_program_header_count},
    {"refuses_ptloads_sharing_file_bytes", test_refuses_ptloads_sharing_file_bytes},
    {"refuses_section_headers_past_end_of_file", test_refuses_section_headers_past_end_of_file},
    {"refuses_section_past_end_of_file", test_refuses_section_past_end_of_file},
    {"refuses_section_name_outside_string_table", test_refuses_section_name_outside_string_table},
    {"refuses_file_without_ptload", test_refuses_file_without_ptload},
    {"refuses_non_elf_bytes", test_refuses_non_elf_bytes},
    {"file_without_section_headers_has_no_section_names",
     test_file_without_section_headers_has_no_section_names},
    {"every_truncation_is_refused_or_read", test_every_truncation_is_refused_or_read},
    {"failed_file_leaves_earlier_file_intact", test_failed_file_leaves_earlier_file_intact},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_elf", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
