/* ft_image_finish: bytes held by several segments stay with the one read first and must agree;
 * later segments are kept, trimmed, split or dropped, with a note; a disagreement is an error
 * naming both origins and the range, and leaves the image as it was. */
#include <stdlib.h>
#include <string.h>

#include "models/tests/ft_test.h"
#include "programmer/image/image.h"
#include "programmer/tests/elf_builder.h"

static ft_image *image;
static ft_diag diag;
static uint8_t bytes[256]; /* bytes[i] = i: every segment takes its data at its address & 0xff */

static void setup(void)
{
	image = ft_image_new();
	ft_diag_clear(&diag);
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
}

static void teardown(void)
{
	ft_image_free(image);
}

/* A raw binary of the pattern over [addr, addr + len), addr & 0xff + len <= 256. */
static void add_bin(const char *name, uint32_t addr, size_t len)
{
	FT_ASSERT_HEX(ft_image_add_buffer(image, name, FT_IMAGE_BIN, bytes + (addr & 0xff), len,
	                                  true, addr, &diag),
	              FT_OK);
}

static const ft_segment *seg(size_t i)
{
	const ft_segment *s = ft_image_segment_at(image, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void expect_segment(size_t i, const char *file, uint32_t addr, uint32_t size)
{
	const ft_segment *s = seg(i);
	CU_ASSERT_STRING_EQUAL(s->file, file);
	FT_ASSERT_HEX(s->addr, addr);
	FT_ASSERT_HEX(s->size, size);
	FT_ASSERT_BYTES(s->data, bytes + (addr & 0xff), size);
}

static bool has_note(const char *text)
{
	for (size_t i = 0; i < ft_image_note_count(image); i++)
		if (strstr(ft_image_note_at(image, i), text))
			return true;
	return false;
}

static void test_identical_copy_in_a_later_file_is_dropped_with_a_note(void)
{
	add_bin("a.bin", 0x08000000, 16);
	add_bin("b.bin", 0x08000000, 16);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	expect_segment(0, "a.bin", 0x08000000, 16);
	CU_ASSERT(has_note("b.bin (0x08000000-0x0800000f) repeats 0x10 bytes of a.bin with "
	                   "identical content: dropped as a duplicate"));
}

static void test_partial_overlap_trims_the_later_segment(void)
{
	add_bin("a.bin", 0x1000, 16);
	add_bin("b.bin", 0x1008, 16);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	expect_segment(0, "a.bin", 0x1000, 16);
	expect_segment(1, "b.bin", 0x1010, 8);
	CU_ASSERT(has_note("the other 0x8 bytes remain as 1 segment"));
}

static void test_later_segment_around_an_earlier_one_is_split(void)
{
	add_bin("a.bin", 0x1004, 4);
	add_bin("b.bin", 0x1000, 16);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 3);
	expect_segment(0, "a.bin", 0x1004, 4);
	expect_segment(1, "b.bin", 0x1000, 4);
	expect_segment(2, "b.bin", 0x1008, 8);
	CU_ASSERT(has_note("remain as 2 segments"));
}

static void test_chained_overlaps_each_keep_only_new_bytes(void)
{
	add_bin("a.bin", 0x2000, 10);
	add_bin("b.bin", 0x2005, 10);
	add_bin("c.bin", 0x200c, 8);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 3);
	expect_segment(0, "a.bin", 0x2000, 10);
	expect_segment(1, "b.bin", 0x200a, 5);
	expect_segment(2, "c.bin", 0x200f, 5);
}

static void test_touching_segments_stay_separate(void)
{
	add_bin("a.bin", 0x3000, 8);
	add_bin("b.bin", 0x3008, 8);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	FT_ASSERT_HEX(ft_image_note_count(image), 0);
}

static void test_different_bytes_are_an_error_naming_both_origins(void)
{
	/* b.hex holds 0xaa where a.bin holds 0x0a (at 0x100a). */
	static const char hex[] = ":1010000000010203040506070809AA0B0C0D0E0FC8\n:00000001FF\n";
	add_bin("a.bin", 0x1008, 8);
	FT_ASSERT_HEX(ft_image_add_buffer(image, "b.hex", FT_IMAGE_IHEX, (const uint8_t *)hex,
	                                  strlen(hex), false, 0, &diag),
	              FT_OK);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_ERR_OVERLAP);
	CU_ASSERT_STRING_EQUAL(diag.origin, "b.hex line 1");
	CU_ASSERT_STRING_EQUAL(diag.message, "a.bin and b.hex line 1 overlap at "
	                                     "0x00001008-0x0000100f with different bytes (first "
	                                     "at 0x0000100a: 0x0a vs 0xaa)");
	/* Unchanged: both segments whole, no note. */
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	expect_segment(0, "a.bin", 0x1008, 8);
	FT_ASSERT_HEX(seg(1)->size, 16);
	FT_ASSERT_HEX(ft_image_note_count(image), 0);
}

static void test_elf_ptloads_with_different_bytes_are_an_error(void)
{
	/* CATALOGUE I09: PT_LOAD[0] 0x08000000+0x20 and PT_LOAD[1] 0x08000010+0x10, other bytes. */
	uint8_t elf[1024] = {0};
	eb_phdr ph[2] = {
	    {EB_PT_LOAD, 0x100, 0x08000000, 0x08000000, 0x20, 0x20, EB_PF_R},
	    {EB_PT_LOAD, 0x120, 0x08000010, 0x08000010, 0x10, 0x10, EB_PF_R},
	};
	memset(elf + 0x100, 0x11, 0x20);
	memset(elf + 0x120, 0x22, 0x10);
	size_t len = eb_build(elf, sizeof(elf), 0, ph, 2, NULL, 0, 0x130);
	CU_ASSERT_FATAL(len > 0);
	FT_ASSERT_HEX(
	    ft_image_add_buffer(image, "app.elf", FT_IMAGE_ELF, elf, len, false, 0, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_ERR_OVERLAP);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "app.elf PT_LOAD[0] and app.elf PT_LOAD[1] "
	                                            "overlap at 0x08000010-0x0800001f"));
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
}

static void test_trimmed_elf_piece_keeps_the_sections_it_holds(void)
{
	uint8_t elf[1024] = {0};
	eb_phdr ph = {EB_PT_LOAD, 0x100, 0x08000000, 0x08000000, 0x40, 0x40, EB_PF_R | EB_PF_X};
	eb_shdr sh[2] = {
	    {".isr_vector", EB_SHT_PROGBITS, EB_SHF_ALLOC, 0x08000000, 0x100, 0x10, 0},
	    {".text", EB_SHT_PROGBITS, EB_SHF_ALLOC | EB_SHF_EXECINSTR, 0x08000010, 0x110, 0x30, 0},
	};
	memcpy(elf + 0x100, bytes, 0x40);
	size_t len = eb_build(elf, sizeof(elf), 0, &ph, 1, sh, 2, 0x140);
	CU_ASSERT_FATAL(len > 0);
	add_bin("vectors.bin", 0x08000000, 0x10);
	FT_ASSERT_HEX(
	    ft_image_add_buffer(image, "app.elf", FT_IMAGE_ELF, elf, len, false, 0, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	const ft_segment *s = seg(1);
	FT_ASSERT_HEX(s->addr, 0x08000010);
	FT_ASSERT_HEX(s->size, 0x30);
	FT_ASSERT_HEX(s->mem_size, 0x30);
	FT_ASSERT_HEX(s->run_addr, 0x08000010);
	FT_ASSERT_HEX(s->index, 0);
	FT_ASSERT_HEX(s->section_count, 1);
	CU_ASSERT_STRING_EQUAL(s->sections[0].name, ".text");
	FT_ASSERT_HEX(s->uncovered_bytes, 0);
	FT_ASSERT_BYTES(s->data, bytes + 0x10, 0x30);
}

static void test_zero_size_segments_take_no_part(void)
{
	uint8_t elf[1024] = {0};
	eb_phdr ph = {EB_PT_LOAD, 0x100, 0x1000, 0x1000, 0, 0x100, EB_PF_R | EB_PF_W};
	size_t len = eb_build(elf, sizeof(elf), 0, &ph, 1, NULL, 0, 0x100);
	CU_ASSERT_FATAL(len > 0);
	FT_ASSERT_HEX(
	    ft_image_add_buffer(image, "bss.elf", FT_IMAGE_ELF, elf, len, false, 0, &diag), FT_OK);
	add_bin("a.bin", 0x1000, 16);
	size_t notes = ft_image_note_count(image);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	FT_ASSERT_HEX(seg(0)->size, 0);
	FT_ASSERT_HEX(ft_image_note_count(image), notes);
}

static void test_finish_twice_changes_nothing_more(void)
{
	add_bin("a.bin", 0x1000, 16);
	add_bin("b.bin", 0x1008, 16);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	size_t notes = ft_image_note_count(image);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	FT_ASSERT_HEX(ft_image_note_count(image), notes);
	FT_ASSERT_HEX(ft_image_finish(NULL, &diag), FT_ERR_INVALID_ARG);
}

static CU_TestInfo tests[] = {
    {"identical_copy_in_a_later_file_is_dropped_with_a_note",
     test_identical_copy_in_a_later_file_is_dropped_with_a_note},
    {"partial_overlap_trims_the_later_segment", test_partial_overlap_trims_the_later_segment},
    {"later_segment_around_an_earlier_one_is_split",
     test_later_segment_around_an_earlier_one_is_split},
    {"chained_overlaps_each_keep_only_new_bytes", test_chained_overlaps_each_keep_only_new_bytes},
    {"touching_segments_stay_separate", test_touching_segments_stay_separate},
    {"different_bytes_are_an_error_naming_both_origins",
     test_different_bytes_are_an_error_naming_both_origins},
    {"elf_ptloads_with_different_bytes_are_an_error",
     test_elf_ptloads_with_different_bytes_are_an_error},
    {"trimmed_elf_piece_keeps_the_sections_it_holds",
     test_trimmed_elf_piece_keeps_the_sections_it_holds},
    {"zero_size_segments_take_no_part", test_zero_size_segments_take_no_part},
    {"finish_twice_changes_nothing_more", test_finish_twice_changes_nothing_more},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_overlap", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
