/* flashtwin info, list, read and erase against an emulated board (dfu_board.h): what the device
 * says about itself, which part that makes it, and memory read and erased through DfuSe. */
#include "programmer/image/image.h"
#include "programmer/tests/cli_harness.h"
#include "programmer/tests/dfu_board.h"

#define REV_V 0x2003 /* STM32H743 revision V (RM0433 DBGMCU_IDCODE REV_ID) */
#define REV_Z 0x1001 /* STM32H7A3 revision Z */

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

/* Programs 4 KiB of pattern at 0x08000000 and 0x08100000 (bank 2). */
static void flash_pattern(void)
{
	char bin[PATH_MAX], arg[PATH_MAX + 16];
	snprintf(bin, sizeof(bin), "%s", scratch("fw.bin"));
	write_bin(bin, 4096);
	static const char *const bases[2] = {"0x08000000", "0x08100000"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(arg, sizeof(arg), "%s@%s", bin, bases[i]);
		run("flash", arg, "--connect", board.url, "--no-poll-wait", NULL);
		ASSERT_EXIT(0);
	}
}

/* Reads len bytes at addr into buf through `flashtwin read`; false when that failed. */
static bool read_into(uint32_t addr, uint8_t *buf, uint32_t len)
{
	char a[16], l[16], out[PATH_MAX];
	snprintf(a, sizeof(a), "0x%08X", addr);
	snprintf(l, sizeof(l), "%u", len);
	snprintf(out, sizeof(out), "%s", scratch("back.bin"));
	run("read", "--connect", board.url, "--no-poll-wait", a, l, "-o", out, NULL);
	ASSERT_EXIT(0);
	FILE *f = fopen(out, "rb");
	bool ok = f && fread(buf, 1, len, f) == len;
	if (f)
		fclose(f);
	CU_ASSERT(ok);
	return ok;
}

static bool all(const uint8_t *buf, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != value)
			return false;
	return true;
}

static void test_info_shows_identity_layouts_and_candidate_parts(void)
{
	run("info", "--connect", board.url, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "STMicroelectronics \"DFU in FS Mode\"");
	ASSERT_CONTAINS(fx.out, "0483:df11");
	ASSERT_CONTAINS(fx.out, "version 1.1a (0x011A), wTransferSize 1024");
	ASSERT_CONTAINS(fx.out, "alt 0     @Internal Flash   /0x08000000/16*128Kg");
	ASSERT_CONTAINS(fx.out, "0x08000000-0x081FFFFF  16 x 128 KiB  read erase write");
	ASSERT_CONTAINS(fx.out, "0x5200201C-0x5200209B  1 x 128 B  read write");
	ASSERT_CONTAINS(fx.out, "part      STM32H743xI (id 0x450), from the descriptor");
	ASSERT_CONTAINS(fx.out, "STM32H753xI");
	ASSERT_CONTAINS(fx.out, "give --part or --board");
	ASSERT_CONTAINS(fx.out, "option bytes (alternate setting 1)");
	ASSERT_CONTAINS(fx.out, "OPTSR     0x");
	ASSERT_CONTAINS(fx.out, "  RDP               0xAA ");
	ASSERT_CONTAINS(fx.out, "  BOOT_ADD0         0x800 ");
}

static void test_info_json_carries_layouts_and_part(void)
{
	run("info", "--connect", board.url, "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("command"), "info");
	CU_ASSERT_STRING_EQUAL(str_at("device/vid"), "0483");
	CU_ASSERT_STRING_EQUAL(str_at("device/pid"), "df11");
	CU_ASSERT_STRING_EQUAL(str_at("device/dfu_version"), "011a");
	FT_ASSERT_HEX(int_at("device/transfer_size"), 1024);
	FT_ASSERT_HEX(json_array_size(at("device/alternate_settings")), 2);
	CU_ASSERT_STRING_EQUAL(str_at("device/alternate_settings/0/layout/name"), "Internal Flash");
	FT_ASSERT_HEX(int_at("device/alternate_settings/0/layout/groups/0/count"), 16);
	FT_ASSERT_HEX(int_at("device/alternate_settings/0/layout/groups/0/sector_size"), 0x20000);
	CU_ASSERT_STRING_EQUAL(str_at("device/alternate_settings/1/layout/groups/0/start"),
	                       "0x5200201C");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/name"), "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/source"), "descriptor");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/agreement"), "agrees");
	CU_ASSERT(json_array_size(at("device/part/candidates")) > 1);
	CU_ASSERT_STRING_EQUAL(str_at("device/option_bytes/registers/0/name"), "OPTSR");
	CU_ASSERT_STRING_EQUAL(str_at("device/option_bytes/registers/0/address"), "0x5200201C");
	CU_ASSERT(json_array_size(at("device/option_bytes/fields")) > 4);
}

static void test_info_with_the_right_part_agrees(void)
{
	run("info", "--connect", board.url, "--board", "nucleo-h743zi2", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "STM32H743xI (id 0x450), as given; the descriptor agrees");
	CU_ASSERT_STRING_EQUAL(fx.err, "");
}

static void test_info_warns_when_the_part_disagrees(void)
{
	run("info", "--connect", board.url, "--part", "STM32H723ZG", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.err, "warning: the device does not look like STM32H723xG");
	ASSERT_CONTAINS(fx.err, "the descriptor says 16 x 128 KiB at 0x08000000");
	ASSERT_CONTAINS(fx.out, "as given; the descriptor disagrees");
}

/* CATALOGUE §4 item 7 and field report A's H7A3 variant. */
static void test_info_names_the_h7a3_rev_z_descriptor_bug(void)
{
	dfu_board_stop(&board);
	CU_ASSERT_FATAL(dfu_board_start(&board, "STM32H7A3ZI", REV_Z));
	run("info", "--connect", board.url, "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("device/part/name"), "STM32H7A3xI");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/agreement"), "known-quirk");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/quirk"), "h7a3-rev-z-descriptor");
	ASSERT_CONTAINS(str_at("device/part/disagreement"),
	                "the descriptor says 256 x 2 KiB at 0x08000000; STM32H7A3xI has 2 banks "
	                "of 128 x 8 KiB sectors");
	ASSERT_CONTAINS(fx.err, "using the part table");
}

static void test_read_and_erase_reach_past_the_h7a3_rev_z_descriptor(void)
{
	dfu_board_stop(&board);
	CU_ASSERT_FATAL(dfu_board_start(&board, "STM32H7A3ZI", REV_Z));
	char arg[PATH_MAX + 16];
	write_bin(scratch("fw.bin"), 64);
	snprintf(arg, sizeof(arg), "%s@0x08100000", scratch("fw.bin"));
	run("flash", arg, "--connect", board.url, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	uint8_t buf[16];
	if (read_into(0x08100000, buf, sizeof(buf)))
		FT_ASSERT_HEX(buf[1], 7);
	ASSERT_CONTAINS(fx.err, "h7a3-rev-z-descriptor");
	run("erase", "--connect", board.url, "--sector", "0x08100000", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	if (read_into(0x08100000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
}

static void test_list_names_the_connection_of_each_dfu_device(void)
{
	char server[64];
	snprintf(server, sizeof(server), "%.*s", (int)(strrchr(board.url, '/') - board.url),
	         board.url);
	run("list", server, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, board.url);
	ASSERT_CONTAINS(fx.out, "0483:df11");
	run("list", server, "--json", NULL);
	ASSERT_EXIT(0);
	FT_ASSERT_HEX(json_array_size(at("devices")), 1);
	CU_ASSERT_STRING_EQUAL(str_at("devices/0/connection"), board.url);
	CU_ASSERT_STRING_EQUAL(str_at("devices/0/usb_id"), "0483:df11");
}

static void test_list_usbip_option_is_the_usbip_connection(void)
{
	char hostport[64];
	const char *host = board.url + strlen("usbip://");
	snprintf(hostport, sizeof(hostport), "%.*s", (int)(strrchr(host, '/') - host), host);
	run("list", "--usbip", hostport, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, board.url);
	run("list", "--usbip", hostport, "usb", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "at most one connection");
}

static void test_list_of_an_unreachable_server_is_a_connection_failure(void)
{
	run("list", "usbip://127.0.0.1:1", NULL);
	ASSERT_EXIT(3);
	ASSERT_CONTAINS(fx.err, "cannot list usbip://127.0.0.1:1");
	run("list", "gdb://127.0.0.1:1", NULL);
	ASSERT_EXIT(2);
}

/* RM0433 §4.9.7 FLASH_OPTSR_CUR: RDP in bits 15:8, 0xAA for level 0 (factory state). */
static void test_read_of_option_bytes_through_their_alternate(void)
{
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s", scratch("ob.bin"));
	run("read", "--connect", board.url, "--alt", "1", "-o", out, "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "read 0x5200201C-0x5200209B (128 B, alt 1)");
	uint8_t ob[129];
	FILE *f = fopen(out, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	size_t n = fread(ob, 1, sizeof(ob), f);
	fclose(f);
	FT_ASSERT_HEX(n, 128);
	FT_ASSERT_HEX(ob[1], 0xAA);
}

static void test_read_writes_the_asked_format(void)
{
	flash_pattern();
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s", scratch("back.hex"));
	run("read", "--connect", board.url, "--no-poll-wait", "0x08000000", "0x100", "-o", out,
	    "--format", "ihex", NULL);
	ASSERT_EXIT(0);
	ft_image *image = ft_image_new();
	ft_diag diag;
	ft_image_input in = {.path = out, .format = FT_IMAGE_AUTO};
	FT_ASSERT_HEX(ft_image_add_file(image, &in, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_segment_count(image), 1);
	const ft_segment *seg = ft_image_segment_at(image, 0);
	FT_ASSERT_HEX(seg->format, FT_IMAGE_IHEX);
	FT_ASSERT_HEX(seg->addr, 0x08000000);
	FT_ASSERT_HEX(seg->size, 0x100);
	FT_ASSERT_HEX(seg->data[3], 21); /* write_bin: byte i is i * 7 */
	ft_image_free(image);
}

static void test_read_outside_every_layout_is_refused(void)
{
	run("read", "--connect", board.url, "0x30000000", "16", "-o", scratch("x.bin"), NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "0x30000000 is in no alternate setting's layout");
	run("read", "--connect", board.url, "--alt", "7", "-o", scratch("x.bin"), NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "no alternate setting 7");
}

static void test_erase_by_address_blanks_only_that_sector(void)
{
	flash_pattern();
	run("erase", "--connect", board.url, "--sector", "0x08100100", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x08100100: 0x08100000-0x0811FFFF (128 KiB)");
	uint8_t buf[64];
	if (read_into(0x08100000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
	if (read_into(0x08000000, buf, sizeof(buf)))
		FT_ASSERT_HEX(buf[1], 7);
}

static void test_mass_erase_without_force_is_refused_and_touches_nothing(void)
{
	flash_pattern();
	run("erase", "--connect", board.url, "--mass", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "add --force");
	ASSERT_CONTAINS(fx.err, "nothing was touched");
	uint8_t buf[16];
	if (read_into(0x08000000, buf, sizeof(buf)))
		FT_ASSERT_HEX(buf[1], 7);
}

static void test_mass_erase_with_force_blanks_both_banks(void)
{
	flash_pattern();
	run("erase", "--connect", board.url, "--mass", "--force", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "mass erase done");
	uint8_t buf[64];
	if (read_into(0x08000000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
	if (read_into(0x08100000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
}

/* STM32H743xI: 2 banks of 8 x 128 KiB (RM0433 §4.3.1); bank 2 sectors are numbered 8 to 15. */
static void test_erase_sectors_by_number_counts_across_the_banks(void)
{
	flash_pattern();
	run("erase", "-c", board.url, "--sectors", "8-9", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x08100000: 0x08100000-0x0811FFFF (128 KiB)");
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x08120000: 0x08120000-0x0813FFFF (128 KiB)");
	uint8_t buf[64];
	if (read_into(0x08100000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
	if (read_into(0x08000000, buf, sizeof(buf)))
		FT_ASSERT_HEX(buf[1], 7);
}

static void test_erase_range_takes_every_sector_it_touches(void)
{
	flash_pattern();
	run("erase", "-c", board.url, "--range", "0x080FFF00:0x200", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x080E0000: 0x080E0000-0x080FFFFF (128 KiB)");
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x08100000: 0x08100000-0x0811FFFF (128 KiB)");
	CU_ASSERT_PTR_NULL(strstr(fx.out, "0x08000000-"));
	uint8_t buf[64];
	if (read_into(0x08100000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
	if (read_into(0x08000000, buf, sizeof(buf)))
		FT_ASSERT_HEX(buf[1], 7);
}

static void test_erase_all_is_mass_erase_and_needs_force(void)
{
	flash_pattern();
	run("erase", "-c", board.url, "--all", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "add --force");
	run("erase", "-c", board.url, "--all", "--force", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "mass erase done");
	uint8_t buf[64];
	if (read_into(0x08100000, buf, sizeof(buf)))
		CU_ASSERT(all(buf, sizeof(buf), 0xFF));
}

static void test_erase_sectors_and_range_outside_the_part_are_usage_errors(void)
{
	run("erase", "-c", board.url, "--sectors", "15-16", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "has sectors 0 to 15 (2 banks of 8), not 16");
	run("erase", "-c", board.url, "--range", "0x081FFFF0:0x20", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "leaves the internal flash");
	run("erase", "-c", board.url, "--sectors", "3-1", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "is not N-M or N");
	run("erase", "-c", board.url, "--range", "0x08000000", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "is not ADDR:LEN");
	run("erase", "-c", board.url, "--all", "--force", "--sectors", "1", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "not both");
}

static void test_erase_outside_flash_names_the_region(void)
{
	run("erase", "--connect", board.url, "--sector", "0x24000000", "--no-poll-wait", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "0x24000000");
	ASSERT_CONTAINS(fx.err, "AXI SRAM");
}

/* The option-byte alternate's image starts at FLASH_OPTSR_CUR (0x5200201C); BOOT_CUR is at
 * 0x52002040, BOOT_ADD0 in its bits 15:0 (RM0433 §4.9.29). */
static void test_ob_over_dfu_shows_fields_and_sets_boot_add0(void)
{
	run("ob", "-c", board.url, "show", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "STM32H743xI");
	ASSERT_CONTAINS(fx.out, "OPTSR     0x");
	ASSERT_CONTAINS(fx.out, "  RDP               0xAA ");
	ASSERT_CONTAINS(fx.out, "  BOOT_ADD0         0x800 ");
	run("ob", "-c", board.url, "set", "BOOT_ADD0=0x2400", "--no-poll-wait", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "set BOOT_ADD0       0x800 -> 0x2400");
	ASSERT_CONTAINS(fx.out, "resets");
	/* The bootloader left the bus to reload its option bytes: stop serving, then look. */
	atomic_store(&board.stop, true);
	ft_usbip_server_wake(board.srv);
	pthread_join(board.thread, NULL);
	board.running = false;
	FT_ASSERT_HEX(board.exits, 1);
	uint32_t boot_cur = 0, optsr_cur = 0;
	CU_ASSERT(ft_flash_h7_reg_read(board.flash, 0x40, &boot_cur) == FT_OK);
	CU_ASSERT(ft_flash_h7_reg_read(board.flash, 0x1C, &optsr_cur) == FT_OK);
	FT_ASSERT_HEX(boot_cur & 0xFFFFu, 0x2400);
	FT_ASSERT_HEX(optsr_cur >> 8 & 0xFFu, 0xAA); /* RDP untouched */
}

static void test_ob_over_dfu_refuses_rdp_level_2_without_force(void)
{
	run("ob", "-c", board.url, "set", "RDP=0xCC", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "level 2, permanent");
	ASSERT_CONTAINS(fx.err, "--force");
	run("ob", "-c", board.url, "RDP=0xAA", "WRPSN9=1", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "WRPSN9");
	run("ob", "-c", board.url, "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT(json_array_size(at("fields")) > 4);
}

static void test_device_commands_refuse_bad_usage(void)
{
	run("info", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--connect");
	run("read", "--connect", board.url, "0x08000000", NULL);
	ASSERT_EXIT(2);
	run("erase", "--connect", board.url, NULL);
	ASSERT_EXIT(2);
	run("info", "--connect", "usbip://127.0.0.1:1/1-1", "--json", NULL);
	ASSERT_EXIT(3);
	CU_ASSERT_STRING_EQUAL(str_at("status"), "error");
	FT_ASSERT_HEX(int_at("exit_status"), 3);
}

static CU_TestInfo tests[] = {
    {"info_shows_identity_layouts_and_candidate_parts",
     test_info_shows_identity_layouts_and_candidate_parts},
    {"info_json_carries_layouts_and_part", test_info_json_carries_layouts_and_part},
    {"info_with_the_right_part_agrees", test_info_with_the_right_part_agrees},
    {"info_warns_when_the_part_disagrees", test_info_warns_when_the_part_disagrees},
    {"info_names_the_h7a3_rev_z_descriptor_bug", test_info_names_the_h7a3_rev_z_descriptor_bug},
    {"read_and_erase_reach_past_the_h7a3_rev_z_descriptor",
     test_read_and_erase_reach_past_the_h7a3_rev_z_descriptor},
    {"list_names_the_connection_of_each_dfu_device",
     test_list_names_the_connection_of_each_dfu_device},
    {"list_usbip_option_is_the_usbip_connection", test_list_usbip_option_is_the_usbip_connection},
    {"list_of_an_unreachable_server_is_a_connection_failure",
     test_list_of_an_unreachable_server_is_a_connection_failure},
    {"read_of_option_bytes_through_their_alternate",
     test_read_of_option_bytes_through_their_alternate},
    {"read_writes_the_asked_format", test_read_writes_the_asked_format},
    {"read_outside_every_layout_is_refused", test_read_outside_every_layout_is_refused},
    {"erase_by_address_blanks_only_that_sector", test_erase_by_address_blanks_only_that_sector},
    {"mass_erase_without_force_is_refused_and_touches_nothing",
     test_mass_erase_without_force_is_refused_and_touches_nothing},
    {"mass_erase_with_force_blanks_both_banks", test_mass_erase_with_force_blanks_both_banks},
    {"erase_outside_flash_names_the_region", test_erase_outside_flash_names_the_region},
    {"ob_over_dfu_shows_fields_and_sets_boot_add0",
     test_ob_over_dfu_shows_fields_and_sets_boot_add0},
    {"ob_over_dfu_refuses_rdp_level_2_without_force",
     test_ob_over_dfu_refuses_rdp_level_2_without_force},
    {"erase_sectors_by_number_counts_across_the_banks",
     test_erase_sectors_by_number_counts_across_the_banks},
    {"erase_range_takes_every_sector_it_touches", test_erase_range_takes_every_sector_it_touches},
    {"erase_all_is_mass_erase_and_needs_force", test_erase_all_is_mass_erase_and_needs_force},
    {"erase_sectors_and_range_outside_the_part_are_usage_errors",
     test_erase_sectors_and_range_outside_the_part_are_usage_errors},
    {"device_commands_refuse_bad_usage", test_device_commands_refuse_bad_usage},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cli_device", NULL, NULL, board_setup, board_teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
