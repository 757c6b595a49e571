/* Opening a board: the part, revision, UID and external flash of its board file, a state directory
 * created with factory contents and kept across opens, one open per state directory, and the
 * board-file mistakes that are refused. Board files are read from the source tree's boards/
 * (tests run from the top directory) or written into the fixture's directory. */
#include "emu/board_runtime.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Manual facts for the assertions (not the models' headers). */
#define FLASH_BASE     0x08000000u /* RM0433 §2.3.2 bank 1 */
#define FLASH_KEYR1    0x004u      /* RM0433 §4.9.2 */
#define FLASH_CR1      0x00Cu      /* RM0433 §4.9.4 */
#define FLASH_CR_PG    (1u << 1)
#define FLASH_KEY1     0x45670123u
#define FLASH_KEY2     0xCDEF89ABu
#define QUADSPI_WINDOW 0x90000000u /* RM0433 §2.3.2 */
#define XSPI2_WINDOW   0x70000000u /* RM0486; devices.md §1.6 */
#define W25Q256_SIZE   (32u << 20)
#define MX25UM_SIZE    (64u << 20)
#define H743_REV_V     0x2003u /* devices.md §1.1 */

static char g_tmp[64];
static char g_state[128];
static ft_diag diag;

static void setup(void)
{
	g_state[0] = '\0';
	ft_diag_clear(&diag);
	emu_harness_make_dir("runtime", g_tmp, sizeof(g_tmp));
	if (g_tmp[0])
		snprintf(g_state, sizeof(g_state), "%s/state", g_tmp);
}

static void teardown(void)
{
	if (g_state[0])
		emu_harness_cleanup(g_tmp);
}

static ft_error open_board(const char *path, ft_board_runtime **rt)
{
	ft_board_runtime_config cfg = {
	    .board_path = path, .state_dir = g_state, .clock_mode = FT_CLOCK_INSTANT};
	return ft_board_runtime_open(&cfg, rt, &diag);
}

/* Writes text as NAME.board in the fixture directory; returns its path (static buffer). */
static const char *board_file(const char *name, const char *text)
{
	static char path[192];
	snprintf(path, sizeof(path), "%s/%s.board", g_tmp, name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

static void test_nucleo_h743_opens_with_erased_flash_and_factory_options(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h743zi2.board", &rt), FT_OK);
	if (!rt)
		return;
	CU_ASSERT_STRING_EQUAL(ft_board_runtime_name(rt), "nucleo-h743zi2");
	CU_ASSERT_STRING_EQUAL(ft_board_runtime_part(rt)->name, "STM32H743xI");
	FT_ASSERT_HEX(ft_board_runtime_rev_id(rt), H743_REV_V);
	FT_ASSERT_HEX(ft_board_runtime_revision(rt), 'V');
	CU_ASSERT_TRUE(ft_board_runtime_boot0(rt));
	CU_ASSERT_TRUE(ft_board_runtime_state_is_new(rt));
	FT_ASSERT_HEX(ft_board_runtime_nor_count(rt), 0);
	ft_flash_h7 *fl = ft_board_runtime_flash(rt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fl);
	uint8_t head[64], erased[64];
	memset(erased, 0xFF, sizeof(erased));
	FT_ASSERT_HEX(ft_flash_h7_peek(fl, FLASH_BASE, head, sizeof(head)), FT_OK);
	FT_ASSERT_BYTES(head, erased, sizeof(head));
	ft_flash_h7_options opt;
	ft_flash_h7_get_options(fl, &opt);
	FT_ASSERT_HEX(opt.rdp, 0xAA); /* RM0433 §4.4.3: level 0 as delivered */
	FT_ASSERT_HEX(ft_board_runtime_close(rt, &diag), FT_OK);
}

static void test_programmed_flash_survives_close_and_reopen(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h743zi2.board", &rt), FT_OK);
	if (!rt)
		return;
	ft_flash_h7 *fl = ft_board_runtime_flash(rt);
	uint8_t word[32];
	for (size_t i = 0; i < sizeof(word); i++)
		word[i] = (uint8_t)(0xA0 + i);
	FT_ASSERT_HEX(ft_flash_h7_reg_write(fl, FLASH_KEYR1, FLASH_KEY1), FT_OK);
	FT_ASSERT_HEX(ft_flash_h7_reg_write(fl, FLASH_KEYR1, FLASH_KEY2), FT_OK);
	FT_ASSERT_HEX(ft_flash_h7_reg_write(fl, FLASH_CR1, FLASH_CR_PG), FT_OK);
	bool fault = true;
	FT_ASSERT_HEX(ft_flash_h7_bus_write_bulk(fl, FLASH_BASE, word, sizeof(word), NULL, &fault),
	              FT_OK);
	CU_ASSERT_FALSE(fault);
	ft_flash_h7_poll(fl);
	FT_ASSERT_HEX(ft_board_runtime_close(rt, &diag), FT_OK);

	rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h743zi2.board", &rt), FT_OK);
	if (!rt)
		return;
	CU_ASSERT_FALSE(ft_board_runtime_state_is_new(rt));
	uint8_t back[32];
	FT_ASSERT_HEX(ft_flash_h7_peek(ft_board_runtime_flash(rt), FLASH_BASE, back, sizeof(back)),
	              FT_OK);
	FT_ASSERT_BYTES(back, word, sizeof(word));
	ft_board_runtime_close(rt, NULL);
}

static void test_second_open_of_a_state_directory_is_busy(void)
{
	ft_board_runtime *first = NULL, *second = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h743zi2.board", &first), FT_OK);
	FT_ASSERT_HEX(open_board("boards/nucleo-h743zi2.board", &second), FT_ERR_BUSY);
	CU_ASSERT_PTR_NULL(second);
	ft_board_runtime_close(first, NULL);
}

static void test_state_directory_of_another_board_is_refused(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h743zi2.board", &rt), FT_OK);
	ft_board_runtime_close(rt, NULL);
	rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h753zi.board", &rt), FT_ERR_STATE);
	CU_ASSERT_PTR_NULL(rt);
}

static void test_custom_board_has_its_nor_in_the_quadspi_window(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board("boards/custom-h743-w25q256.board", &rt), FT_OK);
	if (!rt)
		return;
	FT_ASSERT_HEX(ft_board_runtime_nor_count(rt), 1);
	const ft_board_runtime_nor *n = ft_board_runtime_nor_at(rt, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_PTR_NULL(ft_board_runtime_nor_at(rt, 1));
	FT_ASSERT_HEX(n->bus, FT_BOARD_BUS_QUADSPI1);
	CU_ASSERT_STRING_EQUAL(n->region, "nor-quadspi1");
	FT_ASSERT_HEX(n->window_base, QUADSPI_WINDOW);
	CU_ASSERT_STRING_EQUAL(ft_nor_part_geometry(ft_nor_part_of(n->nor))->name, "W25Q256JV");
	const uint8_t *array = ft_nor_array(n->nor);
	FT_ASSERT_HEX(array[0], 0xFF);
	FT_ASSERT_HEX(array[W25Q256_SIZE - 1], 0xFF);
	uint32_t uid[3];
	ft_board_runtime_uid(rt, uid);
	FT_ASSERT_HEX(uid[0], 0x0032001Fu);
	FT_ASSERT_HEX(uid[1], 0x3138510Bu);
	FT_ASSERT_HEX(uid[2], 0x39363432u);
	ft_board_runtime_close(rt, NULL);
}

static void test_n6_board_has_no_internal_flash_and_its_nor_on_xspi2(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-n657x0-q.board", &rt), FT_OK);
	if (!rt)
		return;
	CU_ASSERT_PTR_NULL(ft_board_runtime_flash(rt));
	CU_ASSERT_FALSE(ft_board_runtime_boot0(rt));
	CU_ASSERT_TRUE(ft_board_runtime_state_is_new(rt));
	const ft_board_runtime_nor *n = ft_board_runtime_nor_at(rt, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	FT_ASSERT_HEX(n->window_base, XSPI2_WINDOW);
	CU_ASSERT_STRING_EQUAL(n->region, "nor-xspi2");
	FT_ASSERT_HEX(ft_nor_array(n->nor)[MX25UM_SIZE - 1], 0xFF);
	ft_board_runtime_close(rt, NULL);
}

static void test_board_without_uid_gets_a_stable_one_from_its_name(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board("boards/nucleo-h723zg.board", &rt), FT_OK);
	if (!rt)
		return;
	uint32_t uid[3], derived[3], other[3];
	ft_board_runtime_uid(rt, uid);
	ft_board_runtime_derive_uid("nucleo-h723zg", derived);
	ft_board_runtime_derive_uid("nucleo-h743zi2", other);
	FT_ASSERT_BYTES(uid, derived, sizeof(uid));
	CU_ASSERT(memcmp(uid, other, sizeof(uid)) != 0);
	CU_ASSERT(uid[0] != uid[1] && uid[1] != uid[2]);
	ft_board_runtime_close(rt, NULL);
}

static void test_board_without_revision_gets_the_tables_last(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board(board_file("plain", "part = STM32H743ZIT6\n"), &rt), FT_OK);
	if (!rt)
		return;
	FT_ASSERT_HEX(ft_board_runtime_rev_id(rt), H743_REV_V);
	CU_ASSERT_FALSE(ft_board_runtime_boot0(rt));
	CU_ASSERT_STRING_EQUAL(ft_board_runtime_name(rt), "plain");
	ft_board_runtime_close(rt, NULL);
}

static void test_revision_the_part_never_had_is_not_found(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board(board_file("b", "part = STM32H723ZG\nrevision = V\n"), &rt),
	              FT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(rt);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "A Z"));
}

static void test_bus_the_part_lacks_is_unsupported(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board(board_file("b", "part = STM32H723ZG\n"
	                                         "external_flash_part = W25Q256JV\n"
	                                         "external_flash_bus = quadspi1\n"),
	                         &rt),
	              FT_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(rt);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "QUADSPI"));
}

static void test_unknown_part_and_missing_file_are_not_found(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(open_board(board_file("b", "part = STM32F407VG\n"), &rt), FT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "STM32F407VG"));
	FT_ASSERT_HEX(open_board("/nonexistent/x.board", &rt), FT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(rt);
}

static void test_missing_arguments_are_invalid(void)
{
	ft_board_runtime *rt = NULL;
	FT_ASSERT_HEX(ft_board_runtime_open(NULL, &rt, &diag), FT_ERR_INVALID_ARG);
	ft_board_runtime_config cfg = {.board_path = "boards/nucleo-h743zi2.board"};
	FT_ASSERT_HEX(ft_board_runtime_open(&cfg, &rt, &diag), FT_ERR_INVALID_ARG);
	cfg.state_dir = g_state;
	cfg.clock_mode = (ft_clock_mode)7;
	FT_ASSERT_HEX(ft_board_runtime_open(&cfg, &rt, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(rt);
	FT_ASSERT_HEX(ft_board_runtime_close(NULL, &diag), FT_OK);
}

static CU_TestInfo tests[] = {
    {"nucleo_h743_opens_with_erased_flash_and_factory_options",
     test_nucleo_h743_opens_with_erased_flash_and_factory_options},
    {"programmed_flash_survives_close_and_reopen", test_programmed_flash_survives_close_and_reopen},
    {"second_open_of_a_state_directory_is_busy", test_second_open_of_a_state_directory_is_busy},
    {"state_directory_of_another_board_is_refused",
     test_state_directory_of_another_board_is_refused},
    {"custom_board_has_its_nor_in_the_quadspi_window",
     test_custom_board_has_its_nor_in_the_quadspi_window},
    {"n6_board_has_no_internal_flash_and_its_nor_on_xspi2",
     test_n6_board_has_no_internal_flash_and_its_nor_on_xspi2},
    {"board_without_uid_gets_a_stable_one_from_its_name",
     test_board_without_uid_gets_a_stable_one_from_its_name},
    {"board_without_revision_gets_the_tables_last",
     test_board_without_revision_gets_the_tables_last},
    {"revision_the_part_never_had_is_not_found", test_revision_the_part_never_had_is_not_found},
    {"bus_the_part_lacks_is_unsupported", test_bus_the_part_lacks_is_unsupported},
    {"unknown_part_and_missing_file_are_not_found",
     test_unknown_part_and_missing_file_are_not_found},
    {"missing_arguments_are_invalid", test_missing_arguments_are_invalid},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"board_runtime", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
