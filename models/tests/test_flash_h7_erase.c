/* flash_h7: sector, bank and mass erase, their timing, write protection, a 1 MB xG part, and
 * operations cut short by a reset or an injected failure. */
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

static const uint8_t *word_data(void)
{
	static const uint8_t data[32] = {0xA5, 0x5A, 0x01, 0x02};
	return data;
}

static bool all_erased(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0xFF)
			return false;
	}
	return true;
}

static void test_sector_erase_takes_one_second_at_x64(void)
{
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 0x20000, word_data());
	hal_program(&f, BANK1 + 0x40000, word_data());
	uint64_t t0 = ft_clock_now_ns(f.clock);
	hal_erase_sector_start(&f, 0, 1);
	FT_ASSERT_HEX(rd(&f, R_CR1), CR_SER | CR_PSIZE_X64 | CR_SNB(1)); /* START reset */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 1000 * MS - 1); /* DS12110 t_ERASE128KB x64 typ 1 s */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	FT_ASSERT_HEX(f.array[0x20000], 0xA5);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	FT_ASSERT_HEX(ft_clock_now_ns(f.clock) - t0, 1000 * MS);
	CU_ASSERT(all_erased(f.array + 0x20000, 0x20000));
	FT_ASSERT_HEX(f.ecc[0x20000 / 32], FT_FLASH_H7_WORD_ERASED);
	FT_ASSERT_HEX(f.array[0x40000], 0xA5); /* sector 2 untouched */
	FT_ASSERT_HEX(f.ecc[0x40000 / 32], FT_FLASH_H7_WORD_PROGRAMMED);
}

static void test_sector_erase_at_x32_takes_1_1_seconds(void)
{
	unlock_bank(&f, 1);
	wr(&f, R_CR2, CR_SER | (2u << 4) | CR_SNB(7) | CR_START);
	ft_clock_advance(f.clock, 1100 * MS - 1);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP);
}

static void test_bank_erase_erases_one_bank_in_6_5_seconds(void)
{
	unlock_bank(&f, 0);
	unlock_bank(&f, 1);
	hal_program(&f, BANK1 + 0xE0000, word_data());
	hal_program(&f, BANK2, word_data());
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_BER | CR_START);
	ft_clock_advance(f.clock, 6500 * MS - 1); /* devices.md §3.3 x64 typ 6.5 s [U] */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	CU_ASSERT(all_erased(f.array, 0x100000));
	FT_ASSERT_HEX(f.array[0x100000], 0xA5);
}

static void test_mer_erases_both_banks(void)
{
	unlock_bank(&f, 0);
	unlock_bank(&f, 1);
	hal_program(&f, BANK1, word_data());
	hal_program(&f, BANK2 + 0xFFFE0, word_data());
	wr(&f, R_OPTCR, rd(&f, R_OPTCR) | OPTCR_MER); /* HAL FLASH_MassErase, both banks */
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_MER | OPTCR_OPTLOCK);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP | SR_QW | SR_BSY);
	wait_idle(&f);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	CU_ASSERT(all_erased(f.array, 0x200000));
}

static void test_mer_is_ignored_with_a_bank_locked(void)
{
	unlock_bank(&f, 0);
	hal_program(&f, BANK1, word_data());
	wr(&f, R_OPTCR, rd(&f, R_OPTCR) | OPTCR_MER);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_OPTLOCK);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0], 0xA5);
}

static void test_erase_of_locked_bank_does_nothing(void)
{
	hal_erase_sector_start(&f, 0, 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
}

static void test_erase_of_protected_sector_sets_wrperr(void)
{
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 0x40000, word_data());
	ob_program(&f, R_WPSN_PRG1, 0xFB); /* sector 2 protected (bit = 0) */
	FT_ASSERT_HEX(rd(&f, R_WPSN_CUR1), 0xFB);
	hal_erase_sector_start(&f, 0, 2);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_WRPERR);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0x40000], 0xA5);
	wr(&f, R_CCR1, SR_ALL_FLAGS);
	hal_erase_sector_start(&f, 0, 3);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
}

static void test_bank_erase_with_a_protected_sector_sets_wrperr(void)
{
	unlock_bank(&f, 1);
	hal_program(&f, BANK2, word_data());
	ob_program(&f, R_WPSN_PRG1 + 0x100, 0x7F); /* WPSN_PRG2: bank 2 sector 7 */
	wr(&f, R_CR2, rd(&f, R_CR2) | CR_BER | CR_START);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP | SR_WRPERR);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0x100000], 0xA5);
}

static void test_program_into_protected_sector_sets_wrperr(void)
{
	ob_program(&f, R_WPSN_PRG1, 0xFE);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(hal_program(&f, BANK1, word_data()), SR_WRPERR);
	FT_ASSERT_HEX(f.array[0], 0xFF);
	FT_ASSERT_HEX(hal_program(&f, BANK1 + 0x20000, word_data()), SR_WRPERR | SR_EOP);
	FT_ASSERT_HEX(f.array[0x20000], 0xA5);
}

static void test_xg_part_has_bank2_at_0x08100000(void)
{
	fx_open(&f, &geo_h743xg, false, FT_CLOCK_INSTANT);
	unlock_bank(&f, 1);
	FT_ASSERT_HEX(hal_program(&f, BANK2 + 0x60000, word_data()), SR_EOP);
	FT_ASSERT_HEX(f.array[0x80000 + 0x60000], 0xA5); /* bank 2 follows 512 KB of bank 1 */
	uint8_t b[4];
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, 0x08080000, b, 4, &fault), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, 0x08180000, b, 4, &fault), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, 0x0817FFFC, b, 4, &fault), FT_OK);
	wr(&f, R_CR2, CR_SER | CR_PSIZE_X64 | CR_SNB(4) | CR_START); /* no sector 4 on xG */
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP | SR_PGSERR);
	wr(&f, R_CCR2, SR_ALL_FLAGS);
	wr(&f, R_CR2, CR_SER | CR_PSIZE_X64 | CR_SNB(3) | CR_START);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP);
	CU_ASSERT(all_erased(f.array + 0x80000, 0x80000));
}

static void test_xg_bank_erase_time_scales_with_bank_size(void)
{
	fx_open(&f, &geo_h743xg, false, FT_CLOCK_MANUAL);
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_BER | CR_START);
	FT_ASSERT_HEX(ft_flash_h7_next_event_ns(f.fl), 3250 * MS);
}

static void test_reset_during_erase_leaves_the_sector_unreadable(void)
{
	unlock_bank(&f, 0);
	hal_erase_sector_start(&f, 0, 0);
	ft_clock_advance(f.clock, 500 * MS);
	ft_flash_h7_reset(f.fl);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	FT_ASSERT_HEX(f.ecc[0], FT_FLASH_H7_WORD_DOUBLE_ERROR);
	FT_ASSERT_HEX(f.ecc[0x20000 / 32 - 1], FT_FLASH_H7_WORD_DOUBLE_ERROR);
	FT_ASSERT_HEX(f.ecc[0x20000 / 32], FT_FLASH_H7_WORD_ERASED);
	uint8_t b[4] = {1, 1, 1, 1};
	bool fault = false;
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, BANK1 + 0x100, b, 4, &fault), FT_OK);
	CU_ASSERT_TRUE(fault);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x100 / 32);
	FT_ASSERT_HEX(b[0], 0);
}

static void test_erase_completed_before_reset_is_kept(void)
{
	unlock_bank(&f, 0);
	hal_erase_sector_start(&f, 0, 0);
	ft_clock_advance(f.clock, 1000 * MS);
	ft_flash_h7_reset(f.fl);
	FT_ASSERT_HEX(f.ecc[0], FT_FLASH_H7_WORD_ERASED);
}

static void test_injected_failure_sets_operr_instead_of_eop(void)
{
	FT_ASSERT_HEX(ft_flash_h7_inject_operation_error(f.fl, 1), FT_OK);
	FT_ASSERT_HEX(ft_flash_h7_inject_operation_error(f.fl, 2), FT_ERR_RANGE);
	unlock_bank(&f, 1);
	FT_ASSERT_HEX(hal_program(&f, BANK2 + 0x40, word_data()), SR_OPERR);
	FT_ASSERT_HEX(f.ecc[(0x100000 + 0x40) / 32], FT_FLASH_H7_WORD_DOUBLE_ERROR);
	FT_ASSERT_HEX(hal_program(&f, BANK2 + 0x60, word_data()), SR_OPERR | SR_EOP);
}

/* The query hosts budget with gives the datasheet figures the model runs on. */
static void test_duration_query_gives_the_times_the_model_takes(void)
{
	/* DS12110 Table 53 typical: x64 100 us per flash word, 1 s per sector; x8 290 us, 2 s */
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_PROGRAM, 3), 100 * US);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_SECTOR_ERASE, 3),
	              1000 * MS);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_PROGRAM, 0), 290 * US);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_SECTOR_ERASE, 0),
	              2000 * MS);
	/* bank erase x64 6.5 s per MB, scaled by the bank size [U] */
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xg, FT_FLASH_H7_OP_BANK_ERASE, 3),
	              3250 * MS);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_OPTION_CHANGE, 3),
	              300 * MS);
	/* H7Ax has no PSIZE: placeholders 50 us per 128-bit word, 62.5 ms per 8 KB sector [U] */
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h7a3xi, FT_FLASH_H7_OP_SECTOR_ERASE, 0),
	              62500 * US);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h7a3xi, FT_FLASH_H7_OP_PROGRAM, 3), 50 * US);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_PROGRAM, 4), 0);
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(NULL, FT_FLASH_H7_OP_PROGRAM, 3), 0);
	const ft_flash_geometry none = {0};
	FT_ASSERT_HEX(ft_flash_h7_duration_ns(&none, FT_FLASH_H7_OP_PROGRAM, 3), 0);

	/* the model's own deadlines agree: an x16 erase and an x64 program */
	unlock_bank(&f, 0);
	uint64_t t0 = ft_clock_now_ns(f.clock);
	wr(&f, R_CR1, CR_SER | (1u << 4) | CR_SNB(2) | CR_START);
	FT_ASSERT_HEX(ft_flash_h7_next_event_ns(f.fl) - t0,
	              ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_SECTOR_ERASE, 1));
	wait_idle(&f);
	t0 = ft_clock_now_ns(f.clock);
	wr(&f, R_CCR1, SR_ALL_FLAGS);
	wr(&f, R_CR1, CR_PG | CR_PSIZE_X64);
	store_words(&f, BANK1, word_data(), 32);
	FT_ASSERT_HEX(ft_flash_h7_next_event_ns(f.fl) - t0,
	              ft_flash_h7_duration_ns(&geo_h743xi, FT_FLASH_H7_OP_PROGRAM, 3));
}

static CU_TestInfo tests[] = {
    {"sector_erase_takes_one_second_at_x64", test_sector_erase_takes_one_second_at_x64},
    {"sector_erase_at_x32_takes_1_1_seconds", test_sector_erase_at_x32_takes_1_1_seconds},
    {"bank_erase_erases_one_bank_in_6_5_seconds", test_bank_erase_erases_one_bank_in_6_5_seconds},
    {"mer_erases_both_banks", test_mer_erases_both_banks},
    {"mer_is_ignored_with_a_bank_locked", test_mer_is_ignored_with_a_bank_locked},
    {"erase_of_locked_bank_does_nothing", test_erase_of_locked_bank_does_nothing},
    {"erase_of_protected_sector_sets_wrperr", test_erase_of_protected_sector_sets_wrperr},
    {"bank_erase_with_a_protected_sector_sets_wrperr",
     test_bank_erase_with_a_protected_sector_sets_wrperr},
    {"program_into_protected_sector_sets_wrperr", test_program_into_protected_sector_sets_wrperr},
    {"xg_part_has_bank2_at_0x08100000", test_xg_part_has_bank2_at_0x08100000},
    {"xg_bank_erase_time_scales_with_bank_size", test_xg_bank_erase_time_scales_with_bank_size},
    {"reset_during_erase_leaves_the_sector_unreadable",
     test_reset_during_erase_leaves_the_sector_unreadable},
    {"erase_completed_before_reset_is_kept", test_erase_completed_before_reset_is_kept},
    {"injected_failure_sets_operr_instead_of_eop", test_injected_failure_sets_operr_instead_of_eop},
    {"duration_query_gives_the_times_the_model_takes",
     test_duration_query_gives_the_times_the_model_takes},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"flash_h7_erase", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
