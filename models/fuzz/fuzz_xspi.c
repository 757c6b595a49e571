/* Fuzz target: firmware in an emulated board drives a QUADSPI/OCTOSPI/XSPI controller with any
 * register access it likes, in any order, reads its memory-mapped window, lets time pass and
 * resets it. Nothing it does may crash the controller or the NOR model behind it or make them
 * touch memory they do not own (QEMU docs/devel/style.rst: "guests should not be able to
 * terminate QEMU").
 *
 * Input: byte 0 picks the layout (bits 1:0) and the flash (bits 3:2: none, W25Q256JV,
 * MX25UM51245G); then records of one opcode byte and its arguments, little-endian. As in
 * fuzz_nor_flash, the flashes are built once (32 and 64 MB arrays); every input starts from their
 * factory registers and a power cycle, so only the array contents carry over. */
#include "models/clock.h"
#include "models/nor_flash.h"
#include "models/xspi.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct flash {
	ft_nor *nor;
	uint8_t *nv, *factory_nv;
	size_t nv_size;
} flash;

/* The flash for a part, built on first use with the shared clock. */
static ft_nor *get_flash(unsigned index, ft_clock *clock)
{
	static flash flashes[2];
	flash *f = &flashes[index];
	if (!f->nor) {
		const ft_nor_part *part = ft_nor_part_at(index);
		f->nv_size = ft_nor_part_geometry(part)->nv_size;
		f->nv = malloc(f->nv_size);
		f->factory_nv = malloc(f->nv_size);
		ft_nor_backing backing = {.nv = f->nv, .fresh = true};
		if (!f->nv || !f->factory_nv ||
		    ft_nor_new(part, clock, &backing, &f->nor, NULL) != FT_OK)
			abort();
		memcpy(f->factory_nv, f->nv, f->nv_size);
	}
	memcpy(f->nv, f->factory_nv, f->nv_size);
	ft_nor_reset(f->nor);
	return f->nor;
}

typedef struct cursor {
	const uint8_t *p;
	size_t left;
} cursor;

static uint32_t take(cursor *c, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes && c->left; i++, c->left--)
		v |= (uint32_t)*c->p++ << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ft_clock *clock; /* shared by the flashes built once; only ever moves forward */
	static const ft_xspi_variant variants[] = {FT_XSPI_QUADSPI, FT_XSPI_OCTOSPI, FT_XSPI_XSPI,
	                                           FT_XSPI_OCTOSPI};
	if (size < 1)
		return 0;
	cursor c = {data, size};
	uint32_t pick = take(&c, 1);
	if (!clock && !(clock = ft_clock_new(FT_CLOCK_MANUAL)))
		abort();
	unsigned flash_pick = (pick >> 2) & 3u; /* 0: none, else part index + 1 */
	ft_nor *nor = flash_pick && flash_pick <= ft_nor_part_count()
	                  ? get_flash(flash_pick - 1, clock)
	                  : NULL;
	ft_xspi *x = NULL;
	if (ft_xspi_new(variants[pick & 3u], nor, &x, NULL) != FT_OK)
		return 0;
	while (c.left) {
		uint32_t op = take(&c, 1);
		unsigned width = 1u << (op >> 4 & 3u); /* 1, 2, 4 (8 is refused) */
		uint32_t offset = take(&c, 2) & 0x7FFu;
		uint32_t value, v;
		uint8_t buf[16];
		switch (op & 7u) {
		case 0:
		case 1:
			value = take(&c, 4);
			ft_xspi_reg_write(x, offset, width, value);
			break;
		case 2: ft_xspi_reg_read(x, offset, width, &v); break;
		case 3:
			ft_xspi_window_read(x, take(&c, 4), buf, take(&c, 1) % sizeof(buf), NULL);
			break;
		case 4: ft_clock_advance(clock, (uint64_t)take(&c, 3) * 1000u); break;
		case 5: ft_xspi_poll(x); break;
		case 6: ft_xspi_reset(x); break;
		default:
			(void)ft_xspi_irq(x);
			(void)ft_xspi_mapped(x, NULL);
			(void)ft_xspi_reg_name(x, offset);
			break;
		}
	}
	ft_xspi_free(x);
	return 0;
}
