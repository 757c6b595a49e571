/* Identifying the part behind a DfuSe device from its USB identity and layout strings. The
 * strings are the ones the ROMs report (programmers.md §1.1, AN2606), written out here. */
#include "models/tests/ft_test.h"
#include "programmer/dfuse/identify.h"

#include <string.h>

static ft_dfuse_device_info info;

static void setup(void)
{
	memset(&info, 0, sizeof(info));
	info.vid = 0x0483;
	info.pid = 0xDF11;
}

static void add_alt(const char *name)
{
	ft_dfuse_alt *a = &info.alts[info.alt_count];
	a->alt = (uint8_t)info.alt_count++;
	snprintf(a->name, sizeof(a->name), "%s", name);
	ft_diag_clear(&a->layout_diag);
	ft_dfuse_layout_parse(name, strlen(name), &a->layout, &a->layout_diag);
}

static void h743_rom(void)
{
	add_alt("@Internal Flash   /0x08000000/16*128Kg");
	add_alt("@Option Bytes   /0x5200201C/01*128 e");
}

static bool has_candidate(const ft_dfuse_candidate *c, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].part->name, name) == 0)
			return true;
	return false;
}

static void test_h743_rom_matches_every_line_sharing_it(void)
{
	h743_rom();
	ft_dfuse_candidate c[32];
	size_t n = ft_dfuse_identify(&info, c, 32);
	CU_ASSERT_FATAL(n >= 2 && n <= 32);
	CU_ASSERT_STRING_EQUAL(c[0].part->name, "STM32H743xI");
	FT_ASSERT_HEX(c[0].agreement, FT_DFUSE_AGREES);
	CU_ASSERT(has_candidate(c, n, "STM32H753xI"));
	CU_ASSERT(has_candidate(c, n, "STM32H743xG"));
	CU_ASSERT(!has_candidate(c, n, "STM32H723xG"));
	CU_ASSERT(!has_candidate(c, n, "STM32H7A3xI"));
}

static void test_spacing_of_the_strings_does_not_matter(void)
{
	add_alt("@Internal Flash/0x08000000/8*128Kg");
	add_alt("@Option Bytes /0x5200201C/01*88 e");
	ft_dfuse_candidate c[32];
	size_t n = ft_dfuse_identify(&info, c, 32);
	CU_ASSERT_FATAL(n >= 1);
	CU_ASSERT_STRING_EQUAL(c[0].part->name, "STM32H723xG");
}

static void test_h7a3_rev_z_descriptor_is_a_known_quirk(void)
{
	add_alt("@Internal Flash  /0x08000000/256*02Kg");
	add_alt("@Option Bytes  /0x1FF8000/01*128 e");
	add_alt("@OTP Memory  /0x1FF7000/01*1024 e");
	ft_dfuse_candidate c[32];
	size_t n = ft_dfuse_identify(&info, c, 32);
	CU_ASSERT_FATAL(n >= 1);
	CU_ASSERT_STRING_EQUAL(c[0].part->name, "STM32H7A3xI");
	FT_ASSERT_HEX(c[0].agreement, FT_DFUSE_KNOWN_QUIRK);
	CU_ASSERT_STRING_EQUAL(c[0].quirk->name, "h7a3-rev-z-descriptor");

	const ft_bootloader_quirk *q;
	char text[300];
	FT_ASSERT_HEX(
	    ft_dfuse_compare_part(&info, ft_part_find("STM32H7A3ZIT6"), &q, text, sizeof(text)),
	    FT_DFUSE_KNOWN_QUIRK);
	CU_ASSERT_PTR_NOT_NULL(q);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "256 x 2 KiB at 0x08000000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "2 banks of 128 x 8 KiB"));
}

static void test_other_part_disagrees_and_says_why(void)
{
	h743_rom();
	const ft_bootloader_quirk *q;
	char text[300];
	FT_ASSERT_HEX(
	    ft_dfuse_compare_part(&info, ft_part_find("STM32H723ZG"), &q, text, sizeof(text)),
	    FT_DFUSE_DISAGREES);
	CU_ASSERT_PTR_NULL(q);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "16 x 128 KiB at 0x08000000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "STM32H723xG has 1 bank of 8 x 128 KiB"));
	FT_ASSERT_HEX(
	    ft_dfuse_compare_part(&info, ft_part_find("STM32H743ZI"), &q, text, sizeof(text)),
	    FT_DFUSE_AGREES);
	CU_ASSERT_STRING_EQUAL(text, "");
}

static void test_option_byte_alternate_difference_is_named(void)
{
	add_alt("@Internal Flash   /0x08000000/16*128Kg");
	add_alt("@Option Bytes   /0x5200201C/01*64 e");
	char text[300];
	FT_ASSERT_HEX(
	    ft_dfuse_compare_part(&info, ft_part_find("STM32H743ZI"), NULL, text, sizeof(text)),
	    FT_DFUSE_DISAGREES);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "alt 1 \"Option Bytes\" says 1 x 64 B at 0x5200201C"));
}

static void test_other_usb_identity_matches_nothing(void)
{
	h743_rom();
	info.pid = 0xDF12;
	ft_dfuse_candidate c[4];
	FT_ASSERT_HEX(ft_dfuse_identify(&info, c, 4), 0);
	char text[300];
	ft_dfuse_compare_part(&info, ft_part_find("STM32H743ZI"), NULL, text, sizeof(text));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "0483:df12"));
}

static void test_n6_has_no_bootloader_dfu_to_agree_with(void)
{
	h743_rom();
	char text[300];
	FT_ASSERT_HEX(
	    ft_dfuse_compare_part(&info, ft_part_find("STM32N657X0"), NULL, text, sizeof(text)),
	    FT_DFUSE_DISAGREES);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "no system-bootloader DFU"));
}

static CU_TestInfo tests[] = {
    {"h743_rom_matches_every_line_sharing_it", test_h743_rom_matches_every_line_sharing_it},
    {"spacing_of_the_strings_does_not_matter", test_spacing_of_the_strings_does_not_matter},
    {"h7a3_rev_z_descriptor_is_a_known_quirk", test_h7a3_rev_z_descriptor_is_a_known_quirk},
    {"other_part_disagrees_and_says_why", test_other_part_disagrees_and_says_why},
    {"option_byte_alternate_difference_is_named", test_option_byte_alternate_difference_is_named},
    {"other_usb_identity_matches_nothing", test_other_usb_identity_matches_nothing},
    {"n6_has_no_bootloader_dfu_to_agree_with", test_n6_has_no_bootloader_dfu_to_agree_with},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"dfuse_identify", NULL, NULL, setup, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
