/* An emulated board for the programmer's end-to-end tests and benchmarks: the system DFU
 * bootloader model (models/dfu_bootloader) over a flash model on an instant clock, exported by
 * the USB/IP server (emu/usbip) on 127.0.0.1 with a free port, served by a thread of its own.
 * flashtwin reaches it at board->url exactly as it reaches flashtwin-emu.
 *
 * The server thread owns the device while the board runs: read the models (flash contents, exit
 * reason) only after dfu_board_stop. A knob corrupts what the device uploads, to provoke verify
 * mismatches. No CUnit here: functions return false and print why, so benchmarks can use it too.
 */
#ifndef FT_DFU_BOARD_H
#define FT_DFU_BOARD_H

#include "emu/usbip/usbip_server.h"
#include "models/clock.h"
#include "models/dfu_bootloader.h"
#include "models/flash_h7.h"
#include "models/parts.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct dfu_board {
	const ft_part *part;
	ft_clock *clock;
	ft_flash_h7 *flash;
	ft_dfu_bootloader *bl;
	ft_usb_device inner;   /* the bootloader */
	ft_usb_device dev;     /* what the server exports: inner with the knobs below */
	ft_usb_device_ops ops; /* dev's ops */
	ft_usbip_server *srv;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	char url[64];
	/* Knob: UPLOAD data stages left to corrupt (the first byte of each is inverted). */
	atomic_uint corrupt_uploads;
	/* Filled by the bootloader when it leaves the bus; read after dfu_board_stop. */
	unsigned exits;
	ft_dfu_bootloader_exit exit_reason;
	uint32_t exit_addr;
} dfu_board;

static inline void dfu_board_on_exit(void *user, ft_dfu_bootloader_exit reason, uint32_t addr)
{
	dfu_board *b = user;
	b->exits++;
	b->exit_reason = reason;
	b->exit_addr = addr;
}

static inline const uint8_t *dfu_board_descriptor(void *ctx, uint8_t type, uint8_t index,
                                                  uint16_t langid, size_t *len)
{
	dfu_board *b = ctx;
	return ft_usb_device_descriptor(&b->inner, type, index, langid, len);
}

static inline ft_usb_status dfu_board_control(void *ctx, const uint8_t setup[8], uint8_t *data,
                                              size_t len, size_t *actual)
{
	dfu_board *b = ctx;
	ft_usb_status st = ft_usb_device_control(&b->inner, setup, data, len, actual);
	/* DFU 1.1 §3: UPLOAD is bRequest 2, class request to the interface, IN (0xA1). */
	bool upload = setup[0] == 0xA1 && setup[1] == 2 && (setup[2] | setup[3] << 8) >= 2;
	if (st == FT_USB_OK && upload && *actual > 0) {
		unsigned left = atomic_load(&b->corrupt_uploads);
		while (left > 0 &&
		       !atomic_compare_exchange_weak(&b->corrupt_uploads, &left, left - 1))
			;
		if (left > 0)
			data[0] = (uint8_t)~data[0];
	}
	return st;
}

static inline void dfu_board_reset(void *ctx)
{
	dfu_board *b = ctx;
	ft_usb_device_reset(&b->inner);
}

static inline void *dfu_board_main(void *arg)
{
	dfu_board *b = arg;
	ft_diag diag;
	if (ft_usbip_server_run(b->srv, &b->stop, &diag) != FT_OK)
		fprintf(stderr, "dfu_board: server: %s\n", diag.message);
	return NULL;
}

/* Frees what exists; safe on a partly started board. */
static inline void dfu_board_stop(dfu_board *b)
{
	if (b->running) {
		atomic_store(&b->stop, true);
		ft_usbip_server_wake(b->srv);
		pthread_join(b->thread, NULL);
		b->running = false;
	}
	ft_usbip_server_free(b->srv);
	ft_dfu_bootloader_free(b->bl);
	ft_flash_h7_free(b->flash);
	ft_clock_free(b->clock);
	b->srv = NULL;
	b->bl = NULL;
	b->flash = NULL;
	b->clock = NULL;
}

/* Starts a fresh (erased) board of part_name at revision rev_id. quirks/quirk_count force ROM
 * quirks on or off (NULL, 0: as the revision says). */
static inline bool dfu_board_start_with(dfu_board *b, const char *part_name, uint16_t rev_id,
                                        const ft_dfu_bootloader_quirk *quirks, size_t quirk_count)
{
	memset(b, 0, sizeof(*b));
	ft_diag diag;
	ft_diag_clear(&diag);
	b->part = ft_part_find(part_name);
	b->clock = ft_clock_new(FT_CLOCK_INSTANT);
	if (!b->part || !b->clock) {
		fprintf(stderr, "dfu_board: no part %s or no memory\n", part_name);
		dfu_board_stop(b);
		return false;
	}
	ft_flash_h7_config fc = {
	    .geometry = &b->part->flash,
	    .clock = b->clock,
	    .fresh = true,
	    .dual_core = b->part->family == FT_FAMILY_H74X_DUAL_CORE,
	};
	ft_dfu_bootloader_config bc = {
	    .part = b->part,
	    .rev_id = rev_id,
	    .clock = b->clock,
	    .uid = {0x00370035, 0x31346F36, 0x00000000},
	    .quirk_overrides = quirks,
	    .quirk_override_count = quirk_count,
	    .on_exit = dfu_board_on_exit,
	    .exit_user = b,
	};
	ft_usbip_server_config sc = {.address = "127.0.0.1", .port = 0, .session = part_name};
	b->ops =
	    (ft_usb_device_ops){dfu_board_descriptor, dfu_board_control, NULL, dfu_board_reset};
	bool ok = ft_flash_h7_new(&fc, &b->flash, &diag) == FT_OK;
	bc.flash = b->flash;
	ok = ok && ft_dfu_bootloader_new(&bc, &b->bl, &diag) == FT_OK;
	if (ok) {
		b->inner = ft_dfu_bootloader_usb_device(b->bl);
		b->dev = (ft_usb_device){&b->ops, b, b->inner.speed};
	}
	ok = ok && ft_usbip_server_new(&sc, &b->dev, &b->srv, &diag) == FT_OK;
	if (ok) {
		snprintf(b->url, sizeof(b->url), "usbip://127.0.0.1:%u/1-1",
		         ft_usbip_server_port(b->srv));
		atomic_store(&b->stop, false);
		ok = pthread_create(&b->thread, NULL, dfu_board_main, b) == 0;
		b->running = ok;
	}
	if (!ok) {
		fprintf(stderr, "dfu_board: %s: %s\n", diag.origin, diag.message);
		dfu_board_stop(b);
	}
	return ok;
}

static inline bool dfu_board_start(dfu_board *b, const char *part_name, uint16_t rev_id)
{
	return dfu_board_start_with(b, part_name, rev_id, NULL, 0);
}

#endif
