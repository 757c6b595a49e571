/* The external-loader runner (programmer/swd/loader_run) on the emulated NUCLEO-H743ZI2 over
 * QEMU's gdbstub: the fixture loaders of conformance/fixtures (a "device" of 64 KB of RAM_D2 at
 * 0x30000000) run on the emulated Cortex-M7, well-behaved and broken: a fault in Write, a
 * SectorErase that never returns, SysTick left running, a Write that stops at a page boundary.
 * Then the flashtwin command programs, reads and erases through the loader. */
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"
#include "programmer/swd/loader_run.h"

#include <CUnit/CUnit.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOARD         "nucleo-h743zi2"
#define DISK          0x30000000u /* the ramdisk loader's device (RAM_D2, RM0433) */
#define DISK_SIZE     0x10000u
#define START_WAIT_MS 60000u
#define TOOL_WAIT_MS  120000u
#define CALL_MS       1500u /* budget for the broken loaders' calls */

static char g_tmp[64];
static char g_build[PATH_MAX - 64];

typedef struct fixture {
	ft_proc *emu;
	char url[64];
	ft_swd *swd;
	ft_stldr *loader;
	ft_ldrun *run;
	char warnings[2048];
} fixture;

static fixture fx;

static void on_warning(void *user, const ft_diag *w)
{
	fixture *f = user;
	size_t used = strlen(f->warnings);
	snprintf(f->warnings + used, sizeof(f->warnings) - used, "%s\n", w->message);
}

static void no_sleep(void *user, uint32_t ms)
{
	(void)user, (void)ms;
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	emu_harness_setup("ldrun", g_tmp, sizeof(g_tmp), g_build, sizeof(g_build));
}

static void teardown(void)
{
	ft_ldrun_free(fx.run);
	ft_stldr_free(fx.loader);
	ft_swd_close(fx.swd);
	ft_proc_stop(fx.emu, 5000, NULL, NULL);
	emu_harness_cleanup(g_tmp);
}

/* Starts the emulator with its gdbstub on a free port; fills fx.url. */
static bool start_emu(void)
{
	const char *const extra[] = {"--listen", "127.0.0.1:0", "--gdb", "127.0.0.1:0", NULL};
	unsigned port = 0;
	if (!emu_harness_start(g_build, g_tmp, BOARD, extra, "emu",
	                       ", gdb at 127.0.0.1:", START_WAIT_MS, &fx.emu, &port)) {
		CU_FAIL("flashtwin-emu --gdb did not print its ready line");
		return false;
	}
	snprintf(fx.url, sizeof(fx.url), "gdb://127.0.0.1:%u", port);
	return port > 0;
}

static void loader_path(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/fixtures/loaders/%s.stldr", g_build, name);
}

/* Emulator, session, loader and runner; reserved RAM optional. */
static bool start_with(const char *name, unsigned call_ms, const ft_range *reserved,
                       size_t reserved_count, ft_error *new_err)
{
	if (!fx.emu && !start_emu())
		return false;
	ft_swd_options so = {.sleep_ms = no_sleep};
	ft_diag diag;
	char path[PATH_MAX];
	loader_path(name, path, sizeof(path));
	if (ft_swd_open(fx.url, &so, &fx.swd, &diag) != FT_OK ||
	    ft_swd_connect(fx.swd, &diag) != FT_OK ||
	    ft_stldr_load_file(path, &fx.loader, &diag) != FT_OK) {
		fprintf(stderr, "\n%s\n", diag.message);
		CU_FAIL("no session or loader");
		return false;
	}
	ft_ldrun_options lo = {.reserved = reserved,
	                       .reserved_count = reserved_count,
	                       .call_timeout_ms = call_ms,
	                       .warning = on_warning,
	                       .user = &fx};
	ft_error err = ft_ldrun_new(fx.swd, fx.loader, &lo, &fx.run, &diag);
	if (new_err) {
		*new_err = err;
		return err == FT_OK;
	}
	if (err != FT_OK) {
		fprintf(stderr, "\n%s\n", diag.message);
		CU_FAIL("ft_ldrun_new failed");
	}
	return err == FT_OK;
}

/* Session, loader, runner and Init on the running emulator (started when not yet). */
static bool start_session(const char *name, unsigned call_ms)
{
	if (!start_with(name, call_ms, NULL, 0, NULL))
		return false;
	ft_diag diag;
	ft_error err = ft_ldrun_init(fx.run, &diag);
	if (err != FT_OK)
		fprintf(stderr, "\nInit: %s\n", diag.message);
	FT_ASSERT_HEX(err, FT_OK);
	return err == FT_OK;
}

static bool start_loader(const char *name, unsigned call_ms)
{
	return start_session(name, call_ms);
}

static void pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7u + seed + (i >> 8));
}

static bool advice_has(const char *needle)
{
	for (size_t i = 0; i < ft_ldrun_advice_count(fx.run); i++)
		if (strstr(ft_ldrun_advice_at(fx.run, i), needle))
			return true;
	return false;
}

#define ASSERT_HAS(text, needle)                                                                   \
	do {                                                                                       \
		char m_[300];                                                                      \
		snprintf(m_, sizeof(m_), "output contains \"%s\"", (needle));                      \
		if (!strstr((text), (needle)))                                                     \
			fprintf(stderr, "\n  in: %s\n", (text));                                   \
		CU_assertImplementation(strstr((text), (needle)) != NULL, __LINE__, m_, __FILE__,  \
		                        "", CU_FALSE);                                             \
	} while (0)

static void test_init_erase_write_read_verify_round_trip(void)
{
	if (!start_loader("flashtwin-ramdisk-h743", 0))
		return;
	ft_diag diag;
	static uint8_t data[0x1800], back[0x2000];
	pattern(data, sizeof(data), 3);
	FT_ASSERT_HEX(ft_ldrun_erase(fx.run, DISK, 0x2000, &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_write(fx.run, DISK, data, sizeof(data), &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_read(fx.run, DISK, back, sizeof(back), &diag), FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	FT_ASSERT_HEX(back[0x1800], 0xFF); /* erased by SectorErase, not written */
	FT_ASSERT_HEX(back[0x1FFF], 0xFF);
	FT_ASSERT_HEX(ft_ldrun_verify(fx.run, DISK, data, sizeof(data), &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_verify_call(fx.run, DISK + 1, data + 1, 0x101, &diag), FT_OK);
	/* the device itself, read past the loader: the bytes are where Write put them */
	memset(back, 0, sizeof(back));
	FT_ASSERT_HEX(ft_gdb_read_mem(ft_swd_gdb(fx.swd), DISK, back, sizeof(data), &diag), FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	FT_ASSERT_HEX(fx.warnings[0], '\0');
}

static void test_mass_erase_leaves_the_device_erased(void)
{
	if (!start_loader("flashtwin-ramdisk-h743", 0))
		return;
	ft_diag diag;
	static uint8_t data[0x200], back[DISK_SIZE];
	pattern(data, sizeof(data), 9);
	FT_ASSERT_HEX(ft_ldrun_write(fx.run, DISK + DISK_SIZE - 0x200, data, 0x200, &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_mass_erase(fx.run, &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_read(fx.run, DISK, back, DISK_SIZE, &diag), FT_OK);
	size_t erased = 0;
	for (size_t i = 0; i < DISK_SIZE; i++)
		erased += back[i] == 0xFF;
	FT_ASSERT_HEX(erased, DISK_SIZE);
}

static void test_verify_call_decodes_the_first_failing_address(void)
{
	if (!start_loader("flashtwin-ramdisk-h743", 0))
		return;
	ft_diag diag;
	static uint8_t data[0x400];
	pattern(data, sizeof(data), 5);
	FT_ASSERT_HEX(ft_ldrun_write(fx.run, DISK, data, sizeof(data), &diag), FT_OK);
	uint8_t wrong = (uint8_t)~data[0x123];
	FT_ASSERT_HEX(ft_gdb_write_mem(ft_swd_gdb(fx.swd), DISK + 0x123, &wrong, 1, &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_verify_call(fx.run, DISK, data, sizeof(data), &diag), FT_ERR_VERIFY);
	ASSERT_HAS(diag.message, "Verify reports a mismatch at 0x30000123");
	FT_ASSERT_HEX(ft_ldrun_verify(fx.run, DISK, data, sizeof(data), &diag), FT_ERR_VERIFY);
	ASSERT_HAS(diag.message, "mismatch at 0x30000123");
}

static int run_flashtwin(const char **argv, ft_proc_result *res);

static void test_fault_in_write_is_explained_with_the_function(void)
{
	/* a firmware whose fault handlers loop: with erased flash QEMU 7.2 aborts on the lockup a
	 * real core would enter ("Lockup: can't escalate 3 to HardFault") */
	if (!start_emu())
		return;
	char elf[PATH_MAX];
	snprintf(elf, sizeof(elf), "%s/fixtures/h743-clean.elf", g_build);
	const char *flash[] = {NULL,  "flash",          elf, "-c", fx.url, "--board",
	                       BOARD, "--no-poll-wait", NULL};
	ft_proc_result res;
	FT_ASSERT_HEX(run_flashtwin(flash, &res), 0);
	ft_proc_result_free(&res);
	if (!start_session("ramdisk-fault-in-write", CALL_MS))
		return;
	ft_diag diag;
	uint8_t data[0x100];
	pattern(data, sizeof(data), 1);
	ft_error err = ft_ldrun_write(fx.run, DISK, data, sizeof(data), &diag);
	/* the firmware's HardFault handler loops: the call times out and the core is halted */
	FT_ASSERT_HEX(err, FT_ERR_TIMEOUT);
	ASSERT_HAS(diag.message, "Write(0x30000000, 0x100, ");
	ASSERT_HAS(diag.message, "HardFault (exception 3) taken at 0x");
	ASSERT_HAS(diag.message, "in Write+0x");
	CU_ASSERT(advice_has("HFSR=0x40000000 (FORCED"));
	CU_ASSERT(advice_has("UNDEFINSTR"));
	CU_ASSERT(advice_has("CFSR=0x"));
	CU_ASSERT(advice_has("VTOR=0x"));
	/* the runner refuses to go on with a loader whose RAM is suspect */
	FT_ASSERT_HEX(ft_ldrun_write(fx.run, DISK, data, sizeof(data), &diag), FT_ERR_STATE);
}

static void test_erase_that_never_returns_times_out_and_halts_the_core(void)
{
	if (!start_loader("ramdisk-hang-in-erase", CALL_MS))
		return;
	ft_diag diag;
	FT_ASSERT_HEX(ft_ldrun_erase(fx.run, DISK, 0x1000, &diag), FT_ERR_TIMEOUT);
	ASSERT_HAS(diag.message,
	           "SectorErase(0x30000000, 0x30000fff) did not return within 1500 ms");
	ASSERT_HAS(diag.message, "in SectorErase+0x");
	CU_ASSERT(advice_has("core: PC=0x"));
	/* halted: the session still answers */
	uint32_t pc = 0;
	FT_ASSERT_HEX(ft_gdb_read_reg(ft_swd_gdb(fx.swd), FT_GDB_PC, &pc, &diag), FT_OK);
	CU_ASSERT(pc >= 0x24000004u && pc < 0x24001000u);
}

/* Consecutive sectors go to one SectorErase call (up to a 64 KiB boundary), so a loader can use
 * its block erase: the hanging call names the whole range. */
static void test_consecutive_sectors_are_erased_by_one_call(void)
{
	if (!start_loader("ramdisk-hang-in-erase", CALL_MS))
		return;
	ft_diag diag;
	FT_ASSERT_HEX(ft_ldrun_erase(fx.run, DISK + 0x1000, 0x2800, &diag), FT_ERR_TIMEOUT);
	ASSERT_HAS(diag.message, "SectorErase(0x30001000, 0x30003fff) did not return");
}

static void test_systick_left_running_after_init_is_a_warning(void)
{
	if (!start_loader("ramdisk-systick-left-on", 0))
		return;
	ASSERT_HAS(fx.warnings, "left SysTick running after Init");
	ASSERT_HAS(fx.warnings, "ramdisk-systick-left-on");
	/* a warning, not a failure: the loader still works */
	ft_diag diag;
	uint8_t data[0x40];
	pattern(data, sizeof(data), 2);
	FT_ASSERT_HEX(ft_ldrun_write(fx.run, DISK, data, sizeof(data), &diag), FT_OK);
}

static void test_write_stopping_at_a_page_boundary_names_the_address(void)
{
	if (!start_loader("ramdisk-stop-at-page", 0))
		return;
	ft_diag diag;
	static uint8_t data[0x200];
	pattern(data, sizeof(data), 4);
	FT_ASSERT_HEX(ft_ldrun_erase(fx.run, DISK, 0x1000, &diag), FT_OK);
	FT_ASSERT_HEX(ft_ldrun_write(fx.run, DISK + 0x80, data, sizeof(data), &diag),
	              FT_ERR_DEVICE);
	ASSERT_HAS(diag.message, "Write failed at 0x30000100");
	ASSERT_HAS(diag.message, "page size 0x100 from StorageInfo");
}

static void test_loader_over_the_images_ram_is_refused_before_anything_runs(void)
{
	ft_range image_ram = {0x24000000u, 0x400u}; /* the loader is linked at 0x24000004 */
	ft_error err = FT_OK;
	start_with("flashtwin-ramdisk-h743", 0, &image_ram, 1, &err);
	FT_ASSERT_HEX(err, FT_ERR_REFUSED);
}

/* ---- the flashtwin command ---- */

static int run_flashtwin(const char **argv, ft_proc_result *res)
{
	char tool[PATH_MAX];
	snprintf(tool, sizeof(tool), "%s/flashtwin", g_build);
	argv[0] = tool;
	ft_diag diag;
	if (ft_proc_run(argv, NULL, TOOL_WAIT_MS, res, &diag) != FT_OK)
		return -1;
	if (res->exit_status != 0)
		fprintf(stderr, "\nflashtwin %s: %s%s\n", argv[1], res->out, res->err);
	return res->exit_status;
}

/* An Intel HEX file of len bytes of pattern(seed) at addr. */
static void write_hex(const char *path, uint32_t addr, size_t len, unsigned seed)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	uint8_t data[16];
	fprintf(f, ":02000004%04X%02X\n", addr >> 16,
	        (unsigned)(uint8_t)(0u - (2u + 4u + (addr >> 24) + ((addr >> 16) & 0xFFu))));
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;
		pattern(data, n, seed + (unsigned)off);
		uint16_t a = (uint16_t)(addr + off);
		unsigned sum = (unsigned)n + (a >> 8) + (a & 0xFFu);
		fprintf(f, ":%02zX%04X00", n, a);
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%02X", data[i]);
			sum += data[i];
		}
		fprintf(f, "%02X\n", (unsigned)(uint8_t)(0u - sum));
	}
	fprintf(f, ":00000001FF\n");
	fclose(f);
}

static void test_flash_programs_internal_and_loader_segments_and_reads_them_back(void)
{
	if (!start_emu())
		return;
	char hex[128], elf[PATH_MAX], ldr[PATH_MAX], out[128];
	snprintf(hex, sizeof(hex), "%s/disk.hex", g_tmp);
	snprintf(elf, sizeof(elf), "%s/fixtures/h743-clean.elf", g_build);
	snprintf(out, sizeof(out), "%s/back.bin", g_tmp);
	loader_path("flashtwin-ramdisk-h743", ldr, sizeof(ldr));
	write_hex(hex, DISK + 0x1000, 0x900, 11);
	/* the external file first: the plan's order (internal, then external) is what counts */
	const char *flash[] = {
	    NULL, "flash",          hex, elf, "-c", fx.url, "--board", BOARD, "--loader",
	    ldr,  "--no-poll-wait", NULL};
	ft_proc_result res;
	FT_ASSERT_HEX(run_flashtwin(flash, &res), 0);
	ASSERT_HAS(res.out, "flashed");
	ASSERT_HAS(res.err, "flashtwin-ramdisk-h743");
	ft_proc_result_free(&res);
	const char *read[] = {NULL, "read", "-c",       fx.url, "0x30001000", "0x900",
	                      "-o", out,    "--loader", ldr,    NULL};
	FT_ASSERT_HEX(run_flashtwin(read, &res), 0);
	ft_proc_result_free(&res);
	static uint8_t want[0x900], got[0x900];
	for (size_t off = 0; off < sizeof(want); off += 16)
		pattern(want + off, sizeof(want) - off < 16 ? sizeof(want) - off : 16,
		        11 + (unsigned)off);
	FILE *f = fopen(out, "rb");
	size_t n = f ? fread(got, 1, sizeof(got), f) : 0;
	if (f)
		fclose(f);
	FT_ASSERT_HEX(n, sizeof(want));
	FT_ASSERT_BYTES(got, want, sizeof(want));
	const char *erase[] = {NULL,       "erase", "-c", fx.url, "--range", "0x30001000:0x100",
	                       "--loader", ldr,     NULL};
	FT_ASSERT_HEX(run_flashtwin(erase, &res), 0);
	ft_proc_result_free(&res);
	FT_ASSERT_HEX(run_flashtwin(read, &res), 0);
	ft_proc_result_free(&res);
	f = fopen(out, "rb");
	n = f ? fread(got, 1, sizeof(got), f) : 0;
	if (f)
		fclose(f);
	FT_ASSERT_HEX(n, sizeof(want));
	FT_ASSERT_HEX(got[0], 0xFF);
	FT_ASSERT_HEX(got[0x8FF], 0xFF); /* the whole 4 KiB sector went */
}

static void test_board_files_loader_is_the_default(void)
{
	if (!start_emu())
		return;
	char hex[128], board[128];
	snprintf(hex, sizeof(hex), "%s/disk.hex", g_tmp);
	snprintf(board, sizeof(board), "%s/ramdisk.board", g_tmp);
	write_hex(hex, DISK, 0x300, 21);
	FILE *f = fopen(board, "w");
	CU_ASSERT_FATAL(f != NULL);
	/* not next to the board file: found in fixtures/loaders of the build */
	fputs("part = STM32H743ZI\nloader = flashtwin-ramdisk-h743\n", f);
	fclose(f);
	const char *flash[] = {NULL,  "flash",          hex, "-c", fx.url, "--board",
	                       board, "--no-poll-wait", NULL};
	ft_proc_result res;
	FT_ASSERT_HEX(run_flashtwin(flash, &res), 0);
	ASSERT_HAS(res.err, "using loader");
	ASSERT_HAS(res.err, "named by board");
	ASSERT_HAS(res.out, "loader    ");
	ft_proc_result_free(&res);
	uint8_t want[0x10], got[0x10];
	pattern(want, sizeof(want), 21);
	ft_diag diag;
	ft_swd_options so = {.sleep_ms = no_sleep};
	FT_ASSERT_HEX(ft_swd_open(fx.url, &so, &fx.swd, &diag), FT_OK);
	FT_ASSERT_HEX(ft_swd_connect(fx.swd, &diag), FT_OK);
	FT_ASSERT_HEX(ft_gdb_read_mem(ft_swd_gdb(fx.swd), DISK, got, sizeof(got), &diag), FT_OK);
	FT_ASSERT_BYTES(got, want, sizeof(want));
}

static void test_flash_without_a_loader_refuses_the_external_segment(void)
{
	char hex[128];
	snprintf(hex, sizeof(hex), "%s/qspi.hex", g_tmp);
	write_hex(hex, 0x90000000u, 0x100, 1);
	const char *flash[] = {NULL,      "flash", hex, "-c", "gdb://127.0.0.1:9",
	                       "--board", BOARD,   NULL};
	ft_proc_result res;
	char tool[PATH_MAX];
	snprintf(tool, sizeof(tool), "%s/flashtwin", g_build);
	flash[0] = tool;
	ft_diag diag;
	FT_ASSERT_HEX(ft_proc_run(flash, NULL, TOOL_WAIT_MS, &res, &diag), FT_OK);
	FT_ASSERT_HEX(res.exit_status, 1);
	ASSERT_HAS(res.out, "requires an external loader");
	ft_proc_result_free(&res);
}

static CU_TestInfo tests[] = {
    {"init_erase_write_read_verify_round_trip", test_init_erase_write_read_verify_round_trip},
    {"mass_erase_leaves_the_device_erased", test_mass_erase_leaves_the_device_erased},
    {"verify_call_decodes_the_first_failing_address",
     test_verify_call_decodes_the_first_failing_address},
    {"fault_in_write_is_explained_with_the_function",
     test_fault_in_write_is_explained_with_the_function},
    {"erase_that_never_returns_times_out_and_halts_the_core",
     test_erase_that_never_returns_times_out_and_halts_the_core},
    {"consecutive_sectors_are_erased_by_one_call", test_consecutive_sectors_are_erased_by_one_call},
    {"systick_left_running_after_init_is_a_warning",
     test_systick_left_running_after_init_is_a_warning},
    {"write_stopping_at_a_page_boundary_names_the_address",
     test_write_stopping_at_a_page_boundary_names_the_address},
    {"loader_over_the_images_ram_is_refused_before_anything_runs",
     test_loader_over_the_images_ram_is_refused_before_anything_runs},
    {"flash_programs_internal_and_loader_segments_and_reads_them_back",
     test_flash_programs_internal_and_loader_segments_and_reads_them_back},
    {"board_files_loader_is_the_default", test_board_files_loader_is_the_default},
    {"flash_without_a_loader_refuses_the_external_segment",
     test_flash_without_a_loader_refuses_the_external_segment},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"emu_loader", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
