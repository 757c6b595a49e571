/* The STM32H7 embedded-flash controller driven through a memory port (the debug port: a GDB
 * server's memory reads and writes, no code running on the target): unlock, sector and bank
 * erase, programming whole flash words, force-write of a partial tail, FLASH_SR decoded into
 * named errors, the option-byte change sequence and the flash CRC unit.
 *
 * Sequences (devices.md §3.1; HAL-H7, OpenOCD stm32h7x.c): keys KEY1/KEY2 into KEYRx;
 * CR = SER | PSIZE | SNB, then START, wait QW = 0; CR = PG | PSIZE, flash-word stores, wait
 * QW = 0, FW when WBNE says a partial word is buffered; option bytes: OPTKEY1/OPTKEY2 into
 * OPTKEYR, *_PRG, OPTCCR.CLR_OPTCHANGEERR, OPTCR.OPTSTART, wait OPTSR_CUR.OPT_BUSY = 0, check
 * OPTCHANGEERR, relock. The three register layouts (ft_flash_layout) differ in PSIZE, FW, START
 * and SNB (devices.md §2.3); the rest is shared.
 *
 * Waiting: every poll loop is bounded by a budget of requested sleep (timeouts below, from the
 * datasheet maxima of devices.md §3.3 with margin); the first polls of a wait do not sleep,
 * since each is a round trip to the probe anyway. A caller's sleep function that lets no real
 * time pass (tests, the emulator's instant mode) still bounds every loop by the budget.
 *
 * Errors: FT_ERR_DEVICE for an error flag (diag names the bank, the operation, its address and
 * each flag with its meaning), FT_ERR_TIMEOUT for a wait past its budget, FT_ERR_LOCKED when a
 * key sequence does not unlock, the port's errors for failed accesses. After any error the
 * failure record (ft_h7flash_last_failure) says what happened where, for callers that name
 * segments and sectors. Not thread-safe; the engine does not own the port.
 */
#ifndef FT_H7_FLASH_H
#define FT_H7_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/error.h"
#include "models/parts.h"

/* Wait budgets, ms (devices.md §3.3, DS12110 maxima marked [U] there; §3.1 tool timeouts).
 *  - sector erase: 4 s max for 128 KB at x8, 2.2 s at x32; 2.5 times the worst, as OpenOCD.
 *  - bank erase: 16 s max at x32; OpenOCD allows 30 s for a mass erase.
 *  - programming: 200 us max per flash word at x64; the budget per chunk is 1 ms per word plus
 *    FT_H7_PROGRAM_MARGIN_MS.
 *  - option change: about 300 ms measured (Chromium EC, quoted by the flash model); an RDP
 *    regression mass-erases both banks first: the mass-erase budget. */
#define FT_H7_ERASE_SECTOR_MS   10000u
#define FT_H7_ERASE_BANK_MS     30000u
#define FT_H7_PROGRAM_MARGIN_MS 100u
#define FT_H7_OPTION_MS         10000u
#define FT_H7_OPTION_REGRESS_MS 60000u
/* Bytes written per memory write before FLASH_SR is checked. */
#define FT_H7_PROGRAM_CHUNK 4096u

/* How the engine reaches the target's bus. Required members. */
typedef struct ft_h7_port {
	void *ctx;
	/* Reads/writes len bytes at addr. FT_OK or an ft_error with diag. */
	ft_error (*read)(void *ctx, uint32_t addr, void *buf, size_t len, ft_diag *diag);
	ft_error (*write)(void *ctx, uint32_t addr, const void *data, size_t len, ft_diag *diag);
	/* Sleeps ms between polls (optional: NULL sleeps on the host's clock). */
	void (*sleep_ms)(void *ctx, uint32_t ms);
} ft_h7_port;

/* What the last failed operation was doing. */
typedef struct ft_h7flash_failure {
	uint8_t bank;   /* 1 or 2; 0 for option-byte operations */
	uint32_t sr;    /* FLASH_SRx as read after the operation (0 when not read) */
	uint32_t start; /* address range the operation covered */
	uint32_t size;
	int sector;     /* sector index in the bank for erases, else -1 */
	const char *op; /* "erase", "program", "bank erase", "unlock", "option change" */
} ft_h7flash_failure;

typedef struct ft_h7_flash ft_h7_flash;

/* An engine for part's flash (layout H74X/H72X/H7AX) over port (copied). Returns FT_OK,
 * FT_ERR_UNSUPPORTED (no internal flash) or FT_ERR_NO_MEM. */
ft_error ft_h7flash_new(const ft_part *part, const ft_h7_port *port, ft_h7_flash **out,
                        ft_diag *diag);
void ft_h7flash_free(ft_h7_flash *fl);

const ft_h7flash_failure *ft_h7flash_last_failure(const ft_h7_flash *fl);

/* The bank (1 or 2) holding addr, or 0. */
unsigned ft_h7flash_bank_of(const ft_h7_flash *fl, uint32_t addr);

/* Names the error flags set in sr for layout: "WRPERR (write protection ...), PGSERR (...)", or
 * "no error flag" when none. Writes at most cap bytes with NUL; returns the number of flags. */
unsigned ft_h7flash_describe_sr(ft_flash_layout layout, uint32_t sr, char *buf, size_t cap);

/* FLASH_SRx of bank (1 or 2). */
ft_error ft_h7flash_read_sr(ft_h7_flash *fl, unsigned bank, uint32_t *sr, ft_diag *diag);
/* The flash word ECC_FAx names after an ECC error in bank: its address. */
ft_error ft_h7flash_ecc_address(ft_h7_flash *fl, unsigned bank, uint32_t *addr, ft_diag *diag);

/* Unlocks bank (1 or 2) with the key sequence when CR.LOCK is set. */
ft_error ft_h7flash_unlock(ft_h7_flash *fl, unsigned bank, ft_diag *diag);
/* Sets CR.LOCK on every bank of the part; best effort, returns the first error. */
ft_error ft_h7flash_lock_all(ft_h7_flash *fl, ft_diag *diag);

/* Erases sector (index within bank). The bank must be unlocked. */
ft_error ft_h7flash_erase_sector(ft_h7_flash *fl, unsigned bank, unsigned sector, ft_diag *diag);
/* Erases a whole bank (BER). */
ft_error ft_h7flash_erase_bank(ft_h7_flash *fl, unsigned bank, ft_diag *diag);

/* Programs len bytes at addr, all within one bank, which must be erased and unlocked. Whole
 * flash words go as they are; a partial last word is completed with force-write (the missing
 * bytes read 0xFF). progress (optional) is called after each chunk with the bytes done. */
ft_error ft_h7flash_program(ft_h7_flash *fl, uint32_t addr, const uint8_t *data, size_t len,
                            void (*progress)(void *user, size_t done), void *user, ft_diag *diag);

/* One option register change for ft_h7flash_options_program: value for its PRG offset. */
typedef struct ft_h7flash_option_write {
	uint16_t prg;
	uint32_t value;
} ft_h7flash_option_write;

/* Writes the PRG registers and launches the change (OPTSTART), waiting up to budget_ms.
 * OPTCHANGEERR is FT_ERR_DEVICE. The new values are in the CUR registers afterwards. */
ft_error ft_h7flash_options_program(ft_h7_flash *fl, const ft_h7flash_option_write *writes,
                                    size_t count, uint32_t budget_ms, ft_diag *diag);

/* The flash CRC unit over [start, start + len) inside one bank (len a multiple of 4): CRC_EN,
 * CRCCR, CRCSADD/CRCEADD, START_CRC, wait CRC_BUSY, CRCDATA. */
ft_error ft_h7flash_crc(ft_h7_flash *fl, uint32_t start, uint32_t len, uint32_t *crc,
                        ft_diag *diag);
/* The value the CRC unit should give for data (len a multiple of 4): CRC-32 polynomial
 * 0x04C11DB7 over each 32-bit word most significant byte first, init 0xB6C0AE5A, no final
 * XOR. HAL names the polynomial; init and bit order are a community measurement [U], so a
 * mismatch is confirmed by reading back before it is reported. */
uint32_t ft_h7flash_crc_expected(const uint8_t *data, size_t len);

#endif
