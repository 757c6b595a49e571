/* Benchmark: a dfu-util style session against the DFU bootloader model on an H743xI — erase
 * every sector, download 2 MB in 1 KB blocks (SET_ADDRESS + DNLOAD + GETSTATUS polls each), read
 * it back with UPLOAD.
 *   instant clock: host CPU throughput of the model (MB/s of data through erase+program, upload);
 *   manual clock, polled at every deadline like a real-time host: the virtual time the session
 *   takes when the host waits each bwPollTimeout, i.e. what dfu-util would see on this model.
 */
#include "models/clock.h"
#include "models/dfu_bootloader.h"
#include "models/flash_h7.h"
#include "models/parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK   1024u
#define SECTORS 16u
#define BASE    0x08000000u
#define SIZE    (2u * 1024u * 1024u)

typedef struct board {
	ft_clock *clock;
	ft_flash_h7 *flash;
	ft_dfu_bootloader *bl;
	ft_usb_device dev;
	uint64_t waited_ns;
} board;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ft_usb_status ctl(board *b, uint8_t type, uint8_t req, uint16_t value, uint8_t *data,
                         uint16_t len)
{
	const uint8_t setup[8] = {type, req, (uint8_t)value, (uint8_t)(value >> 8),
	                          0,    0,   (uint8_t)len,   (uint8_t)(len >> 8)};
	size_t actual;
	return ft_usb_device_control(&b->dev, setup, data, len, &actual);
}

/* Waits ms as a real-time host would: polls the model at each deadline it asks for. */
static void wait_ms(board *b, uint32_t ms)
{
	if (ft_clock_mode_of(b->clock) != FT_CLOCK_MANUAL)
		return;
	uint64_t target = ft_clock_now_ns(b->clock) + (uint64_t)ms * 1000000u;
	b->waited_ns += (uint64_t)ms * 1000000u;
	for (;;) {
		uint64_t next = ft_dfu_bootloader_poll(b->bl), now = ft_clock_now_ns(b->clock);
		uint64_t to = next == UINT64_MAX || next > target ? target : next;
		ft_clock_advance(b->clock, to > now ? to - now : 0);
		if (to == target)
			return;
	}
}

/* GETSTATUS as a host controller carries it: while the model holds it back (NAK, its operation
 * still running) it is offered again when the model next needs the clock, time passing. */
static ft_usb_status getstatus(board *b, uint8_t st[6])
{
	ft_usb_status r = ctl(b, 0xA1, 3, 0, st, 6);
	for (unsigned i = 0; i < 1000000u && r == FT_USB_NAK; i++) {
		uint64_t next = ft_dfu_bootloader_poll(b->bl), now = ft_clock_now_ns(b->clock);
		if (next != UINT64_MAX && next > now)
			ft_clock_advance(b->clock, next - now);
		r = ctl(b, 0xA1, 3, 0, st, 6);
	}
	return r;
}

/* DNLOAD then GETSTATUS until the state leaves dfuDNBUSY; returns bStatus. */
static int dnload_and_poll(board *b, uint16_t block, uint8_t *data, uint16_t len)
{
	uint8_t st[6];
	if (ctl(b, 0x21, 1, block, data, len) != FT_USB_OK)
		return -1;
	do {
		if (getstatus(b, st) != FT_USB_OK)
			return -1;
		if (st[4] == 4)
			wait_ms(b, st[1] | st[2] << 8 | (uint32_t)st[3] << 16);
	} while (st[4] == 4);
	ctl(b, 0x21, 6, 0, NULL, 0); /* ABORT to dfuIDLE, as dfu-util does */
	return st[0];
}

static int command(board *b, uint8_t cmd, uint32_t addr)
{
	uint8_t c[5] = {cmd, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
	                (uint8_t)(addr >> 24)};
	return dnload_and_poll(b, 0, c, 5);
}

static int setup_board(board *b, ft_clock_mode mode)
{
	const ft_part *part = ft_part_find("STM32H743ZI");
	memset(b, 0, sizeof(*b));
	b->clock = ft_clock_new(mode);
	ft_flash_h7_config fc = {.geometry = &part->flash, .clock = b->clock, .fresh = true};
	if (!b->clock || ft_flash_h7_new(&fc, &b->flash, NULL) != FT_OK)
		return -1;
	ft_dfu_bootloader_config cfg = {
	    .part = part, .rev_id = 0x1003, .flash = b->flash, .clock = b->clock};
	if (ft_dfu_bootloader_new(&cfg, &b->bl, NULL) != FT_OK)
		return -1;
	b->dev = ft_dfu_bootloader_usb_device(b->bl);
	return ctl(b, 0x00, 9, 1, NULL, 0) == FT_USB_OK ? 0 : -1;
}

static void free_board(board *b)
{
	ft_dfu_bootloader_free(b->bl);
	ft_flash_h7_free(b->flash);
	ft_clock_free(b->clock);
}

static int session(ft_clock_mode mode, uint8_t *image)
{
	board b;
	if (setup_board(&b, mode) != 0) {
		fprintf(stderr, "bench_dfu_bootloader: cannot set up the board\n");
		return 1;
	}
	double t0 = now_s();
	for (uint32_t s = 0; s < SECTORS; s++)
		if (command(&b, 0x41, BASE + s * 0x20000u) != 0)
			goto fail;
	uint64_t erase_ns = ft_clock_now_ns(b.clock);
	for (uint32_t off = 0; off < SIZE; off += BLOCK)
		if (command(&b, 0x21, BASE + off) != 0 ||
		    dnload_and_poll(&b, 2, image + off, BLOCK) != 0)
			goto fail;
	double t1 = now_s();
	uint64_t virtual_ns = ft_clock_now_ns(b.clock);
	uint8_t buf[BLOCK];
	if (command(&b, 0x21, BASE) != 0)
		goto fail;
	for (uint32_t off = 0; off < SIZE; off += BLOCK)
		if (ctl(&b, 0xA1, 2, (uint16_t)(2 + off / BLOCK), buf, BLOCK) != FT_USB_OK ||
		    memcmp(buf, image + off, BLOCK) != 0)
			goto fail;
	double t2 = now_s();
	double mb = (double)SIZE / (1024.0 * 1024.0);
	if (mode == FT_CLOCK_INSTANT) {
		printf("instant clock: erase+program %.1f MB/s, upload %.1f MB/s (host CPU)\n",
		       mb / (t1 - t0), mb / (t2 - t1));
	} else {
		double program_s = (double)(virtual_ns - erase_ns) / 1e9;
		printf("manual clock, dfu-util pacing: erase %.1f s, program %.2f s = %.0f KB/s "
		       "(virtual time; host CPU %.2f s)\n",
		       (double)erase_ns / 1e9, program_s, (double)SIZE / 1024.0 / program_s,
		       t1 - t0);
	}
	free_board(&b);
	return 0;
fail:
	fprintf(stderr, "bench_dfu_bootloader: session failed\n");
	free_board(&b);
	return 1;
}

int main(void)
{
	uint8_t *image = malloc(SIZE);
	if (!image)
		return 1;
	for (uint32_t i = 0; i < SIZE; i++)
		image[i] = (uint8_t)(i * 2654435761u >> 24);
	int status = session(FT_CLOCK_INSTANT, image) | session(FT_CLOCK_MANUAL, image);
	free(image);
	return status;
}
