/* Fuzz target: firmware in an emulated board drives flash_h7 with any register and bus access it
 * likes, in any order, with time passing and resets in between. Nothing it does may crash the
 * model or make it touch memory it does not own (QEMU docs/devel/style.rst: "guests should not
 * be able to terminate QEMU").
 *
 * Input: byte 0 picks a geometry (and dual core); then records of one opcode byte and its
 * arguments, little-endian, until the input ends. */
#include "models/clock.h"
#include "models/flash_h7.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small variants of every layout, so each run allocates little. */
static const ft_flash_geometry geometries[] = {
    {FT_FLASH_H74X, 2, 4, 0x20000, 32, 0x80000, {0x08000000u, 0x08100000u}, true},
    {FT_FLASH_H74X, 1, 1, 0x20000, 32, 0x20000, {0x08000000u, 0x08100000u}, true},
    {FT_FLASH_H72X, 1, 1, 0x20000, 32, 0x20000, {0x08000000u, 0}, false},
    {FT_FLASH_H7AX, 2, 16, 0x2000, 16, 0x20000, {0x08000000u, 0x08100000u}, true},
};

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

/* Addresses near the interesting places: both banks, the gap after a short bank, OTP. */
static uint32_t pick_address(cursor *c)
{
	static const uint32_t bases[] = {0x08000000u, 0x08100000u, 0x0807FFE0u, 0x08FFF000u};
	uint32_t sel = take(c, 1);
	return bases[sel & 3u] + (take(c, 3) & 0x1FFFFu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	cursor c = {data, size};
	uint32_t pick = take(&c, 1);
	const ft_flash_geometry *geo = &geometries[pick % 4];
	ft_clock *clock = ft_clock_new(FT_CLOCK_MANUAL);
	ft_flash_h7_config cfg = {geo, clock, NULL, NULL, NULL, true, (pick & 0x80u) != 0};
	ft_flash_h7 *fl = NULL;
	if (!clock || ft_flash_h7_new(&cfg, &fl, NULL) != FT_OK) {
		ft_clock_free(clock);
		return 0;
	}
	uint8_t buf[96];
	bool fault;
	while (c.left) {
		uint32_t op = take(&c, 1);
		switch (op % 10) {
		case 0: { /* keys first, so deeper states are reachable */
			uint32_t bank = take(&c, 1) & 1u;
			ft_flash_h7_reg_write(fl, 0x004 + bank * 0x100, 0x45670123u);
			ft_flash_h7_reg_write(fl, 0x004 + bank * 0x100, 0xCDEF89ABu);
			ft_flash_h7_reg_write(fl, 0x008, 0x08192A3Bu);
			ft_flash_h7_reg_write(fl, 0x008, 0x4C5D6E7Fu);
			break;
		}
		case 1:
		case 2: {
			uint32_t offset = (take(&c, 2) & 0x1FFu) & ~3u;
			ft_flash_h7_reg_write(fl, offset, take(&c, 4));
			break;
		}
		case 3: {
			uint32_t v;
			ft_flash_h7_reg_read(fl, take(&c, 2) & 0xFFFu, &v);
			break;
		}
		case 4:
		case 5: {
			uint32_t addr = pick_address(&c);
			size_t len = (size_t)1 << (take(&c, 1) & 3u);
			uint8_t val[8];
			memset(val, (int)take(&c, 1), sizeof(val));
			ft_flash_h7_bus_write(fl, addr, val, len, &fault);
			break;
		}
		case 6: {
			uint32_t addr = pick_address(&c);
			size_t len = take(&c, 1) % sizeof(buf);
			ft_flash_h7_bus_read(fl, addr, buf, len, &fault);
			ft_flash_h7_peek(fl, addr, buf, len);
			break;
		}
		case 7: {
			uint32_t addr = pick_address(&c);
			size_t len = take(&c, 1) % sizeof(buf), done;
			memset(buf, (int)take(&c, 1), sizeof(buf));
			ft_flash_h7_bus_write_bulk(fl, addr, buf, len, &done, &fault);
			break;
		}
		case 8: /* up to ~4.3 s in 1 us steps, or to the next completion */
			if (op & 0x80u)
				ft_clock_advance(clock, (uint64_t)take(&c, 4) * 1000u);
			else if (ft_flash_h7_next_event_ns(fl) != UINT64_MAX)
				ft_clock_advance(clock, ft_flash_h7_next_event_ns(fl) -
				                            ft_clock_now_ns(clock));
			break;
		default:
			switch (take(&c, 1) % 4) {
			case 0: ft_flash_h7_reset(fl); break;
			case 1: ft_flash_h7_set_intrusion(fl, op & 0x80u); break;
			case 2:
				ft_flash_h7_inject_ecc_error(fl, pick_address(&c), op & 0x80u);
				break;
			default: ft_flash_h7_inject_operation_error(fl, op >> 7); break;
			}
			break;
		}
	}
	ft_flash_h7_options o;
	ft_flash_h7_get_options(fl, &o);
	ft_flash_h7_free(fl);
	ft_clock_free(clock);
	return 0;
}
