/* flash_h7: reset values, keys, the write buffer and the program operation on an H743xI, driven
 * as HAL firmware and as broken firmware drive it. */
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

static bool store(uint32_t addr, uint32_t value)
{
	bool fault = true;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, addr, &value, 4, &fault), FT_OK);
	return fault;
}

static void test_reset_values_follow_the_manual(void)
{
	FT_ASSERT_HEX(rd(&f, R_ACR), 0x37); /* LATENCY 7, WRHIGHFREQ 3 */
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31); /* LOCK, PSIZE x64 */
	FT_ASSERT_HEX(rd(&f, R_CR2), 0x31);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0x1); /* OPTLOCK */
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD0);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_PRG), 0x0006AAD0);
	FT_ASSERT_HEX(rd(&f, R_BOOT_CUR), 0x1FF00800);
	FT_ASSERT_HEX(rd(&f, R_WPSN_CUR1), 0xFF);
	FT_ASSERT_HEX(rd(&f, R_WPSN_CUR2), 0xFF);
	FT_ASSERT_HEX(rd(&f, R_PRAR_CUR1), 0xFF);
	FT_ASSERT_HEX(rd(&f, R_SCAR_CUR1), 0x800000FF);
	FT_ASSERT_HEX(rd(&f, R_KEYR1), 0);        /* write-only */
	FT_ASSERT_HEX(rd(&f, R_BOOT4_CUR), 0);    /* reserved on single-core parts */
	FT_ASSERT_HEX(rd(&f, 0x100), 0x37);       /* ACR mirror in the bank-2 block */
	FT_ASSERT_HEX(rd(&f, 0x11C), 0x0006AAD0); /* OPTSR_CUR mirror */
	CU_ASSERT_STRING_EQUAL(ft_flash_h7_reg_name(f.fl, R_CR2), "CR2");
	CU_ASSERT_STRING_EQUAL(ft_flash_h7_reg_name(f.fl, R_ECC_FA1), "ECC_FA1");
	CU_ASSERT_PTR_NULL(ft_flash_h7_reg_name(f.fl, 0x064));
	uint32_t v;
	FT_ASSERT_HEX(ft_flash_h7_reg_read(f.fl, 0x002, &v), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_flash_h7_reg_write(f.fl, 0x1000, 0), FT_ERR_RANGE);
}

static void test_key_sequence_unlocks_cr(void)
{
	wr(&f, R_KEYR1, KEY1);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	wr(&f, R_KEYR1, KEY2);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x30);
	FT_ASSERT_HEX(rd(&f, R_CR2), 0x31); /* bank 2 has its own key register */
}

static void test_wrong_key_locks_until_reset(void)
{
	wr(&f, R_KEYR1, KEY1);
	wr(&f, R_KEYR1, 0x12345678);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	wr(&f, R_CR1, CR_PG); /* ignored while locked */
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	ft_flash_h7_reset(f.fl);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x30);
}

static void test_unlock_while_unlocked_locks_until_reset(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_KEYR1, KEY1);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	ft_flash_h7_reset(f.fl);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x30);
}

static void test_lock_bit_relocks_and_keeps_other_bits(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_CR1, CR_PSIZE_X64 | CR_PG);
	wr(&f, R_CR1, CR_LOCK); /* other bits do not change when LOCK goes to 1 */
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x33);
	unlock_bank(&f, 0); /* LOCK=1 by software is not a frozen lock */
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x32);
}

static void test_bank2_key_is_independent(void)
{
	wr(&f, R_KEYR2, 0xBAD);
	unlock_bank(&f, 1);
	FT_ASSERT_HEX(rd(&f, R_CR2), 0x31);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x30);
}

static void test_hal_program_keeps_qw_for_100us_then_writes_the_word(void)
{
	uint8_t data[32];
	fill_pattern(data, sizeof(data), 0x10);
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store_words(&f, BANK1 + 0x40, data, 28);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WBNE);
	store_words(&f, BANK1 + 0x40 + 28, data + 28, 4);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	uint8_t erased[32];
	memset(erased, 0xFF, sizeof(erased));
	FT_ASSERT_BYTES(f.array + 0x40, erased, 32);
	ft_clock_advance(f.clock, 100 * US - 1); /* DS12110 x64 t_prog typ 100 us */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	FT_ASSERT_BYTES(f.array + 0x40, data, 32);
	FT_ASSERT_HEX(f.ecc[2], FT_FLASH_H7_WORD_PROGRAMMED);
	wr(&f, R_CR1, rd(&f, R_CR1) & ~CR_PG);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x30);
}

static void test_psize_x8_programs_in_290us(void)
{
	uint8_t data[32] = {1, 2, 3};
	unlock_bank(&f, 0);
	wr(&f, R_CR1, CR_PG); /* PSIZE x8 */
	store_words(&f, BANK1, data, 32);
	ft_clock_advance(f.clock, 290 * US - 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
}

static void test_write_without_pg_sets_pgserr_without_fault(void)
{
	unlock_bank(&f, 0);
	CU_ASSERT_FALSE(store(BANK1, 0x11223344));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_PGSERR);
	FT_ASSERT_HEX(f.array[0], 0xFF);
}

static void test_locked_controller_cannot_program(void)
{
	wr(&f, R_CR1, CR_PG);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	store(BANK1, 0);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_PGSERR);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0], 0xFF);
}

static void test_same_byte_twice_sets_strberr_and_empties_buffer(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store(BANK1 + 4, 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WBNE);
	uint8_t b = 0x55;
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1 + 6, &b, 1, &fault), FT_OK);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_STRBERR);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[4], 0xFF);
}

static void test_other_flash_word_before_completion_sets_incerr(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store(BANK1, 1);
	store(BANK1 + 32, 2);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_INCERR);
	store(BANK1 + 64, 3); /* INCERR not cleared: sequence error */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_INCERR | SR_PGSERR);
	wr(&f, R_CCR1, SR_INCERR | SR_PGSERR);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
	store(BANK1 + 64, 3);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WBNE);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0], 0xFF);
	FT_ASSERT_HEX(f.array[32], 0xFF);
}

static void test_clearing_pg_discards_a_partial_word(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store(BANK1, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) & ~CR_PG);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0], 0xFF);
	FT_ASSERT_HEX(f.ecc[0], FT_FLASH_H7_WORD_ERASED);
}

static void test_force_write_programs_a_partial_word_with_ones(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store(BANK1 + 0x20, 0x04030201);
	store(BANK1 + 0x24, 0x08070605);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_FW);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x32); /* FW resets once acknowledged */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	wait_idle(&f);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	uint8_t expect[32];
	memset(expect, 0xFF, sizeof(expect));
	for (unsigned i = 0; i < 8; i++)
		expect[i] = (uint8_t)(i + 1);
	FT_ASSERT_BYTES(f.array + 0x20, expect, 32);
	FT_ASSERT_HEX(f.ecc[1], FT_FLASH_H7_WORD_PROGRAMMED);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_FW); /* an empty buffer: nothing starts */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
}

static void test_ccr_clears_only_the_bits_written_one(void)
{
	uint8_t data[32] = {0};
	unlock_bank(&f, 0);
	hal_program(&f, BANK1, data);
	store(BANK1, 0); /* PG cleared by hal_program */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_PGSERR);
	wr(&f, R_CCR1, SR_PGSERR);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	FT_ASSERT_HEX(rd(&f, R_CCR1), 0);
	wr(&f, R_CCR1, SR_EOP);
	FT_ASSERT_HEX(rd(&f, R_SR1), 0);
}

static void test_busy_bank_stalls_reads_other_bank_does_not(void)
{
	uint8_t data[32] = {0x5A};
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store_words(&f, BANK1, data, 32);
	uint8_t buf[4];
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, BANK1 + 0x1000, buf, 4, &fault), FT_ERR_BUSY);
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, BANK2, buf, 4, &fault), FT_OK);
	FT_ASSERT_HEX(buf[0], 0xFF);
	FT_ASSERT_HEX(ft_flash_h7_next_event_ns(f.fl), 100 * US);
	wait_idle(&f);
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, BANK1, buf, 4, &fault), FT_OK);
	FT_ASSERT_HEX(buf[0], 0x5A);
	FT_ASSERT_HEX(ft_flash_h7_next_event_ns(f.fl), UINT64_MAX);
}

static void test_full_queue_stalls_the_next_store(void)
{
	uint8_t data[96];
	fill_pattern(data, sizeof(data), 3);
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store_words(&f, BANK1, data, 64); /* one word executing, one waiting */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1 + 64, data + 64, 4, &fault), FT_ERR_BUSY);
	ft_clock_advance(f.clock, 100 * US);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY | SR_EOP);
	store_words(&f, BANK1 + 64, data + 64, 32);
	wait_idle(&f);
	FT_ASSERT_HEX(ft_clock_now_ns(f.clock), 300 * US);
	FT_ASSERT_BYTES(f.array, data, 96);
}

static void test_force_write_and_start_together_need_two_free_slots(void)
{
	uint8_t data[32] = {0};
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	store_words(&f, BANK1, data, 32); /* one slot taken */
	store_words(&f, BANK1 + 32, data, 4);
	uint32_t both = rd(&f, R_CR1) | CR_FW | CR_SER | CR_SNB(3) | CR_START;
	FT_ASSERT_HEX(ft_flash_h7_reg_write(f.fl, R_CR1, both), FT_ERR_BUSY);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY | SR_WBNE);
	ft_clock_advance(f.clock, 100 * US);
	wr(&f, R_CR1, both);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[32], 0);
	FT_ASSERT_HEX(f.ecc[0x60000 / 32], FT_FLASH_H7_WORD_ERASED);
}

static void test_instant_clock_completes_before_the_next_access(void)
{
	fx_open(&f, &geo_h743xi, false, FT_CLOCK_INSTANT);
	uint8_t data[32];
	fill_pattern(data, sizeof(data), 9);
	unlock_bank(&f, 1);
	wr(&f, R_CR2, rd(&f, R_CR2) | CR_PG);
	store_words(&f, BANK2 + 0x100, data, 32);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP);
	FT_ASSERT_BYTES(f.array + 0x100000 + 0x100, data, 32);
}

static void test_bulk_write_programs_whole_words(void)
{
	fx_open(&f, &geo_h743xi, false, FT_CLOCK_INSTANT);
	uint8_t data[1000];
	fill_pattern(data, sizeof(data), 1);
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	size_t done = 0;
	bool fault = true;
	FT_ASSERT_HEX(
	    ft_flash_h7_bus_write_bulk(f.fl, BANK1 + 0x200, data, sizeof(data), &done, &fault),
	    FT_OK);
	FT_ASSERT_HEX(done, sizeof(data));
	FT_ASSERT_HEX(fault, false);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_WBNE); /* 1000 = 31 words + 8 bytes pending */
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_FW);
	uint8_t back[1000];
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, BANK1 + 0x200, back, sizeof(back), &fault), FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	FT_ASSERT_HEX(f.array[0x200 + 1000], 0xFF);
}

static void test_bulk_write_stops_where_the_queue_is_full(void)
{
	uint8_t data[128] = {0};
	unlock_bank(&f, 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_PG);
	size_t done = 0;
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_write_bulk(f.fl, BANK1, data, sizeof(data), &done, &fault),
	              FT_ERR_BUSY);
	FT_ASSERT_HEX(done, 64);
}

static void test_bad_stores_are_refused(void)
{
	uint8_t b[8] = {0};
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1, b, 3, &fault), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1 + 28, b, 8, &fault), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1 + 24, b, 8, &fault), FT_OK);
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, BANK1 + 30, b, 4, &fault), FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, 0x08200000, b, 4, &fault), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, 0x081FFFFC, b, 8, &fault), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, 0x080FFFFC, b, 8, &fault), FT_OK);
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, 0x08FFF000, b, 2, &fault), FT_ERR_RANGE);
}

static CU_TestInfo tests[] = {
    {"reset_values_follow_the_manual", test_reset_values_follow_the_manual},
    {"key_sequence_unlocks_cr", test_key_sequence_unlocks_cr},
    {"wrong_key_locks_until_reset", test_wrong_key_locks_until_reset},
    {"unlock_while_unlocked_locks_until_reset", test_unlock_while_unlocked_locks_until_reset},
    {"lock_bit_relocks_and_keeps_other_bits", test_lock_bit_relocks_and_keeps_other_bits},
    {"bank2_key_is_independent", test_bank2_key_is_independent},
    {"hal_program_keeps_qw_for_100us_then_writes_the_word",
     test_hal_program_keeps_qw_for_100us_then_writes_the_word},
    {"psize_x8_programs_in_290us", test_psize_x8_programs_in_290us},
    {"write_without_pg_sets_pgserr_without_fault", test_write_without_pg_sets_pgserr_without_fault},
    {"locked_controller_cannot_program", test_locked_controller_cannot_program},
    {"same_byte_twice_sets_strberr_and_empties_buffer",
     test_same_byte_twice_sets_strberr_and_empties_buffer},
    {"other_flash_word_before_completion_sets_incerr",
     test_other_flash_word_before_completion_sets_incerr},
    {"clearing_pg_discards_a_partial_word", test_clearing_pg_discards_a_partial_word},
    {"force_write_programs_a_partial_word_with_ones",
     test_force_write_programs_a_partial_word_with_ones},
    {"ccr_clears_only_the_bits_written_one", test_ccr_clears_only_the_bits_written_one},
    {"busy_bank_stalls_reads_other_bank_does_not", test_busy_bank_stalls_reads_other_bank_does_not},
    {"full_queue_stalls_the_next_store", test_full_queue_stalls_the_next_store},
    {"force_write_and_start_together_need_two_free_slots",
     test_force_write_and_start_together_need_two_free_slots},
    {"instant_clock_completes_before_the_next_access",
     test_instant_clock_completes_before_the_next_access},
    {"bulk_write_programs_whole_words", test_bulk_write_programs_whole_words},
    {"bulk_write_stops_where_the_queue_is_full", test_bulk_write_stops_where_the_queue_is_full},
    {"bad_stores_are_refused", test_bad_stores_are_refused},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"flash_h7_program", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
