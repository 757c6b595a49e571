/* Macronix MX25UM51245G (64 MB) on the STM32N657 XSPI2, window 0x70000000: the NUCLEO-N657X0-Q
 * (MB1940). Protocol: Init resets the flash from SPI, octal STR and octal DTR alike (a warm reset
 * leaves it in the octal mode the boot ROM or an application chose, CATALOGUE N05), reads the
 * JEDEC ID in SPI, sets 20 dummy cycles and enters octal STR (SOPI, 8S-8S-8S) by CR2; every
 * later command is an octal 2-byte one (cmd, ~cmd) with a 4-byte address: page program 12EDh,
 * erases 21DEh / DC23h / 609Fh, status polled by automatic polling of RDSR 05FAh, reads 8READ
 * EC13h memory-mapped. DTR (DOPI) would need DQS and the Macronix memory type; STR is enough for
 * programming.
 *
 * Registers: CMSIS stm32n657xx.h XSPI_TypeDef (CR 000, DCR1 008, DCR2 00C, SR 020, FCR 024, DLR
 * 040, AR 048, DR 050, PSMKR 080, PSMAR 088, PIR 090, CCR 100, TCR 108, IR 110; the OCTOSPI
 * layout, RM0486), used at their secure addresses (*_BASE_S = *_BASE_NS + 0x10000000): in
 * development boot the core runs secure. Flash facts: devices.md §6.3. */
#include "hw.h"
#include "loader.h"

#ifndef LOADER_NAME
#define LOADER_NAME "MX25UM51245G_nucleo-n657x0-q"
#endif

#define NOR_BASE   0x70000000u /* XSPI2 window (devices.md §1.6) */
#define NOR_SIZE   0x4000000u  /* 64 MB (devices.md §6.3) */
#define NOR_PAGE   0x100u
#define NOR_SECTOR 0x1000u
#define NOR_BLOCK  0x10000u
#define NOR_JEDEC  0xC2803Au /* devices.md §6.3: Macronix Linux table "mx25um51245g" */

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

/* RCC (RCC_BASE_S 0x56028000; CMSIS-N6 AHB4ENR 0x25C GPIONEN b13, AHB5ENR 0x260 XSPI2EN b12,
 * XSPIMEN b13 [U: offsets and bits from unofficial copies of stm32n657xx.h, not the RM]) */
#define RCC_AHB4ENR  0x5602825Cu
#define RCC_AHB5ENR  0x56028260u
#define AHB4_GPION   (1u << 13)
#define AHB5_XSPI2   (1u << 12)
#define AHB5_XSPIM   (1u << 13)
#define GPION        0x56023400u /* GPIOA_BASE_S 0x56020000 + 13 * 0x400 [U] */
#define AF9_XSPIM_P2 9u          /* N6BSP / CubeMX: GPIO_AF9_XSPIM_P2 on PN0-PN6, PN8-PN11 */

/* XSPI2 (XSPI2_BASE_S) */
#define XSPI         0x5802A000u
#define X_CR         (XSPI + 0x000u)
#define X_DCR1       (XSPI + 0x008u)
#define X_DCR2       (XSPI + 0x00Cu)
#define X_SR         (XSPI + 0x020u)
#define X_FCR        (XSPI + 0x024u)
#define X_DLR        (XSPI + 0x040u)
#define X_AR         (XSPI + 0x048u)
#define X_DR         (XSPI + 0x050u)
#define X_PSMKR      (XSPI + 0x080u)
#define X_PSMAR      (XSPI + 0x088u)
#define X_PIR        (XSPI + 0x090u)
#define X_CCR        (XSPI + 0x100u)
#define X_TCR        (XSPI + 0x108u)
#define X_IR         (XSPI + 0x110u)
#define CR_EN        (1u << 0)
#define CR_ABORT     (1u << 1)
#define CR_APMS      (1u << 22)
#define CR_FMODE     (3u << 28)
#define CR_FMODE_RD  (1u << 28)
#define CR_FMODE_APM (2u << 28)
#define CR_FMODE_MM  (3u << 28)
#define DCR1_DEVSIZE (25u << 16) /* 2^(25+1) bytes */
#define DCR1_CSHT    (3u << 8)   /* 4 cycles high between commands */
#define DCR2_PRESC   3u          /* kernel clock / 4 */
#define SR_TEF       (1u << 0)
#define SR_TCF       (1u << 1)
#define SR_SMF       (1u << 3)
#define SR_BUSY      (1u << 5)
#define SR_FLEVEL    (0x7Fu << 8)
#define FCR_ALL      0x1Bu
#define CCR_IMODE1   (1u << 0)
#define CCR_IMODE8   (4u << 0)
#define CCR_IDTR     (1u << 3)
#define CCR_ISIZE16  (1u << 4)
#define CCR_ADMODE1  (1u << 8)
#define CCR_ADMODE8  (4u << 8)
#define CCR_ADSIZE32 (3u << 12)
#define CCR_DMODE1   (1u << 24)
#define CCR_DMODE8   (4u << 24)

/* MX25UM51245G opcodes (devices.md §6.3); in octal modes the second byte is the complement */
#define OP_RSTEN      0x66u
#define OP_RST        0x99u
#define OP_RDID       0x9Fu
#define OP_WREN       0x06u
#define OP_RDSR       0x05u
#define OP_RDCR2      0x71u
#define OP_WRCR2      0x72u
#define OP_PP4        0x12u
#define OP_SE4K       0x21u
#define OP_BE64K      0xDCu
#define OP_CE         0x60u
#define OP_8READ      0xECu
#define SR_WIP        0x01u
#define SR_WEL        0x02u
#define SR_BP         0x3Cu
#define CR2_MODE      0x00000000u /* CR2 address of SOPI/DOPI */
#define CR2_DC        0x00000300u /* CR2 address of the dummy-cycle code */
#define CR2_SOPI      0x01u
#define DC_20         0x00u /* code 0: 20 dummy cycles */
#define OPI_DUMMY     20u
#define OPI_REG_DUMMY 4u /* register reads in octal STR (conf template DUMMY_CYCLES_REG_OCTAL) */
#define RESET_SPINS   40000u /* tRST (tens of us) at up to 800 MHz [U] */

typedef enum proto { SPI, SOPI, DOPI } proto;

/* One indirect command. */
typedef struct xfer {
	proto p;
	uint8_t op;
	bool address, read;
	uint32_t addr;
	uint8_t dummy;
	const uint8_t *tx;
	uint8_t *rx;
	uint32_t len;
} xfer;

static uint32_t ccr_of(const xfer *x)
{
	uint32_t ccr = x->p == SPI ? CCR_IMODE1 : CCR_IMODE8 | CCR_ISIZE16;
	if (x->p == DOPI)
		ccr |= CCR_IDTR;
	if (x->address)
		ccr |= (x->p == SPI ? CCR_ADMODE1 : CCR_ADMODE8) | CCR_ADSIZE32;
	if (x->len)
		ccr |= x->p == SPI ? CCR_DMODE1 : CCR_DMODE8;
	return ccr;
}

static uint32_t ir_of(const xfer *x)
{
	return x->p == SPI ? x->op : (uint32_t)x->op << 8 | (uint8_t)~x->op;
}

/* Programs the command registers; the command starts at IR (no address) or AR. */
static void issue(const xfer *x, uint32_t fmode)
{
	REG(X_FCR) = FCR_ALL;
	REG(X_CR) = (REG(X_CR) & ~(CR_FMODE | CR_APMS)) | fmode;
	if (x->len)
		REG(X_DLR) = x->len - 1u;
	REG(X_CCR) = ccr_of(x);
	REG(X_TCR) = x->dummy;
	REG(X_IR) = ir_of(x);
	if (x->address)
		REG(X_AR) = x->addr;
}

static bool command(const xfer *x)
{
	if (!ldr_wait(X_SR, SR_BUSY, 0))
		return false;
	issue(x, x->read ? CR_FMODE_RD : 0);
	volatile uint8_t *dr = (volatile uint8_t *)(uintptr_t)X_DR;
	for (uint32_t i = 0; i < x->len; i++) {
		if (x->read) {
			if (!ldr_wait_any(X_SR, SR_FLEVEL | SR_TEF) || (REG(X_SR) & SR_TEF))
				return false;
			x->rx[i] = *dr;
		} else {
			if (REG(X_SR) & SR_TEF)
				return false;
			*dr = x->tx[i];
		}
	}
	bool ok = ldr_wait(X_SR, SR_TCF, SR_TCF) && !(REG(X_SR) & SR_TEF);
	REG(X_FCR) = FCR_ALL;
	return ok;
}

static bool simple(proto p, uint8_t op)
{
	xfer x = {.p = p, .op = op};
	return command(&x);
}

/* Automatic polling of the status register (octal) until (SR & mask) == match; the flash's own
 * time is not bounded here. */
static bool poll_sr(uint8_t mask, uint8_t match)
{
	if (!ldr_wait(X_SR, SR_BUSY, 0))
		return false;
	REG(X_PSMKR) = mask;
	REG(X_PSMAR) = match;
	REG(X_PIR) = 0x10;
	xfer x = {.p = SOPI, .op = OP_RDSR, .address = true, .dummy = OPI_REG_DUMMY, .len = 1};
	issue(&x, CR_FMODE_APM | CR_APMS);
	uint32_t sr;
	do
		sr = REG(X_SR);
	while (!(sr & (SR_SMF | SR_TEF)));
	REG(X_FCR) = FCR_ALL;
	return !(sr & SR_TEF);
}

static bool write_enable(proto p)
{
	return simple(p, OP_WREN) && (p == SPI || poll_sr(SR_WEL, SR_WEL));
}

static bool write_cr2_spi(uint32_t addr, uint8_t value)
{
	xfer x = {.p = SPI, .op = OP_WRCR2, .address = true, .addr = addr, .tx = &value, .len = 1};
	return write_enable(SPI) && command(&x);
}

static bool read_sr(uint8_t *sr)
{
	xfer x = {.p = SOPI,
	          .op = OP_RDSR,
	          .address = true,
	          .read = true,
	          .dummy = OPI_REG_DUMMY,
	          .rx = sr,
	          .len = 1};
	return command(&x);
}

static bool abort_mapped(void)
{
	/* FMODE cleared with ABORT: a controller that maps on FMODE=11 must not map again */
	REG(X_CR) = (REG(X_CR) & ~CR_FMODE) | CR_ABORT;
	return ldr_wait(X_SR, SR_BUSY, 0);
}

bool ldr_dev_init(void)
{
	static const uint8_t pins[] = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11};
	REG(RCC_AHB4ENR) |= AHB4_GPION;
	REG(RCC_AHB5ENR) |= AHB5_XSPI2 | AHB5_XSPIM;
	(void)REG(RCC_AHB5ENR); /* the enable takes effect before the first access */
	for (unsigned i = 0; i < sizeof(pins); i++)
		ldr_pin_af(GPION, pins[i], AF9_XSPIM_P2);
	if (!abort_mapped())
		return false;
	REG(X_CR) = 0;
	REG(X_DCR1) = DCR1_DEVSIZE | DCR1_CSHT;
	REG(X_DCR2) = DCR2_PRESC;
	REG(X_CR) = CR_EN;
	/* reset in every protocol the flash may be in: in the others the bus shows no command */
	static const proto protos[] = {DOPI, SOPI, SPI};
	for (unsigned i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!simple(protos[i], OP_RSTEN) || !simple(protos[i], OP_RST))
			return false;
	ldr_spin(RESET_SPINS);
	uint8_t id[3];
	xfer rdid = {.p = SPI, .op = OP_RDID, .read = true, .rx = id, .len = 3};
	if (!command(&rdid) || ((uint32_t)id[0] << 16 | (uint32_t)id[1] << 8 | id[2]) != NOR_JEDEC)
		return false;
	if (!write_cr2_spi(CR2_DC, DC_20) || !write_cr2_spi(CR2_MODE, CR2_SOPI))
		return false;
	uint8_t mode = 0;
	xfer rdcr2 = {.p = SOPI,
	              .op = OP_RDCR2,
	              .address = true,
	              .addr = CR2_MODE,
	              .read = true,
	              .dummy = OPI_REG_DUMMY,
	              .rx = &mode,
	              .len = 1};
	return poll_sr(SR_WIP, 0) && command(&rdcr2) && mode == CR2_SOPI;
}

bool ldr_dev_protected(void)
{
	uint8_t sr = 0xFF;
	return !read_sr(&sr) || (sr & SR_BP);
}

bool ldr_dev_erase(uint32_t offset, uint32_t size)
{
	xfer x = {.p = SOPI,
	          .op = size == NOR_BLOCK ? OP_BE64K : OP_SE4K,
	          .address = true,
	          .addr = offset};
	return write_enable(SOPI) && command(&x) && poll_sr(SR_WIP, 0);
}

bool ldr_dev_chip_erase(void)
{
	return write_enable(SOPI) && simple(SOPI, OP_CE) && poll_sr(SR_WIP, 0);
}

bool ldr_dev_program(uint32_t offset, const uint8_t *data, uint32_t len)
{
	xfer x = {.p = SOPI, .op = OP_PP4, .address = true, .addr = offset, .tx = data, .len = len};
	return write_enable(SOPI) && command(&x) && poll_sr(SR_WIP, 0);
}

bool ldr_dev_mapped(bool on)
{
	bool mapped = (REG(X_SR) & SR_BUSY) && (REG(X_CR) & CR_FMODE) == CR_FMODE_MM;
	if (mapped == on)
		return true;
	if (!on)
		return abort_mapped();
	if (!ldr_wait(X_SR, SR_BUSY, 0))
		return false;
	REG(X_FCR) = FCR_ALL;
	REG(X_CR) &= ~CR_FMODE;
	REG(X_CCR) = CCR_DMODE8 | CCR_ADSIZE32 | CCR_ADMODE8 | CCR_ISIZE16 | CCR_IMODE8;
	REG(X_TCR) = OPI_DUMMY;
	REG(X_IR) = (uint32_t)OP_8READ << 8 | (uint8_t)~OP_8READ;
	REG(X_CR) |= CR_FMODE_MM;
	return true;
}
