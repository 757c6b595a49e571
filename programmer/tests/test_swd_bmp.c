/* The connect step against a scripted Black Magic Probe (programmer/tests/gdb_script.h): its
 * replies as blackmagic-debug's src/gdb_main.c and src/command.c give them. Before a target is
 * attached the probe answers '?' with "W00" and the target description with "E01";
 * `monitor swdp_scan` prints "Target voltage: ...", then "Available Targets:", "No. Att Driver"
 * and one line per target (or "SWD scan failed!"), as O packets; `vAttach;1` answers "T05".
 * Its qSupported offers PacketSize=400 (BUF_SIZE 1024), the memory map and the description, no
 * QStartNoAckMode (firmware 1.x), so the conversation stays in acknowledgement mode.
 *
 * Target values: DBGMCU_IDCODE 0x5C001000 (devices.md §1: DEV_ID 0x450, REV_ID 0x2003 rev V),
 * flash-size register 0x1FF1E880 (RM0433 §62.2: 0x0800 = 2048 KB), DHCSR 0xE000EDF0 with
 * C_DEBUGEN b0 and S_HALT b17 set (ARMv7-M ARM C1.6.2), FLASH_OPTSR_CUR 0x5200201C with RDP 0xAA
 * in 15:8 (RM0433 §4.9.9). */
#include "models/tests/ft_test.h"
#include "programmer/swd/swd.h"
#include "programmer/tests/gdb_script.h"

typedef struct fixture {
	gs_server server;
	bool started;
	ft_swd *swd;
	ft_diag diag;
} fixture;

static fixture *F;

static void setup_fixture(void)
{
	F = gs_fixture_new(sizeof(*F));
}

static void teardown_fixture(void)
{
	ft_swd_close(F->swd);
	gs_stop(&F->server, F->started);
	free(F);
	F = NULL;
}

#define QSUPPORTED "qSupported:swbreak+;hwbreak+;xmlRegisters=arm"
/* hex of "swdp_scan" */
#define QRCMD_SWDP_SCAN "qRcmd,737764705f7363616e"
/* hex of "Target voltage: 3.3V\n", "Available Targets:\n", "No. Att Driver\n" */
#define O_VOLTAGE "O54617267657420766f6c746167653a20332e33560a"
#define O_TABLE   "O417661696c61626c6520546172676574733a0a"
#define O_HEADER  "O4e6f2e20417474204472697665720a"
/* the probe before any target: description refused */
#define BMP_HANDSHAKE                                                                              \
	GS_IN(QSUPPORTED), GS_OUT("PacketSize=400;qXfer:memory-map:read+;qXfer:features:read+"),   \
	    GS_IN("qXfer:features:read:target.xml:0,3e0"), GS_OUT("E01")

static ft_error connect_script(const gs_step *steps, size_t count)
{
	gs_start(&F->server, steps, count);
	F->started = true;
	char url[64];
	gs_url(&F->server, url, sizeof(url));
	ft_swd_options o = {.gdb = {.timeout_ms = 1000}};
	ft_error err = ft_swd_open(url, &o, &F->swd, &F->diag);
	if (err == FT_OK)
		err = ft_swd_connect(F->swd, &F->diag);
	return err;
}

static void finish(void)
{
	ft_swd_close(F->swd);
	F->swd = NULL;
	F->started = false;
	const char *failure = gs_finish(&F->server);
	CU_ASSERT_PTR_NULL(failure);
	if (failure)
		fprintf(stderr, "\n  server: %s\n", failure);
}

static bool advice_contains(const char *part)
{
	for (size_t i = 0; i < ft_swd_advice_count(F->swd); i++) {
		if (strstr(ft_swd_advice_at(F->swd, i), part))
			return true;
	}
	return false;
}

static void test_bmp_is_scanned_and_attached_before_the_part_is_identified(void)
{
	static const gs_step script[] = {
	    BMP_HANDSHAKE,
	    GS_IN("?"),
	    GS_OUT("W00"),
	    GS_IN(QRCMD_SWDP_SCAN),
	    GS_OUT(O_VOLTAGE),
	    GS_OUT(O_TABLE),
	    GS_OUT(O_HEADER),
	    /* " 1      STM32H74x/5x M7\n" */
	    GS_OUT("O203120202020202053544d3332483734782f3578204d370a"),
	    GS_OUT("OK"),
	    GS_IN("vAttach;1"),
	    GS_OUT("T05"),
	    /* now the probe describes its Cortex-M target: xpsr right after pc */
	    GS_IN("qXfer:features:read:target.xml:0,3e0"),
	    GS_OUT("l<target><architecture>arm</architecture>"
	           "<feature name=\"org.gnu.gdb.arm.m-profile\">"
	           "<reg name=\"r0\" bitsize=\"32\"/><reg name=\"r1\" bitsize=\"32\"/>"
	           "<reg name=\"r2\" bitsize=\"32\"/><reg name=\"r3\" bitsize=\"32\"/>"
	           "<reg name=\"r4\" bitsize=\"32\"/><reg name=\"r5\" bitsize=\"32\"/>"
	           "<reg name=\"r6\" bitsize=\"32\"/><reg name=\"r7\" bitsize=\"32\"/>"
	           "<reg name=\"r8\" bitsize=\"32\"/><reg name=\"r9\" bitsize=\"32\"/>"
	           "<reg name=\"r10\" bitsize=\"32\"/><reg name=\"r11\" bitsize=\"32\"/>"
	           "<reg name=\"r12\" bitsize=\"32\"/><reg name=\"sp\" bitsize=\"32\"/>"
	           "<reg name=\"lr\" bitsize=\"32\"/><reg name=\"pc\" bitsize=\"32\"/>"
	           "<reg name=\"xpsr\" bitsize=\"32\"/></feature></target>"),
	    GS_IN("m5c001000,4"),
	    GS_OUT("50640320"),
	    GS_IN("m1ff1e880,2"),
	    GS_OUT("0008"),
	    GS_IN("me000edf0,4"),
	    GS_OUT("03000200"),
	    GS_IN("pf"),
	    GS_OUT("00000008"),
	    GS_IN("m5200201c,4"),
	    GS_OUT("f0aa0616"),
	};
	FT_ASSERT_HEX(connect_script(script, GS_COUNT(script)), FT_OK);
	const ft_swd_info *info = ft_swd_get_info(F->swd);
	FT_ASSERT_HEX(info->scanned, true);
	CU_ASSERT_STRING_EQUAL(info->part ? info->part->name : "", "STM32H743xI");
	FT_ASSERT_HEX(info->idcode, 0x20036450);
	FT_ASSERT_HEX(info->pc, 0x08000000);
	FT_ASSERT_HEX(info->rdp_level, 0);
	const ft_gdb_info *g = ft_swd_gdb_info(F->swd);
	FT_ASSERT_HEX(g->has_tdesc, true);
	FT_ASSERT_HEX(g->regnum[FT_GDB_XPSR], 16);
	finish();
}

static void test_bmp_scan_that_finds_nothing_is_not_found_with_the_probe_output(void)
{
	static const gs_step script[] = {
	    BMP_HANDSHAKE,
	    GS_IN("?"),
	    GS_OUT("W00"),
	    GS_IN(QRCMD_SWDP_SCAN),
	    /* "Target voltage: 0.0V\n", "SWD scan failed!\n", then firmware 1.x's bare "E" */
	    GS_OUT("O54617267657420766f6c746167653a20302e30560a"),
	    GS_OUT("O535744207363616e206661696c6564210a"),
	    GS_OUT("E"),
	};
	FT_ASSERT_HEX(connect_script(script, GS_COUNT(script)), FT_ERR_NOT_FOUND);
	gs_assert_contains(F->diag.message, "found no target");
	CU_ASSERT_TRUE(advice_contains("monitor swdp_scan: Target voltage: 0.0V"));
	CU_ASSERT_TRUE(advice_contains("monitor swdp_scan: SWD scan failed!"));
	CU_ASSERT_TRUE(advice_contains("tpwr enable"));
	FT_ASSERT_HEX(ft_swd_get_info(F->swd)->scanned, false);
	finish();
}

static void test_bmp_target_that_will_not_attach_is_not_found(void)
{
	static const gs_step script[] = {
	    BMP_HANDSHAKE,
	    GS_IN("?"),
	    GS_OUT("W00"),
	    GS_IN(QRCMD_SWDP_SCAN),
	    GS_OUT(O_VOLTAGE),
	    GS_OUT(O_TABLE),
	    GS_OUT(O_HEADER),
	    /* "***  1   Unknown ARM Cortex-M Designer 0x20 Part ID 0x450 M7\n": a core without a
	     * driver, listed but not attachable */
	    GS_OUT(
	        "O2a2a2a202031202020556e6b6e6f776e2041524d20436f727465782d4d2044657369676e65722030"
	        "7832302050617274204944203078343530204d370a"),
	    GS_OUT("OK"),
	    GS_IN("vAttach;1"),
	    GS_OUT("E01"),
	};
	FT_ASSERT_HEX(connect_script(script, GS_COUNT(script)), FT_ERR_NOT_FOUND);
	gs_assert_contains(F->diag.message, "could not attach target 1");
	CU_ASSERT_TRUE(advice_contains("Unknown ARM Cortex-M"));
	finish();
}

static void test_server_without_target_or_monitor_is_a_state_error(void)
{
	static const gs_step script[] = {
	    GS_IN(QSUPPORTED), GS_OUT("PacketSize=1000"), GS_IN("?"),
	    GS_OUT("W00"),     GS_IN(QRCMD_SWDP_SCAN),    GS_OUT(""),
	};
	FT_ASSERT_HEX(connect_script(script, GS_COUNT(script)), FT_ERR_STATE);
	gs_assert_contains(F->diag.message, "target gone (W00)");
	finish();
}

static CU_TestInfo tests[] = {
    {"bmp_is_scanned_and_attached_before_the_part_is_identified",
     test_bmp_is_scanned_and_attached_before_the_part_is_identified},
    {"bmp_scan_that_finds_nothing_is_not_found_with_the_probe_output",
     test_bmp_scan_that_finds_nothing_is_not_found_with_the_probe_output},
    {"bmp_target_that_will_not_attach_is_not_found",
     test_bmp_target_that_will_not_attach_is_not_found},
    {"server_without_target_or_monitor_is_a_state_error",
     test_server_without_target_or_monitor_is_a_state_error},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"swd_bmp", NULL, NULL, setup_fixture, teardown_fixture, tests};
	return ft_test_main(&suite, argc, argv);
}
