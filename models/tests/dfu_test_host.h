/* Test-side host for the DFU bootloader model: a board (clock, flash model, bootloader) and the
 * requests dfu-util sends, as raw setup bytes through ft_usb_device_control. Request codes, states
 * and statuses are written from the specifications (DFU 1.1 §3, §6.1.2; AN3156), not taken from
 * the model's header. Included by the test_dfu_bootloader*.c programs only.
 */
#ifndef FT_DFU_TEST_HOST_H
#define FT_DFU_TEST_HOST_H

#include "models/clock.h"
#include "models/dfu_bootloader.h"
#include "models/flash_h7.h"
#include "models/parts.h"
#include "models/tests/ft_test.h"
#include "models/usb_device.h"

#include <stdlib.h>
#include <string.h>

/* DFU 1.1 §3 Table 3.2 */
#define REQ_DETACH    0
#define REQ_DNLOAD    1
#define REQ_UPLOAD    2
#define REQ_GETSTATUS 3
#define REQ_CLRSTATUS 4
#define REQ_GETSTATE  5
#define REQ_ABORT     6
/* bmRequestType: class, interface, OUT / IN */
#define RT_CLASS_OUT 0x21
#define RT_CLASS_IN  0xA1
/* DFU 1.1 §6.1.2 states */
#define ST_IDLE          2
#define ST_DNLOAD_SYNC   3
#define ST_DNBUSY        4
#define ST_DNLOAD_IDLE   5
#define ST_MANIFEST_SYNC 6
#define ST_MANIFEST      7
#define ST_UPLOAD_IDLE   9
#define ST_ERROR         10
/* and statuses */
#define S_OK            0x00
#define S_ERR_TARGET    0x01
#define S_ERR_WRITE     0x03
#define S_ERR_PROG      0x06
#define S_ERR_VERIFY    0x07
#define S_ERR_VENDOR    0x0B
#define S_ERR_UNKNOWN   0x0E
#define S_ERR_STALLEDPK 0x0F

#define MS 1000000ull

/* A board under test. */
typedef struct host {
	const ft_part *part;
	ft_clock *clock;
	ft_flash_h7 *flash;
	ft_dfu_bootloader *bl;
	ft_usb_device dev;
	ft_dfu_bootloader_config cfg;
	unsigned exits;
	ft_dfu_bootloader_exit exit_reason;
	uint32_t exit_addr;
	unsigned traces;
	ft_dfu_bootloader_trace last_trace;
} host;

static inline void host_on_exit(void *user, ft_dfu_bootloader_exit reason, uint32_t addr)
{
	host *h = user;
	h->exits++;
	h->exit_reason = reason;
	h->exit_addr = addr;
}

static inline void host_on_trace(void *user, const ft_dfu_bootloader_trace *rec)
{
	host *h = user;
	h->traces++;
	h->last_trace = *rec;
}

/* Creates clock and flash model for a part; the bootloader config is prepared in h->cfg and
 * started by host_boot (tests change knobs in between). */
static inline void host_init(host *h, const char *part_name, uint16_t rev_id, ft_clock_mode mode)
{
	memset(h, 0, sizeof(*h));
	h->part = ft_part_find(part_name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h->part);
	h->clock = ft_clock_new(mode);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h->clock);
	ft_flash_h7_config fc = {
	    .geometry = &h->part->flash,
	    .clock = h->clock,
	    .fresh = true,
	    .dual_core = h->part->family == FT_FAMILY_H74X_DUAL_CORE,
	};
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_new(&fc, &h->flash, NULL), FT_OK);
	h->cfg = (ft_dfu_bootloader_config){
	    .part = h->part,
	    .rev_id = rev_id,
	    .flash = h->flash,
	    .clock = h->clock,
	    .uid = {0x00370035, 0x31346F36, 0x00000000},
	    .on_exit = host_on_exit,
	    .exit_user = h,
	    .trace = host_on_trace,
	    .trace_user = h,
	};
}

static inline ft_usb_status host_ctl(host *h, uint8_t type, uint8_t req, uint16_t value,
                                     uint16_t index, uint8_t *data, uint16_t len, size_t *actual)
{
	const uint8_t setup[8] = {type,           req,
	                          (uint8_t)value, (uint8_t)(value >> 8),
	                          (uint8_t)index, (uint8_t)(index >> 8),
	                          (uint8_t)len,   (uint8_t)(len >> 8)};
	size_t dummy;
	return ft_usb_device_control(&h->dev, setup, data, len, actual ? actual : &dummy);
}

/* Starts the bootloader and enumerates it as Linux does: SET_ADDRESS, SET_CONFIGURATION 1. */
static inline void host_boot(host *h)
{
	CU_ASSERT_EQUAL_FATAL(ft_dfu_bootloader_new(&h->cfg, &h->bl, NULL), FT_OK);
	h->dev = ft_dfu_bootloader_usb_device(h->bl);
	CU_ASSERT_EQUAL_FATAL(host_ctl(h, 0x00, 5, 7, 0, NULL, 0, NULL), FT_USB_OK);
	CU_ASSERT_EQUAL_FATAL(host_ctl(h, 0x00, 9, 1, 0, NULL, 0, NULL), FT_USB_OK);
}

static inline void host_free(host *h)
{
	ft_dfu_bootloader_free(h->bl);
	ft_flash_h7_free(h->flash);
	ft_clock_free(h->clock);
}

static inline ft_usb_status host_set_alt(host *h, uint16_t alt)
{
	return host_ctl(h, 0x01, 11, alt, 0, NULL, 0, NULL);
}

/* GETSTATUS: the 6 bytes into st; returns the transfer status. */
static inline ft_usb_status host_getstatus(host *h, uint8_t st[6])
{
	size_t actual = 0;
	ft_usb_status r = host_ctl(h, RT_CLASS_IN, REQ_GETSTATUS, 0, 0, st, 6, &actual);
	if (r == FT_USB_OK)
		FT_ASSERT_HEX(actual, 6);
	return r;
}

static inline uint32_t poll_ms_of(const uint8_t st[6])
{
	return st[1] | (uint32_t)st[2] << 8 | (uint32_t)st[3] << 16;
}

static inline ft_usb_status host_dnload(host *h, uint16_t block, const void *data, uint16_t len)
{
	return host_ctl(h, RT_CLASS_OUT, REQ_DNLOAD, block, 0, (uint8_t *)data, len, NULL);
}

static inline ft_usb_status host_upload(host *h, uint16_t block, void *buf, uint16_t len,
                                        size_t *actual)
{
	return host_ctl(h, RT_CLASS_IN, REQ_UPLOAD, block, 0, buf, len, actual);
}

static inline ft_usb_status host_simple(host *h, uint8_t req)
{
	return host_ctl(h, RT_CLASS_OUT, req, 0, 0, NULL, 0, NULL);
}

/* Lets ms of time pass as a real-time host does: the model is polled at each deadline it asks
 * for, so the ROM's program loop keeps pace with the flash. */
static inline void host_wait(host *h, uint64_t ms)
{
	uint64_t target = ft_clock_now_ns(h->clock) + ms * MS;
	for (;;) {
		uint64_t next = ft_dfu_bootloader_poll(h->bl);
		uint64_t now = ft_clock_now_ns(h->clock);
		if (next == UINT64_MAX || next > target) {
			ft_clock_advance(h->clock, target > now ? target - now : 0);
			return;
		}
		ft_clock_advance(h->clock, next > now ? next - now : 0);
	}
}

/* GETSTATUS as a host controller carries it: a NAK is offered again when the device next needs
 * the clock, time passing meanwhile (at most 100000 times). Returns the final transfer status. */
static inline ft_usb_status host_getstatus_nak_retried(host *h, uint8_t st[6])
{
	ft_usb_status r = host_getstatus(h, st);
	for (unsigned i = 0; i < 100000 && r == FT_USB_NAK; i++) {
		uint64_t next = ft_dfu_bootloader_poll(h->bl);
		uint64_t now = ft_clock_now_ns(h->clock);
		if (next != UINT64_MAX && next > now)
			ft_clock_advance(h->clock, next - now);
		r = host_getstatus(h, st);
	}
	return r;
}

/* After a DNLOAD: the first GETSTATUS must say OK/dfuDNBUSY with a nonzero bwPollTimeout; then,
 * like dfu-util, wait bwPollTimeout and poll until the state leaves dfuDNBUSY (at most 10000
 * polls), a poll the device holds back answered when it is done. Returns the final GETSTATUS in
 * st. */
static inline void host_poll_done(host *h, uint8_t st[6])
{
	CU_ASSERT_EQUAL_FATAL(host_getstatus(h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[0], S_OK);
	FT_ASSERT_HEX(st[4], ST_DNBUSY);
	CU_ASSERT(poll_ms_of(st) > 0);
	for (unsigned i = 0; i < 10000 && st[4] == ST_DNBUSY; i++) {
		host_wait(h, poll_ms_of(st));
		CU_ASSERT_EQUAL_FATAL(host_getstatus_nak_retried(h, st), FT_USB_OK);
	}
}

/* A DfuSe special command (DNLOAD block 0) polled to its end; returns bStatus, *state the final
 * bState. */
static inline uint8_t host_command(host *h, const uint8_t *cmd, uint16_t len, uint8_t *state)
{
	uint8_t st[6];
	CU_ASSERT_EQUAL_FATAL(host_dnload(h, 0, cmd, len), FT_USB_OK);
	host_poll_done(h, st);
	if (state)
		*state = st[4];
	return st[0];
}

static inline uint8_t host_set_address(host *h, uint32_t addr, uint8_t *state)
{
	const uint8_t cmd[5] = {0x21, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
	                        (uint8_t)(addr >> 24)};
	return host_command(h, cmd, 5, state);
}

static inline uint8_t host_erase(host *h, uint32_t addr, uint8_t *state)
{
	const uint8_t cmd[5] = {0x41, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
	                        (uint8_t)(addr >> 24)};
	return host_command(h, cmd, 5, state);
}

/* dfu-util's recovery and its ABORT to dfuIDLE after a command or a download. */
static inline void host_to_idle(host *h)
{
	uint8_t st[6];
	CU_ASSERT_EQUAL_FATAL(host_getstatus(h, st), FT_USB_OK);
	uint8_t req = st[4] == ST_ERROR ? REQ_CLRSTATUS : REQ_ABORT;
	CU_ASSERT_EQUAL(host_simple(h, req), FT_USB_OK);
	CU_ASSERT_EQUAL_FATAL(host_getstatus(h, st), FT_USB_OK);
	FT_ASSERT_HEX(st[4], ST_IDLE);
}

/* DNLOAD one data block at block number `block` and poll it; returns bStatus. */
static inline uint8_t host_write_block(host *h, uint16_t block, const void *data, uint16_t len,
                                       uint8_t *state)
{
	uint8_t st[6];
	CU_ASSERT_EQUAL_FATAL(host_dnload(h, block, data, len), FT_USB_OK);
	host_poll_done(h, st);
	if (state)
		*state = st[4];
	return st[0];
}

/* Sets up a previous state of the board before the bootloader starts: writes one option
 * register (*_PRG offset from 0x52002000) the way firmware would (RM0433 §4.4: OPTKEYR keys
 * 0x08192A3B/0x4C5D6E7F at 0x08, OPTCR 0x18 OPTSTART bit 1, OPTSR_CUR 0x1C OPT_BUSY bit 0) and
 * waits for the change. */
static inline void host_program_option(host *h, uint32_t offset, uint32_t value)
{
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_write(h->flash, 0x08, 0x08192A3B), FT_OK);
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_write(h->flash, 0x08, 0x4C5D6E7F), FT_OK);
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_write(h->flash, offset, value), FT_OK);
	uint32_t optcr = 0;
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_read(h->flash, 0x18, &optcr), FT_OK);
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_write(h->flash, 0x18, optcr | 0x2), FT_OK);
	uint32_t optsr = 1;
	for (unsigned i = 0; i < 100 && (optsr & 1); i++) {
		ft_clock_advance(h->clock, 100 * MS);
		CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_read(h->flash, 0x1C, &optsr), FT_OK);
	}
	FT_ASSERT_HEX(optsr & 1, 0);
	CU_ASSERT_EQUAL_FATAL(ft_flash_h7_reg_write(h->flash, 0x18, 0x1), FT_OK); /* OPTLOCK */
}

static inline uint32_t host_reg(host *h, uint32_t offset)
{
	uint32_t v = 0;
	CU_ASSERT_EQUAL(ft_flash_h7_reg_read(h->flash, offset, &v), FT_OK);
	return v;
}

/* A test pattern that differs per block and per byte. */
static inline void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7u + seed * 13u + (i >> 8));
}

/* One step of a scripted conversation: optionally advance the clock, send a request, expect a
 * transfer status and, for GETSTATUS, the bStatus/bState it answers. */
typedef struct step {
	uint64_t advance_ms;
	uint8_t type, req;
	uint16_t value;
	ft_usb_status result;
	int status, state; /* GETSTATUS answers; -1: not checked */
} step;

static inline void host_converse(host *h, const step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const step *s = &steps[i];
		uint8_t buf[6] = {0};
		host_wait(h, s->advance_ms);
		uint16_t len = s->req == REQ_GETSTATUS ? 6 : s->req == REQ_GETSTATE ? 1 : 0;
		ft_usb_status r = host_ctl(h, s->type, s->req, s->value, 0, buf, len, NULL);
		FT_ASSERT_HEX(i * 0x100 + r, i * 0x100 + s->result);
		if (s->req == REQ_GETSTATUS && r == FT_USB_OK) {
			if (s->status >= 0)
				FT_ASSERT_HEX(i * 0x100 + buf[0], i * 0x100 + (unsigned)s->status);
			if (s->state >= 0)
				FT_ASSERT_HEX(i * 0x100 + buf[4], i * 0x100 + (unsigned)s->state);
		}
	}
}

#endif
