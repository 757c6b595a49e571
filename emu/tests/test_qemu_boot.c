/* What start-up code sees on the QEMU machines before main: the RCC ready and switch-status bits
 * that follow their controls, the PWR supply and voltage-scaling flags, the identification
 * registers, and the vector table the core boots from for each BOOT0 level. Driven over QEMU's
 * qtest protocol (the core stands still; the test reads and writes the bus).
 * RCC: RM0433 §8.7; PWR: RM0433 §6.8, RM0455 §6.8; IDs: devices.md §1.1-§1.5. */
#include "emu/board_runtime.h"
#include "emu/qemu_run.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RCC_CR         0x58024400u
#define RCC_CFGR       0x58024410u
#define RCC_CSR        0x58024474u
#define CR_HSION       (1u << 0)
#define CR_HSIRDY      (1u << 2)
#define CR_HSEON       (1u << 16)
#define CR_HSERDY      (1u << 17)
#define CR_HSEBYP      (1u << 18)
#define CR_PLL1ON      (1u << 24)
#define CR_PLL1RDY     (1u << 25)
#define CR_PLL3ON      (1u << 28)
#define CR_PLL3RDY     (1u << 29)
#define CFGR_SWS(v)    ((v) << 3)
#define PWR_CSR1       0x58024804u
#define PWR_CR3        0x5802480Cu
#define PWR_D3CR       0x58024818u
#define CSR1_ACTVOSRDY (1u << 13)
#define CSR1_ACTVOS(v) ((v) << 14)
#define CR3_BYPASS     (1u << 0)
#define CR3_LDOEN      (1u << 1)
#define CR3_SCUEN      (1u << 2) /* H74x; SMPSEN on H7Ax */
#define D3CR_VOSRDY    (1u << 13)
#define D3CR_VOS(v)    ((v) << 14)
#define DBGMCU_IDCODE  0x5C001000u
#define H74X_UID       0x1FF1E800u
#define H74X_FLASHSIZE 0x1FF1E880u
#define H7AX_UID       0x08FFF800u
#define H7AX_FLASHSIZE 0x08FFF80Cu
#define SCB_VTOR       0xE000ED08u

static char g_dir[64];
static ft_qemu *q;
static ft_diag diag;

static void setup(void)
{
	ft_diag_clear(&diag);
	q = NULL;
	emu_harness_make_dir("qemu-boot", g_dir, sizeof(g_dir));
}

static void teardown(void)
{
	ft_qemu_free(q);
	emu_harness_cleanup(g_dir);
}

/* Starts machine on a fresh state with the given BOOT0 level (-1: the board's). */
static void start(const char *machine, int boot0)
{
	char state[128];
	snprintf(state, sizeof(state), "%s/state", g_dir);
	ft_qemu_config cfg = {
	    .machine = machine, .state_dir = state, .boot0 = boot0, .mode = FT_QEMU_QTEST};
	ft_error err = ft_qemu_start(&cfg, &q, &diag);
	if (err != FT_OK)
		fprintf(stderr, "  qemu: %s: %s\n", diag.origin, diag.message);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
}

static uint32_t rd(uint32_t addr)
{
	uint32_t v = 0xDEADBEEFu;
	CU_ASSERT_EQUAL_FATAL(ft_qemu_readl(q, addr, &v, &diag), FT_OK);
	return v;
}

static void wr(uint32_t addr, uint32_t value)
{
	CU_ASSERT_EQUAL_FATAL(ft_qemu_writel(q, addr, value, &diag), FT_OK);
}

static void test_hsi_runs_and_is_ready_after_reset(void)
{
	start("nucleo-h743zi2", 0);
	FT_ASSERT_HEX(rd(RCC_CR) & (CR_HSION | CR_HSIRDY), CR_HSION | CR_HSIRDY);
	FT_ASSERT_HEX(rd(RCC_CR) & (CR_HSERDY | CR_PLL1RDY), 0);
}

static void test_hse_bypass_becomes_ready_when_switched_on(void)
{
	start("nucleo-h743zi2", 0);
	wr(RCC_CR, rd(RCC_CR) | CR_HSEBYP);
	FT_ASSERT_HEX(rd(RCC_CR) & CR_HSERDY, 0);
	wr(RCC_CR, rd(RCC_CR) | CR_HSEON);
	FT_ASSERT_HEX(rd(RCC_CR) & (CR_HSEBYP | CR_HSERDY), CR_HSEBYP | CR_HSERDY);
	wr(RCC_CR, rd(RCC_CR) & ~CR_HSEON);
	FT_ASSERT_HEX(rd(RCC_CR) & CR_HSERDY, 0);
}

static void test_each_pll_locks_when_switched_on(void)
{
	start("nucleo-h723zg", 0);
	wr(RCC_CR, rd(RCC_CR) | CR_PLL1ON);
	FT_ASSERT_HEX(rd(RCC_CR) & (CR_PLL1RDY | CR_PLL3RDY), CR_PLL1RDY);
	wr(RCC_CR, rd(RCC_CR) | CR_PLL3ON);
	FT_ASSERT_HEX(rd(RCC_CR) & CR_PLL3RDY, CR_PLL3RDY);
}

static void test_clock_switch_status_follows_the_switch(void)
{
	start("nucleo-h7a3zi-q", 0);
	FT_ASSERT_HEX(rd(RCC_CFGR) & CFGR_SWS(7u), CFGR_SWS(0u));
	wr(RCC_CFGR, 3); /* SW = PLL1 */
	FT_ASSERT_HEX(rd(RCC_CFGR) & CFGR_SWS(7u), CFGR_SWS(3u));
}

static void test_lsi_ready_follows_lsion(void)
{
	start("nucleo-h743zi2", 0);
	wr(RCC_CSR, 1);
	FT_ASSERT_HEX(rd(RCC_CSR) & 3u, 3u);
}

static void test_voltage_scaling_is_ready_and_reported_active(void)
{
	start("nucleo-h743zi2", 0);
	wr(PWR_D3CR, D3CR_VOS(3u));
	FT_ASSERT_HEX(rd(PWR_D3CR) & (D3CR_VOS(3u) | D3CR_VOSRDY), D3CR_VOS(3u) | D3CR_VOSRDY);
	FT_ASSERT_HEX(rd(PWR_CSR1) & (CSR1_ACTVOS(3u) | CSR1_ACTVOSRDY),
	              CSR1_ACTVOS(3u) | CSR1_ACTVOSRDY);
}

/* H74x: SCUEN is set after power-on; the first write of the supply configuration clears it and
 * later writes cannot change LDOEN/BYPASS (HAL_PWREx_ConfigSupply's lock test). */
static void test_ldo_supply_configuration_is_written_once(void)
{
	start("nucleo-h743zi2", 0);
	FT_ASSERT_HEX(rd(PWR_CR3) & 7u, CR3_SCUEN | CR3_LDOEN);
	wr(PWR_CR3, CR3_LDOEN);
	FT_ASSERT_HEX(rd(PWR_CR3) & 7u, CR3_LDOEN);
	wr(PWR_CR3, CR3_BYPASS);
	FT_ASSERT_HEX(rd(PWR_CR3) & 7u, CR3_LDOEN);
}

/* H7Ax SMPS parts: SMPSEN|LDOEN after power-on means "not configured"; direct SMPS then locks. */
static void test_smps_supply_configuration_is_written_once(void)
{
	start("nucleo-h7a3zi-q", 0);
	FT_ASSERT_HEX(rd(PWR_CR3) & 7u, CR3_SCUEN | CR3_LDOEN);
	wr(PWR_CR3, CR3_SCUEN);
	FT_ASSERT_HEX(rd(PWR_CR3) & 7u, CR3_SCUEN);
	FT_ASSERT_HEX(rd(PWR_CSR1) & CSR1_ACTVOSRDY, CSR1_ACTVOSRDY);
	wr(PWR_CR3, CR3_LDOEN);
	FT_ASSERT_HEX(rd(PWR_CR3) & 7u, CR3_SCUEN);
}

static void test_idcode_carries_the_board_revision(void)
{
	start("nucleo-h743zi2", 0);
	FT_ASSERT_HEX(rd(DBGMCU_IDCODE), 0x20030450u); /* rev V 0x2003, DEV_ID 0x450 */
}

static void test_h74x_flash_size_and_uid_sit_in_system_memory(void)
{
	start("nucleo-h743zi2", 0);
	uint32_t uid[3];
	ft_board_runtime_derive_uid("nucleo-h743zi2", uid);
	FT_ASSERT_HEX(rd(H74X_FLASHSIZE) & 0xFFFFu, 2048);
	FT_ASSERT_HEX(rd(H74X_UID), uid[0]);
	FT_ASSERT_HEX(rd(H74X_UID + 8), uid[2]);
}

static void test_h7ax_flash_size_and_uid_sit_above_the_otp_area(void)
{
	start("nucleo-h7a3zi-q", 0);
	uint32_t uid[3];
	ft_board_runtime_derive_uid("nucleo-h7a3zi-q", uid);
	FT_ASSERT_HEX(rd(H7AX_FLASHSIZE) & 0xFFFFu, 2048);
	FT_ASSERT_HEX(rd(H7AX_UID + 4), uid[1]);
	FT_ASSERT_HEX(rd(DBGMCU_IDCODE) & 0xFFFu, 0x480);
}

/* Factory option bytes: BOOT_ADD0 0x0800 (user flash), BOOT_ADD1 0x1FF0 (system memory). */
static void test_boot0_low_boots_user_flash(void)
{
	start("nucleo-h723zg", 0);
	FT_ASSERT_HEX(rd(SCB_VTOR), 0x08000000u);
}

static void test_boot0_high_boots_system_memory(void)
{
	start("nucleo-h743zi2", 1);
	FT_ASSERT_HEX(rd(SCB_VTOR), 0x1FF00000u);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_hsi_runs_and_is_ready_after_reset", test_hsi_runs_and_is_ready_after_reset},
	    {"test_hse_bypass_becomes_ready_when_switched_on",
	     test_hse_bypass_becomes_ready_when_switched_on},
	    {"test_each_pll_locks_when_switched_on", test_each_pll_locks_when_switched_on},
	    {"test_clock_switch_status_follows_the_switch",
	     test_clock_switch_status_follows_the_switch},
	    {"test_lsi_ready_follows_lsion", test_lsi_ready_follows_lsion},
	    {"test_voltage_scaling_is_ready_and_reported_active",
	     test_voltage_scaling_is_ready_and_reported_active},
	    {"test_ldo_supply_configuration_is_written_once",
	     test_ldo_supply_configuration_is_written_once},
	    {"test_smps_supply_configuration_is_written_once",
	     test_smps_supply_configuration_is_written_once},
	    {"test_idcode_carries_the_board_revision", test_idcode_carries_the_board_revision},
	    {"test_h74x_flash_size_and_uid_sit_in_system_memory",
	     test_h74x_flash_size_and_uid_sit_in_system_memory},
	    {"test_h7ax_flash_size_and_uid_sit_above_the_otp_area",
	     test_h7ax_flash_size_and_uid_sit_above_the_otp_area},
	    {"test_boot0_low_boots_user_flash", test_boot0_low_boots_user_flash},
	    {"test_boot0_high_boots_system_memory", test_boot0_high_boots_system_memory},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_boot", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
