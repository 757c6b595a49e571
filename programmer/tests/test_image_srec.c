/* The Motorola S-record reader: S0 header, S1/S2/S3 data, S5/S6 counts, S7/S8/S9 start
 * addresses, checksums and line numbers. Checksums in the literals are the ones' complement of
 * the low byte of the sum of count, address and data (srec(5)). */
#include <stdlib.h>
#include <string.h>

#include "programmer/tests/image_text_harness.h"

/* Header "app.srec", 16 bytes at 0x1000 in two records, count 2, start 0x1001. */
static const char basic[] = "S00B00006170702E73726563D8\n"
                            "S10B10000001020304050607C8\n"
                            "S10B100808090A0B0C0D0E0F80\n"
                            "S5030002FA\n"
                            "S9031001EB\n";

static const uint8_t seq16[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static ft_error add(const char *text)
{
	return add_text("app.srec", FT_IMAGE_SREC, text);
}

static void expect_error(const char *text, ft_error code, const char *origin, const char *what)
{
	expect_refused(add(text), code, origin, what);
	FT_ASSERT_HEX(ft_image_file_count(image), 0);
}

static void test_s1_records_form_one_segment_with_lines(void)
{
	FT_ASSERT_HEX(add(basic), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0x1000);
	FT_ASSERT_HEX(s->size, 16);
	FT_ASSERT_HEX(s->format, FT_IMAGE_SREC);
	FT_ASSERT_HEX(s->first_line, 2);
	FT_ASSERT_HEX(s->last_line, 3);
	FT_ASSERT_BYTES(s->data, seq16, 16);
	char origin[64];
	ft_segment_origin(s, origin, sizeof(origin));
	CU_ASSERT_STRING_EQUAL(origin, "app.srec lines 2-3");
}

static void test_s0_header_and_s9_start_are_kept(void)
{
	FT_ASSERT_HEX(add(basic), FT_OK);
	const ft_image_file *f = ft_image_file_at(image, 0);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_STRING_EQUAL(f->header, "app.srec");
	CU_ASSERT(f->has_entry);
	FT_ASSERT_HEX(f->entry, 0x1001);
	FT_ASSERT_HEX(f->format, FT_IMAGE_SREC);
}

static void test_s2_s3_addresses_s6_count_and_s7_start(void)
{
	FT_ASSERT_HEX(add("S206123456AABBF8\nS30690000000CC9D\nS604000002F9\nS7059000000169\n"),
	              FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	FT_ASSERT_HEX(ft_image_segment_at(image, 0)->addr, 0x123456);
	FT_ASSERT_BYTES(ft_image_segment_at(image, 0)->data, "\xaa\xbb", 2);
	FT_ASSERT_HEX(ft_image_segment_at(image, 1)->addr, 0x90000000);
	FT_ASSERT_HEX(ft_image_segment_at(image, 1)->first_line, 2);
	uint32_t entry = 0;
	CU_ASSERT(ft_image_entry(image, &entry));
	FT_ASSERT_HEX(entry, 0x90000001);
	CU_ASSERT_PTR_NULL(ft_image_file_at(image, 0)->header);
}

static void test_s8_gives_a_24_bit_start(void)
{
	FT_ASSERT_HEX(add("S206123456AABBF8\nS8041234575E\n"), FT_OK);
	uint32_t entry = 0;
	CU_ASSERT(ft_image_entry(image, &entry));
	FT_ASSERT_HEX(entry, 0x123457);
}

static void test_wrong_record_count_is_refused(void)
{
	expect_error("S10B10000001020304050607C8\nS10B100808090A0B0C0D0E0F80\nS5030003F9\n"
	             "S9031001EB\n",
	             FT_ERR_FORMAT, "app.srec line 3", "S5 counts 3 data records, the file has 2");
}

static void test_bad_checksum_names_line_and_values(void)
{
	expect_error("S10B10000001020304050607C9\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "checksum 0xc9, expected 0xc8");
}

static void test_reserved_s4_is_refused(void)
{
	expect_error("S4030000FC\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "S4 is a reserved record type");
}

static void test_count_too_small_for_the_address_is_refused(void)
{
	expect_error("S30400000000\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "byte count 0x04 is too small for an S3 record");
}

static void test_count_disagreeing_with_length_is_refused(void)
{
	expect_error("S10C10000001020304050607C8\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "byte count 0x0c needs a record of 28 characters, this one has 26");
}

static void test_count_record_with_data_is_refused(void)
{
	expect_error("S504000101F9\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "an S5 record carries no data, this one 1 bytes");
}

static void test_bad_hex_digit_is_refused(void)
{
	expect_error("S10B1000000102030405060XC8\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "'X' at column 24 is not a hex digit");
}

static void test_line_that_is_not_a_record_is_refused(void)
{
	expect_error("S10B10000001020304050607C8\n:00000001FF\nS9031001EB\n", FT_ERR_FORMAT,
	             "app.srec line 2", "not an S-record");
}

static void test_missing_termination_is_refused(void)
{
	expect_error("S10B10000001020304050607C8\nS5030001FB\n", FT_ERR_FORMAT, "app.srec line 2",
	             "no termination record");
}

static void test_record_after_termination_is_refused(void)
{
	expect_error("S9031001EB\nS10B10000001020304050607C8\n", FT_ERR_FORMAT, "app.srec line 2",
	             "after the termination record of line 1");
}

static void test_data_past_4gib_is_refused(void)
{
	expect_error("S308FFFFFFFE010203F6\nS9031001EB\n", FT_ERR_FORMAT, "app.srec line 1",
	             "3 bytes at 0xfffffffe run past 4 GiB");
}

static void test_different_overlapping_records_name_both_lines(void)
{
	expect_error("S10B10000001020304050607C8\nS1071004040566076E\nS9031001EB\n", FT_ERR_OVERLAP,
	             "app.srec line 2", "writes 0x66 at 0x00001006 where line 1 wrote 0x06");
}

static void test_every_truncation_is_refused_or_read(void)
{
	expect_every_truncation_refused_or_read("cut.srec", FT_IMAGE_SREC, basic);
}

static CU_TestInfo tests[] = {
    {"s1_records_form_one_segment_with_lines", test_s1_records_form_one_segment_with_lines},
    {"s0_header_and_s9_start_are_kept", test_s0_header_and_s9_start_are_kept},
    {"s2_s3_addresses_s6_count_and_s7_start", test_s2_s3_addresses_s6_count_and_s7_start},
    {"s8_gives_a_24_bit_start", test_s8_gives_a_24_bit_start},
    {"wrong_record_count_is_refused", test_wrong_record_count_is_refused},
    {"bad_checksum_names_line_and_values", test_bad_checksum_names_line_and_values},
    {"reserved_s4_is_refused", test_reserved_s4_is_refused},
    {"count_too_small_for_the_address_is_refused", test_count_too_small_for_the_address_is_refused},
    {"count_disagreeing_with_length_is_refused", test_count_disagreeing_with_length_is_refused},
    {"count_record_with_data_is_refused", test_count_record_with_data_is_refused},
    {"bad_hex_digit_is_refused", test_bad_hex_digit_is_refused},
    {"line_that_is_not_a_record_is_refused", test_line_that_is_not_a_record_is_refused},
    {"missing_termination_is_refused", test_missing_termination_is_refused},
    {"record_after_termination_is_refused", test_record_after_termination_is_refused},
    {"data_past_4gib_is_refused", test_data_past_4gib_is_refused},
    {"different_overlapping_records_name_both_lines",
     test_different_overlapping_records_name_both_lines},
    {"every_truncation_is_refused_or_read", test_every_truncation_is_refused_or_read},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_srec", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
