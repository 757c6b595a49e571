/* flashtwin's open loaders (loaders/) on the QEMU machines, without a loader runner: a test
 * firmware linked with a loader's objects (loaders/test/ldr_selftest.c) calls Init, MassErase,
 * SectorErase, Write, Read, Verify and CheckSum and prints each result on the VCP; the test
 * asserts on those lines and on the NOR contents the machine leaves in the board's state. The
 * H743 image is loaded with -kernel (its flash bytes need no flash-controller fidelity here);
 * the N6 image is an FSBL: headed (programmer/image/stm32_header.h) and put at the start of the
 * XSPI2 NOR for the boot ROM. Also: the built .stldr files pass the stldr parser and the loader
 * contract checks against their parts.
 *
 * Needs build/qemu/qemu-system-arm (`make qemu`) and BUILD/loaders/ (`make fixtures`). Timing is
 * instant: a chip erase takes 400 s of datasheet time. */
#include "emu/board_runtime.h"
#include "emu/qemu_run.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"
#include "programmer/image/stm32_header.h"
#include "programmer/swd/stldr.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_TIMEOUT 60000   /* ms; the self-test ends in a few seconds */
#define PATTERN_AT  0x10F0u /* ldr_selftest.c */
#define PATTERN_LEN 600u
#define BLOCK_END   0x30000u
#define H743_LOADER "W25Q256JV_custom-h743-w25q256"
#define N657_LOADER "MX25UM51245G_nucleo-n657x0-q"

typedef struct target {
	const char *machine;
	const char *board; /* board file text */
	bool fsbl;         /* N6: boot the self-test as an FSBL from the NOR */
} target;

static const target h743 = {"nucleo-h743zi2",
                            "part = STM32H743ZIT6\nexternal_flash_part = W25Q256JV\n"
                            "external_flash_bus = quadspi1\n",
                            false};
static const target n657 = {"nucleo-n657x0-q",
                            "part = STM32N657X0H3Q\nexternal_flash_part = MX25UM51245G\n"
                            "external_flash_bus = xspi2\n",
                            true};

static char g_dir[64];
static char g_state[128];
static char g_board[128];
static char g_out[8192];
static ft_diag diag;

static void setup(void)
{
	ft_diag_clear(&diag);
	g_out[0] = '\0';
	emu_harness_make_dir("qemu-ldr", g_dir, sizeof(g_dir));
	snprintf(g_state, sizeof(g_state), "%s/state", g_dir);
}

static void teardown(void)
{
	emu_harness_cleanup(g_dir);
}

static void report(ft_error err)
{
	emu_harness_report(err, &diag);
}

/* BUILD/loaders/<rel> for this program BUILD/tests/<prog>. */
static void build_path(const char *rel, char *path, size_t cap)
{
	char build[PATH_MAX - 64];
	emu_harness_build_dir(build, sizeof(build));
	snprintf(path, cap, "%.*s/loaders/%s", (int)(PATH_MAX - 64), build, rel);
}

static void use_board(const target *t)
{
	emu_harness_write_board(g_dir, t->machine, t->board, g_board, sizeof(g_board));
}

typedef ft_error (*nor_job)(ft_nor *nor, const void *arg);

/* Opens the board's state (QEMU not running), runs job on its NOR, closes. */
static ft_error with_nor(nor_job job, const void *arg)
{
	ft_board_runtime_config cfg = {
	    .board_path = g_board, .state_dir = g_state, .clock_mode = FT_CLOCK_INSTANT};
	ft_board_runtime *rt = NULL;
	ft_error err = ft_board_runtime_open(&cfg, &rt, &diag);
	if (err == FT_OK && ft_board_runtime_nor_count(rt) == 0)
		err = ft_diag_set(&diag, FT_ERR_NOT_FOUND, g_board, "no NOR flash on the board");
	if (err == FT_OK)
		err = job(ft_board_runtime_nor_at(rt, 0)->nor, arg);
	if (rt)
		ft_board_runtime_close(rt, NULL);
	return err;
}

static ft_error spi_command(ft_nor *nor, uint8_t op, uint8_t *data, size_t len, bool address,
                            uint32_t addr)
{
	ft_nor_xfer x = {.instruction = op,
	                 .instruction_bytes = 1,
	                 .instruction_lines = 1,
	                 .has_address = address,
	                 .address_bytes = 4,
	                 .address_lines = address ? 1 : 0,
	                 .address = addr,
	                 .data_lines = len ? 1 : 0,
	                 .data = data,
	                 .data_len = len};
	return ft_nor_transfer(nor, &x, &diag);
}

typedef struct bytes_at {
	uint32_t addr;
	const uint8_t *bytes;
	size_t len;
} bytes_at;

/* WREN + 4-byte page program (12h), 1-1-1, page by page: what a loader sends. */
static ft_error program_job(ft_nor *nor, const void *arg)
{
	const bytes_at *b = arg;
	ft_error err = FT_OK;
	for (size_t done = 0; err == FT_OK && done < b->len;) {
		uint32_t at = b->addr + (uint32_t)done;
		size_t chunk = 256 - at % 256 < b->len - done ? 256 - at % 256 : b->len - done;
		err = spi_command(nor, 0x06, NULL, 0, false, 0);
		if (err == FT_OK)
			err = spi_command(nor, 0x12, (uint8_t *)b->bytes + done, chunk, true, at);
		done += chunk;
	}
	(void)ft_nor_array(nor); /* completes the last page program */
	return err;
}

/* SR1/SR: WREN + WRSR (01h) with the block-protect bits 0x3C set (W25Q256JV SR1 BP0-3,
 * MX25UM51245G SR BP0-3: devices.md §6.3, §7). */
static ft_error protect_job(ft_nor *nor, const void *arg)
{
	(void)arg;
	uint8_t sr = 0x3C;
	ft_error err = spi_command(nor, 0x06, NULL, 0, false, 0);
	if (err == FT_OK)
		err = spi_command(nor, 0x01, &sr, 1, false, 0);
	(void)ft_nor_array(nor);
	return err;
}

static uint8_t g_nor_copy[BLOCK_END];

static ft_error copy_job(ft_nor *nor, const void *arg)
{
	(void)arg;
	memcpy(g_nor_copy, ft_nor_array(nor), sizeof(g_nor_copy));
	return FT_OK;
}

/* The self-test .bin behind an STM32 header v2.3, at NOR offset 0. */
static ft_error put_fsbl(const char *loader)
{
	char rel[128], bin[PATH_MAX];
	snprintf(rel, sizeof(rel), "selftest/%s.bin", loader);
	build_path(rel, bin, sizeof(bin));
	uint8_t *payload = NULL, *image = NULL;
	size_t len = 0;
	ft_error err = emu_harness_read_file(bin, &payload, &len, &diag);
	if (err == FT_OK && !(image = malloc(FT_STM32_HEADER_SIZE + len)))
		err = FT_ERR_NO_MEM;
	if (err == FT_OK)
		err = ft_stm32_header_build_fsbl(payload, len, image, &diag);
	if (err == FT_OK) {
		memcpy(image + FT_STM32_HEADER_SIZE, payload, len);
		bytes_at b = {0, image, FT_STM32_HEADER_SIZE + len};
		err = with_nor(program_job, &b);
	}
	free(payload);
	free(image);
	return err;
}

/* Runs the self-test firmware built with loader on t's machine (protected: BP bits set first);
 * its VCP output goes to g_out and the first BLOCK_END bytes of the NOR to g_nor_copy. Returns
 * the firmware's exit status, -1 when it could not run (reason on stderr). */
static int run_selftest(const target *t, const char *loader, bool protected)
{
	use_board(t);
	ft_error err = t->fsbl ? put_fsbl(loader) : FT_OK;
	if (err == FT_OK && protected)
		err = with_nor(protect_job, NULL);
	char rel[128], elf[PATH_MAX];
	snprintf(rel, sizeof(rel), "selftest/%s.elf", loader);
	build_path(rel, elf, sizeof(elf));
	const char *kernel[] = {"-kernel", elf, NULL};
	ft_qemu_config cfg = {.machine = t->machine,
	                      .state_dir = g_state,
	                      .board_path = g_board,
	                      .boot0 = 0,
	                      .instant_timing = true,
	                      .semihosting = true,
	                      .mode = FT_QEMU_RUN,
	                      .extra = t->fsbl ? NULL : kernel};
	int status = -1;
	if (err == FT_OK)
		err = emu_harness_run_qemu(&cfg, RUN_TIMEOUT, g_out, sizeof(g_out), &status, &diag);
	report(err);
	if (err == FT_OK)
		err = with_nor(copy_job, NULL);
	report(err);
	return err == FT_OK ? status : -1;
}

static void assert_line(const char *line)
{
	emu_harness_assert_serial(g_out, line);
}

static uint8_t pattern_byte(uint32_t i)
{
	return (uint8_t)(i * 7u + 3u); /* ldr_selftest.c */
}

static uint32_t pattern_sum(void)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < PATTERN_LEN; i++)
		sum += pattern_byte(i);
	return sum;
}

/* The whole sequence passes, and the NOR holds the pattern with erased bytes around it. */
static void check_full_sequence(const target *t, const char *loader, uint32_t base)
{
	FT_ASSERT_HEX(run_selftest(t, loader, false), 0);
	static const char *const ok[] = {"init 0x00000001\n",
	                                 "mapped after init 0x00000001\n",
	                                 "mass erase 0x00000001\n",
	                                 "sector erase 0x00000001\n",
	                                 "write 0x00000001\n",
	                                 "mapped after write 0x00000000\n",
	                                 "read 0x00000001\n",
	                                 "read matches 0x00000001\n",
	                                 "verify failed at 0x00000000\n",
	                                 "block write 0x00000001\n",
	                                 "block erase 0x00000001\n",
	                                 "block erased 0x00000001\n",
	                                 "init again 0x00000001\n"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_line(ok[i]);
	char line[64];
	snprintf(line, sizeof(line), "verify sum 0x%08x\n", pattern_sum());
	assert_line(line);
	snprintf(line, sizeof(line), "checksum 0x%08x\n", pattern_sum() + 0x100u);
	assert_line(line);
	snprintf(line, sizeof(line), "verify bad failed at 0x%08x\n", base + PATTERN_AT + 300u);
	assert_line(line);
	uint8_t want[PATTERN_LEN];
	for (uint32_t i = 0; i < PATTERN_LEN; i++)
		want[i] = pattern_byte(i);
	FT_ASSERT_BYTES(g_nor_copy + PATTERN_AT, want, PATTERN_LEN);
	FT_ASSERT_HEX(g_nor_copy[PATTERN_AT - 1], 0xFF);
	FT_ASSERT_HEX(g_nor_copy[PATTERN_AT + PATTERN_LEN], 0xFF);
	FT_ASSERT_HEX(g_nor_copy[BLOCK_END - 1], 0xFF);
}

static void test_w25q256_loader_programs_erases_and_reads_through_the_h743_quadspi(void)
{
	check_full_sequence(&h743, H743_LOADER, 0x90000000u);
}

static void test_mx25um_loader_programs_erases_and_reads_through_the_n657_xspi2_in_octal(void)
{
	check_full_sequence(&n657, N657_LOADER, 0x70000000u);
}

/* E10: with BP bits set the loader refuses to erase or program (the flash would silently ignore
 * the commands) and Init still succeeds, so Read works. */
static void check_protected(const target *t, const char *loader)
{
	FT_ASSERT_HEX(run_selftest(t, loader, true), 0);
	assert_line("init 0x00000001\n");
	assert_line("mass erase 0x00000000\n");
	assert_line("sector erase 0x00000000\n");
	assert_line("write 0x00000000\n");
	assert_line("read 0x00000001\n");
}

static void test_w25q256_loader_fails_erase_and_write_while_bp_bits_are_set(void)
{
	check_protected(&h743, H743_LOADER);
}

static void test_mx25um_loader_fails_erase_and_write_while_bp_bits_are_set(void)
{
	check_protected(&n657, N657_LOADER);
}

/* E05: Write programs up to 0x90001100 and fails there. */
static void test_e05_loader_write_stops_at_the_first_page_boundary(void)
{
	FT_ASSERT_HEX(run_selftest(&h743, H743_LOADER "-e05", false), 0);
	assert_line("write 0x00000000\n");
	for (uint32_t i = 0; i < 0x10; i++)
		FT_ASSERT_HEX(g_nor_copy[PATTERN_AT + i], pattern_byte(i));
	FT_ASSERT_HEX(g_nor_copy[0x1100], 0xFF);
}

/* E06: memory-mapped mode stays on after Init, and the Write that does not abort it fails. */
static void test_e06_loader_leaves_memory_mapped_mode_on_and_its_write_fails(void)
{
	FT_ASSERT_HEX(run_selftest(&h743, H743_LOADER "-e06", false), 0);
	assert_line("mapped after init 0x00000001\n");
	assert_line("write 0x00000000\n");
	assert_line("mapped after write 0x00000001\n");
	FT_ASSERT_HEX(g_nor_copy[PATTERN_AT], 0xFF);
}

/* Puts BUILD/loaders/n6/<name> at NOR offset addr. */
static ft_error put_n6_fixture(const char *name, uint32_t addr)
{
	char rel[64], path[PATH_MAX];
	snprintf(rel, sizeof(rel), "n6/%s", name);
	build_path(rel, path, sizeof(path));
	uint8_t *bytes = NULL;
	size_t len = 0;
	ft_error err = emu_harness_read_file(path, &bytes, &len, &diag);
	ft_stm32_header h;
	if (err == FT_OK)
		err = ft_stm32_header_check(bytes, len, &h, &diag) == FT_OK || addr ? FT_OK
		                                                                    : diag.code;
	if (err == FT_OK) {
		bytes_at b = {addr, bytes, len};
		err = with_nor(program_job, &b);
	}
	free(bytes);
	return err;
}

/* N02's images as a programmer leaves them in the NOR (headed FSBL at 0, headed application at
 * 0x100000): the boot ROM starts the FSBL, which starts the application in place from XSPI2. */
static void test_n6_fixture_fsbl_boots_from_xspi2_and_starts_the_xip_application(void)
{
	use_board(&n657);
	ft_error err = put_n6_fixture("FSBL-trusted.bin", 0);
	if (err == FT_OK)
		err = put_n6_fixture("Appli-trusted.bin", 0x100000);
	report(err);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	ft_qemu_config cfg = {.machine = n657.machine,
	                      .state_dir = g_state,
	                      .board_path = g_board,
	                      .boot0 = 0,
	                      .instant_timing = true,
	                      .semihosting = true,
	                      .mode = FT_QEMU_RUN};
	int status = -1;
	err = emu_harness_run_qemu(&cfg, RUN_TIMEOUT, g_out, sizeof(g_out), &status, &diag);
	report(err);
	FT_ASSERT_HEX(status, 0);
	assert_line("fsbl: started by the boot ROM\n");
	assert_line("fsbl: application reset vector 0x7010");
	assert_line("app: running in place at 0x7010");
}

/* Loads BUILD/loaders/<name>.stldr and validates it against part with a work area above the
 * loader's 16 KB; returns the number of findings (printed). */
static size_t validate(const char *name, const char *part, uint32_t start, uint32_t size)
{
	char rel[128], path[PATH_MAX];
	snprintf(rel, sizeof(rel), "%s.stldr", name);
	build_path(rel, path, sizeof(path));
	ft_stldr *l = NULL;
	ft_error err = ft_stldr_load_file(path, &l, &diag);
	report(err);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	const ft_stldr_storage *st = ft_stldr_storage_info(l);
	CU_ASSERT_STRING_EQUAL(st->name, name);
	FT_ASSERT_HEX(st->type, 3); /* NOR_FLASH */
	FT_ASSERT_HEX(st->start, start);
	FT_ASSERT_HEX(st->size, size);
	FT_ASSERT_HEX(st->page_size, 0x100);
	FT_ASSERT_HEX(st->erase_value, 0xFF);
	uint32_t lo = 0, hi = 0;
	ft_stldr_footprint(l, &lo, &hi);
	ft_range work = {hi, 0x4000};
	ft_stldr_context ctx = {ft_part_find(part), &work, 1};
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx.part);
	ft_stldr_finding found[8];
	size_t n = ft_stldr_validate(l, &ctx, found, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		fprintf(stderr, "  %s: %s: %s\n", name, ft_stldr_check_name(found[i].check),
		        found[i].message);
	for (int e = 0; e < FT_STLDR_ENTRY_COUNT; e++)
		CU_ASSERT(ft_stldr_entry_address(l, (ft_stldr_entry)e, &lo));
	ft_stldr_free(l);
	return n;
}

static void test_built_loaders_pass_the_stldr_contract_checks_of_their_parts(void)
{
	static const char *const h7[] = {"", "-e03", "-e05", "-e06"};
	static const char *const n6[] = {"", "-e12"};
	char name[128];
	for (size_t i = 0; i < sizeof(h7) / sizeof(h7[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", H743_LOADER, h7[i]);
		FT_ASSERT_HEX(validate(name, "STM32H743ZIT6", 0x90000000u, 0x2000000u), 0);
	}
	for (size_t i = 0; i < sizeof(n6) / sizeof(n6[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", N657_LOADER, n6[i]);
		FT_ASSERT_HEX(validate(name, "STM32N657X0H3Q", 0x70000000u, 0x4000000u), 0);
	}
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_w25q256_loader_programs_erases_and_reads_through_the_h743_quadspi",
	     test_w25q256_loader_programs_erases_and_reads_through_the_h743_quadspi},
	    {"test_mx25um_loader_programs_erases_and_reads_through_the_n657_xspi2_in_octal",
	     test_mx25um_loader_programs_erases_and_reads_through_the_n657_xspi2_in_octal},
	    {"test_w25q256_loader_fails_erase_and_write_while_bp_bits_are_set",
	     test_w25q256_loader_fails_erase_and_write_while_bp_bits_are_set},
	    {"test_mx25um_loader_fails_erase_and_write_while_bp_bits_are_set",
	     test_mx25um_loader_fails_erase_and_write_while_bp_bits_are_set},
	    {"test_e05_loader_write_stops_at_the_first_page_boundary",
	     test_e05_loader_write_stops_at_the_first_page_boundary},
	    {"test_e06_loader_leaves_memory_mapped_mode_on_and_its_write_fails",
	     test_e06_loader_leaves_memory_mapped_mode_on_and_its_write_fails},
	    {"test_n6_fixture_fsbl_boots_from_xspi2_and_starts_the_xip_application",
	     test_n6_fixture_fsbl_boots_from_xspi2_and_starts_the_xip_application},
	    {"test_built_loaders_pass_the_stldr_contract_checks_of_their_parts",
	     test_built_loaders_pass_the_stldr_contract_checks_of_their_parts},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_loaders", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
