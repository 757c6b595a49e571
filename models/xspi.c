/* QUADSPI / OCTOSPI / XSPI controller model; the contract is in xspi.h.
 *
 * Sources: CMSIS stm32h743xx.h (QUADSPI_TypeDef and QUADSPI_* bit positions), stm32h723xx.h
 * (OCTOSPI_TypeDef, OCTOSPI_*), stm32n657xx.h (XSPI_TypeDef, XSPI_*), read from
 * STMicroelectronics/cmsis_device_h7 and cmsis-device-n6. Command start rules: the register
 * sequences of STM32CubeH7 HAL_QSPI_Command/Transmit/Receive/AutoPolling/MemoryMapped and their
 * HAL_OSPI counterparts (the last register each writes starts the command) [U: RM text not
 * quoted].
 */
#include "models/xspi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registers, named as CMSIS names them; offsets per layout below. */
typedef enum reg_id {
	R_CR,
	R_DCR1, /* QUADSPI DCR */
	R_DCR2,
	R_DCR3,
	R_DCR4,
	R_SR,
	R_FCR,
	R_DLR,
	R_CCR,
	R_TCR,
	R_IR,
	R_AR,
	R_ABR,
	R_DR,
	R_PSMKR,
	R_PSMAR,
	R_PIR,
	R_LPTR,
	R_WPCCR,
	R_WPTCR,
	R_WPIR,
	R_WPABR,
	R_WCCR,
	R_WTCR,
	R_WIR,
	R_WABR,
	R_HLCR,
	R_COUNT,
} reg_id;

#define NONE 0xFFFFu

static const char *const reg_names[R_COUNT] = {
    "CR",    "DCR1",  "DCR2", "DCR3",  "DCR4", "SR",    "FCR",   "DLR",  "CCR",
    "TCR",   "IR",    "AR",   "ABR",   "DR",   "PSMKR", "PSMAR", "PIR",  "LPTR",
    "WPCCR", "WPTCR", "WPIR", "WPABR", "WCCR", "WTCR",  "WIR",   "WABR", "HLCR",
};

/* CMSIS QUADSPI_TypeDef */
static const uint16_t quadspi_offsets[R_COUNT] = {
    [R_CR] = 0x00,    [R_DCR1] = 0x04,  [R_DCR2] = NONE, [R_DCR3] = NONE,  [R_DCR4] = NONE,
    [R_SR] = 0x08,    [R_FCR] = 0x0C,   [R_DLR] = 0x10,  [R_CCR] = 0x14,   [R_TCR] = NONE,
    [R_IR] = NONE,    [R_AR] = 0x18,    [R_ABR] = 0x1C,  [R_DR] = 0x20,    [R_PSMKR] = 0x24,
    [R_PSMAR] = 0x28, [R_PIR] = 0x2C,   [R_LPTR] = 0x30, [R_WPCCR] = NONE, [R_WPTCR] = NONE,
    [R_WPIR] = NONE,  [R_WPABR] = NONE, [R_WCCR] = NONE, [R_WTCR] = NONE,  [R_WIR] = NONE,
    [R_WABR] = NONE,  [R_HLCR] = NONE,
};

/* CMSIS OCTOSPI_TypeDef; XSPI_TypeDef has the same offsets for these registers */
static const uint16_t octospi_offsets[R_COUNT] = {
    [R_CR] = 0x000,    [R_DCR1] = 0x008,  [R_DCR2] = 0x00C, [R_DCR3] = 0x010,  [R_DCR4] = 0x014,
    [R_SR] = 0x020,    [R_FCR] = 0x024,   [R_DLR] = 0x040,  [R_CCR] = 0x100,   [R_TCR] = 0x108,
    [R_IR] = 0x110,    [R_AR] = 0x048,    [R_ABR] = 0x120,  [R_DR] = 0x050,    [R_PSMKR] = 0x080,
    [R_PSMAR] = 0x088, [R_PIR] = 0x090,   [R_LPTR] = 0x130, [R_WPCCR] = 0x140, [R_WPTCR] = 0x148,
    [R_WPIR] = 0x150,  [R_WPABR] = 0x160, [R_WCCR] = 0x180, [R_WTCR] = 0x188,  [R_WIR] = 0x190,
    [R_WABR] = 0x1A0,  [R_HLCR] = 0x200,
};

/* CR (all layouts) */
#define CR_EN           (1u << 0)
#define CR_ABORT        (1u << 1)
#define CR_FTHRES_SHIFT 8
#define CR_TEIE         (1u << 16)
#define CR_TCIE         (1u << 17)
#define CR_FTIE         (1u << 18)
#define CR_SMIE         (1u << 19)
#define CR_TOIE         (1u << 20)
#define CR_APMS         (1u << 22)
#define CR_PMM          (1u << 23)
#define CR_FMODE_SHIFT  28 /* OCTOSPI, XSPI */
/* SR, FCR */
#define SR_TEF          (1u << 0)
#define SR_TCF          (1u << 1)
#define SR_FTF          (1u << 2)
#define SR_SMF          (1u << 3)
#define SR_TOF          (1u << 4)
#define SR_BUSY         (1u << 5)
#define SR_FLEVEL_SHIFT 8
#define FCR_MASK        (SR_TEF | SR_TCF | SR_SMF | SR_TOF)
#define FIFO_BYTES      32u /* QUADSPI, OCTOSPI FIFO depth */

enum fmode { FMODE_WRITE, FMODE_READ, FMODE_POLL, FMODE_MAPPED };

typedef enum state {
	IDLE,
	COLLECTING, /* indirect write: waiting for DLR + 1 bytes in DR */
	DRAINING,   /* indirect read: bytes wait in DR */
	POLLING,
	MAPPED,
} state;

/* One command as the registers describe it. */
typedef struct cmd {
	enum fmode fmode;
	uint32_t instruction;
	uint8_t instruction_bytes, instruction_lines;
	uint8_t address_bytes, address_lines;
	uint8_t alternate_bytes, alternate_lines;
	uint8_t dummy;
	uint8_t data_lines;
	bool dtr_mixed; /* the present phases disagree on DTR */
	bool dtr;
} cmd;

struct ft_xspi {
	ft_xspi_variant variant;
	ft_nor *nor;
	const uint16_t *offsets;
	uint32_t regs[R_COUNT];
	uint32_t flags; /* TEF TCF SMF TOF */
	state st;
	uint8_t *buf; /* FT_XSPI_MAX_TRANSFER bytes */
	size_t len;   /* bytes of the data phase */
	size_t pos;   /* bytes moved through DR so far */
	bool mapped_ok;
	uint32_t generation;
	ft_diag last;
};

static unsigned lines_of(uint32_t mode)
{
	static const uint8_t lines[8] = {0, 1, 2, 4, 8, 0, 0, 0};
	return lines[mode & 7u];
}

/* Decodes the command registers of the layout. */
static cmd decode(const ft_xspi *x)
{
	const uint32_t *r = x->regs;
	cmd c = {0};
	bool dtr[4] = {false, false, false, false}; /* instruction, address, alternate, data */
	bool present[4];
	if (x->variant == FT_XSPI_QUADSPI) {
		uint32_t ccr = r[R_CCR];
		bool ddr = (ccr >> 31) & 1u; /* DDRM: address, alternate and data in DDR */
		c.fmode = (enum fmode)((ccr >> 26) & 3u);
		c.instruction = ccr & 0xFFu;
		c.instruction_bytes = 1;
		c.instruction_lines = (uint8_t)lines_of((ccr >> 8) & 3u);
		c.address_lines = (uint8_t)lines_of((ccr >> 10) & 3u);
		c.address_bytes = (uint8_t)(((ccr >> 12) & 3u) + 1);
		c.alternate_lines = (uint8_t)lines_of((ccr >> 14) & 3u);
		c.alternate_bytes = (uint8_t)(((ccr >> 16) & 3u) + 1);
		c.dummy = (uint8_t)((ccr >> 18) & 0x1Fu);
		c.data_lines = (uint8_t)lines_of((ccr >> 24) & 3u);
		dtr[1] = dtr[2] = dtr[3] = ddr;
	} else {
		uint32_t ccr = r[R_CCR];
		c.fmode = (enum fmode)((r[R_CR] >> CR_FMODE_SHIFT) & 3u);
		c.instruction = r[R_IR];
		c.instruction_lines = (uint8_t)lines_of(ccr & 7u);
		dtr[0] = (ccr >> 3) & 1u;
		c.instruction_bytes = (uint8_t)(((ccr >> 4) & 3u) + 1);
		c.address_lines = (uint8_t)lines_of((ccr >> 8) & 7u);
		dtr[1] = (ccr >> 11) & 1u;
		c.address_bytes = (uint8_t)(((ccr >> 12) & 3u) + 1);
		c.alternate_lines = (uint8_t)lines_of((ccr >> 16) & 7u);
		dtr[2] = (ccr >> 19) & 1u;
		c.alternate_bytes = (uint8_t)(((ccr >> 20) & 3u) + 1);
		c.data_lines = (uint8_t)lines_of((ccr >> 24) & 7u);
		dtr[3] = (ccr >> 27) & 1u;
		c.dummy = (uint8_t)(r[R_TCR] & 0x1Fu);
	}
	present[0] = c.instruction_lines != 0;
	present[1] = c.address_lines != 0;
	present[2] = c.alternate_lines != 0;
	present[3] = c.data_lines != 0;
	int first = -1;
	for (int i = 0; i < 4; i++) {
		if (!present[i])
			continue;
		if (first < 0)
			first = i;
		else if (dtr[i] != dtr[first])
			c.dtr_mixed = true;
	}
	c.dtr = first >= 0 && dtr[first];
	return c;
}

static void reset_state(ft_xspi *x)
{
	x->st = IDLE;
	x->len = x->pos = 0;
	x->mapped_ok = false;
}

ft_error ft_xspi_new(ft_xspi_variant variant, ft_nor *nor, ft_xspi **out, ft_diag *diag)
{
	if (!out ||
	    (variant != FT_XSPI_QUADSPI && variant != FT_XSPI_OCTOSPI && variant != FT_XSPI_XSPI))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "xspi", "NULL out or unknown variant");
	ft_xspi *x = calloc(1, sizeof(*x));
	uint8_t *buf = malloc(FT_XSPI_MAX_TRANSFER);
	if (!x || !buf) {
		free(x);
		free(buf);
		return ft_diag_set(diag, FT_ERR_NO_MEM, "xspi", "controller");
	}
	x->variant = variant;
	x->nor = nor;
	x->buf = buf;
	x->offsets = variant == FT_XSPI_QUADSPI ? quadspi_offsets : octospi_offsets;
	ft_xspi_reset(x);
	*out = x;
	return FT_OK;
}

void ft_xspi_free(ft_xspi *x)
{
	if (!x)
		return;
	free(x->buf);
	free(x);
}

void ft_xspi_reset(ft_xspi *x)
{
	memset(x->regs, 0, sizeof(x->regs)); /* every register resets to 0 [U: RM reset values] */
	x->flags = 0;
	reset_state(x);
	ft_diag_clear(&x->last);
}

/* Runs one flash transaction for command c with len data bytes in x->buf. False when the flash
 * ignored it (read bytes are then 0xFF; x->last says why). */
static bool transact(ft_xspi *x, const cmd *c, size_t len, bool data_in)
{
	if (!x->nor) {
		memset(x->buf, 0xFF, len);
		ft_diag_set(&x->last, FT_ERR_STATE, "xspi", "no flash on this controller");
		return false;
	}
	ft_nor_xfer xfer = {
	    .instruction = (uint16_t)c->instruction,
	    .instruction_bytes = c->instruction_bytes,
	    .instruction_lines = c->instruction_lines,
	    .dtr = c->dtr,
	    .has_address = c->address_lines != 0,
	    .address_bytes = c->address_bytes,
	    .address_lines = c->address_lines,
	    .address = x->regs[R_AR],
	    .alternate_bytes = c->alternate_lines ? c->alternate_bytes : 0,
	    .alternate_lines = c->alternate_lines,
	    .alternate = x->regs[R_ABR],
	    .dummy_cycles = c->dummy,
	    .data_lines = len ? c->data_lines : 0,
	    .data_in = data_in,
	    .data = len ? x->buf : NULL,
	    .data_len = len,
	};
	ft_diag d;
	ft_diag_clear(&d);
	if (ft_nor_transfer(x->nor, &xfer, &d) != FT_OK) {
		x->last = d;
		return false;
	}
	return true;
}

/* Refuses a command the controller would not send; sets TEF. */
static void refuse(ft_xspi *x, const char *register_name, const char *why)
{
	x->flags |= SR_TEF;
	ft_diag_set(&x->last, FT_ERR_STATE, register_name, "%s", why);
	reset_state(x);
}

/* Data-phase length from DLR (DLR + 1 bytes), or 0 without a data phase; false when too long. */
static bool data_length(ft_xspi *x, const cmd *c, size_t *len)
{
	*len = 0;
	if (!c->data_lines)
		return true;
	uint64_t n = (uint64_t)x->regs[R_DLR] + 1;
	if (n > FT_XSPI_MAX_TRANSFER)
		return false;
	*len = (size_t)n;
	return true;
}

static void poll_once(ft_xspi *x)
{
	cmd c = decode(x);
	size_t len = x->len;
	bool ok = transact(x, &c, len, true);
	uint32_t status = 0;
	for (size_t i = 0; i < len && i < 4; i++)
		status |= (uint32_t)x->buf[i] << (8 * i);
	uint32_t mask = x->regs[R_PSMKR], match = x->regs[R_PSMAR];
	bool hit = (x->regs[R_CR] & CR_PMM) ? ((~(status ^ match)) & mask) != 0
	                                    : ((status ^ match) & mask) == 0;
	if (!ok || !hit)
		return;
	x->flags |= SR_SMF;
	if (x->regs[R_CR] & CR_APMS) {
		x->flags |= SR_TCF;
		reset_state(x);
	}
}

static void enter_mapped(ft_xspi *x)
{
	cmd c = decode(x);
	reset_state(x);
	x->st = MAPPED;
	if (c.dtr_mixed) {
		ft_diag_set(&x->last, FT_ERR_PROTOCOL, "xspi",
		            "memory-mapped read command mixes STR and DTR phases");
		return;
	}
	/* one byte with the configured read command tells whether the flash accepts it */
	x->mapped_ok = transact(x, &c, 1, true);
	if (x->mapped_ok)
		x->generation++;
}

/* Starts the configured command (indirect or polling; memory-mapped is entered elsewhere). */
static void start(ft_xspi *x)
{
	cmd c = decode(x);
	if (!(x->regs[R_CR] & CR_EN)) {
		refuse(x, "CR", "command while EN is clear");
		return;
	}
	if (c.dtr_mixed) {
		refuse(x, "CCR", "the command's phases mix STR and DTR");
		return;
	}
	size_t len;
	if (!data_length(x, &c, &len)) {
		refuse(x, "DLR", "data phase longer than the model buffers");
		return;
	}
	reset_state(x);
	x->len = len;
	switch (c.fmode) {
	case FMODE_WRITE:
		if (len) {
			x->st = COLLECTING;
			return;
		}
		transact(x, &c, 0, false);
		x->flags |= SR_TCF;
		return;
	case FMODE_READ:
		transact(x, &c, len, true);
		x->flags |= SR_TCF;
		x->st = len ? DRAINING : IDLE;
		return;
	case FMODE_POLL:
		if (!len || len > 4) {
			refuse(x, "DLR", "automatic polling reads 1 to 4 status bytes");
			return;
		}
		x->st = POLLING;
		poll_once(x);
		return;
	case FMODE_MAPPED: enter_mapped(x); return;
	}
}

/* The register write that starts a command: IR (CCR on QUADSPI) without an address phase, AR
 * with one; an indirect write with data waits for DR instead. */
static void maybe_start(ft_xspi *x, reg_id written)
{
	cmd c = decode(x);
	if (c.fmode == FMODE_MAPPED) {
		if (x->variant == FT_XSPI_QUADSPI && written == R_CCR)
			enter_mapped(x);
		return;
	}
	if (c.fmode == FMODE_WRITE && c.data_lines)
		return;
	reg_id trigger = c.address_lines ? R_AR : x->variant == FT_XSPI_QUADSPI ? R_CCR : R_IR;
	if (written == trigger)
		start(x);
}

static uint32_t status(ft_xspi *x)
{
	uint32_t sr = x->flags;
	size_t waiting = 0;
	if (x->st == DRAINING)
		waiting = x->len - x->pos;
	if (x->st != IDLE)
		sr |= SR_BUSY;
	unsigned thres = ((x->regs[R_CR] >> CR_FTHRES_SHIFT) & 0x1Fu) + 1;
	if ((x->st == DRAINING && (waiting >= thres || x->pos + waiting == x->len)) ||
	    x->st == COLLECTING)
		sr |= SR_FTF;
	size_t level = waiting < FIFO_BYTES ? waiting : FIFO_BYTES;
	return sr | (uint32_t)level << SR_FLEVEL_SHIFT;
}

static ft_error locate(const ft_xspi *x, uint32_t offset, reg_id *id)
{
	for (int i = 0; i < R_COUNT; i++) {
		if (x->offsets[i] != NONE && offset / 4 * 4 == x->offsets[i]) {
			*id = (reg_id)i;
			return FT_OK;
		}
	}
	return FT_ERR_NOT_FOUND;
}

const char *ft_xspi_reg_name(const ft_xspi *x, uint32_t offset)
{
	reg_id id;
	return x && locate(x, offset, &id) == FT_OK ? reg_names[id] : NULL;
}

static ft_error check_access(const ft_xspi *x, uint32_t offset, unsigned size, const void *p)
{
	if (!x || !p || (size != 1 && size != 2 && size != 4))
		return FT_ERR_INVALID_ARG;
	if (offset >= FT_XSPI_REG_SPAN || offset % size)
		return FT_ERR_RANGE;
	return FT_OK;
}

static uint32_t dr_read(ft_xspi *x, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		if (x->st != DRAINING)
			break;
		v |= (uint32_t)x->buf[x->pos++] << (8 * i);
		if (x->pos == x->len)
			reset_state(x);
	}
	return v;
}

static void dr_write(ft_xspi *x, unsigned size, uint32_t value)
{
	cmd c = decode(x);
	if (x->st == IDLE && c.fmode == FMODE_WRITE && c.data_lines)
		start(x); /* the first data byte starts an indirect write */
	for (unsigned i = 0; i < size && x->st == COLLECTING; i++) {
		x->buf[x->pos++] = (uint8_t)(value >> (8 * i));
		if (x->pos == x->len) {
			transact(x, &c, x->len, false);
			x->flags |= SR_TCF;
			reset_state(x);
		}
	}
}

ft_error ft_xspi_reg_read(ft_xspi *x, uint32_t offset, unsigned size, uint32_t *value)
{
	ft_error err = check_access(x, offset, size, value);
	if (err != FT_OK)
		return err;
	reg_id id;
	*value = 0;
	if (locate(x, offset, &id) != FT_OK)
		return FT_OK;
	uint32_t v;
	switch (id) {
	case R_SR:
		ft_xspi_poll(x);
		v = status(x);
		break;
	case R_DR: *value = dr_read(x, size); return FT_OK;
	case R_FCR: v = 0; break;
	default: v = x->regs[id]; break;
	}
	*value = v >> (8 * (offset % 4)) & (size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1);
	return FT_OK;
}

ft_error ft_xspi_reg_write(ft_xspi *x, uint32_t offset, unsigned size, uint32_t value)
{
	ft_error err = check_access(x, offset, size, &value);
	if (err != FT_OK)
		return err;
	reg_id id;
	if (locate(x, offset, &id) != FT_OK)
		return FT_OK;
	if (id == R_DR) {
		dr_write(x, size, value);
		return FT_OK;
	}
	if (size != 4) { /* a narrow store changes its bytes of the word */
		uint32_t shift = 8 * (offset % 4), mask = ((1u << (8 * size)) - 1) << shift;
		value = (x->regs[id] & ~mask) | ((value << shift) & mask);
	}
	switch (id) {
	case R_SR: return FT_OK; /* read-only */
	case R_FCR: x->flags &= ~(value & FCR_MASK); return FT_OK;
	case R_CR:
		if (value & CR_ABORT) {
			/* ABORT stops the operation, memory-mapped mode included, and self-clears
			 */
			if (x->st != IDLE)
				x->flags |= SR_TCF;
			reset_state(x);
			value &= ~CR_ABORT;
		}
		x->regs[R_CR] = value;
		if (x->variant != FT_XSPI_QUADSPI && x->st == IDLE &&
		    ((value >> CR_FMODE_SHIFT) & 3u) == FMODE_MAPPED && (value & CR_EN))
			enter_mapped(x);
		return FT_OK;
	default:
		x->regs[id] = value;
		if (x->st == IDLE || (x->st == MAPPED && id == R_CCR))
			maybe_start(x, id);
		return FT_OK;
	}
}

void ft_xspi_poll(ft_xspi *x)
{
	if (x && x->st == POLLING)
		poll_once(x);
}

bool ft_xspi_irq(const ft_xspi *x)
{
	if (!x)
		return false;
	uint32_t sr = x->flags | (x->st == COLLECTING || x->st == DRAINING ? SR_FTF : 0);
	uint32_t cr = x->regs[R_CR];
	return ((sr & SR_TEF) && (cr & CR_TEIE)) || ((sr & SR_TCF) && (cr & CR_TCIE)) ||
	       ((sr & SR_FTF) && (cr & CR_FTIE)) || ((sr & SR_SMF) && (cr & CR_SMIE)) ||
	       ((sr & SR_TOF) && (cr & CR_TOIE));
}

bool ft_xspi_mapped(const ft_xspi *x, uint32_t *generation)
{
	if (generation)
		*generation = x ? x->generation : 0;
	return x && x->st == MAPPED && x->mapped_ok;
}

ft_error ft_xspi_window_read(ft_xspi *x, uint32_t offset, void *buf, size_t len, ft_diag *diag)
{
	if (!x || (!buf && len))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "xspi window", "NULL argument");
	memset(buf, 0xFF, len);
	if (x->st != MAPPED)
		return ft_diag_set(diag, FT_ERR_STATE, "xspi window",
		                   "read at 0x%08x outside memory-mapped mode", offset);
	if (!x->mapped_ok) {
		if (diag)
			*diag = x->last;
		return FT_ERR_STATE;
	}
	const ft_nor_geometry *g = ft_nor_part_geometry(ft_nor_part_of(x->nor));
	if (offset >= g->size || len > g->size - offset)
		return ft_diag_set(diag, FT_ERR_RANGE, "xspi window",
		                   "read at 0x%08x past the %u-byte flash", offset, g->size);
	return ft_nor_read_mapped(x->nor, offset, buf, len, diag);
}

const ft_diag *ft_xspi_last_error(const ft_xspi *x)
{
	return &x->last;
}
