/* The STM32 header v2.3 of the STM32N6 FSBL (devices.md §6.2): what the unsigned builder writes,
 * field by field, and every check naming its field. Offsets are the table's, written here as
 * literals. */
#include "models/tests/ft_test.h"
#include "programmer/image/stm32_header.h"

#include <string.h>

#define HDR     0x400u
#define PAYLOAD 0x100u

static uint8_t image[HDR + PAYLOAD];
static ft_stm32_header header;
static ft_diag diag;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A payload whose vector table has SP 0x341FFFF0 and reset 0x34180481, headed. */
static void setup(void)
{
	memset(image, 0, sizeof(image));
	memset(&header, 0, sizeof(header));
	ft_diag_clear(&diag);
	for (uint32_t i = 8; i < PAYLOAD; i++)
		image[HDR + i] = (uint8_t)(i * 3u);
	put_le32(image + HDR, 0x341FFFF0u);
	put_le32(image + HDR + 4, 0x34180481u);
	FT_ASSERT_HEX(ft_stm32_header_build_fsbl(image + HDR, PAYLOAD, image, &diag), FT_OK);
}

static void teardown(void)
{
}

static void test_builder_writes_the_v23_fields_of_an_unsigned_fsbl(void)
{
	static const uint8_t magic[4] = {0x53, 0x54, 0x4D, 0x32};
	static const uint8_t version[4] = {0x00, 0x03, 0x02, 0x00};
	uint32_t sum = 0;
	for (uint32_t i = 0; i < PAYLOAD; i++)
		sum += image[HDR + i];
	FT_ASSERT_BYTES(image, magic, 4);
	FT_ASSERT_HEX(le32(image + 0x64), sum);
	FT_ASSERT_BYTES(image + 0x68, version, 4);
	FT_ASSERT_HEX(le32(image + 0x6C), PAYLOAD);
	FT_ASSERT_HEX(le32(image + 0x70), 0x34180481u);
	FT_ASSERT_HEX(le32(image + 0x78), 0xFFFFFFFFu);
	FT_ASSERT_HEX(le32(image + 0x8C), 0x10);
	for (uint32_t i = 0x04; i < 0x64; i++)
		FT_ASSERT_HEX(image[i], 0);
}

static void test_built_header_passes_the_check(void)
{
	FT_ASSERT_HEX(ft_stm32_header_check(image, sizeof(image), &header, &diag), FT_OK);
	FT_ASSERT_HEX(header.length, PAYLOAD);
	FT_ASSERT_HEX(header.entry, 0x34180481u);
	CU_ASSERT(header.signature_zero);
}

static void check_fails(ft_error code, const char *origin)
{
	FT_ASSERT_HEX(ft_stm32_header_check(image, sizeof(image), &header, &diag), code);
	CU_ASSERT_STRING_EQUAL(diag.origin, origin);
}

static void test_missing_magic_is_no_image(void)
{
	image[3] = 0x31;
	check_fails(FT_ERR_FORMAT, "STM32 header 0x00 magic");
}

static void test_version_other_than_23_is_refused(void)
{
	image[0x69] = 0x02; /* 2.2 */
	check_fails(FT_ERR_FORMAT, "STM32 header 0x68 version");
}

static void test_length_past_the_available_bytes_is_refused(void)
{
	put_le32(image + 0x6C, PAYLOAD + 1);
	check_fails(FT_ERR_FORMAT, "STM32 header 0x6C length");
}

static void test_entry_without_thumb_bit_is_refused(void)
{
	put_le32(image + 0x70, 0x34180480u);
	check_fails(FT_ERR_FORMAT, "STM32 header 0x70 entry");
}

static void test_entry_outside_the_loaded_payload_is_refused(void)
{
	put_le32(image + 0x70, 0x34180400u + PAYLOAD + 1);
	check_fails(FT_ERR_FORMAT, "STM32 header 0x70 entry");
}

static void test_payload_change_breaks_the_checksum(void)
{
	image[HDR + 0x80] ^= 1;
	check_fails(FT_ERR_VERIFY, "STM32 header 0x64 checksum");
}

static void test_short_buffer_is_refused_without_reading_past_it(void)
{
	FT_ASSERT_HEX(ft_stm32_header_check(image, 0x3FF, &header, &diag), FT_ERR_FORMAT);
	FT_ASSERT_HEX(ft_stm32_header_check(image, 3, &header, &diag), FT_ERR_FORMAT);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_builder_writes_the_v23_fields_of_an_unsigned_fsbl",
	     test_builder_writes_the_v23_fields_of_an_unsigned_fsbl},
	    {"test_built_header_passes_the_check", test_built_header_passes_the_check},
	    {"test_missing_magic_is_no_image", test_missing_magic_is_no_image},
	    {"test_version_other_than_23_is_refused", test_version_other_than_23_is_refused},
	    {"test_length_past_the_available_bytes_is_refused",
	     test_length_past_the_available_bytes_is_refused},
	    {"test_entry_without_thumb_bit_is_refused", test_entry_without_thumb_bit_is_refused},
	    {"test_entry_outside_the_loaded_payload_is_refused",
	     test_entry_outside_the_loaded_payload_is_refused},
	    {"test_payload_change_breaks_the_checksum", test_payload_change_breaks_the_checksum},
	    {"test_short_buffer_is_refused_without_reading_past_it",
	     test_short_buffer_is_refused_without_reading_past_it},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"stm32_header", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
