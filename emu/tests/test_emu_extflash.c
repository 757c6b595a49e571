/* External flash end to end over gdb://, as a user runs it: flashtwin-emu --gdb on a board with a
 * NOR flash, `flashtwin flash -c gdb://... --board BOARD` with no --loader (the board file's
 * `loader = NAME` finds our open loader in the build's loaders/), then the board state the
 * emulator leaves behind read back.
 *
 *   custom-h743-w25q256: h743-qspi.elf (code in internal flash, 128 KiB of .qspi at 0x90000000)
 *     through W25Q256JV_custom-h743-w25q256.stldr: the NOR and the internal flash of the state
 *     hold the ELF's segments, and `flashtwin read` through the board's loader gives them back.
 *     That fixture never sets QUADSPI up (its scenario_init is empty), so the boot is checked with
 *     loaders/test/h743_qspi_app.c instead: programmed the same way, then booted from flash, it
 *     maps QUADSPI and reads its 64 KiB table at 0x90000000 (its VCP lines, its exit status).
 *   nucleo-n657x0-q: the development-boot flow (devices.md §6.1): the emulator in development
 *     boot (--boot dev, BOOT1 high), FSBL-trusted.bin at 0x70000000 and Appli-trusted.bin at
 *     0x70100000 through MX25UM51245G_nucleo-n657x0-q.stldr; then the emulator restarted in flash
 *     boot runs the FSBL and the application in place (their VCP lines). A headerless FSBL is
 *     programmed with the planner's header v2.3 advice, and the boot ROM refuses it.
 *
 * Needs build/qemu/qemu-system-arm (`make qemu`) and the loaders (`make fixtures`). */
#include "emu/board_runtime.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"
#include "programmer/image/image.h"

#include <CUnit/CUnit.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define H743_BOARD    "custom-h743-w25q256"
#define N657_BOARD    "nucleo-n657x0-q"
#define QSPI_BASE     0x90000000u /* RM0433 §2.3.2: QUADSPI bank 1 window */
#define QSPI_BYTES    0x20000u    /* h743-qspi's .qspi (conformance/fixtures/README.md) */
#define FLASH_BASE    0x08000000u /* RM0433 §2.3.2 */
#define FLASH_WORD    32u         /* RM0433 §4.3.9: 256-bit flash words */
#define START_WAIT_MS 60000u
#define TOOL_WAIT_MS  120000u
#define BOOT_WAIT_MS  60000u

static char g_tmp[64];
static char g_build[PATH_MAX - 64];
static ft_proc *g_emu;
static char g_url[64];
static char g_emu_err[128];

static void setup(void)
{
	g_emu = NULL;
	g_url[0] = '\0';
	emu_harness_setup("extflash", g_tmp, sizeof(g_tmp), g_build, sizeof(g_build));
}

static void stop_emu(void)
{
	ft_proc_stop(g_emu, 10000, NULL, NULL);
	g_emu = NULL;
}

static void teardown(void)
{
	stop_emu();
	emu_harness_cleanup(g_tmp);
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

#define ASSERT_HAS_NOT(text, needle)                                                               \
	do {                                                                                       \
		char m_[300];                                                                      \
		snprintf(m_, sizeof(m_), "output lacks \"%s\"", (needle));                         \
		if (strstr((text), (needle)))                                                      \
			fprintf(stderr, "\n  in: %s\n", (text));                                   \
		CU_assertImplementation(strstr((text), (needle)) == NULL, __LINE__, m_, __FILE__,  \
		                        "", CU_FALSE);                                             \
	} while (0)

/* Starts flashtwin-emu on board's state in g_tmp/state with instant timing and the boot mode;
 * with gdb, QEMU's gdbstub on a free port (g_url). Waits for the ready line. */
static bool start_emu(const char *board, const char *boot, bool gdb)
{
	static unsigned run;
	char stem[16];
	snprintf(stem, sizeof(stem), "emu-%u", run++);
	snprintf(g_emu_err, sizeof(g_emu_err), "%s/%s.err", g_tmp, stem);
	const char *const extra[] = {"--boot", boot, gdb ? "--gdb" : NULL, "127.0.0.1:0", NULL};
	unsigned port = 0;
	if (!emu_harness_start(g_build, g_tmp, board, extra, stem,
	                       gdb ? ", gdb at 127.0.0.1:" : "running flash in QEMU", START_WAIT_MS,
	                       &g_emu, gdb ? &port : NULL)) {
		CU_FAIL("flashtwin-emu did not print its ready line");
		return false;
	}
	if (gdb)
		snprintf(g_url, sizeof(g_url), "gdb://127.0.0.1:%u", port);
	return true;
}

/* Runs BUILD/flashtwin argv[1..] (argv[0] is filled in); its exit status, -1 when it did not
 * run. Prints its output when it failed. */
static int run_flashtwin(const char **argv, ft_proc_result *res)
{
	char tool[PATH_MAX];
	snprintf(tool, sizeof(tool), "%s/flashtwin", g_build);
	argv[0] = tool;
	ft_diag diag;
	if (ft_proc_run(argv, NULL, TOOL_WAIT_MS, res, &diag) != FT_OK) {
		memset(res, 0, sizeof(*res));
		return -1;
	}
	if (res->exit_status != 0)
		fprintf(stderr, "\nflashtwin %s: %s%s\n", argv[1], res->out, res->err);
	return res->exit_status;
}

/* Polls path (the emulator's stderr) until it holds needle. */
static bool file_gets(const char *path, const char *needle, unsigned timeout_ms)
{
	static char text[16384];
	for (unsigned waited = 0;; waited += 50) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		if (f)
			fclose(f);
		text[n] = '\0';
		if (strstr(text, needle))
			return true;
		if (waited >= timeout_ms)
			break;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	fprintf(stderr, "\n  %s has no \"%s\":\n%s\n", path, needle, text);
	return false;
}

/* The segments of a fixture file. */
static ft_image *load_image(const char *path)
{
	ft_image *image = ft_image_new();
	ft_image_input in = {.path = path};
	ft_diag diag;
	if (!image || ft_image_add_file(image, &in, &diag) != FT_OK ||
	    ft_image_finish(image, &diag) != FT_OK) {
		fprintf(stderr, "\n%s: %s\n", path, image ? diag.message : "no memory");
		ft_image_free(image);
		return NULL;
	}
	return image;
}

static const ft_segment *segment_at(const ft_image *image, uint32_t addr)
{
	for (size_t i = 0; i < ft_image_segment_count(image); i++) {
		const ft_segment *s = ft_image_segment_at(image, i);
		if (s->addr == addr && s->size > 0)
			return s;
	}
	return NULL;
}

/* What the board state holds after the emulator stopped. */
typedef struct state_copy {
	uint8_t nor[QSPI_BYTES + 0x1000];
	uint8_t flash[0x200];
	bool flash_fault;
} state_copy;

static bool read_state(const char *board, state_copy *copy)
{
	char exe[PATH_MAX], dirs[FT_BOARD_SEARCH_DIRS][FT_BOARD_PATH_MAX], path[PATH_MAX],
	    state[128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	size_t count = ft_board_search_dirs(NULL, exe, dirs, FT_BOARD_SEARCH_DIRS);
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%.*s/%s.board", PATH_MAX - 80, dirs[i], board);
		if (access(path, R_OK) == 0)
			break;
	}
	snprintf(state, sizeof(state), "%s/state", g_tmp);
	ft_board_runtime_config cfg = {
	    .board_path = path, .state_dir = state, .clock_mode = FT_CLOCK_INSTANT};
	ft_board_runtime *rt = NULL;
	ft_diag diag;
	if (ft_board_runtime_open(&cfg, &rt, &diag) != FT_OK) {
		fprintf(stderr, "\n%s: %s\n", state, diag.message);
		return false;
	}
	bool ok = ft_board_runtime_nor_count(rt) == 1;
	if (ok)
		memcpy(copy->nor, ft_nor_array(ft_board_runtime_nor_at(rt, 0)->nor),
		       sizeof(copy->nor));
	ft_flash_h7 *flash = ft_board_runtime_flash(rt);
	if (ok && flash)
		ok = ft_flash_h7_bus_read(flash, FLASH_BASE, copy->flash, sizeof(copy->flash),
		                          &copy->flash_fault) == FT_OK;
	ft_board_runtime_close(rt, NULL);
	return ok;
}

static void fixture_path(const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.*s/%s", PATH_MAX - 128, g_build, rel);
}

/* Flashes h743-qspi.elf onto the H743 board over gdb:// without --loader; the ELF's image, its
 * .qspi bytes (QSPI_BYTES) in *qspi. */
static ft_image *flash_h743_qspi(const uint8_t **qspi)
{
	char elf[PATH_MAX];
	fixture_path("fixtures/h743-qspi.elf", elf, sizeof(elf));
	ft_image *image = load_image(elf);
	const ft_segment *seg = image ? segment_at(image, QSPI_BASE) : NULL;
	CU_ASSERT(seg && seg->size == QSPI_BYTES);
	*qspi = seg && seg->size == QSPI_BYTES ? seg->data : NULL;
	if (!*qspi || !start_emu(H743_BOARD, "flash", true)) {
		ft_image_free(image);
		return NULL;
	}
	const char *flash[] = {NULL,       "flash",          elf, "-c", g_url, "--board",
	                       H743_BOARD, "--no-poll-wait", NULL};
	ft_proc_result res;
	FT_ASSERT_HEX(run_flashtwin(flash, &res), 0);
	ASSERT_HAS(res.out ? res.out : "", "flashed");
	ASSERT_HAS(res.err ? res.err : "",
	           "W25Q256JV_custom-h743-w25q256.stldr named by board " H743_BOARD);
	/* the plan names the loader's sectors as such, the progress the loader by DeviceName */
	ASSERT_HAS(res.out ? res.out : "", "external sector 31  0x9001F000-0x9001FFFF");
	ASSERT_HAS(res.err ? res.err : "",
	           "erase: 32 external sectors (128 KiB) by W25Q256JV_custom-h743-w25q256\n");
	ft_proc_result_free(&res);
	return image;
}

static void test_qspi_elf_lands_in_the_nor_and_internal_flash_with_the_boards_loader(void)
{
	const uint8_t *qspi;
	ft_image *image = flash_h743_qspi(&qspi);
	if (!image)
		return;
	stop_emu();
	static state_copy got;
	memset(&got, 0, sizeof(got));
	bool read = read_state(H743_BOARD, &got);
	CU_ASSERT(read);
	if (!read) {
		ft_image_free(image);
		return;
	}
	FT_ASSERT_BYTES(got.nor, qspi, QSPI_BYTES);
	FT_ASSERT_HEX(got.nor[QSPI_BYTES], 0xFF); /* the next sector was not touched */
	/* internal flash: every segment below the QUADSPI window, padded to flash words */
	FT_ASSERT_HEX(got.flash_fault, false);
	uint32_t end = 0;
	for (size_t i = 0; i < ft_image_segment_count(image); i++) {
		const ft_segment *s = ft_image_segment_at(image, i);
		if (s->size == 0 || s->addr >= QSPI_BASE)
			continue;
		bool inside = s->addr + s->size - FLASH_BASE <= sizeof(got.flash);
		CU_ASSERT(inside);
		if (inside)
			FT_ASSERT_BYTES(got.flash + (s->addr - FLASH_BASE), s->data, s->size);
		end = s->addr + s->size > end ? s->addr + s->size : end;
	}
	CU_ASSERT(end > FLASH_BASE);
	for (uint32_t a = end; a % FLASH_WORD; a++)
		FT_ASSERT_HEX(got.flash[a - FLASH_BASE], 0xFF);
	ft_image_free(image);
}

static void test_read_through_the_boards_loader_gives_back_the_qspi_segment(void)
{
	const uint8_t *qspi;
	ft_image *image = flash_h743_qspi(&qspi);
	if (!image)
		return;
	char out[128];
	snprintf(out, sizeof(out), "%s/qspi.bin", g_tmp);
	const char *read[] = {NULL, "read", "-c",      g_url,      "0x90000000", "0x20000",
	                      "-o", out,    "--board", H743_BOARD, NULL};
	ft_proc_result res;
	FT_ASSERT_HEX(run_flashtwin(read, &res), 0);
	ft_proc_result_free(&res);
	static uint8_t back[QSPI_BYTES];
	FILE *f = fopen(out, "rb");
	size_t n = f ? fread(back, 1, sizeof(back), f) : 0;
	if (f)
		fclose(f);
	FT_ASSERT_HEX(n, QSPI_BYTES);
	FT_ASSERT_BYTES(back, qspi, QSPI_BYTES);
	/* assets.S: each word holds its own address */
	const uint8_t *w = back + 0x48D0;
	FT_ASSERT_HEX((uint32_t)w[0] | (uint32_t)w[1] << 8 | (uint32_t)w[2] << 16 |
	                  (uint32_t)w[3] << 24,
	              QSPI_BASE + 0x48D0u);
	ft_image_free(image);
}

/* Runs the board's flash contents in QEMU (--boot flash) until the firmware ends the run
 * (semihosting exit); its VCP output in res. */
static bool boot_from_flash(const char *board, ft_proc_result *res)
{
	char emu[PATH_MAX], state[128];
	snprintf(emu, sizeof(emu), "%s/flashtwin-emu", g_build);
	snprintf(state, sizeof(state), "%s/state", g_tmp);
	const char *argv[] = {emu,      "--board", board,      "--state", state,
	                      "--boot", "flash",   "--timing", "instant", NULL};
	ft_diag diag;
	bool ran = ft_proc_run(argv, NULL, BOOT_WAIT_MS, res, &diag) == FT_OK;
	CU_ASSERT(ran);
	if (!ran)
		memset(res, 0, sizeof(*res));
	else if (res->exit_status != 0)
		fprintf(stderr, "\nflashtwin-emu --boot flash: %s%s\n", res->out, res->err);
	return ran;
}

static void test_application_booted_from_flash_reads_its_qspi_table(void)
{
	char elf[PATH_MAX];
	fixture_path("loaders/h743-qspi-app.elf", elf, sizeof(elf));
	if (!start_emu(H743_BOARD, "flash", true))
		return;
	const char *flash[] = {NULL,       "flash",          elf, "-c", g_url, "--board",
	                       H743_BOARD, "--no-poll-wait", NULL};
	ft_proc_result res;
	FT_ASSERT_HEX(run_flashtwin(flash, &res), 0);
	ft_proc_result_free(&res);
	stop_emu();
	if (!boot_from_flash(H743_BOARD, &res))
		return;
	const char *out = res.out ? res.out : "";
	ASSERT_HAS(out, "app: started from internal flash\n");
	ASSERT_HAS(out, "app: qspi words read 0x00004000\n");
	ASSERT_HAS(out, "app: qspi words wrong 0x00000000\n");
	ASSERT_HAS(out, "app: qspi word at 0x9000fffc 0x9000fffc\n");
	FT_ASSERT_HEX(res.exit_status, 0);
	ft_proc_result_free(&res);
}

/* ---- STM32N6 development boot ---- */

/* Programs the files onto the N6 in development boot through the board's loader; flashtwin's
 * stdout and stderr in text (cap bytes). False when anything failed. */
static bool flash_n6_in_development_boot(const char *fsbl, const char *app, char *text, size_t cap)
{
	if (!start_emu(N657_BOARD, "dev", true))
		return false;
	CU_ASSERT(file_gets(g_emu_err, "N6 development boot: waiting for a debugger", 0));
	char fsbl_at[PATH_MAX], app_at[PATH_MAX];
	fixture_path(fsbl, fsbl_at, sizeof(fsbl_at) - 12);
	strcat(fsbl_at, "@0x70000000");
	fixture_path(app ? app : "", app_at, sizeof(app_at) - 12);
	strcat(app_at, "@0x70100000");
	const char *flash[] = {NULL,
	                       "flash",
	                       fsbl_at,
	                       "-c",
	                       g_url,
	                       "--board",
	                       N657_BOARD,
	                       "--no-poll-wait",
	                       app ? app_at : NULL,
	                       NULL};
	ft_proc_result res;
	int status = run_flashtwin(flash, &res);
	FT_ASSERT_HEX(status, 0);
	snprintf(text, cap, "%s%s", res.out ? res.out : "", res.err ? res.err : "");
	ASSERT_HAS(text, "flashed");
	ASSERT_HAS(text, "MX25UM51245G_nucleo-n657x0-q.stldr named by board " N657_BOARD);
	ft_proc_result_free(&res);
	stop_emu();
	return status == 0;
}

static void test_n6_development_boot_programs_fsbl_and_application_that_then_boot(void)
{
	static char text[32768];
	if (!flash_n6_in_development_boot("loaders/n6/FSBL-trusted.bin",
	                                  "loaders/n6/Appli-trusted.bin", text, sizeof(text)))
		return;
	/* a valid header v2.3 at 0x70000000: the planner says nothing about it */
	ASSERT_HAS_NOT(text, "STM32 header");
	/* BOOT1 low again (flash boot): the boot ROM starts the FSBL, which starts the application
	 * in place; the application ends the run (semihosting exit) */
	ft_proc_result res;
	if (!boot_from_flash(N657_BOARD, &res))
		return;
	const char *out = res.out ? res.out : "";
	ASSERT_HAS(out, "fsbl: started by the boot ROM\n");
	ASSERT_HAS(out, "app: running in place at 0x7010");
	CU_ASSERT(strstr(out, "fsbl: started") < strstr(out, "app: running"));
	FT_ASSERT_HEX(res.exit_status, 0);
	ft_proc_result_free(&res);
}

static void test_n6_headerless_fsbl_is_programmed_with_advice_and_the_boot_rom_refuses_it(void)
{
	static char text[32768];
	if (!flash_n6_in_development_boot("loaders/n6/fsbl.bin", NULL, text, sizeof(text)))
		return;
	ASSERT_HAS(text, "segment 0 at 0x70000000: no valid STM32 header v2.3");
	ASSERT_HAS(text, "STM32_SigningTool_CLI");
	if (!start_emu(N657_BOARD, "flash", false))
		return;
	CU_ASSERT(file_gets(g_emu_err, "N6 boot ROM: no STM32 header", BOOT_WAIT_MS));
}

static void test_development_boot_is_refused_for_a_part_without_boot1(void)
{
	char emu[PATH_MAX], state[128];
	snprintf(emu, sizeof(emu), "%s/flashtwin-emu", g_build);
	snprintf(state, sizeof(state), "%s/state", g_tmp);
	const char *argv[] = {emu,      "--board", "nucleo-h743zi2", "--state",     state,
	                      "--boot", "dev",     "--gdb",          "127.0.0.1:0", NULL};
	ft_proc_result res;
	ft_diag diag;
	FT_ASSERT_HEX(ft_proc_run(argv, NULL, TOOL_WAIT_MS, &res, &diag), FT_OK);
	FT_ASSERT_HEX(res.exit_status, 2);
	ASSERT_HAS(res.err ? res.err : "", "has no BOOT1 pin");
	ft_proc_result_free(&res);
}

static CU_TestInfo tests[] = {
    {"qspi_elf_lands_in_the_nor_and_internal_flash_with_the_boards_loader",
     test_qspi_elf_lands_in_the_nor_and_internal_flash_with_the_boards_loader},
    {"read_through_the_boards_loader_gives_back_the_qspi_segment",
     test_read_through_the_boards_loader_gives_back_the_qspi_segment},
    {"application_booted_from_flash_reads_its_qspi_table",
     test_application_booted_from_flash_reads_its_qspi_table},
    {"n6_development_boot_programs_fsbl_and_application_that_then_boot",
     test_n6_development_boot_programs_fsbl_and_application_that_then_boot},
    {"n6_headerless_fsbl_is_programmed_with_advice_and_the_boot_rom_refuses_it",
     test_n6_headerless_fsbl_is_programmed_with_advice_and_the_boot_rom_refuses_it},
    {"development_boot_is_refused_for_a_part_without_boot1",
     test_development_boot_is_refused_for_a_part_without_boot1},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"emu_extflash", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
