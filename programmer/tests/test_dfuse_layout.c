/* DfuSe memory-layout strings as the STM32H7 ROMs report them (devices.md §5.2) and as broken or
 * hostile devices might. */
#include "programmer/dfuse/layout.h"
#include "models/tests/ft_test.h"

#include <string.h>

static ft_error parse(const char *text, ft_dfuse_layout *layout, ft_diag *diag)
{
	return ft_dfuse_layout_parse(text, strlen(text), layout, diag);
}

static void test_h743_internal_flash_is_16_sectors_of_128k(void)
{
	ft_dfuse_layout l;
	FT_ASSERT_HEX(parse("@Internal Flash   /0x08000000/16*128Kg", &l, NULL), FT_OK);
	CU_ASSERT_STRING_EQUAL(l.name, "Internal Flash");
	FT_ASSERT_HEX(l.group_count, 1);
	FT_ASSERT_HEX(l.groups[0].start, 0x08000000);
	FT_ASSERT_HEX(l.groups[0].count, 16);
	FT_ASSERT_HEX(l.groups[0].sector_size, 0x20000);
	FT_ASSERT_HEX(l.groups[0].type, 7);
	FT_ASSERT_HEX(ft_dfuse_layout_size(&l), 0x200000);
	CU_ASSERT_PTR_EQUAL(ft_dfuse_layout_find(&l, 0x081FFFFF), &l.groups[0]);
	CU_ASSERT_PTR_NULL(ft_dfuse_layout_find(&l, 0x08200000));
	CU_ASSERT_PTR_NULL(ft_dfuse_layout_find(&l, 0x07FFFFFF));
}

static void test_option_bytes_space_multiplier_means_bytes(void)
{
	ft_dfuse_layout l;
	FT_ASSERT_HEX(parse("@Option Bytes   /0x5200201C/01*128 e", &l, NULL), FT_OK);
	CU_ASSERT_STRING_EQUAL(l.name, "Option Bytes");
	FT_ASSERT_HEX(l.groups[0].start, 0x5200201C);
	FT_ASSERT_HEX(l.groups[0].count, 1);
	FT_ASSERT_HEX(l.groups[0].sector_size, 128);
	FT_ASSERT_HEX(l.groups[0].type, FT_DFUSE_READABLE | FT_DFUSE_WRITEABLE);
}

static void test_h7a3_8k_sectors_and_several_groups(void)
{
	ft_dfuse_layout l;
	FT_ASSERT_HEX(parse("@Internal Flash   /0x08000000/256*08Kg", &l, NULL), FT_OK);
	FT_ASSERT_HEX(l.groups[0].sector_size, 0x2000);
	FT_ASSERT_HEX(l.groups[0].count, 256);
	FT_ASSERT_HEX(parse("@Flash/0x08000000/04*016Kg,01*064Kg,07*128Kg/0x1FFF0000/1*1Ma", &l, NULL),
		      FT_OK);
	FT_ASSERT_HEX(l.group_count, 4);
	FT_ASSERT_HEX(l.groups[1].start, 0x08010000);
	FT_ASSERT_HEX(l.groups[2].start, 0x08020000);
	FT_ASSERT_HEX(l.groups[3].start, 0x1FFF0000);
	FT_ASSERT_HEX(l.groups[3].type, FT_DFUSE_READABLE);
}

static void test_malformed_strings_name_the_offset(void)
{
	ft_dfuse_layout l;
	ft_diag d;
	FT_ASSERT_HEX(parse("Internal Flash/0x08000000/16*128Kg", &l, &d), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.message, "offset 0"));
	FT_ASSERT_HEX(parse("@Flash/0x08000000/16*128Kz", &l, &d), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.message, "offset 25"));
	FT_ASSERT_HEX(parse("@Flash/08000000/16*128Kg", &l, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("@Flash/0x08000000/0*128Kg", &l, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("@Flash/0x108000000/1*1Kg", &l, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("@Flash/0x08000000/99999999999*1Kg", &l, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("@Flash", &l, &d), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("@Flash/0x08000000/", &l, &d), FT_ERR_FORMAT);
}

static void test_ranges_past_4g_are_refused(void)
{
	ft_dfuse_layout l;
	ft_diag d;
	FT_ASSERT_HEX(parse("@X/0xFFFF0000/1*64Kg", &l, &d), FT_OK);
	FT_ASSERT_HEX(parse("@X/0xFFFF0000/2*64Kg", &l, &d), FT_ERR_RANGE);
	FT_ASSERT_HEX(parse("@X/0xFFFF0000/1*64Kg,1*1Kg", &l, &d), FT_ERR_RANGE);
	FT_ASSERT_HEX(parse("@X/0x00000000/4096*1Mg", &l, &d), FT_OK);
	FT_ASSERT_HEX(parse("@X/0x00000000/4097*1Mg", &l, &d), FT_ERR_RANGE);
}

static void test_every_prefix_of_a_valid_string_is_handled(void)
{
	const char *text = "@Internal Flash   /0x08000000/04*016Kg,01*064Kg/0x1FF00000/1*128 e";
	ft_dfuse_layout l;
	size_t n = strlen(text);
	size_t ok = 0;
	for (size_t i = 0; i <= n; i++)
		if (ft_dfuse_layout_parse(text, i, &l, NULL) == FT_OK)
			ok++;
	/* Complete: the whole string, and the cuts after each group of the first run. */
	FT_ASSERT_HEX(ok, 3);
}

static CU_TestInfo tests[] = {
	{"h743_internal_flash_is_16_sectors_of_128k", test_h743_internal_flash_is_16_sectors_of_128k},
	{"option_bytes_space_multiplier_means_bytes", test_option_bytes_space_multiplier_means_bytes},
	{"h7a3_8k_sectors_and_several_groups", test_h7a3_8k_sectors_and_several_groups},
	{"malformed_strings_name_the_offset", test_malformed_strings_name_the_offset},
	{"ranges_past_4g_are_refused", test_ranges_past_4g_are_refused},
	{"every_prefix_of_a_valid_string_is_handled", test_every_prefix_of_a_valid_string_is_handled},
	CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"dfuse_layout", NULL, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
