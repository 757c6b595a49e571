/* The CMSIS-DAP probe (cmsis_dap.h): command parsing and the SW-DP in front of dap_port. */
#include "emu/cmsis_dap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Command IDs (CMSIS-DAP reference, "Commands"; pyOCD 0.13 cmsis_dap_core.py Command). */
enum {
	DAP_INFO = 0x00,
	DAP_HOST_STATUS = 0x01,
	DAP_CONNECT = 0x02,
	DAP_DISCONNECT = 0x03,
	DAP_TRANSFER_CONFIGURE = 0x04,
	DAP_TRANSFER = 0x05,
	DAP_TRANSFER_BLOCK = 0x06,
	DAP_TRANSFER_ABORT = 0x07,
	DAP_WRITE_ABORT = 0x08,
	DAP_DELAY = 0x09,
	DAP_RESET_TARGET = 0x0A,
	DAP_SWJ_PINS = 0x10,
	DAP_SWJ_CLOCK = 0x11,
	DAP_SWJ_SEQUENCE = 0x12,
	DAP_SWD_CONFIGURE = 0x13,
	DAP_INVALID = 0xFF,
};

/* Status bytes and DAP_Connect ports. */
#define DAP_OK       0x00u
#define DAP_ERROR    0xFFu
#define PORT_DEFAULT 0u
#define PORT_SWD     1u

/* DAP_Info IDs and values. Capabilities b0: SWD. */
#define INFO_VENDOR       0x01u
#define INFO_PRODUCT      0x02u
#define INFO_SERIAL       0x03u
#define INFO_PROTOCOL     0x04u
#define INFO_CAPABILITIES 0xF0u
#define INFO_PACKET_COUNT 0xFEu
#define INFO_PACKET_SIZE  0xFFu
#define CAP_SWD           0x01u
#define SERIAL_MAX        32u

/* Transfer request bits: APnDP b0, RnW b1, A[3:2] b3:2, value match b4, match mask b5; the
 * response: ACK b2:0 (OK 1, WAIT 2, FAULT 4), value mismatch b4. */
#define REQ_APNDP      0x01u
#define REQ_RNW        0x02u
#define REQ_A          0x0Cu
#define REQ_MATCH      0x10u
#define REQ_MATCH_MASK 0x20u
#define ACK_OK         0x1u
#define ACK_FAULT      0x4u
#define RESP_MISMATCH  0x10u

/* DAP_SWJ_Pins: nRESET b7. */
#define PIN_NRESET 0x80u

/* SW-DP: DPIDR of the STM32H7 (OOCD tcl/target/stm32h7x.cfg _CPUTAPID 0x6ba02477 under SWD;
 * [U]: not in devices.md), DP addresses by A[3:2] (ADIv5 §2.3). */
#define SW_DPIDR  0x6BA02477u
#define DP_DPIDR  0x0u
#define DP_RESEND 0x8u
#define DP_RDBUFF 0xCu

struct ft_cmsis_dap {
	ft_dap_port *port;
	char serial[SERIAL_MAX + 1];
	uint16_t match_retry;
	uint32_t match_mask;
	uint8_t pins; /* the SWJ pins as last driven */
};

ft_cmsis_dap *ft_cmsis_dap_new(const ft_dap_target *target, const char *serial)
{
	ft_cmsis_dap *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->port = ft_dap_port_new(target);
	if (!d->port) {
		free(d);
		return NULL;
	}
	strncpy(d->serial, serial, SERIAL_MAX);
	d->match_mask = ~0u;
	d->pins = 0xFF;
	return d;
}

void ft_cmsis_dap_free(ft_cmsis_dap *d)
{
	if (d)
		ft_dap_port_free(d->port);
	free(d);
}

unsigned ft_cmsis_dap_target_errors(const ft_cmsis_dap *d, ft_diag *last)
{
	return ft_dap_port_target_errors(d->port, last);
}

/* ---- bytes in and out ---- */

typedef struct cursor {
	const uint8_t *p;
	size_t len, off;
} cursor;

typedef struct reply {
	uint8_t *p;
	size_t len;
} reply;

static bool take(cursor *c, unsigned n, uint32_t *v)
{
	if (c->len - c->off < n)
		return false;
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint32_t)c->p[c->off + i] << (8 * i);
	c->off += n;
	return true;
}

static bool put(reply *r, unsigned n, uint32_t v)
{
	if (FT_CMSIS_DAP_PACKET - r->len < n)
		return false;
	for (unsigned i = 0; i < n; i++)
		r->p[r->len++] = (uint8_t)(v >> (8 * i));
	return true;
}

static ft_error short_command(const cursor *c, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_PROTOCOL, "cmsis-dap",
	                   "command 0x%02x ends at byte %zu, inside its fields", c->p[0], c->len);
}

static ft_error long_response(const cursor *c, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_PROTOCOL, "cmsis-dap",
	                   "command 0x%02x asks for more than a %u-byte response (at byte %zu)",
	                   c->p[0], FT_CMSIS_DAP_PACKET, c->off);
}

/* ---- the SW-DP ---- */

/* One SWD transfer; returns its ACK. */
static unsigned swd_transfer(ft_cmsis_dap *d, unsigned req, uint32_t data, uint32_t *value)
{
	uint32_t a = req & REQ_A;
	bool rnw = req & REQ_RNW;
	*value = 0;
	if (req & REQ_APNDP) {
		if (!ft_dap_port_ap(d->port, a, rnw, data, value))
			return ACK_FAULT;
		/* the access itself faulted: FAULT, as the firmware's RDBUFF read finds */
		return ft_dap_port_sticky_error(d->port) ? ACK_FAULT : ACK_OK;
	}
	if (a == DP_DPIDR) {
		if (rnw)
			*value = SW_DPIDR;
		else
			ft_dap_port_abort(d->port, data);
	} else {
		*value = ft_dap_port_dp(d->port, rnw && a == DP_RESEND ? DP_RDBUFF : a, rnw, data);
	}
	return ACK_OK;
}

/* ---- commands ---- */

static ft_error info(ft_cmsis_dap *d, cursor *c, reply *r, ft_diag *diag)
{
	uint32_t id;
	if (!take(c, 1, &id))
		return short_command(c, diag);
	const char *s = NULL;
	switch (id) {
	case INFO_VENDOR: s = "flashtwin"; break;
	case INFO_PRODUCT: s = "flashtwin CMSIS-DAP"; break;
	case INFO_SERIAL: s = d->serial; break;
	case INFO_PROTOCOL: s = "1.10"; break;
	case INFO_CAPABILITIES:
		put(r, 1, 1);
		put(r, 1, CAP_SWD);
		return FT_OK;
	case INFO_PACKET_COUNT:
		put(r, 1, 1);
		put(r, 1, 1);
		return FT_OK;
	case INFO_PACKET_SIZE:
		put(r, 1, 2);
		put(r, 2, FT_CMSIS_DAP_PACKET);
		return FT_OK;
	default: put(r, 1, 0); return FT_OK; /* not provided */
	}
	size_t n = strlen(s) + 1; /* strings go with their NUL */
	put(r, 1, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put(r, 1, (uint8_t)s[i]);
	return FT_OK;
}

/* A read with value match: repeated until (value & mask) == match, match_retry times at most. */
static unsigned match_read(ft_cmsis_dap *d, unsigned req, uint32_t match, bool *mismatch)
{
	uint32_t v = 0;
	for (unsigned i = 0; i <= d->match_retry; i++) {
		unsigned ack = swd_transfer(d, req, 0, &v);
		if (ack != ACK_OK)
			return ack;
		if ((v & d->match_mask) == match) {
			*mismatch = false;
			return ACK_OK;
		}
	}
	*mismatch = true;
	return ACK_OK;
}

static ft_error transfer(ft_cmsis_dap *d, cursor *c, reply *r, ft_diag *diag)
{
	uint32_t index, count;
	if (!take(c, 1, &index) || !take(c, 1, &count))
		return short_command(c, diag);
	put(r, 1, 0); /* count done, filled at the end */
	put(r, 1, 0); /* the last response */
	unsigned done = 0, resp = ACK_OK;
	for (; done < count; done++) {
		uint32_t req, data = 0, v;
		if (!take(c, 1, &req))
			return short_command(c, diag);
		bool rnw = req & REQ_RNW;
		if ((!rnw || (req & REQ_MATCH)) && !take(c, 4, &data))
			return short_command(c, diag);
		if (rnw && (req & REQ_MATCH)) {
			bool mismatch = false;
			resp = match_read(d, req, data, &mismatch);
			if (mismatch)
				resp |= RESP_MISMATCH;
		} else if (!rnw && (req & REQ_MATCH_MASK)) {
			d->match_mask = data;
			resp = ACK_OK;
		} else {
			resp = swd_transfer(d, req, data, &v);
			if (resp == ACK_OK && rnw && !put(r, 4, v))
				return long_response(c, diag);
		}
		if (resp != ACK_OK)
			break;
	}
	r->p[1] = (uint8_t)done;
	r->p[2] = (uint8_t)resp;
	return FT_OK;
}

static ft_error transfer_block(ft_cmsis_dap *d, cursor *c, reply *r, ft_diag *diag)
{
	uint32_t index, count, req;
	if (!take(c, 1, &index) || !take(c, 2, &count) || !take(c, 1, &req))
		return short_command(c, diag);
	bool rnw = req & REQ_RNW;
	if (rnw && count * 4u > FT_CMSIS_DAP_PACKET - 4u)
		return long_response(c, diag);
	put(r, 2, 0);
	put(r, 1, 0);
	unsigned done = 0, resp = ACK_OK;
	for (; done < count; done++) {
		uint32_t data = 0, v;
		if (!rnw && !take(c, 4, &data))
			return short_command(c, diag);
		resp = swd_transfer(d, req & (REQ_APNDP | REQ_RNW | REQ_A), data, &v);
		if (resp != ACK_OK)
			break;
		if (rnw)
			put(r, 4, v);
	}
	r->p[1] = (uint8_t)done;
	r->p[2] = (uint8_t)(done >> 8);
	r->p[3] = (uint8_t)resp;
	return FT_OK;
}

static ft_error swj_pins(ft_cmsis_dap *d, cursor *c, reply *r, ft_diag *diag)
{
	uint32_t out, sel, wait;
	if (!take(c, 1, &out) || !take(c, 1, &sel) || !take(c, 4, &wait))
		return short_command(c, diag);
	uint8_t before = d->pins;
	d->pins = (uint8_t)((d->pins & ~sel) | (out & sel));
	if (!(before & PIN_NRESET) && (d->pins & PIN_NRESET))
		ft_dap_port_reset(d->port); /* the reset line released */
	put(r, 1, d->pins);
	return FT_OK;
}

/* The commands whose request is fields of fixed sizes and whose response is a status byte. */
static bool fixed_command(unsigned id, unsigned *arg_bytes)
{
	switch (id) {
	case DAP_HOST_STATUS: *arg_bytes = 2; return true;
	case DAP_DISCONNECT: *arg_bytes = 0; return true;
	case DAP_DELAY: *arg_bytes = 2; return true;
	case DAP_SWD_CONFIGURE: *arg_bytes = 1; return true;
	default: return false;
	}
}

ft_error ft_cmsis_dap_command(ft_cmsis_dap *d, const uint8_t *req, size_t len, uint8_t *resp,
                              size_t *resp_len, ft_diag *diag)
{
	*resp_len = 0;
	if (len == 0 || len > FT_CMSIS_DAP_PACKET)
		return ft_diag_set(diag, FT_ERR_PROTOCOL, "cmsis-dap",
		                   "a %zu-byte command (1 to %u bytes)", len, FT_CMSIS_DAP_PACKET);
	cursor c = {req, len, 1};
	reply r = {resp, 0};
	unsigned id = req[0];
	unsigned arg_bytes;
	uint32_t v, w;
	ft_error err = FT_OK;
	put(&r, 1, id);
	if (fixed_command(id, &arg_bytes)) {
		for (unsigned i = 0; i < arg_bytes; i++)
			if (!take(&c, 1, &v))
				return short_command(&c, diag);
		put(&r, 1, DAP_OK);
	} else {
		switch (id) {
		case DAP_INFO: err = info(d, &c, &r, diag); break;
		case DAP_CONNECT:
			if (!take(&c, 1, &v))
				return short_command(&c, diag);
			put(&r, 1, v == PORT_DEFAULT || v == PORT_SWD ? PORT_SWD : 0);
			break;
		case DAP_TRANSFER_CONFIGURE:
			if (!take(&c, 1, &v) || !take(&c, 2, &v) || !take(&c, 2, &w))
				return short_command(&c, diag);
			d->match_retry = (uint16_t)w;
			put(&r, 1, DAP_OK);
			break;
		case DAP_TRANSFER: err = transfer(d, &c, &r, diag); break;
		case DAP_TRANSFER_BLOCK: err = transfer_block(d, &c, &r, diag); break;
		case DAP_TRANSFER_ABORT: return FT_OK; /* no response (CMSIS-DAP reference) */
		case DAP_WRITE_ABORT:
			if (!take(&c, 1, &v) || !take(&c, 4, &w))
				return short_command(&c, diag);
			ft_dap_port_abort(d->port, w);
			put(&r, 1, DAP_OK);
			break;
		case DAP_RESET_TARGET:
			put(&r, 1, DAP_OK);
			put(&r, 1, 0); /* no device-specific reset sequence executed */
			break;
		case DAP_SWJ_PINS: err = swj_pins(d, &c, &r, diag); break;
		case DAP_SWJ_CLOCK:
			if (!take(&c, 4, &v))
				return short_command(&c, diag);
			put(&r, 1, v ? DAP_OK : DAP_ERROR);
			break;
		case DAP_SWJ_SEQUENCE:
			if (!take(&c, 1, &v))
				return short_command(&c, diag);
			for (unsigned i = 0; i < ((v ? v : 256u) + 7u) / 8u; i++)
				if (!take(&c, 1, &w))
					return short_command(&c, diag);
			put(&r, 1, DAP_OK);
			break;
		default: r.p[0] = DAP_INVALID; break;
		}
	}
	if (err == FT_OK)
		*resp_len = r.len;
	return err;
}
