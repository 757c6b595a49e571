/* The Intel HEX reader: record types 00-05, extended segment and linear addresses, start
 * addresses, checksums, line numbers, sorting and merging of records, and refusal of malformed
 * lines. Checksums in the literals are the two's complement of the record's byte sum (Intel HEX
 * specification rev. A). */
#include <stdlib.h>
#include <string.h>

#include "programmer/tests/image_text_harness.h"

/* 0x08000000: 0x00..0x17 in two contiguous records, start address 0x08000141. */
static const char basic[] = ":020000040800F2\n"
                            ":10000000000102030405060708090A0B0C0D0E0F78\n"
                            ":0800100010111213141516174C\n"
                            ":0400000508000141AD\n"
                            ":00000001FF\n";

static ft_error add(const char *text)
{
	return add_text("app.hex", FT_IMAGE_IHEX, text);
}

static void expect_error(const char *text, ft_error code, const char *origin, const char *what)
{
	expect_refused(add(text), code, origin, what);
	FT_ASSERT_HEX(ft_image_note_count(image), 0);
}

static bool has_note(const char *text)
{
	for (size_t i = 0; i < ft_image_note_count(image); i++)
		if (strstr(ft_image_note_at(image, i), text))
			return true;
	return false;
}

static const uint8_t seq24[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

static void test_contiguous_records_form_one_segment(void)
{
	FT_ASSERT_HEX(add(basic), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0x08000000);
	FT_ASSERT_HEX(s->size, 24);
	FT_ASSERT_HEX(s->mem_size, 24);
	FT_ASSERT_HEX(s->run_addr, 0x08000000);
	FT_ASSERT_HEX(s->index, -1);
	FT_ASSERT_HEX(s->format, FT_IMAGE_IHEX);
	FT_ASSERT_HEX(s->first_line, 2);
	FT_ASSERT_HEX(s->last_line, 3);
	FT_ASSERT_BYTES(s->data, seq24, 24);
	char origin[64];
	ft_segment_origin(s, origin, sizeof(origin));
	CU_ASSERT_STRING_EQUAL(origin, "app.hex lines 2-3");
	FT_ASSERT_HEX(ft_image_note_count(image), 0);
}

static void test_start_linear_address_is_the_entry(void)
{
	FT_ASSERT_HEX(add(basic), FT_OK);
	uint32_t entry = 0;
	CU_ASSERT(ft_image_entry(image, &entry));
	FT_ASSERT_HEX(entry, 0x08000141);
}

static void test_segment_address_wraps_within_its_64k(void)
{
	/* SBA 0x1000 -> base 0x10000; 8 bytes at offset 0xfffc: 4 at 0x1fffc, 4 wrap to 0x10000.
	 * Start segment address CS 0x1234, IP 0x0010 -> 0x12350. */
	FT_ASSERT_HEX(add(":020000021000EC\n:08FFFC000102030405060708D9\n:0400000312340010A3\n"
	                  ":00000001FF\n"),
	              FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	const ft_segment *lo = ft_image_segment_at(image, 0), *hi = ft_image_segment_at(image, 1);
	FT_ASSERT_HEX(lo->addr, 0x10000);
	FT_ASSERT_BYTES(lo->data, "\x05\x06\x07\x08", 4);
	FT_ASSERT_HEX(hi->addr, 0x1fffc);
	FT_ASSERT_BYTES(hi->data, "\x01\x02\x03\x04", 4);
	uint32_t entry = 0;
	CU_ASSERT(ft_image_entry(image, &entry));
	FT_ASSERT_HEX(entry, 0x12350);
}

static void test_linear_address_runs_on_past_64k(void)
{
	FT_ASSERT_HEX(add(":020000040800F2\n:08FFFC000102030405060708D9\n:00000001FF\n"), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0x0800fffc);
	FT_ASSERT_HEX(s->size, 8);
}

static void test_records_past_4gib_are_refused(void)
{
	expect_error(":02000004FFFFFC\n:08FFFC000102030405060708D9\n:00000001FF\n", FT_ERR_FORMAT,
	             "app.hex line 2", "past 4 GiB");
}

static void test_records_3gib_apart_stay_two_small_segments(void)
{
	FT_ASSERT_HEX(add(":020000040000FA\n:02010000AABB98\n:02000004C0003A\n:02010000CCDD54\n"
	                  ":00000001FF\n"),
	              FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	FT_ASSERT_HEX(ft_image_segment_at(image, 0)->addr, 0x100);
	FT_ASSERT_HEX(ft_image_segment_at(image, 0)->size, 2);
	FT_ASSERT_HEX(ft_image_segment_at(image, 1)->addr, 0xc0000100);
	FT_ASSERT_HEX(ft_image_segment_at(image, 1)->size, 2);
	FT_ASSERT_BYTES(ft_image_segment_at(image, 1)->data, "\xcc\xdd", 2);
}

static void test_out_of_order_records_are_sorted_with_a_note(void)
{
	FT_ASSERT_HEX(add(":0800100010111213141516174C\n"
	                  ":10000000000102030405060708090A0B0C0D0E0F78\n"
	                  ":020040000102BB\n"
	                  ":00000001FF\n"),
	              FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 2);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->addr, 0);
	FT_ASSERT_HEX(s->size, 24);
	FT_ASSERT_BYTES(s->data, seq24, 24);
	FT_ASSERT_HEX(s->first_line, 1);
	FT_ASSERT_HEX(s->last_line, 2);
	FT_ASSERT_HEX(ft_image_segment_at(image, 1)->addr, 0x40);
	CU_ASSERT(has_note("app.hex line 2: the record at 0x00000000"));
	CU_ASSERT(has_note("not in address order"));
}

static void test_identical_overlapping_records_merge_with_a_note(void)
{
	FT_ASSERT_HEX(add(":10000000000102030405060708090A0B0C0D0E0F78\n"
	                  ":0C00080008090A0B0C0D0E0F101112134A\n"
	                  ":00000001FF\n"),
	              FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	FT_ASSERT_HEX(ft_image_segment_at(image, 0)->size, 0x14);
	FT_ASSERT_BYTES(ft_image_segment_at(image, 0)->data, seq24, 0x14);
	CU_ASSERT(has_note("app.hex line 1 and line 2 write identical bytes at "
	                   "0x00000008-0x0000000f"));
}

static void test_different_overlapping_records_name_both_lines(void)
{
	expect_error(":10000000000102030405060708090A0B0C0D0E0F78\n"
	             "\n"
	             ":0800080008090A0B0CEE0E0FB3\n"
	             ":00000001FF\n",
	             FT_ERR_OVERLAP, "app.hex line 3",
	             "writes 0xee at 0x0000000d where line 1 wrote 0x0d");
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "0x00000008-0x0000000f"));
}

static void test_crlf_blank_lines_and_trailing_blanks_are_accepted(void)
{
	FT_ASSERT_HEX(add(":020000040800F2\r\n"
	                  "\r\n"
	                  ":10000000000102030405060708090a0b0c0d0e0f78  \t\r\n"
	                  ":0800100010111213141516174C\r\n"
	                  ":00000001FF\r\n"
	                  "\r\n"),
	              FT_OK);
	const ft_segment *s = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(s->size, 24);
	FT_ASSERT_HEX(s->first_line, 3);
	FT_ASSERT_HEX(s->last_line, 4);
	FT_ASSERT_BYTES(s->data, seq24, 24);
}

static void test_bad_checksum_names_line_and_values(void)
{
	expect_error(":020000040800F2\n:0800100010111213141516174D\n:00000001FF\n", FT_ERR_FORMAT,
	             "app.hex line 2", "checksum 0x4d, expected 0x4c");
}

static void test_bad_hex_digit_names_its_column(void)
{
	expect_error(":020000040800F2\n:08001000101G1213141516174C\n:00000001FF\n", FT_ERR_FORMAT,
	             "app.hex line 2", "'G' at column 13 is not a hex digit");
}

static void test_byte_count_disagreeing_with_length_is_refused(void)
{
	expect_error(":0900100010111213141516174C\n:00000001FF\n", FT_ERR_FORMAT, "app.hex line 1",
	             "byte count 0x09 needs a record of 29 characters, this one has 27");
}

static void test_short_record_is_refused(void)
{
	expect_error(":00000001F\n", FT_ERR_FORMAT, "app.hex line 1", "record of 10 characters");
}

static void test_missing_colon_is_refused(void)
{
	expect_error(":020000040800F2\n020000040800F2\n:00000001FF\n", FT_ERR_FORMAT,
	             "app.hex line 2", "a record starts with ':', this line with '0'");
}

static void test_missing_end_of_file_record_is_refused(void)
{
	expect_error(":020000040800F2\n:0800100010111213141516174C\n", FT_ERR_FORMAT,
	             "app.hex line 2", "no end-of-file record");
}

static void test_record_after_end_of_file_is_refused(void)
{
	expect_error(":00000001FF\n:0800100010111213141516174C\n", FT_ERR_FORMAT, "app.hex line 2",
	             "after the end-of-file record of line 1");
}

static void test_unknown_record_type_is_refused(void)
{
	expect_error(":00000006FA\n:00000001FF\n", FT_ERR_FORMAT, "app.hex line 1",
	             "record type 0x06 is not one of 00-05");
}

static void test_address_record_with_wrong_count_is_refused(void)
{
	expect_error(":0100000408F3\n:00000001FF\n", FT_ERR_FORMAT, "app.hex line 1",
	             "a type 0x04 record carries 2 bytes, this one 1");
}

static void test_conflicting_start_addresses_are_refused(void)
{
	expect_error(":0400000508000141AD\n:0400000508000001EE\n:00000001FF\n", FT_ERR_FORMAT,
	             "app.hex line 2", "start address 0x08000001 differs from 0x08000141");
}

static void test_every_truncation_is_refused_or_read(void)
{
	expect_every_truncation_refused_or_read("cut.hex", FT_IMAGE_IHEX, basic);
}

static void test_failed_file_leaves_image_unchanged(void)
{
	FT_ASSERT_HEX(add(basic), FT_OK);
	FT_ASSERT_HEX(add(":0800100010111213141516174C\n"), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	FT_ASSERT_HEX(ft_image_file_count(image), 1);
	FT_ASSERT_BYTES(ft_image_segment_at(image, 0)->data, seq24, 24);
}

static CU_TestInfo tests[] = {
    {"contiguous_records_form_one_segment", test_contiguous_records_form_one_segment},
    {"start_linear_address_is_the_entry", test_start_linear_address_is_the_entry},
    {"segment_address_wraps_within_its_64k", test_segment_address_wraps_within_its_64k},
    {"linear_address_runs_on_past_64k", test_linear_address_runs_on_past_64k},
    {"records_past_4gib_are_refused", test_records_past_4gib_are_refused},
    {"records_3gib_apart_stay_two_small_segments", test_records_3gib_apart_stay_two_small_segments},
    {"out_of_order_records_are_sorted_with_a_note",
     test_out_of_order_records_are_sorted_with_a_note},
    {"identical_overlapping_records_merge_with_a_note",
     test_identical_overlapping_records_merge_with_a_note},
    {"different_overlapping_records_name_both_lines",
     test_different_overlapping_records_name_both_lines},
    {"crlf_blank_lines_and_trailing_blanks_are_accepted",
     test_crlf_blank_lines_and_trailing_blanks_are_accepted},
    {"bad_checksum_names_line_and_values", test_bad_checksum_names_line_and_values},
    {"bad_hex_digit_names_its_column", test_bad_hex_digit_names_its_column},
    {"byte_count_disagreeing_with_length_is_refused",
     test_byte_count_disagreeing_with_length_is_refused},
    {"short_record_is_refused", test_short_record_is_refused},
    {"missing_colon_is_refused", test_missing_colon_is_refused},
    {"missing_end_of_file_record_is_refused", test_missing_end_of_file_record_is_refused},
    {"record_after_end_of_file_is_refused", test_record_after_end_of_file_is_refused},
    {"unknown_record_type_is_refused", test_unknown_record_type_is_refused},
    {"address_record_with_wrong_count_is_refused", test_address_record_with_wrong_count_is_refused},
    {"conflicting_start_addresses_are_refused", test_conflicting_start_addresses_are_refused},
    {"every_truncation_is_refused_or_read", test_every_truncation_is_refused_or_read},
    {"failed_file_leaves_image_unchanged", test_failed_file_leaves_image_unchanged},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"image_ihex", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
