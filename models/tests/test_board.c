/* Board files: key = value lines, comments, and errors that name the line. */
#include "models/parts.h"
#include "models/tests/ft_test.h"
#include "models/board.h"

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
    {"shipped_boards_parse", test_shipped_boards_parse},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"board", NULL, NULL, setup, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
