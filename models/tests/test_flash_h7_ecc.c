/* flash_h7: write-once flash words and their ECC: re-programming, completing a forced partial
 * word, SNECCERR/DBECCERR, ECC_FA and the bus fault of a double error. */
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

static void test_reprogramming_a_word_raises_dbeccerr_and_a_bus_fault(void)
{
	uint8_t first[32], second[32], back[64];
	fill_pattern(first, 32, 0x10);
	fill_pattern(second, 32, 0x20);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(hal_program(&f, BANK1 + 0x1000, first), SR_EOP);
	FT_ASSERT_HEX(hal_program(&f, BANK1 + 0x1000, second), SR_EOP); /* accepted without error */
	FT_ASSERT_HEX(f.ecc[0x1000 / 32], FT_FLASH_H7_WORD_DOUBLE_ERROR);
	for (unsigned i = 0; i < 32; i++)
		FT_ASSERT_HEX(f.array[0x1000 + i], first[i] & second[i]); /* NOR: 1 -> 0 only */
	memset(back, 0x77, sizeof(back));
	CU_ASSERT_TRUE(load(BANK1 + 0xFE0, back, 64)); /* the word before reads, then the fault */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x1000 / 32); /* flash-word index in the bank */
	FT_ASSERT_HEX(back[0], 0xFF);
	FT_ASSERT_HEX(back[32], 0); /* no data past the fault */
	FT_ASSERT_HEX(back[63], 0);
}

static void test_reprogramming_the_same_data_leaves_a_good_word(void)
{
	uint8_t data[32], back[32];
	fill_pattern(data, 32, 0x44);
	unlock_bank(&f, 0);
	hal_program(&f, BANK1, data);
	hal_program(&f, BANK1, data);
	CU_ASSERT_FALSE(load(BANK1, back, 32));
	FT_ASSERT_BYTES(back, data, 32);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
}

static void test_programming_zeros_over_a_word_leaves_a_good_word(void)
{
	uint8_t data[32], zeros[32] = {0}, back[32];
	fill_pattern(data, 32, 0x44);
	unlock_bank(&f, 0);
	hal_program(&f, BANK1, data);
	hal_program(&f, BANK1, zeros); /* "flash a non-null unit to all null" (devices.md §3.2) */
	CU_ASSERT_FALSE(load(BANK1, back, 32));
	FT_ASSERT_BYTES(back, zeros, 32);
	FT_ASSERT_HEX(f.ecc[0], FT_FLASH_H7_WORD_PROGRAMMED);
}

static void test_completing_a_forced_partial_word_corrupts_it(void)
{
	uint8_t head[8], tail[32], back[32];
	for (unsigned i = 0; i < 8; i++)
		head[i] = (uint8_t)(31 + i);
	memset(tail, 0xFF, sizeof(tail));
	for (unsigned i = 8; i < 32; i++)
		tail[i] = (uint8_t)(17 + i * 3);
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store_words(&f, BANK1 + 0x40, head, 8);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_FW); /* bytes 8..31 written as 1s */
	wait_idle(&f);
	CU_ASSERT_FALSE(load(BANK1 + 0x40, back, 32));
	FT_ASSERT_BYTES(back, head, 8);
	store_words(&f, BANK1 + 0x48, tail + 8, 24); /* the rest, later */
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_FW);
	wait_idle(&f);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	CU_ASSERT_TRUE(load(BANK1 + 0x48, back, 4));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 2);
}

static void test_single_error_is_corrected_and_sets_sneccerr(void)
{
	uint8_t first[32], second[32], back[32];
	memset(first, 0xFF, 32);
	memset(second, 0xFF, 32);
	first[0] = 0xFE;
	second[0] = 0xFB;
	unlock_bank(&f, 1);
	hal_program(&f, BANK2 + 0x200, first);
	hal_program(&f, BANK2 + 0x200, second);
	FT_ASSERT_HEX(f.ecc[(0x100000 + 0x200) / 32], FT_FLASH_H7_WORD_SINGLE_ERROR);
	CU_ASSERT_FALSE(load(BANK2 + 0x200, back, 32));
	FT_ASSERT_BYTES(back, second, 32); /* what the corrected read returns for these cells */
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP | SR_SNECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA2), 0x200 / 32);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
}

static void test_ecc_fa_keeps_the_first_error(void)
{
	FT_ASSERT_HEX(ft_flash_h7_inject_ecc_error(f.fl, BANK1 + 0x2000, false), FT_OK);
	FT_ASSERT_HEX(ft_flash_h7_inject_ecc_error(f.fl, BANK1 + 0x3000, true), FT_OK);
	uint8_t b[4];
	CU_ASSERT_FALSE(load(BANK1 + 0x2000, b, 4));
	FT_ASSERT_HEX(b[0], 0xFF);
	CU_ASSERT_TRUE(load(BANK1 + 0x3000, b, 4));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_SNECCERR | SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x2000 / 32);
}

static void test_ecc_fa_resets_when_no_ecc_flag_is_left(void)
{
	ft_flash_h7_inject_ecc_error(f.fl, BANK1 + 0x2000, false);
	ft_flash_h7_inject_ecc_error(f.fl, BANK1 + 0x3000, true);
	uint8_t b[4];
	load(BANK1 + 0x2000, b, 4);
	load(BANK1 + 0x3000, b, 4);
	wr(&f, R_CCR1, SR_SNECCERR);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x100); /* DBECCERR still set: kept */
	wr(&f, R_CCR1, SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0);
	load(BANK1 + 0x3000, b, 4);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x180);
}

static void test_clearing_other_flags_keeps_ecc_fa(void)
{
	ft_flash_h7_inject_ecc_error(f.fl, BANK1 + 0x40, true);
	uint8_t b[4];
	load(BANK1 + 0x40, b, 4);
	wr(&f, R_CCR1, SR_EOP | SR_PGSERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 2);
}

static void test_erase_clears_ecc_errors(void)
{
	uint8_t first[32], second[32], back[32];
	fill_pattern(first, 32, 0x10);
	fill_pattern(second, 32, 0x20);
	unlock_bank(&f, 0);
	hal_program(&f, BANK1, first);
	hal_program(&f, BANK1, second);
	hal_erase_sector_start(&f, 0, 0);
	wait_idle(&f);
	CU_ASSERT_FALSE(load(BANK1, back, 32));
	FT_ASSERT_HEX(back[0], 0xFF);
	FT_ASSERT_HEX(hal_program(&f, BANK1, first), SR_EOP);
	CU_ASSERT_FALSE(load(BANK1, back, 32));
	FT_ASSERT_BYTES(back, first, 32);
}

static void test_word_state_and_peek_report_without_side_effects(void)
{
	ft_flash_h7_inject_ecc_error(f.fl, BANK2 + 0x20, true);
	ft_flash_h7_word_state st = FT_FLASH_H7_WORD_ERASED;
	FT_ASSERT_HEX(ft_flash_h7_word_state_at(f.fl, BANK2 + 0x3F, &st), FT_OK);
	FT_ASSERT_HEX(st, FT_FLASH_H7_WORD_DOUBLE_ERROR);
	uint8_t b[2] = {0};
	FT_ASSERT_HEX(ft_flash_h7_peek(f.fl, BANK2 + 0x20, b, 2), FT_OK);
	FT_ASSERT_HEX(b[0], 0xFF);
	FT_ASSERT_HEX(rd(&f, R_SR2), 0);
	FT_ASSERT_HEX(ft_flash_h7_word_state_at(f.fl, 0x08200000, &st), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_flash_h7_inject_ecc_error(f.fl, 0x07FFFFFF, true), FT_ERR_RANGE);
}

static CU_TestInfo tests[] = {
    {"reprogramming_a_word_raises_dbeccerr_and_a_bus_fault",
     test_reprogramming_a_word_raises_dbeccerr_and_a_bus_fault},
    {"reprogramming_the_same_data_leaves_a_good_word",
     test_reprogramming_the_same_data_leaves_a_good_word},
    {"programming_zeros_over_a_word_leaves_a_good_word",
     test_programming_zeros_over_a_word_leaves_a_good_word},
    {"completing_a_forced_partial_word_corrupts_it",
     test_completing_a_forced_partial_word_corrupts_it},
    {"single_error_is_corrected_and_sets_sneccerr",
     test_single_error_is_corrected_and_sets_sneccerr},
    {"ecc_fa_keeps_the_first_error", test_ecc_fa_keeps_the_first_error},
    {"ecc_fa_resets_when_no_ecc_flag_is_left", test_ecc_fa_resets_when_no_ecc_flag_is_left},
    {"clearing_other_flags_keeps_ecc_fa", test_clearing_other_flags_keeps_ecc_fa},
    {"erase_clears_ecc_errors", test_erase_clears_ecc_errors},
    {"word_state_and_peek_report_without_side_effects",
     test_word_state_and_peek_report_without_side_effects},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"flash_h7_ecc", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
