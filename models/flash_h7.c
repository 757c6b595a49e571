/* STM32H7 embedded flash and its controller.
 *
 * References (read through /work/shared/reference/devices.md §2-§4 and performance.md §1):
 * RM0433 (H742/743/750/753), RM0399 (H745/747/755/757), RM0468 (H72x/73x), RM0455 (H7A3/B3/B0);
 * CMSIS-H7 register and field layouts; SVD-H7B0 field descriptions (the RM0455 wording, assumed
 * identical in RM0433 where the devices.md says so); HAL-H7 sequences; DS12110 timings. [U] marks
 * what the sources leave uncertain and the model had to choose.
 *
 * File order: constants and fields, layouts and timings, register table, model state, ECC, CRC,
 * option bytes, the operation queue (the only place flash contents change), protection rules,
 * bus accesses, register writes, public API.
 */
#include "models/flash_h7.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- Keys (devices.md §2.2; HAL-H7 FLASH_KEY1/2, FLASH_OPT_KEY1/2) ---- */
static const uint32_t bank_keys[2] = {0x45670123u, 0xCDEF89ABu};
static const uint32_t option_keys[2] = {0x08192A3Bu, 0x4C5D6E7Fu};

#define FLASH_BANK1_BASE 0x08000000u /* CMSIS-H7 FLASH_BANK1_BASE */
#define FLASH_BANK2_BASE                                                                           \
	0x08100000u         /* CMSIS-H7 FLASH_BANK2_BASE, also on 1 MB parts (devices.md §1.2) */
#define MAX_WORD        32u /* flash-word bytes: 32 (H74x/H72x), 16 (H7Ax) */
#define QUEUE_DEPTH     2u  /* operations per bank: one executing, one waiting [U] */
#define BANK2_REGS      0x100u        /* bank-2 register block offset (devices.md §2.1) */
#define MAP_WORDS       (0x180u / 4u) /* registers end at ECC_FA2 0x160 */
#define AREA_BLOCK      256u          /* PRAR/SCAR granularity (SVD-H7B0 PRAR text) */
#define OTP_WORDS       (FT_FLASH_H7_OTP_SIZE / 2u)
#define OTP_BLOCK_WORDS 32u /* LOCKBL[n] covers OTP words 32n..32n+31 (SVD-H7B0 OTPBL) */
#define MIB             0x100000u

/* ---- Fields (devices.md §2.3, CMSIS-H7 FLASH_*_Pos/Msk); positions shared by every layout ---- */
#define CR_LOCK        (1u << 0)
#define CR_PG          (1u << 1)
#define CR_SER         (1u << 2)
#define CR_BER         (1u << 3)
#define CR_PSIZE_SHIFT 4 /* H74x/H72x PSIZE b5:4: x8, x16, x32, x64 */
#define CR_CRC_EN      (1u << 15)

#define SR_BSY        (1u << 0)
#define SR_WBNE       (1u << 1)
#define SR_QW         (1u << 2)
#define SR_EOP        (1u << 16)
#define SR_WRPERR     (1u << 17)
#define SR_PGSERR     (1u << 18)
#define SR_STRBERR    (1u << 19)
#define SR_INCERR     (1u << 21)
#define SR_OPERR      (1u << 22) /* absent on H7Ax */
#define SR_RDPERR     (1u << 23)
#define SR_RDSERR     (1u << 24)
#define SR_SNECCERR   (1u << 25)
#define SR_DBECCERR   (1u << 26)
#define SR_CRCEND     (1u << 27)
#define SR_CRCRDERR   (1u << 28)
#define SR_ECC        (SR_SNECCERR | SR_DBECCERR)
#define SR_FLAGS_H74X 0x1FEF0000u /* EOP..CRCRDERR: what CCR clears */
#define SR_FLAGS_H7AX (SR_FLAGS_H74X & ~SR_OPERR)

#define OPTCR_OPTLOCK   (1u << 0)
#define OPTCR_OPTSTART  (1u << 1)
#define OPTCR_MER       (1u << 4) /* H74x, H7Ax */
#define OPTCR_PG_OTP    (1u << 5) /* H7Ax */
#define OPTCR_SWAP_BANK (1u << 31)

#define OPTSR_OPT_BUSY          (1u << 0)
#define OPTSR_RDP_SHIFT         8
#define OPTSR_RDP_MASK          (0xFFu << OPTSR_RDP_SHIFT)
#define OPTSR_SECURITY          (1u << 21)
#define OPTSR_OPTCHANGEERR      (1u << 30)
#define OPTSR_SWAP_BANK_OPT     (1u << 31)
#define OPTSR_VOLATILE          (OPTSR_OPT_BUSY | OPTSR_OPTCHANGEERR)
#define OPTCCR_CLR_OPTCHANGEERR (1u << 30)
#define RDP_LEVEL0              0xAAu /* HAL OB_RDP_LEVEL_0; devices.md §4 */
#define RDP_LEVEL2              0xCCu

#define AREA_START_MASK 0xFFFu /* PRAR/SCAR: start b11:0, end b27:16 (256-byte blocks), DME b31 */
#define AREA_END_SHIFT  16
#define AREA_DME        (1u << 31)

#define CRCCR_BY_SECT    (1u << 8)
#define CRCCR_ADD_SECT   (1u << 9)
#define CRCCR_CLEAN_SECT (1u << 10)
#define CRCCR_START_CRC  (1u << 16)
#define CRCCR_CLEAN_CRC  (1u << 17)
#define CRCCR_ALL_BANK   (1u << 22)
#define CRC_ADDR_MASK                                                                              \
	0x000FFFFCu           /* CRCSADD/CRCEADD: offset in the bank (SVD-H7B0 CRC_START_ADDR) */
#define ECC_FA_OTP (1u << 31) /* H7Ax OTP_FAIL_ECC */

/* The flash CRC unit (HAL HAL_FLASHEx_ComputeCRC: "CRC-32 (Ethernet) polynomial 0x4C11DB7").
 * Init value and bit order are not documented; community.st.com "STM32H753 Flash CRC
 * specification" measured: each 32-bit word processed most significant byte first, non-reflected,
 * init 0xB6C0AE5A (128 zero bytes give 0x11E66C62), no final XOR [U]. */
#define CRC_POLY 0x04C11DB7u
#define CRC_INIT 0xB6C0AE5Au

/* Option-byte change: "no specification, real delay seems to be around 300ms" (Chromium EC
 * flash-stm32h7.c, performance.md §1.1) [U]. */
#define OPTION_CHANGE_NS 300000000u

/* ---- Layouts and timings ---- */

typedef struct op_timing {
	uint64_t program_ns;      /* one flash word */
	uint64_t sector_erase_ns; /* one sector */
	uint64_t bank_erase_ns;   /* a 1 MB bank; scaled by the bank size [U] */
} op_timing;

/* H74x/H72x by PSIZE (x8, x16, x32, x64): DS12110 Table 53 typical t_prog and t_ERASE128KB
 * (performance.md §1.1; devices.md §3.3). H72x reuses them: DS13313 not retrieved (performance.md
 * §1.2) [U]. Bank erase x64 6.5 s, x32 8 s (devices.md §3.3) [U]; x16/x8 as 8 sectors [U]. */
static const op_timing timing_h74x[4] = {
    {290000u, 2000000000u, 16000000000u},
    {180000u, 1800000000u, 14400000000u},
    {130000u, 1100000000u, 8000000000u},
    {100000u, 1000000000u, 6500000000u},
};
/* H7Ax: DS13195 figures not retrieved (performance.md §1.3). Placeholders derived from the H743
 * x64 figures: half the program time for a half-size word, erase time scaled to an 8 KB sector,
 * the same bank erase [U]. */
static const op_timing timing_h7ax[1] = {{50000u, 62500000u, 6500000000u}};

typedef struct layout_desc {
	const char *name;
	uint8_t word_size;    /* FLASH_NB_32BITWORD_IN_FLASHWORD x 4 */
	uint8_t word_shift;   /* log2(word_size): hot paths shift instead of dividing */
	uint8_t ecc_bits;     /* check bits per flash word */
	uint32_t sector_size; /* FLASH_SECTOR_SIZE */
	uint8_t sector_shift; /* log2(sector_size) */
	uint32_t cr_fw, cr_start;
	unsigned snb_shift;
	uint32_t snb_mask; /* unshifted; sectors per bank <= snb_mask + 1 */
	bool has_psize;
	uint32_t sr_flags; /* flags CCR clears */
	uint32_t ecc_fa_mask;
	uint8_t wp_shift; /* log2(sectors per WPSN bit) */
	uint32_t crc_sect_mask;
	bool has_swap, has_mer, has_otp;
	const op_timing *timing; /* [4] by PSIZE, or [1] */
} layout_desc;

static const layout_desc layouts[] = {
    /* RM0433/RM0399: CR FW b6, START b7, SNB b10:8, PSIZE b5:4 (devices.md §2.3); ECC 10 bits
     * per 256-bit word (devices.md §3.2, 21ic.com [U]); ECC_FA b14:0. */
    [FT_FLASH_H74X] =
        {
            .name = "H74x",
            .word_size = 32,
            .word_shift = 5,
            .ecc_bits = 10,
            .sector_size = 0x20000u,
            .sector_shift = 17,
            .cr_fw = 1u << 6,
            .cr_start = 1u << 7,
            .snb_shift = 8,
            .snb_mask = 0x7u,
            .has_psize = true,
            .sr_flags = SR_FLAGS_H74X,
            .ecc_fa_mask = 0x7FFFu,
            .wp_shift = 0,
            .crc_sect_mask = 0x7u,
            .has_swap = true,
            .has_mer = true,
            .timing = timing_h74x,
        },
    /* RM0468: the same controller with one bank, no MER, no SWAP_BANK (CMSIS h723). */
    [FT_FLASH_H72X] =
        {
            .name = "H72x",
            .word_size = 32,
            .word_shift = 5,
            .ecc_bits = 10,
            .sector_size = 0x20000u,
            .sector_shift = 17,
            .cr_fw = 1u << 6,
            .cr_start = 1u << 7,
            .snb_shift = 8,
            .snb_mask = 0x7u,
            .has_psize = true,
            .sr_flags = SR_FLAGS_H74X,
            .ecc_fa_mask = 0x7FFFu,
            .wp_shift = 0,
            .crc_sect_mask = 0x7u,
            .timing = timing_h74x,
        },
    /* RM0455: FW b4, START b5, SNB b12:6, no PSIZE, no OPERR; 128-bit words (9 ECC bits, the
     * minimum SEC-DED size [U]); WPSGN bit = 4 sectors; ECC_FA b15:0 + OTP_FAIL_ECC b31;
     * CRC_SECT 7 bits (SVD-H7B0; CMSIS h7a3 says 6 [U]); user OTP. */
    [FT_FLASH_H7AX] =
        {
            .name = "H7Ax",
            .word_size = 16,
            .word_shift = 4,
            .ecc_bits = 9,
            .sector_size = 0x2000u,
            .sector_shift = 13,
            .cr_fw = 1u << 4,
            .cr_start = 1u << 5,
            .snb_shift = 6,
            .snb_mask = 0x7Fu,
            .has_psize = false,
            .sr_flags = SR_FLAGS_H7AX,
            .ecc_fa_mask = 0x8000FFFFu,
            .wp_shift = 2,
            .crc_sect_mask = 0x7Fu,
            .has_swap = true,
            .has_mer = true,
            .has_otp = true,
            .timing = timing_h7ax,
        },
};

/* Factory option bytes [U: RM "option byte default values" tables not retrieved]: RDP 0xAA,
 * IWDG software, no reset on Stop/Standby, IWDG frozen in Stop/Standby, no PCROP (start 0xFF >
 * end 0), no secure area with DMES set, nothing write-protected, BOOT_ADD0 0x0800 (user flash),
 * BOOT_ADD1 0x1FF0 (system memory, devices.md §2.3), CM4 BOOT_ADD0 0x0810 (bank 2). */
typedef struct ob_values {
	uint32_t optsr, prar[2], scar[2], wpsn[2], boot, boot4, otpbl, optsr2;
} ob_values;

static const ob_values factory_h74x = {
    0x0006AAD0u, {0xFFu, 0xFFu}, {0x800000FFu, 0x800000FFu}, {0xFFu, 0xFFu}, 0x1FF00800u, 0, 0, 0};
/* Dual core adds IWDG2_SW, BCM4, BCM7, NRST_STOP_D2, NRST_STBY_D2 (devices.md §1.3). */
static const ob_values factory_h74x_dual = {0x03C6AAF0u,
                                            {0xFFu, 0xFFu},
                                            {0x800000FFu, 0x800000FFu},
                                            {0xFFu, 0xFFu},
                                            0x1FF00800u,
                                            0x1FF00810u,
                                            0,
                                            0};
/* H72x adds NRST_STOP_D2/NRST_STBY_D2 b24/25 (devices.md §2.3). */
static const ob_values factory_h72x = {
    0x0306AAD0u, {0xFFu, 0xFFu}, {0x800000FFu, 0x800000FFu}, {0xFFu, 0xFFu}, 0x1FF00800u, 0, 0, 0};
static const ob_values factory_h7ax = {0x0006AAD0u,
                                       {0xFFu, 0xFFu},
                                       {0x800000FFu, 0x800000FFu},
                                       {0xFFFFFFFFu, 0xFFFFFFFFu},
                                       0x1FF00800u,
                                       0,
                                       0,
                                       0};

/* ---- Register table (STYLE §5: registers as data, write semantics coded once) ---- */

enum slot {
	S_NONE,
	S_ACR,
	S_OPTCR,
	S_OPTSR_CUR,
	S_OPTSR_PRG,
	S_BOOT_CUR,
	S_BOOT_PRG,
	S_BOOT4_CUR,
	S_BOOT4_PRG,
	S_CRCDATA,
	S_OTPBL_CUR,
	S_OTPBL_PRG,
	S_OPTSR2_CUR,
	S_OPTSR2_PRG,
	/* one per register bank; bank 2 at + BANK_SLOTS */
	S_CR,
	S_SR,
	S_CRCCR,
	S_CRCSADD,
	S_CRCEADD,
	S_ECC_FA,
	S_PRAR_CUR,
	S_PRAR_PRG,
	S_SCAR_CUR,
	S_SCAR_PRG,
	S_WPSN_CUR,
	S_WPSN_PRG,
	S_BANK_END,
	BANK_SLOTS = S_BANK_END - S_CR,
	SLOT_COUNT = S_BANK_END + BANK_SLOTS,
};

typedef enum reg_kind {
	K_RW,     /* stores the writable bits */
	K_RO,     /* hardware-owned; writes ignored */
	K_CLEAR,  /* write-1-to-clear into the target register; reads 0 */
	K_KEY,    /* KEYRx: key sequence for CRx.LOCK; reads 0 */
	K_OPTKEY, /* OPTKEYR: key sequence for OPTCR.OPTLOCK; reads 0 */
	K_CR,     /* plus LOCK, PG, FW, START, CRC_EN semantics */
	K_OPTCR,  /* plus OPTLOCK, OPTSTART, MER semantics */
	K_CRCCR,  /* plus ADD_SECT, CLEAN_SECT, START_CRC, CLEAN_CRC actions */
} reg_kind;

typedef enum reg_gate {
	G_NONE,
	G_BANK_UNLOCKED, /* "can be programmed only when LOCK is cleared" (SVD-H7B0 CR1) */
	G_OPT_UNLOCKED,  /* *_PRG: writable with OPTLOCK cleared [U] */
	G_CRC_ENABLED,   /* "CRC_SECT can be set only when CRC_EN is set" (SVD-H7B0 CRCCR1) */
} reg_gate;

typedef enum reg_copy {
	C_ONCE,
	C_MIRROR, /* also at +0x100 on dual-bank dies (SVD-H7B0 ACR, OPTKEYR, OPTCR, OPTSR, OPTCCR,
	           * BOOT at 0x100..0x144; assumed for RM0433/RM0399 [U]) */
	C_BANK2,  /* bank-2 copy at +0x100 on dual-bank dies (devices.md §2.1) */
} reg_copy;

#define L74           (1u << FT_FLASH_H74X)
#define L72           (1u << FT_FLASH_H72X)
#define L7A           (1u << FT_FLASH_H7AX)
#define LALL          (L74 | L72 | L7A)
#define N_SINGLE_CORE (1u << 0)
#define N_DUAL_CORE   (1u << 1)

typedef struct reg_desc {
	uint16_t offset;
	uint8_t layouts; /* L* bits */
	uint8_t needs;   /* N_* bits, 0 = any part */
	uint8_t copy;    /* reg_copy */
	uint8_t slot;    /* enum slot, bank-1 slot for banked registers */
	uint8_t kind;    /* reg_kind */
	uint8_t gate;    /* reg_gate */
	uint8_t target;  /* K_CLEAR: the slot whose bits the 1s clear */
	uint32_t reset;
	uint32_t writable;
	uint32_t w1c;
	const char *name, *name2; /* name2: the bank-2 copy */
} reg_desc;

/* OPTSR_PRG writable bits (devices.md §2.3, CMSIS-H7 FLASH_OPTSR_*): BOR_LEV, IWDG1_SW,
 * NRST_STOP/STBY_D1, RDP, FZ_IWDG_STOP/SDBY, ST_RAM_SIZE, SECURITY, IO_HSLV ... */
#define OPTSR_W_COMMON    0x203EFFDCu
#define OPTSR_W_H74X      (OPTSR_W_COMMON | OPTSR_SWAP_BANK_OPT)
#define OPTSR_W_DUAL_CORE 0x03C00020u /* IWDG2_SW, BCM4, BCM7, NRST_STOP_D2, NRST_STBY_D2 */
#define OPTSR_W_H72X      (OPTSR_W_COMMON | 0x03000000u)
#define OPTSR_W_H7AX      (OPTSR_W_COMMON | OPTSR_SWAP_BANK_OPT | (1u << 16) /* VDDMMC_HSLV */)
/* CR writable bits: LOCK..SNB, CRC_EN, the interrupt enables (CMSIS-H7 FLASH_CR_*). */
#define CR_W_H74X 0x1FEF87FFu
#define CR_W_H7AX 0x1FAF9FFFu /* FW b4, START b5, SNB b12:6, no PSIZE, no OPERRIE */
/* CRCCR stored bits: CRC_SECT, CRC_BY_SECT, CRC_BURST b21:20, ALL_BANK. */
#define CRCCR_W_H74X 0x00700107u
#define CRCCR_W_H7AX 0x0070017Fu

static const reg_desc reg_table[] = {
    /* offset, layouts, needs, copy, slot, kind, gate, target, reset, writable, w1c, names */
    /* ACR reset: 0x37 on H743 (RENODE), 0x13 on H7B0 (SVD-H7B0); H72x assumed as H743 [U]. */
    {0x000, L74 | L72, 0, C_MIRROR, S_ACR, K_RW, G_NONE, 0, 0x37u, 0x3Fu, 0, "ACR", NULL},
    {0x000, L7A, 0, C_MIRROR, S_ACR, K_RW, G_NONE, 0, 0x13u, 0x3Fu, 0, "ACR", NULL},
    {0x004, LALL, 0, C_BANK2, S_NONE, K_KEY, G_NONE, 0, 0, 0, 0, "KEYR1", "KEYR2"},
    {0x008, LALL, 0, C_MIRROR, S_NONE, K_OPTKEY, G_NONE, 0, 0, 0, 0, "OPTKEYR", NULL},
    /* CR reset: LOCK + PSIZE x64 on H743 (RENODE); LOCK on H7B0 (SVD-H7B0); H72x as H743 [U]. */
    {0x00C, L74 | L72, 0, C_BANK2, S_CR, K_CR, G_BANK_UNLOCKED, 0, 0x31u, CR_W_H74X, 0, "CR1",
     "CR2"},
    {0x00C, L7A, 0, C_BANK2, S_CR, K_CR, G_BANK_UNLOCKED, 0, 0x01u, CR_W_H7AX, 0, "CR1", "CR2"},
    {0x010, LALL, 0, C_BANK2, S_SR, K_RO, G_NONE, 0, 0, 0, 0, "SR1", "SR2"},
    {0x014, L74 | L72, 0, C_BANK2, S_NONE, K_CLEAR, G_NONE, S_SR, 0, 0, SR_FLAGS_H74X, "CCR1",
     "CCR2"},
    {0x014, L7A, 0, C_BANK2, S_NONE, K_CLEAR, G_NONE, S_SR, 0, 0, SR_FLAGS_H7AX, "CCR1", "CCR2"},
    /* OPTCR reset OPTLOCK (SVD-H7B0, RENODE); SWAP_BANK read-only, loaded at reset. */
    {0x018, L74, 0, C_MIRROR, S_OPTCR, K_OPTCR, G_NONE, 0, 0x1u, 0x40000013u, 0, "OPTCR", NULL},
    {0x018, L72, 0, C_ONCE, S_OPTCR, K_OPTCR, G_NONE, 0, 0x1u, 0x40000003u, 0, "OPTCR", NULL},
    {0x018, L7A, 0, C_MIRROR, S_OPTCR, K_OPTCR, G_NONE, 0, 0x1u, 0x40000033u, 0, "OPTCR", NULL},
    {0x01C, LALL, 0, C_MIRROR, S_OPTSR_CUR, K_RO, G_NONE, 0, 0, 0, 0, "OPTSR_CUR", NULL},
    {0x020, L74, N_SINGLE_CORE, C_MIRROR, S_OPTSR_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, OPTSR_W_H74X, 0,
     "OPTSR_PRG", NULL},
    {0x020, L74, N_DUAL_CORE, C_MIRROR, S_OPTSR_PRG, K_RW, G_OPT_UNLOCKED, 0, 0,
     OPTSR_W_H74X | OPTSR_W_DUAL_CORE, 0, "OPTSR_PRG", NULL},
    {0x020, L72, 0, C_ONCE, S_OPTSR_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, OPTSR_W_H72X, 0, "OPTSR_PRG",
     NULL},
    {0x020, L7A, 0, C_MIRROR, S_OPTSR_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, OPTSR_W_H7AX, 0, "OPTSR_PRG",
     NULL},
    {0x024, LALL, 0, C_MIRROR, S_NONE, K_CLEAR, G_NONE, S_OPTSR_CUR, 0, 0, OPTCCR_CLR_OPTCHANGEERR,
     "OPTCCR", NULL},
    {0x028, LALL, 0, C_BANK2, S_PRAR_CUR, K_RO, G_NONE, 0, 0, 0, 0, "PRAR_CUR1", "PRAR_CUR2"},
    {0x02C, LALL, 0, C_BANK2, S_PRAR_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0x8FFF0FFFu, 0, "PRAR_PRG1",
     "PRAR_PRG2"},
    {0x030, LALL, 0, C_BANK2, S_SCAR_CUR, K_RO, G_NONE, 0, 0, 0, 0, "SCAR_CUR1", "SCAR_CUR2"},
    {0x034, LALL, 0, C_BANK2, S_SCAR_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0x8FFF0FFFu, 0, "SCAR_PRG1",
     "SCAR_PRG2"},
    {0x038, LALL, 0, C_BANK2, S_WPSN_CUR, K_RO, G_NONE, 0, 0, 0, 0, "WPSN_CUR1", "WPSN_CUR2"},
    {0x03C, L74 | L72, 0, C_BANK2, S_WPSN_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0xFFu, 0, "WPSN_PRG1",
     "WPSN_PRG2"},
    {0x03C, L7A, 0, C_BANK2, S_WPSN_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0xFFFFFFFFu, 0, "WPSGN_PRG1",
     "WPSGN_PRG2"},
    /* BOOT_CUR/PRG are BOOT7_CUR/PRG on dual-core parts (CMSIS h747). */
    {0x040, LALL, 0, C_MIRROR, S_BOOT_CUR, K_RO, G_NONE, 0, 0, 0, 0, "BOOT_CUR", NULL},
    {0x044, LALL, 0, C_MIRROR, S_BOOT_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0xFFFFFFFFu, 0, "BOOT_PRG",
     NULL},
    {0x048, L74, N_DUAL_CORE, C_ONCE, S_BOOT4_CUR, K_RO, G_NONE, 0, 0, 0, 0, "BOOT4_CUR", NULL},
    {0x04C, L74, N_DUAL_CORE, C_ONCE, S_BOOT4_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0xFFFFFFFFu, 0,
     "BOOT4_PRG", NULL},
    /* CRCCR reset 0x001C0000 on H7B0 (SVD-H7B0); 0 elsewhere [U]. */
    {0x050, L74 | L72, 0, C_BANK2, S_CRCCR, K_CRCCR, G_CRC_ENABLED, 0, 0, CRCCR_W_H74X, 0, "CRCCR1",
     "CRCCR2"},
    {0x050, L7A, 0, C_BANK2, S_CRCCR, K_CRCCR, G_CRC_ENABLED, 0, 0x001C0000u, CRCCR_W_H7AX, 0,
     "CRCCR1", "CRCCR2"},
    /* CRCSADD/CRCEADD: 32-bit in CMSIS, bits 1:0 not settable (SVD-H7B0 mask 0x000FFFFC) [U]. */
    {0x054, LALL, 0, C_BANK2, S_CRCSADD, K_RW, G_NONE, 0, 0, 0xFFFFFFFCu, 0, "CRCSADD1",
     "CRCSADD2"},
    {0x058, LALL, 0, C_BANK2, S_CRCEADD, K_RW, G_NONE, 0, 0, 0xFFFFFFFCu, 0, "CRCEADD1",
     "CRCEADD2"},
    /* One CRC result: HAL reads FLASH->CRCDATA for both banks; CMSIS names 0x15C CRCDATA2 [U]. */
    {0x05C, LALL, 0, C_MIRROR, S_CRCDATA, K_RO, G_NONE, 0, 0, 0, 0, "CRCDATA", NULL},
    {0x060, LALL, 0, C_BANK2, S_ECC_FA, K_RO, G_NONE, 0, 0, 0, 0, "ECC_FA1", "ECC_FA2"},
    {0x068, L7A, 0, C_ONCE, S_OTPBL_CUR, K_RO, G_NONE, 0, 0, 0, 0, "OTPBL_CUR", NULL},
    {0x06C, L7A, 0, C_ONCE, S_OTPBL_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0xFFFFu, 0, "OTPBL_PRG", NULL},
    {0x070, L72, 0, C_ONCE, S_OPTSR2_CUR, K_RO, G_NONE, 0, 0, 0, 0, "OPTSR2_CUR", NULL},
    {0x074, L72, 0, C_ONCE, S_OPTSR2_PRG, K_RW, G_OPT_UNLOCKED, 0, 0, 0x7u, 0, "OPTSR2_PRG", NULL},
};

typedef struct reg_ref {
	const reg_desc *desc; /* NULL: reserved */
	uint8_t bank;         /* register bank of a C_BANK2 copy */
} reg_ref;

/* ---- Model state ---- */

enum op_kind { OP_PROGRAM, OP_SECTOR_ERASE, OP_BANK_ERASE, OP_OTP_PROGRAM, OP_OPTION };

typedef struct op {
	uint8_t kind;
	bool accepted;   /* OP_OPTION: the change passes the rules; else it ends in OPTCHANGEERR */
	bool regression; /* OP_OPTION: RDP level 1 -> 0 */
	bool from_mer;   /* OP_BANK_ERASE started by OPTCR.MER */
	uint32_t index;  /* flash word, sector or OTP word */
	uint64_t deadline;
	uint8_t data[MAX_WORD];
} op;

typedef enum key_result { KEY_PENDING, KEY_UNLOCKED, KEY_FROZEN } key_result;

typedef struct key_lock {
	uint8_t step;
	bool frozen; /* a wrong key or a second unlock: locked until reset */
} key_lock;

typedef struct bank_state {
	key_lock key;
	uint32_t wb_word;   /* flash word being filled, index in the bank */
	uint32_t wb_filled; /* bit i: byte i written; SR.WBNE mirrors wb_filled != 0 */
	uint8_t wb_data[MAX_WORD];
	op queue[QUEUE_DEPTH]; /* a ring: qlen operations from qhead */
	unsigned qhead, qlen;  /* SR.BSY and SR.QW mirror qlen != 0: the head always executes */
	bool fail_next;
	uint32_t crc_sectors[4]; /* CRC sector list, one bit per sector */
} bank_state;

struct ft_flash_h7 {
	ft_flash_geometry geo;
	const layout_desc *ld;
	ft_clock *clock;
	bool dual_core;
	unsigned reg_banks;  /* register banks: 2 on dual-bank dies */
	uint32_t word_count; /* flash words per bank */
	uint8_t *array, *ecc, *blob;
	bool own_array, own_ecc, own_blob;
	uint32_t reg[SLOT_COUNT];
	reg_ref map[MAP_WORDS * 2]; /* 0x000..0x2FC; the bank-2 block ends at 0x160 */
	bank_state bank[2];
	key_lock opt_key;
	ob_values ob; /* the programmed option bytes, decoded from the blob */
	bool swapped; /* OPTCR.SWAP_BANK: logical bank b is physical bank b ^ swapped */
	bool intrusion, secure;
	uint16_t ecc_cols[MAX_WORD * 8];
	uint16_t otp_cols[16];
	uint32_t crc_table[256];
};

#define REG(fl, s)     ((fl)->reg[(s)])
#define BREG(fl, s, b) ((fl)->reg[(s) + (b)*BANK_SLOTS])

/* Index in reg[] of a table slot in register bank b. */
static unsigned slot_of(unsigned slot, unsigned b)
{
	return slot >= S_CR ? slot + b * BANK_SLOTS : slot;
}

/* ---- Option-byte blob (layout in flash_h7.h) ---- */

#define OB_MAGIC         0x374F5446u
#define OB_VERSION       1u
#define OB_OFF_WORDS     12u
#define OB_OFF_OTP       64u
#define OB_OFF_OTP_STATE (OB_OFF_OTP + FT_FLASH_H7_OTP_SIZE)
#define OB_SIZE          (OB_OFF_OTP_STATE + OTP_WORDS)

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The blob's words in order, as pointers into an ob_values. */
static void ob_fields(ob_values *ob, uint32_t *f[11])
{
	uint32_t *list[11] = {&ob->optsr,   &ob->prar[0], &ob->prar[1], &ob->scar[0],
	                      &ob->scar[1], &ob->wpsn[0], &ob->wpsn[1], &ob->boot,
	                      &ob->boot4,   &ob->otpbl,   &ob->optsr2};
	memcpy(f, list, sizeof(list));
}

static void ob_decode(const uint8_t *blob, ob_values *ob)
{
	uint32_t *f[11];
	ob_fields(ob, f);
	for (unsigned i = 0; i < 11; i++)
		*f[i] = get_le32(blob + OB_OFF_WORDS + 4 * i);
}

static void ob_encode(ft_flash_h7 *fl)
{
	uint32_t *f[11];
	ob_fields(&fl->ob, f);
	put_le32(fl->blob, OB_MAGIC);
	put_le32(fl->blob + 4, OB_VERSION);
	put_le32(fl->blob + 8, (uint32_t)fl->geo.layout);
	for (unsigned i = 0; i < 11; i++)
		put_le32(fl->blob + OB_OFF_WORDS + 4 * i, *f[i]);
	memset(fl->blob + OB_OFF_WORDS + 44, 0, OB_OFF_OTP - OB_OFF_WORDS - 44);
}

static uint8_t *otp_data(ft_flash_h7 *fl)
{
	return fl->blob + OB_OFF_OTP;
}

static uint8_t *otp_state(ft_flash_h7 *fl)
{
	return fl->blob + OB_OFF_OTP_STATE;
}

/* ---- ECC ----
 * ST does not publish its code. The model uses a SEC-DED code of the real size (10 check bits per
 * 256-bit word, 9 per 128-bit word, 6 per OTP 16-bit word): column i of the parity-check matrix is
 * the i-th vector of odd weight >= 3 in (weight, value) order [U]. Only its consequences matter:
 * re-programming a word leaves the cells at old AND new and the check bits at ecc(old) AND
 * ecc(new); the syndrome then says whether reads see good data (same data again, or all zeros:
 * "you can also flash a non-null unit to all null", devices.md §3.2), a corrected single error or
 * an uncorrectable double error. */

static void ecc_make_columns(uint16_t *cols, unsigned data_bits, unsigned check_bits)
{
	unsigned n = 0;
	for (unsigned weight = 3; weight <= check_bits && n < data_bits; weight += 2) {
		for (unsigned v = 0; v < (1u << check_bits) && n < data_bits; v++) {
			if ((unsigned)__builtin_popcount(v) == weight)
				cols[n++] = (uint16_t)v;
		}
	}
	assert(n == data_bits);
}

static uint16_t ecc_of(const uint16_t *cols, const uint8_t *data, unsigned bytes)
{
	uint16_t e = 0;
	for (unsigned i = 0; i < bytes; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			if (data[i] >> bit & 1u)
				e ^= cols[i * 8 + bit];
		}
	}
	return e;
}

/* Programs data over cells that hold a programmed (or damaged) word; returns the new state and
 * leaves in cells what reads return. */
static uint8_t ecc_overwrite(const uint16_t *cols, uint8_t *cells, const uint8_t *data,
                             unsigned bytes, uint8_t state)
{
	uint8_t merged[MAX_WORD];
	for (unsigned i = 0; i < bytes; i++)
		merged[i] = cells[i] & data[i]; /* NOR cells only go from 1 to 0 */
	uint16_t stored = ecc_of(cols, cells, bytes) & ecc_of(cols, data, bytes);
	uint16_t syndrome = ecc_of(cols, merged, bytes) ^ stored;
	memcpy(cells, merged, bytes);
	if (state != FT_FLASH_H7_WORD_PROGRAMMED)
		return FT_FLASH_H7_WORD_DOUBLE_ERROR; /* its check bits are already unknown [U] */
	if (syndrome == 0)
		return FT_FLASH_H7_WORD_PROGRAMMED;
	if (__builtin_popcount(syndrome) == 1)
		return FT_FLASH_H7_WORD_SINGLE_ERROR; /* a check bit is wrong: the data is right */
	for (unsigned i = 0; i < bytes * 8; i++) {
		if (cols[i] == syndrome) {
			cells[i / 8] ^=
			    (uint8_t)(1u << (i % 8)); /* what the corrected read returns */
			return FT_FLASH_H7_WORD_SINGLE_ERROR;
		}
	}
	return FT_FLASH_H7_WORD_DOUBLE_ERROR;
}

/* ---- CRC ---- */

static void crc_make_table(uint32_t *table)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i << 24;
		for (unsigned k = 0; k < 8; k++)
			c = (c & 0x80000000u) ? (c << 1) ^ CRC_POLY : c << 1;
		table[i] = c;
	}
}

/* ---- Small helpers ---- */

static unsigned rdp_level_of(uint32_t optsr)
{
	uint32_t rdp = (optsr & OPTSR_RDP_MASK) >> OPTSR_RDP_SHIFT;
	return rdp == RDP_LEVEL0 ? 0 : rdp == RDP_LEVEL2 ? 2 : 1; /* HAL FLASH_OB_GetRDP */
}

static unsigned rdp_level(const ft_flash_h7 *fl)
{
	return rdp_level_of(REG(fl, S_OPTSR_CUR));
}

static bool shut_out(const ft_flash_h7 *fl)
{
	return fl->intrusion && rdp_level(fl) != 0;
}

static bool opt_busy(const ft_flash_h7 *fl)
{
	return (REG(fl, S_OPTSR_CUR) & OPTSR_OPT_BUSY) != 0;
}

static uint32_t full_mask(unsigned bytes)
{
	return (uint32_t)((UINT64_C(1) << bytes) - 1u);
}

static bool bank_present(const ft_flash_h7 *fl, unsigned b)
{
	return b < fl->geo.banks;
}

/* Index of flash word `word` of logical bank b in the array and ecc_state buffers. */
static size_t phys_word(const ft_flash_h7 *fl, unsigned b, uint32_t word)
{
	return (size_t)(b ^ (unsigned)fl->swapped) * fl->word_count + word;
}

typedef struct loc {
	unsigned bank;   /* logical (register) bank */
	uint32_t offset; /* in the bank */
} loc;

static bool locate(const ft_flash_h7 *fl, uint32_t addr, loc *out)
{
	for (unsigned b = 0; b < fl->geo.banks; b++) {
		uint32_t base = fl->geo.bank_base[b];
		if (addr >= base && addr - base < fl->geo.bank_size) {
			out->bank = b;
			out->offset = addr - base;
			return true;
		}
	}
	return false;
}

static bool in_otp(const ft_flash_h7 *fl, uint32_t addr)
{
	return fl->ld->has_otp && addr >= FT_FLASH_H7_OTP_BASE &&
	       addr - FT_FLASH_H7_OTP_BASE < FT_FLASH_H7_OTP_SIZE;
}

/* Bytes from addr to the end of its access unit (flash word or OTP word), 0 if unbacked. */
static uint32_t unit_left(const ft_flash_h7 *fl, uint32_t addr)
{
	loc l;
	if (locate(fl, addr, &l))
		return fl->ld->word_size - (l.offset & (fl->ld->word_size - 1u));
	if (in_otp(fl, addr))
		return 2u - (addr & 1u);
	return 0;
}

/* The timings of a layout at parallelism psize (CR.PSIZE, 0..3). */
static const op_timing *timing_at(const layout_desc *ld, unsigned psize)
{
	return &ld->timing[ld->has_psize ? psize & 3u : 0];
}

static const op_timing *timing_of(const ft_flash_h7 *fl, unsigned b)
{
	return timing_at(fl->ld, BREG(fl, S_CR, b) >> CR_PSIZE_SHIFT);
}

static uint64_t scaled_bank_erase_ns(const op_timing *t, uint32_t bank_size)
{
	return t->bank_erase_ns * bank_size / MIB;
}

static uint64_t bank_erase_ns(const ft_flash_h7 *fl, unsigned b)
{
	return scaled_bank_erase_ns(timing_of(fl, b), fl->geo.bank_size);
}

/* PRAR/SCAR area: start > end: none; start == end: the whole bank; else blocks start..end
 * inclusive (SVD-H7B0 PROT_AREA_START/END text). */
static bool area_active(uint32_t area)
{
	return (area & AREA_START_MASK) <= (area >> AREA_END_SHIFT & AREA_START_MASK);
}

static bool area_overlaps(uint32_t area, uint32_t offset, uint32_t len)
{
	uint32_t start = area & AREA_START_MASK, end = area >> AREA_END_SHIFT & AREA_START_MASK;
	if (start > end)
		return false;
	if (start == end)
		return true;
	uint32_t lo = start * AREA_BLOCK, hi = (end + 1) * AREA_BLOCK;
	return offset < hi && offset + len > lo;
}

static bool secure_shut(const ft_flash_h7 *fl, unsigned b, uint32_t offset, uint32_t len)
{
	return (REG(fl, S_OPTSR_CUR) & OPTSR_SECURITY) && !fl->secure &&
	       area_overlaps(BREG(fl, S_SCAR_CUR, b), offset, len);
}

/* WPSN: 0 = protected; one bit per sector, per 4 sectors on H7Ax (devices.md §2.3). */
static bool sector_write_protected(const ft_flash_h7 *fl, unsigned b, uint32_t sector)
{
	return !(BREG(fl, S_WPSN_CUR, b) >> (sector >> fl->ld->wp_shift) & 1u);
}

/* ---- Operation queue: the only place array contents change ---- */

static void update_busy(ft_flash_h7 *fl, unsigned b)
{
	uint32_t *sr = &BREG(fl, S_SR, b);
	*sr = fl->bank[b].qlen ? *sr | SR_BSY | SR_QW : *sr & ~(SR_BSY | SR_QW);
}

static op *queue_at(bank_state *bk, unsigned i)
{
	return &bk->queue[(bk->qhead + i) % QUEUE_DEPTH];
}

/* An operation starts when the one before it ends. */
static op *push_op(ft_flash_h7 *fl, unsigned b, uint8_t kind, uint32_t index, uint64_t duration)
{
	bank_state *bk = &fl->bank[b];
	assert(bk->qlen < QUEUE_DEPTH);
	uint64_t deadline = ft_clock_deadline_ns(fl->clock, duration);
	if (bk->qlen) {
		uint64_t now = ft_clock_now_ns(fl->clock),
		         after = queue_at(bk, bk->qlen - 1)->deadline;
		deadline += after > now ? after - now : 0;
	}
	op *o = queue_at(bk, bk->qlen++);
	o->kind = kind;
	o->accepted = o->regression = o->from_mer = false;
	o->index = index;
	o->deadline = deadline;
	update_busy(fl, b);
	return o;
}

static void set_words(ft_flash_h7 *fl, unsigned b, uint32_t first, uint32_t count, bool erase)
{
	size_t w = phys_word(fl, b, first);
	if (erase) {
		memset(fl->array + w * fl->ld->word_size, 0xFF, (size_t)count * fl->ld->word_size);
		memset(fl->ecc + w, FT_FLASH_H7_WORD_ERASED, count);
	} else {
		memset(fl->ecc + w, FT_FLASH_H7_WORD_DOUBLE_ERROR, count);
	}
}

/* Flash-word copies of a constant size, which compilers inline. */
static void copy_word(const ft_flash_h7 *fl, uint8_t *dst, const uint8_t *src)
{
	if (fl->ld->word_size == 32)
		memcpy(dst, src, 32);
	else
		memcpy(dst, src, 16);
}

static void program_word(ft_flash_h7 *fl, unsigned b, uint32_t word, const uint8_t *data)
{
	size_t w = phys_word(fl, b, word);
	unsigned ws = fl->ld->word_size;
	uint8_t *cells = fl->array + w * ws;
	if (fl->ecc[w] == FT_FLASH_H7_WORD_ERASED) {
		copy_word(fl, cells, data);
		fl->ecc[w] = FT_FLASH_H7_WORD_PROGRAMMED;
	} else {
		fl->ecc[w] = ecc_overwrite(fl->ecc_cols, cells, data, ws, fl->ecc[w]);
	}
}

static void program_otp(ft_flash_h7 *fl, uint32_t word, const uint8_t *data)
{
	uint8_t *cells = otp_data(fl) + 2 * word, *state = otp_state(fl) + word;
	if (*state == FT_FLASH_H7_WORD_ERASED) {
		memcpy(cells, data, 2);
		*state = FT_FLASH_H7_WORD_PROGRAMMED;
	} else {
		*state = ecc_overwrite(fl->otp_cols, cells, data, 2, *state);
	}
}

/* Regression from RDP level 1 to 0: user flash is erased, PCROP and secure-only areas too when
 * their DMEP/DMES is set (SVD-H7B0 PRAR/SCAR text; devices.md §4) [U]. */
static void regression_erase(ft_flash_h7 *fl)
{
	uint32_t words_per_block = AREA_BLOCK / fl->ld->word_size;
	for (unsigned b = 0; b < fl->geo.banks; b++) {
		uint32_t prar = BREG(fl, S_PRAR_CUR, b), scar = BREG(fl, S_SCAR_CUR, b);
		for (uint32_t off = 0; off < fl->geo.bank_size; off += AREA_BLOCK) {
			bool keep = (!(prar & AREA_DME) && area_overlaps(prar, off, 1)) ||
			            (!(scar & AREA_DME) && area_overlaps(scar, off, 1));
			if (!keep)
				set_words(fl, b, off / fl->ld->word_size, words_per_block, true);
		}
	}
}

static void load_current_options(ft_flash_h7 *fl);

static void finish_option_change(ft_flash_h7 *fl, const op *o)
{
	if (!o->accepted) {
		REG(fl, S_OPTSR_CUR) |= OPTSR_OPTCHANGEERR;
	} else {
		if (o->regression)
			regression_erase(fl);
		ob_values *ob = &fl->ob;
		ob->optsr = REG(fl, S_OPTSR_PRG) & ~OPTSR_VOLATILE;
		for (unsigned b = 0; b < fl->reg_banks; b++) {
			ob->prar[b] = BREG(fl, S_PRAR_PRG, b);
			ob->scar[b] = BREG(fl, S_SCAR_PRG, b);
			ob->wpsn[b] = BREG(fl, S_WPSN_PRG, b);
		}
		ob->boot = REG(fl, S_BOOT_PRG);
		ob->boot4 = REG(fl, S_BOOT4_PRG);
		ob->otpbl |= REG(fl, S_OTPBL_PRG); /* "LOCKBL bits can be set" only (SVD-H7B0) */
		ob->optsr2 = REG(fl, S_OPTSR2_PRG);
		ob_encode(fl);
		load_current_options(fl);
	}
	REG(fl, S_OPTSR_CUR) &= ~OPTSR_OPT_BUSY;
	REG(fl, S_OPTCR) &= ~OPTCR_OPTSTART; /* reset with BSY when the change completes */
}

/* An operation cut short (reset, injected failure) leaves what it touched unreadable [U]. */
static void damage(ft_flash_h7 *fl, unsigned b, const op *o)
{
	uint32_t words_per_sector = 1u << (fl->ld->sector_shift - fl->ld->word_shift);
	switch (o->kind) {
	case OP_PROGRAM: set_words(fl, b, o->index, 1, false); break;
	case OP_SECTOR_ERASE:
		set_words(fl, b, o->index * words_per_sector, words_per_sector, false);
		break;
	case OP_BANK_ERASE: set_words(fl, b, 0, fl->word_count, false); break;
	case OP_OTP_PROGRAM: otp_state(fl)[o->index] = FT_FLASH_H7_WORD_DOUBLE_ERROR; break;
	default: break; /* an option change cut short programs nothing */
	}
}

static bool mer_pending(const ft_flash_h7 *fl)
{
	for (unsigned b = 0; b < 2; b++) {
		for (unsigned i = 0; i < fl->bank[b].qlen; i++) {
			if (fl->bank[b].queue[(fl->bank[b].qhead + i) % QUEUE_DEPTH].from_mer)
				return true;
		}
	}
	return false;
}

/* Named point: the head operation of bank b reaches its deadline. */
static void complete_head(ft_flash_h7 *fl, unsigned b)
{
	bank_state *bk = &fl->bank[b];
	const op *o = queue_at(bk, 0); /* stays intact: nothing is queued while it completes */
	bk->qhead = (bk->qhead + 1) % QUEUE_DEPTH;
	bk->qlen--;
	uint32_t *sr = &BREG(fl, S_SR, b);
	uint32_t words_per_sector = 1u << (fl->ld->sector_shift - fl->ld->word_shift);
	if (o->kind == OP_OPTION) {
		finish_option_change(fl, o);
	} else if (bk->fail_next) {
		bk->fail_next = false;
		damage(fl, b, o);
		*sr |= fl->ld->sr_flags & SR_OPERR;
	} else {
		switch (o->kind) {
		case OP_PROGRAM: program_word(fl, b, o->index, o->data); break;
		case OP_SECTOR_ERASE:
			set_words(fl, b, o->index * words_per_sector, words_per_sector, true);
			break;
		case OP_BANK_ERASE: set_words(fl, b, 0, fl->word_count, true); break;
		case OP_OTP_PROGRAM: program_otp(fl, o->index, o->data); break;
		default: assert(0);
		}
		*sr |= SR_EOP; /* also on erase: HAL FLASH_IRQHandler ends erases on EOP */
	}
	if (o->from_mer && !mer_pending(fl))
		REG(fl, S_OPTCR) &= ~OPTCR_MER;
	update_busy(fl, b);
}

static void sync(ft_flash_h7 *fl)
{
	if (!fl->bank[0].qlen && !fl->bank[1].qlen)
		return;
	uint64_t now = ft_clock_now_ns(fl->clock);
	for (unsigned b = 0; b < 2; b++) {
		while (fl->bank[b].qlen && queue_at(&fl->bank[b], 0)->deadline <= now)
			complete_head(fl, b);
	}
}

/* ---- Write buffer ---- */

static void discard_buffer(ft_flash_h7 *fl, unsigned b)
{
	fl->bank[b].wb_filled = 0;
	BREG(fl, S_SR, b) &= ~SR_WBNE;
}

/* Queues the buffer for programming, missing bytes as 1s (SVD-H7B0 FW1). Caller checked room. */
static void queue_buffer(ft_flash_h7 *fl, unsigned b)
{
	bank_state *bk = &fl->bank[b];
	op *o = push_op(fl, b, OP_PROGRAM, bk->wb_word, timing_of(fl, b)->program_ns);
	copy_word(fl, o->data, bk->wb_data);
	discard_buffer(fl, b);
}

/* ---- Protection rules ---- */

static bool program_allowed(const ft_flash_h7 *fl, unsigned b, uint32_t offset)
{
	/* WRPERR: "program ... targeting a write-protected sector" (SVD-H7B0 SR1); PCROP and
	 * secure-only areas cannot be programmed by non-secure code [U]. */
	return !sector_write_protected(fl, b, offset >> fl->ld->sector_shift) &&
	       !area_overlaps(BREG(fl, S_PRAR_CUR, b), offset, 1) &&
	       (fl->secure || !area_overlaps(BREG(fl, S_SCAR_CUR, b), offset, 1));
}

static bool sector_erase_allowed(const ft_flash_h7 *fl, unsigned b, uint32_t sector)
{
	uint32_t size = fl->ld->sector_size, off = sector * size;
	/* SVD-H7B0 CR1.SER1 note: protected sector => WRPERR. A sector holding PCROP or secure
	 * data [U], or RDP level >= 1 with intrusion [U], is refused the same way. */
	return !shut_out(fl) && !sector_write_protected(fl, b, sector) &&
	       !area_overlaps(BREG(fl, S_PRAR_CUR, b), off, size) &&
	       !area_overlaps(BREG(fl, S_SCAR_CUR, b), off, size);
}

static bool bank_erase_allowed(const ft_flash_h7 *fl, unsigned b)
{
	/* SVD-H7B0 CR1.BER1 note: "bank erase ... and some sectors are protected" => WRPERR. PCROP
	 * and secure areas go with the bank only when DMEP/DMES allow it [U]. */
	if (shut_out(fl))
		return false;
	for (uint32_t s = 0; s < fl->geo.sectors_per_bank; s++) {
		if (sector_write_protected(fl, b, s))
			return false;
	}
	uint32_t prar = BREG(fl, S_PRAR_CUR, b), scar = BREG(fl, S_SCAR_CUR, b);
	return !(area_active(prar) && !(prar & AREA_DME)) &&
	       !(area_active(scar) && !(scar & AREA_DME));
}

/* PCROP and secure-only areas may be defined where there are none; moving or removing one needs
 * an RDP 1 -> 0 regression with its DMEP/DMES set (RM0433 §4.5 [U]). */
static bool area_change_allowed(uint32_t cur, uint32_t prg, bool regression)
{
	uint32_t bounds = AREA_START_MASK | AREA_START_MASK << AREA_END_SHIFT;
	if (!((cur ^ prg) & bounds) || !area_active(cur))
		return true;
	return regression && (cur & AREA_DME);
}

static bool option_change_allowed(const ft_flash_h7 *fl, bool *regression)
{
	unsigned cur = rdp_level(fl), next = rdp_level_of(REG(fl, S_OPTSR_PRG));
	*regression = cur == 1 && next == 0;
	if (cur == 2)
		return false; /* level 2 is final: option bytes can no longer change (devices.md §4)
		               */
	for (unsigned b = 0; b < fl->reg_banks; b++) {
		if (!area_change_allowed(BREG(fl, S_PRAR_CUR, b), BREG(fl, S_PRAR_PRG, b),
		                         *regression) ||
		    !area_change_allowed(BREG(fl, S_SCAR_CUR, b), BREG(fl, S_SCAR_PRG, b),
		                         *regression))
			return false;
	}
	return true;
}

/* ---- Bus accesses ---- */

static void ecc_error(ft_flash_h7 *fl, unsigned b, uint32_t address, uint32_t flag)
{
	uint32_t *sr = &BREG(fl, S_SR, b);
	/* "programs the address in this register only when no ECC error flags are set"
	 * (SVD-H7B0 ECC_FA1R): the first error is kept. */
	if (!(*sr & SR_ECC))
		BREG(fl, S_ECC_FA, b) = address & fl->ld->ecc_fa_mask;
	*sr |= flag;
}

/* Loads n bytes that lie in one access unit. */
static ft_error load_unit(ft_flash_h7 *fl, uint32_t addr, uint8_t *dst, uint32_t n, bool *fault)
{
	loc l;
	unsigned ws = fl->ld->word_size;
	if (!locate(fl, addr, &l)) { /* OTP: read through bank 1 (HAL programs it as bank 1) */
		uint32_t w = (addr - FT_FLASH_H7_OTP_BASE) / 2;
		if (fl->bank[0].qlen)
			return FT_ERR_BUSY;
		uint8_t state = otp_state(fl)[w];
		if (state == FT_FLASH_H7_WORD_SINGLE_ERROR ||
		    state == FT_FLASH_H7_WORD_DOUBLE_ERROR)
			ecc_error(fl, 0, w | ECC_FA_OTP,
			          state == FT_FLASH_H7_WORD_DOUBLE_ERROR ? SR_DBECCERR
			                                                 : SR_SNECCERR);
		if (state == FT_FLASH_H7_WORD_DOUBLE_ERROR) {
			*fault = true;
			return FT_OK;
		}
		memcpy(dst, otp_data(fl) + (addr - FT_FLASH_H7_OTP_BASE), n);
		return FT_OK;
	}
	uint32_t *sr = &BREG(fl, S_SR, l.bank);
	if (fl->bank[l.bank].qlen)
		return FT_ERR_BUSY; /* a read of a busy bank waits for the operation [U] */
	/* RDPERR: "read access to a PCROP-protected or a RDP-protected area" (SVD-H7B0 SR1);
	 * RDSERR: "read access to a secure-only protected word". Both end in a bus error [U]. */
	if (shut_out(fl) || area_overlaps(BREG(fl, S_PRAR_CUR, l.bank), l.offset, n)) {
		*sr |= SR_RDPERR;
		*fault = true;
		return FT_OK;
	}
	if (secure_shut(fl, l.bank, l.offset, n)) {
		*sr |= SR_RDSERR;
		*fault = true;
		return FT_OK;
	}
	uint32_t word = l.offset >> fl->ld->word_shift; /* ECC_FA: word index in the bank (§2.3) */
	size_t w = phys_word(fl, l.bank, word);
	if (fl->ecc[w] == FT_FLASH_H7_WORD_SINGLE_ERROR)
		ecc_error(fl, l.bank, word, SR_SNECCERR);
	if (fl->ecc[w] == FT_FLASH_H7_WORD_DOUBLE_ERROR) {
		ecc_error(fl, l.bank, word,
		          SR_DBECCERR); /* and an AXI bus error (devices.md §3.2) */
		*fault = true;
		return FT_OK;
	}
	memcpy(dst, fl->array + w * ws + (l.offset & (ws - 1u)), n);
	return FT_OK;
}

/* One store of n bytes within one flash word: RM0433 §4.3 write-buffer rules. */
static ft_error store_bank(ft_flash_h7 *fl, loc l, const uint8_t *src, uint32_t n, bool *fault)
{
	unsigned b = l.bank, ws = fl->ld->word_size;
	bank_state *bk = &fl->bank[b];
	uint32_t *sr = &BREG(fl, S_SR, b);
	if (bk->qlen == QUEUE_DEPTH || opt_busy(fl))
		return FT_ERR_BUSY; /* the AXI write stalls until the queue has room [U] */
	if (shut_out(fl)) {
		*fault = true; /* RDP level >= 1 shuts debug and RAM/system-memory code out [U] */
		return FT_OK;
	}
	/* PGSERR (RM0433 §4.7.3 via stm32h7xx-hal PR #383; RM0399 §4.3.9): PG not set, or INCERR
	 * not cleared; the data is dropped without a bus error. */
	if (!(BREG(fl, S_CR, b) & CR_PG) || (*sr & SR_INCERR)) {
		*sr |= SR_PGSERR;
		return FT_OK;
	}
	uint32_t word = l.offset >> fl->ld->word_shift, first = l.offset & (ws - 1u);
	uint32_t mask = (uint32_t)(((UINT64_C(1) << n) - 1u) << first);
	uint32_t error = 0;
	if (!program_allowed(fl, b, l.offset))
		error = SR_WRPERR;
	else if (bk->wb_filled && bk->wb_word != word)
		error = SR_INCERR; /* another flash word before this one is complete (RENODE) */
	else if (bk->wb_filled & mask)
		error = SR_STRBERR; /* "write several times the same byte" (SVD-H7B0 SR1) */
	if (error) {
		*sr |= error;
		discard_buffer(
		    fl, b); /* "an error that involves data loss" empties it (SVD WBNE) [U] */
		return FT_OK;
	}
	if (!bk->wb_filled) {
		bk->wb_word = word;
		if (n < ws)
			memset(bk->wb_data, 0xFF, ws);
	}
	if (n == ws)
		copy_word(fl, bk->wb_data, src);
	else
		memcpy(bk->wb_data + first, src, n);
	bk->wb_filled |= mask;
	if (bk->wb_filled == full_mask(ws))
		queue_buffer(fl, b);
	else
		*sr |= SR_WBNE;
	return FT_OK;
}

/* OTP: one 16-bit store with OPTCR.PG_OTP set (HAL HAL_FLASH_Program, FLASH_TYPEPROGRAM_OTPWORD),
 * queued on bank 1. Other store sizes [U] and stores without PG_OTP set PGSERR. */
static ft_error store_otp(ft_flash_h7 *fl, uint32_t addr, const uint8_t *src, uint32_t n)
{
	uint32_t *sr = &BREG(fl, S_SR, 0);
	if (fl->bank[0].qlen == QUEUE_DEPTH || opt_busy(fl))
		return FT_ERR_BUSY;
	uint32_t w = (addr - FT_FLASH_H7_OTP_BASE) / 2;
	if (!(REG(fl, S_OPTCR) & OPTCR_PG_OTP) || n != 2) {
		*sr |= SR_PGSERR;
		return FT_OK;
	}
	/* "locked and can no longer be programmed" (SVD-H7B0 OTPBL); the flag is a guess [U]. */
	if (fl->ob.otpbl >> (w / OTP_BLOCK_WORDS) & 1u) {
		*sr |= SR_WRPERR;
		return FT_OK;
	}
	op *o = push_op(fl, 0, OP_OTP_PROGRAM, w, timing_of(fl, 0)->program_ns);
	memcpy(o->data, src, 2);
	return FT_OK;
}

/* One store; n bytes that cross a flash word (or OTP word) are not one AXI store. */
static ft_error store(ft_flash_h7 *fl, uint32_t addr, const uint8_t *src, uint32_t n, bool *fault)
{
	loc l;
	if (locate(fl, addr, &l)) {
		if ((l.offset & (fl->ld->word_size - 1u)) + n > fl->ld->word_size)
			return FT_ERR_INVALID_ARG;
		return store_bank(fl, l, src, n, fault);
	}
	if (!in_otp(fl, addr))
		return FT_ERR_RANGE;
	return (addr & 1u) + n > 2 ? FT_ERR_INVALID_ARG : store_otp(fl, addr, src, n);
}

/* ---- Erase and option-change requests ---- */

static ft_error start_erase(ft_flash_h7 *fl, unsigned b)
{
	uint32_t cr = BREG(fl, S_CR, b), *sr = &BREG(fl, S_SR, b);
	if (!bank_present(fl, b))
		return FT_OK; /* a register bank without memory (H750xB) [U] */
	if (cr & CR_BER) {    /* "BER has a higher priority than SER" (SVD-H7B0 CR1) */
		if (!bank_erase_allowed(fl, b))
			*sr |= SR_WRPERR;
		else
			push_op(fl, b, OP_BANK_ERASE, 0, bank_erase_ns(fl, b));
	} else if (cr & CR_SER) {
		uint32_t sector = cr >> fl->ld->snb_shift & fl->ld->snb_mask;
		if (sector >= fl->geo.sectors_per_bank)
			*sr |= SR_PGSERR; /* a sector this part does not have [U] */
		else if (!sector_erase_allowed(fl, b, sector))
			*sr |= SR_WRPERR;
		else
			push_op(fl, b, OP_SECTOR_ERASE, sector, timing_of(fl, b)->sector_erase_ns);
	}
	return FT_OK;
}

/* OPTCR.MER: both banks (devices.md §2.3, HAL FLASH_MassErase). HAL sets it after unlocking CR1
 * and CR2 only, so it is honoured with OPTLOCK set and both banks unlocked [U]. */
static ft_error mass_erase(ft_flash_h7 *fl)
{
	unsigned n = fl->geo.banks;
	bool refused = false;
	for (unsigned b = 0; b < n; b++) {
		if (BREG(fl, S_CR, b) & CR_LOCK)
			return FT_OK;
	}
	for (unsigned b = 0; b < n; b++) {
		if (fl->bank[b].qlen == QUEUE_DEPTH)
			return FT_ERR_BUSY;
	}
	for (unsigned b = 0; b < n; b++) {
		if (!bank_erase_allowed(fl, b)) {
			BREG(fl, S_SR, b) |= SR_WRPERR;
			refused = true;
		}
	}
	if (refused)
		return FT_OK;
	for (unsigned b = 0; b < n; b++)
		push_op(fl, b, OP_BANK_ERASE, 0, bank_erase_ns(fl, b))->from_mer = true;
	REG(fl, S_OPTCR) |= OPTCR_MER;
	return FT_OK;
}

static void start_option_change(ft_flash_h7 *fl)
{
	for (unsigned b = 0; b < 2; b++) {
		if (fl->bank[b].qlen || fl->bank[b].wb_filled) {
			REG(fl, S_OPTSR_CUR) |= OPTSR_OPTCHANGEERR; /* banks not idle [U] */
			return;
		}
	}
	bool regression = false;
	bool accepted = option_change_allowed(fl, &regression);
	uint64_t ns = OPTION_CHANGE_NS;
	if (accepted && regression)
		ns += bank_erase_ns(fl, 0); /* both banks erased in parallel [U] */
	/* BSY1 covers option-byte changes (SVD-H7B0 SR1.BSY1), so the change runs on bank 1. */
	op *o = push_op(fl, 0, OP_OPTION, 0, ns);
	o->accepted = accepted;
	o->regression = regression;
	REG(fl, S_OPTCR) |= OPTCR_OPTSTART;
	REG(fl, S_OPTSR_CUR) |= OPTSR_OPT_BUSY;
}

/* ---- CRC unit ---- */

static uint32_t crc_range(ft_flash_h7 *fl, unsigned b, uint32_t off, uint32_t len, uint32_t crc)
{
	size_t base = phys_word(fl, b, 0) * fl->ld->word_size;
	for (uint32_t a = off; a < off + len; a += 4) {
		uint8_t word[4];
		memcpy(word, fl->array + base + a, 4);
		/* "a protected area (PCROP or secure-only) has been detected" (SVD-H7B0 CRCRDERR);
		 * its words count as zeros [U]. */
		if (area_overlaps(BREG(fl, S_PRAR_CUR, b), a, 4) || secure_shut(fl, b, a, 4)) {
			BREG(fl, S_SR, b) |= SR_CRCRDERR;
			memset(word, 0, 4);
		}
		for (int i = 3; i >= 0; i--)
			crc = (crc << 8) ^ fl->crc_table[(crc >> 24) ^ word[i]];
	}
	return crc;
}

/* START_CRC: the result is ready at once; CRC_BUSY is never seen [U: no timing source]. */
static void crc_run(ft_flash_h7 *fl, unsigned b)
{
	uint32_t ccr = BREG(fl, S_CRCCR, b), crc = CRC_INIT;
	if (bank_present(fl, b)) {
		if (ccr & CRCCR_BY_SECT) {
			for (uint32_t s = 0; s < fl->geo.sectors_per_bank; s++) {
				if ((ccr & CRCCR_ALL_BANK) ||
				    (fl->bank[b].crc_sectors[s / 32] >> s % 32 & 1u))
					crc = crc_range(fl, b, s * fl->ld->sector_size,
					                fl->ld->sector_size, crc);
			}
		} else {
			/* CRCSADD..CRCEADD inclusive of the word at CRCEADD (community.st.com
			 * "STM32H7 FLASH CRC": end address -1/-2/-3 give the same result) [U]. */
			uint32_t start = BREG(fl, S_CRCSADD, b) & CRC_ADDR_MASK;
			uint32_t end = (BREG(fl, S_CRCEADD, b) & CRC_ADDR_MASK) + 4;
			if (end > fl->geo.bank_size)
				end = fl->geo.bank_size;
			if (start < end)
				crc = crc_range(fl, b, start, end - start, crc);
		}
	}
	REG(fl, S_CRCDATA) = crc;
	BREG(fl, S_SR, b) |= SR_CRCEND;
}

static uint32_t row_reset(const ft_flash_h7 *fl, uint32_t offset)
{
	const reg_desc *d = fl->map[offset / 4].desc;
	return d ? d->reset : 0;
}

/* CR.CRC_EN cleared: "clears CRC configuration and resets the content of FLASH_CRCDATAR"
 * (SVD-H7B0 CR1.CRC_EN). */
static void crc_disable(ft_flash_h7 *fl, unsigned b)
{
	BREG(fl, S_CRCCR, b) = row_reset(fl, 0x050);
	memset(fl->bank[b].crc_sectors, 0, sizeof(fl->bank[b].crc_sectors));
	REG(fl, S_CRCDATA) = 0;
}

static void write_crccr(ft_flash_h7 *fl, const reg_desc *d, unsigned b, uint32_t value)
{
	uint32_t *ccr = &BREG(fl, S_CRCCR, b);
	bank_state *bk = &fl->bank[b];
	*ccr = (*ccr & ~d->writable) | (value & d->writable);
	/* ADD_SECT, CLEAN_SECT, START_CRC and CLEAN_CRC act and read back 0: HAL's
	 * FLASH_CRC_AddSector rewrites CRCCR with ADD_SECT clear between sectors [U]. */
	if (value & CRCCR_CLEAN_CRC)
		REG(fl, S_CRCDATA) = 0;
	if (value & CRCCR_CLEAN_SECT)
		memset(bk->crc_sectors, 0, sizeof(bk->crc_sectors));
	if (value & CRCCR_ADD_SECT) {
		uint32_t s = *ccr & fl->ld->crc_sect_mask;
		if (s < fl->geo.sectors_per_bank)
			bk->crc_sectors[s / 32] |= 1u << s % 32;
	}
	if (value & CRCCR_START_CRC)
		crc_run(fl, b);
}

/* ---- Register writes ---- */

/* One key-lock helper for KEYR1/2 and OPTKEYR (STYLE §5; SVD-H7B0 CR1.LOCK1: "If a wrong
 * sequence is executed, or if the unlock sequence ... is performed twice, this bit remains locked
 * until the next system reset"). */
static key_result key_lock_write(key_lock *kl, const uint32_t keys[2], bool locked, uint32_t value)
{
	if (kl->frozen)
		return KEY_FROZEN;
	if (!locked || value != keys[kl->step]) {
		kl->frozen = true;
		kl->step = 0;
		return KEY_FROZEN;
	}
	if (++kl->step < 2)
		return KEY_PENDING;
	kl->step = 0;
	return KEY_UNLOCKED;
}

static void key_write(key_lock *kl, const uint32_t keys[2], uint32_t *reg, uint32_t lock_bit,
                      uint32_t value)
{
	switch (key_lock_write(kl, keys, *reg & lock_bit, value)) {
	case KEY_UNLOCKED: *reg &= ~lock_bit; break;
	case KEY_FROZEN: *reg |= lock_bit; break;
	case KEY_PENDING: break;
	}
}

static ft_error write_cr(ft_flash_h7 *fl, const reg_desc *d, unsigned b, uint32_t value)
{
	const layout_desc *ld = fl->ld;
	bank_state *bk = &fl->bank[b];
	uint32_t *cr = &BREG(fl, S_CR, b), old = *cr;
	if (value &
	    CR_LOCK) { /* "When LOCK changes from 0 to 1, the other bits ... do not change" */
		*cr |= CR_LOCK;
		return FT_OK;
	}
	bool start = value & ld->cr_start;
	bool force = (value & ld->cr_fw) && (value & CR_PG) && bk->wb_filled;
	if (bk->qlen + (unsigned)start + (unsigned)force > QUEUE_DEPTH)
		return FT_ERR_BUSY; /* FW and START in one write need two slots */
	/* START and FW are reset "when the corresponding operation has been acknowledged". */
	*cr = ((old & ~d->writable) | (value & d->writable)) & ~(ld->cr_start | ld->cr_fw);
	if ((old & CR_PG) && !(*cr & CR_PG))
		discard_buffer(fl, b); /* "data stored in the buffer but not sent ... are lost" */
	if ((old & CR_CRC_EN) && !(*cr & CR_CRC_EN))
		crc_disable(fl, b);
	if (force) /* "FW does not start several write operations" (SVD-H7B0 FW1) */
		queue_buffer(fl, b);
	return start ? start_erase(fl, b) : FT_OK;
}

static ft_error write_optcr(ft_flash_h7 *fl, const reg_desc *d, uint32_t value)
{
	uint32_t *optcr = &REG(fl, S_OPTCR), old = *optcr;
	bool mer = (value & OPTCR_MER) && fl->ld->has_mer && !(old & OPTCR_MER);
	if (old & OPTCR_OPTLOCK)
		return mer ? mass_erase(fl) : FT_OK;
	if (value & OPTCR_OPTLOCK) {
		*optcr |= OPTCR_OPTLOCK;
		return FT_OK;
	}
	/* OPTSTART and MER are set by the operations they start and reset when those end. */
	uint32_t kept = d->writable & ~(OPTCR_OPTSTART | OPTCR_MER);
	if (mer) {
		ft_error err = mass_erase(fl);
		if (err != FT_OK)
			return err;
	}
	*optcr = (*optcr & ~kept) | (value & kept);
	if ((value & OPTCR_OPTSTART) && !(old & OPTCR_OPTSTART))
		start_option_change(fl);
	return FT_OK;
}

static bool gate_open(const ft_flash_h7 *fl, reg_gate gate, unsigned b)
{
	switch (gate) {
	case G_BANK_UNLOCKED: return !(BREG(fl, S_CR, b) & CR_LOCK);
	case G_OPT_UNLOCKED: return !(REG(fl, S_OPTCR) & OPTCR_OPTLOCK);
	case G_CRC_ENABLED: return (BREG(fl, S_CR, b) & CR_CRC_EN) != 0;
	case G_NONE: break;
	}
	return true;
}

static const reg_ref *lookup(const ft_flash_h7 *fl, uint32_t offset)
{
	if (offset / 4 >= sizeof(fl->map) / sizeof(fl->map[0]))
		return NULL;
	const reg_ref *ref = &fl->map[offset / 4];
	return ref->desc ? ref : NULL;
}

/* ---- Option loading and reset ---- */

/* *_CUR registers from the programmed option bytes; OPT_BUSY/OPTCHANGEERR are kept. */
static void load_current_options(ft_flash_h7 *fl)
{
	const ob_values *ob = &fl->ob;
	REG(fl, S_OPTSR_CUR) =
	    (REG(fl, S_OPTSR_CUR) & OPTSR_VOLATILE) | (ob->optsr & ~OPTSR_VOLATILE);
	for (unsigned b = 0; b < 2; b++) {
		BREG(fl, S_PRAR_CUR, b) = ob->prar[b];
		BREG(fl, S_SCAR_CUR, b) = ob->scar[b];
		BREG(fl, S_WPSN_CUR, b) = ob->wpsn[b];
	}
	REG(fl, S_BOOT_CUR) = ob->boot;
	REG(fl, S_BOOT4_CUR) = ob->boot4;
	REG(fl, S_OTPBL_CUR) = ob->otpbl;
	REG(fl, S_OPTSR2_CUR) = ob->optsr2;
}

static void reset_state(ft_flash_h7 *fl)
{
	memset(fl->reg, 0, sizeof(fl->reg));
	for (unsigned i = 0; i < sizeof(fl->map) / sizeof(fl->map[0]); i++) {
		const reg_desc *d = fl->map[i].desc;
		if (d && d->slot != S_NONE)
			fl->reg[slot_of(d->slot, fl->map[i].bank)] = d->reset;
	}
	for (unsigned b = 0; b < 2; b++) {
		bank_state *bk = &fl->bank[b];
		memset(bk, 0, sizeof(*bk));
	}
	fl->opt_key = (key_lock){0};
	ob_decode(fl->blob, &fl->ob);
	load_current_options(fl);
	/* *_PRG read back the current values after reset, so HAL's read-modify-write works. */
	REG(fl, S_OPTSR_PRG) = fl->ob.optsr;
	for (unsigned b = 0; b < 2; b++) {
		BREG(fl, S_PRAR_PRG, b) = fl->ob.prar[b];
		BREG(fl, S_SCAR_PRG, b) = fl->ob.scar[b];
		BREG(fl, S_WPSN_PRG, b) = fl->ob.wpsn[b];
	}
	REG(fl, S_BOOT_PRG) = fl->ob.boot;
	REG(fl, S_BOOT4_PRG) = fl->ob.boot4;
	REG(fl, S_OTPBL_PRG) = fl->ob.otpbl;
	REG(fl, S_OPTSR2_PRG) = fl->ob.optsr2;
	/* SWAP_BANK "is loaded with the SWAP_BANK bit of FLASH_OPTSR_CUR only after reset or POR"
	 * (ST "How to configure swap bank on STM32H7"; SVD text of the same bit). */
	fl->swapped =
	    fl->ld->has_swap && fl->geo.banks == 2 && (fl->ob.optsr & OPTSR_SWAP_BANK_OPT);
	if (fl->swapped)
		REG(fl, S_OPTCR) |= OPTCR_SWAP_BANK;
}

/* ---- Construction ---- */

static ft_error check_geometry(const ft_flash_geometry *g, ft_diag *diag)
{
	if (g->layout != FT_FLASH_H74X && g->layout != FT_FLASH_H72X && g->layout != FT_FLASH_H7AX)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash geometry",
		                   "layout %d has no H7 embedded-flash controller", (int)g->layout);
	const layout_desc *ld = &layouts[g->layout];
	if (g->banks < 1 || g->banks > 2 || (g->banks == 2 && !g->dual_bank_silicon) ||
	    (g->layout == FT_FLASH_H72X && (g->banks != 1 || g->dual_bank_silicon)))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash geometry",
		                   "%s: %u banks, dual-bank die %d is not a part of this line",
		                   ld->name, g->banks, (int)g->dual_bank_silicon);
	if (g->word_size != ld->word_size || g->sector_size != ld->sector_size)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash geometry",
		                   "%s has %u-byte words and %u-byte sectors, not %u and %u",
		                   ld->name, ld->word_size, (unsigned)ld->sector_size, g->word_size,
		                   (unsigned)g->sector_size);
	if (g->sectors_per_bank < 1 || g->sectors_per_bank > ld->snb_mask + 1 ||
	    g->bank_size != (uint32_t)g->sectors_per_bank * g->sector_size)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash geometry",
		                   "%s: %u sectors of %u bytes do not make a %u-byte bank",
		                   ld->name, g->sectors_per_bank, (unsigned)g->sector_size,
		                   (unsigned)g->bank_size);
	if (g->bank_base[0] != FLASH_BANK1_BASE ||
	    (g->banks == 2 && g->bank_base[1] != FLASH_BANK2_BASE))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash geometry",
		                   "banks must start at 0x%08X and 0x%08X", FLASH_BANK1_BASE,
		                   FLASH_BANK2_BASE);
	return FT_OK;
}

static bool row_present(const reg_desc *d, const ft_flash_h7 *fl)
{
	if (!(d->layouts & (1u << fl->geo.layout)))
		return false;
	if ((d->needs & N_DUAL_CORE) && !fl->dual_core)
		return false;
	return !((d->needs & N_SINGLE_CORE) && fl->dual_core);
}

static void build_map(ft_flash_h7 *fl)
{
	for (size_t i = 0; i < sizeof(reg_table) / sizeof(reg_table[0]); i++) {
		const reg_desc *d = &reg_table[i];
		if (!row_present(d, fl))
			continue;
		fl->map[d->offset / 4] = (reg_ref){d, 0};
		if (d->copy != C_ONCE && fl->geo.dual_bank_silicon)
			fl->map[(d->offset + BANK2_REGS) / 4] = (reg_ref){d, d->copy == C_BANK2};
	}
}

static const ob_values *factory_options(const ft_flash_h7 *fl)
{
	switch (fl->geo.layout) {
	case FT_FLASH_H72X: return &factory_h72x;
	case FT_FLASH_H7AX: return &factory_h7ax;
	default: return fl->dual_core ? &factory_h74x_dual : &factory_h74x;
	}
}

size_t ft_flash_h7_array_size(const ft_flash_geometry *geometry)
{
	if (!geometry || geometry->layout == FT_FLASH_NONE)
		return 0;
	return (size_t)geometry->banks * geometry->bank_size;
}

size_t ft_flash_h7_ecc_state_size(const ft_flash_geometry *geometry)
{
	if (!geometry || geometry->layout == FT_FLASH_NONE || !geometry->word_size)
		return 0;
	return ft_flash_h7_array_size(geometry) / geometry->word_size;
}

size_t ft_flash_h7_option_bytes_size(void)
{
	return OB_SIZE;
}

static ft_error check_previous_state(ft_flash_h7 *fl, ft_diag *diag)
{
	if (get_le32(fl->blob) != OB_MAGIC || get_le32(fl->blob + 4) != OB_VERSION)
		return ft_diag_set(diag, FT_ERR_FORMAT, "option bytes",
		                   "magic 0x%08X version %u, expected 0x%08X version %u",
		                   get_le32(fl->blob), get_le32(fl->blob + 4), OB_MAGIC,
		                   OB_VERSION);
	if (get_le32(fl->blob + 8) != (uint32_t)fl->geo.layout)
		return ft_diag_set(diag, FT_ERR_FORMAT, "option bytes",
		                   "written for flash layout %u, this part has layout %u",
		                   get_le32(fl->blob + 8), (unsigned)fl->geo.layout);
	size_t words = ft_flash_h7_ecc_state_size(&fl->geo);
	for (size_t i = 0; i < words; i++) {
		if (fl->ecc[i] > FT_FLASH_H7_WORD_DOUBLE_ERROR)
			return ft_diag_set(diag, FT_ERR_FORMAT, "ecc state",
			                   "byte %zu is 0x%02X, not a word state", i, fl->ecc[i]);
	}
	for (size_t i = 0; i < OTP_WORDS; i++) {
		if (otp_state(fl)[i] > FT_FLASH_H7_WORD_DOUBLE_ERROR)
			return ft_diag_set(diag, FT_ERR_FORMAT, "option bytes",
			                   "OTP word %zu state 0x%02X is not a word state", i,
			                   otp_state(fl)[i]);
	}
	return FT_OK;
}

static uint8_t *buffer_or_alloc(uint8_t *given, size_t size, bool *owned)
{
	*owned = given == NULL;
	return given ? given : malloc(size);
}

ft_error ft_flash_h7_new(const ft_flash_h7_config *config, ft_flash_h7 **out, ft_diag *diag)
{
	if (!config || !out || !config->geometry || !config->clock)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash_h7 config",
		                   "config, out, geometry and clock are required");
	*out = NULL;
	ft_error err = check_geometry(config->geometry, diag);
	if (err != FT_OK)
		return err;
	if (!config->fresh && (!config->array || !config->ecc_state || !config->option_bytes))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, "flash_h7 config",
		                   "a previous state needs all three buffers");
	ft_flash_h7 *fl = calloc(1, sizeof(*fl));
	if (!fl)
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "flash_h7 model");
	fl->geo = *config->geometry;
	fl->ld = &layouts[fl->geo.layout];
	fl->clock = config->clock;
	fl->dual_core = config->dual_core;
	fl->reg_banks = fl->geo.dual_bank_silicon ? 2 : 1;
	fl->word_count = fl->geo.bank_size / fl->ld->word_size;
	size_t array_size = ft_flash_h7_array_size(&fl->geo);
	size_t ecc_size = ft_flash_h7_ecc_state_size(&fl->geo);
	fl->array = buffer_or_alloc(config->array, array_size, &fl->own_array);
	fl->ecc = buffer_or_alloc(config->ecc_state, ecc_size, &fl->own_ecc);
	fl->blob = buffer_or_alloc(config->option_bytes, OB_SIZE, &fl->own_blob);
	if (!fl->array || !fl->ecc || !fl->blob) {
		ft_flash_h7_free(fl);
		return ft_diag_set(diag, FT_ERR_NO_MEM, NULL, "flash_h7 buffers (%zu bytes)",
		                   array_size + ecc_size + OB_SIZE);
	}
	build_map(fl);
	ecc_make_columns(fl->ecc_cols, fl->ld->word_size * 8u, fl->ld->ecc_bits);
	ecc_make_columns(fl->otp_cols, 16, 6);
	crc_make_table(fl->crc_table);
	if (config->fresh) {
		memset(fl->array, 0xFF, array_size);
		memset(fl->ecc, FT_FLASH_H7_WORD_ERASED, ecc_size);
		fl->ob = *factory_options(fl);
		ob_encode(fl);
		memset(otp_data(fl), 0xFF, FT_FLASH_H7_OTP_SIZE);
		memset(otp_state(fl), FT_FLASH_H7_WORD_ERASED, OTP_WORDS);
	} else {
		err = check_previous_state(fl, diag);
		if (err != FT_OK) {
			ft_flash_h7_free(fl);
			return err;
		}
	}
	reset_state(fl);
	*out = fl;
	return FT_OK;
}

void ft_flash_h7_free(ft_flash_h7 *fl)
{
	if (!fl)
		return;
	if (fl->own_array)
		free(fl->array);
	if (fl->own_ecc)
		free(fl->ecc);
	if (fl->own_blob)
		free(fl->blob);
	free(fl);
}

/* ---- Public API ---- */

void ft_flash_h7_reset(ft_flash_h7 *fl)
{
	sync(fl);
	for (unsigned b = 0; b < 2; b++) {
		if (fl->bank[b].qlen)
			damage(fl, b, queue_at(&fl->bank[b], 0));
	}
	reset_state(fl);
}

void ft_flash_h7_poll(ft_flash_h7 *fl)
{
	sync(fl);
}

uint64_t ft_flash_h7_next_event_ns(ft_flash_h7 *fl)
{
	sync(fl);
	uint64_t next = UINT64_MAX;
	for (unsigned b = 0; b < 2; b++) {
		if (fl->bank[b].qlen && queue_at(&fl->bank[b], 0)->deadline < next)
			next = queue_at(&fl->bank[b], 0)->deadline;
	}
	return next;
}

uint64_t ft_flash_h7_duration_ns(const ft_flash_geometry *geometry, ft_flash_h7_op operation,
                                 unsigned psize)
{
	if (!geometry || psize > 3u ||
	    (geometry->layout != FT_FLASH_H74X && geometry->layout != FT_FLASH_H72X &&
	     geometry->layout != FT_FLASH_H7AX))
		return 0;
	const op_timing *t = timing_at(&layouts[geometry->layout], psize);
	switch (operation) {
	case FT_FLASH_H7_OP_PROGRAM: return t->program_ns;
	case FT_FLASH_H7_OP_SECTOR_ERASE: return t->sector_erase_ns;
	case FT_FLASH_H7_OP_BANK_ERASE: return scaled_bank_erase_ns(t, geometry->bank_size);
	case FT_FLASH_H7_OP_OPTION_CHANGE: return OPTION_CHANGE_NS;
	}
	return 0;
}

ft_error ft_flash_h7_reg_read(ft_flash_h7 *fl, uint32_t offset, uint32_t *value)
{
	if (!fl || !value)
		return FT_ERR_INVALID_ARG;
	if (offset % 4 || offset >= FT_FLASH_H7_REG_SPAN)
		return FT_ERR_RANGE;
	sync(fl);
	const reg_ref *ref = lookup(fl, offset);
	*value =
	    ref && ref->desc->slot != S_NONE ? fl->reg[slot_of(ref->desc->slot, ref->bank)] : 0;
	return FT_OK;
}

ft_error ft_flash_h7_reg_write(ft_flash_h7 *fl, uint32_t offset, uint32_t value)
{
	if (!fl)
		return FT_ERR_INVALID_ARG;
	if (offset % 4 || offset >= FT_FLASH_H7_REG_SPAN)
		return FT_ERR_RANGE;
	sync(fl);
	/* "all write accesses to embedded Flash memory registers are put on hold until the option
	 * byte change operation has completed" (SVD-H7B0 CRCCR1.START_CRC). */
	if (opt_busy(fl))
		return FT_ERR_BUSY;
	const reg_ref *ref = lookup(fl, offset);
	if (!ref)
		return FT_OK;
	const reg_desc *d = ref->desc;
	unsigned b = ref->bank;
	if (!gate_open(fl, (reg_gate)d->gate, b))
		return FT_OK;
	uint32_t *reg = &fl->reg[slot_of(d->slot, b)];
	switch ((reg_kind)d->kind) {
	case K_RO: break;
	case K_RW: *reg = (*reg & ~d->writable) | (value & d->writable); break;
	case K_CLEAR:
		fl->reg[slot_of(d->target, b)] &= ~(value & d->w1c);
		/* Clearing an ECC flag resets ECC_FA once neither flag is left (SVD-H7B0 CCR1). */
		if (d->target == S_SR && (value & SR_ECC) && !(BREG(fl, S_SR, b) & SR_ECC))
			BREG(fl, S_ECC_FA, b) = 0;
		break;
	case K_KEY:
		key_write(&fl->bank[b].key, bank_keys, &BREG(fl, S_CR, b), CR_LOCK, value);
		break;
	case K_OPTKEY:
		key_write(&fl->opt_key, option_keys, &REG(fl, S_OPTCR), OPTCR_OPTLOCK, value);
		break;
	case K_CR: return write_cr(fl, d, b, value);
	case K_OPTCR: return write_optcr(fl, d, value);
	case K_CRCCR: write_crccr(fl, d, b, value); break;
	}
	return FT_OK;
}

const char *ft_flash_h7_reg_name(const ft_flash_h7 *fl, uint32_t offset)
{
	if (!fl || offset % 4)
		return NULL;
	const reg_ref *ref = lookup(fl, offset);
	if (!ref)
		return NULL;
	return ref->bank && ref->desc->name2 ? ref->desc->name2 : ref->desc->name;
}

static bool range_backed(const ft_flash_h7 *fl, uint32_t addr, size_t len)
{
	if (len > (size_t)UINT32_MAX - addr + 1u)
		return false;
	for (size_t pos = 0; pos < len;) {
		uint32_t left = unit_left(fl, (uint32_t)(addr + pos));
		if (!left)
			return false;
		pos += left;
	}
	return true;
}

ft_error ft_flash_h7_bus_read(ft_flash_h7 *fl, uint32_t addr, void *buf, size_t len, bool *fault)
{
	if (!fl || !fault || (!buf && len))
		return FT_ERR_INVALID_ARG;
	*fault = false;
	sync(fl);
	if (!range_backed(fl, addr, len))
		return FT_ERR_RANGE;
	uint8_t *dst = buf;
	for (size_t pos = 0; pos < len;) {
		uint32_t a = (uint32_t)(addr + pos);
		uint32_t n = unit_left(fl, a);
		if (n > len - pos)
			n = (uint32_t)(len - pos);
		ft_error err = load_unit(fl, a, dst + pos, n, fault);
		if (err != FT_OK)
			return err;
		if (*fault) {
			memset(dst + pos, 0, len - pos);
			return FT_OK;
		}
		pos += n;
	}
	return FT_OK;
}

ft_error ft_flash_h7_bus_write(ft_flash_h7 *fl, uint32_t addr, const void *data, size_t len,
                               bool *fault)
{
	if (!fl || !data || !fault || (len != 1 && len != 2 && len != 4 && len != 8))
		return FT_ERR_INVALID_ARG;
	*fault = false;
	sync(fl);
	return store(fl, addr, data, (uint32_t)len, fault);
}

/* The store a memcpy issues next: a whole flash word when it starts one of an empty buffer and
 * the run covers it, else the largest naturally aligned 1/2/4/8 bytes within the unit. */
static uint32_t next_store_size(const ft_flash_h7 *fl, uint32_t addr, size_t left)
{
	uint32_t unit = unit_left(fl, addr);
	loc l;
	if (unit == fl->ld->word_size && left >= unit && locate(fl, addr, &l) &&
	    !fl->bank[l.bank].wb_filled)
		return unit;
	uint32_t n = 8;
	while (n > 1 && (addr % n || n > left || n > unit))
		n /= 2;
	return n;
}

ft_error ft_flash_h7_bus_write_bulk(ft_flash_h7 *fl, uint32_t addr, const void *data, size_t len,
                                    size_t *done, bool *fault)
{
	if (!fl || !fault || (!data && len))
		return FT_ERR_INVALID_ARG;
	*fault = false;
	const uint8_t *src = data;
	size_t pos = 0;
	ft_error err = FT_OK;
	sync(fl);
	while (pos < len) {
		uint32_t a = (uint32_t)(addr + pos);
		uint32_t n = next_store_size(fl, a, len - pos);
		err = store(fl, a, src + pos, n, fault);
		if (err == FT_ERR_BUSY) { /* completions the clock has passed may make room */
			sync(fl);
			err = store(fl, a, src + pos, n, fault);
		}
		if (err != FT_OK || *fault)
			break;
		pos += n;
	}
	if (done)
		*done = pos;
	return err;
}

void ft_flash_h7_set_intrusion(ft_flash_h7 *fl, bool intrusion)
{
	fl->intrusion = intrusion;
}

void ft_flash_h7_set_secure_access(ft_flash_h7 *fl, bool secure)
{
	fl->secure = secure;
}

void ft_flash_h7_get_options(ft_flash_h7 *fl, ft_flash_h7_options *out)
{
	sync(fl);
	memset(out, 0, sizeof(*out));
	out->optsr = REG(fl, S_OPTSR_CUR) & ~OPTSR_VOLATILE;
	out->rdp = (uint8_t)(out->optsr >> OPTSR_RDP_SHIFT);
	out->rdp_level = (uint8_t)rdp_level_of(out->optsr);
	out->swap_bank_opt = (out->optsr & OPTSR_SWAP_BANK_OPT) != 0;
	out->banks_swapped = fl->swapped;
	out->boot_add0 = (uint16_t)REG(fl, S_BOOT_CUR);
	out->boot_add1 = (uint16_t)(REG(fl, S_BOOT_CUR) >> 16);
	if (fl->dual_core) {
		out->boot4_add0 = (uint16_t)REG(fl, S_BOOT4_CUR);
		out->boot4_add1 = (uint16_t)(REG(fl, S_BOOT4_CUR) >> 16);
	}
	for (unsigned b = 0; b < 2; b++) {
		out->wpsn[b] = BREG(fl, S_WPSN_CUR, b);
		out->prar[b] = BREG(fl, S_PRAR_CUR, b);
		out->scar[b] = BREG(fl, S_SCAR_CUR, b);
	}
	out->otpbl = REG(fl, S_OTPBL_CUR);
	out->optsr2 = REG(fl, S_OPTSR2_CUR);
}

uint32_t ft_flash_h7_boot_address(ft_flash_h7 *fl, bool boot0_pin, bool cm4)
{
	sync(fl);
	uint32_t boot = REG(fl, cm4 && fl->dual_core ? S_BOOT4_CUR : S_BOOT_CUR);
	return boot0_pin ? boot & 0xFFFF0000u : boot << 16;
}

ft_error ft_flash_h7_peek(ft_flash_h7 *fl, uint32_t addr, void *buf, size_t len)
{
	if (!fl || (!buf && len))
		return FT_ERR_INVALID_ARG;
	sync(fl);
	if (!range_backed(fl, addr, len))
		return FT_ERR_RANGE;
	uint8_t *dst = buf;
	for (size_t pos = 0; pos < len; pos++) {
		uint32_t a = (uint32_t)(addr + pos);
		loc l;
		if (locate(fl, a, &l))
			dst[pos] =
			    fl->array[phys_word(fl, l.bank, 0) * fl->ld->word_size + l.offset];
		else
			dst[pos] = otp_data(fl)[a - FT_FLASH_H7_OTP_BASE];
	}
	return FT_OK;
}

static uint8_t *state_byte(ft_flash_h7 *fl, uint32_t addr)
{
	loc l;
	if (locate(fl, addr, &l))
		return &fl->ecc[phys_word(fl, l.bank, l.offset >> fl->ld->word_shift)];
	if (in_otp(fl, addr))
		return &otp_state(fl)[(addr - FT_FLASH_H7_OTP_BASE) / 2];
	return NULL;
}

ft_error ft_flash_h7_word_state_at(ft_flash_h7 *fl, uint32_t addr, ft_flash_h7_word_state *state)
{
	sync(fl);
	uint8_t *s = state_byte(fl, addr);
	if (!s)
		return FT_ERR_RANGE;
	*state = (ft_flash_h7_word_state)*s;
	return FT_OK;
}

ft_error ft_flash_h7_inject_ecc_error(ft_flash_h7 *fl, uint32_t addr, bool double_error)
{
	sync(fl);
	uint8_t *s = state_byte(fl, addr);
	if (!s)
		return FT_ERR_RANGE;
	*s = double_error ? FT_FLASH_H7_WORD_DOUBLE_ERROR : FT_FLASH_H7_WORD_SINGLE_ERROR;
	return FT_OK;
}

ft_error ft_flash_h7_inject_operation_error(ft_flash_h7 *fl, unsigned bank)
{
	if (bank >= fl->reg_banks)
		return FT_ERR_RANGE;
	fl->bank[bank].fail_next = true;
	return FT_OK;
}
