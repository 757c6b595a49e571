/* The system bootloader's memory back end: address acceptance, UPLOAD reads and the DNLOAD
 * operations, run through the flash_h7 register interface as ROM code runs them.
 *
 * Error mapping [U: AN3156 names the codes but not which flash error gives which]:
 *   erase:   WRPERR is ignored ("No error is returned when performing erase operations on write
 *            protected sectors", AN2662 §4.5, devices.md §5.3); any other SR error -> errERASE.
 *   program: WRPERR -> errWRITE; PGSERR, STRBERR, INCERR, OPERR, a faulting store -> errPROG;
 *            read-back mismatch, SNECCERR/DBECCERR or a faulting read-back -> errVERIFY.
 *   a key sequence that leaves LOCK/OPTLOCK set -> errUNKNOWN (only a frozen lock does that).
 *   option change: OPTCHANGEERR -> errPROG; the device resets either way.
 * Flash words are programmed one at a time, each waited for (QW) and checked before the next, as
 * HAL_FLASH_Program does (devices.md §3.1); the ROM's own loop is not documented [U].
 */
#include "models/dfu_memory.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Register offsets from FT_FLASH_H7_REG_BASE and bits: devices.md §2.1-2.3 (CMSIS-H7
 * FLASH_TypeDef and bit definitions; RM0433 §4.9, RM0455 §4.9). */
#define REG_KEYR      0x04u
#define REG_OPTKEYR   0x08u
#define REG_CR        0x0Cu
#define REG_SR        0x10u
#define REG_CCR       0x14u
#define REG_OPTCR     0x18u
#define REG_OPTSR_CUR 0x1Cu
#define REG_OPTSR_PRG 0x20u
#define REG_OPTCCR    0x24u
#define BANK_STRIDE   0x100u /* bank-2 copies of KEYR/CR/SR/CCR: OOCD FLASH_REG_BASE_B1 */

#define KEY1    0x45670123u /* HAL-H7 FLASH_KEY1 */
#define KEY2    0xCDEF89ABu /* HAL-H7 FLASH_KEY2 */
#define OPTKEY1 0x08192A3Bu /* HAL-H7 FLASH_OPT_KEY1 */
#define OPTKEY2 0x4C5D6E7Fu /* HAL-H7 FLASH_OPT_KEY2 */

#define CR_LOCK (1u << 0)
#define CR_PG   (1u << 1)
#define CR_SER  (1u << 2)
#define CR_BER  (1u << 3)

#define SR_QW       (1u << 2)
#define SR_WRPERR   (1u << 17)
#define SR_PGSERR   (1u << 18)
#define SR_STRBERR  (1u << 19)
#define SR_INCERR   (1u << 21)
#define SR_OPERR    (1u << 22)
#define SR_RDPERR   (1u << 23)
#define SR_RDSERR   (1u << 24)
#define SR_SNECCERR (1u << 25)
#define SR_DBECCERR (1u << 26)
#define SR_ECC      (SR_SNECCERR | SR_DBECCERR)
#define SR_ERRORS                                                                                  \
	(SR_WRPERR | SR_PGSERR | SR_STRBERR | SR_INCERR | SR_OPERR | SR_RDPERR | SR_RDSERR | SR_ECC)
#define CCR_CLEAR_ALL 0x1FEF0000u /* CLR_EOP .. CLR_CRCRDERR, bits 16-19 and 21-28 */

#define OPTCR_OPTLOCK        (1u << 0)
#define OPTCR_OPTSTART       (1u << 1)
#define OPTCR_PG_OTP         (1u << 5) /* H7A3/B3/B0 only */
#define OPTSR_OPT_BUSY       (1u << 0)
#define OPTSR_OPTCHANGEERR   (1u << 30)
#define OPTSR_RDP_MASK       0x0000FF00u
#define OPTSR_RDP_LEVEL0     0x0000AA00u /* RDP = 0xAA, HAL OB_RDP_LEVEL_0 */
#define OPTCCR_CLR_CHANGEERR (1u << 30)

/* The whole option-register image a host may read through the option-byte alternate:
 * STM32CubeProgrammer reads 308 bytes from 0x5200201C on H743 ("UPLOADING OPTION BYTES DATA ...
 * Size: 308 Bytes", devices.md §4), i.e. up to WPSN_PRG2 of the bank-2 block. Applied to every
 * part with a bank-2 register block [U]; single-bank parts expose their alternate's size. */
#define OB_IMAGE_DUAL_BANK 308u

#define OTP_UNIT 2u /* OTP is programmed 16 bits at a time (HAL-H7 HAL_FLASH_Program OTP path) */

/* CR fields that move between the layouts (devices.md §2.3; OOCD
 * stm32h7a_h7b_h7r_h7sxx_compute_flash_cr). */
typedef struct cr_fields {
	uint32_t
	    psize; /* parallelism written with SER/BER/PG: x64 as OpenOCD does [U: the ROM's] */
	unsigned psize_value; /* the same as a PSIZE field value, for ft_flash_h7_duration_ns */
	uint32_t fw;
	uint32_t start;
	unsigned snb_shift;
	uint32_t snb_mask;
} cr_fields;

static const cr_fields cr_h74x_h72x = {3u << 4, 3, 1u << 6, 1u << 7, 8, 0x7u};
static const cr_fields cr_h7ax = {0, 0, 1u << 4, 1u << 5, 6, 0x7Fu};

typedef enum phase {
	PHASE_IDLE,
	PHASE_BEGIN,  /* unlock and set up the controller */
	PHASE_UNITS,  /* program flash/OTP words one at a time */
	PHASE_WAIT,   /* erase running: wait for QW on the banks in `banks` */
	PHASE_OPTION, /* option change running: wait for OPT_BUSY */
	PHASE_DONE,
} phase;

typedef struct window {
	ft_range range;
	ft_dfu_memory_area kind;
	uint8_t *ram; /* FT_DFU_MEMORY_AREA_RAM: backing bytes */
	bool owned;   /* ram was allocated here */
} window;

struct ft_dfu_memory {
	const ft_part *part;
	const ft_bootloader_info *info;
	ft_flash_h7 *flash;
	ft_clock *clock;
	const cr_fields *cr;
	ft_dfu_bootloader_partial_word partial_word;
	bool verify;
	bool workarea_accepted;
	uint32_t ob_image_size;
	size_t window_count;
	window windows[FT_MAX_BOOTLOADER_WINDOWS];

	/* The operation in progress or last finished. */
	ft_dfu_memory_op op;
	ft_dfu_memory_area target;
	phase phase;
	ft_dfu_memory_status result;
	uint32_t addr;
	size_t len;
	uint8_t *data;    /* info->transfer_size bytes */
	size_t pos;       /* data bytes handled (units done or skipped; registers written) */
	size_t stored;    /* bytes of the current unit stored so far */
	bool in_flight;   /* the current unit is stored and queued */
	bool fw_pending;  /* the current partial unit still needs CR.FW */
	unsigned banks;   /* bit b: register bank b is taking part */
	uint64_t unit_ns; /* measured duration of one unit, for the time estimate */
	uint32_t nominal_ms;
};

/* ---- register access -------------------------------------------------------------------- */

/* A register access the ROM cannot get through marks the operation errUNKNOWN: the only refusal
 * the flash model gives at these points is FT_ERR_BUSY, which this module waits out first. */
static uint32_t reg_read(ft_dfu_memory *mem, uint32_t offset)
{
	uint32_t value = 0;
	if (ft_flash_h7_reg_read(mem->flash, offset, &value) != FT_OK &&
	    mem->result == FT_DFU_MEMORY_OK)
		mem->result = FT_DFU_MEMORY_ERR_UNKNOWN;
	return value;
}

/* Returns false when the bus stalls (FT_ERR_BUSY): the caller retries at its next step. */
static bool reg_write(ft_dfu_memory *mem, uint32_t offset, uint32_t value)
{
	ft_error err = ft_flash_h7_reg_write(mem->flash, offset, value);
	if (err == FT_ERR_BUSY)
		return false;
	if (err != FT_OK && mem->result == FT_DFU_MEMORY_OK)
		mem->result = FT_DFU_MEMORY_ERR_UNKNOWN;
	return true;
}

static uint32_t bank_reg(unsigned bank, uint32_t offset)
{
	return offset + bank * BANK_STRIDE;
}

/* The register bank serving addr: the register interface follows the addresses, whatever the
 * bank swap (flash_h7.h); the OTP area is served by bank 1's (HAL-H7 programs it as bank 1). */
static unsigned bank_of(const ft_dfu_memory *mem, uint32_t addr)
{
	uint32_t base2 = mem->part->flash.bank_base[1];
	if (addr >= FT_FLASH_H7_OTP_BASE && addr - FT_FLASH_H7_OTP_BASE < FT_FLASH_H7_OTP_SIZE)
		return 0;
	return base2 != 0 && addr >= base2 ? 1 : 0;
}

/* One key-lock helper for KEYRx and OPTKEYR (STYLE.md §5): writes the two keys when the lock bit
 * is set; false when the lock stays set (a frozen lock after a wrong sequence). */
static bool unlock(ft_dfu_memory *mem, uint32_t ctrl, uint32_t lock_bit, uint32_t key_reg,
                   uint32_t key1, uint32_t key2)
{
	if (!(reg_read(mem, ctrl) & lock_bit))
		return true;
	reg_write(mem, key_reg, key1);
	reg_write(mem, key_reg, key2);
	return !(reg_read(mem, ctrl) & lock_bit);
}

static bool unlock_bank(ft_dfu_memory *mem, unsigned bank)
{
	return unlock(mem, bank_reg(bank, REG_CR), CR_LOCK, bank_reg(bank, REG_KEYR), KEY1, KEY2);
}

static bool unlock_options(ft_dfu_memory *mem)
{
	return unlock(mem, REG_OPTCR, OPTCR_OPTLOCK, REG_OPTKEYR, OPTKEY1, OPTKEY2);
}

static void fail(ft_dfu_memory *mem, ft_dfu_memory_status status)
{
	if (mem->result == FT_DFU_MEMORY_OK)
		mem->result = status;
}

/* ---- windows ------------------------------------------------------------------------------ */

static bool range_inside(ft_range r, uint32_t addr, size_t len)
{
	return len > 0 && addr >= r.start && (uint64_t)addr + len <= (uint64_t)r.start + r.size;
}

static ft_dfu_memory_area window_kind(const ft_part *part, const ft_bootloader_info *info,
                                      ft_range r)
{
	if (info->option_bytes_addr != 0 && r.start == info->option_bytes_addr)
		return FT_DFU_MEMORY_AREA_OPTION_BYTES;
	const ft_region *region = ft_part_region_at(part, r.start);
	if (!region)
		return FT_DFU_MEMORY_AREA_NONE;
	if (region->kind == FT_REGION_FLASH_BANK)
		return FT_DFU_MEMORY_AREA_FLASH;
	if (region->kind == FT_REGION_OTP)
		return FT_DFU_MEMORY_AREA_OTP;
	return ft_region_kind_is_volatile(region->kind) ? FT_DFU_MEMORY_AREA_RAM
	                                                : FT_DFU_MEMORY_AREA_NONE;
}

ft_dfu_memory_area ft_dfu_memory_area_of(const ft_dfu_memory *mem, uint32_t addr, size_t len,
                                         bool write, bool ob_image)
{
	for (size_t i = 0; i < mem->window_count; i++)
		if (range_inside(mem->windows[i].range, addr, len))
			return mem->windows[i].kind;
	ft_range image = {mem->info->option_bytes_addr, mem->ob_image_size};
	if (ob_image && range_inside(image, addr, len))
		return FT_DFU_MEMORY_AREA_OPTION_BYTES;
	if (write && mem->workarea_accepted)
		for (unsigned i = 0; i < mem->info->reserved_count; i++)
			if (range_inside(mem->info->reserved_ram[i], addr, len))
				return FT_DFU_MEMORY_AREA_WORKAREA;
	return FT_DFU_MEMORY_AREA_NONE;
}

uint8_t *ft_dfu_memory_ram(ft_dfu_memory *mem, uint32_t addr, size_t len)
{
	for (size_t i = 0; i < mem->window_count; i++) {
		window *w = &mem->windows[i];
		if (w->kind == FT_DFU_MEMORY_AREA_RAM && range_inside(w->range, addr, len))
			return w->ram + (addr - w->range.start);
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

ft_error ft_dfu_memory_new(const ft_dfu_memory_config *config, ft_dfu_memory **out, ft_diag *diag)
{
	if (!config || !out || !config->part || !config->flash || !config->clock)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "dfu memory config",
		                   "part, flash and clock are required");
	const ft_part *part = config->part;
	if (part->flash.layout == FT_FLASH_NONE || !part->bootloader->has_usb_dfu)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, part->name,
		                   "no H7 flash or no USB DFU bootloader");
	ft_dfu_memory *mem = calloc(1, sizeof(*mem));
	if (!mem)
		return ft_diag_set(diag, FT_ERR_NO_MEM, part->name, "dfu memory state");
	mem->part = part;
	mem->info = part->bootloader;
	mem->flash = config->flash;
	mem->clock = config->clock;
	mem->cr = part->flash.layout == FT_FLASH_H7AX ? &cr_h7ax : &cr_h74x_h72x;
	mem->partial_word = config->partial_word;
	mem->verify = !config->no_readback_verify;
	mem->workarea_accepted = config->workarea_accepted;
	mem->ob_image_size = mem->info->option_bytes_size;
	if (part->flash.dual_bank_silicon && mem->ob_image_size < OB_IMAGE_DUAL_BANK)
		mem->ob_image_size = OB_IMAGE_DUAL_BANK;
	mem->data = malloc(mem->info->transfer_size);
	if (!mem->data) {
		free(mem);
		return ft_diag_set(diag, FT_ERR_NO_MEM, part->name, "dfu transfer buffer");
	}
	mem->window_count = mem->info->writable_count;
	for (size_t i = 0; i < mem->window_count; i++) {
		window *w = &mem->windows[i];
		w->range = mem->info->writable[i];
		w->kind = window_kind(part, mem->info, w->range);
		if (w->kind != FT_DFU_MEMORY_AREA_RAM)
			continue;
		w->ram = config->ram ? config->ram[i] : NULL;
		if (!w->ram) {
			w->ram = calloc(1, w->range.size);
			w->owned = true;
			if (!w->ram) {
				ft_range r = w->range;
				ft_dfu_memory_free(mem);
				return ft_diag_set(diag, FT_ERR_NO_MEM, part->name,
				                   "RAM window 0x%08x, %u bytes", r.start, r.size);
			}
		}
	}
	*out = mem;
	return FT_OK;
}

void ft_dfu_memory_free(ft_dfu_memory *mem)
{
	if (!mem)
		return;
	for (size_t i = 0; i < mem->window_count; i++)
		if (mem->windows[i].owned)
			free(mem->windows[i].ram);
	free(mem->data);
	free(mem);
}

/* ---- reads -------------------------------------------------------------------------------- */

static void read_option_image(ft_dfu_memory *mem, uint32_t addr, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t offset = addr + (uint32_t)i - FT_FLASH_H7_REG_BASE;
		uint32_t word = reg_read(mem, offset & ~3u);
		buf[i] = (uint8_t)(word >> (8 * (offset & 3u)));
	}
}

ft_dfu_memory_status ft_dfu_memory_read(ft_dfu_memory *mem, uint32_t addr, uint8_t *buf, size_t len,
                                        bool ob_image)
{
	/* Register helpers report into mem->result: keep the last operation's result intact. */
	ft_dfu_memory_status last = mem->result;
	ft_dfu_memory_status status = FT_DFU_MEMORY_ERR_TARGET;
	mem->result = FT_DFU_MEMORY_OK;
	switch (ft_dfu_memory_area_of(mem, addr, len, false, ob_image)) {
	case FT_DFU_MEMORY_AREA_RAM:
		memcpy(buf, ft_dfu_memory_ram(mem, addr, len), len);
		status = FT_DFU_MEMORY_OK;
		break;
	case FT_DFU_MEMORY_AREA_OPTION_BYTES:
		read_option_image(mem, addr, buf, len);
		status = mem->result;
		break;
	case FT_DFU_MEMORY_AREA_FLASH:
	case FT_DFU_MEMORY_AREA_OTP: {
		bool fault = false;
		unsigned bank = bank_of(mem, addr);
		ft_error err = ft_flash_h7_bus_read(mem->flash, addr, buf, len, &fault);
		uint32_t sr = reg_read(mem, bank_reg(bank, REG_SR));
		reg_write(mem, bank_reg(bank, REG_CCR), sr & SR_ERRORS);
		status = mem->result;
		if (err != FT_OK)
			status = FT_DFU_MEMORY_ERR_UNKNOWN;
		else if (fault)
			status = sr & (SR_RDPERR | SR_RDSERR) ? FT_DFU_MEMORY_ERR_VENDOR
			                                      : FT_DFU_MEMORY_ERR_VERIFY;
		break;
	}
	case FT_DFU_MEMORY_AREA_NONE:
	case FT_DFU_MEMORY_AREA_WORKAREA: break;
	}
	mem->result = last;
	return status;
}

/* ---- operations --------------------------------------------------------------------------- */

/* Programming unit: a flash word, or an OTP halfword. */
static uint32_t unit_size(const ft_dfu_memory *mem)
{
	return mem->target == FT_DFU_MEMORY_AREA_OTP ? OTP_UNIT : mem->part->flash.word_size;
}

/* The duration reported as bwPollTimeout when the clock leaves nothing to wait
 * (FT_CLOCK_INSTANT): what flash_h7 takes for the operation at the parallelism used here. */
static uint32_t nominal_ms(const ft_dfu_memory *mem)
{
	const ft_flash_geometry *geo = &mem->part->flash;
	unsigned psize = mem->cr->psize_value;
	uint64_t ns = 0;
	switch (mem->op) {
	case FT_DFU_MEMORY_OP_ERASE:
		ns = ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_SECTOR_ERASE, psize);
		break;
	case FT_DFU_MEMORY_OP_MASS_ERASE:
		ns = ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_BANK_ERASE, psize);
		break;
	case FT_DFU_MEMORY_OP_UNPROTECT:
		ns = ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_OPTION_CHANGE, psize) +
		     ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_BANK_ERASE, psize);
		break;
	case FT_DFU_MEMORY_OP_WRITE:
		if (mem->target == FT_DFU_MEMORY_AREA_OPTION_BYTES) {
			ns = ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_OPTION_CHANGE, psize);
		} else if (mem->target == FT_DFU_MEMORY_AREA_FLASH ||
		           mem->target == FT_DFU_MEMORY_AREA_OTP) {
			uint32_t unit = unit_size(mem);
			uint64_t units = (mem->len + unit - 1) / unit + 1; /* an unaligned head */
			ns = units * ft_flash_h7_duration_ns(geo, FT_FLASH_H7_OP_PROGRAM, psize);
		}
		break;
	}
	uint64_t ms = (ns + 999999u) / 1000000u;
	return ms ? (uint32_t)ms : 1;
}

ft_dfu_memory_status ft_dfu_memory_start(ft_dfu_memory *mem, ft_dfu_memory_op op, uint32_t addr,
                                         const uint8_t *data, size_t len)
{
	assert(mem->phase == PHASE_IDLE || mem->phase == PHASE_DONE);
	assert(len <= mem->info->transfer_size);
	mem->op = op;
	mem->addr = addr;
	mem->len = len;
	mem->pos = 0;
	mem->stored = 0;
	mem->in_flight = false;
	mem->fw_pending = false;
	mem->banks = 0;
	mem->unit_ns = 0;
	mem->result = FT_DFU_MEMORY_OK;
	switch (op) {
	case FT_DFU_MEMORY_OP_ERASE:
		mem->target = ft_dfu_memory_area_of(mem, addr, 1, true, false);
		if (mem->target != FT_DFU_MEMORY_AREA_FLASH)
			return FT_DFU_MEMORY_ERR_TARGET;
		break;
	case FT_DFU_MEMORY_OP_MASS_ERASE:
	case FT_DFU_MEMORY_OP_UNPROTECT: mem->target = FT_DFU_MEMORY_AREA_FLASH; break;
	case FT_DFU_MEMORY_OP_WRITE:
		mem->target = ft_dfu_memory_area_of(mem, addr, len, true, false);
		if (mem->target == FT_DFU_MEMORY_AREA_NONE ||
		    mem->target == FT_DFU_MEMORY_AREA_WORKAREA)
			return FT_DFU_MEMORY_ERR_TARGET;
		memcpy(mem->data, data, len);
		break;
	}
	mem->nominal_ms = nominal_ms(mem);
	mem->phase = PHASE_BEGIN;
	ft_dfu_memory_step(mem);
	return FT_DFU_MEMORY_OK;
}

/* Ends the operation: every bank taking part relocked with PG/SER/BER cleared and its flags
 * cleared, the option register relocked. */
static void finish(ft_dfu_memory *mem)
{
	for (unsigned b = 0; b < 2; b++) {
		if (!(mem->banks & (1u << b)))
			continue;
		/* PG/SER/BER first: setting LOCK leaves the other bits as they are (SVD-H7B0
		 * CR1.LOCK1) */
		reg_write(mem, bank_reg(b, REG_CR), 0);
		reg_write(mem, bank_reg(b, REG_CR), CR_LOCK);
		reg_write(mem, bank_reg(b, REG_CCR), CCR_CLEAR_ALL);
	}
	/* PG_OTP is cleared before OPTLOCK is set: a write that sets OPTLOCK changes nothing
	 * else (HAL clears PG_OTP, then HAL_FLASH_OB_Lock). */
	if (mem->target == FT_DFU_MEMORY_AREA_OTP)
		reg_write(mem, REG_OPTCR, reg_read(mem, REG_OPTCR) & ~OPTCR_PG_OTP);
	if (mem->target == FT_DFU_MEMORY_AREA_OTP ||
	    mem->target == FT_DFU_MEMORY_AREA_OPTION_BYTES || mem->op == FT_DFU_MEMORY_OP_UNPROTECT)
		reg_write(mem, REG_OPTCR, OPTCR_OPTLOCK);
	mem->phase = PHASE_DONE;
}

/* Unlocks and clears the flags of every bank in mem->banks. */
static bool prepare_banks(ft_dfu_memory *mem)
{
	for (unsigned b = 0; b < 2; b++) {
		if (!(mem->banks & (1u << b)))
			continue;
		if (!unlock_bank(mem, b)) {
			fail(mem, FT_DFU_MEMORY_ERR_UNKNOWN);
			return false;
		}
		reg_write(mem, bank_reg(b, REG_CCR), CCR_CLEAR_ALL);
	}
	return true;
}

/* Erase: CR = SER|PSIZE|SNB then START (OOCD writes CR twice, devices.md §3.1); mass erase: BER
 * on every bank present [U: the ROM may use OPTCR.MER where the part has it]. */
static void begin_erase(ft_dfu_memory *mem)
{
	const cr_fields *cr = mem->cr;
	if (mem->op == FT_DFU_MEMORY_OP_MASS_ERASE)
		mem->banks = mem->part->flash.banks == 2 ? 3u : 1u;
	else
		mem->banks = 1u << bank_of(mem, mem->addr);
	if (!prepare_banks(mem)) {
		finish(mem);
		return;
	}
	for (unsigned b = 0; b < 2; b++) {
		if (!(mem->banks & (1u << b)))
			continue;
		uint32_t value = CR_BER | cr->psize;
		if (mem->op == FT_DFU_MEMORY_OP_ERASE) {
			uint32_t sector = (mem->addr - mem->part->flash.bank_base[b]) /
			                  mem->part->flash.sector_size;
			value = CR_SER | cr->psize | ((sector & cr->snb_mask) << cr->snb_shift);
		}
		reg_write(mem, bank_reg(b, REG_CR), value);
		reg_write(mem, bank_reg(b, REG_CR), value | cr->start);
	}
	mem->phase = PHASE_WAIT;
}

static bool banks_busy(ft_dfu_memory *mem, uint32_t *errors)
{
	*errors = 0;
	for (unsigned b = 0; b < 2; b++) {
		if (!(mem->banks & (1u << b)))
			continue;
		uint32_t sr = reg_read(mem, bank_reg(b, REG_SR));
		if (sr & SR_QW)
			return true;
		*errors |= sr & SR_ERRORS;
	}
	return false;
}

static void step_erase(ft_dfu_memory *mem)
{
	uint32_t errors;
	if (banks_busy(mem, &errors))
		return;
	if (errors & ~SR_WRPERR)
		fail(mem, FT_DFU_MEMORY_ERR_ERASE);
	finish(mem);
}

/* Option-byte write: every *_PRG register the image covers whole, then OPTSTART (OOCD
 * stm32h7_write_option, HAL_FLASH_OB_Launch; devices.md §3.1). Only *_PRG words are taken from
 * the host's image; *_CUR, OPTCCR and the rest are read-only here [U: how the ROM treats them]. */
static bool write_option_registers(ft_dfu_memory *mem)
{
	uint32_t first = mem->addr - FT_FLASH_H7_REG_BASE;
	for (; mem->pos + 4 <= mem->len; mem->pos++) {
		uint32_t offset = first + (uint32_t)mem->pos;
		if (offset & 3u)
			continue;
		const char *name = ft_flash_h7_reg_name(mem->flash, offset);
		if (!name || !strstr(name, "_PRG"))
			continue;
		const uint8_t *p = mem->data + mem->pos;
		uint32_t value = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		                 (uint32_t)p[3] << 24;
		if (!reg_write(mem, offset, value))
			return false;
	}
	return true;
}

static void begin_option_change(ft_dfu_memory *mem)
{
	if (!unlock_options(mem)) {
		fail(mem, FT_DFU_MEMORY_ERR_UNKNOWN);
		finish(mem);
		return;
	}
	if (mem->op == FT_DFU_MEMORY_OP_UNPROTECT) {
		uint32_t optsr = reg_read(mem, REG_OPTSR_PRG);
		if (!reg_write(mem, REG_OPTSR_PRG, (optsr & ~OPTSR_RDP_MASK) | OPTSR_RDP_LEVEL0))
			return;
	} else if (!write_option_registers(mem)) {
		return;
	}
	if (!reg_write(mem, REG_OPTCCR, OPTCCR_CLR_CHANGEERR))
		return;
	if (!reg_write(mem, REG_OPTCR, reg_read(mem, REG_OPTCR) | OPTCR_OPTSTART))
		return;
	mem->phase = PHASE_OPTION;
}

static void step_option_change(ft_dfu_memory *mem)
{
	uint32_t optsr = reg_read(mem, REG_OPTSR_CUR);
	if (optsr & OPTSR_OPT_BUSY)
		return;
	if (optsr & OPTSR_OPTCHANGEERR)
		fail(mem, FT_DFU_MEMORY_ERR_PROG);
	finish(mem);
}

/* Program: flash with CR.PG (and PSIZE), OTP with OPTCR.PG_OTP and bank 1 unlocked (HAL-H7
 * HAL_FLASH_Program). */
static void begin_program(ft_dfu_memory *mem)
{
	if (mem->target == FT_DFU_MEMORY_AREA_OTP) {
		mem->banks = 1u;
		if (!prepare_banks(mem) || !unlock_options(mem)) {
			fail(mem, FT_DFU_MEMORY_ERR_UNKNOWN);
			finish(mem);
			return;
		}
		reg_write(mem, REG_OPTCR, reg_read(mem, REG_OPTCR) | OPTCR_PG_OTP);
	} else {
		mem->banks = 1u << bank_of(mem, mem->addr);
		mem->banks |= 1u << bank_of(mem, mem->addr + (uint32_t)mem->len - 1);
		if (!prepare_banks(mem)) {
			finish(mem);
			return;
		}
		for (unsigned b = 0; b < 2; b++)
			if (mem->banks & (1u << b))
				reg_write(mem, bank_reg(b, REG_CR), CR_PG | mem->cr->psize);
	}
	mem->phase = PHASE_UNITS;
}

/* The part of the unit holding data byte pos that the data covers: [*lo, *hi) in absolute
 * addresses, and the unit's address. */
static void unit_bounds(const ft_dfu_memory *mem, uint32_t *unit, uint32_t *lo, uint32_t *hi)
{
	uint32_t size = unit_size(mem);
	uint32_t at = mem->addr + (uint32_t)mem->pos;
	*unit = at & ~(size - 1);
	*lo = at;
	uint64_t end = (uint64_t)mem->addr + mem->len;
	*hi = (uint64_t)*unit + size < end ? *unit + size : (uint32_t)end;
}

static ft_dfu_memory_status program_errors(uint32_t sr)
{
	if (sr & SR_WRPERR)
		return FT_DFU_MEMORY_ERR_WRITE;
	if (sr & (SR_PGSERR | SR_STRBERR | SR_INCERR | SR_OPERR))
		return FT_DFU_MEMORY_ERR_PROG;
	if (sr & (SR_RDPERR | SR_RDSERR))
		return FT_DFU_MEMORY_ERR_VENDOR;
	return FT_DFU_MEMORY_OK;
}

/* Reads back [lo, hi) and compares it with the data. */
static bool verify_unit(ft_dfu_memory *mem, uint32_t lo, uint32_t hi)
{
	uint8_t back[32];
	bool fault = false;
	unsigned bank = bank_of(mem, lo);
	ft_error err = ft_flash_h7_bus_read(mem->flash, lo, back, hi - lo, &fault);
	uint32_t sr = reg_read(mem, bank_reg(bank, REG_SR));
	reg_write(mem, bank_reg(bank, REG_CCR), sr & SR_ECC);
	return err == FT_OK && !fault && !(sr & SR_ECC) &&
	       memcmp(back, mem->data + (lo - mem->addr), hi - lo) == 0;
}

/* Stores the current unit: the covered bytes (flash; then FW for a partial word), or the
 * halfword padded with 0xFF (OTP). Returns false when the bus stalls; mem->stored keeps the
 * progress. */
static bool store_unit(ft_dfu_memory *mem, uint32_t unit, uint32_t lo, uint32_t hi, bool partial,
                       bool *fault)
{
	const uint8_t *src = mem->data + (lo - mem->addr);
	if (mem->target == FT_DFU_MEMORY_AREA_OTP) {
		uint8_t half[OTP_UNIT] = {0xFF, 0xFF};
		memcpy(half + (lo - unit), src, hi - lo);
		return ft_flash_h7_bus_write(mem->flash, unit, half, OTP_UNIT, fault) !=
		       FT_ERR_BUSY;
	}
	if (mem->stored < hi - lo) {
		size_t done = 0;
		ft_error err = ft_flash_h7_bus_write_bulk(mem->flash, lo + (uint32_t)mem->stored,
		                                          src + mem->stored, hi - lo - mem->stored,
		                                          &done, fault);
		mem->stored += done;
		if (err == FT_ERR_BUSY)
			return false;
		if (err != FT_OK || *fault)
			return true;
		mem->fw_pending = partial;
	}
	if (mem->fw_pending) {
		uint32_t cr = bank_reg(bank_of(mem, unit), REG_CR);
		if (!reg_write(mem, cr, reg_read(mem, cr) | mem->cr->fw))
			return false;
		mem->fw_pending = false;
	}
	return true;
}

static void step_units(ft_dfu_memory *mem)
{
	while (mem->result == FT_DFU_MEMORY_OK) {
		uint32_t unit, lo, hi;
		if (mem->pos == mem->len)
			break;
		unit_bounds(mem, &unit, &lo, &hi);
		bool partial = hi - lo < unit_size(mem);
		unsigned bank = bank_of(mem, unit);
		if (mem->in_flight) {
			uint32_t sr = reg_read(mem, bank_reg(bank, REG_SR));
			if (sr & SR_QW)
				return;
			mem->in_flight = false;
			fail(mem, program_errors(sr));
			if (mem->result == FT_DFU_MEMORY_OK && mem->verify &&
			    !verify_unit(mem, lo, hi))
				fail(mem, FT_DFU_MEMORY_ERR_VERIFY);
			mem->pos = hi - mem->addr;
			mem->stored = 0;
			continue;
		}
		if (partial && mem->partial_word == FT_DFU_BOOTLOADER_PARTIAL_WORD_SKIP) {
			mem->pos = hi - mem->addr;
			continue;
		}
		bool fault = false;
		uint64_t before = ft_flash_h7_next_event_ns(mem->flash);
		if (!store_unit(mem, unit, lo, hi, partial, &fault))
			return;
		if (fault) {
			fail(mem, FT_DFU_MEMORY_ERR_PROG);
			break;
		}
		mem->in_flight = true;
		uint64_t next = ft_flash_h7_next_event_ns(mem->flash);
		uint64_t now = ft_clock_now_ns(mem->clock);
		if (before == UINT64_MAX && next != UINT64_MAX && next > now)
			mem->unit_ns = next - now;
	}
	finish(mem);
}

static void step_ram(ft_dfu_memory *mem)
{
	memcpy(ft_dfu_memory_ram(mem, mem->addr, mem->len), mem->data, mem->len);
	mem->phase = PHASE_DONE;
}

bool ft_dfu_memory_step(ft_dfu_memory *mem)
{
	switch (mem->phase) {
	case PHASE_BEGIN:
		if (mem->op == FT_DFU_MEMORY_OP_ERASE || mem->op == FT_DFU_MEMORY_OP_MASS_ERASE)
			begin_erase(mem);
		else if (mem->op == FT_DFU_MEMORY_OP_UNPROTECT ||
		         mem->target == FT_DFU_MEMORY_AREA_OPTION_BYTES)
			begin_option_change(mem);
		else if (mem->target == FT_DFU_MEMORY_AREA_RAM)
			step_ram(mem);
		else
			begin_program(mem);
		/* A stalled register write leaves the phase as it was: retry at the next step. */
		if (mem->phase != PHASE_BEGIN)
			return ft_dfu_memory_step(mem);
		break;
	case PHASE_UNITS: step_units(mem); break;
	case PHASE_WAIT: step_erase(mem); break;
	case PHASE_OPTION: step_option_change(mem); break;
	case PHASE_IDLE:
	case PHASE_DONE: break;
	}
	return mem->phase != PHASE_DONE && mem->phase != PHASE_IDLE;
}

uint64_t ft_dfu_memory_next_event_ns(ft_dfu_memory *mem)
{
	if (mem->phase == PHASE_DONE || mem->phase == PHASE_IDLE)
		return UINT64_MAX;
	return ft_flash_h7_next_event_ns(mem->flash);
}

ft_dfu_memory_status ft_dfu_memory_result(const ft_dfu_memory *mem)
{
	return mem->result;
}

uint32_t ft_dfu_memory_poll_ms(ft_dfu_memory *mem)
{
	uint64_t remaining = 0;
	if (mem->phase != PHASE_DONE && mem->phase != PHASE_IDLE) {
		uint64_t now = ft_clock_now_ns(mem->clock);
		uint64_t next = ft_flash_h7_next_event_ns(mem->flash);
		if (next != UINT64_MAX && next > now)
			remaining = next - now;
		if (mem->phase == PHASE_UNITS && mem->len > mem->pos) {
			uint64_t units =
			    (mem->len - mem->pos + unit_size(mem) - 1) / unit_size(mem);
			remaining += (units - (mem->in_flight ? 1 : 0)) * mem->unit_ns;
		}
	}
	/* Rounded down: a host that polls on time comes at most 1 ms early, and the device holds
	 * that GETSTATUS back until the operation ends (dfu_bootloader.c); rounding up would make
	 * it idle up to 1 ms per block. At least 1 ms while busy: dfu-util gives up on a device
	 * that keeps answering 0 (emulators.md §5). [U: the ROM's own values were never captured]
	 */
	uint64_t ms = remaining ? remaining / 1000000u : mem->nominal_ms;
	return ms > 0xFFFFFFu ? 0xFFFFFFu : (uint32_t)(ms ? ms : 1);
}
