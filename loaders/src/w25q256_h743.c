/* Winbond W25Q256JV (32 MB) on the STM32H743 QUADSPI, bank 1, window 0x90000000: the board
 * custom-h743-w25q256. Protocol: 4-byte-address opcodes throughout (they work whatever the
 * flash's address mode, ADS, and need no EN4B/EAR state); page program 1-1-4 (34h), reads 1-4-4
 * (ECh) memory-mapped; status by automatic polling of SR1.
 *
 * Registers: RM0433 §23.5 as CMSIS stm32h743xx.h QUADSPI_TypeDef names them (CR 00, DCR 04, SR 08,
 * FCR 0C, DLR 10, CCR 14, AR 18, ABR 1C, DR 20, PSMKR 24, PSMAR 28, PIR 2C); RCC and GPIO:
 * RM0433 §8.7, §11.4 (CMSIS RCC_TypeDef, GPIO_TypeDef). Flash facts: devices.md §7. */
#include "hw.h"
#include "loader.h"

#ifndef LOADER_NAME
#define LOADER_NAME "W25Q256JV_custom-h743-w25q256"
#endif
/* LDR_FAULT_3BYTE (E13): Write and the 4 KB SectorErase use the 3-byte-address opcodes (02h,
 * 20h, 1-1-1) with a 24-bit address, as a loader ported from a 16 MB part's driver does when
 * only its read path was moved to 4-byte commands: above 16 MB the flash takes A24 from its
 * extended address register (0 after reset) and the data lands 16 MB lower (devices.md §7),
 * while reads (4-byte fast read) see the right place. */
#ifndef LDR_FAULT_3BYTE
#define LDR_FAULT_3BYTE 0
#endif

#define NOR_BASE    0x90000000u /* QSPI_BASE (devices.md §1.2) */
#define NOR_SIZE    0x2000000u  /* 32 MB (devices.md §7) */
#define NOR_PAGE    0x100u
#define NOR_SECTOR  0x1000u
#define NOR_BLOCK   0x10000u
#define NOR_JEDEC   0xEF4019u /* devices.md §7: betaflight JEDEC_ID_WINBOND_W25Q256JV */
#define SECTOR_TIME 400u      /* ms, tSE max: devices.md §7 [U] */

__attribute__((section(".stm32_device_info"), used)) const struct StorageInfo StorageInfo = {
    LOADER_NAME,
    LDR_NOR_FLASH,
    NOR_BASE,
    NOR_SIZE,
    NOR_PAGE,
    0xFF,
    {{NOR_SIZE / NOR_SECTOR, NOR_SECTOR}, {0, 0}},
};

const ldr_geometry ldr_geo = {NOR_BASE, NOR_SIZE, NOR_PAGE, NOR_SECTOR, NOR_BLOCK};

/* RCC (RM0433 §8.7; CMSIS RCC_AHB3ENR_QSPIEN, RCC_AHB3RSTR_QSPIRST, RCC_AHB4ENR_GPIOxEN) */
#define RCC_BASE        0x58024400u
#define RCC_AHB3RSTR    (RCC_BASE + 0x7Cu)
#define RCC_AHB3ENR     (RCC_BASE + 0xD4u)
#define RCC_AHB4ENR     (RCC_BASE + 0xE0u)
#define AHB3_QSPI       (1u << 14)
#define GPIO_BASE(port) (0x58020000u + 0x400u * (port)) /* GPIOA..K, D3 AHB4 */
#define PORT_B          1u
#define PORT_D          3u
#define PORT_E          4u

/* QUADSPI (RM0433 §23.5) */
#define QSPI          0x52005000u /* QSPI_R_BASE */
#define Q_CR          (QSPI + 0x00u)
#define Q_DCR         (QSPI + 0x04u)
#define Q_SR          (QSPI + 0x08u)
#define Q_FCR         (QSPI + 0x0Cu)
#define Q_DLR         (QSPI + 0x10u)
#define Q_CCR         (QSPI + 0x14u)
#define Q_AR          (QSPI + 0x18u)
#define Q_ABR         (QSPI + 0x1Cu)
#define Q_DR          (QSPI + 0x20u)
#define Q_PSMKR       (QSPI + 0x24u)
#define Q_PSMAR       (QSPI + 0x28u)
#define Q_PIR         (QSPI + 0x2Cu)
#define CR_EN         (1u << 0)
#define CR_ABORT      (1u << 1)
#define CR_SSHIFT     (1u << 4)
#define CR_APMS       (1u << 22)
#define CR_PRESCALER  (1u << 24)  /* kernel clock / 2: at most 100 MHz from a 200 MHz HCLK3 */
#define DCR_FSIZE     (24u << 16) /* 2^(24+1) bytes */
#define DCR_CSHT      (5u << 8)   /* 6 cycles high between commands (tSHSL) */
#define SR_TEF        (1u << 0)
#define SR_TCF        (1u << 1)
#define SR_SMF        (1u << 3)
#define SR_BUSY       (1u << 5)
#define SR_FLEVEL     (0x3Fu << 8)
#define FCR_ALL       0x1Bu /* CTOF CSMF CTCF CTEF */
#define CCR_IMODE1    (1u << 8)
#define CCR_ADMODE1   (1u << 10)
#define CCR_ADMODE4   (3u << 10)
#define CCR_ADSIZE24  (2u << 12)
#define CCR_ADSIZE32  (3u << 12)
#define CCR_ABMODE4   (3u << 14)
#define CCR_DCYC(n)   ((uint32_t)(n) << 18)
#define CCR_DMODE1    (1u << 24)
#define CCR_DMODE4    (3u << 24)
#define CCR_FMODE_RD  (1u << 26)
#define CCR_FMODE_APM (2u << 26)
#define CCR_FMODE_MM  (3u << 26)
#define CCR_FMODE     (3u << 26)

/* W25Q256JV opcodes and status bits (devices.md §7) */
#define OP_RSTEN    0x66u
#define OP_RST      0x99u
#define OP_RDID     0x9Fu
#define OP_WREN     0x06u
#define OP_VWREN    0x50u /* volatile status-register write enable [U] */
#define OP_RDSR1    0x05u
#define OP_RDSR2    0x35u
#define OP_WRSR2    0x31u
#define OP_PP4_QUAD 0x34u
#define OP_SE4K_4B  0x21u
#define OP_BE64K_4B 0xDCu
#define OP_CE       0x60u
#define OP_FRQIO_4B 0xECu /* 1-4-4, M7-0 then 4 dummy cycles */
#define OP_PP_3B    0x02u /* E13 fault: 1-1-1, address per ADS */
#define OP_SE4K_3B  0x20u
#define SR1_BUSY    0x01u
#define SR1_WEL     0x02u
#define SR1_BP      0x3Cu /* BP0-3 */
#define SR1_TB      0x40u
#define SR2_QE      0x02u
#define SR2_CMP     0x40u
#define RESET_SPINS 20000u /* tRST 30 us at up to 480 MHz [U] */

typedef struct pin {
	uint8_t port, pin, af;
} pin;

/* Board-specific: the QUADSPI pins of the common STM32H743/H750 + W25Qxx boards (CubeMX
 * MspInit of such boards: PB2 CLK AF9, PB6 BK1_NCS AF10, PD11/PD12 IO0/IO1 AF9, PE2 IO2 AF9,
 * PD13 IO3 AF9). Another board changes this table. */
static const pin pins[] = {
    {PORT_B, 2, 9},  {PORT_B, 6, 10}, {PORT_D, 11, 9},
    {PORT_D, 12, 9}, {PORT_E, 2, 9},  {PORT_D, 13, 9},
};

/* One indirect command: ccr without FMODE bits (write) or with CCR_FMODE_RD; len data bytes
 * from tx or into rx. */
static bool command(uint32_t ccr, uint32_t address, const uint8_t *tx, uint8_t *rx, uint32_t len)
{
	if (!ldr_wait(Q_SR, SR_BUSY, 0))
		return false;
	REG(Q_FCR) = FCR_ALL;
	if (len)
		REG(Q_DLR) = len - 1u;
	REG(Q_CCR) = ccr;
	if (ccr & CCR_ADMODE4)
		REG(Q_AR) = address;
	volatile uint8_t *dr = (volatile uint8_t *)(uintptr_t)Q_DR;
	for (uint32_t i = 0; i < len; i++) {
		if (rx) {
			if (!ldr_wait_any(Q_SR, SR_FLEVEL | SR_TEF) || (REG(Q_SR) & SR_TEF))
				return false;
			rx[i] = *dr;
		} else {
			if (REG(Q_SR) & SR_TEF)
				return false;
			*dr = tx[i];
		}
	}
	bool ok = ldr_wait(Q_SR, SR_TCF, SR_TCF) && !(REG(Q_SR) & SR_TEF);
	REG(Q_FCR) = FCR_ALL;
	return ok;
}

static bool instruction(uint8_t op)
{
	return command(CCR_IMODE1 | op, 0, 0, 0, 0);
}

static bool read_reg(uint8_t op, uint8_t *value, uint32_t len)
{
	return command(CCR_FMODE_RD | CCR_DMODE1 | CCR_IMODE1 | op, 0, 0, value, len);
}

/* Automatic polling of SR1 until (SR1 & mask) == match. The flash's own time: not bounded here. */
static bool poll_sr1(uint8_t mask, uint8_t match)
{
	if (!ldr_wait(Q_SR, SR_BUSY, 0))
		return false;
	REG(Q_FCR) = FCR_ALL;
	REG(Q_PSMKR) = mask;
	REG(Q_PSMAR) = match;
	REG(Q_PIR) = 0x10;
	REG(Q_DLR) = 0;
	REG(Q_CR) |= CR_APMS;
	REG(Q_CCR) = CCR_FMODE_APM | CCR_DMODE1 | CCR_IMODE1 | OP_RDSR1;
	uint32_t sr;
	do
		sr = REG(Q_SR);
	while (!(sr & (SR_SMF | SR_TEF)));
	REG(Q_FCR) = FCR_ALL;
	return !(sr & SR_TEF);
}

static bool write_enable(bool volatile_sr)
{
	return instruction(volatile_sr ? OP_VWREN : OP_WREN) &&
	       (volatile_sr || poll_sr1(SR1_WEL, SR1_WEL));
}

static bool wait_ready(void)
{
	return poll_sr1(SR1_BUSY, 0);
}

bool ldr_dev_init(void)
{
	REG(RCC_AHB4ENR) |= 1u << PORT_B | 1u << PORT_D | 1u << PORT_E;
	REG(RCC_AHB3ENR) |= AHB3_QSPI;
	(void)REG(RCC_AHB3ENR); /* the enable takes effect before the first access */
	REG(RCC_AHB3RSTR) |= AHB3_QSPI;
	REG(RCC_AHB3RSTR) &= ~AHB3_QSPI;
	for (unsigned i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		ldr_pin_af(GPIO_BASE(pins[i].port), pins[i].pin, pins[i].af);
	/* a QUADSPI a previous program left memory-mapped keeps BUSY until ABORT */
	REG(Q_CR) |= CR_ABORT;
	if (!ldr_wait(Q_SR, SR_BUSY, 0))
		return false;
	REG(Q_CR) = 0;
	REG(Q_DCR) = DCR_FSIZE | DCR_CSHT;
	REG(Q_CR) = CR_PRESCALER | CR_SSHIFT | CR_EN;
	/* software reset: whatever a previous session left (4-byte mode, volatile bits, a suspended
	 * operation) goes */
	if (!instruction(OP_RSTEN) || !instruction(OP_RST))
		return false;
	ldr_spin(RESET_SPINS);
	uint8_t id[3], sr2;
	if (!read_reg(OP_RDID, id, 3) ||
	    ((uint32_t)id[0] << 16 | (uint32_t)id[1] << 8 | id[2]) != NOR_JEDEC)
		return false;
	if (!read_reg(OP_RDSR2, &sr2, 1))
		return false;
	if (sr2 & SR2_QE)
		return true;
	/* QE enables the quad phases; set it in the volatile copy only (no non-volatile wear) */
	sr2 |= SR2_QE;
	return write_enable(true) && command(CCR_DMODE1 | CCR_IMODE1 | OP_WRSR2, 0, &sr2, 0, 1) &&
	       wait_ready();
}

bool ldr_dev_protected(void)
{
	uint8_t sr1 = 0xFF, sr2 = 0xFF;
	bool ok = read_reg(OP_RDSR1, &sr1, 1) && read_reg(OP_RDSR2, &sr2, 1);
	return !ok || (sr1 & SR1_BP) || (sr2 & SR2_CMP);
}

bool ldr_dev_erase(uint32_t offset, uint32_t size)
{
	uint32_t ccr = size == NOR_BLOCK ? CCR_ADSIZE32 | OP_BE64K_4B : CCR_ADSIZE32 | OP_SE4K_4B;
	if (LDR_FAULT_3BYTE)
		ccr = size == NOR_BLOCK ? ccr : CCR_ADSIZE24 | OP_SE4K_3B;
	return write_enable(false) && command(ccr | CCR_ADMODE1 | CCR_IMODE1, offset, 0, 0, 0) &&
	       wait_ready();
}

bool ldr_dev_chip_erase(void)
{
	return write_enable(false) && instruction(OP_CE) && wait_ready();
}

bool ldr_dev_program(uint32_t offset, const uint8_t *data, uint32_t len)
{
	uint32_t ccr = LDR_FAULT_3BYTE ? CCR_DMODE1 | CCR_ADSIZE24 | OP_PP_3B
	                               : CCR_DMODE4 | CCR_ADSIZE32 | OP_PP4_QUAD;
	return write_enable(false) &&
	       command(ccr | CCR_ADMODE1 | CCR_IMODE1, offset, data, 0, len) && wait_ready();
}

bool ldr_dev_mapped(bool on)
{
	bool mapped = (REG(Q_SR) & SR_BUSY) && (REG(Q_CCR) & CCR_FMODE) == CCR_FMODE_MM;
	if (mapped == on)
		return true;
	if (!on) {
		REG(Q_CR) |= CR_ABORT;
		return ldr_wait(Q_SR, SR_BUSY, 0);
	}
	if (!ldr_wait(Q_SR, SR_BUSY, 0))
		return false;
	REG(Q_FCR) = FCR_ALL;
	REG(Q_ABR) = 0xFF; /* M7-0: M5-4 != 10b keeps the flash out of continuous-read mode */
	REG(Q_CCR) = CCR_FMODE_MM | CCR_DMODE4 | CCR_DCYC(4) | CCR_ABMODE4 | CCR_ADSIZE32 |
	             CCR_ADMODE4 | CCR_IMODE1 | OP_FRQIO_4B;
	return true;
}
