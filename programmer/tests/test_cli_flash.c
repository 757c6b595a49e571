/* flashtwin flash end to end: the command run as a user runs it, against an emulated board (the
 * DFU bootloader model over USB/IP, dfu_board.h), with what the device holds afterwards read
 * back through `flashtwin read`. Scenarios from CATALOGUE §5: I01/D14 (a RAM_D2 segment is
 * refused and nothing is erased), D13 (leave), I17 (raw binary with an address), D07-style
 * verify mismatches, and device errors explained by segment, section and region. */
#include "programmer/tests/cli_harness.h"
#include "programmer/tests/dfu_board.h"

#define REV_V 0x2003 /* STM32H743 revision V (RM0433 DBGMCU_IDCODE REV_ID) */
#define REV_Z 0x1001 /* revision Z: STM32H7A3 rev Z, STM32H723 rev Z */

static dfu_board board;

static void board_setup(void)
{
	setup();
	CU_ASSERT_FATAL(dfu_board_start(&board, "STM32H743ZI", REV_V));
}

static void board_teardown(void)
{
	dfu_board_stop(&board);
	teardown();
}

/* The bytes write_elf puts in segment index i at offset k. */
static uint8_t elf_byte(size_t i, uint32_t k)
{
	return (uint8_t)(0x5A ^ k ^ i);
}

/* A clean image: flash only. Its flash bytes come from segment index 1 (index 0 is .bss), so they
 * differ from those of report A, whose flash segment is index 0. */
static void write_clean(const char *path)
{
	elf_segment segs[] = {
	    {0x08004000, 0x24000000, 0, 0x400, 6, {".bss_placeholder", NULL}},
	    {0x08000000, 0x08000000, 0x4000, 0x4000, 5, {".isr_vector", ".text", NULL}},
	};
	write_elf(path, segs, 2);
}

/* Reads [addr, addr + len) of the board into a malloc'd buffer (NULL on failure). */
static uint8_t *read_back(uint32_t addr, uint32_t len)
{
	char a[16], l[16], out[PATH_MAX];
	snprintf(a, sizeof(a), "0x%08X", addr);
	snprintf(l, sizeof(l), "0x%X", len);
	snprintf(out, sizeof(out), "%s", scratch("back.bin"));
	run("read", "--connect", board.url, "--no-poll-wait", a, l, "-o", out, NULL);
	ASSERT_EXIT(0);
	FILE *f = fopen(out, "rb");
	uint8_t *buf = malloc(len);
	if (!f || !buf || fread(buf, 1, len, f) != len) {
		CU_FAIL("read-back file");
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

/* FT_ASSERT_BYTES on the segment pattern, without listing 16 KiB on failure. */
static void assert_pattern(const uint8_t *got, size_t index, uint32_t len)
{
	uint32_t bad = len;
	for (uint32_t k = 0; got && k < len && bad == len; k++)
		if (got[k] != elf_byte(index, k))
			bad = k;
	FT_ASSERT_HEX(bad, len);
}

static void test_clean_image_flashes_verifies_and_reads_back(void)
{
	char elf[PATH_MAX];
	snprintf(elf, sizeof(elf), "%s", scratch("clean.elf"));
	write_clean(elf);
	run("flash", elf, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "STM32H743xI");
	ASSERT_CONTAINS(fx.out, "erased    1 sector (128 KiB)");
	ASSERT_CONTAINS(fx.out, "written   16 KiB");
	ASSERT_CONTAINS(fx.out, "verified  16 KiB read back, identical");
	ASSERT_CONTAINS(fx.out, "\nflashed\n");
	ASSERT_CONTAINS(fx.err, "erase: 1 sector (128 KiB)");
	ASSERT_CONTAINS(fx.err, "bank 1 sector 0  0x08000000-0x0801FFFF");
	uint8_t *back = read_back(0x08000000, 0x4000);
	assert_pattern(back, 1, 0x4000);
	free(back);
}

/* I01, D14: the RAM_D2 segment refuses the plan before anything is erased; the clean image
 * flashed before is still there. */
static void test_ram_d2_image_is_refused_and_nothing_is_erased(void)
{
	char clean[PATH_MAX], bad[PATH_MAX];
	snprintf(clean, sizeof(clean), "%s", scratch("clean.elf"));
	snprintf(bad, sizeof(bad), "%s", scratch("report-a.elf"));
	write_clean(clean);
	write_report_a(bad);
	run("flash", clean, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	run("flash", bad, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.out, "REFUSE");
	ASSERT_CONTAINS(fx.out, ".RxDecripSection .TxDecripSection");
	ASSERT_CONTAINS(fx.out, "(NOLOAD)");
	ASSERT_CONTAINS(fx.out, "nothing will be erased");
	CU_ASSERT_PTR_NULL(strstr(fx.err, "erase:"));
	uint8_t *back = read_back(0x08000000, 0x4000);
	assert_pattern(back, 1, 0x4000);
	free(back);
}

static void test_refused_plan_with_a_part_does_not_connect(void)
{
	write_report_a(scratch("report-a.elf"));
	run("flash", scratch("report-a.elf"), "--part", "STM32H743ZI", "--connect",
	    "usbip://127.0.0.1:1", "--json", NULL);
	ASSERT_EXIT(1);
	FT_ASSERT_HEX(json_result(), 2); /* plan, result */
	CU_ASSERT_STRING_EQUAL(str_at("command"), "flash");
	CU_ASSERT_STRING_EQUAL(str_at("status"), "refused");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/rule"), "dfu-volatile");
	CU_ASSERT(json_is_null(at("device")));
	FT_ASSERT_HEX(json_array_size(at("work/erase")), 0);
}

static void test_skip_volatile_programs_the_flash_part(void)
{
	write_report_a(scratch("report-a.elf"));
	run("flash", scratch("report-a.elf"), "--skip-volatile", "--connect", board.url,
	    "--no-poll-wait", "--json", NULL);
	ASSERT_EXIT(0);
	json_result();
	CU_ASSERT_STRING_EQUAL(str_at("status"), "ok");
	CU_ASSERT_STRING_EQUAL(str_at("segments/1/verdict"), "skip");
	CU_ASSERT_STRING_EQUAL(str_at("result/verify"), "identical");
	FT_ASSERT_HEX(int_at("result/verified_bytes"), 0x4000);
	CU_ASSERT_STRING_EQUAL(str_at("device/part/name"), "STM32H743xI");
	uint8_t *back = read_back(0x08000000, 0x4000);
	assert_pattern(back, 0, 0x4000);
	free(back);
}

/* 200 KiB over two 128 KiB sectors (RM0433 §4.3.1): write progress every 64 KiB and at the end. */
static void test_json_streams_plan_erases_writes_verify_result(void)
{
	write_bin(scratch("fw.bin"), 200 * 1024);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08000000", scratch("fw.bin"));
	run("flash", arg, "-c", board.url, "--no-poll-wait", "--json", NULL);
	ASSERT_EXIT(0);
	size_t n = json_lines();
	FT_ASSERT_HEX(n, 9);
	static const char *const events[] = {"plan",  "erase", "erase",  "write", "write",
	                                     "write", "write", "verify", "result"};
	for (size_t i = 0; i < n && i < 9; i++) {
		char path[32];
		snprintf(path, sizeof(path), "%zu/event", i);
		CU_ASSERT_STRING_EQUAL(str_at(path), events[i]);
	}
	ASSERT_CONTAINS(str_at("0/conclusion"), "programmable over USB DFU");
	CU_ASSERT_STRING_EQUAL(str_at("0/device/part/name"), "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(str_at("1/sector"), "bank 1 sector 0  0x08000000-0x0801FFFF");
	FT_ASSERT_HEX(int_at("2/done"), 0x40000);
	FT_ASSERT_HEX(int_at("3/done"), 0x10000);
	FT_ASSERT_HEX(int_at("5/done"), 0x30000);
	FT_ASSERT_HEX(int_at("6/done"), 200 * 1024);
	FT_ASSERT_HEX(int_at("6/total"), 200 * 1024);
	FT_ASSERT_HEX(int_at("7/done"), 200 * 1024);
	CU_ASSERT_STRING_EQUAL(str_at("8/status"), "ok");
	FT_ASSERT_HEX(int_at("8/exit_status"), 0);
	CU_ASSERT_STRING_EQUAL(str_at("8/result/verify"), "identical");
	/* the last line is the whole report: plan, device and outcome */
	CU_ASSERT_STRING_EQUAL(str_at("8/command"), "flash");
	FT_ASSERT_HEX(json_array_size(at("8/work/erase")), 2);
	CU_ASSERT_STRING_EQUAL(str_at("8/device/part/name"), "STM32H743xI");
	FT_ASSERT_HEX(int_at("8/result/written_bytes"), 200 * 1024);
}

static void test_json_of_a_refused_plan_is_plan_and_result(void)
{
	write_report_a(scratch("report-a.elf"));
	run("flash", scratch("report-a.elf"), "-c", board.url, "--no-poll-wait", "--json", NULL);
	ASSERT_EXIT(1);
	FT_ASSERT_HEX(json_lines(), 2);
	CU_ASSERT_STRING_EQUAL(str_at("0/event"), "plan");
	CU_ASSERT_STRING_EQUAL(str_at("1/event"), "result");
	FT_ASSERT_HEX(int_at("1/exit_status"), 1);
	CU_ASSERT_STRING_EQUAL(str_at("1/status"), "refused");
	CU_ASSERT_STRING_EQUAL(str_at("1/segments/1/rule"), "dfu-volatile");
}

/* An input that cannot be read is reported before any plan: the stream is the result alone. */
static void test_json_of_an_unreadable_file_is_one_result_line(void)
{
	run("flash", scratch("missing.elf"), "-c", board.url, "--json", NULL);
	ASSERT_EXIT(2);
	FT_ASSERT_HEX(json_result(), 1);
	CU_ASSERT_STRING_EQUAL(str_at("status"), "error");
	FT_ASSERT_HEX(int_at("exit_status"), 2);
	ASSERT_CONTAINS(str_at("error/file"), "missing.elf");
}

static void test_raw_binary_at_flash_base_is_programmed(void)
{
	write_bin(scratch("fw.bin"), 1000);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08000000", scratch("fw.bin"));
	run("flash", arg, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "written   1 KiB"); /* 1000 B + 24 B of 0xFF to the 32-B word */
	uint8_t *back = read_back(0x08000000, 1024);
	if (back) {
		for (uint32_t i = 0; i < 1000; i++)
			if (back[i] != (uint8_t)(i * 7)) {
				FT_ASSERT_HEX(back[i], (uint8_t)(i * 7));
				break;
			}
		uint8_t pad[24];
		memset(pad, 0xFF, sizeof(pad));
		FT_ASSERT_BYTES(back + 1000, pad, sizeof(pad));
	}
	free(back);
}

static void test_verify_mismatch_names_address_bytes_segment_and_section(void)
{
	char elf[PATH_MAX];
	snprintf(elf, sizeof(elf), "%s", scratch("clean.elf"));
	write_clean(elf);
	atomic_store(&board.corrupt_uploads, 1);
	run("flash", elf, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(1);
	char line[160];
	snprintf(line, sizeof(line), "0x08000000 reads 0x%02X, expected 0x%02X",
	         (uint8_t)~elf_byte(1, 0), elf_byte(1, 0));
	ASSERT_CONTAINS(fx.out, line);
	ASSERT_CONTAINS(fx.out, "segment 1 (");
	ASSERT_CONTAINS(fx.out, "clean.elf PT_LOAD[1]), .isr_vector, Flash bank 1");
	ASSERT_CONTAINS(fx.out, "failed: the flash does not hold what was written");
}

static void test_no_verify_reads_nothing_back(void)
{
	char elf[PATH_MAX];
	snprintf(elf, sizeof(elf), "%s", scratch("clean.elf"));
	write_clean(elf);
	atomic_store(&board.corrupt_uploads, 1);
	run("flash", elf, "--connect", board.url, "--no-poll-wait", "--no-verify", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "verify    skipped (--no-verify)");
	FT_ASSERT_HEX(atomic_load(&board.corrupt_uploads), 1);
}

/* The device refuses what the plan allowed (a 2 MiB plan on a 1 MiB die): the failure names the
 * device's state and status, the address, the segment and the region. */
static void test_device_error_is_explained_with_segment_and_region(void)
{
	dfu_board_stop(&board);
	CU_ASSERT_FATAL(dfu_board_start(&board, "STM32H743VG", REV_V));
	write_bin(scratch("fw.bin"), 256);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08180000", scratch("fw.bin"));
	run("flash", arg, "--part", "STM32H743ZI", "--connect", board.url, "--no-poll-wait",
	    "--json", NULL);
	ASSERT_EXIT(1);
	json_result();
	ASSERT_CONTAINS(fx.err, "device answered dfuERROR/errTARGET");
	ASSERT_CONTAINS(fx.err, "0x08180000");
	ASSERT_CONTAINS(fx.err, "(segment 0 (");
	ASSERT_CONTAINS(fx.err, "Flash bank 2)");
	CU_ASSERT_STRING_EQUAL(str_at("status"), "failed");
	CU_ASSERT_STRING_EQUAL(str_at("result/failed_phase"), "erase");
	CU_ASSERT_STRING_EQUAL(str_at("result/error/address"), "0x08180000");
	CU_ASSERT_STRING_EQUAL(str_at("result/error/code"), "range");
}

/* D13: leaving DFU mode is a success even though the device drops off the bus. */
static void test_leave_starts_the_firmware_from_its_vector_table(void)
{
	char elf[PATH_MAX];
	snprintf(elf, sizeof(elf), "%s", scratch("clean.elf"));
	write_clean(elf);
	run("flash", elf, "--connect", board.url, "--no-poll-wait", "--leave", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "left      DFU mode; the device starts from the vector table at "
	                        "0x08000000");
	dfu_board_stop(&board);
	FT_ASSERT_HEX(board.exits, 1);
	FT_ASSERT_HEX(board.exit_reason, FT_DFU_BOOTLOADER_EXIT_JUMP);
	FT_ASSERT_HEX(board.exit_addr, 0x08000000);
}

static void test_leave_takes_an_address(void)
{
	write_bin(scratch("fw.bin"), 64);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08020000", scratch("fw.bin"));
	run("flash", arg, "--connect", board.url, "--no-poll-wait", "--leave", "0x08020000", NULL);
	ASSERT_EXIT(0);
	dfu_board_stop(&board);
	FT_ASSERT_HEX(board.exit_addr, 0x08020000);
}

/* CATALOGUE §4 item 7: the H7A3 rev Z ROM describes 256 x 2 KiB pages; the part table's 8 KiB
 * sectors in two banks are used, so bank 2 can be programmed. */
static void test_h7a3_rev_z_descriptor_is_overridden_by_the_part_table(void)
{
	dfu_board_stop(&board);
	CU_ASSERT_FATAL(dfu_board_start(&board, "STM32H7A3ZI", REV_Z));
	write_bin(scratch("fw.bin"), 512);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08100000", scratch("fw.bin"));
	run("flash", arg, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.err, "the descriptor says 256 x 2 KiB at 0x08000000");
	ASSERT_CONTAINS(fx.err, "h7a3-rev-z-descriptor");
	ASSERT_CONTAINS(fx.out, "bank 2 sector 0");
	ASSERT_CONTAINS(fx.out, "verified  512 B read back, identical");
}

static void test_part_that_disagrees_with_the_device_is_refused(void)
{
	write_bin(scratch("fw.bin"), 64);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08000000", scratch("fw.bin"));
	run("flash", arg, "--part", "STM32H7A3ZI", "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "does not look like STM32H7A3xI");
	ASSERT_CONTAINS(fx.err, "nothing was touched");
}

static void test_unreachable_server_is_a_connection_failure(void)
{
	write_bin(scratch("fw.bin"), 64);
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof(arg), "%s@0x08000000", scratch("fw.bin"));
	run("flash", arg, "--connect", "usbip://127.0.0.1:1", NULL);
	ASSERT_EXIT(3);
	ASSERT_CONTAINS(fx.err, "flash: cannot connect to usbip://127.0.0.1:1");
	ASSERT_CONTAINS(fx.err, "flashtwin-emu");
}

static void test_flash_usage_errors(void)
{
	run("flash", "--connect", board.url, NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "no FILE given");
	write_bin(scratch("fw.bin"), 64);
	run("flash", scratch("fw.bin"), NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--connect");
	run("flash", "--help", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "--leave [ADDR]");
	ASSERT_CONTAINS(fx.out, "--no-verify");
}

static CU_TestInfo tests[] = {
    {"clean_image_flashes_verifies_and_reads_back",
     test_clean_image_flashes_verifies_and_reads_back},
    {"ram_d2_image_is_refused_and_nothing_is_erased",
     test_ram_d2_image_is_refused_and_nothing_is_erased},
    {"refused_plan_with_a_part_does_not_connect", test_refused_plan_with_a_part_does_not_connect},
    {"skip_volatile_programs_the_flash_part", test_skip_volatile_programs_the_flash_part},
    {"json_streams_plan_erases_writes_verify_result",
     test_json_streams_plan_erases_writes_verify_result},
    {"json_of_a_refused_plan_is_plan_and_result", test_json_of_a_refused_plan_is_plan_and_result},
    {"json_of_an_unreadable_file_is_one_result_line",
     test_json_of_an_unreadable_file_is_one_result_line},
    {"raw_binary_at_flash_base_is_programmed", test_raw_binary_at_flash_base_is_programmed},
    {"verify_mismatch_names_address_bytes_segment_and_section",
     test_verify_mismatch_names_address_bytes_segment_and_section},
    {"no_verify_reads_nothing_back", test_no_verify_reads_nothing_back},
    {"device_error_is_explained_with_segment_and_region",
     test_device_error_is_explained_with_segment_and_region},
    {"leave_starts_the_firmware_from_its_vector_table",
     test_leave_starts_the_firmware_from_its_vector_table},
    {"leave_takes_an_address", test_leave_takes_an_address},
    {"h7a3_rev_z_descriptor_is_overridden_by_the_part_table",
     test_h7a3_rev_z_descriptor_is_overridden_by_the_part_table},
    {"part_that_disagrees_with_the_device_is_refused",
     test_part_that_disagrees_with_the_device_is_refused},
    {"unreachable_server_is_a_connection_failure", test_unreachable_server_is_a_connection_failure},
    {"flash_usage_errors", test_flash_usage_errors},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cli_flash", NULL, NULL, board_setup, board_teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
