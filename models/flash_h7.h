/* The STM32H7 embedded flash: the array with its per-flash-word ECC, the controller registers
 * (keys, CR/SR/CCR, the write buffer, the operation queue), option bytes (OPTSR, PRAR, SCAR, WPSN,
 * BOOT, OTPBL, OPTSR2, RDP levels, bank swap), the user OTP area of H7A3/B3/B0 and the CRC unit.
 *
 * One model serves the three register layouts of ft_flash_layout (RM0433/RM0399 H74x/H75x,
 * RM0468 H72x/H73x, RM0455 H7A3/B3/B0). It reads time only from its ft_clock: erase, program and
 * option changes take datasheet time (DS12110 typical figures, performance.md §1), BSY/QW stay set
 * until the clock passes the deadline, and an operation completes at the first call into the model
 * after that (any reg_read, e.g. of SR, a bus access, or ft_flash_h7_poll). Nothing blocks.
 *
 * Firmware, the DFU bootloader model, a SWD programmer or QEMU drive it exactly as silicon is
 * driven: 32-bit register accesses at offsets from FT_FLASH_H7_REG_BASE, and CPU/AXI loads and
 * stores at absolute addresses of the flash banks (and of the OTP area). Everything else here
 * (option accessors, peek, fault injection) is for hosts and tests, never for emulated code.
 *
 * Persistent state lives only in three caller-visible buffers, so a board store can mmap them:
 *   array        ft_flash_h7_array_size() bytes: physical bank 1 then physical bank 2, each
 *                bank_size bytes. Holds what a read returns (the ECC-corrected data).
 *   ecc_state    ft_flash_h7_ecc_state_size() bytes: one byte per flash word in the same order,
 *                an ft_flash_h7_word_state value.
 *   option_bytes ft_flash_h7_option_bytes_size() bytes, little-endian:
 *                  0 magic 0x374F5446 ("FTO7")   4 version (1)   8 ft_flash_layout
 *                 12 OPTSR  16 PRAR1  20 PRAR2  24 SCAR1  28 SCAR2  32 WPSN1  36 WPSN2
 *                 40 BOOT (BOOT7 on dual-core)  44 BOOT4  48 OTPBL  52 OPTSR2  56..63 zero
 *                 64 OTP data (1024 bytes)      1088 OTP ecc state (512 bytes, one per 16-bit word)
 *                The words are the programmed option bytes (what *_CUR shows after a reset);
 *                bank-indexed words follow the register interface (see bank swap below).
 * Volatile state (keys, write buffers, SR, queued operations, deadlines) lives in the model.
 *
 * Bank swap: OPTCR.SWAP_BANK, loaded from SWAP_BANK_OPT at reset, exchanges the addresses of the
 * two physical banks. The register interface follows the addresses: CR1/SR1/KEYR1/ECC_FA1/CRC1 and
 * the *1 option registers act on the bank mapped at 0x08000000 (Zephyr flash_stm32h7x.c
 * get_sector) [U: RM0433 table not retrieved].
 *
 * Not thread-safe: a board runs its models on one thread. Library code: never prints or exits.
 */
#ifndef FT_FLASH_H7_H
#define FT_FLASH_H7_H

#include "models/clock.h"
#include "models/error.h"
#include "models/parts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register block: FLASH_R_BASE (CMSIS-H7, devices.md §2); offsets below are relative to it. */
#define FT_FLASH_H7_REG_BASE 0x52002000u
#define FT_FLASH_H7_REG_SPAN 0x1000u
/* User OTP area of H7A3/B3/B0 (CMSIS-H7 h7a3 FLASH_OTP_BASE/END, devices.md §1.5). */
#define FT_FLASH_H7_OTP_BASE 0x08FFF000u
#define FT_FLASH_H7_OTP_SIZE 0x400u

typedef struct ft_flash_h7 ft_flash_h7;

typedef struct ft_flash_h7_config {
	const ft_flash_geometry *geometry; /* copied; layout H74X/H72X/H7AX */
	ft_clock *clock;                   /* not owned; must outlive the model */
	uint8_t *array;                    /* external backing (see above), or NULL to allocate */
	uint8_t *ecc_state;                /* external backing, or NULL to allocate */
	uint8_t *option_bytes;             /* external backing, or NULL to allocate */
	bool fresh; /* true: initialise every buffer to the erased/factory state; false: the three
	             * buffers (all required) hold a previous state and are validated */
	bool dual_core; /* H745/47/55/57: BOOT7/BOOT4, OPTSR BCM4/BCM7/IWDG2/D2 bits */
} ft_flash_h7_config;

/* What the ECC of one flash word (or OTP 16-bit word) says; the ecc_state byte values.
 * Words are write-once between erases. Programming over a programmed word leaves the cells at
 * old AND new and the check bits at ecc(old) AND ecc(new); a SEC-DED code of the real size (10
 * check bits per 256-bit word, 9 per 128-bit word, 6 per OTP word) decides what reads see [U:
 * ST's code is unpublished]: the same data again or all zeros stay good, most other overwrites
 * (a later completion of a force-written partial word included) read with DBECCERR, some with a
 * corrected SNECCERR. */
typedef enum ft_flash_h7_word_state {
	FT_FLASH_H7_WORD_ERASED = 0,       /* reads 0xFF, may be programmed once */
	FT_FLASH_H7_WORD_PROGRAMMED = 1,   /* data and ECC agree */
	FT_FLASH_H7_WORD_SINGLE_ERROR = 2, /* reads corrected data and raise SNECCERR */
	FT_FLASH_H7_WORD_DOUBLE_ERROR = 3, /* reads raise DBECCERR and a bus error */
} ft_flash_h7_word_state;

/* Buffer sizes for a geometry; 0 when the geometry has no internal flash. */
size_t ft_flash_h7_array_size(const ft_flash_geometry *geometry);
size_t ft_flash_h7_ecc_state_size(const ft_flash_geometry *geometry);
size_t ft_flash_h7_option_bytes_size(void);

/* Creates a model in the state after a power-on reset (locks set, option bytes loaded).
 * Returns FT_OK and *out, FT_ERR_INVALID_ARG (NULL pointers, a geometry that is not an H7 flash:
 * banks, sector and word sizes checked against the layout; fresh=false without all three buffers),
 * FT_ERR_FORMAT (fresh=false and the option-byte blob has a wrong magic, version or layout, or an
 * ecc_state byte is not a word state) or FT_ERR_NO_MEM. diag (may be NULL) says which. */
ft_error ft_flash_h7_new(const ft_flash_h7_config *config, ft_flash_h7 **out, ft_diag *diag);

/* Frees the model and the buffers it allocated; external buffers are left as they are. NULL is
 * ignored. */
void ft_flash_h7_free(ft_flash_h7 *fl);

/* System reset (NRST, power-on): completes what the clock has passed, aborts the operation in
 * progress (its flash words or sector are left with double ECC errors [U], an option change
 * programs nothing), drops queued ones and the write buffers, relocks KEYRx/OPTKEYR (a frozen key
 * lock thaws), reloads *_CUR and *_PRG from the option bytes and applies SWAP_BANK_OPT. */
void ft_flash_h7_reset(ft_flash_h7 *fl);

/* Completes every operation whose deadline the clock has passed. Every other entry point does
 * this first, so hosts call it only to see completions without touching the model. */
void ft_flash_h7_poll(ft_flash_h7 *fl);

/* Deadline (clock ns) of the next completion, UINT64_MAX when nothing is in progress. A host
 * retrying an access that returned FT_ERR_BUSY retries after this time. */
uint64_t ft_flash_h7_next_event_ns(ft_flash_h7 *fl);

/* The operations whose modelled duration ft_flash_h7_duration_ns gives. */
typedef enum ft_flash_h7_op {
	FT_FLASH_H7_OP_PROGRAM,       /* one flash word; on H7Ax also one 16-bit OTP word */
	FT_FLASH_H7_OP_SECTOR_ERASE,  /* one sector */
	FT_FLASH_H7_OP_BANK_ERASE,    /* one bank of geometry->bank_size bytes (BER, MER) */
	FT_FLASH_H7_OP_OPTION_CHANGE, /* OPTSTART, without the bank erases of an RDP regression,
	                               * which add FT_FLASH_H7_OP_BANK_ERASE (banks in parallel) */
} ft_flash_h7_op;

/* How long the model takes for an operation on a flash of this geometry at parallelism psize
 * (the CR.PSIZE value: 0 x8, 1 x16, 2 x32, 3 x64; ignored by layouts without PSIZE, H7Ax): the
 * figures the model runs on (DS12110 typical, see flash_h7.c), for hosts that report or budget
 * them (the DFU bootloader's bwPollTimeout in instant time, a benchmark's floor). Needs no model
 * instance. Returns the duration in ns, or 0 for a NULL geometry, a layout without an H7 flash
 * controller, psize > 3 or an unknown operation. */
uint64_t ft_flash_h7_duration_ns(const ft_flash_geometry *geometry, ft_flash_h7_op operation,
                                 unsigned psize);

/* 32-bit register accesses at offset (multiple of 4, < FT_FLASH_H7_REG_SPAN) from
 * FT_FLASH_H7_REG_BASE. Reserved offsets, and the bank-2 block on parts without one (H72x), read 0
 * and ignore writes. Returns FT_OK, FT_ERR_INVALID_ARG (NULL), FT_ERR_RANGE (bad offset; nothing
 * done) or, for writes only, FT_ERR_BUSY: the bus would stall (an option-byte change holds every
 * register write until it completes, RM0455 CRCCR.START_CRC text; START/FW/MER without room in
 * the bank's operation queue [U]); nothing was written: retry after ft_flash_h7_next_event_ns. */
ft_error ft_flash_h7_reg_read(ft_flash_h7 *fl, uint32_t offset, uint32_t *value);
ft_error ft_flash_h7_reg_write(ft_flash_h7 *fl, uint32_t offset, uint32_t value);

/* Name of the register at offset ("CR1", "WPSN_PRG2"), or NULL for a reserved offset. */
const char *ft_flash_h7_reg_name(const ft_flash_h7 *fl, uint32_t offset);

/* Data load of len bytes from absolute address addr (flash banks as currently mapped, OTP area
 * on H7Ax). Returns ECC-corrected data and sets SNECCERR/DBECCERR, RDPERR (PCROP area, or RDP
 * level >= 1 with intrusion set), RDSERR (secure-only area while SECURITY is set and the access is
 * not secure) with ECC_FA as the hardware does. On such a bus error *fault is set true, the load
 * stops there and the rest of buf is zero-filled; *fault is false otherwise.
 * Returns FT_OK (including loads that fault), FT_ERR_RANGE (some byte is backed by no flash: the
 * CPU would take a bus fault; nothing read), FT_ERR_INVALID_ARG (NULL pointers) or FT_ERR_BUSY
 * (a bank being erased, programmed or changing option bytes stalls the load [U]; retry). */
ft_error ft_flash_h7_bus_read(ft_flash_h7 *fl, uint32_t addr, void *buf, size_t len, bool *fault);

/* One CPU/AXI store of len = 1, 2, 4 or 8 bytes that lies within one flash word (or one OTP
 * 16-bit word): goes into the bank's write buffer with the checks of RM0433 §4.3: PGSERR (PG
 * clear, or INCERR still set), INCERR (another flash word than the one being filled), STRBERR
 * (a byte written twice), WRPERR (protected sector or area). A complete buffer is queued for
 * programming; FW in CR programs a partial one. *fault is set true when the store raises a bus
 * error (RDP level >= 1 with intrusion set [U]). Returns FT_OK (whatever the SR flags say),
 * FT_ERR_INVALID_ARG (len, alignment, NULL), FT_ERR_RANGE (no flash there) or FT_ERR_BUSY (the
 * bank's queue is full or it changes option bytes: the store stalls; nothing stored). */
ft_error ft_flash_h7_bus_write(ft_flash_h7 *fl, uint32_t addr, const void *data, size_t len,
                               bool *fault);

/* A long run of stores, as a CPU memcpy or a DMA burst would issue them: whole flash words where
 * the run covers them, natural 1/2/4/8-byte stores at the edges. Same checks and results as
 * ft_flash_h7_bus_write; stops at the first FT_ERR_BUSY or fault. *done (may be NULL) receives
 * the bytes stored, so a caller can resume after FT_ERR_BUSY. */
ft_error ft_flash_h7_bus_write_bulk(ft_flash_h7 *fl, uint32_t addr, const void *data, size_t len,
                                    size_t *done, bool *fault);

/* Who is accessing. intrusion: a debugger is connected or the core booted from RAM or system
 * memory (the DFU bootloader), which RDP level >= 1 shuts out of user flash (RM0433 §4.5.3 [U]).
 * secure: code runs in secure access mode (secure-only areas readable). Both start false. */
void ft_flash_h7_set_intrusion(ft_flash_h7 *fl, bool intrusion);
void ft_flash_h7_set_secure_access(ft_flash_h7 *fl, bool secure);

/* The option bytes in effect (the *_CUR registers). */
typedef struct ft_flash_h7_options {
	uint32_t optsr;     /* OPTSR_CUR without OPT_BUSY and OPTCHANGEERR */
	uint8_t rdp;        /* RDP byte */
	uint8_t rdp_level;  /* 0 (0xAA), 2 (0xCC), 1 (any other value) (HAL FLASH_OB_GetRDP) */
	bool swap_bank_opt; /* SWAP_BANK_OPT: the mapping the next reset applies */
	bool banks_swapped; /* OPTCR.SWAP_BANK: the mapping in effect now */
	uint16_t boot_add0, boot_add1;   /* BOOT_CUR (BOOT7_CUR on dual-core): address bits 31:16 */
	uint16_t boot4_add0, boot4_add1; /* BOOT4_CUR (dual-core parts only, else 0) */
	uint32_t wpsn[2]; /* WPSN_CUR1/2 (WPSGN on H7Ax): 0 bit = sector (group of 4) protected */
	uint32_t prar[2]; /* PRAR_CUR1/2 (PCROP areas) */
	uint32_t scar[2]; /* SCAR_CUR1/2 (secure-only areas) */
	uint32_t otpbl;   /* OTPBL_CUR (H7Ax) */
	uint32_t optsr2;  /* OPTSR2_CUR (H72x) */
} ft_flash_h7_options;

void ft_flash_h7_get_options(ft_flash_h7 *fl, ft_flash_h7_options *out);

/* The vector-table address the core boots from for a BOOT0 pin level: BOOT_ADD1 or BOOT_ADD0 << 16
 * of BOOT_CUR, or of BOOT4_CUR when cm4 is true on a dual-core part (devices.md §2.3). */
uint32_t ft_flash_h7_boot_address(ft_flash_h7 *fl, bool boot0_pin, bool cm4);

/* What the cells at addr hold, with no flag, ECC or protection check and no stall: for hosts
 * (store checks, test assertions, debugger back doors). Returns FT_OK or FT_ERR_RANGE. */
ft_error ft_flash_h7_peek(ft_flash_h7 *fl, uint32_t addr, void *buf, size_t len);

/* The ECC state of the flash word (or OTP word) holding addr. FT_OK or FT_ERR_RANGE. */
ft_error ft_flash_h7_word_state_at(ft_flash_h7 *fl, uint32_t addr, ft_flash_h7_word_state *state);

/* Fault injection (the fault module): corrupts the ECC of the flash word holding addr (a single
 * correctable error or a double one; an erased word counts as programmed with 0xFF), or makes the
 * next program/erase on register bank `bank` (0 or 1) fail: it ends with OPERR (H74x/H72x; no flag
 * on H7Ax, which has no OPERR [U]) instead of EOP and leaves its words with double errors [U].
 * Returns FT_OK, FT_ERR_RANGE (no flash word there / no such bank). */
ft_error ft_flash_h7_inject_ecc_error(ft_flash_h7 *fl, uint32_t addr, bool double_error);
ft_error ft_flash_h7_inject_operation_error(ft_flash_h7 *fl, unsigned bank);

#endif
