/* MX25UM51245G octal NOR: SPI power-on mode, entry into octal STR (SOPI) and DTR (DOPI) through
 * WRCR2 at CR2 address 0, 2-byte cmd/~cmd instructions, configured dummy cycles, RDID in OPI,
 * reset back to SPI, DEFDOPI, 3-byte aliasing, block protection with the OTP TB bit.
 * Opcodes, register addresses and bits are devices.md §6.3 (ST mx25um51245g.h), as literals. */
#include "models/clock.h"
#include "models/error.h"
#include "models/nor_flash.h"
#include "models/tests/ft_test.h"

#include <stdlib.h>
#include <string.h>

#define SR_WIP     0x01
#define SR_WEL     0x02
#define SR_BP0     0x04
#define CR1_ODS    0x07 /* factory ODS as modelled */
#define CR1_TB     0x08
#define CR2_SOPI   0x01
#define CR2_DOPI   0x02
#define SCUR_ESB   0x08
#define SCUR_PFAIL 0x20
#define SCUR_EFAIL 0x40

#define FOREVER_NS (1000ull * 1000000000ull)

#define SPI1(op) .instruction = (op), .instruction_bytes = 1, .instruction_lines = 1
#define OPI(op, d)                                                                                 \
	.instruction = (uint16_t)((op) << 8 | (uint8_t) ~(op)), .instruction_bytes = 2,            \
	.instruction_lines = 8, .dtr = (d)
#define ADDR(n, l, a)                                                                              \
	.has_address = true, .address_bytes = (n), .address_lines = (l), .address = (a)
#define DIN(l, b, n)  .data_lines = (l), .data_in = true, .data = (b), .data_len = (n)
#define DOUT(l, b, n) .data_lines = (l), .data = (b), .data_len = (n)

static ft_clock *clk;
static ft_nor *nor;
static ft_diag diag;

static void setup(void)
{
	/* CUnit set-up functions cannot fail a test: a fixture that cannot be built stops here. */
	clk = ft_clock_new(FT_CLOCK_MANUAL);
	if (!clk || ft_nor_new(ft_nor_part_find("MX25UM51245G"), clk, NULL, &nor, &diag) != FT_OK)
		abort();
}

static void teardown(void)
{
	ft_nor_free(nor);
	ft_clock_free(clk);
}

static ft_error run(ft_nor_xfer x)
{
	ft_diag_clear(&diag);
	return ft_nor_transfer(nor, &x, &diag);
}

static uint8_t spi_reg(uint8_t op)
{
	uint8_t v = 0x5A;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(op), DIN(1, &v, 1)}), FT_OK);
	return v;
}

/* OPI register read: address, 4 dummy cycles; in DTR the byte comes twice. */
static uint8_t opi_reg(uint8_t op, bool dtr, uint32_t addr)
{
	uint8_t v[2] = {0x5A, 0xA5};
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(op, dtr), ADDR(4, 8, addr), .dummy_cycles = 4,
	                                DIN(8, v, dtr ? 2u : 1u)}),
	              FT_OK);
	if (dtr)
		FT_ASSERT_HEX(v[1], v[0]);
	return v[0];
}

/* SPI: WREN, WRCR2 (72h) at a CR2 address. */
static void spi_write_cr2(uint32_t addr, uint8_t value)
{
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x06)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x72), ADDR(4, 1, addr), DOUT(1, &value, 1)}), FT_OK);
}

static void spi_program(uint32_t addr, uint8_t *data, size_t n)
{
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x06)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x12), ADDR(4, 1, addr), DOUT(1, data, n)}), FT_OK);
	ft_clock_advance(clk, FOREVER_NS);
}

static void spi_write_sr_cr1(uint8_t sr, uint8_t cr1)
{
	uint8_t v[2] = {sr, cr1};
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x06)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x01), DOUT(1, v, 2)}), FT_OK);
	ft_clock_advance(clk, FOREVER_NS);
}

static void test_jedec_id_in_spi_reads_c2_80_3a(void)
{
	uint8_t id[3];
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_SPI);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x9F), DIN(1, id, 3)}), FT_OK);
	FT_ASSERT_BYTES(id, ((uint8_t[]){0xC2, 0x80, 0x3A}), 3);
	FT_ASSERT_HEX(spi_reg(0x05), 0x00);
	FT_ASSERT_HEX(spi_reg(0x15), CR1_ODS);
}

static void test_sfdp_describes_512_mbit_and_4byte_opcodes(void)
{
	uint8_t h[24], t[64], f[8];
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0x5A), ADDR(3, 1, 0), .dummy_cycles = 8, DIN(1, h, sizeof(h))}),
	    FT_OK);
	FT_ASSERT_BYTES(h, "SFDP", 4);
	uint32_t bfpt = h[12] | h[13] << 8 | h[14] << 16, fbait = h[20] | h[21] << 8;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x5A), ADDR(3, 1, bfpt), .dummy_cycles = 8,
	                                DIN(1, t, sizeof(t))}),
	              FT_OK);
	FT_ASSERT_BYTES(t, ((uint8_t[]){0xE5, 0x20, 0x82, 0xFF}), 4);     /* 4K 20h, 3 or 4 bytes */
	FT_ASSERT_BYTES(t + 4, ((uint8_t[]){0xFF, 0xFF, 0xFF, 0x1F}), 4); /* 512 Mbit */
	FT_ASSERT_BYTES(t + 28, ((uint8_t[]){0x0C, 0x20, 0x10, 0xD8}), 4); /* 4 KB, 64 KB */
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x5A), ADDR(3, 1, fbait), .dummy_cycles = 8,
	                                DIN(1, f, sizeof(f))}),
	              FT_OK);
	/* 13h 0Ch 12h, erase types 1 and 2 by 21h and DCh */
	FT_ASSERT_BYTES(f, ((uint8_t[]){0x43, 0x06, 0x00, 0x00, 0x21, 0xDC, 0xFF, 0xFF}), 8);
}

static void test_wrcr2_sopi_switches_to_octal_str(void)
{
	spi_write_cr2(0x00000000, CR2_SOPI);
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_SOPI);
	uint8_t b = 0;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x05), DIN(1, &b, 1)}), FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "in sopi mode"));
	FT_ASSERT_HEX(b, 0xFF);
	FT_ASSERT_HEX(opi_reg(0x05, false, 0), 0x00);
	FT_ASSERT_HEX(opi_reg(0x71, false, 0x00000000), CR2_SOPI);
	FT_ASSERT_HEX(opi_reg(0x71, false, 0x00000300), 0x00); /* DC = 20 cycles */
}

static void test_opi_read_uses_configured_dummy_cycles(void)
{
	uint8_t data[4] = {0xDE, 0xAD, 0xBE, 0xEF}, back[4];
	spi_program(0x100, data, 4);
	spi_write_cr2(0x00000000, CR2_SOPI);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0xEC, false), ADDR(4, 8, 0x100), .dummy_cycles = 20,
	                                DIN(8, back, 4)}),
	              FT_OK);
	FT_ASSERT_BYTES(back, data, 4);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0xEC, false), ADDR(4, 8, 0x100), .dummy_cycles = 6,
	                                DIN(8, back, 4)}),
	              FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "20 dummy/mode cycles expected"));
	FT_ASSERT_BYTES(back, ((uint8_t[]){0xFF, 0xFF, 0xFF, 0xFF}), 4);
	uint8_t dc = 0x07; /* 6 cycles */
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x06, false)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x72, false), ADDR(4, 8, 0x300), DOUT(8, &dc, 1)}),
	              FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0xEC, false), ADDR(4, 8, 0x100), .dummy_cycles = 6,
	                                DIN(8, back, 4)}),
	              FT_OK);
	FT_ASSERT_BYTES(back, data, 4);
	/* the DTR read is not a SOPI command */
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0xEE, false), ADDR(4, 8, 0x100), .dummy_cycles = 6,
	                                DIN(8, back, 4)}),
	              FT_ERR_UNSUPPORTED);
}

static void test_dopi_programs_and_reads_above_32mb(void)
{
	spi_write_cr2(0x00000000, CR2_DOPI);
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_DOPI);
	uint8_t id[6];
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0x9F, true), ADDR(4, 8, 0), .dummy_cycles = 4, DIN(8, id, 6)}),
	    FT_OK);
	FT_ASSERT_BYTES(id, ((uint8_t[]){0xC2, 0xC2, 0x80, 0x80, 0x3A, 0x3A}), 6);

	uint8_t data[16], back[16], sr[2];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xC0 + i);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x06, true)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x12, true), ADDR(4, 8, 0x02345600),
	                                DOUT(8, data, sizeof(data))}),
	              FT_OK);
	/* the ST driver polls with 5 dummy cycles in DTR; the register repeats */
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0x05, true), ADDR(4, 8, 0), .dummy_cycles = 5, DIN(8, sr, 2)}),
	    FT_OK);
	FT_ASSERT_BYTES(sr, ((uint8_t[]){SR_WEL | SR_WIP, SR_WEL | SR_WIP}), 2);
	ft_clock_advance(clk, FOREVER_NS);
	FT_ASSERT_HEX(opi_reg(0x05, true, 0), 0x00);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0xEE, true), ADDR(4, 8, 0x02345600), .dummy_cycles = 20,
	                                DIN(8, back, sizeof(back))}),
	              FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
}

static void test_rdid_in_octal_needs_address_and_dummy_cycles(void)
{
	uint8_t id[3];
	spi_write_cr2(0x00000000, CR2_SOPI);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x9F, false), DIN(8, id, 3)}), FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0x9F, false), ADDR(4, 8, 0), .dummy_cycles = 3, DIN(8, id, 3)}),
	    FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0x9F, false), ADDR(4, 8, 0), .dummy_cycles = 5, DIN(8, id, 3)}),
	    FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0x9F, false), ADDR(4, 8, 0), .dummy_cycles = 4, DIN(8, id, 3)}),
	    FT_OK);
	FT_ASSERT_BYTES(id, ((uint8_t[]){0xC2, 0x80, 0x3A}), 3);
}

static void test_octal_extension_must_be_the_inverse(void)
{
	spi_write_cr2(0x00000000, CR2_SOPI);
	FT_ASSERT_HEX(run((ft_nor_xfer){
	                  .instruction = 0x06F8, .instruction_bytes = 2, .instruction_lines = 8}),
	              FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "not the inverse"));
	FT_ASSERT_HEX(opi_reg(0x05, false, 0), 0x00);
}

static void test_str_instruction_in_dopi_is_ignored(void)
{
	spi_write_cr2(0x00000000, CR2_DOPI);
	uint8_t b = 0;
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0x05, false), ADDR(4, 8, 0), .dummy_cycles = 4, DIN(8, &b, 1)}),
	    FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "DTR"));
	FT_ASSERT_HEX(b, 0xFF);
}

static void test_reset_enable_and_reset_return_to_spi(void)
{
	spi_write_cr2(0x00000000, CR2_DOPI);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x66, true)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x99, true)}), FT_OK);
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_SPI);
	uint8_t id[3], mode = 0xAA;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x9F), DIN(1, id, 3)}), FT_OK);
	FT_ASSERT_BYTES(id, ((uint8_t[]){0xC2, 0x80, 0x3A}), 3);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x71), ADDR(4, 1, 0), DIN(1, &mode, 1)}), FT_OK);
	FT_ASSERT_HEX(mode, 0x00);
}

static void test_defdopi_selects_dopi_at_power_on(void)
{
	spi_write_cr2(0x40000000, CR2_DOPI); /* non-volatile: WIP for the register write time */
	FT_ASSERT_HEX(spi_reg(0x05), SR_WEL | SR_WIP);
	ft_clock_advance(clk, 40000000);
	FT_ASSERT_HEX(spi_reg(0x05), 0x00);
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_SPI);
	ft_nor_reset(nor);
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_DOPI);
	uint8_t id[3];
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x9F), DIN(1, id, 3)}), FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(opi_reg(0x71, true, 0x40000000), CR2_DOPI);
	FT_ASSERT_HEX(opi_reg(0x71, true, 0x00000000), CR2_DOPI);
}

static void test_three_byte_opcodes_reach_only_first_16mb(void)
{
	uint8_t v = 0x99, b = 0;
	spi_program(0x01123456, &v, 1);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x03), ADDR(3, 1, 0x123456), DIN(1, &b, 1)}), FT_OK);
	FT_ASSERT_HEX(b, 0xFF);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x13), ADDR(4, 1, 0x01123456), DIN(1, &b, 1)}), FT_OK);
	FT_ASSERT_HEX(b, 0x99);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0xB7)}), FT_ERR_UNSUPPORTED);
}

static void test_block_protect_bp_and_otp_tb_bit(void)
{
	uint8_t v = 0, scur = 0;
	spi_write_sr_cr1(SR_BP0, CR1_ODS); /* top 64 KB */
	FT_ASSERT_HEX(spi_reg(0x05), SR_BP0);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x06)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x12), ADDR(4, 1, 0x3FF0000), DOUT(1, &v, 1)}),
	              FT_ERR_PROTECTED);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x2B), DIN(1, &scur, 1)}), FT_OK);
	FT_ASSERT_HEX(scur, SCUR_PFAIL);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x21), ADDR(4, 1, 0)}), FT_OK);
	ft_clock_advance(clk, FOREVER_NS);
	FT_ASSERT_HEX(spi_reg(0x2B), 0x00);

	spi_write_sr_cr1(SR_BP0, CR1_ODS | CR1_TB); /* bottom 64 KB */
	FT_ASSERT_HEX(spi_reg(0x15), CR1_ODS | CR1_TB);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x06)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x21), ADDR(4, 1, 0x8000)}), FT_ERR_PROTECTED);
	FT_ASSERT_HEX(spi_reg(0x2B), SCUR_EFAIL);
	spi_write_sr_cr1(SR_BP0, CR1_ODS); /* TB is one-time programmable */
	FT_ASSERT_HEX(spi_reg(0x15), CR1_ODS | CR1_TB);
}

static void test_erase_suspend_sets_esb(void)
{
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x06)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x21), ADDR(4, 1, 0x1000)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0xB0)}), FT_OK);
	FT_ASSERT_HEX(spi_reg(0x2B), SCUR_ESB);
	FT_ASSERT_HEX(spi_reg(0x05) & SR_WIP, 0);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x30)}), FT_OK);
	FT_ASSERT_HEX(spi_reg(0x2B), 0x00);
	FT_ASSERT_HEX(spi_reg(0x05) & SR_WIP, SR_WIP);
	ft_clock_advance(clk, FOREVER_NS);
	FT_ASSERT_HEX(spi_reg(0x05), 0x00);
}

static void test_dtr_register_write_takes_first_byte_of_pair(void)
{
	spi_write_cr2(0x00000000, CR2_DOPI);
	uint8_t dc[2] = {0x07, 0x00};
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x06, true)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x72, true), ADDR(4, 8, 0x300), DOUT(8, dc, 2)}),
	              FT_OK);
	FT_ASSERT_HEX(opi_reg(0x71, true, 0x300), 0x07);
	uint8_t b[2];
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){OPI(0xEE, true), ADDR(4, 8, 0), .dummy_cycles = 6, DIN(8, b, 2)}),
	    FT_OK);
	FT_ASSERT_BYTES(b, ((uint8_t[]){0xFF, 0xFF}), 2);
}

static void test_opi_wrsr_address_selects_sr_or_cr1(void)
{
	spi_write_cr2(0x00000000, CR2_SOPI);
	uint8_t v = CR1_ODS | 0x10; /* PBE */
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x06, false)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x01, false), ADDR(4, 8, 1), DOUT(8, &v, 1)}), FT_OK);
	ft_clock_advance(clk, FOREVER_NS);
	FT_ASSERT_HEX(opi_reg(0x15, false, 1), CR1_ODS | 0x10);
	FT_ASSERT_HEX(opi_reg(0x05, false, 0), 0x00);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x06, false)}), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x01, false), ADDR(4, 8, 2), DOUT(8, &v, 1)}),
	              FT_ERR_RANGE);
	FT_ASSERT_HEX(run((ft_nor_xfer){OPI(0x71, false), ADDR(4, 8, 0x100), .dummy_cycles = 4,
	                                DIN(8, &v, 1)}),
	              FT_ERR_RANGE);
}

static CU_TestInfo tests[] = {
    {"jedec_id_in_spi_reads_c2_80_3a", test_jedec_id_in_spi_reads_c2_80_3a},
    {"sfdp_describes_512_mbit_and_4byte_opcodes", test_sfdp_describes_512_mbit_and_4byte_opcodes},
    {"wrcr2_sopi_switches_to_octal_str", test_wrcr2_sopi_switches_to_octal_str},
    {"opi_read_uses_configured_dummy_cycles", test_opi_read_uses_configured_dummy_cycles},
    {"dopi_programs_and_reads_above_32mb", test_dopi_programs_and_reads_above_32mb},
    {"rdid_in_octal_needs_address_and_dummy_cycles",
     test_rdid_in_octal_needs_address_and_dummy_cycles},
    {"octal_extension_must_be_the_inverse", test_octal_extension_must_be_the_inverse},
    {"str_instruction_in_dopi_is_ignored", test_str_instruction_in_dopi_is_ignored},
    {"reset_enable_and_reset_return_to_spi", test_reset_enable_and_reset_return_to_spi},
    {"defdopi_selects_dopi_at_power_on", test_defdopi_selects_dopi_at_power_on},
    {"three_byte_opcodes_reach_only_first_16mb", test_three_byte_opcodes_reach_only_first_16mb},
    {"block_protect_bp_and_otp_tb_bit", test_block_protect_bp_and_otp_tb_bit},
    {"erase_suspend_sets_esb", test_erase_suspend_sets_esb},
    {"dtr_register_write_takes_first_byte_of_pair",
     test_dtr_register_write_takes_first_byte_of_pair},
    {"opi_wrsr_address_selects_sr_or_cr1", test_opi_wrsr_address_selects_sr_or_cr1},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"nor_flash_mx25um51245g", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
