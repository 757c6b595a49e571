/* flash_h7: option bytes: OPTKEYR, *_PRG -> *_CUR on OPTSTART, OPT_BUSY, OPTCHANGEERR, RDP levels
 * and the level 1 -> 0 regression, PCROP and secure-only areas, BOOT addresses, bank swap, and
 * the persistent blob. */
#include "models/tests/flash_h7_steps.h"

static fixture f;

static void setup(void)
{
	fx_open(&f, &geo_h743xi, false, FT_CLOCK_MANUAL);
}

static void teardown(void)
{
	fx_close(&f);
}

static bool load(uint32_t addr, void *buf, size_t len)
{
	bool fault = false;
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, addr, buf, len, &fault), FT_OK);
	return fault;
}

static uint32_t with_rdp(uint8_t rdp)
{
	return (rd(&f, R_OPTSR_PRG) & ~OPTSR_RDP_MASK) | OPTSR_RDP(rdp);
}

static const uint8_t *marker(void)
{
	static const uint8_t data[32] = {0xC0, 0xDE, 0x12, 0x34};
	return data;
}

static void test_optkeyr_unlocks_and_a_wrong_key_locks_until_reset(void)
{
	unlock_options(&f);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0);
	wr(&f, R_OPTCR, OPTCR_OPTLOCK);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK);
	wr(&f, R_OPTKEYR, OPTKEY1);
	wr(&f, R_OPTKEYR, KEY2);
	unlock_options(&f);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK);
	ft_flash_h7_reset(f.fl);
	unlock_options(&f);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0);
	unlock_options(&f); /* a second unlock freezes the lock too */
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK);
}

static void test_prg_registers_ignore_writes_while_locked(void)
{
	wr(&f, R_BOOT_PRG, 0x12345678);
	FT_ASSERT_HEX(rd(&f, R_BOOT_PRG), 0x1FF00800);
	wr(&f, R_OPTCR, OPTCR_OPTSTART);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD0);
}

static void test_option_change_holds_registers_for_300ms_then_updates_cur(void)
{
	unlock_options(&f);
	wr(&f, R_BOOT_PRG, 0x1FF02401); /* BOOT_ADD0 0x2401: boot from 0x24010000 */
	wr(&f, R_OPTCR, OPTCR_OPTSTART);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTSTART);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD1); /* OPT_BUSY */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF00800);
	FT_ASSERT_HEX(ft_flash_h7_reg_write(f.fl, R_OPTCR, OPTCR_OPTLOCK), FT_ERR_BUSY);
	ft_clock_advance(f.clock, 300 * MS - 1);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD1);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD0);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF02401);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
	FT_ASSERT_HEX(ft_flash_h7_boot_address(f.fl, false, false), 0x24010000);
	FT_ASSERT_HEX(ft_flash_h7_boot_address(f.fl, true, false), 0x1FF00000);
	FT_ASSERT_HEX(f.ob[40], 0x01); /* the blob holds BOOT little-endian at offset 40 */
	FT_ASSERT_HEX(f.ob[41], 0x24);
}

static void test_any_rdp_byte_but_aa_and_cc_is_level_1(void)
{
	ft_flash_h7_options o;
	ft_flash_h7_get_options(f.fl, &o);
	FT_ASSERT_HEX(o.rdp_level, 0);
	FT_ASSERT_HEX(ob_program(&f, R_OPTSR_PRG, with_rdp(0xBB)), 0x0006BBD0);
	ft_flash_h7_get_options(f.fl, &o);
	FT_ASSERT_HEX(o.rdp, 0xBB);
	FT_ASSERT_HEX(o.rdp_level, 1);
	ob_program(&f, R_OPTSR_PRG, with_rdp(0x00));
	ft_flash_h7_get_options(f.fl, &o);
	FT_ASSERT_HEX(o.rdp_level, 1);
}

static void test_rdp_level1_shuts_a_debugger_out_of_user_flash(void)
{
	unlock_bank(&f, 0);
	hal_program(&f, BANK1, marker());
	ob_program(&f, R_OPTSR_PRG, with_rdp(0x55));
	uint8_t b[4];
	CU_ASSERT_FALSE(load(BANK1, b, 4)); /* code running from flash still reads it */
	FT_ASSERT_HEX(b[0], 0xC0);
	ft_flash_h7_set_intrusion(f.fl, true);
	CU_ASSERT_TRUE(load(BANK1, b, 4));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_RDPERR);
	bool fault = false;
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	uint32_t zero = 0;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1 + 0x20, &zero, 4, &fault), FT_OK);
	CU_ASSERT_TRUE(fault);
	hal_erase_sector_start(&f, 0, 0);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_RDPERR | SR_WRPERR);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0], 0xC0);
}

static void test_rdp_regression_mass_erases_user_flash(void)
{
	unlock_bank(&f, 0);
	unlock_bank(&f, 1);
	hal_program(&f, BANK1 + 0x40000, marker());
	hal_program(&f, BANK2 + 0xFFFE0, marker());
	ob_program(&f, R_OPTSR_PRG, with_rdp(0x55));
	uint64_t t0 = ft_clock_now_ns(f.clock);
	unlock_options(&f);
	wr(&f, R_OPTSR_PRG, with_rdp(0xAA));
	FT_ASSERT_HEX(ob_launch(&f), 0x0006AAD0);
	FT_ASSERT_HEX(ft_clock_now_ns(f.clock) - t0, 6800 * MS); /* 300 ms + bank erase [U] */
	FT_ASSERT_HEX(f.array[0x40000], 0xFF);
	FT_ASSERT_HEX(f.array[0x1FFFE0], 0xFF);
	FT_ASSERT_HEX(f.ecc[0x40000 / 32], FT_FLASH_H7_WORD_ERASED);
}

static void test_regression_keeps_pcrop_area_unless_dmep(void)
{
	unlock_bank(&f, 0);
	unlock_bank(&f, 1);
	hal_program(&f, BANK1 + 0x100, marker());
	hal_program(&f, BANK2 + 0x100, marker());
	hal_program(&f, BANK1 + 0x400, marker());
	unlock_options(&f);
	wr(&f, R_PRAR_PRG1, 0x00010000);         /* blocks 0..1 of bank 1, DMEP = 0 */
	wr(&f, R_PRAR_PRG1 + 0x100, 0x80010000); /* PRAR_PRG2: blocks 0..1, DMEP = 1 */
	wr(&f, R_OPTSR_PRG, with_rdp(0x55));
	FT_ASSERT_HEX(ob_launch(&f), 0x000655D0);
	FT_ASSERT_HEX(rd(&f, R_PRAR_CUR1), 0x00010000);
	wr(&f, R_OPTSR_PRG, with_rdp(0xAA));
	ob_launch(&f);
	FT_ASSERT_HEX(f.array[0x100], 0xC0);    /* kept: DMEP1 = 0 */
	FT_ASSERT_HEX(f.array[0x400], 0xFF);    /* outside the area: erased */
	FT_ASSERT_HEX(f.array[0x100100], 0xFF); /* DMEP2 = 1: erased */
}

static void test_pcrop_area_refuses_data_reads_programs_and_erases(void)
{
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 0x200, marker());
	ob_program(&f, R_PRAR_PRG1, 0x00030002); /* blocks 2..3: 0x200..0x3FF */
	uint8_t b[4];
	CU_ASSERT_TRUE(load(BANK1 + 0x3FC, b, 4));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_RDPERR);
	CU_ASSERT_FALSE(load(BANK1 + 0x400, b, 4));
	wr(&f, R_CCR1, SR_ALL_FLAGS);
	FT_ASSERT_HEX(hal_program(&f, BANK1 + 0x300, marker()), SR_WRPERR);
	hal_erase_sector_start(&f, 0, 0);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WRPERR);
	FT_ASSERT_HEX(f.array[0x200], 0xC0);
}

static void test_pcrop_area_cannot_be_removed_without_regression(void)
{
	ob_program(&f, R_PRAR_PRG1, 0x80030002);
	FT_ASSERT_HEX(ob_program(&f, R_PRAR_PRG1, 0x000000FF), 0x0006AAD0 | OPTSR_OPTCHANGEERR);
	FT_ASSERT_HEX(rd(&f, R_PRAR_CUR1), 0x80030002);
	wr(&f, R_OPTCCR, OPTCCR_CLR_OPTCHANGEERR);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD0);
}

static void test_secure_area_reads_set_rdserr_while_security_is_set(void)
{
	unlock_bank(&f, 1);
	hal_program(&f, BANK2 + 0x1000, marker());
	unlock_options(&f);
	wr(&f, R_SCAR_PRG1 + 0x100, 0x00110010); /* SCAR_PRG2: blocks 0x10..0x11 */
	wr(&f, R_OPTSR_PRG, rd(&f, R_OPTSR_PRG) | OPTSR_SECURITY);
	FT_ASSERT_HEX(ob_launch(&f), 0x0026AAD0);
	uint8_t b[4];
	CU_ASSERT_TRUE(load(BANK2 + 0x1000, b, 4));
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP | SR_RDSERR);
	ft_flash_h7_set_secure_access(f.fl, true);
	CU_ASSERT_FALSE(load(BANK2 + 0x1000, b, 4));
	FT_ASSERT_HEX(b[0], 0xC0);
}

static void test_rdp_level2_refuses_every_later_change(void)
{
	FT_ASSERT_HEX(ob_program(&f, R_OPTSR_PRG, with_rdp(0xCC)), 0x0006CCD0);
	unlock_options(&f);
	wr(&f, R_BOOT_PRG, 0x1FF02400);
	FT_ASSERT_HEX(ob_launch(&f), 0x0006CCD0 | OPTSR_OPTCHANGEERR);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF00800);
	wr(&f, R_OPTSR_PRG, with_rdp(0xAA));
	FT_ASSERT_HEX(ob_launch(&f), 0x0006CCD0 | OPTSR_OPTCHANGEERR);
}

static void test_option_change_with_a_busy_bank_sets_optchangeerr(void)
{
	unlock_bank(&f, 0);
	hal_erase_sector_start(&f, 0, 0);
	unlock_options(&f);
	wr(&f, R_BOOT_PRG, 0x1FF02400);
	wr(&f, R_OPTCR, OPTCR_OPTSTART);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD0 | OPTSR_OPTCHANGEERR);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0);
	wait_idle(&f);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF00800);
}

static void test_bank_swap_takes_effect_at_reset(void)
{
	unlock_bank(&f, 1);
	hal_program(&f, BANK2, marker());
	uint32_t optsr = ob_program(&f, R_OPTSR_PRG, rd(&f, R_OPTSR_PRG) | OPTSR_SWAP_BANK_OPT);
	FT_ASSERT_HEX(optsr, 0x8006AAD0);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK); /* not yet swapped */
	uint8_t b[4];
	load(BANK1, b, 4);
	FT_ASSERT_HEX(b[0], 0xFF);
	ft_flash_h7_reset(f.fl);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_SWAP_BANK | OPTCR_OPTLOCK);
	load(BANK1, b, 4);
	FT_ASSERT_HEX(b[0], 0xC0);
	load(BANK2, b, 4);
	FT_ASSERT_HEX(b[0], 0xFF);
	unlock_bank(&f, 0); /* CR1 drives the bank at 0x08000000: physical bank 2 */
	FT_ASSERT_HEX(hal_program(&f, BANK1 + 0x20, marker()), SR_EOP);
	FT_ASSERT_HEX(f.array[0x100020], 0xC0);
	FT_ASSERT_HEX(f.array[0x20], 0xFF);
	ft_flash_h7_options o;
	ft_flash_h7_get_options(f.fl, &o);
	CU_ASSERT_TRUE(o.banks_swapped);
	CU_ASSERT_TRUE(o.swap_bank_opt);
}

static void test_dual_core_part_has_boot7_and_boot4(void)
{
	fx_open(&f, &geo_h743xi, true, FT_CLOCK_INSTANT);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x03C6AAF0);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF00800); /* BOOT7 */
	FT_ASSERT_HEX(rd(&f, R_BOOT4_CUR), 0x1FF00810);
	unlock_options(&f);
	wr(&f, R_BOOT4_PRG, 0x1FF03000);
	wr(&f, R_OPTSR_PRG, rd(&f, R_OPTSR_PRG) & ~(1u << 22)); /* BCM4: no CM4 boot */
	FT_ASSERT_HEX(ob_launch(&f), 0x0386AAF0);
	FT_ASSERT_HEX(rd(&f, R_BOOT4_CUR), 0x1FF03000);
	FT_ASSERT_HEX(ft_flash_h7_boot_address(f.fl, false, true), 0x30000000);
	FT_ASSERT_HEX(ft_flash_h7_boot_address(f.fl, false, false), 0x08000000);
	ft_flash_h7_options o;
	ft_flash_h7_get_options(f.fl, &o);
	FT_ASSERT_HEX(o.boot4_add0, 0x3000);
	FT_ASSERT_HEX(o.boot_add1, 0x1FF0);
}

static void test_single_core_part_cannot_set_dual_core_bits(void)
{
	FT_ASSERT_HEX(ob_program(&f, R_OPTSR_PRG, rd(&f, R_OPTSR_PRG) | 0x03C00020), 0x0006AAD0);
	FT_ASSERT_HEX(rd(&f, R_BOOT4_PRG), 0);
}

static void test_state_persists_in_the_buffers(void)
{
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 0x60, marker());
	ob_program(&f, R_BOOT_PRG, 0x1FF02000);
	ft_flash_h7_free(f.fl);
	f.fl = NULL;
	ft_flash_h7_config cfg = {f.geo, f.clock, f.array, f.ecc, f.ob, false, false};
	ft_diag diag;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &f.fl, &diag), FT_OK);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF02000);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	uint8_t b[4];
	load(BANK1 + 0x60, b, 4);
	FT_ASSERT_HEX(b[0], 0xC0);
	ft_flash_h7 *other = NULL;
	f.ob[0] ^= 1;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &other, &diag), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "option bytes");
	f.ob[0] ^= 1;
	f.ecc[5] = 9;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &other, &diag), FT_ERR_FORMAT);
	CU_ASSERT_STRING_EQUAL(diag.origin, "ecc state");
	cfg.ecc_state = NULL;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &other, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(other);
}

static CU_TestInfo tests[] = {
    {"optkeyr_unlocks_and_a_wrong_key_locks_until_reset",
     test_optkeyr_unlocks_and_a_wrong_key_locks_until_reset},
    {"prg_registers_ignore_writes_while_locked", test_prg_registers_ignore_writes_while_locked},
    {"option_change_holds_registers_for_300ms_then_updates_cur",
     test_option_change_holds_registers_for_300ms_then_updates_cur},
    {"any_rdp_byte_but_aa_and_cc_is_level_1", test_any_rdp_byte_but_aa_and_cc_is_level_1},
    {"rdp_level1_shuts_a_debugger_out_of_user_flash",
     test_rdp_level1_shuts_a_debugger_out_of_user_flash},
    {"rdp_regression_mass_erases_user_flash", test_rdp_regression_mass_erases_user_flash},
    {"regression_keeps_pcrop_area_unless_dmep", test_regression_keeps_pcrop_area_unless_dmep},
    {"pcrop_area_refuses_data_reads_programs_and_erases",
     test_pcrop_area_refuses_data_reads_programs_and_erases},
    {"pcrop_area_cannot_be_removed_without_regression",
     test_pcrop_area_cannot_be_removed_without_regression},
    {"secure_area_reads_set_rdserr_while_security_is_set",
     test_secure_area_reads_set_rdserr_while_security_is_set},
    {"rdp_level2_refuses_every_later_change", test_rdp_level2_refuses_every_later_change},
    {"option_change_with_a_busy_bank_sets_optchangeerr",
     test_option_change_with_a_busy_bank_sets_optchangeerr},
    {"bank_swap_takes_effect_at_reset", test_bank_swap_takes_effect_at_reset},
    {"dual_core_part_has_boot7_and_boot4", test_dual_core_part_has_boot7_and_boot4},
    {"single_core_part_cannot_set_dual_core_bits", test_single_core_part_cannot_set_dual_core_bits},
    {"state_persists_in_the_buffers", test_state_persists_in_the_buffers},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"flash_h7_options", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
