/* flashtwin over the debug port end to end: the command run as a user runs it (cli_harness.h)
 * with `--connect gdb://127.0.0.1:PORT`, against the in-test GDB stub (gdb_stub.h) whose target
 * is a real models/flash_h7 with RAM and the debug registers. The flash and RAM contents are
 * checked in the model itself, against the fixtures objcopy wrote (build/<tree>/fixtures/).
 * Register offsets and bits used to shape the target come from the manual (devices.md §2.1-2.3),
 * not from the code under test. */
#include "programmer/image/image.h"
#include "programmer/tests/cli_harness.h"
#include "programmer/tests/gdb_stub.h"

/* Flash register offsets and bits (devices.md §2.1-2.3; RM0433). */
#define R_OPTKEYR   0x008u
#define R_OPTCR     0x018u
#define R_OPTSR_CUR 0x01Cu
#define R_OPTSR_PRG 0x020u
#define R_WPSN_PRG1 0x03Cu
#define R_BOOT_CUR  0x040u
#define OPTKEY1     0x08192A3Bu
#define OPTKEY2     0x4C5D6E7Fu
#define OPTSTART    0x2u
#define OPTLOCK     0x1u
#define FLASH_BASE  0x08000000u
#define DTCM_BASE   0x20000000u /* DTCM RAM (RM0433 memory map; devices.md §1.2) */
#define SECTOR_SIZE 0x20000u

static stub target;
static char url[64];

static void target_setup(void)
{
	setup();
	stub_config cfg = {.part = "STM32H743ZI", .clock = FT_CLOCK_INSTANT};
	CU_ASSERT_FATAL(stub_init(&target, &cfg));
	stub_serve(&target);
	stub_url(&target, url, sizeof(url));
}

static void target_teardown(void)
{
	stub_free(&target);
	teardown();
}

/* ---- the target, shaped and read as firmware would (between runs, under the stub's lock) ---- */

static void model_wr(uint32_t offset, uint32_t value)
{
	FT_ASSERT_HEX(ft_flash_h7_reg_write(target.fl, offset, value), FT_OK);
}

static uint32_t model_rd(uint32_t offset)
{
	uint32_t v = 0xDEADBEEF;
	pthread_mutex_lock(&target.lock);
	FT_ASSERT_HEX(ft_flash_h7_reg_read(target.fl, offset, &v), FT_OK);
	pthread_mutex_unlock(&target.lock);
	return v;
}

/* HAL_FLASH_OB_Unlock, write a PRG register, HAL_FLASH_OB_Launch, wait, lock. */
static void model_option(uint32_t prg, uint32_t value)
{
	pthread_mutex_lock(&target.lock);
	model_wr(R_OPTKEYR, OPTKEY1);
	model_wr(R_OPTKEYR, OPTKEY2);
	model_wr(prg, value);
	model_wr(R_OPTCR, OPTSTART);
	for (int i = 0; i < 1000 && ft_flash_h7_next_event_ns(target.fl) != UINT64_MAX; i++) {
		uint64_t next = ft_flash_h7_next_event_ns(target.fl);
		uint64_t now = ft_clock_now_ns(target.clock);
		ft_clock_advance(target.clock, next > now ? next - now : 0);
		ft_flash_h7_poll(target.fl);
	}
	model_wr(R_OPTCR, OPTLOCK);
	pthread_mutex_unlock(&target.lock);
}

/* len bytes of the target at addr (flash through the model's bus, RAM from the stub). */
static void target_read(uint32_t addr, uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&target.lock);
	CU_ASSERT_FATAL(stub_mem_read(&target, addr, buf, len));
	pthread_mutex_unlock(&target.lock);
}

static bool all(const uint8_t *buf, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != value)
			return false;
	return true;
}

/* ---- fixtures ----------------------------------------------------------------------------- */

/* BUILD/fixtures/<name> (made by `make fixtures`). The path stays valid until the second call
 * after this one: a test may hold two. */
static const char *fixture(const char *name)
{
	static char paths[2][PATH_MAX + 64];
	static unsigned next;
	char build[PATH_MAX], *path = paths[next++ % 2];
	build_dir(build, sizeof(build));
	snprintf(path, sizeof(paths[0]), "%s/fixtures/%s", build, name);
	CU_ASSERT_FATAL(access(path, R_OK) == 0);
	return path;
}

/* The bytes of a fixture file (objcopy's raw binary, an ELF). */
static uint8_t *fixture_bytes(const char *name, size_t *len)
{
	FILE *f = fopen(fixture(name), "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(*len);
	CU_ASSERT_FATAL(buf && fread(buf, 1, *len, f) == *len);
	fclose(f);
	return buf;
}

/* ---- flash ----------------------------------------------------------------------------------
 */

static void test_clean_elf_is_identified_flashed_verified_and_read_back(void)
{
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "part      STM32H743xI (id 0x450), identified: DBGMCU_IDCODE "
	                        "0x20036450 (rev V), 2048 KB flash");
	ASSERT_CONTAINS(fx.out, "RDP 0xAA: level 0");
	ASSERT_CONTAINS(fx.out, "programmable over SWD");
	ASSERT_CONTAINS(fx.out, "erased    1 sector (128 KiB)");
	ASSERT_CONTAINS(fx.out, "written   288 B\n");
	ASSERT_CONTAINS(fx.out, "verified  288 B read back, identical");
	ASSERT_CONTAINS(fx.out, "\nflashed\n");
	ASSERT_CONTAINS(fx.err, "erase: 1 sector (128 KiB)");
	ASSERT_CONTAINS(fx.err, "bank 1 sector 0  0x08000000-0x0801FFFF");
	ASSERT_CONTAINS(fx.err, "program: 288 B in 1 write");

	/* objcopy's binary of the same ELF: 0x118 bytes from 0x08000000; the rest of the last
	 * 32-byte flash word is 0xFF padding (RM0433 flash word). */
	size_t len;
	uint8_t *bin = fixture_bytes("h743-clean.bin", &len);
	FT_ASSERT_HEX(len, 0x118);
	uint8_t got[0x120];
	target_read(FLASH_BASE, got, sizeof(got));
	FT_ASSERT_BYTES(got, bin, len);
	CU_ASSERT(all(got + len, sizeof(got) - len, 0xFF));

	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s", scratch("back.bin"));
	run("read", "-c", url, "0x08000000", "0x118", "-o", out, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "read 0x08000000-0x08000117 (280 B) into ");
	size_t back_len;
	char *back = NULL;
	FILE *f = fopen(out, "rb");
	if (f) {
		back = malloc(len);
		back_len = back ? fread(back, 1, len, f) : 0;
		fclose(f);
		FT_ASSERT_HEX(back_len, len);
		FT_ASSERT_BYTES(back, bin, len);
	}
	CU_ASSERT_PTR_NOT_NULL(back);
	free(back);
	free(bin);
	FT_ASSERT_HEX(target.connections, 2);
}

static void test_flash_json_streams_events_over_the_debug_port(void)
{
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, "--board", "nucleo-h743zi2", "--json", NULL);
	ASSERT_EXIT(0);
	FT_ASSERT_HEX(json_lines(), 5);
	CU_ASSERT_STRING_EQUAL(str_at("0/event"), "plan");
	CU_ASSERT_STRING_EQUAL(str_at("0/device/transport"), "gdb");
	CU_ASSERT_STRING_EQUAL(str_at("1/event"), "erase");
	CU_ASSERT_STRING_EQUAL(str_at("2/event"), "write");
	FT_ASSERT_HEX(int_at("2/done"), 288);
	CU_ASSERT_STRING_EQUAL(str_at("3/event"), "verify");
	CU_ASSERT_STRING_EQUAL(str_at("4/event"), "result");
	FT_ASSERT_HEX(int_at("4/result/written_bytes"), 288);
}

static void test_flash_json_names_the_target_and_the_result(void)
{
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "--connect", url, "--board", "nucleo-h743zi2", "--json", NULL);
	ASSERT_EXIT(0);
	FT_ASSERT_HEX(json_result(), 5);
	CU_ASSERT_STRING_EQUAL(str_at("status"), "ok");
	CU_ASSERT_STRING_EQUAL(str_at("transport"), "swd");
	CU_ASSERT_STRING_EQUAL(str_at("device/transport"), "gdb");
	CU_ASSERT_STRING_EQUAL(str_at("device/source"), "given");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/name"), "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/idcode"), "0x20036450");
	FT_ASSERT_HEX(int_at("device/protection/level"), 0);
	CU_ASSERT_STRING_EQUAL(str_at("result/verify"), "identical");
	FT_ASSERT_HEX(int_at("result/sectors"), 1);
	FT_ASSERT_HEX(int_at("result/written_bytes"), 288);
	CU_ASSERT(json_is_null(at("result/failed_phase")));
}

/* CATALOGUE §2 report C: .DTCMRAM and .RamData without NOLOAD. Over the debug port they are
 * written to RAM for the session, with a warning, and the flash part is programmed. */
static void test_ram_segments_are_written_to_ram_with_a_warning(void)
{
	const char *elf = fixture("h743-dtcm.elf");
	run("flash", elf, "-c", url, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.err, "warning: 2 segments go to RAM only");
	ASSERT_CONTAINS(fx.err, "lost at reset");
	ASSERT_CONTAINS(fx.out, "volatile");
	ASSERT_CONTAINS(fx.out, "of it to RAM, lost at reset");
	ASSERT_CONTAINS(fx.out, "\nflashed\n");

	/* The .DTCMRAM bytes (PT_LOAD[3], 0x52d8 at 0x20000000: conformance/fixtures/README.md)
	 * as the ELF reader gives them, in the stub's DTCM. */
	ft_image *image = ft_image_new();
	ft_image_input in = {.path = elf};
	ft_diag diag;
	FT_ASSERT_HEX(ft_image_add_file(image, &in, &diag), FT_OK);
	FT_ASSERT_HEX(ft_image_finish(image, &diag), FT_OK);
	const ft_segment *dtcm = NULL;
	for (size_t i = 0; i < ft_image_segment_count(image); i++)
		if (ft_image_segment_at(image, i)->addr == DTCM_BASE)
			dtcm = ft_image_segment_at(image, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dtcm);
	FT_ASSERT_HEX(dtcm->size, 0x52d8);
	uint8_t *got = malloc(dtcm->size);
	target_read(DTCM_BASE, got, dtcm->size);
	FT_ASSERT_BYTES(got, dtcm->data, dtcm->size);
	free(got);
	ft_image_free(image);
}

/* CATALOGUE §2 E, S-series: RDP level 1 refuses every flash access from the debugger. */
static void test_rdp_level_1_is_refused_before_any_write_with_the_remedy(void)
{
	model_option(R_OPTSR_PRG, (model_rd(R_OPTSR_CUR) & ~0xFF00u) | 0xBB00u);
	FT_ASSERT_HEX(model_rd(R_OPTSR_CUR) >> 8 & 0xFFu, 0xBB);
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.out, "RDP 0xBB: level 1");
	ASSERT_CONTAINS(fx.err, "read protection level 1 (RDP=0xbb)");
	ASSERT_CONTAINS(fx.err, "RDP=0xAA --allow-regression");
	ASSERT_CONTAINS(fx.err, "nothing was erased or written");
	ASSERT_CONTAINS(fx.out, "failed during check");
	FT_ASSERT_HEX(target.flash_writes, 0);
	/* The flash is as the factory left it: erased. */
	uint8_t got[64];
	pthread_mutex_lock(&target.lock);
	ft_flash_h7_set_intrusion(target.fl, false); /* the model's own view, RDP aside */
	pthread_mutex_unlock(&target.lock);
	target_read(FLASH_BASE, got, sizeof(got));
	CU_ASSERT(all(got, sizeof(got), 0xFF));
}

static void test_write_protected_sector_is_refused_naming_the_option(void)
{
	model_option(R_WPSN_PRG1, 0xFE); /* sector 0 of bank 1 protected (0 bit) */
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "bank 1 sector 0 (0x08000000..0x0801ffff) is write-protected");
	ASSERT_CONTAINS(fx.err, "WRPSN1=0xff");
	FT_ASSERT_HEX(target.flash_writes, 0);
}

static void test_crc_verify_and_reset_run(void)
{
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, "--verify", "crc", "--reset-run", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "verified  288 B by the flash CRC unit, identical");
	ASSERT_CONTAINS(fx.out, "reset     through AIRCR.SYSRESETREQ");
	FT_ASSERT_HEX(target.resets, 1);
}

static void test_part_unlike_the_target_is_refused(void)
{
	const char *elf = fixture("h743-clean.elf");
	/* H743xG: the same DEV_ID 0x450 with 1 MB of flash. */
	run("flash", elf, "-c", url, "--part", "STM32H743ZG", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "the board says STM32H743xG");
	ASSERT_CONTAINS(fx.err, "nothing was touched");
	FT_ASSERT_HEX(target.flash_writes, 0);
}

/* A refused plan with the part known is reported before anything is connected. */
static void test_refused_plan_with_a_part_does_not_connect(void)
{
	const char *elf = fixture("h743-qspi.elf");
	run("flash", elf, "-c", url, "--part", "STM32H743ZI", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.out, "QUADSPI window (external memory)");
	ASSERT_CONTAINS(fx.out, "refused: 1 of 4 segments cannot be programmed over SWD");
	FT_ASSERT_HEX(target.connections, 0);
}

/* The ramdisk loader's device is RAM_D2 at 0x30000000: it does not cover the QSPI segment. */
static void test_loader_whose_device_misses_the_segment_refuses_it(void)
{
	const char *elf = fixture("h743-qspi.elf");
	const char *loader = fixture("loaders/flashtwin-ramdisk-h743.stldr");
	run("flash", elf, "-c", url, "--part", "STM32H743ZI", "--loader", loader, NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.out, "is not inside the device of loader");
	ASSERT_CONTAINS(fx.out, "refused: 1 of 4 segments cannot be programmed over SWD");
	FT_ASSERT_HEX(target.connections, 0);
}

static void test_loader_with_a_fatal_finding_is_refused(void)
{
	/* PT_LOAD[0]'s p_vaddr (ELF32: e_phoff at 28, p_vaddr at 8 of a program header) moved into
	 * flash: not in RAM, so it must not run. */
	size_t len;
	uint8_t *bytes = fixture_bytes("loaders/flashtwin-ramdisk-h743.stldr", &len);
	uint32_t phoff = (uint32_t)bytes[28] | (uint32_t)bytes[29] << 8 |
	                 (uint32_t)bytes[30] << 16 | (uint32_t)bytes[31] << 24;
	put32(bytes + phoff + 8, 0x08000004);
	char loader[PATH_MAX];
	snprintf(loader, sizeof(loader), "%s", scratch("flashtwin-ramdisk-h743.stldr"));
	FILE *f = fopen(loader, "wb");
	CU_ASSERT_FATAL(f && fwrite(bytes, 1, len, f) == len);
	fclose(f);
	free(bytes);
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, "--part", "STM32H743ZI", "--loader", loader, NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "not-in-ram");
	ASSERT_CONTAINS(fx.err, "refusing loader");
	FT_ASSERT_HEX(target.connections, 0);
}

/* CATALOGUE E04: the image's .RamData (PT_LOAD[4], 0x24000000..0x2400003F) lies where the
 * ramdisk loader is linked (0x24000004): refused with the plan, before connecting, so nothing is
 * erased; never relocated. */
static void test_loader_over_the_images_ram_is_refused_before_connecting(void)
{
	const char *elf = fixture("h743-dtcm.elf");
	const char *loader = fixture("loaders/flashtwin-ramdisk-h743.stldr");
	run("flash", elf, "-c", url, "--part", "STM32H743ZI", "--loader", loader, NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "the image writes RAM at 0x24000000..0x2400003f");
	ASSERT_CONTAINS(fx.err, "never relocated");
	ASSERT_CONTAINS(fx.err, "refusing loader");
	FT_ASSERT_HEX(target.connections, 0);
}

/* ---- info, ob, erase, read ------------------------------------------------------------------
 */

static void test_info_shows_server_part_core_and_protection(void)
{
	run("info", "--connect", url, NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "(GDB remote protocol)");
	ASSERT_CONTAINS(fx.out, "PacketSize 4096, no-ack mode");
	ASSERT_CONTAINS(fx.out, "STM32H743xI (id 0x450), identified: DBGMCU_IDCODE 0x20036450");
	ASSERT_CONTAINS(fx.out, "halted at 0x08000100");
	ASSERT_CONTAINS(fx.out, "RDP 0xAA: level 0");
	run("info", "--connect", url, "--json", NULL);
	ASSERT_EXIT(0);
	CU_ASSERT_STRING_EQUAL(str_at("command"), "info");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/name"), "STM32H743xI");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/dev_id"), "0x450");
	CU_ASSERT_STRING_EQUAL(str_at("device/part/revision"), "V");
	FT_ASSERT_HEX(int_at("device/part/flash_size_kb"), 2048);
	CU_ASSERT_STRING_EQUAL(str_at("device/halted/pc"), "0x08000100");
	CU_ASSERT_STRING_EQUAL(str_at("device/protection/rdp"), "0x000000AA");
	FT_ASSERT_HEX(int_at("device/server/packet_size"), 0x1000);
}

static void test_ob_shows_fields_and_sets_boot_add0(void)
{
	run("ob", "-c", url, "show", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "OPTSR");
	ASSERT_CONTAINS(fx.out, "  RDP               0xAA ");
	ASSERT_CONTAINS(fx.out, "  BOOT_ADD0         0x800 ");
	ASSERT_CONTAINS(fx.out, "WRPSN2");
	run("ob", "-c", url, "set", "BOOT_ADD0=0x2400", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "set BOOT_ADD0       0x800 -> 0x2400");
	/* BOOT_CUR: BOOT_ADD0 in bits 15:0 (devices.md §2.3). */
	FT_ASSERT_HEX(model_rd(R_BOOT_CUR) & 0xFFFFu, 0x2400);
	run("ob", "-c", url, "--json", NULL);
	ASSERT_EXIT(0);
	json_t *fields = at("fields");
	long long boot = -1;
	for (size_t i = 0; i < json_array_size(fields); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
		           "BOOT_ADD0") == 0)
			boot =
			    json_integer_value(json_object_get(json_array_get(fields, i), "value"));
	FT_ASSERT_HEX(boot, 0x2400);
}

static void test_ob_refuses_rdp_level_2_and_unknown_fields(void)
{
	run("ob", "-c", url, "RDP=0xCC", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "level 2, permanent");
	ASSERT_CONTAINS(fx.err, "--force");
	FT_ASSERT_HEX(model_rd(R_OPTSR_CUR) >> 8 & 0xFFu, 0xAA);
	run("ob", "-c", url, "set", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "set needs NAME=VALUE");
	run("ob", "-c", url, "show", "RDP=0xCC", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "show takes no assignments");
	run("ob", "-c", url, "BOOT_ADDR0=1", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "has no option byte BOOT_ADDR0");
}

static void test_erase_sector_blanks_it(void)
{
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, NULL);
	ASSERT_EXIT(0);
	run("erase", "-c", url, "--sector", "0x08000010", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x08000010: 0x08000000-0x0801FFFF (128 KiB)");
	uint8_t got[0x120];
	target_read(FLASH_BASE, got, sizeof(got));
	CU_ASSERT(all(got, sizeof(got), 0xFF));
}

static void test_erase_sectors_and_range_go_by_the_part_geometry(void)
{
	const char *elf = fixture("h743-clean.elf");
	run("flash", elf, "-c", url, NULL);
	ASSERT_EXIT(0);
	run("erase", "-c", url, "--sectors", "0", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out,
	                "erased the sector holding 0x08000000: 0x08000000-0x0801FFFF (128 KiB)");
	uint8_t got[0x120];
	target_read(FLASH_BASE, got, sizeof(got));
	CU_ASSERT(all(got, sizeof(got), 0xFF));
	run("erase", "-c", url, "--range", "0x0801FFFF:2", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "erased the sector holding 0x08020000: 0x08020000-0x0803FFFF");
	run("erase", "-c", url, "--sectors", "16", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "has sectors 0 to 15");
}

static void test_mass_erase_without_force_is_refused(void)
{
	run("erase", "-c", url, "--mass", NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "add --force");
	ASSERT_CONTAINS(fx.err, "nothing was touched");
	FT_ASSERT_HEX(target.connections, 0);
	run("erase", "-c", url, "--mass", "--force", NULL);
	ASSERT_EXIT(0);
	ASSERT_CONTAINS(fx.out, "mass erase done");
}

static void test_read_under_rdp_is_refused(void)
{
	model_option(R_OPTSR_PRG, (model_rd(R_OPTSR_CUR) & ~0xFF00u) | 0xBB00u);
	run("read", "-c", url, "0x08000000", "16", "-o", scratch("x.bin"), NULL);
	ASSERT_EXIT(1);
	ASSERT_CONTAINS(fx.err, "reading flash refused: read protection level 1");
	/* RAM is still readable under RDP level 1. */
	run("read", "-c", url, "0x24000000", "16", "-o", scratch("x.bin"), NULL);
	ASSERT_EXIT(0);
}

static void test_connection_failures_and_usage(void)
{
	run("info", "-c", "gdb://127.0.0.1:1", NULL);
	ASSERT_EXIT(3);
	ASSERT_CONTAINS(fx.err, "is the GDB server running");
	run("info", "-c", "gdb://127.0.0.1", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "bad connection string");
	run("read", "-c", url, "--alt", "1", "-o", scratch("x.bin"), NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--alt applies to USB DFU");
	run("flash", "x.elf", "-c", "usb", "--verify", "crc", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--verify crc applies to debug-port");
	run("flash", "x.elf", "-c", url, "--leave", "0x08000000", NULL);
	ASSERT_EXIT(2);
	ASSERT_CONTAINS(fx.err, "--reset-run");
	FT_ASSERT_HEX(target.connections, 0);
}

static CU_TestInfo tests[] = {
    {"clean_elf_is_identified_flashed_verified_and_read_back",
     test_clean_elf_is_identified_flashed_verified_and_read_back},
    {"flash_json_names_the_target_and_the_result", test_flash_json_names_the_target_and_the_result},
    {"flash_json_streams_events_over_the_debug_port",
     test_flash_json_streams_events_over_the_debug_port},
    {"ram_segments_are_written_to_ram_with_a_warning",
     test_ram_segments_are_written_to_ram_with_a_warning},
    {"rdp_level_1_is_refused_before_any_write_with_the_remedy",
     test_rdp_level_1_is_refused_before_any_write_with_the_remedy},
    {"write_protected_sector_is_refused_naming_the_option",
     test_write_protected_sector_is_refused_naming_the_option},
    {"crc_verify_and_reset_run", test_crc_verify_and_reset_run},
    {"part_unlike_the_target_is_refused", test_part_unlike_the_target_is_refused},
    {"refused_plan_with_a_part_does_not_connect", test_refused_plan_with_a_part_does_not_connect},
    {"loader_whose_device_misses_the_segment_refuses_it",
     test_loader_whose_device_misses_the_segment_refuses_it},
    {"loader_with_a_fatal_finding_is_refused", test_loader_with_a_fatal_finding_is_refused},
    {"loader_over_the_images_ram_is_refused_before_connecting",
     test_loader_over_the_images_ram_is_refused_before_connecting},
    {"info_shows_server_part_core_and_protection", test_info_shows_server_part_core_and_protection},
    {"ob_shows_fields_and_sets_boot_add0", test_ob_shows_fields_and_sets_boot_add0},
    {"ob_refuses_rdp_level_2_and_unknown_fields", test_ob_refuses_rdp_level_2_and_unknown_fields},
    {"erase_sector_blanks_it", test_erase_sector_blanks_it},
    {"erase_sectors_and_range_go_by_the_part_geometry",
     test_erase_sectors_and_range_go_by_the_part_geometry},
    {"mass_erase_without_force_is_refused", test_mass_erase_without_force_is_refused},
    {"read_under_rdp_is_refused", test_read_under_rdp_is_refused},
    {"connection_failures_and_usage", test_connection_failures_and_usage},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"cli_swd", NULL, NULL, target_setup, target_teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
