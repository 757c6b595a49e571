#include "programmer/swd/h7_flash.h"

#include "programmer/swd/h7_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bank registers, offsets from the flash register base; bank 2 at +0x100 (devices.md §2.1). */
#define KEYR      0x04u
#define CR        0x0Cu
#define SR        0x10u
#define CCR       0x14u
#define CRCCR     0x50u
#define CRCSADD   0x54u
#define CRCEADD   0x58u
#define CRCDATA   0x5Cu /* one result register for both banks (HAL reads FLASH->CRCDATA) */
#define ECC_FA    0x60u /* FAIL_ECC_ADDR: flash-word index in the bank, b14:0 (H7Ax b15:0) */
#define BANK2_OFF 0x100u

/* Keys (devices.md §2.2). */
#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

/* FLASH_CR bits common to the layouts (devices.md §2.3). */
#define CR_LOCK   (1u << 0)
#define CR_PG     (1u << 1)
#define CR_SER    (1u << 2)
#define CR_BER    (1u << 3)
#define CR_CRC_EN (1u << 15)
/* FLASH_SR. */
#define SR_BSY      (1u << 0)
#define SR_WBNE     (1u << 1)
#define SR_QW       (1u << 2)
#define SR_CRC_BUSY (1u << 3)
#define SR_EOP      (1u << 16)
#define SR_CRCEND   (1u << 27)
#define SR_CRCRDERR (1u << 28)
/* FLASH_CRCCR. */
#define CRCCR_START_CRC (1u << 16)
#define CRCCR_CLEAN_CRC (1u << 17)
/* FLASH_OPTCR, OPTCCR. */
#define OPTCR_OPTLOCK           (1u << 0)
#define OPTCR_OPTSTART          (1u << 1)
#define OPTCCR_CLR_OPTCHANGEERR (1u << 30)

#define FAST_POLLS      16u /* polls before the first sleep */
#define ERASE_POLL_MS   10u
#define PROGRAM_POLL_MS 1u
#define OPTION_POLL_MS  10u

/* What differs between the CR layouts (devices.md §2.3; OOCD stm32h7x.c compute_flash_cr). */
typedef struct cr_layout {
	uint32_t psize; /* PSIZE for x64 parallelism, 0 where the field does not exist */
	uint32_t fw, start;
	unsigned snb_shift;
	uint32_t snb_max;
	uint32_t errors; /* SR error flags this layout has */
} cr_layout;

static const cr_layout CR_H74X = {3u << 4, 1u << 6, 1u << 7, 8, 0x7, 0x07EE0000u};
static const cr_layout CR_H7AX = {0, 1u << 4, 1u << 5, 6, 0x7F, 0x07AE0000u};

/* FLASH_SR error flags (devices.md §2.3, §2.4, §3.2). */
static const struct {
	uint32_t bit;
	const char *name, *meaning;
} SR_ERRORS[] = {
    {1u << 17, "WRPERR",
     "write protection: the sector is write-protected (WPSN) or holds a "
     "PCROP or secure-only area"},
    {1u << 18, "PGSERR",
     "programming sequence: a write without PG set, or with INCERR not "
     "cleared"},
    {1u << 19, "STRBERR", "strobe: a byte of the write buffer written twice"},
    {1u << 21, "INCERR",
     "inconsistency: a write to another flash word before the current one "
     "was complete"},
    {1u << 22, "OPERR", "write/erase operation error"},
    {1u << 23, "RDPERR", "read protection: a read of an RDP or PCROP protected area"},
    {1u << 24, "RDSERR", "secure read: a read of a secure-only area"},
    {1u << 25, "SNECCERR", "single ECC error corrected: a flash word was programmed twice?"},
    {1u << 26, "DBECCERR", "double ECC error: a corrupt flash word (erase its sector)"},
    {1u << 28, "CRCRDERR", "CRC read error: the range holds a protected area"},
};

struct ft_h7_flash {
	const ft_part *part;
	ft_h7_port port;
	const cr_layout *cr;
	uint32_t base; /* flash register block */
	ft_h7flash_failure failure;
};

ft_error ft_h7flash_new(const ft_part *part, const ft_h7_port *port, ft_h7_flash **out,
                        ft_diag *diag)
{
	*out = NULL;
	if (!part || !port || !port->read || !port->write)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL part or port");
	if (part->flash.layout == FT_FLASH_NONE || !part->flash_regs)
		return ft_diag_set(diag, FT_ERR_UNSUPPORTED, part->name,
		                   "%s has no internal flash to program", part->name);
	ft_h7_flash *fl = calloc(1, sizeof(*fl));
	if (!fl)
		return ft_diag_set(diag, FT_ERR_NO_MEM, part->name, "out of memory");
	fl->part = part;
	fl->port = *port;
	fl->cr = part->flash.layout == FT_FLASH_H7AX ? &CR_H7AX : &CR_H74X;
	fl->base = part->flash_regs;
	fl->failure.sector = -1;
	*out = fl;
	return FT_OK;
}

void ft_h7flash_free(ft_h7_flash *fl)
{
	free(fl);
}

const ft_h7flash_failure *ft_h7flash_last_failure(const ft_h7_flash *fl)
{
	return &fl->failure;
}

unsigned ft_h7flash_bank_of(const ft_h7_flash *fl, uint32_t addr)
{
	const ft_flash_geometry *g = &fl->part->flash;
	for (unsigned b = 0; b < g->banks; b++) {
		if (addr >= g->bank_base[b] && addr - g->bank_base[b] < g->bank_size)
			return b + 1;
	}
	return 0;
}

unsigned ft_h7flash_describe_sr(ft_flash_layout layout, uint32_t sr, char *buf, size_t cap)
{
	uint32_t errors =
	    layout == FT_FLASH_H7AX ? CR_H7AX.errors | SR_CRCRDERR : CR_H74X.errors | SR_CRCRDERR;
	unsigned n = 0;
	size_t used = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(SR_ERRORS) / sizeof(SR_ERRORS[0]); i++) {
		if (!(sr & errors & SR_ERRORS[i].bit))
			continue;
		if (used < cap)
			used += (size_t)snprintf(buf + used, cap - used, "%s%s (%s)", n ? ", " : "",
			                         SR_ERRORS[i].name, SR_ERRORS[i].meaning);
		n++;
	}
	if (n == 0 && cap)
		snprintf(buf, cap, "no error flag");
	return n;
}

/* ---- register access ---- */

static uint32_t bank_reg(unsigned bank, uint32_t offset)
{
	return offset + (bank == 2 ? BANK2_OFF : 0);
}

static ft_error reg_read(ft_h7_flash *fl, uint32_t offset, uint32_t *value, ft_diag *diag)
{
	uint8_t b[4];
	ft_error err = fl->port.read(fl->port.ctx, fl->base + offset, b, 4, diag);
	if (err == FT_OK)
		*value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		         (uint32_t)b[3] << 24;
	return err;
}

static ft_error reg_write(ft_h7_flash *fl, uint32_t offset, uint32_t value, ft_diag *diag)
{
	uint8_t b[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
	                (uint8_t)(value >> 24)};
	return fl->port.write(fl->port.ctx, fl->base + offset, b, 4, diag);
}

static void sleep_ms(ft_h7_flash *fl, uint32_t ms)
{
	if (fl->port.sleep_ms) {
		fl->port.sleep_ms(fl->port.ctx, ms);
		return;
	}
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void set_failure(ft_h7_flash *fl, const char *op, unsigned bank, uint32_t start,
                        uint32_t size, int sector, uint32_t sr)
{
	fl->failure = (ft_h7flash_failure){(uint8_t)bank, sr, start, size, sector, op};
}

ft_error ft_h7flash_read_sr(ft_h7_flash *fl, unsigned bank, uint32_t *sr, ft_diag *diag)
{
	return reg_read(fl, bank_reg(bank, SR), sr, diag);
}

ft_error ft_h7flash_ecc_address(ft_h7_flash *fl, unsigned bank, uint32_t *addr, ft_diag *diag)
{
	const ft_flash_geometry *g = &fl->part->flash;
	uint32_t fa;
	ft_error err = reg_read(fl, bank_reg(bank, ECC_FA), &fa, diag);
	if (err == FT_OK)
		*addr = g->bank_base[bank - 1] +
		        (fa & (g->layout == FT_FLASH_H7AX ? 0xFFFFu : 0x7FFFu)) * g->word_size;
	return err;
}

/* Polls reg until (value & mask) == 0 within budget_ms of requested sleep. */
static ft_error wait_clear(ft_h7_flash *fl, uint32_t reg, uint32_t mask, uint32_t budget_ms,
                           uint32_t poll_ms, uint32_t *value, ft_diag *diag)
{
	uint32_t slept = 0;
	for (unsigned polls = 0;; polls++) {
		ft_error err = reg_read(fl, reg, value, diag);
		if (err != FT_OK)
			return err;
		if (!(*value & mask))
			return FT_OK;
		if (slept >= budget_ms)
			return FT_ERR_TIMEOUT;
		if (polls >= FAST_POLLS) {
			sleep_ms(fl, poll_ms);
			slept += poll_ms;
		}
	}
}

/* Reports an operation's failure with the flags of sr, and clears them. */
static ft_error flag_error(ft_h7_flash *fl, unsigned bank, uint32_t sr, const char *what,
                           ft_diag *diag)
{
	char flags[256];
	ft_h7flash_describe_sr(fl->part->flash.layout, sr, flags, sizeof(flags));
	reg_write(fl, bank_reg(bank, CCR), sr & (fl->cr->errors | SR_EOP), NULL);
	return ft_diag_set(diag, FT_ERR_DEVICE, fl->part->name, "%s failed: FLASH_SR%u=0x%08x: %s",
	                   what, bank, sr, flags);
}

static ft_error busy_timeout(ft_h7_flash *fl, unsigned bank, uint32_t sr, uint32_t budget_ms,
                             const char *what, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_TIMEOUT, fl->part->name,
	                   "%s did not finish within %u ms (FLASH_SR%u=0x%08x%s%s%s)", what,
	                   budget_ms, bank, sr, sr & SR_BSY ? " BSY" : "", sr & SR_QW ? " QW" : "",
	                   sr & SR_WBNE ? " WBNE" : "");
}

/* Waits for the bank's queue to drain and checks its error flags. */
static ft_error finish_op(ft_h7_flash *fl, unsigned bank, uint32_t budget_ms, uint32_t poll_ms,
                          const char *what, ft_diag *diag)
{
	uint32_t sr = 0;
	ft_error err =
	    wait_clear(fl, bank_reg(bank, SR), SR_QW | SR_BSY, budget_ms, poll_ms, &sr, diag);
	fl->failure.sr = sr;
	if (err == FT_ERR_TIMEOUT)
		return busy_timeout(fl, bank, sr, budget_ms, what, diag);
	if (err != FT_OK)
		return err;
	if (sr & fl->cr->errors) {
		/* Every operation runs unlocked: a LOCK bit back means the controller went
		 * through a reset (RM0433 §4.9.4: LOCK is set at reset), so the core did too. */
		uint32_t cr = 0;
		if (reg_read(fl, bank_reg(bank, CR), &cr, NULL) == FT_OK && (cr & CR_LOCK)) {
			char flags[256];
			ft_h7flash_describe_sr(fl->part->flash.layout, sr, flags, sizeof(flags));
			return ft_diag_set(
			    diag, FT_ERR_STATE, fl->part->name,
			    "target reset during programming: %s failed with "
			    "FLASH_SR%u=0x%08x (%s) and FLASH_CR%u locked again "
			    "(0x%08x); a watchdog (IWDG in hardware mode, not frozen "
			    "by DBGMCU) or the firmware reset the chip",
			    what, bank, sr, flags, bank, cr);
		}
		return flag_error(fl, bank, sr, what, diag);
	}
	return sr & SR_EOP ? reg_write(fl, bank_reg(bank, CCR), SR_EOP, diag) : FT_OK;
}

/* ---- unlock, lock, erase ---- */

ft_error ft_h7flash_unlock(ft_h7_flash *fl, unsigned bank, ft_diag *diag)
{
	set_failure(fl, "unlock", bank, 0, 0, -1, 0);
	if (bank < 1 || bank > fl->part->flash.banks)
		return ft_diag_set(diag, FT_ERR_RANGE, fl->part->name, "%s has no bank %u",
		                   fl->part->name, bank);
	uint32_t cr;
	ft_error err = reg_read(fl, bank_reg(bank, CR), &cr, diag);
	if (err != FT_OK || !(cr & CR_LOCK))
		return err;
	err = reg_write(fl, bank_reg(bank, KEYR), KEY1, diag);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, KEYR), KEY2, diag);
	if (err == FT_OK)
		err = reg_read(fl, bank_reg(bank, CR), &cr, diag);
	if (err != FT_OK)
		return err;
	if (cr & CR_LOCK)
		return ft_diag_set(
		    diag, FT_ERR_LOCKED, fl->part->name,
		    "bank %u: the key sequence left FLASH_CR%u locked (0x%08x); a "
		    "wrong key earlier locks it until the next reset: reset the target",
		    bank, bank, cr);
	return FT_OK;
}

ft_error ft_h7flash_lock_all(ft_h7_flash *fl, ft_diag *diag)
{
	ft_error first = FT_OK;
	for (unsigned b = 1; b <= fl->part->flash.banks; b++) {
		ft_error err =
		    reg_write(fl, bank_reg(b, CR), CR_LOCK, first == FT_OK ? diag : NULL);
		if (first == FT_OK)
			first = err;
	}
	return first;
}

/* Starts an erase with CR = cmd (without START), then START, and waits. */
static ft_error run_erase(ft_h7_flash *fl, unsigned bank, uint32_t cmd, uint32_t budget_ms,
                          const char *what, ft_diag *diag)
{
	uint32_t sr;
	ft_error err =
	    wait_clear(fl, bank_reg(bank, SR), SR_QW | SR_BSY, budget_ms, ERASE_POLL_MS, &sr, diag);
	if (err == FT_ERR_TIMEOUT)
		return busy_timeout(fl, bank, sr, budget_ms, "waiting for the previous operation",
		                    diag);
	if (err == FT_OK && (sr & fl->cr->errors))
		err = reg_write(fl, bank_reg(bank, CCR), sr & fl->cr->errors, diag);
	/* OpenOCD writes CR twice: the command, then the command with START. */
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CR), cmd, diag);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CR), cmd | fl->cr->start, diag);
	if (err == FT_OK)
		err = finish_op(fl, bank, budget_ms, ERASE_POLL_MS, what, diag);
	ft_error clear = reg_write(fl, bank_reg(bank, CR), 0, NULL);
	return err != FT_OK ? err : clear;
}

ft_error ft_h7flash_erase_sector(ft_h7_flash *fl, unsigned bank, unsigned sector, ft_diag *diag)
{
	const ft_flash_geometry *g = &fl->part->flash;
	if (bank < 1 || bank > g->banks || sector >= g->sectors_per_bank ||
	    sector > fl->cr->snb_max)
		return ft_diag_set(diag, FT_ERR_RANGE, fl->part->name,
		                   "%s has no sector %u in bank %u", fl->part->name, sector, bank);
	uint32_t start = g->bank_base[bank - 1] + sector * g->sector_size;
	set_failure(fl, "erase", bank, start, g->sector_size, (int)sector, 0);
	char what[96];
	snprintf(what, sizeof(what), "erase of bank %u sector %u (0x%08x..0x%08x)", bank, sector,
	         start, start + g->sector_size - 1);
	uint32_t cmd = CR_SER | fl->cr->psize | sector << fl->cr->snb_shift;
	return run_erase(fl, bank, cmd, FT_H7_ERASE_SECTOR_MS, what, diag);
}

ft_error ft_h7flash_erase_bank(ft_h7_flash *fl, unsigned bank, ft_diag *diag)
{
	const ft_flash_geometry *g = &fl->part->flash;
	if (bank < 1 || bank > g->banks)
		return ft_diag_set(diag, FT_ERR_RANGE, fl->part->name, "%s has no bank %u",
		                   fl->part->name, bank);
	set_failure(fl, "bank erase", bank, g->bank_base[bank - 1], g->bank_size, -1, 0);
	char what[64];
	snprintf(what, sizeof(what), "erase of bank %u", bank);
	return run_erase(fl, bank, CR_BER | fl->cr->psize, FT_H7_ERASE_BANK_MS, what, diag);
}

/* ---- programming ---- */

ft_error ft_h7flash_program(ft_h7_flash *fl, uint32_t addr, const uint8_t *data, size_t len,
                            void (*progress)(void *user, size_t done), void *user, ft_diag *diag)
{
	const ft_flash_geometry *g = &fl->part->flash;
	unsigned bank = ft_h7flash_bank_of(fl, addr);
	set_failure(fl, "program", bank, addr, (uint32_t)len, -1, 0);
	if (len == 0)
		return FT_OK;
	if (!bank || ft_h7flash_bank_of(fl, (uint32_t)(addr + len - 1)) != bank)
		return ft_diag_set(diag, FT_ERR_RANGE, fl->part->name,
		                   "0x%08x..0x%08zx is not inside one flash bank of %s", addr,
		                   (size_t)addr + len - 1, fl->part->name);
	if (addr % g->word_size)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, fl->part->name,
		                   "0x%08x is not aligned to the %u-byte flash word", addr,
		                   g->word_size);
	uint32_t sr;
	ft_error err = wait_clear(fl, bank_reg(bank, SR), SR_QW | SR_BSY, FT_H7_PROGRAM_MARGIN_MS,
	                          PROGRAM_POLL_MS, &sr, diag);
	if (err == FT_ERR_TIMEOUT)
		return busy_timeout(fl, bank, sr, FT_H7_PROGRAM_MARGIN_MS,
		                    "waiting for the previous operation", diag);
	if (err == FT_OK && (sr & fl->cr->errors))
		err = reg_write(fl, bank_reg(bank, CCR), sr & fl->cr->errors, diag);
	/* PG before the first store, always (programmers.md §3.5: rev V rejects writes without). */
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CR), CR_PG | fl->cr->psize, diag);
	size_t done = 0;
	while (err == FT_OK && done < len) {
		size_t n = len - done < FT_H7_PROGRAM_CHUNK ? len - done : FT_H7_PROGRAM_CHUNK;
		uint32_t at = addr + (uint32_t)done;
		err = fl->port.write(fl->port.ctx, at, data + done, n, diag);
		if (err != FT_OK)
			break;
		char what[80];
		snprintf(what, sizeof(what), "programming 0x%08x..0x%08x", at,
		         at + (uint32_t)n - 1);
		fl->failure.start = at;
		fl->failure.size = (uint32_t)n;
		uint32_t words = (uint32_t)((n + g->word_size - 1) / g->word_size);
		uint32_t budget = FT_H7_PROGRAM_MARGIN_MS + words;
		/* A partial flash word stays in the write buffer (WBNE) until FW. */
		if (done + n == len && len % g->word_size) {
			err = reg_read(fl, bank_reg(bank, SR), &sr, diag);
			if (err == FT_OK && (sr & SR_WBNE))
				err = reg_write(fl, bank_reg(bank, CR),
				                CR_PG | fl->cr->psize | fl->cr->fw, diag);
			if (err != FT_OK)
				break;
		}
		err = finish_op(fl, bank, budget, PROGRAM_POLL_MS, what, diag);
		done += n;
		if (err == FT_OK && progress)
			progress(user, done);
	}
	ft_error clear = reg_write(fl, bank_reg(bank, CR), 0, NULL);
	return err != FT_OK ? err : clear;
}

/* ---- option bytes ---- */

ft_error ft_h7flash_options_program(ft_h7_flash *fl, const ft_h7flash_option_write *writes,
                                    size_t count, uint32_t budget_ms, ft_diag *diag)
{
	set_failure(fl, "option change", 0, 0, 0, -1, 0);
	uint32_t optcr;
	ft_error err = reg_read(fl, FT_H7_OPTCR, &optcr, diag);
	if (err == FT_OK && (optcr & OPTCR_OPTLOCK)) {
		err = reg_write(fl, FT_H7_OPTKEYR, OPTKEY1, diag);
		if (err == FT_OK)
			err = reg_write(fl, FT_H7_OPTKEYR, OPTKEY2, diag);
		if (err == FT_OK)
			err = reg_read(fl, FT_H7_OPTCR, &optcr, diag);
		if (err == FT_OK && (optcr & OPTCR_OPTLOCK))
			return ft_diag_set(
			    diag, FT_ERR_LOCKED, fl->part->name,
			    "the option key sequence left FLASH_OPTCR locked "
			    "(0x%08x); a wrong key earlier locks it until the next reset",
			    optcr);
	}
	for (size_t i = 0; err == FT_OK && i < count; i++)
		err = reg_write(fl, writes[i].prg, writes[i].value, diag);
	if (err == FT_OK)
		err = reg_write(fl, FT_H7_OPTCCR, OPTCCR_CLR_OPTCHANGEERR, diag);
	if (err == FT_OK)
		err = reg_write(fl, FT_H7_OPTCR, optcr | OPTCR_OPTSTART, diag);
	uint32_t optsr = 0;
	if (err == FT_OK) {
		err = wait_clear(fl, FT_H7_OPTSR_CUR, FT_H7_OPTSR_OPT_BUSY, budget_ms,
		                 OPTION_POLL_MS, &optsr, diag);
		if (err == FT_ERR_TIMEOUT)
			err = ft_diag_set(diag, err, fl->part->name,
			                  "the option change did not finish within %u ms "
			                  "(FLASH_OPTSR_CUR=0x%08x, OPT_BUSY)",
			                  budget_ms, optsr);
	}
	fl->failure.sr = optsr;
	if (err == FT_OK && (optsr & FT_H7_OPTSR_OPTCHANGEERR))
		err = ft_diag_set(diag, FT_ERR_DEVICE, fl->part->name,
		                  "the option change was refused (FLASH_OPTSR_CUR=0x%08x: "
		                  "OPTCHANGEERR); the values in effect are unchanged",
		                  optsr);
	ft_error relock = reg_write(fl, FT_H7_OPTCR, OPTCR_OPTLOCK, NULL);
	return err != FT_OK ? err : relock;
}

/* ---- CRC unit ---- */

ft_error ft_h7flash_crc(ft_h7_flash *fl, uint32_t start, uint32_t len, uint32_t *crc, ft_diag *diag)
{
	unsigned bank = ft_h7flash_bank_of(fl, start);
	set_failure(fl, "crc", bank, start, len, -1, 0);
	if (!bank || len == 0 || len % 4 || start % 4 ||
	    ft_h7flash_bank_of(fl, start + len - 1) != bank)
		return ft_diag_set(diag, FT_ERR_RANGE, fl->part->name,
		                   "CRC range 0x%08x + %u is not whole words inside one bank",
		                   start, len);
	/* CR (CRC_EN) takes writes only while unlocked; its old value, LOCK included, is put back
	 * afterwards. */
	uint32_t cr, sr = 0;
	ft_error err = reg_read(fl, bank_reg(bank, CR), &cr, diag);
	if (err == FT_OK)
		err = ft_h7flash_unlock(fl, bank, diag);
	set_failure(fl, "crc", bank, start, len, -1, 0);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CR), CR_CRC_EN, diag);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CCR), SR_CRCEND | SR_CRCRDERR, diag);
	/* By address (CRC_BY_SECT clear); CRCEADD is the last word, included. */
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CRCCR), CRCCR_CLEAN_CRC, diag);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CRCSADD), start, diag);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CRCEADD), start + len - 4, diag);
	if (err == FT_OK)
		err = reg_write(fl, bank_reg(bank, CRCCR), CRCCR_START_CRC, diag);
	if (err == FT_OK) {
		err = wait_clear(fl, bank_reg(bank, SR), SR_CRC_BUSY, FT_H7_ERASE_SECTOR_MS,
		                 ERASE_POLL_MS, &sr, diag);
		if (err == FT_ERR_TIMEOUT)
			err =
			    busy_timeout(fl, bank, sr, FT_H7_ERASE_SECTOR_MS, "the CRC unit", diag);
	}
	if (err == FT_OK && !(sr & SR_CRCEND))
		err = ft_diag_set(
		    diag, FT_ERR_DEVICE, fl->part->name,
		    "the CRC unit of bank %u did not run (FLASH_SR%u=0x%08x, no CRCEND)", bank,
		    bank, sr);
	if (err == FT_OK)
		err = reg_read(fl, CRCDATA, crc, diag);
	if (err == FT_OK && (sr & SR_CRCRDERR))
		err = flag_error(fl, bank, sr, "CRC computation", diag);
	reg_write(fl, bank_reg(bank, CCR), SR_CRCEND | SR_CRCRDERR, NULL);
	reg_write(fl, bank_reg(bank, CR), cr & ~CR_CRC_EN, NULL);
	return err;
}

uint32_t ft_h7flash_crc_expected(const uint8_t *data, size_t len)
{
	uint32_t crc = 0xB6C0AE5Au;
	for (size_t w = 0; w + 4 <= len; w += 4) {
		for (int i = 3; i >= 0; i--) {
			crc ^= (uint32_t)data[w + (size_t)i] << 24;
			for (int b = 0; b < 8; b++)
				crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
		}
	}
	return crc;
}
