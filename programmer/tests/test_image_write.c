/* Writing segments as raw binary, Intel HEX and Motorola SREC. Expected records are written out
 * by hand from the format documents (Intel HEX rev A; Motorola S-record, srec(5)); round trips go
 * through the image readers. */
#include "models/tests/ft_test.h"
#include "programmer/image/image_write.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *out;
static size_t out_len;
static ft_diag diag;

static void setup(void)
{
	out = NULL;
	out_len = 0;
	ft_diag_clear(&diag);
}

static void teardown(void)
{
	free(out);
}

static ft_segment seg(uint32_t addr, const uint8_t *data, uint32_t size)
{
	ft_segment s;
	memset(&s, 0, sizeof(s));
	s.addr = addr;
	s.size = size;
	s.mem_size = size;
	s.run_addr = addr;
	s.data = data;
	s.index = -1;
	return s;
}

static ft_error encode(const ft_segment *segs, size_t n, ft_image_format format, bool entry,
                       const char *header)
{
	ft_image_write_options o = {
	    .format = format, .has_entry = entry, .entry = 0x08000199, .header = header};
	free(out);
	out = NULL;
	return ft_image_encode(segs, n, &o, &out, &out_len, &diag);
}

static void assert_text(const char *expected)
{
	size_t n = strlen(expected);
	FT_ASSERT_HEX(out_len, n);
	if (out_len == n)
		CU_ASSERT_NSTRING_EQUAL((const char *)out, expected, n);
}

static const uint8_t counting[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

static void test_bin_starts_at_the_lowest_address_and_fills_gaps_with_ff(void)
{
	ft_segment s[2] = {seg(0x08000010, counting, 4), seg(0x08000000, counting + 8, 2)};
	FT_ASSERT_HEX(encode(s, 2, FT_IMAGE_BIN, false, NULL), FT_OK);
	static const uint8_t expected[20] = {8,    9,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                                     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                                     0xFF, 0xFF, 0,    1,    2,    3};
	FT_ASSERT_HEX(out_len, sizeof(expected));
	FT_ASSERT_BYTES(out, expected, sizeof(expected));
}

static void test_bin_spanning_flash_and_ram_is_refused(void)
{
	ft_segment s[2] = {seg(0x08000000, counting, 4), seg(0x30000000, counting, 4)};
	FT_ASSERT_HEX(encode(s, 2, FT_IMAGE_BIN, false, NULL), FT_ERR_RANGE);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "0x08000000 to 0x30000003"));
}

static void test_ihex_records_never_cross_64k_and_end_with_start_and_eof(void)
{
	ft_segment s = seg(0x0800FFF8, counting, 12);
	FT_ASSERT_HEX(encode(&s, 1, FT_IMAGE_IHEX, true, NULL), FT_OK);
	/* :LLAAAATT DD.. CC, CC = two's complement of the byte sum */
	assert_text(":020000040800F2\n"
	            ":08FFF8000001020304050607E5\n"
	            ":020000040801F1\n"
	            ":0400000008090A0BD6\n"
	            ":040000050800019955\n"
	            ":00000001FF\n");
}

static void test_srec_writes_s0_s3_and_s7_with_the_entry(void)
{
	ft_segment s = seg(0x08000000, counting, 3);
	FT_ASSERT_HEX(encode(&s, 1, FT_IMAGE_SREC, true, "ab"), FT_OK);
	/* SnCCAA..DD..SS, SS = one's complement of the sum of count, address and data */
	assert_text("S0050000616237\n"
	            "S30808000000000102EC\n"
	            "S7050800019958\n");
}

static void test_text_forms_read_back_as_the_same_segments(void)
{
	uint8_t big[100];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	ft_segment s[2] = {seg(0x08000000, big, sizeof(big)), seg(0x0801FFF0, counting, 24)};
	ft_image_format formats[2] = {FT_IMAGE_IHEX, FT_IMAGE_SREC};
	for (size_t f = 0; f < 2; f++) {
		FT_ASSERT_HEX(encode(s, 2, formats[f], false, NULL), FT_OK);
		ft_image *image = ft_image_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(image);
		FT_ASSERT_HEX(
		    ft_image_add_buffer(image, "out", formats[f], out, out_len, false, 0, &diag),
		    FT_OK);
		FT_ASSERT_HEX(ft_image_segment_count(image), 2);
		for (size_t i = 0; i < 2 && i < ft_image_segment_count(image); i++) {
			const ft_segment *r = ft_image_segment_at(image, i);
			FT_ASSERT_HEX(r->addr, s[i].addr);
			FT_ASSERT_HEX(r->size, s[i].size);
			FT_ASSERT_BYTES(r->data, s[i].data, s[i].size);
		}
		ft_image_free(image);
	}
}

static void test_empty_segments_are_left_out_and_nothing_is_refused(void)
{
	ft_segment s[2] = {seg(0x24000000, NULL, 0), seg(0x08000000, counting, 1)};
	FT_ASSERT_HEX(encode(s, 2, FT_IMAGE_BIN, false, NULL), FT_OK);
	FT_ASSERT_HEX(out_len, 1);
	FT_ASSERT_HEX(encode(s, 1, FT_IMAGE_IHEX, false, NULL), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "no segment carries data"));
}

static void test_overlapping_segments_are_refused(void)
{
	ft_segment s[2] = {seg(0x08000000, counting, 8), seg(0x08000004, counting, 8)};
	FT_ASSERT_HEX(encode(s, 2, FT_IMAGE_SREC, false, NULL), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "overlap"));
}

static void test_dfuse_goes_through_the_dfuse_writer(void)
{
	ft_segment s = seg(0x08000000, counting, 4);
	FT_ASSERT_HEX(encode(&s, 1, FT_IMAGE_DFUSE, false, NULL), FT_OK);
	/* prefix 11 + target 274 + element 8 + 4 data + suffix 16 */
	FT_ASSERT_HEX(out_len, 11 + 274 + 8 + 4 + 16);
	FT_ASSERT_BYTES(out, "DfuSe", 5);
	FT_ASSERT_HEX(encode(&s, 1, FT_IMAGE_ELF, false, NULL), FT_ERR_INVALID_ARG);
}

static void test_file_is_written_and_unwritable_path_is_an_io_error(void)
{
	ft_segment s = seg(0x08000000, counting, 4);
	char path[] = "/tmp/ft-write-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	ft_image_write_options o = {.format = FT_IMAGE_BIN};
	FT_ASSERT_HEX(ft_image_write(&s, 1, &o, path, &diag), FT_OK);
	uint8_t back[8];
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	FT_ASSERT_HEX(fread(back, 1, sizeof(back), f), 4);
	fclose(f);
	FT_ASSERT_BYTES(back, counting, 4);
	unlink(path);
	FT_ASSERT_HEX(ft_image_write(&s, 1, &o, "/nonexistent/dir/x.bin", &diag), FT_ERR_IO);
	CU_ASSERT_STRING_EQUAL(diag.origin, "/nonexistent/dir/x.bin");
}

static CU_TestInfo tests[] = {
    {"bin_starts_at_the_lowest_address_and_fills_gaps_with_ff",
     test_bin_starts_at_the_lowest_address_and_fills_gaps_with_ff},
    {"bin_spanning_flash_and_ram_is_refused", test_bin_spanning_flash_and_ram_is_refused},
    {"ihex_records_never_cross_64k_and_end_with_start_and_eof",
     test_ihex_records_never_cross_64k_and_end_with_start_and_eof},
    {"srec_writes_s0_s3_and_s7_with_the_entry", test_srec_writes_s0_s3_and_s7_with_the_entry},
    {"text_forms_read_back_as_the_same_segments", test_text_forms_read_back_as_the_same_segments},
    {"empty_segments_are_left_out_and_nothing_is_refused",
     test_empty_segments_are_left_out_and_nothing_is_refused},
    {"overlapping_segments_are_refused", test_overlapping_segments_are_refused},
    {"dfuse_goes_through_the_dfuse_writer", test_dfuse_goes_through_the_dfuse_writer},
    {"file_is_written_and_unwritable_path_is_an_io_error",
     test_file_is_written_and_unwritable_path_is_an_io_error},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_write", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
