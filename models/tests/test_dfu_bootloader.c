/* The DFU bootloader model as a USB device: enumeration (descriptors, strings, serial numbers),
 * the DFU/DfuSe request rules, leave, the trace hook and configuration errors. Descriptor bytes
 * come from USB 2.0 §9.6, DFU 1.1 §4.2 and the ROM captures in devices.md §5.1-5.2. */
#include "models/tests/dfu_test_host.h"

static host h;

static void setup_h743(void)
{
	host_init(&h, "STM32H743ZI", 0x2003 /* rev V */, FT_CLOCK_MANUAL);
	host_boot(&h);
}

static void teardown(void)
{
	host_free(&h);
}

/* GET_DESCRIPTOR into buf; returns the bytes received. */
static size_t get_descriptor(uint8_t type, uint8_t index, uint8_t *buf, uint16_t len)
{
	size_t actual = 0;
	CU_ASSERT_EQUAL(
	    host_ctl(&h, 0x80, 6, (uint16_t)(type << 8 | index), 0x0409, buf, len, &actual),
	    FT_USB_OK);
	return actual;
}

/* The string descriptor at index, decoded from UTF-16LE into text. */
static void get_string(uint8_t index, char *text, size_t cap)
{
	uint8_t buf[255];
	size_t n = get_descriptor(3, index, buf, sizeof(buf));
	CU_ASSERT_FATAL(n >= 2 && buf[0] == n && buf[1] == 3);
	size_t chars = (n - 2) / 2;
	CU_ASSERT_FATAL(chars < cap);
	for (size_t i = 0; i < chars; i++)
		text[i] = (char)buf[2 + 2 * i];
	text[chars] = '\0';
}

static void test_device_descriptor_is_the_roms(void)
{
	static const uint8_t expected[18] = {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x83,
	                                     0x04, 0x11, 0xDF, 0x00, 0x02, 0x01, 0x02, 0x03, 0x01};
	uint8_t buf[64];
	FT_ASSERT_HEX(get_descriptor(1, 0, buf, sizeof(buf)), 18);
	FT_ASSERT_BYTES(buf, expected, sizeof(expected));
	FT_ASSERT_HEX(h.dev.speed, FT_USB_SPEED_FULL);
}

static void test_config_descriptor_has_one_alt_per_memory_and_dfu_functional(void)
{
	static const uint8_t expected[] = {
	    0x09, 0x02, 0x24, 0x00, 0x01, 0x01, 0x00, 0xC0, 0x32, /* 36 bytes, 1 interface */
	    0x09, 0x04, 0x00, 0x00, 0x00, 0xFE, 0x01, 0x02, 0x04, /* alt 0, DFU mode, string 4 */
	    0x09, 0x04, 0x00, 0x01, 0x00, 0xFE, 0x01, 0x02, 0x05, /* alt 1, string 5 */
	    0x09, 0x21, 0x0B, 0xFF, 0x00, 0x00, 0x04, 0x1A, 0x01, /* 1024 bytes, DFU 1.1a */
	};
	uint8_t buf[255];
	FT_ASSERT_HEX(get_descriptor(2, 0, buf, sizeof(buf)), sizeof(expected));
	FT_ASSERT_BYTES(buf, expected, sizeof(expected));
	CU_ASSERT_EQUAL(ft_usb_device_check(&h.dev, NULL), FT_OK);
}

static void test_strings_and_alt_names_keep_three_spaces(void)
{
	char text[128];
	get_string(1, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "STMicroelectronics");
	get_string(2, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "DFU in FS Mode");
	get_string(4, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Internal Flash   /0x08000000/16*128Kg");
	get_string(5, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Option Bytes   /0x5200201C/01*128 e");
	uint8_t buf[8];
	CU_ASSERT_EQUAL(host_ctl(&h, 0x80, 6, 0x0306, 0x0409, buf, sizeof(buf), NULL),
	                FT_USB_STALL);
	FT_ASSERT_HEX(get_descriptor(3, 0, buf, sizeof(buf)), 4);
	FT_ASSERT_HEX(buf[2] | buf[3] << 8, 0x0409);
}

/* devices.md §5.1: IDCODE 0x20036450 (rev V) -> "200364500000", rev Y -> "100364500000". */
static void test_h743_serial_comes_from_idcode(void)
{
	char text[64];
	get_string(3, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "200364500000");
	host_free(&h);
	host_init(&h, "STM32H743ZI", 0x1003, FT_CLOCK_MANUAL);
	host_boot(&h);
	get_string(3, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "100364500000");
}

/* H723/H7A3: UID words w0 + w2 as 8 hex digits, then the top 16 bits of w1. */
static void test_h723_serial_comes_from_uid(void)
{
	host_free(&h);
	host_init(&h, "STM32H723ZG", 0x1001, FT_CLOCK_MANUAL);
	h.cfg.uid[0] = 0x35603000;
	h.cfg.uid[1] = 0x3431ABCD;
	h.cfg.uid[2] = 0x0000076F;
	host_boot(&h);
	char text[64];
	get_string(3, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "3560376F3431");
	get_string(4, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Internal Flash   /0x08000000/8*128Kg");
	get_string(5, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Option Bytes   /0x5200201C/01*88 e");
}

static void test_h7a3_lists_flash_option_bytes_and_otp(void)
{
	host_free(&h);
	host_init(&h, "STM32H7A3ZI", 0x1000 /* rev A */, FT_CLOCK_MANUAL);
	host_boot(&h);
	char text[64];
	get_string(4, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Internal Flash   /0x08000000/256*08Kg");
	get_string(5, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Option Bytes   /0x5200201C/01*297 e");
	get_string(6, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@OTP Memory   /0x08FFF000/01*1024 e");
	uint8_t buf[64];
	FT_ASSERT_HEX(get_descriptor(2, 0, buf, sizeof(buf)), 9 + 3 * 9 + 9);
	CU_ASSERT_FALSE(ft_dfu_bootloader_quirk_active(h.bl, "h7a3-rev-z-descriptor"));
}

/* devices.md §5.2: the early rev Z ROM reports wrong layouts (quirk h7a3-rev-z-descriptor). */
static void test_h7a3_rev_z_reports_wrong_layouts(void)
{
	host_free(&h);
	host_init(&h, "STM32H7A3ZI", 0x1001, FT_CLOCK_MANUAL);
	host_boot(&h);
	char text[64];
	CU_ASSERT_TRUE(ft_dfu_bootloader_quirk_active(h.bl, "h7a3-rev-z-descriptor"));
	get_string(4, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Internal Flash  /0x08000000/256*02Kg");
	get_string(5, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "@Option Bytes  /0x1FF8000/01*128 e");
}

static void test_get_commands_lists_the_dfuse_set(void)
{
	uint8_t buf[16];
	size_t actual = 0;
	CU_ASSERT_EQUAL(host_upload(&h, 0, buf, sizeof(buf), &actual), FT_USB_OK);
	FT_ASSERT_HEX(actual, 4);
	FT_ASSERT_BYTES(buf, ((const uint8_t[]){0x00, 0x21, 0x41, 0x92}), 4);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_IDLE); /* a short frame ends the upload */
	CU_ASSERT_EQUAL(host_upload(&h, 0, buf, 4, &actual), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_UPLOAD_IDLE);
}

static void test_block_number_one_stalls_into_error(void)
{
	uint8_t buf[16] = {0};
	CU_ASSERT_EQUAL(host_upload(&h, 1, buf, 16, NULL), FT_USB_STALL);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_ERR_STALLEDPK);
	FT_ASSERT_HEX(st[4], ST_ERROR);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 1, buf, 16), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_ERROR);
}

static void test_dnload_larger_than_transfer_size_stalls(void)
{
	static uint8_t big[1025];
	CU_ASSERT_EQUAL(host_dnload(&h, 2, big, sizeof(big)), FT_USB_STALL);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_ERROR);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_upload(&h, 2, big, sizeof(big), NULL), FT_USB_STALL);
}

static void test_requests_to_another_interface_or_unconfigured_stall(void)
{
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_ctl(&h, RT_CLASS_IN, REQ_GETSTATUS, 0, 1, st, 6, NULL), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_ctl(&h, 0xA2, REQ_GETSTATUS, 0, 0, st, 6, NULL), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_ctl(&h, RT_CLASS_OUT, REQ_GETSTATUS, 0, 0, st, 6, NULL), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_ctl(&h, RT_CLASS_IN, 7, 0, 0, st, 6, NULL), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_ctl(&h, 0xC1, 1, 0, 0, st, 6, NULL), FT_USB_STALL); /* vendor */
	CU_ASSERT_EQUAL(host_set_alt(&h, 2), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_ctl(&h, 0x00, 9, 0, 0, NULL, 0, NULL), FT_USB_OK); /* unconfigure */
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_STALL);
}

static void test_unknown_command_stalls_into_error(void)
{
	const uint8_t cmd[5] = {0x55, 0, 0, 0, 0x08};
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 5), FT_USB_STALL);
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 5), FT_USB_STALL); /* dfuERROR refuses DNLOAD */
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_ERR_STALLEDPK);
}

/* USBLIB DFU_ClearStatus: outside dfuERROR it reports errUNKNOWN/dfuERROR. */
static void test_clrstatus_outside_error_enters_error(void)
{
	static const step conversation[] = {
	    {0, RT_CLASS_OUT, REQ_CLRSTATUS, 0, FT_USB_OK, -1, -1},
	    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_ERR_UNKNOWN, ST_ERROR},
	    {0, RT_CLASS_OUT, REQ_ABORT, 0, FT_USB_OK, -1, -1}, /* ignored in dfuERROR */
	    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_ERR_UNKNOWN, ST_ERROR},
	    {0, RT_CLASS_OUT, REQ_CLRSTATUS, 0, FT_USB_OK, -1, -1},
	    {0, RT_CLASS_IN, REQ_GETSTATUS, 0, FT_USB_OK, S_OK, ST_IDLE},
	};
	host_converse(&h, conversation, sizeof(conversation) / sizeof(conversation[0]));
	uint8_t state = 0xFF;
	CU_ASSERT_EQUAL(host_ctl(&h, RT_CLASS_IN, REQ_GETSTATE, 0, 0, &state, 1, NULL), FT_USB_OK);
	FT_ASSERT_HEX(state, ST_IDLE);
}

/* D13: leave = Set Address Pointer then a zero-length DNLOAD; the ROM jumps before the GETSTATUS
 * completes, so the host sees the transfer fail and the device gone. */
static void test_leave_jumps_to_the_pointer_and_drops_off(void)
{
	uint8_t st[6];
	FT_ASSERT_HEX(host_set_address(&h, 0x08000000, NULL), S_OK);
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 2, NULL, 0), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	FT_ASSERT_HEX(h.exits, 1);
	FT_ASSERT_HEX(h.exit_reason, FT_DFU_BOOTLOADER_EXIT_JUMP);
	FT_ASSERT_HEX(h.exit_addr, 0x08000000);
	FT_ASSERT_HEX(h.last_trace.state_after, ST_MANIFEST);
	uint32_t jump = 0;
	FT_ASSERT_HEX(ft_dfu_bootloader_exit_reason(h.bl, &jump), FT_DFU_BOOTLOADER_EXIT_JUMP);
	FT_ASSERT_HEX(jump, 0x08000000);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_ERROR);
	uint8_t buf[18];
	CU_ASSERT_EQUAL(host_ctl(&h, 0x80, 6, 0x0100, 0, buf, 18, NULL), FT_USB_ERROR);
	FT_ASSERT_HEX(h.exits, 1);
}

static void test_trace_records_state_before_and_after(void)
{
	const uint8_t cmd[5] = {0x21, 0x00, 0x00, 0x00, 0x08};
	unsigned before = h.traces;
	CU_ASSERT_EQUAL(host_dnload(&h, 0, cmd, 5), FT_USB_OK);
	FT_ASSERT_HEX(h.traces, before + 1);
	FT_ASSERT_HEX(h.last_trace.setup[0], RT_CLASS_OUT);
	FT_ASSERT_HEX(h.last_trace.setup[1], REQ_DNLOAD);
	FT_ASSERT_HEX(h.last_trace.state_before, ST_IDLE);
	FT_ASSERT_HEX(h.last_trace.state_after, ST_DNLOAD_SYNC);
	FT_ASSERT_HEX(h.last_trace.actual, 5);
	FT_ASSERT_HEX(h.last_trace.result, FT_USB_OK);
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(h.last_trace.state_before, ST_DNLOAD_SYNC);
	FT_ASSERT_HEX(h.last_trace.state_after, ST_DNBUSY);
	FT_ASSERT_HEX(h.last_trace.actual, 6);
}

/* While an erase runs the ROM serves no request, GETSTATUS and standard requests included
 * (USBLIB erases from the USB interrupt); a bus reset then returns it to dfuIDLE once the erase
 * has ended. */
static void test_requests_wait_while_erasing_and_bus_reset_returns_to_idle(void)
{
	const uint8_t erase[5] = {0x41, 0x00, 0x00, 0x00, 0x08};
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_dnload(&h, 0, erase, 5), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	uint32_t poll_ms = poll_ms_of(st);
	CU_ASSERT(poll_ms >= 500);
	CU_ASSERT_EQUAL(host_simple(&h, REQ_ABORT), FT_USB_NAK);
	CU_ASSERT_EQUAL(host_simple(&h, REQ_CLRSTATUS), FT_USB_NAK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_NAK);
	ft_usb_device_reset(&h.dev);
	CU_ASSERT_EQUAL(host_ctl(&h, 0x00, 9, 1, 0, NULL, 0, NULL), FT_USB_NAK);
	ft_clock_advance(h.clock, poll_ms * MS);
	CU_ASSERT_EQUAL(host_ctl(&h, 0x00, 9, 1, 0, NULL, 0, NULL), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_IDLE);
}

/* emulators.md §5: with an instant clock the work is done at once, yet bwPollTimeout stays
 * nonzero (the datasheet duration: a 128 KB sector erase is 1 s at x64, DS12110). */
static void test_instant_clock_still_reports_poll_timeout(void)
{
	host_free(&h);
	host_init(&h, "STM32H743ZI", 0x1003, FT_CLOCK_INSTANT);
	host_boot(&h);
	const uint8_t erase[5] = {0x41, 0x00, 0x00, 0x02, 0x08};
	uint8_t st[6];
	CU_ASSERT_EQUAL(host_dnload(&h, 0, erase, 5), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	FT_ASSERT_HEX(poll_ms_of(st), 1000);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNLOAD_IDLE);
	const uint8_t set[5] = {0x21, 0x00, 0x00, 0x00, 0x08};
	host_to_idle(&h);
	CU_ASSERT_EQUAL(host_dnload(&h, 0, set, 5), FT_USB_OK);
	CU_ASSERT_EQUAL(host_getstatus(&h, st), FT_USB_OK);
	FT_ASSERT_HEX(poll_ms_of(st), 1);
}

static void test_config_errors_are_reported(void)
{
	ft_dfu_bootloader *bl = NULL;
	ft_diag diag;
	ft_dfu_bootloader_config cfg = h.cfg;
	cfg.rev_id = 0x1234;
	CU_ASSERT_EQUAL(ft_dfu_bootloader_new(&cfg, &bl, &diag), FT_ERR_INVALID_ARG);
	cfg = h.cfg;
	const ft_dfu_bootloader_quirk bad = {"no-such-quirk", true};
	cfg.quirk_overrides = &bad;
	cfg.quirk_override_count = 1;
	CU_ASSERT_EQUAL(ft_dfu_bootloader_new(&cfg, &bl, &diag), FT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "no-such-quirk"));
	cfg = h.cfg;
	cfg.part = ft_part_find("STM32N657X0");
	cfg.rev_id = 0x1000;
	CU_ASSERT_EQUAL(ft_dfu_bootloader_new(&cfg, &bl, &diag), FT_ERR_UNSUPPORTED);
	cfg = h.cfg;
	cfg.flash = NULL;
	CU_ASSERT_EQUAL(ft_dfu_bootloader_new(&cfg, &bl, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(bl);
}

static void test_exit_names_are_stable(void)
{
	CU_ASSERT_STRING_EQUAL(ft_dfu_bootloader_exit_name(FT_DFU_BOOTLOADER_EXIT_JUMP), "jump");
	CU_ASSERT_STRING_EQUAL(ft_dfu_bootloader_exit_name(FT_DFU_BOOTLOADER_EXIT_CRASH), "crash");
	CU_ASSERT_STRING_EQUAL(ft_dfu_bootloader_exit_name((ft_dfu_bootloader_exit)9), "unknown");
}

static CU_TestInfo tests[] = {
    {"device_descriptor_is_the_roms", test_device_descriptor_is_the_roms},
    {"config_descriptor_has_one_alt_per_memory_and_dfu_functional",
     test_config_descriptor_has_one_alt_per_memory_and_dfu_functional},
    {"strings_and_alt_names_keep_three_spaces", test_strings_and_alt_names_keep_three_spaces},
    {"h743_serial_comes_from_idcode", test_h743_serial_comes_from_idcode},
    {"h723_serial_comes_from_uid", test_h723_serial_comes_from_uid},
    {"h7a3_lists_flash_option_bytes_and_otp", test_h7a3_lists_flash_option_bytes_and_otp},
    {"h7a3_rev_z_reports_wrong_layouts", test_h7a3_rev_z_reports_wrong_layouts},
    {"get_commands_lists_the_dfuse_set", test_get_commands_lists_the_dfuse_set},
    {"block_number_one_stalls_into_error", test_block_number_one_stalls_into_error},
    {"dnload_larger_than_transfer_size_stalls", test_dnload_larger_than_transfer_size_stalls},
    {"requests_to_another_interface_or_unconfigured_stall",
     test_requests_to_another_interface_or_unconfigured_stall},
    {"unknown_command_stalls_into_error", test_unknown_command_stalls_into_error},
    {"clrstatus_outside_error_enters_error", test_clrstatus_outside_error_enters_error},
    {"leave_jumps_to_the_pointer_and_drops_off", test_leave_jumps_to_the_pointer_and_drops_off},
    {"trace_records_state_before_and_after", test_trace_records_state_before_and_after},
    {"requests_wait_while_erasing_and_bus_reset_returns_to_idle",
     test_requests_wait_while_erasing_and_bus_reset_returns_to_idle},
    {"instant_clock_still_reports_poll_timeout", test_instant_clock_still_reports_poll_timeout},
    {"config_errors_are_reported", test_config_errors_are_reported},
    {"exit_names_are_stable", test_exit_names_are_stable},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"dfu_bootloader", NULL, NULL, setup_h743, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
