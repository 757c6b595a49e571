/* Debian's pyOCD 0.13, unmodified, against an emulated NUCLEO-H743ZI2: flashtwin-emu --cmsis-dap
 * exports a CMSIS-DAP v1 probe on the board's debug port over USB/IP; a guest of Debian's kernel
 * (the lab, ci/lab/vm.sh) attaches it, and the guest's script (ci/lab/pyocd.sh) runs this
 * machine's pyocd-gdbserver -l and pyocd-tool read32 of DBGMCU_IDCODE through it. This machine's
 * kernel has no USB support; the guest's has.
 *
 * Binaries: build/<tree>/flashtwin-emu beside this program's tests/ directory; pyOCD from the
 * python3-pyocd package (ci/packages.txt). The guest's files land in BUILD/lab/pyocd/; the test
 * runs from the top of the source tree. Every wait is bounded; every socket is on 127.0.0.1. */
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_MS 30000u /* ASan start-up and a new state */
#define STOP_MS  10000u
#define GUEST_MS 450000u /* vm.sh bounds the guest itself at 420 s */
/* The DBGMCU_IDCODE the nucleo-h743zi2 machine models: DEV_ID 0x450, REV_ID 0x2003 (rev V, ref
 * devices.md §1.1), as pyocd-tool prints a word. */
#define IDCODE_OUT "5c001000:  20030450"

static char g_dir[64];
static char g_build[PATH_MAX - 32];
static char g_out[PATH_MAX];
static ft_proc *g_emu;

static void setup(void)
{
	g_emu = NULL;
	emu_harness_setup("pyocd", g_dir, sizeof(g_dir), g_build, sizeof(g_build));
	snprintf(g_out, sizeof(g_out), "%s/lab", g_build);
	mkdir(g_out, 0755);
	snprintf(g_out, sizeof(g_out), "%s/lab/pyocd", g_build);
	mkdir(g_out, 0755);
}

static void teardown(void)
{
	ft_proc_stop(g_emu, STOP_MS, NULL, NULL);
	g_emu = NULL;
	emu_harness_cleanup(g_dir);
}

/* Starts flashtwin-emu --cmsis-dap 127.0.0.1:0 on a fresh state; returns its USB/IP port, or 0. */
static unsigned start_emu(void)
{
	const char *const extra[] = {"--cmsis-dap", "127.0.0.1:0", NULL};
	unsigned port = 0;
	return emu_harness_start(g_build, g_dir, "nucleo-h743zi2", extra, "emu",
	                         ", CMSIS-DAP at usbip://127.0.0.1:", START_MS, &g_emu, &port)
	           ? port
	           : 0;
}

static char *slurp(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static const size_t max = 1 << 20;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Whether the file name in dir holds text. */
static bool file_has(const char *dir, const char *name, const char *text)
{
	char *s = slurp(dir, name);
	bool found = s && strstr(s, text);
	if (!found)
		fprintf(stderr, "\n%s/%s lacks \"%s\":\n%s\n", dir, name, text, s ? s : "(none)");
	free(s);
	return found;
}

static void test_pyocd_lists_the_probe_and_reads_dbgmcu_idcode(void)
{
	unsigned port = start_emu();
	CU_ASSERT_FATAL(port != 0);
	char port_arg[8];
	snprintf(port_arg, sizeof(port_arg), "%u", port);
	const char *const argv[] = {"ci/lab/vm.sh", port_arg, "ci/lab/pyocd.sh", g_out, NULL};
	ft_proc_result res;
	ft_diag diag;
	CU_ASSERT_FATAL(ft_proc_run(argv, NULL, GUEST_MS, &res, &diag) == FT_OK);
	if (res.exit_status != 0)
		fprintf(stderr, "\nvm.sh: exit %d\n%s\n", res.exit_status, res.err ? res.err : "");
	FT_ASSERT_HEX(res.exit_status, 0);
	ft_proc_result_free(&res);
	/* pyOCD names a probe by its USB strings: "VENDOR PRODUCT | serial" */
	CU_ASSERT(file_has(g_out, "list.log", "flashtwin flashtwin CMSIS-DAP | nucleo-h743zi2"));
	CU_ASSERT(file_has(g_out, "read32.log", IDCODE_OUT));
	CU_ASSERT_EQUAL(ft_proc_stop(g_emu, STOP_MS, NULL, NULL), FT_OK);
	g_emu = NULL;
	/* the probe refused no command of pyOCD's */
	char *err = slurp(g_dir, "emu.err");
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_PTR_NULL(strstr(err, "CMSIS-DAP command refused"));
	free(err);
}

static CU_TestInfo tests[] = {
    {"pyocd_lists_the_probe_and_reads_dbgmcu_idcode",
     test_pyocd_lists_the_probe_and_reads_dbgmcu_idcode},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"pyocd", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
