/* The board's external NOR flash through the part's QUADSPI / OCTOSPI / XSPI, as HAL_QSPI_* /
 * HAL_OSPI_* / HAL_XSPI_* drive it: the JEDEC ID by an indirect read, then memory-mapped mode with
 * a 1-1-1 4-byte-address READ (13h, no dummy cycles; W25Q256JV and MX25UM51245G both take it in
 * their power-on SPI mode) and the first words of the window. Registers: CMSIS QUADSPI_TypeDef,
 * OCTOSPI_TypeDef (XSPI_TypeDef has the same offsets). */
#include "fw.h"

#define RDID  0x9Fu
#define READ4 0x13u

/* QUADSPI: CR 00, DCR 04, SR 08, DLR 10, CCR 14, DR 20 */
#define Q_CCR_IMODE1   (1u << 8)
#define Q_CCR_ADMODE1  (1u << 10)
#define Q_CCR_ADSIZE32 (3u << 12)
#define Q_CCR_DMODE1   (1u << 24)
#define Q_CCR_FMODE(m) ((uint32_t)(m) << 26)
/* OCTOSPI / XSPI: CR 000, DCR1 008, SR 020, DLR 040, DR 050, CCR 100, TCR 108, IR 110 */
#define O_CR_FMODE(m)  ((uint32_t)(m) << 28)
#define O_CCR_IMODE1   (1u << 0)
#define O_CCR_ADMODE1  (1u << 8)
#define O_CCR_ADSIZE32 (3u << 12)
#define O_CCR_DMODE1   (1u << 24)
#define CR_EN          (1u << 0)
#define SR_TCF         (1u << 1)
#define SR_BUSY        (1u << 5)

static uint32_t r(uint32_t quadspi, uint32_t octospi)
{
	const fw_part *p = &fw_part_info;
	return p->spi_regs + (p->spi_layout == FW_SPI_QUADSPI ? quadspi : octospi);
}

static void read_id(uint8_t id[3])
{
	REG(r(0x10, 0x040)) = 2; /* DLR: 3 bytes */
	if (fw_part_info.spi_layout == FW_SPI_QUADSPI) {
		REG(r(0x00, 0)) = CR_EN;
		REG(r(0x14, 0)) = Q_CCR_FMODE(1) | Q_CCR_DMODE1 | Q_CCR_IMODE1 | RDID;
	} else {
		REG(r(0, 0x000)) = CR_EN | O_CR_FMODE(1);
		REG(r(0, 0x100)) = O_CCR_IMODE1 | O_CCR_DMODE1;
		REG(r(0, 0x108)) = 0;
		REG(r(0, 0x110)) = RDID;
	}
	if (!fw_wait(r(0x08, 0x020), SR_TCF, SR_TCF, 10))
		fw_fail("RDID: no transfer complete");
	for (int i = 0; i < 3; i++)
		id[i] = *(volatile uint8_t *)(uintptr_t)r(0x20, 0x050);
	REG(r(0x0C, 0x024)) = SR_TCF; /* FCR */
}

static void memory_mapped(void)
{
	if (!fw_wait(r(0x08, 0x020), SR_BUSY, 0, 10))
		fw_fail("controller busy");
	if (fw_part_info.spi_layout == FW_SPI_QUADSPI) {
		REG(r(0x04, 0)) = 24u << 16; /* DCR FSIZE: 2^25 bytes */
		REG(r(0x14, 0)) = Q_CCR_FMODE(3) | Q_CCR_DMODE1 | Q_CCR_ADSIZE32 | Q_CCR_ADMODE1 |
		                  Q_CCR_IMODE1 | READ4;
	} else {
		REG(r(0, 0x008)) = 25u << 16; /* DCR1 DEVSIZE */
		REG(r(0, 0x000)) = CR_EN;
		REG(r(0, 0x100)) = O_CCR_IMODE1 | O_CCR_ADMODE1 | O_CCR_ADSIZE32 | O_CCR_DMODE1;
		REG(r(0, 0x108)) = 0;
		REG(r(0, 0x110)) = READ4;
		REG(r(0, 0x000)) = CR_EN | O_CR_FMODE(3);
	}
}

int main(void)
{
	fw_clock_init();
	uart_init();
	uart_puts("nor read on ");
	uart_puts(fw_part_info.name);
	uart_puts("\n");
	uint8_t id[3];
	read_id(id);
	uart_kv("nor id", (uint32_t)id[0] << 16 | (uint32_t)id[1] << 8 | id[2]);
	memory_mapped();
	uart_kv("window+0", REG(fw_part_info.spi_window));
	uart_kv("window+4", REG(fw_part_info.spi_window + 4));
	return 0;
}
