/* NOR model throughput on an instant clock: program the whole device through ft_nor_transfer in
 * 256-byte pages (WREN + page program + one status poll per page, as a controller would issue
 * them), read it back in 4 KiB transfers and through ft_nor_read_mapped, and verify.
 * W25Q256JV in 1-1-4 / 1-4-4 with 4-byte opcodes; MX25UM51245G in octal DTR (DOPI). */
#include "models/clock.h"
#include "models/error.h"
#include "models/nor_flash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATTERN_SIZE (1u << 20)
#define CHUNK        4096u
#define PAGE         256u

typedef struct bus {
	bool octal;
	ft_nor_xfer wren, program, status, read; /* templates: address and data filled per call */
} bus;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static ft_nor_xfer instruction(const bus *b, uint8_t op)
{
	if (!b->octal)
		return (ft_nor_xfer){
		    .instruction = op, .instruction_bytes = 1, .instruction_lines = 1};
	return (ft_nor_xfer){.instruction = (uint16_t)(op << 8 | (uint8_t)~op),
	                     .instruction_bytes = 2,
	                     .instruction_lines = 8,
	                     .dtr = true};
}

/* W25Q256JV: WREN 06h, quad page program 34h (1-1-4, 4-byte), RDSR1 05h, read ECh (1-4-4,
 * 4-byte, M7-0 + 4 dummy = 6 cycles). */
static bus quad_bus(void)
{
	bus b = {.octal = false};
	b.wren = instruction(&b, 0x06);
	b.program = instruction(&b, 0x34);
	b.program.has_address = true, b.program.address_bytes = 4, b.program.address_lines = 1;
	b.program.data_lines = 4;
	b.status = instruction(&b, 0x05);
	b.status.data_lines = 1, b.status.data_in = true;
	b.read = instruction(&b, 0xEC);
	b.read.has_address = true, b.read.address_bytes = 4, b.read.address_lines = 4;
	b.read.dummy_cycles = 6, b.read.data_lines = 4, b.read.data_in = true;
	return b;
}

/* MX25UM51245G in DOPI: WREN 06F9h, PP 12EDh, RDSR 05FAh (address 0, 4 dummy), 8DTRD EE11h
 * (20 dummy cycles, the power-on DC). */
static bus dopi_bus(void)
{
	bus b = {.octal = true};
	b.wren = instruction(&b, 0x06);
	b.program = instruction(&b, 0x12);
	b.program.has_address = true, b.program.address_bytes = 4, b.program.address_lines = 8;
	b.program.data_lines = 8;
	b.status = instruction(&b, 0x05);
	b.status.has_address = true, b.status.address_bytes = 4, b.status.address_lines = 8;
	b.status.dummy_cycles = 4, b.status.data_lines = 8, b.status.data_in = true;
	b.read = instruction(&b, 0xEE);
	b.read.has_address = true, b.read.address_bytes = 4, b.read.address_lines = 8;
	b.read.dummy_cycles = 20, b.read.data_lines = 8, b.read.data_in = true;
	return b;
}

static int fail(const char *what, ft_error err, const ft_diag *diag)
{
	fprintf(stderr, "bench_nor_flash: %s: %s: %s: %s\n", what, ft_error_name(err), diag->origin,
	        diag->message);
	return 1;
}

/* Switches an MX25UM51245G to DOPI over SPI: WREN, WRCR2 72h at CR2 0x00000000 = DOPI. */
static ft_error enter_dopi(ft_nor *nor, ft_diag *diag)
{
	uint8_t dopi = 0x02;
	ft_nor_xfer wren = {.instruction = 0x06, .instruction_bytes = 1, .instruction_lines = 1};
	ft_nor_xfer wrcr2 = {.instruction = 0x72,
	                     .instruction_bytes = 1,
	                     .instruction_lines = 1,
	                     .has_address = true,
	                     .address_bytes = 4,
	                     .address_lines = 1,
	                     .data_lines = 1,
	                     .data = &dopi,
	                     .data_len = 1};
	ft_error err = ft_nor_transfer(nor, &wren, diag);
	return err ? err : ft_nor_transfer(nor, &wrcr2, diag);
}

static int bench_part(const char *name, bus b, uint8_t *pattern)
{
	ft_diag diag = {0};
	ft_clock *clock = ft_clock_new(FT_CLOCK_INSTANT);
	ft_nor *nor = NULL;
	ft_error err =
	    clock ? ft_nor_new(ft_nor_part_find(name), clock, NULL, &nor, &diag) : FT_ERR_NO_MEM;
	if (err) {
		ft_clock_free(clock);
		return fail("new", err, &diag);
	}
	uint32_t size = ft_nor_part_geometry(ft_nor_part_of(nor))->size;
	uint8_t *back = malloc(size);
	int status = back ? 0 : fail("malloc", FT_ERR_NO_MEM, &diag);
	if (back) /* fault the pages in now so the read figures measure the model */
		memset(back, 0, size);
	if (!status && b.octal && (err = enter_dopi(nor, &diag)))
		status = fail("enter dopi", err, &diag);

	uint8_t sr[2];
	b.status.data = sr;
	b.status.data_len = b.octal ? 2 : 1;
	double t0 = now_s();
	for (uint32_t a = 0; !status && a < size; a += PAGE) {
		b.program.address = a;
		b.program.data = pattern + a % PATTERN_SIZE;
		b.program.data_len = PAGE;
		if ((err = ft_nor_transfer(nor, &b.wren, &diag)) ||
		    (err = ft_nor_transfer(nor, &b.program, &diag)) ||
		    (err = ft_nor_transfer(nor, &b.status, &diag)))
			status = fail("program", err, &diag);
		else if (sr[0] & 0x01)
			status =
			    fail("program: WIP still set on an instant clock", FT_ERR_BUSY, &diag);
	}
	double t_program = now_s() - t0;

	t0 = now_s();
	for (uint32_t a = 0; !status && a < size; a += CHUNK) {
		b.read.address = a;
		b.read.data = back + a;
		b.read.data_len = CHUNK;
		if ((err = ft_nor_transfer(nor, &b.read, &diag)))
			status = fail("read", err, &diag);
	}
	double t_read = now_s() - t0;
	for (uint32_t a = 0; !status && a < size; a += PATTERN_SIZE)
		if (memcmp(back + a, pattern, PATTERN_SIZE))
			status = fail("verify", FT_ERR_VERIFY, &diag);

	t0 = now_s();
	for (uint32_t a = 0; !status && a < size; a += CHUNK)
		if ((err = ft_nor_read_mapped(nor, a, back + a, CHUNK, &diag)))
			status = fail("read_mapped", err, &diag);
	double t_mapped = now_s() - t0;

	if (!status) {
		double mib = size / 1048576.0;
		printf(
		    "%-13s program %3.0f MiB in %u-byte pages (WREN+PP+RDSR each): %8.1f MiB/s\n",
		    name, mib, PAGE, mib / t_program);
		printf("%-13s read    %3.0f MiB via ft_nor_transfer in 4 KiB transfers:   %8.1f "
		       "MiB/s\n",
		       name, mib, mib / t_read);
		printf("%-13s read    %3.0f MiB via ft_nor_read_mapped in 4 KiB reads:   %8.1f "
		       "MiB/s\n",
		       name, mib, mib / t_mapped);
	}
	free(back);
	ft_nor_free(nor);
	ft_clock_free(clock);
	return status;
}

int main(void)
{
	uint8_t *pattern = malloc(PATTERN_SIZE);
	if (!pattern)
		return 1;
	uint32_t x = 0x2545F491u; /* xorshift32: fixed, so runs compare */
	for (uint32_t i = 0; i < PATTERN_SIZE; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		pattern[i] = (uint8_t)x;
	}
	int status = bench_part("W25Q256JV", quad_bus(), pattern);
	status |= bench_part("MX25UM51245G", dopi_bus(), pattern);
	free(pattern);
	return status;
}
