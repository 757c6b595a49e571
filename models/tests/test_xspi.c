/* The QUADSPI/OCTOSPI/XSPI controller model driving a NOR flash model, with the register
 * sequences of STM32CubeH7 HAL_QSPI_* / HAL_OSPI_*: indirect read and write, the register that
 * starts a command, automatic polling until the flash's operation ends on the virtual clock,
 * memory-mapped reads, ABORT, the flags and the interrupt.
 * Offsets and fields: CMSIS stm32h743xx.h (QUADSPI), stm32h723xx.h (OCTOSPI), stm32n657xx.h
 * (XSPI); W25Q256JV and MX25UM51245G commands: devices.md §6.3, §7. */
#include "models/tests/ft_test.h"
#include "models/xspi.h"

#include <string.h>

/* QUADSPI */
#define Q_CR           0x00u
#define Q_SR           0x08u
#define Q_FCR          0x0Cu
#define Q_DLR          0x10u
#define Q_CCR          0x14u
#define Q_AR           0x18u
#define Q_DR           0x20u
#define Q_PSMKR        0x24u
#define Q_PSMAR        0x28u
#define Q_CCR_IMODE1   (1u << 8)
#define Q_CCR_ADMODE1  (1u << 10)
#define Q_CCR_ADSIZE24 (2u << 12)
#define Q_CCR_DCYC(n)  ((uint32_t)(n) << 18)
#define Q_CCR_DMODE1   (1u << 24)
#define Q_CCR_FMODE(n) ((uint32_t)(n) << 26)
/* OCTOSPI / XSPI */
#define O_CR           0x000u
#define O_SR           0x020u
#define O_DLR          0x040u
#define O_AR           0x048u
#define O_DR           0x050u
#define O_CCR          0x100u
#define O_TCR          0x108u
#define O_IR           0x110u
#define O_CCR_IMODE1   (1u << 0)
#define O_CCR_ADMODE1  (1u << 8)
#define O_CCR_ADSIZE32 (3u << 12)
#define O_CCR_DMODE1   (1u << 24)
#define O_CR_FMODE(n)  ((uint32_t)(n) << 28)
/* shared CR/SR bits */
#define CR_EN         (1u << 0)
#define CR_ABORT      (1u << 1)
#define CR_TCIE       (1u << 17)
#define CR_APMS       (1u << 22)
#define SR_TEF        (1u << 0)
#define SR_TCF        (1u << 1)
#define SR_FTF        (1u << 2)
#define SR_SMF        (1u << 3)
#define SR_BUSY       (1u << 5)
#define SR_FLEVEL(sr) (((sr) >> 8) & 0x3Fu)
/* W25Q256JV / MX25UM51245G SPI commands */
#define WREN  0x06u
#define RDSR  0x05u
#define READ  0x03u
#define FAST  0x0Bu
#define PP    0x02u
#define RDID  0x9Fu
#define READ4 0x13u

static ft_clock *clock;
static ft_nor *nor;
static ft_xspi *x;
static ft_diag diag;

static void make(ft_xspi_variant variant, const char *part)
{
	clock = ft_clock_new(FT_CLOCK_MANUAL);
	CU_ASSERT_EQUAL_FATAL(ft_nor_new(ft_nor_part_find(part), clock, NULL, &nor, &diag), FT_OK);
	CU_ASSERT_EQUAL_FATAL(ft_xspi_new(variant, nor, &x, &diag), FT_OK);
}

static void setup(void)
{
	clock = NULL;
	nor = NULL;
	x = NULL;
	ft_diag_clear(&diag);
}

static void teardown(void)
{
	ft_xspi_free(x);
	ft_nor_free(nor);
	ft_clock_free(clock);
}

static uint32_t rd(uint32_t offset)
{
	uint32_t v = 0xDEADBEEFu;
	CU_ASSERT_EQUAL_FATAL(ft_xspi_reg_read(x, offset, 4, &v), FT_OK);
	return v;
}

static uint8_t rd8(uint32_t offset)
{
	uint32_t v = 0xDEADBEEFu;
	CU_ASSERT_EQUAL_FATAL(ft_xspi_reg_read(x, offset, 1, &v), FT_OK);
	return (uint8_t)v;
}

static void wr(uint32_t offset, uint32_t value)
{
	CU_ASSERT_EQUAL_FATAL(ft_xspi_reg_write(x, offset, 4, value), FT_OK);
}

/* HAL_QSPI_Command without address or data: CCR starts it. */
static void q_command(uint32_t instruction)
{
	wr(Q_CCR, Q_CCR_FMODE(0) | Q_CCR_IMODE1 | instruction);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_TCF | SR_BUSY), SR_TCF);
	wr(Q_FCR, SR_TCF);
}

/* HAL_QSPI_Command + HAL_QSPI_Transmit: page program of len bytes at addr. */
static void q_program(uint32_t addr, const uint8_t *bytes, uint32_t len)
{
	q_command(WREN);
	wr(Q_DLR, len - 1);
	uint32_t ccr = Q_CCR_IMODE1 | Q_CCR_ADMODE1 | Q_CCR_ADSIZE24 | Q_CCR_DMODE1 | PP;
	wr(Q_CCR, Q_CCR_FMODE(0) | ccr);
	wr(Q_AR, addr);
	FT_ASSERT_HEX(rd(Q_SR) & SR_BUSY, 0); /* waits for data */
	for (uint32_t i = 0; i < len; i++)
		CU_ASSERT_EQUAL_FATAL(ft_xspi_reg_write(x, Q_DR, 1, bytes[i]), FT_OK);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_TCF | SR_BUSY), SR_TCF);
	wr(Q_FCR, SR_TCF);
}

/* HAL_QSPI_Command + HAL_QSPI_Receive with READ (03h). */
static void q_read(uint32_t addr, uint8_t *out, uint32_t len)
{
	wr(Q_DLR, len - 1);
	uint32_t ccr = Q_CCR_IMODE1 | Q_CCR_ADMODE1 | Q_CCR_ADSIZE24 | Q_CCR_DMODE1 | READ;
	wr(Q_CCR, Q_CCR_FMODE(0) | ccr);
	wr(Q_CCR, Q_CCR_FMODE(1) | ccr);
	wr(Q_AR, addr);
	for (uint32_t i = 0; i < len; i++)
		out[i] = rd8(Q_DR);
	FT_ASSERT_HEX(rd(Q_SR) & SR_BUSY, 0);
}

static void test_quadspi_reads_the_jedec_id_started_by_ccr(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN);
	wr(Q_DLR, 2);
	wr(Q_CCR, Q_CCR_FMODE(1) | Q_CCR_DMODE1 | Q_CCR_IMODE1 | RDID);
	uint32_t sr = rd(Q_SR);
	FT_ASSERT_HEX(sr & (SR_TCF | SR_FTF | SR_BUSY), SR_TCF | SR_FTF | SR_BUSY);
	FT_ASSERT_HEX(SR_FLEVEL(sr), 3);
	FT_ASSERT_HEX(rd8(Q_DR), 0xEF);
	FT_ASSERT_HEX(rd8(Q_DR), 0x40);
	FT_ASSERT_HEX(rd8(Q_DR), 0x19);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_BUSY | SR_FTF), 0);
}

static void test_quadspi_command_with_address_waits_for_ar(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN);
	wr(Q_DLR, 3);
	wr(Q_CCR,
	   Q_CCR_FMODE(1) | Q_CCR_IMODE1 | Q_CCR_ADMODE1 | Q_CCR_ADSIZE24 | Q_CCR_DMODE1 | READ);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_TCF | SR_BUSY), 0);
	wr(Q_AR, 0);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_TCF | SR_BUSY), SR_TCF | SR_BUSY);
	FT_ASSERT_HEX(rd(Q_DR), 0xFFFFFFFFu); /* erased */
}

/* The program takes the flash's page-program time; RDSR polling (WIP mask 01h, match 00h, APMS)
 * ends when the virtual clock passes it. */
static void test_quadspi_autopolling_ends_with_the_flash_operation(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN | CR_APMS);
	const uint8_t data[4] = {0xDE, 0xAD, 0xBE, 0xEF};
	q_program(0x1000, data, sizeof(data));
	wr(Q_PSMKR, 0x01);
	wr(Q_PSMAR, 0x00);
	wr(Q_DLR, 0);
	wr(Q_CCR, Q_CCR_FMODE(2) | Q_CCR_DMODE1 | Q_CCR_IMODE1 | RDSR);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_SMF | SR_BUSY), SR_BUSY);
	ft_clock_advance(clock, 5000000); /* 5 ms: past tPP max 3 ms [U] */
	FT_ASSERT_HEX(rd(Q_SR) & (SR_SMF | SR_TCF | SR_BUSY), SR_SMF | SR_TCF);
	uint8_t back[4];
	q_read(0x1000, back, sizeof(back));
	FT_ASSERT_BYTES(back, data, sizeof(data));
}

static void test_quadspi_program_without_wren_is_ignored_by_the_flash(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN);
	wr(Q_DLR, 0);
	wr(Q_CCR,
	   Q_CCR_FMODE(0) | Q_CCR_IMODE1 | Q_CCR_ADMODE1 | Q_CCR_ADSIZE24 | Q_CCR_DMODE1 | PP);
	wr(Q_AR, 0);
	CU_ASSERT_EQUAL_FATAL(ft_xspi_reg_write(x, Q_DR, 1, 0x00), FT_OK);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_TCF | SR_TEF), SR_TCF); /* done on the bus */
	FT_ASSERT_HEX(ft_xspi_last_error(x)->code, FT_ERR_STATE);
	uint8_t b;
	q_read(0, &b, 1);
	FT_ASSERT_HEX(b, 0xFF);
}

static void test_command_with_en_clear_sets_tef(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CCR, Q_CCR_FMODE(0) | Q_CCR_IMODE1 | WREN);
	FT_ASSERT_HEX(rd(Q_SR) & (SR_TEF | SR_TCF), SR_TEF);
	wr(Q_FCR, SR_TEF);
	FT_ASSERT_HEX(rd(Q_SR) & SR_TEF, 0);
}

static void test_memory_mapped_fast_read_serves_the_array(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN);
	const uint8_t data[4] = {1, 2, 3, 4};
	q_program(0x200, data, sizeof(data));
	ft_clock_advance(clock, 5000000);
	uint32_t gen0, gen1;
	CU_ASSERT_FALSE(ft_xspi_mapped(x, &gen0));
	wr(Q_CCR, Q_CCR_FMODE(3) | Q_CCR_DMODE1 | Q_CCR_DCYC(8) | Q_CCR_ADSIZE24 | Q_CCR_ADMODE1 |
	              Q_CCR_IMODE1 | FAST);
	CU_ASSERT_TRUE(ft_xspi_mapped(x, &gen1));
	FT_ASSERT_HEX(gen1, gen0 + 1);
	FT_ASSERT_HEX(rd(Q_SR) & SR_BUSY, SR_BUSY);
	uint8_t back[4];
	FT_ASSERT_HEX(ft_xspi_window_read(x, 0x200, back, sizeof(back), &diag), FT_OK);
	FT_ASSERT_BYTES(back, data, sizeof(data));
	FT_ASSERT_HEX(ft_xspi_window_read(x, 32u << 20, back, 1, &diag), FT_ERR_RANGE);
}

/* FAST_READ needs 8 dummy cycles: with none, the flash does not answer the window. */
static void test_memory_mapped_read_the_flash_refuses_is_not_mapped(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN);
	wr(Q_CCR,
	   Q_CCR_FMODE(3) | Q_CCR_DMODE1 | Q_CCR_ADSIZE24 | Q_CCR_ADMODE1 | Q_CCR_IMODE1 | FAST);
	CU_ASSERT_FALSE(ft_xspi_mapped(x, NULL));
	uint8_t b;
	FT_ASSERT_HEX(ft_xspi_window_read(x, 0, &b, 1, &diag), FT_ERR_STATE);
	FT_ASSERT_HEX(diag.code, FT_ERR_PROTOCOL);
}

static void test_abort_leaves_memory_mapped_mode(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN);
	wr(Q_CCR,
	   Q_CCR_FMODE(3) | Q_CCR_DMODE1 | Q_CCR_ADSIZE24 | Q_CCR_ADMODE1 | Q_CCR_IMODE1 | READ);
	CU_ASSERT_TRUE(ft_xspi_mapped(x, NULL));
	wr(Q_CR, CR_EN | CR_ABORT);
	CU_ASSERT_FALSE(ft_xspi_mapped(x, NULL));
	FT_ASSERT_HEX(rd(Q_SR) & (SR_BUSY | SR_TCF), SR_TCF);
	FT_ASSERT_HEX(rd(Q_CR) & CR_ABORT, 0);
	uint8_t b;
	FT_ASSERT_HEX(ft_xspi_window_read(x, 0, &b, 1, &diag), FT_ERR_STATE);
}

static void test_interrupt_follows_tcf_and_tcie(void)
{
	make(FT_XSPI_QUADSPI, "W25Q256JV");
	wr(Q_CR, CR_EN | CR_TCIE);
	CU_ASSERT_FALSE(ft_xspi_irq(x));
	wr(Q_CCR, Q_CCR_FMODE(0) | Q_CCR_IMODE1 | WREN);
	CU_ASSERT_TRUE(ft_xspi_irq(x));
	wr(Q_FCR, SR_TCF);
	CU_ASSERT_FALSE(ft_xspi_irq(x));
}

/* OCTOSPI: the instruction is in IR, FMODE in CR; IR starts a command without address. */
static void test_octospi_ir_starts_an_instruction_only_command(void)
{
	make(FT_XSPI_OCTOSPI, "W25Q256JV");
	wr(O_CR, CR_EN);
	wr(O_CCR, O_CCR_IMODE1);
	FT_ASSERT_HEX(rd(O_SR) & SR_TCF, 0);
	wr(O_IR, WREN);
	FT_ASSERT_HEX(rd(O_SR) & SR_TCF, SR_TCF);
	wr(O_DLR, 0);
	wr(O_CR, CR_EN | O_CR_FMODE(1));
	wr(O_CCR, O_CCR_IMODE1 | O_CCR_DMODE1);
	wr(O_IR, RDSR);
	FT_ASSERT_HEX(rd8(O_DR) & 0x02, 0x02); /* WEL */
}

static void test_octospi_reads_with_four_byte_address_started_by_ar(void)
{
	make(FT_XSPI_OCTOSPI, "W25Q256JV");
	wr(O_CR, CR_EN | O_CR_FMODE(1));
	wr(O_DLR, 1);
	wr(O_CCR, O_CCR_IMODE1 | O_CCR_ADMODE1 | O_CCR_ADSIZE32 | O_CCR_DMODE1);
	wr(O_TCR, 0);
	wr(O_IR, READ4);
	FT_ASSERT_HEX(rd(O_SR) & SR_TCF, 0);
	wr(O_AR, 0x01FFFFFEu);
	FT_ASSERT_HEX(rd(O_SR) & SR_TCF, SR_TCF);
	uint32_t v = 0;
	CU_ASSERT_EQUAL(ft_xspi_reg_read(x, O_DR, 2, &v), FT_OK);
	FT_ASSERT_HEX(v, 0xFFFF);
}

/* XSPI (N6) with the NUCLEO-N657X0-Q's MX25UM51245G in its power-on SPI mode. */
static void test_xspi_reads_the_macronix_id(void)
{
	make(FT_XSPI_XSPI, "MX25UM51245G");
	wr(O_CR, CR_EN | O_CR_FMODE(1));
	wr(O_DLR, 2);
	wr(O_CCR, O_CCR_IMODE1 | O_CCR_DMODE1);
	wr(O_IR, RDID);
	FT_ASSERT_HEX(rd8(O_DR), 0xC2);
	FT_ASSERT_HEX(rd8(O_DR), 0x80);
	FT_ASSERT_HEX(rd8(O_DR), 0x3A);
}

static void test_xspi_memory_mapped_mode_is_entered_through_cr(void)
{
	make(FT_XSPI_XSPI, "MX25UM51245G");
	wr(O_CCR, O_CCR_IMODE1 | O_CCR_ADMODE1 | O_CCR_ADSIZE32 | O_CCR_DMODE1);
	wr(O_TCR, 0);
	wr(O_IR, READ4);
	CU_ASSERT_FALSE(ft_xspi_mapped(x, NULL));
	wr(O_CR, CR_EN | O_CR_FMODE(3));
	CU_ASSERT_TRUE(ft_xspi_mapped(x, NULL));
	uint8_t b = 0;
	FT_ASSERT_HEX(ft_xspi_window_read(x, 0x100, &b, 1, &diag), FT_OK);
	FT_ASSERT_HEX(b, 0xFF);
}

static void test_without_a_flash_reads_float_high(void)
{
	CU_ASSERT_EQUAL_FATAL(ft_xspi_new(FT_XSPI_QUADSPI, NULL, &x, &diag), FT_OK);
	wr(Q_CR, CR_EN);
	wr(Q_DLR, 3);
	wr(Q_CCR, Q_CCR_FMODE(1) | Q_CCR_DMODE1 | Q_CCR_IMODE1 | RDID);
	FT_ASSERT_HEX(rd(Q_DR), 0xFFFFFFFFu);
	FT_ASSERT_HEX(ft_xspi_last_error(x)->code, FT_ERR_STATE);
}

static void test_reserved_offsets_read_zero_and_bad_offsets_are_refused(void)
{
	make(FT_XSPI_OCTOSPI, "W25Q256JV");
	FT_ASSERT_HEX(rd(0x004), 0);
	CU_ASSERT_PTR_NULL(ft_xspi_reg_name(x, 0x004));
	CU_ASSERT_STRING_EQUAL(ft_xspi_reg_name(x, 0x110), "IR");
	uint32_t v;
	FT_ASSERT_HEX(ft_xspi_reg_read(x, 0x400, 4, &v), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_xspi_reg_read(x, 0x002, 4, &v), FT_ERR_RANGE);
	FT_ASSERT_HEX(ft_xspi_reg_read(x, 0x000, 3, &v), FT_ERR_INVALID_ARG);
}

int main(int argc, char **argv)
{
	static CU_TestInfo tests[] = {
	    {"test_quadspi_reads_the_jedec_id_started_by_ccr",
	     test_quadspi_reads_the_jedec_id_started_by_ccr},
	    {"test_quadspi_command_with_address_waits_for_ar",
	     test_quadspi_command_with_address_waits_for_ar},
	    {"test_quadspi_autopolling_ends_with_the_flash_operation",
	     test_quadspi_autopolling_ends_with_the_flash_operation},
	    {"test_quadspi_program_without_wren_is_ignored_by_the_flash",
	     test_quadspi_program_without_wren_is_ignored_by_the_flash},
	    {"test_command_with_en_clear_sets_tef", test_command_with_en_clear_sets_tef},
	    {"test_memory_mapped_fast_read_serves_the_array",
	     test_memory_mapped_fast_read_serves_the_array},
	    {"test_memory_mapped_read_the_flash_refuses_is_not_mapped",
	     test_memory_mapped_read_the_flash_refuses_is_not_mapped},
	    {"test_abort_leaves_memory_mapped_mode", test_abort_leaves_memory_mapped_mode},
	    {"test_interrupt_follows_tcf_and_tcie", test_interrupt_follows_tcf_and_tcie},
	    {"test_octospi_ir_starts_an_instruction_only_command",
	     test_octospi_ir_starts_an_instruction_only_command},
	    {"test_octospi_reads_with_four_byte_address_started_by_ar",
	     test_octospi_reads_with_four_byte_address_started_by_ar},
	    {"test_xspi_reads_the_macronix_id", test_xspi_reads_the_macronix_id},
	    {"test_xspi_memory_mapped_mode_is_entered_through_cr",
	     test_xspi_memory_mapped_mode_is_entered_through_cr},
	    {"test_without_a_flash_reads_float_high", test_without_a_flash_reads_float_high},
	    {"test_reserved_offsets_read_zero_and_bad_offsets_are_refused",
	     test_reserved_offsets_read_zero_and_bad_offsets_are_refused},
	    CU_TEST_INFO_NULL,
	};
	CU_SuiteInfo suite = {"xspi", NULL, NULL, setup, teardown, tests};
	return ft_test_main(&suite, argc, argv);
}
