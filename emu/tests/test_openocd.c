/* Debian's OpenOCD 0.12, unmodified, against an emulated NUCLEO-H743ZI2: flashtwin-emu
 * --remote-bitbang serves the STM32H7 debug port over OpenOCD's remote_bitbang protocol (JTAG:
 * 0.12's remote_bitbang has no SWD), OpenOCD runs target/stm32h7x.cfg on it, and
 *  - OpenOCD scans the chain, examines the Cortex-M7 and reads DBGMCU_IDCODE;
 *  - flashtwin's GDB client identifies, programs and reads option bytes through OpenOCD's own
 *    GDB server; the bytes land in the board's flash (its state file);
 *  - OpenOCD's stm32h7x flash driver programs the board with its algorithm run on the core.
 *
 * Binaries: build/<tree>/flashtwin-emu and flashtwin beside this program's tests/ directory,
 * OPENOCD from the openocd package (ci/packages.txt). Every wait is bounded; every socket is on
 * 127.0.0.1. */
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OPENOCD  "/usr/bin/openocd"
#define START_MS 30000u /* ASan start-up and a new state */
#define STOP_MS  10000u
#define TOOL_MS  120000u /* a whole flash under ASan, one JTAG scan per word */
/* JTAG-DP IDCODE (OOCD tcl/target/stm32h7x.cfg _CPUTAPID under JTAG) and the DBGMCU_IDCODE the
 * nucleo-h743zi2 machine models: DEV_ID 0x450, REV_ID 0x2003 = rev V (ref devices.md §1.1). */
#define TAP_FOUND  "tap/device found: 0x6ba00477"
#define IDCODE_OUT "0x5c001000: 20030450"
#define FIXTURE    "h743-clean"
#define IMAGE_MAX  4096u

static char g_dir[64];
static char g_build[PATH_MAX - 32];
static ft_proc *g_emu, *g_openocd;
static unsigned g_bitbang; /* the bridge's port */

static void setup(void)
{
	g_emu = g_openocd = NULL;
	g_bitbang = 0;
	emu_harness_setup("openocd", g_dir, sizeof(g_dir), g_build, sizeof(g_build));
}

static void teardown(void)
{
	ft_proc_stop(g_openocd, STOP_MS, NULL, NULL);
	ft_proc_stop(g_emu, STOP_MS, NULL, NULL);
	g_emu = g_openocd = NULL;
	emu_harness_cleanup(g_dir);
}

/* Starts flashtwin-emu --remote-bitbang 127.0.0.1:0 on a fresh state; the bridge's port in
 * g_bitbang. */
static bool start_emu(void)
{
	const char *const extra[] = {"--remote-bitbang", "127.0.0.1:0", NULL};
	return emu_harness_start(g_build, g_dir, "nucleo-h743zi2", extra, "emu",
	                         ", remote_bitbang at 127.0.0.1:", START_MS, &g_emu, &g_bitbang) &&
	       g_bitbang != 0;
}

/* OpenOCD's command line: the adapter on the bridge, the H7 target, then cmds. */
static void openocd_argv(const char **argv, char *adapter, size_t cap, const char *cmds)
{
	snprintf(adapter, cap,
	         "adapter driver remote_bitbang; remote_bitbang host 127.0.0.1; "
	         "remote_bitbang port %u; transport select jtag",
	         g_bitbang);
	const char *const args[] = {OPENOCD, "-c", adapter, "-f", "target/stm32h7x.cfg",
	                            "-c",    cmds, NULL};
	memcpy(argv, args, sizeof(args));
}

/* Runs OpenOCD to the end of cmds; its output (stdout and stderr) in *res. */
static bool run_openocd(const char *cmds, ft_proc_result *res)
{
	char adapter[256];
	const char *argv[8];
	openocd_argv(argv, adapter, sizeof(adapter), cmds);
	ft_diag diag;
	if (ft_proc_run(argv, NULL, TOOL_MS, res, &diag) != FT_OK) {
		fprintf(stderr, "\nopenocd: %s\n", diag.message);
		return false;
	}
	if (res->exit_status != 0)
		fprintf(stderr, "\nopenocd: exit %d\n%s\n%s\n", res->exit_status,
		        res->out ? res->out : "", res->err ? res->err : "");
	return res->exit_status == 0;
}

static bool run_flashtwin(const char *const *args, const char *expect)
{
	char flashtwin[PATH_MAX];
	snprintf(flashtwin, sizeof(flashtwin), "%s/flashtwin", g_build);
	const char *argv[8] = {flashtwin};
	for (size_t i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	ft_proc_result res;
	ft_diag diag;
	if (ft_proc_run(argv, NULL, TOOL_MS, &res, &diag) != FT_OK) {
		fprintf(stderr, "\nflashtwin: %s\n", diag.message);
		return false;
	}
	bool ok = res.exit_status == 0 && res.out && strstr(res.out, expect);
	if (!ok)
		fprintf(stderr, "\nflashtwin %s: exit %d, expected \"%s\"\n%s\n%s\n", args[0],
		        res.exit_status, expect, res.out ? res.out : "", res.err ? res.err : "");
	ft_proc_result_free(&res);
	return ok;
}

static unsigned free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* OpenOCD in the background with its GDB server on a free port; the port, or 0. */
static unsigned start_openocd_gdb_server(void)
{
	unsigned port = free_port();
	char adapter[256], cmds[128], log[128], line[256];
	snprintf(cmds, sizeof(cmds), "gdb_port %u; tcl_port disabled; telnet_port disabled", port);
	snprintf(log, sizeof(log), "%s/openocd.log", g_dir);
	const char *argv[8];
	openocd_argv(argv, adapter, sizeof(adapter), cmds);
	ft_diag diag;
	if (port == 0 || ft_proc_spawn(argv, log, log, &g_openocd, &diag) != FT_OK ||
	    ft_proc_wait_line(g_openocd, "for gdb connections", START_MS, line, sizeof(line),
	                      &diag) != FT_OK) {
		fprintf(stderr, "\nopenocd: %s\n", port ? diag.message : "no free port");
		return 0;
	}
	return port;
}

/* Stops the emulator (the state is written out) and compares the flash's first bytes, from the
 * board's state file, with the fixture's binary form. */
static void assert_flash_holds_fixture(void)
{
	CU_ASSERT_EQUAL(ft_proc_stop(g_emu, STOP_MS, NULL, NULL), FT_OK);
	g_emu = NULL;
	char path[PATH_MAX];
	static uint8_t want[IMAGE_MAX], got[IMAGE_MAX];
	snprintf(path, sizeof(path), "%s/fixtures/" FIXTURE ".bin", g_build);
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(want, 1, sizeof(want), f) : 0;
	if (f)
		fclose(f);
	CU_ASSERT_TRUE(n > 0 && n < sizeof(want));
	snprintf(path, sizeof(path), "%s/state/flash.bin", g_dir);
	f = fopen(path, "rb");
	size_t m = f ? fread(got, 1, n, f) : 0;
	if (f)
		fclose(f);
	FT_ASSERT_HEX(m, n);
	FT_ASSERT_BYTES(got, want, n);
}

static void test_openocd_scans_the_chain_and_reads_dbgmcu_idcode(void)
{
	if (!start_emu()) {
		CU_FAIL("flashtwin-emu --remote-bitbang did not start");
		return;
	}
	ft_proc_result res;
	bool ok = run_openocd("gdb_port disabled; tcl_port disabled; telnet_port disabled; init; "
	                      "halt; echo \"[mdw 0x5C001000]\"; shutdown",
	                      &res);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_PTR_NOT_NULL(res.err ? strstr(res.err, TAP_FOUND) : NULL);
	CU_ASSERT_PTR_NOT_NULL(res.err ? strstr(res.err, "Cortex-M7 r1p2 processor detected")
	                               : NULL);
	CU_ASSERT_PTR_NOT_NULL(res.err ? strstr(res.err, IDCODE_OUT) : NULL);
	ft_proc_result_free(&res);
}

static void test_flashtwin_programs_through_openocd_gdb_server(void)
{
	unsigned port = start_emu() ? start_openocd_gdb_server() : 0;
	if (port == 0) {
		CU_FAIL("flashtwin-emu --remote-bitbang or openocd did not start");
		return;
	}
	char url[64], image[PATH_MAX];
	snprintf(url, sizeof(url), "gdb://127.0.0.1:%u", port);
	snprintf(image, sizeof(image), "%s/fixtures/" FIXTURE ".elf", g_build);
	CU_ASSERT_TRUE(
	    run_flashtwin((const char *[]){"info", "-c", url, NULL},
	                  "STM32H743xI (id 0x450), identified: DBGMCU_IDCODE 0x20030450"));
	CU_ASSERT_TRUE(run_flashtwin((const char *[]){"flash", image, "-c", url, NULL}, "flashed"));
	CU_ASSERT_TRUE(run_flashtwin((const char *[]){"ob", "-c", url, NULL},
	                             "FLASH_OPTSR_CUR at 0x5200201C"));
	ft_proc_stop(g_openocd, STOP_MS, NULL, NULL);
	g_openocd = NULL;
	assert_flash_holds_fixture();
}

static void test_openocd_flash_driver_runs_its_algorithm_on_the_core(void)
{
	if (!start_emu()) {
		CU_FAIL("flashtwin-emu --remote-bitbang did not start");
		return;
	}
	char cmds[2 * sizeof(g_build) + 256];
	snprintf(cmds, sizeof(cmds),
	         "gdb_port disabled; tcl_port disabled; telnet_port disabled; init; halt; "
	         "flash write_image erase %s/fixtures/" FIXTURE ".elf; "
	         "echo \"[verify_image %s/fixtures/" FIXTURE ".elf]\"; shutdown",
	         g_build, g_build);
	ft_proc_result res;
	CU_ASSERT_TRUE(run_openocd(cmds, &res));
	CU_ASSERT_PTR_NOT_NULL(res.err ? strstr(res.err, "verified 280 bytes") : NULL);
	CU_ASSERT_PTR_NULL(res.err ? strstr(res.err, "Error") : "no output");
	ft_proc_result_free(&res);
	assert_flash_holds_fixture();
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_openocd_scans_the_chain_and_reads_dbgmcu_idcode",
	     test_openocd_scans_the_chain_and_reads_dbgmcu_idcode},
	    {"test_flashtwin_programs_through_openocd_gdb_server",
	     test_flashtwin_programs_through_openocd_gdb_server},
	    {"test_openocd_flash_driver_runs_its_algorithm_on_the_core",
	     test_openocd_flash_driver_runs_its_algorithm_on_the_core},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"openocd", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
