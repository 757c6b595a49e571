/* Shared fixture and firmware steps for the flash_h7 test programs.
 *
 * Register offsets and bits are written here from the manuals (devices.md §2.1/§2.3: CMSIS-H7
 * FLASH_TypeDef and FLASH_*_Pos), never taken from models/flash_h7.h, so a wrong offset in the
 * model cannot hide behind a shared constant. The steps are the HAL-H7 sequences written as
 * register accesses (HAL_FLASH_Unlock, HAL_FLASH_Program, FLASH_Erase_Sector, HAL_FLASH_OB_Launch).
 */
#ifndef FT_TESTS_FLASH_H7_STEPS_H
#define FT_TESTS_FLASH_H7_STEPS_H

#include "models/clock.h"
#include "models/flash_h7.h"
#include "models/tests/ft_test.h"

#include <stdlib.h>
#include <string.h>

/* Register offsets from 0x52002000 (devices.md §2.1). */
#define R_ACR        0x000u
#define R_KEYR1      0x004u
#define R_OPTKEYR    0x008u
#define R_CR1        0x00Cu
#define R_SR1        0x010u
#define R_CCR1       0x014u
#define R_OPTCR      0x018u
#define R_OPTSR_CUR  0x01Cu
#define R_OPTSR_PRG  0x020u
#define R_OPTCCR     0x024u
#define R_PRAR_CUR1  0x028u
#define R_PRAR_PRG1  0x02Cu
#define R_SCAR_CUR1  0x030u
#define R_SCAR_PRG1  0x034u
#define R_WPSN_CUR1  0x038u
#define R_WPSN_PRG1  0x03Cu
#define R_BOOT_CUR   0x040u
#define R_BOOT_PRG   0x044u
#define R_BOOT4_CUR  0x048u
#define R_BOOT4_PRG  0x04Cu
#define R_CRCCR1     0x050u
#define R_CRCSADD1   0x054u
#define R_CRCEADD1   0x058u
#define R_CRCDATA    0x05Cu
#define R_ECC_FA1    0x060u
#define R_OTPBL_CUR  0x068u
#define R_OTPBL_PRG  0x06Cu
#define R_OPTSR2_CUR 0x070u
#define R_OPTSR2_PRG 0x074u
#define R_KEYR2      0x104u
#define R_CR2        0x10Cu
#define R_SR2        0x110u
#define R_CCR2       0x114u
#define R_WPSN_CUR2  0x138u
#define R_ECC_FA2    0x160u

/* Keys (devices.md §2.2). */
#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

/* FLASH_CR (H74x/H72x; H7Ax moves FW, START and SNB: see the layout tests). */
#define CR_LOCK      0x1u
#define CR_PG        0x2u
#define CR_SER       0x4u
#define CR_BER       0x8u
#define CR_PSIZE_X64 (3u << 4)
#define CR_FW        (1u << 6)
#define CR_START     (1u << 7)
#define CR_SNB(n)    ((uint32_t)(n) << 8)
#define CR_CRC_EN    (1u << 15)
/* FLASH_SR / FLASH_CCR */
#define SR_BSY       0x1u
#define SR_WBNE      0x2u
#define SR_QW        0x4u
#define SR_EOP       (1u << 16)
#define SR_WRPERR    (1u << 17)
#define SR_PGSERR    (1u << 18)
#define SR_STRBERR   (1u << 19)
#define SR_INCERR    (1u << 21)
#define SR_OPERR     (1u << 22)
#define SR_RDPERR    (1u << 23)
#define SR_RDSERR    (1u << 24)
#define SR_SNECCERR  (1u << 25)
#define SR_DBECCERR  (1u << 26)
#define SR_CRCEND    (1u << 27)
#define SR_CRCRDERR  (1u << 28)
#define SR_ALL_FLAGS 0x1FEF0000u
/* FLASH_OPTCR / OPTSR / OPTCCR */
#define OPTCR_OPTLOCK           0x1u
#define OPTCR_OPTSTART          0x2u
#define OPTCR_MER               (1u << 4)
#define OPTCR_PG_OTP            (1u << 5)
#define OPTCR_SWAP_BANK         (1u << 31)
#define OPTSR_OPT_BUSY          0x1u
#define OPTSR_RDP(v)            ((uint32_t)(v) << 8)
#define OPTSR_RDP_MASK          0xFF00u
#define OPTSR_SECURITY          (1u << 21)
#define OPTSR_OPTCHANGEERR      (1u << 30)
#define OPTSR_SWAP_BANK_OPT     (1u << 31)
#define OPTCCR_CLR_OPTCHANGEERR (1u << 30)

#define BANK1 0x08000000u
#define BANK2 0x08100000u
#define MS    1000000ull
#define US    1000ull

/* Geometries as the part table will describe them (devices.md §1). */
static const ft_flash_geometry geo_h743xi = {FT_FLASH_H74X,  2,   8, 0x20000, 32, 0x100000,
                                             {BANK1, BANK2}, true};
static const ft_flash_geometry geo_h743xg = {FT_FLASH_H74X,  2,   4, 0x20000, 32, 0x80000,
                                             {BANK1, BANK2}, true};
static const ft_flash_geometry geo_h723xg = {FT_FLASH_H72X, 1,          8,    0x20000, 32,
                                             0x100000,      {BANK1, 0}, false};
static const ft_flash_geometry geo_h7a3xi = {FT_FLASH_H7AX,  2,   128, 0x2000, 16, 0x100000,
                                             {BANK1, BANK2}, true};

typedef struct fixture {
	ft_clock *clock;
	ft_flash_h7 *fl;
	const ft_flash_geometry *geo;
	uint8_t *array, *ecc, *ob; /* external backing, so tests can inspect persistent state */
} fixture;

static inline void fx_close(fixture *f)
{
	ft_flash_h7_free(f->fl);
	ft_clock_free(f->clock);
	free(f->array);
	free(f->ecc);
	free(f->ob);
	memset(f, 0, sizeof(*f));
}

/* A fresh part: erased array, factory option bytes, clock standing still unless mode says. */
static inline void fx_open(fixture *f, const ft_flash_geometry *geo, bool dual_core,
                           ft_clock_mode mode)
{
	fx_close(f);
	f->geo = geo;
	f->clock = ft_clock_new(mode);
	f->array = malloc(ft_flash_h7_array_size(geo));
	f->ecc = malloc(ft_flash_h7_ecc_state_size(geo));
	f->ob = malloc(ft_flash_h7_option_bytes_size());
	ft_flash_h7_config cfg = {geo, f->clock, f->array, f->ecc, f->ob, true, dual_core};
	ft_diag diag;
	ft_error err = ft_flash_h7_new(&cfg, &f->fl, &diag);
	FT_ASSERT_HEX(err, FT_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->fl);
}

static inline uint32_t rd(fixture *f, uint32_t offset)
{
	uint32_t v = 0xDEADBEEFu;
	FT_ASSERT_HEX(ft_flash_h7_reg_read(f->fl, offset, &v), FT_OK);
	return v;
}

static inline void wr(fixture *f, uint32_t offset, uint32_t value)
{
	FT_ASSERT_HEX(ft_flash_h7_reg_write(f->fl, offset, value), FT_OK);
}

/* Bank register offset: bank 2 registers sit 0x100 above bank 1 (devices.md §2.1). */
static inline uint32_t bank_reg(uint32_t bank1_offset, unsigned bank)
{
	return bank1_offset + (bank ? 0x100u : 0);
}

static inline void unlock_bank(fixture *f, unsigned bank)
{
	wr(f, bank_reg(R_KEYR1, bank), KEY1);
	wr(f, bank_reg(R_KEYR1, bank), KEY2);
}

static inline void unlock_options(fixture *f)
{
	wr(f, R_OPTKEYR, OPTKEY1);
	wr(f, R_OPTKEYR, OPTKEY2);
}

/* Lets virtual time pass until nothing is in progress (firmware polling QW / OPT_BUSY). */
static inline void wait_idle(fixture *f)
{
	for (;;) {
		uint64_t next = ft_flash_h7_next_event_ns(f->fl);
		if (next == UINT64_MAX)
			return;
		uint64_t now = ft_clock_now_ns(f->clock);
		ft_clock_advance(f->clock, next > now ? next - now : 0);
	}
}

/* Aligned 32-bit stores of a buffer, as HAL's `*dest_addr = *src_addr` loop issues them. */
static inline void store_words(fixture *f, uint32_t addr, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i += 4) {
		bool fault = true;
		FT_ASSERT_HEX(ft_flash_h7_bus_write(f->fl, addr + (uint32_t)i, p + i, 4, &fault),
		              FT_OK);
		FT_ASSERT_HEX(fault, false);
	}
}

/* HAL_FLASH_Program: wait QW, set PG, one flash word of 32-bit stores, wait QW, clear PG.
 * Returns the bank's SR after the wait (before PG is cleared). */
static inline uint32_t hal_program(fixture *f, uint32_t addr, const void *data)
{
	unsigned bank = addr >= BANK2 ? 1 : 0;
	uint32_t cr = bank_reg(R_CR1, bank);
	wait_idle(f);
	wr(f, cr, rd(f, cr) | CR_PG);
	store_words(f, addr, data, f->geo->word_size);
	wait_idle(f);
	uint32_t sr = rd(f, bank_reg(R_SR1, bank));
	wr(f, cr, rd(f, cr) & ~CR_PG);
	return sr;
}

/* FLASH_Erase_Sector (H74x/H72x form, x64): CR &= ~(PSIZE|SNB); CR |= SER|PSIZE|SNB|START. */
static inline void hal_erase_sector_start(fixture *f, unsigned bank, unsigned sector)
{
	uint32_t cr = bank_reg(R_CR1, bank);
	wr(f, cr, rd(f, cr) & ~(CR_PSIZE_X64 | CR_SNB(7)));
	wr(f, cr, rd(f, cr) | CR_SER | CR_PSIZE_X64 | CR_SNB(sector) | CR_START);
}

/* HAL_FLASH_OB_Launch after the caller wrote *_PRG: clear OPTCHANGEERR, OPTSTART, wait
 * OPT_BUSY. Returns OPTSR_CUR. */
static inline uint32_t ob_launch(fixture *f)
{
	wr(f, R_OPTCCR, OPTCCR_CLR_OPTCHANGEERR);
	wr(f, R_OPTCR, rd(f, R_OPTCR) | OPTCR_OPTSTART);
	wait_idle(f);
	return rd(f, R_OPTSR_CUR);
}

/* Unlock options, write one *_PRG register, launch, relock. Returns OPTSR_CUR. */
static inline uint32_t ob_program(fixture *f, uint32_t prg_offset, uint32_t value)
{
	unlock_options(f);
	wr(f, prg_offset, value);
	uint32_t optsr = ob_launch(f);
	wr(f, R_OPTCR, rd(f, R_OPTCR) | OPTCR_OPTLOCK);
	return optsr;
}

static inline void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7u);
}

#endif
