/* A traced DfuSe session: a transport wrapper that writes every DFU class request and answer into
 * the scenario's record, and the engine on top of it. */
#include "conformance/device.h"

#include "conformance/expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DFU_DNLOAD          1 /* DFU 1.1 §3 request codes */
#define DFU_UPLOAD          2
#define DFU_GETSTATUS       3
#define DFU_CLRSTATUS       4
#define DFU_GETSTATE        5
#define DFU_ABORT           6
#define REQ_CLASS_IFACE_OUT 0x21 /* bmRequestType: class, interface, host-to-device */
#define REQ_CLASS_IFACE_IN  0xA1
#define CONTROL_TIMEOUT_MS  5000u

struct ft_conform_dfu {
	ft_conform_record *rec;
	bool emulated;
	char prefix[64];
	ft_transport *inner;
	ft_transport *traced;
	ft_dfuse_dev *dev;
	size_t entries; /* sequence entries written */
	size_t dropped; /* past FT_CONFORM_MAX_SEQUENCE */
	bool quiet;     /* ft_conform_dfu_quiet */
	uint64_t start_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void key_of(const ft_conform_dfu *d, const char *suffix, char *key, size_t cap)
{
	snprintf(key, cap, "%s.%s", d->prefix, suffix);
}

static void add_entry(ft_conform_dfu *d, const char *text)
{
	if (d->quiet)
		return;
	if (d->entries >= FT_CONFORM_MAX_SEQUENCE) {
		d->dropped++;
		return;
	}
	char key[96];
	key_of(d, "sequence", key, sizeof(key));
	ft_conform_record_append(d->rec, key, text);
	d->entries++;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The sequence entry for a DFU class request and its outcome. */
static void trace(ft_conform_dfu *d, const uint8_t setup[8], const uint8_t *data, size_t actual,
                  ft_transfer_status st)
{
	if (setup[0] != REQ_CLASS_IFACE_OUT && setup[0] != REQ_CLASS_IFACE_IN)
		return;
	unsigned value = (unsigned)setup[2] | (unsigned)setup[3] << 8;
	unsigned length = (unsigned)setup[6] | (unsigned)setup[7] << 8;
	char text[160];
	switch (setup[1]) {
	case DFU_DNLOAD:
		if (length == 0)
			snprintf(text, sizeof(text), "DNLOAD blk %u 0 B (leave)", value);
		else if (value == 0 && length >= 5)
			snprintf(text, sizeof(text), "DNLOAD cmd %02X 0x%08X", data[0],
			         (unsigned)le32(data + 1));
		else if (value == 0)
			snprintf(text, sizeof(text), "DNLOAD cmd %02X", data[0]);
		else
			snprintf(text, sizeof(text), "DNLOAD blk %u %u B", value, length);
		break;
	case DFU_UPLOAD: snprintf(text, sizeof(text), "UPLOAD blk %u %zu B", value, actual); break;
	case DFU_GETSTATUS:
		if (st == FT_TRANSFER_OK && actual == 6) {
			uint32_t poll =
			    (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16;
			snprintf(text, sizeof(text), "GETSTATUS %s %s", ft_dfu_state_name(data[4]),
			         ft_dfu_status_name(data[0]));
			if (poll) {
				char key[96], ms[16];
				snprintf(key, sizeof(key), "time.%s.poll_ms", d->prefix);
				snprintf(ms, sizeof(ms), "%u", (unsigned)poll);
				ft_conform_record_append(d->rec, key, ms);
			}
		} else {
			snprintf(text, sizeof(text), "GETSTATUS");
		}
		break;
	case DFU_CLRSTATUS: snprintf(text, sizeof(text), "CLRSTATUS"); break;
	case DFU_GETSTATE:
		snprintf(text, sizeof(text), "GETSTATE %s",
		         st == FT_TRANSFER_OK && actual == 1 ? ft_dfu_state_name(data[0]) : "");
		break;
	case DFU_ABORT: snprintf(text, sizeof(text), "ABORT"); break;
	default: snprintf(text, sizeof(text), "request %u", setup[1]); break;
	}
	if (st != FT_TRANSFER_OK) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof(text) - n, " -> %s", ft_transfer_status_name(st));
	}
	add_entry(d, text);
}

/* ---- the tracing transport: forwards everything to the real one ---- */

static void traced_close(void *ctx)
{
	(void)ctx; /* the inner transport is closed by ft_conform_dfu_close */
}

static ft_transfer_status traced_control(void *ctx, const uint8_t setup[8], uint8_t *data,
                                         size_t len, unsigned timeout_ms, size_t *actual,
                                         ft_diag *diag)
{
	ft_conform_dfu *d = ctx;
	ft_transfer_status st =
	    ft_transport_control(d->inner, setup, data, len, timeout_ms, actual, diag);
	trace(d, setup, data, *actual, st);
	return st;
}

static ft_error traced_set_configuration(void *ctx, uint8_t value, ft_diag *diag)
{
	ft_conform_dfu *d = ctx;
	return ft_transport_set_configuration(d->inner, value, CONTROL_TIMEOUT_MS, diag);
}

static ft_error traced_set_interface(void *ctx, uint8_t interface, uint8_t alt, ft_diag *diag)
{
	ft_conform_dfu *d = ctx;
	return ft_transport_set_interface(d->inner, interface, alt, CONTROL_TIMEOUT_MS, diag);
}

static ft_error traced_reset(void *ctx, ft_diag *diag)
{
	ft_conform_dfu *d = ctx;
	return ft_transport_reset(d->inner, diag);
}

static const char *traced_describe(void *ctx)
{
	ft_conform_dfu *d = ctx;
	return ft_transport_describe(d->inner);
}

static const ft_transport_ops traced_ops = {
    .name = "traced",
    .close = traced_close,
    .control = traced_control,
    .set_configuration = traced_set_configuration,
    .set_interface = traced_set_interface,
    .reset = traced_reset,
    .describe = traced_describe,
};

/* ---- engine callbacks ---- */

static void engine_sleep(void *user, uint32_t ms)
{
	const ft_conform_dfu *d = user;
	if (d->emulated || ms == 0)
		return; /* --timing instant: the flash is done when the request returns */
	struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
	nanosleep(&ts, NULL);
}

static void engine_warning(void *user, const ft_diag *warning)
{
	ft_conform_dfu *d = user;
	char key[96];
	key_of(d, "warnings", key, sizeof(key));
	ft_conform_record_append(d->rec, key, warning->message);
}

/* One attempt at opening; on failure fills why and returns NULL (nothing recorded). */
static ft_conform_dfu *open_once(ft_conform_env *env, const char *prefix, bool force, char *why,
                                 size_t cap)
{
	const char *conn = ft_conform_env_connection(env);
	if (!conn) {
		snprintf(why, cap, "the scenario has no device connection");
		return NULL;
	}
	ft_conform_dfu *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	d->rec = ft_conform_env_record(env);
	d->emulated = ft_conform_env_emulated(env);
	snprintf(d->prefix, sizeof(d->prefix), "%s", prefix);
	d->start_ns = now_ns();
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_transport_open(conn, &d->inner, &diag) != FT_OK) {
		snprintf(why, cap, "cannot open %s: %s", conn, diag.message);
		free(d);
		return NULL;
	}
	d->traced = ft_transport_new(&traced_ops, d);
	ft_dfuse_options opts = {
	    .sleep_ms = engine_sleep,
	    .warning = engine_warning,
	    .user = d,
	    .force = force,
	};
	ft_error err = d->traced ? ft_dfuse_open(d->traced, &opts, &d->dev, &diag) : FT_ERR_NO_MEM;
	if (err != FT_OK) {
		snprintf(why, cap, "DfuSe enumeration of %s failed: %s", conn,
		         d->traced ? diag.message : "out of memory");
		ft_transport_close(d->traced);
		ft_transport_close(d->inner);
		free(d);
		return NULL;
	}
	return d;
}

ft_conform_dfu *ft_conform_dfu_open(ft_conform_env *env, const char *prefix, bool force)
{
	char why[400];
	ft_conform_dfu *d = open_once(env, prefix, force, why, sizeof(why));
	if (!d)
		ft_conform_record_fail(ft_conform_env_record(env), "%s", why);
	return d;
}

ft_conform_dfu *ft_conform_dfu_reopen(ft_conform_env *env, const char *prefix, unsigned wait_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)wait_ms * 1000000u;
	char why[400];
	ft_conform_dfu *d;
	while (!(d = open_once(env, prefix, false, why, sizeof(why))) && now_ns() < deadline) {
		struct timespec ts = {0, 20000000L};
		nanosleep(&ts, NULL);
	}
	if (!d)
		ft_conform_record_fail(ft_conform_env_record(env), "%s", why);
	return d;
}

void ft_conform_dfu_close(ft_conform_dfu *d)
{
	if (!d)
		return;
	ft_dfuse_close(d->dev);
	ft_transport_close(d->traced);
	ft_transport_close(d->inner);
	if (d->dropped) {
		char text[64];
		snprintf(text, sizeof(text), "... %zu more", d->dropped);
		d->entries = 0; /* make room for the note */
		d->dropped = 0;
		char key[96];
		key_of(d, "sequence", key, sizeof(key));
		ft_conform_record_append(d->rec, key, text);
	}
	char key[96];
	snprintf(key, sizeof(key), "time.%s.ms", d->prefix);
	ft_conform_record_int(d->rec, key, (long long)((now_ns() - d->start_ns) / 1000000u));
	free(d);
}

ft_dfuse_dev *ft_conform_dfu_dev(ft_conform_dfu *d)
{
	return d->dev;
}

void ft_conform_dfu_quiet(ft_conform_dfu *d, bool quiet)
{
	d->quiet = quiet;
}

void ft_conform_dfu_mark(ft_conform_dfu *d, const char *label)
{
	char text[128];
	snprintf(text, sizeof(text), "-- %s", label);
	add_entry(d, text);
}

ft_transfer_status ft_conform_dfu_request(ft_conform_dfu *d, bool out, uint8_t request,
                                          uint16_t value, uint8_t *data, size_t len, size_t *actual)
{
	uint8_t iface = ft_dfuse_info(d->dev)->interface;
	const uint8_t setup[8] = {out ? REQ_CLASS_IFACE_OUT : REQ_CLASS_IFACE_IN,
	                          request,
	                          (uint8_t)value,
	                          (uint8_t)(value >> 8),
	                          iface,
	                          0,
	                          (uint8_t)len,
	                          (uint8_t)(len >> 8)};
	size_t moved = 0;
	ft_transfer_status st =
	    ft_transport_control(d->traced, setup, data, len, CONTROL_TIMEOUT_MS, &moved, NULL);
	if (actual)
		*actual = moved;
	return st;
}

bool ft_conform_dfu_select(ft_conform_dfu *d, uint32_t addr)
{
	int alt = ft_dfuse_find_alt(d->dev, addr);
	ft_diag diag;
	ft_diag_clear(&diag);
	bool ok = alt >= 0 && ft_dfuse_select_alt(d->dev, (size_t)alt, &diag) == FT_OK;
	char what[96];
	snprintf(what, sizeof(what), "an alternate setting holds 0x%08X", (unsigned)addr);
	return ft_conform_record_check(d->rec, ok, what, "%s",
	                               alt < 0 ? "none"
	                               : ok    ? "selected"
	                                       : diag.message);
}

uint32_t ft_conform_crc32(const uint8_t *data, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;
	for (size_t i = 0; i < len; i++) {
		crc ^= data[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return crc ^ 0xFFFFFFFFu;
}

bool ft_conform_dfu_digest(ft_conform_dfu *d, const char *key, uint32_t addr, uint32_t len,
                           uint8_t *buf, size_t cap)
{
	uint8_t *bytes = buf && cap >= len ? buf : malloc(len ? len : 1);
	if (!bytes) {
		ft_conform_record_fail(d->rec, "out of memory");
		return false;
	}
	ft_diag diag;
	ft_diag_clear(&diag);
	bool ok = ft_dfuse_read(d->dev, addr, bytes, len, &diag) == FT_OK;
	if (ok) {
		ft_conform_record_digest(d->rec, key, addr, bytes, len);
	} else {
		char text[400];
		snprintf(text, sizeof(text), "read failed: %s", diag.message);
		ft_conform_record_str(d->rec, key, text);
	}
	if (bytes != buf)
		free(bytes);
	return ok;
}

void ft_conform_record_digest(ft_conform_record *rec, const char *key, uint32_t addr,
                              const uint8_t *data, size_t len)
{
	char text[96];
	snprintf(text, sizeof(text), "CRC32 0x%08X over 0x%zX bytes at 0x%08X",
	         (unsigned)ft_conform_crc32(data, len), len, (unsigned)addr);
	ft_conform_record_str(rec, key, text);
}
