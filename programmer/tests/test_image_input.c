/* Reading files: raw binaries and their address ("FILE@ADDR", --address), format detection,
 * address parsing, file errors, provenance strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/tests/ft_test.h"
#include "programmer/image/image.h"
#include "programmer/tests/elf_builder.h"

static ft_image *image;
static ft_diag diag;
static char dir[64];

static const char hex[] = ":0400000001020304F2\n:00000001FF\n";
static const char srec[] = "S10B10000001020304050607C8\nS9031001EB\n";
static const uint8_t blob[6] = {0x00, 0x00, 0x02, 0x20, 0x41, 0x01};

static void setup(void)
{
	image = ft_image_new();
	ft_diag_clear(&diag);
	snprintf(dir, sizeof(dir), "/tmp/ft_image_XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

static void teardown(void)
{
	ft_image_free(image);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Writes a file in the test directory; returns its path (static buffer). */
static const char *write_file(const char *name, const void *bytes, size_t len)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT(fwrite(bytes, 1, len, f) == len);
	fclose(f);
	return path;
}

static ft_error add_path(const char *path, bool has_address, uint32_t address)
{
	ft_image_input in = {path, FT_IMAGE_AUTO, has_address, address};
	return ft_image_add_file(image, &in, &diag);
}

static ft_image_format format_of(const char *name, const void *bytes, size_t len)
{
	const char *path = write_file(name, bytes, len);
	if (add_path(path, true, 0x08000000) != FT_OK)
		return FT_IMAGE_AUTO;
	return ft_image_file_at(image, ft_image_file_count(image) - 1)->format;
}

static void test_raw_binary_without_address_is_refused(void)
{
	FT_ASSERT_HEX(ft_image_add_buffer(image, "fw.bin", FT_IMAGE_BIN, blob, 6, false, 0, &diag),
	              FT_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(diag.origin, "fw.bin");
	CU_ASSERT_STRING_EQUAL(diag.message, "raw binary needs an address: FILE@ADDR or --address");
	FT_ASSERT_HEX(ft_image_segment_count(image), 0);
}

static void test_raw_binary_is_one_segment_at_its_address(void)
{
	FT_ASSERT_HEX(
	    ft_image_add_buffer(image, "fw.bin", FT_IMAGE_BIN, blob, 6, true, 0x08020000, &diag),
	    FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0x08020000);
	FT_ASSERT_HEX(s->size, 6);
	FT_ASSERT_HEX(s->index, -1);
	FT_ASSERT_BYTES(s->data, blob, 6);
	char origin[32];
	ft_segment_origin(s, origin, sizeof(origin));
	CU_ASSERT_STRING_EQUAL(origin, "fw.bin");
}

static void test_raw_binary_past_4gib_is_a_range_error(void)
{
	FT_ASSERT_HEX(
	    ft_image_add_buffer(image, "fw.bin", FT_IMAGE_BIN, blob, 6, true, 0xfffffffc, &diag),
	    FT_ERR_RANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "6 bytes at 0xfffffffc"));
}

static void test_at_suffix_gives_the_address_and_is_not_part_of_the_path(void)
{
	const char *path = write_file("fw.bin", blob, 6);
	char at[160];
	snprintf(at, sizeof(at), "%s@0x0800_4000", path);
	FT_ASSERT_HEX(add_path(at, false, 0), FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0x08004000);
	CU_ASSERT_STRING_EQUAL(s->file, path);
	CU_ASSERT_STRING_EQUAL(ft_image_file_at(image, 0)->path, path);
	FT_ASSERT_HEX(ft_image_file_at(image, 0)->size, 6);
}

static void test_address_option_serves_raw_binaries(void)
{
	FT_ASSERT_HEX(add_path(write_file("fw.bin", blob, 6), true, 0x24000000), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_at(image, 0)->addr, 0x24000000);
}

static void test_at_suffix_disagreeing_with_address_option_is_refused(void)
{
	char at[160];
	snprintf(at, sizeof(at), "%s@0x08000000", write_file("fw.bin", blob, 6));
	FT_ASSERT_HEX(add_path(at, true, 0x08100000), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "@0x08000000 differs"));
}

static void test_at_suffix_on_a_hex_file_is_refused(void)
{
	char at[160];
	snprintf(at, sizeof(at), "%s@0x08000000", write_file("app.hex", hex, strlen(hex)));
	FT_ASSERT_HEX(add_path(at, false, 0), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "raw binaries only; this file is ihex"));
	FT_ASSERT_HEX(ft_image_segment_count(image), 0);
}

static void test_address_option_is_ignored_by_formats_with_addresses(void)
{
	FT_ASSERT_HEX(add_path(write_file("app.hex", hex, strlen(hex)), true, 0x08000000), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_at(image, 0)->addr, 0);
}

static void test_content_decides_before_the_extension(void)
{
	uint8_t elf[1024];
	eb_phdr ph = {EB_PT_LOAD, 0x100, 0x08000000, 0x08000000, 4, 4, EB_PF_R};
	size_t elf_len = eb_build(elf, sizeof(elf), 0, &ph, 1, NULL, 0, 0x104);
	CU_ASSERT_FATAL(elf_len > 0);
	FT_ASSERT_HEX(format_of("firmware.hex", elf, elf_len), FT_IMAGE_ELF);
	FT_ASSERT_HEX(format_of("firmware.txt", hex, strlen(hex)), FT_IMAGE_IHEX);
	FT_ASSERT_HEX(format_of("firmware.hex", srec, strlen(srec)), FT_IMAGE_SREC);
	FT_ASSERT_HEX(format_of("firmware", blob, sizeof(blob)), FT_IMAGE_BIN);
}

static void test_bin_extension_beats_text_that_looks_like_records(void)
{
	FT_ASSERT_HEX(format_of("colon.BIN", hex, strlen(hex)), FT_IMAGE_BIN);
}

static void test_extension_decides_when_content_says_nothing(void)
{
	const char *path = write_file("broken.s19", "\n\n", 2);
	FT_ASSERT_HEX(add_path(path, false, 0), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "no termination record"));
}

static void test_unrecognised_content_without_address_is_refused(void)
{
	FT_ASSERT_HEX(add_path(write_file("firmware.img", blob, 6), false, 0), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(diag.message, "not recognised as ELF, DfuSe, Intel HEX or SREC"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "FILE@ADDR or --address"));
}

static void test_missing_file_is_not_found(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/none.elf", dir);
	FT_ASSERT_HEX(add_path(path, false, 0), FT_ERR_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(diag.origin, path);
}

static void test_directory_is_an_io_error(void)
{
	FT_ASSERT_HEX(add_path(dir, true, 0x08000000), FT_ERR_IO);
}

static void test_empty_file_is_refused(void)
{
	FT_ASSERT_HEX(add_path(write_file("empty.hex", "", 0), false, 0), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.message, "the file is empty");
}

static void test_first_entry_point_wins(void)
{
	uint32_t entry = 0;
	CU_ASSERT(!ft_image_entry(image, &entry));
	FT_ASSERT_HEX(add_path(write_file("a.srec", srec, strlen(srec)), false, 0), FT_OK);
	static const char hex_entry[] = ":0400000508000141AD\n:00000001FF\n";
	FT_ASSERT_HEX(add_path(write_file("b.hex", hex_entry, strlen(hex_entry)), false, 0), FT_OK);
	CU_ASSERT(ft_image_entry(image, &entry));
	FT_ASSERT_HEX(entry, 0x1001);
}

static void test_parse_address_accepts_hex_decimal_and_underscores(void)
{
	uint32_t v = 0;
	CU_ASSERT(ft_parse_address("0x08000000", &v));
	FT_ASSERT_HEX(v, 0x08000000);
	CU_ASSERT(ft_parse_address("134217728", &v));
	FT_ASSERT_HEX(v, 0x08000000);
	CU_ASSERT(ft_parse_address("0X0800_00fF", &v));
	FT_ASSERT_HEX(v, 0x080000ff);
	CU_ASSERT(ft_parse_address("0", &v));
	FT_ASSERT_HEX(v, 0);
	CU_ASSERT(ft_parse_address("0xFFFFFFFF", &v));
	FT_ASSERT_HEX(v, 0xffffffff);
}

static void test_parse_address_refuses_everything_else(void)
{
	static const char *const bad[] = {
	    "",      "0x",         "0x1_", "0x_1",  "0x1__0", "0x100000000", "-1",    " 0x10",
	    "0x10 ", "4294967296", "010",  "0x12g", "12abc",  "+5",          "0b101", "_1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 0x5a5a5a5a;
		CU_ASSERT(!ft_parse_address(bad[i], &v));
		FT_ASSERT_HEX(v, 0x5a5a5a5a);
	}
}

static void test_format_names_are_stable(void)
{
	CU_ASSERT_STRING_EQUAL(ft_image_format_name(FT_IMAGE_ELF), "elf");
	CU_ASSERT_STRING_EQUAL(ft_image_format_name(FT_IMAGE_IHEX), "ihex");
	CU_ASSERT_STRING_EQUAL(ft_image_format_name(FT_IMAGE_SREC), "srec");
	CU_ASSERT_STRING_EQUAL(ft_image_format_name(FT_IMAGE_BIN), "bin");
	CU_ASSERT_STRING_EQUAL(ft_image_format_name(FT_IMAGE_DFUSE), "dfuse");
	CU_ASSERT_STRING_EQUAL(ft_image_format_name(FT_IMAGE_AUTO), "auto");
}

static void test_origin_of_a_single_line_segment_says_line(void)
{
	FT_ASSERT_HEX(ft_image_add_buffer(image, "one.hex", FT_IMAGE_IHEX, (const uint8_t *)hex,
	                                  strlen(hex), false, 0, &diag),
	              FT_OK);
	char origin[16];
	ft_segment_origin(ft_image_segment_at(image, 0), origin, sizeof(origin));
	CU_ASSERT_STRING_EQUAL(origin, "one.hex line 1");
	CU_ASSERT_PTR_NULL(ft_image_segment_at(image, 1));
	CU_ASSERT_PTR_NULL(ft_image_note_at(image, 0));
	CU_ASSERT_PTR_NULL(ft_image_file_at(image, 1));
}

static CU_TestInfo tests[] = {
    {"raw_binary_without_address_is_refused", test_raw_binary_without_address_is_refused},
    {"raw_binary_is_one_segment_at_its_address", test_raw_binary_is_one_segment_at_its_address},
    {"raw_binary_past_4gib_is_a_range_error", test_raw_binary_past_4gib_is_a_range_error},
    {"at_suffix_gives_the_address_and_is_not_part_of_the_path",
     test_at_suffix_gives_the_address_and_is_not_part_of_the_path},
    {"address_option_serves_raw_binaries", test_address_option_serves_raw_binaries},
    {"at_suffix_disagreeing_with_address_option_is_refused",
     test_at_suffix_disagreeing_with_address_option_is_refused},
    {"at_suffix_on_a_hex_file_is_refused", test_at_suffix_on_a_hex_file_is_refused},
    {"address_option_is_ignored_by_formats_with_addresses",
     test_address_option_is_ignored_by_formats_with_addresses},
    {"content_decides_before_the_extension", test_content_decides_before_the_extension},
    {"bin_extension_beats_text_that_looks_like_records",
     test_bin_extension_beats_text_that_looks_like_records},
    {"extension_decides_when_content_says_nothing",
     test_extension_decides_when_content_says_nothing},
    {"unrecognised_content_without_address_is_refused",
     test_unrecognised_content_without_address_is_refused},
    {"missing_file_is_not_found", test_missing_file_is_not_found},
    {"directory_is_an_io_error", test_directory_is_an_io_error},
    {"empty_file_is_refused", test_empty_file_is_refused},
    {"first_entry_point_wins", test_first_entry_point_wins},
    {"parse_address_accepts_hex_decimal_and_underscores",
     test_parse_address_accepts_hex_decimal_and_underscores},
    {"parse_address_refuses_everything_else", test_parse_address_refuses_everything_else},
    {"format_names_are_stable", test_format_names_are_stable},
    {"origin_of_a_single_line_segment_says_line", test_origin_of_a_single_line_segment_says_line},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_input", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
