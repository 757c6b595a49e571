/* W25Q256JV serial NOR driven over 1-x-x SPI transactions: write enable, page program with wrap,
 * erase, status registers, block protection, 3-/4-byte addressing, timing, reset, SFDP.
 * Opcodes and status bits are the datasheet's (devices.md §7), written here as literals. */
#include "models/clock.h"
#include "models/error.h"
#include "models/nor_flash.h"
#include "models/tests/ft_test.h"

#include <stdlib.h>
#include <string.h>

/* W25Q256JV status bits (devices.md §7) */
#define SR1_BUSY 0x01
#define SR1_WEL  0x02
#define SR1_BP0  0x04
#define SR1_TB   0x40
#define SR2_QE   0x02
#define SR2_CMP  0x40
#define SR2_SUS  0x80
#define SR3_ADS  0x01
#define SR3_ADP  0x02
#define SR3_DEF  0x60 /* factory DRV bits as modelled */

#define MB         (1024u * 1024u)
#define FOREVER_NS (500ull * 1000000000ull) /* longer than a chip erase (80 s typ) */

#define SPI1(op) .instruction = (op), .instruction_bytes = 1, .instruction_lines = 1
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
	if (!clk || ft_nor_new(ft_nor_part_find("W25Q256JV"), clk, NULL, &nor, &diag) != FT_OK)
		abort();
}

static void teardown(void)
{
	ft_nor_free(nor);
	ft_clock_free(clk);
	nor = NULL;
	clk = NULL;
}

static ft_error run(ft_nor_xfer x)
{
	ft_diag_clear(&diag);
	return ft_nor_transfer(nor, &x, &diag);
}

static ft_error cmd(uint8_t op)
{
	return run((ft_nor_xfer){SPI1(op)});
}

static uint8_t reg(uint8_t op)
{
	uint8_t v = 0x5A;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(op), DIN(1, &v, 1)}), FT_OK);
	return v;
}

static ft_error write_reg(uint8_t op, uint8_t value)
{
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	ft_error err = run((ft_nor_xfer){SPI1(op), DOUT(1, &value, 1)});
	ft_clock_advance(clk, FOREVER_NS);
	return err;
}

static ft_error program(uint8_t op, uint8_t abytes, uint32_t addr, uint8_t *data, size_t n)
{
	return run((ft_nor_xfer){SPI1(op), ADDR(abytes, 1, addr), DOUT(1, data, n)});
}

/* WREN + page program, then wait for it. */
static ft_error program_now(uint8_t op, uint8_t abytes, uint32_t addr, uint8_t *data, size_t n)
{
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	ft_error err = program(op, abytes, addr, data, n);
	ft_clock_advance(clk, FOREVER_NS);
	return err;
}

static ft_error erase_now(uint8_t op, uint8_t abytes, uint32_t addr)
{
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	ft_error err = abytes ? run((ft_nor_xfer){SPI1(op), ADDR(abytes, 1, addr)}) : cmd(op);
	ft_clock_advance(clk, FOREVER_NS);
	return err;
}

/* READ 13h: 4-byte address, no dummy. */
static void read4(uint32_t addr, uint8_t *buf, size_t n)
{
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x13), ADDR(4, 1, addr), DIN(1, buf, n)}), FT_OK);
}

static uint8_t byte_at(uint32_t addr)
{
	uint8_t b = 0;
	read4(addr, &b, 1);
	return b;
}

static void test_jedec_id_reads_ef_40_19(void)
{
	uint8_t id[3] = {0};
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x9F), DIN(1, id, 3)}), FT_OK);
	FT_ASSERT_BYTES(id, ((uint8_t[]){0xEF, 0x40, 0x19}), 3);
}

static void test_power_on_status_registers(void)
{
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(reg(0x35), SR2_QE);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF);
	FT_ASSERT_HEX(reg(0xC8), 0x00);
}

static void test_sfdp_describes_density_erase_types_and_4byte_opcodes(void)
{
	uint8_t h[24];
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0x5A), ADDR(3, 1, 0), .dummy_cycles = 8, DIN(1, h, sizeof(h))}),
	    FT_OK);
	FT_ASSERT_BYTES(h, "SFDP", 4);
	FT_ASSERT_HEX(h[5], 1);    /* major revision */
	FT_ASSERT_HEX(h[6], 1);    /* two parameter headers, 0-based */
	FT_ASSERT_HEX(h[8], 0x00); /* BFPT id LSB */
	FT_ASSERT_HEX(h[11], 16);  /* BFPT length in DWORDs */
	FT_ASSERT_HEX(h[15], 0xFF);
	FT_ASSERT_HEX(h[16], 0x84); /* 4-byte address instruction table */
	uint32_t bfpt = h[12] | h[13] << 8 | h[14] << 16;
	uint32_t fbait = h[20] | h[21] << 8 | h[22] << 16;

	uint8_t t[64];
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x5A), ADDR(3, 1, bfpt), .dummy_cycles = 8,
	                                DIN(1, t, sizeof(t))}),
	              FT_OK);
	uint32_t dw[16];
	for (int i = 0; i < 16; i++)
		dw[i] = t[4 * i] | t[4 * i + 1] << 8 | t[4 * i + 2] << 16 |
		        (uint32_t)t[4 * i + 3] << 24;
	FT_ASSERT_HEX(dw[0], 0xFFF320E5);      /* 4K erase 20h, 1-1-2/1-2-2/1-4-4/1-1-4, 3 or 4 B */
	FT_ASSERT_HEX(dw[1], 0x0FFFFFFF);      /* 256 Mbit */
	FT_ASSERT_HEX(dw[2], 0x6B08EB44);      /* 1-4-4 EBh 2 mode + 4 dummy; 1-1-4 6Bh 8 dummy */
	FT_ASSERT_HEX(dw[7], 0x520F200C);      /* 4 KB 20h, 32 KB 52h */
	FT_ASSERT_HEX(dw[8], 0x0000D810);      /* 64 KB D8h */
	FT_ASSERT_HEX((dw[10] >> 4) & 0xF, 8); /* 256-byte page */

	uint8_t f[8];
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x5A), ADDR(3, 1, fbait), .dummy_cycles = 8,
	                                DIN(1, f, sizeof(f))}),
	              FT_OK);
	/* 13h 0Ch 3Ch BCh 6Ch ECh 12h 34h; erase types 1 and 3 by 21h and DCh */
	FT_ASSERT_BYTES(f, ((uint8_t[]){0xFF, 0x0A, 0x00, 0x00, 0x21, 0xFF, 0xDC, 0xFF}), 8);
}

static void test_program_without_wren_is_ignored(void)
{
	uint8_t data[4] = {0x11, 0x22, 0x33, 0x44}, back[4];
	FT_ASSERT_HEX(program(0x02, 3, 0x1000, data, 4), FT_ERR_STATE);
	FT_ASSERT_HEX(diag.code, FT_ERR_STATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "WEL=0"));
	FT_ASSERT_HEX(reg(0x05), 0x00);
	read4(0x1000, back, 4);
	FT_ASSERT_BYTES(back, ((uint8_t[]){0xFF, 0xFF, 0xFF, 0xFF}), 4);
}

static void test_wip_stays_set_for_the_page_program_time(void)
{
	uint8_t data[2] = {0xA5, 0x5A}, back[2];
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(reg(0x05), SR1_WEL);
	FT_ASSERT_HEX(program(0x02, 3, 0x40, data, 2), FT_OK);
	FT_ASSERT_HEX(reg(0x05), SR1_WEL | SR1_BUSY);
	/* Reads are ignored while busy: the bus floats. */
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x13), ADDR(4, 1, 0x40), DIN(1, back, 2)}),
	              FT_ERR_BUSY);
	FT_ASSERT_BYTES(back, ((uint8_t[]){0xFF, 0xFF}), 2);
	ft_clock_advance(clk, 699999); /* tPP 0.7 ms typ */
	FT_ASSERT_HEX(reg(0x05), SR1_WEL | SR1_BUSY);
	ft_clock_advance(clk, 1);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	read4(0x40, back, 2);
	FT_ASSERT_BYTES(back, data, 2);
}

static void test_busy_flash_accepts_only_status_reads(void)
{
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x20), ADDR(3, 1, 0)}), FT_OK);
	uint8_t id[3];
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x9F), DIN(1, id, 3)}), FT_ERR_BUSY);
	FT_ASSERT_HEX(cmd(0x04), FT_ERR_BUSY);
	FT_ASSERT_HEX(reg(0x05), SR1_WEL | SR1_BUSY);
	FT_ASSERT_HEX(reg(0x35), SR2_QE);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF);
}

static void test_program_only_clears_bits(void)
{
	uint8_t a = 0xF0, b = 0x3C;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x10, &a, 1), FT_OK);
	FT_ASSERT_HEX(program_now(0x02, 3, 0x10, &b, 1), FT_OK);
	FT_ASSERT_HEX(byte_at(0x10), 0x30);
}

static void test_page_program_wraps_to_page_start(void)
{
	uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];
	FT_ASSERT_HEX(program_now(0x02, 3, 0x1FC, data, 8), FT_OK);
	read4(0x1FC, back, 4);
	FT_ASSERT_BYTES(back, data, 4);
	read4(0x100, back, 4);
	FT_ASSERT_BYTES(back, data + 4, 4);
	FT_ASSERT_HEX(byte_at(0x200), 0xFF);
	FT_ASSERT_HEX(byte_at(0x104), 0xFF);
}

static void test_page_program_keeps_last_page_of_longer_data(void)
{
	uint8_t data[260], back[4];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i < 256 ? i : 0xE0 + i - 256);
	FT_ASSERT_HEX(program_now(0x02, 3, 0x300, data, sizeof(data)), FT_OK);
	read4(0x300, back, 4);
	/* bytes 256..259 wrapped onto 0..3 and replaced them */
	FT_ASSERT_BYTES(back, ((uint8_t[]){0xE0, 0xE1, 0xE2, 0xE3}), 4);
	FT_ASSERT_HEX(byte_at(0x304), 0x04);
	FT_ASSERT_HEX(byte_at(0x3FE), 0xFE);
}

static void test_wel_clears_after_program_erase_and_status_write(void)
{
	uint8_t b = 0;
	FT_ASSERT_HEX(program_now(0x02, 3, 0, &b, 1), FT_OK);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(erase_now(0x20, 3, 0), FT_OK);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(write_reg(0x11, SR3_DEF), FT_OK);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(cmd(0x04), FT_OK);
	FT_ASSERT_HEX(reg(0x05), 0x00);
}

static void fill_marks(void)
{
	uint32_t marks[] = {0x0FFF, 0x1000, 0x1FFF, 0x2000, 0x10005, 0x1FFFF, 0x20000, 0x1FFFFFF};
	for (unsigned i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		uint8_t v = (uint8_t)(0x10 + i);
		FT_ASSERT_HEX(program_now(0x12, 4, marks[i], &v, 1), FT_OK);
	}
}

static void test_erase_4k_clears_only_its_sector(void)
{
	fill_marks();
	FT_ASSERT_HEX(erase_now(0x20, 3, 0x1234), FT_OK);
	FT_ASSERT_HEX(byte_at(0x0FFF), 0x10);
	FT_ASSERT_HEX(byte_at(0x1000), 0xFF);
	FT_ASSERT_HEX(byte_at(0x1FFF), 0xFF);
	FT_ASSERT_HEX(byte_at(0x2000), 0x13);
}

static void test_erase_64k_clears_only_its_block(void)
{
	fill_marks();
	FT_ASSERT_HEX(erase_now(0xDC, 4, 0x18000), FT_OK);
	FT_ASSERT_HEX(byte_at(0x2000), 0x13);
	FT_ASSERT_HEX(byte_at(0x10005), 0xFF);
	FT_ASSERT_HEX(byte_at(0x1FFFF), 0xFF);
	FT_ASSERT_HEX(byte_at(0x20000), 0x16);
}

static void test_chip_erase_clears_everything(void)
{
	fill_marks();
	FT_ASSERT_HEX(erase_now(0xC7, 0, 0), FT_OK);
	const uint8_t *a = ft_nor_array(nor);
	size_t size = ft_nor_part_geometry(ft_nor_part_of(nor))->size, first_programmed = size;
	for (size_t i = 0; i < size && first_programmed == size; i++)
		if (a[i] != 0xFF)
			first_programmed = i;
	FT_ASSERT_HEX(first_programmed, size);
}

static void test_erase_time_is_the_4k_sector_time(void)
{
	uint8_t v = 0;
	FT_ASSERT_HEX(program_now(0x02, 3, 0, &v, 1), FT_OK);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x20), ADDR(3, 1, 0)}), FT_OK);
	ft_clock_advance(clk, 49999999); /* tSE 50 ms typ */
	FT_ASSERT_HEX(reg(0x05), SR1_WEL | SR1_BUSY);
	ft_clock_advance(clk, 1);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(byte_at(0), 0xFF);
}

/* In 3-byte mode A31-24 come from the extended address register. */
static void test_three_byte_address_above_16mb_uses_extended_address_register(void)
{
	uint8_t v = 0x42, w = 0x24;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x000100, &v, 1), FT_OK);
	FT_ASSERT_HEX(write_reg(0xC5, 0x01), FT_OK);
	FT_ASSERT_HEX(reg(0xC8), 0x01);
	FT_ASSERT_HEX(program_now(0x02, 3, 0x000200, &w, 1), FT_OK);
	uint8_t b = 0;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x03), ADDR(3, 1, 0x000100), DIN(1, &b, 1)}), FT_OK);
	FT_ASSERT_HEX(b, 0xFF); /* 0x01000100 */
	FT_ASSERT_HEX(byte_at(0x00000100), 0x42);
	FT_ASSERT_HEX(byte_at(0x01000200), 0x24);
	FT_ASSERT_HEX(byte_at(0x00000200), 0xFF);
}

/* A host aiming above 16 MB with a 3-byte opcode and no EAR write lands in the first 16 MB. */
static void test_three_byte_address_aliases_into_first_16mb(void)
{
	uint8_t v = 0x5C;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x01000040 & 0xFFFFFF, &v, 1), FT_OK);
	FT_ASSERT_HEX(byte_at(0x00000040), 0x5C);
	FT_ASSERT_HEX(byte_at(0x01000040), 0xFF);
}

static void test_four_byte_mode_changes_address_length_of_3byte_opcodes(void)
{
	uint8_t b = 0, v = 0x77;
	FT_ASSERT_HEX(program_now(0x12, 4, 0x01234567, &v, 1), FT_OK);
	FT_ASSERT_HEX(cmd(0xB7), FT_OK);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF | SR3_ADS);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x03), ADDR(3, 1, 0x234567), DIN(1, &b, 1)}),
	              FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "4-byte address mode"));
	FT_ASSERT_HEX(b, 0xFF);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x03), ADDR(4, 1, 0x01234567), DIN(1, &b, 1)}), FT_OK);
	FT_ASSERT_HEX(b, 0x77);
	FT_ASSERT_HEX(cmd(0xE9), FT_OK);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF);
}

static void test_adp_selects_address_mode_at_power_on(void)
{
	FT_ASSERT_HEX(write_reg(0x11, SR3_DEF | SR3_ADP), FT_OK);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF | SR3_ADP);
	ft_nor_reset(nor);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF | SR3_ADP | SR3_ADS);
}

static void test_block_protect_refuses_program_and_erase(void)
{
	uint8_t v = 0x00;
	FT_ASSERT_HEX(write_reg(0x01, SR1_BP0), FT_OK); /* upper 64 KB: 0x1FF0000.. */
	FT_ASSERT_HEX(reg(0x05), SR1_BP0);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(program(0x12, 4, 0x1FF0000, &v, 1), FT_ERR_PROTECTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "0x01FF0000..0x01FFFFFF"));
	FT_ASSERT_HEX(reg(0x05), SR1_BP0 | SR1_WEL);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0xDC), ADDR(4, 1, 0x1FF8000)}), FT_ERR_PROTECTED);
	FT_ASSERT_HEX(cmd(0x60), FT_ERR_PROTECTED);
	FT_ASSERT_HEX(byte_at(0x1FF0000), 0xFF);
	FT_ASSERT_HEX(program(0x12, 4, 0x1FEFF00, &v, 1), FT_OK);
	ft_clock_advance(clk, FOREVER_NS);
	FT_ASSERT_HEX(byte_at(0x1FEFF00), 0x00);
}

/* Ranges implemented (W25Q256JV table as decoded by flashrom, [U]): BP=n protects 64 KB << (n-1)
 * from the top (TB=0) or bottom (TB=1), BP=15 everything, CMP=1 the complement. */
static void test_block_protect_ranges_follow_bp_tb_cmp(void)
{
	static const struct {
		uint8_t sr1, sr2;
		uint32_t addr;
		bool protected_;
	} cases[] = {
	    {0x24, SR2_QE, 0x1000000, true}, /* BP=9: upper 16 MB */
	    {0x24, SR2_QE, 0x0FFFF00, false},
	    {0x64, SR2_QE, 0x0FFFF00, true}, /* TB: lower 16 MB */
	    {0x64, SR2_QE, 0x1000000, false},
	    {0x3C, SR2_QE, 0x0000000, true},           /* BP=15: all */
	    {0x04, SR2_QE | SR2_CMP, 0x1FEFF00, true}, /* CMP: all but the top block */
	    {0x04, SR2_QE | SR2_CMP, 0x1FF0000, false},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FT_ASSERT_HEX(write_reg(0x31, cases[i].sr2), FT_OK);
		FT_ASSERT_HEX(write_reg(0x01, cases[i].sr1), FT_OK);
		FT_ASSERT_HEX(reg(0x05), cases[i].sr1);
		uint8_t v = 0;
		ft_error err = program_now(0x12, 4, cases[i].addr, &v, 1);
		FT_ASSERT_HEX(err, cases[i].protected_ ? FT_ERR_PROTECTED : FT_OK);
	}
}

static void test_status_register_writes_honour_qe_and_otp_bits(void)
{
	FT_ASSERT_HEX(write_reg(0x31, 0x00), FT_OK);
	FT_ASSERT_HEX(reg(0x35), 0x00);
	uint8_t b[2];
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0x6B), ADDR(3, 1, 0), .dummy_cycles = 8, DIN(4, b, 2)}),
	    FT_ERR_STATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "QE=0"));
	/* LB1 (0x08) is one-time programmable */
	FT_ASSERT_HEX(write_reg(0x31, 0x08 | SR2_QE), FT_OK);
	FT_ASSERT_HEX(write_reg(0x31, SR2_QE), FT_OK);
	FT_ASSERT_HEX(reg(0x35), 0x08 | SR2_QE);
	/* SRP (0x80) and TB are plain bits; WEL/BUSY and SUS cannot be written */
	FT_ASSERT_HEX(write_reg(0x01, 0x80 | SR1_TB | SR1_WEL | SR1_BUSY), FT_OK);
	FT_ASSERT_HEX(reg(0x05), 0x80 | SR1_TB);
	FT_ASSERT_HEX(write_reg(0x31, SR2_SUS | SR2_QE), FT_OK);
	FT_ASSERT_HEX(reg(0x35), 0x08 | SR2_QE);
}

static void test_status_write_without_wren_is_ignored(void)
{
	uint8_t v = 0x00;
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x31), DOUT(1, &v, 1)}), FT_ERR_STATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "SR2 write ignored: WEL=0"));
	FT_ASSERT_HEX(reg(0x35), SR2_QE);
	FT_ASSERT_HEX(reg(0x05), 0x00);
}

static void test_two_byte_01h_writes_sr1_and_sr2(void)
{
	uint8_t v[2] = {SR1_BP0, SR2_QE | SR2_CMP};
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x01), DOUT(1, v, 2)}), FT_OK);
	FT_ASSERT_HEX(reg(0x05), SR1_WEL | SR1_BUSY);
	ft_clock_advance(clk, 10000000); /* tW 10 ms typ */
	FT_ASSERT_HEX(reg(0x05), SR1_BP0);
	FT_ASSERT_HEX(reg(0x35), SR2_QE | SR2_CMP);
}

static void test_volatile_status_write_is_lost_at_reset(void)
{
	uint8_t v = SR1_BP0;
	FT_ASSERT_HEX(cmd(0x50), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x01), DOUT(1, &v, 1)}), FT_OK);
	FT_ASSERT_HEX(reg(0x05), SR1_BP0); /* at once, WEL untouched */
	ft_nor_reset(nor);
	FT_ASSERT_HEX(reg(0x05), 0x00);
}

static void test_reset_enable_then_reset_returns_to_power_on_state(void)
{
	FT_ASSERT_HEX(cmd(0xB7), FT_OK);
	FT_ASSERT_HEX(write_reg(0xC5, 0x01), FT_OK);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(cmd(0x99), FT_ERR_STATE); /* RST alone is ignored */
	FT_ASSERT_HEX(reg(0x05), SR1_WEL);
	FT_ASSERT_HEX(cmd(0x66), FT_OK);
	FT_ASSERT_HEX(cmd(0x99), FT_OK);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF);
	FT_ASSERT_HEX(reg(0xC8), 0x00);
}

static void test_reset_while_busy_abandons_the_erase(void)
{
	uint8_t v = 0x12;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x3000, &v, 1), FT_OK);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x20), ADDR(3, 1, 0x3000)}), FT_OK);
	ft_clock_advance(clk, 1000000);
	ft_nor_reset(nor);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(byte_at(0x3000), 0x12);
}

static void test_erase_suspend_allows_reads_and_resume_completes(void)
{
	uint8_t v = 0x12, w = 0x34;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x10000, &v, 1), FT_OK);
	FT_ASSERT_HEX(program_now(0x02, 3, 0x30000, &w, 1), FT_OK);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0xD8), ADDR(3, 1, 0x10000)}), FT_OK);
	ft_clock_advance(clk, 100000000); /* 100 of 150 ms */
	FT_ASSERT_HEX(cmd(0x75), FT_OK);
	FT_ASSERT_HEX(reg(0x05) & SR1_BUSY, 0);
	FT_ASSERT_HEX(reg(0x35), SR2_SUS | SR2_QE);
	FT_ASSERT_HEX(byte_at(0x30000), 0x34);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x20), ADDR(3, 1, 0x30000)}), FT_ERR_STATE);
	FT_ASSERT_HEX(cmd(0x7A), FT_OK);
	FT_ASSERT_HEX(reg(0x35), SR2_QE);
	ft_clock_advance(clk, 49999999);
	FT_ASSERT_HEX(reg(0x05) & SR1_BUSY, SR1_BUSY);
	ft_clock_advance(clk, 1);
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(byte_at(0x10000), 0xFF);
	FT_ASSERT_HEX(byte_at(0x30000), 0x34);
}

static void test_wrong_dummy_cycles_are_reported_and_read_ff(void)
{
	uint8_t v = 0x00, b[2] = {0, 0};
	FT_ASSERT_HEX(program_now(0x02, 3, 0, &v, 1), FT_OK);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0x0B), ADDR(3, 1, 0), .dummy_cycles = 4, DIN(1, b, 2)}),
	    FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "8 dummy/mode cycles expected"));
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.origin, "0x0B"));
	FT_ASSERT_BYTES(b, ((uint8_t[]){0xFF, 0xFF}), 2);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0x0B), ADDR(3, 1, 0), .dummy_cycles = 8, DIN(1, b, 2)}), FT_OK);
	FT_ASSERT_BYTES(b, ((uint8_t[]){0x00, 0xFF}), 2);
}

static void test_quad_io_read_counts_mode_byte_as_cycles(void)
{
	uint8_t v = 0x81, b = 0;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x80, &v, 1), FT_OK);
	/* M7-0 as one alternate byte on 4 lines (2 clocks) + 4 dummy */
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0xEB), ADDR(3, 4, 0x80), .alternate_bytes = 1,
	                                .alternate_lines = 4, .alternate = 0xFF, .dummy_cycles = 4,
	                                DIN(4, &b, 1)}),
	              FT_OK);
	FT_ASSERT_HEX(b, 0x81);
	/* or 6 dummy cycles */
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0xEB), ADDR(3, 4, 0x80), .dummy_cycles = 6, DIN(4, &b, 1)}),
	    FT_OK);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0xEB), ADDR(3, 4, 0x80), .dummy_cycles = 4, DIN(4, &b, 1)}),
	    FT_ERR_PROTOCOL);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0xEB), ADDR(3, 1, 0x80), .dummy_cycles = 6, DIN(4, &b, 1)}),
	    FT_ERR_PROTOCOL);
}

static void test_octal_instruction_is_ignored_by_spi_flash(void)
{
	FT_ASSERT_HEX(run((ft_nor_xfer){
	                  .instruction = 0x06F9, .instruction_bytes = 2, .instruction_lines = 8}),
	              FT_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "in spi mode"));
	FT_ASSERT_HEX(reg(0x05), 0x00);
	FT_ASSERT_HEX(cmd(0xB9), FT_ERR_UNSUPPORTED); /* deep power-down: not modelled */
}

static void test_read_wraps_at_end_of_array(void)
{
	uint8_t a[2] = {0xA1, 0xA2}, b[2] = {0xB1, 0xB2}, back[4];
	FT_ASSERT_HEX(program_now(0x12, 4, 0x1FFFFFE, a, 2), FT_OK);
	FT_ASSERT_HEX(program_now(0x12, 4, 0, b, 2), FT_OK);
	read4(0x1FFFFFE, back, 4);
	FT_ASSERT_BYTES(back, ((uint8_t[]){0xA1, 0xA2, 0xB1, 0xB2}), 4);
}

static void test_read_mapped_copies_and_refuses_while_busy(void)
{
	uint8_t v[3] = {7, 8, 9}, back[3];
	FT_ASSERT_HEX(program_now(0x02, 3, 0x500, v, 3), FT_OK);
	FT_ASSERT_HEX(ft_nor_read_mapped(nor, 0x500, back, 3, &diag), FT_OK);
	FT_ASSERT_BYTES(back, v, 3);
	FT_ASSERT_BYTES(ft_nor_array(nor) + 0x500, v, 3);
	FT_ASSERT_HEX(cmd(0x06), FT_OK);
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x20), ADDR(3, 1, 0)}), FT_OK);
	FT_ASSERT_HEX(ft_nor_read_mapped(nor, 0x500, back, 3, &diag), FT_ERR_BUSY);
	FT_ASSERT_BYTES(back, ((uint8_t[]){0xFF, 0xFF, 0xFF}), 3);
}

static void test_caller_backing_keeps_non_volatile_state(void)
{
	const ft_nor_geometry *g = ft_nor_part_geometry(ft_nor_part_find("W25Q256JV"));
	uint8_t *array = malloc(g->size), *nv = malloc(g->nv_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nv);
	ft_nor_free(nor);
	ft_nor_backing backing = {.array = array, .nv = nv, .fresh = true};
	FT_ASSERT_HEX(ft_nor_new(ft_nor_part_find("W25Q256JV"), clk, &backing, &nor, &diag), FT_OK);
	uint8_t v = 0x3E;
	FT_ASSERT_HEX(program_now(0x02, 3, 0x77, &v, 1), FT_OK);
	FT_ASSERT_HEX(write_reg(0x01, SR1_BP0), FT_OK);
	FT_ASSERT_HEX(cmd(0xB7), FT_OK);
	FT_ASSERT_HEX(array[0x77], 0x3E);
	ft_nor_free(nor);

	backing.fresh = false;
	FT_ASSERT_HEX(ft_nor_new(ft_nor_part_find("W25Q256JV"), clk, &backing, &nor, &diag), FT_OK);
	FT_ASSERT_HEX(byte_at(0x77), 0x3E);
	FT_ASSERT_HEX(reg(0x05), SR1_BP0);
	FT_ASSERT_HEX(reg(0x15), SR3_DEF); /* ADS is volatile */
	ft_nor_free(nor);
	nor = NULL;
	free(array);
	free(nv);
}

static void test_part_table_lookup_and_geometry(void)
{
	const ft_nor_part *p = ft_nor_part_find("w25q256jveiq");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	const ft_nor_geometry *g = ft_nor_part_geometry(p);
	CU_ASSERT_STRING_EQUAL(g->name, "W25Q256JV");
	FT_ASSERT_HEX(g->size, 32 * MB);
	FT_ASSERT_HEX(g->page_size, 256);
	FT_ASSERT_HEX(g->sector_size, 4096);
	FT_ASSERT_HEX(g->block_size, 65536);
	CU_ASSERT_PTR_NULL(ft_nor_part_find("W25Q128JV"));
	CU_ASSERT_PTR_EQUAL(ft_nor_part_find("MX25UM51245GXDI00"), ft_nor_part_at(1));
	CU_ASSERT_PTR_NULL(ft_nor_part_at(ft_nor_part_count()));
	FT_ASSERT_HEX(ft_nor_mode_of(nor), FT_NOR_MODE_SPI);
}

/* W25Q256JV datasheet, AC characteristics: tPP 0.7 ms, tSE 50 ms, tBE2 150 ms, tCE 80 s (typ) */
static void test_typical_durations_are_the_datasheets(void)
{
	const ft_nor_part *p = ft_nor_part_find("W25Q256JV");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	FT_ASSERT_HEX(ft_nor_page_program_us(p), 700);
	FT_ASSERT_HEX(ft_nor_erase_us(p, 4096), 50000);
	FT_ASSERT_HEX(ft_nor_erase_us(p, 65536), 150000);
	FT_ASSERT_HEX(ft_nor_erase_us(p, 32 * MB), 80000000);
	FT_ASSERT_HEX(ft_nor_erase_us(p, 1024), 0);
}

static void test_malformed_transfer_is_an_invalid_argument(void)
{
	FT_ASSERT_HEX(run((ft_nor_xfer){SPI1(0x05), .data_lines = 3, .data_len = 0}),
	              FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(
	    run((ft_nor_xfer){SPI1(0x05), .data_lines = 1, .data_in = true, .data_len = 4}),
	    FT_ERR_INVALID_ARG);
	FT_ASSERT_HEX(run((ft_nor_xfer){
	                  .instruction = 0x105, .instruction_bytes = 1, .instruction_lines = 1}),
	              FT_ERR_INVALID_ARG);
}

static CU_TestInfo tests[] = {
    {"jedec_id_reads_ef_40_19", test_jedec_id_reads_ef_40_19},
    {"power_on_status_registers", test_power_on_status_registers},
    {"sfdp_describes_density_erase_types_and_4byte_opcodes",
     test_sfdp_describes_density_erase_types_and_4byte_opcodes},
    {"program_without_wren_is_ignored", test_program_without_wren_is_ignored},
    {"wip_stays_set_for_the_page_program_time", test_wip_stays_set_for_the_page_program_time},
    {"busy_flash_accepts_only_status_reads", test_busy_flash_accepts_only_status_reads},
    {"program_only_clears_bits", test_program_only_clears_bits},
    {"page_program_wraps_to_page_start", test_page_program_wraps_to_page_start},
    {"page_program_keeps_last_page_of_longer_data",
     test_page_program_keeps_last_page_of_longer_data},
    {"wel_clears_after_program_erase_and_status_write",
     test_wel_clears_after_program_erase_and_status_write},
    {"erase_4k_clears_only_its_sector", test_erase_4k_clears_only_its_sector},
    {"erase_64k_clears_only_its_block", test_erase_64k_clears_only_its_block},
    {"chip_erase_clears_everything", test_chip_erase_clears_everything},
    {"erase_time_is_the_4k_sector_time", test_erase_time_is_the_4k_sector_time},
    {"three_byte_address_above_16mb_uses_extended_address_register",
     test_three_byte_address_above_16mb_uses_extended_address_register},
    {"three_byte_address_aliases_into_first_16mb", test_three_byte_address_aliases_into_first_16mb},
    {"four_byte_mode_changes_address_length_of_3byte_opcodes",
     test_four_byte_mode_changes_address_length_of_3byte_opcodes},
    {"adp_selects_address_mode_at_power_on", test_adp_selects_address_mode_at_power_on},
    {"block_protect_refuses_program_and_erase", test_block_protect_refuses_program_and_erase},
    {"block_protect_ranges_follow_bp_tb_cmp", test_block_protect_ranges_follow_bp_tb_cmp},
    {"status_register_writes_honour_qe_and_otp_bits",
     test_status_register_writes_honour_qe_and_otp_bits},
    {"status_write_without_wren_is_ignored", test_status_write_without_wren_is_ignored},
    {"two_byte_01h_writes_sr1_and_sr2", test_two_byte_01h_writes_sr1_and_sr2},
    {"volatile_status_write_is_lost_at_reset", test_volatile_status_write_is_lost_at_reset},
    {"reset_enable_then_reset_returns_to_power_on_state",
     test_reset_enable_then_reset_returns_to_power_on_state},
    {"reset_while_busy_abandons_the_erase", test_reset_while_busy_abandons_the_erase},
    {"erase_suspend_allows_reads_and_resume_completes",
     test_erase_suspend_allows_reads_and_resume_completes},
    {"wrong_dummy_cycles_are_reported_and_read_ff",
     test_wrong_dummy_cycles_are_reported_and_read_ff},
    {"quad_io_read_counts_mode_byte_as_cycles", test_quad_io_read_counts_mode_byte_as_cycles},
    {"octal_instruction_is_ignored_by_spi_flash", test_octal_instruction_is_ignored_by_spi_flash},
    {"read_wraps_at_end_of_array", test_read_wraps_at_end_of_array},
    {"read_mapped_copies_and_refuses_while_busy", test_read_mapped_copies_and_refuses_while_busy},
    {"caller_backing_keeps_non_volatile_state", test_caller_backing_keeps_non_volatile_state},
    {"part_table_lookup_and_geometry", test_part_table_lookup_and_geometry},
    {"typical_durations_are_the_datasheets", test_typical_durations_are_the_datasheets},
    {"malformed_transfer_is_an_invalid_argument", test_malformed_transfer_is_an_invalid_argument},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"nor_flash_w25q256jv", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
