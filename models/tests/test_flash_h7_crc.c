/* flash_h7: the CRC unit (CRCCR, CRCSADD, CRCEADD, CRCDATA) driven as HAL_FLASHEx_ComputeCRC
 * does: by address range, by sector list and over a whole bank. */
#include "models/tests/flash_h7_steps.h"

/* FLASH_CRCCR (devices.md §2.3). */
#define CRC_BY_SECT (1u << 8)
#define ADD_SECT    (1u << 9)
#define CLEAN_SECT  (1u << 10)
#define START_CRC   (1u << 16)
#define CLEAN_CRC   (1u << 17)
#define ALL_BANK    (1u << 22)
#define SR_CRC_BUSY (1u << 3)

static fixture f;

static void setup(void)
{
	fx_open(&f, &geo_h743xi, false, FT_CLOCK_INSTANT);
}

static void teardown(void)
{
	fx_close(&f);
}

/* The algorithm measured on an H753 (community.st.com "STM32H753 Flash CRC specification"):
 * CRC-32 0x04C11DB7, not reflected, each 32-bit word most significant byte first, init
 * 0xB6C0AE5A, no final XOR [U]. Written out here bit by bit, independently of the model. */
static uint32_t reference_crc(const uint8_t *p, size_t len)
{
	uint32_t c = 0xB6C0AE5Au;
	for (size_t i = 0; i < len; i += 4) {
		for (int k = 3; k >= 0; k--) {
			c ^= (uint32_t)p[i + (size_t)k] << 24;
			for (int bit = 0; bit < 8; bit++)
				c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
		}
	}
	return c;
}

/* HAL_FLASHEx_ComputeCRC: CRC_EN, clear CRCEND/CRCRDERR, CLEAN_CRC | burst | type. */
static void crc_begin(unsigned bank, uint32_t type)
{
	uint32_t cr = bank_reg(R_CR1, bank), crccr = bank_reg(R_CRCCR1, bank);
	wr(&f, cr, rd(&f, cr) | CR_CRC_EN);
	wr(&f, bank_reg(R_CCR1, bank), SR_CRCEND | SR_CRCRDERR);
	wr(&f, crccr, rd(&f, crccr) | CLEAN_CRC | type);
}

static uint32_t crc_finish(unsigned bank)
{
	uint32_t crccr = bank_reg(R_CRCCR1, bank);
	wr(&f, crccr, rd(&f, crccr) | START_CRC);
	FT_ASSERT_HEX(rd(&f, bank_reg(R_SR1, bank)) & (SR_CRCEND | SR_CRC_BUSY), SR_CRCEND);
	return rd(&f, R_CRCDATA);
}

static void test_crc_of_128_zero_bytes_is_the_measured_value(void)
{
	uint8_t zeros[32] = {0};
	unlock_bank(&f, 0);
	for (uint32_t a = 0; a < 128; a += 32)
		hal_program(&f, BANK1 + a, zeros);
	crc_begin(0, 0);
	wr(&f, R_CRCSADD1, BANK1);
	wr(&f, R_CRCEADD1, BANK1 + 0x7F); /* the last word's address, low bits ignored */
	FT_ASSERT_HEX(rd(&f, R_CRCEADD1), BANK1 + 0x7C);
	FT_ASSERT_HEX(crc_finish(0), 0x11E66C62);
	FT_ASSERT_HEX(rd(&f, R_CRCCR1), 0); /* actions read back 0 */
	wr(&f, R_CR1, rd(&f, R_CR1) & ~CR_CRC_EN);
	FT_ASSERT_HEX(rd(&f, R_CRCDATA), 0);
}

static void test_crc_by_sector_list_equals_crc_of_the_range(void)
{
	uint8_t data[32];
	unlock_bank(&f, 1);
	for (uint32_t a = 0; a < 0x400; a += 32) {
		fill_pattern(data, 32, (uint8_t)a);
		hal_program(&f, BANK2 + 0x20000 + a, data);
	}
	crc_begin(1, CRC_BY_SECT);
	wr(&f, R_CRCCR1 + 0x100, rd(&f, R_CRCCR1 + 0x100) | CLEAN_SECT);
	wr(&f, R_CRCCR1 + 0x100, (rd(&f, R_CRCCR1 + 0x100) & ~7u) | 1u | ADD_SECT); /* sector 1 */
	FT_ASSERT_HEX(rd(&f, R_CRCCR1 + 0x100), CRC_BY_SECT | 1u);
	uint32_t by_sector = crc_finish(1);
	FT_ASSERT_HEX(by_sector, reference_crc(f.array + 0x100000 + 0x20000, 0x20000));
	crc_begin(1, 0);
	wr(&f, R_CRCSADD1 + 0x100, BANK2 + 0x20000);
	wr(&f, R_CRCEADD1 + 0x100, BANK2 + 0x3FFFC);
	FT_ASSERT_HEX(crc_finish(1), by_sector);
}

static void test_crc_over_a_whole_bank(void)
{
	uint8_t data[32];
	fill_pattern(data, 32, 0x5C);
	unlock_bank(&f, 0);
	hal_program(&f, BANK1 + 0xFFFE0, data);
	crc_begin(0, CRC_BY_SECT | ALL_BANK);
	FT_ASSERT_HEX(crc_finish(0), reference_crc(f.array, 0x100000));
}

static void test_crccr_needs_crc_en(void)
{
	unlock_bank(&f, 0);
	wr(&f, R_CRCCR1, CRC_BY_SECT | 3u);
	FT_ASSERT_HEX(rd(&f, R_CRCCR1), 0);
	wr(&f, R_CR1, rd(&f, R_CR1) | CR_CRC_EN);
	wr(&f, R_CRCCR1, CRC_BY_SECT | 3u | (3u << 20));
	FT_ASSERT_HEX(rd(&f, R_CRCCR1), CRC_BY_SECT | 3u | (3u << 20));
	wr(&f, R_CR1, rd(&f, R_CR1) & ~CR_CRC_EN); /* clears the configuration */
	FT_ASSERT_HEX(rd(&f, R_CRCCR1), 0);
}

static void test_crc_over_a_pcrop_area_sets_crcrderr(void)
{
	ob_program(&f, R_PRAR_PRG1, 0x00000001); /* start 1 > end 0: none */
	unlock_bank(&f, 0);
	crc_begin(0, 0);
	wr(&f, R_CRCSADD1, BANK1);
	wr(&f, R_CRCEADD1, BANK1 + 0x1FC);
	crc_finish(0);
	FT_ASSERT_HEX(rd(&f, R_SR1) & SR_CRCRDERR, 0);
	ob_program(&f, R_PRAR_PRG1, 0x00010001); /* start == end: the whole bank is PCROP */
	crc_begin(0, 0);
	crc_finish(0);
	FT_ASSERT_HEX(rd(&f, R_SR1), SR_CRCEND | SR_CRCRDERR);
}

static CU_TestInfo tests[] = {
    {"crc_of_128_zero_bytes_is_the_measured_value",
     test_crc_of_128_zero_bytes_is_the_measured_value},
    {"crc_by_sector_list_equals_crc_of_the_range", test_crc_by_sector_list_equals_crc_of_the_range},
    {"crc_over_a_whole_bank", test_crc_over_a_whole_bank},
    {"crccr_needs_crc_en", test_crccr_needs_crc_en},
    {"crc_over_a_pcrop_area_sets_crcrderr", test_crc_over_a_pcrop_area_sets_crcrderr},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"flash_h7_crc", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
