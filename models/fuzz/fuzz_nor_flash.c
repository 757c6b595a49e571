/* Fuzzes ft_nor_transfer with arbitrary transaction sequences, as guest firmware can issue them
 * through a controller model, interleaved with clock advances, resets and mapped reads.
 *
 * Input: byte 0 picks the part; then records, each an opcode byte followed by its operands.
 * The flashes are built once (their arrays are 32 and 64 MB); every input starts from the
 * factory register state and a power cycle, so only the array contents carry over. */
#include "models/clock.h"
#include "models/error.h"
#include "models/nor_flash.h"

#include <stdlib.h>
#include <string.h>

#define PARTS 2

typedef struct target {
	ft_clock *clock;
	ft_nor *nor;
	uint8_t *nv, *factory_nv;
	size_t nv_size;
} target;

static target targets[PARTS];

static target *get_target(unsigned index)
{
	target *t = &targets[index];
	if (t->nor)
		return t;
	const ft_nor_part *part = ft_nor_part_at(index);
	t->nv_size = ft_nor_part_geometry(part)->nv_size;
	t->nv = malloc(t->nv_size);
	t->factory_nv = malloc(t->nv_size);
	t->clock = ft_clock_new(FT_CLOCK_MANUAL);
	ft_nor_backing backing = {.nv = t->nv, .fresh = true};
	if (!t->nv || !t->factory_nv || !t->clock ||
	    ft_nor_new(part, t->clock, &backing, &t->nor, NULL) != FT_OK)
		abort();
	memcpy(t->factory_nv, t->nv, t->nv_size);
	return t;
}

typedef struct reader {
	const uint8_t *p;
	size_t left;
} reader;

static uint32_t take(reader *r, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes && r->left; i++, r->left--)
		v |= (uint32_t)*r->p++ << (8 * i);
	return v;
}

/* 3 is not a valid line count: it exercises the argument checks. */
static const uint8_t line_counts[8] = {0, 1, 2, 4, 8, 3, 1, 8};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[600];
	if (size < 1 || ft_nor_part_count() < PARTS)
		return 0;
	target *t = get_target(data[0] % PARTS);
	memcpy(t->nv, t->factory_nv, t->nv_size);
	ft_nor_reset(t->nor);
	reader r = {data + 1, size - 1};
	ft_diag diag;
	while (r.left) {
		uint8_t op = (uint8_t)take(&r, 1);
		switch (op % 8) {
		case 5: ft_clock_advance(t->clock, (uint64_t)take(&r, 3) * 1000u); break;
		case 6: ft_nor_reset(t->nor); break;
		case 7: {
			uint32_t address = take(&r, 4);
			size_t len = take(&r, 2) % sizeof(buf);
			ft_nor_read_mapped(t->nor, address, buf, len, &diag);
			break;
		}
		default: {
			uint32_t shape = take(&r, 4);
			ft_nor_xfer x = {
			    .instruction = (uint16_t)take(&r, 2),
			    .instruction_bytes = (uint8_t)(1 + (shape & 1)),
			    .instruction_lines = line_counts[(shape >> 1) & 7],
			    .dtr = (shape >> 4) & 1,
			    .has_address = (shape >> 5) & 1,
			    .address_bytes = (uint8_t)((shape >> 6) & 7),
			    .address_lines = line_counts[(shape >> 9) & 7],
			    .alternate_bytes = (uint8_t)((shape >> 12) & 7),
			    .alternate_lines = line_counts[(shape >> 15) & 7],
			    .dummy_cycles = (uint8_t)((shape >> 18) & 31),
			    .data_lines = line_counts[(shape >> 23) & 7],
			    .data_in = (shape >> 26) & 1,
			    .data = buf,
			};
			x.address = take(&r, 4);
			x.alternate = take(&r, 1);
			x.data_len = take(&r, 2) % sizeof(buf);
			if (!x.data_in)
				for (size_t i = 0; i < x.data_len; i++)
					buf[i] = (uint8_t)take(&r, 1);
			ft_nor_transfer(t->nor, &x, &diag);
			break;
		}
		}
	}
	return 0;
}
