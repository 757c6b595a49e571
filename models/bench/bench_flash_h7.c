/* flash_h7 throughput with an instant clock: how fast the model itself erases and programs an
 * STM32H743xI (2 MB) through its register interface, as a flash loader drives it.
 * Target: >= 200 MB/s programming in whole flash words. */
#include "models/clock.h"
#include "models/flash_h7.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYR(bank)   (0x004u + (bank)*0x100u)
#define CR(bank)     (0x00Cu + (bank)*0x100u)
#define SR(bank)     (0x010u + (bank)*0x100u)
#define CR_PG        0x2u
#define CR_SER       0x4u
#define CR_PSIZE_X64 0x30u
#define CR_START     0x80u
#define SR_QW        0x4u
#define SR_ERRORS    0x17EE0000u /* WRPERR..DBECCERR */
#define FLASH_BASE   0x08000000u
#define BANK_SIZE    0x100000u
#define SECTOR_SIZE  0x20000u
#define WORD         32u
#define ROUNDS       5

static const ft_flash_geometry geo = {
    FT_FLASH_H74X, 2, 8, SECTOR_SIZE, WORD, BANK_SIZE, {0x08000000u, 0x08100000u}, true};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int check(ft_error err, const char *what)
{
	if (err != FT_OK)
		fprintf(stderr, "bench_flash_h7: %s: %s\n", what, ft_error_name(err));
	return err != FT_OK;
}

static uint32_t reg(ft_flash_h7 *fl, uint32_t offset)
{
	uint32_t v = 0;
	ft_flash_h7_reg_read(fl, offset, &v);
	return v;
}

/* Sector by sector, HAL FLASH_Erase_Sector style, polling QW. */
static int erase_all(ft_flash_h7 *fl)
{
	for (unsigned bank = 0; bank < 2; bank++) {
		for (unsigned s = 0; s < 8; s++) {
			uint32_t cr = CR_SER | CR_PSIZE_X64 | (s << 8) | CR_START;
			if (check(ft_flash_h7_reg_write(fl, CR(bank), cr), "erase"))
				return 1;
			while (reg(fl, SR(bank)) & SR_QW)
				;
		}
		ft_flash_h7_reg_write(fl, CR(bank), CR_PSIZE_X64);
	}
	return 0;
}

/* A loader's inner loop: PG set once per bank, each flash word as four 64-bit stores, then a
 * QW poll and an error check, as OpenOCD's stm32h7x loader does per word. */
static int program_words(ft_flash_h7 *fl, const uint8_t *image)
{
	for (unsigned bank = 0; bank < 2; bank++) {
		ft_flash_h7_reg_write(fl, CR(bank), CR_PG | CR_PSIZE_X64);
		uint32_t base = FLASH_BASE + bank * BANK_SIZE;
		for (uint32_t off = 0; off < BANK_SIZE; off += WORD) {
			const uint8_t *src = image + bank * BANK_SIZE + off;
			bool fault = false;
			for (uint32_t i = 0; i < WORD; i += 8) {
				if (check(ft_flash_h7_bus_write(fl, base + off + i, src + i, 8,
				                                &fault),
				          "store"))
					return 1;
			}
			uint32_t sr;
			while ((sr = reg(fl, SR(bank))) & SR_QW)
				;
			if (sr & SR_ERRORS) {
				fprintf(stderr, "bench_flash_h7: SR 0x%08X at 0x%08X\n", sr,
				        base + off);
				return 1;
			}
		}
		ft_flash_h7_reg_write(fl, CR(bank), CR_PSIZE_X64);
	}
	return 0;
}

/* The same through the bulk helper: one call per bank. */
static int program_bulk(ft_flash_h7 *fl, const uint8_t *image)
{
	for (unsigned bank = 0; bank < 2; bank++) {
		ft_flash_h7_reg_write(fl, CR(bank), CR_PG | CR_PSIZE_X64);
		bool fault = false;
		if (check(ft_flash_h7_bus_write_bulk(fl, FLASH_BASE + bank * BANK_SIZE,
		                                     image + bank * BANK_SIZE, BANK_SIZE, NULL,
		                                     &fault),
		          "bulk store"))
			return 1;
		while (reg(fl, SR(bank)) & SR_QW)
			;
		ft_flash_h7_reg_write(fl, CR(bank), CR_PSIZE_X64);
	}
	return 0;
}

static int verify(ft_flash_h7 *fl, const uint8_t *image, uint8_t *back)
{
	bool fault = false;
	if (check(ft_flash_h7_bus_read(fl, FLASH_BASE, back, 2 * BANK_SIZE, &fault), "read"))
		return 1;
	if (fault || memcmp(back, image, 2 * BANK_SIZE)) {
		fprintf(stderr, "bench_flash_h7: read-back differs\n");
		return 1;
	}
	return 0;
}

int main(void)
{
	const double mb = 2.0 * BANK_SIZE / 1e6;
	uint8_t *image = malloc(2 * BANK_SIZE), *back = malloc(2 * BANK_SIZE);
	ft_clock *clock = ft_clock_new(FT_CLOCK_INSTANT);
	ft_flash_h7 *fl = NULL;
	ft_flash_h7_config cfg = {&geo, clock, NULL, NULL, NULL, true, false};
	if (!image || !back || !clock || check(ft_flash_h7_new(&cfg, &fl, NULL), "new"))
		return 1;
	for (size_t i = 0; i < 2 * BANK_SIZE; i++)
		image[i] = (uint8_t)(i * 2654435761u >> 24);
	for (unsigned bank = 0; bank < 2; bank++) {
		ft_flash_h7_reg_write(fl, KEYR(bank), 0x45670123u);
		ft_flash_h7_reg_write(fl, KEYR(bank), 0xCDEF89ABu);
	}
	double best_erase = 1e9, best_words = 1e9, best_bulk = 1e9, best_read = 1e9;
	for (int round = 0; round < ROUNDS; round++) {
		double t0 = now_s();
		if (erase_all(fl))
			return 1;
		double t1 = now_s();
		if (program_words(fl, image))
			return 1;
		double t2 = now_s();
		if (verify(fl, image, back))
			return 1;
		double read = now_s() - t2;
		if (erase_all(fl))
			return 1;
		double t3 = now_s();
		if (program_bulk(fl, image))
			return 1;
		double t4 = now_s();
		if (verify(fl, image, back))
			return 1;
		double erase = t1 - t0, words = t2 - t1, bulk = t4 - t3;
		best_erase = erase < best_erase ? erase : best_erase;
		best_words = words < best_words ? words : best_words;
		best_bulk = bulk < best_bulk ? bulk : best_bulk;
		best_read = read < best_read ? read : best_read;
	}
	printf("flash_h7 H743xI 2 MB, instant clock, best of %d rounds\n", ROUNDS);
	printf("  sector erase (16 x 128 KB, QW polled)        %8.1f MB/s\n", mb / best_erase);
	printf("  program, 64-bit stores + QW poll per word    %8.1f MB/s\n", mb / best_words);
	printf("  program, bulk helper per bank                %8.1f MB/s\n", mb / best_bulk);
	printf("  read back (ECC-checked loads)                %8.1f MB/s\n", mb / best_read);
	ft_flash_h7_free(fl);
	ft_clock_free(clock);
	free(image);
	free(back);
	return 0;
}
