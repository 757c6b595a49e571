/* flash_h7: the H7A3/B3/B0 layout (RM0455: SNB at bit 6, FW b4, START b5, 8 KB sectors, 16-byte
 * words, WPSGN groups, no OPERR, user OTP) and the single-bank H72x layout (RM0468: no bank-2
 * block, OPTSR2, no MER, no swap), plus geometry validation. */
#include "models/tests/flash_h7_steps.h"

/* RM0455 FLASH_CR (devices.md §2.3, OOCD stm32h7a_h7b_h7r_h7sxx_compute_flash_cr). */
#define A_CR_FW     (1u << 4)
#define A_CR_START  (1u << 5)
#define A_CR_SNB(n) ((uint32_t)(n) << 6)
#define OTP         0x08FFF000u

static fixture f;

static void setup(void)
{
	fx_open(&f, &geo_h7a3xi, false, FT_CLOCK_MANUAL);
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

static bool store16(uint32_t addr, uint16_t value)
{
	bool fault = true;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, addr, &value, 2, &fault), FT_OK);
	return fault;
}

static void test_h7a3_reset_values(void)
{
	FT_ASSERT_HEX(rd(&f, R_ACR), 0x13);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x1);
	FT_ASSERT_HEX(rd(&f, R_CR2), 0x1);
	FT_ASSERT_HEX(rd(&f, R_CRCCR1), 0x001C0000);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0x1);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0006AAD0);
	FT_ASSERT_HEX(rd(&f, R_WPSN_CUR1), 0xFFFFFFFF);
	FT_ASSERT_HEX(rd(&f, R_OTPBL_CUR), 0);
	FT_ASSERT_HEX(rd(&f, 0x100), 0x13);
	CU_ASSERT_STRING_EQUAL(ft_flash_h7_reg_name(f.fl, R_WPSN_PRG1), "WPSGN_PRG1");
}

static void test_h7a3_programs_16_byte_words(void)
{
	uint8_t data[16], back[16];
	fill_pattern(data, 16, 0x31);
	unlock_bank(&f, 0);
	wr(&f, R_CR1, CR_PG);
	store_words(&f, BANK1 + 0x30, data, 12);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WBNE);
	store_words(&f, BANK1 + 0x3C, data + 12, 4);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 50 * US); /* placeholder derived from DS12110 [U] */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	CU_ASSERT_FALSE(load(BANK1 + 0x30, back, 16));
	FT_ASSERT_BYTES(back, data, 16);
	FT_ASSERT_HEX(f.ecc[3], FT_FLASH_H7_WORD_PROGRAMMED);
	ft_flash_h7_inject_ecc_error(f.fl, BANK1 + 0x100, true);
	CU_ASSERT_TRUE(load(BANK1 + 0x100, back, 4));
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x10); /* 16-byte flash-word index */
}

static void test_h7a3_force_write_is_bit_4(void)
{
	unlock_bank(&f, 1);
	wr(&f, R_CR2, CR_PG);
	store_words(&f, BANK2, "\x01\x02\x03\x04", 4);
	wr(&f, R_CR2, CR_PG | A_CR_FW);
	FT_ASSERT_HEX(rd(&f, R_CR2), CR_PG);
	wait_idle(&f);
	FT_ASSERT_HEX(rd(&f, R_SR2), SR_EOP);
	FT_ASSERT_HEX(f.array[0x100000], 0x01);
	FT_ASSERT_HEX(f.array[0x100004], 0xFF);
}

static void test_h7a3_sector_erase_uses_snb_at_bit_6(void)
{
	uint8_t data[16] = {0x42};
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 0xA000, data);
	hal_program(&f, BANK1 + 0xC000, data);
	wr(&f, R_CR1, CR_SER | A_CR_SNB(5) | A_CR_START); /* HAL FLASH_Erase_Sector, no PSIZE */
	FT_ASSERT_HEX(rd(&f, R_CR1), CR_SER | A_CR_SNB(5));
	ft_clock_advance(f.clock, 62500 * US - 1); /* 8 KB sector, placeholder [U] */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	ft_clock_advance(f.clock, 1);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	FT_ASSERT_HEX(f.array[0xA000], 0xFF);
	FT_ASSERT_HEX(f.array[0xC000], 0x42); /* sector 6 untouched */
}

static void test_h74x_style_erase_hits_another_sector_on_h7a3(void)
{
	uint8_t data[16] = {0x42};
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 5 * 0x2000, data);
	hal_program(&f, BANK1 + 22 * 0x2000, data);
	/* SER | PSIZE x64 | SNB 5 << 8 | START b7: on RM0455 PSIZE is FW|START and SNB reads 22 */
	hal_erase_sector_start(&f, 0, 5);
	FT_ASSERT_HEX(rd(&f, R_CR1), CR_SER | A_CR_SNB(22));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_QW | SR_BSY);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[5 * 0x2000], 0x42);
	FT_ASSERT_HEX(f.array[22 * 0x2000], 0xFF);
}

static void test_h7a3_wpsgn_bit_protects_four_sectors(void)
{
	ob_program(&f, R_WPSN_PRG1, 0xFFFFFFFD); /* group 1: sectors 4..7 */
	unlock_bank(&f, 0);
	wr(&f, R_CR1, CR_SER | A_CR_SNB(7) | A_CR_START);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WRPERR);
	wr(&f, R_CCR1, SR_ALL_FLAGS);
	wr(&f, R_CR1, CR_SER | A_CR_SNB(8) | A_CR_START);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
}

static void test_h7a3_has_no_operr(void)
{
	ft_flash_h7_inject_operation_error(f.fl, 0);
	unlock_bank(&f, 0);
	uint8_t data[16] = {0};
	FT_ASSERT_HEX(hal_program(&f, BANK1, data), 0);
	FT_ASSERT_HEX(f.ecc[0], FT_FLASH_H7_WORD_DOUBLE_ERROR);
}

static void test_h7a3_otp_takes_16_bit_stores_with_pg_otp(void)
{
	store16(OTP, 0x1234);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_PGSERR);
	wr(&f, R_CCR1, SR_ALL_FLAGS);
	unlock_options(&f);
	wr(&f, R_OPTCR, OPTCR_PG_OTP); /* HAL_FLASH_Program(FLASH_TYPEPROGRAM_OTPWORD) */
	FT_ASSERT_HEX(rd(&f, R_OPTCR), OPTCR_PG_OTP);
	store16(OTP + 2, 0xBEEF);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_QW | SR_BSY);
	wait_idle(&f);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	uint16_t v = 0;
	CU_ASSERT_FALSE(load(OTP + 2, &v, 2));
	FT_ASSERT_HEX(v, 0xBEEF);
	CU_ASSERT_FALSE(load(OTP, &v, 2));
	FT_ASSERT_HEX(v, 0xFFFF);
	uint32_t word = 0;
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, OTP + 4, &word, 4, &fault), FT_ERR_INVALID_ARG);
	uint8_t byte = 0;
	FT_ASSERT_HEX(ft_flash_h7_bus_write(f.fl, OTP + 4, &byte, 1, &fault), FT_OK);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_PGSERR);
	FT_ASSERT_HEX(f.ob[64 + 2], 0xEF); /* OTP data lives in the option-byte blob */
	FT_ASSERT_HEX(f.ob[1088 + 1], FT_FLASH_H7_WORD_PROGRAMMED);
}

static void test_h7a3_otp_word_is_write_once(void)
{
	unlock_options(&f);
	wr(&f, R_OPTCR, OPTCR_PG_OTP);
	store16(OTP + 0x10, 0x1234);
	store16(OTP + 0x10, 0x5678);
	wait_idle(&f);
	uint16_t v;
	CU_ASSERT_TRUE(load(OTP + 0x10, &v, 2));
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP | SR_DBECCERR);
	FT_ASSERT_HEX(rd(&f, R_ECC_FA1), 0x80000008); /* OTP_FAIL_ECC + OTP word index */
}

static void test_h7a3_locked_otp_block_refuses_programs(void)
{
	FT_ASSERT_HEX(ob_program(&f, R_OTPBL_PRG, 0x0001), 0x0006AAD0);
	FT_ASSERT_HEX(rd(&f, R_OTPBL_CUR), 0x1);
	ob_program(&f, R_OTPBL_PRG, 0x0000); /* lock bits can only be set */
	FT_ASSERT_HEX(rd(&f, R_OTPBL_CUR), 0x1);
	unlock_options(&f);
	wr(&f, R_OPTCR, OPTCR_PG_OTP);
	store16(OTP + 62, 0x1111); /* word 31: block 0 */
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_WRPERR);
	store16(OTP + 64, 0x2222); /* word 32: block 1 */
	wait_idle(&f);
	FT_ASSERT_HEX(f.ob[64 + 62], 0xFF);
	FT_ASSERT_HEX(f.ob[64 + 64], 0x22);
}

static void test_h7a3_mer_erases_both_banks(void)
{
	uint8_t data[16] = {0x42};
	unlock_bank(&f, 0);
	unlock_bank(&f, 1);
	hal_program(&f, BANK1, data);
	hal_program(&f, BANK2 + 0xFFFF0, data);
	wr(&f, R_OPTCR, OPTCR_OPTLOCK | OPTCR_MER);
	wait_idle(&f);
	FT_ASSERT_HEX(f.array[0], 0xFF);
	FT_ASSERT_HEX(f.array[0x1FFFF0], 0xFF);
}

static void test_h723_has_no_bank2_block(void)
{
	fx_open(&f, &geo_h723xg, false, FT_CLOCK_INSTANT);
	FT_ASSERT_HEX(rd(&f, R_ACR), 0x37);
	FT_ASSERT_HEX(rd(&f, R_CR1), 0x31);
	FT_ASSERT_HEX(rd(&f, R_OPTSR_CUR), 0x0306AAD0);
	FT_ASSERT_HEX(rd(&f, 0x100), 0);
	FT_ASSERT_HEX(rd(&f, R_CR2), 0);
	wr(&f, R_KEYR2, KEY1);
	wr(&f, R_KEYR2, KEY2);
	wr(&f, R_CR2, CR_PG);
	FT_ASSERT_HEX(rd(&f, R_CR2), 0);
	FT_ASSERT_HEX(rd(&f, R_SR2), 0);
	CU_ASSERT_PTR_NULL(ft_flash_h7_reg_name(f.fl, R_CR2));
	uint8_t b[4];
	bool fault;
	FT_ASSERT_HEX(ft_flash_h7_bus_read(f.fl, BANK2, b, 4, &fault), FT_ERR_RANGE);
	unlock_bank(&f, 0);
	FT_ASSERT_HEX(hal_program(&f, BANK1 + 0xFFFE0, "0123456789abcdef0123456789abcdef"), SR_EOP);
	FT_ASSERT_HEX(f.array[0xFFFE0], '0');
}

static void test_h723_has_optsr2_and_no_mer_or_swap(void)
{
	fx_open(&f, &geo_h723xg, false, FT_CLOCK_INSTANT);
	FT_ASSERT_HEX(rd(&f, R_OPTSR2_CUR), 0);
	FT_ASSERT_HEX(ob_program(&f, R_OPTSR2_PRG, 0xFFFFFFFD), 0x0306AAD0);
	FT_ASSERT_HEX(rd(&f, R_OPTSR2_CUR), 0x5); /* TCM_AXI_SHARED b1:0, CPUFREQ_BOOST b2 */
	ft_flash_h7_options o;
	ft_flash_h7_get_options(f.fl, &o);
	FT_ASSERT_HEX(o.optsr2, 0x5);
	FT_ASSERT_HEX(ob_program(&f, R_OPTSR_PRG, rd(&f, R_OPTSR_PRG) | OPTSR_SWAP_BANK_OPT),
	              0x0306AAD0);
	unlock_bank(&f, 0);
	uint8_t data[32] = {7};
	hal_program(&f, BANK1, data);
	unlock_options(&f);
	wr(&f, R_OPTCR, OPTCR_MER);
	FT_ASSERT_HEX(rd(&f, R_OPTCR), 0);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_EOP);
	FT_ASSERT_HEX(f.array[0], 7);
	FT_ASSERT_HEX(rd(&f, R_OTPBL_CUR), 0); /* H7Ax only: reserved here */
}

static void test_geometries_that_are_no_h7_flash_are_refused(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_INSTANT);
	ft_flash_h7 *fl = NULL;
	ft_diag diag;
	ft_flash_geometry g = geo_h743xi;
	ft_flash_h7_config cfg = {&g, clock, NULL, NULL, NULL, true, false};
	g.layout = FT_FLASH_NONE;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_ERR_INVALID_ARG);
	g = geo_h743xi;
	g.word_size = 16;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_ERR_INVALID_ARG);
	g = geo_h743xi;
	g.sectors_per_bank = 9;
	g.bank_size = 9 * 0x20000;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_ERR_INVALID_ARG);
	g = geo_h743xi;
	g.bank_base[1] = 0x08080000;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_ERR_INVALID_ARG);
	g = geo_h723xg;
	g.banks = 2;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_ERR_INVALID_ARG);
	cfg.clock = NULL;
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(fl);
	FT_ASSERT_HEX(ft_flash_h7_array_size(&geo_h743xg), 0x100000);
	FT_ASSERT_HEX(ft_flash_h7_ecc_state_size(&geo_h7a3xi), 0x20000);
	FT_ASSERT_HEX(ft_flash_h7_option_bytes_size(), 1600);
	cfg = (ft_flash_h7_config){&geo_h743xg, clock, NULL, NULL, NULL, true, false};
	FT_ASSERT_HEX(ft_flash_h7_new(&cfg, &fl, &diag), FT_OK); /* model-owned buffers */
	ft_flash_h7_free(fl);
	ft_clock_free(clock);
}

/* Cross-check with the part table (through its public API only): every part with internal flash
 * describes a geometry this model accepts, with the option-byte defaults of its line. */
static void test_every_part_in_the_table_builds_a_model(void)
{
	ft_clock *clock = ft_clock_new(FT_CLOCK_INSTANT);
	unsigned built = 0;
	for (size_t i = 0; i < ft_part_count(); i++) {
		const ft_part *part = ft_part_at(i);
		if (part->flash.layout == FT_FLASH_NONE)
			continue;
		bool dual_core = part->family == FT_FAMILY_H74X_DUAL_CORE;
		ft_flash_h7_config cfg = {&part->flash, clock, NULL, NULL, NULL, true, dual_core};
		ft_flash_h7 *fl = NULL;
		ft_diag diag;
		ft_error err = ft_flash_h7_new(&cfg, &fl, &diag);
		CU_ASSERT_EQUAL_FATAL(err, FT_OK);
		uint32_t optsr = 0;
		ft_flash_h7_reg_read(fl, R_OPTSR_CUR, &optsr);
		FT_ASSERT_HEX(optsr & OPTSR_RDP_MASK, OPTSR_RDP(0xAA));
		FT_ASSERT_HEX(ft_flash_h7_boot_address(fl, true, false), 0x1FF00000);
		ft_flash_h7_free(fl);
		built++;
	}
	CU_ASSERT(built > 0);
	ft_clock_free(clock);
}

static CU_TestInfo tests[] = {
    {"h7a3_reset_values", test_h7a3_reset_values},
    {"h7a3_programs_16_byte_words", test_h7a3_programs_16_byte_words},
    {"h7a3_force_write_is_bit_4", test_h7a3_force_write_is_bit_4},
    {"h7a3_sector_erase_uses_snb_at_bit_6", test_h7a3_sector_erase_uses_snb_at_bit_6},
    {"h74x_style_erase_hits_another_sector_on_h7a3",
     test_h74x_style_erase_hits_another_sector_on_h7a3},
    {"h7a3_wpsgn_bit_protects_four_sectors", test_h7a3_wpsgn_bit_protects_four_sectors},
    {"h7a3_has_no_operr", test_h7a3_has_no_operr},
    {"h7a3_otp_takes_16_bit_stores_with_pg_otp", test_h7a3_otp_takes_16_bit_stores_with_pg_otp},
    {"h7a3_otp_word_is_write_once", test_h7a3_otp_word_is_write_once},
    {"h7a3_locked_otp_block_refuses_programs", test_h7a3_locked_otp_block_refuses_programs},
    {"h7a3_mer_erases_both_banks", test_h7a3_mer_erases_both_banks},
    {"h723_has_no_bank2_block", test_h723_has_no_bank2_block},
    {"h723_has_optsr2_and_no_mer_or_swap", test_h723_has_optsr2_and_no_mer_or_swap},
    {"every_part_in_the_table_builds_a_model", test_every_part_in_the_table_builds_a_model},
    {"geometries_that_are_no_h7_flash_are_refused",
     test_geometries_that_are_no_h7_flash_are_refused},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"flash_h7_layouts", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
