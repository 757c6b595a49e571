#include "programmer/transport/gdb_rsp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_BUFFER  4096u
#define ESCAPE     '}'
#define RUN        '*'
#define ESCAPE_XOR 0x20

struct ft_gdb_rsp {
	ft_gdb_stream *stream;
	unsigned timeout_ms;
	unsigned retries;
	bool acks;
	bool broken;
	ft_diag broken_reason;
	uint8_t rx[RX_BUFFER];
	size_t rx_pos, rx_len;
	uint8_t *tx; /* the framed packet, kept for retransmission */
	size_t tx_len, tx_cap;
	ft_gdb_rsp_stats stats;
};

ft_error ft_gdb_rsp_new(ft_gdb_stream *stream, const ft_gdb_rsp_options *opts, ft_gdb_rsp **out,
                        ft_diag *diag)
{
	if (!stream || !out) {
		ft_gdb_stream_close(stream);
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL stream or out");
	}
	*out = NULL;
	ft_gdb_rsp *rsp = calloc(1, sizeof(*rsp));
	if (!rsp) {
		ft_error err = ft_diag_set(diag, FT_ERR_NO_MEM, ft_gdb_stream_describe(stream),
		                           "out of memory");
		ft_gdb_stream_close(stream);
		return err;
	}
	rsp->stream = stream;
	rsp->timeout_ms =
	    opts && opts->timeout_ms ? opts->timeout_ms : FT_GDB_RSP_DEFAULT_TIMEOUT_MS;
	rsp->retries = opts && opts->retries ? opts->retries : FT_GDB_RSP_DEFAULT_RETRIES;
	rsp->acks = true;
	*out = rsp;
	return FT_OK;
}

void ft_gdb_rsp_free(ft_gdb_rsp *rsp)
{
	if (!rsp)
		return;
	ft_gdb_stream_close(rsp->stream);
	free(rsp->tx);
	free(rsp);
}

const char *ft_gdb_rsp_describe(const ft_gdb_rsp *rsp)
{
	return rsp ? ft_gdb_stream_describe(rsp->stream) : "(no session)";
}

void ft_gdb_rsp_set_ack_mode(ft_gdb_rsp *rsp, bool acks)
{
	rsp->acks = acks;
}

bool ft_gdb_rsp_ack_mode(const ft_gdb_rsp *rsp)
{
	return rsp->acks;
}

const ft_gdb_rsp_stats *ft_gdb_rsp_get_stats(const ft_gdb_rsp *rsp)
{
	return &rsp->stats;
}

void ft_gdb_rsp_break(ft_gdb_rsp *rsp, const ft_diag *reason)
{
	if (rsp->broken)
		return;
	rsp->broken = true;
	rsp->broken_reason = *reason;
}

bool ft_gdb_rsp_is_broken(const ft_gdb_rsp *rsp)
{
	return rsp->broken;
}

static ft_error fail_broken(const ft_gdb_rsp *rsp, ft_diag *diag)
{
	return ft_diag_set(diag, FT_ERR_STATE, ft_gdb_rsp_describe(rsp),
	                   "GDB connection unusable since: %s", rsp->broken_reason.message);
}

/* Breaks the session with diag's content and returns its code. */
static ft_error break_with(ft_gdb_rsp *rsp, ft_diag *diag, ft_error err)
{
	ft_diag reason;
	if (diag)
		reason = *diag;
	else
		ft_diag_set(&reason, err, ft_gdb_rsp_describe(rsp), "%s", ft_error_name(err));
	ft_gdb_rsp_break(rsp, &reason);
	return err;
}

/* ---- bytes ---- */

static ft_error next_byte(ft_gdb_rsp *rsp, uint8_t *c, uint64_t deadline_ms, ft_diag *diag)
{
	if (rsp->rx_pos == rsp->rx_len) {
		size_t got;
		ft_error err = ft_gdb_stream_read(rsp->stream, rsp->rx, sizeof(rsp->rx), &got,
		                                  deadline_ms, diag);
		if (err != FT_OK)
			return err;
		rsp->rx_pos = 0;
		rsp->rx_len = got;
		rsp->stats.bytes_received += got;
	}
	*c = rsp->rx[rsp->rx_pos++];
	return FT_OK;
}

static ft_error put_bytes(ft_gdb_rsp *rsp, const uint8_t *buf, size_t len, ft_diag *diag)
{
	ft_error err =
	    ft_gdb_stream_write(rsp->stream, buf, len, ft_gdb_now_ms() + rsp->timeout_ms, diag);
	if (err == FT_OK)
		rsp->stats.bytes_sent += len;
	return err;
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char HEX[] = "0123456789abcdef";

/* ---- sending ---- */

static bool needs_escape(uint8_t c)
{
	return c == '$' || c == '#' || c == ESCAPE || c == RUN;
}

/* Frames payload into rsp->tx. */
static ft_error frame(ft_gdb_rsp *rsp, const uint8_t *payload, size_t len, ft_diag *diag)
{
	size_t need = 4;
	for (size_t i = 0; i < len; i++)
		need += needs_escape(payload[i]) ? 2 : 1;
	if (need > rsp->tx_cap) {
		uint8_t *tx = realloc(rsp->tx, need);
		if (!tx)
			return ft_diag_set(diag, FT_ERR_NO_MEM, ft_gdb_rsp_describe(rsp),
			                   "out of memory for a %zu-byte packet", len);
		rsp->tx = tx;
		rsp->tx_cap = need;
	}
	uint8_t *p = rsp->tx, sum = 0;
	*p++ = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = payload[i];
		if (needs_escape(c)) {
			*p++ = ESCAPE;
			sum = (uint8_t)(sum + ESCAPE);
			c ^= ESCAPE_XOR;
		}
		*p++ = c;
		sum = (uint8_t)(sum + c);
	}
	*p++ = '#';
	*p++ = (uint8_t)HEX[sum >> 4];
	*p++ = (uint8_t)HEX[sum & 15];
	rsp->tx_len = (size_t)(p - rsp->tx);
	return FT_OK;
}

/* Waits for the acknowledgement of the packet in rsp->tx, retransmitting after '-'. */
static ft_error await_ack(ft_gdb_rsp *rsp, ft_diag *diag)
{
	const char *who = ft_gdb_rsp_describe(rsp);
	unsigned nacks = 0;
	size_t garbage = 0;
	uint64_t deadline = ft_gdb_now_ms() + rsp->timeout_ms;
	for (;;) {
		uint8_t c;
		ft_error err = next_byte(rsp, &c, deadline, diag);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, who,
			                   "no acknowledgement from the GDB server within %u ms",
			                   rsp->timeout_ms);
		if (err != FT_OK)
			return err;
		if (c == '+')
			return FT_OK;
		if (c == '$') {
			rsp->rx_pos--; /* the reply itself: the stub does not acknowledge */
			return FT_OK;
		}
		if (c == '-') {
			if (++nacks > rsp->retries)
				return ft_diag_set(
				    diag, FT_ERR_PROTOCOL, who,
				    "the GDB server rejected the packet %u times (bad "
				    "checksum on its side: a noisy line?)",
				    nacks);
			rsp->stats.retransmits++;
			err = put_bytes(rsp, rsp->tx, rsp->tx_len, diag);
			if (err != FT_OK)
				return err;
			deadline = ft_gdb_now_ms() + rsp->timeout_ms;
			continue;
		}
		rsp->stats.garbage++;
		if (++garbage > FT_GDB_RSP_GARBAGE_LIMIT)
			return ft_diag_set(diag, FT_ERR_PROTOCOL, who,
			                   "%zu bytes of garbage instead of an acknowledgement",
			                   garbage);
	}
}

ft_error ft_gdb_rsp_send(ft_gdb_rsp *rsp, const void *payload, size_t len, ft_diag *diag)
{
	if (!rsp || (len > 0 && !payload))
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad packet arguments");
	if (rsp->broken)
		return fail_broken(rsp, diag);
	ft_error err = frame(rsp, payload, len, diag);
	if (err != FT_OK)
		return err;
	err = put_bytes(rsp, rsp->tx, rsp->tx_len, diag);
	if (err != FT_OK)
		return err;
	rsp->stats.packets_sent++;
	return rsp->acks ? await_ack(rsp, diag) : FT_OK;
}

ft_error ft_gdb_rsp_interrupt(ft_gdb_rsp *rsp, ft_diag *diag)
{
	if (!rsp)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "NULL session");
	if (rsp->broken)
		return fail_broken(rsp, diag);
	const uint8_t etx = FT_GDB_RSP_INTERRUPT;
	return put_bytes(rsp, &etx, 1, diag);
}

/* ---- receiving ---- */

typedef enum frame_result {
	FRAME_OK,
	FRAME_BAD_SUM, /* complete, checksum wrong: may be sent again */
	FRAME_NOTIFY,  /* a '%' notification: skipped */
	FRAME_RESTART, /* '$' inside a packet: a new one starts there */
} frame_result;

/* Reads the body of a packet after its '$' (or '%') up to and including its checksum, expanding
 * runs into buf[0..cap-1); *len is the expanded length, which exceeds cap - 1 when the body did
 * not fit (it is read to its end anyway, to stay in step with the stream). */
static ft_error read_body(ft_gdb_rsp *rsp, uint8_t *buf, size_t cap, size_t *len, uint64_t deadline,
                          frame_result *result, ft_diag *diag)
{
	const char *who = ft_gdb_rsp_describe(rsp);
	uint8_t sum = 0, c;
	size_t n = 0;
	for (;;) {
		ft_error err = next_byte(rsp, &c, deadline, diag);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, who,
			                   "the GDB server stopped in the middle of a packet "
			                   "(%zu bytes received)",
			                   n);
		if (err != FT_OK)
			return err;
		if (c == '#')
			break;
		if (c == '$') {
			*result = FRAME_RESTART;
			return FT_OK;
		}
		sum = (uint8_t)(sum + c);
		if (c != RUN) {
			if (n + 1 < cap)
				buf[n] = c;
			n++;
			continue;
		}
		uint8_t count;
		err = next_byte(rsp, &count, deadline, diag);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, who, "packet ends after a run-length mark");
		if (err != FT_OK)
			return err;
		sum = (uint8_t)(sum + count);
		/* The count character's value minus 29 is the number of further copies; GDB
		 * manual, Overview: printable characters only. */
		if (n == 0 || count < ' ' || count > '~')
			return ft_diag_set(diag, FT_ERR_PROTOCOL, who, "%s at byte %zu of a reply",
			                   n == 0 ? "run-length mark with nothing to repeat"
			                          : "run-length count that is not printable",
			                   n);
		for (size_t i = 0; i < (size_t)(count - 29); i++, n++) {
			if (n + 1 < cap)
				buf[n] = buf[n - 1];
		}
	}
	uint8_t hi, lo;
	ft_error err = next_byte(rsp, &hi, deadline, diag);
	if (err == FT_OK)
		err = next_byte(rsp, &lo, deadline, diag);
	if (err == FT_ERR_TIMEOUT)
		return ft_diag_set(diag, err, who, "packet without its checksum");
	if (err != FT_OK)
		return err;
	int h = hex_value(hi), l = hex_value(lo);
	*len = n;
	*result = (h < 0 || l < 0 || (uint8_t)(h << 4 | l) != sum) ? FRAME_BAD_SUM : FRAME_OK;
	return FT_OK;
}

ft_error ft_gdb_rsp_recv(ft_gdb_rsp *rsp, uint8_t *buf, size_t cap, size_t *len,
                         unsigned timeout_ms, ft_diag *diag)
{
	if (!rsp || !buf || cap == 0 || !len)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, NULL, "bad receive arguments");
	*len = 0;
	buf[0] = '\0';
	if (rsp->broken)
		return fail_broken(rsp, diag);
	const char *who = ft_gdb_rsp_describe(rsp);
	uint64_t deadline = ft_gdb_now_ms() + (timeout_ms ? timeout_ms : rsp->timeout_ms);
	unsigned bad = 0;
	size_t garbage = 0;
	for (;;) {
		uint8_t c;
		ft_error err = next_byte(rsp, &c, deadline, diag);
		if (err == FT_ERR_TIMEOUT)
			return ft_diag_set(diag, err, who,
			                   "no reply from the GDB server within %u ms",
			                   timeout_ms ? timeout_ms : rsp->timeout_ms);
		if (err != FT_OK)
			return break_with(rsp, diag, err);
		if (c != '$' && c != '%') {
			rsp->stats.garbage++;
			if (++garbage > FT_GDB_RSP_GARBAGE_LIMIT)
				return break_with(rsp, diag,
				                  ft_diag_set(diag, FT_ERR_PROTOCOL, who,
				                              "%zu bytes of garbage and no packet",
				                              garbage));
			continue;
		}
		bool notify = c == '%';
		frame_result result;
		size_t n = 0;
		for (;;) {
			err = read_body(rsp, buf, cap, &n, deadline, &result, diag);
			if (err != FT_OK)
				return break_with(rsp, diag, err);
			if (result != FRAME_RESTART)
				break;
			notify = false; /* a '$' inside a packet starts a new one there */
		}
		if (notify) {
			rsp->stats.notifications++;
			continue;
		}
		if (result == FRAME_BAD_SUM) {
			if (!rsp->acks)
				return break_with(
				    rsp, diag,
				    ft_diag_set(diag, FT_ERR_PROTOCOL, who,
				                "reply with a bad checksum and no way to "
				                "ask for it again (no-ack mode)"));
			if (++bad > rsp->retries)
				return break_with(
				    rsp, diag,
				    ft_diag_set(diag, FT_ERR_PROTOCOL, who,
				                "%u replies in a row with a bad checksum", bad));
			rsp->stats.nacks_sent++;
			const uint8_t nack = '-';
			err = put_bytes(rsp, &nack, 1, diag);
			if (err != FT_OK)
				return break_with(rsp, diag, err);
			continue;
		}
		if (rsp->acks) {
			const uint8_t ack = '+';
			err = put_bytes(rsp, &ack, 1, diag);
			if (err != FT_OK)
				return break_with(rsp, diag, err);
		}
		rsp->stats.packets_received++;
		if (n >= cap) {
			buf[0] = '\0';
			return ft_diag_set(diag, FT_ERR_PROTOCOL, who,
			                   "reply of %zu bytes, more than the %zu expected", n,
			                   cap - 1);
		}
		buf[n] = '\0';
		*len = n;
		return FT_OK;
	}
}

ft_error ft_gdb_rsp_exchange(ft_gdb_rsp *rsp, const void *payload, size_t len, uint8_t *buf,
                             size_t cap, size_t *reply_len, ft_diag *diag)
{
	ft_error err = ft_gdb_rsp_send(rsp, payload, len, diag);
	if (err == FT_OK)
		err = ft_gdb_rsp_recv(rsp, buf, cap, reply_len, 0, diag);
	if (err != FT_OK && err != FT_ERR_INVALID_ARG && err != FT_ERR_STATE)
		break_with(rsp, diag, err);
	return err;
}

ft_error ft_gdb_rsp_unescape(uint8_t *buf, size_t len, size_t *out_len, ft_diag *diag)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (c == ESCAPE) {
			if (++i == len)
				return ft_diag_set(diag, FT_ERR_PROTOCOL, "gdb reply",
				                   "binary reply ends in an escape character");
			c = buf[i] ^ ESCAPE_XOR;
		}
		buf[o++] = c;
	}
	*out_len = o;
	return FT_OK;
}
