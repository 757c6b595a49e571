/* The flashtwin command as a user runs it: exit statuses, messages and --json fields, on files
 * the tests write (ELF, Intel HEX, SREC, raw binary). The harness (cli_harness.h) says which
 * binary runs and from where.
 */
#include "programmer/tests/cli_harness.h"

/* ---- the command line --------------------------------------------------------------------- */

static void test_version_prints_name_and_version(void)
{
	run("--version", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "flashtwin ");
}

static void test_help_describes_both_commands(void)
{
	run("--help", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "check FILE...");
	ASSERT_CONTAINS(fx.out, "parts [PART]");
	ASSERT_CONTAINS(fx.out, "exit status");
}

static void test_check_help_lists_every_option(void)
{
	run("check", "--help", NULL);
	ASSERT_EXIT(0);
	static const char *const options[] = {"--part",          "--board",   "--transport",
	                                      "--skip-volatile", "--address", "--json"};
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		ASSERT_CONTAINS(fx.out, options[i]);
}

static void test_no_command_is_a_usage_error(void)
{
	run(NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "usage");
}

static void test_misspelt_command_suggests_the_right_one(void)
{
	run("chek", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "did you mean 'check'");
}

static void test_unknown_option_is_a_usage_error(void)
{
	write_bin(scratch("a.bin"), 64);
	run("check", fx.path, "--part", "h743zi", "--frobnicate", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "unknown option '--frobnicate'");
}

static void test_option_without_value_is_a_usage_error(void)
{
	run("check", "a.bin", "--part", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--part needs a value");
}

static void test_part_and_board_together_are_a_usage_error(void)
{
	run("check", "a.bin", "--part", "h743zi", "--board", "nucleo-h743zi2", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--part PART or --board BOARD");
}

static void test_unknown_part_suggests_close_names(void)
{
	run("check", "a.bin", "--part", "STM32H734ZI", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "unknown part 'STM32H734ZI'");
	ASSERT_CONTAINS(fx.err, "did you mean STM32H743xI");
}

static void test_unknown_board_lists_known_boards(void)
{
	run("check", "a.bin", "--board", "nucleo-h743zi", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "unknown board 'nucleo-h743zi'");
	ASSERT_CONTAINS(fx.err, "nucleo-n657x0-q");
	ASSERT_CONTAINS(fx.err, "did you mean 'nucleo-h743zi2'");
}

static void test_malformed_board_file_names_its_line(void)
{
	FILE *f = fopen(scratch("my.board"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("# my board\npart = STM32H743ZI\ncolour = blue\n", f);
	fclose(f);
	run("check", "a.bin", "--board", fx.path, NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "my.board: line 3: unknown key 'colour'");
}

static void test_unknown_transport_is_a_usage_error(void)
{
	write_bin(scratch("a.bin"), 64);
	run("check", fx.path, "--address", "0x08000000", "--part", "h743zi", "--transport", "uart",
	    NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "unknown transport 'uart'");
}

static void test_bad_address_is_a_usage_error(void)
{
	run("check", "a.bin", "--address", "flash", "--part", "h743zi", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--address 'flash'");
}

static void test_unreadable_file_is_named(void)
{
	run("check", scratch("missing.elf"), "--part", "h743zi", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "flashtwin: ");
	ASSERT_CONTAINS(fx.err, "missing.elf");
}

static void test_raw_binary_without_address_is_a_usage_error(void)
{
	write_bin(scratch("fw.bin"), 64);
	run("check", fx.path, "--part", "h743zi", "--json", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "fw.bin");
	CU_ASSERT_STRING_EQUAL(str_at("status"), "error");
	FT_ASSERT_HEX(int_at("exit_status"), 2);
}

/* ---- plans -------------------------------------------------------------------------------- */

static void test_binary_in_flash_is_programmable(void)
{
	write_bin(scratch("fw.bin"), 1000);
	run("check", fx.path, "--address", "0x08000000", "--part", "STM32H743ZIT6", "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("status"), "ok");
	CU_ASSERT_STRING_EQUAL(str_at("part/name"), "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(str_at("part/dev_id"), "0x450");
	CU_ASSERT_STRING_EQUAL(str_at("transport"), "dfu");
	CU_ASSERT_STRING_EQUAL(str_at("segments/0/verdict"), "program");
	CU_ASSERT_STRING_EQUAL(str_at("segments/0/region_text"), "flash bank 1 sector 0");
	FT_ASSERT_HEX(int_at("work/erase/0/bank"), 1);
	FT_ASSERT_HEX(int_at("work/erase/0/sector"), 0);
	CU_ASSERT_STRING_EQUAL(str_at("work/erase/0/end"), "0x0801FFFF");
	FT_ASSERT_HEX(int_at("work/write/0/size"), 1024);
	FT_ASSERT_HEX(int_at("work/write/0/padding"), 24);
	FT_ASSERT_HEX(int_at("totals/program"), 1);
}

static void test_binary_at_zero_is_refused_as_itcm(void)
{
	write_bin(scratch("firmware.bin"), 0x5DA88);
	run("check", fx.path, "--address", "0x0", "--part", "STM32H725VG", "--transport", "swd",
	    "--json", NULL);
	ASSERT_EXIT(1);
	CU_ASSERT_STRING_EQUAL(str_at("status"), "refused");
	CU_ASSERT_STRING_EQUAL(str_at("segments/0/rule"), "bin-in-ram");
	ASSERT_CONTAINS(str_at("segments/0/reason"), "ITCM RAM on STM32H7, not flash; did you mean "
	                                             "0x08000000?");
	FT_ASSERT_HEX(json_array_size(at("work/erase")), 0);
}

static void test_board_name_selects_its_part(void)
{
	write_bin(scratch("fw.bin"), 64);
	run("check", "--board", "nucleo-h723zg", "--json", "--address", "0x08000000", fx.path,
	    NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("part/name"), "STM32H723xG");
	CU_ASSERT_STRING_EQUAL(str_at("board"), "nucleo-h723zg");
}

static void test_report_a_elf_is_refused_over_dfu_naming_sections(void)
{
	write_report_a(scratch("app.elf"));
	run("check", fx.path, "--board", "nucleo-h723zg", "--transport", "dfu", "--json", NULL);
	ASSERT_EXIT(1);
	CU_ASSERT_STRING_EQUAL(str_at("segments/0/verdict"), "program");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/verdict"), "refuse");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/rule"), "dfu-volatile");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/start"), "0x30000000");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/sections/0/name"), ".RxDecripSection");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/sections/1/name"), ".TxDecripSection");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/region/kind"), "ahb-sram");
	ASSERT_CONTAINS(str_at("segments/1/reason"), "the system bootloader only accepts flash");
	ASSERT_CONTAINS(str_at("segments/1/fix"), "*(.RxDecripSection) *(.TxDecripSection) } "
	                                          ">RAM_D2");
	FT_ASSERT_HEX(json_array_size(at("work/erase")), 0);
	FT_ASSERT_HEX(json_array_size(at("work/write")), 0);
	ASSERT_CONTAINS(str_at("conclusion"), "nothing will be erased");
}

static void test_report_a_as_text_shows_table_reason_and_conclusion(void)
{
	write_report_a(scratch("app.elf"));
	run("check", fx.path, "--part", "STM32H723ZG", "--transport", "dfu", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.out, "address range");
	ASSERT_CONTAINS(fx.out, "0x30000000-0x300002FF");
	ASSERT_CONTAINS(fx.out, "REFUSE");
	ASSERT_CONTAINS(fx.out, "reason");
	ASSERT_CONTAINS(fx.out, "(NOLOAD)");
	ASSERT_CONTAINS(fx.out, "refused: 1 of 2 segments cannot be programmed over USB DFU");
}

static void test_skip_volatile_programs_report_a_flash_only(void)
{
	write_report_a(scratch("app.elf"));
	run("check", fx.path, "--part", "STM32H723ZG", "--transport", "dfu", "--skip-volatile",
	    "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/verdict"), "skip");
	FT_ASSERT_HEX(json_array_size(at("work/erase")), 1);
	FT_ASSERT_HEX(json_array_size(at("work/verify")), 1);
}

static void test_report_a_over_swd_warns_and_exits_zero(void)
{
	write_report_a(scratch("app.elf"));
	run("check", fx.path, "--part", "STM32H723ZG", "--transport", "swd", "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/verdict"), "volatile");
	CU_ASSERT_TRUE(json_is_false(at("work/write/1/persistent")));
}

static void test_hex_record_across_sectors_erases_both(void)
{
	write_ihex(scratch("app.hex"), 0x0801FFF0, 0x20);
	run("check", fx.path, "--part", "STM32H743ZI", "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("segments/0/format"), "ihex");
	FT_ASSERT_HEX(json_array_size(at("work/erase")), 2);
	FT_ASSERT_HEX(int_at("work/erase/1/sector"), 1);
	CU_ASSERT_STRING_EQUAL(str_at("work/write/0/start"), "0x0801FFE0");
	FT_ASSERT_HEX(int_at("work/write/0/size"), 0x40);
}

static void test_srec_with_external_records_names_lines(void)
{
	static const uint32_t blocks[] = {0x08000000, 0x400, 0x90000000, 0x200};
	write_srec(scratch("app.srec"), blocks, 2);
	run("check", fx.path, "--board", "custom-h743-w25q256", "--transport", "swd", "--json",
	    NULL);
	ASSERT_EXIT(1);
	CU_ASSERT_STRING_EQUAL(str_at("segments/0/verdict"), "program");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/rule"), "ext-needs-loader");
	CU_ASSERT_TRUE(int_at("segments/1/lines/0") > 1);
	CU_ASSERT_TRUE(int_at("segments/1/lines/1") >= int_at("segments/1/lines/0"));
	ASSERT_CONTAINS(str_at("segments/1/fix"), "--loader FILE.stldr");
	FT_ASSERT_HEX(json_array_size(at("work/erase")), 0);
}

static void test_n6_image_is_refused_with_fix_list(void)
{
	elf_segment segs[] = {
	    {0x00000000, 0x00000000, 0x1000, 0x1000, 5, {".itcm_text"}},
	    {0x34000400, 0x34000400, 0x1000, 0x1000, 5, {".text"}},
	    {0x71000000, 0x71000000, 0x800, 0x800, 4, {".nn_weights"}},
	};
	write_elf(scratch("appli.elf"), segs, 3);
	run("check", fx.path, "--board", "nucleo-n657x0-q", "--json", NULL);
	ASSERT_EXIT(1);
	CU_ASSERT_STRING_EQUAL(str_at("transport"), "swd");
	CU_ASSERT_STRING_EQUAL(str_at("segments/2/rule"), "ext-needs-loader");
	ASSERT_CONTAINS(str_at("conclusion"), "no internal flash");
	ASSERT_CONTAINS(str_at("advice/1"), "BOOT1=1");
}

/* ---- golden plans of the firmware fixtures ------------------------------------------------ */

/* `flashtwin check --json` on the images of conformance/fixtures, compared with
 * programmer/tests/golden/NAME.json (the "flashtwin" version key aside). flashtwin runs inside
 * the fixtures directory so that paths in the plan do not depend on the build tree.
 * FT_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing. */
typedef struct golden {
	const char *name;
	const char *args[8];
} golden;

static const golden goldens[] = {
    {"report-a-h723-dfu", {"h723-eth-d2.elf", "--part", "STM32H723ZG", "--transport", "dfu"}},
    {"report-a-h723-dfu-skip-volatile",
     {"h723-eth-d2.elf", "--part", "STM32H723ZG", "--transport", "dfu", "--skip-volatile"}},
    {"report-a-h723-swd", {"h723-eth-d2.elf", "--part", "STM32H723ZG", "--transport", "swd"}},
    {"report-a-fixed-h723-dfu",
     {"h723-eth-d2-fixed.elf", "--part", "STM32H723ZG", "--transport", "dfu"}},
    {"report-a-hex-h723-dfu", {"h723-eth-d2.hex", "--part", "STM32H723ZG", "--transport", "dfu"}},
    {"report-b-srec-h743-swd", {"h743-qspi.srec", "--part", "STM32H743XI", "--transport", "swd"}},
    {"report-c-h743-dfu", {"h743-dtcm.elf", "--part", "STM32H743ZI", "--transport", "dfu"}},
    {"report-d-n657-swd", {"n6-lrun.elf", "--part", "STM32N657X0", "--transport", "swd"}},
    {"report-e-bin-at-0", {"h725-app.bin", "--address", "0x0", "--part", "STM32H725ZG"}},
    {"h725-bin-in-flash", {"h725-app.bin", "--address", "0x08000000", "--part", "STM32H725ZG"}},
    {"h743-clean-dfu", {"h743-clean.elf", "--part", "STM32H743ZI", "--transport", "dfu"}},
    {"h743-qspi-dfu", {"h743-qspi.elf", "--part", "STM32H743ZI", "--transport", "dfu"}},
    {"h7a3-clean-hex-dfu", {"h7a3-clean.hex", "--part", "STM32H7A3ZI", "--transport", "dfu"}},
    {"n6-fsbl-swd", {"n6-fsbl.elf", "--part", "STM32N657X0", "--transport", "swd"}},
};

static void check_golden(const golden *g)
{
	char build[PATH_MAX], fixtures[PATH_MAX + 16], path[2 * PATH_MAX];
	build_dir(build, sizeof(build));
	snprintf(fixtures, sizeof(fixtures), "%s/fixtures", build);
	snprintf(path, sizeof(path), "%s/%s", fixtures, g->args[0]);
	if (access(path, R_OK) != 0) {
		CU_FAIL("fixture missing: run make fixtures");
		return;
	}
	fx.cwd = fixtures;
	run("check", "--json", g->args[0], g->args[1], g->args[2], g->args[3], g->args[4],
	    g->args[5], g->args[6], g->args[7], NULL);
	fx.cwd = NULL;
	if (!fx.json)
		fprintf(stderr, "\n%s: exit %d, no JSON on stdout; stderr:\n%s\n", g->name,
		        fx.status, fx.err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.json);
	json_object_del(fx.json, "flashtwin");
	FT_ASSERT_HEX(fx.status, json_integer_value(json_object_get(fx.json, "exit_status")));
	snprintf(path, sizeof(path), "programmer/tests/golden/%s.json", g->name);
	const char *update = getenv("FT_UPDATE_GOLDEN");
	if (update && strcmp(update, "1") == 0) {
		CU_ASSERT_EQUAL(json_dump_file(fx.json, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER),
		                0);
		return;
	}
	json_error_t error;
	json_t *expected = json_load_file(path, 0, &error);
	if (!expected) {
		fprintf(stderr, "\n%s: %s\n", path, error.text);
		CU_FAIL("golden file missing or unreadable");
		return;
	}
	bool same = json_equal(fx.json, expected);
	if (!same) {
		char actual[PATH_MAX + 64];
		snprintf(actual, sizeof(actual), "%s/golden-actual-%s.json", build, g->name);
		json_dump_file(fx.json, actual, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fprintf(stderr, "\n%s differs from %s (diff them; FT_UPDATE_GOLDEN=1 rewrites)\n",
		        actual, path);
	}
	CU_ASSERT_TRUE(same);
	json_decref(expected);
}

static void test_fixture_plans_match_their_golden_files(void)
{
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++)
		check_golden(&goldens[i]);
}

/* ---- parts -------------------------------------------------------------------------------- */

static void test_parts_lists_the_table(void)
{
	run("parts", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "STM32H743xI");
	ASSERT_CONTAINS(fx.out, "2 x 8 x 128 KiB");
	ASSERT_CONTAINS(fx.out, "STM32N657x0");
	run("parts", "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("parts/0/name"), "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(str_at("parts/0/dev_id"), "0x450");
}

static void test_parts_of_one_part_shows_its_map(void)
{
	run("parts", "nucleo-h743zi2-is-not-a-part", NULL);
	ASSERT_EXIT(2);
	run("parts", "stm32h7a3zit6q", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "STM32H7A3xI");
	ASSERT_CONTAINS(fx.out, "16-byte flash words");
	ASSERT_CONTAINS(fx.out, "otp");
	run("parts", "H723ZG", "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("regions/1/kind"), "flash-bank");
	CU_ASSERT_STRING_EQUAL(str_at("regions/1/start"), "0x08000000");
	FT_ASSERT_HEX(int_at("bootloader/transfer_size"), 1024);
}

static CU_TestInfo tests[] = {
    {"version_prints_name_and_version", test_version_prints_name_and_version},
    {"help_describes_both_commands", test_help_describes_both_commands},
    {"check_help_lists_every_option", test_check_help_lists_every_option},
    {"no_command_is_a_usage_error", test_no_command_is_a_usage_error},
    {"misspelt_command_suggests_the_right_one", test_misspelt_command_suggests_the_right_one},
    {"unknown_option_is_a_usage_error", test_unknown_option_is_a_usage_error},
    {"option_without_value_is_a_usage_error", test_option_without_value_is_a_usage_error},
    {"part_and_board_together_are_a_usage_error", test_part_and_board_together_are_a_usage_error},
    {"unknown_part_suggests_close_names", test_unknown_part_suggests_close_names},
    {"unknown_board_lists_known_boards", test_unknown_board_lists_known_boards},
    {"malformed_board_file_names_its_line", test_malformed_board_file_names_its_line},
    {"unknown_transport_is_a_usage_error", test_unknown_transport_is_a_usage_error},
    {"bad_address_is_a_usage_error", test_bad_address_is_a_usage_error},
    {"unreadable_file_is_named", test_unreadable_file_is_named},
    {"raw_binary_without_address_is_a_usage_error",
     test_raw_binary_without_address_is_a_usage_error},
    {"binary_in_flash_is_programmable", test_binary_in_flash_is_programmable},
    {"binary_at_zero_is_refused_as_itcm", test_binary_at_zero_is_refused_as_itcm},
    {"board_name_selects_its_part", test_board_name_selects_its_part},
    {"report_a_elf_is_refused_over_dfu_naming_sections",
     test_report_a_elf_is_refused_over_dfu_naming_sections},
    {"report_a_as_text_shows_table_reason_and_conclusion",
     test_report_a_as_text_shows_table_reason_and_conclusion},
    {"skip_volatile_programs_report_a_flash_only", test_skip_volatile_programs_report_a_flash_only},
    {"report_a_over_swd_warns_and_exits_zero", test_report_a_over_swd_warns_and_exits_zero},
    {"hex_record_across_sectors_erases_both", test_hex_record_across_sectors_erases_both},
    {"srec_with_external_records_names_lines", test_srec_with_external_records_names_lines},
    {"n6_image_is_refused_with_fix_list", test_n6_image_is_refused_with_fix_list},
    {"fixture_plans_match_their_golden_files", test_fixture_plans_match_their_golden_files},
    {"parts_lists_the_table", test_parts_lists_the_table},
    {"parts_of_one_part_shows_its_map", test_parts_of_one_part_shows_its_map},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cli_check", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
