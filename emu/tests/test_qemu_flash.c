/* The STM32H7 flash controller of the QEMU machines (emu/qemu, ft-h7-flash over models/flash_h7),
 * driven through its MMIO region over QEMU's qtest protocol as firmware drives it: the HAL
 * unlock, program, sector-erase and option-byte sequences, the flags a wrong access sets, the
 * operation time on the virtual clock, the FLASH interrupt and an ECC double error.
 *
 * Each test starts nucleo-h743zi2 (accel=qtest: the core stands still, the test is the bus
 * master) on a fresh state directory. Register offsets and bits: RM0433 §4.9, devices.md §2. */
#include "emu/qemu_run.h"
#include "emu/tests/emu_harness.h"
#include "models/tests/ft_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FLASH          0x52002000u
#define ACR            (FLASH + 0x00)
#define KEYR1          (FLASH + 0x04)
#define OPTKEYR        (FLASH + 0x08)
#define CR1            (FLASH + 0x0C)
#define SR1            (FLASH + 0x10)
#define CCR1           (FLASH + 0x14)
#define OPTCR          (FLASH + 0x18)
#define OPTSR_CUR      (FLASH + 0x1C)
#define OPTSR_PRG      (FLASH + 0x20)
#define BOOT_CUR       (FLASH + 0x40)
#define BOOT_PRG       (FLASH + 0x44)
#define ECC_FA1        (FLASH + 0x60)
#define KEYR2          (FLASH + 0x104)
#define CR2            (FLASH + 0x10C)
#define SR2            (FLASH + 0x110)
#define CR_LOCK        (1u << 0)
#define CR_PG          (1u << 1)
#define CR_SER         (1u << 2)
#define CR_PSIZE_X64   (3u << 4)
#define CR_START       (1u << 7)
#define CR_SNB(n)      ((uint32_t)(n) << 8)
#define CR_EOPIE       (1u << 16)
#define SR_WBNE        (1u << 1)
#define SR_QW          (1u << 2)
#define SR_EOP         (1u << 16)
#define SR_PGSERR      (1u << 18)
#define SR_DBECCERR    (1u << 26)
#define CCR_ALL        0x1FEF0000u
#define OPTCR_OPTLOCK  (1u << 0)
#define OPTCR_OPTSTART (1u << 1)
#define OPTSR_OPT_BUSY (1u << 0)
#define OPTSR_SWAP     (1u << 31) /* SWAP_BANK_OPT */
#define KEY1           0x45670123u
#define KEY2           0xCDEF89ABu
#define OPTKEY1        0x08192A3Bu
#define OPTKEY2        0x4C5D6E7Fu
#define BANK1          0x08000000u
#define BANK2          0x08100000u
#define SECTOR1        (BANK1 + 0x20000u)
#define NVIC_ISPR0     0xE000E200u
#define FLASH_IRQ      4 /* FLASH_IRQn */
#define SCB_AIRCR      0xE000ED0Cu
#define AIRCR_RESET    0x05FA0004u /* VECTKEY | SYSRESETREQ */
#define SCB_VTOR       0xE000ED08u
#define MS             1000000ull /* ns */

static char g_dir[64];
static ft_qemu *q;
static ft_diag diag;

static void setup(void)
{
	ft_diag_clear(&diag);
	q = NULL;
	emu_harness_make_dir("qemu-flash", g_dir, sizeof(g_dir));
	if (!g_dir[0])
		return;
	char state[128];
	snprintf(state, sizeof(state), "%s/state", g_dir);
	ft_qemu_config cfg = {
	    .machine = "nucleo-h743zi2", .state_dir = state, .boot0 = 0, .mode = FT_QEMU_QTEST};
	if (ft_qemu_start(&cfg, &q, &diag) != FT_OK)
		fprintf(stderr, "  qemu: %s: %s\n", diag.origin, diag.message);
}

static void teardown(void)
{
	ft_qemu_free(q);
	emu_harness_cleanup(g_dir);
}

/* Register access that fails the test when QEMU does not answer. */
static uint32_t rd(uint32_t addr)
{
	uint32_t v = 0xDEADBEEFu;
	CU_ASSERT_EQUAL_FATAL(q != NULL, 1);
	ft_error err = ft_qemu_readl(q, addr, &v, &diag);
	if (err != FT_OK)
		fprintf(stderr, "  readl 0x%08x: %s\n", addr, diag.message);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
	return v;
}

static void wr(uint32_t addr, uint32_t value)
{
	CU_ASSERT_EQUAL_FATAL(q != NULL, 1);
	ft_error err = ft_qemu_writel(q, addr, value, &diag);
	if (err != FT_OK)
		fprintf(stderr, "  writel 0x%08x: %s\n", addr, diag.message);
	CU_ASSERT_EQUAL_FATAL(err, FT_OK);
}

static void step(uint64_t ns)
{
	CU_ASSERT_EQUAL_FATAL(ft_qemu_clock_step(q, ns, &diag), FT_OK);
}

static void unlock_bank1(void)
{
	wr(KEYR1, KEY1);
	wr(KEYR1, KEY2);
}

/* HAL_FLASH_Program: PG, then the eight words of one flash word. */
static void program_word(uint32_t addr, uint32_t seed)
{
	wr(CR1, CR_PSIZE_X64 | CR_PG);
	for (uint32_t i = 0; i < 8; i++)
		wr(addr + 4 * i, seed + i);
}

/* FLASH_WaitForLastOperation: QW clears within limit_ms of virtual time. */
static void wait_queue(uint32_t sr, unsigned limit_ms)
{
	for (unsigned ms = 0; (rd(sr) & SR_QW) && ms < limit_ms; ms++)
		step(MS);
	FT_ASSERT_HEX(rd(sr) & SR_QW, 0);
}

static void test_flash_is_locked_after_reset(void)
{
	FT_ASSERT_HEX(rd(CR1) & CR_LOCK, CR_LOCK);
	FT_ASSERT_HEX(rd(CR2) & CR_LOCK, CR_LOCK);
	FT_ASSERT_HEX(rd(OPTCR) & OPTCR_OPTLOCK, OPTCR_OPTLOCK);
}

static void test_key_sequence_unlocks_only_its_bank(void)
{
	unlock_bank1();
	FT_ASSERT_HEX(rd(CR1) & CR_LOCK, 0);
	FT_ASSERT_HEX(rd(CR2) & CR_LOCK, CR_LOCK);
}

static void test_wrong_key_locks_bank_until_system_reset(void)
{
	wr(KEYR1, 0x12345678u);
	unlock_bank1();
	FT_ASSERT_HEX(rd(CR1) & CR_LOCK, CR_LOCK);
	wr(SCB_AIRCR, AIRCR_RESET);
	step(0);
	unlock_bank1();
	FT_ASSERT_HEX(rd(CR1) & CR_LOCK, 0);
}

static void test_acr_keeps_latency_for_hal_readback(void)
{
	wr(ACR, 0x24); /* LATENCY 4, WRHIGHFREQ 2 */
	FT_ASSERT_HEX(rd(ACR) & 0x3Fu, 0x24);
}

static void test_program_sequence_writes_one_flash_word(void)
{
	unlock_bank1();
	program_word(SECTOR1, 0x10203040u);
	wait_queue(SR1, 10);
	FT_ASSERT_HEX(rd(SR1) & SR_EOP, SR_EOP);
	wr(CR1, 0);
	for (uint32_t i = 0; i < 8; i++)
		FT_ASSERT_HEX(rd(SECTOR1 + 4 * i), 0x10203040u + i);
	FT_ASSERT_HEX(rd(SECTOR1 + 32), 0xFFFFFFFFu);
}

/* The word is queued when its last byte arrives; its programming takes time on the virtual
 * clock (DS12110: tens of microseconds), during which QW stays set and the old bytes read. */
static void test_programming_takes_virtual_time(void)
{
	unlock_bank1();
	wr(CR1, CR_PSIZE_X64 | CR_PG);
	for (uint32_t i = 0; i < 7; i++)
		wr(SECTOR1 + 4 * i, i);
	FT_ASSERT_HEX(rd(SR1) & (SR_WBNE | SR_QW), SR_WBNE);
	wr(SECTOR1 + 28, 7);
	FT_ASSERT_HEX(rd(SR1) & SR_QW, SR_QW);
	FT_ASSERT_HEX(rd(SECTOR1), 0xFFFFFFFFu);
	step(MS);
	FT_ASSERT_HEX(rd(SR1) & (SR_QW | SR_EOP), SR_EOP);
	FT_ASSERT_HEX(rd(SECTOR1 + 28), 7);
}

static void test_store_without_pg_sets_pgserr_and_programs_nothing(void)
{
	unlock_bank1();
	wr(SECTOR1, 0);
	FT_ASSERT_HEX(rd(SR1) & SR_PGSERR, SR_PGSERR);
	step(MS);
	FT_ASSERT_HEX(rd(SECTOR1), 0xFFFFFFFFu);
	wr(CCR1, CCR_ALL);
	FT_ASSERT_HEX(rd(SR1) & SR_PGSERR, 0);
}

static void test_sector_erase_sequence_erases_only_its_sector(void)
{
	unlock_bank1();
	program_word(SECTOR1, 0);
	wait_queue(SR1, 10);
	program_word(SECTOR1 + 0x20000u, 0); /* sector 2 */
	wait_queue(SR1, 10);
	wr(CR1, CR_PSIZE_X64 | CR_SER | CR_SNB(1));
	wr(CR1, CR_PSIZE_X64 | CR_SER | CR_SNB(1) | CR_START);
	wait_queue(SR1, 5000); /* sector erase: up to 4 s (DS12110 [U]) */
	FT_ASSERT_HEX(rd(SR1) & SR_EOP, SR_EOP);
	FT_ASSERT_HEX(rd(SECTOR1), 0xFFFFFFFFu);
	FT_ASSERT_HEX(rd(SECTOR1 + 0x20000u), 0);
}

static void test_bank2_has_its_own_keys_and_queue(void)
{
	wr(KEYR2, KEY1);
	wr(KEYR2, KEY2);
	wr(CR2, CR_PSIZE_X64 | CR_PG);
	for (uint32_t i = 0; i < 8; i++)
		wr(BANK2 + 4 * i, 0xB0000000u + i);
	wait_queue(SR2, 10);
	FT_ASSERT_HEX(rd(BANK2 + 28), 0xB0000007u);
	FT_ASSERT_HEX(rd(SR1) & SR_EOP, 0);
}

static void test_eop_raises_the_flash_interrupt_when_enabled(void)
{
	unlock_bank1();
	wr(CR1, CR_PSIZE_X64 | CR_PG | CR_EOPIE);
	for (uint32_t i = 0; i < 8; i++)
		wr(SECTOR1 + 4 * i, i);
	FT_ASSERT_HEX(rd(NVIC_ISPR0) & (1u << FLASH_IRQ), 0);
	step(MS); /* the completion comes from the device's timer, not from a register read */
	FT_ASSERT_HEX(rd(NVIC_ISPR0) & (1u << FLASH_IRQ), 1u << FLASH_IRQ);
}

/* A second program of a programmed word with other data leaves an uncorrectable ECC word:
 * reading it sets DBECCERR and records the word index in ECC_FA. */
static void test_reprogrammed_word_reads_with_ecc_double_error(void)
{
	unlock_bank1();
	program_word(SECTOR1, 0x11111111u);
	wait_queue(SR1, 10);
	program_word(SECTOR1, 0x22222222u);
	wait_queue(SR1, 10);
	FT_ASSERT_HEX(rd(SR1) & SR_DBECCERR, 0);
	(void)rd(SECTOR1);
	FT_ASSERT_HEX(rd(SR1) & SR_DBECCERR, SR_DBECCERR);
	FT_ASSERT_HEX(rd(ECC_FA1), 0x20000u / 32);
}

static void unlock_options(void)
{
	wr(OPTKEYR, OPTKEY1);
	wr(OPTKEYR, OPTKEY2);
	FT_ASSERT_HEX(rd(OPTCR) & OPTCR_OPTLOCK, 0);
}

static void wait_options(void)
{
	for (unsigned ms = 0; (rd(OPTSR_CUR) & OPTSR_OPT_BUSY) && ms < 2000; ms++)
		step(MS);
	FT_ASSERT_HEX(rd(OPTSR_CUR) & OPTSR_OPT_BUSY, 0);
}

/* HAL_FLASHEx_OBProgram(OPTIONBYTE_BOOTADD): BOOT_PRG, OPTSTART; BOOT_CUR shows the new value
 * when the change completes; the next system reset boots from BOOT_ADD0. */
static void test_boot_add0_option_byte_moves_the_vector_table_at_reset(void)
{
	FT_ASSERT_HEX(rd(SCB_VTOR), BANK1);
	unlock_options();
	wr(BOOT_PRG, 0x1FF02400u); /* BOOT_ADD1 0x1FF0, BOOT_ADD0 0x2400 */
	wr(OPTCR, OPTCR_OPTSTART);
	FT_ASSERT_HEX(rd(OPTSR_CUR) & OPTSR_OPT_BUSY, OPTSR_OPT_BUSY);
	wait_options();
	FT_ASSERT_HEX(rd(BOOT_CUR), 0x1FF02400u);
	FT_ASSERT_HEX(rd(SCB_VTOR), BANK1);
	wr(SCB_AIRCR, AIRCR_RESET);
	step(0);
	FT_ASSERT_HEX(rd(SCB_VTOR), 0x24000000u);
}

/* SWAP_BANK_OPT takes effect at the next reset: the physical bank 2 then answers at 0x08000000
 * and its registers are CR1/SR1 (RM0433 §4.3.13 [U]). */
static void test_bank_swap_exchanges_the_banks_at_reset(void)
{
	wr(KEYR2, KEY1);
	wr(KEYR2, KEY2);
	wr(CR2, CR_PSIZE_X64 | CR_PG);
	for (uint32_t i = 0; i < 8; i++)
		wr(BANK2 + 4 * i, 0xB2000000u + i);
	wait_queue(SR2, 10);
	unlock_options();
	wr(OPTSR_PRG, rd(OPTSR_PRG) | OPTSR_SWAP);
	wr(OPTCR, OPTCR_OPTSTART);
	wait_options();
	FT_ASSERT_HEX(rd(BANK1), 0xFFFFFFFFu);
	wr(SCB_AIRCR, AIRCR_RESET);
	step(0);
	FT_ASSERT_HEX(rd(BANK1), 0xB2000000u);
	FT_ASSERT_HEX(rd(BANK1 + 28), 0xB2000007u);
	FT_ASSERT_HEX(rd(BANK2), 0xFFFFFFFFu);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_flash_is_locked_after_reset", test_flash_is_locked_after_reset},
	    {"test_key_sequence_unlocks_only_its_bank", test_key_sequence_unlocks_only_its_bank},
	    {"test_wrong_key_locks_bank_until_system_reset",
	     test_wrong_key_locks_bank_until_system_reset},
	    {"test_acr_keeps_latency_for_hal_readback", test_acr_keeps_latency_for_hal_readback},
	    {"test_program_sequence_writes_one_flash_word",
	     test_program_sequence_writes_one_flash_word},
	    {"test_programming_takes_virtual_time", test_programming_takes_virtual_time},
	    {"test_store_without_pg_sets_pgserr_and_programs_nothing",
	     test_store_without_pg_sets_pgserr_and_programs_nothing},
	    {"test_sector_erase_sequence_erases_only_its_sector",
	     test_sector_erase_sequence_erases_only_its_sector},
	    {"test_bank2_has_its_own_keys_and_queue", test_bank2_has_its_own_keys_and_queue},
	    {"test_eop_raises_the_flash_interrupt_when_enabled",
	     test_eop_raises_the_flash_interrupt_when_enabled},
	    {"test_reprogrammed_word_reads_with_ecc_double_error",
	     test_reprogrammed_word_reads_with_ecc_double_error},
	    {"test_boot_add0_option_byte_moves_the_vector_table_at_reset",
	     test_boot_add0_option_byte_moves_the_vector_table_at_reset},
	    {"test_bank_swap_exchanges_the_banks_at_reset",
	     test_bank_swap_exchanges_the_banks_at_reset},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"qemu_flash", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
