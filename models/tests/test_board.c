/* Board files: key = value lines, comments, and errors that name the line. */
#include "models/board.h"
#include "models/parts.h"
#include "models/tests/ft_test.h"

#include <string.h>

static ft_board board;
static ft_diag diag;

static void setup(void)
{
	memset(&board, 0, sizeof(board));
	ft_diag_clear(&diag);
}

static ft_error parse(const char *text)
{
	return ft_board_parse("x.board", text, strlen(text), &board, &diag);
}

static void test_keys_are_read_with_spaces_and_comments_dropped(void)
{
	FT_ASSERT_HEX(parse("# a board\n\n  part =  STM32H743ZIT6  \r\n"
	                    "description=NUCLEO-H743ZI2\nexternal_flash = none\n"),
	              FT_OK);
	CU_ASSERT_STRING_EQUAL(board.part, "STM32H743ZIT6");
	CU_ASSERT_STRING_EQUAL(board.description, "NUCLEO-H743ZI2");
	CU_ASSERT_STRING_EQUAL(board.external_flash, "none");
}

static void test_loader_key_names_the_default_external_loader(void)
{
	FT_ASSERT_HEX(parse("part = STM32H743ZI\nloader = W25Q256_H743\n"), FT_OK);
	CU_ASSERT_STRING_EQUAL(board.loader, "W25Q256_H743");
	setup();
	FT_ASSERT_HEX(parse("part = STM32H743ZI\n"), FT_OK);
	FT_ASSERT_HEX(board.loader[0], '\0');
}

static void test_last_line_without_newline_is_read(void)
{
	FT_ASSERT_HEX(parse("part = H723ZG"), FT_OK);
	CU_ASSERT_STRING_EQUAL(board.part, "H723ZG");
}

static void test_missing_part_is_a_format_error(void)
{
	FT_ASSERT_HEX(parse("description = x\n"), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "x.board");
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "part"));
}

static void test_unknown_key_names_its_line(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\n# c\nprat = x\n"), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "x.board line 3");
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "unknown key 'prat'"));
}

static void test_line_without_equals_is_refused(void)
{
	FT_ASSERT_HEX(parse("part H743ZI\n"), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "x.board line 1");
}

static void test_repeated_or_empty_key_is_refused(void)
{
	FT_ASSERT_HEX(parse("part = A\npart = B\n"), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "twice"));
	FT_ASSERT_HEX(parse("part =\n"), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "no value"));
}

static void test_value_longer_than_its_field_is_refused(void)
{
	char text[200];
	memset(text, 'A', sizeof(text));
	memcpy(text, "part = ", 7);
	FT_ASSERT_HEX(ft_board_parse("x.board", text, sizeof(text), &board, &diag), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "longer than 63"));
}

static void test_embedded_nul_is_refused(void)
{
	static const char text[] = "part = H7\0x\n";
	FT_ASSERT_HEX(ft_board_parse("x.board", text, sizeof(text) - 1, &board, &diag),
	              FT_ERR_FORMAT);
}

static void test_missing_file_is_not_found(void)
{
	FT_ASSERT_HEX(ft_board_load("/nonexistent/dir/none.board", &board, &diag),
	              FT_ERR_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(diag.origin, "/nonexistent/dir/none.board");
}

static void test_emulator_keys_are_read(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\nexternal_flash_part = w25q256jveiq\n"
	                    "external_flash_bus = quadspi1\nrevision = v\n"
	                    "uid = 0032001F 3138510b 39363432\nboot0 = 1\n"),
	              FT_OK);
	CU_ASSERT_STRING_EQUAL(board.external_flash_part, "W25Q256JV");
	FT_ASSERT_HEX(board.external_flash_bus, FT_BOARD_BUS_QUADSPI1);
	CU_ASSERT_STRING_EQUAL(ft_board_bus_name(board.external_flash_bus), "quadspi1");
	CU_ASSERT_STRING_EQUAL(ft_board_bus_window(board.external_flash_bus), "QUADSPI");
	FT_ASSERT_HEX(board.revision, 'V');
	CU_ASSERT_TRUE(board.has_uid);
	FT_ASSERT_HEX(board.uid[0], 0x0032001Fu);
	FT_ASSERT_HEX(board.uid[1], 0x3138510Bu);
	FT_ASSERT_HEX(board.uid[2], 0x39363432u);
	CU_ASSERT_TRUE(board.has_boot0);
	CU_ASSERT_TRUE(board.boot0);
}

static void test_absent_emulator_keys_leave_defaults(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\n"), FT_OK);
	FT_ASSERT_HEX(board.external_flash_bus, FT_BOARD_BUS_NONE);
	FT_ASSERT_HEX(board.revision, 0);
	CU_ASSERT_FALSE(board.has_uid);
	CU_ASSERT_FALSE(board.has_boot0);
	CU_ASSERT_FALSE(board.boot0);
}

static void test_unknown_nor_part_lists_the_known_ones(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\nexternal_flash_part = AT25SF128\n"), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "x.board line 2");
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "W25Q256JV"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "MX25UM51245G"));
}

static void test_unknown_bus_lists_the_known_ones(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\nexternal_flash_bus = spi1\n"), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "x.board line 2");
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "octospi2"));
}

static void test_nor_part_without_bus_is_refused(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\nexternal_flash_part = W25Q256JV\n"), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "together"));
	FT_ASSERT_HEX(parse("part = H743ZI\nexternal_flash_bus = xspi2\n"), FT_ERR_FORMAT);
}

static void test_malformed_revision_uid_and_boot0_are_refused(void)
{
	FT_ASSERT_HEX(parse("part = H743ZI\nrevision = rev V\n"), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "x.board line 2");
	FT_ASSERT_HEX(parse("part = H743ZI\nrevision = 3\n"), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("part = H743ZI\nuid = 0032001F 3138510B 3936343\n"), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "23 hex digits"));
	FT_ASSERT_HEX(parse("part = H743ZI\nuid = 0032001F 3138510B 393634321\n"), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("part = H743ZI\nuid = 0x32001F 3138510B 39363432\n"), FT_ERR_FORMAT);
	FT_ASSERT_HEX(parse("part = H743ZI\nboot0 = yes\n"), FT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "0 or 1"));
}

static void test_search_dirs_follow_env_cwd_and_executable(void)
{
	char dirs[FT_BOARD_SEARCH_DIRS][FT_BOARD_PATH_MAX];
	FT_ASSERT_HEX(ft_board_search_dirs("/etc/ft", "/src/build/san/flashtwin-emu", dirs, 5), 5);
	CU_ASSERT_STRING_EQUAL(dirs[0], "/etc/ft");
	CU_ASSERT_STRING_EQUAL(dirs[1], "boards");
	CU_ASSERT_STRING_EQUAL(dirs[2], "/src/build/san/boards");
	CU_ASSERT_STRING_EQUAL(dirs[3], "/src/build/boards");
	CU_ASSERT_STRING_EQUAL(dirs[4], "/src/boards");
	FT_ASSERT_HEX(ft_board_search_dirs("", "/flashtwin-emu", dirs, 5), 2);
	CU_ASSERT_STRING_EQUAL(dirs[0], "boards");
	CU_ASSERT_STRING_EQUAL(dirs[1], "/boards");
	FT_ASSERT_HEX(ft_board_search_dirs(NULL, "flashtwin-emu", dirs, 5), 1);
	FT_ASSERT_HEX(ft_board_search_dirs(NULL, "build/flashtwin-emu", dirs, 1), 1);
	CU_ASSERT_STRING_EQUAL(dirs[0], "boards");
}

static void test_board_arguments_with_slash_or_suffix_are_paths(void)
{
	CU_ASSERT_TRUE(ft_board_arg_is_path("my.board"));
	CU_ASSERT_TRUE(ft_board_arg_is_path("./nucleo-h743zi2"));
	CU_ASSERT_FALSE(ft_board_arg_is_path("nucleo-h743zi2"));
	CU_ASSERT_FALSE(ft_board_arg_is_path(".board"));
}

static void test_shipped_boards_parse(void)
{
	static const char *const names[] = {
	    "boards/nucleo-h743zi2.board",  "boards/nucleo-h753zi.board",
	    "boards/nucleo-h723zg.board",   "boards/nucleo-h7a3zi-q.board",
	    "boards/nucleo-n657x0-q.board", "boards/custom-h743-w25q256.board",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		FT_ASSERT_HEX(ft_board_load(names[i], &board, &diag), FT_OK);
		CU_ASSERT_PTR_NOT_NULL(ft_part_find(board.part));
	}
}

static CU_TestInfo tests[] = {
    {"loader_key_names_the_default_external_loader",
     test_loader_key_names_the_default_external_loader},
    {"keys_are_read_with_spaces_and_comments_dropped",
     test_keys_are_read_with_spaces_and_comments_dropped},
    {"last_line_without_newline_is_read", test_last_line_without_newline_is_read},
    {"missing_part_is_a_format_error", test_missing_part_is_a_format_error},
    {"unknown_key_names_its_line", test_unknown_key_names_its_line},
    {"line_without_equals_is_refused", test_line_without_equals_is_refused},
    {"repeated_or_empty_key_is_refused", test_repeated_or_empty_key_is_refused},
    {"value_longer_than_its_field_is_refused", test_value_longer_than_its_field_is_refused},
    {"embedded_nul_is_refused", test_embedded_nul_is_refused},
    {"missing_file_is_not_found", test_missing_file_is_not_found},
    {"emulator_keys_are_read", test_emulator_keys_are_read},
    {"absent_emulator_keys_leave_defaults", test_absent_emulator_keys_leave_defaults},
    {"unknown_nor_part_lists_the_known_ones", test_unknown_nor_part_lists_the_known_ones},
    {"unknown_bus_lists_the_known_ones", test_unknown_bus_lists_the_known_ones},
    {"nor_part_without_bus_is_refused", test_nor_part_without_bus_is_refused},
    {"malformed_revision_uid_and_boot0_are_refused",
     test_malformed_revision_uid_and_boot0_are_refused},
    {"search_dirs_follow_env_cwd_and_executable", test_search_dirs_follow_env_cwd_and_executable},
    {"board_arguments_with_slash_or_suffix_are_paths",
     test_board_arguments_with_slash_or_suffix_are_paths},
    {"shipped_boards_parse", test_shipped_boards_parse},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"board", NULL, NULL, setup, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
